/**
 * The System V semaphore and message queue part of an image: per IPC
 * namespace, kernel.sem and the msg sysctls, each mechanism's id allocator
 * and its sets or queues in index order (a set's values, sempids and
 * per-semaphore sem_otime; a queue's counts, pids, times and messages in
 * send order); and the SEM_UNDO lists, each once, which processes name by
 * index (so a list shared by several processes is shared again after
 * restore).
 *
 * Sets and queues are restored inside restoreIpc (their namespace is made
 * there), a queue without its messages; undo lists once the processes
 * exist; the messages last, once the sleeping calls are back on their
 * queues (parts/waiting.ts). checkSysv checks an image's
 * meaning before anything is built: values within 0..SEMVMX, one value,
 * sempid and otime per semaphore, messages adding up to cbytes and qnum,
 * undo entries naming existing sets and their semaphores, limits within
 * what the sysctls accept.
 */
import { permMeta, restoredPerm } from './perm.js';
import { IPCMNI, IPCMNI_SEQ_MAX } from '../../abi/constants.js';
import { SEMVMX } from '../../abi/sem.js';
import type { IpcNamespace } from '../../kernel/ipc_namespace.js';
import type { Process } from '../../kernel/process.js';
import type { MsgQueue } from '../../msg/queue.js';
import { Message } from '../../msg/message.js';
import { asMsgType } from '../../msg/mtype.js';
import type { SemSet } from '../../sem/set.js';
import { SemUndo, UndoList } from '../../sem/undo.js';
import { check } from '../errors.js';
import type { Metadata, MsgQueueMetaT, SemSetMetaT, SemUndoListMetaT } from '../metadata.js';
import { fromHex, toHex } from './hex.js';

type IpcNamespaceMetaT = Metadata['ipcNamespaces'][number];
type SemNamespaceMetaT = NonNullable<IpcNamespaceMetaT['sem']>;
type MsgNamespaceMetaT = NonNullable<IpcNamespaceMetaT['msg']>;

const INT_MAX = 0x7fffffff;
const INT_MIN = -0x80000000;
const LONG_MAX = (1n << 63n) - 1n;

// Saving.

/** The semaphore section of one namespace (its sleeping semops are in parts/waiting.ts). */
export function saveSem(ns: IpcNamespace): SemNamespaceMetaT {
  const l = ns.semLimits;
  return {
    limits: { semmsl: l.semmsl, semmns: l.semmns, semopm: l.semopm, semmni: l.semmni, semNextId: l.semNextId },
    allocator: ns.sem.idAllocatorState(),
    sets: ns.sem.setsForCheckpoint().map(semSetMeta),
  };
}

function semSetMeta(s: SemSet): SemSetMetaT {
  // The values workers hold under a lease are the set's too.
  s.recallLease();
  return {
    ...permMeta(s.perm),
    nsems: s.nsems,
    semval: Array.from(s.semval),
    sempid: Array.from(s.sempid),
    otime: Array.from(s.semOtime),
    ctime: s.ctime,
  };
}

/** The message queue section of one namespace. */
export function saveMsg(ns: IpcNamespace): MsgNamespaceMetaT {
  const l = ns.msgLimits;
  return {
    limits: { msgmax: l.msgmax, msgmnb: l.msgmnb, msgmni: l.msgmni, msgNextId: l.msgNextId },
    allocator: ns.msg.idAllocatorState(),
    queues: ns.msg.queuesForCheckpoint().map(msgQueueMeta),
  };
}

function msgQueueMeta(q: MsgQueue): MsgQueueMetaT {
  // The messages workers hold under a lease are the queue's too.
  q.recallLease();
  return {
    ...permMeta(q.perm),
    stime: q.stime,
    rtime: q.rtime,
    ctime: q.ctime,
    cbytes: q.cbytes,
    qnum: q.qnum,
    qbytes: q.qbytes,
    lspid: q.lspid,
    lrpid: q.lrpid,
    messages: q.messages.toArray().map((m): [string, string] => [String(m.mtype), toHex(m.text)]),
  };
}

/** The undo lists the processes hold, each once, and each process's list by index. */
export interface SavedUndoLists {
  readonly lists: SemUndoListMetaT[];
  readonly indexOf: (p: Process) => number | undefined;
}

/** Every SEM_UNDO list of the kernel's processes, in the order the processes first name them. */
export function saveUndoLists(processes: readonly Process[], namespaces: readonly IpcNamespace[]): SavedUndoLists {
  const placeOfSet = new Map<SemSet, number>();
  namespaces.forEach((ns, i) => {
    for (const s of ns.sem.setsForCheckpoint()) placeOfSet.set(s, i);
  });
  const index = new Map<UndoList, number>();
  const lists: SemUndoListMetaT[] = [];
  for (const p of processes) {
    const ulp = p.sysvsem.undoList;
    if (ulp === undefined || index.has(ulp)) continue;
    index.set(ulp, lists.length);
    lists.push({
      refs: ulp.refs,
      entries: ulp.entries.map((un) => {
        const ns = placeOfSet.get(un.set);
        if (ns === undefined || un.semid !== un.set.perm.id) throw new Error(`checkpoint: process ${p.pid}'s undo entry for set ${un.semid} names no live set`);
        return { ns, semid: un.semid, semadj: Array.from(un.semadj) };
      }),
    });
  }
  return {
    lists,
    indexOf: (p) => {
      const ulp = p.sysvsem.undoList;
      return ulp === undefined ? undefined : index.get(ulp);
    },
  };
}

// Restoring.

/** Rebuilds a namespace's sets (kernel.sem and the allocator first); gives them by id. */
export function restoreSem(m: SemNamespaceMetaT | undefined, ns: IpcNamespace): ReadonlyMap<number, SemSet> {
  const sets = new Map<number, SemSet>();
  if (m === undefined) return sets;
  Object.assign(ns.semLimits, m.limits);
  ns.sem.restoreIdAllocator(m.allocator);
  for (const s of m.sets) {
    const set = ns.sem.restoreSet(restoredPerm(s), s.nsems, s.ctime);
    // Plain arrays of the set's length (checkSysv checked each list's length against nsems).
    for (let i = 0; i < s.nsems; i += 1) {
      set.semval[i] = s.semval[i] as number;
      set.sempid[i] = s.sempid[i] as number;
      set.semOtime[i] = s.otime[i] as number;
    }
    sets.set(s.id, set);
  }
  return sets;
}

/** Rebuilds a namespace's queues, empty (the msg sysctls and the allocator first); restoreMessages fills them. */
export function restoreMsg(m: MsgNamespaceMetaT | undefined, ns: IpcNamespace): ReadonlyMap<number, MsgQueue> {
  const queues = new Map<number, MsgQueue>();
  if (m === undefined) return queues;
  Object.assign(ns.msgLimits, m.limits);
  ns.msg.restoreIdAllocator(m.allocator);
  for (const s of m.queues) {
    const q = ns.msg.restoreQueue(
      {
        perm: restoredPerm(s),
        ctime: s.ctime,
        qbytes: s.qbytes,
      },
      [],
    );
    q.stime = s.stime;
    q.rtime = s.rtime;
    q.lspid = s.lspid;
    q.lrpid = s.lrpid;
    queues.set(s.id, q);
  }
  return queues;
}

/**
 * Queues each namespace's messages in send order, after the sleeping calls
 * are back (a msgrcv made again must find its queue empty, see
 * parts/waiting.ts).
 */
export function restoreMessages(meta: readonly IpcNamespaceMetaT[], queuesOf: readonly ReadonlyMap<number, MsgQueue>[]): void {
  meta.forEach((ns, n) => {
    for (const s of ns.msg?.queues ?? []) {
      const q = queuesOf[n]?.get(s.id) as MsgQueue;
      q.mu.with(() => {
        for (const [mtype, text] of s.messages) q.restoreMessageLocked(new Message(asMsgType(BigInt(mtype)), fromHex(text)));
      });
    }
  });
}

/** Gives each process its undo list, shared lists shared again; each entry is linked into its set's list_id too. */
export function restoreUndoLists(meta: Metadata, setsOf: readonly ReadonlyMap<number, SemSet>[], processes: ReadonlyMap<number, Process>): void {
  const lists = (meta.semUndoLists ?? []).map((l) => {
    const ulp = new UndoList();
    ulp.refs = l.refs;
    for (const e of l.entries) {
      const set = setsOf[e.ns]?.get(e.semid) as SemSet;
      const un = new SemUndo(ulp, set, e.semid, set.nsems);
      un.semadj.set(e.semadj);
      ulp.entries.push(un);
      set.undos.push(un);
    }
    return ulp;
  });
  for (const p of meta.processes) {
    if (p.semUndo === undefined) continue;
    (processes.get(p.pid) as Process).sysvsem.undoList = lists[p.semUndo];
  }
}

// Checking an image's meaning.

/** The semaphore and message queue sections, and the undo lists against them. */
export function checkSysv(meta: Metadata): void {
  const nsems = meta.ipcNamespaces.map((ns, n) => {
    const at = `metadata.ipcNamespaces[${n}]`;
    const sizes = new Map<number, number>();
    if (ns.sem !== undefined) checkSem(ns.sem, `${at}.sem`, sizes);
    if (ns.msg !== undefined) checkMsg(ns.msg, `${at}.msg`);
    return sizes;
  });
  checkUndoLists(meta, nsems);
}

function checkAllocator(a: { cursor: number; lastIndex: number; seq: number }, at: string): void {
  check(a.cursor <= IPCMNI && a.lastIndex >= -1 && a.lastIndex < IPCMNI && a.seq < IPCMNI_SEQ_MAX, `${at}.allocator`, 'is outside the id space');
}

function checkInt(v: number, lo: number, hi: number, at: string): void {
  check(v >= lo && v <= hi, at, `${v} is outside ${lo}..${hi}, which the sysctl accepts`);
}

/** Ids, keys and modes of a mechanism's objects: unique indexes, unique non-private keys. */
function checkPerms(objects: readonly { id: number; key: number; mode: number }[], at: string, list: string): void {
  const indexes = new Set<number>();
  const keys = new Set<number>();
  objects.forEach((o, j) => {
    const oat = `${at}.${list}[${j}]`;
    check(o.id <= INT_MAX, `${oat}.id`, `${o.id} is not an id`);
    const index = o.id % IPCMNI;
    check(!indexes.has(index), `${oat}.id`, `index ${index} is taken twice`);
    indexes.add(index);
    check(o.key >= INT_MIN && o.key <= INT_MAX, `${oat}.key`, `${o.key} is not a key_t`);
    check(o.key === 0 || !keys.has(o.key), `${oat}.key`, `key ${o.key} belongs to two objects`);
    keys.add(o.key);
    check(o.mode < 2 ** 31, `${oat}.mode`, `${o.mode} is not a mode`);
  });
}

function checkSem(m: SemNamespaceMetaT, at: string, sizes: Map<number, number>): void {
  const l = m.limits;
  // kernel.sem: proc_dointvec (any int) for the first three, then sem_check_semmni.
  checkInt(l.semmsl, INT_MIN, INT_MAX, `${at}.limits.semmsl`);
  checkInt(l.semmns, INT_MIN, INT_MAX, `${at}.limits.semmns`);
  checkInt(l.semopm, INT_MIN, INT_MAX, `${at}.limits.semopm`);
  checkInt(l.semmni, 0, IPCMNI, `${at}.limits.semmni`);
  checkInt(l.semNextId, -1, INT_MAX, `${at}.limits.semNextId`);
  checkAllocator(m.allocator, at);
  checkPerms(m.sets, at, 'sets');
  m.sets.forEach((s, j) => {
    const sat = `${at}.sets[${j}]`;
    check(s.nsems >= 1, `${sat}.nsems`, 'a set has at least one semaphore');
    check(s.semval.length === s.nsems, `${sat}.semval`, `has ${s.semval.length} values for ${s.nsems} semaphores`);
    check(s.sempid.length === s.nsems, `${sat}.sempid`, `has ${s.sempid.length} pids for ${s.nsems} semaphores`);
    check(s.otime.length === s.nsems, `${sat}.otime`, `has ${s.otime.length} times for ${s.nsems} semaphores`);
    s.semval.forEach((v, i) => check(v >= 0 && v <= SEMVMX, `${sat}.semval[${i}]`, `${v} is outside 0..SEMVMX (${SEMVMX})`));
    s.sempid.forEach((v, i) => check(v >= 0 && v <= INT_MAX, `${sat}.sempid[${i}]`, `${v} is not a pid`));
    sizes.set(s.id, s.nsems);
  });
}

function checkMsg(m: MsgNamespaceMetaT, at: string): void {
  const l = m.limits;
  checkInt(l.msgmax, 0, INT_MAX, `${at}.limits.msgmax`);
  checkInt(l.msgmnb, 0, INT_MAX, `${at}.limits.msgmnb`);
  checkInt(l.msgmni, 0, IPCMNI, `${at}.limits.msgmni`);
  checkInt(l.msgNextId, -1, INT_MAX, `${at}.limits.msgNextId`);
  checkAllocator(m.allocator, at);
  checkPerms(m.queues, at, 'queues');
  m.queues.forEach((q, j) => {
    const qat = `${at}.queues[${j}]`;
    checkInt(q.qbytes, INT_MIN, INT_MAX, `${qat}.qbytes`);
    check(q.lspid <= INT_MAX && q.lrpid <= INT_MAX, `${qat}`, 'lspid and lrpid must be pids');
    let bytes = 0;
    q.messages.forEach(([mtype, text], k) => {
      const t = BigInt(mtype);
      check(t >= 1n && t <= LONG_MAX, `${qat}.messages[${k}][0]`, `mtype ${mtype} is outside 1..LONG_MAX`);
      bytes += text.length / 2;
    });
    check(q.qnum === q.messages.length, `${qat}.qnum`, `is ${q.qnum}, but the queue holds ${q.messages.length} messages`);
    check(q.cbytes === bytes, `${qat}.cbytes`, `is ${q.cbytes}, but the messages hold ${bytes} bytes`);
  });
}

function checkUndoLists(meta: Metadata, nsems: readonly ReadonlyMap<number, number>[]): void {
  const lists = meta.semUndoLists ?? [];
  const holders = lists.map(() => 0);
  meta.processes.forEach((p, i) => {
    if (p.semUndo === undefined) return;
    check(p.semUndo < lists.length, `metadata.processes[${i}].semUndo`, `names undo list ${p.semUndo}, but there are ${lists.length}`);
    holders[p.semUndo] = (holders[p.semUndo] ?? 0) + 1;
    for (const e of lists[p.semUndo]?.entries ?? []) {
      check(
        e.ns === p.ipcNamespace,
        `metadata.processes[${i}].semUndo`,
        `the process is in IPC namespace ${p.ipcNamespace}, its undo list names a set of ${e.ns}`,
      );
    }
  });
  lists.forEach((l, i) => {
    const at = `metadata.semUndoLists[${i}]`;
    check(l.refs >= 1 && l.refs === holders[i], `${at}.refs`, `is ${l.refs}, but ${holders[i]} processes hold the list`);
    const seen = new Set<string>();
    l.entries.forEach((e, j) => {
      const eat = `${at}.entries[${j}]`;
      const n = nsems[e.ns]?.get(e.semid);
      check(n !== undefined, `${eat}.semid`, `names set ${e.semid} of IPC namespace ${e.ns}, which the image does not hold`);
      check(!seen.has(`${e.ns}:${e.semid}`), `${eat}.semid`, `set ${e.semid} appears twice in the list`);
      seen.add(`${e.ns}:${e.semid}`);
      check(e.semadj.length === n, `${eat}.semadj`, `has ${e.semadj.length} adjustments for ${n} semaphores`);
      e.semadj.forEach((v, k) => check(v >= -32768 && v <= 32767, `${eat}.semadj[${k}]`, `${v} is outside a short`));
    });
  });
}
