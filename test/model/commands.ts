/**
 * fast-check commands that drive a real Kernel and the naive ShmModel side by
 * side. Commands carry only raw choices (small numbers); which process,
 * segment or attachment they name is resolved against the model when they
 * run, so every generated sequence is runnable. Each run appends a resolved
 * line to the trace, and every failed check throws with the whole trace.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { ALL_CAPABILITIES, Kernel, heldLockCount } from '../../src/index.js';
import type { Capability, Process, ShmidDs } from '../../src/index.js';
import { DEFAULT_CAST, shmCommandArb } from '../../src/testing/index.js';
import type { ShmCommand, ShmctlName } from '../../src/testing/index.js';
import type { Cap, ExpectedStat, MAtt, MProc } from './model.js';
import { isShmMappable } from '../../src/mm/memmap.js';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_INFO,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  PAGE,
  SHM_EXEC,
  SHM_INFO,
  SHM_LOCK,
  SHM_RDONLY,
  SHM_UNLOCK,
  ShmModel,
  hex,
  pageAlign,
} from './model.js';

/** The system under test, with processes in the same order as the model's. */
export interface Real {
  readonly kernel: Kernel;
  readonly procs: Process[];
  /** A root process outside the model, with no mappings, used for invariant checks. */
  readonly observer: Process;
  readonly trace: string[];
}

export const MAX_PROCS = 10;

const MODEL_CAPS: readonly Capability[] = ['CAP_IPC_OWNER', 'CAP_IPC_LOCK', 'CAP_SYS_ADMIN'];

/** The capabilities the model's rules use (root's others change nothing it checks). */
function isModelCap(c: Capability): c is Cap {
  return MODEL_CAPS.includes(c);
}

export function setup(): { model: ShmModel; real: Real } {
  let now = 1_000_000;
  const kernel = new Kernel({ clock: () => now++ });
  const model = new ShmModel();
  const procs: Process[] = [];
  // The cast of ipc-sentry/testing's runCommands: the brief's four users, plus
  // three that split the capabilities apart (§4: CAP_IPC_OWNER, CAP_SYS_ADMIN
  // and CAP_IPC_LOCK each cover one rule) and carry supplementary groups.
  for (const s of DEFAULT_CAST) {
    const p = kernel.spawn({ uid: s.uid, gid: s.gid, groups: s.groups, caps: s.caps });
    procs.push(p);
    model.addProc({ name: s.name, pid: p.pid, uid: s.uid, gid: s.gid, groups: s.groups, caps: new Set(s.caps.filter(isModelCap)) });
  }
  const observer = kernel.spawn({ uid: 0, gid: 0, caps: ALL_CAPABILITIES });
  return { model, real: { kernel, procs, observer, trace: [] } };
}

/** Throws with the run's resolved trace unless `cond` holds. */
export function check(r: Real, cond: boolean, what: string): asserts cond {
  if (!cond) {
    throw new Error(`${what}\n--- trace (resolved) ---\n${r.trace.map((l, i) => `${i + 1}. ${l}`).join('\n')}`);
  }
}

function outcome(e: E.Either<{ errno: string }, unknown>): string {
  return E.isLeft(e) ? e.left.errno : 'ok';
}

function pick<T>(xs: readonly T[], r: number): T | undefined {
  return xs.length === 0 ? undefined : xs[r % xs.length];
}

function flagNames(flags: number): string {
  const parts: string[] = [];
  if (flags & IPC_CREAT) parts.push('IPC_CREAT');
  if (flags & IPC_EXCL) parts.push('IPC_EXCL');
  if (flags & SHM_RDONLY) parts.push('SHM_RDONLY');
  if (flags & SHM_EXEC) parts.push('SHM_EXEC');
  parts.push(`0${(flags & 0o777).toString(8)}`);
  return parts.join('|');
}

/** The live model process chosen by `sel`, with its real twin. */
function procOf(m: ShmModel, r: Real, sel: number, preferMapped = false, uid?: number): { mp: MProc; rp: Process } | undefined {
  const live = m.liveProcs().filter((p) => uid === undefined || p.uid === uid);
  const mapped = live.filter((p) => p.pieces.length > 0);
  const mp = pick(preferMapped && mapped.length > 0 ? mapped : live, sel);
  if (mp === undefined) return undefined;
  const rp = r.procs[m.procs.indexOf(mp)]!;
  return { mp, rp };
}

function procName(mp: MProc): string {
  return `${mp.name}(pid ${mp.pid})`;
}

/** A segment id: a live one, or (kind 'stale') a removed, never-issued or negative id. */
function targetId(m: ShmModel, kind: 'live' | 'stale', sel: number): { id: number; label: string } {
  const live = m.liveSegs();
  if (kind === 'live' && live.length > 0) {
    const s = pick(live, sel)!;
    return { id: s.id, label: `seg ${s.id}` };
  }
  const stale = [...m.deadIds(), -1, ...live.map((s) => s.id + 32768)];
  const id = pick(stale, sel)!;
  return { id, label: `stale id ${id}` };
}

abstract class Cmd implements fc.Command<ShmModel, Real> {
  check(m: Readonly<ShmModel>): boolean {
    return m.procs.some((p) => p.alive);
  }
  run(m: ShmModel, r: Real): void {
    this.exec(m, r);
    check(r, heldLockCount() === 0, `${this.toString()}: a lock is still held after the call`);
    invariants(m, r);
  }
  protected abstract exec(m: ShmModel, r: Real): void;
  abstract toString(): string;
}

/** The fields where `ds` differs from the model's expectation, or ''. */
function statDiff(ds: ShmidDs, want: ExpectedStat): string {
  const seen: ExpectedStat = {
    key: ds.perm.key,
    uid: ds.perm.uid,
    gid: ds.perm.gid,
    cuid: ds.perm.cuid,
    cgid: ds.perm.cgid,
    mode: ds.perm.mode,
    seq: ds.perm.seq,
    segsz: ds.segsz,
    nattch: ds.nattch,
    cpid: ds.cpid,
  };
  return (Object.keys(want) as (keyof ExpectedStat)[])
    .filter((k) => seen[k] !== want[k])
    .map(
      (k) => `${k} is ${k === 'mode' ? `0${seen.mode.toString(8)}` : String(seen[k])}, model ${k === 'mode' ? `0${want.mode.toString(8)}` : String(want[k])}`,
    )
    .join('; ');
}

/**
 * After every command: the observer (root, CAP_IPC_OWNER) sees exactly the
 * model's live segments, every IPC_STAT field as the model says; removed ids
 * are gone; every live process's maps (range, prot, offset) equal the
 * model's pieces; SHM_INFO agrees; and no more frames are allocated than the live
 * segments have pages.
 */
function invariants(m: ShmModel, r: Real): void {
  for (const s of m.segs) {
    const st = r.observer.shmctl(s.id, IPC_STAT);
    if (!s.alive) {
      check(r, outcome(st) === 'EINVAL', `invariant: removed seg ${s.id} gives ${outcome(st)}, not EINVAL`);
      continue;
    }
    check(r, E.isRight(st), `invariant: live seg ${s.id} gives ${outcome(st)}`);
    const want = m.stat(m.procs[0]!, s.id);
    check(r, typeof want !== 'string', 'model: observer stat');
    const diff = statDiff(st.right.ds!, want);
    check(r, diff === '', `invariant: seg ${s.id}: ${diff}`);
  }
  // What /proc/<pid>/maps shows for SysV segments (the stack is not modelled):
  // every piece's range, protection and offset into its segment.
  for (const mp of m.liveProcs()) {
    const rp = r.procs[m.procs.indexOf(mp)]!;
    const seen = rp.mm
      .vmas()
      .filter((v) => isShmMappable(v.mappable))
      .map((v) => `${hex(v.start)}-${hex(v.end)} prot ${v.perms} off ${hex(v.offset)}`);
    const want = [...mp.pieces].sort((a, b) => a.start - b.start).map((q) => `${hex(q.start)}-${hex(q.end)} prot ${q.prot} off ${hex(q.start - q.att.origin)}`);
    check(r, seen.join('\n') === want.join('\n'), `invariant: maps of ${procName(mp)}:\n  real:  ${seen.join(' | ')}\n  model: ${want.join(' | ')}`);
  }
  const usage = m.usage();
  const info = r.observer.shmctl(0, SHM_INFO);
  check(r, E.isRight(info), `invariant: SHM_INFO gives ${outcome(info)}`);
  const si = info.right.shmInfo!;
  check(
    r,
    info.right.ret === usage.maxIndex && si.usedIds === usage.usedIds && si.shmTot === BigInt(usage.shmTot),
    `invariant: SHM_INFO ret/used_ids/shm_tot ${info.right.ret}/${si.usedIds}/${si.shmTot}, ` + `model ${usage.maxIndex}/${usage.usedIds}/${usage.shmTot}`,
  );
  const frames = r.kernel.memoryFile.allocatedFrames;
  check(r, frames <= usage.shmTot, `invariant: ${frames} frames allocated, live segments have ${usage.shmTot} pages`);
}

// ---------------------------------------------------------------- shmget

export class ShmgetCmd extends Cmd {
  constructor(
    readonly proc: number,
    readonly key: number,
    readonly size: number,
    readonly flags: number,
  ) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc)!;
    const line = `${procName(mp)} shmget(${this.key}, ${this.size}, ${flagNames(this.flags)})`;
    const want = m.shmget(mp, this.key, this.size, this.flags);
    const got = rp.shmget(this.key, this.size, this.flags);
    r.trace.push(`${line} -> ${E.isRight(got) ? got.right : got.left.errno}`);
    if (want.kind === 'error') {
      check(r, outcome(got) === want.errno, `shmget: got ${outcome(got)}, Linux gives ${want.errno}`);
      return;
    }
    check(r, E.isRight(got), `shmget: got ${outcome(got)}, Linux succeeds (${want.kind})`);
    const id = got.right;
    if (want.kind === 'lookup') {
      check(r, id === want.seg.id, `shmget: key ${this.key} found id ${id}, the segment is ${want.seg.id}`);
      return;
    }
    check(r, Number.isInteger(id) && id >= 0 && id <= 0x7fffffff, `shmget: id ${id} is not a valid shmid`);
    check(r, !m.segs.some((s) => s.id === id), `shmget: new id ${id} was issued before`);
    check(r, !m.liveSegs().some((s) => s.id % 32768 === id % 32768), `shmget: new id ${id} reuses the index of a live segment`);
    m.create(mp, id, this.key, this.size, this.flags);
  }
  toString(): string {
    return `shmget(p${this.proc}, ${this.key}, ${this.size}, ${flagNames(this.flags)})`;
  }
}

// ---------------------------------------------------------------- shmat

export class ShmatCmd extends Cmd {
  constructor(
    readonly proc: number,
    readonly target: 'live' | 'stale',
    readonly sel: number,
    readonly flags: number,
    readonly byCreator: boolean,
  ) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { id, label } = targetId(m, this.target, this.sel);
    const creator = this.byCreator ? m.byId(id)?.cuid : undefined;
    const { mp, rp } =
      creator !== undefined && m.liveProcs().some((p) => p.uid === creator) ? procOf(m, r, this.proc, false, creator)! : procOf(m, r, this.proc)!;
    const want = m.shmat(mp, id, this.flags);
    const got = rp.shmat(id, 0, this.flags);
    r.trace.push(`${procName(mp)} shmat(${label}, 0, ${flagNames(this.flags)}) -> ${E.isRight(got) ? hex(got.right) : got.left.errno}`);
    if (typeof want === 'string') {
      check(r, outcome(got) === want, `shmat: got ${outcome(got)}, Linux gives ${want}`);
      return;
    }
    check(r, E.isRight(got), `shmat: got ${outcome(got)}, Linux succeeds`);
    const problem = m.placementProblem(mp, want, got.right);
    check(r, problem === undefined, `shmat: ${problem}`);
    m.attach(mp, want, got.right, this.flags);
  }
  override check(m: Readonly<ShmModel>): boolean {
    return super.check(m) && (this.target === 'stale' || m.segs.some((s) => s.alive));
  }
  toString(): string {
    return `shmat(${this.byCreator ? 'creator' : `p${this.proc}`}, ${this.target}#${this.sel}, ${flagNames(this.flags)})`;
  }
}

// ---------------------------------------------------------------- shmdt

export type DtVariant = 'origin' | 'secondPage' | 'unaligned' | 'neverMapped';

export class ShmdtCmd extends Cmd {
  constructor(
    readonly proc: number,
    readonly att: number,
    readonly variant: DtVariant,
  ) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc, true)!;
    // Half the time, the attachment split into the most pieces (the interesting case for §5).
    const split = [...mp.atts].sort((x, y) => pieceCount(mp, y) - pieceCount(mp, x))[0];
    const a = this.att % 2 === 0 && split !== undefined ? split : liveFirst(mp, this.att, this.variant !== 'neverMapped');
    let addr: number;
    if (a === undefined || this.variant === 'neverMapped') addr = 0x10000000;
    else if (this.variant === 'origin') addr = a.origin;
    else if (this.variant === 'secondPage') addr = a.origin + PAGE;
    else addr = a.origin + 1;
    const want = m.shmdt(mp, addr);
    const got = rp.shmdt(addr);
    r.trace.push(`${procName(mp)} shmdt(${hex(addr)}) -> ${outcome(got)}`);
    check(r, outcome(got) === want, `shmdt: got ${outcome(got)}, Linux gives ${want}`);
  }
  toString(): string {
    return `shmdt(p${this.proc}, att#${this.att}, ${this.variant})`;
  }
}

// ------------------------------------------------- munmap / mprotect ranges

/** A page range starting inside attachment `a`, possibly running up to two pages past its end. */
function rangeIn(a: MAtt, first: number, count: number): { start: number; len: number } {
  const pages = pageAlign(a.seg.size) / PAGE;
  const f = first % pages;
  const n = 1 + (count % (pages - f + 2));
  return { start: a.origin + f * PAGE, len: n * PAGE };
}

function pieceCount(mp: MProc, a: MAtt): number {
  return mp.pieces.filter((q) => q.att === a).length;
}

function liveFirst(mp: MProc, sel: number, preferLive: boolean): MAtt | undefined {
  const live = mp.atts.filter((a) => mp.pieces.some((q) => q.att === a));
  return pick(preferLive && live.length > 0 ? live : mp.atts, sel);
}

export class MunmapCmd extends Cmd {
  constructor(
    readonly proc: number,
    readonly att: number,
    readonly preferLive: boolean,
    readonly first: number,
    readonly count: number,
  ) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc, true)!;
    const a = liveFirst(mp, this.att, this.preferLive);
    if (a === undefined) return;
    const { start, len } = rangeIn(a, this.first, this.count);
    const want = m.munmap(mp, start, len);
    const got = rp.munmap(start, len);
    r.trace.push(`${procName(mp)} munmap(${hex(start)}, ${len / PAGE} pages) -> ${outcome(got)}`);
    check(r, outcome(got) === want, `munmap: got ${outcome(got)}, Linux gives ${want}`);
  }
  toString(): string {
    return `munmap(p${this.proc}, att#${this.att}${this.preferLive ? '' : '*'}, page ${this.first}, +${this.count})`;
  }
}

export class MprotectCmd extends Cmd {
  constructor(
    readonly proc: number,
    readonly att: number,
    readonly preferLive: boolean,
    readonly first: number,
    readonly count: number,
    readonly prot: number,
  ) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc, true)!;
    const a = liveFirst(mp, this.att, this.preferLive);
    if (a === undefined) return;
    const { start, len } = rangeIn(a, this.first, this.count);
    const want = m.mprotect(mp, start, len, this.prot);
    const got = rp.mprotect(start, len, this.prot);
    r.trace.push(`${procName(mp)} mprotect(${hex(start)}, ${len / PAGE} pages, prot ${this.prot}) -> ${outcome(got)}`);
    check(r, outcome(got) === want, `mprotect: got ${outcome(got)}, Linux gives ${want}`);
  }
  toString(): string {
    return `mprotect(p${this.proc}, att#${this.att}${this.preferLive ? '' : '*'}, page ${this.first}, +${this.count}, prot ${this.prot})`;
  }
}

// ---------------------------------------------------------- read / write

export class AccessCmd extends Cmd {
  constructor(
    readonly proc: number,
    readonly att: number,
    readonly page: number,
    readonly within: number,
    readonly kind: 'read' | 'write' | 'fill',
    readonly bytes: Uint8Array,
  ) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc, true)!;
    const a = liveFirst(mp, this.att, true);
    if (a === undefined) return;
    const pages = pageAlign(a.seg.size) / PAGE;
    const addr = a.origin + (this.page % (pages + 1)) * PAGE + this.within;
    const len = this.bytes.length;
    const where = `${hex(addr)} (att ${hex(a.origin)}, seg ${a.seg.id})`;
    if (this.kind === 'read') {
      const fault = m.faultAt(mp, addr, len, false);
      const got = rp.read(addr, len);
      r.trace.push(`${procName(mp)} read(${where}, ${len}) -> ${E.isRight(got) ? 'ok' : `${got.left.signal}@${hex(got.left.addr)}`}`);
      if (fault !== undefined) {
        check(
          r,
          E.isLeft(got) && got.left.signal === 'SIGSEGV' && got.left.addr === fault,
          `read: expected SIGSEGV at ${hex(fault)}, got ${E.isRight(got) ? 'data' : `${got.left.signal}@${hex(got.left.addr)}`}`,
        );
        return;
      }
      check(r, E.isRight(got), `read: unexpected fault ${E.isLeft(got) ? `${got.left.signal}@${hex(got.left.addr)}` : ''}`);
      const want = m.read(mp, addr, len);
      check(r, got.right.length === len && want.every((b, i) => got.right[i] === b), `read: got [${[...got.right].join(',')}], model [${[...want].join(',')}]`);
      return;
    }
    const data = this.kind === 'write' ? this.bytes : new Uint8Array(len).fill(this.bytes[0]!);
    const fault = m.write(mp, addr, data);
    const got = this.kind === 'write' ? rp.write(addr, data) : rp.fill(addr, len, data[0]!);
    r.trace.push(
      `${procName(mp)} ${this.kind}(${where}, ${len} bytes${this.kind === 'fill' ? ` of ${data[0]}` : ''}) -> ` +
        `${E.isRight(got) ? 'ok' : `${got.left.signal}@${hex(got.left.addr)}`}`,
    );
    if (fault !== undefined) {
      check(
        r,
        E.isLeft(got) && got.left.signal === 'SIGSEGV' && got.left.addr === fault,
        `${this.kind}: expected SIGSEGV at ${hex(fault)}, got ${E.isRight(got) ? 'ok' : `${got.left.signal}@${hex(got.left.addr)}`}`,
      );
    } else {
      check(r, E.isRight(got), `${this.kind}: unexpected fault ${E.isLeft(got) ? `${got.left.signal}@${hex(got.left.addr)}` : ''}`);
    }
  }
  toString(): string {
    return `${this.kind}(p${this.proc}, att#${this.att}, page ${this.page}, +${this.within}, ${this.bytes.length} bytes)`;
  }
}

// ---------------------------------------------------------------- shmctl

export type CtlOp = 'stat' | 'set' | 'rmid' | 'lock' | 'unlock';

export class ShmctlCmd extends Cmd {
  constructor(
    readonly proc: number,
    readonly target: 'live' | 'stale',
    readonly sel: number,
    readonly op: CtlOp,
    readonly setUid: number | undefined,
    readonly setGid: number | undefined,
    readonly setMode: number | undefined,
    readonly byOwner: boolean,
  ) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { id, label } = targetId(m, this.target, this.sel);
    const owner = this.byOwner ? m.byId(id)?.uid : undefined;
    const { mp, rp } = owner !== undefined && m.liveProcs().some((p) => p.uid === owner) ? procOf(m, r, this.proc, false, owner)! : procOf(m, r, this.proc)!;
    const head = `${procName(mp)} shmctl(${label}, `;
    if (this.op === 'stat') {
      const want = m.stat(mp, id);
      const got = rp.shmctl(id, IPC_STAT);
      r.trace.push(`${head}IPC_STAT) -> ${outcome(got)}`);
      if (typeof want === 'string') {
        check(r, outcome(got) === want, `IPC_STAT: got ${outcome(got)}, Linux gives ${want}`);
        return;
      }
      check(r, E.isRight(got) && got.right.ret === 0 && got.right.ds !== undefined, `IPC_STAT: got ${outcome(got)}, Linux succeeds`);
      const diff = statDiff(got.right.ds, want);
      check(r, diff === '', `IPC_STAT: ${diff}`);
      return;
    }
    if (this.op === 'set') {
      const cur = m.byId(id);
      const uid = this.setUid ?? cur?.uid ?? 0;
      const gid = this.setGid ?? cur?.gid ?? 0;
      const mode = this.setMode ?? cur?.mode ?? 0o600;
      const want = m.ipcSet(mp, id, uid, gid, mode);
      const got = rp.shmctl(id, IPC_SET, { uid, gid, mode });
      r.trace.push(`${head}IPC_SET uid ${uid} gid ${gid} mode 0${mode.toString(8)}) -> ${outcome(got)}`);
      check(r, outcome(got) === want, `IPC_SET: got ${outcome(got)}, Linux gives ${want}`);
      return;
    }
    if (this.op === 'rmid') {
      const want = m.rmid(mp, id);
      const got = rp.shmctl(id, IPC_RMID);
      r.trace.push(`${head}IPC_RMID) -> ${outcome(got)}`);
      check(r, outcome(got) === want, `IPC_RMID: got ${outcome(got)}, Linux gives ${want}`);
      return;
    }
    const on = this.op === 'lock';
    const want = m.lock(mp, id, on);
    const got = rp.shmctl(id, on ? SHM_LOCK : SHM_UNLOCK);
    r.trace.push(`${head}${on ? 'SHM_LOCK' : 'SHM_UNLOCK'}) -> ${outcome(got)}`);
    check(r, outcome(got) === want, `${on ? 'SHM_LOCK' : 'SHM_UNLOCK'}: got ${outcome(got)}, Linux gives ${want}`);
  }
  override check(m: Readonly<ShmModel>): boolean {
    return super.check(m) && (this.target === 'stale' || m.segs.some((s) => s.alive));
  }
  toString(): string {
    const keep = (v: number | undefined): string => (v === undefined ? '=' : String(v));
    const mode = this.setMode === undefined ? '=' : `0${this.setMode.toString(8)}`;
    const extra = this.op === 'set' ? `, uid ${keep(this.setUid)} gid ${keep(this.setGid)} mode ${mode}` : '';
    return `shmctl(${this.byOwner ? 'owner' : `p${this.proc}`}, ${this.target}#${this.sel}, ${this.op}${extra})`;
  }
}

/** IPC_INFO and SHM_INFO by any process: no permission needed, the highest index in use. */
export class InfoCmd extends Cmd {
  constructor(readonly proc: number) {
    super();
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc)!;
    const usage = m.usage();
    const ipcInfo = rp.shmctl(0, IPC_INFO);
    const shmInfo = rp.shmctl(0, SHM_INFO);
    r.trace.push(`${procName(mp)} shmctl(0, IPC_INFO / SHM_INFO) -> ${outcome(ipcInfo)} / ${outcome(shmInfo)}`);
    check(r, E.isRight(ipcInfo) && E.isRight(shmInfo), 'IPC_INFO/SHM_INFO need no permission');
    check(r, ipcInfo.right.ret === usage.maxIndex, `IPC_INFO returns ${ipcInfo.right.ret}, highest index ${usage.maxIndex}`);
    const limits = ipcInfo.right.info!;
    check(r, limits.shmmin === 1n && limits.shmmni === 4096 && limits.shmseg === 4096, 'IPC_INFO limits are not the defaults');
    check(r, shmInfo.right.shmInfo!.usedIds === usage.usedIds, `SHM_INFO used_ids ${shmInfo.right.shmInfo!.usedIds}, model ${usage.usedIds}`);
  }
  toString(): string {
    return `info(p${this.proc})`;
  }
}

// ---------------------------------------------------------- fork / exit

export class ForkCmd extends Cmd {
  constructor(readonly proc: number) {
    super();
  }
  override check(m: Readonly<ShmModel>): boolean {
    return super.check(m) && m.liveProcs().length < MAX_PROCS;
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc)!;
    const got = rp.fork();
    r.trace.push(`${procName(mp)} fork() -> ${E.isRight(got) ? `pid ${got.right.pid}` : got.left.errno}`);
    check(r, E.isRight(got), `fork: got ${outcome(got)}`);
    check(r, !m.procs.some((p) => p.pid === got.right.pid), `fork: pid ${got.right.pid} reused`);
    m.fork(mp, got.right.pid);
    r.procs.push(got.right);
  }
  toString(): string {
    return `fork(p${this.proc})`;
  }
}

export class ExitCmd extends Cmd {
  constructor(readonly proc: number) {
    super();
  }
  override check(m: Readonly<ShmModel>): boolean {
    return m.liveProcs().length >= 2;
  }
  protected exec(m: ShmModel, r: Real): void {
    const { mp, rp } = procOf(m, r, this.proc)!;
    const got = rp.exit();
    r.trace.push(`${procName(mp)} exit() -> ${outcome(got)}`);
    check(r, E.isRight(got), `exit: got ${outcome(got)}`);
    m.exit(mp);
  }
  toString(): string {
    return `exit(p${this.proc})`;
  }
}

// ---------------------------------------------------------- arbitraries

/** The model's name for each shmctl command of a ShmCommand. */
const CTL_OPS: Readonly<Record<ShmctlName, CtlOp>> = { IPC_STAT: 'stat', IPC_SET: 'set', IPC_RMID: 'rmid', SHM_LOCK: 'lock', SHM_UNLOCK: 'unlock' };

/** The model-checked command for one generated ShmCommand (whose raw choices the commands above resolve against the model). */
export function toModelCommand(c: ShmCommand): fc.Command<ShmModel, Real> {
  switch (c.op) {
    case 'shmget':
      return new ShmgetCmd(c.proc, c.key, c.size, c.flags);
    case 'shmat':
      return new ShmatCmd(c.proc, c.target, c.seg, c.flags, c.asCreator);
    case 'shmdt':
      return new ShmdtCmd(c.proc, c.att, c.variant);
    case 'munmap':
      return new MunmapCmd(c.proc, c.att, c.preferMapped, c.first, c.count);
    case 'mprotect':
      return new MprotectCmd(c.proc, c.att, c.preferMapped, c.first, c.count, c.prot);
    case 'read':
    case 'write':
    case 'fill':
      return new AccessCmd(c.proc, c.att, c.page, c.offset, c.op, c.bytes);
    case 'shmctl':
      return new ShmctlCmd(c.proc, c.target, c.seg, CTL_OPS[c.cmd], c.uid, c.gid, c.mode, c.asOwner);
    case 'info':
      return new InfoCmd(c.proc);
    case 'fork':
      return new ForkCmd(c.proc);
    case 'exit':
      return new ExitCmd(c.proc);
  }
}

/**
 * The syscall-sequence arbitrary that ipc-sentry/testing offers its users
 * (src/testing/shm_commands.ts), weighted so that segments and attachments
 * exist often enough to be exercised, each command checked against the model.
 */
export const commandArbs: fc.Arbitrary<fc.Command<ShmModel, Real>>[] = [shmCommandArb(fc).map(toModelCommand)];

/**
 * After a run: every live process exits and root removes every remaining
 * segment; then nothing may remain allocated and no lock may be held.
 */
export function teardown(m: ShmModel, r: Real): void {
  r.trace.push('teardown');
  for (const mp of m.liveProcs()) {
    const got = r.procs[m.procs.indexOf(mp)]!.exit();
    check(r, E.isRight(got), `teardown: exit of ${procName(mp)} gave ${outcome(got)}`);
    m.exit(mp);
  }
  for (const s of m.liveSegs()) {
    check(r, m.nattch(s) === 0, 'model: attached after every exit');
    const got = r.observer.shmctl(s.id, IPC_RMID);
    check(r, E.isRight(got), `teardown: IPC_RMID of ${s.id} gave ${outcome(got)}`);
    s.alive = false;
  }
  for (const s of m.segs) {
    const st = r.observer.shmctl(s.id, IPC_STAT);
    check(r, outcome(st) === 'EINVAL', `teardown: seg ${s.id} still answers IPC_STAT with ${outcome(st)}`);
  }
  check(r, E.isRight(r.observer.exit()), 'teardown: observer exit');
  check(r, r.kernel.memoryFile.allocatedFrames === 0, `teardown: ${r.kernel.memoryFile.allocatedFrames} frames still allocated`);
  check(r, heldLockCount() === 0, `teardown: ${heldLockCount()} locks still held`);
}
