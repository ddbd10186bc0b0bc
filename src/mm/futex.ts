/**
 * FUTEX_WAIT and FUTEX_WAKE, through one wait queue per MemoryFile that
 * every thread shares.
 *
 * Keys, as kernel/futex/core.c get_futex_key makes them:
 * - a word of a shared object (a System V segment, a tmpfs or memfd file
 *   mapped MAP_SHARED, MAP_SHARED|MAP_ANONYMOUS), and a file page a
 *   read-only private mapping still reads through to: Linux keys it by
 *   (object, offset). Those pages never move while the object lives, so
 *   here the key is the frame word itself, (chunk, word index in the
 *   chunk, 0): every thread and process that maps the object, at whatever
 *   address, waits on and wakes the same key;
 * - a word of private memory (MAP_PRIVATE) the futex call could write:
 *   Linux first faults the page in for writing, which breaks copy-on-write,
 *   and keys the process's own page by (address space, address). Here that
 *   is (-1 - the address space's tag, address / 2^32, address mod 2^32)
 *   (see addressKey), so a fork relative that still shares the frame never
 *   meets it, and a thread whose write moved the page to a new frame still
 *   wakes the waiters of its own process.
 * The first word tells the two kinds apart: a chunk id is never negative.
 * (A private page seen read-only is EFAULT, as Linux refuses it: tlb.ts.)
 *
 * Linux checks the futex word and queues the waiter under one hash-bucket
 * lock, so a waker sees either the waiter queued or the new value. The
 * queue here gets the same guarantee without a lock, from sequentially
 * consistent Atomics on both sides:
 * - a waiter checks the word, publishes itself as waiting on its key, and
 *   checks the word again;
 * - a waker stores the new value (the program does that), then scans the
 *   queue and claims waiters one by one with a compare-exchange.
 * A waiter claimed between its two checks was queued, as far as any waker
 * can tell, before the value changed, so it returns 0 and is counted. One
 * that saw the change and withdrew first returns EAGAIN and is not.
 *
 * Because waiters are published in shared memory, a waiter may poll for a
 * short while on its own state word before it sleeps in Atomics.wait. A
 * polling waiter is already queued, so FUTEX_WAKE counts it exactly as it
 * counts a sleeping one. Polling is the platform's choice (src/node/worker.ts
 * sets it for worker threads) and adapts to how often it pays; it changes
 * timing only.
 *
 * Layout of the shared words: [ticket counter, slots in use] then, per
 * thread slot, [state, key word 0, key word 1, key word 2, ticket]. A
 * state is a sequence number (bumped at each wait) and a kind (idle,
 * waiting, woken), so a waker's claim on a state it read earlier fails
 * once that wait has ended (even if it read key words the waiter was
 * rewriting for its next wait).
 * Owner of a slot: the one thread given that slot; wakers only
 * compare-exchange its state from waiting to woken.
 *
 * A waiter is not tied to its segment's lifetime: if the segment dies while
 * someone waits, the waiter sleeps until its timeout, or until a wake on a
 * word that reuses the frame (a spurious wakeup, which futex(2) allows).
 * A wait on private memory is keyed by address, so an munmap and a new
 * mapping at the same address reach it too, as on Linux.
 */
import * as E from 'fp-ts/lib/Either.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import { nextSpin } from './spin.js';

const TICKET = 0;
const IN_USE = 1;
const HEADER_WORDS = 2;
const SLOT_WORDS = 5;
/** Where a slot's ticket sits, after its state and three key words. */
const TICKET_AT = 4;

const IDLE = 0;
const WAITING = 1;
const WOKEN = 2;
const KIND_MASK = 3;
/** Sequence numbers live in the upper 30 bits of a state and wrap. */
const SEQ_STEP = 4;

/** The thread slot of the kernel thread; worker threads take 1 and up. */
export const KERNEL_THREAD_SLOT = 0;

/**
 * A futex key (three 32-bit words, compared whole) and where its word's
 * value is read. Made by frameKey or addressKey.
 */
export interface FutexKey {
  /** Where the word's value is read: its chunk's words. */
  readonly words: Int32Array;
  /** The word's index in `words`. */
  readonly wordAt: number;
  /** By frame: the chunk id (never negative). By address: -1 - the address space's tag (negative). */
  readonly k0: number;
  /** By frame: the word's index in the chunk. By address: the address over 2^32. */
  readonly k1: number;
  /** By frame: 0. By address: the address mod 2^32, as a signed word. */
  readonly k2: number;
}

/** The key of a shared object's word: its frame word, (chunk id, index in the chunk). */
export function frameKey(words: Int32Array, wordAt: number, chunk: number, index: number): FutexKey {
  return { words, wordAt, k0: chunk, k1: index, k2: 0 };
}

/**
 * The key of a private memory word: (address space, address). `space` is
 * the address space's MemoryManager.spaceId, which no other address space
 * of the realm had or will have (below 2^31 of them; its low 31 bits are
 * used); `addr` is below TASK_SIZE (2^47).
 */
export function addressKey(words: Int32Array, wordAt: number, space: number, addr: number): FutexKey {
  return { words, wordAt, k0: -1 - (space % 0x80000000), k1: Math.floor(addr / 0x1_0000_0000), k2: addr | 0 };
}

/** The futex wait queue of one MemoryFile, shared by every thread that accesses its frames. */
export class FutexQueue {
  /** The shared words; a worker thread opens the same queue with `FutexQueue.open(buffer)`. */
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  private readonly q: Int32Array;
  /** This thread's current poll length (each thread opens its own FutexQueue); -1 until the first poll. */
  private spinBudget = -1;

  private constructor(buffer: SharedArrayBuffer | ArrayBuffer) {
    this.buffer = buffer;
    this.q = new Int32Array(buffer);
  }

  /** A queue for up to `threads` threads (slot 0 is the kernel thread's). */
  static create(threads: number): FutexQueue {
    const bytes = (HEADER_WORDS + threads * SLOT_WORDS) * 4;
    return new FutexQueue(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  }

  /** The queue whose words are `buffer`, as another thread sees it. */
  static open(buffer: SharedArrayBuffer | ArrayBuffer): FutexQueue {
    return new FutexQueue(buffer);
  }

  /** Thread slots the queue has room for. */
  get threads(): number {
    return (this.q.length - HEADER_WORDS) / SLOT_WORDS;
  }

  /**
   * FUTEX_WAIT for the thread in `slot`: sleeps while `key`'s word holds
   * `expected`, at most `timeoutMs` (forever when undefined). Right(0) when
   * woken, EAGAIN when the value differs, ETIMEDOUT on timeout. `spin` is
   * the most times to poll for a wake before sleeping; the thread adapts the
   * number below it, doubling after a wait that ended while polling and
   * halving after one that slept, so polling fades out when it does not pay
   * (a busy machine) and stays when it does.
   */
  wait(slot: number, key: FutexKey, expected: number, timeoutMs: number | undefined, spin = 0): E.Either<SysError, 0> {
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) return E.left(sysError('EINVAL', `futex timeout ${timeoutMs} ms is not a non-negative time`));
    if (!(typeof SharedArrayBuffer === 'function' && this.buffer instanceof SharedArrayBuffer && key.words.buffer instanceof SharedArrayBuffer)) {
      return E.left(sysError('EOPNOTSUPP', 'FUTEX_WAIT needs shared memory'));
    }
    const want = expected | 0;
    const wordAt = key.wordAt;
    if (Atomics.load(key.words, wordAt) !== want) return notEqual();

    const q = this.q;
    const at = HEADER_WORDS + slot * SLOT_WORDS;
    const seq = (q[at] as number) & ~KIND_MASK;
    const next = (seq + SEQ_STEP) | 0;
    const waiting = next | WAITING;
    Atomics.store(q, at + 1, key.k0);
    Atomics.store(q, at + 2, key.k1);
    Atomics.store(q, at + 3, key.k2);
    Atomics.store(q, at + TICKET_AT, Atomics.add(q, TICKET, 1));
    for (let used = Atomics.load(q, IN_USE); used <= slot; used = Atomics.load(q, IN_USE)) {
      if (Atomics.compareExchange(q, IN_USE, used, slot + 1) === used) break;
    }
    Atomics.store(q, at, waiting);

    if (Atomics.load(key.words, wordAt) !== want) {
      if (Atomics.compareExchange(q, at, waiting, next | IDLE) === waiting) return notEqual();
      // A waker claimed this wait before it could withdraw, and counted it.
      Atomics.store(q, at, next | IDLE);
      return E.right(0);
    }
    const budget = spin > 0 && timeoutMs !== 0 ? Math.min(this.spinBudget < 0 ? spin : this.spinBudget, spin) : 0;
    for (let i = 0; i < budget && Atomics.load(q, at) === waiting; i++);
    if (Atomics.load(q, at) !== waiting) {
      // Woken while polling: polling pays here, so the next poll may be twice as long.
      if (budget > 0) this.spinBudget = nextSpin(budget, spin, true);
    } else {
      // About to sleep: the poll was wasted (another thread wanted this CPU, or
      // the wake is far off), so the next one is halved, down to spinFloor (mm/spin.ts).
      if (budget > 0) this.spinBudget = nextSpin(budget, spin, false);
      try {
        Atomics.wait(q, at, waiting, timeoutMs ?? Infinity);
      } catch {
        // A thread that may not block (a browser's main thread) withdraws.
        if (Atomics.compareExchange(q, at, waiting, next | IDLE) === waiting) {
          return E.left(sysError('EOPNOTSUPP', 'this thread cannot block in FUTEX_WAIT'));
        }
      }
    }
    // Still waiting: nobody claimed the wait, so the time ran out.
    const timedOut = Atomics.compareExchange(q, at, waiting, next | IDLE) === waiting;
    Atomics.store(q, at, next | IDLE);
    return timedOut ? E.left(sysError('ETIMEDOUT', `no FUTEX_WAKE within ${timeoutMs ?? 0} ms`)) : E.right(0);
  }

  /**
   * FUTEX_WAKE: wakes up to `count` of `key`'s waiters, oldest first, and
   * returns how many woke.
   */
  wake(key: FutexKey, count: number): E.Either<SysError, number> {
    if (!Number.isInteger(count) || count < 0) return E.left(sysError('EINVAL', `futex wake count ${count} is not a non-negative integer`));
    if (count === 0) return E.right(0);
    const q = this.q;
    const used = Math.min(Atomics.load(q, IN_USE), this.threads);
    // (slot, state, ticket) of each waiter on the key.
    let found: number[] | undefined;
    for (let slot = 0; slot < used; slot++) {
      const at = HEADER_WORDS + slot * SLOT_WORDS;
      const state = Atomics.load(q, at);
      if ((state & KIND_MASK) !== WAITING) continue;
      if (Atomics.load(q, at + 1) !== key.k0 || Atomics.load(q, at + 2) !== key.k1 || Atomics.load(q, at + 3) !== key.k2) continue;
      (found ??= []).push(slot, state, Atomics.load(q, at + TICKET_AT));
    }
    if (found === undefined) return E.right(0);
    const order: number[] = [];
    for (let i = 0; i < found.length; i += 3) order.push(i);
    // Tickets wrap; their difference still orders waits that overlap in time.
    if (order.length > 1) order.sort((a, b) => ((found[a + 2] as number) - (found[b + 2] as number)) | 0);
    let woken = 0;
    for (const i of order) {
      if (woken >= count) break;
      const at = HEADER_WORDS + (found[i] as number) * SLOT_WORDS;
      const state = found[i + 1] as number;
      if (Atomics.compareExchange(q, at, state, (state & ~KIND_MASK) | WOKEN) === state) {
        woken++;
        Atomics.notify(q, at, 1);
      }
    }
    return E.right(woken);
  }

  /**
   * The thread in `slot` has ended, however it ended: a wait it was in is
   * over and will not be counted by any wake.
   */
  release(slot: number): void {
    const at = HEADER_WORDS + slot * SLOT_WORDS;
    const state = Atomics.load(this.q, at);
    Atomics.store(this.q, at, ((state & ~KIND_MASK) + SEQ_STEP) | IDLE);
  }
}

function notEqual(): E.Either<SysError, never> {
  return E.left(sysError('EAGAIN', 'the futex word does not hold the expected value'));
}
