/**
 * The kernel's trace: structured events for every syscall a process makes
 * (its pid, the call, the arguments as passed and the result), every memory
 * access that ends in a signal, page frames handed out and given back, a
 * blocked call waking, and the container engine's lifecycle steps; and
 * formatTraceEvent, which prints an event as strace prints its lines.
 *
 * Nothing here costs anything while nobody listens. Kernel.onTrace makes a
 * Tracer; only then are the kernel's processes given a prototype whose
 * syscall methods report to it (and every process made later, at
 * Kernel.admit), and the MemoryFile a frame hook. The last unsubscribe puts
 * the plain prototype back. So a kernel nobody traces runs exactly the code
 * it ran before tracing existed, and the hot paths pay one field test
 * (`kernel.tracer !== undefined`) where a process is made.
 *
 * Listeners run between syscalls, never inside one: what happens during a
 * call (frames, a call it wakes) is queued and delivered after the call's
 * own event, so a listener sees a consistent kernel, and a listener that
 * throws cannot leave a mechanism half-way.
 *
 * Platform-free: no Node APIs (a Web Worker consumes this).
 */
import type { ErrnoName, SysError } from '../abi/errno.js';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_INFO,
  IPC_NOWAIT,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SHM_EXEC,
  SHM_HUGETLB,
  SHM_INFO,
  SHM_LOCK,
  SHM_NORESERVE,
  SHM_RDONLY,
  SHM_REMAP,
  SHM_RND,
  SHM_STAT,
  SHM_STAT_ANY,
  SHM_UNLOCK,
} from '../abi/constants.js';
import * as MMAN from '../abi/mman.js';
import { MAP_PRIVATE, MAP_SHARED, MNT_DETACH, MNT_FORCE, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_RDWR, O_TRUNC, O_WRONLY } from '../abi/fs.js';
import {
  F_ADD_SEALS,
  F_GETFD,
  F_GETFL,
  F_GET_SEALS,
  F_SETFD,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_NOEXEC_SEAL,
  O_CLOEXEC,
  O_NOFOLLOW,
} from '../abi/memfd.js';
import { MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR, MSG_STAT, MSG_STAT_ANY } from '../abi/msg.js';
import { GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SETALL, SETVAL } from '../abi/sem.js';
import { strerror } from '../abi/strerror.js';
import type { Pending } from './pending.js';
import { isPending, onSettled } from './pending.js';
import { userBytes } from './syscall_args.js';

/**
 * A value as a trace carries it: plain data a structured clone (postMessage)
 * and the JSON encoder (traceEventToJson) both take. Byte buffers are
 * TraceBytes; an object of a class of the kernel's (a Tmpfs to mount, a
 * Mount) is its class name in angle brackets.
 */
export type TraceValue = number | bigint | string | boolean | null | undefined | TraceBytes | readonly TraceValue[] | { readonly [field: string]: TraceValue };

/** A byte buffer in a trace: its first TRACE_BYTES bytes (a copy) and its whole length, as strace shows a buffer's start. */
export interface TraceBytes {
  readonly kind: 'bytes';
  readonly bytes: Uint8Array;
  readonly length: number;
}

/** How many bytes of a buffer an event keeps (strace's default -s is 32). */
export const TRACE_BYTES = 32;

/** How a call ended: its value, an errno, a signal (a memory access), or asleep (a Pending; a wake event ends it). */
export type TraceResult =
  | { readonly status: 'ok'; readonly value: TraceValue }
  | { readonly status: 'error'; readonly errno: ErrnoName; readonly message: string }
  | { readonly status: 'fault'; readonly signal: 'SIGSEGV' | 'SIGBUS'; readonly addr: number }
  | { readonly status: 'blocked' };

/**
 * A syscall returned. `call` is the Process method's name (shmat, readFd,
 * memfdCreate, ...); formatTraceEvent prints the Linux syscall's name.
 * `args` are the arguments as the caller passed them.
 */
export interface SyscallTraceEvent {
  readonly kind: 'syscall';
  readonly pid: number;
  readonly call: string;
  readonly args: readonly TraceValue[];
  readonly result: TraceResult;
}

/** A memory access of process `pid` ended in a signal at `addr` (the first byte it could not access). */
export interface FaultTraceEvent {
  readonly kind: 'fault';
  readonly pid: number;
  readonly signal: 'SIGSEGV' | 'SIGBUS';
  readonly addr: number;
  readonly access: 'read' | 'write';
}

/**
 * Page frames `first` .. `first + count - 1` were handed out (`alloc`:
 * first touch of a page, a tmpfs write, a private copy) or given back
 * (`free`), during a call of `pid` (absent: outside any process's call,
 * e.g. a timer or the kernel's dispose). Consecutive frames of one call
 * come as one event.
 */
export interface FrameTraceEvent {
  readonly kind: 'frame';
  readonly op: 'alloc' | 'free';
  readonly first: number;
  readonly count: number;
  readonly pid?: number;
}

/**
 * A call of `pid` that was asleep (its syscall event's result was
 * `blocked`) ended with `result`; `by` is the process whose call woke it
 * (absent: a timer, or the kernel itself).
 */
export interface WakeTraceEvent {
  readonly kind: 'wake';
  readonly pid: number;
  readonly call: string;
  readonly result: TraceResult;
  readonly by?: number;
}

/**
 * The container engine finished a command (`step`: create, start, exec,
 * stop, rm, run) on container `name`, with the isula client's exit status;
 * `pid` is the process it started (start, run: the init; exec: the
 * process), when it did.
 */
export interface ContainerTraceEvent {
  readonly kind: 'container';
  readonly name: string;
  readonly step: string;
  readonly exitStatus: number;
  readonly pid?: number;
  readonly stderr?: readonly string[];
}

/** One event of the trace. */
export type TraceEvent = SyscallTraceEvent | FaultTraceEvent | FrameTraceEvent | WakeTraceEvent | ContainerTraceEvent;

/** A trace listener (Kernel.onTrace). */
export type TraceListener = (e: TraceEvent) => void;

/** Names of processes by pid, for formatTraceEvent (a scenario's `A`, `B`). */
export type TraceNames = ReadonlyMap<number, string>;

/** The process methods that are syscalls: each gets a syscall event. */
const SYSCALL_METHODS: readonly string[] = [
  'shmget',
  'shmat',
  'shmdt',
  'shmctl',
  'munmap',
  'mprotect',
  'madvise',
  'futexWait',
  'futexWake',
  'fork',
  'exit',
  'open',
  'close',
  'readFd',
  'pread',
  'writeFd',
  'pwrite',
  'ftruncate',
  'fallocate',
  'fstat',
  'stat',
  'statfs',
  'mkdir',
  'rmdir',
  'unlink',
  'mmap',
  'memfdCreate',
  'fcntl',
  'shmOpen',
  'shmUnlink',
  'mountTmpfs',
  'bindMount',
  'umount',
  'remount',
  'unshareIpc',
  'setMemlockLimit',
  'setFsizeLimit',
  'writeSysctl',
  'readSysctl',
  'semget',
  'semop',
  'semtimedop',
  'semctl',
  'msgget',
  'msgsnd',
  'msgrcv',
  'msgctl',
  'interrupt',
];

/** The process methods that are memory accesses: no syscall event, but a fault event when one ends in a signal. */
const ACCESS_METHODS: Readonly<Record<string, 'read' | 'write'>> = {
  read: 'read',
  readInto: 'read',
  write: 'write',
  fill: 'write',
  atomicLoad32: 'read',
  atomicStore32: 'write',
  atomicAdd32: 'write',
  atomicCompareExchange32: 'write',
};

/** What the tracer needs of a process: its pid (the Process class, without importing it). */
interface Traced {
  readonly pid: number;
}

type Method = (this: Traced, ...args: unknown[]) => unknown;

/** What the tracer needs of a MemoryFile (without importing mm's class). */
interface FrameSource {
  allocate(...args: unknown[]): number;
  decRef(frame: number): void;
  refCount(frame: number): number;
  readonly disposed: boolean;
}

/**
 * A kernel's trace while somebody listens: its listeners, the processes it
 * has given the tracing prototype, and the events of the call in progress.
 * @internal
 */
export class Tracer {
  private readonly listeners = new Set<{ readonly fn: TraceListener }>();
  private readonly traced = new Set<object>();
  /** The MemoryFile given the frame-reporting prototype, and its own. */
  private memory: { readonly mf: FrameSource; readonly base: FrameSource } | undefined = undefined;
  /** The tracing prototype, made from the first process's own. */
  private proto: { readonly base: object; readonly traced: object } | undefined = undefined;
  /** How deep in process methods the kernel is: only the outermost is a syscall. */
  private depth = 0;
  /** The process whose call is running (undefined between calls). */
  private currentPid: number | undefined = undefined;
  /** Events that happened during the running call, delivered after it. */
  private queue: TraceEvent[] = [];
  /** The frame run being gathered: consecutive frames of one op and one call. */
  private run: { op: 'alloc' | 'free'; first: number; count: number; pid: number | undefined } | undefined = undefined;

  /** Whether anyone listens. */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** Adds `fn`; the function returned removes it (once). */
  subscribe(fn: TraceListener): () => boolean {
    const entry = { fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /** Gives `p` the tracing prototype, so its syscalls report here. */
  adopt(p: object): void {
    if (this.traced.has(p)) return;
    const base = Object.getPrototypeOf(p) as object;
    if (this.proto === undefined) this.proto = { base, traced: this.tracingPrototype(base) };
    if (base !== this.proto.base) return;
    Object.setPrototypeOf(p, this.proto.traced);
    this.traced.add(p);
  }

  /**
   * Gives the kernel's MemoryFile a prototype whose allocate and decRef
   * report frames here, as processes get theirs: the MemoryFile's own code,
   * a hot path, has nothing to test.
   */
  adoptMemoryFile(mf: FrameSource): void {
    if (this.memory !== undefined) return;
    const base = Object.getPrototypeOf(mf) as FrameSource;
    const tracer = this;
    const traced = Object.create(base, {
      allocate: {
        configurable: true,
        writable: true,
        value: function (this: FrameSource, ...args: unknown[]): number {
          const frame = base.allocate.apply(this, args);
          if (frame >= 0) tracer.frame('alloc', frame);
          return frame;
        },
      },
      decRef: {
        configurable: true,
        writable: true,
        value: function (this: FrameSource, frame: number): void {
          base.decRef.call(this, frame);
          if (!this.disposed && this.refCount(frame) === 0) tracer.frame('free', frame);
        },
      },
    }) as object;
    Object.setPrototypeOf(mf, traced);
    this.memory = { mf, base };
  }

  /** Puts the plain prototypes back on every process and the MemoryFile (the last listener left). */
  detachAll(): void {
    if (this.proto !== undefined) for (const p of this.traced) Object.setPrototypeOf(p, this.proto.base);
    this.traced.clear();
    if (this.memory !== undefined) Object.setPrototypeOf(this.memory.mf, this.memory.base);
    this.memory = undefined;
    this.flushRun();
    this.deliverQueue();
  }

  /** A frame was handed out or given back (the MemoryFile's tracing prototype). */
  frame(op: 'alloc' | 'free', frame: number): void {
    const r = this.run;
    if (r !== undefined && r.op === op && r.pid === this.currentPid && frame === r.first + r.count) {
      r.count += 1;
      return;
    }
    this.flushRun();
    this.run = { op, first: frame, count: 1, pid: this.currentPid };
    if (this.depth === 0) this.flushRun();
  }

  /** Reports `e`: at once between calls, after the running call otherwise. */
  emit(e: TraceEvent): void {
    this.flushRun();
    this.queue.push(e);
    if (this.depth === 0) this.deliverQueue();
  }

  /** A prototype over `base` whose syscall and access methods report to this tracer. */
  private tracingPrototype(base: object): object {
    const methods: PropertyDescriptorMap = {};
    const tracer = this;
    for (const name of SYSCALL_METHODS) {
      const original = (base as Record<string, Method>)[name];
      if (typeof original !== 'function') continue;
      methods[name] = {
        configurable: true,
        writable: true,
        value: function (this: Traced, ...args: unknown[]): unknown {
          return tracer.syscall(this, name, original, args);
        },
      };
    }
    for (const [name, access] of Object.entries(ACCESS_METHODS)) {
      const original = (base as Record<string, Method>)[name];
      if (typeof original !== 'function') continue;
      methods[name] = {
        configurable: true,
        writable: true,
        value: function (this: Traced, ...args: unknown[]): unknown {
          return tracer.access(this, access, original, args);
        },
      };
    }
    return Object.create(base, methods) as object;
  }

  /** Runs a syscall method; the outermost one of a process reports its event. */
  private syscall(p: Traced, call: string, original: Method, args: unknown[]): unknown {
    if (this.depth > 0) return original.apply(p, args);
    // The arguments are read before the call: it may change what they point to (a buffer it fills).
    const shown = args.map(traceValue);
    const result = this.inCall(p, original, args);
    const pending = isPending(result) && result.state === 'pending' ? result : undefined;
    const e: SyscallTraceEvent = {
      kind: 'syscall',
      pid: p.pid,
      call,
      args: shown,
      result: pending !== undefined ? { status: 'blocked' } : traceResult(call, result),
    };
    this.queue.unshift(e);
    if (pending !== undefined) this.watch(p.pid, call, pending);
    this.deliverQueue();
    return result;
  }

  /** Runs a memory access; one that ends in a signal reports a fault event. */
  private access(p: Traced, access: 'read' | 'write', original: Method, args: unknown[]): unknown {
    if (this.depth > 0) return original.apply(p, args);
    const result = this.inCall(p, original, args) as { _tag?: string; left?: unknown };
    if (result?._tag === 'Left' && isFault(result.left)) {
      this.queue.unshift({ kind: 'fault', pid: p.pid, signal: result.left.signal, addr: result.left.addr, access });
    }
    this.deliverQueue();
    return result;
  }

  /** Runs `original` as `p`'s call, with the frames it moves gathered for it. */
  private inCall(p: Traced, original: Method, args: unknown[]): unknown {
    this.depth += 1;
    this.currentPid = p.pid;
    try {
      return original.apply(p, args);
    } finally {
      this.depth -= 1;
      this.currentPid = undefined;
      this.flushRun();
    }
  }

  /** Reports the wake of a call that went to sleep, from inside whatever ends its wait. */
  private watch(pid: number, call: string, pending: Pending<unknown>): void {
    onSettled(pending, (value) => {
      const by = this.currentPid;
      this.emit({ kind: 'wake', pid, call, result: traceResult(call, value), ...(by !== undefined && by !== pid ? { by } : {}) });
    });
  }

  private flushRun(): void {
    const r = this.run;
    if (r === undefined) return;
    this.run = undefined;
    this.queue.push({ kind: 'frame', op: r.op, first: r.first, count: r.count, ...(r.pid !== undefined ? { pid: r.pid } : {}) });
  }

  private deliverQueue(): void {
    if (this.depth > 0) return;
    this.flushRun();
    while (this.queue.length > 0) {
      const events = this.queue;
      this.queue = [];
      for (const e of events) for (const l of [...this.listeners]) l.fn(e);
    }
  }
}

function isFault(v: unknown): v is { readonly signal: 'SIGSEGV' | 'SIGBUS'; readonly addr: number } {
  const f = v as { signal?: unknown; addr?: unknown } | null;
  return typeof f === 'object' && f !== null && (f.signal === 'SIGSEGV' || f.signal === 'SIGBUS') && typeof f.addr === 'number';
}

function isSysError(v: unknown): v is SysError {
  const e = v as { errno?: unknown; message?: unknown } | null;
  return typeof e === 'object' && e !== null && typeof e.errno === 'string' && typeof e.message === 'string';
}

/** A call's Either (or settled value) as a TraceResult. */
function traceResult(call: string, r: unknown): TraceResult {
  const either = r as { _tag?: unknown; left?: unknown; right?: unknown } | null;
  if (typeof either !== 'object' || either === null || (either._tag !== 'Left' && either._tag !== 'Right')) return { status: 'ok', value: traceValue(r) };
  if (either._tag === 'Left') {
    const left = either.left;
    if (isSysError(left)) return { status: 'error', errno: left.errno, message: left.message };
    if (isFault(left)) return { status: 'fault', signal: left.signal, addr: left.addr };
    return { status: 'ok', value: traceValue(left) };
  }
  // fork's Process is the child's pid, as fork(2) returns it.
  if (call === 'fork') return { status: 'ok', value: (either.right as Traced).pid };
  return { status: 'ok', value: traceValue(either.right) };
}

/**
 * `v` as plain data (see TraceValue); a cycle or a deep nest ends in
 * '<...>', and a value the tracer cannot read (a getter or Proxy trap of
 * the caller's that throws) is '<unreadable>': tracing never makes a call
 * throw.
 */
export function traceValue(v: unknown, depth = 0): TraceValue {
  try {
    return traceValueOf(v, depth);
  } catch {
    return '<unreadable>';
  }
}

function traceValueOf(v: unknown, depth: number): TraceValue {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v !== 'object') return `<${typeof v}>`;
  // The bytes it holds (userBytes: a detached buffer holds none, and a subclass's length or species runs no code), copied.
  const bytes = v instanceof Uint8Array ? userBytes(v) : undefined;
  if (bytes !== undefined) return { kind: 'bytes', bytes: bytes.slice(0, TRACE_BYTES), length: bytes.length };
  if (depth > 4) return '<...>';
  if (Array.isArray(v)) return v.map((x) => traceValue(x, depth + 1));
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
    return `<${typeof name === 'string' && name !== '' ? name : 'object'}>`;
  }
  const out: Record<string, TraceValue> = {};
  for (const [k, x] of Object.entries(v)) out[k] = traceValue(x, depth + 1);
  return out;
}

// ---------------------------------------------------------------------------
// Printing: strace's layout.

/** Flag names and values, in the order strace prints them. */
type FlagTable = readonly (readonly [string, number])[];

const SHMGET_FLAGS: FlagTable = [
  ['IPC_CREAT', IPC_CREAT],
  ['IPC_EXCL', IPC_EXCL],
  ['SHM_HUGETLB', SHM_HUGETLB],
  ['SHM_NORESERVE', SHM_NORESERVE],
];
const IPCGET_FLAGS: FlagTable = [
  ['IPC_CREAT', IPC_CREAT],
  ['IPC_EXCL', IPC_EXCL],
];
const SHMAT_FLAGS: FlagTable = [
  ['SHM_RDONLY', SHM_RDONLY],
  ['SHM_RND', SHM_RND],
  ['SHM_REMAP', SHM_REMAP],
  ['SHM_EXEC', SHM_EXEC],
];
const MSG_FLAGS: FlagTable = [
  ['IPC_NOWAIT', IPC_NOWAIT],
  ['MSG_NOERROR', MSG_NOERROR],
  ['MSG_EXCEPT', MSG_EXCEPT],
  ['MSG_COPY', MSG_COPY],
];
const SEM_FLAGS: FlagTable = [
  ['IPC_NOWAIT', IPC_NOWAIT],
  ['SEM_UNDO', SEM_UNDO],
];
const PROT_FLAGS: FlagTable = [
  ['PROT_READ', PROT_READ],
  ['PROT_WRITE', PROT_WRITE],
  ['PROT_EXEC', PROT_EXEC],
  ['PROT_SEM', 0x8],
];
/** mmap's flag bits after its type (the low four bits) and before the huge page size (bits 26-31). */
const MAP_FLAGS: FlagTable = [
  ['MAP_FIXED', 0x10],
  ['MAP_ANONYMOUS', 0x20],
  ['MAP_GROWSDOWN', 0x100],
  ['MAP_DENYWRITE', 0x800],
  ['MAP_EXECUTABLE', 0x1000],
  ['MAP_LOCKED', 0x2000],
  ['MAP_NORESERVE', 0x4000],
  ['MAP_POPULATE', 0x8000],
  ['MAP_NONBLOCK', 0x10000],
  ['MAP_STACK', 0x20000],
  ['MAP_HUGETLB', 0x40000],
  ['MAP_SYNC', 0x80000],
  ['MAP_FIXED_NOREPLACE', 0x100000],
];
const MAP_TYPES: Readonly<Record<number, string>> = { [MAP_SHARED]: 'MAP_SHARED', [MAP_PRIVATE]: 'MAP_PRIVATE', 3: 'MAP_SHARED_VALIDATE', 8: 'MAP_DROPPABLE' };

/** mmap's flags as strace prints them: the type, the flag bits, then MAP_HUGE_<size> for a huge page size. */
function mapFlags(n: TraceValue): string {
  if (typeof n !== 'number' || !Number.isInteger(n)) return value(n);
  const type = MAP_TYPES[n & 0xf];
  const log = (n >>> 26) & 0x3f;
  const rest = n & ~(type === undefined ? 0 : 0xf) & 0x03ffffff;
  const parts: string[] = type === undefined ? [] : [type];
  if (rest !== 0 || parts.length === 0) parts.push(flags(rest, MAP_FLAGS));
  if (log !== 0)
    parts.push(`MAP_HUGE_${log >= 30 ? `${2 ** (log - 30)}GB` : log >= 20 ? `${2 ** (log - 20)}MB` : log >= 10 ? `${2 ** (log - 10)}KB` : `${2 ** log}B`}`);
  return parts.join('|');
}
const OPEN_FLAGS: FlagTable = [
  ['O_CREAT', O_CREAT],
  ['O_EXCL', O_EXCL],
  ['O_TRUNC', O_TRUNC],
  ['O_APPEND', O_APPEND],
  ['O_DIRECTORY', O_DIRECTORY],
  ['O_NOFOLLOW', O_NOFOLLOW],
  ['O_CLOEXEC', O_CLOEXEC],
];
const MFD_FLAGS: FlagTable = [
  ['MFD_CLOEXEC', MFD_CLOEXEC],
  ['MFD_ALLOW_SEALING', MFD_ALLOW_SEALING],
  ['MFD_HUGETLB', MFD_HUGETLB],
  ['MFD_NOEXEC_SEAL', MFD_NOEXEC_SEAL],
  ['MFD_EXEC', MFD_EXEC],
];
const UMOUNT_FLAGS: FlagTable = [
  ['MNT_FORCE', MNT_FORCE],
  ['MNT_DETACH', MNT_DETACH],
];

/** madvise advice by value: every MADV_ constant of abi/mman.ts, as the scenario language takes them. */
const MADV_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(MMAN)
    .filter(([k, v]) => k.startsWith('MADV_') && typeof v === 'number')
    .map(([k, v]) => [v, k]),
);

const SHMCTL_CMDS: Readonly<Record<number, string>> = {
  [IPC_RMID]: 'IPC_RMID',
  [IPC_SET]: 'IPC_SET',
  [IPC_STAT]: 'IPC_STAT',
  [IPC_INFO]: 'IPC_INFO',
  [SHM_LOCK]: 'SHM_LOCK',
  [SHM_UNLOCK]: 'SHM_UNLOCK',
  [SHM_STAT]: 'SHM_STAT',
  [SHM_INFO]: 'SHM_INFO',
  [SHM_STAT_ANY]: 'SHM_STAT_ANY',
};
const SEMCTL_CMDS: Readonly<Record<number, string>> = {
  [IPC_RMID]: 'IPC_RMID',
  [IPC_SET]: 'IPC_SET',
  [IPC_STAT]: 'IPC_STAT',
  [IPC_INFO]: 'IPC_INFO',
  [GETPID]: 'GETPID',
  [GETVAL]: 'GETVAL',
  [GETALL]: 'GETALL',
  [GETNCNT]: 'GETNCNT',
  [GETZCNT]: 'GETZCNT',
  [SETVAL]: 'SETVAL',
  [SETALL]: 'SETALL',
  [SEM_STAT]: 'SEM_STAT',
  [SEM_INFO]: 'SEM_INFO',
  [SEM_STAT_ANY]: 'SEM_STAT_ANY',
};
const MSGCTL_CMDS: Readonly<Record<number, string>> = {
  [IPC_RMID]: 'IPC_RMID',
  [IPC_SET]: 'IPC_SET',
  [IPC_STAT]: 'IPC_STAT',
  [IPC_INFO]: 'IPC_INFO',
  [MSG_STAT]: 'MSG_STAT',
  [MSG_INFO]: 'MSG_INFO',
  [MSG_STAT_ANY]: 'MSG_STAT_ANY',
};
const FCNTL_CMDS: Readonly<Record<number, string>> = {
  [F_GETFD]: 'F_GETFD',
  [F_SETFD]: 'F_SETFD',
  [F_GETFL]: 'F_GETFL',
  [F_ADD_SEALS]: 'F_ADD_SEALS',
  [F_GET_SEALS]: 'F_GET_SEALS',
};

/** `n` in hex, as strace prints addresses and keys. */
function hex(n: TraceValue): string {
  if (typeof n === 'bigint') return `0x${BigInt.asUintN(64, n).toString(16)}`;
  if (typeof n === 'number' && Number.isSafeInteger(n)) return n < 0 ? `0x${BigInt.asUintN(64, BigInt(n)).toString(16)}` : `0x${n.toString(16)}`;
  return value(n);
}

/** A pointer: NULL for 0. */
function ptr(n: TraceValue): string {
  return n === 0 || n === 0n ? 'NULL' : hex(n);
}

/** A System V key: IPC_PRIVATE for 0, else its 32 bits in hex. */
function ipcKey(k: TraceValue): string {
  if (k === 0) return 'IPC_PRIVATE';
  return typeof k === 'number' && Number.isInteger(k) ? `0x${(k >>> 0).toString(16)}` : value(k);
}

/** An octal mode, as 0644 (0 alone for none). */
function octal(n: number): string {
  return n === 0 ? '0' : `0${n.toString(8)}`;
}

/** Flags as NAME|NAME, the rest in hex (or, with `mode`, the low nine-plus bits in octal). */
function flags(n: TraceValue, table: FlagTable, mode = false, base?: string): string {
  if (typeof n !== 'number' || !Number.isInteger(n)) return value(n);
  const names: string[] = base === undefined ? [] : [base];
  let rest = n;
  for (const [name, bit] of table) {
    if ((rest & bit) === bit && bit !== 0) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (mode) {
    if (rest !== 0 || names.length === 0) names.push(octal(rest));
  } else if (rest !== 0 || names.length === 0) {
    names.push(names.length === 0 && rest === 0 ? '0' : hex(rest));
  }
  return names.join('|');
}

/** A command: its name, else the number. */
function cmd(n: TraceValue, names: Readonly<Record<number, string>>): string {
  return typeof n === 'number' && Object.hasOwn(names, n) ? names[n]! : value(n);
}

/** Bytes as a C string literal, as strace escapes them; `...` after when cut. */
function bytes(b: TraceBytes): string {
  let s = '"';
  for (const c of b.bytes) {
    if (c === 0x22) s += '\\"';
    else if (c === 0x5c) s += '\\\\';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x09) s += '\\t';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${c.toString(8)}`;
  }
  return `${s}"${b.length > b.bytes.length ? '...' : ''}`;
}

function isBytes(v: TraceValue): v is TraceBytes {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    (v as { kind?: unknown }).kind === 'bytes' &&
    (v as { bytes?: unknown }).bytes instanceof Uint8Array
  );
}

/** A C string argument (a path): quoted. */
function str(v: TraceValue): string {
  return typeof v === 'string' ? JSON.stringify(v) : value(v);
}

/** Any value, as C would show it: numbers in decimal, strings quoted, structures as {field=value, ...}. */
function value(v: TraceValue): string {
  if (v === undefined) return 'NULL';
  if (v === null) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v.startsWith('<') ? v : JSON.stringify(v);
  if (isBytes(v)) return bytes(v);
  if (Array.isArray(v)) return `[${v.map(value).join(', ')}]`;
  return `{${Object.entries(v as Record<string, TraceValue>)
    .filter(([, x]) => x !== undefined)
    .map(([k, x]) => `${k}=${value(x)}`)
    .join(', ')}}`;
}

/** The byte count of a buffer value (a TraceBytes, or a received message's text). */
function lengthOf(v: TraceValue): number | undefined {
  if (isBytes(v)) return v.length;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const text = (v as Record<string, TraceValue>)['text'];
    if (text !== undefined && isBytes(text)) return text.length;
  }
  return undefined;
}

function field(v: TraceValue, name: string): TraceValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isBytes(v) ? (v as Record<string, TraceValue>)[name] : undefined;
}

/** IPC_SET's buffer or a *_ds as strace prints its perm part (and the rest, flat). */
function ipcDs(prefix: string, ds: TraceValue): string {
  if (typeof ds !== 'object' || ds === null || Array.isArray(ds) || isBytes(ds)) return value(ds);
  const parts: string[] = [];
  const perm = field(ds, 'perm');
  const p = perm !== undefined ? perm : ds;
  const permFields = ['key', 'uid', 'gid', 'cuid', 'cgid', 'mode'].filter((k) => field(p, k) !== undefined);
  const shown = permFields.map((k) => `${k}=${k === 'mode' ? octal(Number(field(p, k))) : k === 'key' ? ipcKey(field(p, k)) : value(field(p, k))}`);
  parts.push(`${prefix}_perm={${shown.join(', ')}}`);
  if (perm !== undefined) {
    for (const [k, x] of Object.entries(ds as Record<string, TraceValue>)) if (k !== 'perm' && x !== undefined) parts.push(`${prefix}_${k}=${value(x)}`);
  } else {
    for (const [k, x] of Object.entries(ds as Record<string, TraceValue>))
      if (!permFields.includes(k) && x !== undefined) parts.push(`${prefix}_${k}=${value(x)}`);
  }
  return `{${parts.join(', ')}}`;
}

/** A *ctl's buffer argument: what IPC_SET passed, what a STAT or INFO command filled (after success), else NULL. */
function ctlBuffer(prefix: string, cmdNo: TraceValue, set: TraceValue, r: TraceResult): string {
  if (cmdNo === IPC_SET) return ipcDs(prefix, set);
  if (r.status === 'ok') {
    const ds = field(r.value, 'ds');
    if (ds !== undefined) return ipcDs(prefix, ds);
    const info = field(r.value, 'info');
    if (info !== undefined) return value(info);
  }
  return 'NULL';
}

/** st_mode as strace prints it: the file type's name and the permission bits in octal. */
function fileMode(m: TraceValue): string {
  if (typeof m !== 'number') return value(m);
  const types: Readonly<Record<number, string>> = { 0o040000: 'S_IFDIR', 0o100000: 'S_IFREG', 0o120000: 'S_IFLNK' };
  const type = types[m & 0o170000];
  return type === undefined ? octal(m) : `${type}|${octal(m & 0o7777)}`;
}

/** A stat buffer as strace shows it, `{st_mode=S_IFREG|0644, st_size=2, ...}`, on success; its address otherwise. */
function statBuffer(v: TraceValue | undefined): string {
  if (v === undefined) return '0x0';
  const fields = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'blksize', 'blocks', 'size'].filter((k) => field(v, k) !== undefined);
  return `{${fields.map((k) => `st_${k}=${k === 'mode' ? fileMode(field(v, k)) : value(field(v, k))}`).join(', ')}}`;
}

/** A statfs buffer as strace shows it, `{f_type=TMPFS_MAGIC, f_bsize=4096, ...}`. */
function statfsBuffer(v: TraceValue | undefined): string {
  if (v === undefined) return '0x0';
  const shown = Object.entries(v as Record<string, TraceValue>).map(
    ([k, x]) => `f_${k}=${k === 'type' && x === 0x01021994 ? 'TMPFS_MAGIC' : k === 'flags' ? hex(x) : value(x)}`,
  );
  return `{${shown.join(', ')}}`;
}

/** A semop's sops, as strace's struct sembuf array. */
function sops(v: TraceValue): string {
  if (!Array.isArray(v)) return value(v);
  return `[${v
    .map((o: TraceValue) => `{sem_num=${value(field(o, 'semNum'))}, sem_op=${value(field(o, 'semOp'))}, sem_flg=${flags(field(o, 'semFlg'), SEM_FLAGS)}}`)
    .join(', ')}]`;
}

/** The access mode and flags of open(2). */
function openFlags(n: TraceValue): string {
  if (typeof n !== 'number') return value(n);
  const acc = n & 3;
  const mode = acc === O_WRONLY ? 'O_WRONLY' : acc === O_RDWR ? 'O_RDWR' : acc === 0 ? 'O_RDONLY' : `0x${acc.toString(16)}`;
  return flags(n & ~3, OPEN_FLAGS, false, mode).replace(/\|0$/, '');
}

/** A /dev/shm path for a shm_open name, as glibc builds it. */
function devShm(name: TraceValue): string {
  return typeof name === 'string' ? JSON.stringify(`/dev/shm/${name.replace(/^\/+/, '')}`) : value(name);
}

/** MountFlags as MS_ names. */
function mountFlags(f: TraceValue, base: string[]): string {
  const names = [...base];
  for (const [k, ms] of [
    ['readonly', 'MS_RDONLY'],
    ['nosuid', 'MS_NOSUID'],
    ['nodev', 'MS_NODEV'],
    ['noexec', 'MS_NOEXEC'],
  ] as const) {
    if (field(f, k) === true) names.push(ms);
  }
  return names.length === 0 ? '0' : names.join('|');
}

/** The name strace prints and the arguments, for one syscall event. */
function callLine(e: SyscallTraceEvent): { name: string; args: string[] } {
  const a = e.args;
  const r = e.result;
  const ok = r.status === 'ok' ? r.value : undefined;
  switch (e.call) {
    case 'shmget':
      return { name: 'shmget', args: [ipcKey(a[0]), value(a[1]), flags(a[2], SHMGET_FLAGS, true)] };
    case 'shmat':
      return { name: 'shmat', args: [value(a[0]), ptr(a[1]), flags(a[2], SHMAT_FLAGS)] };
    case 'shmdt':
      return { name: 'shmdt', args: [ptr(a[0])] };
    case 'shmctl':
      return { name: 'shmctl', args: [value(a[0]), cmd(a[1], SHMCTL_CMDS), ctlBuffer('shm', a[1], a[2], r)] };
    case 'munmap':
      return { name: 'munmap', args: [ptr(a[0]), value(a[1])] };
    case 'mprotect':
      return { name: 'mprotect', args: [ptr(a[0]), value(a[1]), flags(a[2], PROT_FLAGS, false, a[2] === 0 ? 'PROT_NONE' : undefined).replace(/\|0$/, '')] };
    case 'madvise':
      return { name: 'madvise', args: [ptr(a[0]), value(a[1]), cmd(a[2], MADV_NAMES)] };
    case 'mmap':
      return {
        name: 'mmap',
        args: [
          'NULL',
          value(a[1]),
          a[2] === 0 ? 'PROT_NONE' : flags(a[2], PROT_FLAGS),
          mapFlags(a[3]),
          value(a[0]),
          a[4] === undefined || a[4] === 0 || a[4] === 0n ? '0' : hex(a[4]),
        ],
      };
    case 'futexWait':
      return {
        name: 'futex',
        args: [
          ptr(a[0]),
          'FUTEX_WAIT',
          value(a[1]),
          a[2] === undefined ? 'NULL' : `{tv_sec=${Math.floor(Number(a[2]) / 1000)}, tv_nsec=${(Number(a[2]) % 1000) * 1e6}}`,
        ],
      };
    case 'futexWake':
      return { name: 'futex', args: [ptr(a[0]), 'FUTEX_WAKE', value(a[1])] };
    case 'fork':
      return { name: 'fork', args: [] };
    case 'exit':
      return { name: 'exit_group', args: ['0'] };
    case 'open': {
      const creat = typeof a[1] === 'number' && (a[1] & O_CREAT) !== 0;
      return { name: 'openat', args: ['AT_FDCWD', str(a[0]), openFlags(a[1]), ...(creat ? [octal(Number(a[2] ?? 0o666))] : [])] };
    }
    case 'close':
      return { name: 'close', args: [value(a[0])] };
    case 'readFd':
      return { name: 'read', args: [value(a[0]), ok !== undefined ? value(ok) : '0x0', value(a[1])] };
    case 'pread':
      return { name: 'pread64', args: [value(a[0]), ok !== undefined ? value(ok) : '0x0', value(a[1]), value(a[2])] };
    case 'writeFd':
      return { name: 'write', args: [value(a[0]), value(a[1]), String(lengthOf(a[1]) ?? value(a[1]))] };
    case 'pwrite':
      return { name: 'pwrite64', args: [value(a[0]), value(a[1]), String(lengthOf(a[1]) ?? value(a[1])), value(a[2])] };
    case 'ftruncate':
      return { name: 'ftruncate', args: [value(a[0]), value(a[1])] };
    case 'fallocate':
      return { name: 'fallocate', args: [value(a[0]), value(a[1]), value(a[2]), value(a[3])] };
    case 'fstat':
      return { name: 'fstat', args: [value(a[0]), statBuffer(ok)] };
    case 'stat':
      return { name: 'stat', args: [str(a[0]), statBuffer(ok)] };
    case 'statfs':
      return { name: 'statfs', args: [str(a[0]), statfsBuffer(ok)] };
    case 'mkdir':
      return { name: 'mkdir', args: [str(a[0]), octal(Number(a[1] ?? 0o777))] };
    case 'rmdir':
      return { name: 'rmdir', args: [str(a[0])] };
    case 'unlink':
      return { name: 'unlink', args: [str(a[0])] };
    case 'memfdCreate':
      return { name: 'memfd_create', args: [str(a[0]), flags(a[1], MFD_FLAGS)] };
    case 'fcntl':
      return { name: 'fcntl', args: [value(a[0]), cmd(a[1], FCNTL_CMDS), value(a[2] ?? 0)] };
    case 'shmOpen': {
      const creat = typeof a[1] === 'number' && (a[1] & O_CREAT) !== 0;
      return {
        name: 'openat',
        args: ['AT_FDCWD', devShm(a[0]), openFlags(typeof a[1] === 'number' ? a[1] | O_NOFOLLOW | O_CLOEXEC : a[1]), ...(creat ? [octal(Number(a[2]))] : [])],
      };
    }
    case 'shmUnlink':
      return { name: 'unlink', args: [devShm(a[0])] };
    case 'mountTmpfs':
      return { name: 'mount', args: ['"tmpfs"', str(a[1]), '"tmpfs"', mountFlags(a[2], []), 'NULL'] };
    case 'bindMount':
      return { name: 'mount', args: [str(a[0]), str(a[1]), 'NULL', mountFlags(a[2], ['MS_BIND']), 'NULL'] };
    case 'umount':
      return { name: 'umount2', args: [str(a[0]), flags(a[1] ?? 0, UMOUNT_FLAGS)] };
    case 'remount':
      return { name: 'mount', args: ['NULL', str(a[0]), 'NULL', 'MS_REMOUNT', value(a[1])] };
    case 'unshareIpc':
      return { name: 'unshare', args: ['CLONE_NEWIPC'] };
    case 'setMemlockLimit':
      return { name: 'prlimit64', args: ['0', 'RLIMIT_MEMLOCK', `{rlim_cur=${value(a[0])}, rlim_max=RLIM64_INFINITY}`, 'NULL'] };
    case 'setFsizeLimit':
      return { name: 'prlimit64', args: ['0', 'RLIMIT_FSIZE', `{rlim_cur=${value(a[0])}, rlim_max=RLIM64_INFINITY}`, 'NULL'] };
    case 'writeSysctl':
      return { name: 'sysctl', args: [str(`kernel.${String(a[0])}`), value(a[1])] };
    case 'readSysctl':
      return { name: 'sysctl', args: [str(`kernel.${String(a[0])}`)] };
    case 'semget':
      return { name: 'semget', args: [ipcKey(a[0]), value(a[1]), flags(a[2], IPCGET_FLAGS, true)] };
    case 'semop':
      return { name: 'semop', args: [value(a[0]), sops(a[1]), String(Array.isArray(a[1]) ? a[1].length : value(a[1]))] };
    case 'semtimedop': {
      const t = a[2];
      const timeout = t === undefined ? 'NULL' : `{tv_sec=${value(field(t, 'sec'))}, tv_nsec=${value(field(t, 'nsec'))}}`;
      return { name: 'semtimedop', args: [value(a[0]), sops(a[1]), String(Array.isArray(a[1]) ? a[1].length : value(a[1])), timeout] };
    }
    case 'semctl': {
      const c = a[2];
      let arg = 'NULL';
      if (c === SETVAL) arg = value(a[3] ?? 0);
      else if (c === SETALL) arg = value(a[3]);
      else if (c === GETALL && ok !== undefined) arg = value(field(ok, 'values'));
      else arg = ctlBuffer('sem', c, a[3], r);
      return { name: 'semctl', args: [value(a[0]), value(a[1]), cmd(c, SEMCTL_CMDS), arg] };
    }
    case 'msgget':
      return { name: 'msgget', args: [ipcKey(a[0]), flags(a[1], IPCGET_FLAGS, true)] };
    case 'msgsnd':
      return { name: 'msgsnd', args: [value(a[0]), `{${value(a[1])}, ${value(a[2])}}`, String(lengthOf(a[2]) ?? value(a[2])), flags(a[3], MSG_FLAGS)] };
    case 'msgrcv': {
      const buf = ok !== undefined ? `{${value(field(ok, 'mtype'))}, ${value(field(ok, 'text'))}}` : '0x0';
      return { name: 'msgrcv', args: [value(a[0]), buf, value(a[1]), value(a[2]), flags(a[3], MSG_FLAGS)] };
    }
    case 'msgctl':
      return { name: 'msgctl', args: [value(a[0]), cmd(a[1], MSGCTL_CMDS), ctlBuffer('msg', a[1], a[2], r)] };
    default:
      return { name: e.call, args: a.map(value) };
  }
}

/** What follows ` = ` for a call's result. */
function resultText(call: string, r: TraceResult): string {
  switch (r.status) {
    case 'error':
      return `-1 ${r.errno} (${strerror(r.errno)})`;
    case 'fault':
      return `? ${r.signal} {si_addr=${hex(r.addr)}}`;
    case 'blocked':
      return '?';
    case 'ok':
      break;
  }
  const v = r.value;
  if (call === 'exit') return '?';
  if (call === 'shmat' || call === 'mmap') return hex(v);
  if (v === undefined) return '0';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  const n = lengthOf(v);
  if (n !== undefined) return String(n);
  const ret = field(v, 'ret');
  if (ret !== undefined) return value(ret);
  if (Array.isArray(v)) return value(v);
  return '0';
}

/** The line's head: the process's name, else its pid (as strace -f -o prints it). */
function who(pid: number | undefined, names: TraceNames | undefined): string {
  if (pid === undefined) return '';
  return `${names?.get(pid) ?? String(pid)} `;
}

/**
 * `e` as strace prints it, headed by the process's name from `names` (else
 * its pid): `A shmat(65536, NULL, 0) = 0x7f0000000000`,
 * `B shmat(65536, NULL, 0) = -1 EACCES (Permission denied)`; a call that
 * sleeps `A semop(0, [...], 1 <unfinished ...>` and its wake
 * `A <... semop resumed>) = 0`; a fault `A --- SIGSEGV {si_signo=SIGSEGV,
 * si_addr=0x...} ---`; an interrupt the signal that it is, `B --- SIGUSR1
 * {si_signo=SIGUSR1, si_code=SI_USER} ---`. Frames and container steps, which strace has no
 * line for, print in the same `--- ... ---` form.
 */
export function formatTraceEvent(e: TraceEvent, names?: TraceNames): string {
  switch (e.kind) {
    case 'syscall': {
      // Process.interrupt() is the signal the scenario's `interrupt` sends (SIGUSR1, natively), not a call.
      if (e.call === 'interrupt') return `${who(e.pid, names)}--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER} ---`;
      const { name, args } = callLine(e);
      if (e.result.status === 'blocked') return `${who(e.pid, names)}${name}(${args.join(', ')} <unfinished ...>`;
      return `${who(e.pid, names)}${name}(${args.join(', ')}) = ${resultText(e.call, e.result)}`;
    }
    case 'wake': {
      const { name } = callLine({ kind: 'syscall', pid: e.pid, call: e.call, args: [], result: e.result });
      const by = e.by !== undefined ? ` (woken by ${names?.get(e.by) ?? e.by})` : '';
      return `${who(e.pid, names)}<... ${name} resumed>) = ${resultText(e.call, e.result)}${by}`;
    }
    case 'fault':
      return `${who(e.pid, names)}--- ${e.signal} {si_signo=${e.signal}, si_addr=${hex(e.addr)}} ---`;
    case 'frame': {
      const span = e.count === 1 ? `frame ${e.first}` : `frames ${e.first}-${e.first + e.count - 1}`;
      return `${who(e.pid, names)}--- ${span} ${e.op === 'alloc' ? 'allocated' : 'freed'} ---`;
    }
    case 'container': {
      const pid = e.pid !== undefined ? `, pid ${names?.get(e.pid) ?? e.pid}` : '';
      return `--- container ${e.name}: ${e.step} = ${e.exitStatus}${pid} ---`;
    }
  }
}

/**
 * `e` as one line of JSON: bigints that a number holds exactly become
 * numbers and the rest decimal strings; a buffer is its length and its
 * first bytes in hex. With `names`, a process named there gets `name`
 * next to its `pid`.
 */
export function traceEventToJson(e: TraceEvent, names?: TraceNames): string {
  const pid = 'pid' in e ? e.pid : undefined;
  const name = pid !== undefined ? names?.get(pid) : undefined;
  const shown = name === undefined ? e : { ...e, name };
  return JSON.stringify(shown, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('');
    return v;
  });
}
