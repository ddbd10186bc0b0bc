/**
 * memfd_create(2) as Linux's mm/memfd.c does it: an anonymous tmpfs file,
 * named only for show ("memfd:<name>"), open for reading and writing, that
 * may start open to sealing.
 *
 * The files sit on an internal tmpfs mount per kernel, which no mount
 * namespace lists (Linux's shm_mnt). Nothing holds that mount but the open
 * descriptions of its files: when the last memfd goes, so do the mount and
 * its tmpfs, and the next memfd_create makes a new one. Pages are charged,
 * as on any tmpfs, to the memory cgroup of whoever writes or faults them.
 * A memfd made with MFD_HUGETLB is a hugetlbfs file in Linux; here it sits
 * on the same internal tmpfs, marked with its huge page size
 * (RegularFile.hugePageSize), which gives it hugetlbfs's answers.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { O_RDWR } from '../abi/fs.js';
import {
  F_SEAL_EXEC,
  F_SEAL_SEAL,
  MEMFD_NOEXEC_SCOPE_NOEXEC_ENFORCED,
  MEMFD_NOEXEC_SCOPE_NOEXEC_SEAL,
  MFD_ALLOW_SEALING,
  MFD_ALL_FLAGS,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_HUGE_MASK,
  MFD_HUGE_SHIFT,
  MFD_NAME_MAX,
  MFD_NOEXEC_SEAL,
} from '../abi/memfd.js';
import type { Tmpfs } from '../tmpfs/superblock.js';
import { createUnlinkedFile } from '../tmpfs/unlinked.js';
import type { RegularFile } from '../tmpfs/regular.js';
import type { FileCaller } from '../vfs/files.js';
import { OpenFile } from '../vfs/files.js';
import { Mount, utf8Length } from '../vfs/mounts.js';

/** What memfd_create needs beyond the file calls' caller. */
export interface MemfdCaller extends FileCaller {
  /** A new tmpfs of the caller's kernel (no size or inode limit), for the internal mount. */
  newInternalTmpfs(): E.Either<SysError, Tmpfs>;
  /** The key the kernel's internal mount is kept under (the kernel itself). */
  readonly internalMountKey: object;
  /** vm.memfd_noexec of the caller's pid namespace: 0, 1 or 2. */
  readonly memfdNoexecScope: number;
  /** The kernel's huge page sizes, default first (KernelOptions.hugePageSizes). */
  readonly hugePageSizes: readonly number[];
}

/** The internal mount per kernel, while some memfd keeps it alive. */
const internalMounts = new WeakMap<object, Mount>();

/**
 * The flags as sanitize_flags and check_sysctl_memfd_noexec leave them:
 * EINVAL for an unknown bit (huge page size bits only with MFD_HUGETLB) or
 * for MFD_EXEC with MFD_NOEXEC_SEAL; with neither, vm.memfd_noexec picks
 * one; EACCES for an executable memfd when the sysctl enforces noexec.
 */
function sanitizeFlags(flags: number, scope: number): E.Either<SysError, number> {
  let f = flags >>> 0;
  const allowed = (f & MFD_HUGETLB) !== 0 ? (MFD_ALL_FLAGS | (MFD_HUGE_MASK << MFD_HUGE_SHIFT)) >>> 0 : MFD_ALL_FLAGS;
  if ((f & ~allowed) >>> 0 !== 0) return E.left(sysError('EINVAL', `memfd_create flags ${f} have unknown bits`));
  if ((f & MFD_EXEC) !== 0 && (f & MFD_NOEXEC_SEAL) !== 0) return E.left(sysError('EINVAL', 'MFD_EXEC and MFD_NOEXEC_SEAL exclude each other'));
  if ((f & (MFD_EXEC | MFD_NOEXEC_SEAL)) === 0) f |= scope >= MEMFD_NOEXEC_SCOPE_NOEXEC_SEAL ? MFD_NOEXEC_SEAL : MFD_EXEC;
  if ((f & MFD_NOEXEC_SEAL) === 0 && scope >= MEMFD_NOEXEC_SCOPE_NOEXEC_ENFORCED) {
    return E.left(sysError('EACCES', 'vm.memfd_noexec = 2 refuses executable memfds'));
  }
  return E.right(f);
}

/**
 * hugetlb_file_setup's hstate: the size 2^log2, or the default (first)
 * size for 0; ENODEV when the kernel has no such huge page size.
 */
export function hugePageSizeOf(sizes: readonly number[], log2: number): E.Either<SysError, number> {
  const size = log2 === 0 ? sizes[0] : sizes.find((s) => s === 2 ** log2);
  return size === undefined ? E.left(sysError('ENODEV', `no huge page size of 2^${log2} bytes`)) : E.right(size);
}

/**
 * The kernel's internal mount (Linux's shm_mnt), made anew when the last
 * one went with its last file; memfds and shared anonymous mappings live
 * there. `fresh` says the mount is new: its own reference passes to the
 * first file's description, or is put back when no file is made.
 */
export function internalMount(c: MemfdCaller): E.Either<SysError, { mount: Mount; fresh: boolean }> {
  const known = internalMounts.get(c.internalMountKey);
  if (known !== undefined && known.refCount > 0) return E.right({ mount: known, fresh: false });
  const sb = c.newInternalTmpfs();
  if (E.isLeft(sb)) return sb;
  const mount = new Mount(sb.right, sb.right.root, {});
  internalMounts.set(c.internalMountKey, mount);
  return E.right({ mount, fresh: true });
}

/**
 * memfd_create(name, flags), in Linux's order: the flags (EINVAL, EACCES),
 * the name (EINVAL past 249 bytes; it ends at its first NUL, as the C
 * string does), EMFILE, then the file. With MFD_HUGETLB it is a hugetlbfs
 * file of the huge page size the flags name (the default one for none):
 * ENODEV for a size the kernel lacks. The file has
 * mode 0777 (0666 with MFD_NOEXEC_SEAL, which also seals it with
 * F_SEAL_EXEC), the caller's uid and gid, and F_SEAL_SEAL unless
 * MFD_ALLOW_SEALING or MFD_NOEXEC_SEAL lifts it. Returns the descriptor,
 * with FD_CLOEXEC under MFD_CLOEXEC.
 */
export function memfdCreate(c: MemfdCaller, name: string, flags: number): E.Either<SysError, number> {
  const sane = sanitizeFlags(flags, c.memfdNoexecScope);
  if (E.isLeft(sane)) return sane;
  const f = sane.right;
  const nul = name.indexOf('\0');
  const shown = nul < 0 ? name : name.slice(0, nul);
  if (utf8Length(shown) > MFD_NAME_MAX) return E.left(sysError('EINVAL', `the name is longer than ${MFD_NAME_MAX} bytes`));
  const room = c.files.checkRoom();
  if (E.isLeft(room)) return room;
  let hugePageSize = 0;
  if ((f & MFD_HUGETLB) !== 0) {
    const size = hugePageSizeOf(c.hugePageSizes, (f >>> MFD_HUGE_SHIFT) & MFD_HUGE_MASK);
    if (E.isLeft(size)) return size;
    hugePageSize = size.right;
  }
  const at = internalMount(c);
  if (E.isLeft(at)) return at;
  const { mount, fresh } = at.right;
  const noexec = (f & MFD_NOEXEC_SEAL) !== 0;
  const made = createUnlinkedFile(mount.sb, { uid: c.creds.uid, gid: c.creds.gid, mode: noexec ? 0o666 : 0o777 });
  if (E.isLeft(made)) {
    if (fresh) mount.put();
    return made;
  }
  const inode: RegularFile = made.right;
  inode.hugePageSize = hugePageSize;
  if (noexec) inode.seals = (inode.seals & ~F_SEAL_SEAL) | F_SEAL_EXEC;
  else if ((f & MFD_ALLOW_SEALING) !== 0) inode.seals &= ~F_SEAL_SEAL;
  const file = new OpenFile({ mount, inode, path: `/memfd:${shown}` }, O_RDWR);
  // The new mount's own reference passes to the file: nothing else holds an internal mount.
  if (fresh) mount.put();
  return E.right(c.files.install(file, (f & MFD_CLOEXEC) !== 0));
}
