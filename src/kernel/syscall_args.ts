/**
 * The one decoder of syscall arguments, for every thread a program runs on.
 * A program passes addresses and lengths as Words (a number, or a bigint for
 * full 64-bit values) and flags as numbers; the in-process Process, a
 * worker's Task and the kernel thread's server all turn them into what the
 * mechanisms take here, so an argument means the same thing whoever passes
 * it. Every value is checked here, whatever its JavaScript type, so the
 * worker server hands a mailbox's untyped arguments to the same Process
 * methods an in-process caller calls and gets the same refusals: EINVAL
 * for a value no C caller could pass as that argument, EFAULT for a buffer
 * or path that is not one.
 *
 * Everything here is on the hot path of some call (shmat, IPC_STAT, every
 * load and store), so the common case, a small non-negative number, is
 * decided without a bigint and without allocating.
 */
import * as E from 'fp-ts/lib/Either.js';
import { TASK_SIZE, TASK_SIZE_N } from '../abi/constants.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import type { Sembuf } from '../abi/sem.js';
import type { Fault } from '../mm/access.js';
import type { U64Arg } from '../shm/syscalls.js';

/** An address or length as a program passes it: a number, or a bigint for full 64-bit values. */
export type Word = number | bigint;

/** 2^64, and -2^63: a number outside [-2^63, 2^64) is no value a 64-bit register can hold. */
const TWO_64 = 2 ** 64;
const MINUS_TWO_63 = -(2 ** 63);
const U64_LIMIT_N = 1n << 64n;

/**
 * A Word as the u64 a register would hold, or undefined when it is none: a
 * non-integer (NaN, 1.5, Infinity), a number outside [-2^63, 2^64) (a
 * negative number in range wraps, as C's conversion of a long does), a
 * bigint outside [0, 2^64), or not a number or bigint at all.
 */
export function toU64(w: Word): bigint | undefined {
  if (typeof w === 'bigint') return w >= 0n && w < U64_LIMIT_N ? w : undefined;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < MINUS_TWO_63 || w >= TWO_64) return undefined;
  // Most arguments are small non-negative numbers, which need no wrapping.
  return w >= 0 && w <= Number.MAX_SAFE_INTEGER ? BigInt(w) : BigInt.asUintN(64, BigInt(w));
}

/** toU64 without a bigint for the common case, a non-negative safe integer, which stays a number. */
export function toU64Arg(w: Word): U64Arg | undefined {
  return typeof w === 'number' && w >= 0 && Number.isSafeInteger(w) ? w : toU64(w);
}

/**
 * A value as an error message may show it, without running any of the
 * caller's code (no toString, no getters): numbers and bigints as written,
 * a string quoted and cut short, an object by its kind.
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case 'undefined':
    case 'boolean':
    case 'symbol':
      return String(v);
    case 'function':
      return 'a function';
    default: {
      if (v === null) return 'null';
      if (isArrayValue(v)) return 'an array';
      if (ArrayBuffer.isView(v)) return `a ${Object.prototype.toString.call(v).slice(8, -1)}`;
      return 'an object';
    }
  }
}

/**
 * Array.isArray, but false for a revoked Proxy, where Array.isArray throws:
 * memory that cannot be read is no array, and the caller's refusal (an
 * EFAULT, or a field that cannot be read) follows.
 */
export function isArrayValue(v: unknown): v is readonly unknown[] {
  try {
    return Array.isArray(v);
  } catch {
    return false;
  }
}

/** The EINVAL for an argument a C caller could not have passed at all. */
export function badArgument(name: string, value: unknown): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `${name} must be an integer, not ${describeValue(value)}`));
}

/** The EINVAL of an argument whose value is refused, saying what it must be. */
export function invalid(name: string, value: unknown, what: string): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `${name} must be ${what}, not ${describeValue(value)}`));
}

/** The EFAULT of a buffer or path argument that is not one: Linux faults on such a user pointer. */
export function badPointer(name: string, value: unknown, what: string): E.Either<SysError, never> {
  return E.left(sysError('EFAULT', `${name} must be ${what}, not ${describeValue(value)}`));
}

/** The TypeError of an argument of a JavaScript type no C caller could pass, where the result has no errno to say it with. */
export function wrongType(method: string, name: string, value: unknown, what: string): TypeError {
  return new TypeError(`${method}: ${name} must be ${what}, not ${describeValue(value)}`);
}

/**
 * Whether `v` is a C int argument: an integer number that an int or its
 * unsigned spelling holds, [-2^31, 2^32). The mechanisms convert it as C
 * does (`| 0`).
 */
export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff;
}

/** EINVAL naming `name` when `value` is not a C int (isInt), else undefined. Allocates nothing on success. */
export function notInteger(name: string, value: unknown): E.Either<SysError, never> | undefined {
  return isInt(value) ? undefined : badArgument(name, value);
}

/** EINVAL naming `name` when `value` is not a non-negative safe integer (a byte count, an offset), else undefined. */
export function notCount(name: string, value: unknown): E.Either<SysError, never> | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : invalid(name, value, 'a non-negative integer');
}

/** EFAULT naming `name` when `value` is not a string (a path), else undefined. */
export function notPath(name: string, value: unknown): E.Either<SysError, never> | undefined {
  return typeof value === 'string' ? undefined : badPointer(name, value, 'a string');
}

// The typed arrays' own accessors, which no subclass, own property or Proxy can replace.
const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsicGetter = (key: PropertyKey): ((this: unknown) => unknown) =>
  Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, key)?.get as (this: unknown) => unknown;
const typedArrayName = intrinsicGetter(Symbol.toStringTag);
const typedArrayLength = intrinsicGetter('length');
const typedArrayBuffer = intrinsicGetter('buffer');
const typedArrayOffset = intrinsicGetter('byteOffset');

/**
 * A caller's buffer as a plain Uint8Array over the same bytes, undefined
 * when it is no Uint8Array (a Proxy of one, an object that only inherits
 * from Uint8Array.prototype, anything else). The length, buffer and offset
 * are read through the typed arrays' own accessors, so a subclass or an
 * own property cannot make a call copy more or fewer bytes than the array
 * holds, and none of the caller's code (a getter, a species constructor)
 * runs while the kernel copies it. A view of a detached buffer, or of a
 * resizable one shrunk below it, holds no bytes: an empty array, as its
 * length says.
 */
export function userBytes(v: unknown): Uint8Array | undefined {
  if (typedArrayName.call(v) !== 'Uint8Array') return undefined;
  const n = typedArrayLength.call(v) as number;
  if (n === 0) return new Uint8Array(0);
  return new Uint8Array(typedArrayBuffer.call(v) as ArrayBuffer, typedArrayOffset.call(v) as number, n);
}

/**
 * userBytes copied: a new Uint8Array the kernel owns, with the bytes the
 * caller's array holds (none when detached or out of bounds); undefined
 * when it is no Uint8Array. One allocation: the Uint8Array constructor
 * given a typed array reads it through its internal slots (length, buffer,
 * offset) and makes a plain ArrayBuffer, so no getter, own property or
 * species of the caller's runs.
 */
export function userBytesCopy(v: unknown): Uint8Array | undefined {
  if (typedArrayName.call(v) !== 'Uint8Array') return undefined;
  return typedArrayLength.call(v) === 0 ? new Uint8Array(0) : new Uint8Array(v as Uint8Array);
}

/** EFAULT naming `name` when userBytes(value) found no Uint8Array (`bytes` is what it returned), else undefined. */
export function notUserBytes(name: string, value: unknown, bytes: Uint8Array | undefined): E.Either<SysError, never> | undefined {
  return bytes !== undefined ? undefined : badPointer(name, value, 'a Uint8Array');
}

/** Whether `v` is an options object: undefined, or an object that is not an array or a function. */
export function isOptions(v: unknown): v is object | undefined {
  return v === undefined || (typeof v === 'object' && v !== null && !isArrayValue(v));
}

/**
 * An object of boolean flags, copied (each of `keys` read once, with
 * copyFields, and no other): EINVAL naming the first that is neither
 * absent nor a boolean, or the whole when it is no object.
 */
export function copyFlags(name: string, options: unknown, keys: readonly string[]): E.Either<SysError, Record<string, boolean>> {
  if (!isOptions(options)) return invalid(name, options, 'an object of flags');
  const out: Record<string, boolean> = {};
  if (options === undefined) return E.right(out);
  const copied = copyFields(name, options, keys);
  if (E.isLeft(copied)) return copied;
  for (const k of keys) {
    const v = copied.right[k];
    if (v !== undefined && typeof v !== 'boolean') return invalid(`${name}.${k}`, v, 'a boolean');
    if (v !== undefined) out[k] = v;
  }
  return E.right(out);
}

/** A 32-bit value argument of an atomic: an integer an int32 or uint32 holds. */
export function isWordValue(v: unknown): v is number {
  return typeof v === 'number' && ((v | 0) === v || v >>> 0 === v);
}

/** A user address (the u64 `w` holds) as a number, or undefined when no mapping can hold it. */
export function userAddress(w: Word): number | undefined {
  // The common case, a plain user address, needs no bigint.
  if (typeof w === 'number' && Number.isSafeInteger(w) && w >= 0) return w < TASK_SIZE ? w : undefined;
  return wideAddress(w);
}

/** userAddress for the rest: bigints, negative numbers, non-integers and values of other types. */
function wideAddress(w: Word): number | undefined {
  const a = toU64(w);
  return a !== undefined && a < TASK_SIZE_N ? Number(a) : undefined;
}

/** Whether `len` can be the length of a load or store: a whole number of bytes. */
export function isAccessLength(len: number): boolean {
  return Number.isSafeInteger(len) && len >= 0;
}

/** The SIGSEGV of an access at `addr` that no mapping can hold. */
export function segvAt(addr: Word): E.Either<Fault, never> {
  return E.left({ signal: 'SIGSEGV', addr: typeof addr === 'number' && Number.isFinite(addr) ? addr : Number.MAX_SAFE_INTEGER });
}

/**
 * Why `addr` (userAddress's decoding) cannot be a futex word, as
 * kernel/futex/core.c get_futex_key says it: EFAULT outside the address
 * space, EINVAL when not 4-byte aligned. Call it only for such an address.
 */
export function badFutexAddress(addr: number | undefined): E.Either<SysError, never> {
  if (addr === undefined) return E.left(sysError('EFAULT', 'futex address outside the address space'));
  return E.left(sysError('EINVAL', `futex address 0x${addr.toString(16)} is not 4-byte aligned`));
}

/** The EFAULT of a futex word that is not mapped readable. */
export function unmappedFutex(addr: number): E.Either<SysError, never> {
  return E.left(sysError('EFAULT', `futex address 0x${addr.toString(16)} is not mapped readable`));
}

/** FUTEX_WAIT's timeout: EINVAL unless it is absent (forever) or a non-negative number of milliseconds. */
export function badTimeout(timeoutMs: unknown): E.Either<SysError, never> | undefined {
  return timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs >= 0)
    ? undefined
    : invalid('timeoutMs', timeoutMs, 'a non-negative number of milliseconds');
}

// System V semaphores and message queues. Their arguments are values, not
// user memory: a sops array, a timeout object, semun's value, array or
// buffer, a message's text. What a C caller would pass as a pointer is
// EFAULT when it is no such thing (Linux's copy_from_user fails); a field
// or number no C type could hold is EINVAL naming it.

/** A C long (mtype, msgtyp): an integer number in [-2^63, 2^64), or a bigint there (the u64 spelling wraps, as a register does). */
export function notLong(name: string, value: unknown): E.Either<SysError, never> | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= MINUS_TWO_63 && value < TWO_64 ? undefined : badArgument(name, value);
  if (typeof value === 'bigint') return value >= -(1n << 63n) && value < U64_LIMIT_N ? undefined : badArgument(name, value);
  return badArgument(name, value);
}

/** A C long as the mechanisms take it: a number when it is a safe integer, else the signed 64-bit bigint. Precondition: notLong passed. */
export function toLong(value: number | bigint): number | bigint {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : BigInt.asIntN(64, BigInt(value));
  const v = BigInt.asIntN(64, value);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * A loff_t (a file offset or length, exact up to 2^63 - 1): a safe-integer
 * number, or a bigint in [-2^63, 2^64) (the u64 spelling wraps, as a
 * register does); toLong converts it. EINVAL naming `name` otherwise.
 */
export function notLoff(name: string, value: unknown): E.Either<SysError, never> | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? undefined : invalid(name, value, 'a safe integer or a bigint');
  return notLong(name, value);
}

/** mmap's offset (an unsigned long): a loff_t as notLoff takes it, read as the u64 a register holds. Precondition: notLoff passed. */
export function toMmapOffset(value: number | bigint): number | bigint {
  return typeof value === 'number' && value >= 0 ? value : BigInt.asUintN(64, BigInt(value));
}

/** A size_t count (msgrcv's msgsz) as the mechanism takes it: a number, or a bigint past 2^53; undefined when it is no u64. */
export function toSize(value: Word): number | bigint | undefined {
  const v = toU64Arg(value);
  return typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * semtimedop's timeout, copied: absent (forever), or an object of integer
 * sec and nsec (EFAULT for no object, EINVAL for a field); each field is
 * read once (copyFields).
 */
export function copyTimespec(timeout: unknown): E.Either<SysError, { readonly sec: number; readonly nsec: number } | undefined> {
  if (timeout === undefined) return E.right(undefined);
  if (typeof timeout !== 'object' || timeout === null) return badPointer('timeout', timeout, 'an object of sec and nsec');
  const t = copyFields('timeout', timeout, ['sec', 'nsec']);
  if (E.isLeft(t)) return t;
  const { sec, nsec } = t.right;
  if (typeof sec !== 'number' || !Number.isSafeInteger(sec)) return badArgument('timeout.sec', sec);
  if (typeof nsec !== 'number' || !Number.isSafeInteger(nsec)) return badArgument('timeout.nsec', nsec);
  return E.right({ sec, nsec });
}

/** One operation of a semop array (struct sembuf), as the caller wrote it. */
export type SembufArg = Sembuf;

/**
 * semop's array, copied (each length, element and field read once, with
 * copyFields): EFAULT when it is no array, its length is no array length
 * (a Proxy's), or an element is no object or cannot be read; EINVAL naming a field that is no C int. For an array
 * longer than `semopm`, or empty, an uncopied stand-in of its length: the
 * mechanism refuses it (E2BIG, EINVAL) before Linux would copy it.
 */
export function copySops(sops: unknown, semopm: number): E.Either<SysError, readonly SembufArg[]> {
  if (!isArrayValue(sops)) return badPointer('sops', sops, 'an array of { semNum, semOp, semFlg }');
  const n = copyFields('sops', sops, ['length']);
  if (E.isLeft(n)) return n;
  const length = n.right.length;
  // Only a Proxy's length trap can answer something no array length is (new Array of it throws): memory that is no array.
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    return badPointer('sops.length', length, 'an array length');
  }
  // A stand-in of that length: the mechanism refuses it on the length alone.
  if (length === 0 || length > semopm >>> 0) return E.right(new Array<SembufArg>(length));
  const elements = copyElements('sops', sops, length);
  if (E.isLeft(elements)) return elements;
  const out = new Array<SembufArg>(length);
  for (let i = 0; i < length; i += 1) {
    const s = elements.right[i];
    if (typeof s !== 'object' || s === null) return badPointer(`sops[${i}]`, s, 'an object of semNum, semOp and semFlg');
    const fields = copyFields(`sops[${i}]`, s, ['semNum', 'semOp', 'semFlg']);
    if (E.isLeft(fields)) return fields;
    const { semNum, semOp, semFlg } = fields.right;
    const bad = notInteger(`sops[${i}].semNum`, semNum) ?? notInteger(`sops[${i}].semOp`, semOp) ?? notInteger(`sops[${i}].semFlg`, semFlg);
    if (bad !== undefined) return bad;
    out[i] = { semNum: semNum as number, semOp: semOp as number, semFlg: semFlg as number };
  }
  return E.right(out);
}

/**
 * The fields of a caller's struct, each read exactly once, as Linux's
 * copy_from_user copies it once at the call: the call checks and uses only
 * the copy, so a getter or a Proxy that answers differently on a later
 * read cannot slip a value past the checks. A read that throws is the
 * EFAULT of memory that cannot be read, naming the field.
 */
export function copyFields<K extends string>(name: string, obj: object, fields: readonly K[]): E.Either<SysError, Record<K, unknown>> {
  const out = {} as Record<K, unknown>;
  for (const f of fields) {
    try {
      out[f] = (obj as Record<string, unknown>)[f];
    } catch {
      return E.left(sysError('EFAULT', `${name}.${f} could not be read`));
    }
  }
  return E.right(out);
}

/**
 * The first `n` elements of a caller's array, each read once (copyFields'
 * rule for an array): EFAULT naming the first whose read throws.
 */
export function copyElements(name: string, arr: object, n: number): E.Either<SysError, unknown[]> {
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i += 1) {
    try {
      out[i] = (arr as Record<number, unknown>)[i];
    } catch {
      return E.left(sysError('EFAULT', `${name}.${i} could not be read`));
    }
  }
  return E.right(out);
}

/** EINVAL naming the first of `fields` of `obj` that is no C int, else undefined. Precondition: obj is an object. */
export function notIntegerFields(name: string, obj: object, fields: readonly string[]): E.Either<SysError, never> | undefined {
  for (const f of fields) {
    const bad = notInteger(`${name}.${f}`, (obj as Record<string, unknown>)[f]);
    if (bad !== undefined) return bad;
  }
  return undefined;
}
