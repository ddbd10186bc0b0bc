/**
 * Guard pages from worker threads: a thread that cached translations of a
 * range faults on a page of it that MADV_GUARD_INSTALL made a guard page
 * (the install makes the cached translations stale), reads its other pages
 * as before, keeps the bytes a crossing store wrote before the guard page,
 * and after MADV_GUARD_REMOVE reads the page as zeros.
 */
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import { MAP_PRIVATE } from '../../src/abi/fs.js';
import { MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MAP_ANONYMOUS } from '../../src/abi/mman.js';
import { checkInvariants } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerExit } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { gateAt, open } from './gates.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const program = new URL('./programs/cow_steps.ts', import.meta.url);

describe('guard pages from worker threads', () => {
  it('a thread faults on a guard page installed after it cached the range, and reads zeros once it is removed', async () => {
    const k = new Kernel();
    const p = k.spawn();
    const at = right(p.mmap(-1, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    right(p.fill(at, 4 * P, 3));
    const gate = right(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600));
    const g = right(p.shmat(gate, 0, 0));
    right(p.atomicStore32(g, 0));
    const t = right(
      spawnWorker(k, p, program, [
        gate,
        [
          ['read', at + 2 * P - 1, 2],
          ['write', at + 2 * P, 4, 1],
          ['gate', 1, 0],
          ['read', at + 2 * P, 1],
          ['load', at + 2 * P + 4],
          ['read', at + P, 1],
          ['write', at + 2 * P - 2, 9, 4],
          ['read', at + 3 * P, 1],
          ['gate', 3, 0],
          ['read', at + 2 * P - 2, 4],
        ],
        [],
      ]),
    );
    await gateAt(p, g, 1);
    right(p.madvise(at + 2 * P, P, MADV_GUARD_INSTALL));
    open(p, g, 2);
    await gateAt(p, g, 3);
    expect([...right(p.read(at + 2 * P - 2, 2))]).toEqual([9, 9]);
    right(p.madvise(at, 4 * P, MADV_GUARD_REMOVE));
    open(p, g, 4);
    const exit: WorkerExit = await t.done;
    if (!exit.ok) throw new Error(`the thread failed: ${JSON.stringify(exit)}`);
    expect(exit.result).toEqual([[3, 3], true, 1, 'SIGSEGV', 'SIGSEGV', [3], 'SIGSEGV', [3], 3, [9, 9, 0, 0]]);
    right(checkInvariants(k));
  });
});
