/**
 * The Either matchers of ipc-sentry/testing: through vitest's expect.extend
 * (passing, failing with the message a user reads, negated, asymmetric) and
 * called directly, where `pass` and the message are checked word for word.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, Kernel, sysError } from '../../src/index.js';
import { deepEqual, eitherMatchers, installEitherMatchers } from '../../src/testing/index.js';
import type { ErrnoName } from '../../src/index.js';
import { useSeed } from '../support/seed.js';

useSeed();
installEitherMatchers(expect);

const eacces = E.left(sysError('EACCES', 'mode 0600 does not allow this attach'));
const segv = E.left({ signal: 'SIGSEGV' as const, addr: 0x1000 });

/** The message a failing vitest assertion throws. */
function failure(assertion: () => void): string {
  try {
    assertion();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the assertion passed');
}

describe('through vitest', () => {
  it('match the results of real calls', () => {
    const kernel = new Kernel();
    const root = kernel.spawn();
    const user = kernel.spawn({ uid: 1000, gid: 1000 });
    const id = root.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
    expect(id).toBeRight();
    expect(id).toBeRightWith(0);
    expect(user.shmat(0, 0, 0)).toBeErrno('EACCES');
    expect(user.shmat(0, 0, 0)).not.toBeErrno('EINVAL');
    expect(root.shmget(0x11, 4096, 0)).toBeLeft();
    expect(root.read(0x1000, 1)).toFault('SIGSEGV');
    expect(root.read(0x1000, 1)).toFault('SIGSEGV', 0x1000);
    expect(root.read(0x1000, 1)).not.toFault('SIGBUS');
  });

  it('fail with a message naming what was received', () => {
    expect(failure(() => expect(eacces).toBeRight())).toBe('expected a Right, but got Left(EACCES (mode 0600 does not allow this attach))');
    expect(failure(() => expect(E.right(3)).toBeRightWith(4))).toBe('expected Right(4), but got Right(3)');
    expect(failure(() => expect(E.right(3)).toBeErrno('EACCES'))).toBe('expected Left with errno EACCES, but got Right(3)');
    expect(failure(() => expect(segv).toFault('SIGSEGV', 0x2000))).toBe('expected a SIGSEGV at 0x2000 fault, but got Left(SIGSEGV at 0x1000)');
    expect(failure(() => expect(eacces).not.toBeErrno('EACCES'))).toBe(
      'expected a result other than EACCES, but got Left(EACCES (mode 0600 does not allow this attach))',
    );
    expect(failure(() => expect(E.right({ a: 1 })).not.toBeRightWith({ a: 1 }))).toBe('expected a value other than Right({ a: 1 }), but got exactly that');
  });

  it('compare deeply with the runner equality, so asymmetric matchers nest both ways', () => {
    expect(E.right({ ret: 0, ds: { nattch: 2, segsz: 4096n } })).toBeRightWith({ ret: 0, ds: expect.objectContaining({ nattch: 2 }) });
    expect({ id: E.right(7), err: eacces }).toEqual({ id: expect.toBeRight(), err: expect.toBeErrno('EACCES') });
    expect({ err: eacces }).not.toEqual({ err: expect.toBeErrno('EPERM') });
    expect([segv]).toEqual([expect.toFault('SIGSEGV')]);
  });

  it('reject misuse with a TypeError rather than a mismatch', () => {
    expect(() => expect(eacces).toBeErrno('EFOO' as ErrnoName)).toThrow(TypeError);
    expect(() => expect(segv).toFault('SIGKILL' as 'SIGSEGV')).toThrow(/not a fault signal/);
    expect(() => expect(segv).toFault('SIGSEGV', 1.5)).toThrow(/must be an integer/);
  });
});

describe('called directly', () => {
  const m = eitherMatchers;

  it('say pass:false, and why, for each mismatch', () => {
    const cases: [ReturnType<typeof m.toBeRight>, string][] = [
      [m.toBeRight(eacces), 'expected a Right, but got Left(EACCES (mode 0600 does not allow this attach))'],
      [m.toBeRight(42), 'expected a Right, but got a value that is not an fp-ts Either: 42'],
      [m.toBeRightWith(E.right([1, 2]), [1, 3]), 'expected Right([1, 3]), but got Right([1, 2])'],
      [m.toBeRightWith(eacces, 1), 'expected Right(1), but got Left(EACCES (mode 0600 does not allow this attach))'],
      [m.toBeLeft(E.right(undefined)), 'expected a Left, but got Right(undefined)'],
      [m.toBeLeftWith(E.left('x'), 'y'), 'expected Left("y"), but got Left("x")'],
      [m.toBeErrno(E.left(sysError('EINVAL', '')), 'EACCES'), 'expected Left with errno EACCES, but got Left(EINVAL)'],
      [m.toBeErrno(segv, 'EACCES'), 'expected Left with errno EACCES, but got Left(SIGSEGV at 0x1000)'],
      [m.toBeErrno({ _tag: 'Left' }, 'EACCES'), 'expected Left with errno EACCES, but got a value that is not an fp-ts Either: { _tag: "Left" }'],
      [m.toFault(E.right(new Uint8Array([1, 2])), 'SIGBUS'), 'expected a SIGBUS fault, but got Right(Uint8Array[1, 2])'],
      [m.toFault(segv, 'SIGBUS'), 'expected a SIGBUS fault, but got Left(SIGSEGV at 0x1000)'],
    ];
    for (const [r, message] of cases) {
      expect(r.pass).toBe(false);
      expect(r.message()).toBe(message);
    }
  });

  it('say pass:true with the message a negated assertion shows', () => {
    expect(m.toBeRight(E.right(1))).toMatchObject({ pass: true });
    expect(m.toBeRight(E.right(1)).message()).toBe('expected not a Right, but got Right(1)');
    expect(m.toBeLeft(eacces).message()).toBe('expected not a Left, but got Left(EACCES (mode 0600 does not allow this attach))');
    expect(m.toBeErrno(eacces, 'EACCES').pass).toBe(true);
    expect(m.toFault(segv, 'SIGSEGV', 0x1000).pass).toBe(true);
    expect(m.toBeLeftWith(E.left({ a: [1] }), { a: [1] }).pass).toBe(true);
  });

  it('print cyclic and long values without looping', () => {
    const cyclic: { self?: unknown; n: number } = { n: 1 };
    cyclic.self = cyclic;
    expect(m.toBeLeft(E.right(cyclic)).message()).toBe('expected a Left, but got Right({ n: 1, self: [Circular] })');
    const long = m.toBeLeft(E.right('x'.repeat(1000))).message();
    expect(long.length).toBeLessThan(400);
    expect(long.endsWith('…)')).toBe(true);
  });

  it('agree with the runner: toBeRightWith passes exactly when toEqual does', () => {
    const value = fc.oneof(
      fc.jsonValue(),
      fc.uint8Array({ maxLength: 4 }),
      fc.bigInt({ min: -5n, max: 5n }),
      fc.dictionary(fc.constantFrom('a', 'b'), fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined })),
    );
    fc.assert(
      fc.property(value, value, (a, b) => {
        let runnerEqual = true;
        try {
          expect(a).toEqual(b);
        } catch {
          runnerEqual = false;
        }
        expect(deepEqual(a, b)).toBe(runnerEqual);
        expect(m.toBeRightWith(E.right(a), b).pass).toBe(runnerEqual);
        expect(m.toBeRightWith(E.right(a), structuredClone(a)).pass).toBe(true);
        expect(m.toBeLeft(E.right(a)).pass).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
