/**
 * semop and semtimedop given a one-sop array that cannot be read: a sop
 * whose getter throws, or a Proxy array whose trap throws. Linux's
 * copy_from_user fails with EFAULT and nothing changes; so here, through
 * the uncontended shortcut as through the general path.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE } from '../../src/abi/constants.js';
import type { Sembuf } from '../../src/abi/sem.js';
import { GETVAL, SETVAL } from '../../src/abi/sem.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';

function setUp(): { p: Process; id: number } {
  const k = new Kernel({ memTotalBytes: 16 << 20 });
  const p = k.spawn();
  const id = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
  ok(p.semctl(id, 0, SETVAL, 1));
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
