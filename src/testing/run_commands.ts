/**
 * runCommands: executes a list of ShmCommands on a Kernel, resolving each
 * command's raw choices against what the run has seen so far, and records
 * every call with its result.
 *
 * The run keeps its own bookkeeping from the results it observes, never from
 * the kernel's internals: the segments its shmgets returned (with the owner
 * and mode its IPC_SETs gave them, and whether its IPC_RMID marked them for
 * removal) and, per process, the attachments its shmats made, copied by
 * fork, trimmed by munmap, dropped by shmdt and exit. Commands resolve
 * against that: `proc` picks a live process, `seg` a segment, `att` an
 * attachment, each by modulo. A command that cannot apply (no live segment
 * to name, a fork past the process cap, an exit of the last process, an
 * access with no attachment ever made) is skipped and listed as such.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { IPC_RMID, IPC_SET, IPC_STAT, PAGE_SIZE, SHM_EXEC, SHM_INFO, SHM_LOCK, SHM_RDONLY, SHM_UNLOCK, IPC_CREAT, IPC_EXCL } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import type { Capability } from '../auth/credentials.js';
import { ALL_CAPABILITIES } from '../auth/credentials.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Process } from '../kernel/process.js';
import type { Fault } from '../mm/access.js';
import type { IpcSetArgs, ShmctlResult } from '../shm/syscalls.js';
import type { AccessCommand, ShmCommand, ShmctlName, Target } from './shm_commands.js';
import { hex, show } from './show.js';

/** A process to start for a run. */
export interface CastMember {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly caps: readonly Capability[];
}

/**
 * The processes a run starts by default: root with every capability; two
 * users sharing group 1000 and nobody, without capabilities; and three users
 * each holding one of the capabilities the shm rules test (CAP_IPC_OWNER,
 * CAP_SYS_ADMIN, CAP_IPC_LOCK), two of them with supplementary groups.
 */
export const DEFAULT_CAST: readonly CastMember[] = [
  { name: 'root', uid: 0, gid: 0, groups: [], caps: [...ALL_CAPABILITIES] },
  { name: 'A', uid: 1000, gid: 1000, groups: [], caps: [] },
  { name: 'B', uid: 2000, gid: 1000, groups: [], caps: [] },
  { name: 'nobody', uid: 65534, gid: 65534, groups: [], caps: [] },
  { name: 'C', uid: 3000, gid: 3000, groups: [65534], caps: ['CAP_IPC_OWNER'] },
  { name: 'D', uid: 4000, gid: 4000, groups: [], caps: ['CAP_SYS_ADMIN'] },
  { name: 'E', uid: 5000, gid: 5000, groups: [1000], caps: ['CAP_IPC_LOCK'] },
];

/** Spawns `cast` (default DEFAULT_CAST) into `kernel`'s initial IPC namespace, in order. */
export function spawnCast(kernel: Kernel, cast: readonly CastMember[] = DEFAULT_CAST): Process[] {
  return cast.map((m) => kernel.spawn({ uid: m.uid, gid: m.gid, groups: m.groups, caps: m.caps }));
}

/** An attachment as the run tracks it. */
export interface Attachment {
  /** The id shmat was given. */
  readonly id: number;
  /** The address shmat returned. */
  readonly addr: number;
  /** The segment's size as its shmget asked (one page when the run never saw it created). */
  readonly bytes: number;
  readonly readOnly: boolean;
  /** Indexes of the attachment's pages still mapped (munmap removes some). */
  readonly pages: ReadonlySet<number>;
}

/** A process of the run. */
export interface TrackedProcess {
  /** The cast name; a fork's child is `PARENT.N`. */
  readonly name: string;
  readonly process: Process;
  /** Attachments with a page still mapped, not detached, the process alive. */
  readonly attached: readonly Attachment[];
  /** Every attachment the process ever had or inherited (detached ones are still addresses worth trying). */
  readonly history: readonly Attachment[];
}

/** A segment the run's shmgets returned. */
export interface TrackedSegment {
  readonly id: number;
  readonly key: number;
  /** The size the creating shmget asked for. */
  readonly size: number;
  /** The creator's uid and gid (also the first owner). */
  readonly cuid: number;
  readonly cgid: number;
  /** The owner and permission bits, as the last successful IPC_SET of the run left them. */
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** A successful IPC_RMID of the run marked it for removal (it lives on while attached). */
  readonly removed: boolean;
}

/** What a call returned: a SysError or Fault on the Left; on the Right the syscall's value. */
// biome-ignore lint/suspicious/noConfusingVoidType: exit, write and fill return Either<_, void>
export type StepResult = Either<SysError | Fault, number | ShmctlResult | Uint8Array | Process | void>;

/** A command that ran. */
export interface Step {
  /** Its position in the command list. */
  readonly index: number;
  readonly command: ShmCommand;
  /** The process that made the call. */
  readonly by: TrackedProcess;
  /** The call with its arguments resolved, e.g. `shmat(32768, 0, SHM_RDONLY)`. */
  readonly call: string;
  /** The arguments passed, in order (for `shmctl(id, IPC_SET, set)` the third is the IpcSetArgs). */
  readonly args: readonly StepArg[];
  readonly result: StepResult;
}

/** An argument of a call: a number, the bytes of a write, or IPC_SET's uid, gid and mode. */
export type StepArg = number | Uint8Array | IpcSetArgs;

/** A command that did not apply when its turn came. */
export interface SkippedCommand {
  readonly index: number;
  readonly command: ShmCommand;
  readonly reason: string;
}

/** The run's bookkeeping, as afterEach and the result see it. */
export interface RunState {
  readonly kernel: Kernel;
  /** Every process of the run, in order (exited ones too: see `process.exited`). */
  readonly processes: readonly TrackedProcess[];
  /** Every segment the run's shmgets returned, in order of first sight. */
  readonly segments: readonly TrackedSegment[];
  /** The commands that ran so far. */
  readonly steps: readonly Step[];
  readonly skipped: readonly SkippedCommand[];
}

/** Options of runCommands. */
export interface RunOptions {
  /** The processes the commands run in (default: spawnCast(kernel)); they need not be in the same namespace. */
  readonly processes?: readonly Process[];
  /** Most processes alive at once; a fork beyond it is skipped (default 10). */
  readonly maxProcesses?: number;
  /** Called after every command that ran; throw (or fail an expect) to stop the run there. */
  readonly afterEach?: (step: Step, state: RunState) => void;
}

/** Thrown when the kernel itself throws during a command: the message has the command and the trace so far. */
export class CommandRunError extends Error {
  constructor(
    message: string,
    readonly step: { readonly index: number; readonly command: ShmCommand },
    readonly trace: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CommandRunError';
  }
}

interface Att {
  readonly id: number;
  readonly addr: number;
  readonly bytes: number;
  readonly readOnly: boolean;
  pages: Set<number>;
}

interface Proc {
  readonly name: string;
  readonly process: Process;
  attached: Att[];
  history: Att[];
  children: number;
}

interface Seg {
  readonly id: number;
  key: number;
  size: number;
  cuid: number;
  cgid: number;
  uid: number;
  gid: number;
  mode: number;
  removed: boolean;
}

const NEVER_MAPPED = 0x10000000;

function pagesOf(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / PAGE_SIZE));
}

function pick<T>(xs: readonly T[], r: number): T | undefined {
  return xs.length === 0 ? undefined : xs[r % xs.length];
}

function getFlags(flags: number): string {
  const parts: string[] = [];
  if (flags & IPC_CREAT) parts.push('IPC_CREAT');
  if (flags & IPC_EXCL) parts.push('IPC_EXCL');
  parts.push(octal(flags & 0o777));
  return parts.join('|');
}

function octal(n: number): string {
  return n === 0 ? '0' : `0${n.toString(8)}`;
}

function atFlags(flags: number): string {
  const parts: string[] = [];
  if (flags & SHM_RDONLY) parts.push('SHM_RDONLY');
  if (flags & SHM_EXEC) parts.push('SHM_EXEC');
  return parts.length === 0 ? '0' : parts.join('|');
}

function outcome(result: StepResult): string {
  if (E.isLeft(result)) {
    const l = result.left;
    return 'errno' in l ? l.errno : `${l.signal} at ${hex(l.addr)}`;
  }
  const v = result.right;
  if (typeof v === 'number') return v > 0xffff ? hex(v) : String(v);
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v === undefined) return 'ok';
  if ('pid' in v) return `pid ${v.pid}`;
  return `${v.ret}${v.ds !== undefined ? ` (nattch ${v.ds.nattch})` : ''}`;
}

/** A step as one line: `#3 A(pid 2) shmat(0, 0, SHM_RDONLY) -> 0x7f0000000000`. */
export function formatStep(step: Step): string {
  return `#${step.index} ${step.by.name}(pid ${step.by.process.pid}) ${step.call} -> ${outcome(step.result)}`;
}

/** The steps, one per line, for a failure message. */
export function formatTrace(steps: readonly Step[]): string {
  return steps.map(formatStep).join('\n');
}

const CTL_CMDS: Readonly<Record<ShmctlName, number>> = { IPC_STAT, IPC_SET, IPC_RMID, SHM_LOCK, SHM_UNLOCK };

class Run implements RunState {
  readonly processes: Proc[];
  readonly segments: Seg[] = [];
  readonly steps: Step[] = [];
  readonly skipped: SkippedCommand[] = [];

  constructor(
    readonly kernel: Kernel,
    processes: readonly Process[],
    names: readonly string[],
    private readonly maxProcesses: number,
  ) {
    this.processes = processes.map((process, i) => ({ name: names[i] ?? `P${i}`, process, attached: [], history: [], children: 0 }));
  }

  private live(): Proc[] {
    return this.processes.filter((p) => !p.process.exited);
  }

  /** A live process: among those of `uid` when there are any, and among those with attachments when `mapped` and there are any. */
  private who(sel: number, mapped = false, uid?: number): Proc | undefined {
    let pool = this.live();
    if (uid !== undefined) {
      const same = pool.filter((p) => p.process.creds.uid === uid);
      if (same.length > 0) pool = same;
    }
    if (mapped) {
      const withAtts = pool.filter((p) => p.attached.length > 0);
      if (withAtts.length > 0) pool = withAtts;
    }
    return pick(pool, sel);
  }

  /** The id a target names, or undefined when a live one is wanted and there is none. */
  private target(kind: Target, sel: number): { id: number; seg: Seg | undefined } | undefined {
    const live = this.segments.filter((s) => !s.removed);
    if (kind === 'live') {
      const seg = pick(live, sel);
      return seg === undefined ? undefined : { id: seg.id, seg };
    }
    const stale = [...this.segments.filter((s) => s.removed).map((s) => s.id), -1, ...live.map((s) => s.id + 32768)];
    const id = pick(stale, sel) as number;
    return { id, seg: this.segments.find((s) => s.id === id) };
  }

  /** Runs one command; returns the step, or the reason it did not apply. */
  exec(index: number, c: ShmCommand): Step | string {
    if (this.live().length === 0) return 'no live process';
    switch (c.op) {
      case 'shmget': {
        const p = this.who(c.proc) as Proc;
        const result = p.process.shmget(c.key, c.size, c.flags);
        if (E.isRight(result)) this.sawSegment(result.right, c.key, c.size, c.flags, p);
        return this.step(index, c, p, `shmget(${c.key}, ${c.size}, ${getFlags(c.flags)})`, [c.key, c.size, c.flags], result);
      }
      case 'shmat': {
        const t = this.target(c.target, c.seg);
        if (t === undefined) return 'no live segment';
        const creator = c.asCreator ? t.seg?.cuid : undefined;
        const p = this.who(c.proc, false, creator) as Proc;
        const result = p.process.shmat(t.id, 0, c.flags);
        if (E.isRight(result)) {
          const bytes = t.seg?.size ?? PAGE_SIZE;
          const att: Att = {
            id: t.id,
            addr: result.right,
            bytes,
            readOnly: (c.flags & SHM_RDONLY) !== 0,
            pages: new Set(Array.from({ length: pagesOf(bytes) }, (_, i) => i)),
          };
          p.attached.push(att);
          p.history.push(att);
        }
        return this.step(index, c, p, `shmat(${t.id}, 0, ${atFlags(c.flags)})`, [t.id, 0, c.flags], result);
      }
      case 'shmdt': {
        const p = this.who(c.proc, true) as Proc;
        const a = pick(p.attached.length > 0 && c.variant !== 'neverMapped' ? p.attached : p.history, c.att);
        const addr =
          a === undefined || c.variant === 'neverMapped'
            ? NEVER_MAPPED
            : c.variant === 'origin'
              ? a.addr
              : c.variant === 'secondPage'
                ? a.addr + PAGE_SIZE
                : a.addr + 1;
        const result = p.process.shmdt(addr);
        if (E.isRight(result)) p.attached = p.attached.filter((x) => x.addr !== addr);
        return this.step(index, c, p, `shmdt(${hex(addr)})`, [addr], result);
      }
      case 'munmap':
      case 'mprotect': {
        const p = this.who(c.proc, true) as Proc;
        const a = pick(c.preferMapped && p.attached.length > 0 ? p.attached : p.history, c.att);
        if (a === undefined) return 'no attachment';
        const pages = pagesOf(a.bytes);
        const first = c.first % pages;
        const count = 1 + (c.count % (pages - first + 2));
        const start = a.addr + first * PAGE_SIZE;
        const len = count * PAGE_SIZE;
        if (c.op === 'mprotect')
          return this.step(index, c, p, `mprotect(${hex(start)}, ${len}, ${c.prot})`, [start, len, c.prot], p.process.mprotect(start, len, c.prot));
        const result = p.process.munmap(start, len);
        if (E.isRight(result)) this.unmapped(p, start, start + len);
        return this.step(index, c, p, `munmap(${hex(start)}, ${len})`, [start, len], result);
      }
      case 'read':
      case 'write':
      case 'fill':
        return this.access(index, c);
      case 'shmctl': {
        const t = this.target(c.target, c.seg);
        if (t === undefined) return 'no live segment';
        const owner = c.asOwner ? t.seg?.uid : undefined;
        const p = this.who(c.proc, false, owner) as Proc;
        if (c.cmd === 'IPC_SET') {
          const set = { uid: c.uid ?? t.seg?.uid ?? 0, gid: c.gid ?? t.seg?.gid ?? 0, mode: c.mode ?? t.seg?.mode ?? 0o600 };
          const result = p.process.shmctl(t.id, IPC_SET, set);
          if (E.isRight(result) && t.seg !== undefined) {
            t.seg.uid = set.uid;
            t.seg.gid = set.gid;
            t.seg.mode = set.mode & 0o777;
          }
          return this.step(index, c, p, `shmctl(${t.id}, IPC_SET, uid ${set.uid} gid ${set.gid} mode ${octal(set.mode)})`, [t.id, IPC_SET, set], result);
        }
        const result = p.process.shmctl(t.id, CTL_CMDS[c.cmd]);
        if (c.cmd === 'IPC_RMID' && E.isRight(result) && t.seg !== undefined) t.seg.removed = true;
        return this.step(index, c, p, `shmctl(${t.id}, ${c.cmd})`, [t.id, CTL_CMDS[c.cmd]], result);
      }
      case 'info': {
        const p = this.who(c.proc) as Proc;
        return this.step(index, c, p, 'shmctl(0, SHM_INFO)', [0, SHM_INFO], p.process.shmctl(0, SHM_INFO));
      }
      case 'fork': {
        if (this.live().length >= this.maxProcesses) return `${this.maxProcesses} processes alive already`;
        const p = this.who(c.proc) as Proc;
        const result = p.process.fork();
        if (E.isRight(result)) {
          const copies = new Map(p.history.map((a): [Att, Att] => [a, { ...a, pages: new Set(a.pages) }]));
          p.children += 1;
          this.processes.push({
            name: `${p.name}.${p.children}`,
            process: result.right,
            attached: p.attached.map((a) => copies.get(a) ?? { ...a, pages: new Set(a.pages) }),
            history: [...copies.values()],
            children: 0,
          });
        }
        return this.step(index, c, p, 'fork()', [], result);
      }
      case 'exit': {
        if (this.live().length < 2) return 'the last live process';
        const p = this.who(c.proc) as Proc;
        const result = p.process.exit();
        if (E.isRight(result)) p.attached = [];
        return this.step(index, c, p, 'exit()', [], result);
      }
    }
  }

  private access(index: number, c: AccessCommand): Step | string {
    const p = this.who(c.proc, true) as Proc;
    const a = pick(p.attached.length > 0 ? p.attached : p.history, c.att);
    if (a === undefined) return 'no attachment';
    const addr = a.addr + (c.page % (pagesOf(a.bytes) + 1)) * PAGE_SIZE + c.offset;
    const len = c.bytes.length;
    if (c.op === 'read') return this.step(index, c, p, `read(${hex(addr)}, ${len})`, [addr, len], p.process.read(addr, len));
    if (c.op === 'write') return this.step(index, c, p, `write(${hex(addr)}, ${show(c.bytes)})`, [addr, c.bytes], p.process.write(addr, c.bytes));
    const byte = c.bytes[0] ?? 0;
    return this.step(index, c, p, `fill(${hex(addr)}, ${len}, ${byte})`, [addr, len, byte], p.process.fill(addr, len, byte));
  }

  private sawSegment(id: number, key: number, size: number, flags: number, p: Proc): void {
    const known = this.segments.find((s) => s.id === id);
    if (known !== undefined && !known.removed) return;
    const { uid, gid } = p.process.creds;
    const fresh = { key, size, cuid: uid, cgid: gid, uid, gid, mode: flags & 0o777, removed: false };
    if (known !== undefined) Object.assign(known, fresh);
    else this.segments.push({ id, ...fresh });
  }

  /** munmap of [start, end) in `p`: drops those pages from its attachments, and attachments left with none. */
  private unmapped(p: Proc, start: number, end: number): void {
    for (const a of p.attached) {
      for (const i of [...a.pages]) {
        const page = a.addr + i * PAGE_SIZE;
        if (page >= start && page < end) a.pages.delete(i);
      }
    }
    p.attached = p.attached.filter((a) => a.pages.size > 0);
  }

  private step(index: number, command: ShmCommand, by: Proc, call: string, args: readonly StepArg[], result: StepResult): Step {
    return { index, command, by, call, args, result };
  }
}

/**
 * Runs `commands` on `kernel`, in the given processes or (by default) in a
 * freshly spawned DEFAULT_CAST, and returns what happened: the steps, the
 * skipped commands, and the final bookkeeping. The kernel is left as the
 * commands left it, for the caller to inspect. A kernel that throws
 * (an emulator bug) becomes a CommandRunError carrying the trace.
 */
export function runCommands(kernel: Kernel, commands: readonly ShmCommand[], options: RunOptions = {}): RunState {
  const given = options.processes;
  const processes = given ?? spawnCast(kernel);
  if (processes.length === 0) throw new RangeError('runCommands: no process to run the commands in');
  const names = given === undefined ? DEFAULT_CAST.map((m) => m.name) : given.map((_, i) => `P${i}`);
  const maxProcesses = options.maxProcesses ?? 10;
  const run = new Run(kernel, processes, names, maxProcesses);
  for (const [index, command] of commands.entries()) {
    let out: Step | string;
    try {
      out = run.exec(index, command);
    } catch (e) {
      const trace = formatTrace(run.steps);
      const why = e instanceof Error ? e.message : String(e);
      throw new CommandRunError(`runCommands: command #${index} ${show(command)} threw: ${why}\n--- trace ---\n${trace}`, { index, command }, trace, {
        cause: e,
      });
    }
    if (typeof out === 'string') {
      run.skipped.push({ index, command, reason: out });
      continue;
    }
    run.steps.push(out);
    options.afterEach?.(out, run);
  }
  return run;
}
