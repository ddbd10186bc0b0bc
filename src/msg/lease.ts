/**
 * Message-queue leases: the uncontended msgsnd and msgrcv of a process
 * running in a worker thread, done in that thread on shared memory instead
 * of through the kernel thread (sem/lease.ts does the same for semops, and
 * says why: two workers talking through a third thread on two CPUs).
 *
 * A queue nobody sleeps on is lent to the workers of processes that may
 * both read and write it and share credentials (ipc/lessee.ts). Its
 * messages move into a SharedArrayBuffer: a header of counters and a ring
 * of records, each [mtype, size, text padded to 8 bytes]; a record that
 * would run past the ring's end is preceded by a pad record (mtype 0) that
 * fills the rest. A worker takes the buffer's lock word (its lessee index;
 * -1 once recalled), sends at the ring's tail or receives its head, and
 * releases the lock. What it handles itself: msgsnd of an int mtype
 * that fits (without a sleeping receiver there is no hand-off); msgrcv of
 * the first message (msgtyp 0, or a positive msgtyp the first message
 * has), whole or cut by MSG_NOERROR. Anything else goes to the kernel
 * thread as before, which decides it in Linux's order: a type only a
 * bigint holds, msgtyp < 0, MSG_EXCEPT, MSG_COPY, a message past msgmax
 * (EINVAL) or past the buffer (E2BIG), and a queue that is full or empty
 * (after polling it a while, unless IPC_NOWAIT asks for EAGAIN).
 *
 * Recall (MsgQueue's lock, like SemSet's, takes it first): the kernel
 * thread takes the lock word from the workers (one compare-and-swap, or a
 * short wait while a worker is inside its few microseconds of copying),
 * marks it recalled, and rebuilds the queue's messages, counts, pids and
 * times from the buffer. A worker copies first (a send's
 * record into free ring space, a receive's text out) and only then marks
 * the lock word committing and changes the header, so a kernel that had to
 * take the word from a worker paused past STEAL_MS finds the queue as it
 * was, and the worker's call changes nothing and goes to the kernel. A worker never holds the lock
 * when it is terminated: the kernel closes its mailbox first and waits for
 * it to leave (Mailbox.leaseGate). A program that takes the lock word
 * itself and keeps it is waited for at most STEAL_MS, once: the kernel
 * then takes the buffer as it is, keeps the records a msgsnd could have
 * queued under the grant's limits, retires the buffer, and lends nothing
 * again to those credentials in the namespace (whose other kept lock
 * words it takes at once). A namespace keeps at most MSG_LEASE_BUDGET
 * bytes of buffers; a removed queue gives its buffer back.
 *
 * The buffer is reused while the queue's permissions and q_qbytes stay as
 * they were; IPC_SET retires it. The namespace's msgmax is copied into the
 * header at each grant, and writing kernel.msgmax or kernel.msgmnb
 * recalls every lease. Times are seconds after the lease's base, as for
 * semaphores, and read back no later than the present.
 *
 * Platform-free: the Node edge (node/worker.ts) decides when to grant and
 * sends the buffer to the thread; the worker side (LeasedQueues) runs in
 * kernel/task.ts.
 */
import { IPC_NOWAIT, S_IRUGO, S_IWUGO } from '../abi/constants.js';
import { MSG_NOERROR } from '../abi/msg.js';
import type { Credentials } from '../auth/credentials.js';
import { HeldLeases, Lessees, MAX_LESSEES, lesseeIdentity } from '../ipc/lessee.js';
import type { LeaseMessageBase } from '../ipc/lessee.js';
import { ipcPermits } from '../ipc/perm.js';
import { Message } from './message.js';
import type { MsgQueue } from './queue.js';
import type { MsgReceived } from './waiter.js';

// Header words.
const LOCK = 0;
const QNUM = 1;
const CBYTES = 2;
const HEAD = 3;
const TAIL = 4;
const USED = 5;
const LSPID = 6;
const STIME = 7;
const LRPID = 8;
const RTIME = 9;
const QBYTES = 10;
const MSGMAX = 11;
const HEADER_BYTES = 64;
/**
 * The header's word indexes, for tests that write the buffer as a hostile
 * program would.
 * @internal
 */
export const MSG_LEASE_HEADER = { LOCK, QNUM, CBYTES, HEAD, TAIL, USED, LSPID, STIME, LRPID, RTIME, QBYTES, MSGMAX } as const;
/** LOCK once the kernel thread has taken the buffer back. */
const RECALLED = -1;
/** In LOCK beside the lessee index: the worker holding it has begun to change the header (see commit). */
const COMMITTING = 0x100;
/** A record's header: mtype and size. */
const RECORD_HEAD = 8;

/** The most processes one lease lends to. */
export const MSG_LEASE_MAX_LESSEES = MAX_LESSEES;
/** The largest q_qbytes lent: the ring is about twice as large. */
export const MSG_LEASE_MAX_QBYTES = 256 * 1024;
/**
 * How long the kernel thread waits for a lock word a worker holds before
 * it takes the buffer anyway. A worker holds it for microseconds; only a
 * program that keeps it waits this out, once: its credentials are lent no
 * queue of the namespace again, and a lock word they keep is taken at once.
 */
export const STEAL_MS = 250;
/** The most bytes of lease buffers a namespace keeps (each about twice its queue's q_qbytes). */
export const MSG_LEASE_BUDGET = 64 * 1024 * 1024;
/** Seconds of a time field; a lease is renewed before its times would pass it. */
const MAX_AGE = 0x7fffffff;
/** A lease older than this (seconds) is replaced by a new buffer at the next grant. */
const RENEW_AGE = MAX_AGE - 60;
/** How many times a worker tries a lock another worker holds before it asks the kernel thread instead. */
const LOCK_TRIES = 1 << 14;

const align8 = (n: number): number => (n + 7) & ~7;

/** Ring bytes for a queue of `qbytes`: its text twice over (records carry headers and padding) and room for 512 headers. */
function ringBytes(qbytes: number): number {
  return align8(2 * qbytes + 512 * RECORD_HEAD);
}

/** A queue's messages while lent: the buffer and who may use it (Lessees). Owned by the kernel thread. */
export class MsgLease extends Lessees {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly ring: number;
  /**
   * What the records taken back may hold at most, fixed at each grant on
   * the kernel side (never read back from the buffer): the longest text
   * (msgmax, or a longer message already queued) and the bytes and count
   * (q_qbytes, or more already queued, as after IPC_SET lowered it).
   */
  private maxSize = 0;
  private maxBytes = 0;
  private maxCount = 0;

  constructor(
    /** q_qbytes when made: the ring is sized for it. */
    readonly qbytes: number,
    /** CLOCK_REALTIME second that time fields count from. */
    readonly base: number,
  ) {
    super();
    this.ring = ringBytes(qbytes);
    this.buffer = new SharedArrayBuffer(HEADER_BYTES + this.ring);
    this.words = new Int32Array(this.buffer);
  }

  /**
   * Takes the queue back (see the module comment): the lock word, then the
   * messages, counts, pids and times. `now` is the kernel's second.
   * Precondition: the queue's mu is held (MsgQueue's lock calls this).
   */
  recall(q: MsgQueue, now: number): void {
    const words = this.words;
    const banned = q.leaseBanned();
    if (!takeLock(words, this.identity !== undefined && banned.has(this.identity) ? 0 : STEAL_MS)) {
      // A program kept the lock word: its credentials are lent nothing again in this namespace.
      this.retired = true;
      if (this.identity !== undefined) banned.add(this.identity);
    }
    this.live = false;
    const msgs: Message[] = [];
    if (!this.messagesInRing(msgs)) this.retired = true;
    q.replaceMessagesLocked(msgs);
    const sender = this.pidOf(words[LSPID]!);
    if (sender !== undefined) {
      q.lspid = sender;
      q.stime = this.timeOf(words[STIME]!, now);
    }
    const receiver = this.pidOf(words[LRPID]!);
    if (receiver !== undefined) {
      q.lrpid = receiver;
      q.rtime = this.timeOf(words[RTIME]!, now);
    }
  }

  /** A time field read back: a second of the lease's life, between its base and now. */
  private timeOf(delta: number, now: number): number {
    return Math.max(this.base, Math.min(this.base + delta, now));
  }

  /**
   * Appends the ring's messages, from its head, to `out`, each a kernel
   * copy; false when a record is not one a worker writes (a program wrote
   * the buffer), having appended the good ones before it.
   */
  private messagesInRing(out: Message[]): boolean {
    const words = this.words;
    const ring = this.ring;
    const bytes = new Uint8Array(this.buffer, HEADER_BYTES, ring);
    const recs = new Int32Array(this.buffer, HEADER_BYTES, ring / 4);
    let pos = words[HEAD]!;
    let left = words[USED]!;
    if (!(pos >= 0 && pos < ring && pos % RECORD_HEAD === 0 && left >= 0 && left <= ring)) return false;
    let cbytes = 0;
    while (left > 0) {
      const mtype = recs[pos >> 2]!;
      if (mtype === 0) {
        const pad = ring - pos;
        if (pad > left) return false;
        left -= pad;
        pos = 0;
        continue;
      }
      const size = recs[(pos >> 2) + 1]!;
      if (mtype < 0 || size < 0 || size > ring || size > this.maxSize) return false;
      const len = RECORD_HEAD + align8(size);
      // Past what a msgsnd could have queued: the queue's limits as granted.
      cbytes += size;
      if (pos + len > ring || len > left || cbytes > this.maxBytes || out.length + 1 > this.maxCount) return false;
      out.push(new Message(mtype, bytes.slice(pos + RECORD_HEAD, pos + RECORD_HEAD + size)));
      left -= len;
      pos = pos + len === ring ? 0 : pos + len;
    }
    return true;
  }

  /** Writes the queue's messages into the ring; false when they do not fit. Precondition: mu is held, the lease is not live. */
  fill(q: MsgQueue, msgmax: number): boolean {
    const words = this.words;
    const bytes = new Uint8Array(this.buffer, HEADER_BYTES, this.ring);
    const recs = new Int32Array(this.buffer, HEADER_BYTES, this.ring / 4);
    let pos = 0;
    let longest = 0;
    for (let i = 0; i < q.messages.size; i++) {
      const m = q.messages.at(i);
      const mtype = m.mtype;
      const len = RECORD_HEAD + align8(m.size);
      if (typeof mtype !== 'number' || mtype > 0x7fffffff || pos + len > this.ring) return false;
      recs[pos >> 2] = mtype;
      recs[(pos >> 2) + 1] = m.size;
      bytes.set(m.text, pos + RECORD_HEAD);
      pos += len;
      if (m.size > longest) longest = m.size;
    }
    this.maxSize = Math.max(msgmax, longest);
    this.maxBytes = Math.max(q.qbytes, q.cbytes);
    this.maxCount = Math.max(q.qbytes, q.qnum);
    words[QNUM] = q.qnum;
    words[CBYTES] = q.cbytes;
    words[HEAD] = 0;
    words[TAIL] = pos === this.ring ? 0 : pos;
    words[USED] = pos;
    words[LSPID] = 0;
    words[STIME] = 0;
    words[LRPID] = 0;
    words[RTIME] = 0;
    words[QBYTES] = q.qbytes;
    words[MSGMAX] = msgmax;
    return true;
  }
}

/** The kernel takes the lock word: at once, or once the worker holding it lets go, or after `ms`. False when it had to take it. */
function takeLock(words: Int32Array, ms: number): boolean {
  let held = Atomics.compareExchange(words, LOCK, 0, RECALLED);
  if (held <= 0) {
    Atomics.store(words, LOCK, RECALLED);
    return held === 0 || held === RECALLED;
  }
  const deadline = Date.now() + ms;
  while (held > 0) {
    if (Date.now() > deadline) {
      Atomics.store(words, LOCK, RECALLED);
      return false;
    }
    held = Atomics.compareExchange(words, LOCK, 0, RECALLED);
  }
  return true;
}

/** What a grant gives the Node edge to send. */
export interface MsgLeaseGrant {
  readonly lease: MsgLease;
  readonly lessee: number;
}

/** What the thread is sent for one queue lease (structured-clonable). */
export interface MsgLeaseMessage extends LeaseMessageBase {
  readonly msqid: number;
  readonly ring: number;
}

/**
 * Lends queue `q` to the process with `creds` and tgid `pid` when it may be
 * lent (module comment): undefined otherwise. `msgmax` is the namespace's,
 * `now` the kernel's second. Takes the queue's lock; no lock may be held.
 */
export function grantMsgLease(q: MsgQueue, creds: Credentials, pid: number, msgmax: number, now: number): MsgLeaseGrant | undefined {
  if (q.pendingDestruction || q.qbytes < 0 || q.qbytes > MSG_LEASE_MAX_QBYTES) return undefined;
  if (!ipcPermits(creds, q.perm, S_IWUGO) || !ipcPermits(creds, q.perm, S_IRUGO)) return undefined;
  const identity = lesseeIdentity(creds);
  if (q.leaseBanned().has(identity)) return undefined;
  const held = q.lease;
  const known = held === undefined ? 0 : held.liveIndexOf(identity, pid);
  if (known !== 0) return { lease: held as MsgLease, lessee: known };
  q.mu.lock();
  try {
    if (q.pendingDestruction || q.receivers.first !== undefined || q.senders.first !== undefined) return undefined;
    let lease = q.lease;
    if (lease === undefined || lease.retired || lease.qbytes !== q.qbytes || now < lease.base || now - lease.base > RENEW_AGE) {
      // A new buffer, within the namespace's budget (the old one's bytes go back first).
      const size = HEADER_BYTES + ringBytes(q.qbytes);
      if (!q.chargeLeaseBytes(size - (lease?.buffer.byteLength ?? 0))) return undefined;
      lease = new MsgLease(q.qbytes, now);
      q.lease = lease;
    }
    const who = lease.admit(identity, pid);
    if (who === 0 || !lease.fill(q, msgmax)) return undefined;
    lease.live = true;
    Atomics.store(lease.words, LOCK, 0);
    return { lease, lessee: who };
  } finally {
    q.mu.unlock();
  }
}

/** Entering and leaving a leased operation, which the kernel waits out before it terminates the thread (Mailbox.enterLease). */
export interface LeaseGate {
  enterLease(): boolean;
  leaveLease(): void;
}

interface HeldQueue {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly recs: Int32Array;
  readonly ring: number;
  readonly me: number;
  readonly base: number;
}

/** LeasedQueues.msgsnd: queued in the thread. */
export const MSG_LEASE_SENT = 1;
/** LeasedQueues.msgsnd: not queued; the call goes to the kernel thread. */
export const MSG_LEASE_DECLINED = 0;

/** The queue leases one thread holds, by msqid, and its msgsnd and msgrcv on them. Owned by the thread. */
export class LeasedQueues extends HeldLeases<MsgLeaseMessage, HeldQueue> {
  constructor(
    epochWord: SharedArrayBuffer,
    private readonly gate: LeaseGate,
  ) {
    super(epochWord);
  }

  protected idOf(m: MsgLeaseMessage): number {
    return m.msqid;
  }

  protected hold(m: MsgLeaseMessage): HeldQueue {
    return {
      words: new Int32Array(m.buffer, 0, HEADER_BYTES / 4),
      bytes: new Uint8Array(m.buffer, HEADER_BYTES, m.ring),
      recs: new Int32Array(m.buffer, HEADER_BYTES, m.ring / 4),
      ring: m.ring,
      me: m.lessee,
      base: m.base,
    };
  }

  /** The time field for now, or -1 when the thread cannot tell the kernel's second or the lease is too old. */
  private delta(h: HeldQueue): number {
    const s = this.seconds();
    const d = s === 0 ? -1 : s - h.base;
    return d >= 0 && d <= MAX_AGE ? d : -1;
  }

  /**
   * msgsnd(msqid, mtype, text, msgflg) on a leased queue: MSG_LEASE_SENT
   * once queued, MSG_LEASE_DECLINED (nothing changed) for anything the
   * kernel thread must decide. `text` is the caller's bytes (copied here).
   */
  msgsnd(msqid: unknown, mtype: unknown, text: Uint8Array, msgflg: unknown, spin: number): number {
    const h = this.held(msqid);
    if (h === undefined || typeof mtype !== 'number' || (mtype | 0) !== mtype || mtype < 1 || (msgflg !== 0 && msgflg !== IPC_NOWAIT))
      return MSG_LEASE_DECLINED;
    const words = h.words;
    const size = text.length;
    if (size > Atomics.load(words, MSGMAX)) return MSG_LEASE_DECLINED;
    const len = RECORD_HEAD + align8(size);
    let budget = -1;
    let polled = 0;
    for (;;) {
      const d = this.delta(h);
      if (d < 0 || !this.gate.enterLease()) return MSG_LEASE_DECLINED;
      let full = false;
      let done = false;
      let seen = 0;
      try {
        if (!lock(words, h.me)) return MSG_LEASE_DECLINED;
        try {
          // msgmax again under the lock: the kernel may have lowered it and lent the buffer again since the test above.
          if (size > words[MSGMAX]!) return MSG_LEASE_DECLINED;
          const qnum = words[QNUM]!;
          const cbytes = words[CBYTES]!;
          const qbytes = words[QBYTES]!;
          seen = qnum;
          if (size + cbytes > qbytes || qnum + 1 > qbytes) {
            full = true;
          } else {
            let tail = words[TAIL]!;
            const used = words[USED]!;
            if (!(tail >= 0 && tail < h.ring && (tail & 7) === 0 && used >= 0 && used <= h.ring)) return MSG_LEASE_DECLINED;
            const pad = tail + len > h.ring ? h.ring - tail : 0;
            if (used + pad + len > h.ring) return MSG_LEASE_DECLINED;
            if (pad !== 0) {
              h.recs[tail >> 2] = 0;
              tail = 0;
            }
            // The record goes into free ring space, which no recall reads; then the commit, then the header.
            h.recs[tail >> 2] = mtype;
            h.recs[(tail >> 2) + 1] = size;
            h.bytes.set(text, tail + RECORD_HEAD);
            if (!commit(words, h.me)) return MSG_LEASE_DECLINED;
            words[TAIL] = tail + len === h.ring ? 0 : tail + len;
            words[USED] = used + pad + len;
            words[QNUM] = qnum + 1;
            words[CBYTES] = cbytes + size;
            words[LSPID] = h.me;
            words[STIME] = d;
            done = true;
          }
        } finally {
          unlock(words, h.me);
        }
      } finally {
        this.gate.leaveLease();
      }
      if (done) {
        this.performedAfter(polled, budget, spin);
        return MSG_LEASE_SENT;
      }
      if (!full || msgflg !== 0) return MSG_LEASE_DECLINED;
      // Full: poll for a receive (the count moving) before leaving the sleep to the kernel thread.
      if (budget < 0) budget = this.pollBudget(spin);
      while (Atomics.load(words, QNUM) === seen && Atomics.load(words, LOCK) >= 0) {
        if (++polled > budget) {
          this.pollRanOut(budget, spin);
          return MSG_LEASE_DECLINED;
        }
      }
    }
  }

  /**
   * msgrcv(msqid, msgsz, msgtyp, msgflg) on a leased queue: the message, or
   * undefined (nothing changed) for anything the kernel thread must decide.
   */
  msgrcv(msqid: unknown, msgsz: unknown, msgtyp: unknown, msgflg: unknown, spin: number): MsgReceived | undefined {
    const h = this.held(msqid);
    if (h === undefined || typeof msgsz !== 'number' || (msgsz | 0) !== msgsz || msgsz < 0) return undefined;
    if (typeof msgtyp !== 'number' || (msgtyp | 0) !== msgtyp || msgtyp < 0) return undefined;
    if (typeof msgflg !== 'number' || (msgflg & ~(IPC_NOWAIT | MSG_NOERROR)) !== 0) return undefined;
    const words = h.words;
    let budget = -1;
    let polled = 0;
    for (;;) {
      const d = this.delta(h);
      if (d < 0 || !this.gate.enterLease()) return undefined;
      let empty = false;
      let got: MsgReceived | undefined;
      try {
        if (!lock(words, h.me)) return undefined;
        try {
          const qnum = words[QNUM]!;
          if (qnum === 0) {
            empty = true;
          } else {
            let head = words[HEAD]!;
            let used = words[USED]!;
            if (!(head >= 0 && head < h.ring && (head & 7) === 0 && used > 0 && used <= h.ring)) return undefined;
            if (h.recs[head >> 2] === 0) {
              used -= h.ring - head;
              head = 0;
            }
            const mtype = h.recs[head >> 2]!;
            const size = h.recs[(head >> 2) + 1]!;
            // A record no worker writes (a program wrote the buffer): the kernel thread's recall sorts it out.
            if (mtype < 1 || size < 0 || size > h.ring) return undefined;
            const len = RECORD_HEAD + align8(size);
            if (head + len > h.ring || len > used) return undefined;
            if (msgtyp !== 0 && mtype !== msgtyp) return undefined;
            if (size > msgsz && (msgflg & MSG_NOERROR) === 0) return undefined;
            const n = Math.min(size, msgsz);
            const copy = h.bytes.slice(head + RECORD_HEAD, head + RECORD_HEAD + n);
            // Nothing changed yet: a kernel that took the lock word meanwhile keeps the message, and the copy goes.
            if (!commit(words, h.me)) return undefined;
            got = { mtype, text: copy };
            words[HEAD] = head + len === h.ring ? 0 : head + len;
            words[USED] = used - len;
            words[QNUM] = qnum - 1;
            words[CBYTES] = words[CBYTES]! - size;
            words[LRPID] = h.me;
            words[RTIME] = d;
          }
        } finally {
          unlock(words, h.me);
        }
      } finally {
        this.gate.leaveLease();
      }
      if (got !== undefined) {
        this.performedAfter(polled, budget, spin);
        return got;
      }
      if (!empty || (msgflg & IPC_NOWAIT) !== 0) return undefined;
      // Empty: poll for a send before leaving the sleep to the kernel thread.
      if (budget < 0) budget = this.pollBudget(spin);
      while (Atomics.load(words, QNUM) === 0 && Atomics.load(words, LOCK) >= 0) {
        if (++polled > budget) {
          this.pollRanOut(budget, spin);
          return undefined;
        }
      }
    }
  }
}

/** A worker takes the lock word; false when the lease is recalled or another worker keeps it too long. */
function lock(words: Int32Array, me: number): boolean {
  for (let i = 0; i < LOCK_TRIES; i += 1) {
    const w = Atomics.compareExchange(words, LOCK, 0, me);
    if (w === 0) return true;
    if (w < 0) return false;
  }
  return false;
}

/**
 * A worker that holds the lock word and is about to change what a recall
 * reads (the header) marks it committing: false when the kernel took it
 * first (after STEAL_MS; the worker was paused), and the call then changes
 * nothing. Once committing, the worker finishes: the kernel takes a word
 * from a committing worker only after STEAL_MS too, which is a program that
 * set the bit itself (a few stores never take that long).
 */
function commit(words: Int32Array, me: number): boolean {
  return Atomics.compareExchange(words, LOCK, me, me | COMMITTING) === me;
}

/** A worker lets the lock word go, unless the kernel took it (then it stays the kernel's). */
function unlock(words: Int32Array, me: number): void {
  if (Atomics.compareExchange(words, LOCK, me | COMMITTING, 0) !== (me | COMMITTING)) Atomics.compareExchange(words, LOCK, me, 0);
}
