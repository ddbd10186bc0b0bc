/**
 * A deliberately naive reference model of System V shared memory, as the
 * processes of one IPC namespace can observe it (Linux rules of
 * shared/reference/linux-shm.md §1, §2, §4 and §5).
 *
 * What it models:
 *  - processes: credentials, alive or exited, and their shm mapping pieces.
 *    A piece is an address range [start, end) with a protection, belonging to
 *    one attachment (one shmat call, or its copy in a fork child). The
 *    attachment knows its origin (the address shmat returned), its segment and
 *    whether it is read-only. Everything is address based and linear scans.
 *  - segments: id (learned from the real shmget), key (0 once marked), exact
 *    size, nine mode bits, owner and creator ids, SHM_DEST, SHM_LOCKED, the
 *    bytes, and whether the segment still exists. nattch is never stored: it
 *    is the number of pieces of the segment over all live processes.
 *
 * What it leaves out on purpose: times (atime/dtime/ctime), lpid, the id
 * allocation order (only "new and never seen before" is checked), namespace
 * limits (defaults never run out in these tests), SHM_RND/SHM_REMAP and fixed
 * addresses (shmat always lets the kernel choose), shm_rmid_forced, RLIMIT
 * accounting (the tests stay far below the default limit), resident page
 * counts, and non-shm mappings (the simulated address spaces have none).
 */

/* Linux x86-64 values, written down here so the model does not lean on src/. */
export const PAGE = 4096;
export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const SHM_RDONLY = 0o10000;
export const SHM_EXEC = 0o100000;
export const IPC_RMID = 0;
export const IPC_SET = 1;
export const IPC_STAT = 2;
export const IPC_INFO = 3;
export const SHM_LOCK = 11;
export const SHM_UNLOCK = 12;
export const SHM_INFO = 14;
export const SHM_DEST = 0o1000;
export const SHM_LOCKED = 0o2000;
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
/** Top of the x86-64 user address space (last page excluded) and vm.mmap_min_addr. */
export const TASK_SIZE = 2 ** 47 - PAGE;
export const MMAP_MIN_ADDR = PAGE;

export const pageAlign = (n: number): number => Math.ceil(n / PAGE) * PAGE;

export type Cap = 'CAP_IPC_OWNER' | 'CAP_IPC_LOCK' | 'CAP_SYS_ADMIN';

export interface MSeg {
  readonly id: number;
  key: number;
  readonly size: number;
  /** The nine permission bits only. */
  mode: number;
  uid: number;
  gid: number;
  readonly cuid: number;
  readonly cgid: number;
  readonly cpid: number;
  dest: boolean;
  locked: boolean;
  readonly data: Uint8Array;
  alive: boolean;
}

export interface MAtt {
  readonly origin: number;
  readonly seg: MSeg;
  readonly rdonly: boolean;
}

export interface MPiece {
  readonly start: number;
  readonly end: number;
  readonly prot: number;
  readonly att: MAtt;
}

export interface MProc {
  readonly name: string;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly caps: ReadonlySet<Cap>;
  alive: boolean;
  /** Every attachment the process ever had (dead ones still serve as addresses to try). */
  atts: MAtt[];
  pieces: MPiece[];
}

/** What IPC_STAT should copy out. */
export interface ExpectedStat {
  key: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  mode: number;
  seq: number;
  segsz: bigint;
  nattch: number;
  cpid: number;
}

/** The outcome of a shmget as the model predicts it. */
export type ShmgetExpect = { kind: 'error'; errno: string } | { kind: 'lookup'; seg: MSeg } | { kind: 'create' };

export type Result = 'ok' | string;

export class ShmModel {
  readonly procs: MProc[] = [];
  readonly segs: MSeg[] = [];

  addProc(p: Omit<MProc, 'alive' | 'atts' | 'pieces'>): MProc {
    const proc: MProc = { ...p, alive: true, atts: [], pieces: [] };
    this.procs.push(proc);
    return proc;
  }

  liveProcs(): MProc[] {
    return this.procs.filter((p) => p.alive);
  }

  liveSegs(): MSeg[] {
    return this.segs.filter((s) => s.alive);
  }

  deadIds(): number[] {
    return this.segs.filter((s) => !s.alive).map((s) => s.id);
  }

  nattch(seg: MSeg): number {
    let n = 0;
    for (const p of this.procs) if (p.alive) for (const q of p.pieces) if (q.att.seg === seg) n++;
    return n;
  }

  byId(id: number): MSeg | undefined {
    return this.segs.find((s) => s.alive && s.id === id);
  }

  byKey(key: number): MSeg | undefined {
    return this.segs.find((s) => s.alive && !s.dest && s.key === key);
  }

  /** §4: the exclusive owner / group / other triple, then CAP_IPC_OWNER. `want` is rwx as 0..7. */
  permits(p: MProc, s: MSeg, want: number): boolean {
    let granted: number;
    if (p.uid === s.uid || p.uid === s.cuid) granted = (s.mode >> 6) & 7;
    else if ([p.gid, ...p.groups].some((g) => g === s.gid || g === s.cgid)) granted = (s.mode >> 3) & 7;
    else granted = s.mode & 7;
    return (want & ~granted & 7) === 0 || p.caps.has('CAP_IPC_OWNER');
  }

  owns(p: MProc, s: MSeg): boolean {
    return p.uid === s.uid || p.uid === s.cuid;
  }

  /** §1.1, with sizes never 0 and limits never reached. */
  shmget(p: MProc, key: number, size: number, flags: number): ShmgetExpect {
    if (key !== IPC_PRIVATE) {
      const found = this.byKey(key);
      if (found !== undefined) {
        if ((flags & IPC_CREAT) !== 0 && (flags & IPC_EXCL) !== 0) return { kind: 'error', errno: 'EEXIST' };
        if (size > found.size) return { kind: 'error', errno: 'EINVAL' };
        const f = flags & 0o777;
        const want = (f >> 6) | (f >> 3) | f;
        if (!this.permits(p, found, want & 7)) return { kind: 'error', errno: 'EACCES' };
        return { kind: 'lookup', seg: found };
      }
      if ((flags & IPC_CREAT) === 0) return { kind: 'error', errno: 'ENOENT' };
    }
    return { kind: 'create' };
  }

  create(p: MProc, id: number, key: number, size: number, flags: number): MSeg {
    const seg: MSeg = {
      id,
      key,
      size,
      mode: flags & 0o777,
      uid: p.uid,
      gid: p.gid,
      cuid: p.uid,
      cgid: p.gid,
      cpid: p.pid,
      dest: false,
      locked: false,
      data: new Uint8Array(pageAlign(size)),
      alive: true,
    };
    this.segs.push(seg);
    return seg;
  }

  /** §1.2 for a kernel-chosen address: the segment to attach, or the errno. */
  shmat(p: MProc, id: number, flags: number): MSeg | string {
    const seg = id < 0 ? undefined : this.byId(id);
    if (seg === undefined) return 'EINVAL';
    let want = (flags & SHM_RDONLY) !== 0 ? 4 : 6;
    if ((flags & SHM_EXEC) !== 0) want |= 1;
    if (!this.permits(p, seg, want)) return 'EACCES';
    return seg;
  }

  /** Why `addr` cannot be a fresh attachment of `seg` in `p`, or undefined when it can. */
  placementProblem(p: MProc, seg: MSeg, addr: number): string | undefined {
    const len = pageAlign(seg.size);
    if (!Number.isSafeInteger(addr) || addr % PAGE !== 0) return `address ${addr} is not page aligned`;
    if (addr < MMAP_MIN_ADDR || addr + len > TASK_SIZE) return `address ${addr} is outside the user address space`;
    const clash = p.pieces.find((q) => q.start < addr + len && addr < q.end);
    if (clash !== undefined) return `[${hex(addr)}, ${hex(addr + len)}) overlaps the piece at ${hex(clash.start)}`;
    return undefined;
  }

  attach(p: MProc, seg: MSeg, addr: number, flags: number): void {
    const rdonly = (flags & SHM_RDONLY) !== 0;
    const att: MAtt = { origin: addr, seg, rdonly };
    const prot = PROT_READ | (rdonly ? 0 : PROT_WRITE) | ((flags & SHM_EXEC) !== 0 ? PROT_EXEC : 0);
    p.atts.push(att);
    p.pieces.push({ start: addr, end: addr + pageAlign(seg.size), prot, att });
  }

  /** §1.3 and §5's origin rule. */
  shmdt(p: MProc, addr: number): Result {
    if (addr % PAGE !== 0) return 'EINVAL';
    const ordered = [...p.pieces].sort((a, b) => a.start - b.start);
    const first = ordered.find((q) => q.start >= addr && q.att.origin === addr);
    if (first === undefined) return 'EINVAL';
    const limit = addr + pageAlign(first.att.seg.size);
    const gone = ordered.filter((q) => q === first || (q.start > first.start && q.att === first.att && q.end <= limit));
    p.pieces = p.pieces.filter((q) => !gone.includes(q));
    this.reap();
    return 'ok';
  }

  /** munmap of a page-aligned, non-empty range: pieces inside go, pieces across are cut. */
  munmap(p: MProc, start: number, len: number): Result {
    const end = start + pageAlign(len);
    const kept: MPiece[] = [];
    for (const q of p.pieces) {
      if (q.end <= start || q.start >= end) {
        kept.push(q);
        continue;
      }
      if (q.start < start) kept.push({ ...q, end: start });
      if (q.end > end) kept.push({ ...q, start: end });
    }
    p.pieces = kept;
    this.reap();
    return 'ok';
  }

  /**
   * mprotect as Linux walks it: ENOMEM when the start is unmapped; then
   * piece by piece in address order, ENOMEM at a gap, EACCES when W is asked
   * of a read-only attachment; pieces already handled keep their change.
   * A piece is split only where its protection actually changes.
   */
  mprotect(p: MProc, start: number, len: number, prot: number): Result {
    const end = start + pageAlign(len);
    const ordered = [...p.pieces].sort((a, b) => a.start - b.start);
    let i = ordered.findIndex((q) => q.end > start);
    const firstPiece = ordered[i];
    if (firstPiece === undefined || firstPiece.start > start) return 'ENOMEM';
    let cur = start;
    for (; i < ordered.length && cur < end; i++) {
      const q = ordered[i]!;
      if (q.start > cur) return 'ENOMEM';
      if ((prot & PROT_WRITE) !== 0 && q.att.rdonly) return 'EACCES';
      const stop = Math.min(q.end, end);
      if (q.prot !== prot) {
        const parts: MPiece[] = [];
        if (q.start < cur) parts.push({ ...q, end: cur });
        parts.push({ ...q, start: cur, end: stop, prot });
        if (stop < q.end) parts.push({ ...q, start: stop });
        p.pieces = p.pieces.filter((x) => x !== q).concat(parts);
      }
      cur = stop;
    }
    return cur < end ? 'ENOMEM' : 'ok';
  }

  /** The piece of `p` that maps byte `addr`, if any. */
  pieceAt(p: MProc, addr: number): MPiece | undefined {
    return p.pieces.find((q) => q.start <= addr && addr < q.end);
  }

  /** The first byte of [addr, addr+len) that faults (x86-64: any prot reads, only W writes), or undefined. */
  faultAt(p: MProc, addr: number, len: number, write: boolean): number | undefined {
    for (let x = addr; x < addr + len; x++) {
      const q = this.pieceAt(p, x);
      const allowed = q !== undefined && (write ? (q.prot & PROT_WRITE) !== 0 : q.prot !== PROT_NONE);
      if (!allowed) return x;
    }
    return undefined;
  }

  /** Reads bytes the model knows are accessible. */
  read(p: MProc, addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let k = 0; k < len; k++) {
      const q = this.pieceAt(p, addr + k)!;
      out[k] = q.att.seg.data[addr + k - q.att.origin]!;
    }
    return out;
  }

  /** Stores bytes up to the first fault (the bytes before it land, as on a CPU). */
  write(p: MProc, addr: number, bytes: Uint8Array): number | undefined {
    const fault = this.faultAt(p, addr, bytes.length, true);
    const n = fault === undefined ? bytes.length : fault - addr;
    for (let k = 0; k < n; k++) {
      const q = this.pieceAt(p, addr + k)!;
      q.att.seg.data[addr + k - q.att.origin] = bytes[k]!;
    }
    return fault;
  }

  stat(p: MProc, id: number): ExpectedStat | string {
    const s = id < 0 ? undefined : this.byId(id);
    if (s === undefined) return 'EINVAL';
    if (!this.permits(p, s, 4)) return 'EACCES';
    return {
      key: s.key,
      uid: s.uid,
      gid: s.gid,
      cuid: s.cuid,
      cgid: s.cgid,
      mode: s.mode | (s.dest ? SHM_DEST : 0) | (s.locked ? SHM_LOCKED : 0),
      seq: Math.floor(s.id / 32768),
      segsz: BigInt(s.size),
      nattch: this.nattch(s),
      cpid: s.cpid,
    };
  }

  ipcSet(p: MProc, id: number, uid: number, gid: number, mode: number): Result {
    const s = id < 0 ? undefined : this.byId(id);
    if (s === undefined) return 'EINVAL';
    if (!this.owns(p, s) && !p.caps.has('CAP_SYS_ADMIN')) return 'EPERM';
    s.uid = uid;
    s.gid = gid;
    s.mode = mode & 0o777;
    return 'ok';
  }

  rmid(p: MProc, id: number): Result {
    const s = id < 0 ? undefined : this.byId(id);
    if (s === undefined) return 'EINVAL';
    if (!this.owns(p, s) && !p.caps.has('CAP_SYS_ADMIN')) return 'EPERM';
    s.dest = true;
    s.key = IPC_PRIVATE;
    this.reap();
    return 'ok';
  }

  /** SHM_LOCK / SHM_UNLOCK, with RLIMIT_MEMLOCK never in the way (see the header). */
  lock(p: MProc, id: number, on: boolean): Result {
    const s = id < 0 ? undefined : this.byId(id);
    if (s === undefined) return 'EINVAL';
    if (!p.caps.has('CAP_IPC_LOCK') && !this.owns(p, s)) return 'EPERM';
    s.locked = on;
    return 'ok';
  }

  fork(parent: MProc, pid: number): MProc {
    const child = this.addProc({
      name: `${parent.name}>${pid}`,
      pid,
      uid: parent.uid,
      gid: parent.gid,
      groups: parent.groups,
      caps: parent.caps,
    });
    const copies = new Map<MAtt, MAtt>();
    child.atts = parent.atts.map((a) => {
      const c = { ...a };
      copies.set(a, c);
      return c;
    });
    child.pieces = parent.pieces.map((q) => ({ ...q, att: copies.get(q.att)! }));
    return child;
  }

  exit(p: MProc): void {
    p.alive = false;
    p.pieces = [];
    this.reap();
  }

  /** Segments marked SHM_DEST go once nothing maps them. */
  reap(): void {
    for (const s of this.segs) if (s.alive && s.dest && this.nattch(s) === 0) s.alive = false;
  }

  /** SHM_INFO: used_ids, shm_tot (pages) and the highest index in use (0 when none). */
  usage(): { usedIds: number; shmTot: number; maxIndex: number } {
    const live = this.liveSegs();
    return {
      usedIds: live.length,
      shmTot: live.reduce((n, s) => n + pageAlign(s.size) / PAGE, 0),
      maxIndex: live.reduce((m, s) => Math.max(m, s.id % 32768), 0),
    };
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
