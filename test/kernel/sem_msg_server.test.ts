/**
 * The sem and msg entries of the worker-side syscall table: a call that
 * sleeps is served as a Pending the serving loop holds the reply to; a
 * wire's null for an absent argument is absent; malformed arguments get the
 * in-process refusals.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GETVAL, IPC_CREAT, IPC_PRIVATE, IPC_STAT, Kernel, SETVAL, sysError } from '../../src/index.js';
import type { SysError } from '../../src/index.js';
import { isPending } from '../../src/kernel/pending.js';
import { serveSyscall } from '../../src/kernel/syscall_server.js';
import type { SyscallContext } from '../../src/kernel/syscall_server.js';
import { errno, ok } from '../support/either.js';

function context(): SyscallContext {
  const kernel = new Kernel({ clock: () => 5, monotonicClock: () => 0 });
  return {
    kernel,
    process: kernel.spawn(),
    threads: { fork: () => E.left(sysError('EAGAIN', 'none')), waitpid: () => E.left(sysError('ECHILD', 'none')) as never },
  };
}

const serve = (ctx: SyscallContext, call: string, args: unknown[]) => serveSyscall(ctx, { call, args });

describe('the syscall table: semaphores and message queues', () => {
  it('serves semop as a Pending that a later call settles, and semtimedop with a wire null as semop', () => {
    const ctx = context();
    const id = ok(serve(ctx, 'semget', [IPC_PRIVATE, 1, IPC_CREAT | 0o600]) as E.Either<SysError, number>);
    const down = [{ semNum: 0, semOp: -1, semFlg: 0 }];
    const served = serve(ctx, 'semop', [id, down]);
    if (!isPending(served)) throw new Error('semop should wait');
    const timed = serve(ctx, 'semtimedop', [id, down, null]);
    if (!isPending(timed)) throw new Error('semtimedop without a timeout should wait');
    expect(serve(ctx, 'semctl', [id, 0, SETVAL, 2])).toEqual(E.right({ ret: 0 }));
    expect([served.result, timed.result]).toEqual([E.right(0), E.right(0)]);
    expect(serve(ctx, 'semctl', [id, 0, GETVAL, null])).toEqual(E.right({ ret: 0 }));
    expect(errno(serve(ctx, 'semop', [id, 'x']) as E.Either<SysError, unknown>)).toBe('EFAULT');
    expect(errno(serve(ctx, 'semctl', [id, 0, SETVAL, 'x']) as E.Either<SysError, unknown>)).toBe('EINVAL');
  });

  it('serves msgrcv as a Pending that msgsnd settles; msgctl takes a wire null for no buffer', () => {
    const ctx = context();
    const q = ok(serve(ctx, 'msgget', [IPC_PRIVATE, IPC_CREAT | 0o600]) as E.Either<SysError, number>);
    const rcv = serve(ctx, 'msgrcv', [q, 16, 0, 0]);
    if (!isPending(rcv)) throw new Error('msgrcv should wait');
    expect(serve(ctx, 'msgsnd', [q, 4n, new Uint8Array([9]), 0])).toEqual(E.right(0));
    expect(rcv.result).toEqual(E.right({ mtype: 4, text: new Uint8Array([9]) }));
    expect((ok(serve(ctx, 'msgctl', [q, IPC_STAT, null]) as E.Either<SysError, { ret: number }>) as { ret: number }).ret).toBe(0);
    expect(errno(serve(ctx, 'msgsnd', [q, 1, [1, 2], 0]) as E.Either<SysError, unknown>)).toBe('EFAULT');
  });
});
