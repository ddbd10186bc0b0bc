/**
 * Model-based properties: random operation arrays from several processes
 * against plain-array reference models.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPC_NOWAIT, IPC_PRIVATE } from '../../src/abi/constants.js';
import type { Sembuf } from '../../src/abi/sem.js';
import { GETALL, GETNCNT, GETZCNT, SEMAEM, SEMVMX, SEM_UNDO, SETVAL } from '../../src/abi/sem.js';
import { exitSem } from '../../src/sem/exit.js';
import type { SemCaller } from '../../src/sem/syscalls.js';
import { semctl, semget, semop } from '../../src/sem/syscalls.js';
import type { SemWaiter } from '../../src/sem/waiter.js';
import { useSeed } from '../support/seed.js';
import { ok } from '../support/either.js';
import { setup } from './support.js';

beforeAll(() => useSeed());

const NSEMS = 4;
const PROCS = 3;

const sopArb = (flags: fc.Arbitrary<number>) =>
  fc.record({
    semNum: fc.integer({ min: 0, max: NSEMS - 1 }),
    semOp: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(-SEMVMX, SEMVMX, 20000, -20000)),
    semFlg: flags,
  });

interface Step {
  readonly proc: number;
  readonly sops: Sembuf[];
}

const stepArb = (flags: fc.Arbitrary<number>) =>
  fc.record({ proc: fc.integer({ min: 0, max: PROCS - 1 }), sops: fc.array(sopArb(flags), { minLength: 1, maxLength: 4 }) });

/** The reference: each array applied atomically, in order, on plain arrays; undo adjustments per process. */
class Reference {
  readonly vals = new Array<number>(NSEMS).fill(0);
  readonly adj: number[][] = Array.from({ length: PROCS }, () => new Array<number>(NSEMS).fill(0));
  /** Whether some exit had to clamp. */
  clamped = false;

  semop(proc: number, sops: readonly Sembuf[]): string {
    const vals = [...this.vals];
    const adj = [...this.adj[proc]!];
    for (const s of sops) {
      const v = vals[s.semNum]!;
      if (s.semOp === 0 ? v !== 0 : v + s.semOp < 0) return 'EAGAIN';
      if (v + s.semOp > SEMVMX) return 'ERANGE';
      if ((s.semFlg & SEM_UNDO) !== 0) {
        const a = adj[s.semNum]! - s.semOp;
        if (a < -SEMAEM - 1 || a > SEMAEM) return 'ERANGE';
        adj[s.semNum] = a;
      }
      vals[s.semNum] = v + s.semOp;
    }
    this.vals.splice(0, NSEMS, ...vals);
    this.adj[proc] = adj;
    return 'ok';
  }

  exit(proc: number): void {
    for (let i = 0; i < NSEMS; i += 1) {
      const a = this.adj[proc]![i]!;
      if (a === 0) continue;
      const v = this.vals[i]! + a;
      if (v < 0 || v > SEMVMX) this.clamped = true;
      this.vals[i] = Math.max(0, Math.min(v, SEMVMX));
    }
    this.adj[proc] = new Array<number>(NSEMS).fill(0);
  }
}

function world() {
  const t = setup();
  const procs: SemCaller[] = Array.from({ length: PROCS }, (_, i) => t.task({ pid: 100 + i }));
  const id = ok(semget(procs[0]!, IPC_PRIVATE, NSEMS, 0o600));
  const values = () => ok(semctl(procs[0]!, id, 0, GETALL)).values!;
  return { t, procs, id, values };
}

describe('semaphores against a reference model', () => {
  it('non-blocking arrays (IPC_NOWAIT) agree with the reference on every result and every value', () => {
    fc.assert(
      fc.property(fc.array(stepArb(fc.constantFrom(IPC_NOWAIT, IPC_NOWAIT | SEM_UNDO)), { maxLength: 60 }), (steps: Step[]) => {
        const { procs, id, values } = world();
        const ref = new Reference();
        for (const s of steps) {
          const r = semop(procs[s.proc]!, id, s.sops);
          const got = E.isLeft(r) ? r.left.errno : typeof r.right === 'number' ? 'ok' : 'blocked';
          expect(got).toBe(ref.semop(s.proc, s.sops));
          expect(values()).toEqual(ref.vals);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("after every process exits, each value is what Linux's sequential, clamped undo gives; without clamping, the initial value plus the non-undo ops", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb(fc.constantFrom(IPC_NOWAIT, IPC_NOWAIT | SEM_UNDO)), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: NSEMS, maxLength: NSEMS }),
        fc.shuffledSubarray([0, 1, 2], { minLength: PROCS, maxLength: PROCS }),
        (steps: Step[], init: number[], exitOrder: number[]) => {
          const { procs, id, values } = world();
          const ref = new Reference();
          const net = [...init];
          for (let i = 0; i < NSEMS; i += 1) ok(semctl(procs[0]!, id, i, SETVAL, { val: init[i]! }));
          ref.vals.splice(0, NSEMS, ...init);
          for (const s of steps) {
            semop(procs[s.proc]!, id, s.sops);
            if (ref.semop(s.proc, s.sops) === 'ok') {
              for (const o of s.sops) if ((o.semFlg & SEM_UNDO) === 0) net[o.semNum] = net[o.semNum]! + o.semOp;
            }
          }
          for (const p of exitOrder) {
            exitSem(procs[p]!.sysvsem, 100 + p);
            ref.exit(p);
          }
          expect(values()).toEqual(ref.vals);
          if (!ref.clamped) expect(values()).toEqual(net);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('with blocking, interrupts, SETVAL and exits: values stay in 0..SEMVMX, each waiter is counted once by GETNCNT+GETZCNT, and none that could proceed is left waiting', () => {
    const action = fc.oneof(
      { weight: 6, arbitrary: stepArb(fc.constantFrom(0, SEM_UNDO, IPC_NOWAIT)).map((s) => ({ kind: 'op' as const, ...s })) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('interrupt' as const), pick: fc.nat() }) },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('setval' as const), num: fc.integer({ min: 0, max: NSEMS - 1 }), val: fc.integer({ min: 0, max: 5 }) }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), proc: fc.integer({ min: 0, max: PROCS - 1 }) }) },
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const { procs, id, values } = world();
        const queued: SemWaiter[] = [];
        for (const a of actions) {
          if (a.kind === 'op') {
            const r = semop(procs[a.proc]!, id, a.sops);
            if (E.isRight(r) && typeof r.right !== 'number') queued.push(r.right);
          } else if (a.kind === 'interrupt') {
            const live = queued.filter((w) => w.queued);
            live[a.pick % Math.max(1, live.length)]?.interrupt();
          } else if (a.kind === 'setval') {
            ok(semctl(procs[0]!, id, a.num, SETVAL, { val: a.val }));
          } else {
            // A task ends its waits before it exits.
            for (const w of queued) if (w.queued && w.pid === 100 + a.proc) w.interrupt();
            exitSem(procs[a.proc]!.sysvsem, 100 + a.proc);
          }
          const vals = values();
          for (const v of vals) expect(v >= 0 && v <= SEMVMX).toBe(true);
          const live = queued.filter((w) => w.queued);
          let counted = 0;
          for (let i = 0; i < NSEMS; i += 1) counted += ok(semctl(procs[0]!, id, i, GETNCNT)).ret + ok(semctl(procs[0]!, id, i, GETZCNT)).ret;
          expect(counted).toBe(live.length);
          for (const w of live) expect(canProceed(vals, w.sops)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });
});

/** Whether an array could be performed now, on these values (ignoring semadj's range). */
function canProceed(vals: readonly number[], sops: readonly Sembuf[]): boolean {
  const v = [...vals];
  for (const s of sops) {
    const cur = v[s.semNum]!;
    if (s.semOp === 0 ? cur !== 0 : cur + s.semOp < 0) return false;
    if (cur + s.semOp > SEMVMX) return false;
    v[s.semNum] = cur + s.semOp;
  }
  return true;
}
