/**
 * futex(2)'s FUTEX_WAIT and FUTEX_WAKE for a process served on the kernel
 * thread (a worker thread uses its own translations, see task.ts). The
 * argument checks follow kernel/futex/core.c get_futex_key: an unaligned
 * address is EINVAL, one that is not mapped readable is EFAULT.
 */
import * as E from 'fp-ts/lib/Either.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import { futexWaitOn, futexWakeOn } from '../mm/futex.js';
import type { MemoryManager } from '../mm/memory_manager.js';

function word(mm: MemoryManager, addr: number): E.Either<SysError, { readonly words: Int32Array; readonly index: number }> {
  if (addr % 4 !== 0) return E.left(sysError('EINVAL', `futex address 0x${addr.toString(16)} is not 4-byte aligned`));
  const w = mm.futexWord(addr);
  return E.isLeft(w) ? E.left(sysError('EFAULT', `futex address 0x${addr.toString(16)} is not mapped readable`)) : w;
}

/** FUTEX_WAIT on `addr` in `mm`; see futexWaitOn. The address space lock is not held while sleeping. */
export function futexWait(mm: MemoryManager, addr: number, expected: number, timeoutMs: number | undefined): E.Either<SysError, 0> {
  const w = word(mm, addr);
  return E.isLeft(w) ? w : futexWaitOn(w.right.words, w.right.index, expected, timeoutMs);
}

/** FUTEX_WAKE on `addr` in `mm`: the number of waiters woken. */
export function futexWake(mm: MemoryManager, addr: number, count: number): E.Either<SysError, number> {
  const w = word(mm, addr);
  return E.isLeft(w) ? w : futexWakeOn(w.right.words, w.right.index, count);
}
