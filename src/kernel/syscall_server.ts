/**
 * The kernel thread's side of a worker's syscalls: the one table that maps
 * each call name (syscalls.ts) to a function that decodes the request's
 * arguments and calls the mechanism, as the calling Process, and
 * serveSyscall, which looks a request up in it.
 *
 * Requests come from a program's thread, so nothing in them is trusted:
 * an unknown call or a malformed argument is an error reply, never a throw.
 *
 * An entry returns the call's Either, or a Pending when the call completes
 * later (waitpid; semop, semtimedop, msgsnd and msgrcv when they sleep). The serving loop
 * (node/worker.ts) replies at once to the first and holds the reply to the
 * second until it settles, so a blocking call needs an entry and nothing
 * else.
 */
import * as E from 'fp-ts/lib/Either.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import type { Kernel } from './kernel.js';
import { isPending } from './pending.js';
import type { Pending } from './pending.js';
import type { Process } from './process.js';
import { describeValue } from './syscall_args.js';
import type { Word } from './syscall_args.js';
import type { IpcSetArgs } from '../shm/syscalls.js';
import type { Sembuf } from '../abi/sem.js';
import type { MsgSetArgs } from '../msg/registry.js';
import type { Timespec } from '../sem/syscalls.js';
import type { ChildExit, SemunArg, SyscallName, SyscallOutcome, SyscallReply } from './syscalls.js';

/** What the thread layer serves that the kernel cannot: threads for new processes, and waiting for them to end. */
export interface ThreadServices {
  /** Forks `p` and runs `moduleUrl`'s default export with `args` in a new thread for the child: the child's pid. */
  fork(p: Process, moduleUrl: string, args: readonly unknown[]): E.Either<SysError, number>;
  /** Settles once `p`'s forked child `pid` has ended; ECHILD (noChild) for a pid that is no child to wait for. */
  waitpid(p: Process, pid: number): Pending<E.Either<SysError, ChildExit>>;
}

/** Who makes a call: the calling process, its kernel, and the thread layer serving it. */
export interface SyscallContext {
  readonly kernel: Kernel;
  readonly process: Process;
  readonly threads: ThreadServices;
}

/** A call's outcome as an entry returns it: undefined when the arguments are malformed. */
type Entry<N extends SyscallName> = (ctx: SyscallContext, args: readonly unknown[]) => SyscallOutcome<N> | SyscallReply<N> | undefined;

/** What serving a request gives: some call's Either, or a Pending of it. */
export type Served = E.Either<unknown, unknown> | Pending<E.Either<unknown, unknown>>;

/** ECHILD: `pid` is not a child of `p` that is still to be waited for. */
export function noChild(p: Process, pid: unknown): E.Either<SysError, never> {
  return E.left(sysError('ECHILD', `${describeValue(pid)} is not a child of process ${p.pid} that is still to be waited for`));
}

/**
 * The table: every call a thread can send, run as the calling process. The
 * arguments are passed on as the wire carried them: Process decodes every
 * one (syscall_args.ts), so a malformed argument gets the refusal an
 * in-process caller would get. A missing argument is undefined, as it is
 * in-process.
 */
const SYSCALLS: { readonly [N in SyscallName]: Entry<N> } = {
  shmget: ({ process: p }, a) => p.shmget(a[0] as number, a[1] as Word, a[2] as number),
  shmat: ({ process: p }, a) => p.shmat(a[0] as number, a[1] as Word, a[2] as number),
  shmdt: ({ process: p }, a) => p.shmdt(a[0] as Word),
  // A request's JSON-like encoding may carry an absent IPC_SET buffer as null.
  shmctl: ({ process: p }, a) => p.shmctl(a[0] as number, a[1] as number, (a[2] ?? undefined) as IpcSetArgs | undefined),
  munmap: ({ process: p }, a) => p.munmap(a[0] as Word, a[1] as Word),
  mprotect: ({ process: p }, a) => p.mprotect(a[0] as Word, a[1] as Word, a[2] as number),
  exit: ({ process: p }) => p.exit(),
  semget: ({ process: p }, a) => p.semget(a[0] as number, a[1] as number, a[2] as number),
  // These four may return a Pending: the serving loop holds the thread's reply until it settles.
  semop: ({ process: p }, a) => p.semop(a[0] as number, a[1] as Sembuf[]),
  semtimedop: ({ process: p }, a) => p.semtimedop(a[0] as number, a[1] as Sembuf[], (a[2] ?? undefined) as Timespec | undefined),
  semctl: ({ process: p }, a) => p.semctl(a[0] as number, a[1] as number, a[2] as number, (a[3] ?? undefined) as SemunArg | undefined),
  msgget: ({ process: p }, a) => p.msgget(a[0] as number, a[1] as number),
  msgsnd: ({ process: p }, a) => p.msgsnd(a[0] as number, a[1] as number | bigint, a[2] as Uint8Array, a[3] as number),
  msgrcv: ({ process: p }, a) => p.msgrcv(a[0] as number, a[1] as Word, a[2] as number | bigint, a[3] as number),
  msgctl: ({ process: p }, a) => p.msgctl(a[0] as number, a[1] as number, (a[2] ?? undefined) as MsgSetArgs | undefined),
  fork: ({ process: p, threads }, a) => {
    const [url, args] = a;
    if (typeof url !== 'string' || !Array.isArray(args)) return E.left(sysError('EINVAL', 'fork needs a program URL and an argument list'));
    return threads.fork(p, url, args);
  },
  waitpid: ({ process: p, threads }, a) => (typeof a[0] === 'number' ? threads.waitpid(p, a[0]) : noChild(p, a[0])),
  tlbFill: ({ process: p }, a) => {
    const [addr, len, write] = a;
    if (typeof addr !== 'number' || typeof len !== 'number' || typeof write !== 'boolean') return undefined;
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(len) || len < 0) return undefined;
    if (p.exited) return E.left(sysError('ESRCH', `process ${p.pid} has exited`));
    const fill = p.translateForThread(addr, len, write);
    // A refused charge OOM-killed the process: its thread ends with it, as an in-process access's caller sees SIGKILL.
    return p.exited ? E.left(sysError('ESRCH', `process ${p.pid} was killed`)) : fill;
  },
};

/**
 * Runs `request` as `ctx.process`: its Either, or a Pending of it for a call
 * that completes later.
 */
export function serveSyscall(ctx: SyscallContext, request: unknown): Served {
  const req = request as { call?: unknown; args?: unknown } | null;
  if (typeof req !== 'object' || req === null || typeof req.call !== 'string' || !Array.isArray(req.args)) {
    return E.left(sysError('EINVAL', 'a syscall request needs a call name and an argument list'));
  }
  if (!Object.hasOwn(SYSCALLS, req.call)) return E.left(sysError('ENOSYS', `${req.call} is not a syscall a thread can make`));
  const entry = SYSCALLS[req.call as SyscallName] as Entry<SyscallName>;
  const served = entry(ctx, req.args) ?? E.left(sysError('EINVAL', `malformed arguments to ${req.call}`));
  // The thread stays blocked in this call: a checkpoint must see it (and refuses, EBUSY).
  if (isPending(served) && served.state === 'pending') ctx.process.holdForThread(req.call, served);
  return served;
}
