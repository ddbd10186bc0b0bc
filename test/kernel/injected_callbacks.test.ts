/**
 * What the simulator injects into new Kernel(options): clock, monotonicClock
 * and allocatePid. kernel_options.ts checks that each is a function; these
 * tests are about what they return. A bad first reading is refused at
 * construction naming the option; a later bad clock reading reads as the
 * last good one (so every stamped time stays one an image can hold); a pid
 * no process can have, or one a live process holds, is EAGAIN (trySpawn,
 * fork) or a RangeError naming options.allocatePid (spawn, which has no
 * Either to return), and no process is made with it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_STAT, Kernel, checkpoint, isPending, restore } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { defaultClock, hostSeconds } from '../../src/kernel/clock.js';
import { errno, ok } from '../support/either.js';

const MEM = 16 << 20;

/** A function that returns each of `values` in turn, then the last one for ever. */
function sequence(values: readonly unknown[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

function thrown(f: () => unknown): { kind: string; message: string } | undefined {
  try {
    f();
  } catch (e) {
    return { kind: (e as Error).constructor.name, message: (e as Error).message };
  }
  return undefined;
}

/** A segment, a semaphore set and a queue, each stamped by the realtime clock; returns their times. */
function stampAll(p: Process): { shm: number; sem: number; msg: number } {
  const shm = ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
  const sem = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
  ok(p.semop(sem, [{ semNum: 0, semOp: 1, semFlg: 0 }]) as E.Either<unknown, number>);
  const q = ok(p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
  ok(p.msgsnd(q, 1, new Uint8Array(2), 0) as E.Either<unknown, void>);
  const st = ok(p.shmctl(shm, IPC_STAT)) as { ds: { ctime: number } };
  const ss = ok(p.semctl(sem, 0, IPC_STAT)) as { ds: { otime: number } };
  const ms = ok(p.msgctl(q, IPC_STAT)) as { ds: { stime: number } };
  return { shm: st.ds.ctime, sem: ss.ds.otime, msg: ms.ds.stime };
}

function roundTrip(k: Kernel, options: Parameters<typeof restore>[1] = {}): Kernel {
  const img = checkpoint(k);
  if (E.isLeft(img)) throw new Error(`checkpoint: ${img.left.message}`);
  return ok(restore(img.right, options));
}

const BAD_TIMES: ReadonlyArray<readonly [string, unknown]> = [
  ['"x"', 'x'],
  ['NaN', Number.NaN],
  ['1.5', 1.5],
  ['1e20', 1e20],
  ['2^53', 2 ** 53],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['undefined', undefined],
  ['10n', 10n],
];

describe('options.clock returning something that is no time', () => {
  it.each(BAD_TIMES)('a first reading of %s is refused at construction, naming options.clock', (_, v) => {
    const t = thrown(() => new Kernel({ memTotalBytes: MEM, clock: () => v as number }));
    expect(t?.kind).toBe(typeof v === 'number' ? 'RangeError' : 'TypeError');
    expect(t?.message).toMatch(/^Kernel: options\.clock must return /);
  });

  it.each(BAD_TIMES)('a later reading of %s reads as the last good one, and the image restores', (_, v) => {
    const k = new Kernel({ memTotalBytes: MEM, clock: sequence([1_700_000_000, 1_700_000_005, v]) });
    const p = k.spawn();
    expect(k.now()).toBe(1_700_000_005);
    expect(stampAll(p)).toEqual({ shm: 1_700_000_005, sem: 1_700_000_005, msg: 1_700_000_005 });
    const r = roundTrip(k, { clock: () => 1_700_000_100 });
    expect(r.processes().map((q) => q.pid)).toEqual([p.pid]);
  });

  it('a negative whole number of seconds (before 1970) is a time, as time_t has it', () => {
    const k = new Kernel({ memTotalBytes: MEM, clock: () => -1 });
    expect(stampAll(k.spawn())).toEqual({ shm: -1, sem: -1, msg: -1 });
    roundTrip(k);
  });

  it('the host clock and the default are taken as they are (worker threads get leases only with these)', () => {
    expect(new Kernel({ memTotalBytes: MEM, clock: hostSeconds }).clock).toBe(hostSeconds);
    expect(new Kernel({ memTotalBytes: MEM, clock: defaultClock() }).clock).toBe(defaultClock());
    expect(new Kernel({ memTotalBytes: MEM, clock: () => 5 }).clock).not.toBe(hostSeconds);
  });

  it('a clock that throws at construction is refused naming options.clock', () => {
    const t = thrown(
      () =>
        new Kernel({
          clock: () => {
            throw new Error('boom');
          },
        }),
    );
    expect(t).toEqual({ kind: 'TypeError', message: 'Kernel: options.clock threw when first read: boom' });
  });

  it('restore with a clock that returns no time is a Left naming options.clock, not a throw', () => {
    const k = new Kernel({ memTotalBytes: MEM, clock: () => 5 });
    stampAll(k.spawn());
    const img = checkpoint(k) as E.Right<Uint8Array>;
    const r = restore(img.right, { clock: () => 'x' as unknown as number });
    expect(E.isLeft(r) && r.left.message).toMatch(/options\.clock must return /);
  });
});

describe('options.monotonicClock returning garbage or going back', () => {
  it.each(BAD_TIMES.filter(([, v]) => !Number.isSafeInteger(v) && !(typeof v === 'number' && Number.isFinite(v))))(
    'a first reading of %s is refused at construction, naming options.monotonicClock',
    (_, v) => {
      const t = thrown(() => new Kernel({ memTotalBytes: MEM, monotonicClock: () => v as number }));
      expect(t?.kind).toBe(typeof v === 'number' ? 'RangeError' : 'TypeError');
      expect(t?.message).toMatch(/^Kernel: options\.monotonicClock must return /);
    },
  );

  const LATER: ReadonlyArray<readonly [string, unknown]> = [...BAD_TIMES.filter(([, v]) => !(typeof v === 'number' && Number.isFinite(v))), ['50 (back)', 50]];
  it.each(LATER)('a later reading of %s reads as the last one: a 1 s semtimedop still times out after 1 s, and the image restores', (_, v) => {
    const k = new Kernel({ memTotalBytes: MEM, monotonicClock: sequence([100, 100, v]) });
    const p = k.spawn();
    const id = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const r = p.semtimedop(id, [{ semNum: 0, semOp: -1, semFlg: 0 }], { sec: 1, nsec: 0 });
    expect(isPending(r)).toBe(true);
    expect(k.monotonicNow()).toBe(100);
    expect(k.runTimers()).toBe(0);
    // The image holds the wait's full second.
    const img = checkpoint(k) as E.Right<Uint8Array>;
    expect(E.isRight(img)).toBe(true);
    const restored = restore(img.right, { monotonicClock: () => 0 });
    expect(E.isRight(restored)).toBe(true);
    expect(ok(k.advanceTime(999))).toBe(0);
    expect(ok(k.advanceTime(1))).toBe(1);
    expect(isPending(r) && errno(r.result as E.Either<{ errno: string }, number>)).toBe('EAGAIN');
  });

  it('a clock that moves forward is read as it is', () => {
    const k = new Kernel({ memTotalBytes: MEM, monotonicClock: sequence([0, 0.5, 7.25, 7.25, 1e6]) });
    expect([k.monotonicNow(), k.monotonicNow(), k.monotonicNow(), k.monotonicNow()]).toEqual([0.5, 7.25, 7.25, 1e6]);
  });
});

/** The pids of the kernel's live processes. */
const pids = (k: Kernel): number[] => k.processes().map((p) => p.pid);

describe('options.allocatePid handing out no usable pid', () => {
  const BAD_PIDS: ReadonlyArray<readonly [string, unknown]> = [
    ['"x"', 'x'],
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['2^40', 2 ** 40],
    ['4194305', 4194305],
    ['NaN', Number.NaN],
    ['undefined', undefined],
    ['5n', 5n],
  ];

  it.each(BAD_PIDS)('%s: trySpawn and fork are EAGAIN naming options.allocatePid, spawn a RangeError; no process is made', (_, v) => {
    const k = new Kernel({ memTotalBytes: MEM, allocatePid: sequence([10, v]) });
    const p = k.spawn();
    ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const tried = k.trySpawn();
    expect(errno(tried)).toBe('EAGAIN');
    expect(E.isLeft(tried) && tried.left.message).toMatch(/options\.allocatePid/);
    expect(errno(p.fork())).toBe('EAGAIN');
    const t = thrown(() => k.spawn());
    expect(t?.kind).toBe('RangeError');
    expect(t?.message).toMatch(/^Kernel\.spawn: options\.allocatePid/);
    expect(pids(k)).toEqual([10]);
    expect(k.initialIpcNamespace.membership.members).toBe(1);
    const r = roundTrip(k, { allocatePid: sequence([11]) });
    expect(pids(r)).toEqual([10]);
    expect(r.spawn().pid).toBe(11);
  });

  it('the largest pid Linux hands out (4194304, PID_MAX_LIMIT) and 1 are pids', () => {
    const k = new Kernel({ memTotalBytes: MEM, allocatePid: sequence([1, 4194304]) });
    expect([k.spawn().pid, k.spawn().pid]).toEqual([1, 4194304]);
  });

  it('a pid a live process holds is EAGAIN; once that process has exited it may be handed out again', () => {
    const k = new Kernel({ memTotalBytes: MEM, allocatePid: () => 7 });
    const a = k.spawn();
    expect(errno(k.trySpawn())).toBe('EAGAIN');
    expect(errno(a.fork())).toBe('EAGAIN');
    expect(thrown(() => k.spawn())?.message).toMatch(/^Kernel\.spawn: options\.allocatePid returned 7, which process 7 holds/);
    expect(pids(k)).toEqual([7]);
    ok(a.exit());
    expect(k.spawn().pid).toBe(7);
  });

  it('after a restore, a pid of a restored process is in use', () => {
    const k = new Kernel({ memTotalBytes: MEM, allocatePid: sequence([3, 4]) });
    k.spawn();
    k.spawn();
    const r = roundTrip(k, { allocatePid: sequence([4, 5]) });
    expect(errno(r.trySpawn())).toBe('EAGAIN');
    expect(ok(r.trySpawn()).pid).toBe(5);
  });

  it('an allocator that throws: the throw is the caller own, and leaves the kernel as it was', () => {
    let fail = false;
    let next = 20;
    const k = new Kernel({
      memTotalBytes: MEM,
      allocatePid: () => {
        if (fail) throw new Error('boom');
        return next++;
      },
    });
    const p = k.spawn();
    fail = true;
    expect(() => k.spawn()).toThrow('boom');
    expect(() => p.fork()).toThrow('boom');
    fail = false;
    expect(pids(k)).toEqual([20]);
    roundTrip(k, { allocatePid: () => 30 });
  });

  it('a disposed kernel spawn with an allocator gone bad throws naming the option rather than making a process without a pid', () => {
    const k = new Kernel({ memTotalBytes: MEM, allocatePid: () => -3 });
    k.dispose();
    expect(thrown(() => k.spawn())?.message).toMatch(/^Kernel\.spawn: options\.allocatePid returned -3/);
  });
});
