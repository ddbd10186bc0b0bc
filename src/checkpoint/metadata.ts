/**
 * The metadata section of an image: everything but the page bytes, as JSON
 * decoded with io-ts. Objects that others share (segments, anonymous memory,
 * open files, mounts, superblocks, cgroups) appear once, and are referred to
 * by their index in their list, so identity survives a restore: a segment
 * attached by three processes, or a description shared after fork, is one
 * object again.
 *
 * Page maps are runs: [first page, first frame, count] (plus the charge
 * target for a file's pages), since pages touched in order usually sit in
 * consecutive frames.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PAGE_SIZE } from '../abi/constants.js';
import type { CheckpointError } from './errors.js';
import { checkpointError } from './errors.js';

/** A safe integer >= 0. */
const Nat = new t.Type<number, number, unknown>(
  'Nat',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** A safe integer. */
const SafeInt = new t.Type<number, number, unknown>(
  'SafeInt',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u),
  (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const U64_LIMIT = 2n ** 64n;

/** An unsigned 64-bit value, carried as a decimal string (JSON numbers stop being exact at 2^53). */
const U64 = new t.Type<bigint, string, unknown>(
  'U64',
  (u): u is bigint => typeof u === 'bigint' && u >= 0n && u < U64_LIMIT,
  (u, c) => {
    if (typeof u !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(u)) return t.failure(u, c);
    const v = BigInt(u);
    return v < U64_LIMIT ? t.success(v) : t.failure(u, c);
  },
  (v) => v.toString(),
);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const LOFF_MAX = 2n ** 63n - 1n;

/**
 * A file size or position (loff_t, up to 2^63 - 1 on tmpfs), in the form the
 * VFS keeps it: a number while it is a safe integer, a bigint past that. A
 * number is written as a JSON number (so images of ordinary files are as
 * before), a bigint as a decimal string.
 */
const Loff = new t.Type<number | bigint, number | string, unknown>(
  'Loff',
  (u): u is number | bigint => (typeof u === 'number' && Number.isSafeInteger(u) && u >= 0) || (typeof u === 'bigint' && u > MAX_SAFE && u <= LOFF_MAX),
  (u, c) => {
    if (typeof u === 'number') return Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c);
    if (typeof u !== 'string' || !/^[1-9][0-9]{15,18}$/.test(u)) return t.failure(u, c);
    const v = BigInt(u);
    return v > MAX_SAFE && v <= LOFF_MAX ? t.success(v) : t.failure(u, c);
  },
  (v) => (typeof v === 'number' ? v : v.toString()),
);

const MAP_OFFSET_LIMIT = 2n ** 64n;

/**
 * A VMA's byte offset into its object: a multiple of the page size below
 * 2^64, kept as a number (exact: see Vma.offset). A safe integer is written
 * as a JSON number (as in every image before), a larger one as a decimal
 * string.
 */
const MapOffset = new t.Type<number, number | string, unknown>(
  'MapOffset',
  (u): u is number => typeof u === 'number' && u >= 0 && u < 2 ** 64 && Number.isInteger(u / PAGE_SIZE),
  (u, c) => {
    if (typeof u === 'number') return Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c);
    if (typeof u !== 'string' || !/^[1-9][0-9]{15,19}$/.test(u)) return t.failure(u, c);
    const v = BigInt(u);
    return v > MAX_SAFE && v < MAP_OFFSET_LIMIT && v % BigInt(PAGE_SIZE) === 0n ? t.success(Number(v)) : t.failure(u, c);
  },
  (v) => (Number.isSafeInteger(v) ? v : BigInt(v).toString()),
);

const Nullable = <C extends t.Mixed>(c: C) => t.union([c, t.null]);

/** [first page, first frame, count]. */
const PageRunCodec = t.tuple([Nat, Nat, Nat]);
export type PageRunMeta = t.TypeOf<typeof PageRunCodec>;

/** Who pays for a page: the kernel's root cgroup, or a cgroup by index. */
const ChargeRef = t.union([t.literal('root'), Nat]);
export type ChargeRefMeta = t.TypeOf<typeof ChargeRef>;

const Capability = t.keyof({
  CAP_IPC_OWNER: null,
  CAP_IPC_LOCK: null,
  CAP_SYS_ADMIN: null,
  CAP_SYS_RESOURCE: null,
  CAP_SYS_RAWIO: null,
  CAP_FOWNER: null,
  CAP_DAC_OVERRIDE: null,
});

const KernelMeta = t.intersection([
  t.type({
    memTotalBytes: Nat,
    chunkBytes: Nat,
    executeOnly: t.boolean,
    hugetlbShmGroup: Nat,
    /** The default allocator's next pid; null when the simulator injected its own. */
    nextPid: Nullable(Nat),
    nextNsId: Nat,
    /** Frames [0, frameLimit) were handed out at some time; the rest never were. */
    frameLimit: Nat,
    rootCgroupCharged: Nat,
  }),
  /** The huge page sizes in bytes, the default first; absent for the Kernel's default ones. */
  t.partial({ hugePageSizes: t.array(Nat) }),
]);

const CgroupMeta = t.type({ path: t.string, limitPages: Nullable(Nat), chargedPages: Nat, refusals: Nat });

const LimitsMeta = t.type({ shmmax: U64, shmall: U64, shmmni: Nat, shmRmidForced: t.boolean, shmNextId: SafeInt });

const SegmentMeta = t.type({
  id: Nat,
  key: SafeInt,
  uid: Nat,
  gid: Nat,
  cuid: Nat,
  cgid: Nat,
  mode: Nat,
  segsz: U64,
  /** The mapping span; past 2^53 for the largest segments, so carried exactly as a string. */
  mapBytes: U64,
  hugePageBytes: Nat,
  cpid: Nat,
  /** The creating process's pid while it lives in the namespace (shm_creator). */
  creator: Nullable(Nat),
  atime: SafeInt,
  dtime: SafeInt,
  ctime: SafeInt,
  lpid: Nat,
  nattch: Nat,
  pendingDestruction: t.boolean,
  forcedPending: t.boolean,
  lockedBy: Nullable(Nat),
  refs: Nat,
  pages: t.array(PageRunCodec),
});
export type SegmentMetaT = t.TypeOf<typeof SegmentMeta>;

const AllocatorMeta = t.type({ cursor: Nat, lastIndex: SafeInt, seq: Nat });

/** The owner part of a System V object's perm: id, key, owner, creator and mode. */
const PermFields = { id: Nat, key: SafeInt, uid: Nat, gid: Nat, cuid: Nat, cgid: Nat, mode: Nat };

/** A C long written as a decimal string (message types reach 2^63). */
const LongString = new t.Type<string, string, unknown>(
  'Long',
  (u): u is string => typeof u === 'string' && /^-?(0|[1-9][0-9]{0,18})$/.test(u),
  (u, c) => (typeof u === 'string' && /^-?(0|[1-9][0-9]{0,18})$/.test(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** Bytes as lower-case hex. */
const HexBytes = new t.Type<string, string, unknown>(
  'HexBytes',
  (u): u is string => typeof u === 'string' && /^([0-9a-f]{2})*$/.test(u),
  (u, c) => (typeof u === 'string' && /^([0-9a-f]{2})*$/.test(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** A System V semaphore set: each semaphore's semval, sempid and sem_otime, and the set's sem_ctime. */
const SemSetMeta = t.type({
  ...PermFields,
  nsems: Nat,
  semval: t.array(SafeInt),
  sempid: t.array(SafeInt),
  otime: t.array(SafeInt),
  ctime: SafeInt,
});
export type SemSetMetaT = t.TypeOf<typeof SemSetMeta>;

/** A message: its type (a C long, as a decimal string) and its text (hex). */
const MessageMeta = t.tuple([LongString, HexBytes]);

/** A System V message queue with its messages in send order. */
const MsgQueueMeta = t.type({
  ...PermFields,
  stime: SafeInt,
  rtime: SafeInt,
  ctime: SafeInt,
  cbytes: Nat,
  qnum: Nat,
  /** q_qbytes as msgctl_down's int (negative: sign-extended). */
  qbytes: SafeInt,
  lspid: Nat,
  lrpid: Nat,
  messages: t.array(MessageMeta),
});
export type MsgQueueMetaT = t.TypeOf<typeof MsgQueueMeta>;

/** A namespace's semaphores: kernel.sem, sem_next_id, the id allocator and the sets in index order. */
const SemNamespaceMeta = t.type({
  limits: t.type({ semmsl: SafeInt, semmns: SafeInt, semopm: SafeInt, semmni: SafeInt, semNextId: SafeInt }),
  allocator: AllocatorMeta,
  sets: t.array(SemSetMeta),
});

/** A namespace's message queues: the msg sysctls, the id allocator and the queues in index order. */
const MsgNamespaceMeta = t.type({
  limits: t.type({ msgmax: SafeInt, msgmnb: SafeInt, msgmni: SafeInt, msgNextId: SafeInt }),
  allocator: AllocatorMeta,
  queues: t.array(MsgQueueMeta),
});

/**
 * An IPC namespace. `sem` and `msg` are absent from images written before
 * semaphores and message queues existed; such a namespace restores with
 * Linux's default limits and no sets or queues, as before.
 */
const IpcNamespaceMeta = t.intersection([
  t.type({
    nsId: Nat,
    immortal: t.boolean,
    dead: t.boolean,
    members: Nat,
    limits: LimitsMeta,
    allocator: AllocatorMeta,
    segments: t.array(SegmentMeta),
  }),
  t.partial({ sem: SemNamespaceMeta, msg: MsgNamespaceMeta }),
]);

/**
 * A SEM_UNDO list (struct sem_undo_list), shared by the processes whose
 * `semUndo` names it: one entry per set, most recently used first, each
 * naming its set by namespace index and id, with one semadj per semaphore.
 */
const SemUndoListMeta = t.type({
  refs: Nat,
  entries: t.array(t.type({ ns: Nat, semid: Nat, semadj: t.array(SafeInt) })),
});
export type SemUndoListMetaT = t.TypeOf<typeof SemUndoListMeta>;

/** A finite number (a JSON number is never NaN or infinite, but a decoded value is checked all the same). */
const Finite = new t.Type<number, number, unknown>(
  'Finite',
  (u): u is number => typeof u === 'number' && Number.isFinite(u),
  (u, c) => (typeof u === 'number' && Number.isFinite(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** Where a sleeping call sits: its process, its object (namespace index and id), and its place in that object's queue (0 first). */
const WaitPlace = { pid: Nat, ns: Nat, position: Nat };

/**
 * A sleeping semop: the queue it is on (a semaphore's, or with semnum -1
 * the set's global one; altering or wait-for-zero), its sops as
 * [sem_num, sem_op, sem_flg] as the kernel read them, the index of the
 * sop it blocked on, and the milliseconds its timeout had left on the
 * monotonic clock (null: none; negative: overdue, its timer not run yet).
 */
const SemWaitMeta = t.intersection([
  t.type({
    call: t.union([t.literal('semop'), t.literal('semtimedop')]),
    ...WaitPlace,
    semid: Nat,
    queue: t.union([t.literal('alter'), t.literal('const')]),
    semnum: SafeInt,
    sops: t.array(t.tuple([SafeInt, SafeInt, SafeInt])),
    blocking: Nat,
    timeoutMs: Nullable(Finite),
  }),
  /**
   * orphanUndo: the semadj of a SEM_UNDO semop's undo entry that no undo
   * list holds any more (its process left the set's namespace, and
   * exit_sem dropped its list); absent when the entry is its process's.
   */
  t.partial({ orphanUndo: t.array(SafeInt) }),
]);
export type SemWaitMetaT = t.TypeOf<typeof SemWaitMeta>;

/** A msgsnd asleep on a full queue's senders: the message's type and text, and msgflg. */
const MsgSendWaitMeta = t.type({ call: t.literal('msgsnd'), ...WaitPlace, msqid: Nat, mtype: LongString, text: HexBytes, msgflg: SafeInt });
export type MsgSendWaitMetaT = t.TypeOf<typeof MsgSendWaitMeta>;

/** A msgrcv asleep on a queue's receivers: its buffer size (size_t), msgtyp and msgflg. */
const MsgReceiveWaitMeta = t.type({ call: t.literal('msgrcv'), ...WaitPlace, msqid: Nat, msgsz: U64, msgtyp: LongString, msgflg: SafeInt });
export type MsgReceiveWaitMetaT = t.TypeOf<typeof MsgReceiveWaitMeta>;

export type WaitingCallMetaT = SemWaitMetaT | MsgSendWaitMetaT | MsgReceiveWaitMetaT;

/** The record's codec, chosen by its `call` (so a failure names the record's own field). */
const waitCodec = (u: unknown): t.Type<WaitingCallMetaT, unknown, unknown> => {
  const call = typeof u === 'object' && u !== null ? (u as { call?: unknown }).call : undefined;
  return (call === 'msgsnd' ? MsgSendWaitMeta : call === 'msgrcv' ? MsgReceiveWaitMeta : SemWaitMeta) as t.Type<WaitingCallMetaT, unknown, unknown>;
};

/** A call asleep in the kernel: a semop, msgsnd or msgrcv of a process. */
const WaitingCallMeta = new t.Type<WaitingCallMetaT, unknown, unknown>(
  'WaitingCall',
  (u): u is WaitingCallMetaT => waitCodec(u).is(u),
  (u, c) => {
    // The chosen codec stands in this record's place in the context, so a failure's path is the record's own.
    const codec = waitCodec(u);
    const last = c[c.length - 1];
    return codec.validate(u, last === undefined ? c : [...c.slice(0, -1), { ...last, type: codec }]);
  },
  (v) => waitCodec(v).encode(v),
);

/**
 * Private memory. bytes: the end of its page range (the mapping's size, or
 * for a private file mapping the file offset it ends at, up to 2^64).
 * file: the open file a private file mapping reads through (absent for
 * anonymous memory). A frame may appear in several objects' pages: a page
 * a forked child still shares copy-on-write.
 * charges: [first page, count, charge] runs over the pages, naming the
 * memory cgroup each page is charged to (a page shared copy-on-write
 * carries the same charge in every object naming it). Absent in images
 * from before private pages were charged: their pages are charged to none.
 * noReserve: mapped with MAP_NORESERVE, so mprotect never charges it to the
 * overcommit heuristic; absent otherwise.
 * droppable: mapped with MAP_DROPPABLE, so mlock never locks it; absent otherwise.
 */
const AnonMeta = t.intersection([
  t.type({ bytes: MapOffset, name: t.string, refs: Nat, pages: t.array(PageRunCodec) }),
  t.partial({ file: Nat, charges: t.array(t.tuple([Nat, Nat, ChargeRef])), noReserve: t.literal(true), droppable: t.literal(true) }),
]);

const InodeMeta = t.intersection([
  t.type({
    ino: Nat,
    kind: t.keyof({ dir: null, file: null }),
    mode: Nat,
    uid: Nat,
    gid: Nat,
    links: Nat,
    opens: Nat,
    /** A directory's entries in creation order: [name, ino]. */
    entries: t.array(t.tuple([t.string, Nat])),
    /** A file's size in bytes. */
    size: Loff,
    /** A file's pages: [first page, first frame, count, charge]. */
    pages: t.array(t.tuple([Nat, Nat, Nat, ChargeRef])),
  }),
  /**
   * A file's seals (F_SEAL_*); absent for F_SEAL_SEAL alone, which every file but a sealable memfd has.
   * A hugetlbfs file's huge page size (memfd_create with MFD_HUGETLB); absent for a tmpfs file.
   * A file's pages that fallocate left not uptodate, which SEEK_DATA and mincore count as holes:
   * [first page, count] runs in page order, each page one the file holds; absent when there are none.
   */
  t.partial({ seals: Nat, hugePageSize: Nat, fallocated: t.array(t.tuple([Nat, Nat])) }),
]);
export type InodeMetaT = t.TypeOf<typeof InodeMeta>;

const TmpfsMeta = t.type({
  deviceId: Nat,
  maxPages: Nat,
  maxInodes: Nat,
  pagesUsed: Nat,
  inodesUsed: Nat,
  nextIno: Nat,
  mounts: Nat,
  /** Every inode not yet evicted; the root directory first. */
  inodes: t.array(InodeMeta),
});

const MountMeta = t.type({
  mountId: Nat,
  tmpfs: Nat,
  rootIno: Nat,
  flags: t.type({ readonly: t.boolean, nosuid: t.boolean, nodev: t.boolean, noexec: t.boolean }),
  refs: Nat,
});

const MountNamespaceMeta = t.type({
  members: Nat,
  /** Mount table rows: [mountpoint, mount, parent mount or null, ino covered in the parent or null]. */
  table: t.array(t.tuple([t.string, Nat, Nullable(Nat), Nullable(Nat)])),
});

/**
 * statusFlags: the description's f_flags beyond its access and O_APPEND
 * (O_NOFOLLOW from shm_open, O_DIRECTORY, O_NONBLOCK...; O_LARGEFILE is
 * implied), absent when there are none.
 */
const OpenFileMeta = t.intersection([
  t.type({
    mount: Nat,
    ino: Nat,
    path: t.string,
    readable: t.boolean,
    writable: t.boolean,
    append: t.boolean,
    offset: Loff,
    refs: Nat,
  }),
  /** directIo: O_DIRECT is allowed (a tmpfs regular file opened by path); absent otherwise. */
  t.partial({ statusFlags: Nat, directIo: t.literal(true) }),
]);

/** What a VMA maps: a segment (namespace index, id), anonymous memory, or a file through an open description. */
const MappedMeta = t.union([
  t.type({ kind: t.literal('shm'), ns: Nat, id: Nat }),
  t.type({ kind: t.literal('anon'), anon: Nat }),
  t.type({ kind: t.literal('file'), file: Nat }),
]);

/**
 * locked: VM_LOCKED (mlock); lockOnFault: VM_LOCKONFAULT (mlock2's
 * MLOCK_ONFAULT, only beside locked); dontCopy: VM_DONTCOPY (MADV_DONTFORK);
 * wipeOnFork: VM_WIPEONFORK (MADV_WIPEONFORK); growsDown: VM_GROWSDOWN
 * (MAP_GROWSDOWN); seqRead, randRead, hugePage, noHugePage and dontDump:
 * VM_SEQ_READ, VM_RAND_READ, VM_HUGEPAGE, VM_NOHUGEPAGE and VM_DONTDUMP
 * (madvise's MADV_SEQUENTIAL, MADV_RANDOM, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
 * MADV_DONTDUMP). Each absent when not set. guards: the guard pages
 * (MADV_GUARD_INSTALL) as runs [first page, pages], the first page counted
 * from the VMA's start, in address order; absent when there are none.
 */
const VmaMeta = t.intersection([
  t.type({ start: Nat, end: Nat, offset: MapOffset, perms: Nat, maxPerms: Nat, writable: t.boolean, object: MappedMeta }),
  t.partial({
    locked: t.literal(true),
    lockOnFault: t.literal(true),
    dontCopy: t.literal(true),
    wipeOnFork: t.literal(true),
    growsDown: t.literal(true),
    seqRead: t.literal(true),
    randRead: t.literal(true),
    hugePage: t.literal(true),
    noHugePage: t.literal(true),
    dontDump: t.literal(true),
    guards: t.array(t.tuple([Nat, Nat])),
  }),
]);

const ProcessMeta = t.intersection([
  t.type({
    pid: Nat,
    uid: Nat,
    gid: Nat,
    groups: t.array(Nat),
    caps: t.array(Capability),
    memlock: t.type({ soft: U64, hard: U64 }),
    ipcNamespace: Nat,
    mountNamespace: Nat,
    charge: ChargeRef,
    fdLimit: Nat,
    fds: t.array(t.tuple([Nat, Nat])),
    mmapBase: Nat,
    vmas: t.array(VmaMeta),
  }),
  /**
   * semUndo: the SEM_UNDO list (index into semUndoLists); absent when the
   * process has none. cloexec: the descriptors with FD_CLOEXEC; absent when
   * none has it. umask: the file mode creation mask, absent when 0.
   * fsize: RLIMIT_FSIZE in bytes, absent when both limits are unlimited.
   */
  t.partial({ semUndo: Nat, cloexec: t.array(Nat), umask: Nat, fsize: t.type({ soft: U64, hard: U64 }) }),
]);

const HostChannelMeta = t.type({ pathOnHost: t.string, pathInContainer: t.string, permissions: t.string, size: U64 });

const ContainerMeta = t.intersection([
  t.type({
    name: t.string,
    hostChannel: Nullable(HostChannelMeta),
    /** `-m` in bytes; null when not given (0, also "no limit", is kept apart as iSulad keeps it). */
    memoryLimit: Nullable(U64),
    autoRemove: t.boolean,
    state: t.keyof({ created: null, running: null, exited: null }),
    /** While running: the init's pid and the namespaces (by index) the container was started in. */
    running: Nullable(t.type({ init: Nat, ipcNamespace: Nat, mountNamespace: Nat })),
    /** The cgroup (by index) of the latest start, which keeps its charges after a stop. */
    cgroup: Nullable(Nat),
  }),
  /**
   * The container's --ipc value (null when not given), its shm tmpfs size and
   * the host directory bound at its /dev/shm (null for none); absent in
   * images older than /dev/shm support.
   */
  t.partial({ ipcMode: Nullable(t.string), shmSize: U64, shmPath: Nullable(t.string) }),
]);
export type ContainerMetaT = t.TypeOf<typeof ContainerMeta>;

/** The container engine bound to the kernel: the daemon's process and the containers in creation order. */
const EngineMeta = t.type({ daemon: Nat, containers: t.array(ContainerMeta) });
export type EngineMetaT = t.TypeOf<typeof EngineMeta>;

/**
 * The whole metadata section. Lists whose first entry is the kernel's own
 * object say so. `engine` is there only when a container engine was
 * checkpointed with the kernel; images without it (all those written before
 * it existed) are the same format version and restore as before.
 */
export const MetadataCodec = t.intersection([
  t.type({
    kernel: KernelMeta,
    lockedMemory: t.array(t.tuple([Nat, U64])),
    cgroups: t.array(CgroupMeta),
    /** [0] is the initial namespace. */
    ipcNamespaces: t.array(IpcNamespaceMeta),
    anonymous: t.array(AnonMeta),
    /** [0] is the root filesystem. */
    tmpfs: t.array(TmpfsMeta),
    mounts: t.array(MountMeta),
    /** [0] is the initial namespace. */
    mountNamespaces: t.array(MountNamespaceMeta),
    openFiles: t.array(OpenFileMeta),
    /** In the kernel's process order. */
    processes: t.array(ProcessMeta),
  }),
  /** waitingCalls: the sleeping calls, in the order they began to wait; absent when none sleeps. */
  t.partial({ engine: EngineMeta, semUndoLists: t.array(SemUndoListMeta), waitingCalls: t.array(WaitingCallMeta) }),
]);
export type Metadata = t.TypeOf<typeof MetadataCodec>;

/** Parses and decodes the metadata text; a failure names the JSON path and what was expected there. */
export function decodeMetadata(text: string): E.Either<CheckpointError, Metadata> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left(checkpointError('metadata', `is not JSON: ${(e as Error).message}`));
  }
  const decoded = MetadataCodec.decode(json);
  if (E.isRight(decoded)) return decoded;
  const first = decoded.left[0];
  if (first === undefined) return E.left(checkpointError('metadata', 'does not decode'));
  // An intersection's members are numbered in the context, but name no field: they are left out.
  const path = first.context
    .filter((_, i) => i > 0 && !(first.context[i - 1]?.type instanceof t.IntersectionType))
    .map((c) => (/^[0-9]+$/.test(c.key) ? `[${c.key}]` : `.${c.key}`))
    .join('');
  const expected = first.context[first.context.length - 1]?.type.name ?? 'a value';
  const more = decoded.left.length > 1 ? ` (and ${decoded.left.length - 1} more problems)` : '';
  return E.left(checkpointError(`metadata${path}`, `expected ${expected}, found ${describe(first.value)}${more}`));
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
