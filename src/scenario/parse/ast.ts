/**
 * The parsed form of a scenario (see docs/oracle-protocol.md for the flat text
 * form the native backend receives). The parser resolves every name before
 * anything runs: processes, namespaces and variables become slot numbers, so a
 * backend never looks a name up. The source names stay in `Program` because the
 * runner prints them (process names for pids, variable names for ids).
 *
 * Integers that can exceed 2^53 (sizes, lengths, addresses, sysctl values and
 * expectation numbers) are bigints; the rest are numbers.
 */

/** The four capabilities a scenario can grant one by one. */
export type CapName = 'CAP_IPC_OWNER' | 'CAP_IPC_LOCK' | 'CAP_SYS_ADMIN' | 'CAP_SYS_RESOURCE';

/** A process's capability set: the full set, or exactly the listed ones. */
export type Caps = 'all' | readonly CapName[];

/** The per-namespace sysctls a scenario may write, without the `kernel.` prefix. */
export type SysctlName =
  | 'shmmax'
  | 'shmall'
  | 'shmmni'
  | 'shm_rmid_forced'
  | 'shm_next_id'
  | 'sem'
  | 'msgmax'
  | 'msgmnb'
  | 'msgmni'
  | 'sem_next_id'
  | 'msg_next_id';

/** The global (not per-namespace) sysctls a scenario may write on the emulator only, with their prefix. */
export type GlobalSysctlName = 'vm.max_map_count';

/** The shmctl commands a scenario may name (a number stands for any other). */
export type ShmctlCmdName = 'IPC_RMID' | 'IPC_SET' | 'IPC_STAT' | 'IPC_INFO' | 'SHM_LOCK' | 'SHM_UNLOCK' | 'SHM_STAT' | 'SHM_INFO' | 'SHM_STAT_ANY';

/** An id or index argument: a global numeric slot, or a literal C `int`. */
export type IdArg = { readonly kind: 'slot'; readonly slot: number } | { readonly kind: 'literal'; readonly value: number };

/**
 * An address argument. A literal is already reduced to a u64 (`0` is the
 * literal 0). A slot reads the statement's own process's table of addresses;
 * `offset` is signed and the sum is taken modulo 2^64.
 */
export type AddrArg = { readonly kind: 'literal'; readonly value: bigint } | { readonly kind: 'slot'; readonly slot: number; readonly offset: bigint };

/** Where a checked field lives in a result line. */
export type FieldGroup = 'line' | 'ds' | 'info' | 'shm_info' | 'seminfo' | 'msginfo' | 'statfs' | 'stat' | 'memcg';

/**
 * A file descriptor argument: a descriptor variable bound in the statement's
 * own process (each process has its own table, copied at fork), or a literal.
 */
export type FdArg = { readonly kind: 'literal'; readonly value: number } | { readonly kind: 'slot'; readonly slot: number };

/** What `write`/`pwrite` on a descriptor store: the string's bytes, or `bytes=N` zero bytes. */
export type FileData = { readonly kind: 'bytes'; readonly bytes: Uint8Array } | { readonly kind: 'zeros'; readonly count: number };

/**
 * The value side of `FIELD=VALUE`.
 *
 * A name is resolved by the checker at run time, after the statement ran: it
 * matches when the field printed exactly that string (`IPC_PRIVATE`, `t`, a
 * process name, a variable name as `ret` prints it), or, when `numSlot` is
 * set, when the field's number equals that numeric slot's current value.
 * `numSlot` is set when the name is a numeric variable bound by this statement
 * or an earlier one; the parser cannot tell which reading the author meant,
 * so the checker accepts either.
 */
export type ExpectValue =
  | { readonly kind: 'number'; readonly value: bigint }
  | { readonly kind: 'string'; readonly bytes: Uint8Array }
  | { readonly kind: 'name'; readonly name: string; readonly numSlot?: number }
  | { readonly kind: 'list'; readonly values: readonly bigint[] };

/** One `FIELD=VALUE` check after `ok`; `text` is the token as written. */
export interface FieldCheck {
  readonly field: string;
  readonly group: FieldGroup;
  readonly value: ExpectValue;
  readonly text: string;
}

/**
 * A statement's `=> EXPECTATION`. `text` is the expectation's tokens as
 * written, joined by single spaces (what a failure report quotes). An errno
 * alias (EWOULDBLOCK, EDEADLOCK, ENOTSUP) is stored under the name Linux
 * prints for its number, since that is what a backend reports.
 */
export type Expectation =
  | { readonly kind: 'ok'; readonly checks: readonly FieldCheck[]; readonly text: string }
  | { readonly kind: 'errno'; readonly errno: string; readonly text: string }
  | { readonly kind: 'signal'; readonly signal: SignalName; readonly text: string }
  /** `=> blocks`: the call blocked (or, on `wait`, is still blocked). */
  | { readonly kind: 'blocks'; readonly text: string };

/** The signals a result can report: the faults (an OOM kill is reported as exit status 137 instead). */
export type SignalName = 'SIGSEGV' | 'SIGBUS';

/**
 * What every statement carries. `bind` is only ever set on shmget and shmctl
 * (a numeric slot), shmat and mmap (an address slot) and open (a descriptor
 * slot); it sits here so a runner can read it without narrowing.
 */
interface StatementBase {
  /** The scenario line, from 1. */
  readonly line: number;
  /**
   * The column of the statement's first token, from 1, where a run-time
   * scenario error names it; absent means 1, so the statements of lines
   * that start at their first character stay as they were.
   */
  readonly col?: number;
  readonly bind?: number;
  readonly expect?: Expectation;
}

/**
 * Starts process `proc` in namespace `ns`; `caps` has its default applied.
 * With `container`, the process is started inside that running container
 * (isula exec) instead, in the container's namespaces and memory cgroup;
 * `ns` is then unused (0).
 */
export interface ProcStmt extends StatementBase {
  readonly op: 'proc';
  readonly proc: number;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly caps: Caps;
  readonly ns: number;
  readonly container?: string;
}

/** `parent` forks; `child` is the new process's index. */
export interface ForkStmt extends StatementBase {
  readonly op: 'fork';
  readonly parent: number;
  readonly child: number;
}

/** Process `proc` exits. */
export interface ExitStmt extends StatementBase {
  readonly op: 'exit';
  readonly proc: number;
}

/**
 * Writes `value` (in decimal, sign kept) to kernel.`name` of namespace `ns`,
 * or to the global `vm.max_map_count` (emulated only; `ns` is then 0).
 */
export interface SysctlStmt extends StatementBase {
  readonly op: 'sysctl';
  readonly ns: number;
  readonly name: SysctlName | GlobalSysctlName;
  readonly value: bigint;
  /** kernel.sem only: its four numbers (semmsl, semmns, semopm, semmni); `value` is then the first. */
  readonly values?: readonly bigint[];
}

/**
 * Sets the soft RLIMIT_MEMLOCK (`memlock`) or RLIMIT_FSIZE (`fsize`), whichever
 * is there; `-1` in the scenario is already RLIM_INFINITY here.
 */
export type RlimitStmt = StatementBase & {
  readonly op: 'rlimit';
  readonly proc: number;
} & ({ readonly memlock: bigint; readonly fsize?: undefined } | { readonly fsize: bigint; readonly memlock?: undefined });

/**
 * shmget. `key` is the signed 32-bit key_t the kernel sees; `keyWritten` is
 * the scenario's value before truncation (0 for IPC_PRIVATE). With
 * `keySlot`, KEY was a key variable an ftok bound: the key is that numeric
 * slot's value at run time (an unbound slot reads -1), and `key` is 0.
 */
export interface ShmgetStmt extends StatementBase {
  readonly op: 'shmget';
  readonly proc: number;
  readonly key: number;
  readonly keyWritten: bigint;
  readonly keySlot?: number;
  readonly size: bigint;
  readonly flags: number;
}

/** shmat. */
export interface ShmatStmt extends StatementBase {
  readonly op: 'shmat';
  readonly proc: number;
  readonly id: IdArg;
  readonly addr: AddrArg;
  readonly flags: number;
}

/** shmdt. */
export interface ShmdtStmt extends StatementBase {
  readonly op: 'shmdt';
  readonly proc: number;
  readonly addr: AddrArg;
}

/**
 * shmctl. `cmdName` is set when the command was written as a name: then the
 * call uses the command's own buffer and the result carries its structure.
 * `set` is present exactly when `cmdName` is IPC_SET; uid and gid are already
 * truncated to u32, mode is as written.
 */
export interface ShmctlStmt extends StatementBase {
  readonly op: 'shmctl';
  readonly proc: number;
  readonly id: IdArg;
  readonly cmd: number;
  readonly cmdName?: ShmctlCmdName;
  readonly set?: { readonly uid: number; readonly gid: number; readonly mode: number };
}

/** munmap. */
export interface MunmapStmt extends StatementBase {
  readonly op: 'munmap';
  readonly proc: number;
  readonly addr: AddrArg;
  readonly len: bigint;
}

/** mprotect. */
export interface MprotectStmt extends StatementBase {
  readonly op: 'mprotect';
  readonly proc: number;
  readonly addr: AddrArg;
  readonly len: bigint;
  readonly prot: number;
}

/** Stores `data` at `addr`. */
export interface WriteStmt extends StatementBase {
  readonly op: 'write';
  readonly proc: number;
  readonly addr: AddrArg;
  readonly data: Uint8Array;
}

/** Stores `len` copies of `byte` from `addr`. */
export interface FillStmt extends StatementBase {
  readonly op: 'fill';
  readonly proc: number;
  readonly addr: AddrArg;
  readonly len: bigint;
  readonly byte: number;
}

/** Loads `len` bytes from `addr`. */
export interface ReadStmt extends StatementBase {
  readonly op: 'read';
  readonly proc: number;
  readonly addr: AddrArg;
  readonly len: bigint;
}

// ---- Version 2: System V semaphores and message queues.

/** The semctl commands a scenario may name (a number stands for any other). */
export type SemctlCmdName =
  | 'IPC_RMID'
  | 'IPC_SET'
  | 'IPC_STAT'
  | 'IPC_INFO'
  | 'SEM_INFO'
  | 'SEM_STAT'
  | 'SEM_STAT_ANY'
  | 'GETVAL'
  | 'SETVAL'
  | 'GETALL'
  | 'SETALL'
  | 'GETPID'
  | 'GETNCNT'
  | 'GETZCNT';

/** The msgctl commands a scenario may name. */
export type MsgctlCmdName = 'IPC_RMID' | 'IPC_SET' | 'IPC_STAT' | 'IPC_INFO' | 'MSG_INFO' | 'MSG_STAT' | 'MSG_STAT_ANY';

/** semget; `key` as for shmget. */
export interface SemgetStmt extends StatementBase {
  readonly op: 'semget';
  readonly proc: number;
  readonly key: number;
  readonly keyWritten: bigint;
  /** As shmget's. */
  readonly keySlot?: number;
  readonly nsems: number;
  readonly flags: number;
}

/** One struct sembuf, already converted as C would: semNum u16, semOp and semFlg i16. */
export interface SemOpArg {
  readonly semNum: number;
  readonly semOp: number;
  readonly semFlg: number;
}

/** semop, or semtimedop with a relative timeout in milliseconds. */
export interface SemopStmt extends StatementBase {
  readonly op: 'semop' | 'semtimedop';
  readonly proc: number;
  readonly id: IdArg;
  readonly sops: readonly SemOpArg[];
  /** semtimedop only. */
  readonly timeoutMs?: bigint;
}

/**
 * semctl. `semnum` is the C int passed; `val` is SETVAL's int; `vals` are
 * SETALL's values as the unsigned shorts the kernel reads; `set` is IPC_SET's.
 */
export interface SemctlStmt extends StatementBase {
  readonly op: 'semctl';
  readonly proc: number;
  readonly id: IdArg;
  readonly semnum: number;
  readonly cmd: number;
  readonly cmdName?: SemctlCmdName;
  readonly set?: { readonly uid: number; readonly gid: number; readonly mode: number };
  readonly val?: number;
  readonly vals?: readonly number[];
}

/** msgget. */
export interface MsggetStmt extends StatementBase {
  readonly op: 'msgget';
  readonly proc: number;
  readonly key: number;
  readonly keyWritten: bigint;
  /** As shmget's. */
  readonly keySlot?: number;
  readonly flags: number;
}

/** msgsnd of a string's bytes or of `count` zero bytes (a negative count is a negative msgsz). */
export interface MsgsndStmt extends StatementBase {
  readonly op: 'msgsnd';
  readonly proc: number;
  readonly id: IdArg;
  readonly mtype: bigint;
  readonly data: { readonly kind: 'bytes'; readonly bytes: Uint8Array } | { readonly kind: 'zeros'; readonly count: bigint };
  readonly flags: number;
}

/** msgrcv into a buffer of `maxsize` text bytes (signed: a negative one is EINVAL). */
export interface MsgrcvStmt extends StatementBase {
  readonly op: 'msgrcv';
  readonly proc: number;
  readonly id: IdArg;
  readonly maxsize: bigint;
  readonly msgtyp: bigint;
  readonly flags: number;
}

/** msgctl; `set` carries IPC_SET's four fields, qbytes already truncated to the int the kernel reads. */
export interface MsgctlStmt extends StatementBase {
  readonly op: 'msgctl';
  readonly proc: number;
  readonly id: IdArg;
  readonly cmd: number;
  readonly cmdName?: MsgctlCmdName;
  readonly set?: { readonly uid: number; readonly gid: number; readonly mode: number; readonly qbytes: bigint };
}

// ---- Version 2: blocking calls.

/**
 * `NAME wait`: collects the result of the call process `proc` is blocked in
 * (semop, semtimedop, msgsnd or msgrcv), or says it is still blocked.
 * Whether it has such a call is a run-time fact (see result/blocking.ts).
 */
export interface WaitStmt extends StatementBase {
  readonly op: 'wait';
  readonly proc: number;
}

/** `NAME interrupt`: a signal whose handler returns (no SA_RESTART); a blocked call ends with EINTR. */
export interface InterruptStmt extends StatementBase {
  readonly op: 'interrupt';
  readonly proc: number;
}

/** `sleep MS`: lets `ms` milliseconds pass (no process; the scenario's clock on the emulator, real time natively). */
export interface SleepStmt extends StatementBase {
  readonly op: 'sleep';
  readonly ms: bigint;
}

// ---- Extensions: tmpfs, files, dd, and the iSulad host channel (docs/scenario-extensions.md).

/** `tmpfs mount PATH size=N [nr_inodes=N] [mode=N]`, as root on the host. */
export interface TmpfsMountStmt extends StatementBase {
  readonly op: 'tmpfs';
  readonly path: string;
  readonly size: bigint;
  /** undefined: the kernel's default (half of RAM's pages). */
  readonly nrInodes?: bigint;
  /** undefined: tmpfs's default root mode 01777. */
  readonly mode?: number;
}

/** `mount --bind [-o ro] SRC DST`, as root on the host. */
export interface BindMountStmt extends StatementBase {
  readonly op: 'mount';
  readonly source: string;
  readonly target: string;
  readonly readonly: boolean;
}

/** `host mkdir PATH`: mkdir -p on the host as root, mode 0755. */
export interface HostMkdirStmt extends StatementBase {
  readonly op: 'host';
  readonly path: string;
}

/** `meminfo total=BYTES available=BYTES`: what isula reads from /proc/meminfo. Emulated only. */
export interface MeminfoStmt extends StatementBase {
  readonly op: 'meminfo';
  readonly total: bigint;
  readonly available: bigint;
}

/** The isula subcommands a scenario can run. */
export type IsulaCmd = 'create' | 'run' | 'start' | 'stop' | 'restart' | 'rm';

/** `isula CMD [options] NAME`. Emulated only. */
export interface IsulaStmt extends StatementBase {
  readonly op: 'isula';
  readonly cmd: IsulaCmd;
  readonly name: string;
  readonly rm: boolean;
  readonly force: boolean;
  /** `-m SIZE` (`--memory`), as typed (the engine reads it as isula does). */
  readonly memory?: string;
  readonly hostChannel?: string;
  /** `--ipc MODE`, as typed (the engine decides whether it is one). */
  readonly ipc?: string;
  /** `--shm-size SIZE`, as typed. */
  readonly shmSize?: string;
}

/**
 * `checkpoint NAME` saves the whole kernel as an image called NAME;
 * `restore NAME` carries on from that image in a fresh kernel, as if
 * nothing happened in between. Images live in the run's image store.
 * Emulated only.
 */
export interface ImageStmt extends StatementBase {
  readonly op: 'checkpoint' | 'restore';
  readonly image: string;
}

/** `memcg NAME`: the memory cgroup of a container's latest start. Emulated only. */
export interface MemcgStmt extends StatementBase {
  readonly op: 'memcg';
  readonly name: string;
}

/** open(2); binds a descriptor variable. `mode` is before the umask (022). */
export interface OpenStmt extends StatementBase {
  readonly op: 'open';
  readonly proc: number;
  readonly path: string;
  readonly flags: number;
  readonly mode: number;
}

/** close(2). */
export interface CloseStmt extends StatementBase {
  readonly op: 'close';
  readonly proc: number;
  readonly fd: FdArg;
}

/** write(2) at the file position, or pwrite(2) at `offset`. */
export interface FileWriteStmt extends StatementBase {
  readonly op: 'fwrite';
  readonly proc: number;
  readonly fd: FdArg;
  readonly data: FileData;
  readonly offset?: bigint;
}

/** read(2) of up to `len` bytes at the file position, or pread(2) at `offset`. */
export interface FileReadStmt extends StatementBase {
  readonly op: 'fread';
  readonly proc: number;
  readonly fd: FdArg;
  readonly len: bigint;
  readonly offset?: bigint;
}

/** unlink(2), mkdir(2), rmdir(2), statfs(2), stat(2) of a path. */
export interface PathStmt extends StatementBase {
  readonly op: 'unlink' | 'mkdir' | 'rmdir' | 'statfs' | 'stat';
  readonly proc: number;
  readonly path: string;
  /** mkdir only: before the umask (022). */
  readonly mode: number;
}

/** ftruncate(2). */
export interface FtruncateStmt extends StatementBase {
  readonly op: 'ftruncate';
  readonly proc: number;
  readonly fd: FdArg;
  readonly len: bigint;
}

/** fallocate(2). */
export interface FallocateStmt extends StatementBase {
  readonly op: 'fallocate';
  readonly proc: number;
  readonly fd: FdArg;
  readonly mode: number;
  readonly offset: bigint;
  readonly len: bigint;
}

/** mmap(2) of a descriptor; binds an address variable. */
export interface MmapStmt extends StatementBase {
  readonly op: 'mmap';
  readonly proc: number;
  readonly fd: FdArg;
  readonly len: bigint;
  readonly prot: number;
  readonly flags: number;
  readonly offset: bigint;
  /** `at=ADDR`: the hint, or with MAP_FIXED the address; absent means 0. */
  readonly at?: AddrArg;
}

/** `dd if=/dev/zero of=PATH bs=N count=N`, run by the process itself. */
export interface DdStmt extends StatementBase {
  readonly op: 'dd';
  readonly proc: number;
  readonly path: string;
  readonly bs: bigint;
  readonly count: bigint;
}

// ---- POSIX shared memory, memfd, seals and the calls external test suites need (docs/scenario-language.md).

/** shm_open(3) as glibc 2.38 does it; binds a descriptor. `name` is the object's name as written; `mode` is before the umask. */
export interface ShmOpenStmt extends StatementBase {
  readonly op: 'shm_open';
  readonly proc: number;
  readonly name: Uint8Array;
  readonly flags: number;
  readonly mode: number;
}

/** shm_unlink(3) as glibc 2.38 does it. */
export interface ShmUnlinkStmt extends StatementBase {
  readonly op: 'shm_unlink';
  readonly proc: number;
  readonly name: Uint8Array;
}

/** memfd_create(2); binds a descriptor. */
export interface MemfdCreateStmt extends StatementBase {
  readonly op: 'memfd_create';
  readonly proc: number;
  readonly name: Uint8Array;
  readonly flags: number;
}

/** The fcntl commands a scenario may name (a number stands for any other). */
export type FcntlCmdName = 'F_GETFD' | 'F_SETFD' | 'F_GETFL' | 'F_ADD_SEALS' | 'F_GET_SEALS';

/** fcntl(2) with an int argument (0 when the command takes none). */
export interface FcntlStmt extends StatementBase {
  readonly op: 'fcntl';
  readonly proc: number;
  readonly fd: FdArg;
  readonly cmd: number;
  readonly cmdName?: FcntlCmdName;
  readonly arg: number;
}

/** fstat(2). */
export interface FstatStmt extends StatementBase {
  readonly op: 'fstat';
  readonly proc: number;
  readonly fd: FdArg;
}

/** `cmpaddr A B`: whether two addresses of the process are equal (ret 0) or differ (ret 1); addresses never print. */
export interface CmpaddrStmt extends StatementBase {
  readonly op: 'cmpaddr';
  readonly proc: number;
  readonly a: AddrArg;
  readonly b: AddrArg;
}

/** The files of /proc/sysvipc. */
export type SysvipcName = 'shm' | 'sem' | 'msg';

/** Reads /proc/sysvipc/FILE as the process sees it (its IPC namespace). */
export interface SysvipcStmt extends StatementBase {
  readonly op: 'sysvipc';
  readonly proc: number;
  readonly file: SysvipcName;
}

/** msync, madvise, mlock (mlock2 when `flags` is set), munlock and mincore of a range; `flags` is MS_*, MADV_* or MLOCK_*. */
export interface RangeStmt extends StatementBase {
  readonly op: 'msync' | 'madvise' | 'mlock' | 'munlock' | 'mincore';
  readonly proc: number;
  readonly addr: AddrArg;
  readonly len: bigint;
  readonly flags?: number;
}

/** lseek(2). */
export interface LseekStmt extends StatementBase {
  readonly op: 'lseek';
  readonly proc: number;
  readonly fd: FdArg;
  readonly offset: bigint;
  readonly whence: number;
}

/** umask(2): prints the old mask. */
export interface UmaskStmt extends StatementBase {
  readonly op: 'umask';
  readonly proc: number;
  readonly mask: number;
}

/**
 * ftok(3) of `path` with `proj` (an int; glibc uses its low byte). The key
 * it binds (a key variable) depends on st_dev and st_ino, which differ
 * between backends, so it never prints as a number.
 */
export interface FtokStmt extends StatementBase {
  readonly op: 'ftok';
  readonly proc: number;
  readonly path: string;
  readonly proj: number;
}

/** One scenario statement, discriminated by `op`. */
export type Statement =
  | ProcStmt
  | ForkStmt
  | ExitStmt
  | SysctlStmt
  | RlimitStmt
  | ShmgetStmt
  | ShmatStmt
  | ShmdtStmt
  | ShmctlStmt
  | MunmapStmt
  | MprotectStmt
  | WriteStmt
  | FillStmt
  | ReadStmt
  | SemgetStmt
  | SemopStmt
  | SemctlStmt
  | MsggetStmt
  | MsgsndStmt
  | MsgrcvStmt
  | MsgctlStmt
  | WaitStmt
  | InterruptStmt
  | SleepStmt
  | TmpfsMountStmt
  | BindMountStmt
  | HostMkdirStmt
  | MeminfoStmt
  | IsulaStmt
  | MemcgStmt
  | ImageStmt
  | OpenStmt
  | CloseStmt
  | FileWriteStmt
  | FileReadStmt
  | PathStmt
  | FtruncateStmt
  | FallocateStmt
  | MmapStmt
  | DdStmt
  | ShmOpenStmt
  | ShmUnlinkStmt
  | MemfdCreateStmt
  | FcntlStmt
  | FstatStmt
  | CmpaddrStmt
  | SysvipcStmt
  | RangeStmt
  | LseekStmt
  | UmaskStmt
  | FtokStmt;

/** The statements that run on the host, not in a scenario process (`isHostSide` in table.ts tells them apart). */
export type HostSideStatement = SysctlStmt | SleepStmt | TmpfsMountStmt | BindMountStmt | HostMkdirStmt | MeminfoStmt | IsulaStmt | MemcgStmt | ImageStmt;

/**
 * A parsed, consistent scenario. Index i of each name table is the source
 * name of slot i: `procNames` in start order (proc or fork), `nsNames` with
 * `default` at 0 and the rest in order of first use, `numVars` and `addrVars`
 * in order of first binding. `procNs[i]` is process i's namespace, fixed for
 * its life (it is set at proc and inherited at fork).
 */
export interface Program {
  readonly statements: readonly Statement[];
  readonly procNames: readonly string[];
  readonly procNs: readonly number[];
  readonly nsNames: readonly string[];
  readonly numVars: readonly string[];
  readonly addrVars: readonly string[];
  /** Descriptor variables, in order of first binding (per-process values, like addresses); absent means none. */
  readonly fdVars?: readonly string[];
}
