/**
 * Kernel.dispose and `using`: the kernel's processes exit (a waiting call
 * ends with EINTR, as exit(2) ends it), its chunks go to the process-wide
 * pool, every later call is ESRCH (a memory access SIGSEGV) and none throws, and a second dispose
 * does nothing. A kernel that touched one page holds one 64 KiB chunk, and
 * memoryUsage reports the pool apart. Worker threads are ended first, and a
 * chunk one of them held reaches the pool only after that thread has ended:
 * until then another kernel never gets its buffer.
 */
import * as E from 'fp-ts/lib/Either.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, PAGE_SIZE } from '../../src/abi/constants.js';
import { GETVAL } from '../../src/abi/sem.js';
import type { SysError } from '../../src/abi/errno.js';
import { checkpoint } from '../../src/checkpoint/save.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import { drainChunkPool, pooledChunkBytes } from '../../src/mm/memory_file.js';
import { spawnWorker } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';

const CHUNK64K = 64 * 1024;

function errno(r: E.Either<SysError, unknown>): string | undefined {
  return E.isLeft(r) ? r.left.errno : undefined;
}

beforeEach(() => drainChunkPool());

describe('Kernel.memoryUsage', () => {
  it('is at most one 64 KiB chunk after one touched page, and none before', () => {
    const k = new Kernel();
    const p = k.spawn();
    const id = right(p.shmget(IPC_PRIVATE, 2 ** 30, IPC_CREAT | 0o600));
    const at = right(p.shmat(id, 0, 0));
    expect(k.memoryUsage()).toEqual({ sabBytes: 0, pooledBytes: 0 });
    right(p.write(at + 12345 * PAGE_SIZE, Uint8Array.of(7)));
    const used = k.memoryUsage();
    expect(used.sabBytes).toBeGreaterThan(0);
    expect(used.sabBytes).toBeLessThanOrEqual(CHUNK64K);
    expect(used.pooledBytes).toBe(0);
    k.dispose();
    expect(k.memoryUsage()).toEqual({ sabBytes: 0, pooledBytes: used.sabBytes });
  });
});

describe('Kernel.dispose', () => {
  it('runs at the end of a using block, and the next kernel reuses the chunk, reading zero where the last one wrote', () => {
    let outer: Kernel;
    {
      using k = new Kernel();
      outer = k;
      const p = k.spawn();
      const id = right(p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600));
      right(p.write(right(p.shmat(id, 0, 0)), new Uint8Array(PAGE_SIZE).fill(0xee)));
      expect(k.disposed).toBe(false);
    }
    expect(outer.disposed).toBe(true);
    expect(pooledChunkBytes()).toBe(CHUNK64K);
    using next = new Kernel();
    const q = next.spawn();
    const id = right(q.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600));
    const at = right(q.shmat(id, 0, 0));
    expect(Array.from(right(q.read(at, PAGE_SIZE))).every((b) => b === 0)).toBe(true);
    expect(pooledChunkBytes()).toBe(0);
    expect(next.memoryUsage().sabBytes).toBe(CHUNK64K);
  });

  it('exits every process (a waiting call ends with EINTR); later calls are ESRCH and never throw; twice is nothing', () => {
    const k = new Kernel({ clock: () => 1000, monotonicClock: () => 0 });
    const a = k.spawn();
    const b = k.spawn();
    const sem = right(a.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const waiting = a.semop(sem, [{ semNum: 0, semOp: -1, semFlg: 0 }]);
    if (!isPending(waiting)) throw new Error('expected the semop to wait');
    const shm = right(b.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600));
    const at = right(b.shmat(shm, 0, 0));
    right(b.write(at, Uint8Array.of(1)));

    k.dispose();
    expect(waiting.state).toBe('settled');
    expect(errno(waiting.result as E.Either<SysError, number>)).toBe('EINTR');
    expect(k.processes()).toEqual([]);
    expect([a.exited, b.exited]).toEqual([true, true]);
    // A memory access of an exited process faults: its address space is gone.
    expect(b.read(at, 1)).toEqual(E.left({ signal: 'SIGSEGV', addr: at }));
    expect(errno(b.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600))).toBe('ESRCH');
    expect(errno(b.shmctl(shm, IPC_RMID))).toBe('ESRCH');
    expect(errno(a.semctl(sem, 0, GETVAL))).toBe('ESRCH');
    expect(errno(k.trySpawn())).toBe('ESRCH');
    expect(errno(k.newTmpfs())).toBe('ESRCH');
    expect(errno(k.advanceTime(1))).toBe('ESRCH');
    expect(errno(k.readSysctl(k.initialIpcNamespace, 'shmmax'))).toBe('ESRCH');
    expect(errno(k.writeSysctl(k.initialIpcNamespace, 'shmmax', 1n))).toBe('ESRCH');
    // The segment outlives its processes, but its bytes are gone: a checkpoint is refused.
    const image = checkpoint(k);
    expect(E.isLeft(image) && image.left.message).toMatch(/disposed/);
    const late = k.spawn();
    expect(late.exited).toBe(true);
    expect(errno(late.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600))).toBe('ESRCH');
    const pooled = pooledChunkBytes();
    k.dispose();
    k[Symbol.dispose]();
    expect(pooledChunkBytes()).toBe(pooled);
    expect(k.memoryUsage().sabBytes).toBe(0);
  });

  it('ends the worker threads first, and a chunk a thread held joins the pool only after the thread has ended', async () => {
    const k = new Kernel();
    const p = k.spawn();
    const id = right(p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600));
    right(p.write(right(p.shmat(id, 0, 0)), Uint8Array.of(0x42)));
    const held = k.memoryFile.chunkBuffer(0);
    // The thread attaches the segment and sleeps on its first word, which is not 0 (its value 0x42).
    const thread = right(spawnWorker(k, k.spawn(), new URL('../node/programs/waiter.ts', import.meta.url), [id, 0, 0x42, 60_000]));
    const deadline = Date.now() + 20_000;
    while (k.memoryFile.chunkHolders(0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(k.memoryFile.chunkHolders(0)).toBe(1);

    k.dispose();
    expect(k.processes()).toEqual([]);
    expect(pooledChunkBytes()).toBe(0);
    expect(k.memoryUsage().sabBytes).toBe(CHUNK64K);
    // Meanwhile another kernel gets a buffer of its own.
    {
      using other = new Kernel();
      const q = other.spawn();
      const s = right(q.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600));
      right(q.write(right(q.shmat(s, 0, 0)), Uint8Array.of(1)));
      expect(other.memoryFile.chunkBuffer(0)).not.toBe(held);
    }
    const exit = await thread.done;
    expect(exit.ok).toBe(false);
    expect(k.memoryUsage().sabBytes).toBe(0);
    expect(pooledChunkBytes()).toBe(2 * CHUNK64K);
    expect(errno(spawnWorker(k, k.spawn(), new URL('../node/programs/waiter.ts', import.meta.url), [id, 0, 0, 1]))).toBe('ESRCH');
  }, 30_000);
});
