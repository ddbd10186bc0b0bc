/**
 * futex(2)'s FUTEX_WAIT and FUTEX_WAKE for a process served on the kernel
 * thread (a worker thread uses its own translations, see task.ts; both meet
 * in the MemoryFile's FutexQueue). The argument checks follow
 * kernel/futex/core.c get_futex_key: an unaligned address is EINVAL, one
 * that is not mapped readable is EFAULT.
 */
import * as E from 'fp-ts/lib/Either.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import { KERNEL_THREAD_SLOT } from '../mm/futex.js';
import type { FutexKey } from '../mm/futex.js';
import type { MemoryManager } from '../mm/memory_manager.js';

function key(mm: MemoryManager, addr: number): E.Either<SysError, FutexKey> {
  if (addr % 4 !== 0) return E.left(sysError('EINVAL', `futex address 0x${addr.toString(16)} is not 4-byte aligned`));
  const k = mm.futexWord(addr);
  return E.isLeft(k) ? E.left(sysError('EFAULT', `futex address 0x${addr.toString(16)} is not mapped readable`)) : k;
}

/** FUTEX_WAIT on `addr` in `mm`, by the kernel thread; see FutexQueue.wait. The address space lock is not held while sleeping. */
export function futexWait(mm: MemoryManager, addr: number, expected: number, timeoutMs: number | undefined): E.Either<SysError, 0> {
  const k = key(mm, addr);
  return E.isLeft(k) ? k : mm.memoryFile.futexQueue.wait(KERNEL_THREAD_SLOT, k.right, expected, timeoutMs);
}

/** FUTEX_WAKE on `addr` in `mm`: the number of waiters woken. */
export function futexWake(mm: MemoryManager, addr: number, count: number): E.Either<SysError, number> {
  const k = key(mm, addr);
  return E.isLeft(k) ? k : mm.memoryFile.futexQueue.wake(k.right, count);
}
