/**
 * The checks of `new Kernel(options)`. A constructor cannot return an
 * Either, so an option that cannot be used is refused at once with a
 * TypeError (a value of the wrong kind) or a RangeError (a number outside
 * what the option can be) whose message names Kernel and the option, before
 * anything is built: never a later crash in the first spawn or the first
 * timed wait, never a value taken silently.
 *
 * Each option is read exactly once, into a fresh object that the
 * constructor reads instead of the caller's: a getter that answers
 * differently on a second read cannot make the kernel check one value and
 * use another. A getter that throws is refused as a TypeError naming the
 * option. Keys the interface does not have are never read.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import { MAX_CHUNK_BYTES, MAX_FRAMES, isChunkSize } from '../mm/memory_file.js';
import type { KernelOptions } from './kernel.js';
import { isId } from './spawn_options.js';
import { describeValue, wrongType } from './syscall_args.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Every option KernelOptions has, in the order they are read. */
const KEYS = [
  'clock',
  'monotonicClock',
  'allocatePid',
  'memTotalBytes',
  'chunkBytes',
  'executeOnly',
  'hugetlbShmGroup',
  'hugePageSizes',
  'poisonFreed',
  'maxMapCount',
] as const satisfies readonly (keyof KernelOptions)[];

/**
 * Fewer than MAX_FRAMES + 1 pages: memTotalBytes past it is more than a
 * MemoryFile can number, and a checkpoint's restore refuses it (validate.ts).
 */
const MAX_MEM_TOTAL_BYTES = (MAX_FRAMES + 1) * PAGE_SIZE - 1;

/** vm.max_map_count is a C int that Linux's sysctl keeps at least 0 (proc_dointvec_minmax). */
const MAX_MAP_COUNT_LIMIT = 2 ** 31 - 1;

/** The longest hugePageSizes array read: far more than the page sizes any CPU has. */
const MAX_HUGE_PAGE_SIZES = 64;

function outOfRange(name: string, value: unknown, what: string): RangeError {
  return new RangeError(`Kernel: options.${name} must be ${what}, not ${describeValue(value)}`);
}

function unreadable(name: string): TypeError {
  return new TypeError(`Kernel: options.${name} could not be read`);
}

/** `obj[key]`, read once; a throwing getter or Proxy trap becomes a TypeError naming `name`. */
function readOnce(obj: object, key: PropertyKey, name: string): unknown {
  try {
    return (obj as Record<PropertyKey, unknown>)[key];
  } catch {
    throw unreadable(name);
  }
}

/** A number that must be an integer in [min, max]: a TypeError for a non-number, else a RangeError. */
function integerIn(name: string, v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number') throw wrongType('Kernel', `options.${name}`, v, what);
  if (!Number.isInteger(v) || v < min || v > max) throw outOfRange(name, v, what);
  return v;
}

function functionOption(name: string, v: unknown, what: string): () => number {
  if (typeof v !== 'function') throw wrongType('Kernel', `options.${name}`, v, what);
  return v as () => number;
}

/**
 * The caller's hugePageSizes as a fresh array of numbers: its length and
 * each element read once. Numbers that are no huge page size stay (the
 * Kernel leaves them out, as KernelOptions.hugePageSizes says); anything
 * but a number is refused naming its index.
 */
function copySizes(v: unknown): number[] {
  let isArray: boolean;
  try {
    isArray = Array.isArray(v); // throws for a revoked Proxy
  } catch {
    throw unreadable('hugePageSizes');
  }
  if (!isArray) throw wrongType('Kernel', 'options.hugePageSizes', v, 'an array of huge page sizes in bytes');
  const arr = v as readonly unknown[];
  const length = readOnce(arr, 'length', 'hugePageSizes.length');
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) throw unreadable('hugePageSizes.length');
  if (length > MAX_HUGE_PAGE_SIZES) throw outOfRange('hugePageSizes', v, `an array of at most ${MAX_HUGE_PAGE_SIZES} sizes`);
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const size = readOnce(arr, i, `hugePageSizes[${i}]`);
    if (typeof size !== 'number') throw wrongType('Kernel', `options.hugePageSizes[${i}]`, size, 'a number of bytes');
    out.push(size);
  }
  return out;
}

/**
 * `new Kernel(options)`'s options, checked and copied: undefined or an
 * object (not null, not an array, not a function), each option absent
 * (undefined) or of the kind and range the kernel uses it as. Returns the
 * copy, holding only the options given; throws a TypeError or RangeError
 * naming the first option that cannot be used.
 */
export function checkKernelOptions(options: unknown): KernelOptions {
  if (options === undefined) return {};
  let isArray: boolean;
  try {
    isArray = Array.isArray(options); // throws for a revoked Proxy
  } catch {
    throw new TypeError('Kernel: options could not be read');
  }
  if (typeof options !== 'object' || options === null || isArray) throw wrongType('Kernel', 'options', options, 'an object of kernel options');
  const raw = {} as Record<(typeof KEYS)[number], unknown>;
  for (const k of KEYS) raw[k] = readOnce(options, k, k);

  const out: Mutable<KernelOptions> = {};
  if (raw.clock !== undefined) out.clock = functionOption('clock', raw.clock, 'a function returning seconds');
  if (raw.monotonicClock !== undefined) out.monotonicClock = functionOption('monotonicClock', raw.monotonicClock, 'a function returning milliseconds');
  if (raw.allocatePid !== undefined) out.allocatePid = functionOption('allocatePid', raw.allocatePid, 'a function returning pids');
  if (raw.memTotalBytes !== undefined) {
    out.memTotalBytes = integerIn('memTotalBytes', raw.memTotalBytes, 0, MAX_MEM_TOTAL_BYTES, `a whole number of bytes in 0..${MAX_MEM_TOTAL_BYTES}`);
  }
  if (raw.chunkBytes !== undefined) {
    const what = `a power of two from ${PAGE_SIZE} to ${MAX_CHUNK_BYTES}`;
    const n = integerIn('chunkBytes', raw.chunkBytes, PAGE_SIZE, MAX_CHUNK_BYTES, what);
    if (!isChunkSize(n)) throw outOfRange('chunkBytes', n, what);
    out.chunkBytes = n;
  }
  if (raw.executeOnly !== undefined) {
    if (typeof raw.executeOnly !== 'boolean') throw wrongType('Kernel', 'options.executeOnly', raw.executeOnly, 'a boolean');
    out.executeOnly = raw.executeOnly;
  }
  if (raw.hugetlbShmGroup !== undefined) {
    const what = 'a gid, an integer in 0..4294967294';
    if (typeof raw.hugetlbShmGroup !== 'number') throw wrongType('Kernel', 'options.hugetlbShmGroup', raw.hugetlbShmGroup, what);
    if (!isId(raw.hugetlbShmGroup)) throw outOfRange('hugetlbShmGroup', raw.hugetlbShmGroup, what);
    out.hugetlbShmGroup = raw.hugetlbShmGroup;
  }
  if (raw.hugePageSizes !== undefined) out.hugePageSizes = copySizes(raw.hugePageSizes);
  if (raw.poisonFreed !== undefined) out.poisonFreed = integerIn('poisonFreed', raw.poisonFreed, 0, 255, 'a byte value in 0..255');
  if (raw.maxMapCount !== undefined) {
    out.maxMapCount = integerIn('maxMapCount', raw.maxMapCount, 0, MAX_MAP_COUNT_LIMIT, `an integer in 0..${MAX_MAP_COUNT_LIMIT}`);
  }
  return out;
}

/** The first reading of an injected clock, which the constructor takes: a throw from it is a TypeError naming the option. */
function firstReading(name: string, read: () => number): unknown {
  try {
    return read();
  } catch (e) {
    throw new TypeError(`Kernel: options.${name} threw when first read: ${e instanceof Error ? e.message : describeValue(e)}`, { cause: e });
  }
}

/** A TypeError for a reading that is no number, a RangeError for a number that is no `what`. */
function badReading(name: string, v: unknown, what: string): TypeError | RangeError {
  const message = `Kernel: options.${name} must return ${what}, not ${describeValue(v)}`;
  return typeof v === 'number' ? new RangeError(message) : new TypeError(message);
}

/**
 * options.clock behind a check, which the constructor puts in place of an
 * injected clock (never the default, which needs none). Read once now: a
 * first reading that is no safe integer is refused. Afterwards a reading
 * that is no safe integer (a string, NaN, 1.5, 2^53, a bigint) is the last
 * good one, so no IPC time the kernel stamps is one a checkpoint image
 * cannot hold. The function is called bare, as the kernel calls its own.
 */
export function checkedClock(read: () => number): () => number {
  const first = firstReading('clock', read);
  if (!Number.isSafeInteger(first)) throw badReading('clock', first, 'a whole number of seconds (a safe integer)');
  let last = first as number;
  return () => {
    const v: unknown = read();
    if (Number.isSafeInteger(v)) last = v as number;
    return last;
  };
}

/**
 * options.monotonicClock behind a check, as checkedClock: a first reading
 * that is no finite number is refused; afterwards a reading that is no
 * finite number, or is below the last (the clock must never go back), is
 * the last one, so a deadline armed on it is neither lost nor moved.
 */
export function checkedMonotonicClock(read: () => number): () => number {
  const first = firstReading('monotonicClock', read);
  if (typeof first !== 'number' || !Number.isFinite(first)) throw badReading('monotonicClock', first, 'a finite number of milliseconds');
  let last = first;
  return () => {
    const v: unknown = read();
    if (typeof v === 'number' && v > last && v !== Number.POSITIVE_INFINITY) last = v;
    return last;
  };
}

/** The largest pid Linux hands out: PID_MAX_LIMIT on 64-bit, the most kernel.pid_max can be. */
export const PID_MAX_LIMIT = 4 * 1024 * 1024;

/** Whether `v` is a pid Linux could hand out: an integer in 1..PID_MAX_LIMIT. */
export function isPid(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= PID_MAX_LIMIT;
}
