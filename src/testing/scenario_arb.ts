/**
 * Scenario arbitraries: fast-check arbitraries of well-formed scenario TEXTS
 * (docs/scenario-language.md, the language `ipc-sentry scenario` runs) that
 * exercise System V shared memory, semaphores and message queues from
 * several processes and two IPC namespaces, optionally with semaphore and
 * queue calls that block, and POSIX shared memory, memfds, seals, file and
 * anonymous mappings and the memory calls (the `posix` mechanism). The project's differential fuzzer (test/fuzz,
 * scripts/fuzz.ts) runs them on the emulator and on the real kernel.
 *
 * How a text stays valid by construction: fast-check draws an abstract
 * script, a header of `proc` specs and a list of commands, each command being
 * a kind plus a handful of raw choice numbers. The renderer walks the script
 * with a model of what the parser knows (which processes run, which id and
 * address names are bound, and in which process) and turns each raw choice
 * into an argument that is legal at that point: a number picks from a list by
 * modulo, so any choice vector is meaningful, and a command that cannot apply
 * (an exit that would leave no process, a fork past the process cap) renders
 * as nothing. Shrinking therefore works on the abstract script (drop
 * commands, drive the choices towards 0, which is the first and plainest
 * entry of every list) and every shrunk script still renders to a scenario
 * the parser accepts. `renderScenario` checks that with parseScenario and
 * throws on a parse failure: that is a generator bug, never a property
 * failure to shrink.
 *
 * Two facts the parser cannot check depend on the run: SETALL must list
 * exactly the set's size (the renderer tracks it where it is sure, see
 * SemVar), and a process with a blocked call may only be named by `wait`,
 * `interrupt` and `exit` (the renderer asks the emulator whether a call
 * blocked, see Renderer.consult). Rendering stays a pure function of the
 * script, since the emulator is deterministic.
 *
 * The texts also suit a native run in a sandbox whose root lacks
 * CAP_SYS_RESOURCE (the fuzzer's machine); each rule is repeated where it
 * applies:
 *  - no process is granted CAP_SYS_RESOURCE by name: the native oracle
 *    refuses (exit 3, NativeUnavailable) any scenario that grants it
 *    explicitly;
 *  - a process whose capability set is `all` never raises memlock above the
 *    8 MiB hard limit: the scenario language says CAP_SYS_RESOURCE allows it,
 *    the sandbox's `all` lacks it, so the oracle refuses the scenario. Any
 *    other process may try (the kernel answers EPERM, which is reproducible);
 *  - likewise a `caps=all` process never sets a queue's qbytes above the
 *    lowest kernel.msgmnb the scenario may have set.
 *
 * Nothing here loads fast-check or a Node built-in: the arbitraries are built
 * from the caller's `fc` (see fast_check.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import { runEmulated } from '../scenario/emulated/emulated.js';
import { formatParseError, parseScenario } from '../scenario/parse/parse.js';
import type { RawResult } from '../scenario/result/raw.js';
import type { Arbitrary, FastCheck } from './fast_check.js';

/** A kind of abstract scenario command. */
export type ScenarioCommandKind =
  | 'shmget'
  | 'shmat'
  | 'shmctl'
  | 'access'
  | 'shmdt'
  | 'munmap'
  | 'mprotect'
  | 'fork'
  | 'exit'
  | 'sysctl'
  | 'rlimit'
  | 'semget'
  | 'semop'
  | 'semctl'
  | 'semSysctl'
  | 'msgget'
  | 'msgsnd'
  | 'msgrcv'
  | 'msgctl'
  | 'msgSysctl'
  | 'block'
  | 'sysvipc'
  | 'shmOpen'
  | 'shmUnlink'
  | 'memfd'
  | 'fcntl'
  | 'fileIo'
  | 'lseek'
  | 'mmapFile'
  | 'mmapAnon'
  | 'memCall'
  | 'umask'
  | 'cmpaddr';

/**
 * The mechanisms a generated scenario may use: System V shared memory,
 * semaphores and message queues, and `posix`: POSIX shared memory on a
 * /dev/shm tmpfs, memfds and their seals, file calls on them, file and
 * anonymous mappings (shared and private, copy-on-write across fork) and the
 * memory calls beside them (msync, madvise, mlock, mincore), lseek, umask,
 * cmpaddr.
 */
export type ScenarioMechanism = 'shm' | 'sem' | 'msg' | 'posix';

/** Every mechanism, the default of ScenarioArbOptions.mechanisms. */
export const SCENARIO_MECHANISMS: readonly ScenarioMechanism[] = ['shm', 'sem', 'msg', 'posix'];

/**
 * Each mechanism's kinds of abstract command, with their relative weights.
 * `sysvipc` (reading /proc/sysvipc back) goes with every System V mechanism,
 * where it has rows to show, and with posix, where it has none unless the
 * scenario mixes them.
 */
const MECHANISM_KINDS: { readonly [M in ScenarioMechanism]: Readonly<Partial<Record<ScenarioCommandKind, number>>> } = {
  shm: { shmget: 5, shmat: 5, shmctl: 5, access: 5, shmdt: 2, munmap: 1, mprotect: 1, sysctl: 1, rlimit: 1, sysvipc: 1 },
  sem: { semget: 5, semop: 7, semctl: 6, semSysctl: 1, sysvipc: 1 },
  msg: { msgget: 4, msgsnd: 6, msgrcv: 6, msgctl: 4, msgSysctl: 1, sysvipc: 1 },
  posix: {
    shmOpen: 4,
    shmUnlink: 2,
    memfd: 4,
    fcntl: 5,
    fileIo: 8,
    lseek: 2,
    mmapFile: 4,
    mmapAnon: 4,
    access: 6,
    munmap: 1,
    mprotect: 2,
    memCall: 5,
    umask: 1,
    cmpaddr: 1,
    sysvipc: 1,
    rlimit: 1,
    // Copy-on-write needs forks between the stores.
    fork: 2,
  },
};

/** Kinds every scenario uses, whatever its mechanisms. */
const COMMON_KINDS: Readonly<Partial<Record<ScenarioCommandKind, number>>> = { fork: 1, exit: 1 };

/**
 * With blocking calls, sem and msg scenarios also draw `block`: a `wait` or
 * `interrupt` for a blocked process, or an `interrupt` of a running one, or
 * a short `sleep`.
 */
const BLOCK_KINDS: Readonly<Partial<Record<ScenarioCommandKind, number>>> = { block: 3 };

/** One abstract command: what to do, and raw choices that the renderer resolves against the state. */
export interface ScenarioCommand {
  readonly kind: ScenarioCommandKind;
  /** 0 drops the command. Generation rarely draws 0; shrinking tries it first, so a counterexample loses every command it does not need. */
  readonly keep: number;
  readonly r: readonly number[];
}

/** A process to start in the header, as raw choices. */
export interface ScenarioProcSpec {
  readonly r: readonly number[];
}

/** The abstract script fast-check generates and shrinks; renderScenario turns it into text. */
export interface ScenarioScript {
  readonly procs: readonly ScenarioProcSpec[];
  readonly commands: readonly ScenarioCommand[];
  /** Semaphore and message queue calls may wait (see Renderer.mayWait); false or absent: every such call carries IPC_NOWAIT. */
  readonly blocking?: boolean;
  /** Raw choices for the /dev/shm a posix scenario starts with (see Renderer.devshm); absent for other scenarios. */
  readonly devshm?: readonly number[];
}

/** How many raw choices each command and proc spec carries (more than any kind consumes). */
const CHOICES = 10;

/**
 * Consumes raw choices in order. Past the last one (a semop of many
 * operations needs more), it goes on with numbers mixed from all of them,
 * which are all 0 when every choice is 0, so shrinking still reaches the
 * plainest command.
 */
class Picker {
  private i = 0;
  private x: number;
  constructor(private readonly r: readonly number[]) {
    let h = 0;
    for (const v of r) h = Math.imul(h ^ v, 0x9e3779b1) ^ (h >>> 15);
    this.x = h;
  }

  /** The next raw number. */
  next(): number {
    if (this.i < this.r.length) return this.r[this.i++] ?? 0;
    // xorshift32: 0 stays 0.
    this.x ^= this.x << 13;
    this.x ^= this.x >>> 17;
    this.x ^= this.x << 5;
    return (this.x >>> 8) & 0xffff;
  }

  /** An entry of `list` (the first when the choice is 0). */
  pick<T>(list: readonly T[]): T {
    return list[this.next() % list.length] as T;
  }

  /** True with probability about `p` (false when the choice is 0). */
  chance(p: number): boolean {
    const v = this.next() % 1000;
    return v >= 1000 - Math.round(p * 1000);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}

// ---------------------------------------------------------------------------
// Value pools. Each list starts with its plainest entry (what shrinking reaches).

const UIDS = [0, 1000, 1001, 65534] as const;
const GIDS = [0, 1000, 100, 65534] as const;
const GROUPS = ['', '', '100', '1000,100', '65534', '0'] as const;
/**
 * Capability sets. Never CAP_SYS_RESOURCE: this sandbox's root lacks it, so
 * the native oracle refuses (NativeUnavailable) any scenario granting it.
 * '' leaves the default (all for uid 0, none otherwise).
 */
const CAPS = [
  '',
  'all',
  'none',
  'CAP_IPC_OWNER',
  'CAP_IPC_LOCK',
  'CAP_SYS_ADMIN',
  'CAP_IPC_OWNER,CAP_IPC_LOCK',
  'CAP_IPC_OWNER,CAP_SYS_ADMIN',
  'CAP_IPC_LOCK,CAP_SYS_ADMIN',
  'CAP_IPC_OWNER,CAP_IPC_LOCK,CAP_SYS_ADMIN',
] as const;
/** '' is the default namespace left implicit. */
const NAMESPACES = ['', '', '', 'ns=default', 'ns=other', 'ns=other'] as const;

/** Keys from a small pool so lookups collide; -1 and 0xffffffff are the same key_t. */
const KEYS = ['0x11', 'IPC_PRIVATE', '0x22', '-1', '0x11', '0xffffffff', '0x33'] as const;
const SIZES = ['4096', '100', '1', '4097', '12288', '8192', '16M', '2', '8K'] as const;
/** Rare sizes: zero, bigger than anything, bigger than LLONG_MAX, bigger than RAM. */
const ODD_SIZES = ['0', '0x4000000000000000', '0xffffffffffffffff', '0x8000000000000000', '1024G', '0xfffffffffeffffff', '-1', '0x7fffffffffffffff'] as const;
const CREATE = ['IPC_CREAT', 'IPC_CREAT|IPC_EXCL', '', 'IPC_EXCL'] as const;
const MODES = ['0600', '0666', '0644', '0', '0400', '0700', '0777', '0640', '0060', '0006', '0500', '0200', '0440', '0066'] as const;
const GET_EXTRAS = ['SHM_NORESERVE', 'SHM_HUGETLB', '0170000', 'IPC_NOWAIT', 'SHM_NORESERVE|SHM_HUGETLB'] as const;

const AT_FLAGS = ['0', 'SHM_RDONLY', 'SHM_EXEC', 'SHM_RDONLY|SHM_EXEC'] as const;

/** A small window of fixed addresses, free in every native process (far below the oracle's mappings). */
const WINDOW = 0x10000000;
const WINDOW_PAGES = 8;
/**
 * Addresses at the edges of the address space. Nothing in the top 16 GiB
 * below TASK_SIZE other than its last page: a real process's stack sits
 * somewhere there (ASLR), so a fixed attach in that band succeeds or fails
 * natively by chance, while the emulator's stack has one fixed place.
 */
const ODD_ADDRESSES = ['1', '4095', '4096', '0xfffffffffffff000', '0x7ffffffff000', '0x800000000000'] as const;

const SHMCTL_CMDS = ['IPC_STAT', 'IPC_RMID', 'IPC_SET', 'SHM_STAT', 'SHM_STAT_ANY', 'IPC_INFO', 'SHM_INFO', 'SHM_LOCK', 'SHM_UNLOCK'] as const;
/** Commands as numbers: the named ones raw (no structure printed), unknown ones, IPC_64 variants, negative. */
const NUMERIC_CMDS = ['4', '99', '-1', '0', '2', '1', '3', '11', '12', '13', '14', '15', '16', '0x102', '10', '5'] as const;
const SET_UIDS = ['0', '1000', '65534', '-1', '4000000000', '1001'] as const;
const SET_GIDS = ['0', '100', '65534', '-1', '1000', '4000000000'] as const;
const SET_MODES = ['0600', '0666', '0', '0777', '0177777', '01600', '0644', '0400', '07777'] as const;
/** Literal ids: live-looking, stale (other seq), negative, huge. */
const LITERAL_IDS = ['0', '1', '32768', '-1', '2', '65536', '32769', '2147483647', '-2147483648', '3', '98304'] as const;
const INDEXES = ['0', '1', '2', '3', '32768', '-1', '4', '64'] as const;

/** Offsets from an attach address for memory accesses: inside, at the page edge, past the end, before it. */
const ACCESS_OFFSETS = [0, 1, 100, 4095, 4096, 4000, 8191, 8192, 12287, 12288, -1, -4096, 16380] as const;
const STRINGS = ['"hi"', '"hello"', '"\\x00\\xff"', '"abcdefgh"', '"x"', '"shared\\n"', '""'] as const;
const ACCESS_LENS = ['1', '4', '16', '100', '4096', '4097', '8192', '12288', '0', '200'] as const;

const PROTS = ['PROT_READ', 'PROT_NONE', 'PROT_READ|PROT_WRITE', 'PROT_WRITE', 'PROT_EXEC', 'PROT_READ|PROT_EXEC', 'PROT_READ|PROT_WRITE|PROT_EXEC'] as const;

const SYSCTLS: readonly (readonly [string, readonly string[]])[] = [
  ['shmmni', ['1', '2', '3', '0', '4096', '32768', '32769', '-1']],
  ['shmall', ['4', '1', '0', '2', '3', '4096', '18446744073692774399']],
  ['shmmax', ['4096', '8192', '0', '100', '16777216', '18446744073692774399']],
  ['shm_rmid_forced', ['1', '0', '2', '-1']],
  ['shm_next_id', ['5', '0', '-1', '1000', '32768', '98309', '2147483647', '-5', '32767']],
];

/**
 * RLIMIT_MEMLOCK values at or below the 8 MiB hard limit: a process with caps=all
 * may not raise it above (the sandbox's `all` lacks CAP_SYS_RESOURCE, so the
 * oracle refuses such a scenario as NativeUnavailable).
 */
const MEMLOCKS_LOW = ['4096', '0', '8192', '1048576', '8388608', '12288', '1'] as const;
/** Above the hard limit: only for processes without `all`, where the kernel answers EPERM. */
const MEMLOCKS_HIGH = ['-1', '16777216', '8388609'] as const;

// Semaphore and message queue pools.

/** Set sizes: small ones, 0 and -1 (EINVAL), at and past the default SEMMSL (250). */
const NSEMS = ['1', '2', '3', '4', '1', '2', '0', '-1', '250', '251', '5', '300'] as const;
/** The most semaphores a SETALL lists: a larger set gets GETALL instead (the line would be long and say nothing new). */
const MAX_SETALL = 300;
/** semop OP values: the common ones, then SEMVMX (32767) and the short's ends. */
const SEM_OPS = ['+1', '-1', '0', '+2', '-2', '+1', '-1', '+3', '+32767', '-32768', '-32767', '+0'] as const;
/** Op flags besides IPC_NOWAIT: SEM_UNDO, and numbers the kernel ignores. */
const SEM_FLAGS = ['', 'SEM_UNDO', '', 'SEM_UNDO', '1', '0x2000', 'SEM_UNDO|0x10'] as const;
/** Semaphore numbers past any set here, or wrapping to 65535 (EFBIG). */
const ODD_SEMNUMS = ['65535', '-1', '250', '32767'] as const;
const SEMTIMEOUTS = ['0', '1', '10', '100', '2000'] as const;
/**
 * Timeouts of a semtimedop that may wait and is collected on the next line.
 * Natively the `wait` lasts this long, and the oracle must see the call
 * asleep before it runs out (on a busy machine 1 ms is too short).
 */
const SHORT_TIMEOUTS = ['100', '150'] as const;
/** Timeouts that never run out within a scenario (the language asks for at least 2000 ms where a call is woken before its `wait`). */
const LONG_TIMEOUTS = ['5000', '10000'] as const;
/** The most emulator runs the generator makes for one scenario (see Renderer.consult). */
const MAX_CONSULTS = 8;
/** SETVAL and SETALL values: small, SEMVMX, past it (ERANGE), and -1 (65535 as an unsigned short, ERANGE). */
const SEM_VALUES = ['0', '1', '2', '3', '0', '1', '32767', '32768', '-1', '65535', '5'] as const;
/** semctl commands by name. */
const SEMCTL_CMDS = [
  'GETVAL',
  'SETVAL',
  'GETALL',
  'SETALL',
  'IPC_STAT',
  'IPC_SET',
  'IPC_RMID',
  'GETPID',
  'GETNCNT',
  'GETZCNT',
  'IPC_INFO',
  'SEM_INFO',
  'SEM_STAT',
  'SEM_STAT_ANY',
] as const;
/**
 * semctl commands as numbers (the argument is then 0): the named ones that
 * copy nothing out, the two that copy in from the null pointer (EFAULT), IPC_64
 * forms and unknown ones (EINVAL). Not the ones that copy out to it
 * (IPC_STAT, IPC_INFO, SEM_INFO, SEM_STAT, SEM_STAT_ANY, GETALL): the
 * emulated runner gives them a buffer, so they succeed there but are
 * EFAULT natively. Nor GETPID (11): a numeric command's `ret` is printed as
 * the number it is, and a real pid differs from run to run.
 */
const SEM_NUMERIC_CMDS = ['12', '16', '17', '1', '0', '14', '15', '21', '99', '-1', '0x102', '0x10c', '10'] as const;

const MSG_TYPES = ['1', '2', '3', '1', '0', '-1', '5', '9223372036854775807', '-9223372036854775808', '7'] as const;
/** msgrcv MSGTYP: any type, a type, at most a type, extremes. */
const MSG_WANT = ['0', '1', '2', '-2', '3', '-1', '5', '0', '-9223372036854775808', '9223372036854775807', '-3'] as const;
const MSG_TEXTS = ['"hi"', '"hello"', '""', '"x"', '"\\x00\\xff"', '"abcdefgh"'] as const;
/** Sizes around the default MSGMAX (8192) and MSGMNB (16384), and negative (EINVAL). */
const MSG_SIZES = ['100', '1', '0', '8192', '8193', '4096', '16384', '16385', '-1', '65536', '12000', '2000'] as const;
const MSG_BUFS = ['16', '2', '0', '100', '8192', '1', '5', '-1', '65536', '4', '16385', '8'] as const;
const MSGRCV_EXTRAS = [
  '',
  'MSG_NOERROR',
  'MSG_EXCEPT',
  'MSG_COPY',
  '',
  'MSG_NOERROR|MSG_EXCEPT',
  'MSG_COPY|MSG_NOERROR',
  'MSG_COPY|MSG_EXCEPT',
  '0100',
] as const;
const MSGCTL_CMDS = ['IPC_STAT', 'IPC_SET', 'IPC_RMID', 'IPC_INFO', 'MSG_INFO', 'MSG_STAT', 'MSG_STAT_ANY'] as const;
const MSG_NUMERIC_CMDS = ['2', '1', '0', '3', '11', '12', '13', '14', '99', '-1', '0x102', '0x10b'] as const;
/** qbytes for IPC_SET: 0, small, the default MSGMNB, above it (EPERM without CAP_SYS_RESOURCE), past 32 bits. */
const QBYTES = ['16384', '0', '100', '1', '8192', '16385', '65536', '4294967296', '4294967297', '-1'] as const;
/** The default kernel.msgmnb. */
const DEFAULT_MSGMNB = 16384;

const SEM_SYSCTLS: readonly (readonly [string, readonly string[]])[] = [
  [
    'sem',
    [
      '"250 32000 32 32000"',
      '"4 6 2 10"',
      '"1 1 1 1"',
      '"3 5 4 2"',
      '"0 0 0 0"',
      '"250 32000 32 32769"',
      '"-1 10 -1 10"',
      '"300 1000 64 100"',
      '"250 32000 32 0"',
      '"2 300 1 -1"',
    ],
  ],
  ['sem_next_id', ['5', '0', '-1', '1000', '32768', '98309', '2147483647', '-5', '32767']],
];
const MSG_SYSCTLS: readonly (readonly [string, readonly string[]])[] = [
  ['msgmax', ['8192', '100', '0', '65536', '16', '-1', '2147483647', '16384']],
  ['msgmnb', ['16384', '100', '0', '65536', '8192', '-1', '1', '2147483647']],
  ['msgmni', ['32000', '1', '0', '2', '32768', '32769', '-1']],
  ['msg_next_id', ['5', '0', '-1', '1000', '32768', '98309', '2147483647', '-5', '32767']],
];

// POSIX shared memory, memfd and memory call pools.

/** A name of `n` bytes, as a string token. */
const longName = (n: number): string => `"${'n'.repeat(n)}"`;

/**
 * /dev/shm's size: small ones fill up (ENOSPC, short writes, SIGBUS in a
 * mapping), 0 is unlimited. Every size stays far below the native budget.
 */
const DEVSHM_SIZES = ['1M', '64K', '16K', '8K', '0', '4M', '4K'] as const;
const DEVSHM_INODES = ['4', '2', '16', '1'] as const;
/** The root directory's mode: the default sticky 01777, and ones that lock other users out. */
const DEVSHM_MODES = ['01777', '0777', '0755', '01733', '0700'] as const;

/**
 * shm_open and shm_unlink names: a few objects under several spellings
 * (leading slashes are dropped: "/obj", "obj" and "//obj" are one object),
 * UTF-8 with a blank and a name of NAME_MAX (255) bytes; then, less often,
 * names glibc refuses (EINVAL: empty, "/", an inner slash), the directory
 * itself ("." and ".."), and lengths past NAME_MAX (the kernel's
 * ENAMETOOLONG) and past glibc's buffer (its own).
 */
const SHM_NAMES = ['/obj', 'obj', '/o2', '//obj', '/o2', '/o3', '/obj', '"/with blank é"', longName(255)] as const;
/** The names above that name no object (see SHM_NAMES), drawn less often. */
const ODD_SHM_NAMES = ['""', '/', '/a/b', '.', '/.', '..', longName(256), longName(260)] as const;
/** Paths of the objects above, for stat and a plain unlink (EPERM where shm_unlink says EACCES). */
const SHM_PATHS = ['/dev/shm/obj', '/dev/shm/o2', '/dev/shm/o3', '/dev/shm', '/dev/shm/missing'] as const;
const ACCESS_MODES = ['O_RDWR', 'O_RDWR', 'O_RDONLY', 'O_WRONLY'] as const;
const SHM_CREATE = ['O_CREAT', '', 'O_CREAT|O_EXCL', 'O_CREAT', 'O_EXCL'] as const;
/** Rarer open flags: O_TRUNC (EACCES without write permission), O_DIRECTORY (ENOTDIR, EINVAL with O_CREAT) and the two glibc adds anyway. */
const SHM_OPEN_EXTRAS = ['O_TRUNC', 'O_APPEND', 'O_DIRECTORY', 'O_CLOEXEC', 'O_NOFOLLOW', 'O_TRUNC|O_APPEND'] as const;

/** memfd names: plain, empty, with a blank or a slash (the kernel keeps both), at and past 249 bytes. */
const MEMFD_NAMES = ['buf', '""', 'x', '"a b"', '"a/b"', 'buf', longName(249), longName(250)] as const;
/** memfd flags: each alone, combinations, the two that exclude each other and an unknown bit (EINVAL). */
const MEMFD_FLAGS = [
  'MFD_ALLOW_SEALING',
  '0',
  'MFD_CLOEXEC',
  'MFD_NOEXEC_SEAL',
  'MFD_ALLOW_SEALING|MFD_CLOEXEC',
  'MFD_EXEC|MFD_ALLOW_SEALING',
  'MFD_ALLOW_SEALING',
  'MFD_EXEC',
  'MFD_NOEXEC_SEAL|MFD_ALLOW_SEALING',
  'MFD_EXEC|MFD_NOEXEC_SEAL',
  '0x100',
] as const;

/** The seals F_ADD_SEALS may add, each with the odds a random set includes it. */
const SEALS: readonly (readonly [string, number])[] = [
  ['F_SEAL_SHRINK', 0.35],
  ['F_SEAL_GROW', 0.3],
  ['F_SEAL_WRITE', 0.35],
  ['F_SEAL_FUTURE_WRITE', 0.25],
  ['F_SEAL_EXEC', 0.12],
  ['F_SEAL_SEAL', 0.12],
];
const SETFD_ARGS = ['FD_CLOEXEC', '0', '3', '2'] as const;
/**
 * fcntl commands as numbers: F_GETFD, F_SETFD, F_GETFL, F_GET_SEALS,
 * F_ADD_SEALS and unknown ones (EINVAL). Not the lease and lock commands,
 * which the language does not model.
 */
const FCNTL_NUMERIC = ['1', '1034', '2', '1033', '3', '99', '-1'] as const;

/** File data: strings, and zero bytes around a page and up to 1 MiB (never near the native budget). */
const FILE_DATA = [
  '"hello"',
  'bytes=4096',
  '"x"',
  '""',
  'bytes=100',
  'bytes=4097',
  '"\\x00\\xff"',
  'bytes=8192',
  'bytes=12288',
  'bytes=64K',
  'bytes=1M',
] as const;
/** pwrite and pread offsets: inside a page, at page edges, far out (sparse), negative (EINVAL), at the off_t end (EINVAL with any byte). */
const FILE_OFFSETS = ['0', '4096', '1', '100', '4095', '8192', '12288', '65536', '1M', '-1', '0x7fffffffffff', '9223372036854775806'] as const;
const FILE_LENS = ['4096', '1', '16', '100', '4097', '0', '8192', '12288'] as const;
/** ftruncate lengths: around pages, 0, far out (sparse), negative (EINVAL), the largest off_t. */
const TRUNC_LENS = ['4096', '0', '8192', '1', '12288', '100', '4097', '1M', '-1', '0x100000000', '9223372036854775807'] as const;
const FALLOC_OFFSETS = ['0', '4096', '100', '8192', '-1', '12288'] as const;
const FALLOC_LENS = ['4096', '8192', '1', '0', '12288', '-1', '1M', '64K'] as const;
const FALLOC_MODES = ['', '', 'FALLOC_FL_KEEP_SIZE', 'FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE', 'FALLOC_FL_PUNCH_HOLE'] as const;
const LSEEK_OFFSETS = ['0', '1', '-1', '4096', '8192', '100', '-9000', '4097', '9223372036854775807', '-9223372036854775808', '12288'] as const;
/** Every whence lseek knows, and an unknown one (EINVAL). */
const WHENCES = ['SEEK_SET', 'SEEK_CUR', 'SEEK_END', 'SEEK_DATA', 'SEEK_HOLE', '7'] as const;
const UMASKS = ['077', '0', '022', '0777', '02', '027', '07777'] as const;

/**
 * Mapping lengths. Under 2 MiB, so that no transparent huge page (enabled
 * for madvised memory on the fuzzer's machine) can back a mapping and
 * change what mincore shows.
 */
const MAP_LENS = ['4096', '8192', '12288', '16K', '1', '4097', '64K', '0', '1M'] as const;
/**
 * Lengths no mapping can have (ENOMEM), or only without commit charge when
 * writable: 1 TiB (MAP_NORESERVE half the time, see mapping). Never with
 * MAP_POPULATE or MAP_LOCKED, nor touched past a few pages.
 */
const HUGE_MAP_LENS = ['1024G', '0xfffffffffffff000', '0x800000000000', '1024G'] as const;
const MAP_OFFSETS = ['0', '4096', '8192', '100', '-4096', '0x7ffffffffffff000'] as const;
/** Flags besides the mapping type. */
const MAP_EXTRAS = ['MAP_POPULATE', 'MAP_NORESERVE', 'MAP_LOCKED', 'MAP_POPULATE|MAP_LOCKED'] as const;
/** Fixed addresses outside the window: below mmap_min_addr, past the user address space, its last page, 0. */
const ODD_MAP_ADDRESSES = ['4096', '0xfffffffffffff000', '0x7ffffffff000', '0', '0x800000000000'] as const;
/** Range lengths for msync, madvise, mlock, munlock and mincore. */
const MEM_LENS = ['4096', '8192', '12288', '1', '0', '4095'] as const;
const MSYNC_FLAGS = ['MS_SYNC', 'MS_ASYNC', 'MS_INVALIDATE', 'MS_SYNC|MS_INVALIDATE', 'MS_ASYNC|MS_SYNC', '0', '8'] as const;
/**
 * madvise advice, the fork ones (DONTFORK, WIPEONFORK and their undoing)
 * and the populating ones among them. MADV_HUGEPAGE is safe: no mapping
 * here is large enough for a huge page (see MAP_LENS).
 */
const MADVICE = [
  'MADV_DONTNEED',
  'MADV_NORMAL',
  'MADV_WILLNEED',
  'MADV_FREE',
  'MADV_REMOVE',
  'MADV_DONTNEED',
  'MADV_RANDOM',
  'MADV_SEQUENTIAL',
  'MADV_COLD',
  'MADV_PAGEOUT',
  'MADV_DONTDUMP',
  'MADV_DODUMP',
  'MADV_HUGEPAGE',
  'MADV_NOHUGEPAGE',
  'MADV_MERGEABLE',
  'MADV_UNMERGEABLE',
  'MADV_DONTFORK',
  'MADV_DOFORK',
  'MADV_WIPEONFORK',
  'MADV_KEEPONFORK',
  'MADV_POPULATE_READ',
  'MADV_POPULATE_WRITE',
  '999',
] as const;
const MLOCK_FLAGS = ['', '', 'MLOCK_ONFAULT', '2'] as const;
const SYSVIPC_FILES = ['shm', 'sem', 'msg'] as const;

// ---------------------------------------------------------------------------
// The renderer's model of the parser's state.

interface ProcState {
  readonly name: string;
  /** Its IPC namespace: 'default' or 'other'. */
  readonly ns: string;
  /** The capability set is `all` (given, or by default as uid 0), inherited by fork. */
  readonly allCaps: boolean;
  alive: boolean;
  /** Address names bound in this process (own shmat or mmap, or inherited at fork). */
  readonly addrs: Set<string>;
  /** Descriptor names bound in this process (own shm_open or memfd_create, or inherited at fork). */
  readonly fds: Set<string>;
  /** The call the process is blocked in, until a `wait` collects it (finished or not) or the process exits. */
  blocked?: BlockedCall;
  /** Started by `fork` (not in the header). */
  readonly forked?: boolean;
}

/** What the generator knows of a blocked call. */
interface BlockedCall {
  readonly call: 'semop' | 'semtimedop' | 'msgsnd' | 'msgrcv';
  /** A semtimedop's timeout: 'long' (it never runs out within a scenario) or none. Short ones are collected at once. */
  readonly timed: boolean;
  /** An `interrupt` has ended it (EINTR) unless it had finished before: the next `wait` collects it. */
  interrupted: boolean;
  /** The id argument it named, so that other processes' calls can aim at its set or queue (see wakeTarget). */
  readonly id: string;
  /** semop: the semaphore numbers of its operations; msgrcv: its MSGTYP. */
  readonly nums?: readonly string[];
  readonly want?: string;
}

/**
 * What the renderer knows about an address name. The native oracle keeps an
 * inaccessible 1 GiB guard mapping right above the kernel-chosen attachments
 * (native/oracle.c, fence_address_space), which the emulator's address space
 * does not have: there, the same range is simply free. An mprotect or fixed
 * shmat that reaches above the highest attachment therefore answers
 * differently (mprotect succeeds on the guard but gives ENOMEM on free space;
 * a fixed shmat overlaps it natively), and a munmap or SHM_REMAP there opens a
 * hole in the guard that later kernel-chosen attaches use, so the layouts part.
 * None of that is the emulator's doing, so munmap and mprotect through a name
 * that a kernel-chosen (or odd fixed) attach bound stay inside the pages such
 * an attach certainly has, and only names bound in the free window get fixed
 * attaches over and around them.
 */
interface AddrInfo {
  /** A lower bound on the pages of every attachment the name was bound to. */
  minPages: number;
  /** Some binding was not in the fixed window (kernel-chosen or an odd literal). */
  bounded: boolean;
}

/**
 * What the generator knows of the semaphore set a variable names, in the
 * namespace `ns` of its bindings ('mixed' when bound in both): its size `n`,
 * 'unbound' while no call could have bound it, or 'unknown'. A size is known
 * only where every binding that may have succeeded made a new set of that
 * size (IPC_PRIVATE or IPC_CREAT|IPC_EXCL; a failed call leaves the name as
 * it was, and an unbound name reads as id -1). A set's id names no other set
 * until kernel.sem_next_id is written, which makes every size unknown. SETALL
 * is generated only with a known size, since it must list that many values.
 */
interface SemVar {
  n: number | 'unknown' | 'unbound';
  ns: string;
}

const MAX_PROCS = 8;
const NAMES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Renders an address expression `name`, `name+N` or `name-N`. */
function offsetAddr(name: string, off: number): string {
  return off === 0 ? name : off > 0 ? `${name}+${off}` : `${name}-${-off}`;
}

class Renderer {
  private readonly lines: string[] = [];
  private readonly procs: ProcState[] = [];
  /** Numeric (id or index) variable names ever bound, in order. */
  private readonly nums: string[] = [];
  /** Address variable names ever bound, in order. */
  private readonly addrNames: string[] = [];
  /**
   * For each numeric name, a lower bound on the pages of any segment a
   * successful binding gave it, valid in the namespace `ns` of its bindings
   * ('mixed' when bound in both: an id names another segment, or none, in
   * the other namespace).
   */
  private readonly numPages = new Map<string, { pages: number; ns: string }>();
  private readonly addrInfo = new Map<string, AddrInfo>();
  private nextNum = 1;
  private nextAddr = 1;
  /** Semaphore set id variable names ever bound, in order (`e1`, `e2`, ...). */
  private readonly semVars: string[] = [];
  /** What the generator knows of the set each semaphore variable names (see SemVar). */
  private readonly semInfo = new Map<string, SemVar>();
  /** Message queue id variable names ever bound, in order (`q1`, `q2`, ...). */
  private readonly msgVars: string[] = [];
  private nextSem = 1;
  private nextMsg = 1;
  /**
   * The lowest kernel.msgmnb any namespace may have had (the default, or a
   * lower value written since): a `caps=all` process's IPC_SET stays at or
   * below it, see msgctl.
   */
  private lowestMsgmnb = DEFAULT_MSGMNB;
  /** Calls without IPC_NOWAIT may still be generated (each costs an emulator run, see consult). */
  private blocking = false;
  /** Emulator runs left for this scenario. */
  private consults = MAX_CONSULTS;
  /** Processes whose blocked call the current command aims at (wakeTarget, collectWoken). */
  private readonly woken: ProcState[] = [];
  /** Descriptor variable names ever bound, in order (`d1`, `d2`, ...). */
  private readonly fdNames: string[] = [];
  private nextFd = 1;

  render(script: ScenarioScript): string {
    this.blocking = script.blocking === true;
    if (script.devshm !== undefined) this.devshm(new Picker(script.devshm));
    for (const spec of script.procs) this.proc(new Picker(spec.r));
    for (const c of script.commands) this.commandAndCollect(c);
    return `${this.lines.join('\n')}\n`;
  }

  private live(): ProcState[] {
    return this.procs.filter((p) => p.alive);
  }

  private proc(p: Picker): void {
    const name = NAMES[this.procs.length] as string;
    const uid = p.pick(UIDS);
    const gid = p.pick(GIDS);
    const groups = p.pick(GROUPS);
    const caps = p.pick(CAPS);
    const ns = p.pick(NAMESPACES);
    const opts = [`proc ${name}`];
    if (uid !== 0 || p.chance(0.3)) opts.push(`uid=${uid}`);
    if (gid !== 0 || p.chance(0.3)) opts.push(`gid=${gid}`);
    if (groups !== '') opts.push(`groups=${groups}`);
    if (caps !== '') opts.push(`caps=${caps}`);
    if (ns !== '') opts.push(ns);
    this.lines.push(opts.join(' '));
    this.procs.push({
      name,
      ns: ns === 'ns=other' ? 'other' : 'default',
      allCaps: caps === 'all' || (caps === '' && uid === 0),
      alive: true,
      addrs: new Set(),
      fds: new Set(),
    });
  }

  /** A live process without a blocked call, chosen by the command's first choice (command() makes sure there is one). */
  private who(p: Picker): ProcState {
    const free = this.live().filter((x) => x.blocked === undefined);
    return free[p.below(free.length)] as ProcState;
  }

  /** An id argument: mostly a bound id variable, sometimes a literal (stale, negative, huge). */
  private idArg(p: Picker): string {
    if (this.nums.length > 0 && !p.chance(0.15)) return this.recentNum(p);
    return p.pick(LITERAL_IDS);
  }

  /** A bound numeric variable, biased towards recent ones. */
  private recentNum(p: Picker): string {
    const k = p.below(Math.min(this.nums.length, 4));
    return this.nums[this.nums.length - 1 - k] as string;
  }

  /**
   * `-> NAME` for a numeric result: a fresh name, or (rarely) an old one
   * rebound. `pages` is a lower bound on the pages of the segment the id
   * names if the call succeeds (1 when it is not an id of a known size).
   */
  private bindNum(p: Picker, ns: string, pages = 1): string {
    let name: string;
    if (this.nums.length > 0 && p.chance(0.15)) {
      name = p.pick(this.nums);
    } else {
      name = `s${this.nextNum++}`;
      this.nums.push(name);
    }
    const old = this.numPages.get(name);
    this.numPages.set(name, { pages: Math.min(old?.pages ?? Infinity, pages), ns: old === undefined || old.ns === ns ? ns : 'mixed' });
    return name;
  }

  /** `-> NAME` for an address bound in `proc`: a fresh name, or an old address name. */
  private bindAddr(p: Picker, proc: ProcState, pages: number, bounded: boolean): string {
    let name: string;
    if (this.addrNames.length > 0 && p.chance(0.15)) {
      name = p.pick(this.addrNames);
    } else {
      name = `a${this.nextAddr++}`;
      this.addrNames.push(name);
    }
    proc.addrs.add(name);
    const info = this.addrInfo.get(name);
    this.addrInfo.set(name, { minPages: Math.min(info?.minPages ?? Infinity, pages), bounded: (info?.bounded ?? false) || bounded });
    return name;
  }

  /** An address name bound in `proc`, if any (most recent first when the choice is 0); only window names if `windowOnly`. */
  private boundAddr(p: Picker, proc: ProcState, windowOnly = false): string | undefined {
    const names = [...proc.addrs].filter((n) => !windowOnly || this.addrInfo.get(n)?.bounded !== true);
    if (names.length === 0) return undefined;
    return names[names.length - 1 - p.below(names.length)];
  }

  /** A page of the fixed window, as a literal. */
  private windowAddr(p: Picker, extra = 0): string {
    return hex(WINDOW + p.below(WINDOW_PAGES) * 4096 + extra);
  }

  /**
   * An address for a memory access or shmdt/munmap/mprotect: a bound name plus
   * an offset, or (when nothing is bound, or rarely) a window literal.
   */
  private accessAddr(p: Picker, proc: ProcState, offsets: readonly number[]): string {
    const name = this.boundAddr(p, proc);
    const literal = p.chance(0.1);
    const off = p.pick(offsets);
    if (name === undefined || literal) return this.windowAddr(p, Math.max(off, 0));
    return offsetAddr(name, off);
  }

  private command(c: ScenarioCommand): void {
    if (c.keep === 0) return;
    const p = new Picker(c.r);
    const hostSide = c.kind === 'sysctl' || c.kind === 'semSysctl' || c.kind === 'msgSysctl' || c.kind === 'exit';
    // A process with a blocked call may be named only by wait, interrupt and exit: with none free, the command tends to a blocked one.
    if (!hostSide && this.live().every((x) => x.blocked !== undefined)) return this.block(p);
    switch (c.kind) {
      case 'shmget':
        return this.shmget(p);
      case 'shmat':
        return this.shmat(p);
      case 'shmctl':
        return this.shmctl(p);
      case 'access':
        return this.access(p);
      case 'shmdt':
        return this.shmdt(p);
      case 'munmap':
        return this.munmap(p);
      case 'mprotect':
        return this.mprotect(p);
      case 'fork':
        return this.fork(p);
      case 'exit':
        return this.exit(p);
      case 'sysctl':
        return this.sysctl(p);
      case 'rlimit':
        return this.rlimit(p);
      case 'semget':
        return this.semget(p);
      case 'semop':
        return this.semop(p);
      case 'semctl':
        return this.semctl(p);
      case 'semSysctl':
        return this.semSysctl(p);
      case 'msgget':
        return this.msgget(p);
      case 'msgsnd':
        return this.msgsnd(p);
      case 'msgrcv':
        return this.msgrcv(p);
      case 'msgctl':
        return this.msgctl(p);
      case 'msgSysctl':
        return this.msgSysctl(p);
      case 'block':
        return this.block(p);
      case 'sysvipc':
        return this.sysvipc(p);
      case 'shmOpen':
        return this.shmOpen(p);
      case 'shmUnlink':
        return this.shmUnlink(p);
      case 'memfd':
        return this.memfd(p);
      case 'fcntl':
        return this.fcntl(p);
      case 'fileIo':
        return this.fileIo(p);
      case 'lseek':
        return this.lseek(p);
      case 'mmapFile':
        return this.mmapFile(p);
      case 'mmapAnon':
        return this.mmapAnon(p);
      case 'memCall':
        return this.memCall(p);
      case 'umask':
        return this.umask(p);
      case 'cmpaddr':
        return this.cmpaddr(p);
    }
  }

  /** One abstract command, then the `wait`s for the calls it woke, if it aimed at any. */
  private commandAndCollect(c: ScenarioCommand): void {
    this.command(c);
    if (this.woken.length > 0) this.collectWoken(new Picker([...c.r].reverse()));
  }

  private shmget(p: Picker): void {
    const proc = this.who(p);
    const key = p.pick(KEYS);
    const odd = p.chance(0.12);
    const size = odd ? p.pick(ODD_SIZES) : p.pick(SIZES);
    const flags: string[] = [];
    const create = p.pick(CREATE);
    if (create !== '') flags.push(create);
    flags.push(p.pick(MODES));
    // Huge sizes are interesting mostly with SHM_NORESERVE (1<<62 then succeeds).
    if (odd && p.chance(0.5)) flags.push('SHM_NORESERVE');
    else if (p.chance(0.1)) flags.push(p.pick(GET_EXTRAS));
    const bind = p.chance(0.9) ? ` -> ${this.bindNum(p, proc.ns, sizePages(size))}` : '';
    this.lines.push(`${proc.name} shmget ${key} ${size} ${flags.join('|')}${bind}`);
  }

  private shmat(p: Picker): void {
    const proc = this.who(p);
    const id = this.idArg(p);
    const flags: string[] = [p.pick(AT_FLAGS)];
    let addr: string;
    // An unbound name reads as (void *)-1, so NAME+1 is 0 when NAME's shmat failed: a kernel-chosen attach.
    let mayBeKernelChosen = false;
    const mode = p.pick(['zero', 'zero', 'zero', 'window', 'window', 'unaligned', 'over', 'odd'] as const);
    switch (mode) {
      case 'zero':
        addr = '0';
        if (p.chance(0.05)) flags.push(p.pick(['SHM_REMAP', 'SHM_RND']));
        break;
      case 'window':
        addr = this.windowAddr(p);
        if (p.chance(0.3)) flags.push('SHM_REMAP');
        if (p.chance(0.1)) flags.push('SHM_RND');
        break;
      case 'unaligned':
        addr = this.windowAddr(p, p.pick([1, 0x800, 0xfff]));
        if (p.chance(0.6)) flags.push('SHM_RND');
        if (p.chance(0.2)) flags.push('SHM_REMAP');
        break;
      case 'over': {
        // Only over names bound in the window: see AddrInfo.
        const name = this.boundAddr(p, proc, true);
        const off = p.pick([0, 4096, 8192, -4096, 1]);
        addr = name === undefined ? this.windowAddr(p) : offsetAddr(name, off);
        mayBeKernelChosen = name !== undefined && off === 1;
        if (p.chance(0.5)) flags.push('SHM_REMAP');
        if (p.chance(0.2)) flags.push('SHM_RND');
        break;
      }
      case 'odd':
        addr = p.pick(ODD_ADDRESSES);
        if (p.chance(0.5)) flags.push('SHM_RND');
        if (p.chance(0.3)) flags.push('SHM_REMAP');
        break;
    }
    const f = flags.filter((x) => x !== '0');
    const known = this.numPages.get(id);
    const pages = known !== undefined && known.ns === proc.ns ? known.pages : 1;
    const bind = p.chance(0.9) ? ` -> ${this.bindAddr(p, proc, pages, mode === 'zero' || mode === 'odd' || mayBeKernelChosen)}` : '';
    this.lines.push(`${proc.name} shmat ${id} ${addr} ${f.length === 0 ? '0' : f.join('|')}${bind}`);
  }

  private shmctl(p: Picker): void {
    const proc = this.who(p);
    const numeric = p.chance(0.12);
    const cmd = numeric ? p.pick(NUMERIC_CMDS) : p.pick(SHMCTL_CMDS);
    const byIndex = cmd === 'SHM_STAT' || cmd === 'SHM_STAT_ANY';
    // SHM_STAT takes an index; a full id works too (only its low 15 bits are used).
    let id = byIndex && p.chance(0.6) ? p.pick(INDEXES) : this.idArg(p);
    if (p.chance(0.04)) id = '-1';
    let rest = '';
    if (cmd === 'IPC_SET') rest = ` uid=${p.pick(SET_UIDS)} gid=${p.pick(SET_GIDS)} mode=${p.pick(SET_MODES)}`;
    const bind = (byIndex || cmd === 'IPC_INFO' || cmd === 'SHM_INFO') && p.chance(0.3) ? ` -> ${this.bindNum(p, proc.ns)}` : '';
    this.lines.push(`${proc.name} shmctl ${id} ${cmd}${rest}${bind}`);
  }

  private access(p: Picker): void {
    const proc = this.who(p);
    const op = p.pick(['write', 'read', 'fill', 'read', 'write'] as const);
    const addr = this.accessAddr(p, proc, ACCESS_OFFSETS);
    switch (op) {
      case 'write':
        this.lines.push(`${proc.name} write ${addr} ${p.pick(STRINGS)}`);
        return;
      case 'read':
        this.lines.push(`${proc.name} read ${addr} ${p.pick(ACCESS_LENS)}`);
        return;
      case 'fill':
        this.lines.push(`${proc.name} fill ${addr} ${p.pick(ACCESS_LENS)} ${p.pick([65, 0, 255, 7])}`);
        return;
    }
  }

  private shmdt(p: Picker): void {
    const proc = this.who(p);
    const addr = p.chance(0.05) ? '0' : this.accessAddr(p, proc, [0, 0, 0, 4096, -4096, 1, 8192]);
    this.lines.push(`${proc.name} shmdt ${addr}`);
  }

  /**
   * ADDR LEN for munmap and mprotect: through a window name or literal, any
   * of a few offsets and lengths; through a name bound elsewhere, only inside
   * the pages its attachments certainly have (see AddrInfo).
   */
  private range(p: Picker, proc: ProcState, lens: readonly string[]): string {
    const offsets = [0, 4096, 8192, 1];
    const name = this.boundAddr(p, proc);
    const literal = p.chance(0.1);
    const off = p.pick(offsets);
    const len = p.pick(lens);
    if (name === undefined || literal) return `${this.windowAddr(p, off)} ${len}`;
    const info = this.addrInfo.get(name);
    if (info === undefined || !info.bounded) return `${offsetAddr(name, off)} ${len}`;
    const room = Math.min(info.minPages, 3) * 4096;
    // ADDR + LEN stays inside: mlock and munlock round an unaligned start down and its end up.
    const start = off < room ? off : off % 4096;
    return `${offsetAddr(name, start)} ${pickLen(len, room - start)}`;
  }

  private munmap(p: Picker): void {
    const proc = this.who(p);
    this.lines.push(`${proc.name} munmap ${this.range(p, proc, ['4096', '8192', '12288', '1', '0', '4095'])}`);
  }

  private mprotect(p: Picker): void {
    const proc = this.who(p);
    this.lines.push(`${proc.name} mprotect ${this.range(p, proc, ['4096', '8192', '12288', '1', '0'])} ${p.pick(PROTS)}`);
  }

  private fork(p: Picker): void {
    const parent = this.who(p);
    if (this.procs.length >= MAX_PROCS) return;
    const name = NAMES[this.procs.length] as string;
    this.lines.push(`fork ${parent.name} ${name}`);
    this.procs.push({
      name,
      ns: parent.ns,
      allCaps: parent.allCaps,
      alive: true,
      addrs: new Set(parent.addrs),
      fds: new Set(parent.fds),
      forked: true,
    });
  }

  private exit(p: Picker): void {
    // Never exit the last process: every later command needs one to run in.
    const live = this.live();
    if (live.length < 2) return;
    // Blocked processes too: exit ends the call, then undoes.
    const proc = live[p.below(live.length)] as ProcState;
    proc.blocked = undefined;
    this.lines.push(`exit ${proc.name}`);
    proc.alive = false;
  }

  private sysctl(p: Picker): void {
    const [key, values] = p.pick(SYSCTLS);
    const value = p.pick(values);
    const ns = p.pick(['', '', 'ns=other ', 'ns=default ']);
    // A chosen next id may give an old id number to a new, smaller segment: forget the sizes.
    if (key === 'shm_next_id') for (const v of this.numPages.values()) v.pages = 1;
    this.lines.push(`sysctl ${ns}kernel.${key}=${value}`);
  }

  private rlimit(p: Picker): void {
    const proc = this.who(p);
    // Above the hard limit only without `all`: see MEMLOCKS_LOW.
    const high = !proc.allCaps && p.chance(0.3);
    this.lines.push(`rlimit ${proc.name} memlock=${high ? p.pick(MEMLOCKS_HIGH) : p.pick(MEMLOCKS_LOW)}`);
  }

  // -------------------------------------------------------------------------
  // Semaphores. Every operation that could wait (OP 0 or negative) carries
  // IPC_NOWAIT unless the call may wait (see mayWait).

  /** A semaphore id argument and the set's size when the generator is sure of it (see SemVar). */
  private semIdArg(p: Picker, proc: ProcState, bound = false): { id: string; nsems: number | undefined } {
    if (this.semVars.length > 0 && (bound || !p.chance(0.12))) {
      const k = p.below(Math.min(this.semVars.length, 4));
      const id = this.semVars[this.semVars.length - 1 - k] as string;
      const info = this.semInfo.get(id);
      const nsems = info !== undefined && typeof info.n === 'number' && info.ns === proc.ns ? info.n : undefined;
      return { id, nsems };
    }
    return { id: p.pick(LITERAL_IDS), nsems: undefined };
  }

  /**
   * `-> NAME` for a semaphore id: a fresh name or an old one rebound. `n` is
   * the size of the set the call gives on success, 'unknown', or 'unbound'
   * when it cannot succeed; on failure the name keeps what it named, so the
   * two are merged.
   */
  private bindSem(p: Picker, ns: string, n: number | 'unknown' | 'unbound'): string {
    let name: string;
    if (this.semVars.length > 0 && p.chance(0.12)) {
      name = p.pick(this.semVars);
    } else {
      name = `e${this.nextSem++}`;
      this.semVars.push(name);
    }
    const old = this.semInfo.get(name);
    if (old === undefined) {
      this.semInfo.set(name, { n, ns });
    } else if (n !== 'unbound') {
      const same = old.n === n || old.n === 'unbound';
      this.semInfo.set(name, { n: same ? n : 'unknown', ns: old.ns === ns || old.n === 'unbound' ? ns : 'mixed' });
    }
    return name;
  }

  /** `-> NAME` for a message queue id. */
  private bindMsg(p: Picker): string {
    if (this.msgVars.length > 0 && p.chance(0.12)) return p.pick(this.msgVars);
    const name = `q${this.nextMsg++}`;
    this.msgVars.push(name);
    return name;
  }

  private msgIdArg(p: Picker, bound = false): string {
    if (this.msgVars.length > 0 && (bound || !p.chance(0.12))) {
      const k = p.below(Math.min(this.msgVars.length, 4));
      return this.msgVars[this.msgVars.length - 1 - k] as string;
    }
    return p.pick(LITERAL_IDS);
  }

  /** KEY FLAGS for semget and msgget, and whether a success surely made a new object. */
  private getArgs(p: Picker): { key: string; flags: string; fresh: boolean } {
    const key = p.pick(KEYS);
    const create = p.pick(CREATE);
    const flags: string[] = [];
    if (create !== '') flags.push(create);
    flags.push(p.pick(MODES));
    if (p.chance(0.08)) flags.push(p.pick(['IPC_NOWAIT', '0170000', '01000']));
    const fresh = key === 'IPC_PRIVATE' || create === 'IPC_CREAT|IPC_EXCL';
    return { key, flags: flags.join('|'), fresh };
  }

  private semget(p: Picker): void {
    const proc = this.who(p);
    const nsems = p.pick(NSEMS);
    const { key, flags, fresh } = this.getArgs(p);
    // A success that finds an existing set gives that set, of any size.
    const n = Number(nsems);
    // A new set needs at least one semaphore (EINVAL).
    const bind = p.chance(0.92) ? ` -> ${this.bindSem(p, proc.ns, !fresh ? 'unknown' : n < 1 ? 'unbound' : n)}` : '';
    this.lines.push(`${proc.name} semget ${key} ${nsems} ${flags}${bind}`);
  }

  /** A semaphore number: in range when the size is known (mostly), else small; sometimes past any set. */
  private semnum(p: Picker, nsems: number | undefined): string {
    if (p.chance(0.08)) return p.pick(ODD_SEMNUMS);
    if (nsems === undefined) return String(p.pick([0, 1, 2, 0, 3]));
    if (p.chance(0.06)) return String(nsems); // one past the end
    return String(p.below(Math.max(nsems, 1)));
  }

  private semop(p: Picker): void {
    const proc = this.who(p);
    const wait = this.mayWait(p, proc, 'sem');
    const target = wait ? undefined : this.wakeTarget(p, ['semop', 'semtimedop']);
    if (target?.nums !== undefined) {
      // Aimed at a blocked call's semaphores: raise them, or take one down to zero for a wait-for-zero.
      const ops = target.nums.map((n) => {
        const op = p.pick(['+1', '+2', '-1', '+1']);
        const flags = [op === '-1' ? 'IPC_NOWAIT' : '', p.chance(0.3) ? 'SEM_UNDO' : ''].filter((f) => f !== '');
        return flags.length === 0 ? `${n}:${op}` : `${n}:${op}:${flags.join('|')}`;
      });
      this.lines.push(`${proc.name} semop ${target.id} ${ops.join(',')}`);
      return;
    }
    // A call that may wait names a live-looking set: a literal id would only fail.
    const { id, nsems } = this.semIdArg(p, proc, wait);
    // Mostly a few operations; sometimes more than SEMOPM (32 by default: E2BIG).
    const count = p.chance(0.04) ? p.pick([33, 65, 40]) : 1 + p.below(p.chance(0.5) ? 1 : 4);
    const ops: string[] = [];
    const nums: string[] = [];
    for (let i = 0; i < count; i++) {
      const num = this.semnum(p, nsems);
      const op = p.pick(SEM_OPS);
      const flags: string[] = [p.pick(SEM_FLAGS)].filter((f) => f !== '');
      // Only a positive OP never waits; every other operation gets IPC_NOWAIT unless the call may wait.
      const positive = op.startsWith('+') && op !== '+0';
      if (positive ? p.chance(0.3) : !wait || p.chance(0.15)) flags.unshift('IPC_NOWAIT');
      ops.push(flags.length === 0 ? `${num}:${op}` : `${num}:${op}:${flags.join('|')}`);
      nums.push(num);
    }
    if (p.chance(0.25)) {
      // A zero timeout is only for calls that complete at once; a waiting one runs out at once (short) or never (long).
      const short = p.chance(0.35);
      const timeout = !wait ? p.pick(SEMTIMEOUTS) : short ? p.pick(SHORT_TIMEOUTS) : p.pick(LONG_TIMEOUTS);
      this.lines.push(`${proc.name} semtimedop ${id} ${ops.join(',')} ${timeout}`);
      if (wait) this.afterMayWait(proc, { call: 'semtimedop', id, nums }, short ? 'short' : 'long');
    } else {
      this.lines.push(`${proc.name} semop ${id} ${ops.join(',')}`);
      if (wait) this.afterMayWait(proc, { call: 'semop', id, nums }, 'none');
    }
  }

  private semctl(p: Picker): void {
    const proc = this.who(p);
    const numeric = p.chance(0.1);
    let cmd: string = numeric ? p.pick(SEM_NUMERIC_CMDS) : p.pick(SEMCTL_CMDS);
    const byIndex = cmd === 'SEM_STAT' || cmd === 'SEM_STAT_ANY';
    let { id, nsems } = this.semIdArg(p, proc);
    if (byIndex && p.chance(0.6)) id = p.pick(INDEXES);
    const target = this.wakeTarget(p, ['semop', 'semtimedop']);
    if (target?.nums !== undefined) {
      // At a blocked call's set: set a value it waits on, count its waiters, or remove the set under it (EIDRM).
      const what = p.pick(['SETVAL', 'IPC_RMID', 'SETVAL', 'GETNCNT', 'GETZCNT']);
      const rest = what === 'SETVAL' ? ` ${p.pick(['1', '0', '2', '5'])}` : '';
      this.lines.push(`${proc.name} semctl ${target.id} ${target.nums[0] ?? '0'} ${what}${rest}`);
      return;
    }
    // SETALL lists one value per semaphore, so only where the size is known and small.
    if (cmd === 'SETALL' && (nsems === undefined || nsems > MAX_SETALL)) cmd = 'GETALL';
    let semnum = this.semnum(p, nsems);
    if (!['GETVAL', 'SETVAL', 'GETPID', 'GETNCNT', 'GETZCNT'].includes(cmd) && !p.chance(0.1)) semnum = '0';
    let rest = '';
    if (cmd === 'IPC_SET') rest = ` uid=${p.pick(SET_UIDS)} gid=${p.pick(SET_GIDS)} mode=${p.pick(SET_MODES)}`;
    else if (cmd === 'SETVAL') rest = ` ${p.pick(SEM_VALUES)}`;
    else if (cmd === 'SETALL') {
      const n = nsems as number;
      const vals: string[] = [];
      const plain = p.chance(0.7);
      for (let i = 0; i < n; i++) vals.push(plain ? String(p.pick([0, 1, 2, 0, 1, 3])) : p.pick(SEM_VALUES));
      rest = ` ${vals.join(',')}`;
    }
    let bind = '';
    if ((byIndex || cmd === 'IPC_INFO' || cmd === 'SEM_INFO') && p.chance(0.3)) bind = ` -> ${this.bindSem(p, proc.ns, 'unknown')}`;
    this.lines.push(`${proc.name} semctl ${id} ${semnum} ${cmd}${rest}${bind}`);
  }

  private semSysctl(p: Picker): void {
    const [key, values] = p.pick(SEM_SYSCTLS);
    const value = p.pick(values);
    const ns = p.pick(['', '', 'ns=other ', 'ns=default ']);
    // A chosen next id may give a removed set's id to a new set of another size.
    if (key === 'sem_next_id') for (const info of this.semInfo.values()) if (info.n !== 'unbound') info.n = 'unknown';
    this.lines.push(`sysctl ${ns}kernel.${key}=${value}`);
  }

  // -------------------------------------------------------------------------
  // Message queues. Every msgsnd and msgrcv carries IPC_NOWAIT unless it may
  // wait (see mayWait), or is a MSG_COPY receive without it, which is EINVAL
  // before anything could wait.

  private msgget(p: Picker): void {
    const proc = this.who(p);
    const { key, flags } = this.getArgs(p);
    const bind = p.chance(0.92) ? ` -> ${this.bindMsg(p)}` : '';
    this.lines.push(`${proc.name} msgget ${key} ${flags}${bind}`);
  }

  private msgsnd(p: Picker): void {
    const proc = this.who(p);
    const wait = this.mayWait(p, proc, 'msgsnd');
    const target = wait ? undefined : this.wakeTarget(p, ['msgrcv']);
    if (target !== undefined) {
      // To a blocked receiver's queue, of the type it asks for (or any type).
      const want = BigInt(target.want ?? '0');
      const small = want !== 0n && want > -1000n && want < 1000n;
      const mtype = small && p.chance(0.7) ? String(want < 0n ? -want : want) : p.pick(['1', '2', '3', '7']);
      this.lines.push(`${proc.name} msgsnd ${target.id} ${mtype} ${p.pick(MSG_TEXTS)} IPC_NOWAIT`);
      return;
    }
    const id = this.msgIdArg(p, wait);
    const mtype = p.pick(MSG_TYPES);
    // A sender that may wait mostly sends big messages, which fill a queue (MSGMNB 16384) in two.
    const data = wait && p.chance(0.5) ? 'bytes=8192' : p.chance(0.4) ? `bytes=${p.pick(MSG_SIZES)}` : p.pick(MSG_TEXTS);
    const extra = p.chance(0.1) ? p.pick(['0100', '1', '010000']) : '';
    const flags = [wait ? '' : 'IPC_NOWAIT', extra].filter((f) => f !== '').join('|');
    this.lines.push(`${proc.name} msgsnd ${id} ${mtype} ${data} ${flags === '' ? '0' : flags}`);
    if (wait) this.afterMayWait(proc, { call: 'msgsnd', id }, 'none');
  }

  private msgrcv(p: Picker): void {
    const proc = this.who(p);
    const extra = p.pick(MSGRCV_EXTRAS);
    const copy = extra.includes('MSG_COPY');
    // MSG_COPY never waits: without IPC_NOWAIT it is EINVAL.
    const wait = !copy && this.mayWait(p, proc, 'msg');
    const target = wait ? undefined : this.wakeTarget(p, ['msgsnd']);
    if (target !== undefined) {
      // From a blocked sender's queue, making room.
      this.lines.push(`${proc.name} msgrcv ${target.id} ${p.pick(['8192', '16384', '16'])} 0 IPC_NOWAIT|MSG_NOERROR`);
      return;
    }
    const id = this.msgIdArg(p, wait);
    const size = p.pick(MSG_BUFS);
    // MSG_COPY's MSGTYP is a position in the queue.
    const want = copy ? p.pick(['0', '1', '2', '-1', '5']) : p.pick(MSG_WANT);
    const flags = (copy && p.chance(0.15)) || wait ? (extra === '' ? '0' : extra) : extra === '' ? 'IPC_NOWAIT' : `IPC_NOWAIT|${extra}`;
    this.lines.push(`${proc.name} msgrcv ${id} ${size} ${want} ${flags}`);
    if (wait) this.afterMayWait(proc, { call: 'msgrcv', id, want }, 'none');
  }

  private msgctl(p: Picker): void {
    const proc = this.who(p);
    const numeric = p.chance(0.1);
    const cmd: string = numeric ? p.pick(MSG_NUMERIC_CMDS) : p.pick(MSGCTL_CMDS);
    const byIndex = cmd === 'MSG_STAT' || cmd === 'MSG_STAT_ANY';
    let id = byIndex && p.chance(0.6) ? p.pick(INDEXES) : this.msgIdArg(p);
    // At a blocked call's queue: remove it (EIDRM), or change its rights or room.
    const target = byIndex ? undefined : this.wakeTarget(p, ['msgsnd', 'msgrcv']);
    if (target !== undefined) id = target.id;
    let rest = '';
    if (cmd === 'IPC_SET') {
      let qbytes: string = p.pick(QBYTES);
      // Above kernel.msgmnb a caps=all process needs CAP_SYS_RESOURCE, which the
      // native oracle's machine may withhold (it then refuses the scenario).
      if (proc.allCaps && BigInt.asUintN(64, BigInt(qbytes)) > BigInt(this.lowestMsgmnb)) qbytes = String(this.lowestMsgmnb);
      rest = ` uid=${p.pick(SET_UIDS)} gid=${p.pick(SET_GIDS)} mode=${p.pick(SET_MODES)} qbytes=${qbytes}`;
    }
    const bind = (byIndex || cmd === 'IPC_INFO' || cmd === 'MSG_INFO') && p.chance(0.3) ? ` -> ${this.bindMsg(p)}` : '';
    this.lines.push(`${proc.name} msgctl ${id} ${cmd}${rest}${bind}`);
  }

  private msgSysctl(p: Picker): void {
    const [key, values] = p.pick(MSG_SYSCTLS);
    const value = p.pick(values);
    const ns = p.pick(['', '', 'ns=other ', 'ns=default ']);
    if (key === 'msgmnb') this.lowestMsgmnb = Math.max(0, Math.min(this.lowestMsgmnb, Number(value)));
    this.lines.push(`sysctl ${ns}kernel.${key}=${value}`);
  }

  // -------------------------------------------------------------------------
  // POSIX shared memory, memfd, seals, file and memory calls. SEEK_DATA,
  // SEEK_HOLE and mincore follow fallocate too: the emulator's tmpfs keeps a
  // fallocated page "not uptodate" (a hole) until it is written or faulted
  // in, as Linux's does.

  /**
   * The /dev/shm a posix scenario starts with: mostly a tmpfs mounted there
   * (its size, inode count or mode sometimes small), now and then only the
   * directory on the root tmpfs, or nothing (shm_open is then ENOENT).
   */
  private devshm(p: Picker): void {
    const how = p.below(20);
    if (how === 19) return;
    this.lines.push('host mkdir /dev/shm');
    if (how === 18) return;
    const opts = [`size=${p.pick(DEVSHM_SIZES)}`];
    if (p.chance(0.12)) opts.push(`nr_inodes=${p.pick(DEVSHM_INODES)}`);
    if (p.chance(0.15)) opts.push(`mode=${p.pick(DEVSHM_MODES)}`);
    this.lines.push(`tmpfs mount /dev/shm ${opts.join(' ')}`);
  }

  /** `-> NAME` for a descriptor bound in `proc`: a fresh name, or an old one rebound. */
  private bindFd(p: Picker, proc: ProcState): string {
    let name: string;
    if (this.fdNames.length > 0 && p.chance(0.12)) {
      name = p.pick(this.fdNames);
    } else {
      name = `d${this.nextFd++}`;
      this.fdNames.push(name);
    }
    proc.fds.add(name);
    return name;
  }

  /** A free process with a descriptor (chosen by the next choice), or undefined when none has one. */
  private whoWithFd(p: Picker): ProcState | undefined {
    const withFd = this.live().filter((x) => x.blocked === undefined && x.fds.size > 0);
    if (withFd.length === 0) return undefined;
    return withFd[p.below(withFd.length)];
  }

  /** A descriptor argument of `proc`: mostly a recent one of its own, now and then -1 (EBADF). */
  private fdArg(p: Picker, proc: ProcState): string {
    const names = [...proc.fds];
    if (names.length === 0 || p.chance(0.04)) return '-1';
    return names[names.length - 1 - p.below(Math.min(names.length, 4))] as string;
  }

  private sysvipc(p: Picker): void {
    const proc = this.who(p);
    this.lines.push(`${proc.name} sysvipc ${p.pick(SYSVIPC_FILES)}`);
  }

  private shmOpen(p: Picker): void {
    const proc = this.who(p);
    const name = this.shmName(p);
    const flags: string[] = [p.pick(ACCESS_MODES)];
    const create = p.pick(SHM_CREATE);
    if (create !== '') flags.push(create);
    if (p.chance(0.12)) flags.push(p.pick(SHM_OPEN_EXTRAS));
    const mode = p.chance(0.6) ? ` ${p.pick(MODES)}` : '';
    const bind = p.chance(0.92) ? ` -> ${this.bindFd(p, proc)}` : '';
    this.lines.push(`${proc.name} shm_open ${name} ${flags.join('|')}${mode}${bind}`);
  }

  /** shm_unlink of a name, or (rarely) unlink of an object's path, whose sticky-bit refusal is EPERM rather than EACCES. */
  private shmUnlink(p: Picker): void {
    const proc = this.who(p);
    if (p.chance(0.15)) this.lines.push(`${proc.name} unlink ${p.pick(SHM_PATHS)}`);
    else this.lines.push(`${proc.name} shm_unlink ${this.shmName(p)}`);
  }

  /** A shm_open or shm_unlink name: mostly one that names an object, sometimes an odd one. */
  private shmName(p: Picker): string {
    return p.chance(0.25) ? p.pick(ODD_SHM_NAMES) : p.pick(SHM_NAMES);
  }

  private memfd(p: Picker): void {
    const proc = this.who(p);
    const bind = p.chance(0.95) ? ` -> ${this.bindFd(p, proc)}` : '';
    this.lines.push(`${proc.name} memfd_create ${p.pick(MEMFD_NAMES)} ${p.pick(MEMFD_FLAGS)}${bind}`);
  }

  /** A random seal set for F_ADD_SEALS: each seal with its odds, now and then an unknown bit (EINVAL), or none. */
  private sealSet(p: Picker): string {
    const seals = SEALS.filter(([, odds]) => p.chance(odds)).map(([name]) => name);
    if (p.chance(0.04)) seals.push('0x40');
    return seals.length === 0 ? '0' : seals.join('|');
  }

  private fcntl(p: Picker): void {
    const proc = this.whoWithFd(p);
    if (proc === undefined) return this.memfd(p);
    const fd = this.fdArg(p, proc);
    const what = p.below(12);
    let rest: string;
    if (what < 4) rest = `F_ADD_SEALS ${this.sealSet(p)}`;
    else if (what < 6) rest = 'F_GET_SEALS';
    else if (what < 8) rest = 'F_GETFD';
    else if (what < 10) rest = `F_SETFD ${p.pick(SETFD_ARGS)}`;
    else if (what === 10) rest = 'F_GETFL';
    else {
      const cmd = p.pick(FCNTL_NUMERIC);
      rest = cmd === '1033' ? `${cmd} ${this.sealSet(p)}` : cmd === '2' ? `${cmd} ${p.pick(SETFD_ARGS)}` : cmd;
    }
    this.lines.push(`${proc.name} fcntl ${fd} ${rest}`);
  }

  /** One file call on a descriptor: write, pwrite, read, pread, ftruncate, fallocate, fstat, close; or stat or statfs of a path. */
  private fileIo(p: Picker): void {
    const proc = this.whoWithFd(p);
    if (proc === undefined) return p.chance(0.5) ? this.shmOpen(p) : this.memfd(p);
    const fd = this.fdArg(p, proc);
    let op = p.pick(['write', 'pwrite', 'read', 'pread', 'ftruncate', 'fallocate', 'fstat', 'write', 'pwrite', 'close', 'stat', 'statfs'] as const);
    // `write -1 …` and `read -1 …` would be memory accesses at address -1: a literal descriptor goes to pwrite and pread.
    if (fd === '-1' && op === 'write') op = 'pwrite';
    if (fd === '-1' && op === 'read') op = 'pread';
    const name = proc.name;
    switch (op) {
      case 'write':
        this.lines.push(`${name} write ${fd} ${p.pick(FILE_DATA)}`);
        return;
      case 'pwrite':
        this.lines.push(`${name} pwrite ${fd} ${p.pick(FILE_DATA)} ${p.pick(FILE_OFFSETS)}`);
        return;
      case 'read':
        this.lines.push(`${name} read ${fd} ${p.pick(FILE_LENS)}`);
        return;
      case 'pread':
        this.lines.push(`${name} pread ${fd} ${p.pick(FILE_LENS)} ${p.pick(FILE_OFFSETS)}`);
        return;
      case 'ftruncate':
        this.lines.push(`${name} ftruncate ${fd} ${p.pick(TRUNC_LENS)}`);
        return;
      case 'fallocate': {
        const mode = p.pick(FALLOC_MODES);
        this.lines.push(`${name} fallocate ${fd} ${p.pick(FALLOC_OFFSETS)} ${p.pick(FALLOC_LENS)}${mode === '' ? '' : ` ${mode}`}`);
        return;
      }
      case 'fstat':
        this.lines.push(`${name} fstat ${fd}`);
        return;
      case 'close':
        this.lines.push(`${name} close ${fd}`);
        return;
      case 'stat':
        this.lines.push(`${name} stat ${p.pick(SHM_PATHS)}`);
        return;
      case 'statfs':
        this.lines.push(`${name} statfs /dev/shm`);
        return;
    }
  }

  private lseek(p: Picker): void {
    const proc = this.whoWithFd(p);
    if (proc === undefined) return this.memfd(p);
    const fd = this.fdArg(p, proc);
    const offset = p.pick(LSEEK_OFFSETS);
    const whence: string = p.pick(WHENCES);
    this.lines.push(`${proc.name} lseek ${fd} ${offset} ${whence}`);
  }

  /**
   * Where an mmap of `bytes` goes: no address (the kernel's choice, mostly),
   * a hint, or MAP_FIXED / MAP_FIXED_NOREPLACE at a window page, over a
   * window name, inside the pages a kernel-chosen name certainly has (never
   * past them: the native oracle's guard may lie there, see AddrInfo), one
   * byte off (EINVAL), or at an odd address. Returns the flag, the `at=`
   * option, and what the renderer may assume of a name bound to the result.
   */
  private placement(p: Picker, proc: ProcState, bytes: number): { flag: string; at: string; pages: number; bounded: boolean } {
    const pages = Math.max(1, Math.min(Math.ceil(bytes / 4096), 16));
    const mode = p.pick(['none', 'none', 'none', 'none', 'none', 'hint', 'fixed', 'fixed', 'noreplace', 'odd'] as const);
    if (mode === 'none') return { flag: '', at: '', pages, bounded: true };
    if (mode === 'hint') {
      // A free hint is taken, a taken one falls back to the kernel's choice: either way a name bound here is treated as kernel-chosen.
      // A hint at a kernel-chosen name asks for no more pages than the name certainly has: past them may lie the
      // native oracle's guard (AddrInfo), where the kernel declines the hint that the emulator, with free space there, takes.
      const name = this.boundAddr(p, proc);
      const info = name === undefined ? undefined : this.addrInfo.get(name);
      const fits = info !== undefined && (!info.bounded || Math.ceil(bytes / 4096) <= info.minPages);
      return { flag: '', at: ` at=${name === undefined || !fits || p.chance(0.5) ? this.windowAddr(p) : name}`, pages, bounded: true };
    }
    const flag = mode === 'noreplace' ? 'MAP_FIXED_NOREPLACE' : 'MAP_FIXED';
    if (mode === 'odd') return { flag: p.chance(0.8) ? flag : '', at: ` at=${p.pick(ODD_MAP_ADDRESSES)}`, pages: 1, bounded: true };
    const off = p.pick([0, 0, 4096, 8192, 1]);
    const name = this.boundAddr(p, proc);
    const info = name === undefined ? undefined : this.addrInfo.get(name);
    if (name === undefined || info === undefined || p.chance(0.3)) return { flag, at: ` at=${this.windowAddr(p, off)}`, pages, bounded: false };
    if (!info.bounded) return { flag, at: ` at=${offsetAddr(name, off)}`, pages, bounded: false };
    // Inside a kernel-chosen name's known pages only, and no longer than they are.
    const room = Math.min(info.minPages, 3) * 4096;
    const base = off - (off % 4096);
    if (base >= room || bytes > room - base) return { flag, at: ` at=${this.windowAddr(p, off)}`, pages, bounded: false };
    return { flag, at: ` at=${offsetAddr(name, off)}`, pages: Math.min(pages, (room - base) / 4096), bounded: true };
  }

  /** `mmap FD LEN PROT FLAGS [OFFSET] [at=ADDR] [-> ADDR]` of a descriptor: shared or private, any protection, some flags, odd offsets. */
  private mmapFile(p: Picker): void {
    const proc = this.whoWithFd(p);
    if (proc === undefined) return this.mmapAnon(p);
    const fd = this.fdArg(p, proc);
    const len = p.chance(0.05) ? p.pick(HUGE_MAP_LENS) : p.pick(MAP_LENS);
    const type = p.pick(['MAP_SHARED', 'MAP_PRIVATE', 'MAP_SHARED', 'MAP_PRIVATE', 'MAP_SHARED_VALIDATE', '0']);
    this.mapping(p, proc, fd, len, type, p.chance(0.25) ? p.pick(MAP_OFFSETS) : '');
  }

  /** An anonymous mmap: private or shared, FD -1 (now and then another, which Linux ignores). */
  private mmapAnon(p: Picker): void {
    const proc = this.who(p);
    const fd = p.chance(0.08) ? (proc.fds.size > 0 ? this.fdArg(p, proc) : '-2') : '-1';
    const huge = p.chance(0.05);
    const len = huge ? p.pick(HUGE_MAP_LENS) : p.pick(MAP_LENS);
    const type = p.pick(['MAP_PRIVATE', 'MAP_SHARED', 'MAP_PRIVATE', 'MAP_SHARED_VALIDATE', '']);
    const flags = type === '' ? 'MAP_ANONYMOUS' : `${type}|MAP_ANONYMOUS`;
    this.mapping(p, proc, fd, len, flags, '');
  }

  /** The rest of an mmap: protection, extra flags, placement, binding. */
  private mapping(p: Picker, proc: ProcState, fd: string, len: string, type: string, offset: string): void {
    const huge = (HUGE_MAP_LENS as readonly string[]).includes(len);
    const bytes = huge ? 1 << 30 : len.endsWith('K') ? Number(len.slice(0, -1)) * 1024 : len.endsWith('M') ? Number(len.slice(0, -1)) << 20 : Number(len);
    const flags = type === '0' ? [] : [type];
    // A huge mapping goes without commit charge half the time (Linux's overcommit heuristic refuses a
    // writable private or shared anonymous one larger than RAM and swap with ENOMEM, unless
    // MAP_NORESERVE). Never is one populated or locked: a process with CAP_IPC_LOCK would make the
    // kernel fault in all of it.
    if (huge) {
      if (p.chance(0.5)) flags.push('MAP_NORESERVE');
    } else if (p.chance(0.15)) flags.push(p.pick(MAP_EXTRAS));
    // Nor place it: MAP_FIXED of 1 TiB at the window would reach whatever the native process has above.
    const place = huge ? { flag: '', at: '', pages: 16, bounded: true } : this.placement(p, proc, bytes);
    if (place.flag !== '') flags.push(place.flag);
    const prot = p.pick(PROTS);
    const off = offset === '' ? '' : ` ${offset}`;
    const bind = p.chance(0.9) ? ` -> ${this.bindAddr(p, proc, place.pages, place.bounded)}` : '';
    this.lines.push(`${proc.name} mmap ${fd} ${len} ${prot} ${flags.length === 0 ? '0' : flags.join('|')}${off}${place.at}${bind}`);
  }

  /** msync, madvise, mlock (mlock2 with flags), munlock or mincore over a range of the process (see range). */
  private memCall(p: Picker): void {
    const proc = this.who(p);
    const call = p.pick(['madvise', 'mincore', 'mlock', 'msync', 'munlock', 'madvise', 'mincore'] as const);
    const range = this.range(p, proc, MEM_LENS);
    switch (call) {
      case 'msync':
        this.lines.push(`${proc.name} msync ${range} ${p.pick(MSYNC_FLAGS)}`);
        return;
      case 'madvise':
        this.lines.push(`${proc.name} madvise ${range} ${p.pick(MADVICE)}`);
        return;
      case 'mlock': {
        const flags = p.pick(MLOCK_FLAGS);
        this.lines.push(`${proc.name} mlock ${range}${flags === '' ? '' : ` ${flags}`}`);
        return;
      }
      case 'munlock':
      case 'mincore':
        this.lines.push(`${proc.name} ${call} ${range}`);
        return;
    }
  }

  private umask(p: Picker): void {
    const proc = this.who(p);
    this.lines.push(`${proc.name} umask ${p.pick(UMASKS)}`);
  }

  /** cmpaddr of two addresses of the process: two names (or one name with itself, offset), or a name and a window page. */
  private cmpaddr(p: Picker): void {
    const proc = this.who(p);
    const a = this.boundAddr(p, proc);
    const b = this.boundAddr(p, proc);
    if (a === undefined || b === undefined) return this.mmapAnon(p);
    const second = p.chance(0.2) ? this.windowAddr(p) : offsetAddr(b, p.pick([0, 0, 4096, -4096, 8192]));
    this.lines.push(`${proc.name} cmpaddr ${a} ${second}`);
  }

  // -------------------------------------------------------------------------
  // Blocking calls. Whether a call waits depends on everything before it
  // (values, queue contents, permissions, limits), so the generator does not
  // guess: right after a call that may wait it runs the scenario so far on
  // the emulator and reads the last line (consult). A process whose call
  // blocked is then named only by `wait`, `interrupt` and `exit` until a
  // `wait` collects the call, as the language requires, and `wait` is only
  // generated for a process with a blocked call. The language's other rules:
  //  - a semtimedop that waits has a short timeout (SHORT_TIMEOUTS) and is
  //    collected by a `wait` on the very next line, so no statement can see
  //    its waiter between the timeout and the `wait`; or a long one
  //    (LONG_TIMEOUTS) that never runs out within a scenario: a `wait` on it
  //    is generated only when the emulator says the call has finished
  //    (otherwise natively the `wait` would last the whole timeout);
  //  - at most one process at a time is blocked in msgsnd: two senders
  //    woken for room that only one can take race on Linux;
  //  - a zero timeout never goes with a call that may wait.
  // Should the emulator be wrong about a call blocking, the native run
  // differs at that very line, which the differential check reports first.

  /** Whether this call of `proc` goes without IPC_NOWAIT (and so may wait). */
  private mayWait(p: Picker, proc: ProcState, call: 'sem' | 'msg' | 'msgsnd'): boolean {
    if (!this.blocking || this.consults <= 0 || !p.chance(0.45)) return false;
    if (call === 'msgsnd' && this.procs.some((x) => x.alive && x.blocked?.call === 'msgsnd')) return false;
    return proc.blocked === undefined;
  }

  /**
   * Sometimes (when a call of one of `calls` is blocked) the blocked call a
   * command aims at: its set or queue, to wake it, count it or remove the
   * object under it. Random ids rarely meet a waiter otherwise.
   */
  private wakeTarget(p: Picker, calls: readonly BlockedCall['call'][]): BlockedCall | undefined {
    const waiting = this.live().filter((x) => x.blocked !== undefined && calls.includes(x.blocked.call));
    if (waiting.length === 0 || !p.chance(0.6)) return undefined;
    const proc = waiting[p.below(waiting.length)] as ProcState;
    this.woken.push(proc);
    return proc.blocked;
  }

  /**
   * After a command aimed at blocked calls (wakeTarget), mostly collects
   * the ones it woke at once: asks the emulator what a `wait` would print,
   * and adds the `wait` when it collects the call.
   */
  private collectWoken(p: Picker): void {
    const procs = this.woken.splice(0);
    for (const proc of procs) {
      const call = proc.blocked;
      if (call === undefined || !proc.alive || this.consults <= 0 || !p.chance(0.7)) continue;
      const trial = this.consult(`${proc.name} wait`);
      if (trial.blocked || (call.timed && trial.errno === 'EAGAIN')) continue;
      this.lines.push(`${proc.name} wait`);
      proc.blocked = undefined;
    }
  }

  /** After a call that may wait: asks the emulator whether it blocked; a short timed one is collected at once. */
  private afterMayWait(proc: ProcState, call: Pick<BlockedCall, 'call' | 'id' | 'nums' | 'want'>, timeout: 'none' | 'short' | 'long'): void {
    if (!this.consult().blocked) return;
    if (timeout === 'short') {
      // The `wait` lets the timeout pass (EAGAIN) unless the call ended otherwise: either way it collects.
      this.lines.push(`${proc.name} wait`);
      return;
    }
    proc.blocked = { ...call, timed: timeout === 'long', interrupted: false };
  }

  /**
   * `wait` or `interrupt` for a blocked process (or `exit` it); with none
   * blocked, an `interrupt` of a running process (prints ok, changes
   * nothing) or a short `sleep`.
   */
  private block(p: Picker): void {
    const blocked = this.live().filter((x) => x.blocked !== undefined);
    if (blocked.length === 0) {
      const what = p.below(10);
      // Not a forked process: natively its handler sometimes never runs (the oracle gives up after 5 s).
      const proc = this.who(p);
      if (what < 2 && proc.forked !== true) this.lines.push(`${proc.name} interrupt`);
      else if (what === 2) this.lines.push(`sleep ${p.pick(['1', '0', '5'])}`);
      return;
    }
    const proc = blocked[p.below(blocked.length)] as ProcState;
    const call = proc.blocked as BlockedCall;
    const choice = p.below(10);
    if (choice < 2 && !call.interrupted) {
      this.lines.push(`${proc.name} interrupt`);
      call.interrupted = true;
      return;
    }
    if (choice === 9 && this.live().length >= 2) {
      this.lines.push(`exit ${proc.name}`);
      proc.alive = false;
      proc.blocked = undefined;
      return;
    }
    // An interrupted call has ended: the wait collects it. Otherwise ask the emulator what the wait would print.
    if (call.interrupted) {
      this.lines.push(`${proc.name} wait`);
      proc.blocked = undefined;
      return;
    }
    if (this.consults <= 0) {
      this.lines.push(`${proc.name} interrupt`);
      call.interrupted = true;
      return;
    }
    const trial = this.consult(`${proc.name} wait`);
    if (trial.blocked) {
      // Still blocked: the wait prints so and the call stays (a long timed one is not waited on: see above).
      if (!call.timed) this.lines.push(`${proc.name} wait`);
      return;
    }
    if (call.timed && trial.errno === 'EAGAIN') return;
    this.lines.push(`${proc.name} wait`);
    proc.blocked = undefined;
  }

  /**
   * Runs the scenario so far (and `extra`, a statement to try) on the
   * emulator and says what its last statement printed. Throws on a
   * scenario the parser or the run refuses: a generator bug.
   */
  private consult(extra?: string): { blocked: boolean; errno?: string } {
    this.consults--;
    const text = `${[...this.lines, ...(extra === undefined ? [] : [extra])].join('\n')}\n`;
    const parsed = parseScenario(text, 'generated.scn');
    if (E.isLeft(parsed)) throw new Error(`generator bug: the parser rejects a generated scenario:\n${parsed.left.map(formatParseError).join('\n')}\n${text}`);
    let results: readonly RawResult[];
    try {
      results = runEmulated(parsed.right).results;
    } catch (e) {
      throw new Error(`generator bug: the emulator stops on a generated scenario: ${e instanceof Error ? e.message : String(e)}\n${text}`);
    }
    const last = results[results.length - 1];
    if (last === undefined) return { blocked: false };
    if ('blocked' in last && last.blocked === true) return { blocked: true };
    return 'errno' in last ? { blocked: false, errno: last.errno } : { blocked: false };
  }
}

/** A length no longer than `room` bytes: `len` itself when it fits, else `room`. */
function pickLen(len: string, room: number): string {
  return Number(len) <= room ? len : String(room);
}

/** A lower bound on the pages of a segment that a shmget of `size` yields on success (1 when unknown or absurd). */
function sizePages(size: string): number {
  const m = /^(\d+)([KM]?)$/.exec(size);
  if (m === null) return 1; // hex sizes: 0x4000... and the like never attach
  const n = Number(m[1]) * (m[2] === 'K' ? 1024 : m[2] === 'M' ? 1 << 20 : 1);
  return Math.max(1, Math.ceil(n / 4096));
}

/**
 * The scenario text of `script`, checked with the parser. Throws when the
 * parser rejects it: that is a bug of this generator, not of the code under
 * test, and is reported with the text.
 */
export function renderScenario(script: ScenarioScript): string {
  const text = new Renderer().render(script);
  const parsed = parseScenario(text, 'generated.scn');
  if (E.isLeft(parsed)) {
    throw new Error(`generator bug: the parser rejects a generated scenario:\n${parsed.left.map(formatParseError).join('\n')}\n${text}`);
  }
  return text;
}

/** The statements of a scenario text (non-blank, non-comment lines). */
export function statementCount(text: string): number {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#')).length;
}

/** Sizes of generated scripts. Every bound is inclusive. */
export interface ScenarioArbOptions {
  /** Fewest processes the header starts (default 2, or maxProcesses if smaller; at least 1). */
  readonly minProcesses?: number;
  /** Most processes the header starts (default 5 or minProcesses; at most 8, the cap that forks also respect). */
  readonly maxProcesses?: number;
  /** Fewest abstract commands after the header (default 8, or maxCommands if smaller). A few commands render as nothing. */
  readonly minCommands?: number;
  /** Most abstract commands after the header (default 35 or minCommands). */
  readonly maxCommands?: number;
  /**
   * The mechanisms scenarios use (default all four). Each scenario either
   * keeps to one of them or, when more than one is given, mixes them all:
   * the choice is drawn per scenario, with equal weights.
   */
  readonly mechanisms?: readonly ScenarioMechanism[];
  /**
   * Semaphore and message queue calls may go without IPC_NOWAIT and block,
   * with `wait`, `interrupt`, `exit` and `sleep` around them: true for every
   * scenario that uses semaphores or queues, 'some' for half of them (each
   * plan both with and without), false or absent for none. Rendering then
   * runs the scenario on the emulator a few times (see Renderer.consult),
   * and natively a blocking scenario takes two to three times as long.
   */
  readonly blocking?: boolean | 'some';
}

function sizes(options: ScenarioArbOptions): { minProcs: number; maxProcs: number; minCmds: number; maxCmds: number } {
  const minProcs = options.minProcesses ?? Math.min(2, options.maxProcesses ?? 2);
  const maxProcs = options.maxProcesses ?? Math.max(5, minProcs);
  const minCmds = options.minCommands ?? Math.min(8, options.maxCommands ?? 8);
  const maxCmds = options.maxCommands ?? Math.max(35, minCmds);
  const int = (n: number): boolean => Number.isInteger(n) && n >= 0;
  if (!int(minProcs) || !int(maxProcs) || minProcs < 1 || maxProcs > MAX_PROCS || minProcs > maxProcs) {
    throw new RangeError(`scenario arbitrary: processes must satisfy 1 <= min (${minProcs}) <= max (${maxProcs}) <= ${MAX_PROCS}`);
  }
  if (!int(minCmds) || !int(maxCmds) || minCmds > maxCmds) {
    throw new RangeError(`scenario arbitrary: commands must satisfy 0 <= min (${minCmds}) <= max (${maxCmds})`);
  }
  return { minProcs, maxProcs, minCmds, maxCmds };
}

/**
 * Abstract scenario scripts: by default 2 to 5 processes, then 8 to 35
 * commands, so about 10 to 40 statements. `size: 'max'` spreads the lengths
 * over the whole range instead of fast-check's small default.
 */
export function scenarioScriptArb(fc: FastCheck, options: ScenarioArbOptions = {}): Arbitrary<ScenarioScript> {
  const { minProcs, maxProcs, minCmds, maxCmds } = sizes(options);
  const plans = focuses(options.mechanisms ?? SCENARIO_MECHANISMS);
  const blocking = options.blocking ?? false;
  const choices = fc.array(fc.nat({ max: 0xffff }), { minLength: CHOICES, maxLength: CHOICES });
  const procsArb = fc.array(fc.record({ r: choices }), { minLength: minProcs, maxLength: maxProcs, size: 'max' });
  const scriptArb = (focus: readonly ScenarioMechanism[], block: boolean): Arbitrary<ScenarioScript> => {
    const weights: Partial<Record<ScenarioCommandKind, number>> = { ...COMMON_KINDS };
    for (const m of focus) Object.assign(weights, MECHANISM_KINDS[m]);
    if (block) Object.assign(weights, BLOCK_KINDS);
    const kindArb: Arbitrary<ScenarioCommandKind> = fc.oneof(
      ...(Object.entries(weights) as [ScenarioCommandKind, number][]).map(([kind, weight]) => ({ arbitrary: fc.constant(kind), weight })),
    );
    const commandArb: Arbitrary<ScenarioCommand> = fc.record({ kind: kindArb, keep: fc.integer({ min: 0, max: 30 }), r: choices });
    const commandsArb = fc.array(commandArb, { minLength: minCmds, maxLength: maxCmds, size: 'max' });
    const script: Arbitrary<ScenarioScript> = focus.includes('posix')
      ? fc.record({ procs: procsArb, commands: commandsArb, devshm: choices })
      : fc.record({ procs: procsArb, commands: commandsArb });
    return block ? script.map((x) => ({ ...x, blocking: true })) : script;
  };
  const arbs: Arbitrary<ScenarioScript>[] = [];
  for (const focus of plans) {
    const blocks = focus.includes('sem') || focus.includes('msg');
    if (blocking !== true || !blocks) arbs.push(scriptArb(focus, false));
    if (blocking !== false && blocks) arbs.push(scriptArb(focus, true));
  }
  return fc.oneof(...arbs);
}

/** The mechanism sets scenarios draw from: each mechanism alone, then all of them together when there are several. */
function focuses(mechanisms: readonly ScenarioMechanism[]): (readonly ScenarioMechanism[])[] {
  const known = new Set<string>(SCENARIO_MECHANISMS);
  const unique = [...new Set(mechanisms)];
  const bad = unique.filter((m) => !known.has(m));
  if (unique.length === 0 || bad.length > 0) {
    throw new RangeError(
      `scenario arbitrary: mechanisms must be a non-empty list of ${SCENARIO_MECHANISMS.join(', ')}${bad.length > 0 ? ` (got ${bad.join(', ')})` : ''}`,
    );
  }
  const out: (readonly ScenarioMechanism[])[] = unique.map((m) => [m]);
  if (unique.length > 1) out.push(unique);
  return out;
}

/**
 * Well-formed scenario texts (scenarioScriptArb rendered by renderScenario):
 * run them with runScenario, or `ipc-sentry scenario FILE`.
 */
export function scenarioTextArb(fc: FastCheck, options: ScenarioArbOptions = {}): Arbitrary<string> {
  return scenarioScriptArb(fc, options).map(renderScenario);
}
