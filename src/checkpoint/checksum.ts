/**
 * The checksum of an image section: a 32-bit hash over little-endian 32-bit
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
  // The words after the last group of four, then the odd bytes, go to lane 0.
  for (let i = whole; i < nWords; i += 1) {
    const a = h0 ^ wordAt(data, i);
    h0 = Math.imul((a << 13) | (a >>> 19), P1);
  }
  for (let i = nWords * 4; i < data.length; i += 1) {
    const a = h0 ^ (data[i] as number);
    h0 = Math.imul((a << 13) | (a >>> 19), P1);
  }
  let h = h0 ^ ((h1 << 7) | (h1 >>> 25)) ^ ((h2 << 14) | (h2 >>> 18)) ^ ((h3 << 21) | (h3 >>> 11)) ^ data.length;
  h = Math.imul(h ^ (h >>> 16), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The little-endian word `i` of `bytes`, whatever the platform's byte order. */
function wordAt(bytes: Uint8Array, i: number): number {
  const at = i * 4;
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) | 0;
}
