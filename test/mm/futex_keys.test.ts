/**
 * Futex keys on the kernel thread (MemoryManager.futexWord), as
 * kernel/futex/core.c get_futex_key makes them: a shared object's word by
 * its frame (object, offset), whatever address and process; private memory
 * the call may write by (address space, address), after faulting the page
 * in for writing, which breaks copy-on-write; a read-only mapping's own
 * private page is EFAULT, and a file page a read-only private mapping still
 * reads through to is keyed as the file's. Worker threads make the same
 * keys: test/node/futex_private.test.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE, SHM_RDONLY } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import type { FutexKey } from '../../src/mm/futex.js';
import { ok } from '../support/either.js';
import { smallKernel } from '../posix/helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;

const keyOf = (p: Process, addr: number): readonly number[] => {
  const k: FutexKey = ok(p.mm.futexWord(addr));
  return [k.k0, k.k1, k.k2];
};
const errno = (r: E.Either<{ errno: string }, unknown>): unknown => (E.isLeft(r) ? r.left.errno : r.right);
const word = (v: number): Uint8Array => new Uint8Array(Int32Array.of(v).buffer);

describe('futex keys of private memory', () => {
  it('a writable private word is keyed by (address space, address); the futex call breaks copy-on-write', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    ok(p.write(a + P + 8, word(7)));
    const c = ok(p.fork());
    const before = k.memoryFile.allocatedFrames;
    expect(keyOf(p, a + P + 8)).toEqual([-1 - p.mm.spaceId, Math.floor((a + P + 8) / 2 ** 32), (a + P + 8) | 0]);
    // The parent's futex call copied the page it shared with the child; the child now holds the old one alone.
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect(keyOf(c, a + P + 8)).toEqual([-1 - c.mm.spaceId, Math.floor((a + P + 8) / 2 ** 32), (a + P + 8) | 0]);
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect(p.mm.spaceId).not.toBe(c.mm.spaceId);
    // The key reads the parent's own page: a store of the parent is seen there, the child's is not.
    const kp = ok(p.mm.futexWord(a + P + 8));
    ok(c.atomicStore32(a + P + 8, 5));
    ok(p.atomicStore32(a + P + 8, 9));
    expect(Atomics.load(kp.words, kp.wordAt)).toBe(9);
    expect(errno(p.futexWake(a + P + 8, 1))).toBe(0);
    expect(errno(p.futexWait(a + P + 8, 9, 0))).toBe('ETIMEDOUT');
    expect(errno(c.futexWait(a + P + 8, 9, 0))).toBe('EAGAIN');
  });

  it('a never-written private page is faulted in by the futex call and keyed by address', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    const before = k.memoryFile.allocatedFrames;
    expect(keyOf(p, a)[0]).toBe(-1 - p.mm.spaceId);
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
  });

  it("a read-only mapping's own private page is EFAULT, written or shared with a fork relative", () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    ok(p.write(a, word(3)));
    ok(p.mprotect(a, P, PROT_READ));
    expect(errno(p.futexWait(a, 3, 0))).toBe('EFAULT');
    expect(errno(p.futexWake(a, 1))).toBe('EFAULT');
    const c = ok(p.fork());
    expect(errno(c.futexWake(a, 1))).toBe('EFAULT');
    expect(errno(p.futexWake(a, 1))).toBe('EFAULT');
  });

  it('a private file mapping: read-only, the file page is keyed as the file; written, by address; written then read-only, EFAULT', () => {
    const k = smallKernel();
    const p = k.spawn();
    const fd = ok(p.memfdCreate('futex', 0));
    ok(p.ftruncate(fd, 2 * P));
    const shared = ok(p.mmap(fd, 2 * P, RW, MAP_SHARED));
    ok(p.write(shared + P + 4, word(1)));
    const ro = ok(p.mmap(fd, 2 * P, PROT_READ, MAP_PRIVATE));
    expect(keyOf(p, ro + P + 4)).toEqual(keyOf(p, shared + P + 4));
    const priv = ok(p.mmap(fd, 2 * P, RW, MAP_PRIVATE));
    expect(keyOf(p, priv + P + 4)).toEqual([-1 - p.mm.spaceId, Math.floor((priv + P + 4) / 2 ** 32), (priv + P + 4) | 0]);
    // The futex call copied the page: the file no longer shows the mapping's stores.
    ok(p.atomicStore32(priv + P + 4, 6));
    expect(ok(p.atomicLoad32(shared + P + 4))).toBe(1);
    ok(p.mprotect(priv, 2 * P, PROT_READ));
    expect(errno(p.futexWake(priv + P + 4, 1))).toBe('EFAULT');
    // Its other page was never copied: it still reads the file's, and is keyed as the file's.
    expect(keyOf(p, priv + 4)).toEqual(keyOf(p, shared + 4));
  });
});

describe('futex keys of shared objects', () => {
  it('System V shm, MAP_SHARED|MAP_ANONYMOUS and a shared memfd are keyed by frame in every process, at any address', () => {
    const k = smallKernel();
    const p = k.spawn();
    const id = ok(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600));
    const s1 = ok(p.shmat(id, 0, 0));
    const anon = ok(p.mmap(-1, P, RW, MAP_SHARED | MAP_ANONYMOUS));
    const fd = ok(p.memfdCreate('shared', 0));
    ok(p.ftruncate(fd, P));
    const file = ok(p.mmap(fd, P, RW, MAP_SHARED));
    const c = ok(p.fork());
    const s2 = ok(c.shmat(id, 0, SHM_RDONLY));
    expect(s2).not.toBe(s1);
    expect(keyOf(c, s2 + 12)).toEqual(keyOf(p, s1 + 12));
    expect(keyOf(c, s1 + 12)).toEqual(keyOf(p, s1 + 12));
    expect(keyOf(p, s1 + 12)[0]).toBeGreaterThanOrEqual(0);
    expect(keyOf(c, anon + 8)).toEqual(keyOf(p, anon + 8));
    expect(keyOf(c, file + 8)).toEqual(keyOf(p, file + 8));
    expect(new Set([keyOf(p, s1 + 12), keyOf(p, anon + 8), keyOf(p, file + 8)].map((x) => x.join())).size).toBe(3);
  });
});
