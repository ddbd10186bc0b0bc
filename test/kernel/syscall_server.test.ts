import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_STAT, Kernel, sysError } from '../../src/index.js';
import type { SysError } from '../../src/index.js';
import { deferredCall, isPending, settledCall } from '../../src/kernel/pending.js';
import type { Pending } from '../../src/kernel/pending.js';
import { serveSyscall } from '../../src/kernel/syscall_server.js';
import type { SyscallContext, ThreadServices } from '../../src/kernel/syscall_server.js';
import type { ChildExit } from '../../src/kernel/syscalls.js';
import { errno, ok } from '../support/either.js';

/** A thread layer that forks nothing and hands out the waits a test settles itself. */
function fakeThreads(): ThreadServices & { readonly waits: Array<(r: E.Either<SysError, ChildExit>) => void> } {
  const waits: Array<(r: E.Either<SysError, ChildExit>) => void> = [];
  return {
    waits,
    fork: () => E.left(sysError('EAGAIN', 'no threads here')),
    waitpid: (_p, pid): Pending<E.Either<SysError, ChildExit>> => {
      const { pending, settle } = deferredCall<E.Either<SysError, ChildExit>>();
      waits.push((r) => settle(E.isRight(r) ? E.right({ ...r.right, pid }) : r));
      return pending;
    },
  };
}

function context(): SyscallContext & { readonly threads: ReturnType<typeof fakeThreads> } {
  const kernel = new Kernel({ clock: () => 5 });
  return { kernel, process: kernel.spawn(), threads: fakeThreads() };
}

describe('the syscall table', () => {
  it('serves a call as the in-process method does', () => {
    const ctx = context();
    const id = serveSyscall(ctx, { call: 'shmget', args: [IPC_PRIVATE, 4096, IPC_CREAT | 0o600] }) as E.Either<SysError, number>;
    expect(ok(ctx.process.shmctl(ok(id), IPC_STAT)).ds?.ctime).toBe(5);
    expect(serveSyscall(ctx, { call: 'shmctl', args: [ok(id), IPC_STAT, null] })).toEqual(ctx.process.shmctl(ok(id), IPC_STAT));
  });

  it('answers an unknown call with ENOSYS, inherited object keys included, and a malformed one with EINVAL', () => {
    const ctx = context();
    for (const call of ['nosuch', 'constructor', 'toString', '__proto__']) {
      expect(errno(serveSyscall(ctx, { call, args: [] }) as E.Either<SysError, unknown>)).toBe('ENOSYS');
    }
    expect(errno(serveSyscall(ctx, { call: 'shmat', args: ['1', 0, 0] }) as E.Either<SysError, unknown>)).toBe('EINVAL');
    expect(errno(serveSyscall(ctx, { call: 'shmat' }) as E.Either<SysError, unknown>)).toBe('EINVAL');
    expect(errno(serveSyscall(ctx, null) as E.Either<SysError, unknown>)).toBe('EINVAL');
    expect(errno(serveSyscall(ctx, { call: 'fork', args: [1, []] }) as E.Either<SysError, unknown>)).toBe('EINVAL');
    expect(errno(serveSyscall(ctx, { call: 'waitpid', args: ['x'] }) as E.Either<SysError, unknown>)).toBe('ECHILD');
  });

  it('hands back a Pending for a call that completes later, which settles once with its Either', async () => {
    const ctx = context();
    const served = serveSyscall(ctx, { call: 'waitpid', args: [77] });
    if (!isPending(served)) throw new Error('waitpid did not pend');
    expect([served.state, served.result]).toEqual(['pending', undefined]);
    const done = served.done;
    ctx.threads.waits[0]?.(E.right({ pid: 0, ok: true, result: 3 }));
    expect(served.state).toBe('settled');
    expect(served.result).toEqual(E.right({ pid: 77, ok: true, result: 3 }));
    expect(await done).toEqual(E.right({ pid: 77, ok: true, result: 3 }));
    expect(() => ctx.threads.waits[0]?.(E.right({ pid: 0, ok: true }))).toThrow();
  });
});

describe('Pending', () => {
  it('is inspectable at once when the call completed without waiting', async () => {
    const p = settledCall(E.right(1));
    expect([p.state, p.result]).toEqual(['settled', E.right(1)]);
    expect(await p.done).toEqual(E.right(1));
    expect(isPending(p)).toBe(true);
    expect(isPending(E.right(1))).toBe(false);
  });

  it('resolves a done taken before it settled', async () => {
    const { pending, settle } = deferredCall<E.Either<string, number>>();
    const done = pending.done;
    settle(E.left('no'));
    expect(await done).toEqual(E.left('no'));
    expect(pending.done).toBe(done);
  });
});
