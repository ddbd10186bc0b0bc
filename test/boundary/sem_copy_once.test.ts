/**
 * semop and semtimedop copy the caller's sops once, as do_semtimedop's
 * copy_from_user does: the uncontended shortcut's read is the read the
 * general path uses when the shortcut declines.
 */
import type * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GETVAL, IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, Kernel } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

function world() {
  const k = new Kernel();
  const p = k.spawn();
  const semid = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
  return { p, semid };
}

describe('semop reads each sop field once', () => {
  it('a sop the shortcut declines (it would block) is decided on the values read once', () => {
    const { p, semid } = world();
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
    const { p, semid } = world();
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
