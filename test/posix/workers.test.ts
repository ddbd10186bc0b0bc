/**
 * A /dev/shm object and a memfd mapped in processes whose programs run in
 * worker threads: each thread sees what the other side stored, and the
 * kernel thread sees the threads' stores, through the same frames.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { MAP_SHARED, MFD_ALLOW_SEALING, O_CREAT, O_RDONLY, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import { ok } from '../support/either.js';
import { bytes, withDevShm } from './helpers.js';

const program = new URL('./programs/peer.ts', import.meta.url);

async function inWorker(kernel: Parameters<typeof spawnWorker>[0], p: Process, args: unknown[]): Promise<number[]> {
  const t = spawnWorker(kernel, p, program, args);
  if (E.isLeft(t)) throw new Error(`spawnWorker: ${t.left.message}`);
  const r = await t.right.done;
  if (!r.ok) throw new Error(`worker failed: ${JSON.stringify(r)}`);
  return r.result as number[];
}

describe('shared objects across worker threads', () => {
  it('two workers share a /dev/shm object, each in its own process', async () => {
    const { kernel, p } = withDevShm();
    const q = kernel.spawn();
    const fa = ok(p.shmOpen('/w', O_RDWR | O_CREAT, 0o600));
    ok(p.ftruncate(fa, PAGE_SIZE));
    const a = ok(p.mmap(fa, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    const b = ok(q.mmap(ok(q.shmOpen('w', O_RDWR, 0)), PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.write(a, bytes(1, 2, 3)));
    expect(await inWorker(kernel, q, [b, b + 100, [4, 5, 6]])).toEqual([1, 2, 3]);
    expect(await inWorker(kernel, p, [a + 100, a + 200, [7, 8, 9]])).toEqual([4, 5, 6]);
    // Each process exits when its program returns; the object stays, and a third process reads both stores.
    const r = kernel.spawn();
    const fr = ok(r.shmOpen('w', O_RDONLY, 0));
    expect([...ok(r.pread(fr, 3, 100))]).toEqual([4, 5, 6]);
    expect([...ok(r.pread(fr, 3, 200))]).toEqual([7, 8, 9]);
  });

  it("a memfd passed to a forked child: the child's worker stores, the parent reads it back", async () => {
    const { kernel, p } = withDevShm();
    const fd = ok(p.memfdCreate('w', MFD_ALLOW_SEALING));
    ok(p.ftruncate(fd, PAGE_SIZE));
    const child = ok(p.fork());
    const at = ok(child.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.pwrite(fd, bytes(11), 0));
    expect(await inWorker(kernel, child, [at, at + 1, [12]])).toEqual([11]);
    expect([...ok(p.pread(fd, 2, 0))]).toEqual([11, 12]);
  });
});
