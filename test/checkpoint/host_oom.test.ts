/**
 * The host running out of memory while restore places the image's pages:
 * restore returns a Left that says ENOMEM and names the object whose pages
 * it was placing, throws nothing, and leaves the image as it was, so the
 * same image restores once memory is back.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, PAGE_SIZE } from '../../src/abi/constants.js';
import { O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { hostChunk, withDefaultChunkAllocator } from '../../src/mm/memory_file.js';
import type { ChunkAllocator } from '../../src/mm/memory_file.js';
import { ok } from '../support/either.js';

const CHUNK = 16 * PAGE_SIZE;

/** A chunk allocator that refuses, as the host does, after `granted` chunks; counts what it made. */
function refusingAfter(granted: number): ChunkAllocator & { made: number } {
  const alloc = Object.assign(
    (bytes: number): ArrayBufferLike => {
      if (alloc.made >= granted) throw new RangeError('Array buffer allocation failed');
      alloc.made += 1;
      return hostChunk(bytes);
    },
    { made: 0 },
  );
  return alloc;
}

/** An image holding a segment's pages, a file's pages and touched anonymous (stack) pages. */
function imageWithPages(): Uint8Array {
  const k = new Kernel({ chunkBytes: CHUNK });
  const p = k.spawn();
  const id = ok(p.shmget(IPC_PRIVATE, 40 * PAGE_SIZE, IPC_CREAT | 0o600));
  const a = ok(p.shmat(id, 0, 0));
  ok(p.fill(a, 40 * PAGE_SIZE, 7));
  const fd = ok(p.open('/f', O_CREAT | O_RDWR, 0o600));
  ok(p.writeFd(fd, new Uint8Array(30 * PAGE_SIZE).fill(3)));
  return ok(checkpoint(k));
}

describe('restore when the host runs out of memory', () => {
  it('is a Left naming ENOMEM and the object, wherever the host stops, and the image restores afterwards', () => {
    const image = imageWithPages();
    const before = Uint8Array.from(image);
    // How many chunks a full restore takes.
    const full = refusingAfter(Number.POSITIVE_INFINITY);
    const whole = withDefaultChunkAllocator(full, () => restore(image));
    expect(E.isRight(whole)).toBe(true);
    expect(full.made).toBeGreaterThan(3);
    const wheres = new Set<string>();
    for (let granted = 0; granted < full.made; granted++) {
      const alloc = refusingAfter(granted);
      const r = withDefaultChunkAllocator(alloc, () => restore(image));
      if (E.isRight(r)) throw new Error(`restore succeeded with ${granted} of ${full.made} chunks`);
      expect(r.left.errno).toBe('ENOMEM');
      expect(r.left.message).toContain('ENOMEM');
      expect(r.left.where).toMatch(/^metadata\.(ipcNamespaces\[\d+\]\.segments\[\d+\]|tmpfs\[\d+\]\.inodes\[\d+\]|anonymous\[\d+\])$/);
      expect(r.left.message.startsWith(`${r.left.where}: `)).toBe(true);
      wheres.add(r.left.where.replace(/\[\d+\]/g, '[]'));
      expect(alloc.made).toBe(granted);
    }
    // The refusal fell inside more than one kind of object.
    expect(wheres.size).toBeGreaterThan(1);
    expect(image).toEqual(before);
    const again = ok(restore(image));
    expect(E.isRight(checkInvariants(again))).toBe(true);
    expect(Buffer.compare(Buffer.from(ok(checkpoint(again))), Buffer.from(image))).toBe(0);
  });

  it('leaves the default allocator as it was, even when the call throws', () => {
    const refuse = refusingAfter(0);
    expect(() =>
      withDefaultChunkAllocator(refuse, () => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    const k = new Kernel({ chunkBytes: CHUNK });
    expect(k.memoryFile.allocateChunk).toBe(hostChunk);
  });
});
