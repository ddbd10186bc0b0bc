/**
 * A syscall that may complete after it returns. A call that blocks on Linux
 * (a semop that must wait, a msgrcv on an empty queue, a waitpid) cannot
 * block the kernel thread: the kernel thread serves every other thread and
 * must keep its event loop turning. So a blocking call returns a Pending:
 * its result is there at once when the call completed without waiting, or
 * arrives later when another call (a semop that raises the semaphore, a
 * child's exit) completes it.
 *
 * An in-process caller inspects it synchronously (state, result) or awaits
 * `done`. A worker thread never sees one: the kernel thread holds its reply
 * until the Pending settles, and the worker blocks in Atomics.wait on its
 * mailbox meanwhile, as a Linux thread sleeps in the syscall.
 *
 * `T` is the call's Either. A Pending settles once; later settles are bugs.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';

/**
 * What a call that can block returns in-process (semop, semtimedop, msgsnd,
 * msgrcv): its Either when it completed or failed at once, else a Pending
 * that settles with the same Either when the call ends (woken, timed out,
 * interrupted, or its object removed). A worker's Task returns the Either
 * only: its thread blocks instead. `isPending` tells the two apart:
 *
 *     const r = p.semop(id, [{ semNum: 0, semOp: -1, semFlg: 0 }]);
 *     const result = isPending(r) ? await r.done : r;
 */
export type SysResult<T> = E.Either<SysError, T> | Pending<E.Either<SysError, T>>;
export interface Pending<T> {
  readonly state: 'pending' | 'settled';
  /** The call's result once settled; undefined while it waits. */
  readonly result: T | undefined;
  /** Resolves with the result (at once when already settled). */
  readonly done: Promise<T>;
}

/** A call that completed without waiting. */
export function settledCall<T>(value: T): Pending<T> {
  const p = new PendingCall<T>();
  p.settle(value);
  return p;
}

/** A call still waiting, and the function that completes it (called by whatever ends the wait). */
export function deferredCall<T>(): { readonly pending: Pending<T>; readonly settle: (value: T) => void } {
  const p = new PendingCall<T>();
  return { pending: p, settle: (value: T) => p.settle(value) };
}

/**
 * Runs `fn` with a call's result inside whatever settles it (at once when
 * it already has), before `done`'s promise callbacks run. The thread layer
 * uses it to hand a woken call's result to its blocked thread on the
 * waker's path rather than on a later tick; the trace (trace.ts) listens
 * too. Listeners run in the order they were added.
 * @internal
 */
export function onSettled<T>(pending: Pending<T>, fn: (value: T) => void): void {
  if (!(pending instanceof PendingCall)) throw new Error('onSettled takes a Pending that deferredCall or settledCall made');
  (pending as PendingCall<T>).listen(fn);
}

/** Whether a call's outcome is a Pending rather than its Either. */
export function isPending(outcome: unknown): outcome is Pending<unknown> {
  // An Either (the usual outcome) answers by its own _tag, before any walk of its prototype chain.
  if (typeof outcome !== 'object' || outcome === null || (outcome as { _tag?: unknown })._tag !== undefined) return false;
  return outcome instanceof PendingCall;
}

class PendingCall<T> implements Pending<T> {
  private value: T | undefined = undefined;
  private isSettled = false;
  private promise: Promise<T> | undefined = undefined;
  private wake: ((value: T) => void) | undefined = undefined;
  private listener: ((value: T) => void) | undefined = undefined;

  get state(): 'pending' | 'settled' {
    return this.isSettled ? 'settled' : 'pending';
  }

  get result(): T | undefined {
    return this.value;
  }

  // Made on first use, so a call nobody awaits costs no Promise.
  get done(): Promise<T> {
    this.promise ??= this.isSettled
      ? Promise.resolve(this.value as T)
      : new Promise<T>((resolve) => {
          this.wake = resolve;
        });
    return this.promise;
  }

  listen(fn: (value: T) => void): void {
    if (this.isSettled) {
      fn(this.value as T);
      return;
    }
    // A traced call has two listeners: the trace's (first) and the thread layer's.
    const first = this.listener;
    this.listener =
      first === undefined
        ? fn
        : (value: T) => {
            first(value);
            fn(value);
          };
  }

  settle(value: T): void {
    if (this.isSettled) throw new Error('a pending call settled twice');
    this.isSettled = true;
    this.value = value;
    const listener = this.listener;
    this.listener = undefined;
    listener?.(value);
    this.wake?.(value);
    this.wake = undefined;
  }
}
