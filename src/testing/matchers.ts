/**
 * Matchers for the fp-ts Eithers that every ipc-sentry call returns, in the
 * shape both vitest's and jest's `expect.extend` take: `(received, ...args)`
 * returning `{ pass, message }`. They are plain functions: nothing here
 * imports a test runner, so the module loads under vitest, jest, or neither.
 *
 * A value that is not an Either never matches (so `.not.toBeRight()` passes
 * on it) and the message says what it was instead. Misuse of a matcher (an
 * errno name ipc-sentry does not know, a signal that is not SIGSEGV or
 * SIGBUS) throws a TypeError: that is a bug in the test, not a mismatch.
 */
import type { ErrnoName } from '../abi/errno.js';
import { isErrnoName } from '../abi/errno.js';
import type { Fault } from '../mm/access.js';
import { hex, show } from './show.js';

/** What a matcher returns to the test runner. */
export interface MatcherResult {
  readonly pass: boolean;
  readonly message: () => string;
}

/** The signal of a Fault. */
export type FaultSignal = Fault['signal'];

/**
 * The assertions the matchers add, with the runner's return type `R`. Used
 * for the vitest augmentation below (src/testing/index.ts) and for a jest
 * augmentation in the user's project (docs/testing.md).
 */
export interface EitherAssertions<R = unknown> {
  /** The value is an fp-ts Right. */
  toBeRight(): R;
  /** The value is a Right whose value deeply equals `expected` (asymmetric matchers allowed under a runner). */
  toBeRightWith(expected: unknown): R;
  /** The value is an fp-ts Left. */
  toBeLeft(): R;
  /** The value is a Left whose value deeply equals `expected`. */
  toBeLeftWith(expected: unknown): R;
  /** The value is a Left holding a SysError with this errno name, e.g. `toBeErrno('EACCES')`. */
  toBeErrno(errno: ErrnoName): R;
  /** The value is a Left holding a Fault with this signal, and (when given) this faulting address. */
  toFault(signal: FaultSignal, addr?: number): R;
}

type Either = { readonly _tag: 'Left'; readonly left: unknown } | { readonly _tag: 'Right'; readonly right: unknown };

function asEither(v: unknown): Either | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const tag = (v as { _tag?: unknown })._tag;
  if (tag === 'Right' && 'right' in v) return v as Either;
  if (tag === 'Left' && 'left' in v) return v as Either;
  return undefined;
}

/** A Left's value in words: a SysError as its errno and message, a Fault as signal and address. */
function showLeft(left: unknown): string {
  if (typeof left === 'object' && left !== null) {
    const l = left as { errno?: unknown; message?: unknown; signal?: unknown; addr?: unknown };
    if (typeof l.errno === 'string') return typeof l.message === 'string' && l.message !== '' ? `${l.errno} (${l.message})` : l.errno;
    if (typeof l.signal === 'string' && (typeof l.addr === 'number' || typeof l.addr === 'bigint')) return `${l.signal} at ${hex(l.addr)}`;
  }
  return show(left);
}

/** What `received` is, for a message: `Right(value)`, `Left(EACCES (...))`, or a non-Either. */
function describeReceived(received: unknown): string {
  const e = asEither(received);
  if (e === undefined) return `a value that is not an fp-ts Either: ${show(received)}`;
  return e._tag === 'Right' ? `Right(${show(e.right)})` : `Left(${showLeft(e.left)})`;
}

function result(pass: boolean, message: string): MatcherResult {
  return { pass, message: () => message };
}

/** The runner's equality (it understands asymmetric matchers) when the matcher runs under one, else a structural one. */
function equalityOf(ctx: unknown): (a: unknown, b: unknown) => boolean {
  const equals = typeof ctx === 'object' && ctx !== null ? (ctx as { equals?: unknown }).equals : undefined;
  if (typeof equals === 'function') return (a, b) => (equals as (x: unknown, y: unknown) => boolean).call(ctx, a, b);
  return deepEqual;
}

/**
 * Structural equality close to what `toEqual` sees: primitives by
 * Object.is, arrays and typed arrays element by element, Maps and Sets by
 * content, Dates by time, other objects of the same kind by their own
 * enumerable keys, where an undefined property counts as absent. Used when
 * a matcher is called outside a test runner.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  return eq(a, b, []);
}

function eq(a: unknown, b: unknown, stack: [unknown, unknown][]): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (stack.some(([x, y]) => x === a && y === b)) return true;
  // Like toEqual, compare kinds (Object, Array, Map, Uint8Array…), not prototypes.
  if (Object.prototype.toString.call(a) !== Object.prototype.toString.call(b)) return false;
  stack.push([a, b]);
  try {
    if (a instanceof Date) return a.getTime() === (b as Date).getTime();
    if (ArrayBuffer.isView(a)) {
      const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      const bv = b as ArrayBufferView;
      const y = new Uint8Array(bv.buffer, bv.byteOffset, bv.byteLength);
      return x.length === y.length && x.every((v, i) => v === y[i]);
    }
    if (Array.isArray(a)) {
      const y = b as unknown[];
      return a.length === y.length && a.every((v, i) => eq(v, y[i], stack));
    }
    if (a instanceof Map) {
      const y = b as Map<unknown, unknown>;
      return a.size === y.size && [...a].every(([k, v]) => y.has(k) && eq(v, y.get(k), stack));
    }
    if (a instanceof Set) {
      const y = b as Set<unknown>;
      return a.size === y.size && [...a].every((v) => y.has(v) || [...y].some((w) => eq(v, w, stack)));
    }
    const defined = (o: object): string[] => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
    const ka = defined(a);
    const kb = defined(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && eq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], stack));
  } finally {
    stack.pop();
  }
}

const SIGNALS: readonly FaultSignal[] = ['SIGSEGV', 'SIGBUS'];

/**
 * The matchers, for `expect.extend(eitherMatchers)` under vitest or jest.
 * Each may also be called directly (`eitherMatchers.toBeRight(x).pass`).
 */
export const eitherMatchers = {
  toBeRight(this: unknown, received: unknown): MatcherResult {
    const e = asEither(received);
    if (e?._tag === 'Right') return result(true, `expected not a Right, but got Right(${show(e.right)})`);
    return result(false, `expected a Right, but got ${describeReceived(received)}`);
  },

  toBeRightWith(this: unknown, received: unknown, expected: unknown): MatcherResult {
    const e = asEither(received);
    if (e?._tag !== 'Right') return result(false, `expected Right(${show(expected)}), but got ${describeReceived(received)}`);
    if (equalityOf(this)(e.right, expected)) return result(true, `expected a value other than Right(${show(expected)}), but got exactly that`);
    return result(false, `expected Right(${show(expected)}), but got Right(${show(e.right)})`);
  },

  toBeLeft(this: unknown, received: unknown): MatcherResult {
    const e = asEither(received);
    if (e?._tag === 'Left') return result(true, `expected not a Left, but got Left(${showLeft(e.left)})`);
    return result(false, `expected a Left, but got ${describeReceived(received)}`);
  },

  toBeLeftWith(this: unknown, received: unknown, expected: unknown): MatcherResult {
    const e = asEither(received);
    if (e?._tag !== 'Left') return result(false, `expected Left(${show(expected)}), but got ${describeReceived(received)}`);
    if (equalityOf(this)(e.left, expected)) return result(true, `expected a value other than Left(${show(expected)}), but got exactly that`);
    return result(false, `expected Left(${show(expected)}), but got Left(${show(e.left)})`);
  },

  toBeErrno(this: unknown, received: unknown, errno: ErrnoName): MatcherResult {
    if (typeof errno !== 'string' || !isErrnoName(errno)) throw new TypeError(`toBeErrno: ${show(errno)} is not an errno name ipc-sentry knows (see ERRNO)`);
    const e = asEither(received);
    const left = e?._tag === 'Left' ? e.left : undefined;
    if ((left as { errno?: unknown } | null | undefined)?.errno === errno)
      return result(true, `expected a result other than ${errno}, but got Left(${showLeft(left)})`);
    return result(false, `expected Left with errno ${errno}, but got ${describeReceived(received)}`);
  },

  toFault(this: unknown, received: unknown, signal: FaultSignal, addr?: number): MatcherResult {
    if (!SIGNALS.includes(signal)) throw new TypeError(`toFault: ${show(signal)} is not a fault signal (SIGSEGV or SIGBUS)`);
    if (addr !== undefined && (typeof addr !== 'number' || !Number.isInteger(addr)))
      throw new TypeError(`toFault: the address must be an integer, got ${show(addr)}`);
    const want = addr === undefined ? signal : `${signal} at ${hex(addr)}`;
    const e = asEither(received);
    const f = e?._tag === 'Left' ? (e.left as Partial<Fault> | null) : undefined;
    const pass = f?.signal === signal && (addr === undefined || f.addr === addr);
    if (pass) return result(true, `expected no ${want} fault, but got Left(${showLeft(f)})`);
    return result(false, `expected a ${want} fault, but got ${describeReceived(received)}`);
  },
};

/** The matcher set's type: what `expect.extend` receives. */
export type EitherMatchers = typeof eitherMatchers;

/** The part of a runner's `expect` that installEitherMatchers needs (vitest's and jest's both fit). */
export interface Extendable {
  extend(matchers: EitherMatchers): void;
}

/**
 * One-line set-up: `installEitherMatchers(expect)` with vitest's or jest's
 * `expect`, typically in a setup file. The same as `expect.extend(eitherMatchers)`.
 */
export function installEitherMatchers(expect: Extendable): void {
  expect.extend(eitherMatchers);
}
