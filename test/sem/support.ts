/** A sem registry with a settable clock, and callers (tasks) on it. */
import { makeCredentials } from '../../src/auth/credentials.js';
import type { Capability } from '../../src/auth/credentials.js';
import type { Sembuf } from '../../src/abi/sem.js';
import { SemLimits } from '../../src/sem/limits.js';
import { SemRegistry } from '../../src/sem/registry.js';
import type { SemCaller } from '../../src/sem/syscalls.js';
import { newSysvSem } from '../../src/sem/undo.js';
import type { SemResult, SemWaiter } from '../../src/sem/waiter.js';

export interface Clocked {
  readonly reg: SemRegistry;
  readonly limits: SemLimits;
  now: number;
  task(init?: { uid?: number; gid?: number; pid?: number; caps?: Capability[] }): SemCaller;
}

export function setup(): Clocked {
  const limits = new SemLimits();
  const state: Clocked = {
    limits,
    reg: undefined as unknown as SemRegistry,
    now: 1000,
    task(init = {}) {
      const uid = init.uid ?? 0;
      const creds = makeCredentials({ uid, gid: init.gid ?? uid, ...(init.caps === undefined ? {} : { caps: init.caps }) });
      return { creds, pid: init.pid ?? 100, sysvsem: newSysvSem(), registry: state.reg };
    },
  };
  (state as { reg: SemRegistry }).reg = new SemRegistry(limits, () => state.now);
  return state;
}

/** A sembuf. */
export function sop(semNum: number, semOp: number, semFlg = 0): Sembuf {
  return { semNum, semOp, semFlg };
}

/** Records the order in which waiters complete, and how. */
export class Log {
  readonly entries: string[] = [];

  /** A completion callback that logs `name:result`. */
  cb(name: string): (r: SemResult) => void {
    return (r) => this.entries.push(`${name}:${r._tag === 'Right' ? String(r.right) : r.left.errno}`);
  }
}

/** The waiter of a semop that blocked; fails the test otherwise. */
export function waiter(r: import('fp-ts/lib/Either.js').Either<unknown, number | SemWaiter>): SemWaiter {
  if (r._tag === 'Left' || typeof r.right === 'number') throw new Error(`expected the semop to block, got ${JSON.stringify(r)}`);
  return r.right;
}
