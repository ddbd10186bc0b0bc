/**
 * Futex keys with worker threads, as get_futex_key makes them: a word of
 * private memory is keyed by (address space, address), so after fork a
 * parent and a child still sharing the page copy-on-write never wake each
 * other's waiters, and a waiter meets the wake of a thread of its own
 * process whose store moved the page to a new frame; a shared object's word
 * is keyed by its frame, so processes still meet there. A worker thread and
 * the kernel thread compute the same key for the same word. Every wait has
 * a timeout, and each test ends its waits by waking them.
 */
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, Kernel, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const program = new URL('./programs/futex_steps.ts', import.meta.url);
/** Long enough for a loaded machine; every test wakes its waiters well before. */
const WAIT_MS = 30_000;

/** A 'key' step for each address. */
const keySteps = (addrs: readonly number[]): unknown[] => addrs.map((a): unknown => ['key', a]);

const run = (k: Kernel, p: Process, steps: unknown[]): WorkerThread => right(spawnWorker(k, p, program, [steps]));

async function result(t: WorkerThread): Promise<unknown[]> {
  const exit = await t.done;
  if (!exit.ok) throw new Error(`the thread failed: ${JSON.stringify(exit)}`);
  return exit.result as unknown[];
}

/** The key of a private word of `p` (futex.ts's addressKey). */
const addressKeyOf = (p: Process, addr: number): number[] => [-1 - p.mm.spaceId, Math.floor(addr / 2 ** 32), addr | 0];

/** The key the kernel thread computes for `p`'s word at `addr`, or null for EFAULT. */
function kernelKey(p: Process, addr: number): number[] | null {
  const k = p.mm.futexWord(addr);
  return k._tag === 'Left' ? null : [k.right.k0, k.right.k1, k.right.k2];
}

/** How many threads wait on `key` now, read from the futex queue's words (layout in src/mm/futex.ts). */
function waitersOn(k: Kernel, key: readonly number[]): number {
  const q = new Int32Array(k.memoryFile.futexQueue.buffer);
  let n = 0;
  for (let at = 2; at + 5 <= q.length; at += 5) {
    if ((Atomics.load(q, at) & 3) === 1 && q[at + 1] === key[0] && q[at + 2] === key[1] && q[at + 3] === key[2]) n++;
  }
  return n;
}

async function until(poke: () => boolean, ms = 45_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (poke()) return true;
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}

/** A process with one private anonymous page whose word at `at` holds 0 (written, so a fork shares its frame), and a forked child. */
function forkedPrivate(): { k: Kernel; p: Process; c: Process; at: number } {
  const k = new Kernel();
  const p = k.spawn();
  const a = right(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
  right(p.atomicStore32(a + 64, 0));
  const c = right(p.fork());
  return { k, p, c, at: a + 64 };
}

describe('futexes in private memory after fork', () => {
  it("a child's wakes, on its thread or the kernel thread, do not wake the parent's waiter; the parent's own wake does", async () => {
    const { k, p, c, at } = forkedPrivate();
    const waiter = run(k, p, [['wait', at, 0, WAIT_MS]]);
    expect(await until(() => waitersOn(k, addressKeyOf(p, at)) === 1)).toBe(true);
    expect(right(c.futexWake(at, 1))).toBe(0);
    expect(
      await result(
        run(k, c, [
          ['wake', at, 1],
          ['wake', at, 0x7fffffff],
        ]),
      ),
    ).toEqual([0, 0]);
    expect(waitersOn(k, addressKeyOf(p, at))).toBe(1);
    // The kernel thread computes the worker's key: its wake ends the wait.
    expect(right(p.futexWake(at, 1))).toBe(1);
    expect(await result(waiter)).toEqual([0]);
  });

  it("a parent's wakes, on its thread or the kernel thread, do not wake the child's waiter; the child's own wake does", async () => {
    const { k, p, c, at } = forkedPrivate();
    const waiter = run(k, c, [['wait', at, 0, WAIT_MS]]);
    expect(await until(() => waitersOn(k, addressKeyOf(c, at)) === 1)).toBe(true);
    expect(right(p.futexWake(at, 1))).toBe(0);
    expect(
      await result(
        run(k, p, [
          ['wake', at, 1],
          ['wake', at, 0x7fffffff],
        ]),
      ),
    ).toEqual([0, 0]);
    expect(waitersOn(k, addressKeyOf(c, at))).toBe(1);
    expect(right(c.futexWake(at, 1))).toBe(1);
    expect(await result(waiter)).toEqual([0]);
  });

  it('a thread that stores to the shared page (copying it) and wakes wakes a waiter of its own process', async () => {
    const { k, p, c, at } = forkedPrivate();
    const waiter = run(k, p, [
      ['wait', at, 0, WAIT_MS],
      ['load', at],
    ]);
    expect(await until(() => waitersOn(k, addressKeyOf(p, at)) === 1)).toBe(true);
    const waker = run(k, p, [
      ['store', at, 1],
      ['wake', at, 1],
    ]);
    expect(await result(waker)).toEqual([true, 1]);
    expect(await result(waiter)).toEqual([0, 1]);
    expect(right(c.atomicLoad32(at))).toBe(0);
  });

  it("a waiter still meets the wake after a fork while it sleeps, when the waker's store moves the page to a new frame", async () => {
    const { k, p, c, at } = forkedPrivate();
    const waiter = run(k, p, [
      ['wait', at, 0, WAIT_MS],
      ['load', at],
    ]);
    expect(await until(() => waitersOn(k, addressKeyOf(p, at)) === 1)).toBe(true);
    // The waiter's futex call made the page the parent's own; a second fork shares it again.
    const c2 = right(p.fork());
    const waker = run(k, p, [
      ['store', at, 1],
      ['load', at],
      ['wake', at, 1],
    ]);
    const woke = await result(waker);
    expect(woke).toEqual([true, 1, 1]);
    expect(await result(waiter)).toEqual([0, 1]);
    // The store copied the page: both children keep 0.
    expect([right(c.atomicLoad32(at)), right(c2.atomicLoad32(at))]).toEqual([0, 0]);
  });
});

describe('futexes in shared memory across processes', () => {
  const kinds: Array<[string, (p: Process) => number]> = [
    ['System V shm', (p) => right(p.shmat(right(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600)), 0, 0))],
    ['MAP_SHARED|MAP_ANONYMOUS', (p) => right(p.mmap(-1, P, RW, MAP_SHARED | MAP_ANONYMOUS))],
    [
      'a memfd mapped MAP_SHARED',
      (p) => {
        const fd = right(p.memfdCreate('futex', 0));
        right(p.ftruncate(fd, P));
        return right(p.mmap(fd, P, RW, MAP_SHARED));
      },
    ],
  ];
  for (const [name, map] of kinds) {
    it(`${name}: a child's thread wakes the parent's waiter`, async () => {
      const k = new Kernel();
      const p = k.spawn();
      const at = map(p) + 32;
      right(p.atomicStore32(at, 0));
      const c = right(p.fork());
      const key = kernelKey(p, at) as number[];
      expect(key[0]).toBeGreaterThanOrEqual(0);
      expect(kernelKey(c, at)).toEqual(key);
      const waiter = run(k, p, [['wait', at, 0, WAIT_MS]]);
      expect(await until(() => waitersOn(k, key) === 1)).toBe(true);
      expect(await result(run(k, c, [['wake', at, 1]]))).toEqual([1]);
      expect(await result(waiter)).toEqual([0]);
    });
  }
});

describe('the kernel thread and a worker thread compute the same key', () => {
  it('for private, shared, read-only private file and read-only private anonymous words', async () => {
    const k = new Kernel();
    const p = k.spawn();
    const anon = right(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS)) + 8;
    right(p.atomicStore32(anon, 4));
    const shm = right(p.shmat(right(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600)), 0, 0)) + 12;
    const fd = right(p.memfdCreate('keys', 0));
    right(p.ftruncate(fd, P));
    const file = right(p.mmap(fd, P, RW, MAP_SHARED)) + 16;
    right(p.atomicStore32(file, 2));
    const roFile = right(p.mmap(fd, P, PROT_READ, MAP_PRIVATE)) + 16;
    const ro = right(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS)) + 20;
    right(p.atomicStore32(ro, 1));
    right(p.mprotect(ro - 20, P, PROT_READ));
    const never = right(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS)) + 24;
    const c = right(p.fork());
    const words = [anon, shm, file, roFile, ro, never];
    // The kernel thread's keys first (a process exits with its last thread); the private ones are faulted in by the worker.
    const expected = [addressKeyOf(p, anon), kernelKey(p, shm), kernelKey(p, file), kernelKey(p, file), kernelKey(p, ro), addressKeyOf(p, never)];
    expect(expected[4]).toBeNull();
    expect(expected[1]?.[0]).toBeGreaterThanOrEqual(0);
    const inChild = [kernelKey(c, anon), kernelKey(c, never)];
    expect(inChild).toEqual([addressKeyOf(c, anon), addressKeyOf(c, never)]);
    expect(await result(run(k, p, keySteps(words)))).toEqual(expected);
    expect(await result(run(k, c, keySteps([anon, never])))).toEqual(inChild);
  });
});
