/**
 * What the teaching page shows of a kernel, read after a statement has run:
 * processes and their address spaces, each IPC namespace as ipcs prints it
 * (with the processes asleep on each set and queue), page frames by the
 * object that holds them, tmpfs mounts and memory cgroups. Plain data, so
 * the worker can post it to the page; nothing here changes the kernel.
 *
 * Platform-free like the core it reads (no DOM, no Node): the page's tests
 * and the worker use the same code.
 */
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import { formatIpcsReport, IPCS_DEFAULTS, msgRows, semaphoresOf, semRows, userDatabaseOf } from '../../src/cli/ipcs.js';
import type { IpcsSemaphore } from '../../src/cli/ipcs.js';
import type { IpcNamespace } from '../../src/kernel/ipc_namespace.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { MemoryCgroup } from '../../src/memcg/cgroup.js';
import { AnonymousMemory } from '../../src/mm/anon.js';
import { isShmMappable } from '../../src/mm/memmap.js';
import type { Mappable } from '../../src/mm/memmap.js';
import type { Program, Statement } from '../../src/scenario/parse/ast.js';
import type { RawResult } from '../../src/scenario/result/raw.js';
import { RegularFile } from '../../src/tmpfs/regular.js';
import type { Tmpfs } from '../../src/tmpfs/superblock.js';

/** One mapping piece of a process, as /proc/PID/maps would list it, with its attach origin for shm. */
export interface VmaView {
  readonly start: string;
  readonly end: string;
  readonly kib: number;
  /** `rw-s`: protections now, and s for shared or p for private. */
  readonly perms: string;
  /** The most mprotect may grant (SHM_RDONLY takes w away for good). */
  readonly maxPerms: string;
  readonly kind: 'shm' | 'file' | 'anon';
  readonly name: string;
  /** For a System V attachment: the address shmat returned, which shmdt must be given (start - offset). */
  readonly origin?: string;
  readonly residentPages: number;
}

export interface ProcessView {
  readonly name: string;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly state: 'running' | 'asleep' | 'exited' | 'killed';
  /** What the process sleeps in: `semop on semid 0`, `msgrcv on msqid 1`. */
  readonly waiting?: string;
  readonly ipcNs: string;
  readonly container?: string;
  readonly cgroup: string;
  readonly vmas: readonly VmaView[];
}

/** A semaphore as `ipcs -s -i` shows it, with the last operator's scenario name (`B (pid 3)`) beside its pid. */
export interface SemaphoreView extends IpcsSemaphore {
  readonly lastBy: string;
}

export interface SemSetView {
  readonly id: number;
  readonly semaphores: readonly SemaphoreView[];
  /** Each sleeper: `B (pid 3): 0:-1`. */
  readonly waiters: readonly string[];
}

export interface NamespaceView {
  readonly label: string;
  /** `ipcs -a` for a reader in this namespace, byte for byte as util-linux prints it. */
  readonly ipcs: string;
  readonly semSets: readonly SemSetView[];
  readonly queues: readonly QueueView[];
}

/** A message queue's counters as IPC_STAT reads them, with the processes asleep on it. */
export interface QueueView {
  readonly id: number;
  /** Messages queued (a message handed straight to a sleeping receiver never counts). */
  readonly qnum: number;
  readonly cbytes: number;
  readonly qbytes: string;
  /** The last sender and receiver by scenario name, or `0` when there was none. */
  readonly lspid: string;
  readonly lrpid: string;
  /** Each sleeper: `B (pid 3): msgrcv msgtyp 0`. */
  readonly waiters: readonly string[];
}

export interface FrameOwner {
  readonly owner: string;
  readonly pages: number;
}

export interface FramesView {
  /** Frames the kernel's MemoryFile has handed out and not taken back. */
  readonly allocated: number;
  readonly owners: readonly FrameOwner[];
  /** allocated minus the owners' pages: 0 unless a frame is held by something this view does not walk. */
  readonly unattributed: number;
}

export interface MountView {
  readonly where: string;
  readonly mountpoint: string;
  readonly device: number;
  readonly readonly: boolean;
  readonly usedPages: number;
  /** 0: no limit. */
  readonly capacityPages: number;
  readonly usedInodes: number;
  readonly inodeLimit: number;
}

export interface CgroupView {
  readonly path: string;
  readonly usagePages: number;
  readonly limitPages: number | null;
  readonly failCount: number;
}

export interface KernelView {
  readonly processes: readonly ProcessView[];
  readonly namespaces: readonly NamespaceView[];
  readonly frames: FramesView;
  readonly mounts: readonly MountView[];
  readonly cgroups: readonly CgroupView[];
}

/** The names every Linux has: ipcs prints root, not 0, for uid and gid 0 (other ids print as numbers, as for users /etc/passwd lacks). */
const USERS = userDatabaseOf(new Map([[0, 'root']]), new Map([[0, 'root']]));

const hex = (n: number): string => `0x${n.toString(16).padStart(12, '0')}`;

function permString(p: number): string {
  return `${p & PROT_READ ? 'r' : '-'}${p & PROT_WRITE ? 'w' : '-'}${p & PROT_EXEC ? 'x' : '-'}`;
}

/** What a scenario calls each process: its name by pid, and the container a `proc NAME container=C` started in. */
export interface Names {
  readonly byPid: ReadonlyMap<number, string>;
  readonly containerByPid: ReadonlyMap<number, string>;
}

/** Names of processes from the statements run so far and their results (a pid is known only from its proc or fork line). */
export function processNames(program: Program, statements: readonly Statement[], results: readonly RawResult[]): Names {
  const byPid = new Map<number, string>();
  const containerByPid = new Map<number, string>();
  statements.forEach((s, i) => {
    const r = results[i];
    if (r === undefined || !r.ok || !('pid' in r) || typeof r.pid !== 'number') return;
    if (s.op === 'proc') {
      byPid.set(r.pid, program.procNames[s.proc] ?? `pid ${r.pid}`);
      if (s.container !== undefined) containerByPid.set(r.pid, s.container);
    } else if (s.op === 'fork') {
      byPid.set(r.pid, program.procNames[s.child] ?? `pid ${r.pid}`);
      const parent = [...byPid.entries()].find(([, n]) => n === program.procNames[s.parent]);
      const c = parent === undefined ? undefined : containerByPid.get(parent[0]);
      if (c !== undefined) containerByPid.set(r.pid, c);
    }
  });
  return { byPid, containerByPid };
}

function who(names: Names, pid: number): string {
  const n = names.byPid.get(pid);
  return n === undefined ? `pid ${pid}` : `${n} (pid ${pid})`;
}

function nsLabel(kernel: Kernel, ns: IpcNamespace): string {
  return ns === kernel.initialIpcNamespace ? `initial (nsid ${ns.nsId})` : `nsid ${ns.nsId}`;
}

function vmaView(v: ReturnType<Process['mm']['vmas']>[number]): VmaView {
  const m: Mappable = v.mappable;
  const shm = isShmMappable(m);
  const kind = shm ? 'shm' : m instanceof RegularFile ? 'file' : 'anon';
  const resident = m instanceof RegularFile || shm ? (m as unknown as { residentPages: number }).residentPages : 0;
  return {
    start: hex(v.start),
    end: hex(v.end),
    kib: (v.end - v.start) / 1024,
    perms: `${permString(v.perms)}${kind === 'anon' && !shm ? 'p' : 's'}`,
    maxPerms: permString(v.maxPerms),
    kind,
    name: v.identity.mappedName() || (kind === 'anon' ? '[anon]' : ''),
    ...(shm ? { origin: hex(v.start - v.offset) } : {}),
    residentPages: resident,
  };
}

function waitingText(p: Process): string | undefined {
  const c = p.waitingCalls()[0];
  if (c === undefined) return undefined;
  if (c.call === 'semop' || c.call === 'semtimedop') return `${c.call} on semid ${c.waiter.set.perm.id}`;
  return c.call === 'msgsnd' || c.call === 'msgrcv' ? `${c.call} on msqid ${c.msqid}` : c.call;
}

function processView(kernel: Kernel, names: Names, p: Process): ProcessView {
  const waiting = waitingText(p);
  const charge = p.memoryCharge;
  const container = names.containerByPid.get(p.pid);
  return {
    name: names.byPid.get(p.pid) ?? `pid ${p.pid}`,
    pid: p.pid,
    uid: p.creds.uid,
    gid: p.creds.gid,
    state: p.killedBy === 'SIGKILL' ? 'killed' : p.exited ? 'exited' : waiting !== undefined ? 'asleep' : 'running',
    ...(waiting === undefined ? {} : { waiting }),
    ipcNs: nsLabel(kernel, p.ipcNamespace),
    ...(container === undefined ? {} : { container }),
    cgroup: charge instanceof MemoryCgroup ? charge.path : '/ (root, unlimited)',
    vmas: p.exited ? [] : p.mm.vmas().map(vmaView),
  };
}

function sops(list: readonly { semNum: number; semOp: number }[]): string {
  return list.map((o) => `${o.semNum}:${o.semOp >= 0 ? '+' : ''}${o.semOp}`).join(' ');
}

function namespaceView(kernel: Kernel, names: Names, ns: IpcNamespace, procs: readonly Process[]): NamespaceView {
  const inNs = procs.filter((p) => !p.exited && p.ipcNamespace === ns);
  const semSets = semRows(ns).map(({ id }) => ({
    id,
    semaphores: (semaphoresOf(ns, id) ?? []).map((x) => ({ ...x, lastBy: x.pid === 0 ? '0' : who(names, x.pid) })),
    waiters: inNs.flatMap((p) =>
      p
        .waitingCalls()
        .flatMap((w) =>
          (w.call === 'semop' || w.call === 'semtimedop') && w.waiter.set.perm.id === id ? [`${who(names, p.pid)}: ${sops(w.waiter.sops)}`] : [],
        ),
    ),
  }));
  const queueWaiters = new Map<number, string[]>();
  for (const p of inNs) {
    for (const c of p.waitingCalls()) {
      if (c.call !== 'msgsnd' && c.call !== 'msgrcv') continue;
      const what = c.call === 'msgsnd' ? `msgsnd type ${c.mtype}, ${c.text.length} bytes` : `msgrcv msgtyp ${c.msgtyp}`;
      const list = queueWaiters.get(c.msqid) ?? [];
      list.push(`${who(names, p.pid)}: ${what}`);
      queueWaiters.set(c.msqid, list);
    }
  }
  const pidName = (pid: number): string => (pid === 0 ? '0' : who(names, pid));
  return {
    label: nsLabel(kernel, ns),
    ipcs: formatIpcsReport(ns, IPCS_DEFAULTS, USERS, 'utc'),
    semSets,
    queues: msgRows(ns).map(({ id, ds }) => ({
      id,
      qnum: ds.qnum,
      cbytes: ds.cbytes,
      qbytes: String(ds.qbytes),
      lspid: pidName(ds.lspid),
      lrpid: pidName(ds.lrpid),
      waiters: queueWaiters.get(id) ?? [],
    })),
  };
}

/** Every tmpfs a mount table names, with where it is mounted. */
function mountViews(kernel: Kernel, names: Names, procs: readonly Process[]): { mounts: MountView[]; superblocks: Map<Tmpfs, string> } {
  const mounts: MountView[] = [];
  const superblocks = new Map<Tmpfs, string>();
  const owner = new Map<unknown, string>();
  for (const p of procs) {
    const c = names.containerByPid.get(p.pid);
    if (c !== undefined && !p.exited) owner.set(p.mountNamespace, `container ${c}`);
  }
  kernel.mountNamespaces().forEach((mnt, i) => {
    const where = mnt === kernel.initialMountNamespace ? 'host' : (owner.get(mnt) ?? `mount ns ${i}`);
    for (const e of mnt.mounts()) {
      const sb = e.mount.sb;
      if (!superblocks.has(sb)) superblocks.set(sb, `${where}:${e.mountpoint}`);
      mounts.push({
        where,
        mountpoint: e.mountpoint,
        device: sb.deviceId,
        readonly: e.mount.flags.readonly,
        usedPages: sb.usedPages,
        capacityPages: sb.capacityPages,
        usedInodes: sb.usedInodes,
        inodeLimit: sb.inodeLimit,
      });
    }
  });
  return { mounts, superblocks };
}

/** Frames by the object holding them: segments, tmpfs files (mounted or only mapped), private memory. */
function framesView(kernel: Kernel, names: Names, procs: readonly Process[], superblocks: ReadonlyMap<Tmpfs, string>): FramesView {
  const owners: FrameOwner[] = [];
  for (const ns of kernel.ipcNamespaces()) {
    for (const s of ns.shm.segments()) {
      try {
        if (s.residentPages > 0)
          owners.push({ owner: `shm id ${s.id} key 0x${(s.perm.key >>> 0).toString(16).padStart(8, '0')} (${nsLabel(kernel, ns)})`, pages: s.residentPages });
      } finally {
        s.decRef();
      }
    }
  }
  const seenFiles = new Set<RegularFile>();
  for (const [sb, where] of superblocks) {
    for (const inode of sb.checkpointState().live) {
      if (!(inode instanceof RegularFile) || seenFiles.has(inode)) continue;
      seenFiles.add(inode);
      if (inode.residentPages > 0) owners.push({ owner: `tmpfs file ino ${inode.ino} on ${where}`, pages: inode.residentPages });
    }
  }
  const seenAnon = new Set<AnonymousMemory>();
  for (const p of procs) {
    if (p.exited) continue;
    for (const v of p.mm.vmas()) {
      const m = v.mappable;
      if (m instanceof RegularFile && !seenFiles.has(m)) {
        seenFiles.add(m);
        if (m.residentPages > 0) owners.push({ owner: `tmpfs file ino ${m.ino}, mapped by ${who(names, p.pid)} (no longer mounted)`, pages: m.residentPages });
      } else if (m instanceof AnonymousMemory && !seenAnon.has(m)) {
        seenAnon.add(m);
        let pages = 0;
        m.forEachPage(() => {
          pages += 1;
        });
        if (pages > 0) owners.push({ owner: `private memory of ${who(names, p.pid)} at ${hex(v.start)} (${v.identity.mappedName() || 'anon'})`, pages });
      }
    }
  }
  const allocated = kernel.memoryFile.allocatedFrames;
  const held = owners.reduce((n, o) => n + o.pages, 0);
  return { allocated, owners, unattributed: allocated - held };
}

function cgroupViews(procs: readonly Process[]): CgroupView[] {
  const seen = new Set<MemoryCgroup>();
  for (const p of procs) if (p.memoryCharge instanceof MemoryCgroup) seen.add(p.memoryCharge);
  return [...seen].map((c) => ({ path: c.path, usagePages: c.usagePages, limitPages: c.limitPages ?? null, failCount: c.failCount }));
}

/** The whole view of `kernel` now. */
export function kernelView(kernel: Kernel, names: Names): KernelView {
  const procs = kernel.processes();
  const { mounts, superblocks } = mountViews(kernel, names, procs);
  const live = new Set(procs.map((p) => p.pid));
  // The kernel forgets a process at exit; the scenario still names it, so it stays in the list as exited.
  const gone: ProcessView[] = [...names.byPid]
    .filter(([pid]) => !live.has(pid))
    .map(([pid, name]) => ({ name, pid, uid: -1, gid: -1, state: 'exited', ipcNs: '', cgroup: '', vmas: [] }));
  return {
    processes: [...procs.map((p) => processView(kernel, names, p)), ...gone].sort((a, b) => a.pid - b.pid),
    namespaces: kernel.ipcNamespaces().map((ns) => namespaceView(kernel, names, ns, procs)),
    frames: framesView(kernel, names, procs, superblocks),
    mounts,
    cgroups: cgroupViews(procs),
  };
}
