/**
 * Bulk byte copies in and out of MemoryFile chunks (SharedArrayBuffers): a
 * long copy is Node's Buffer#fill handed a Uint8Array value exactly as long
 * as the range it fills, which is one memcpy (why: see "Hot paths" in docs/architecture.md).
 *
 * The core uses no Node API (tsconfig.core.json), so the method is looked up
 * on globalThis and used only where it exists; elsewhere (a browser) every
 * copy is a TypedArray#set. Both give the same bytes.
 */

type FillMethod = (this: Uint8Array, value: Uint8Array, offset: number, end: number) => unknown;

/** Copies of fewer bytes than this use TypedArray#set: below about a kilobyte the fill call's own argument checks cost more than they save. */
export const BULK_COPY_MIN = 2048;

function findFill(): FillMethod | undefined {
  const B = (globalThis as { Buffer?: { prototype?: { fill?: unknown } } }).Buffer;
  const fill = B?.prototype?.fill;
  if (typeof fill !== 'function') return undefined;
  // Check that it copies a Uint8Array value as a memcpy would before relying on it.
  try {
    const probe = new Uint8Array(4);
    (fill as FillMethod).call(probe, Uint8Array.of(1, 2, 3), 1, 4);
    return probe[0] === 0 && probe[1] === 1 && probe[2] === 2 && probe[3] === 3 ? (fill as FillMethod) : undefined;
  } catch {
    return undefined;
  }
}

const fill = findFill();

/** How large copies are made here: 'memcpy' (Node's Buffer#fill) or 'set' (TypedArray#set). */
export const bulkCopyKind: 'memcpy' | 'set' = fill === undefined ? 'set' : 'memcpy';

/**
 * Copies `n` bytes from `src[from..]` to `dst[at..]`. The ranges may lie in
 * one buffer; where they overlap the result is a memmove's, as set's is.
 * Precondition: both ranges are within their arrays.
 */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): void {
  const piece = from === 0 && n === src.length ? src : src.subarray(from, from + n);
  if (fill === undefined || n < BULK_COPY_MIN || overlaps(dst, at, src, from, n)) {
    dst.set(piece, at);
    return;
  }
  fill.call(dst, piece, at, at + n);
}

function overlaps(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): boolean {
  if (dst.buffer !== src.buffer) return false;
  const d = dst.byteOffset + at;
  const s = src.byteOffset + from;
  return d < s + n && s < d + n;
}
