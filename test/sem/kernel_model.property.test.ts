/**
 * Semaphores through the kernel (Process.semop, semtimedop, semctl, exit)
 * against a reference model, with sleepers. Several processes run random
 * arrays of operations (with and without IPC_NOWAIT and SEM_UNDO, some with
 * a semtimedop timeout) on two sets, mixed with SETVAL, SETALL, signals,
 * time passing, exits (some after unshare(CLONE_NEWIPC), which applies the
 * undo list first) and IPC_RMID (the set is made again).
 *
 * The model predicts each call's immediate outcome (0, EAGAIN, ERANGE, or
 * "sleeps") by running the operations on its own values as Linux's
 * perform_atomic_semop does. A sleeper that later completes is applied to
 * the model when its Pending settles: additions commute, so the model's
 * values stay exact whatever order the kernel woke sleepers in. After every
 * call the model and the kernel agree on every value and on every process's
 * semadj (-(sum of its performed SEM_UNDO operations), zeroed by SETVAL for
 * that semaphore and by SETALL for the set, dropped by IPC_RMID, applied at
 * exit clamped to 0..SEMVMX); each sleeper is counted once by GETNCNT +
 * GETZCNT, none could be performed on the current values,
 * each one that ended did so for a reason the step gave it (EINTR from a
 * signal or an exit, EAGAIN from its own passed deadline, EIDRM from the
 * removal of its set), and checkInvariants holds.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID } from '../../src/abi/constants.js';
import type { SysError } from '../../src/abi/errno.js';
import type { Sembuf } from '../../src/abi/sem.js';
import { GETALL, GETNCNT, GETZCNT, SEMAEM, SEMVMX, SEM_UNDO, SETALL, SETVAL } from '../../src/abi/sem.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Pending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';
import { useSeed } from '../support/seed.js';

beforeAll(() => useSeed());

const SIZES = [3, 2] as const;
const PROCS = 3;

type Result = E.Either<SysError, number>;

interface SetModel {
  id: number;
  readonly nsems: number;
  vals: number[];
}

interface Sleeper {
  readonly pending: Pending<Result>;
  readonly proc: number;
  /** The process's generation: a slot gets a fresh process after an exit. */
  readonly gen: number;
  readonly set: number;
  readonly setId: number;
  readonly sops: readonly Sembuf[];
  /** Monotonic milliseconds after which a semtimedop gives up; Infinity for semop. */
  readonly deadline: number;
  seen: boolean;
}

type Outcome = 'ok' | 'EAGAIN' | 'ERANGE' | 'block';

class Model {
  readonly sets: SetModel[];
  /** adj[proc][set][sem]: the semadj of each live process for each live set. */
  adj: number[][][];

  constructor(ids: readonly number[]) {
    this.sets = SIZES.map((n, i) => ({ id: ids[i]!, nsems: n, vals: new Array<number>(n).fill(0) }));
    this.adj = Array.from({ length: PROCS }, () => this.zeroAdj());
  }

  zeroAdj(): number[][] {
    return SIZES.map((n) => new Array<number>(n).fill(0));
  }

  /** perform_atomic_semop on the model: what the call would do now, and, for 'ok', the values and semadj after it. */
  try(proc: number, set: number, sops: readonly Sembuf[]): { outcome: Outcome; vals?: number[]; adj?: number[] } {
    const vals = [...this.sets[set]!.vals];
    const adj = [...this.adj[proc]![set]!];
    for (const s of sops) {
      const v = vals[s.semNum]!;
      if (s.semOp === 0 ? v !== 0 : v + s.semOp < 0) return { outcome: (s.semFlg & IPC_NOWAIT) !== 0 ? 'EAGAIN' : 'block' };
      if (v + s.semOp > SEMVMX) return { outcome: 'ERANGE' };
      if ((s.semFlg & SEM_UNDO) !== 0) {
        const a = adj[s.semNum]! - s.semOp;
        if (a < -SEMAEM - 1 || a > SEMAEM) return { outcome: 'ERANGE' };
        adj[s.semNum] = a;
      }
      vals[s.semNum] = v + s.semOp;
    }
    return { outcome: 'ok', vals, adj };
  }

  /** The operations performed: by the call itself, or by a sleeper's waker (the same sums, whatever the order). */
  apply(proc: number, set: number, sops: readonly Sembuf[]): void {
    const m = this.sets[set]!;
    for (const s of sops) {
      m.vals[s.semNum] = m.vals[s.semNum]! + s.semOp;
      if ((s.semFlg & SEM_UNDO) !== 0) this.adj[proc]![set]![s.semNum] = this.adj[proc]![set]![s.semNum]! - s.semOp;
    }
  }

  setval(set: number, num: number, val: number): void {
    this.sets[set]!.vals[num] = val;
    for (const a of this.adj) a[set]![num] = 0;
  }

  setall(set: number, vals: readonly number[]): void {
    this.sets[set]!.vals = [...vals];
    for (const a of this.adj) a[set]!.fill(0);
  }

  /** exit_sem: each adjustment added, the result clamped to 0..SEMVMX; the process's slot starts afresh. */
  exit(proc: number): boolean {
    let clamped = false;
    this.sets.forEach((m, set) => {
      const adj = this.adj[proc]![set]!;
      for (let i = 0; i < m.nsems; i += 1) {
        const v = m.vals[i]! + adj[i]!;
        if (v < 0 || v > SEMVMX) clamped = true;
        m.vals[i] = Math.max(0, Math.min(v, SEMVMX));
      }
    });
    this.adj[proc] = this.zeroAdj();
    return clamped;
  }

  /** IPC_RMID and a new set in its place: the undo entries for the old one are gone with it. */
  replace(set: number, id: number): void {
    const m = this.sets[set]!;
    m.id = id;
    m.vals = new Array<number>(m.nsems).fill(0);
    for (const a of this.adj) a[set]!.fill(0);
  }
}

type Action =
  | { readonly kind: 'op'; readonly proc: number; readonly set: number; readonly sops: Sembuf[]; readonly timeout: number | undefined }
  | { readonly kind: 'setval'; readonly set: number; readonly num: number; readonly val: number }
  | { readonly kind: 'setall'; readonly set: number; readonly vals: number[] }
  | { readonly kind: 'signal'; readonly proc: number }
  | { readonly kind: 'tick'; readonly ms: number }
  | { readonly kind: 'exit'; readonly proc: number; readonly how: 'exit' | 'unshare' }
  | { readonly kind: 'rmid'; readonly set: number };

const semOp = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(-SEMVMX, SEMVMX, 20000, -20000, SEMVMX - 1) },
);
const flags = fc.constantFrom(0, 0, SEM_UNDO, SEM_UNDO, IPC_NOWAIT, IPC_NOWAIT | SEM_UNDO);

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.integer({ min: 0, max: SIZES.length - 1 }).chain((set) =>
      fc.record({
        kind: fc.constant('op' as const),
        proc: fc.integer({ min: 0, max: PROCS - 1 }),
        set: fc.constant(set),
        sops: fc.array(fc.record({ semNum: fc.integer({ min: 0, max: SIZES[set]! - 1 }), semOp, semFlg: flags }), { minLength: 1, maxLength: 3 }),
        timeout: fc.option(fc.constantFrom(0, 5, 20, 50), { freq: 3 }).map((t) => t ?? undefined),
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: SIZES.length - 1 }).chain((set) =>
      fc.record({
        kind: fc.constant('setval' as const),
        set: fc.constant(set),
        num: fc.integer({ min: 0, max: SIZES[set]! - 1 }),
        val: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(SEMVMX)),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: SIZES.length - 1 }).chain((set) =>
      fc.record({
        kind: fc.constant('setall' as const),
        set: fc.constant(set),
        vals: fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(SEMVMX)), { minLength: SIZES[set]!, maxLength: SIZES[set]! }),
      }),
    ),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('signal' as const), proc: fc.integer({ min: 0, max: PROCS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(1, 10, 30) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('exit' as const), proc: fc.integer({ min: 0, max: PROCS - 1 }), how: fc.constantFrom('exit', 'unshare') }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rmid' as const), set: fc.integer({ min: 0, max: SIZES.length - 1 }) }) },
);

const outcomeOf = (r: Result | Pending<Result>): string => {
  if (isPending(r)) return r.state === 'pending' ? 'block' : outcomeOf(r.result as Result);
  return E.isLeft(r) ? r.left.errno : 'ok';
};

function newSet(p: Process, nsems: number): number {
  return ok(p.semget(IPC_PRIVATE, nsems, IPC_CREAT | 0o600));
}

/** The semadj the kernel holds for `p` and set `id` (zeros when it has no entry), and whether every entry names a live set. */
function kernelAdj(p: Process, id: number, nsems: number): number[] {
  const un = p.sysvsem.undoList?.entries.find((e) => e.semid === id);
  return un === undefined ? new Array<number>(nsems).fill(0) : Array.from(un.semadj);
}

describe('semaphores through the kernel against a reference model', () => {
  it('agree on every outcome, value and semadj; sleepers are woken, counted and ended correctly; invariants hold after every call', () => {
    const tally = { calls: 0, blocked: 0, woken: 0, eintr: 0, eagain: 0, eidrm: 0, erange: 0, clamped: 0 };
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 10, maxLength: 40, size: 'max' }), (actions) => {
        let now = 0;
        const k = new Kernel({ clock: () => 1000, monotonicClock: () => 0, memTotalBytes: 16 << 20 });
        const procs: Process[] = Array.from({ length: PROCS }, () => k.spawn());
        const gens = new Array<number>(PROCS).fill(0);
        const admin = k.spawn();
        const model = new Model(SIZES.map((n) => newSet(admin, n)));
        const sleepers: Sleeper[] = [];

        for (const a of actions) {
          tally.calls += 1;
          /** Which way a sleeper may end in this step, beside being woken. */
          let endedBy: (s: Sleeper) => string | undefined = () => undefined;
          switch (a.kind) {
            case 'op': {
              const m = model.sets[a.set]!;
              const predicted = model.try(a.proc, a.set, a.sops);
              const expected = predicted.outcome === 'block' && a.timeout === 0 ? 'EAGAIN' : predicted.outcome;
              const p = procs[a.proc]!;
              const r = a.timeout === undefined ? p.semop(m.id, a.sops) : p.semtimedop(m.id, a.sops, { sec: 0, nsec: a.timeout * 1e6 });
              expect(outcomeOf(r)).toBe(expected);
              if (expected === 'ok') model.apply(a.proc, a.set, a.sops);
              if (isPending(r) && r.state === 'pending') {
                tally.blocked += 1;
                sleepers.push({
                  pending: r as Pending<Result>,
                  proc: a.proc,
                  gen: gens[a.proc]!,
                  set: a.set,
                  setId: m.id,
                  sops: a.sops,
                  deadline: a.timeout === undefined ? Infinity : now + a.timeout,
                  seen: false,
                });
              }
              break;
            }
            case 'setval':
              ok(admin.semctl(model.sets[a.set]!.id, a.num, SETVAL, a.val));
              model.setval(a.set, a.num, a.val);
              break;
            case 'setall':
              ok(admin.semctl(model.sets[a.set]!.id, 0, SETALL, a.vals));
              model.setall(a.set, a.vals);
              break;
            case 'signal':
              ok(procs[a.proc]!.interrupt());
              endedBy = (s) => (s.proc === a.proc && s.gen === gens[a.proc] ? 'EINTR' : undefined);
              break;
            case 'tick':
              now += a.ms;
              ok(k.advanceTime(a.ms));
              endedBy = (s) => (s.deadline <= now ? 'EAGAIN' : undefined);
              break;
            case 'exit': {
              const gen = gens[a.proc]!;
              const p = procs[a.proc]!;
              if (a.how === 'unshare') {
                // unshare(CLONE_NEWIPC) runs exit_sem too. A Linux task cannot unshare while it sleeps in semop: end its waits first.
                ok(p.interrupt());
                ok(p.unshareIpc());
              }
              ok(p.exit());
              if (model.exit(a.proc)) tally.clamped += 1;
              procs[a.proc] = k.spawn();
              gens[a.proc] = gen + 1;
              endedBy = (s) => (s.proc === a.proc && s.gen === gen ? 'EINTR' : undefined);
              break;
            }
            case 'rmid': {
              const old = model.sets[a.set]!.id;
              ok(admin.semctl(old, 0, IPC_RMID));
              model.replace(a.set, newSet(admin, SIZES[a.set]!));
              endedBy = (s) => (s.setId === old ? 'EIDRM' : undefined);
              break;
            }
          }

          // Sleepers that ended in this step: a wake performs the operations; any other end has the step's reason.
          for (const s of sleepers) {
            const must = endedBy(s);
            if (s.seen) continue;
            if (s.pending.state === 'pending') {
              expect(must, `a sleeper of process slot ${s.proc} should have ended`).toBeUndefined();
              continue;
            }
            s.seen = true;
            const res = s.pending.result as Result;
            if (E.isRight(res)) {
              expect(res.right).toBe(0);
              // Only a step that changes values wakes a sleeper, and none of those also ends it another way.
              expect(must).toBeUndefined();
              model.apply(s.proc, s.set, s.sops);
              tally.woken += 1;
            } else if (must === undefined && res.left.errno === 'ERANGE') {
              // Woken, and then an operation passed SEMVMX or the semadj range: one that raises, or keeps an undo.
              expect(s.sops.some((o) => o.semOp > 0 || (o.semFlg & SEM_UNDO) !== 0)).toBe(true);
              tally.erange += 1;
            } else if (must === undefined && res.left.errno === 'EAGAIN') {
              // Woken, and then blocked at an operation with IPC_NOWAIT: update_queue ends it with EAGAIN.
              expect(s.sops.some((o) => (o.semFlg & IPC_NOWAIT) !== 0)).toBe(true);
              tally.eagain += 1;
            } else {
              expect(res.left.errno).toBe(must);
              tally[res.left.errno === 'EINTR' ? 'eintr' : res.left.errno === 'EAGAIN' ? 'eagain' : 'eidrm'] += 1;
            }
          }

          const live = sleepers.filter((s) => s.pending.state === 'pending');
          model.sets.forEach((m, set) => {
            const vals = ok(admin.semctl(m.id, 0, GETALL)).values!;
            for (const v of vals) expect(v >= 0 && v <= SEMVMX).toBe(true);
            expect(vals).toEqual(m.vals);
            let counted = 0;
            for (let i = 0; i < m.nsems; i += 1) counted += ok(admin.semctl(m.id, i, GETNCNT)).ret + ok(admin.semctl(m.id, i, GETZCNT)).ret;
            expect(counted).toBe(live.filter((s) => s.set === set).length);
            procs.forEach((p, proc) => expect(kernelAdj(p, m.id, m.nsems)).toEqual(model.adj[proc]![set]));
          });
          // An undo entry never outlives its set.
          const ids = new Set(model.sets.map((m) => m.id));
          for (const p of procs) for (const un of p.sysvsem.undoList?.entries ?? []) expect(ids.has(un.semid)).toBe(true);
          // No sleeper could now be performed. (One whose retry would fail with EAGAIN or ERANGE may still sleep: Linux
          // retries wait-for-zero sleepers only when a value reaches 0, as do_smart_wakeup_zero does.)
          for (const s of live) expect(model.try(s.proc, s.set, s.sops).outcome).not.toBe('ok');
          expect(checkInvariants(k)).toEqual(E.right(undefined));
        }
      }),
      { numRuns: 80 },
    );
    console.log(`sem kernel model: ${JSON.stringify(tally)}`);
    expect(tally.woken).toBeGreaterThan(0);
    expect(tally.eintr + tally.eagain + tally.eidrm).toBeGreaterThan(0);
  });
});
