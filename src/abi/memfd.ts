/**
 * Linux constants for memfd_create(2), file sealing and the fcntl(2)
 * commands around them on x86-64 (uapi linux/memfd.h, linux/fcntl.h,
 * asm-generic/fcntl.h).
 */

// memfd_create(2) flags.
export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const MFD_HUGETLB = 0x4;
/** Since Linux 6.3: the file starts non-executable and sealed against becoming executable. */
export const MFD_NOEXEC_SEAL = 0x8;
/** Since Linux 6.3: the file starts executable (mode 0777). */
export const MFD_EXEC = 0x10;
/** Every flag bit memfd_create knows, the huge page size bits aside. */
export const MFD_ALL_FLAGS = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
/** The huge page size (log2) sits in bits 26..31 of the flags, next to MFD_HUGETLB. */
export const MFD_HUGE_SHIFT = 26;
export const MFD_HUGE_MASK = 0x3f;
/** The x86-64 huge page sizes by name (uapi linux/hugetlb_encode.h): 2 MiB and 1 GiB. */
export const MFD_HUGE_2MB = 21 << MFD_HUGE_SHIFT;
export const MFD_HUGE_1GB = 30 << MFD_HUGE_SHIFT;
/** The huge page sizes of x86-64, the default first: 2 MiB, and 1 GiB on a CPU with pdpe1gb. */
export const DEFAULT_HUGE_PAGE_SIZES: readonly number[] = Object.freeze([2 * 1024 * 1024, 1024 * 1024 * 1024]);
/** Whether `n` can be a huge page size: a power of two above the 4 KiB page, and a safe integer (at most 2^52). */
export function isHugePageSize(n: number): boolean {
  return Number.isSafeInteger(n) && n > 4096 && 2 ** Math.round(Math.log2(n)) === n;
}
/** The longest memfd name: NAME_MAX less the "memfd:" prefix the kernel puts before it. */
export const MFD_NAME_MAX = 249;

// Seals (F_ADD_SEALS / F_GET_SEALS).
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const F_SEAL_FUTURE_WRITE = 0x10;
export const F_SEAL_EXEC = 0x20;
/** Every seal there is (F_ALL_SEALS). */
export const F_ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

// fcntl(2) commands.
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
/** The descriptor flag F_GETFD and F_SETFD read and write. */
export const FD_CLOEXEC = 1;

// open(2) flags that shm_open and memfd use (octal, asm-generic/fcntl.h on x86-64).
export const O_LARGEFILE = 0o100000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;

/** vm.memfd_noexec: 0 lets memfd_create's flags decide, 1 makes MFD_NOEXEC_SEAL the default, 2 refuses executable memfds. */
export const MEMFD_NOEXEC_SCOPE_EXEC = 0;
export const MEMFD_NOEXEC_SCOPE_NOEXEC_SEAL = 1;
export const MEMFD_NOEXEC_SCOPE_NOEXEC_ENFORCED = 2;
