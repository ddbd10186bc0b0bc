/**
 * futex(2)'s FUTEX_WAIT and FUTEX_WAKE for a process served on the kernel
 * thread (a worker thread uses its own translations, see task.ts; both meet
 * in the MemoryFile's FutexQueue). The caller has decoded the address
 * (syscall_args.ts: outside the address space is EFAULT, unaligned is
 * EINVAL); here a word that is not mapped readable is EFAULT, as
 * kernel/futex/core.c get_futex_key finds it, and so is a word of private
 * memory in a mapping the process may not write. The key is the one a
 * worker thread of the process computes for the same word
 * (MemoryManager.futexWord, TlbCache.futexKey).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { KERNEL_THREAD_SLOT } from '../mm/futex.js';
import type { FutexKey } from '../mm/futex.js';
import type { MemoryManager } from '../mm/memory_manager.js';
import { unmappedFutex } from './syscall_args.js';

function key(mm: MemoryManager, addr: number): E.Either<SysError, FutexKey> {
  const k = mm.futexWord(addr);
  return E.isLeft(k) ? unmappedFutex(addr) : k;
}

/**
 * FUTEX_WAIT on the aligned user address `addr` in `mm`, by the kernel
 * thread; see FutexQueue.wait. The address space lock is not held while
 * sleeping.
 */
export function futexWait(mm: MemoryManager, addr: number, expected: number, timeoutMs: number | undefined): E.Either<SysError, 0> {
  const k = key(mm, addr);
  return E.isLeft(k) ? k : mm.memoryFile.futexQueue.wait(KERNEL_THREAD_SLOT, k.right, expected, timeoutMs);
}

/** FUTEX_WAKE on the aligned user address `addr` in `mm`: the number of waiters woken. */
export function futexWake(mm: MemoryManager, addr: number, count: number): E.Either<SysError, number> {
  const k = key(mm, addr);
  return E.isLeft(k) ? k : mm.memoryFile.futexQueue.wake(k.right, count);
}
