/**
 * shmget, shmat, shmdt and shmctl for one calling process (ipc/shm.c;
 * gVisor syscalls/linux/sys_shm.go). Each returns Either<SysError, T>; the
 * checks run in the order Linux runs them, because programs and tests can
 * observe which errno wins.
 *
 * A Shm returned by a registry lookup carries a reference; every path here
 * drops it before returning, with no lock held.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  IPC_INFO,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  PAGE_SIZE,
  PAGE_SIZE_N,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SHMLBA_N,
  SHM_EXEC,
  SHM_INFO,
  SHM_LOCK,
  SHM_RDONLY,
  SHM_REMAP,
  SHM_RND,
  SHM_STAT,
  SHM_STAT_ANY,
  SHM_UNLOCK,
  S_IRUGO,
  S_IWUGO,
  S_IXUGO,
  TASK_SIZE,
  TASK_SIZE_N,
  U64_MAX,
} from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { ShmidDs, ShmInfoLimits, ShmInfoUsage } from '../abi/shm.js';
import type { MappingContext } from '../mm/memmap.js';
import type { MemoryManager, MmapOptions } from '../mm/memory_manager.js';
import { isPageAligned } from '../mm/placement.js';
import type { Credentials } from '../auth/credentials.js';
import { hasCapability } from '../auth/credentials.js';
import { ipcPermits, isOwnerOrCreator } from '../ipc/perm.js';
import type { LockedMemory } from '../auth/ucounts.js';
import type { IpcSetArgs } from '../ipc/perm.js';
import type { Registry, U64Arg } from './registry.js';
import type { Shm } from './shm.js';

export type { IpcSetArgs } from '../ipc/perm.js';
export type { U64Arg } from './registry.js';

/** The calling process, as the shm syscalls see it. */
export interface ShmCaller {
  readonly creds: Credentials;
  /** The caller's thread-group id, recorded in cpid/lpid. */
  readonly pid: number;
  /** Identifies the caller as a segment's creator (Linux shm_creator) until it exits. */
  readonly creatorToken: object;
  readonly mm: MemoryManager;
  /** The shm registry of the caller's current IPC namespace. */
  readonly registry: Registry;
  readonly lockedMemory: LockedMemory;
  readonly mappingContext: MappingContext;
}

/** What shmctl returns: the return value, plus the structure the command copies out. */
export interface ShmctlResult {
  /** 0, an id (SHM_STAT, SHM_STAT_ANY) or the highest index in use (IPC_INFO, SHM_INFO). */
  readonly ret: number;
  readonly ds?: ShmidDs;
  readonly info?: ShmInfoLimits;
  readonly shmInfo?: ShmInfoUsage;
}

/**
 * The answer of every shmctl that only returns 0 (IPC_RMID, IPC_SET,
 * SHM_LOCK, SHM_UNLOCK): frozen, so one object serves every call.
 */
const DONE: E.Either<SysError, ShmctlResult> = Object.freeze(E.right(Object.freeze({ ret: 0 })));
/** shmdt's answer, shared like DONE. */
const DETACHED: E.Either<SysError, number> = Object.freeze(E.right(0));
/** IPC_SET's arguments when the call gave none. */
const NO_SET: IpcSetArgs = Object.freeze({ uid: 0, gid: 0, mode: 0 });

/** shmget(2). `key` is a key_t (signed 32-bit); `size` a size_t. */
export function shmget(caller: ShmCaller, key: number, size: U64Arg, flags: number): E.Either<SysError, number> {
  return caller.registry.shmget(caller, key | 0, size, flags | 0);
}

/**
 * shmat(2) (ipc/shm.c do_shmat). Address and flag errors come before the id
 * lookup; then permission; then, for a fixed address without SHM_REMAP, wrap
 * and overlap (EINVAL); then the mapping itself (ENOMEM above the address
 * space, EPERM below vm.mmap_min_addr). Returns the attach address.
 */
export function shmat(caller: ShmCaller, shmid: number, shmaddr: U64Arg, shmflg: number): E.Either<SysError, number> {
  // The common call lets the kernel choose (address 0, no SHM_REMAP), which
  // has no address check left: it goes straight to the lookup, and this
  // function stays small enough for the engine to inline into its caller.
  if (shmaddr === 0 && (shmflg & SHM_REMAP) === 0 && Number.isInteger(shmid) && shmid >= 0) {
    return attachById(caller, shmid, false, 0n, shmflg);
  }
  return shmatChecked(caller, shmid, shmaddr, shmflg);
}

/** shmat's id and address checks, for every call but the common one; then attachById. */
function shmatChecked(caller: ShmCaller, shmid: number, shmaddr: U64Arg, shmflg: number): E.Either<SysError, number> {
  if (!Number.isInteger(shmid) || shmid < 0) return E.left(sysError('EINVAL', `shmid ${shmid} is negative`));
  const fixed = shmaddr !== 0 && shmaddr !== 0n;
  let addr = fixed ? BigInt.asUintN(64, BigInt(shmaddr)) : 0n;
  const lba = SHMLBA_N;
  if (fixed) {
    if (addr % lba !== 0n) {
      if ((shmflg & SHM_RND) === 0) return E.left(sysError('EINVAL', `address 0x${addr.toString(16)} is not SHMLBA-aligned and SHM_RND is not set`));
      addr -= addr % lba;
      if (addr === 0n && (shmflg & SHM_REMAP) !== 0) return E.left(sysError('EINVAL', 'SHM_RND rounded the address to 0, and SHM_REMAP needs an address'));
    }
  } else if ((shmflg & SHM_REMAP) !== 0) {
    return E.left(sysError('EINVAL', 'SHM_REMAP needs a non-null address'));
  }
  return attachById(caller, shmid, fixed, addr, shmflg);
}

/** shmat once the address is checked (`addr` is SHMLBA-rounded when `fixed`): the lookup, permission and mapping. */
function attachById(caller: ShmCaller, shmid: number, fixed: boolean, addr: bigint, shmflg: number): E.Either<SysError, number> {
  const readonly = (shmflg & SHM_RDONLY) !== 0;
  const exec = (shmflg & SHM_EXEC) !== 0;
  const prot = PROT_READ | (readonly ? 0 : PROT_WRITE) | (exec ? PROT_EXEC : 0);
  const access = S_IRUGO | (readonly ? 0 : S_IWUGO) | (exec ? S_IXUGO : 0);
  const maxPerms = PROT_READ | PROT_EXEC | (readonly ? 0 : PROT_WRITE);
  // Errors are out of line: this runs on every shmat, and what it inlines
  // counts against the engine's budget (calls it never made do not count).
  // The injected clock is read before the lookup takes its reference.
  const at = caller.mm.stampOf(caller.mappingContext);
  const s = caller.registry.findById(shmid);
  if (s === undefined) return noSegment(shmid);
  // do_shmat runs ipcperms under RCU only, without the object lock: a
  // concurrent IPC_SET may or may not be seen. One kernel thread runs every
  // syscall here, so the unlocked read sees the latest mode.
  if (!ipcPermits(caller.creds, s.perm, access)) return attachRefused(s);
  const result = fixed || s.hugetlb ? attachByMmap(caller, s, fixed, addr, shmflg, prot, maxPerms) : caller.mm.attachShm(at, s, prot, maxPerms);
  if (E.isLeft(result)) attachFailed(caller.registry, s);
  s.decRef();
  return result;
}

/** shmat through mmap (a fixed address, or a hugetlb segment), dropping the lookup reference if the clock throws. */
function attachByMmap(caller: ShmCaller, s: Shm, fixed: boolean, addr: bigint, shmflg: number, prot: number, maxPerms: number): E.Either<SysError, number> {
  try {
    return fixed
      ? attachFixed(caller, s, addr, shmflg, prot, maxPerms)
      : caller.mm.mmap(caller.mappingContext, attachOptions(caller, s, false, 0, prot, maxPerms));
  } catch (e) {
    s.decRef();
    throw e;
  }
}

/** The EINVAL of an id that names no segment. */
function noSegment(shmid: number): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `no segment has id ${shmid}`));
}

/** shmat's EACCES, dropping the lookup reference. */
function attachRefused(s: Shm): E.Either<SysError, never> {
  s.decRef();
  return E.left(sysError('EACCES', `mode 0${(s.perm.mode & 0o777).toString(8)} does not allow this attach`));
}

/**
 * do_shmat's cleanup after a failed mapping drops its temporary attach
 * count: with shm_rmid_forced an unattached segment dies here.
 */
function attachFailed(reg: Registry, s: Shm): void {
  if (s.mu.with(() => s.mayDestroyLocked())) reg.markDestroyed(s);
}

/** An attach at a fixed (SHMLBA-rounded) address. */
function attachFixed(caller: ShmCaller, s: Shm, addr: bigint, shmflg: number, prot: number, maxPerms: number): E.Either<SysError, number> {
  // do_shmat tests the rounded address: SHM_RND down to 0 skips the wrap and
  // overlap checks, and the fixed mapping at 0 replaces whatever is there.
  if (addr !== 0n && (shmflg & SHM_REMAP) === 0) {
    // Linux checks wrap and overlap against the shm file's size: segsz, or the
    // huge-page-aligned size of a hugetlb segment.
    const size = s.hugetlb ? BigInt(s.effectiveBytes()) : s.segsz;
    if (addr + size > U64_MAX) return E.left(sysError('EINVAL', 'the attach range wraps past the end of the address space'));
    if (addr < TASK_SIZE_N && caller.mm.intersects(Number(addr), Number(addr + size > TASK_SIZE_N ? TASK_SIZE_N : addr + size))) {
      return E.left(sysError('EINVAL', `0x${addr.toString(16)} overlaps an existing mapping and SHM_REMAP is not set`));
    }
  }
  return caller.mm.mmap(caller.mappingContext, attachOptions(caller, s, true, Number(addr), prot, maxPerms));
}

/**
 * shmat's mmap at a fixed address, or of a hugetlb segment (the common call
 * is MemoryManager.attachShm); the rest of its checks (length, huge-page
 * alignment, range, mmap_min_addr) are do_mmap's, in mm.
 */
function attachOptions(caller: ShmCaller, s: Shm, fixed: boolean, addr: number, prot: number, maxPerms: number): MmapOptions {
  return {
    length: s.effectiveBytes(),
    offset: 0,
    addr,
    fixed,
    replace: fixed,
    perms: prot,
    maxPerms,
    mappable: s,
    identity: s,
    writable: (maxPerms & PROT_WRITE) !== 0,
    // Only a fixed address is checked against vm.mmap_min_addr.
    mayMapBelowMinAddr: fixed && hasCapability(caller.creds, 'CAP_SYS_RAWIO'),
    alignment: s.hugetlb ? s.hugePageBytes : PAGE_SIZE,
  };
}

/** shmdt(2): detaches the attachment whose origin is `shmaddr` (see MemoryManager.detachShm). */
export function shmdt(caller: ShmCaller, shmaddr: U64Arg): E.Either<SysError, number> {
  // A number (below 2^53) is the common case; a bigint and every error are out of line.
  const addr = typeof shmaddr === 'number' && isPageAligned(shmaddr) && shmaddr < TASK_SIZE ? shmaddr : detachAddress(shmaddr);
  if (typeof addr !== 'number') return addr;
  const detached = caller.mm.detachShm(caller.mappingContext, addr);
  return E.isLeft(detached) ? detached : DETACHED;
}

/** shmdt's checks of a bigint address, or of one no attachment can start at: the address as a number, or EINVAL. */
function detachAddress(shmaddr: U64Arg): number | E.Either<SysError, never> {
  const addr = typeof shmaddr === 'number' ? shmaddr : BigInt.asUintN(64, shmaddr);
  // `>=` below compares a bigint with a number exactly.
  if (typeof addr === 'number' ? !isPageAligned(addr) : addr % PAGE_SIZE_N !== 0n) {
    return E.left(sysError('EINVAL', `address 0x${addr.toString(16)} is not page aligned`));
  }
  if (addr >= TASK_SIZE) return E.left(sysError('EINVAL', `no attachment starts at 0x${addr.toString(16)}`));
  return Number(addr);
}

/**
 * shmctl(2) (ipc/shm.c ksys_shmctl). A negative id or command is EINVAL for
 * every command, then each command runs its own checks. `set` is IPC_SET's
 * buffer (zeros when absent, as a zeroed struct would be).
 */
export function shmctl(caller: ShmCaller, shmid: number, cmd: number, set?: IpcSetArgs): E.Either<SysError, ShmctlResult> {
  if (!Number.isInteger(cmd) || !Number.isInteger(shmid) || cmd < 0 || shmid < 0) {
    return E.left(sysError('EINVAL', 'shmctl needs a non-negative id and command'));
  }
  const reg = caller.registry;
  switch (cmd) {
    case IPC_INFO: {
      const { info, maxIndex } = reg.ipcInfo();
      return E.right({ ret: maxIndex, info });
    }
    case SHM_INFO: {
      const { usage, maxIndex } = reg.shmInfo();
      return E.right({ ret: maxIndex, shmInfo: usage });
    }
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY:
      return stat(caller, shmid, cmd);
    case IPC_RMID:
    case IPC_SET: {
      const done = reg.ctlDown(caller.creds, shmid, cmd === IPC_SET ? (set ?? NO_SET) : undefined);
      return E.isLeft(done) ? done : DONE;
    }
    case SHM_LOCK:
    case SHM_UNLOCK:
      return lock(caller, shmid, cmd);
    default:
      return E.left(sysError('EINVAL', `unknown shmctl command ${cmd}`));
  }
}

/** Runs `fn` on the segment `shmid` names, dropping the lookup reference afterwards. */
function withSegment<T>(s: Shm | undefined, shmid: number, fn: (s: Shm) => E.Either<SysError, T>): E.Either<SysError, T> {
  if (s === undefined) return noSegment(shmid);
  try {
    return fn(s);
  } finally {
    s.decRef();
  }
}

function stat(caller: ShmCaller, shmid: number, cmd: number): E.Either<SysError, ShmctlResult> {
  const byIndex = cmd !== IPC_STAT;
  const s = byIndex ? caller.registry.findByIndex(shmid) : caller.registry.findById(shmid);
  if (s === undefined) return noSegment(shmid);
  // Written out (no closures): IPC_STAT is a hot path (docs/architecture.md, "Hot paths"). The lookup reference is
  // dropped after s.mu is released, as decRef requires.
  let result: E.Either<SysError, ShmctlResult>;
  s.mu.lock();
  try {
    result =
      cmd !== SHM_STAT_ANY && !ipcPermits(caller.creds, s.perm, S_IRUGO)
        ? E.left(sysError('EACCES', `mode 0${(s.perm.mode & 0o777).toString(8)} does not grant read`))
        : byIndex
          ? E.right({ ret: s.perm.id, ds: s.statLocked() })
          : s.ipcStatLocked();
  } finally {
    s.mu.unlock();
  }
  s.decRef();
  return result;
}

function lock(caller: ShmCaller, shmid: number, cmd: number): E.Either<SysError, ShmctlResult> {
  return withSegment(caller.registry.findById(shmid), shmid, (s) =>
    s.mu.with(() => {
      const creds = caller.creds;
      const capLock = hasCapability(creds, 'CAP_IPC_LOCK');
      if (!capLock) {
        if (!isOwnerOrCreator(creds, s.perm)) return E.left(sysError('EPERM', 'SHM_LOCK/SHM_UNLOCK need ownership or CAP_IPC_LOCK'));
        if (cmd === SHM_LOCK && creds.memlock.soft === 0n) return E.left(sysError('EPERM', 'RLIMIT_MEMLOCK is 0'));
      }
      // hugetlb segments are never swapped; locking them does nothing.
      if (s.hugetlb) return DONE;
      if (cmd === SHM_LOCK) {
        if (s.lockedBy !== undefined) return DONE;
        if (!caller.lockedMemory.charge(creds.uid, s.segsz, creds.memlock.soft, capLock)) {
          return E.left(sysError('ENOMEM', 'locking this segment would pass RLIMIT_MEMLOCK'));
        }
        s.setLockedLocked(creds.uid);
        return DONE;
      }
      if (s.lockedBy !== undefined) {
        caller.lockedMemory.uncharge(s.lockedBy, s.segsz);
        s.setLockedLocked(undefined);
      }
      return DONE;
    }),
  );
}
