/**
 * A revoked Proxy given where a call takes an array or an object (semop's
 * sops, semctl's SETALL array and IPC_SET buffer, msgctl's and shmctl's
 * IPC_SET buffer, mount flags): Array.isArray throws for one, so each call
 * used to throw a TypeError no caller could expect. It is memory that
 * cannot be read: EFAULT, with nothing changed.
 */
import type * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GETVAL, IPC_CREAT, IPC_PRIVATE, IPC_SET, Kernel, SETALL } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

function revoked(): never {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy as never;
}

describe('a revoked Proxy as an array or struct argument', () => {
  it('is EFAULT from every call that reads one, never a throw', () => {
    const k = new Kernel();
    const p = k.spawn();
    const semid = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const msqid = ok(p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const shmid = ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const calls: ReadonlyArray<readonly [string, () => unknown]> = [
      ['semop', () => p.semop(semid, revoked())],
      ['semtimedop', () => p.semtimedop(semid, revoked(), { sec: 0, nsec: 0 })],
      ['semctl SETALL', () => p.semctl(semid, 0, SETALL, revoked())],
      ['semctl IPC_SET', () => p.semctl(semid, 0, IPC_SET, revoked())],
      ['msgctl IPC_SET', () => p.msgctl(msqid, IPC_SET, revoked())],
      ['shmctl IPC_SET', () => p.shmctl(shmid, IPC_SET, revoked())],
      ['bindMount flags', () => p.bindMount('/', '/', revoked())],
    ];
    for (const [name, call] of calls) {
      let r: unknown;
      expect(() => {
        r = call();
      }, name).not.toThrow();
      expect(errno(r as E.Either<{ errno: string }, unknown>), name).toBe('EFAULT');
    }
    expect(ok(p.semctl(semid, 0, GETVAL)).ret).toBe(0);
  });
});
