/**
 * Copy-on-write with worker threads, and what a worker's raw buffers reach
 * of a fork relative's private memory.
 *
 * A forked child's thread that writes a private page it still shares with
 * its parent copies it: the parent, and a thread of the parent, keep the
 * old bytes; and the same the other way round. A thread is never given a
 * chunk of a relative's arena (a page it shares there is shown by its
 * bytes), and a frame a process comes to hold alone moves into its own
 * arena before it is written, so a program that digs past Task into the
 * thread's buffers finds none of the relative's later private pages.
 */
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import { MAP_PRIVATE } from '../../src/abi/fs.js';
import { MAP_ANONYMOUS } from '../../src/abi/mman.js';
import { checkInvariants } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerExit } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { gateAt, open } from './gates.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const program = new URL('./programs/cow_steps.ts', import.meta.url);

const marker = (name: string): number[] => Array.from(`<<cow-${name}-7d2a>>`, (c) => c.charCodeAt(0));
const MARKERS: Array<[string, number[]]> = [
  ['parent-later', marker('parent-later')],
  ['child-later', marker('child-later')],
];

/** A parent with a private anonymous mapping of `pages` pages, page i filled with byte 0x10 + i, and a gate segment (its page touched, so that frame counts leave it out). */
function setUp(pages: number): { k: Kernel; p: Process; at: number; gate: number; gateAt: number } {
  const k = new Kernel();
  const p = k.spawn();
  const at = right(p.mmap(-1, pages * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
  for (let i = 0; i < pages; i++) right(p.write(at + i * P, new Uint8Array(P).fill(0x10 + i)));
  const gate = right(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600));
  const gateAt = right(p.shmat(gate, 0, 0));
  right(p.atomicStore32(gateAt, 0));
  return { k, p, at, gate, gateAt };
}

const byteAt = (p: Process, addr: number): number => right(p.read(addr, 1))[0] as number;

/** Runs `steps` in a new thread of `p` to the end (when it ends, `p` exits). */
async function runSteps(k: Kernel, p: Process, gate: number, steps: unknown[]): Promise<unknown[]> {
  const t = right(spawnWorker(k, p, program, [gate, steps, MARKERS]));
  const exit: WorkerExit = await t.done;
  if (!exit.ok) throw new Error(`the thread failed: ${JSON.stringify(exit)}`);
  return exit.result as unknown[];
}

describe('copy-on-write from worker threads', () => {
  // A process exits when its last thread ends, so each thread that must outlive a check parks at a gate word.
  it("a child's thread that writes a page shared with its parent copies it; a parent's thread sees the parent's bytes", async () => {
    const { k, p, at, gate, gateAt: g } = setUp(2);
    const c = right(p.fork());
    const before = k.memoryFile.allocatedFrames;
    const child = right(
      spawnWorker(k, c, program, [
        gate,
        [
          ['read', at, 2],
          ['write', at, 0xc1, 2],
          ['read', at, 2],
          ['read', at + P, 1],
          ['gate', 1, 0],
          ['read', at, 1],
        ],
        MARKERS,
      ]),
    );
    await gateAt(p, g, 1);
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect([byteAt(p, at), byteAt(c, at), byteAt(c, at + 1)]).toEqual([0x10, 0xc1, 0xc1]);
    right(checkInvariants(k));
    const parent = await runSteps(k, p, gate, [
      ['read', at, 2],
      ['load', at + P],
    ]);
    expect(parent).toEqual([[0x10, 0x10], 0x11111111]);
    // The parent has exited with its thread; the child, which inherited the gate's attachment, opens it.
    open(c, g, 2);
    expect(await child.done).toEqual({ ok: true, result: [[0x10, 0x10], true, [0xc1, 0xc1], [0x11], 1, [0xc1]] });
  });

  it("a parent's thread that writes a page shared with its child copies it; the child and a child's thread keep the old bytes", async () => {
    const { k, p, at, gate, gateAt: g } = setUp(2);
    const c = right(p.fork());
    const before = k.memoryFile.allocatedFrames;
    const parent = right(
      spawnWorker(k, p, program, [
        gate,
        [
          ['write', at + P, 0xa1, 3],
          ['read', at + P, 3],
          ['read', at, 1],
          ['gate', 1, 0],
          ['read', at + P, 1],
        ],
        MARKERS,
      ]),
    );
    await gateAt(p, g, 1);
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect([byteAt(p, at + P), byteAt(c, at + P)]).toEqual([0xa1, 0x11]);
    const child = right(
      spawnWorker(k, c, program, [
        gate,
        [
          ['read', at + P, 3],
          ['load', at + P],
          ['gate', 1, 8],
          ['read', at + P, 2],
        ],
        MARKERS,
      ]),
    );
    await gateAt(p, g + 8, 1);
    // The child now holds the old frame alone: its write is in place, no new frame.
    right(c.write(at + P, Uint8Array.of(0xc2)));
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect([byteAt(p, at + P), byteAt(c, at + P)]).toEqual([0xa1, 0xc2]);
    right(checkInvariants(k));
    open(p, g + 8, 2);
    expect(await child.done).toEqual({ ok: true, result: [[0x11, 0x11, 0x11], 0x11111111, 1, [0xc2, 0x11]] });
    open(p, g, 2);
    expect(await parent.done).toEqual({ ok: true, result: [true, [0xa1, 0xa1, 0xa1], [0x10], 1, [0xa1]] });
  });
});

describe("what a worker's raw buffers reach of a fork relative's private memory", () => {
  it("a child's thread that read a page shared with its parent finds none of the parent's later private pages", async () => {
    const { k, p, at, gate, gateAt: g } = setUp(8);
    const c = right(p.fork());
    const t = right(
      spawnWorker(k, c, program, [
        gate,
        [['read', at, 1], ['read', at + 3 * P, 1], ['gate', 1, 0], ['read', at, 1], ['read', at + 5 * P, 1], ['scan']],
        MARKERS,
      ]),
    );
    await gateAt(p, g, 1);
    // The parent writes its later pages where its arena puts them: copies of the shared pages, next to them.
    for (let i = 0; i < 8; i++) right(p.write(at + i * P + 64, Uint8Array.from(marker('parent-later'))));
    open(p, g, 2);
    const exit = await t.done;
    expect(exit).toEqual({ ok: true, result: [[0x10], [0x13], 1, [0x10], [0x15], []] });
    expect(byteAt(p, at + 64)).toBe(marker('parent-later')[0]);
    right(checkInvariants(k));
  });

  it("a parent's thread finds none of what the child later writes to a page it came to hold alone", async () => {
    const { k, p, at, gate, gateAt: g } = setUp(8);
    const c = right(p.fork());
    const t = right(spawnWorker(k, p, program, [gate, [['read', at, 1], ['read', at + 2 * P, 1], ['gate', 1, 0], ['read', at, 1], ['scan']], MARKERS]));
    await gateAt(p, g, 1);
    // The parent copies every page; the child is left holding the old frames, in the parent's arena, alone.
    const before = k.memoryFile.allocatedFrames;
    for (let i = 0; i < 8; i++) right(p.write(at + i * P, Uint8Array.of(0x20 + i)));
    expect(k.memoryFile.allocatedFrames).toBe(before + 8);
    // Its writes go in place (no new frame), into its own arena.
    for (let i = 0; i < 8; i++) right(c.write(at + i * P + 64, Uint8Array.from(marker('child-later'))));
    expect(k.memoryFile.allocatedFrames).toBe(before + 8);
    open(p, g, 2);
    const exit = await t.done;
    expect(exit).toEqual({ ok: true, result: [[0x10], [0x12], 1, [0x20], []] });
    expect([byteAt(c, at), byteAt(c, at + 64)]).toEqual([0x10, marker('child-later')[0]]);
    right(checkInvariants(k));
  });

  it("a child's thread reads a shared page by its bytes, and its own pages through its own chunks", async () => {
    const { k, p, at, gate } = setUp(4);
    const c = right(p.fork());
    right(c.write(at + 2 * P, Uint8Array.from(marker('child-later'))));
    const child = await runSteps(k, c, gate, [['read', at, 1], ['read', at + 2 * P, 1], ['scan']]);
    // Its own copy is reachable (it may read it); nothing of the parent's is.
    expect(child).toEqual([[0x10], [marker('child-later')[0]], ['child-later']]);
  });
});
