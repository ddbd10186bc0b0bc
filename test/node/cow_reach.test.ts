/**
 * What a worker's raw buffers reach of its fork relatives' private memory,
 * over random histories (view_reach.test.ts does the same for segments and
 * files). A parent and the processes forked from it write markers into
 * one private anonymous mapping; then each process's thread reads every
 * page and parks, the processes write more markers, and each thread reads
 * every page again and scans every buffer it holds. It finds no marker its
 * process's memory never held (a relative's write after the fork that made
 * it, or any write of a process it did not descend from), and it finds its
 * own last writes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import { MAP_PRIVATE } from '../../src/abi/fs.js';
import { MAP_ANONYMOUS } from '../../src/abi/mman.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { spawnWorker } from '../../src/node/worker.js';
import { useSeed } from '../support/seed.js';
import { ok as right } from '../support/either.js';

useSeed();

const P = PAGE_SIZE;
const PAGES = 6;
const MAX_PROCS = 3;
const program = new URL('./programs/cow_steps.ts', import.meta.url);

type Op = { readonly op: 'fork'; readonly who: number } | { readonly op: 'write'; readonly who: number; readonly page: number };
const who = fc.nat(MAX_PROCS - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(fc.record({ op: fc.constant('fork' as const), who }), {
  weight: 3,
  arbitrary: fc.record({ op: fc.constant('write' as const), who, page: fc.nat(PAGES - 1) }),
});

interface Proc {
  readonly p: Process;
  /** The marker at each page offset it wrote, by page: what its memory holds now. */
  readonly pages: Array<Map<number, string>>;
  /** Every marker its memory ever held. */
  readonly ever: Set<string>;
  /** Its own writes after its thread parked, that its memory still holds: its thread must find them. */
  readonly own: Map<string, [number, number]>;
}

interface World {
  readonly procs: Proc[];
  readonly markers: Map<string, number[]>;
  readonly at: number;
}

function write(w: World, me: Proc, page: number, late: boolean): void {
  const name = `m${w.markers.size}`;
  const bytes = Array.from(`<<cow-reach-${name}-${me.p.pid}>>`, (c) => c.charCodeAt(0));
  const offset = 64 + ((w.markers.size * 40) % (P - 128));
  w.markers.set(name, bytes);
  right(me.p.write(w.at + page * P + offset, Uint8Array.from(bytes)));
  const held = me.pages[page] as Map<number, string>;
  // A marker this one overwrites (the same offset) is gone from the page.
  const gone = held.get(offset);
  if (gone !== undefined) me.own.delete(gone);
  held.set(offset, name);
  me.ever.add(name);
  if (late) me.own.set(name, [page, offset]);
}

function apply(w: World, op: Op, late: boolean): void {
  const me = w.procs[op.who % w.procs.length] as Proc;
  if (op.op === 'write') return write(w, me, op.page, late);
  if (late || w.procs.length >= MAX_PROCS) return;
  const child = right(me.p.fork());
  const pages = me.pages.map((m) => new Map(m));
  const ever = new Set<string>();
  for (const m of pages) for (const name of m.values()) ever.add(name);
  w.procs.push({ p: child, pages, ever, own: new Map() });
}

async function run(before: readonly Op[], after: readonly Op[]): Promise<void> {
  const k = new Kernel();
  const p0 = k.spawn();
  const at = right(p0.mmap(-1, PAGES * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
  const gate = right(p0.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600));
  const gateAt = right(p0.shmat(gate, 0, 0));
  const w: World = { procs: [{ p: p0, pages: Array.from({ length: PAGES }, () => new Map()), ever: new Set(), own: new Map() }], markers: new Map(), at };
  for (let i = 0; i < PAGES; i++) write(w, w.procs[0] as Proc, i, false);
  for (const op of before) apply(w, op, false);
  const reads = Array.from({ length: PAGES }, (_, i) => ['read', at + i * P, 1]);
  // Each thread touches every page, parks, touches them again and scans for every marker name the run can write.
  const names = Array.from({ length: PAGES + before.length + after.length }, (_, n) => `m${n}`);
  const threads = w.procs.map((me, i) => {
    const t = spawnWorker(k, me.p, program, [
      gate,
      [...reads, ['gate', 1, i * 8], ...reads, ['scan']],
      names.map((n) => [n, Array.from(`<<cow-reach-${n}-`, (c) => c.charCodeAt(0))]),
    ]);
    return right(t);
  });
  const deadline = Date.now() + 45_000;
  for (let i = 0; i < threads.length; i++) {
    while (right(p0.atomicLoad32(gateAt + i * 8)) !== 1) {
      if (Date.now() > deadline) throw new Error(`thread ${i} never parked`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  for (const op of after) apply(w, op, true);
  for (let i = 0; i < threads.length; i++) {
    right(p0.atomicStore32(gateAt + i * 8, 2));
    right(p0.futexWake(gateAt + i * 8, 1));
  }
  const exits = await Promise.all(threads.map((t) => t.done));
  exits.forEach((exit, i) => {
    const me = w.procs[i] as Proc;
    expect(exit.ok, JSON.stringify(exit)).toBe(true);
    const result = exit.result as unknown[];
    const found = result[result.length - 1] as string[];
    const leaked = found.filter((n) => !me.ever.has(n));
    expect(leaked, `pid ${me.p.pid}'s thread reaches markers its memory never held`).toEqual([]);
    for (const name of me.own.keys()) expect(found, `pid ${me.p.pid}'s thread misses its own ${name}`).toContain(name);
  });
}

describe("what a worker reaches of its fork relatives' private memory", () => {
  it('finds nothing its process never held, and its own later writes, whatever the history', async () => {
    let late = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), fc.array(opArb, { minLength: 1, maxLength: 12 }), async (before, after) => {
        late += after.filter((o) => o.op === 'write').length;
        await run(before, after);
      }),
      { numRuns: 6 },
    );
    expect(late, 'the runs never wrote after the threads parked').toBeGreaterThan(0);
  }, 120_000);
});
