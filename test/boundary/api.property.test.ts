/**
 * The API refuses what it cannot keep: random JavaScript values (fast-check's
 * anything, and numbers, bigints, strings, typed arrays, DataViews, arrays,
 * null, undefined and objects aimed at each argument) are thrown at every
 * public method of Kernel, Process, ContainerEngine and at the checkpoint
 * functions, between valid calls that build state up. After each call:
 * nothing threw but a TypeError naming the method, and checkInvariants
 * holds; at the end the kernel checkpoints and restores, and the restored
 * kernel holds its invariants too.
 *
 * The methods are enumerated from the prototypes, and the test fails when
 * one is neither in the table below nor internal (private, or marked
 * @internal in its source), so a new method cannot escape it.
 *
 * A worker's Task takes the same calls through its mailbox: its semaphore
 * and message queue methods (every one on its prototype) get random values
 * in a worker thread, where values that cannot be cloned (symbols,
 * functions) can be made, while the kernel thread interrupts the process
 * so that no call sleeps for ever.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ContainerEngine,
  IPC_CREAT,
  IPC_INFO,
  IPC_PRIVATE,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  Kernel,
  MemoryCgroup,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  SHM_INFO,
  SHM_LOCK,
  SHM_RDONLY,
  IPC_SYSCTLS,
  IPC_NOWAIT,
  GETALL,
  GETNCNT,
  GETPID,
  GETVAL,
  GETZCNT,
  MSG_INFO,
  MSG_NOERROR,
  MSG_STAT,
  SEM_INFO,
  SEM_STAT,
  SEM_UNDO,
  SETALL,
  SETVAL,
  SHM_UNLOCK,
  F_ADD_SEALS,
  F_GETFD,
  F_GETFL,
  F_GET_SEALS,
  F_SETFD,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_HUGETLB,
  checkpoint,
  restore,
  restoreWithEngine,
} from '../../src/index.js';
import type { IpcNamespace, Tmpfs } from '../../src/index.js';
import type { TraceEvent } from '../../src/kernel/trace.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Task } from '../../src/kernel/task.js';
import { spawnWorker } from '../../src/node/worker.js';
import { METHODS as TASK_SYSV_METHODS } from '../workers/programs/task_fuzz.js';
import type { CallRecord } from '../workers/programs/task_fuzz.js';
import { seed } from '../support/seed.js';

// test/setup.ts has configured fast-check with the run's seed (useSeed), and vitest.config.ts printed it.

/** What one argument is: each kind draws a valid value from the state built so far. */
type Kind =
  | 'key'
  | 'size'
  | 'shmflg'
  | 'shmid'
  | 'addr'
  | 'atflg'
  | 'cmd'
  | 'set'
  | 'len'
  | 'prot'
  | 'bytes'
  | 'int'
  | 'count'
  | 'timeout'
  | 'path'
  | 'oflags'
  | 'mode'
  | 'fd'
  | 'offset'
  | 'mflags'
  | 'tmpfs'
  | 'remount'
  | 'rlimit'
  | 'sysctl'
  | 'sysval'
  | 'ns'
  | 'tmpfsOpts'
  | 'spawnOpts'
  | 'cname'
  | 'createOpts'
  | 'rmOpts'
  | 'creds'
  | 'kernel'
  | 'ckptOpts'
  | 'image'
  | 'restoreOpts'
  | 'cgPath'
  | 'cgLimit'
  | 'semid'
  | 'nsems'
  | 'sops'
  | 'timespec'
  | 'semcmd'
  | 'semun'
  | 'msqid'
  | 'mtype'
  | 'msgflg'
  | 'msgcmd'
  | 'msgset'
  | 'ms'
  | 'sysname'
  | 'fname'
  | 'mfdflags'
  | 'fcntlcmd'
  | 'mapflags'
  | 'msflags'
  | 'advice'
  | 'whence'
  | 'listener';

type Target = 'Process' | 'Kernel' | 'ContainerEngine' | 'checkpoint' | 'MemoryCgroup';

/** Every public method under test, with its arguments' kinds. */
const TABLE: Record<Target, Record<string, readonly Kind[]>> = {
  Process: {
    shmget: ['key', 'size', 'shmflg'],
    shmat: ['shmid', 'addr', 'atflg'],
    shmdt: ['addr'],
    shmctl: ['shmid', 'cmd', 'set'],
    munmap: ['addr', 'len'],
    mprotect: ['addr', 'len', 'prot'],
    read: ['addr', 'len'],
    readInto: ['addr', 'bytes'],
    write: ['addr', 'bytes'],
    fill: ['addr', 'len', 'int'],
    atomicLoad32: ['addr'],
    atomicStore32: ['addr', 'int'],
    atomicAdd32: ['addr', 'int'],
    atomicCompareExchange32: ['addr', 'int', 'int'],
    futexWait: ['addr', 'int', 'timeout'],
    futexWake: ['addr', 'count'],
    fork: [],
    exit: [],
    open: ['path', 'oflags', 'mode'],
    close: ['fd'],
    readFd: ['fd', 'count'],
    pread: ['fd', 'count', 'offset'],
    writeFd: ['fd', 'bytes'],
    pwrite: ['fd', 'bytes', 'offset'],
    ftruncate: ['fd', 'offset'],
    fallocate: ['fd', 'int', 'offset', 'offset'],
    fstat: ['fd'],
    stat: ['path'],
    statfs: ['path'],
    mkdir: ['path', 'mode'],
    rmdir: ['path'],
    unlink: ['path'],
    mmap: ['fd', 'len', 'prot', 'mapflags', 'offset', 'addr'],
    msync: ['addr', 'len', 'msflags'],
    mlock: ['addr', 'len'],
    mlock2: ['addr', 'len', 'int'],
    munlock: ['addr', 'len'],
    madvise: ['addr', 'len', 'advice'],
    mincore: ['addr', 'len'],
    lseek: ['fd', 'offset', 'whence'],
    umask: ['mode'],
    ftok: ['path', 'int'],
    mountTmpfs: ['tmpfs', 'path', 'mflags'],
    bindMount: ['path', 'path', 'mflags'],
    umount: ['path', 'int'],
    remount: ['path', 'remount'],
    unshareIpc: [],
    setMemlockLimit: ['rlimit'],
    setFsizeLimit: ['rlimit'],
    writeSysctl: ['sysctl', 'sysval'],
    readSysctl: ['sysname'],
    semget: ['key', 'nsems', 'shmflg'],
    semop: ['semid', 'sops'],
    semtimedop: ['semid', 'sops', 'timespec'],
    semctl: ['semid', 'int', 'semcmd', 'semun'],
    msgget: ['key', 'shmflg'],
    msgsnd: ['msqid', 'mtype', 'bytes', 'msgflg'],
    msgrcv: ['msqid', 'len', 'mtype', 'msgflg'],
    msgctl: ['msqid', 'msgcmd', 'msgset'],
    interrupt: [],
    memfdCreate: ['fname', 'mfdflags'],
    fcntl: ['fd', 'fcntlcmd', 'int'],
    shmOpen: ['fname', 'oflags', 'mode'],
    shmUnlink: ['fname'],
  },
  Kernel: {
    newTmpfs: ['tmpfsOpts'],
    now: [],
    newIpcNamespace: [],
    spawn: ['spawnOpts'],
    trySpawn: ['spawnOpts'],
    processes: [],
    writeSysctl: ['ns', 'sysctl', 'sysval'],
    readSysctl: ['ns', 'sysname'],
    monotonicNow: [],
    runTimers: [],
    advanceTime: ['ms'],
    ipcNamespaces: [],
    mountNamespaces: [],
    memoryUsage: [],
    // A listener stays subscribed: the calls after it run traced (and must still keep every rule).
    onTrace: ['listener'],
  },
  ContainerEngine: {
    create: ['cname', 'createOpts'],
    start: ['cname'],
    stop: ['cname'],
    restart: ['cname'],
    rm: ['cname', 'rmOpts'],
    run: ['cname', 'createOpts'],
    exec: ['cname', 'creds'],
    initProcess: ['cname'],
    inspect: ['cname'],
    memoryCgroup: ['cname'],
    names: [],
    reap: [],
  },
  checkpoint: {
    checkpoint: ['kernel', 'ckptOpts'],
    restore: ['image', 'restoreOpts'],
    restoreWithEngine: ['image', 'restoreOpts'],
  },
  // The constructor: MemoryCgroup's methods are the charge interface (below).
  MemoryCgroup: { constructor: ['cgPath', 'cgLimit'] as Kind[] },
};

/**
 * Public methods left out, with the reason. MemoryCgroup's are the charge
 * interface tmpfs calls for each page (and checkpoint restore's counter
 * setter): a charge from outside changes the usage the pages behind it
 * imply, so no argument checking could keep checkInvariants true. They
 * belong @internal, but src/memcg is outside this change.
 */
const LEFT_OUT: Record<string, string> = {
  'MemoryCgroup.tryCharge': 'the charge interface, called by tmpfs per page',
  'MemoryCgroup.uncharge': 'the charge interface, called by tmpfs per page',
  'MemoryCgroup.restoreCounters': 'checkpoint restore sets the counters it read',
  'Kernel.dispose': 'ends the machine, so every later call of a run would be ESRCH; test/kernel/dispose.test.ts calls a disposed kernel',
};

const SOURCES: Record<string, string> = {
  Process: 'src/kernel/process.ts',
  Kernel: 'src/kernel/kernel.ts',
  ContainerEngine: 'src/hostchannel/engine.ts',
  MemoryCgroup: 'src/memcg/cgroup.ts',
};

/** Methods a class's source declares private or documents as @internal. */
function internalMethods(file: string): Set<string> {
  const lines = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n');
  const out = new Set<string>();
  let doc = '';
  let inDoc = false;
  for (const line of lines) {
    const t = line.trim();
    if (t.startsWith('/**')) {
      inDoc = true;
      doc = '';
    }
    if (inDoc) {
      doc += `${t}\n`;
      if (t.endsWith('*/')) inDoc = false;
      continue;
    }
    const m = /^ {2}(private |protected )?(?:static |async |get |set )*([A-Za-z_$][\w$]*)\s*[<(]/.exec(line);
    if (m !== null) {
      if (m[1] !== undefined || doc.includes('@internal')) out.add(m[2] as string);
      doc = '';
    } else if (t !== '' && !t.startsWith('//') && !t.startsWith('@')) {
      doc = '';
    }
  }
  return out;
}

/** The function-valued (not accessor) own properties of a prototype, but the constructor. */
function prototypeMethods(proto: object): string[] {
  return Object.getOwnPropertyNames(proto).filter((n) => {
    const d = Object.getOwnPropertyDescriptor(proto, n);
    return n !== 'constructor' && d !== undefined && typeof d.value === 'function';
  });
}

const PROTOTYPES: Record<string, object> = {
  Process: Object.getPrototypeOf(new Kernel({ memTotalBytes: 16 << 20 }).spawn()) as object,
  Kernel: Kernel.prototype,
  ContainerEngine: ContainerEngine.prototype,
  MemoryCgroup: MemoryCgroup.prototype,
};

// Values aimed at arguments: the edges of numbers and bigints, strings, every typed array kind, and the rest.
const TYPED = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;
const targeted: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0.5, 1.5, -1, -4096, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64, 1e300, -(2 ** 63), Number.MAX_VALUE),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.constantFrom(2n ** 64n, 2n ** 64n - 1n, -1n, -(2n ** 63n), 0n, 4096n),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('100000', '0', '4096', '', '/', '/tmp'),
  fc.tuple(fc.constantFrom(...TYPED), fc.nat(16)).map(([T, n]) => new T(n)),
  fc.nat(16).map((n) => new DataView(new ArrayBuffer(n))),
  fc.array(fc.integer({ min: -1, max: 300 }), { maxLength: 8 }),
  fc.constantFrom(null, undefined, true, false, {}, [], Symbol('s'), () => 0),
  fc.object({ maxDepth: 1 }),
);
const bad: fc.Arbitrary<unknown> = fc.oneof(targeted, fc.anything({ maxDepth: 1 }));

/** One argument: a valid draw (by seed) from the state, or a random value. */
type Recipe = { readonly good: number } | { readonly bad: unknown };

interface Call {
  readonly target: Target;
  readonly method: string;
  readonly args: readonly Recipe[];
}

const TARGETS = Object.keys(TABLE) as Target[];
const callArb: fc.Arbitrary<Call> = fc
  .tuple(fc.constantFrom(...TARGETS.flatMap((t) => Object.keys(TABLE[t]).map((m) => [t, m] as const))), fc.constantFrom('valid', 'one', 'all'), fc.nat())
  .chain(([[target, method], mode, which]) => {
    const kinds = TABLE[target][method] as readonly Kind[];
    const badAt = kinds.length === 0 ? -1 : which % kinds.length;
    const recipe = (i: number): fc.Arbitrary<Recipe> =>
      mode === 'valid' || (mode === 'one' && i !== badAt)
        ? fc.nat().map((good) => ({ good }))
        : fc.oneof({ weight: 3, arbitrary: bad.map((b) => ({ bad: b })) }, { weight: 1, arbitrary: fc.nat().map((good) => ({ good })) });
    return fc.tuple(...kinds.map((_, i) => recipe(i))).map((args): Call => ({ target, method, args }));
  });

/** What a run has built: the kernel, the engine, and handles valid calls pick from. */
interface World {
  readonly k: Kernel;
  readonly engine: ContainerEngine;
  readonly ids: number[];
  readonly semids: number[];
  readonly msqids: number[];
  readonly addrs: number[];
  readonly fds: number[];
  readonly tmpfs: Tmpfs[];
  readonly namespaces: IpcNamespace[];
  readonly cgroups: MemoryCgroup[];
  image: Uint8Array | undefined;
}

/** Trace events the subscribed listeners saw, by kind (printed with the tally). */
const traceTally: Record<string, number> = {};

const pick = <T>(xs: readonly T[], n: number, fallback: T): T => (xs.length === 0 ? fallback : (xs[n % xs.length] as T));
const PATHS = ['/tmp', '/tmp/f', '/tmp/g', '/d', '/d/x', '/', '/mnt', '/nope/x'];

function goodValue(w: World, kind: Kind, n: number): unknown {
  switch (kind) {
    case 'key':
      return pick([IPC_PRIVATE, 1, 2, 3], n, 0);
    case 'size':
      return pick([4096, 8192, 1, 3 * 4096], n, 4096);
    case 'shmflg':
      return pick([IPC_CREAT | 0o666, 0o600, IPC_CREAT | 0o600, 0], n, 0);
    case 'shmid':
      return pick(w.ids, n, n % 4);
    case 'addr':
      return n % 5 === 0 ? 0 : pick(w.addrs, n, 0) + (n % 3) * 4;
    case 'atflg':
      return pick([0, SHM_RDONLY], n, 0);
    case 'cmd':
      return pick([IPC_STAT, IPC_STAT, IPC_RMID, IPC_SET, IPC_INFO, SHM_INFO, SHM_LOCK, SHM_UNLOCK], n, IPC_STAT);
    case 'set':
      return n % 2 === 0 ? undefined : { uid: 0, gid: 0, mode: 0o640 };
    case 'len':
      return pick([4096, 16, 0, 8192], n, 4096);
    case 'prot':
      return pick([PROT_READ | PROT_WRITE, PROT_READ, 0], n, PROT_READ);
    case 'bytes':
      return new Uint8Array((n % 64) + 1).fill(n & 0xff);
    case 'int':
      return (n % 7) - 1;
    case 'count':
      return n % 16;
    case 'timeout':
      return 0;
    case 'path':
      return pick(PATHS, n, '/tmp');
    case 'oflags':
      return pick([O_CREAT | O_RDWR, O_RDONLY, O_RDWR], n, O_RDONLY);
    case 'mode':
      return pick([0o644, 0o777, 0o600], n, 0o644);
    case 'fd':
      return pick(w.fds, n, n % 4);
    case 'offset':
      // Offsets and lengths are loff_t: a number, or a bigint up to 2^63-1 (a sparse tmpfs file reaches it).
      return pick([0, 100, 4096, 5000, 8192n, 2n ** 62n, 2n ** 63n - 1n], n, 0);
    case 'mflags':
      return pick([undefined, {}, { readonly: true }, { nosuid: true, noexec: false }], n, undefined);
    case 'tmpfs':
      return pick(w.tmpfs, n, undefined);
    case 'remount':
      return pick([{}, { sizeBytes: 1 << 20 }, { nrInodes: 100 }], n, {});
    case 'rlimit':
      return pick([0n, 1n << 20n, -1n, 8n << 20n], n, 0n);
    case 'sysctl':
      return pick(IPC_SYSCTLS, n, 'shmmax');
    case 'sysval':
      return n % 5 === 0 ? [BigInt((n % 50) + 1), 64000n, 32n, 128n] : BigInt((n % 50) + 1) * 4096n;
    case 'sysname':
      return pick(IPC_SYSCTLS, n, 'sem');
    case 'listener':
      return (e: TraceEvent): void => {
        traceTally[e.kind] = (traceTally[e.kind] ?? 0) + 1;
      };
    case 'semid':
      return pick(w.semids, n, n % 4);
    case 'nsems':
      return pick([1, 2, 3, 0], n, 1);
    case 'sops':
      return pick(
        [
          [{ semNum: 0, semOp: 1, semFlg: 0 }],
          [{ semNum: 0, semOp: -1, semFlg: SEM_UNDO }],
          [{ semNum: 0, semOp: -1, semFlg: IPC_NOWAIT }],
          [
            { semNum: 1, semOp: 0, semFlg: 0 },
            { semNum: 0, semOp: 2, semFlg: SEM_UNDO },
          ],
          [{ semNum: 0, semOp: -2, semFlg: 0 }],
        ],
        n,
        [],
      );
    case 'timespec':
      return pick([undefined, { sec: 0, nsec: 0 }, { sec: 0, nsec: 1000 }, { sec: 1, nsec: 0 }], n, undefined);
    case 'semcmd':
      return pick([GETVAL, SETVAL, GETALL, SETALL, GETNCNT, GETZCNT, GETPID, IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SEM_INFO, SEM_STAT], n, GETVAL);
    case 'semun':
      return pick<unknown>([1, [1, 2, 3], { uid: 0, gid: 0, mode: 0o666 }, undefined, 0], n, undefined);
    case 'msqid':
      return pick(w.msqids, n, n % 4);
    case 'mtype':
      return pick<number | bigint>([1, 2, 0, -2, 2n ** 62n], n, 1);
    case 'msgflg':
      return pick([0, IPC_NOWAIT, MSG_NOERROR, IPC_NOWAIT | MSG_NOERROR], n, 0);
    case 'msgcmd':
      return pick([IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, MSG_INFO, MSG_STAT], n, IPC_STAT);
    case 'msgset':
      return pick([undefined, { uid: 0, gid: 0, mode: 0o666, qbytes: 64 }, { uid: 0, gid: 0, mode: 0o600, qbytes: 16384n }], n, undefined);
    case 'ms':
      return pick([0, 1, 500, 2000], n, 0);
    case 'fname':
      return pick(['buf', 'seg', '', 'a/b', 'x'.repeat(250)], n, 'buf');
    case 'mfdflags':
      return pick([0, MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_ALLOW_SEALING | MFD_CLOEXEC, MFD_HUGETLB], n, 0);
    case 'fcntlcmd':
      return pick([F_GETFD, F_SETFD, F_GETFL, F_ADD_SEALS, F_GET_SEALS], n, F_GETFD);
    case 'mapflags':
      // MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, each also with MAP_ANONYMOUS (0x20), MAP_FIXED (0x10), MAP_LOCKED, MAP_POPULATE.
      return pick([0x01, 0x02, 0x03, 0x21, 0x22, 0x32, 0x2022, 0x8001, 0x100022], n, 0x01);
    case 'msflags':
      return pick([0, 1, 4, 2, 6, 5], n, 0);
    case 'advice':
      // MADV_NORMAL, DONTNEED, FREE, REMOVE, HUGEPAGE, an unknown one.
      return pick([0, 4, 8, 9, 14, 999], n, 4);
    case 'whence':
      return pick([0, 1, 2, 3, 4, 5], n, 0);
    case 'ns':
      return pick(w.namespaces, n, w.k.initialIpcNamespace);
    case 'tmpfsOpts':
      return pick([undefined, {}, { sizeBytes: 1 << 20 }, { nrInodes: 10, mode: 0o700 }], n, {});
    case 'spawnOpts':
      return pick<object | undefined>(
        [
          undefined,
          {},
          { uid: 1000, gid: 1000 },
          { ipcNamespace: pick(w.namespaces, n, w.k.initialIpcNamespace) },
          { memoryCharge: pick<object>(w.cgroups, n, w.k.rootMemoryCgroup) },
        ],
        n,
        {},
      );
    case 'cname':
      return pick(['c0', 'c1', 'c2', '-bad'], n, 'c0');
    case 'createOpts':
      return pick<object | undefined>([undefined, {}, { memoryLimit: 8n << 20n }, { rm: true }, { hostChannel: '/hc:/hc:rw:4M' }], n, {});
    case 'rmOpts':
      return pick([undefined, {}, { force: true }], n, {});
    case 'creds':
      return pick([undefined, {}, { uid: 1000, gid: 1000 }], n, {});
    case 'kernel':
      return w.k;
    case 'ckptOpts':
      return pick([undefined, {}, { engine: w.engine }], n, {});
    case 'image':
      return w.image ?? new Uint8Array(0);
    case 'restoreOpts':
      return pick([undefined, {}], n, {});
    case 'cgPath':
      return pick(['/a', '/b'], n, '/a');
    case 'cgLimit':
      return pick([undefined, 0n, 8n << 20n], n, undefined);
  }
}

interface Tally {
  calls: number;
  refused: number;
  typeErrors: number;
  readonly methods: Set<string>;
}

function isEither(v: unknown): v is E.Either<unknown, unknown> {
  return typeof v === 'object' && v !== null && ((v as { _tag?: unknown })._tag === 'Left' || (v as { _tag?: unknown })._tag === 'Right');
}

/** Runs one call and keeps what a valid call made for later ones. */
function run(w: World, call: Call, tally: Tally): void {
  const args = call.args.map((r, i) => ('good' in r ? goodValue(w, (TABLE[call.target][call.method] as Kind[])[i] as Kind, r.good) : r.bad));
  const name = `${call.target === 'checkpoint' ? '' : `${call.target}.`}${call.method}`;
  let out: unknown;
  let self: unknown;
  if (call.target === 'Process') {
    const live = w.k.processes();
    self = live.length === 0 ? w.k.spawn() : pick(live, call.args.length, live[0]);
    // FUTEX_WAIT on the kernel thread sleeps until its timeout: keep that short (absent is forever).
    if (call.method === 'futexWait' && (args[2] === undefined || (typeof args[2] === 'number' && args[2] > 5))) args[2] = 0;
  } else if (call.target === 'Kernel') self = w.k;
  else if (call.target === 'ContainerEngine') self = w.engine;
  tally.calls += 1;
  tally.methods.add(name);
  try {
    if (call.target === 'checkpoint') {
      const f = { checkpoint, restore, restoreWithEngine }[call.method] as (...a: unknown[]) => unknown;
      out = f(...args);
    } else if (call.target === 'MemoryCgroup') {
      const cg = new MemoryCgroup(...(args as [string, bigint]));
      if (w.cgroups.length < 4) w.cgroups.push(cg);
      out = undefined;
    } else {
      out = (self as Record<string, (...a: unknown[]) => unknown>)[call.method]?.(...args);
    }
  } catch (e) {
    if (!(e instanceof TypeError) || !e.message.includes(name)) {
      throw new Error(`${name}(${args.map(show).join(', ')}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
    }
    tally.refused += 1;
    tally.typeErrors += 1;
    return;
  }
  if (isEither(out) && E.isLeft(out)) tally.refused += 1;
  else if (
    typeof out === 'object' &&
    out !== null &&
    (out as { exitStatus?: unknown }).exitStatus !== undefined &&
    (out as { exitStatus: number }).exitStatus !== 0
  ) {
    tally.refused += 1;
  }
  remember(w, call, args, out);
  const inv = checkInvariants(w.k);
  if (E.isLeft(inv)) throw new Error(`after ${name}(${args.map(show).join(', ')}): ${inv.left.where}: ${inv.left.message}`);
}

function remember(w: World, call: Call, args: readonly unknown[], out: unknown): void {
  if (!isEither(out) || E.isLeft(out)) return;
  const v = out.right;
  if (call.target === 'Process') {
    if (call.method === 'shmget' && typeof v === 'number' && w.ids.length < 8) w.ids.push(v);
    if (call.method === 'semget' && typeof v === 'number' && w.semids.length < 8) w.semids.push(v);
    if (call.method === 'msgget' && typeof v === 'number' && w.msqids.length < 8) w.msqids.push(v);
    if ((call.method === 'shmat' || call.method === 'mmap') && typeof v === 'number' && w.addrs.length < 8) w.addrs.push(v);
    if ((call.method === 'open' || call.method === 'memfdCreate' || call.method === 'shmOpen') && typeof v === 'number' && w.fds.length < 8) w.fds.push(v);
  }
  if (call.target === 'Kernel' && call.method === 'newTmpfs' && w.tmpfs.length < 4) w.tmpfs.push(v as Tmpfs);
  if (call.target === 'checkpoint' && call.method === 'checkpoint' && v instanceof Uint8Array) w.image = v;
  if (call.target === 'checkpoint' && call.method !== 'checkpoint') {
    const kernel = v instanceof Kernel ? v : (v as { kernel: Kernel }).kernel;
    const inv = checkInvariants(kernel);
    if (E.isLeft(inv)) throw new Error(`a restored kernel: ${inv.left.where}: ${inv.left.message}`);
  }
  void args;
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  if (v instanceof Kernel) return 'kernel';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function newWorld(): World {
  // A still monotonic clock: timed waits end only at advanceTime or runTimers, so a run replays.
  const k = new Kernel({ memTotalBytes: 64 << 20, allocatePid: undefined, monotonicClock: () => 0 });
  const engine = new ContainerEngine(k);
  const host = k.spawn();
  host.mkdir('/tmp', 0o777);
  host.mkdir('/d', 0o755);
  return {
    k,
    engine,
    ids: [],
    semids: [],
    msqids: [],
    addrs: [],
    fds: [],
    tmpfs: [],
    namespaces: [k.initialIpcNamespace, k.newIpcNamespace()],
    cgroups: [],
    image: undefined,
  };
}

describe('the API boundary', () => {
  it('the table covers every public method of Kernel, Process, ContainerEngine and MemoryCgroup', () => {
    const missing: string[] = [];
    const internalTested: string[] = [];
    for (const [cls, proto] of Object.entries(PROTOTYPES)) {
      const internal = internalMethods(SOURCES[cls] as string);
      const tested = TABLE[cls as Target];
      for (const m of prototypeMethods(proto)) {
        const key = `${cls}.${m}`;
        if (m in tested) {
          if (internal.has(m)) internalTested.push(key);
        } else if (!internal.has(m) && LEFT_OUT[key] === undefined) missing.push(key);
      }
      for (const m of Object.keys(tested))
        if (m !== 'constructor' && !prototypeMethods(proto).includes(m)) missing.push(`${key(cls, m)} (in the table, not on the prototype)`);
    }
    expect(missing).toEqual([]);
    expect(internalTested).toEqual([]);
  });

  it('refuses random values with a Left or a TypeError naming the method, keeps its invariants, and checkpoints and restores', () => {
    const tally: Tally = { calls: 0, refused: 0, typeErrors: 0, methods: new Set() };
    const started = Date.now();
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 20, maxLength: 120 }), (calls) => {
        const w = newWorld();
        for (const call of calls) run(w, call, tally);
        const image = checkpoint(w.k, { engine: w.engine });
        if (E.isLeft(image)) throw new Error(`checkpoint: ${image.left.where}: ${image.left.message}`);
        const back = restoreWithEngine(image.right);
        if (E.isLeft(back)) throw new Error(`restore: ${back.left.where}: ${back.left.message}`);
        const inv = checkInvariants(back.right.kernel);
        if (E.isLeft(inv)) throw new Error(`the restored kernel: ${inv.left.where}: ${inv.left.message}`);
      }),
      { numRuns: 400 },
    );
    const all = TARGETS.flatMap((t) => Object.keys(TABLE[t]).map((m) => (t === 'checkpoint' ? m : `${t}.${m}`)));
    console.log(
      `api boundary: ${tally.calls} calls, ${tally.refused} refused (${tally.typeErrors} as TypeErrors), ` +
        `${tally.methods.size}/${all.length} methods called, trace events seen ${JSON.stringify(traceTally)}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(tally.methods.size).toBe(all.length);
    // Some runs subscribe early enough that the calls after it are traced.
    expect(traceTally['syscall'] ?? 0).toBeGreaterThan(0);
  });
});

function key(cls: string, m: string): string {
  return `${cls}.${m}`;
}

describe("a worker's Task at the API boundary", () => {
  it('the fuzzing program covers every semaphore and message queue method of Task', () => {
    const onTask = prototypeMethods(Task.prototype).filter((m) => /^(sem|msg)/.test(m));
    expect([...TASK_SYSV_METHODS].sort()).toEqual(onTask.sort());
  });

  it('refuses random values to those methods with a Left or a TypeError naming the method, and the kernel keeps its invariants', async () => {
    const k = new Kernel({ memTotalBytes: 64 << 20 });
    const p = k.spawn();
    const thread = spawnWorker(k, p, new URL('../workers/programs/task_fuzz.ts', import.meta.url), [seed, 400]);
    if (E.isLeft(thread)) throw new Error(`spawnWorker: ${thread.left.message}`);
    // Signals end every call that sleeps (semop, semtimedop, msgsnd, msgrcv) with EINTR.
    const signals = setInterval(() => {
      if (!p.exited) p.interrupt();
    }, 5);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void thread.right.terminate();
        reject(new Error('the fuzzing worker did not end within 45 s'));
      }, 45_000);
    });
    let exit: Awaited<typeof thread.right.done>;
    try {
      exit = await Promise.race([thread.right.done, late]);
    } finally {
      clearInterval(signals);
      clearTimeout(timer);
    }
    expect(exit.error).toBeUndefined();
    const records = exit.result as CallRecord[];
    expect(records.filter((r) => r.outcome === 'threw')).toEqual([]);
    const byOutcome = (o: CallRecord['outcome']) => records.filter((r) => r.outcome === o).length;
    console.log(
      `task boundary: ${records.length} calls, ${byOutcome('left')} refused with a Left, ${byOutcome('TypeError')} as TypeErrors, ${byOutcome('right')} served`,
    );
    expect(new Set(records.map((r) => r.method)).size).toBe(TASK_SYSV_METHODS.length);
    expect(byOutcome('left')).toBeGreaterThan(0);
    expect(byOutcome('right')).toBeGreaterThan(0);
    expect(checkInvariants(k)).toEqual(E.right(undefined));
    // The sets and queues the thread made outlive it, whole: a checkpoint of the kernel restores.
    const image = checkpoint(k);
    if (E.isLeft(image)) throw new Error(`checkpoint: ${image.left.where}: ${image.left.message}`);
    const back = restore(image.right);
    if (E.isLeft(back)) throw new Error(`restore: ${back.left.where}: ${back.left.message}`);
    expect(checkInvariants(back.right)).toEqual(E.right(undefined));
  });
});
