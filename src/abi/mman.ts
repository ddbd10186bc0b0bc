/**
 * The memory-management flags of x86-64 Linux that anonymous and private
 * mappings, msync, mlock, madvise and lseek take (uapi asm-generic/mman*.h,
 * linux/fs.h).
 */

// mmap(2) flags beyond MAP_SHARED and MAP_PRIVATE (abi/fs.ts).
/** MAP_SHARED | MAP_PRIVATE: a shared mapping whose unknown flags are EOPNOTSUPP instead of ignored. */
export const MAP_SHARED_VALIDATE = 0x03;
/** The mapping type bits: MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE or MAP_DROPPABLE. */
export const MAP_TYPE = 0x0f;
/**
 * Private anonymous memory the kernel may drop under memory pressure (Linux
 * 6.11): VM_DROPPABLE, with VM_NORESERVE, VM_WIPEONFORK and VM_DONTDUMP.
 */
export const MAP_DROPPABLE = 0x08;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
/** With MAP_HUGETLB: the huge page size's log2 in bits 26-31 (0 for the default size). */
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_MASK = 0x3f;
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
export const MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
/**
 * The flags MAP_SHARED_VALIDATE accepts on a tmpfs file (LEGACY_MAP_MASK
 * with the type bits, MAP_32BIT, the huge page size bits; no MAP_SYNC and
 * no MAP_FIXED_NOREPLACE); any other bit is EOPNOTSUPP. Measured bit by bit
 * on Linux 6.18.
 */
export const VALIDATED_MAP_FLAGS = 0x7c07f9ff;

// msync(2) flags.
export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

// mlock2(2) flags.
export const MLOCK_ONFAULT = 1;

// madvise(2) advice.
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_DONTNEED_LOCKED = 24;
/** Linux 6.13: makes each page of the range a guard page, whose every access is SIGSEGV (zapping what was there). */
export const MADV_GUARD_INSTALL = 102;
/** Linux 6.13: removes the guard pages of the range, leaving the rest of its pages as they are. */
export const MADV_GUARD_REMOVE = 103;

// lseek(2) whence.
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
