/**
 * File sealing as Linux's mm/memfd.c does it: F_ADD_SEALS and F_GET_SEALS
 * over the seals a tmpfs file keeps (RegularFile.seals). Where the seals
 * bite (write, truncate, fallocate, mmap) is in the tmpfs file and the VFS
 * mmap; here is only how they are read and added.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { F_ALL_SEALS, F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE } from '../abi/memfd.js';
import { RegularFile } from '../tmpfs/regular.js';
import type { OpenFile } from '../vfs/files.js';

/** How long F_SEAL_WRITE waits for accesses in flight, as memfd_wait_for_pins waits 5 + 10 + 20 + 40 ms for pinned pages before EBUSY. */
const PIN_WAIT_MS = 75;

/** F_GET_SEALS (memfd_get_seals): the seals, or EINVAL for a file that is not a tmpfs regular file. */
export function getSeals(file: OpenFile): E.Either<SysError, number> {
  const inode = file.inode;
  if (!(inode instanceof RegularFile)) return E.left(sysError('EINVAL', 'only a tmpfs regular file has seals'));
  return E.right(inode.seals);
}

/**
 * F_ADD_SEALS (memfd_add_seals), in Linux's order: EPERM unless the
 * description is open for writing; EINVAL for an unknown seal bit; EINVAL
 * for a file that is not a tmpfs regular file; EPERM once F_SEAL_SEAL is
 * set (every tmpfs file but a memfd made to allow sealing has it). F_SEAL_EXEC
 * on a file with an execute bit brings the write, shrink and grow seals
 * with it; then a new F_SEAL_WRITE is EBUSY while a shared mapping may
 * still be written through. A refused call adds nothing; adding a seal
 * already set changes nothing. `seals` is the unsigned int the kernel takes.
 */
export function addSeals(file: OpenFile, seals: number): E.Either<SysError, void> {
  if (!file.writable) return E.left(sysError('EPERM', 'seals can only be added through a descriptor open for writing'));
  const want = seals >>> 0;
  if ((want & ~F_ALL_SEALS) !== 0) return E.left(sysError('EINVAL', `seals ${want} has bits that name no seal`));
  const inode = file.inode;
  if (!(inode instanceof RegularFile)) return E.left(sysError('EINVAL', 'only a tmpfs regular file can be sealed'));
  if ((inode.seals & F_SEAL_SEAL) !== 0) return E.left(sysError('EPERM', 'the file is sealed against further sealing (F_SEAL_SEAL)'));
  // Linux 6.18 adds these before the writable-mapping check, so F_SEAL_EXEC alone can be EBUSY (checked on a real kernel).
  const add = (want & F_SEAL_EXEC) !== 0 && (inode.mode & 0o111) !== 0 ? want | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE : want;
  if ((add & F_SEAL_WRITE) !== 0 && (inode.seals & F_SEAL_WRITE) === 0 && inode.writableMappings > 0) {
    return E.left(sysError('EBUSY', `${inode.writableMappings} shared mapping pieces may still write the file`));
  }
  // memfd_wait_for_pins: a worker thread's store that began before the last writable piece went may still land.
  if ((add & F_SEAL_WRITE) !== 0 && (inode.seals & F_SEAL_WRITE) === 0 && !inode.sb.memoryFile.accessesEnded(PIN_WAIT_MS)) {
    return E.left(sysError('EBUSY', 'another thread still has an access in flight that may write the file'));
  }
  inode.seals |= add;
  return E.right(undefined);
}
