/**
 * semget, semop/semtimedop and semctl for one calling task (ipc/sem.c;
 * gVisor syscalls/linux/sys_sem.go, whose divergences are not copied).
 * Each returns Either<SysError, T>, with the checks in the order Linux runs
 * them, because programs and tests can observe which errno wins. Copying
 * user memory (EFAULT for sops, a timeout or a semid_ds) is the kernel
 * layer's; an absent IPC_SET buffer or SETALL array stands for a bad
 * pointer and gives EFAULT at the point Linux copies it.
 *
 * A SemSet returned by a lookup carries a reference; every path drops it,
 * with no lock held, before it delivers any completion.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO, S_IWUGO } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { SemidDs, Sembuf, Seminfo } from '../abi/sem.js';
import { GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, SEMVMX, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SETALL, SETVAL } from '../abi/sem.js';
import type { Credentials } from '../auth/credentials.js';
import { ipcPermits } from '../ipc/perm.js';
import { checkEmbeddedOrder } from '../sync/mutex.js';
import type { IpcSetArgs } from '../ipc/perm.js';
import { SEMOP_BLOCK, SEMOP_EAGAIN, SEMOP_OK, atomicSemop, blockedSop } from './atomic.js';
import type { SemRegistry } from './registry.js';
import type { SemSet } from './set.js';
import type { SysvSem } from './undo.js';
import { SemUndo, getUndoList } from './undo.js';
import type { SemCompletion, WakeQueue } from './waiter.js';
import { SEMOP_DONE, SemWaiter, wakeUp } from './waiter.js';
import { countSemcnt, doSmartUpdate, nobodyWaitsOn, setSemotime } from './wake.js';

export type { IpcSetArgs } from '../ipc/perm.js';

/** The calling task, as the sem syscalls see it. */
export interface SemCaller {
  readonly creds: Credentials;
  /** The caller's tgid (sempid, and the pid a waiter records). */
  readonly pid: number;
  /** The task's undo slot (task_struct.sysvsem). */
  readonly sysvsem: SysvSem;
  /** The sem registry of the task's IPC namespace. */
  readonly registry: SemRegistry;
}

/** semtimedop's timeout, as copied in (struct timespec). */
export interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}

/** semtimedop's options. */
export interface SemopOptions {
  /** Validated (EINVAL) at Linux's point; the kernel arms the timer and calls timeOut(). */
  readonly timeout?: Timespec;
  /** Called once if the operation sleeps and later ends; SemWaiter.onComplete sets it later too. */
  readonly complete?: SemCompletion;
}

/** semop's answer: 0 when performed at once, or the waiter queued for it. */
export type SemopOutcome = number | SemWaiter;

/** semctl's argument (union semun, or the buffer it points to). */
export interface SemctlArg {
  /** SETVAL's value: the low 32 bits of the argument, as an int. */
  readonly val?: number;
  /** SETALL's values (unsigned shorts); fewer than nsems is EFAULT. */
  readonly array?: readonly number[];
  /**
   * SETALL's array could not be copied in (an element unreadable or no
   * int): the error, returned at the copy, after the permission and EIDRM
   * checks, as Linux's copy_from_user fails after ipcperms.
   */
  readonly copyError?: SysError;
  /** IPC_SET's uid, gid and mode; absent is EFAULT. */
  readonly buf?: IpcSetArgs;
}

/** What semctl returns: `ret` as the syscall's value, and what it copies out. */
export interface SemctlResult {
  readonly ret: number;
  readonly ds?: SemidDs;
  readonly info?: Seminfo;
  readonly values?: readonly number[];
}

/** semget(2). */
export function semget(caller: SemCaller, key: number, nsems: number, semflg: number): E.Either<SysError, number> {
  return caller.registry.semget(caller, key, nsems, semflg);
}

/** semop(2): semtimedop without a timeout. */
export function semop(caller: SemCaller, semid: number, sops: readonly Sembuf[], complete?: SemCompletion): E.Either<SysError, SemopOutcome> {
  return semtimedop(caller, semid, sops, complete === undefined ? {} : { complete });
}

/** A sembuf as the kernel reads it: an unsigned short and two shorts. */
function normalize(sop: Sembuf): Sembuf {
  return { semNum: sop.semNum & 0xffff, semOp: (sop.semOp << 16) >> 16, semFlg: (sop.semFlg << 16) >> 16 };
}

/**
 * semtimedop(2), in the order of a recent kernel (do_semtimedop,
 * __do_semtimedop): nsops past semopm is E2BIG, nsops 0 is EINVAL, a
 * negative id is EINVAL, an invalid timeout is EINVAL; with SEM_UNDO,
 * find_alloc_undo (EINVAL for no such id, EIDRM for a set being removed);
 * the id (EINVAL); a sem_num past the set (EFBIG); permission, write for an
 * array with any non-zero sem_op, else read (EACCES); a removed set or an
 * invalidated undo entry (EIDRM); then perform_atomic_semop. A success
 * wakes whom it can (wake.ts); a block returns the queued waiter.
 */
export function semtimedop(caller: SemCaller, semid: number, sopsIn: readonly Sembuf[], opts: SemopOptions = {}): E.Either<SysError, SemopOutcome> {
  const reg = caller.registry;
  const nsops = sopsIn.length;
  if (nsops > reg.limits.semopm >>> 0) return E.left(sysError('E2BIG', `${nsops} operations exceed kernel.sem's semopm (${reg.limits.semopm})`));
  if (nsops < 1) return E.left(sysError('EINVAL', 'semop needs at least one operation'));
  if (!Number.isInteger(semid) || semid < 0) return E.left(sysError('EINVAL', `semid ${semid} is negative`));
  const timeout = opts.timeout;
  if (timeout !== undefined && (timeout.sec < 0 || timeout.nsec < 0 || timeout.nsec >= 1e9)) {
    return E.left(sysError('EINVAL', 'the timeout is not a valid timespec (timespec64_valid)'));
  }
  let max = 0;
  let undos = false;
  let alter = false;
  let dupsop = false;
  // Whether every sop already reads as the kernel reads it (the usual case): then the caller's array is tried as it is.
  let exact = true;
  // The 64-bit dup mask of do_semtimedop, as two 32-bit halves: sem_num % 64.
  let dupLo = 0;
  let dupHi = 0;
  for (let i = 0; i < nsops; i += 1) {
    const sop = sopsIn[i]!;
    const semNum = sop.semNum & 0xffff;
    const semOp = (sop.semOp << 16) >> 16;
    const semFlg = (sop.semFlg << 16) >> 16;
    if (semNum !== sop.semNum || semOp !== sop.semOp || semFlg !== sop.semFlg) exact = false;
    const bit = semNum & 63;
    const mask = 1 << (bit & 31);
    if (semNum >= max) max = semNum;
    if ((semFlg & SEM_UNDO) !== 0) undos = true;
    if (((bit < 32 ? dupLo : dupHi) & mask) !== 0) dupsop = true;
    if (semOp !== 0) {
      alter = true;
      if (bit < 32) dupLo |= mask;
      else dupHi |= mask;
    }
  }
  const sops = exact ? sopsIn : sopsIn.map(normalize);
  let un: SemUndo | undefined;
  if (undos) {
    const found = findAllocUndo(caller, semid);
    if (E.isLeft(found)) return found;
    un = found.right;
  }
  const set = reg.findById(semid);
  if (set === undefined) return noSet(semid);
  const wq: WakeQueue = [];
  let result: E.Either<SysError, SemopOutcome>;
  try {
    result = semopOn(caller, set, sops, exact, max, alter, dupsop, un, opts.complete, wq);
  } finally {
    set.decRef();
  }
  if (wq.length !== 0) wakeUp(wq);
  return result;
}

/**
 * semtimedop for one sop that Linux would perform at once and that wakes
 * nobody (the semop bench row's case, and most semops of real programs):
 * true once performed, with the same effects as semtimedop (value,
 * sempid, sem_otime). False, having changed nothing, whenever anything
 * else could happen: an errno, a sleep, SEM_UNDO, a waiter to wake, or a
 * semid or sop field that is not a number the kernel reads as it is (an
 * unsigned short sem_num, short sem_op and sem_flg). The caller then takes
 * semtimedop, which decides the call in Linux's order. The values are
 * taken as the caller was given them, hence unknown; a call with a
 * timeout never comes here (semtimedop validates it first).
 */
export function semopUncontended(caller: SemCaller, semid: unknown, semNum: unknown, semOp: unknown, semFlg: unknown): boolean {
  if (typeof semid !== 'number' || typeof semNum !== 'number' || typeof semOp !== 'number' || typeof semFlg !== 'number') return false;
  if ((semNum & 0xffff) !== semNum || (semOp << 16) >> 16 !== semOp || (semFlg << 16) >> 16 !== semFlg || (semFlg & SEM_UNDO) !== 0) return false;
  const reg = caller.registry;
  if (reg.limits.semopm >>> 0 < 1) return false;
  // The clock before the lookup: an injected one is the user's code and may call into the kernel, so the
  // decision below is made on the state it left.
  const now = reg.now();
  // No reference is taken: nothing between this lookup and the return can remove the set or run anyone else's code.
  const set = reg.peekById(semid);
  // A set lent to worker threads (lease.ts) holds LEASED_SEMVAL, which no sop below can perform: the general path's
  // lock takes the values back.
  if (set === undefined || semNum >= set.nsems || set.pendingDestruction) return false;
  // The owner granted by the owner bits, read here so that these loads see only SemSets (ipcPermits' own see
  // every kind of IPC object and are megamorphic in a program that uses several); anything else asks ipcPermits.
  const uid = caller.creds.uid;
  const ownerGranted = (uid === set.cuid || uid === set.uid) && ((set.mode >> 6) & (semOp !== 0 ? 0o2 : 0o4)) !== 0;
  if (!ownerGranted && !ipcPermits(caller.creds, set, semOp !== 0 ? S_IWUGO : S_IRUGO)) return false;
  const cur = set.semval[semNum]!;
  const next = cur + semOp;
  if (semOp === 0 ? cur !== 0 : next < 0 || next > SEMVMX) return false;
  if (!nobodyWaitsOn(set, semNum)) return false;
  // The set's lock, for a section that runs nothing able to look at a lock (checkEmbeddedOrder), with no lease to
  // recall (the value was in range) and no queue to unmerge (nobodyWaitsOn).
  checkEmbeddedOrder(set);
  set.semval[semNum] = next;
  set.sempid[semNum] = caller.pid;
  set.semOtime[semNum] = now;
  return true;
}

/**
 * __do_semtimedop from the EFBIG check on, with a reference on `set`. The
 * first try needs no waiter; one is made only when the operation sleeps,
 * with its own copy of `sops` unless they are already one (`exact` false).
 */
function semopOn(
  caller: SemCaller,
  set: SemSet,
  sops: readonly Sembuf[],
  exact: boolean,
  max: number,
  alter: boolean,
  dupsop: boolean,
  un: SemUndo | undefined,
  complete: SemCompletion | undefined,
  wq: WakeQueue,
): E.Either<SysError, SemopOutcome> {
  if (max >= set.nsems) return E.left(sysError('EFBIG', `sem_num ${max} is not below the set's ${set.nsems} semaphores`));
  if (!ipcPermits(caller.creds, set, alter ? S_IWUGO : S_IRUGO)) {
    return E.left(sysError('EACCES', `mode 0${(set.mode & 0o777).toString(8)} does not grant ${alter ? 'alter (write)' : 'read'}`));
  }
  const now = set.owner.now();
  set.lock();
  try {
    if (set.pendingDestruction) return removed();
    if (un !== undefined && un.semid === -1) return removed();
    const r = atomicSemop(set, sops, un, caller.pid, dupsop);
    if (r === SEMOP_OK) {
      if (alter) doSmartUpdate(set, sops, true, wq, now);
      else setSemotime(set, sops, now);
      return SEMOP_DONE;
    }
    if (r !== SEMOP_BLOCK) {
      return r === SEMOP_EAGAIN
        ? E.left(sysError('EAGAIN', `sop ${blockedSop} would block and has IPC_NOWAIT`))
        : E.left(sysError('ERANGE', 'the result would pass SEMVMX or the semadj range [-32768, 32767]'));
    }
    const q = new SemWaiter(set, exact ? sops.map(copySop) : sops, un, caller.pid, alter, dupsop, complete);
    q.blocking = blockedSop;
    enqueue(set, q);
    return E.right(q);
  } finally {
    set.unlockSet();
  }
}

/** A sleeping semop's own copy of a sop that already reads as the kernel reads it. */
function copySop(sop: Sembuf): Sembuf {
  return { semNum: sop.semNum, semOp: sop.semOp, semFlg: sop.semFlg };
}

/**
 * Where a sleeping semop is queued: a single sop on its semaphore's
 * queue (altering, or wait-for-zero), except that an altering one goes on
 * the global queue while complex operations are queued; a complex one on
 * the global altering or wait-for-zero queue, after merge_queues when it is
 * the first. Precondition: set.mu is held.
 */
function enqueue(set: SemSet, q: SemWaiter): void {
  if (q.sops.length === 1) {
    const num = q.sops[0]!.semNum;
    if (q.alter) set.enqueue(q, set.complexCount > 0 ? set.globalAlter : set.alterQueue(num));
    else set.enqueue(q, set.constQueue(num));
    return;
  }
  if (set.complexCount === 0) set.mergeQueues();
  set.enqueue(q, q.alter ? set.globalAlter : set.globalConst);
  set.complexCount += 1;
}

/**
 * find_alloc_undo: the caller's undo entry for `semid` (moved to the head
 * of its list), or a new zeroed one linked into the process's list and the
 * set's. It runs before semop's EFBIG and EACCES checks, so a semop that
 * then fails still leaves the entry behind.
 */
function findAllocUndo(caller: SemCaller, semid: number): E.Either<SysError, SemUndo> {
  const ulp = getUndoList(caller.sysvsem);
  const found = ulp.lookup(semid);
  if (found !== undefined) return E.right(found);
  const set = caller.registry.findById(semid);
  if (set === undefined) return noSet(semid);
  try {
    if (set.pendingDestruction) return removed();
    set.lock();
    try {
      const un = new SemUndo(ulp, set, semid, set.nsems);
      ulp.entries.unshift(un);
      set.undos.unshift(un);
      return E.right(un);
    } finally {
      set.unlockSet();
    }
  } finally {
    set.decRef();
  }
}

function noSet(semid: number): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `no semaphore set has id ${semid}`));
}

function removed(): E.Either<SysError, never> {
  return E.left(sysError('EIDRM', 'the semaphore set is being removed'));
}

/**
 * semctl(2) (ksys_semctl): a negative id is EINVAL for every command, then
 * each command runs its own checks; an unknown command (a negative one
 * too) is EINVAL.
 */
export function semctl(caller: SemCaller, semid: number, semnum: number, cmd: number, arg: SemctlArg = {}): E.Either<SysError, SemctlResult> {
  if (!Number.isInteger(semid) || semid < 0) return E.left(sysError('EINVAL', `semid ${semid} is negative`));
  const reg = caller.registry;
  switch (cmd) {
    case IPC_INFO:
    case SEM_INFO: {
      const { info, maxIndex } = reg.info(cmd);
      return E.right({ ret: maxIndex, info });
    }
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
      return stat(caller, semid, cmd);
    case GETALL:
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case SETALL:
      return semctlMain(caller, semid, semnum | 0, cmd, arg);
    case SETVAL:
      return setval(caller, semid, semnum | 0, (arg.val ?? 0) | 0);
    case IPC_SET:
      if (arg.buf === undefined) return E.left(sysError('EFAULT', 'IPC_SET has no semid_ds to copy in'));
      return down(reg.semctlDown(caller.creds, semid, arg.buf));
    case IPC_RMID:
      return down(reg.semctlDown(caller.creds, semid, undefined));
    default:
      return E.left(sysError('EINVAL', `unknown semctl command ${cmd}`));
  }
}

const ZERO: E.Either<SysError, SemctlResult> = Object.freeze(E.right(Object.freeze({ ret: 0 })));

function down(done: E.Either<SysError, void>): E.Either<SysError, SemctlResult> {
  return E.isLeft(done) ? done : ZERO;
}

/** semctl_stat: the lookup (by id, or by index for SEM_STAT and SEM_STAT_ANY), read permission but for SEM_STAT_ANY, EIDRM. */
function stat(caller: SemCaller, semid: number, cmd: number): E.Either<SysError, SemctlResult> {
  const reg = caller.registry;
  const set = cmd === IPC_STAT ? reg.findById(semid) : reg.findByIndex(semid);
  if (set === undefined) return noSet(semid);
  try {
    if (cmd !== SEM_STAT_ANY && !ipcPermits(caller.creds, set, S_IRUGO)) return noRead(set);
    set.lock();
    try {
      if (set.pendingDestruction) return removed();
      return E.right({ ret: cmd === IPC_STAT ? 0 : set.id, ds: set.statLocked() });
    } finally {
      set.unlockSet();
    }
  } finally {
    set.decRef();
  }
}

function noRead(set: SemSet): E.Either<SysError, never> {
  return E.left(sysError('EACCES', `mode 0${(set.mode & 0o777).toString(8)} does not grant read`));
}

/**
 * semctl_main: the lookup (EINVAL), permission (write for SETALL, read for
 * the others: EACCES), then per command. GETALL: EIDRM. SETALL: EIDRM, the
 * copy-in (EFAULT, or the caller's copyError), any value past SEMVMX (ERANGE, nothing changed), EIDRM;
 * then every value, every sempid, every undo entry's adjustments zeroed,
 * sem_ctime, and the wake-ups. GETVAL, GETPID, GETNCNT, GETZCNT: semnum out
 * of range (EINVAL, after permission), EIDRM.
 */
function semctlMain(caller: SemCaller, semid: number, semnum: number, cmd: number, arg: SemctlArg): E.Either<SysError, SemctlResult> {
  const set = caller.registry.findById(semid);
  if (set === undefined) return noSet(semid);
  const wq: WakeQueue = [];
  let result: E.Either<SysError, SemctlResult>;
  try {
    result = semctlMainOn(caller, set, semnum, cmd, arg, wq);
  } finally {
    set.decRef();
  }
  wakeUp(wq);
  return result;
}

function semctlMainOn(caller: SemCaller, set: SemSet, semnum: number, cmd: number, arg: SemctlArg, wq: WakeQueue): E.Either<SysError, SemctlResult> {
  const write = cmd === SETALL;
  if (!ipcPermits(caller.creds, set, write ? S_IWUGO : S_IRUGO)) {
    return write ? E.left(sysError('EACCES', `mode 0${(set.mode & 0o777).toString(8)} does not grant alter (write)`)) : noRead(set);
  }
  if (cmd === GETALL) {
    set.lock();
    try {
      if (set.pendingDestruction) return removed();
      return E.right({ ret: 0, values: Array.from(set.semval) });
    } finally {
      set.unlockSet();
    }
  }
  if (cmd === SETALL) return setall(caller, set, arg, wq);
  if (semnum < 0 || semnum >= set.nsems) return E.left(sysError('EINVAL', `semnum ${semnum} is outside the set's ${set.nsems} semaphores`));
  set.lock();
  // Released without sem_unlock's unmerge_queues: these commands change no
  // queue, and every hold that does ends in unlockSet, so the queues are
  // already unmerged whenever no complex operation is queued. (The unmerge
  // check reads globalAlter, one more object per call.)
  try {
    if (set.pendingDestruction) return removed();
    switch (cmd) {
      case GETVAL:
        return E.right({ ret: set.semval[semnum]! });
      case GETPID:
        return E.right({ ret: set.sempid[semnum]! });
      case GETNCNT:
        return E.right({ ret: countSemcnt(set, semnum, false) });
      default:
        return E.right({ ret: countSemcnt(set, semnum, true) });
    }
  } finally {
    set.unlock();
  }
}

/** SETALL once permission is checked (see semctlMain). */
function setall(c: SemCaller, s: SemSet, arg: SemctlArg, wq: WakeQueue): E.Either<SysError, SemctlResult> {
  if (s.pendingDestruction) return removed();
  if (arg.copyError !== undefined) return E.left(arg.copyError);
  const array = arg.array;
  if (array === undefined || array.length < s.nsems) return E.left(sysError('EFAULT', `SETALL needs ${s.nsems} values to copy in`));
  const values = new Array<number>(s.nsems);
  for (let i = 0; i < s.nsems; i += 1) {
    const v = array[i]! & 0xffff;
    if (v > SEMVMX) return E.left(sysError('ERANGE', `SETALL value ${v} for semaphore ${i} is past SEMVMX (${SEMVMX})`));
    values[i] = v;
  }
  const now = s.owner.now();
  s.lock();
  try {
    if (s.pendingDestruction) return removed();
    for (let i = 0; i < s.nsems; i += 1) {
      s.semval[i] = values[i]!;
      s.sempid[i] = c.pid;
    }
    for (const un of s.undos) un.semadj.fill(0);
    s.ctime = now;
    doSmartUpdate(s, undefined, false, wq, now);
    return ZERO;
  } finally {
    s.unlockSet();
  }
}

/**
 * semctl_setval: the value outside 0..SEMVMX (ERANGE) before the lookup
 * (EINVAL), then semnum (EINVAL) before permission (EACCES), then EIDRM;
 * then semadj[semnum] of every undo entry zeroed, the value, sempid,
 * sem_ctime, and the wake-ups.
 */
function setval(caller: SemCaller, semid: number, semnum: number, val: number): E.Either<SysError, SemctlResult> {
  if (val > SEMVMX || val < 0) return E.left(sysError('ERANGE', `SETVAL ${val} is outside 0..SEMVMX (${SEMVMX})`));
  const set = caller.registry.findById(semid);
  if (set === undefined) return noSet(semid);
  const wq: WakeQueue = [];
  let result: E.Either<SysError, SemctlResult>;
  try {
    result = setvalOn(caller, set, semnum, val, wq);
  } finally {
    set.decRef();
  }
  wakeUp(wq);
  return result;
}

function setvalOn(caller: SemCaller, set: SemSet, semnum: number, val: number, wq: WakeQueue): E.Either<SysError, SemctlResult> {
  if (semnum < 0 || semnum >= set.nsems) return E.left(sysError('EINVAL', `semnum ${semnum} is outside the set's ${set.nsems} semaphores`));
  if (!ipcPermits(caller.creds, set, S_IWUGO)) {
    return E.left(sysError('EACCES', `mode 0${(set.mode & 0o777).toString(8)} does not grant alter (write)`));
  }
  const now = set.owner.now();
  set.lock();
  try {
    if (set.pendingDestruction) return removed();
    for (const un of set.undos) un.semadj[semnum] = 0;
    set.semval[semnum] = val;
    set.sempid[semnum] = caller.pid;
    set.ctime = now;
    doSmartUpdate(set, undefined, false, wq, now);
    return ZERO;
  } finally {
    set.unlockSet();
  }
}
