/**
 * Processes running their programs in worker threads: syscalls through the
 * mailbox, memory straight to the shared frames through the software TLB,
 * atomics and futexes across threads, and a dead thread as a process exit.
 * Sizes are small and every futex wait has a timeout, for a 2-core CI box.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_STAT, Kernel, PROT_READ } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerExit, WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';

const program = (name: string): URL => new URL(`./programs/${name}.ts`, import.meta.url);

function start(k: Kernel, p: Process, name: string, args: readonly unknown[]): WorkerThread {
  return right(spawnWorker(k, p, program(name), args));
}

function segment(p: Process, size = 4096): number {
  return right(p.shmget(IPC_PRIVATE, size, IPC_CREAT | 0o666));
}

const nattch = (p: Process, id: number): number | undefined => right(p.shmctl(id, IPC_STAT)).ds?.nattch;

async function results(threads: readonly WorkerThread[]): Promise<WorkerExit[]> {
  return Promise.all(threads.map((t) => t.done));
}

describe('worker threads: syscalls and memory', () => {
  it('N workers × M atomic increments on one shared counter give exactly N·M', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner);
    const addr = right(owner.shmat(id, 0, 0));
    const [n, m] = [3, 30_000];
    const exits = await results(Array.from({ length: n }, () => start(k, k.spawn(), 'counter', [id, 128, m])));
    expect(exits.every((e) => e.ok)).toBe(true);
    expect(owner.atomicLoad32(addr + 128)).toEqual(E.right(n * m));
    // Each worker's process exited when its program returned: only the owner is attached.
    expect(nattch(owner, id)).toBe(1);
  });

  it('returns the same Eithers as the in-process calls, and faults after shmdt, mprotect and munmap', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner, 3 * 4096);
    const steps = [
      ['write', 16, 4, 7],
      ['read', 16, 4],
      ['add', 8, 5],
      ['load', 8],
      ['stat'],
      ['bogus'],
      ['read', 3 * 4096 - 2, 4],
      ['mprotect', 4096, 4096, PROT_READ],
      ['write', 4096, 1, 1],
      ['read', 4096, 1],
      ['munmap', 2 * 4096, 4096],
      ['read', 2 * 4096, 1],
      ['shmdt'],
      ['read', 0, 1],
      ['add', 8, 1],
      ['wait', 8, 0, 10],
    ];
    const [exit] = await results([start(k, k.spawn(), 'script', [id, steps])]);
    expect(exit?.ok).toBe(true);
    const out = exit?.result as Array<E.Either<{ signal?: string; errno?: string }, unknown>>;
    expect(out[0]).toEqual(E.right(undefined));
    expect(out[1]).toEqual(E.right(new Uint8Array([7, 7, 7, 7])));
    expect(out[2]).toEqual(E.right(0));
    expect(out[3]).toEqual(E.right(5));
    expect(out[4]).toEqual(E.right(1)); // the worker's attachment
    // An invalid argument comes back as the in-process EINVAL.
    const inProcess = k.spawn().shmget(-1, -1, 0.5);
    expect(out[5]).toEqual(inProcess);
    // The last page of the object is mapped; reading past it is outside every VMA.
    expect(E.isLeft(out[6]!) && out[6].left.signal).toBe('SIGSEGV');
    expect(out[7]).toEqual(E.right(0));
    expect(E.isLeft(out[8]!) && out[8].left.signal).toBe('SIGSEGV');
    expect(E.isRight(out[9]!)).toBe(true);
    expect(out[10]).toEqual(E.right(0));
    expect(E.isLeft(out[11]!) && out[11].left.signal).toBe('SIGSEGV');
    expect(out[12]).toEqual(E.right(0));
    for (const i of [13, 14]) expect(E.isLeft(out[i]!) && out[i]!.left.signal).toBe('SIGSEGV');
    expect(E.isLeft(out[15]!) && out[15].left.errno).toBe('EFAULT');
    expect(nattch(owner, id)).toBe(0);
  });
});

/** Calls `poke` every few milliseconds until it reports success or `ms` pass; returns whether it did. */
async function until(poke: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (poke()) return true;
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}

describe('worker threads: futexes', () => {
  it('a futex-based three-state mutex makes a plain counter exact', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner);
    const addr = right(owner.shmat(id, 0, 0));
    const [n, m] = [3, 4000];
    const exits = await results(Array.from({ length: n }, () => start(k, k.spawn(), 'mutex', [id, m, 5000])));
    expect(exits.map((e) => e.ok)).toEqual(Array(n).fill(true));
    expect(exits.map((e) => e.result)).toEqual(Array(n).fill(0)); // no wait ran into its timeout
    expect(owner.atomicLoad32(addr + 64)).toEqual(E.right(n * m));
    expect(owner.atomicLoad32(addr)).toEqual(E.right(0)); // unlocked
  });

  it('two workers ping-pong through a futex', async () => {
    const k = new Kernel();
    const id = segment(k.spawn());
    const rounds = 2000;
    const exits = await results([start(k, k.spawn(), 'pingpong', [id, 0, rounds, 5000]), start(k, k.spawn(), 'pingpong', [id, 1, rounds, 5000])]);
    expect(exits.map((e) => e.ok)).toEqual([true, true]);
    for (const e of exits) expect(e.result).toMatchObject({ rounds, timeouts: 0 });
  });

  it('FUTEX_WAKE counts exactly the waits it ends: the wakes add up to the waits that returned 0', async () => {
    const k = new Kernel();
    const id = segment(k.spawn());
    const last = 3000;
    const waiters = Array.from({ length: 3 }, () => start(k, k.spawn(), 'futex_waiter', [id, last]));
    const waker = start(k, k.spawn(), 'futex_waker', [id, last, [1, 0, 2, 1, 3]]);
    const [w, ...rest] = await results([waker, ...waiters]);
    expect([w, ...rest].every((e) => e?.ok)).toBe(true);
    const ends = rest.map((e) => e.result as { woken: number; again: number });
    const woken = ends.reduce((n, e) => n + e.woken, 0);
    // Every wait ended as woken or EAGAIN (no timeouts); each woken one was counted by exactly one wake.
    expect(w?.result).toBe(woken);
    expect(woken).toBeGreaterThan(0);
  });

  it('meets by (segment, offset): a wake at one attach address wakes a waiter attached at another', async () => {
    const k = new Kernel();
    const waker = k.spawn();
    const id = segment(waker, 8192);
    // Attach at an address the waiter's process cannot be using, so the two addresses differ.
    const at = right(waker.shmat(id, 0x200000000, 0));
    const waiter = start(k, k.spawn(), 'waiter', [id, 4100, 0, 5000]);
    // FUTEX_WAKE returns how many it woke: retry until the waiter is asleep and one is woken.
    expect(await until(() => right(waker.futexWake(at + 4100, 1)) === 1)).toBe(true);
    const exit = await waiter.done;
    expect(exit).toEqual({ ok: true, result: E.right(0) });
    expect(right(waker.futexWake(at + 4100, 1))).toBe(0);
  });

  it('FUTEX_WAIT is EAGAIN when the value differs, ETIMEDOUT on a timeout, and EINVAL or EFAULT for bad addresses', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner);
    const steps = [
      ['add', 0, 3],
      ['wait', 0, 0, 1000],
      ['wait', 0, 3, 20],
      ['wait', 2, 0, 20],
      ['wake', 0, 5],
    ];
    const [exit] = await results([start(k, k.spawn(), 'script', [id, steps])]);
    const out = exit?.result as Array<E.Either<{ errno?: string }, unknown>>;
    expect(out.slice(1).map((r) => (E.isLeft(r) ? r.left.errno : r.right))).toEqual(['EAGAIN', 'ETIMEDOUT', 'EINVAL', 0]);
    // In-process, the same rules (a kernel-thread wait must not block long: the value differs, or a short timeout).
    const a = right(owner.shmat(id, 0, 0));
    expect(owner.futexWait(a, 0)).toMatchObject({ left: { errno: 'EAGAIN' } });
    expect(owner.futexWait(a, 3, 5)).toMatchObject({ left: { errno: 'ETIMEDOUT' } });
    expect(owner.futexWait(a + 2, 0, 5)).toMatchObject({ left: { errno: 'EINVAL' } });
    expect(owner.futexWake(0x1000, 1)).toMatchObject({ left: { errno: 'EFAULT' } });
  });
});

describe('worker threads: death and invalidation', () => {
  it('a worker that throws is a process exit: its attachment goes and a removed segment is destroyed', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner);
    const framesBefore = k.memoryFile.allocatedFrames;
    const p = k.spawn();
    const crash = start(k, p, 'script', [id, [['write', 0, 4096, 9], ['throw']]]);
    const exit = await crash.done;
    expect(exit.ok).toBe(false);
    expect(exit.error).toContain('the program crashed');
    expect(p.exited).toBe(true);
    expect(nattch(owner, id)).toBe(0);
    right(owner.shmctl(id, IPC_RMID));
    expect(owner.shmctl(id, IPC_STAT)).toMatchObject({ left: { errno: 'EINVAL' } });
    expect(k.memoryFile.allocatedFrames).toBe(framesBefore);
  });

  it('a terminated worker leaves no lock or frame held: the others go on and the segment dies with the last detach', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner);
    const addr = right(owner.shmat(id, 0, 0));
    const framesBefore = k.memoryFile.allocatedFrames;
    const victim = start(k, k.spawn(), 'counter', [id, 0, 50_000_000]);
    const survivor = start(k, k.spawn(), 'waiter', [id, 8, 0, 5000]);
    expect(await until(() => nattch(owner, id) === 3)).toBe(true);
    // Marked for removal while both workers use it; then one is killed mid-loop.
    right(owner.shmctl(id, IPC_RMID));
    expect(await victim.terminate()).toMatchObject({ ok: false, error: 'terminated' });
    expect(nattch(owner, id)).toBe(2);
    // The survivor is still served: woken, it returns and its process exits normally.
    expect(await until(() => right(owner.futexWake(addr + 8, 1)) === 1)).toBe(true);
    expect(await survivor.done).toEqual({ ok: true, result: E.right(0) });
    right(owner.shmdt(addr));
    // Both processes are gone, so the last detach destroyed the removed segment and freed its frame.
    expect(owner.shmctl(id, IPC_STAT)).toMatchObject({ left: { errno: 'EINVAL' } });
    expect(k.memoryFile.retiredFrames).toBe(0);
    expect(k.memoryFile.allocatedFrames).toBe(framesBefore);
  });

  it('fork from a worker: children run a program with the attachments inherited, and waitpid reaps each once', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner);
    const [exit] = await results([start(k, k.spawn(), 'forker', [id, 2, 5000, program('child_counter').href])]);
    expect(exit?.ok).toBe(true);
    const seen = exit?.result as {
      exits: Array<{ pid: number; ok: boolean; result: number }>;
      counter: number;
      again: string;
      stranger: string;
      badProgram: unknown;
    };
    expect(seen.exits.map((e) => e.ok)).toEqual([true, true]);
    // Each child returned its own pid, so it ran as the process fork made.
    expect(seen.exits.map((e) => e.result)).toEqual(seen.exits.map((e) => e.pid));
    expect(seen.counter).toBe(2 * 5000);
    expect([seen.again, seen.stranger]).toEqual(['ECHILD', 'ECHILD']);
    // A child whose program cannot load dies like one that throws: waitpid says so.
    expect(seen.badProgram).toMatchObject({ _tag: 'Right', right: { ok: false } });
    // Parent and children have exited, and with them every attachment.
    expect(nattch(owner, id)).toBe(0);
  });

  it('exit from one thread ends the process and its other threads', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const id = segment(owner);
    const p = k.spawn();
    const spinner = start(k, p, 'counter', [id, 0, 50_000_000]);
    const quitter = start(k, p, 'script', [id, [['exit']]]);
    expect(await quitter.done).toEqual({ ok: true });
    const s = await spinner.done;
    expect(p.exited).toBe(true);
    expect(s).toEqual({ ok: false, error: 'the process exited' });
    expect(nattch(owner, id)).toBe(0);
  });

  it('one thread detaching while another reads never reads freed or reused frames', async () => {
    const k = new Kernel({ poisonFreed: 0xa5 });
    const p = k.spawn();
    const ctlId = segment(p);
    const ctl = right(p.shmat(ctlId, 0, 0));
    const [addrA, addrB] = [0x100000000, 0x100100000];
    const reader = start(k, p, 'race', ['reader', ctl, 0, addrA, addrB]);
    const detacher = start(k, p, 'race', ['detacher', ctl, 400, addrA, addrB]);
    const [r, d] = await results([reader, detacher]);
    expect(d?.ok).toBe(true);
    expect(r?.ok).toBe(true);
    const seen = r?.result as { ok: number; faults: number; bad: number };
    expect(seen.bad).toBe(0);
    expect(seen.ok + seen.faults).toBeGreaterThan(0);
    expect(k.memoryFile.retiredFrames).toBe(0);
    // Only the control segment's page is left; it goes with its removal.
    expect(k.memoryFile.allocatedFrames).toBe(1);
    right(k.spawn().shmctl(ctlId, IPC_RMID));
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });
});

describe('worker threads: the README example', () => {
  it('a producer and a consumer exchange messages through a ring buffer in a shared segment', async () => {
    const k = new Kernel();
    const id = segment(k.spawn());
    const ring = new URL('./programs/ring.ts', import.meta.url);
    const consumer = right(spawnWorker(k, k.spawn(), ring, ['consumer', id, 200]));
    const producer = right(spawnWorker(k, k.spawn(), ring, ['producer', id, 200]));
    const [c, p] = await Promise.all([consumer.done, producer.done]);
    expect(p?.ok).toBe(true);
    expect(c).toEqual({ ok: true, result: Array.from({ length: 200 }, (_, i) => `message ${i}`) });
  });
});
