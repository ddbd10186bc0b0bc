/**
 * The zero page from worker threads: a thread that reads never-written
 * private anonymous memory sees zeros and allocates and charges nothing
 * (the kernel shows it fresh zeros for one read, never a page it could
 * write); its first write faults to the kernel thread, which allocates
 * and charges the page.
 */
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import { MAP_PRIVATE } from '../../src/abi/fs.js';
import { MAP_ANONYMOUS } from '../../src/abi/mman.js';
import { checkInvariants } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { MemoryCgroup } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerExit } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { gateAt, open } from './gates.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const program = new URL('./programs/cow_steps.ts', import.meta.url);

describe('the zero page from worker threads', () => {
  it('reads of fresh memory allocate and charge nothing; the first write allocates and charges one page', async () => {
    const k = new Kernel();
    const cg = new MemoryCgroup('/box', BigInt(64 * P));
    const p = k.spawn({ memoryCharge: cg });
    const at = right(p.mmap(-1, 8 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    const gate = right(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600));
    const g = right(p.shmat(gate, 0, 0));
    right(p.atomicStore32(g, 0));
    const before = k.memoryFile.allocatedFrames;
    const charged = cg.usagePages;
    const t = right(
      spawnWorker(k, p, program, [
        gate,
        [
          ['read', at, 3],
          ['load', at + 5 * P],
          ['read', at + 2 * P - 1, 2],
          ['gate', 1, 0],
          ['write', at + P, 0x5a, 1],
          ['read', at + P, 2],
          ['load', at + P],
          ['read', at + 3 * P, 1],
          ['gate', 3, 0],
        ],
        [],
      ]),
    );
    await gateAt(p, g, 1);
    expect([k.memoryFile.allocatedFrames - before, cg.usagePages - charged]).toEqual([0, 0]);
    open(p, g, 2);
    await gateAt(p, g, 3);
    expect([k.memoryFile.allocatedFrames - before, cg.usagePages - charged]).toEqual([1, 1]);
    open(p, g, 4);
    const exit: WorkerExit = await t.done;
    if (!exit.ok) throw new Error(`the thread failed: ${JSON.stringify(exit)}`);
    expect(exit.result).toEqual([[0, 0, 0], 0, [0, 0], 1, true, [0x5a, 0], 0x5a, [0], 3]);
    right(checkInvariants(k));
  });

  it('a thread whose write fault the memory cgroup refuses gets its process OOM-killed (SIGKILL, one failcnt), as an in-process write does', async () => {
    const k = new Kernel();
    const gateCg = new MemoryCgroup('/gate', BigInt(64 * P));
    const owner = k.spawn({ memoryCharge: gateCg });
    const gate = right(owner.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o666));
    right(owner.shmat(gate, 0, 0));
    const cg = new MemoryCgroup('/box', BigInt(2 * P));
    const p = k.spawn({ memoryCharge: cg });
    const at = right(p.mmap(-1, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    const t = right(spawnWorker(k, p, program, [gate, [['write', at, 1, 4 * P]], []]));
    const exit: WorkerExit = await t.done;
    // The thread ended with its process, before its program could return anything.
    expect(exit).toEqual({ ok: true });
    expect([p.exited, p.killedBy, cg.failCount, cg.usagePages]).toEqual([true, 'SIGKILL', 1, 0]);
    right(checkInvariants(k));
  });
});
