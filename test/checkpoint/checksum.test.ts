/**
 * The section checksums: version 2's incremental form equals its one-piece
 * form wherever the pieces are cut, damage inside one word always changes
 * it, and version 1 images (the older checksum) are still read.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE } from '../../src/abi/constants.js';
import { Checksum, SectionHasher, checksum32, checksumV2 } from '../../src/checkpoint/checksum.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import { SCRATCH_BYTES, wasmLoop } from '../../src/checkpoint/checksum_wasm.js';
import { HEADER_BYTES, paddedLength } from '../../src/checkpoint/format.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';

const bytes = fc.uint8Array({ minLength: 0, maxLength: 600 });

describe('checksum, format version 2', () => {
  it('hashing in pieces of whole 32-byte groups gives the one-piece checksum', () => {
    fc.assert(
      fc.property(bytes, fc.array(fc.nat(20)), (data, cuts) => {
        const c = new Checksum();
        let at = 0;
        for (const groups of cuts) {
          const end = at + groups * 32;
          if (end > data.length) break;
          c.update(data.subarray(at, end));
          at = end;
        }
        c.update(data.subarray(at));
        expect(c.digest()).toBe(checksumV2(data));
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
        const h = new SectionHasher(image, 0, image.length);
        for (const m of [...marks].sort((a, b) => a - b)) h.upTo(Math.min(m, image.length));
        expect(h.digest()).toBe(checksumV2(data));
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
        expect(checksumV2(damaged)).not.toBe(checksumV2(data));
      }),
    );
  });

  it('the WebAssembly loop and the JavaScript loop agree', () => {
    expect(wasmLoop()).toBeDefined();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(3), (data, offset) => {
        const holder = new Uint8Array(data.length + 4);
        holder.set(data, offset);
        const piece = holder.subarray(offset, offset + data.length);
        expect(checksumV2(piece, { wasm: true })).toBe(checksumV2(data, { wasm: false }));
      }),
    );
    // More than one window of the WebAssembly memory.
    const big = new Uint8Array(SCRATCH_BYTES * 2 + 4096 + 7).map((_, i) => (i * 2654435761) >>> 24);
    expect(checksumV2(big, { wasm: true })).toBe(checksumV2(big, { wasm: false }));
  });

  it('refuses an update after a partial group', () => {
    const c = new Checksum();
    c.update(new Uint8Array(33));
    expect(() => c.update(new Uint8Array(32))).toThrow(/partial group/);
  });
});

describe('version 1 images', () => {
  it('are still restored', () => {
    const k = new Kernel();
    const p = k.spawn();
    const id = ok(p.shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0o600));
    const at = ok(p.shmat(id, 0, 0));
    ok(p.write(at + 5000, new Uint8Array([1, 2, 3])));
    const v2 = checkpoint(k);
    if (E.isLeft(v2)) throw new Error(v2.left.message);
    // Rewrite the image as version 1 wrote it: the same layout, version 1's checksum.
    const v1 = v2.right.slice();
    const view = new DataView(v1.buffer);
    const metaBytes = view.getUint32(16, true);
    const pageStart = HEADER_BYTES + paddedLength(metaBytes);
    view.setUint32(8, 1, true);
    view.setUint32(20, checksum32(v1.subarray(HEADER_BYTES, HEADER_BYTES + metaBytes)), true);
    view.setUint32(28, checksum32(v1.subarray(pageStart)), true);
    view.setUint32(44, checksum32(v1.subarray(0, 44)), true);
    const back = restore(v1);
    if (E.isLeft(back)) throw new Error(back.left.message);
    const q = back.right.processes()[0];
    expect(q === undefined ? undefined : ok(q.read(at + 5000, 3))).toEqual(new Uint8Array([1, 2, 3]));
    // A damaged version 1 page section is still caught.
    v1[v1.length - 1] = (v1[v1.length - 1] as number) ^ 1;
    const bad = restore(v1);
    expect(E.isLeft(bad) && bad.left.where).toBe('pages');
  });
});
