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
import { hostChunk } from '../../src/mm/memory_file.js';
import { ok } from '../support/either.js';

const CHUNK = 16 * PAGE_SIZE;

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

});
