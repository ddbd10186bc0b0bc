/**
 * The sleeping calls of an image: every in-process semop, semtimedop,
 * msgsnd and msgrcv that waits, in the order the calls began to wait. Each
 * names its process by pid, its set or queue by namespace index and id, and
 * its place in that object's queue (position 0 is the head), with what the
 * call needs to go on: a semop's sops as the kernel read them, the sop it
 * blocked on and its remaining timeout; a msgsnd's message and flags; a
 * msgrcv's buffer size, msgtyp and flags.
 *
 * Restoring rebuilds each queue in its order and hands every call a new
 * Pending (RestoredCall). A semop's waiter is made and queued directly; a
 * msgsnd or msgrcv is made again as its process would make it, on a queue
 * the restore keeps from serving it (no room, no messages, its sysctls and
 * mode opened) until every call sleeps, then given back its limits, mode and
 * messages; a final pass puts each list in the image's order.
 *
 * A semtimedop's deadline is carried as the time it had left on the
 * checkpointed kernel's monotonic clock and re-armed against the restored
 * kernel's (RestoreOptions.monotonicClock), as CRIU carries a timer: time
 * that passes between the checkpoint and the restore does not count. A
 * deadline already past (its timer not yet run) stays past: the timer fires
 * at the restored kernel's first timer run.
 *
 * Not carried, and refused: a call a worker thread is blocked in (EBUSY;
 * the thread itself cannot be in an image), a SEM_UNDO semop whose undo
 * entry its process no longer holds (it left the namespace since), and a
 * call past a sysctl lowered while it slept (its image would not pass the
 * checks below).
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_NOWAIT } from '../../abi/constants.js';
import type { SysError } from '../../abi/errno.js';
import { MSG_COPY } from '../../abi/msg.js';
import type { Sembuf } from '../../abi/sem.js';
import { SEM_UNDO } from '../../abi/sem.js';
import type { IpcNamespace } from '../../kernel/ipc_namespace.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Pending } from '../../kernel/pending.js';
import type { MsgWaitArgs, Process, WaitingCall } from '../../kernel/process.js';
import type { MsgQueue } from '../../msg/queue.js';
import type { MsgReceived } from '../../msg/waiter.js';
import type { SemSet } from '../../sem/set.js';
import { SemUndo, UndoList } from '../../sem/undo.js';
import { SemWaiter } from '../../sem/waiter.js';
import { CheckpointFailure, busyError, check, checkpointError } from '../errors.js';
import type { Metadata, SemSetMetaT, SemWaitMetaT, WaitingCallMetaT } from '../metadata.js';
import { fromHex, toHex } from './hex.js';

const INT_MAX = 0x7fffffff;
const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);
/** The longest timeout a timespec holds (LONG_MAX seconds), in milliseconds. */
const LONGEST_TIMEOUT_MS = 2 ** 63 * 1000;

/**
 * A call that slept in the checkpointed kernel, asleep again in the
 * restored one, with its new handle: `pending` settles with exactly the
 * Either the original call would have returned had it been woken the same
 * way. `call` is the syscall the process made (semop is semtimedop without
 * a timeout).
 */
export type RestoredCall =
  | { readonly pid: number; readonly call: 'semop' | 'semtimedop'; readonly pending: Pending<E.Either<SysError, number>> }
  | { readonly pid: number; readonly call: 'msgsnd'; readonly pending: Pending<E.Either<SysError, 0>> }
  | { readonly pid: number; readonly call: 'msgrcv'; readonly pending: Pending<E.Either<SysError, MsgReceived>> };

/** A sleeping semop's record, rather than a msgsnd's or msgrcv's. */
const isSemWait = (c: WaitingCallMetaT): c is SemWaitMetaT => c.call === 'semop' || c.call === 'semtimedop';

/** A process's sleeping semop, rather than a msgsnd or msgrcv. */
const isSemCall = (w: WaitingCall): w is Extract<WaitingCall, { call: 'semop' | 'semtimedop' }> => w.call === 'semop' || w.call === 'semtimedop';

// Saving.

/**
 * Refuses, before anything is read, the sleeping calls an image cannot
 * carry: a worker thread's (EBUSY), a SEM_UNDO semop whose undo entry is no
 * longer its process's, and a call past a sysctl lowered while it slept.
 */
export function refuseUncarriedCalls(kernel: Kernel): void {
  for (const p of kernel.processes()) {
    const held = p.threadBlockedCalls();
    if (held.length > 0) {
      throw new CheckpointFailure(
        busyError(
          `process ${p.pid}`,
          `a worker thread is blocked in ${held.join(', ')}; an image cannot hold a thread or the call it is in, so checkpoint once the call has returned`,
        ),
      );
    }
    for (const w of p.waitingCalls()) {
      const at = `process ${p.pid}: its ${w.call}`;
      if (isSemCall(w)) {
        const { set, undo, sops } = w.waiter;
        const own = undo === undefined || p.sysvsem.undoList?.find(set.perm.id) === undo;
        check(
          own || !kernel.processes().some((q) => q.sysvsem.undoList === undo?.ulp),
          at,
          `on set ${set.perm.id} waits with a SEM_UNDO entry of an undo list other processes still share but it left, which an image cannot describe`,
        );
        // semtimedop compares nsops with semopm as unsigned, as Linux does.
        const semopm = (namespaceOfSet(kernel, set)?.semLimits.semopm ?? -1) >>> 0;
        check(sops.length <= semopm, at, `has ${sops.length} operations, more than kernel.sem's semopm (${semopm}) allows now that it was lowered`);
      } else if (w.call === 'msgsnd') {
        const msgmax = w.reg.limits.msgmax;
        check(w.text.length <= msgmax, at, `holds ${w.text.length} bytes, more than kernel.msgmax (${msgmax}) allows now that it was lowered`);
      }
    }
  }
}

function namespaceOfSet(kernel: Kernel, set: SemSet): IpcNamespace | undefined {
  return kernel.ipcNamespaces().find((ns) => ns.sem.setsForCheckpoint().includes(set));
}

/** Where a waiter sits: its object and its place in one of the object's queues. */
interface Place {
  readonly ns: number;
  readonly id: number;
  readonly queue: 'alter' | 'const' | 'senders' | 'receivers';
  readonly semnum: number;
  readonly position: number;
}

/** Every queued waiter of the namespaces, by identity, with its place. */
function placesOf(namespaces: readonly IpcNamespace[]): Map<object, Place> {
  const places = new Map<object, Place>();
  const mark = (list: readonly object[] | undefined, ns: number, id: number, queue: Place['queue'], semnum: number): void => {
    list?.forEach((w, position) => places.set(w, { ns, id, queue, semnum, position }));
  };
  namespaces.forEach((ns, n) => {
    for (const s of ns.sem.setsForCheckpoint()) {
      const id = s.perm.id;
      mark(s.globalConst, n, id, 'const', -1);
      mark(s.globalAlter, n, id, 'alter', -1);
      for (let i = 0; i < s.nsems; i += 1) {
        mark(s.pendingConst[i], n, id, 'const', i);
        mark(s.pendingAlter[i], n, id, 'alter', i);
      }
    }
    for (const q of ns.msg.queuesForCheckpoint()) {
      mark(q.receivers.toArray(), n, q.perm.id, 'receivers', -1);
      mark(q.senders.toArray(), n, q.perm.id, 'senders', -1);
    }
  });
  return places;
}

/**
 * The sleeping calls of every process, in the order they began to wait.
 * Each must sit on a queue of the namespaces, and every queued waiter must
 * be some process's call: a waiter no process waits in (or the reverse)
 * breaks an invariant, and is thrown as an Error.
 */
export function saveWaitingCalls(kernel: Kernel, namespaces: readonly IpcNamespace[]): WaitingCallMetaT[] {
  const places = placesOf(namespaces);
  const calls = kernel.processes().flatMap((p) => p.waitingCalls().map((w) => ({ p, w })));
  calls.sort((a, b) => a.w.seq - b.w.seq);
  let now: number | undefined;
  const seen = new Set<object>();
  const out = calls.map(({ p, w }): WaitingCallMetaT => {
    const place = places.get(w.waiter);
    if (place === undefined) throw new Error(`checkpoint: process ${p.pid}'s ${w.call} waits on no queue of a live set or queue`);
    seen.add(w.waiter);
    const base = { pid: p.pid, ns: place.ns, position: place.position };
    if (isSemCall(w)) {
      if (w.waiter.pid !== p.pid) throw new Error(`checkpoint: process ${p.pid}'s semop records pid ${w.waiter.pid}`);
      now ??= w.deadline === Infinity ? undefined : kernel.monotonicNow();
      return {
        call: w.call,
        ...base,
        semid: place.id,
        queue: place.queue as 'alter' | 'const',
        semnum: place.semnum,
        sops: w.waiter.sops.map((s): [number, number, number] => [s.semNum, s.semOp, s.semFlg]),
        blocking: w.waiter.blocking,
        timeoutMs: w.deadline === Infinity ? null : w.deadline - (now as number),
        ...orphanUndo(p, w.waiter),
      };
    }
    if (w.call === 'msgsnd') {
      return { call: 'msgsnd', ...base, msqid: place.id, mtype: String(w.mtype), text: toHex(w.text), msgflg: w.msgflg };
    }
    return { call: 'msgrcv', ...base, msqid: place.id, msgsz: BigInt(w.msgsz), msgtyp: String(w.msgtyp), msgflg: w.msgflg };
  });
  for (const [w, place] of places) {
    if (!seen.has(w)) throw new Error(`checkpoint: a waiter on ${place.queue} of object ${place.id} belongs to no process's sleeping call`);
  }
  return out;
}

/** A semop's undo entry when no list of its process holds it (it left the namespace): its semadj, which re-evaluations still check. */
function orphanUndo(p: Process, w: SemWaiter): { orphanUndo?: number[] } {
  const un = w.undo;
  if (un === undefined || p.sysvsem.undoList?.find(w.set.perm.id) === un) return {};
  return { orphanUndo: Array.from(un.semadj) };
}

// Checking an image's meaning.

/** Where each list of an object's waiters starts being counted: "ns:id:queue:semnum". */
const listKey = (c: WaitingCallMetaT): string => (isSemWait(c) ? `sem:${c.ns}:${c.semid}:${c.queue}:${c.semnum}` : `msg:${c.ns}:${c.msqid}:${c.call}`);

/**
 * The sleeping calls against the processes, sets and queues of the image:
 * each names a live process and an existing object; a semop's sops are
 * within the set and kernel.sem's semopm, sit on the queue their shape
 * puts them on, and a SEM_UNDO one has its process's undo entry; a
 * message is within kernel.msgmax; no call has IPC_NOWAIT where it would
 * not have slept; and each queue's positions run 0, 1, ... without a gap or
 * a place taken twice. Without `sysctlBounds` (a live kernel), semopm and
 * msgmax are not checked: they may have been lowered since a call slept.
 */
export function checkWaitingCalls(meta: Metadata, sysctlBounds = true): void {
  const calls = meta.waitingCalls ?? [];
  if (calls.length === 0) return;
  const objects = meta.ipcNamespaces.map((ns) => ({
    sets: new Map((ns.sem?.sets ?? []).map((s) => [s.id, s])),
    queues: new Map((ns.msg?.queues ?? []).map((q) => [q.id, q])),
  }));
  const processIndex = new Map(meta.processes.map((p, i) => [p.pid, i]));
  const lists = new Map<string, { at: string; position: number }[]>();
  /** Complex semops and single altering ones on a semaphore's own queue, per set. */
  const shape = new Map<string, { complex: number; global: string | undefined; ownAlter: string | undefined }>();
  calls.forEach((c, i) => {
    const at = `metadata.waitingCalls[${i}]`;
    const pi = processIndex.get(c.pid);
    check(pi !== undefined, `${at}.pid`, `names process ${c.pid}, which the image does not hold`);
    const ns = meta.ipcNamespaces[c.ns];
    check(ns !== undefined, `${at}.ns`, `names IPC namespace ${c.ns}, but there are ${meta.ipcNamespaces.length}`);
    if (isSemWait(c)) {
      checkSemWait(meta, c, at, pi as number, objects[c.ns]?.sets.get(c.semid), shape, sysctlBounds);
    } else {
      const q = objects[c.ns]?.queues.get(c.msqid);
      check(q !== undefined, `${at}.msqid`, `names queue ${c.msqid} of IPC namespace ${c.ns}, which the image does not hold`);
      check((c.msgflg & IPC_NOWAIT) === 0, `${at}.msgflg`, 'has IPC_NOWAIT, with which the call would not have slept');
      if (c.call === 'msgsnd') {
        const t = BigInt(c.mtype);
        check(t >= 1n && t <= LONG_MAX, `${at}.mtype`, `${c.mtype} is outside 1..LONG_MAX`);
        const msgmax = sysctlBounds ? (ns?.msg?.limits.msgmax ?? 0) : INT_MAX;
        check(c.text.length / 2 <= msgmax, `${at}.text`, `holds ${c.text.length / 2} bytes, more than kernel.msgmax (${msgmax})`);
      } else {
        const t = BigInt(c.msgtyp);
        check(t >= LONG_MIN && t <= LONG_MAX, `${at}.msgtyp`, `${c.msgtyp} is outside a long`);
        check(c.msgsz <= LONG_MAX, `${at}.msgsz`, `${c.msgsz} is negative as a long, which msgrcv refuses`);
        check((c.msgflg & MSG_COPY) === 0, `${at}.msgflg`, 'has MSG_COPY, with which the call would not have slept');
      }
    }
    const key = listKey(c);
    let list = lists.get(key);
    if (list === undefined) {
      list = [];
      lists.set(key, list);
    }
    list.push({ at, position: c.position });
  });
  for (const [key, s] of shape) {
    check(s.complex > 0 || s.global === undefined, `${s.global}.semnum`, `no complex semop waits on set ${key}, so none waits on its global queue`);
    check(
      s.complex === 0 || s.ownAlter === undefined,
      `${s.ownAlter}.semnum`,
      `a complex semop waits on set ${key}, so altering ones wait on its global queue`,
    );
  }
  for (const list of lists.values()) {
    const taken = new Set<number>();
    for (const { at, position } of list) {
      check(position < list.length, `${at}.position`, `is ${position}, but ${list.length} calls wait in that queue`);
      check(!taken.has(position), `${at}.position`, `place ${position} of its queue is taken twice`);
      taken.add(position);
    }
  }
}

function checkSemWait(
  meta: Metadata,
  c: SemWaitMetaT,
  at: string,
  pi: number,
  set: SemSetMetaT | undefined,
  shape: Map<string, { complex: number; global: string | undefined; ownAlter: string | undefined }>,
  sysctlBounds: boolean,
): void {
  const ns = meta.ipcNamespaces[c.ns];
  check(set !== undefined, `${at}.semid`, `names set ${c.semid} of IPC namespace ${c.ns}, which the image does not hold`);
  const nsems = set?.nsems ?? 0;
  // semtimedop compares nsops with semopm as unsigned, as Linux does.
  const semopm = sysctlBounds ? (ns?.sem?.limits.semopm ?? 0) >>> 0 : INT_MAX;
  const n = c.sops.length;
  check(n >= 1 && n <= semopm, `${at}.sops`, `has ${n} operations, outside 1..semopm (${semopm})`);
  c.sops.forEach(([num, op, flg], k) => {
    check(num >= 0 && num < nsems, `${at}.sops[${k}][0]`, `sem_num ${num} is not below the set's ${nsems} semaphores`);
    check(op >= -32768 && op <= 32767, `${at}.sops[${k}][1]`, `sem_op ${op} is outside a short`);
    check(flg >= -32768 && flg <= 32767, `${at}.sops[${k}][2]`, `sem_flg ${flg} is outside a short`);
  });
  check(c.blocking < n, `${at}.blocking`, `is ${c.blocking}, but the call has ${n} operations`);
  check((((c.sops[c.blocking] ?? [0, 0, 0])[2] as number) & IPC_NOWAIT) === 0, `${at}.blocking`, 'names a sop with IPC_NOWAIT, which fails instead of waiting');
  check((c.call === 'semop') === (c.timeoutMs === null), `${at}.timeoutMs`, c.call === 'semop' ? 'semop has no timeout' : 'semtimedop here has a timeout');
  check((c.timeoutMs ?? 0) <= LONGEST_TIMEOUT_MS, `${at}.timeoutMs`, `${c.timeoutMs} is longer than a timespec can say`);
  const alter = c.sops.some(([, op]) => op !== 0);
  check((c.queue === 'alter') === alter, `${at}.queue`, `is ${c.queue}, but the operations ${alter ? 'alter' : 'only wait for zero'}`);
  if (c.semnum >= 0) {
    check(c.semnum < nsems, `${at}.semnum`, `${c.semnum} is not below the set's ${nsems} semaphores`);
    check(n === 1 && c.sops[0]?.[0] === c.semnum, `${at}.semnum`, `only a single operation on semaphore ${c.semnum} waits on its queue`);
  } else {
    check(c.semnum === -1, `${at}.semnum`, `${c.semnum} is neither a semaphore nor -1 (the global queue)`);
    check(n > 1 || c.queue === 'alter', `${at}.semnum`, 'a single wait-for-zero operation waits on its semaphore, not on the global queue');
  }
  const undo = c.sops.some(([, , flg]) => (flg & SEM_UNDO) !== 0);
  if (c.orphanUndo !== undefined) {
    check(undo, `${at}.orphanUndo`, 'is there, but no operation has SEM_UNDO');
    check(c.orphanUndo.length === nsems, `${at}.orphanUndo`, `has ${c.orphanUndo.length} adjustments for ${nsems} semaphores`);
    c.orphanUndo.forEach((v, k) => check(v >= -32768 && v <= 32767, `${at}.orphanUndo[${k}]`, `${v} is outside a short`));
  } else if (undo) {
    const list = meta.semUndoLists?.[meta.processes[pi]?.semUndo ?? -1];
    check(
      list?.entries.some((e) => e.ns === c.ns && e.semid === c.semid) === true,
      `${at}.sops`,
      `has SEM_UNDO, but process ${c.pid} holds no undo entry for set ${c.semid}`,
    );
  }
  const key = `${c.ns}:${c.semid}`;
  let s = shape.get(key);
  if (s === undefined) {
    s = { complex: 0, global: undefined, ownAlter: undefined };
    shape.set(key, s);
  }
  if (n > 1) s.complex += 1;
  if (c.semnum === -1) s.global ??= at;
  else if (c.queue === 'alter') s.ownAlter ??= at;
}

// Restoring.

/** The restored objects the calls refer to. */
export interface WaitRefs {
  readonly kernel: Kernel;
  readonly namespaces: readonly { readonly ns: IpcNamespace; readonly sets: ReadonlyMap<number, SemSet>; readonly queues: ReadonlyMap<number, MsgQueue> }[];
  readonly processes: ReadonlyMap<number, Process>;
}

/**
 * Puts every sleeping call of a checked image back to sleep, in the image's
 * order, and returns their new handles in that order. Runs after the undo
 * lists are restored and before the queues get their messages back.
 */
export function restoreWaitingCalls(meta: Metadata, refs: WaitRefs): RestoredCall[] {
  const calls = meta.waitingCalls ?? [];
  if (calls.length === 0) return [];
  const proc = (pid: number): Process => refs.processes.get(pid) as Process;
  // Semops: made and queued directly, each queue in its order.
  const semWaiters = new Map<SemWaitMetaT, SemWaiter>();
  const bySemList = new Map<string, SemWaitMetaT[]>();
  for (const c of calls) {
    if (!isSemWait(c)) continue;
    const key = listKey(c);
    let list = bySemList.get(key);
    if (list === undefined) {
      list = [];
      bySemList.set(key, list);
    }
    list.push(c);
  }
  for (const list of bySemList.values()) {
    list.sort((a, b) => a.position - b.position);
    for (const c of list) {
      const set = refs.namespaces[c.ns]?.sets.get(c.semid) as SemSet;
      const w = semWaiter(set, c, proc(c.pid));
      const queue =
        c.semnum < 0 ? (c.queue === 'alter' ? set.globalAlter : set.globalConst) : c.queue === 'alter' ? set.alterQueue(c.semnum) : set.constQueue(c.semnum);
      set.enqueue(w, queue);
      if (w.sops.length > 1) set.complexCount += 1;
      semWaiters.set(c, w);
    }
  }
  // Msg calls: made again while their queues cannot serve them.
  const reopen = holdQueues(calls, refs);
  const now = calls.some((c) => isSemWait(c) && c.timeoutMs !== null) ? refs.kernel.monotonicNow() : 0;
  let restored: RestoredCall[];
  try {
    restored = calls.map((c): RestoredCall => {
      const p = proc(c.pid);
      if (isSemWait(c)) {
        const deadline = c.timeoutMs === null ? Infinity : now + c.timeoutMs;
        return { pid: c.pid, call: c.call, pending: p.adoptSemWait(semWaiters.get(c) as SemWaiter, c.call, deadline) };
      }
      const reg = (refs.namespaces[c.ns] as WaitRefs['namespaces'][number]).ns.msg;
      const args: MsgWaitArgs =
        c.call === 'msgsnd'
          ? { call: 'msgsnd', reg, msqid: c.msqid, mtype: toLong(c.mtype), text: fromHex(c.text), msgflg: c.msgflg }
          : {
              call: 'msgrcv',
              reg,
              msqid: c.msqid,
              msgsz: c.msgsz <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(c.msgsz) : c.msgsz,
              msgtyp: toLong(c.msgtyp),
              msgflg: c.msgflg,
            };
      const r = p.resumeMsgWait(args);
      if (E.isLeft(r))
        throw new CheckpointFailure(checkpointError('image', `process ${c.pid}'s ${c.call} on queue ${c.msqid} did not sleep again: ${r.left.message}`));
      return c.call === 'msgsnd'
        ? { pid: c.pid, call: 'msgsnd', pending: r.right as Pending<E.Either<SysError, 0>> }
        : { pid: c.pid, call: 'msgrcv', pending: r.right as Pending<E.Either<SysError, MsgReceived>> };
    });
  } finally {
    reopen();
  }
  orderMsgLists(calls, refs);
  return restored;
}

/** A semop's waiter as semtimedop makes it: alter and dupsop from its sops, its undo entry from its process. */
function semWaiter(set: SemSet, c: SemWaitMetaT, p: Process): SemWaiter {
  const sops: Sembuf[] = c.sops.map(([semNum, semOp, semFlg]) => ({ semNum, semOp, semFlg }));
  let alter = false;
  let dupsop = false;
  // do_semtimedop's 64-bit dup mask (sem_num % 64).
  let mask = 0n;
  let undo = false;
  for (const s of sops) {
    const bit = 1n << BigInt(s.semNum & 63);
    if ((mask & bit) !== 0n) dupsop = true;
    if (s.semOp !== 0) {
      alter = true;
      mask |= bit;
    }
    if ((s.semFlg & SEM_UNDO) !== 0) undo = true;
  }
  let un = undo ? p.sysvsem.undoList?.find(c.semid) : undefined;
  if (undo && c.orphanUndo !== undefined) {
    // An entry of a list exit_sem dropped: in no list, and not on the set's list_id.
    un = new SemUndo(new UndoList(), set, c.semid, set.nsems);
    un.semadj.set(c.orphanUndo);
  }
  const w = new SemWaiter(set, sops, un, c.pid, alter, dupsop, undefined);
  w.blocking = c.blocking;
  return w;
}

/**
 * Makes the queues that msg calls wait on unable to serve them: no room
 * (q_qbytes 0), no messages yet (restoreMessages adds them later), mode and
 * kernel.msgmax open so the call is accepted as it was. Returns what puts
 * the limits and modes back.
 */
function holdQueues(calls: readonly WaitingCallMetaT[], refs: WaitRefs): () => void {
  const undo: (() => void)[] = [];
  const held = new Set<MsgQueue>();
  const limits = new Set<IpcNamespace>();
  for (const c of calls) {
    if (isSemWait(c)) continue;
    const n = refs.namespaces[c.ns] as WaitRefs['namespaces'][number];
    const q = n.queues.get(c.msqid) as MsgQueue;
    if (!held.has(q)) {
      held.add(q);
      const { qbytes } = q;
      const { mode } = q.perm;
      q.qbytes = 0;
      q.perm.mode = mode | 0o666;
      undo.push(() => {
        q.qbytes = qbytes;
        q.perm.mode = mode;
      });
    }
    if (!limits.has(n.ns)) {
      limits.add(n.ns);
      const { msgmax } = n.ns.msgLimits;
      n.ns.msgLimits.msgmax = INT_MAX;
      undo.push(() => {
        n.ns.msgLimits.msgmax = msgmax;
      });
    }
  }
  return () => {
    for (const u of undo.reverse()) u();
  };
}

/** Puts each queue's senders and receivers in the image's order (they were made again in the order the calls began to wait). */
function orderMsgLists(calls: readonly WaitingCallMetaT[], refs: WaitRefs): void {
  const byQueue = new Map<MsgQueue, { senders: number[]; receivers: number[] }>();
  calls.forEach((c) => {
    if (isSemWait(c)) return;
    const q = refs.namespaces[c.ns]?.queues.get(c.msqid) as MsgQueue;
    let o = byQueue.get(q);
    if (o === undefined) {
      o = { senders: [], receivers: [] };
      byQueue.set(q, o);
    }
    (c.call === 'msgsnd' ? o.senders : o.receivers).push(c.position);
  });
  for (const [q, o] of byQueue) {
    reorder(q.senders, o.senders);
    reorder(q.receivers, o.receivers);
  }
}

/** `list` holds its nodes in call order; `positions[k]` is where the k-th belongs. Moves each to the tail in position order. */
function reorder<T>(list: { toArray(): T[]; moveTail(n: T): void }, positions: readonly number[]): void {
  const nodes = list.toArray();
  const order = positions.map((position, k) => ({ position, node: nodes[k] as T })).sort((a, b) => a.position - b.position);
  for (const { node } of order) list.moveTail(node);
}

/** A long from its decimal string, as the kernel layer passes it (a number when exact). */
function toLong(s: string): number | bigint {
  const v = BigInt(s);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
