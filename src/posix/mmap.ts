/**
 * mmap(2) as x86-64 Linux's sys_mmap, ksys_mmap_pgoff and do_mmap take it:
 * shared and private mappings of tmpfs files (a memfd, a shm_open object,
 * any file), and anonymous memory, shared (MAP_SHARED|MAP_ANONYMOUS: an
 * unlinked file "/dev/zero" on the kernel's internal tmpfs, as
 * shmem_zero_setup makes one) or private (MAP_PRIVATE|MAP_ANONYMOUS: zeroed
 * pages of the process's own). A private file mapping reads the file until
 * a write copies the page (mm/anon.ts), and fork shares private pages
 * copy-on-write.
 *
 * The checks run in Linux's order: the offset's alignment; for a file, the
 * descriptor (EBADF) and MAP_HUGETLB (EINVAL); the length (EINVAL for 0,
 * ENOMEM past the address space); vm.max_map_count; the address
 * (MAP_FIXED's ENOMEM, EINVAL, EPERM; MAP_FIXED_NOREPLACE's EEXIST);
 * MAP_LOCKED (EPERM, EAGAIN); then the mapping type with the file's
 * rules: EOVERFLOW past the largest file, EOPNOTSUPP for a flag
 * MAP_SHARED_VALIDATE does not know, EACCES for a shared writable mapping
 * without write access or any file mapping without read access, EPERM for
 * PROT_EXEC on a noexec mount, ENODEV for a directory, EINVAL for
 * MAP_GROWSDOWN on a file or a type that is none of MAP_SHARED,
 * MAP_SHARED_VALIDATE (files only), MAP_PRIVATE and MAP_DROPPABLE
 * (anonymous only, and EINVAL with MAP_LOCKED or MAP_GROWSDOWN: private
 * memory that is never reserved, locked or copied to a fork's child, whose
 * pages the model never drops); last the seals (EPERM
 * for a shared writable mapping of a write-sealed file). For a mapping the
 * kernel places, the search for room (get_unmapped_area) comes before
 * MAP_LOCKED's checks and the type's: one that fits nowhere is ENOMEM first.
 */
import * as E from 'fp-ts/lib/Either.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE } from '../abi/constants.js';
import type { ErrnoName, SysError } from '../abi/errno.js';
import { ERRNO, sysError } from '../abi/errno.js';
import { MAP_PRIVATE, MAP_SHARED, O_RDWR } from '../abi/fs.js';
import { F_SEAL_FUTURE_WRITE, F_SEAL_WRITE } from '../abi/memfd.js';
import {
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  VALIDATED_MAP_FLAGS,
} from '../abi/mman.js';
import { AnonymousMemory } from '../mm/anon.js';
import { STACK_LIMIT } from '../mm/memory_manager.js';
import { noFreeRange } from '../mm/placement.js';
import type { Mappable, MappingIdentity } from '../mm/memmap.js';
import { MAX_LFS_FILESIZE } from '../tmpfs/offset.js';
import { RegularFile } from '../tmpfs/regular.js';
import { createUnlinkedFile } from '../tmpfs/unlinked.js';
import { OpenFile } from '../vfs/files.js';
import type { MemfdCaller } from './memfd.js';
import { hugePageSizeOf, internalMount } from './memfd.js';

const PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC;

/**
 * The kernel's own mmap_min_addr, which round_hint_to_min raises a hint to:
 * the larger of vm.mmap_min_addr and CONFIG_LSM_MMAP_MIN_ADDR (64 KiB on
 * common distribution kernels, the fuzzer's Linux 6.18 included, whose
 * vm.mmap_min_addr is 4096). A MAP_FIXED address is checked against the
 * sysctl alone (cap_mmap_addr), see placement.ts.
 */
const HINT_MIN_ADDR = Math.max(MMAP_MIN_ADDR, 65536);

/** What mmap needs beyond memfd_create's caller: the mlock rules MAP_LOCKED follows. */
export interface MmapCaller extends MemfdCaller {
  /** RLIMIT_MEMLOCK's soft limit in whole pages (may be Infinity), whether it is 0 bytes, and whether the caller has CAP_IPC_LOCK. */
  readonly memlockPages: number;
  readonly memlockZero: boolean;
  readonly capIpcLock: boolean;
  /** MAP_FIXED below vm.mmap_min_addr is allowed (CAP_SYS_RAWIO). */
  readonly capSysRawio: boolean;
  /** RAM plus swap in pages: the overcommit heuristic refuses one request for more (see commitRefused). */
  readonly commitLimitPages: bigint;
}

/** mmap's arguments, decoded: `addr` and `offset` are the unsigned longs C passes. */
export interface MmapArgs {
  readonly addr: bigint;
  readonly length: number;
  readonly prot: number;
  readonly flags: number;
  readonly fd: number;
  readonly offset: bigint;
}

function einval(why: string): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', why));
}

/**
 * A MAP_FIXED address in the last 4095 of the address space reads as an
 * error to __get_unmapped_area (IS_ERR_VALUE of what the arch's search
 * hands back, which for MAP_FIXED is the address itself), so mmap fails
 * with that errno: -1, what a C program passes after ignoring a failed
 * call, is EPERM. Numbers no SysError names are left to the address checks.
 */
function errorValue(addr: bigint): SysError | undefined {
  const code = (1n << 64n) - addr;
  if (code < 1n || code > 4095n) return undefined;
  const name = (Object.keys(ERRNO) as ErrnoName[]).find((n) => BigInt(ERRNO[n]) === code);
  return name === undefined ? undefined : sysError(name, `MAP_FIXED address ${addr} is the error value -${code} to __get_unmapped_area`);
}

/** The mapping the type and file checks settle on, built once they pass. */
interface Plan {
  readonly mappable: Mappable;
  readonly identity: MappingIdentity;
  readonly maxPerms: number;
  readonly writable: boolean;
  /** Runs once the mapping is in (a file's reference for a private layer); undoes nothing on failure. */
  readonly made?: () => void;
  /** Drops what planning took when the mapping is not made. */
  readonly abandon?: () => void;
  /** MAP_GROWSDOWN: the object offset of the mapping's start, the room it may grow down into. */
  readonly growRoom?: number;
  /** MAP_DROPPABLE: the new piece starts with VM_WIPEONFORK and VM_DONTDUMP, and the overcommit heuristic skips it (VM_NORESERVE). */
  readonly wipeOnFork?: true;
}

/** mmap(2); returns the address. */
export function mmap(c: MmapCaller, a: MmapArgs): E.Either<SysError, number> {
  if (a.offset % BigInt(PAGE_SIZE) !== 0n) return einval(`mmap offset ${a.offset} is not page aligned`);
  const anonymous = (a.flags & MAP_ANONYMOUS) !== 0;
  let file: OpenFile | undefined;
  // ksys_mmap_pgoff rounds a hugetlbfs file's mapping up to its huge page size.
  let huge = 0;
  if (!anonymous) {
    const got = c.files.get(a.fd);
    if (E.isLeft(got)) return got;
    file = got.right;
    huge = file.inode instanceof RegularFile ? file.inode.hugePageSize : 0;
    if ((a.flags & MAP_HUGETLB) !== 0 && huge === 0) return einval('MAP_HUGETLB needs a hugetlbfs file');
  } else if ((a.flags & MAP_HUGETLB) !== 0) {
    // ksys_mmap_pgoff: the huge page size the flags name (the default for none), EINVAL when the kernel has no such size.
    const size = hugePageSizeOf(c.hugePageSizes, (a.flags >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK);
    if (E.isLeft(size)) return einval(`MAP_HUGETLB names no huge page size of this kernel (flags 0x${(a.flags >>> 0).toString(16)})`);
    huge = size.right;
  }
  if (a.length === 0) return einval('mmap length is 0');
  const unit = huge === 0 ? PAGE_SIZE : huge;
  const len = Math.ceil(a.length / unit) * unit;
  if (len > TASK_SIZE) return E.left(sysError('ENOMEM', `mmap length ${a.length} exceeds the user address space`));
  const noReplace = (a.flags & MAP_FIXED_NOREPLACE) !== 0;
  const fixed = noReplace || (a.flags & MAP_FIXED) !== 0;
  const locked = (a.flags & MAP_LOCKED) !== 0;
  const prot = a.prot & PROT_RWX;
  const given = a.addr > BigInt(TASK_SIZE) ? TASK_SIZE + PAGE_SIZE : Number(a.addr);
  // round_hint_to_min: a hint (not MAP_FIXED) below the kernel's mmap_min_addr becomes it.
  const addr = fixed || given === 0 || given >= HINT_MIN_ADDR ? given : HINT_MIN_ADDR;
  if (c.mm.vmaCount > c.mm.vm.maxMapCount) return E.left(sysError('ENOMEM', `the process holds ${c.mm.vmaCount} mappings, more than vm.max_map_count`));
  // __get_unmapped_area's checks of a fixed address come before the type and the file's.
  if (fixed) {
    const asError = errorValue(a.addr);
    if (asError !== undefined) return E.left(asError);
    // prepare_hugepage_range: a fixed hugetlbfs mapping starts on a huge page.
    if (huge !== 0 && addr % huge !== 0) return einval(`mmap address ${a.addr} is not a multiple of the huge page size ${huge}`);
    const placed = c.mm.checkFixed(addr, len, !noReplace, c.capSysRawio);
    if (E.isLeft(placed)) return placed;
  }
  // do_mmap looks for room (get_unmapped_area) before it checks MAP_LOCKED, the mapping type and the
  // file: a mapping the kernel places that fits nowhere is ENOMEM whatever else is wrong with it. Only
  // a call failing those checks searches here; one that gets past them searches once, in mm.mmap.
  const placedFirst = (err: SysError): E.Either<SysError, never> => (fixed || c.mm.hasRoom(addr, len, unit) ? E.left(err) : noFreeRange(len));
  if (locked) {
    const refused = lockRefused(c, len);
    if (refused !== undefined) return placedFirst(refused);
  }
  // Anonymous MAP_HUGETLB maps a new unlinked hugetlbfs file of the rounded length (hugetlb_file_setup), as a file mapping.
  const hugeAnon = anonymous && huge !== 0 ? hugetlbAnonFile(c, len, huge) : undefined;
  if (hugeAnon !== undefined && E.isLeft(hugeAnon)) return hugeAnon;
  const anonFile = hugeAnon?.right;
  const planned =
    anonFile !== undefined
      ? planFile(c, anonFile, a.flags, prot, a.offset, len)
      : file === undefined
        ? planAnonymous(c, a.flags, len)
        : planFile(c, file, a.flags, prot, a.offset, len);
  // The setup's reference goes once the mapping holds its own, or is not made (vm_mmap_pgoff's fput).
  if (E.isLeft(planned)) {
    anonFile?.decRef();
    return placedFirst(planned.left);
  }
  const plan = withAnonFile(planned.right, anonFile);
  // MAP_DROPPABLE memory is VM_NORESERVE: the heuristic never sees it.
  const reserveFlags = plan.wipeOnFork === true ? a.flags | MAP_NORESERVE : a.flags;
  const refused = commitRefused(c, reserveFlags, prot, len, anonymous && huge === 0, huge !== 0);
  if (refused !== undefined) {
    plan.abandon?.();
    return E.left(refused);
  }
  const mapped = c.mm.mmap(c.mappingContext, {
    length: len,
    // Exact: a page-aligned offset below 2^64 is a double (see Vma.offset); anonymous memory starts at 0,
    // or past the room a MAP_GROWSDOWN mapping may grow into.
    offset: file === undefined && anonFile === undefined ? (plan.growRoom ?? 0) : Number(a.offset),
    ...(plan.growRoom !== undefined ? { growsDown: true } : {}),
    // MAP_DROPPABLE's piece is made with VM_WIPEONFORK and VM_DONTDUMP set.
    ...(plan.wipeOnFork === true ? { wipeOnFork: true, dontDump: true } : {}),
    addr,
    // hugetlb_get_unmapped_area: a hugetlbfs mapping the kernel places starts on a huge page.
    alignment: unit,
    fixed,
    replace: !noReplace,
    perms: prot,
    maxPerms: plan.maxPerms,
    mayMapBelowMinAddr: c.capSysRawio,
    mappable: plan.mappable,
    identity: plan.identity,
    writable: plan.writable,
  });
  if (E.isLeft(mapped)) {
    plan.abandon?.();
    return mapped;
  }
  plan.made?.();
  const start = mapped.right;
  // Errors of the population are ignored, as mm_populate's are.
  if (locked) c.mm.mlock(c.mappingContext, start, start + len, true);
  else if ((a.flags & MAP_POPULATE) !== 0) c.mm.populateRange(start, start + len);
  return mapped;
}

/**
 * The overcommit heuristic (vm.overcommit_memory 0, __vm_enough_memory):
 * one request for more pages than the machine has, RAM plus swap, is
 * ENOMEM. mmap asks it for a private writable mapping (accountable_mapping:
 * VM_WRITE without VM_SHARED or VM_NORESERVE; a hugetlbfs file has its own
 * accounting), and shmem asks it for the file behind a shared anonymous
 * mapping (shmem_acct_size); MAP_NORESERVE skips both. A MAP_FIXED mapping
 * is charged in full here, where Linux first takes back what the mappings
 * it replaces were charged.
 */
function commitRefused(c: MmapCaller, flags: number, prot: number, len: number, anonymous: boolean, hugetlb: boolean): SysError | undefined {
  if ((flags & MAP_NORESERVE) !== 0) return undefined;
  const accountable = (flags & MAP_TYPE) === MAP_PRIVATE ? (prot & PROT_WRITE) !== 0 && !hugetlb : anonymous;
  const pages = BigInt(len / PAGE_SIZE);
  if (!accountable || pages <= c.commitLimitPages) return undefined;
  return sysError('ENOMEM', `${pages} pages exceed the overcommit heuristic's ${c.commitLimitPages} (RAM and swap)`);
}

/** MAP_LOCKED's checks in do_mmap: can_do_mlock (EPERM), then mlock_future_ok (EAGAIN). */
function lockRefused(c: MmapCaller, len: number): SysError | undefined {
  if (c.memlockZero && !c.capIpcLock) return sysError('EPERM', 'MAP_LOCKED with RLIMIT_MEMLOCK 0 needs CAP_IPC_LOCK');
  if (!c.capIpcLock && c.mm.lockedPages() + len / PAGE_SIZE > c.memlockPages) {
    return sysError('EAGAIN', 'MAP_LOCKED would lock more than RLIMIT_MEMLOCK allows');
  }
  return undefined;
}

/**
 * A new unlinked file of `size` bytes on the kernel's internal mount, as
 * shmem_zero_setup and hugetlb_file_setup make the object behind shared
 * anonymous memory and anonymous MAP_HUGETLB, opened for reading and
 * writing (named `path` in traces); `hugePageSize` is 0 for a tmpfs file.
 * The caller drops the returned reference once the mapping holds its own.
 */
function internalFile(
  c: MmapCaller,
  owner: { readonly uid: number; readonly gid: number; readonly mode: number },
  size: number,
  hugePageSize: number,
  path: string,
): E.Either<SysError, { readonly file: OpenFile; readonly inode: RegularFile }> {
  const at = internalMount(c);
  if (E.isLeft(at)) return at;
  const { mount, fresh } = at.right;
  const made = createUnlinkedFile(mount.sb, owner);
  if (E.isLeft(made)) {
    if (fresh) mount.put();
    return made;
  }
  const inode = made.right;
  inode.hugePageSize = hugePageSize;
  inode.size = size;
  const file = new OpenFile({ mount, inode, path }, O_RDWR);
  // The new mount's own reference passes to the file.
  if (fresh) mount.put();
  return E.right({ file, inode });
}

/** hugetlb_file_setup for anonymous MAP_HUGETLB: `len` bytes (whole huge pages of `huge` bytes), the caller's. */
function hugetlbAnonFile(c: MmapCaller, len: number, huge: number): E.Either<SysError, OpenFile> {
  const made = internalFile(c, { uid: c.creds.uid, gid: c.creds.gid, mode: 0o600 }, len, huge, '/anon_hugepage');
  return E.isLeft(made) ? made : E.right(made.right.file);
}

/** `plan`, also dropping the hugetlb setup's reference to `anonFile` (if any) when the mapping is made or abandoned. */
function withAnonFile(plan: Plan, anonFile: OpenFile | undefined): Plan {
  if (anonFile === undefined) return plan;
  return {
    ...plan,
    made: () => {
      plan.made?.();
      anonFile.decRef();
    },
    abandon: () => {
      plan.abandon?.();
      anonFile.decRef();
    },
  };
}

/** do_mmap's anonymous branch: MAP_SHARED is a new shmem file ("/dev/zero"), MAP_PRIVATE zeroed private pages. */
function planAnonymous(c: MmapCaller, flags: number, len: number): E.Either<SysError, Plan> {
  switch (flags & MAP_TYPE) {
    case MAP_SHARED: {
      if ((flags & MAP_GROWSDOWN) !== 0) return einval('MAP_GROWSDOWN on a shared mapping');
      const made = internalFile(c, { uid: 0, gid: 0, mode: 0o777 }, len, 0, '/dev/zero');
      if (E.isLeft(made)) return made;
      const { file, inode } = made.right;
      // The mapping's reference is the only one: the construction's goes once the VMA holds its own.
      return E.right({
        mappable: inode,
        identity: file,
        maxPerms: PROT_RWX,
        writable: true,
        made: () => file.decRef(),
        abandon: () => file.decRef(),
      });
    }
    case MAP_DROPPABLE: {
      // Linux 6.11's droppable memory: never locked, never a stack, not hugetlb (which took the file path above).
      if ((flags & MAP_LOCKED) !== 0) return einval('MAP_DROPPABLE with MAP_LOCKED');
      if ((flags & MAP_GROWSDOWN) !== 0) return einval('MAP_DROPPABLE with MAP_GROWSDOWN');
      const mem = new AnonymousMemory(c.mm.memoryFile, len, '');
      mem.noReserve = true;
      mem.droppable = true;
      return E.right({ mappable: mem, identity: mem, maxPerms: PROT_RWX, writable: false, wipeOnFork: true });
    }
    case MAP_PRIVATE: {
      // MAP_GROWSDOWN (VM_GROWSDOWN): the object starts STACK_LIMIT below the mapping, room to grow into.
      const growRoom = (flags & MAP_GROWSDOWN) !== 0 ? STACK_LIMIT : undefined;
      const mem = new AnonymousMemory(c.mm.memoryFile, len + (growRoom ?? 0), '');
      mem.noReserve = (flags & MAP_NORESERVE) !== 0;
      return E.right({ mappable: mem, identity: mem, maxPerms: PROT_RWX, writable: false, ...(growRoom !== undefined ? { growRoom } : {}) });
    }
    default:
      return einval(`mmap flags ${flags} name no anonymous mapping type (MAP_SHARED, MAP_PRIVATE or MAP_DROPPABLE)`);
  }
}

/** do_mmap's file branch (file_mmap_ok, the type switch), then the seals of shmem's mmap. */
/**
 * hugetlbfs_file_mmap on a hugetlbfs file (a memfd made with MFD_HUGETLB):
 * EINVAL for an offset that is not a whole number of huge pages, then
 * ENOMEM, since the empty pool (vm.nr_hugepages 0) cannot reserve the
 * mapping's pages. With MAP_NORESERVE (VM_NORESERVE, which do_mmap always
 * honours for a hugetlbfs file) hugetlb_reserve_pages reserves nothing and
 * the mapping is made; every touch of it is then SIGBUS, as no huge page
 * can be allocated, and mincore shows no page.
 */
function hugetlbRefused(inode: RegularFile, offset: bigint, flags: number): SysError | undefined {
  const h = inode.hugePageSize;
  if (h === 0) return undefined;
  if (offset % BigInt(h) !== 0n) return sysError('EINVAL', `mmap offset ${offset} is not a multiple of the huge page size ${h}`);
  if ((flags & MAP_NORESERVE) !== 0) return undefined;
  return sysError('ENOMEM', 'no huge pages to reserve for a hugetlbfs mapping (vm.nr_hugepages is 0)');
}

function planFile(c: MmapCaller, file: OpenFile, flags: number, prot: number, offset: bigint, len: number): E.Either<SysError, Plan> {
  // file_mmap_size_max: MAX_LFS_FILESIZE for a regular file; anything else (a directory, which
  // fails later with ENODEV) may reach ULONG_MAX, so a type error comes first there.
  const max = file.inode instanceof RegularFile ? BigInt(MAX_LFS_FILESIZE) : (1n << 64n) - 1n;
  const bytes = BigInt(len);
  if (bytes > max || offset > max - bytes) return E.left(sysError('EOVERFLOW', `mmap of ${len} bytes at offset ${offset} reaches past the largest file size`));
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE && type !== MAP_PRIVATE) return einval(`mmap flags ${flags} name no mapping type`);
  const shared = type !== MAP_PRIVATE;
  if (type === MAP_SHARED_VALIDATE && (flags & ~VALIDATED_MAP_FLAGS) !== 0) {
    return E.left(sysError('EOPNOTSUPP', `MAP_SHARED_VALIDATE with flags 0x${(flags >>> 0).toString(16)} this file does not support`));
  }
  if (shared && (prot & PROT_WRITE) !== 0 && !file.writable)
    return E.left(sysError('EACCES', 'PROT_WRITE on a shared mapping needs a descriptor open for writing'));
  if (!file.readable) return E.left(sysError('EACCES', 'a file mapping needs a descriptor open for reading'));
  const noexec = file.location.mount.flags.noexec;
  if ((prot & PROT_EXEC) !== 0 && noexec) return E.left(sysError('EPERM', 'PROT_EXEC on a noexec mount'));
  const inode = file.inode;
  if (!(inode instanceof RegularFile)) return E.left(sysError('ENODEV', 'the descriptor names a file that cannot be mapped'));
  if ((flags & MAP_GROWSDOWN) !== 0) return einval('MAP_GROWSDOWN on a file mapping');
  const exec = noexec ? 0 : PROT_EXEC;
  if (!shared) {
    const huge = hugetlbRefused(inode, offset, flags);
    if (huge !== undefined) return E.left(huge);
    // VM_MAYWRITE stays for a private mapping whatever the descriptor: writes go to private copies.
    const mem = new AnonymousMemory(c.mm.memoryFile, Number(offset + bytes), '', { mappable: inode, identity: file });
    mem.noReserve = (flags & MAP_NORESERVE) !== 0;
    return E.right({ mappable: mem, identity: mem, maxPerms: PROT_READ | PROT_WRITE | exec, writable: false, made: () => file.incRef() });
  }
  // memfd_check_seals_mmap: under a write seal a shared mapping may not be
  // writable, and one made read-only loses VM_MAYWRITE, so it neither
  // counts as writable nor can mprotect make it so (EACCES).
  const writeSealed = (inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0;
  if (writeSealed && (prot & PROT_WRITE) !== 0) return E.left(sysError('EPERM', 'the file is sealed against writes; a writable shared mapping is refused'));
  const huge = hugetlbRefused(inode, offset, flags);
  if (huge !== undefined) return E.left(huge);
  const mayWrite = file.writable && !writeSealed;
  return E.right({ mappable: inode, identity: file, maxPerms: PROT_READ | (mayWrite ? PROT_WRITE : 0) | exec, writable: mayWrite });
}
