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
export type SysctlName = 'shmmax' | 'shmall' | 'shmmni' | 'shm_rmid_forced' | 'shm_next_id';

/** The shmctl commands a scenario may name (a number stands for any other). */
export type ShmctlCmdName =
  | 'IPC_RMID'
  | 'IPC_SET'
  | 'IPC_STAT'
  | 'IPC_INFO'
  | 'SHM_LOCK'
  | 'SHM_UNLOCK'
  | 'SHM_STAT'
  | 'SHM_INFO'
  | 'SHM_STAT_ANY';

/** An id or index argument: a global numeric slot, or a literal C `int`. */
export type IdArg =
  | { readonly kind: 'slot'; readonly slot: number }
  | { readonly kind: 'literal'; readonly value: number };

/**
 * An address argument. A literal is already reduced to a u64 (`0` is the
 * literal 0). A slot reads the statement's own process's table of addresses;
 * `offset` is signed and the sum is taken modulo 2^64.
 */
export type AddrArg =
  | { readonly kind: 'literal'; readonly value: bigint }
  | { readonly kind: 'slot'; readonly slot: number; readonly offset: bigint };

/** Where a checked field lives in a result line. */
export type FieldGroup = 'line' | 'ds' | 'info' | 'shm_info';

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
  | { readonly kind: 'name'; readonly name: string; readonly numSlot?: number };

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
  | { readonly kind: 'signal'; readonly signal: 'SIGSEGV' | 'SIGBUS'; readonly text: string };

/**
 * What every statement carries. `bind` is only ever set on shmget and shmctl
 * (a numeric slot) and shmat (an address slot); it sits here so a runner can
 * read it without narrowing.
 */
interface StatementBase {
  /** The scenario line, from 1. */
  readonly line: number;
  readonly bind?: number;
  readonly expect?: Expectation;
}

/** Starts process `proc` in namespace `ns`; `caps` has its default applied. */
export interface ProcStmt extends StatementBase {
  readonly op: 'proc';
  readonly proc: number;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly caps: Caps;
  readonly ns: number;
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

/** Writes `value` (in decimal, sign kept) to kernel.`name` of namespace `ns`. */
export interface SysctlStmt extends StatementBase {
  readonly op: 'sysctl';
  readonly ns: number;
  readonly name: SysctlName;
  readonly value: bigint;
}

/** Sets RLIMIT_MEMLOCK's soft limit; `-1` in the scenario is already RLIM_INFINITY here. */
export interface RlimitStmt extends StatementBase {
  readonly op: 'rlimit';
  readonly proc: number;
  readonly memlock: bigint;
}

/**
 * shmget. `key` is the signed 32-bit key_t the kernel sees; `keyWritten` is
 * the scenario's value before truncation (0 for IPC_PRIVATE).
 */
export interface ShmgetStmt extends StatementBase {
  readonly op: 'shmget';
  readonly proc: number;
  readonly key: number;
  readonly keyWritten: bigint;
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
  | ReadStmt;

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
}
