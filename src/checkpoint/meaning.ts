/**
 * Checks of an image's meaning, run by validate after the structural checks
 * (every index in range, every page inside its object, every frame held
 * once): every count the metadata states must equal what its references
 * imply, and every mapping must carry no more access than the syscalls that
 * made it could have given. An image whose checksums are valid but whose
 * counts were edited would otherwise restore into a kernel that destroys a
 * segment still mapped, throws at a later munmap, or lets a process write
 * through a read-only attachment.
 *
 * What is checked, and what cannot be: the image records the state at the
 * checkpoint, not its history. An attachment's access is checked against
 * what shmat gives (VM_MAYREAD and VM_MAYEXEC always, VM_MAYWRITE and the
 * shared-writable flag exactly without SHM_RDONLY, protections within
 * them), so a SHM_RDONLY piece whose protections were edited to allow
 * writing is refused. It is not checked against the segment's mode and the
 * process's credentials: those are the checkpoint's, and IPC_SET may have
 * taken write access away after a read-write attach, which Linux allows
 * (the mapping keeps its access; the random scenarios reach it). An image
 * edited consistently into such a state (perms, maxPerms and writable
 * together) describes a kernel Linux could reach, and is restored.
 */
import { MAX_LFS_FILESIZE, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, SHM_DEST, SHM_LOCKED } from '../abi/constants.js';
import { F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE } from '../abi/memfd.js';
import { check } from './errors.js';
import type { ChargeRefMeta, Metadata } from './metadata.js';

type ProcessMetaT = Metadata['processes'][number];
type VmaMetaT = ProcessMetaT['vmas'][number];
type SegmentMetaT = Metadata['ipcNamespaces'][number]['segments'][number];

const PAGE = BigInt(PAGE_SIZE);

/** Runs every check of meaning over metadata that passed the structural checks. */
export function checkMeaning(meta: Metadata): void {
  const refs = countReferences(meta);
  checkProcesses(meta);
  checkSegments(meta, refs);
  checkLockedMemory(meta);
  checkAnonymousRefs(meta, refs);
  checkOpenFileRefs(meta, refs);
  checkInodeCounts(meta);
  checkTmpfsUsage(meta);
  checkSeals(meta);
  checkMountTables(meta);
  checkMountRefs(meta);
  checkNamespaceMembers(meta);
  checkCharges(meta);
}

/** What the references in the image add up to, per object. */
interface References {
  /** VMA pieces mapping each segment, by namespace index then id. */
  readonly shmPieces: readonly Map<number, number>[];
  /** VMA pieces mapping each anonymous memory object, and the one process that maps it (-1 for none, -2 for several). */
  readonly anonPieces: number[];
  readonly anonOwner: number[];
  /** Descriptors and VMA pieces holding each open file. */
  readonly fileHolders: number[];
}

function countReferences(meta: Metadata): References {
  const shmPieces = meta.ipcNamespaces.map(() => new Map<number, number>());
  const anonPieces = meta.anonymous.map(() => 0);
  const anonOwner = meta.anonymous.map(() => -1);
  const fileHolders = meta.openFiles.map(() => 0);
  // A private file mapping's memory holds its file, once for all its pieces.
  for (const a of meta.anonymous) if (a.file !== undefined) fileHolders[a.file] = (fileHolders[a.file] ?? 0) + 1;
  meta.processes.forEach((p, i) => {
    for (const [, file] of p.fds) fileHolders[file] = (fileHolders[file] ?? 0) + 1;
    for (const v of p.vmas) {
      const o = v.object;
      if (o.kind === 'shm') {
        const m = shmPieces[o.ns] as Map<number, number>;
        m.set(o.id, (m.get(o.id) ?? 0) + 1);
      } else if (o.kind === 'anon') {
        anonPieces[o.anon] = (anonPieces[o.anon] ?? 0) + 1;
        const owner = anonOwner[o.anon] ?? -1;
        anonOwner[o.anon] = owner === -1 || owner === i ? i : -2;
      } else {
        fileHolders[o.file] = (fileHolders[o.file] ?? 0) + 1;
      }
    }
  });
  return { shmPieces, anonPieces, anonOwner, fileHolders };
}

/** Each process's pid is below the allocator's next one, and each VMA carries only what its mapping call could give. */
function checkProcesses(meta: Metadata): void {
  const next = meta.kernel.nextPid;
  meta.processes.forEach((p, i) => {
    const at = `metadata.processes[${i}]`;
    check(next === null || p.pid < next, `${at}.pid`, `${p.pid} is not below the kernel's next pid ${next}`);
    p.vmas.forEach((v, j) => checkVma(meta, v, `${at}.vmas[${j}]`));
  });
}

/** A VMA's guard runs: at least one, each of at least one page, inside the VMA's `pages`, in order and apart (touching runs are one). */
function checkGuards(runs: ReadonlyArray<readonly [number, number]>, pages: number, at: string): void {
  check(runs.length > 0, at, 'is empty; a VMA without guard pages leaves the field out');
  let end = -1;
  runs.forEach(([first, n], k) => {
    check(n > 0, `${at}[${k}]`, 'is a run of no pages');
    check(first > end, `${at}[${k}]`, `starts at page ${first}, not after the previous run's end ${end} (runs are in order, apart)`);
    check(first + n <= pages, `${at}[${k}]`, `pages ${first}..${first + n} pass the VMA's ${pages}`);
    end = first + n;
  });
}

function checkVma(meta: Metadata, v: VmaMetaT, at: string): void {
  check((v.perms & ~v.maxPerms) === 0, `${at}.perms`, `protection ${v.perms} is more than the mapping's maximum ${v.maxPerms}`);
  const len = v.end - v.start;
  const o = v.object;
  check(v.lockOnFault !== true || v.locked === true, `${at}.lockOnFault`, 'is set on a mapping that is not locked; MLOCK_ONFAULT comes only with VM_LOCKED');
  check(v.wipeOnFork !== true || o.kind === 'anon', `${at}.wipeOnFork`, 'is set on a shared mapping; MADV_WIPEONFORK allows private anonymous memory only');
  check(v.seqRead !== true || v.randRead !== true, `${at}.randRead`, 'is set beside seqRead; MADV_SEQUENTIAL and MADV_RANDOM each clear the other');
  check(v.hugePage !== true || v.noHugePage !== true, `${at}.noHugePage`, 'is set beside hugePage; MADV_HUGEPAGE and MADV_NOHUGEPAGE each clear the other');
  if (v.guards !== undefined) checkGuards(v.guards, len / PAGE_SIZE, `${at}.guards`);
  if (o.kind === 'shm') {
    const s = segment(meta, o.ns, o.id);
    // do_shmat: VM_MAYREAD and VM_MAYEXEC always, VM_MAYWRITE exactly without SHM_RDONLY.
    check(
      (v.maxPerms & (PROT_READ | PROT_EXEC)) === (PROT_READ | PROT_EXEC),
      `${at}.maxPerms`,
      `${v.maxPerms} is not what shmat gives (read and exec, and write without SHM_RDONLY)`,
    );
    check(v.writable === ((v.maxPerms & PROT_WRITE) !== 0), `${at}.writable`, `${v.writable} disagrees with maxPerms ${v.maxPerms}`);
    check(BigInt(v.offset) + BigInt(len) <= s.mapBytes, at, `bytes ${v.offset}..${v.offset + len} pass the segment's ${s.mapBytes}`);
  } else if (o.kind === 'anon') {
    const a = meta.anonymous[o.anon] as Metadata['anonymous'][number];
    // madvise sets VM_WIPEONFORK on private anonymous memory only.
    check(v.wipeOnFork !== true || a.file === undefined, `${at}.wipeOnFork`, 'is set on a private file mapping; MADV_WIPEONFORK allows anonymous memory only');
    check(BigInt(v.offset) + BigInt(len) <= BigInt(a.bytes), at, `bytes ${v.offset}..${v.offset + len} pass the anonymous memory's ${a.bytes}`);
    if (a.file !== undefined) {
      // A private file mapping (do_mmap's MAP_PRIVATE case): a readable description, and never shared-writable.
      check(
        meta.openFiles[a.file]?.readable === true,
        `metadata.anonymous[${o.anon}].file`,
        `open file ${a.file} is not open for reading, which a private mapping needs`,
      );
      check(!v.writable, `${at}.writable`, 'a private file mapping is never shared-writable');
    }
  } else {
    const f = meta.openFiles[o.file] as Metadata['openFiles'][number];
    // A shared file mapping (vfs mmap): the description must be readable; VM_MAYWRITE exactly when it is writable,
    // but for a mapping made under a write seal, which loses it (memfd_check_seals_mmap).
    check(f.readable, `${at}.object`, `open file ${o.file} is not open for reading, which a shared mapping needs`);
    check((v.maxPerms & PROT_READ) !== 0, `${at}.maxPerms`, `${v.maxPerms} lacks read, which every file mapping has`);
    const seals = sealsOf(meta, f);
    const mayWrite = (v.maxPerms & PROT_WRITE) !== 0;
    const sealedLoss = f.writable && !mayWrite && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0;
    check(mayWrite === f.writable || sealedLoss, `${at}.maxPerms`, `${v.maxPerms} disagrees with open file ${o.file}'s write access and seals`);
    check(v.writable === mayWrite, `${at}.writable`, `${v.writable} disagrees with the mapping's maximum ${v.maxPerms}`);
    // F_SEAL_WRITE is refused while a writable piece exists, and no writable piece can be made after it.
    check(!v.writable || (seals & F_SEAL_WRITE) === 0, `${at}.writable`, `open file ${o.file}'s file has F_SEAL_WRITE, which no writable mapping outlives`);
    // file_mmap_ok: the mapped range ends at or below the largest file size.
    const mapEnd = BigInt(v.offset) + BigInt(len);
    check(mapEnd <= MAX_LFS_FILESIZE, at, `the mapped file range ends at ${mapEnd}, past the largest file size`);
  }
}

function segment(meta: Metadata, ns: number, id: number): SegmentMetaT {
  return meta.ipcNamespaces[ns]?.segments.find((s) => s.id === id) as SegmentMetaT;
}

/** nattch and the reference count are what the pieces imply; the destruction and lock marks agree with the mode. */
function checkSegments(meta: Metadata, refs: References): void {
  meta.ipcNamespaces.forEach((ns, n) => {
    const pieces = refs.shmPieces[n] as Map<number, number>;
    ns.segments.forEach((s, j) => {
      const at = `metadata.ipcNamespaces[${n}].segments[${j}]`;
      const mapped = pieces.get(s.id) ?? 0;
      // Teardown (shm_exit_ns) destroys what nobody maps and marks the rest, which live on until their last detach.
      check(!ns.dead || (s.pendingDestruction && mapped > 0), at, 'a torn-down namespace keeps only attached segments marked for destruction');
      check(s.nattch === mapped, `${at}.nattch`, `is ${s.nattch}, but ${mapped} mapping pieces attach the segment`);
      const want = mapped + (s.pendingDestruction ? 0 : 1);
      check(s.refs === want, `${at}.refs`, `is ${s.refs}, but its pieces and ${s.pendingDestruction ? 'no ' : ''}self-reference make ${want}`);
      check(s.pendingDestruction === ((s.mode & SHM_DEST) !== 0), `${at}.pendingDestruction`, 'disagrees with SHM_DEST in the mode');
      check(!s.pendingDestruction || s.key === 0, `${at}.key`, 'a segment marked for destruction has no key');
      check((s.lockedBy !== null) === ((s.mode & SHM_LOCKED) !== 0), `${at}.lockedBy`, 'disagrees with SHM_LOCKED in the mode');
      check(!s.forcedPending || (s.nattch === 0 && !s.pendingDestruction), `${at}.forcedPending`, 'a forced removal waits only for an unattached segment');
      check(
        s.creator === null || meta.processes.some((p) => p.pid === s.creator && p.ipcNamespace === n),
        `${at}.creator`,
        `pid ${s.creator} is not in this namespace`,
      );
    });
  });
}

/** Locked memory per uid is the pages of the segments SHM_LOCK charged to it. */
function checkLockedMemory(meta: Metadata): void {
  const implied = new Map<number, bigint>();
  for (const ns of meta.ipcNamespaces) {
    for (const s of ns.segments) {
      if (s.lockedBy !== null) implied.set(s.lockedBy, (implied.get(s.lockedBy) ?? 0n) + (s.segsz + PAGE - 1n) / PAGE);
    }
  }
  meta.lockedMemory.forEach(([uid, pages], i) => {
    const want = implied.get(uid) ?? 0n;
    check(pages === want, `metadata.lockedMemory[${i}]`, `uid ${uid} has ${pages} pages locked, but its locked segments hold ${want}`);
    implied.delete(uid);
  });
  for (const [uid, pages] of implied) check(false, 'metadata.lockedMemory', `uid ${uid}'s locked segments hold ${pages} pages, which are not counted`);
}

/** Anonymous memory is private to one address space and counts its pieces. */
function checkAnonymousRefs(meta: Metadata, refs: References): void {
  meta.anonymous.forEach((a, i) => {
    const at = `metadata.anonymous[${i}]`;
    check(refs.anonOwner[i] !== -2, at, 'is mapped by two processes, but private memory belongs to one');
    check(a.refs === refs.anonPieces[i], `${at}.refs`, `is ${a.refs}, but ${refs.anonPieces[i]} mapping pieces hold it`);
  });
}

/** An open file description's count is its descriptors and mapping pieces. */
function checkOpenFileRefs(meta: Metadata, refs: References): void {
  meta.openFiles.forEach((f, i) => {
    const want = refs.fileHolders[i] ?? 0;
    check(f.refs === want, `metadata.openFiles[${i}].refs`, `is ${f.refs}, but ${want} descriptors and mappings hold it`);
  });
}

/** Links are the directory entries naming an inode; opens are its open descriptions; the tree from the root has no cycle. */
function checkInodeCounts(meta: Metadata): void {
  const opens = meta.tmpfs.map(() => new Map<number, number>());
  for (const f of meta.openFiles) {
    const m = opens[meta.mounts[f.mount]?.tmpfs ?? -1];
    m?.set(f.ino, (m.get(f.ino) ?? 0) + 1);
  }
  // A mount keeps its root directory even once it was removed (mnt_root).
  const mountRoots = meta.tmpfs.map((_, i) => new Set(meta.mounts.filter((m) => m.tmpfs === i).map((m) => m.rootIno)));
  meta.tmpfs.forEach((sb, i) => {
    const at = `metadata.tmpfs[${i}]`;
    const named = new Map<number, number>();
    const byIno = new Map(sb.inodes.map((n) => [n.ino, n]));
    for (const n of sb.inodes) for (const [, ino] of n.entries) named.set(ino, (named.get(ino) ?? 0) + 1);
    sb.inodes.forEach((n, j) => {
      const nat = `${at}.inodes[${j}]`;
      const links = j === 0 ? 1 : (named.get(n.ino) ?? 0);
      check(links <= 1, `${nat}.links`, `inode ${n.ino} is named by ${links} entries; tmpfs has no hard links`);
      check(n.links === links, `${nat}.links`, `is ${n.links}, but ${links} directory entries name inode ${n.ino}`);
      const o = opens[i]?.get(n.ino) ?? 0;
      check(n.opens === o, `${nat}.opens`, `is ${n.opens}, but ${o} open descriptions use inode ${n.ino}`);
      check(
        n.links > 0 || n.opens > 0 || mountRoots[i]?.has(n.ino) === true,
        nat,
        `inode ${n.ino} is neither linked, open nor a mount's root, so it was evicted`,
      );
      check(n.kind !== 'dir' || n.links > 0 || n.entries.length === 0, `${nat}.entries`, 'a removed directory is empty');
    });
    // Every linked inode is reachable from the root: no cycle of directories cut off from it.
    const seen = new Set<number>();
    const stack = [sb.inodes[0]?.ino as number];
    while (stack.length > 0) {
      const ino = stack.pop() as number;
      if (seen.has(ino)) continue;
      seen.add(ino);
      for (const [, child] of byIno.get(ino)?.entries ?? []) stack.push(child);
    }
    sb.inodes.forEach((n, j) => check(n.links === 0 || seen.has(n.ino), `${at}.inodes[${j}]`, `inode ${n.ino} is linked but not reachable from the root`));
  });
}

/** statfs's counters are what the inodes hold, within the size and nr_inodes limits; mounts count the mounts of the image. */
function checkTmpfsUsage(meta: Metadata): void {
  meta.tmpfs.forEach((sb, i) => {
    const at = `metadata.tmpfs[${i}]`;
    let pages = 0;
    for (const n of sb.inodes) for (const [, , count] of n.pages) pages += count;
    check(sb.pagesUsed === pages, `${at}.pagesUsed`, `is ${sb.pagesUsed}, but the files hold ${pages} pages`);
    check(sb.maxPages === 0 || sb.pagesUsed <= sb.maxPages, `${at}.pagesUsed`, `${sb.pagesUsed} pages pass the size limit of ${sb.maxPages}`);
    check(sb.inodesUsed === sb.inodes.length, `${at}.inodesUsed`, `is ${sb.inodesUsed}, but the tmpfs holds ${sb.inodes.length} inodes`);
    check(sb.maxInodes === 0 || sb.inodesUsed <= sb.maxInodes, `${at}.inodesUsed`, `${sb.inodesUsed} inodes pass nr_inodes ${sb.maxInodes}`);
    const mounts = meta.mounts.filter((m) => m.tmpfs === i).length;
    check(sb.mounts === mounts && mounts >= 1, `${at}.mounts`, `is ${sb.mounts}, but ${mounts} mounts of the image use it`);
  });
}

/** The seals of the file an open description names (F_SEAL_SEAL when not given, or for a directory). */
function sealsOf(meta: Metadata, f: Metadata['openFiles'][number]): number {
  const sb = meta.tmpfs[meta.mounts[f.mount]?.tmpfs ?? -1];
  return sb?.inodes.find((n) => n.ino === f.ino)?.seals ?? F_SEAL_SEAL;
}

/**
 * Only a memfd can hold a seal but F_SEAL_SEAL (every other file is made
 * with F_SEAL_SEAL alone, and F_ADD_SEALS refuses it more), and a memfd has
 * no name: a file a directory entry names has F_SEAL_SEAL alone. F_SEAL_EXEC on
 * a file with an execute bit came with the write, shrink and grow seals
 * (nothing in the model changes a file's mode afterwards).
 */
function checkSeals(meta: Metadata): void {
  const implied = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
  meta.tmpfs.forEach((sb, i) => {
    sb.inodes.forEach((n, j) => {
      if (n.seals === undefined) return;
      const at = `metadata.tmpfs[${i}].inodes[${j}].seals`;
      check(n.seals === F_SEAL_SEAL || n.links === 0, at, `inode ${n.ino} has seals ${n.seals}, which only a memfd can, but a directory entry names it`);
      check(
        (n.seals & F_SEAL_EXEC) === 0 || (n.mode & 0o111) === 0 || (n.seals & implied) === implied,
        at,
        'F_SEAL_EXEC on an executable file comes with the write, shrink and grow seals',
      );
    });
  });
}

/** A mount's count is its rows in the mount tables and the open descriptions through it. */
function checkMountRefs(meta: Metadata): void {
  const holders = meta.mounts.map(() => 0);
  for (const ns of meta.mountNamespaces) for (const [, mount] of ns.table) holders[mount] = (holders[mount] ?? 0) + 1;
  for (const f of meta.openFiles) holders[f.mount] = (holders[f.mount] ?? 0) + 1;
  meta.mounts.forEach((m, i) => {
    check(m.refs === holders[i], `metadata.mounts[${i}].refs`, `is ${m.refs}, but ${holders[i]} table rows and open files hold it`);
  });
}

/** A table's root is "/"; each other row hangs off a mount of an earlier row, so the tree has no cycle; no mount is listed twice. */
function checkMountTables(meta: Metadata): void {
  meta.mountNamespaces.forEach((ns, i) => {
    const seen = new Set<number>();
    ns.table.forEach(([mountpoint, mount, parent], r) => {
      const rat = `metadata.mountNamespaces[${i}].table[${r}]`;
      check(r !== 0 || mountpoint === '/', rat, 'the root mount is not at "/"');
      check(!seen.has(mount), rat, `mount ${mount} appears twice in the table`);
      check(parent === null || seen.has(parent), rat, `parent mount ${parent} is not an earlier row of this table`);
      seen.add(mount);
    });
  });
}

/** A namespace counts at least the processes in it (its creator may hold one more). */
function checkNamespaceMembers(meta: Metadata): void {
  const ipc = meta.ipcNamespaces.map(() => 0);
  const mnt = meta.mountNamespaces.map(() => 0);
  for (const p of meta.processes) {
    ipc[p.ipcNamespace] = (ipc[p.ipcNamespace] ?? 0) + 1;
    mnt[p.mountNamespace] = (mnt[p.mountNamespace] ?? 0) + 1;
  }
  meta.ipcNamespaces.forEach((ns, i) => {
    check(ns.members >= (ipc[i] ?? 0), `metadata.ipcNamespaces[${i}].members`, `is ${ns.members}, but ${ipc[i]} processes are in the namespace`);
  });
  meta.mountNamespaces.forEach((ns, i) => {
    check(ns.members >= (mnt[i] ?? 0), `metadata.mountNamespaces[${i}].members`, `is ${ns.members}, but ${mnt[i]} processes are in the namespace`);
  });
}

/** Each cgroup is charged exactly the file and private pages charged to it, within its limit. */
function checkCharges(meta: Metadata): void {
  const charged = meta.cgroups.map(() => 0);
  let root = 0;
  const add = (c: ChargeRefMeta, n: number): void => {
    if (c === 'root') root += n;
    else charged[c] = (charged[c] ?? 0) + n;
  };
  for (const sb of meta.tmpfs) for (const n of sb.inodes) for (const [, , count, c] of n.pages) add(c, count);
  // A private page is charged once, whichever objects share its frame, and the same in each of them.
  const anonFrames = new Map<number, ChargeRefMeta>();
  meta.anonymous.forEach((a, i) => {
    const frameOf = new Map<number, number>();
    for (const [page, frame, count] of a.pages) for (let j = 0; j < count; j += 1) frameOf.set(page + j, frame + j);
    let last = -1;
    (a.charges ?? []).forEach(([page, count, c], r) => {
      const at = `metadata.anonymous[${i}].charges[${r}]`;
      check(count >= 1 && page > last, at, `runs are not in page order, or empty`);
      last = page + count - 1;
      for (let j = 0; j < count; j += 1) {
        const frame = frameOf.get(page + j);
        check(frame !== undefined, at, `charges page ${page + j}, which the object does not hold`);
        const before = anonFrames.get(frame as number);
        check(before === undefined || before === c, at, `charges frame ${frame} to ${c}, but another object charges it to ${before}`);
        if (before === undefined) {
          anonFrames.set(frame as number, c);
          add(c, 1);
        }
      }
    });
  });
  check(
    meta.kernel.rootCgroupCharged === root,
    'metadata.kernel.rootCgroupCharged',
    `is ${meta.kernel.rootCgroupCharged}, but ${root} pages are charged to it`,
  );
  meta.cgroups.forEach((g, i) => {
    const at = `metadata.cgroups[${i}]`;
    check(g.chargedPages === charged[i], `${at}.chargedPages`, `is ${g.chargedPages}, but ${charged[i]} pages are charged to it`);
    check(g.limitPages === null || g.chargedPages <= g.limitPages, `${at}.chargedPages`, `${g.chargedPages} pages pass the limit of ${g.limitPages}`);
  });
}
