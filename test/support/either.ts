/** Small helpers for asserting on Either results in tests. */
import * as E from 'fp-ts/lib/Either.js';

/** The Right value; fails the test with the Left's description otherwise. */
export function ok<L, R>(r: E.Either<L, R>): R {
  if (E.isLeft(r)) throw new Error(`expected success, got ${JSON.stringify(r.left)}`);
  return r.right;
}

/** The errno name of a Left SysError, or 'ok' for a Right. */
export function errno<R>(r: E.Either<{ errno: string }, R>): string {
  return E.isLeft(r) ? r.left.errno : 'ok';
}

/** The signal of a Left Fault, or 'ok' for a Right. */
export function signal<R>(r: E.Either<{ signal: string }, R>): string {
  return E.isLeft(r) ? r.left.signal : 'ok';
}
