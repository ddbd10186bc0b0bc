/**
 * The section checksums: for versions 2 and 3 the incremental form equals
 * the one-piece form wherever the pieces are cut, damage inside one word
 * always changes it, the WebAssembly and JavaScript loops agree, and images
 * of the older versions are still read.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE } from '../../src/abi/constants.js';
import { Checksum, SectionHasher, checksum32, checksumV2, checksumV3, groupBytes } from '../../src/checkpoint/checksum.js';
import type { ChecksumVersion } from '../../src/checkpoint/checksum.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import { SCRATCH_BYTES, wasmLoop } from '../../src/checkpoint/checksum_wasm.js';
import { HEADER_BYTES, paddedLength } from '../../src/checkpoint/format.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';

const bytes = fc.uint8Array({ minLength: 0, maxLength: 600 });

const oneShot = (version: ChecksumVersion, data: Uint8Array, options: { readonly wasm?: boolean } = {}): number =>
  version === 2 ? checksumV2(data, options) : checksumV3(data, options);

describe.each([2, 3] as const)('checksum, format version %i', (version) => {
  const group = groupBytes(version);

  it('hashing in pieces of whole groups gives the one-piece checksum', () => {
    fc.assert(
      fc.property(bytes, fc.array(fc.nat(6)), (data, cuts) => {
        const c = new Checksum({ version });
        let at = 0;
        for (const groups of cuts) {
          const end = at + groups * group;
          if (end > data.length) break;
          c.update(data.subarray(at, end));
          at = end;
        }
        c.update(data.subarray(at));
        expect(c.digest()).toBe(oneShot(version, data));
      }),
    );
  });

  it('SectionHasher gives the checksum of its section however the writes advance, aligned or not', () => {
    fc.assert(
      fc.property(bytes, fc.nat(7), fc.array(fc.nat(700)), (data, offset, marks) => {
        // A copy at an odd offset inside a bigger buffer: update must cope with an unaligned start.
        const holder = new Uint8Array(data.length + 8);
        holder.set(data, offset);
        const image = holder.subarray(offset, offset + data.length);
        const h = new SectionHasher(image, 0, image.length, version);
        for (const m of [...marks].sort((a, b) => a - b)) h.upTo(Math.min(m, image.length));
        expect(h.digest()).toBe(oneShot(version, data));
      }),
    );
  });

  it('any change inside one 32-bit word changes it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 600 }), fc.nat(), fc.integer({ min: 1, max: 0xffffffff }), (data, w, mask) => {
        const word = w % Math.floor(data.length / 4);
        const damaged = data.slice();
        const view = new DataView(damaged.buffer);
        view.setUint32(word * 4, view.getUint32(word * 4, true) ^ mask, true);
        expect(oneShot(version, damaged)).not.toBe(oneShot(version, data));
      }),
    );
  });

  it('the WebAssembly loop and the JavaScript loop agree', () => {
    expect(wasmLoop(version)).toBeDefined();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(3), (data, offset) => {
        const holder = new Uint8Array(data.length + 4);
        holder.set(data, offset);
        const piece = holder.subarray(offset, offset + data.length);
        expect(oneShot(version, piece, { wasm: true })).toBe(oneShot(version, data, { wasm: false }));
      }),
    );
    // More than one window of the WebAssembly memory.
    const big = new Uint8Array(SCRATCH_BYTES * 2 + 4096 + 7).map((_, i) => (i * 2654435761) >>> 24);
    expect(oneShot(version, big, { wasm: true })).toBe(oneShot(version, big, { wasm: false }));
  });

  it('refuses an update after a partial group', () => {
    const c = new Checksum({ version });
    c.update(new Uint8Array(group + 1));
    expect(() => c.update(new Uint8Array(group))).toThrow(/partial group/);
  });
});

describe('checksum, format version 3', () => {
  it('is not version 2 under another name', () => {
    const data = new Uint8Array(4096).map((_, i) => i & 0xff);
    expect(checksumV3(data)).not.toBe(checksumV2(data));
    // Lanes past the first block matter: damage in the last word of a group is caught by lane 15.
    const damaged = data.slice();
    damaged[127] = (damaged[127] as number) ^ 0x80;
    expect(checksumV3(damaged)).not.toBe(checksumV3(data));
  });
});

describe.each([
  [1, checksum32],
  [2, checksumV2],
] as const)('version %i images', (version, sum) => {
  it('are still restored, and their damage still caught', () => {
    const k = new Kernel();
    const p = k.spawn();
    const id = ok(p.shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0o600));
    const at = ok(p.shmat(id, 0, 0));
    ok(p.write(at + 5000, new Uint8Array([1, 2, 3])));
    const current = checkpoint(k);
    if (E.isLeft(current)) throw new Error(current.left.message);
    // Rewrite the image as the older version wrote it: the same layout, that version's checksum.
    const old = current.right.slice();
    const view = new DataView(old.buffer);
    const metaBytes = view.getUint32(16, true);
    const pageStart = HEADER_BYTES + paddedLength(metaBytes);
    view.setUint32(8, version, true);
    view.setUint32(20, sum(old.subarray(HEADER_BYTES, HEADER_BYTES + metaBytes)), true);
    view.setUint32(28, sum(old.subarray(pageStart)), true);
    view.setUint32(44, sum(old.subarray(0, 44)), true);
    const back = restore(old);
    if (E.isLeft(back)) throw new Error(back.left.message);
    const q = back.right.processes()[0];
    expect(q === undefined ? undefined : ok(q.read(at + 5000, 3))).toEqual(new Uint8Array([1, 2, 3]));
    // A damaged page section is still caught.
    old[old.length - 1] = (old[old.length - 1] as number) ^ 1;
    const bad = restore(old);
    expect(E.isLeft(bad) && bad.left.where).toBe('pages');
  });
});
