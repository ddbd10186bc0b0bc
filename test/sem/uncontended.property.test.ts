/**
 * Process.semop decides a one-sop call through sem.semopUncontended when it
 * can be performed at once and wakes nobody, and through semtimedop
 * otherwise. The two paths must be indistinguishable: two kernels run the
 * same random steps, one calling semop and the other semtimedop without a
 * timeout (which never takes the shortcut), and after every step the
 * outcomes agree (value, errno, or asleep) and the two kernels' checkpoint
 * images hold the same metadata (every value, sempid, per-semaphore
 * sem_otime, undo list and sleeper), tmpfs device and mount numbers
 * aside: those come from counters shared by every kernel of the host
 * process.
 *
 * The steps mix ordinary sops with every way the shortcut must decline:
 * values outside what the kernel reads (sem_num past the set or 65536,
 * sem_op 32768, fractions, NaN, strings), SEM_UNDO and IPC_NOWAIT,
 * decrements that sleep, waits for zero, sets the caller may not alter,
 * removed and made-again sets, bogus ids, and an exited caller.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID } from '../../src/abi/constants.js';
import type { Sembuf } from '../../src/abi/sem.js';
import { SEM_UNDO, SETVAL } from '../../src/abi/sem.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';
import { useSeed } from '../support/seed.js';
import { runTwins } from '../support/twin_kernels.js';

beforeAll(() => useSeed());

type Step =
  | { readonly kind: 'semop'; readonly who: number; readonly set: number; readonly sop: Record<string, unknown> }
  | { readonly kind: 'setval'; readonly set: number; readonly num: number; readonly val: number }
  | { readonly kind: 'rmid'; readonly set: number }
  | { readonly kind: 'exit'; readonly who: number };

/** One side of the comparison: a kernel with an owner (root), a stranger (uid 1000) and a group member (gid 100). */
interface World {
  readonly kernel: Kernel;
  readonly procs: Process[];
  /** Two sets: mode 0660 group 100 with three semaphores, and mode 0600 with one. */
  readonly ids: number[];
}

const SET_SHAPES = [
  { nsems: 3, mode: 0o660 },
  { nsems: 1, mode: 0o600 },
] as const;

function makeSet(owner: Process, shape: (typeof SET_SHAPES)[number]): number {
  return ok(owner.semget(IPC_PRIVATE, shape.nsems, IPC_CREAT | shape.mode));
}

function world(clock: () => number): World {
  const kernel = new Kernel({ clock, monotonicClock: () => 0 });
  const procs = [kernel.spawn({ gid: 100 }), kernel.spawn({ uid: 1000, gid: 1000, caps: [] }), kernel.spawn({ uid: 1001, gid: 100, caps: [] })];
  return { kernel, procs, ids: SET_SHAPES.map((shape) => makeSet(procs[0]!, shape)) };
}

/** An outcome in a form two kernels can be compared by: the value, the errno, or "asleep". */
function outcome(r: unknown): string {
  if (isPending(r)) return r.state === 'pending' ? 'asleep' : `woke ${outcome(r.result)}`;
  const e = r as E.Either<{ errno: string }, number>;
  return E.isLeft(e) ? e.left.errno : `= ${e.right}`;
}

const semNum = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0, 1, 2) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(3, 65536, -1, 1.5, Number.NaN, '0', undefined) },
);
const semOp = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -1, max: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-2, 32767, -32768, 32768, -32769, 0.5, '1') },
);
const semFlg = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(IPC_NOWAIT, SEM_UNDO, IPC_NOWAIT | SEM_UNDO, 0x10000, 1.5) },
);
/** Set 0, set 1, or an id no set has (a stale or made-up one, negative, fractional). */
const setRef = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.constantFrom(-1, 2, 3, 4) });

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('semop' as const), who: fc.constantFrom(0, 0, 0, 1, 2), set: setRef, sop: fc.record({ semNum, semOp, semFlg }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('setval' as const),
      set: fc.constantFrom(0, 1),
      num: fc.integer({ min: 0, max: 2 }),
      val: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rmid' as const), set: fc.constantFrom(0, 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), who: fc.integer({ min: 1, max: 2 }) }) },
);

/** The semid a step names in `w`. */
function semidOf(w: World, ref: number): number {
  switch (ref) {
    case -1:
      return -1;
    case 2:
      return 0x7fffffff;
    case 3:
      return (w.ids[0] ?? 0) + 0.5;
    case 4:
      return (w.ids[0] ?? 0) + 32768; // same index, next sequence: a stale id
    default:
      return w.ids[ref]!;
  }
}

/** Runs one step on `w`, semop through `call`; the outcome as text. */
function run(w: World, s: Step, call: (p: Process, semid: number, sops: readonly Sembuf[]) => unknown): string {
  switch (s.kind) {
    case 'semop':
      return outcome(call(w.procs[s.who]!, semidOf(w, s.set), [s.sop as unknown as Sembuf]));
    case 'setval': {
      const num = Math.min(s.num, SET_SHAPES[s.set]!.nsems - 1);
      return outcome(E.map((r: { ret: number }) => r.ret)(w.procs[0]!.semctl(w.ids[s.set]!, num, SETVAL, s.val)));
    }
    case 'rmid': {
      const r = outcome(E.map((x: { ret: number }) => x.ret)(w.procs[0]!.semctl(w.ids[s.set]!, 0, IPC_RMID)));
      w.ids[s.set] = makeSet(w.procs[0]!, SET_SHAPES[s.set]!);
      return r;
    }
    case 'exit':
      w.procs[s.who]!.exit();
      return 'exited';
  }
}

describe('semop shortcut (semopUncontended) against the general path', () => {
  it('gives the same outcomes and leaves the same kernel state', () => {
    const coverage = { done: 0, declined: 0 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 10, maxLength: 60 }), (steps) => {
        runTwins(
          world,
          steps,
          (w, s, side) => run(w, s, side === 'shortcut' ? (p, id, sops) => p.semop(id, sops) : (p, id, sops) => p.semtimedop(id, sops)),
          (s, outcome) => {
            if (s.kind !== 'semop') return;
            if (outcome === '= 0') coverage.done += 1;
            else coverage.declined += 1;
          },
        );
      }),
      { numRuns: 150 },
    );
    // The steps reached both kinds of call: performed at once, and everything else.
    expect(coverage.done, JSON.stringify(coverage)).toBeGreaterThan(300);
    expect(coverage.declined, JSON.stringify(coverage)).toBeGreaterThan(300);
  });
});
