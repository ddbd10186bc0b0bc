/**
 * Typed System V shm syscall sequences, and fast-check arbitraries of them.
 *
 * A command names what to call (`op`) and carries small raw numbers for the
 * rest: which process runs it (`proc`), which segment (`seg`) or attachment
 * (`att`) it acts on. Those are resolved when the command runs, by modulo
 * over the candidates of that moment (runCommands in run_commands.ts; the
 * project's model-based test resolves the same commands against its naive
 * model). So every generated list is runnable whatever came before, and
 * shrinking (dropping commands, driving numbers towards 0) keeps it so.
 *
 * The value pools are tilted towards calls that succeed (creation modes that
 * allow attaching, sizes of one to three pages, four keys that collide) while
 * keeping the error paths in reach (IPC_EXCL on an existing key, stale ids,
 * unaligned shmdt, accesses a page past the end).
 */
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE, SHM_EXEC, SHM_RDONLY } from '../abi/constants.js';
import type { Arbitrary, FastCheck } from './fast_check.js';

/** A segment to name: one of the run's segments not yet removed, or a stale id (removed, never issued, or -1). */
export type Target = 'live' | 'stale';

/** Where shmdt points: the attach address, a page into it, one byte into it, or an address never mapped. */
export type DetachVariant = 'origin' | 'secondPage' | 'unaligned' | 'neverMapped';

/** The shmctl commands a sequence uses (IPC_INFO and SHM_INFO are the `info` command). */
export type ShmctlName = 'IPC_STAT' | 'IPC_SET' | 'IPC_RMID' | 'SHM_LOCK' | 'SHM_UNLOCK';

/** `shmget(key, size, flags)`: flags are IPC_CREAT/IPC_EXCL bits and the mode. */
export interface ShmgetCommand {
  readonly op: 'shmget';
  readonly proc: number;
  readonly key: number;
  readonly size: number;
  readonly flags: number;
}

/** `shmat(id, 0, flags)` (a kernel-chosen address); `asCreator` runs it as the segment's creator uid when one is alive. */
export interface ShmatCommand {
  readonly op: 'shmat';
  readonly proc: number;
  readonly target: Target;
  readonly seg: number;
  readonly flags: number;
  readonly asCreator: boolean;
}

/** `shmdt(addr)` for an attachment of the process, `variant` saying where in it. */
export interface ShmdtCommand {
  readonly op: 'shmdt';
  readonly proc: number;
  readonly att: number;
  readonly variant: DetachVariant;
}

/**
 * A page range inside an attachment: it starts at page `first % pages` and
 * covers `1 + count % (pages - start + 2)` pages, so it may run up to two
 * pages past the end. `preferMapped` picks among attachments still mapped;
 * otherwise any the process ever had (detached ones too).
 */
interface RangeCommand {
  readonly proc: number;
  readonly att: number;
  readonly preferMapped: boolean;
  readonly first: number;
  readonly count: number;
}

/** `munmap` of a page range of an attachment. */
export interface MunmapCommand extends RangeCommand {
  readonly op: 'munmap';
}

/** `mprotect` of a page range of an attachment to `prot`. */
export interface MprotectCommand extends RangeCommand {
  readonly op: 'mprotect';
  readonly prot: number;
}

/**
 * A memory access in an attachment, at page `page % (pages + 1)` (so
 * sometimes the page past the end) plus `offset` bytes: `read` loads
 * `bytes.length` bytes, `write` stores `bytes`, `fill` stores
 * `bytes.length` copies of `bytes[0]`.
 */
export interface AccessCommand {
  readonly op: 'read' | 'write' | 'fill';
  readonly proc: number;
  readonly att: number;
  readonly page: number;
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * `shmctl(id, cmd)`. For IPC_SET, an undefined uid, gid or mode keeps the
 * segment's current one. `asOwner` runs it as the owner uid when one is alive.
 */
export interface ShmctlCommand {
  readonly op: 'shmctl';
  readonly proc: number;
  readonly target: Target;
  readonly seg: number;
  readonly cmd: ShmctlName;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly mode: number | undefined;
  readonly asOwner: boolean;
}

/** `shmctl(0, SHM_INFO)` (and IPC_INFO in the model test): no permission needed. */
export interface InfoCommand {
  readonly op: 'info';
  readonly proc: number;
}

/** `fork()`: the child inherits every attachment. */
export interface ForkCommand {
  readonly op: 'fork';
  readonly proc: number;
}

/** `exit()`: every attachment of the process goes. */
export interface ExitCommand {
  readonly op: 'exit';
  readonly proc: number;
}

/** One syscall of a sequence. */
export type ShmCommand =
  | ShmgetCommand
  | ShmatCommand
  | ShmdtCommand
  | MunmapCommand
  | MprotectCommand
  | AccessCommand
  | ShmctlCommand
  | InfoCommand
  | ForkCommand
  | ExitCommand;

/** The name of a command. */
export type ShmOp = ShmCommand['op'];

/** Every op, in the order of the arbitrary's weights table. */
export const SHM_OPS: readonly ShmOp[] = ['shmget', 'shmat', 'shmdt', 'munmap', 'mprotect', 'read', 'write', 'fill', 'shmctl', 'info', 'fork', 'exit'];

/** Which commands to generate. */
export interface ShmCommandArbOptions {
  /** The ops to draw from (default: all of SHM_OPS). Their relative weights stay as in the full mix. */
  readonly ops?: readonly ShmOp[];
}

/** Sizes of generated sequences, and which ops they use. */
export interface ShmCommandsArbOptions extends ShmCommandArbOptions {
  /** Fewest commands (default 0). */
  readonly minCommands?: number;
  /** Most commands (default 40). */
  readonly maxCommands?: number;
}

const MODES: readonly number[] = [0, 0o400, 0o600, 0o640, 0o644, 0o666, 0o700];
/** Creation modes, tilted towards ones that let attaches succeed. */
const CREATE_MODES: readonly number[] = [...MODES, 0o600, 0o666, 0o666, 0o660, 0o606, 0o064];
/** Owners and groups IPC_SET may give: the default cast's (run_commands.ts) and nobody's. */
const SET_UIDS = [0, 1000, 2000, 3000, 65534] as const;
const SET_GIDS = [0, 1000, 3000, 65534] as const;
const ACCESS_KINDS = ['read', 'read', 'write', 'write', 'fill'] as const;

function opsOf(options: ShmCommandArbOptions): ReadonlySet<ShmOp> {
  const ops = new Set(options.ops ?? SHM_OPS);
  for (const op of ops)
    if (!SHM_OPS.includes(op)) throw new RangeError(`shm command arbitrary: unknown op ${JSON.stringify(op)} (known: ${SHM_OPS.join(', ')})`);
  if (ops.size === 0) throw new RangeError('shm command arbitrary: `ops` is empty');
  return ops;
}

/**
 * One command, weighted so that segments and attachments exist often enough
 * to be exercised: shmget 6, shmat 8, shmdt 2, munmap 3, mprotect 4,
 * read/write/fill 7 together, shmctl 6, info 1, fork 2, exit 1.
 */
export function shmCommandArb(fc: FastCheck, options: ShmCommandArbOptions = {}): Arbitrary<ShmCommand> {
  const ops = opsOf(options);
  const sel = fc.nat({ max: 1 << 16 });
  const entries: { weight: number; arbitrary: Arbitrary<ShmCommand> }[] = [];
  const add = (op: ShmOp | readonly ShmOp[], weight: number, make: () => Arbitrary<ShmCommand>): void => {
    if ((typeof op === 'string' ? [op] : op).some((o) => ops.has(o))) entries.push({ weight, arbitrary: make() });
  };
  add('shmget', 6, () =>
    fc
      .tuple(
        sel,
        fc.constantFrom(IPC_PRIVATE, 11, 12, 13),
        fc.constantFrom(1, 100, 4096, 5000, 5000, 12288, 12288, 12288),
        fc.constantFrom([IPC_CREAT], [IPC_CREAT], [IPC_CREAT, IPC_EXCL], [IPC_EXCL], []),
        fc.constantFrom(...CREATE_MODES),
      )
      .map(([proc, key, size, fl, mode]): ShmCommand => ({ op: 'shmget', proc, key, size, flags: fl.reduce((a, b) => a | b, mode) })),
  );
  add('shmat', 8, () =>
    fc
      .tuple(
        sel,
        fc.constantFrom<Target>('live', 'live', 'live', 'live', 'stale'),
        sel,
        fc.constantFrom([], [], [SHM_RDONLY], [SHM_RDONLY], [SHM_EXEC], [SHM_RDONLY, SHM_EXEC]),
        fc.boolean(),
      )
      .map(([proc, target, seg, fl, asCreator]): ShmCommand => ({ op: 'shmat', proc, target, seg, flags: fl.reduce((a, b) => a | b, 0), asCreator })),
  );
  add('shmdt', 2, () =>
    fc
      .tuple(sel, sel, fc.constantFrom<DetachVariant>('origin', 'origin', 'origin', 'secondPage', 'unaligned', 'neverMapped'))
      .map(([proc, att, variant]): ShmCommand => ({ op: 'shmdt', proc, att, variant })),
  );
  add('munmap', 3, () =>
    fc
      .tuple(sel, sel, fc.boolean(), fc.nat(3), fc.constantFrom(0, 0, 0, 1, 2, 3))
      .map(([proc, att, preferMapped, first, count]): ShmCommand => ({ op: 'munmap', proc, att, preferMapped, first, count })),
  );
  add('mprotect', 4, () =>
    fc
      .tuple(sel, sel, fc.boolean(), fc.nat(3), fc.constantFrom(0, 0, 0, 1, 2, 3), fc.constantFrom(PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE))
      .map(([proc, att, preferMapped, first, count, prot]): ShmCommand => ({ op: 'mprotect', proc, att, preferMapped, first, count, prot })),
  );
  const kinds = ACCESS_KINDS.filter((k) => ops.has(k));
  add(['read', 'write', 'fill'], 7, () =>
    fc
      .tuple(
        sel,
        sel,
        fc.nat(3),
        fc.oneof(fc.constantFrom(0, 1, 99, 4080, 4095), fc.nat(4095)),
        fc.constantFrom(...kinds),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
      )
      .map(([proc, att, page, offset, op, bytes]): ShmCommand => ({ op, proc, att, page, offset, bytes })),
  );
  add('shmctl', 6, () =>
    fc
      .tuple(
        sel,
        fc.constantFrom<Target>('live', 'live', 'live', 'live', 'stale'),
        sel,
        fc.constantFrom<ShmctlName>('IPC_STAT', 'IPC_STAT', 'IPC_STAT', 'IPC_SET', 'IPC_RMID', 'SHM_LOCK', 'SHM_UNLOCK'),
        fc.option(fc.constantFrom(...SET_UIDS), { freq: 2 }).map((u) => u ?? undefined),
        fc.option(fc.constantFrom(...SET_GIDS), { freq: 2 }).map((g) => g ?? undefined),
        fc.option(fc.oneof(fc.constantFrom(...MODES, 0o066, 0o606, 0o777), fc.nat(0o177777)), { freq: 2 }).map((m) => m ?? undefined),
        fc.boolean(),
      )
      .map(([proc, target, seg, cmd, uid, gid, mode, asOwner]): ShmCommand => ({ op: 'shmctl', proc, target, seg, cmd, uid, gid, mode, asOwner })),
  );
  add('info', 1, () => sel.map((proc): ShmCommand => ({ op: 'info', proc })));
  add('fork', 2, () => sel.map((proc): ShmCommand => ({ op: 'fork', proc })));
  add('exit', 1, () => sel.map((proc): ShmCommand => ({ op: 'exit', proc })));
  return fc.oneof(...entries);
}

/** Lists of commands: by default 0 to 40, lengths spread over the whole range (`size: 'max'`). */
export function shmCommandsArb(fc: FastCheck, options: ShmCommandsArbOptions = {}): Arbitrary<ShmCommand[]> {
  const min = options.minCommands ?? 0;
  const max = options.maxCommands ?? Math.max(40, min);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max) {
    throw new RangeError(`shm commands arbitrary: commands must satisfy 0 <= min (${min}) <= max (${max})`);
  }
  return fc.array(shmCommandArb(fc, options), { minLength: min, maxLength: max, size: 'max' });
}
