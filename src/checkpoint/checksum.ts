/**
 * The checksums of image sections. Version 1: a 32-bit hash over little-endian 32-bit
 * words, in four independent lanes so the CPU overlaps them. Each step
 * replaces a lane h by (rotl(h ^ w, 13) * odd), a bijection of h for a fixed
 * word w, so changing any single word (any bit flip, any run of damage
 * inside one word) always changes the result; the lanes are folded at the
 * end by a mix that is a bijection of each lane too. Unrelated damage in
 * several words goes unnoticed with probability about 2^-32.
 *
 * CRC32 would do, but a table-driven CRC moves a few hundred MB/s in
 * JavaScript, and page data must move at more than 1 GiB/s.
 */

import { wasmLoop } from './checksum_wasm.js';
import type { WasmLoop } from './checksum_wasm.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;

/** The checksum of `bytes`. */
export function checksum32(bytes: Uint8Array): number {
  // Uint32Array views need a 4-byte aligned start; an unaligned section (a
  // Node Buffer slice, say) is hashed from an aligned copy.
  const data = (bytes.byteOffset & 3) === 0 ? bytes : bytes.slice();
  const nWords = data.length >>> 2;
  let h0 = 0x243f6a88;
  let h1 = 0x85a308d3;
  let h2 = 0x13198a2e;
  let h3 = 0x03707344;
  const whole = nWords & ~3;
  if (LITTLE_ENDIAN) {
    const w = new Uint32Array(data.buffer, data.byteOffset, nWords);
    for (let i = 0; i < whole; i += 4) {
      const a = h0 ^ (w[i] as number);
      const b = h1 ^ (w[i + 1] as number);
      const c = h2 ^ (w[i + 2] as number);
      const d = h3 ^ (w[i + 3] as number);
      h0 = Math.imul((a << 13) | (a >>> 19), P1);
      h1 = Math.imul((b << 13) | (b >>> 19), P2);
      h2 = Math.imul((c << 13) | (c >>> 19), P3);
      h3 = Math.imul((d << 13) | (d >>> 19), P4);
    }
  } else {
    for (let i = 0; i < whole; i += 4) {
      const a = h0 ^ wordAt(data, i);
      const b = h1 ^ wordAt(data, i + 1);
      const c = h2 ^ wordAt(data, i + 2);
      const d = h3 ^ wordAt(data, i + 3);
      h0 = Math.imul((a << 13) | (a >>> 19), P1);
      h1 = Math.imul((b << 13) | (b >>> 19), P2);
      h2 = Math.imul((c << 13) | (c >>> 19), P3);
      h3 = Math.imul((d << 13) | (d >>> 19), P4);
    }
  }
  return fold(tail(h0, data.subarray(whole * 4)), h1, h2, h3, data.length);
}

/** The words after the last whole group, then the odd bytes, go into lane 0 (both versions). */
function tail(h0: number, rest: Uint8Array): number {
  const nWords = rest.length >>> 2;
  let h = h0;
  for (let i = 0; i < nWords; i += 1) {
    const a = h ^ wordAt(rest, i);
    h = Math.imul((a << 13) | (a >>> 19), P1);
  }
  for (let i = nWords * 4; i < rest.length; i += 1) {
    const a = h ^ (rest[i] as number);
    h = Math.imul((a << 13) | (a >>> 19), P1);
  }
  return h;
}

/** The four lanes and the length folded into the 32-bit result (both versions). */
function fold(h0: number, h1: number, h2: number, h3: number, length: number): number {
  let h = h0 ^ ((h1 << 7) | (h1 >>> 25)) ^ ((h2 << 14) | (h2 >>> 18)) ^ ((h3 << 21) | (h3 >>> 11)) ^ length;
  h = Math.imul(h ^ (h >>> 16), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The little-endian word `i` of `bytes`, whatever the platform's byte order. */
function wordAt(bytes: Uint8Array, i: number): number {
  const at = i * 4;
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) | 0;
}

/**
 * The checksum of format version 2: the same four lanes, each step taking
 * eight words instead of four. Lane k takes word k of a group by xor before
 * its multiply, as version 1 does, and word k + 4 by addition after it, so
 * one multiply covers two words. Each step is still a bijection of each
 * lane and of each word with the rest fixed, so any damage inside a single
 * word always changes the result.
 *
 * Incremental, so checkpoint and restore can hash each piece of page data
 * right after copying it, while it is still in cache: every update but the
 * last must be a whole number of 32-byte groups.
 */
export class Checksum {
  /** The four lanes (an Int32Array, so the WebAssembly loop can take them as they are). */
  private readonly lanes = Int32Array.of(0x243f6a88, 0x85a308d3 | 0, 0x13198a2e, 0x03707344);
  private length = 0;
  private closed = false;
  private readonly wasm: WasmLoop | undefined;
  /** An aligned copy of a piece whose start is not 4-byte aligned (JavaScript loop only). */
  private scratch: Uint8Array | undefined;

  /** `wasm: false` keeps to the JavaScript loop (the tests compare the two). */
  constructor(options: { readonly wasm?: boolean } = {}) {
    this.wasm = options.wasm === false ? undefined : wasmLoop();
  }

  /** Absorbs `bytes`. Only the last update may leave a partial 32-byte group. */
  update(bytes: Uint8Array): void {
    if (this.closed) throw new Error('Checksum.update after a partial group');
    this.length += bytes.length;
    const wholeBytes = bytes.length & ~31;
    if (wholeBytes > 0) {
      const groups = bytes.subarray(0, wholeBytes);
      if (this.wasm !== undefined) this.wasm.absorb(this.lanes, groups);
      else this.absorb(groups);
    }
    if (wholeBytes === bytes.length) return;
    this.closed = true;
    this.lanes[0] = tail(this.lanes[0] as number, bytes.subarray(wholeBytes));
  }

  /** The checksum of everything absorbed. */
  digest(): number {
    const [h0, h1, h2, h3] = this.lanes as unknown as [number, number, number, number];
    return fold(h0, h1, h2, h3, this.length);
  }

  /** The JavaScript loop over whole groups. */
  private absorb(bytes: Uint8Array): void {
    let data = bytes;
    if ((bytes.byteOffset & 3) !== 0) {
      if (this.scratch === undefined || this.scratch.length < bytes.length) this.scratch = new Uint8Array(Math.max(bytes.length, 1 << 20));
      this.scratch.set(bytes);
      data = this.scratch.subarray(0, bytes.length);
    }
    let h0 = this.lanes[0] as number;
    let h1 = this.lanes[1] as number;
    let h2 = this.lanes[2] as number;
    let h3 = this.lanes[3] as number;
    if (LITTLE_ENDIAN) {
      const w = new Int32Array(data.buffer, data.byteOffset, data.length >>> 2);
      // Bounded by w.length itself, so V8 drops the bounds checks on the eight loads.
      for (let i = 0; i + 7 < w.length; i += 8) {
        const a = h0 ^ (w[i] as number);
        const b = h1 ^ (w[i + 1] as number);
        const c = h2 ^ (w[i + 2] as number);
        const d = h3 ^ (w[i + 3] as number);
        h0 = (Math.imul((a << 13) | (a >>> 19), P1) + (w[i + 4] as number)) | 0;
        h1 = (Math.imul((b << 13) | (b >>> 19), P2) + (w[i + 5] as number)) | 0;
        h2 = (Math.imul((c << 13) | (c >>> 19), P3) + (w[i + 6] as number)) | 0;
        h3 = (Math.imul((d << 13) | (d >>> 19), P4) + (w[i + 7] as number)) | 0;
      }
    } else {
      for (let i = 0; i < data.length >>> 2; i += 8) {
        const a = h0 ^ wordAt(data, i);
        const b = h1 ^ wordAt(data, i + 1);
        const c = h2 ^ wordAt(data, i + 2);
        const d = h3 ^ wordAt(data, i + 3);
        h0 = (Math.imul((a << 13) | (a >>> 19), P1) + wordAt(data, i + 4)) | 0;
        h1 = (Math.imul((b << 13) | (b >>> 19), P2) + wordAt(data, i + 5)) | 0;
        h2 = (Math.imul((c << 13) | (c >>> 19), P3) + wordAt(data, i + 6)) | 0;
        h3 = (Math.imul((d << 13) | (d >>> 19), P4) + wordAt(data, i + 7)) | 0;
      }
    }
    this.lanes[0] = h0;
    this.lanes[1] = h1;
    this.lanes[2] = h2;
    this.lanes[3] = h3;
  }
}

/** Version 2's checksum of `bytes` in one piece. */
export function checksumV2(bytes: Uint8Array, options: { readonly wasm?: boolean } = {}): number {
  const c = new Checksum(options);
  c.update(bytes);
  return c.digest();
}

/**
 * Hashes the section [start, end) of `image` as it is written (or read) in
 * order: upTo(at) absorbs what lies before `at` in whole 32-byte groups.
 */
export class SectionHasher {
  private readonly sum = new Checksum();
  private hashed: number;

  constructor(
    private readonly image: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.hashed = start;
  }

  /** Absorbs the section's bytes before `at`, up to the last whole group (all of them at the end). */
  upTo(at: number): void {
    const to = at >= this.end ? this.end : this.hashed + Math.floor((at - this.hashed) / 32) * 32;
    if (to > this.hashed) this.sum.update(this.image.subarray(this.hashed, to));
    this.hashed = Math.max(this.hashed, to);
  }

  /** The section's checksum. */
  digest(): number {
    this.upTo(this.end);
    return this.sum.digest();
  }
}
