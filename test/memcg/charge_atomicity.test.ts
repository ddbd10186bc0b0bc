/**
 * A charge and the frame it pays for come and go together. When something
 * throws in the middle of a multi-page tmpfs operation (a broken chunk
 * allocator, an injected MemoryCharge whose tryCharge or uncharge throws),
 * every cgroup's usage still equals the pages really held for it, the frames
 * allocated equal the frames held, and the kernel keeps its invariants.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { MemoryCgroup } from '../../src/memcg/cgroup.js';
import type { MemoryCharge } from '../../src/memcg/charge.js';
import { hostChunk } from '../../src/mm/memory_file.js';
import { ok } from '../support/either.js';

const CHUNK = 16 * PAGE_SIZE;

/** A MemoryCharge of a test's own that counts pages, and throws when told to. */
class ThrowingCharge implements MemoryCharge {
  charged = 0;
  tryCalls = 0;
  throwOnTry = Number.POSITIVE_INFINITY;
  throwOnUncharge = false;

  tryCharge(pages: number): boolean {
    this.tryCalls += 1;
    if (this.tryCalls >= this.throwOnTry) throw new Error('injected tryCharge failure');
    this.charged += pages;
    return true;
  }

  uncharge(pages: number): void {
    if (this.throwOnUncharge) throw new Error('injected uncharge failure');
    this.charged -= pages;
  }
}

/** Resident pages of the file open at `fd` (st_blocks / 8). */
function resident(p: ReturnType<Kernel['spawn']>, fd: number): number {
  return ok(p.fstat(fd)).blocks / 8;
}

describe('charges and frames stay paired when something throws', () => {
  it('a chunk allocator throwing (not a host refusal) part-way through a write leaves the cgroup charged for exactly the pages held', () => {
    for (let granted = 1; granted <= 4; granted++) {
      const k = new Kernel({ chunkBytes: CHUNK });
      const box = new MemoryCgroup('/box', 1n << 30n);
      const p = k.spawn({ memoryCharge: box });
      const fd = ok(p.open('/f', O_CREAT | O_RDWR, 0o600));
      let made = 0;
      k.memoryFile.allocateChunk = (bytes) => {
        if (made >= granted) throw new TypeError('a broken allocator');
        made += 1;
        return hostChunk(bytes);
      };
      expect(() => p.writeFd(fd, new Uint8Array(100 * PAGE_SIZE).fill(1))).toThrow(TypeError);
      const held = resident(p, fd);
      expect(held).toBeGreaterThan(0);
      expect(box.usagePages).toBe(held);
      const sound = checkInvariants(k);
      expect(E.isRight(sound) ? 'ok' : sound.left.message).toBe('ok');
      // The allocator mends: the file fills and empties with the charge following it.
      k.memoryFile.allocateChunk = hostChunk;
      expect(ok(p.pwrite(fd, new Uint8Array(100 * PAGE_SIZE).fill(2), 0))).toBe(100 * PAGE_SIZE);
      expect(box.usagePages).toBe(100);
      ok(p.ftruncate(fd, 0));
      expect(box.usagePages).toBe(0);
      expect(E.isRight(checkInvariants(k))).toBe(true);
    }
  });

  it('a tryCharge throwing part-way through fallocate leaves the file and the charge as they were', () => {
    const k = new Kernel();
    const charge = new ThrowingCharge();
    const p = k.spawn({ memoryCharge: charge });
    const fd = ok(p.open('/f', O_CREAT | O_RDWR, 0o600));
    ok(p.pwrite(fd, new Uint8Array([1]), 3 * PAGE_SIZE));
    const frames = k.memoryFile.allocatedFrames;
    charge.throwOnTry = charge.tryCalls + 4;
    expect(() => p.fallocate(fd, 0, 0, 8 * PAGE_SIZE)).toThrow('injected tryCharge failure');
    expect(resident(p, fd)).toBe(1);
    expect(charge.charged).toBe(1);
    expect(k.memoryFile.allocatedFrames).toBe(frames);
    expect(ok(p.fstat(fd)).size).toBe(3 * PAGE_SIZE + 1);
  });

  it('an uncharge throwing part-way through a truncate leaves the page it could not uncharge in the file, still charged', () => {
    const k = new Kernel();
    const charge = new ThrowingCharge();
    const p = k.spawn({ memoryCharge: charge });
    const fd = ok(p.open('/f', O_CREAT | O_RDWR, 0o600));
    ok(p.pwrite(fd, new Uint8Array(6 * PAGE_SIZE).fill(5), 0));
    const frames = k.memoryFile.allocatedFrames;
    charge.throwOnUncharge = true;
    expect(() => p.ftruncate(fd, 2 * PAGE_SIZE)).toThrow('injected uncharge failure');
    // Every page the file still holds is charged, and every frame allocated is held.
    expect(charge.charged).toBe(resident(p, fd));
    expect(k.memoryFile.allocatedFrames - frames).toBe(resident(p, fd) - 6);
    charge.throwOnUncharge = false;
    ok(p.ftruncate(fd, 2 * PAGE_SIZE));
    expect([resident(p, fd), charge.charged]).toEqual([2, 2]);
    expect(k.memoryFile.allocatedFrames).toBe(frames - 4);
    ok(p.close(fd));
    ok(p.unlink('/f'));
    expect(charge.charged).toBe(0);
    expect(k.memoryFile.allocatedFrames).toBe(frames - 6);
  });

  it('a page whose uncharge threw keeps its pending zeroing: its tail never shows the old bytes of a reused frame', () => {
    const k = new Kernel();
    const charge = new ThrowingCharge();
    const p = k.spawn({ memoryCharge: charge });
    const fd = ok(p.open('/f', O_CREAT | O_RDWR, 0o600));
    // Frames full of 5s go back to the file's arena, for the next page to reuse.
    ok(p.pwrite(fd, new Uint8Array(2 * PAGE_SIZE).fill(5), 0));
    ok(p.ftruncate(fd, 0));
    // From the page's first byte: the rest of the page is zeroed only when someone looks.
    ok(p.pwrite(fd, new Uint8Array(100).fill(0x78), 0));
    charge.throwOnUncharge = true;
    expect(() => p.ftruncate(fd, 0)).toThrow('injected uncharge failure');
    charge.throwOnUncharge = false;
    expect(resident(p, fd)).toBe(1);
    ok(p.ftruncate(fd, PAGE_SIZE));
    const page = ok(p.pread(fd, PAGE_SIZE, 0));
    expect(page.subarray(0, 100).every((b) => b === 0x78)).toBe(true);
    expect(page.subarray(100).every((b) => b === 0)).toBe(true);
  });

  it('a tryCharge throwing part-way through a write leaves a short write: the size covers the bytes written, no more', () => {
    const k = new Kernel();
    const charge = new ThrowingCharge();
    const p = k.spawn({ memoryCharge: charge });
    const fd = ok(p.open('/f', O_CREAT | O_RDWR, 0o600));
    charge.throwOnTry = charge.tryCalls + 3;
    expect(() => p.pwrite(fd, new Uint8Array(5 * PAGE_SIZE).fill(9), 100)).toThrow('injected tryCharge failure');
    // Pages 0 and 1 were claimed and written (from byte 100 on); page 2's charge threw.
    expect([resident(p, fd), charge.charged]).toEqual([2, 2]);
    expect(ok(p.fstat(fd)).size).toBe(2 * PAGE_SIZE);
    // Growing the file shows a hole after them, not bytes of the write that failed.
    charge.throwOnTry = Number.POSITIVE_INFINITY;
    ok(p.ftruncate(fd, 5 * PAGE_SIZE));
    const bytes = ok(p.pread(fd, 5 * PAGE_SIZE, 0));
    expect(bytes.subarray(0, 100).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(100, 2 * PAGE_SIZE).every((b) => b === 9)).toBe(true);
    expect(bytes.subarray(2 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
  });
});
