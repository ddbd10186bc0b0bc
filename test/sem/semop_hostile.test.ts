/**
 * semop and semtimedop given sops a C caller could not have passed, read as
 * do_semtimedop's copy_from_user reads them: once. A one-sop array that
 * cannot be read (a getter or Proxy trap that throws) is EFAULT with
 * nothing changed, through the uncontended shortcut as through the general
 * path; a Proxy's length that is no array length is EFAULT naming it; and a
 * getter is read once, whichever path decides the call.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE } from '../../src/abi/constants.js';
import type { Sembuf } from '../../src/abi/sem.js';
import { GETVAL, SETVAL } from '../../src/abi/sem.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { errno, ok } from '../support/either.js';

/** One set of one semaphore at `value`. */
function setUp(value = 1): { p: Process; id: number } {
  const k = new Kernel({ memTotalBytes: 16 << 20 });
  const p = k.spawn();
  const id = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
  if (value !== 0) ok(p.semctl(id, 0, SETVAL, value));
  return { p, id };
}

function errnoOf(r: unknown): string {
  if (isPending(r)) return 'asleep';
  const e = r as E.Either<{ errno: string }, number>;
  return E.isLeft(e) ? e.left.errno : `= ${e.right}`;
}

const throwingField = (field: keyof Sembuf): Sembuf => {
  const sop: Record<string, unknown> = { semNum: 0, semOp: -1, semFlg: 0 };
  Object.defineProperty(sop, field, {
    get() {
      throw new Error(`${field} cannot be read`);
    },
  });
  return sop as unknown as Sembuf;
};

const throwingArray = (trap: 'get' | 'length'): readonly Sembuf[] =>
  new Proxy([{ semNum: 0, semOp: -1, semFlg: 0 }], {
    get(target, key, receiver) {
      if (trap === 'get' && key === '0') throw new Error('element cannot be read');
      if (trap === 'length' && key === 'length') throw new Error('length cannot be read');
      return Reflect.get(target, key, receiver);
    },
  });

describe('a one-sop array that cannot be read', () => {
  const cases: Array<[string, () => readonly Sembuf[]]> = [
    ['semNum getter throws', () => [throwingField('semNum')]],
    ['semOp getter throws', () => [throwingField('semOp')]],
    ['semFlg getter throws', () => [throwingField('semFlg')]],
    ['element trap throws', () => throwingArray('get')],
    ['length trap throws', () => throwingArray('length')],
  ];
  for (const [name, sops] of cases) {
    it(`${name}: EFAULT from semop and semtimedop, the value unchanged`, () => {
      const { p, id } = setUp();
      expect(errnoOf(p.semop(id, sops()))).toBe('EFAULT');
      expect(errnoOf(p.semtimedop(id, sops(), { sec: 1, nsec: 0 }))).toBe('EFAULT');
      expect(ok(p.semctl(id, 0, GETVAL)).ret).toBe(1);
    });
  }
});

describe('semop reads each sop field once', () => {
  it('a sop the shortcut declines (it would block) is decided on the values read once', () => {
    const { p, id: semid } = setUp(0);
    let reads = 0;
    // First read -5 (would block: IPC_NOWAIT's EAGAIN); a second read would say +1 and be performed.
    const sop = {
      semNum: 0,
      semFlg: IPC_NOWAIT,
      get semOp(): number {
        reads += 1;
        return reads === 1 ? -5 : 1;
      },
    };
    expect(errno(p.semop(semid, [sop]) as E.Either<{ errno: string }, unknown>)).toBe('EAGAIN');
    expect(reads).toBe(1);
    expect(ok(p.semctl(semid, 0, GETVAL)).ret).toBe(0);
  });

  it('a sop the shortcut performs is read once too', () => {
    const { p, id: semid } = setUp(0);
    let reads = 0;
    const sop = {
      semNum: 0,
      semFlg: 0,
      get semOp(): number {
        reads += 1;
        return 1;
      },
    };
    expect(ok(p.semop(semid, [sop]) as E.Either<{ errno: string }, number>)).toBe(0);
    expect(reads).toBe(1);
    expect(ok(p.semctl(semid, 0, GETVAL)).ret).toBe(1);
  });
});

describe('a Proxy of a sops array whose length is no array length', () => {
  it('is EFAULT naming sops.length from semop and semtimedop, with nothing changed', () => {
    const { p, id: semid } = setUp(0);
    for (const length of [1.5, -1, 2 ** 40, Number.NaN, 'abc', undefined]) {
      const sops = new Proxy([{ semNum: 0, semOp: 1, semFlg: 0 }], {
        get: (target, key) => (key === 'length' ? length : Reflect.get(target, key)),
      });
      for (const r of [p.semop(semid, sops), p.semtimedop(semid, sops, { sec: 0, nsec: 0 })]) {
        const either = r as E.Either<{ errno: string; message: string }, unknown>;
        expect(errno(either)).toBe('EFAULT');
        expect(E.isLeft(either) && either.left.message).toMatch(/^sops\.length must be an array length/);
      }
    }
    expect(ok(p.semctl(semid, 0, GETVAL)).ret).toBe(0);
  });
});
