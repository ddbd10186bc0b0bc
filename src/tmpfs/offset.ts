/**
 * Byte offsets and sizes of files (Linux loff_t), exact up to
 * MAX_LFS_FILESIZE = 2^63 - 1. A FileOffset is a number while it is a safe
 * integer and a bigint only past that (the canonical spelling), so every
 * value has one representation: `===`, `<` and `<=` compare any two
 * directly (JavaScript compares a number with a bigint exactly), and the
 * common case, a small offset, never builds a bigint. Page indices
 * (offset / 4096, at most 2^51) are always numbers.
 */
import { PAGE_SIZE } from '../abi/constants.js';

/** A byte offset or size: a safe-integer number, or a bigint past Number.MAX_SAFE_INTEGER (or below its negative). */
export type FileOffset = number | bigint;

/** MAX_LFS_FILESIZE, tmpfs's s_maxbytes: the largest file size and the largest loff_t. */
export const MAX_LFS_FILESIZE: FileOffset = (1n << 63n) - 1n;

const PAGE_N = BigInt(PAGE_SIZE);
const MAX_SAFE_N = BigInt(Number.MAX_SAFE_INTEGER);

/** Integer `v` in its canonical spelling: a number when it is a safe integer, else a bigint. */
export function offsetOf(v: bigint | number): FileOffset {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : BigInt(v);
  return v <= MAX_SAFE_N && v >= -MAX_SAFE_N ? Number(v) : v;
}

/** a + b, exact. */
export function addOffset(a: FileOffset, b: FileOffset): FileOffset {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return offsetOf(BigInt(a) + BigInt(b));
}

/** a - b, exact. */
export function subOffset(a: FileOffset, b: FileOffset): FileOffset {
  if (typeof a === 'number' && typeof b === 'number') {
    const d = a - b;
    if (Number.isSafeInteger(d)) return d;
  }
  return offsetOf(BigInt(a) - BigInt(b));
}

/** The smaller of a and b. */
export function minOffset(a: FileOffset, b: FileOffset): FileOffset {
  return b < a ? b : a;
}

/** The larger of a and b. */
export function maxOffset(a: FileOffset, b: FileOffset): FileOffset {
  return b > a ? b : a;
}

/** The page holding byte `off` (off ≥ 0): floor(off / 4096). */
export function pageOf(off: FileOffset): number {
  return typeof off === 'number' ? Math.floor(off / PAGE_SIZE) : Number(off / PAGE_N);
}

/** Pages needed to hold `off` bytes (off ≥ 0): ceil(off / 4096). */
export function pagesFor(off: FileOffset): number {
  return typeof off === 'number' ? Math.ceil(off / PAGE_SIZE) : Number((off + PAGE_N - 1n) / PAGE_N);
}

/** Byte `off`'s position inside its page (off ≥ 0). */
export function inPageOf(off: FileOffset): number {
  return typeof off === 'number' ? off - Math.floor(off / PAGE_SIZE) * PAGE_SIZE : Number(off % PAGE_N);
}

/** The first byte of page `page`. */
export function pageStart(page: number): FileOffset {
  const b = page * PAGE_SIZE;
  return Number.isSafeInteger(b) ? b : BigInt(page) * PAGE_N;
}

/** An offset for a message: decimal. */
export function showOffset(off: FileOffset): string {
  return String(off);
}
