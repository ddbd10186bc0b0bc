/**
 * The emulated backend's side of the scenario extension: host-side tmpfs
 * mounts, bind mounts and directories, the file calls of scenario
 * processes, dd, and the iSulad engine behind `isula`, `meminfo`, `memcg`
 * and `proc container=`.
 *
 * Scenario processes start with umask 022 (the run sets it on each new
 * process, as the native oracle does), which open, mkdir and dd's open
 * apply in the kernel.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE, TASK_SIZE } from '../../abi/constants.js';
import type { SysError } from '../../abi/errno.js';
import { O_CREAT, O_TRUNC, O_WRONLY } from '../../abi/fs.js';
import { checkpoint, restoreWithEngine } from '../../checkpoint/index.js';
import type { CheckpointError, RestoredCall } from '../../checkpoint/index.js';
import { mkdirAllIn } from '../../hostchannel/daemon_fs.js';
import { ContainerEngine } from '../../hostchannel/engine.js';
import type { CommandResult } from '../../hostchannel/engine.js';
import type { Meminfo } from '../../hostchannel/spec.js';
import type { Capability, Credentials } from '../../auth/credentials.js';
import { makeCredentials } from '../../auth/credentials.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Process } from '../../kernel/process.js';
import type { DdStmt, FdArg, HostSideStatement, MmapStmt, Statement } from '../parse/ast.js';
import type { RawDd, RawResult } from '../result/raw.js';

/** The umask of every scenario process. */
export const SCENARIO_UMASK = 0o022;

/** Mode of each directory `host mkdir` makes. */
const HOST_MKDIR_MODE = 0o755;

type FileStatement = Extract<
  Statement,
  { op: 'open' | 'close' | 'fwrite' | 'fread' | 'unlink' | 'mkdir' | 'rmdir' | 'statfs' | 'stat' | 'ftruncate' | 'fallocate' | 'dd' }
>;

const fail = (e: SysError): RawResult => ({ ok: false, errno: e.errno });

const command = (r: CommandResult): RawResult => ({ ok: true, exit: r.exitStatus, stderr: [...r.stderr] });

/** Per-run state for the extension's statements. */
export class FileSide {
  /** Each process's descriptor slots (slot → descriptor number). */
  private readonly fdTables: Map<number, number>[] = [];
  private readonly root: Credentials = makeCredentials({});
  private engineInstance: ContainerEngine | undefined = undefined;
  private meminfo: Meminfo | undefined = undefined;
  /** The calls asleep in a restored kernel, with their new Pendings; none otherwise. */
  restoredCalls: readonly RestoredCall[] = [];

  /** `engine`: the engine of a restored run; otherwise one starts with the first statement that needs it. */
  constructor(
    readonly kernel: Kernel,
    private readonly ramBytes: number | undefined,
    engine?: ContainerEngine,
  ) {
    this.engineInstance = engine;
  }

  newProcess(index: number): void {
    this.fdTables[index] = new Map();
  }

  /** `checkpoint NAME`: the kernel's image, with the engine's containers once there is an engine. */
  checkpoint(): E.Either<CheckpointError, Uint8Array> {
    return checkpoint(this.kernel, this.engineInstance === undefined ? {} : { engine: this.engineInstance });
  }

  /**
   * `restore NAME`: the kernel and engine of `image`, with this run's
   * descriptor slots and meminfo carried over (both belong to the scenario,
   * not to the machine). An image taken before the first container
   * statement has no engine: the next one starts a fresh engine.
   */
  restoredFrom(image: Uint8Array): E.Either<CheckpointError, FileSide> {
    // The restored engine asks the side that now owns it, so later `meminfo` statements reach it.
    let moved: FileSide | undefined;
    // The scenario's clock stands still between statements in the restored kernel too.
    const machine = restoreWithEngine(image, { monotonicClock: () => 0, engine: { meminfo: () => (moved as FileSide).hostMeminfo() } });
    if (E.isLeft(machine)) return machine;
    moved = new FileSide(machine.right.kernel, this.ramBytes, machine.right.engine);
    moved.restoredCalls = machine.right.waiting;
    const fdTables = moved.fdTables;
    this.fdTables.forEach((t, i) => (fdTables[i] = new Map(t)));
    moved.meminfo = this.meminfo;
    return E.right(moved);
  }

  forked(parent: number, child: number): void {
    this.fdTables[child] = new Map(this.fdTables[parent]);
  }

  /** `proc NAME container=C`: isula exec; undefined when the container is not running. */
  exec(container: string, creds: { uid: number; gid: number; groups: readonly number[]; caps: Iterable<Capability> }): Process | undefined {
    const r = this.engine().exec(container, creds);
    return E.isLeft(r) ? undefined : r.right;
  }

  /** A host-side statement other than sysctl. */
  host(s: HostSideStatement): RawResult {
    const ns = this.kernel.initialMountNamespace;
    switch (s.op) {
      case 'tmpfs': {
        const halfRamPages = Math.floor((this.ramBytes ?? this.kernel.memoryFile.totalFrames * PAGE_SIZE) / PAGE_SIZE / 2);
        const sb = this.kernel.newTmpfs({
          sizeBytes: Number(s.size),
          nrInodes: s.nrInodes === undefined ? halfRamPages : Number(s.nrInodes),
          ...(s.mode === undefined ? {} : { mode: s.mode }),
        });
        if (E.isLeft(sb)) return fail(sb.left);
        const mounted = ns.mountTmpfs(this.root, sb.right, s.path);
        return E.isLeft(mounted) ? fail(mounted.left) : { ok: true };
      }
      case 'mount': {
        const source = ns.resolve(this.root, s.source);
        if (E.isLeft(source)) return fail(source.left);
        const bound = ns.bind(this.root, source.right, s.target, { readonly: s.readonly });
        return E.isLeft(bound) ? fail(bound.left) : { ok: true };
      }
      case 'host': {
        const made = mkdirAllIn(ns, this.root, s.path, HOST_MKDIR_MODE);
        return E.isLeft(made) ? fail(made.left) : { ok: true };
      }
      case 'meminfo':
        this.meminfo = { memTotalKb: s.total / 1024n, memAvailableKb: s.available / 1024n };
        return { ok: true };
      case 'isula': {
        const engine = this.engine();
        const create = {
          ...(s.hostChannel === undefined ? {} : { hostChannel: s.hostChannel }),
          ...(s.memory === undefined ? {} : { memory: s.memory }),
          ...(s.ipc === undefined ? {} : { ipc: s.ipc }),
          ...(s.shmSize === undefined ? {} : { shmSize: s.shmSize }),
        };
        switch (s.cmd) {
          case 'create':
            return command(engine.create(s.name, { ...create, rm: s.rm }));
          case 'run':
            return command(engine.run(s.name, { ...create, rm: s.rm }));
          case 'start':
            return command(engine.start(s.name));
          case 'stop':
            return command(engine.stop(s.name));
          case 'restart':
            return command(engine.restart(s.name));
          case 'rm':
            return command(engine.rm(s.name, { force: s.force }));
        }
        break;
      }
      case 'memcg': {
        const cg = this.engine().memoryCgroup(s.name);
        if (cg === undefined) return { ok: false, errno: 'ENOENT' };
        return {
          ok: true,
          memcg: { usage: cg.usageBytes, limit: BigInt(cg.limitPages ?? 0) * BigInt(PAGE_SIZE), failcnt: BigInt(cg.failCount) },
        };
      }
      case 'sysctl':
        break;
    }
    throw new Error(`host statement ${s.op} is not handled here`);
  }

  /** mmap of a descriptor, or anonymous memory; `at` is the address argument; `bind` records the address. */
  mmap(s: MmapStmt, p: Process, at: bigint, bind: (addr: number) => void): RawResult {
    // LEN is an unsigned long up to 2^64-1; Process.mmap takes a safe integer. Past the user address
    // space any length is ENOMEM at the same point of do_mmap (its page-aligned size is 0 or over
    // TASK_SIZE), so the first length past it stands for all of them.
    const len = s.len > BigInt(TASK_SIZE) ? TASK_SIZE + PAGE_SIZE : Number(s.len);
    const r = p.mmap(this.fd(s.proc, s.fd), len, s.prot, s.flags, s.offset, at);
    if (E.isLeft(r)) return fail(r.left);
    bind(r.right);
    return { ok: true };
  }

  /** A per-process file statement. */
  step(s: FileStatement, p: Process): RawResult {
    switch (s.op) {
      case 'open': {
        const r = p.open(s.path, s.flags, s.mode);
        if (E.isLeft(r)) return fail(r.left);
        if (s.bind !== undefined) this.fdTables[s.proc]!.set(s.bind, r.right);
        return { ok: true, ret: BigInt(r.right) };
      }
      case 'close':
        return this.done(p.close(this.fd(s.proc, s.fd)));
      case 'fwrite': {
        const bytes = s.data.kind === 'bytes' ? s.data.bytes : new Uint8Array(s.data.count);
        const fd = this.fd(s.proc, s.fd);
        const r = s.offset === undefined ? p.writeFd(fd, bytes) : p.pwrite(fd, bytes, s.offset);
        return E.isLeft(r) ? fail(r.left) : { ok: true, ret: BigInt(r.right) };
      }
      case 'fread': {
        const fd = this.fd(s.proc, s.fd);
        const r = s.offset === undefined ? p.readFd(fd, Number(s.len)) : p.pread(fd, Number(s.len), s.offset);
        return E.isLeft(r) ? fail(r.left) : { ok: true, ret: BigInt(r.right.length), data: r.right };
      }
      case 'unlink':
        return this.done(p.unlink(s.path));
      case 'mkdir':
        return this.done(p.mkdir(s.path, s.mode));
      case 'rmdir':
        return this.done(p.rmdir(s.path));
      case 'statfs': {
        const r = p.statfs(s.path);
        if (E.isLeft(r)) return fail(r.left);
        const f = r.right;
        return {
          ok: true,
          ret: 0n,
          statfs: {
            bsize: BigInt(f.bsize),
            blocks: BigInt(f.blocks),
            bfree: BigInt(f.bfree),
            bavail: BigInt(f.bavail),
            files: BigInt(f.files),
            ffree: BigInt(f.ffree),
          },
        };
      }
      case 'stat': {
        const r = p.stat(s.path);
        if (E.isLeft(r)) return fail(r.left);
        const t = r.right;
        return {
          ok: true,
          ret: 0n,
          stat: { mode: t.mode, nlink: BigInt(t.nlink), uid: t.uid, gid: t.gid, size: BigInt(t.size), blocks: BigInt(t.blocks) },
        };
      }
      case 'ftruncate':
        return this.done(p.ftruncate(this.fd(s.proc, s.fd), s.len));
      case 'fallocate':
        return this.done(p.fallocate(this.fd(s.proc, s.fd), s.mode, s.offset, s.len));
      case 'dd':
        return { ok: true, dd: dd(s, p) };
    }
  }

  private done(r: E.Either<SysError, unknown>): RawResult {
    return E.isLeft(r) ? fail(r.left) : { ok: true, ret: 0n };
  }

  /** Records descriptor `fd` in slot `slot` of process `proc` (a POSIX call that opens one). */
  bindFd(proc: number, slot: number, fd: number): void {
    this.fdTables[proc]!.set(slot, fd);
  }

  /** A descriptor argument; an unbound slot reads -1, as a C program holds after a failed open. */
  fd(proc: number, arg: FdArg): number {
    return arg.kind === 'literal' ? arg.value : (this.fdTables[proc]?.get(arg.slot) ?? -1);
  }

  private engine(): ContainerEngine {
    if (this.engineInstance === undefined) this.engineInstance = new ContainerEngine(this.kernel, { meminfo: () => this.hostMeminfo() });
    return this.engineInstance;
  }

  /** The meminfo the `isula` client reads: the scenario's `meminfo`, else the kernel's RAM and free frames. */
  private hostMeminfo(): Meminfo {
    const mf = this.kernel.memoryFile;
    return this.meminfo ?? { memTotalKb: mf.totalFrames * 4, memAvailableKb: (mf.totalFrames - mf.allocatedFrames) * 4 };
  }
}

/**
 * dd if=/dev/zero of=PATH bs=N count=N, run by the process itself, with
 * coreutils' copy loop: open the output (O_WRONLY|O_CREAT|O_TRUNC, 0666
 * less the umask); then per record read a full block (so records in counts
 * it) and write it, retrying after a short write, until the block is out or
 * a write fails. A block written only in part is not counted as a record
 * out, but its bytes are.
 */
function dd(s: DdStmt, p: Process): RawDd {
  const zero = { inFull: 0n, inPartial: 0n, outFull: 0n, outPartial: 0n, bytes: 0n };
  const opened = p.open(s.path, O_WRONLY | O_CREAT | O_TRUNC, 0o666);
  if (E.isLeft(opened)) return { ...zero, failed: { call: 'open', errno: opened.left.errno } };
  const fd = opened.right;
  const block = new Uint8Array(Number(s.bs));
  // Counted in numbers and made bigints once at the end (a bigint step per record allocated three heap
  // bigints a block); a run cannot reach 2^53 records, since every record is written to memory.
  const count = s.count < BigInt(Number.MAX_SAFE_INTEGER) ? Number(s.count) : Number.MAX_SAFE_INTEGER;
  let records = 0;
  let fullOut = 0;
  let total = 0;
  let failed: RawDd['failed'];
  for (let i = 0; i < count && failed === undefined; i += 1) {
    records += 1;
    let written = 0;
    while (written < block.length) {
      const r = p.writeFd(fd, written === 0 ? block : block.subarray(written));
      if (E.isLeft(r)) {
        failed = { call: 'write', errno: r.left.errno };
        break;
      }
      if (r.right === 0) {
        failed = { call: 'write', errno: 'ENOSPC' };
        break;
      }
      written += r.right;
    }
    total += written;
    if (failed === undefined) fullOut += 1;
  }
  const inFull = BigInt(records);
  const outFull = BigInt(fullOut);
  const bytes = BigInt(total);
  if (p.killedBy === 'SIGKILL') return { ...zero, inFull, outFull, bytes, killed: true };
  p.close(fd);
  return { ...zero, inFull, outFull, bytes, ...(failed === undefined ? {} : { failed }) };
}
