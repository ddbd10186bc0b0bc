/**
 * The syscall mailbox between one thread running a process's program and
 * the kernel thread: a SharedArrayBuffer holding a request counter, a reply
 * counter, a closed flag, and one message at a time.
 *
 * The thread writes a request, bumps the request counter, notifies it, and
 * waits for the reply counter: it may poll it for a while first (see call),
 * then blocks in Atomics.wait on it. The kernel thread, which must
 * not block, waits for the request counter asynchronously (the Node edge
 * uses Atomics.waitAsync, and polls the mailboxes for a while after serving
 * one), serves the request, writes the reply, bumps the reply counter and
 * notifies it. The kernel closes the mailbox when the thread's process is
 * gone; a thread then blocked in call() gets `undefined` back.
 *
 * Messages are written in a binary form (wire.ts) that carries JSON-like
 * values, bigints and Uint8Arrays; a value it does not carry goes as JSON,
 * extended the same way, stored as UTF-16 code units so that no text codec
 * is needed. A format word tells the reader which.
 */

import { MIN_SPIN, nextSpin } from '../mm/spin.js';
import { userBytes } from './syscall_args.js';
import { Wire } from './wire.js';

const REQUEST = 0;
const REPLY = 1;
const LENGTH = 2;
const CLOSED = 3;
const FORMAT = 4;
/** The request counter of the last call the kernel will answer later (a semop that sleeps): the thread stops polling for it. */
const LATER = 5;
/** How many lease messages (sem/lease.ts, msg/lease.ts) the kernel thread has sent the thread: the thread reads its port when this moves. */
const LEASES = 6;
/** 1 while the thread is inside a leased message-queue call (msg/lease.ts), which holds a lock word the kernel thread may need. */
const IN_LEASE = 7;
const FORMAT_JSON = 0;
const FORMAT_WIRE = 1;
const HEADER_BYTES = 32;

/** Default capacity: 1 MiB of message text (untouched pages of it cost nothing). */
export const DEFAULT_MAILBOX_BYTES = 1 << 20;

/** A message does not fit in the mailbox: a bug in whoever sized the request. */
export class MailboxOverflow extends Error {
  constructor(what: string, capacity: number) {
    super(`${what} does not fit a mailbox of ${capacity} bytes`);
    this.name = 'MailboxOverflow';
  }
}

/** One thread's mailbox; both sides build one over the same buffer. */
export class Mailbox {
  private readonly words: Int32Array;
  private readonly text: Uint16Array;
  private readonly wire: Wire;
  /** Kernel side: the last request counter served. */
  private served = 0;
  /** Thread side: how many times the next call polls for its reply before it sleeps; -1 until the first call that polls. */
  private spinBudget = -1;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.text = new Uint16Array(buffer, HEADER_BYTES);
    this.wire = new Wire(buffer, HEADER_BYTES);
  }

  /** A fresh mailbox with room for `bytes` of message text. */
  static create(bytes = DEFAULT_MAILBOX_BYTES): Mailbox {
    return new Mailbox(new SharedArrayBuffer(HEADER_BYTES + bytes));
  }

  /**
   * Thread side: sends `request` and blocks until its reply; undefined once
   * the mailbox is closed. With `spin` > 0 the thread first polls for the
   * reply up to that many times: a kernel thread that is polling its
   * mailboxes (node/worker.ts) answers most calls within a few
   * microseconds, while a thread asleep in Atomics.wait takes a trip through
   * the host's scheduler to wake (some tens of microseconds on a virtual
   * machine). Polling stops at once when the kernel marks the call as one it
   * answers later (later()), since that call sleeps. The number adapts below
   * `spin` as FutexQueue.wait's does (mm/spin.ts): doubled after a reply
   * that came while polling, halved after a poll that ran out. Unlike a
   * futex wait's it may fade out to MIN_SPIN, which catches no reply: a
   * worker's call involves three threads (the kernel thread polling, the
   * caller, and the thread its call wakes), and on two CPUs a caller that
   * keeps polling holds the CPU the woken thread needs. Measured with a
   * floor of a sixteenth of the cap, sem-pingpong fell from 11-17 k to
   * 3-4 k round trips/s on a busy machine and gained nothing on a quiet one.
   */
  call(request: unknown, spin = 0): unknown {
    const words = this.words;
    if (Atomics.load(words, CLOSED) !== 0) return undefined;
    this.put(request);
    const seq = (Atomics.load(words, REQUEST) + 1) | 0;
    Atomics.store(words, REQUEST, seq);
    Atomics.notify(words, REQUEST);
    if (spin > 0) this.poll(seq, spin);
    for (;;) {
      const reply = Atomics.load(words, REPLY);
      if (reply === seq) return this.take();
      if (Atomics.load(words, CLOSED) !== 0) return undefined;
      Atomics.wait(words, REPLY, reply);
    }
  }

  /** Thread side: polls for call `seq`'s reply (see call), and adapts the next poll's length. */
  private poll(seq: number, spin: number): void {
    const words = this.words;
    const budget = this.spinBudget < 0 ? spin : Math.min(this.spinBudget, spin);
    for (let i = 0; i < budget; i++) {
      if (Atomics.load(words, REPLY) === seq) {
        this.spinBudget = nextSpin(budget, spin, true, MIN_SPIN);
        return;
      }
      // Answered later, or closed: the thread sleeps now, and the poll is not held against the next one.
      if (Atomics.load(words, LATER) === seq || Atomics.load(words, CLOSED) !== 0) return;
    }
    this.spinBudget = nextSpin(budget, spin, false, MIN_SPIN);
  }

  /** Kernel side: whether a request waits to be served. */
  hasRequest(): boolean {
    return Atomics.load(this.words, REQUEST) !== this.served;
  }

  /** Kernel side: the request waiting to be served, or undefined. */
  pending(): unknown {
    return Atomics.load(this.words, REQUEST) === this.served ? undefined : this.take();
  }

  /** Kernel side: the pending request is answered later (it sleeps): the thread stops polling for its reply and sleeps too. */
  later(): void {
    Atomics.store(this.words, LATER, Atomics.load(this.words, REQUEST));
  }

  /** Kernel side: a lease message went down the thread's port, ahead of the reply it comes with. */
  leaseSent(): void {
    Atomics.add(this.words, LEASES, 1);
  }

  /** Thread side: how many lease messages have been sent (see leaseSent). */
  leasesSent(): number {
    return Atomics.load(this.words, LEASES);
  }

  /**
   * Thread side: entering a leased message-queue call; false (and not
   * entered) once the mailbox is closed. With leaseGate this is Dekker's
   * handshake: the kernel closes and then reads the word, the thread sets
   * the word and then reads the closed flag, so one of them sees the other.
   */
  enterLease(): boolean {
    Atomics.store(this.words, IN_LEASE, 1);
    if (Atomics.load(this.words, CLOSED) === 0) return true;
    Atomics.store(this.words, IN_LEASE, 0);
    return false;
  }

  /** Thread side: the leased call is done. */
  leaveLease(): void {
    Atomics.store(this.words, IN_LEASE, 0);
  }

  /**
   * Kernel side, before the thread is terminated: closes the mailbox and
   * waits (at most `ms`) for the thread to leave a leased call it is in,
   * so that it never dies holding a queue's lock word.
   */
  leaseGate(ms: number): void {
    this.close();
    if (Atomics.load(this.words, IN_LEASE) === 0) return;
    const deadline = Date.now() + ms;
    while (Atomics.load(this.words, IN_LEASE) !== 0 && Date.now() <= deadline) {
      // Polls: the thread is copying a message, a few microseconds.
    }
  }

  /** Kernel side: answers the pending request. */
  reply(value: unknown): void {
    this.put(value);
    this.served = Atomics.load(this.words, REQUEST);
    Atomics.store(this.words, REPLY, this.served);
    Atomics.notify(this.words, REPLY);
  }

  /** Kernel side: the request counter's word and the value that means "nothing new", for an asynchronous wait. */
  requestWait(): { readonly words: Int32Array; readonly index: number; readonly value: number } {
    return { words: this.words, index: REQUEST, value: this.served };
  }

  /** Kernel side: no more requests will be served; wakes the thread and any waiter on the request word. */
  close(): void {
    Atomics.store(this.words, CLOSED, 1);
    Atomics.notify(this.words, REPLY);
    Atomics.notify(this.words, REQUEST);
  }

  /**
   * Kernel side (it may write the message area, which holds no unread
   * message then): whether `value` can be sent at all: it encodes, and fits
   * the buffer.
   */
  fits(value: unknown): boolean {
    if (this.wire.encode(value) >= 0) return true;
    // Not carried, or too large in binary (a long array of small numbers takes more room than as JSON).
    try {
      return (JSON.stringify(value, encode) ?? 'null').length <= this.text.length;
    } catch {
      return false;
    }
  }

  get closed(): boolean {
    return Atomics.load(this.words, CLOSED) !== 0;
  }

  private put(value: unknown): void {
    const n = this.wire.encode(value);
    if (n >= 0) {
      Atomics.store(this.words, FORMAT, FORMAT_WIRE);
      Atomics.store(this.words, LENGTH, n);
      return;
    }
    const json = JSON.stringify(value, encode) ?? 'null';
    if (json.length > this.text.length) throw new MailboxOverflow(`a message of ${json.length * 2} bytes (as JSON)`, this.text.length * 2);
    const text = this.text;
    for (let i = 0; i < json.length; i++) text[i] = json.charCodeAt(i);
    Atomics.store(this.words, FORMAT, FORMAT_JSON);
    Atomics.store(this.words, LENGTH, json.length);
  }

  private take(): unknown {
    if (Atomics.load(this.words, FORMAT) === FORMAT_WIRE) return this.wire.decode();
    const n = Atomics.load(this.words, LENGTH);
    let json = '';
    // Decode in slices: String.fromCharCode takes its arguments on the stack.
    for (let i = 0; i < n; i += 8192) json += String.fromCharCode(...this.text.subarray(i, Math.min(n, i + 8192)));
    return JSON.parse(json, decode) as unknown;
  }
}

function encode(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  // JSON.stringify hands over what toJSON returned (a Node Buffer's is { type, data }): the holder's own value is the array.
  let original: unknown;
  try {
    original = (this as Record<string, unknown>)[key];
  } catch {
    // A getter that throws on this second read: what JSON.stringify read the first time goes as it is.
    original = value;
  }
  // The bytes it holds (userBytes): a detached buffer holds none, and a subclass's length or iterator runs no code.
  const bytes = original instanceof Uint8Array ? userBytes(original) : undefined;
  if (bytes !== undefined) return { $bytes: Array.from(bytes) };
  return value;
}

/** How encode() writes a bigint. */
const BIGINT_TEXT = /^-?[0-9]+$/;

function decode(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null) {
    const v = value as { $bigint?: unknown; $bytes?: unknown };
    // Only the form encode() writes; an object of the thread's own that merely looks like it stays an object.
    if (typeof v.$bigint === 'string' && BIGINT_TEXT.test(v.$bigint)) return BigInt(v.$bigint);
    if (Array.isArray(v.$bytes)) return Uint8Array.from(v.$bytes as number[]);
  }
  return value;
}
