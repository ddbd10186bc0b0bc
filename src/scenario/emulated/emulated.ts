/**
 * The emulated backend: runs a parsed scenario on ipc-sentry itself and
 * reports raw results (docs/oracle-protocol.md), exactly the facts the native
 * oracle reports, so one normalizer serves both.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_INFO, IPC_SET, IPC_STAT, SHM_INFO, SHM_STAT, SHM_STAT_ANY } from '../../abi/constants.js';
import type { SysError } from '../../abi/errno.js';
import type { ShmidDs } from '../../abi/shm.js';
import type { Capability } from '../../auth/credentials.js';
import { ALL_CAPABILITIES } from '../../auth/credentials.js';
import type { Fault } from '../../mm/access.js';
import type { IpcNamespace } from '../../kernel/ipc_namespace.js';
import type { CheckpointError } from '../../checkpoint/index.js';
import { Kernel } from '../../kernel/kernel.js';
import type { Process } from '../../kernel/process.js';
import type { ShmctlResult } from '../../shm/syscalls.js';
import type { AddrArg, IdArg, Program, Statement } from '../parse/ast.js';
import { isHostSide } from '../parse/table.js';
import { FileSide, SCENARIO_UMASK } from './emulated_fs.js';
import { runMem } from './emulated_mem.js';
import type { PosixContext } from './emulated_posix.js';
import { runPosix } from './emulated_posix.js';
import type { RawDs, RawMsginfo, RawResult, RawSeminfo } from '../result/raw.js';
import { MSGINFO_KEYS, SEMINFO_KEYS } from '../result/raw.js';
import { isPending } from '../../kernel/pending.js';
import type { Pending, SysResult } from '../../kernel/pending.js';
import { BlockedCalls, ScenarioError } from '../result/blocking.js';
import type { SetallStatement } from '../result/setall.js';
import { isSetall, setallRefusal } from '../result/setall.js';
import { GETALL, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SETVAL } from '../../abi/sem.js';

/** semctl commands that copy a result out through the union argument. */
const SEMCTL_COPY_OUT: ReadonlySet<number> = new Set([IPC_STAT, IPC_INFO, GETALL, SEM_STAT, SEM_INFO, SEM_STAT_ANY]);

/** Options for an emulated run. */
export interface EmulatedOptions {
  /** MemTotal of the simulated machine (the overcommit bound); default the Kernel's. */
  readonly memTotalBytes?: number;
  /** Whether PROT_EXEC-only pages are unreadable (a CPU with protection keys); default the Kernel's. */
  readonly executeOnly?: boolean;
  /** The machine's huge page sizes, the default first (memfd_create with MFD_HUGETLB); default the Kernel's. */
  readonly hugePageSizes?: readonly number[];
  /**
   * The machine's RAM (MemTotal) in bytes, for tmpfs's default nr_inodes
   * (half as many as RAM has pages); default: `memTotalBytes`.
   */
  readonly ramBytes?: number;
  /**
   * Where `checkpoint NAME` puts images and `restore NAME` finds them; an
   * embedding program may pass images in or read them out. Default: a store
   * private to the run.
   */
  readonly images?: Map<string, Uint8Array>;
  /** Called with each statement's raw result as soon as it has run (the CLI prints lines as they finish). */
  readonly onResult?: (raw: RawResult, index: number) => void;
  /** Called with each kernel the run uses: the first, then the one each `restore` moves to (`ipc-sentry run --trace` listens to it). */
  readonly onKernel?: (kernel: Kernel) => void;
  /** Called when the scenario's process `proc` (an index of procNames) starts as `pid`, at proc and fork. */
  readonly onProcess?: (proc: number, pid: number) => void;
}

/** The raw results, and the kernel left behind (for `ipcs` after a run). */
export interface EmulatedRun {
  readonly results: RawResult[];
  readonly kernel: Kernel;
  /** The namespaces of the scenario, by index (0 is `default`). */
  readonly namespaces: readonly IpcNamespace[];
}

const UNBOUND_ADDR = 0xffffffffffffffffn;
const MAX_ACCESS = 16 * 1024 * 1024;

/**
 * Runs `program` as runEmulated does, except that after the first `cut`
 * statements the kernel is checkpointed, the image restored into a fresh
 * kernel, and the rest runs there. Throws when the checkpoint or the restore
 * fails: the caller (a test) gave a program whose state an image carries.
 */
export function runEmulatedAcrossRestore(program: Program, cut: number, options: EmulatedOptions = {}): EmulatedRun & { readonly image: Uint8Array } {
  const run = newRun(options);
  const blocked = new BlockedCalls(program);
  const results = program.statements.slice(0, cut).map((s) => checkedStep(run, program, blocked, s));
  const image = run.checkpoint();
  if (E.isLeft(image)) throw new Error(`checkpoint after statement ${cut}: ${image.left.message}`);
  const restored = run.restore(image.right);
  if (E.isLeft(restored)) throw new Error(`restore after statement ${cut}: ${restored.left.message}`);
  for (const s of program.statements.slice(cut)) results.push(checkedStep(run, program, blocked, s));
  return { results, kernel: run.currentKernel, namespaces: run.namespaceList(), image: image.right };
}

/**
 * Runs one statement after checking the language's run-time rules: those of
 * blocking calls, and SETALL's count against the size of the set its id
 * names (result/setall.ts); a statement that may not run throws
 * ScenarioError.
 */
function checkedStep(run: Run, program: Program, blocked: BlockedCalls, s: Statement): RawResult {
  const why = blocked.refusal(s);
  if (why !== undefined) throw ScenarioError.at(s, why);
  if (isSetall(s)) {
    const nsems = run.semSetSize(s);
    const wrong = nsems === undefined ? undefined : setallRefusal(program, s, nsems);
    if (wrong !== undefined) throw ScenarioError.at(s, wrong);
  }
  const raw = run.step(s);
  blocked.record(s, raw);
  return raw;
}

/** A run on a fresh Kernel sized and configured as `options` say. */
function newRun(options: EmulatedOptions): Run {
  const kernel = new Kernel({
    // The scenario's clock: it stands still except at `wait` and `sleep` (Run.advance).
    monotonicClock: () => 0,
    ...(options.memTotalBytes !== undefined ? { memTotalBytes: options.memTotalBytes } : {}),
    ...(options.executeOnly !== undefined ? { executeOnly: options.executeOnly } : {}),
    ...(options.hugePageSizes !== undefined ? { hugePageSizes: options.hugePageSizes } : {}),
  });
  options.onKernel?.(kernel);
  return new Run(kernel, new FileSide(kernel, options.ramBytes), options.images ?? new Map(), options);
}

/** Runs `program` on a fresh Kernel. */
export function runEmulated(program: Program, options: EmulatedOptions = {}): EmulatedRun {
  const run = newRun(options);
  const { onResult } = options;
  const blocked = new BlockedCalls(program);
  const results = program.statements.map((s, i) => {
    const memory = run.currentKernel.memoryFile;
    const refusals = memory.hostRefusals;
    const raw = checkedStep(run, program, blocked, s);
    // The emulator is sized like the host, so a chunk the host refused is the host's shortage, not the model's answer: stop here.
    if (memory.hostRefusals !== refusals) throw new RangeError(memory.lastHostRefusal);
    onResult?.(raw, i);
    return raw;
  });
  return { results, kernel: run.currentKernel, namespaces: run.namespaceList() };
}

function sysFailure(e: SysError): RawResult {
  return { ok: false, errno: e.errno };
}

function faultFailure(f: Fault): RawResult {
  return { ok: false, signal: f.signal };
}

function rawDs(ds: ShmidDs): RawDs {
  return {
    key: ds.perm.key,
    uid: ds.perm.uid,
    gid: ds.perm.gid,
    cuid: ds.perm.cuid,
    cgid: ds.perm.cgid,
    mode: ds.perm.mode,
    seq: ds.perm.seq,
    segsz: ds.segsz,
    atime: ds.atime,
    dtime: ds.dtime,
    ctime: ds.ctime,
    cpid: ds.cpid,
    lpid: ds.lpid,
    nattch: ds.nattch,
  };
}

/** A call a process is blocked in: what ends it, its deadline on the monotonic clock (timed calls), and how its result prints. */
interface WaitingCall {
  readonly pending: Pending<E.Either<SysError, unknown>>;
  readonly deadline?: number;
  readonly finish: (r: E.Either<SysError, unknown>) => RawResult;
}

const BLOCKED: RawResult = { ok: false, blocked: true };

/** The state of one run: processes, namespaces and variable slots. */
class Run {
  private readonly procs: Process[] = [];
  /** Each process's blocked call, until `wait` collects its result or the process exits. */
  private readonly calls = new Map<number, WaitingCall>();
  private readonly addrTables: Map<number, bigint>[] = [];
  private readonly nums = new Map<number, number>();
  private readonly namespaces = new Map<number, IpcNamespace>();

  constructor(
    private kernel: Kernel,
    private files: FileSide,
    private readonly images: Map<string, Uint8Array>,
    private readonly hooks: Pick<EmulatedOptions, 'onKernel' | 'onProcess'> = {},
  ) {
    this.namespaces.set(0, kernel.initialIpcNamespace);
  }

  /** The kernel the run is on now. */
  get currentKernel(): Kernel {
    return this.kernel;
  }

  /** The run's machine as an image: the kernel, and the container engine once there is one. */
  checkpoint(): E.Either<CheckpointError, Uint8Array> {
    return this.files.checkpoint();
  }

  /**
   * Carries on in the kernel (and engine) restored from `image`, a
   * checkpoint of this run's: processes are found again by pid and
   * namespaces by number (an exited process stays as it was: it answers
   * ESRCH either way).
   */
  restore(image: Uint8Array): E.Either<CheckpointError, void> {
    const files = this.files.restoredFrom(image);
    if (E.isLeft(files)) return files;
    const restored = files.right.kernel;
    // Before the old kernel's leftovers exit below: a trace follows the scenario, not that bookkeeping.
    this.hooks.onKernel?.(restored);
    this.adoptRestoredCalls(files.right, restored);
    const byPid = new Map(restored.processes().map((p) => [p.pid, p]));
    const byNs = new Map(restored.ipcNamespaces().map((ns) => [ns.nsId, ns]));
    this.procs.forEach((p, i) => {
      const again = byPid.get(p.pid);
      if (again !== undefined) this.procs[i] = again;
      // Started after the image was taken: it does not exist in the restored kernel.
      else if (!p.exited) p.exit();
    });
    for (const [index, ns] of this.namespaces) {
      const again = byNs.get(ns.nsId);
      if (again !== undefined) this.namespaces.set(index, again);
    }
    this.kernel = restored;
    this.files = files.right;
    return E.right(undefined);
  }

  /**
   * A blocked call of this run that was asleep in the image is asleep again
   * in the restored kernel, with a new Pending: the run follows that one, and
   * a timed call keeps the time it had left on the scenario's clock. (A call
   * that was not asleep in an older image keeps its old Pending, which the
   * restored kernel never settles: such a process can still be interrupted
   * in name only, or end with exit.)
   */
  private adoptRestoredCalls(files: FileSide, restored: Kernel): void {
    const byPid = new Map(files.restoredCalls.map((c) => [c.pid, c]));
    const oldNow = this.kernel.monotonicNow();
    for (const [index, call] of this.calls) {
      const again = byPid.get(this.procs[index]!.pid);
      if (again === undefined) continue;
      const deadline = call.deadline === undefined ? undefined : call.deadline - oldNow + restored.monotonicNow();
      this.calls.set(index, {
        pending: again.pending as Pending<E.Either<SysError, unknown>>,
        finish: call.finish,
        ...(deadline === undefined ? {} : { deadline }),
      });
    }
  }

  /** `checkpoint NAME`: EOPNOTSUPP when the run holds something an image cannot describe. */
  private checkpointTo(name: string): RawResult {
    const image = this.checkpoint();
    if (E.isLeft(image)) return { ok: false, errno: 'EOPNOTSUPP' };
    this.images.set(name, image.right);
    return { ok: true };
  }

  /**
   * `restore NAME`: ENOENT without such an image, EINVAL for one that does
   * not restore. On success the rest of the scenario runs in the new kernel.
   */
  private restoreFrom(name: string): RawResult {
    const image = this.images.get(name);
    if (image === undefined) return { ok: false, errno: 'ENOENT' };
    return E.isLeft(this.restore(image)) ? { ok: false, errno: 'EINVAL' } : { ok: true };
  }

  /**
   * The number of semaphores of the set the SETALL statement's id names in
   * its process's IPC namespace, looked up without a permission check (as
   * SEM_STAT_ANY would); undefined when no set has that id or the process
   * answers nothing (step's ESRCH), so the call runs as usual.
   */
  semSetSize(s: SetallStatement): number | undefined {
    const p = this.procs[s.proc];
    if (p === undefined || p.exited) return undefined;
    return p.ipcNamespace.sem.peekById(this.id(s.id))?.nsems;
  }

  namespaceList(): IpcNamespace[] {
    return [...this.namespaces.entries()].sort((a, b) => a[0] - b[0]).map(([, ns]) => ns);
  }

  step(s: Statement): RawResult {
    if (s.op === 'checkpoint') return this.checkpointTo(s.image);
    if (s.op === 'restore') return this.restoreFrom(s.image);
    if (s.op === 'sleep') return this.advance(Number(s.ms));
    if (isHostSide(s)) return s.op === 'sysctl' ? this.processStep(s, undefined) : this.files.host(s);
    if (s.op !== 'proc') {
      // A process the OOM killer or a container's stop ended, or one that never started, answers nothing more.
      const index = s.op === 'fork' ? s.parent : s.proc;
      const p = this.procs[index];
      if (p === undefined || (p.exited && s.op !== 'exit')) return { ok: false, errno: 'ESRCH' };
      const before = p.exited;
      const r = this.processStep(s, p);
      // The memory cgroup OOM killer ended the process during this statement: a shell would report 137.
      if (!before && p.killedBy === 'SIGKILL') return { ok: true, exit: 137, stderr: ['Killed'] };
      return r;
    }
    return this.processStep(s, undefined);
  }

  private processStep(s: Statement, p: Process | undefined): RawResult {
    switch (s.op) {
      case 'proc': {
        const caps: Iterable<Capability> = s.caps === 'all' ? ALL_CAPABILITIES : s.caps;
        const p =
          s.container !== undefined
            ? this.files.exec(s.container, { uid: s.uid, gid: s.gid, groups: s.groups, caps })
            : this.kernel.spawn({ uid: s.uid, gid: s.gid, groups: s.groups, caps, ipcNamespace: this.namespace(s.ns) });
        if (p === undefined) return { ok: false, errno: 'ESRCH' };
        // Every scenario process starts with umask 022, as the oracle's do.
        p.umask(SCENARIO_UMASK);
        this.procs[s.proc] = p;
        this.hooks.onProcess?.(s.proc, p.pid);
        this.addrTables[s.proc] = new Map();
        this.files.newProcess(s.proc);
        return { ok: true, pid: p.pid };
      }
      case 'fork': {
        const parent = this.proc(s.parent);
        return this.either(parent.fork(), (child) => {
          this.procs[s.child] = child;
          this.hooks.onProcess?.(s.child, child.pid);
          this.addrTables[s.child] = new Map(this.addrTables[s.parent]);
          this.files.forked(s.parent, s.child);
          return { ok: true, pid: child.pid };
        });
      }
      case 'exit':
        // Linux's exit ends a blocked call first (the process leaves its wait queue), then undoes.
        this.calls.delete(s.proc);
        return this.either(this.proc(s.proc).exit(), () => ({ ok: true }));
      case 'wait':
        return this.wait(s.proc);
      case 'interrupt':
        return this.either(this.proc(s.proc).interrupt(), () => ({ ok: true }));
      case 'sysctl':
        if (s.name === 'vm.max_map_count') return this.writeMaxMapCount(s.value);
        return this.either(this.kernel.writeSysctl(this.namespace(s.ns), s.name, s.values ?? s.value), () => ({ ok: true }));
      case 'rlimit':
        return this.either(s.fsize === undefined ? this.proc(s.proc).setMemlockLimit(s.memlock) : this.proc(s.proc).setFsizeLimit(s.fsize), () => ({
          ok: true,
        }));
      case 'shmget':
        return this.either(this.proc(s.proc).shmget(this.key(s), s.size, s.flags), (id) => {
          this.bindNum(s.bind, id);
          return { ok: true, ret: BigInt(id) };
        });
      case 'shmat': {
        const r = this.proc(s.proc).shmat(this.id(s.id), this.addr(s.proc, s.addr), s.flags);
        return this.either(r, (addr) => {
          if (s.bind !== undefined) this.addrTables[s.proc]!.set(s.bind, BigInt(addr));
          return { ok: true };
        });
      }
      case 'shmdt':
        return this.either(this.proc(s.proc).shmdt(this.addr(s.proc, s.addr)), (ret) => ({ ok: true, ret: BigInt(ret) }));
      case 'shmctl': {
        const set = s.cmd === IPC_SET ? (s.set ?? { uid: 0, gid: 0, mode: 0 }) : undefined;
        const r = this.proc(s.proc).shmctl(this.id(s.id), s.cmd, set);
        return this.either(r, (res) => {
          this.bindNum(s.bind, res.ret);
          return s.cmdName === undefined ? { ok: true, ret: BigInt(res.ret) } : shmctlStructure(s.cmd, res);
        });
      }
      case 'munmap':
        return this.either(this.proc(s.proc).munmap(this.addr(s.proc, s.addr), s.len), (ret) => ({ ok: true, ret: BigInt(ret) }));
      case 'mprotect':
        return this.either(this.proc(s.proc).mprotect(this.addr(s.proc, s.addr), s.len, s.prot), (ret) => ({ ok: true, ret: BigInt(ret) }));
      case 'write':
        return this.access(this.proc(s.proc).write(this.addr(s.proc, s.addr), s.data), () => ({ ok: true }));
      case 'fill':
        return this.access(this.proc(s.proc).fill(this.addr(s.proc, s.addr), Number(s.len), s.byte), () => ({ ok: true }));
      case 'read': {
        const len = Number(s.len > BigInt(MAX_ACCESS) ? BigInt(MAX_ACCESS) : s.len);
        return this.access(this.proc(s.proc).read(this.addr(s.proc, s.addr), len), (data) => ({ ok: true, data }));
      }
      case 'semget':
      case 'semop':
      case 'semtimedop':
      case 'semctl':
      case 'msgget':
      case 'msgsnd':
      case 'msgrcv':
      case 'msgctl':
        return this.semMsg(s, this.proc(s.proc));
      case 'mmap':
        return this.files.mmap(s, p!, s.at === undefined ? 0n : this.addr(s.proc, s.at), (addr) => {
          if (s.bind !== undefined) this.addrTables[s.proc]!.set(s.bind, BigInt(addr));
        });
      case 'open':
      case 'close':
      case 'fwrite':
      case 'fread':
      case 'unlink':
      case 'mkdir':
      case 'rmdir':
      case 'statfs':
      case 'stat':
      case 'ftruncate':
      case 'fallocate':
      case 'dd':
        return this.files.step(s, p!);
      case 'shm_open':
      case 'shm_unlink':
      case 'memfd_create':
      case 'fcntl':
      case 'fstat':
      case 'cmpaddr':
      case 'sysvipc':
        return runPosix(s, p!, this.posix);
      case 'msync':
      case 'madvise':
      case 'mlock':
      case 'munlock':
      case 'mincore':
      case 'lseek':
      case 'umask':
        return runMem(s, p!, this.posix);
      case 'ftok':
        return this.either(p!.ftok(s.path, s.proj), (key) => {
          this.bindNum(s.bind, key);
          return { ok: true, ret: BigInt(key) };
        });
      default:
        // Host-side statements are dispatched in step.
        throw new Error(`statement ${s.op} at line ${s.line} reached the process dispatcher`);
    }
  }

  /** What the POSIX statements (emulated_posix.ts) read and bind: the run's descriptor and address slots. */
  private readonly posix: PosixContext = {
    fd: (proc, arg) => this.files.fd(proc, arg),
    bindFd: (proc, slot, fd) => this.files.bindFd(proc, slot, fd),
    addr: (proc, arg) => this.addr(proc, arg),
  };

  /** The version 2 statements: semaphores and message queues. */
  private semMsg(s: SemMsgStatement, p: Process): RawResult {
    switch (s.op) {
      case 'semget':
        return this.either(p.semget(this.key(s), s.nsems, s.flags), (id) => {
          this.bindNum(s.bind, id);
          return { ok: true, ret: BigInt(id) };
        });
      case 'semop':
      case 'semtimedop': {
        const sops = s.sops.map((o) => ({ semNum: o.semNum, semOp: o.semOp, semFlg: o.semFlg }));
        const ms = s.timeoutMs;
        const deadline = ms === undefined ? undefined : this.kernel.monotonicNow() + Number(ms);
        const r =
          ms === undefined
            ? p.semop(this.id(s.id), sops)
            : p.semtimedop(this.id(s.id), sops, { sec: Number(ms / 1000n), nsec: Number(ms % 1000n) * 1_000_000 });
        return this.settled(s.proc, r, (ret) => ({ ok: true, ret: BigInt(ret) }), deadline);
      }
      case 'semctl': {
        const arg = s.set ?? s.vals ?? s.val ?? (s.cmd === SETVAL ? 0 : undefined);
        const r = p.semctl(this.id(s.id), s.semnum, s.cmd, arg);
        // A command written as a number gets a NULL union argument (the oracle passes 0): one that copies
        // out fails with EFAULT after every other check, when it would have succeeded.
        if (s.cmdName === undefined && E.isRight(r) && SEMCTL_COPY_OUT.has(s.cmd)) return { ok: false, errno: 'EFAULT' };
        return this.either(r, (res) => {
          this.bindNum(s.bind, res.ret);
          const ret = BigInt(res.ret);
          if (s.cmdName === undefined) return { ok: true, ret };
          if (res.ds !== undefined) {
            const d = res.ds;
            return { ok: true, ret, semDs: { ...permOf(d.perm), nsems: d.nsems, otime: d.otime, ctime: d.ctime } };
          }
          if (res.info !== undefined) {
            const i = res.info;
            return { ok: true, ret, seminfo: Object.fromEntries(SEMINFO_KEYS.map((k) => [k, BigInt(i[k])])) as RawSeminfo };
          }
          if (res.values !== undefined) return { ok: true, ret, vals: [...res.values] };
          return { ok: true, ret };
        });
      }
      case 'msgget':
        return this.either(p.msgget(this.key(s), s.flags), (id) => {
          this.bindNum(s.bind, id);
          return { ok: true, ret: BigInt(id) };
        });
      case 'msgsnd': {
        // msgsz is a size_t, and Linux refuses a negative one as a long first.
        if (s.data.kind === 'zeros' && s.data.count < 0n) return { ok: false, errno: 'EINVAL' };
        const text = s.data.kind === 'bytes' ? s.data.bytes : new Uint8Array(Number(s.data.count));
        return this.settled(s.proc, p.msgsnd(this.id(s.id), s.mtype, text, s.flags), () => ({ ok: true, ret: 0n }));
      }
      case 'msgrcv': {
        const r = p.msgrcv(this.id(s.id), BigInt.asUintN(64, s.maxsize), s.msgtyp, s.flags);
        return this.settled(s.proc, r, (m) => ({ ok: true, ret: BigInt(m.text.length), mtype: BigInt(m.mtype), data: m.text }));
      }
      case 'msgctl': {
        const r = p.msgctl(this.id(s.id), s.cmd, s.cmd === IPC_SET ? (s.set ?? { uid: 0, gid: 0, mode: 0, qbytes: 0n }) : undefined);
        return this.either(r, (res) => {
          this.bindNum(s.bind, res.ret);
          const ret = BigInt(res.ret);
          if (s.cmdName === undefined) return { ok: true, ret };
          if (res.ds !== undefined) {
            const d = res.ds;
            return {
              ok: true,
              ret,
              msqDs: {
                ...permOf(d.perm),
                stime: d.stime,
                rtime: d.rtime,
                ctime: d.ctime,
                cbytes: BigInt(d.cbytes),
                qnum: BigInt(d.qnum),
                qbytes: d.qbytes,
                lspid: d.lspid,
                lrpid: d.lrpid,
              },
            };
          }
          if (res.info !== undefined) {
            const i = res.info;
            return { ok: true, ret, msginfo: Object.fromEntries(MSGINFO_KEYS.map((k) => [k, BigInt(i[k])])) as RawMsginfo };
          }
          return { ok: true, ret };
        });
      }
    }
  }

  /**
   * A call that may block: its result when it completed at once; else the
   * call is kept as process `proc`'s blocked call (with its deadline on the
   * monotonic clock, for a timed one) and the statement prints blocked.
   */
  private settled<T>(proc: number, r: SysResult<T>, onRight: (t: T) => RawResult, deadline?: number): RawResult {
    if (!isPending(r)) return this.either(r, onRight);
    if (r.state === 'settled' && r.result !== undefined) return this.either(r.result, onRight);
    const finish = (result: E.Either<SysError, unknown>): RawResult => this.either(result as E.Either<SysError, T>, onRight);
    this.calls.set(proc, { pending: r as Pending<E.Either<SysError, unknown>>, finish, ...(deadline === undefined ? {} : { deadline }) });
    return BLOCKED;
  }

  /**
   * `wait`: a timed call still waiting first lets the scenario's clock run
   * to its deadline (so it times out unless something ended it before);
   * then the call's result if it has ended, else blocked.
   */
  private wait(proc: number): RawResult {
    const call = this.calls.get(proc);
    // The runner lets `wait` run only for a process with a blocked call.
    if (call === undefined) throw new Error(`wait on process ${proc}, which has no blocked call`);
    if (call.pending.state === 'pending' && call.deadline !== undefined) {
      const left = call.deadline - this.kernel.monotonicNow();
      if (left > 0) this.kernel.advanceTime(left);
      else this.kernel.runTimers();
    }
    const { result } = call.pending;
    if (call.pending.state === 'pending' || result === undefined) return BLOCKED;
    this.calls.delete(proc);
    return call.finish(result);
  }

  /** `sleep MS`: the scenario's clock moves on; every timed call whose deadline passes ends (EAGAIN). */
  private advance(ms: number): RawResult {
    return this.either(this.kernel.advanceTime(ms), () => ({ ok: true }));
  }

  /** `sysctl vm.max_map_count=N`: proc_dointvec_minmax with a minimum of 0, so EINVAL outside [0, INT_MAX]. */
  private writeMaxMapCount(value: bigint): RawResult {
    if (value < 0n || value > 0x7fffffffn) return { ok: false, errno: 'EINVAL' };
    this.kernel.vm.maxMapCount = Number(value);
    return { ok: true };
  }

  private either<T>(r: E.Either<SysError, T>, onRight: (t: T) => RawResult): RawResult {
    return E.isLeft(r) ? sysFailure(r.left) : onRight(r.right);
  }

  private access<T>(r: E.Either<Fault, T>, onRight: (t: T) => RawResult): RawResult {
    return E.isLeft(r) ? faultFailure(r.left) : onRight(r.right);
  }

  private proc(index: number): Process {
    const p = this.procs[index];
    // The parser guarantees a process is started before use; reaching here without one is a bug.
    if (p === undefined) throw new Error(`scenario process ${index} used before it started`);
    return p;
  }

  /**
   * A scenario namespace. The run holds each one open for the whole scenario
   * (the native oracle holds a descriptor), so it outlives its processes.
   */
  private namespace(index: number): IpcNamespace {
    let ns = this.namespaces.get(index);
    if (ns === undefined) {
      ns = this.kernel.newIpcNamespace();
      ns.join();
      this.namespaces.set(index, ns);
    }
    return ns;
  }

  private bindNum(slot: number | undefined, value: number): void {
    if (slot !== undefined) this.nums.set(slot, value);
  }

  /** A get call's key: the literal, or the ftok key in its slot (an unbound slot reads -1, as natively). */
  private key(s: { readonly key: number; readonly keySlot?: number }): number {
    return s.keySlot === undefined ? s.key : (this.nums.get(s.keySlot) ?? -1);
  }

  /** An id argument as the C int the kernel receives; an unbound slot reads -1. */
  private id(arg: IdArg): number {
    return arg.kind === 'literal' ? arg.value : (this.nums.get(arg.slot) ?? -1);
  }

  /** An address argument; an unbound slot reads (void *)-1; arithmetic is modulo 2^64. */
  private addr(proc: number, arg: AddrArg): bigint {
    if (arg.kind === 'literal') return arg.value;
    const base = this.addrTables[proc]!.get(arg.slot) ?? UNBOUND_ADDR;
    return BigInt.asUintN(64, base + arg.offset);
  }
}

type SemMsgStatement = Extract<Statement, { op: 'semget' | 'semop' | 'semtimedop' | 'semctl' | 'msgget' | 'msgsnd' | 'msgrcv' | 'msgctl' }>;

/** The ipc_perm fields a raw ds carries. */
function permOf(perm: { key: number; uid: number; gid: number; cuid: number; cgid: number; mode: number; seq: number }) {
  return { key: perm.key, uid: perm.uid, gid: perm.gid, cuid: perm.cuid, cgid: perm.cgid, mode: perm.mode, seq: perm.seq };
}

/** The structure a named shmctl command copies out, with its return value. */
function shmctlStructure(cmd: number, res: ShmctlResult): RawResult {
  const ret = BigInt(res.ret);
  if ((cmd === IPC_STAT || cmd === SHM_STAT || cmd === SHM_STAT_ANY) && res.ds !== undefined) return { ok: true, ret, ds: rawDs(res.ds) };
  if (cmd === IPC_INFO && res.info !== undefined) {
    const i = res.info;
    return { ok: true, ret, info: { shmmax: i.shmmax, shmmin: i.shmmin, shmmni: BigInt(i.shmmni), shmseg: BigInt(i.shmseg), shmall: i.shmall } };
  }
  if (cmd === SHM_INFO && res.shmInfo !== undefined) {
    const u = res.shmInfo;
    return {
      ok: true,
      ret,
      shmInfo: {
        used_ids: BigInt(u.usedIds),
        shm_tot: u.shmTot,
        shm_rss: BigInt(u.shmRss),
        shm_swp: BigInt(u.shmSwp),
        swap_attempts: BigInt(u.swapAttempts),
        swap_successes: BigInt(u.swapSuccesses),
      },
    };
  }
  return { ok: true, ret };
}
