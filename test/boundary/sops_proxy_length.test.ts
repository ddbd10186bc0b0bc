/**
 * A Proxy of a sops array whose length trap answers what no array length
 * is (a fraction, a negative, 2^40, NaN, a string) is memory that cannot
 * be read: EFAULT naming sops.length, never a throw from new Array.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GETVAL, IPC_CREAT, IPC_PRIVATE, Kernel } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

function world() {
  const k = new Kernel();
  const p = k.spawn();
  const semid = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
  return { p, semid };
}

describe('a Proxy of a sops array whose length is no array length', () => {
  it('is EFAULT naming sops.length from semop and semtimedop, with nothing changed', () => {
    const { p, semid } = world();
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
