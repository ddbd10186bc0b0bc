/**
 * semctl(SETALL) copies one value per semaphore of the set, as Linux's
 * semctl_main copies nsems unsigned shorts: what lies past them is never
 * read (a huge Proxy array costs nothing, a bad value there is no error),
 * a shorter array is EFAULT, and with no such set nothing is read at all.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE } from '../../src/abi/constants.js';
import { GETALL, SETALL } from '../../src/abi/sem.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';

function setOf(n: number): { p: Process; id: number } {
  const p = new Kernel({ memTotalBytes: 16 << 20 }).spawn();
  return { p, id: ok(p.semget(IPC_PRIVATE, n, IPC_CREAT | 0o600)) };
}

const errno = (r: E.Either<{ errno: string }, unknown>): string => (E.isLeft(r) ? r.left.errno : 'ok');

/** An array claiming 2^32 - 1 elements, each 7, counting how many were read. */
function huge(): { array: number[]; reads: () => number } {
  let reads = 0;
  const array = new Proxy([] as number[], {
    get(target, key, receiver) {
      if (key === 'length') return 2 ** 32 - 1;
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        reads += 1;
        return 7;
      }
      return Reflect.get(target, key, receiver);
    },
  });
  return { array, reads: () => reads };
}

describe('semctl SETALL reads nsems values', () => {
  it('reads three values of a huge array for a set of three, and stores them', () => {
    const { p, id } = setOf(3);
    const { array, reads } = huge();
    expect(errno(p.semctl(id, 0, SETALL, array))).toBe('ok');
    expect(reads()).toBe(3);
    expect(ok(p.semctl(id, 0, GETALL)).values).toEqual([7, 7, 7]);
  });

  it('ignores what lies past nsems, even a value that is no number', () => {
    const { p, id } = setOf(2);
    expect(errno(p.semctl(id, 0, SETALL, [1, 2, 'x' as unknown as number]))).toBe('ok');
    expect(ok(p.semctl(id, 0, GETALL)).values).toEqual([1, 2]);
  });

  it('is EFAULT for a shorter array, and EINVAL without reading for no such set', () => {
    const { p, id } = setOf(3);
    expect(errno(p.semctl(id, 0, SETALL, [1, 2]))).toBe('EFAULT');
    const { array, reads } = huge();
    expect(errno(p.semctl(id + 1, 0, SETALL, array))).toBe('EINVAL');
    expect(reads()).toBe(0);
  });
});

describe('semctl SETALL judges the array only after the permission check', () => {
  // semctl_main checks ipcperms before copy_from_user: a caller without
  // write access gets EACCES whatever array it passes.
  it('is EACCES for a caller without write access, whatever the array; the owner gets the copy error', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const owner = k.spawn();
    const other = k.spawn({ uid: 1000, gid: 1000 });
    const id = ok(owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o604));
    const unreadable = (key: string): number[] =>
      new Proxy([1, 2], {
        get(target, k2, receiver) {
          if (k2 === key) throw new Error(`read of ${key}`);
          return Reflect.get(target, k2, receiver);
        },
      });
    const arrays: ReadonlyArray<readonly [string, unknown, string]> = [
      ['a fraction', [1, 1.5], 'EINVAL'],
      ['a string', ['x', 2], 'EINVAL'],
      ['an unreadable element', unreadable('1'), 'EFAULT'],
      ['an unreadable length', unreadable('length'), 'EFAULT'],
      ['a short array', [1], 'EFAULT'],
      ['no array', undefined, 'EFAULT'],
      ['a value past SEMVMX', [1, 40000], 'ERANGE'],
    ];
    for (const [what, array, ownerErrno] of arrays) {
      expect(errno(other.semctl(id, 0, SETALL, array as number[])), what).toBe('EACCES');
      expect(errno(owner.semctl(id, 0, SETALL, array as number[])), what).toBe(ownerErrno);
    }
    expect(ok(other.semctl(id, 0, GETALL)).values).toEqual([0, 0]);
  });
});
