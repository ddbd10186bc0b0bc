/**
 * The kernel thread's side of a thread's syscalls: decodes one mailbox
 * request and runs it on the calling Process, returning the Either the
 * in-process call returns. `tlbFill` is the software TLB's miss path.
 *
 * Requests come from a program's thread, so nothing in them is trusted:
 * an unknown call or a malformed argument is an error reply, never a throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import type { IpcSetArgs } from '../shm/syscalls.js';
import type { Kernel } from './kernel.js';
import type { Process, Word } from './process.js';

/** One syscall as a thread sends it. */
export interface SyscallRequest {
  readonly call: string;
  readonly args: readonly unknown[];
}

const isWord = (v: unknown): v is Word => typeof v === 'number' || typeof v === 'bigint';
const isNumber = (v: unknown): v is number => typeof v === 'number';
const badArgs = (call: string): E.Either<SysError, never> => E.left(sysError('EINVAL', `malformed arguments to ${call}`));

/** Runs `request` as `p` and returns its result. */
export function serveSyscall(kernel: Kernel, p: Process, request: unknown): unknown {
  const req = request as Partial<SyscallRequest> | null;
  if (typeof req !== 'object' || req === null || typeof req.call !== 'string' || !Array.isArray(req.args)) {
    return E.left(sysError('EINVAL', 'a syscall request needs a call name and an argument list'));
  }
  const a = req.args;
  const [a0, a1, a2] = a;
  switch (req.call) {
    case 'shmget':
      return isNumber(a0) && isWord(a1) && isNumber(a2) ? p.shmget(a0, a1, a2) : badArgs(req.call);
    case 'shmat':
      return isNumber(a0) && isWord(a1) && isNumber(a2) ? p.shmat(a0, a1, a2) : badArgs(req.call);
    case 'shmdt':
      return isWord(a0) ? p.shmdt(a0) : badArgs(req.call);
    case 'shmctl':
      return isNumber(a0) && isNumber(a1) && (a2 === undefined || a2 === null || isSetArgs(a2)) ? p.shmctl(a0, a1, a2 ?? undefined) : badArgs(req.call);
    case 'munmap':
      return isWord(a0) && isWord(a1) ? p.munmap(a0, a1) : badArgs(req.call);
    case 'mprotect':
      return isWord(a0) && isWord(a1) && isNumber(a2) ? p.mprotect(a0, a1, a2) : badArgs(req.call);
    case 'exit':
      return p.exit();
    case 'tlbFill':
      if (!isNumber(a0) || !isNumber(a1) || typeof a2 !== 'boolean') return badArgs(req.call);
      if (p.exited) return E.left(sysError('ESRCH', `process ${p.pid} has exited`));
      return kernel.runAs(p, () => p.mm.translateForTlb(a0, a1, a2));
    default:
      return E.left(sysError('ENOSYS', `${req.call} is not a syscall a thread can make`));
  }
}

function isSetArgs(v: unknown): v is IpcSetArgs {
  const s = v as Partial<IpcSetArgs>;
  return typeof v === 'object' && v !== null && isNumber(s.uid) && isNumber(s.gid) && isNumber(s.mode);
}
