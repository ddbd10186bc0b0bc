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
  return (bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24) | 0;
}

/** The formats whose checksum the Checksum class computes. */
export type ChecksumVersion = 2 | 3;

/** Version 3's starting lanes: the first sixteen 32-bit words of pi's fraction. */
const SEEDS_V3 = [
  0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89, 0x452821e6, 0x38d01377, 0xbe5466cf, 0x34e90c6c, 0xc0ac29b7,
  0xc97c50dd, 0x3f84d5b5, 0xb5470917,
];
const MULTIPLIERS = Int32Array.of(P1 | 0, P2 | 0, P3 | 0, P4);

/**
 * The incremental checksum of format versions 2 and 3, so checkpoint and
 * restore can hash each piece of page data right after copying it, while
 * it is still in cache. Every update but the last must be a whole number of
 * groups (32 bytes in version 2, 128 in version 3).
 *
 * Version 2: the same four lanes as version 1, each step taking eight words
 * instead of four. Lane k takes word k of a group by xor before its
 * multiply, as version 1 does, and word k + 4 by addition after it, so one
 * multiply covers two words.
 *
 * Version 3: sixteen lanes in four blocks of four, which a SIMD loop runs as
 * four independent vectors, so their multiplies overlap. Block b of a
 * 128-byte group is its words 8b..8b+7; lane 4b + e takes word 8b + e by xor
 * and word 8b + 4 + e by addition, with multiplier e. At the end the four
 * blocks are folded into four lanes by xor, each block rotated by its own
 * amount, and those go through version 2's final fold.
 *
 * In both, each step is a bijection of each lane and of each word with the
 * rest fixed, and so is the final fold of each lane, so any damage inside a
 * single word always changes the result. The words after the last whole
 * group and then the odd bytes go into lane 0, as in version 1.
 */
export class Checksum {
  /** The lanes (an Int32Array, so the WebAssembly loop can take them as they are). */
  private readonly lanes: Int32Array;
  private readonly groupBytes: number;
  private readonly version: ChecksumVersion;
  private length = 0;
  private closed = false;
  private readonly wasm: WasmLoop | undefined = undefined;
  /** An aligned copy of a piece whose start is not 4-byte aligned (JavaScript loop only). */
  private scratch: Uint8Array | undefined = undefined;

  /** `version` defaults to 3; `wasm: false` keeps to the JavaScript loop (the tests compare the two). */
  constructor(options: { readonly version?: ChecksumVersion; readonly wasm?: boolean } = {}) {
    this.version = options.version ?? 3;
    this.lanes = this.version === 2 ? Int32Array.of(0x243f6a88, 0x85a308d3 | 0, 0x13198a2e, 0x03707344) : Int32Array.from(SEEDS_V3, (s) => s | 0);
    this.groupBytes = groupBytes(this.version);
    this.wasm = options.wasm === false ? undefined : wasmLoop(this.version);
  }

  /** Absorbs `bytes`. Only the last update may leave a partial group. */
  update(bytes: Uint8Array): void {
    if (this.closed) throw new Error('Checksum.update after a partial group');
    this.length += bytes.length;
    const wholeBytes = bytes.length - (bytes.length % this.groupBytes);
    if (wholeBytes > 0) {
      const groups = bytes.subarray(0, wholeBytes);
      if (this.wasm !== undefined) this.wasm.absorb(this.lanes, groups);
      else if (this.version === 2) this.absorbV2(this.aligned(groups));
      else this.absorbV3(this.aligned(groups));
    }
    if (wholeBytes === bytes.length) return;
    this.closed = true;
    this.lanes[0] = tail(this.lanes[0] as number, bytes.subarray(wholeBytes));
  }

  /** The checksum of everything absorbed. */
  digest(): number {
    const l = this.lanes;
    if (this.version === 2) return fold(l[0] as number, l[1] as number, l[2] as number, l[3] as number, this.length);
    const lane = (k: number): number => (l[k] as number) ^ rotl(l[k + 4] as number, 8) ^ rotl(l[k + 8] as number, 16) ^ rotl(l[k + 12] as number, 24);
    return fold(lane(0), lane(1), lane(2), lane(3), this.length);
  }

  /** `bytes` itself when its start is 4-byte aligned, else an aligned copy. */
  private aligned(bytes: Uint8Array): Uint8Array {
    if ((bytes.byteOffset & 3) === 0) return bytes;
    if (this.scratch === undefined || this.scratch.length < bytes.length) this.scratch = new Uint8Array(Math.max(bytes.length, 1 << 20));
    this.scratch.set(bytes);
    return this.scratch.subarray(0, bytes.length);
  }

  /** Version 2's JavaScript loop over whole groups of an aligned piece. */
  private absorbV2(data: Uint8Array): void {
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

  /** Version 3's JavaScript loop (the fallback where WebAssembly SIMD is missing) over whole groups of an aligned piece. */
  private absorbV3(data: Uint8Array): void {
    const l = this.lanes;
    const nWords = data.length >>> 2;
    const w = LITTLE_ENDIAN ? new Int32Array(data.buffer, data.byteOffset, nWords) : undefined;
    const word = (i: number): number => (w !== undefined ? (w[i] as number) : wordAt(data, i));
    for (let g = 0; g + 31 < nWords; g += 32) {
      for (let k = 0; k < 16; k += 1) {
        const at = g + (k >> 2) * 8 + (k & 3);
        const x = (l[k] as number) ^ word(at);
        l[k] = (Math.imul((x << 13) | (x >>> 19), MULTIPLIERS[k & 3] as number) + word(at + 4)) | 0;
      }
    }
  }
}

/** Bytes per group of format `version`'s incremental checksum. */
export function groupBytes(version: ChecksumVersion): number {
  return version === 2 ? 32 : 128;
}

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/** Version 2's checksum of `bytes` in one piece. */
export function checksumV2(bytes: Uint8Array, options: { readonly wasm?: boolean } = {}): number {
  const c = new Checksum({ ...options, version: 2 });
  c.update(bytes);
  return c.digest();
}

/** Version 3's checksum of `bytes` in one piece. */
export function checksumV3(bytes: Uint8Array, options: { readonly wasm?: boolean } = {}): number {
  const c = new Checksum({ ...options, version: 3 });
  c.update(bytes);
  return c.digest();
}

/**
 * Hashes the section [start, end) of `image` as it is written (or read) in
 * order: upTo(at) absorbs what lies before `at` in whole groups.
 */
export class SectionHasher {
  private readonly sum: Checksum;
  private readonly groupBytes: number;
  private hashed: number;

  constructor(
    private readonly image: Uint8Array,
    start: number,
    private readonly end: number,
    version: ChecksumVersion,
  ) {
    this.sum = new Checksum({ version });
    this.groupBytes = groupBytes(version);
    this.hashed = start;
  }

  /** Absorbs the section's bytes before `at`, up to the last whole group (all of them at the end). */
  upTo(at: number): void {
    const to = at >= this.end ? this.end : this.hashed + Math.floor((at - this.hashed) / this.groupBytes) * this.groupBytes;
    if (to > this.hashed) this.sum.update(this.image.subarray(this.hashed, to));
    this.hashed = Math.max(this.hashed, to);
  }

  /** The section's checksum. */
  digest(): number {
    this.upTo(this.end);
    return this.sum.digest();
  }
}
