/**
 * Mutated images: images of random scenario kernels whose metadata is
 * edited (numbers ±1, to 0, to 2^31-1, to -1; booleans flipped; protection
 * bits toggled; array elements dropped or duplicated; references
 * re-pointed; a message's type or text replaced by a near miss of its form)
 * and sealed again with valid checksums. Each kernel also holds semaphore
 * sets (values, and SEM_UNDO lists with adjustments), message queues with
 * messages of several types and, in some, calls asleep on them (their
 * sleeping-call records); half the mutations hit these records. Each
 * mutant is either refused with a Left, or restores into a kernel whose
 * invariants hold, whose sets, queues and undo lists mean what Linux's can
 * (read from the objects, apart from the checkpoint code, whose checks
 * checkInvariants shares), and which then takes a follow-up of calls (read,
 * write, attach, detach, munmap of every mapping; semop with and without
 * SEM_UNDO, SETVAL, SETALL, GETALL, msgsnd and msgrcv of every kind,
 * IPC_STAT; IPC_RMID of every segment, set and queue; exit of every
 * process) without a throw, ending with no frame allocated.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_EXCEPT, MSG_NOERROR } from '../../src/abi/msg.js';
import { GETALL, GETNCNT, SEMVMX, SEM_UNDO, SETALL, SETVAL } from '../../src/abi/sem.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { runScenario, scenarioTextArb } from '../../src/testing/index.js';
import { seed, useSeed } from '../support/seed.js';
import { edited, openImage, reseal } from './reseal.js';
import type { Opened } from './reseal.js';

useSeed();

// biome-ignore lint/suspicious/noExplicitAny: mutations reach into decoded JSON by path
type Json = any;
type Path = readonly (string | number)[];

/**
 * Semaphore sets and message queues in every IPC namespace the kernel's
 * processes are in: values set by SETALL and moved by semops with and
 * without SEM_UNDO (so the processes' undo lists hold adjustments), and
 * messages of types 1..3 of several sizes left queued; sometimes a msgrcv
 * and a complex semop left asleep, so images carry sleeping calls too. `r`
 * varies the counts and values.
 */
function addSysv(kernel: Kernel, r: number): void {
  const live = kernel.processes();
  const procs: Process[] = live.length > 0 ? live : [kernel.spawn()];
  const byNs = new Map<unknown, Process[]>();
  for (const p of procs) byNs.set(p.ipcNamespace, [...(byNs.get(p.ipcNamespace) ?? []), p]);
  let n = r;
  const next = (m: number) => {
    n = (n * 1103515245 + 12345) >>> 0;
    return (n >>> 8) % m;
  };
  for (const members of byNs.values()) {
    const owner = members[0] as Process;
    for (let s = 0; s < 1 + next(2); s += 1) {
      const nsems = 1 + next(3);
      const id = owner.semget(s === 0 ? IPC_PRIVATE : 0x5e00 + s, nsems, IPC_CREAT | 0o666);
      if (E.isLeft(id)) continue;
      owner.semctl(
        id.right,
        0,
        SETALL,
        Array.from({ length: nsems }, () => 2 + next(5)),
      );
      for (const p of members) {
        for (let i = 0; i < 1 + next(3); i += 1) {
          p.semop(id.right, [{ semNum: next(nsems), semOp: next(3) - 1, semFlg: IPC_NOWAIT | (next(3) > 0 ? SEM_UNDO : 0) }]);
        }
      }
    }
    for (let q = 0; q < 1 + next(2); q += 1) {
      const id = owner.msgget(q === 0 ? IPC_PRIVATE : 0x3e00 + q, IPC_CREAT | 0o666);
      if (E.isLeft(id)) continue;
      for (let i = 0; i < next(5); i += 1) {
        const text = new Uint8Array(next(12)).fill(0x41 + i);
        (members[i % members.length] as Process).msgsnd(id.right, 1 + next(3), text, IPC_NOWAIT);
      }
      // A receiver asleep for a type nobody sends.
      if (next(2) === 0) (members[next(members.length)] as Process).msgrcv(id.right, 64, 9, 0);
    }
    // A semop asleep (waiting for a unit nobody gives, with SEM_UNDO), when a set was made.
    const semid = owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o666);
    if (E.isRight(semid) && next(2) === 0) {
      (members[next(members.length)] as Process).semop(semid.right, [
        { semNum: 1, semOp: -1, semFlg: SEM_UNDO },
        { semNum: 0, semOp: 0, semFlg: 0 },
      ]);
    }
  }
}

/** Images of a dozen random scenario kernels with semaphores and queues added, from the run's seed. */
function images(): Opened[] {
  const texts = fc.sample(scenarioTextArb(fc, { maxProcesses: 4, maxCommands: 25 }), { numRuns: 12, seed });
  return texts.map((text, i) => {
    const run = runScenario(text);
    if (E.isLeft(run)) throw new Error(`generated scenario does not parse:\n${run.left.join('\n')}`);
    addSysv(run.right.kernel, (seed ^ (i * 0x9e3779b9)) >>> 0);
    const img = checkpoint(run.right.kernel);
    if (E.isLeft(img)) throw new Error(img.left.message);
    return openImage(img.right);
  });
}

/** Every path to a node of a JSON value. */
function paths(v: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

const KINDS = ['inc', 'dec', 'zero', 'max', 'neg', 'flip', 'toggle', 'drop', 'dup', 'repoint', 'str'] as const;

/** What 'str' puts in a string of a semaphore or queue record (a message's mtype or hex text): near misses of both forms. */
const STRINGS = ['', '0', '-0', '00', '01', '1e3', ' 1', '0x10', 'zz', 'ABCD', 'abc', '9223372036854775807', '9223372036854775808', '-9223372036854775808'];
type Kind = (typeof KINDS)[number];

/** The mutated value of a leaf, or undefined when `kind` does not apply to it. */
function mutateLeaf(v: unknown, kind: Kind, r: number, siblings: readonly unknown[]): unknown {
  if (typeof v === 'number') {
    switch (kind) {
      case 'inc':
        return v + 1;
      case 'dec':
        return v - 1;
      case 'zero':
        return 0;
      case 'max':
        return 2 ** 31 - 1;
      case 'neg':
        return -1;
      case 'toggle':
        return v ^ (1 << (r % 3));
      case 'repoint': {
        const other = siblings.filter((s) => typeof s === 'number' && s !== v);
        return other.length > 0 ? other[r % other.length] : r % 4;
      }
      default:
        return undefined;
    }
  }
  if (typeof v === 'boolean') return kind === 'flip' || kind === 'toggle' ? !v : undefined;
  if (typeof v === 'string' && kind === 'str') return STRINGS[r % STRINGS.length];
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) {
    const n = BigInt(v);
    if (kind === 'inc') return (n + 1n).toString();
    if (kind === 'dec') return (n - 1n).toString();
    if (kind === 'zero') return '0';
    if (kind === 'max') return String(2 ** 31 - 1);
  }
  return undefined;
}

/** The values at the same key in the sibling elements of the node's nearest array, for re-pointing. */
function siblingValues(meta: Json, path: Path): unknown[] {
  for (let i = path.length - 1; i >= 0; i -= 1) {
    if (typeof path[i] !== 'number') continue;
    const container = path.slice(0, i).reduce((n: Json, k) => n?.[k], meta);
    if (!Array.isArray(container)) continue;
    const rest = path.slice(i + 1);
    return container.map((el) => rest.reduce((n: Json, k) => n?.[k], el));
  }
  return [];
}

/** `meta` with the node at `path` mutated by `kind`, or undefined when nothing applies. */
function mutate(meta: Json, path: Path, kind: Kind, r: number): unknown {
  const value = path.reduce((n: Json, k) => n?.[k], meta);
  if (Array.isArray(value)) {
    if (value.length === 0 || (kind !== 'drop' && kind !== 'dup')) return undefined;
    return edited<Json>(meta, (m) => {
      const arr = path.reduce((n: Json, k) => n[k], m) as unknown[];
      const i = r % arr.length;
      if (kind === 'drop') arr.splice(i, 1);
      else arr.splice(i, 0, structuredClone(arr[i]));
    });
  }
  const next = mutateLeaf(value, kind, r, kind === 'repoint' ? siblingValues(meta, path) : []);
  if (next === undefined) return undefined;
  return edited<Json>(meta, (m) => {
    const parent = path.slice(0, -1).reduce((n: Json, k) => n[k], m);
    parent[path[path.length - 1] as string | number] = next;
  });
}

/**
 * What a restored kernel's sets, queues and undo lists must mean, read from
 * the objects themselves rather than through the checkpoint code (whose
 * checks checkInvariants shares): every value within 0..SEMVMX, one per
 * semaphore; each queue's qnum and cbytes counting its messages, whose
 * types are at least 1 (the namespace totals are their sums); each undo entry
 * naming a live set of its process's namespace, which lists it, with one
 * adjustment per semaphore.
 */
function checkSysvMeaning(kernel: Kernel): void {
  const problems: string[] = [];
  const must = (ok: boolean, what: () => string) => {
    if (!ok) problems.push(what());
  };
  for (const ns of kernel.ipcNamespaces()) {
    for (const set of ns.sem.setsForCheckpoint()) {
      must(set.semval.length === set.nsems, () => `set ${set.perm.id} has ${set.semval.length} values for ${set.nsems} semaphores`);
      for (const v of set.semval) must(v >= 0 && v <= SEMVMX, () => `set ${set.perm.id} holds the value ${v}`);
    }
    for (const q of ns.msg.queuesForCheckpoint()) {
      const msgs = q.messages.toArray();
      for (const m of msgs) must(BigInt(m.mtype) >= 1n, () => `queue ${q.perm.id} holds a message of type ${m.mtype}`);
      const size = msgs.reduce((n, m) => n + m.text.length, 0);
      must(
        q.qnum === msgs.length && q.cbytes === size,
        () => `queue ${q.perm.id}: qnum ${q.qnum}, cbytes ${q.cbytes} for ${msgs.length} messages of ${size} bytes`,
      );
    }
  }
  for (const p of kernel.processes()) {
    const ulp = p.sysvsem.undoList;
    if (ulp === undefined) continue;
    must(ulp.refs >= 1, () => `process ${p.pid}'s undo list has ${ulp.refs} references`);
    const live = p.ipcNamespace.sem.setsForCheckpoint();
    for (const un of ulp.entries) {
      must(
        un.ulp === ulp && live.includes(un.set) && un.set.undos.includes(un),
        () => `process ${p.pid}'s undo entry for ${un.semid} is not linked both ways to a live set`,
      );
      must(un.semid === un.set.perm.id && un.semadj.length === un.set.nsems, () => `process ${p.pid}'s undo entry for ${un.semid} does not fit its set`);
    }
  }
  expect(problems).toEqual([]);
}

/** Pages held by the files of every mounted tmpfs, each superblock once. */
function filePages(kernel: Kernel): number {
  const seen = new Set<unknown>();
  let pages = 0;
  for (const mnt of kernel.mountNamespaces()) {
    for (const e of mnt.mounts()) {
      if (seen.has(e.mount.sb)) continue;
      seen.add(e.mount.sb);
      pages += e.mount.sb.usedPages;
    }
  }
  return pages;
}

/** Calls every process makes on a restored kernel, then removal of everything; throws only where the kernel does. */
function exercise(kernel: Kernel, meta: Json): void {
  const ids = new Set<number>();
  const semids = new Set<number>();
  const msqids = new Set<number>();
  for (const ns of meta.ipcNamespaces) {
    for (const s of ns.segments) ids.add(s.id);
    for (const s of ns.sem?.sets ?? []) if (typeof s?.id === 'number') semids.add(s.id);
    for (const q of ns.msg?.queues ?? []) if (typeof q?.id === 'number') msqids.add(q.id);
  }
  const procs = kernel.processes();
  for (const p of procs) {
    const vmas = meta.processes.find((m: Json) => m.pid === p.pid)?.vmas ?? [];
    for (const v of vmas) {
      p.read(v.start, 1);
      p.write(v.start, new Uint8Array([0x5a]));
      p.read(v.end - 1, 1);
    }
    for (const id of ids) {
      const at = p.shmat(id, 0, 0);
      if (E.isRight(at)) {
        p.write(at.right, new Uint8Array([1, 2, 3]));
        p.read(at.right, 3);
        p.shmdt(at.right);
      }
    }
    for (const v of vmas) p.munmap(v.start, v.end - v.start);
    for (const id of semids) {
      p.semop(id, [{ semNum: 0, semOp: 1, semFlg: IPC_NOWAIT | SEM_UNDO }]);
      p.semop(id, [{ semNum: 0, semOp: -1, semFlg: IPC_NOWAIT }]);
      p.semop(id, [{ semNum: 1, semOp: -1, semFlg: IPC_NOWAIT | SEM_UNDO }]);
      p.semop(id, [{ semNum: 0, semOp: 0, semFlg: IPC_NOWAIT }]);
      p.semctl(id, 0, GETALL);
      p.semctl(id, 0, GETNCNT);
    }
    for (const id of msqids) {
      p.msgsnd(id, 2, new Uint8Array([7, 8, 9]), IPC_NOWAIT);
      p.msgrcv(id, 64, -2, IPC_NOWAIT);
      p.msgrcv(id, 2, 1, IPC_NOWAIT | MSG_EXCEPT | MSG_NOERROR);
      p.msgrcv(id, 64, 0, IPC_NOWAIT);
      p.msgctl(id, IPC_STAT);
    }
  }
  // Half the processes exit while their sets live (their undo lists are applied), the rest after the removals.
  const early = procs.filter((_, i) => i % 2 === 0);
  for (const p of early) p.exit();
  for (const ns of kernel.ipcNamespaces()) {
    const root = kernel.spawn({ ipcNamespace: ns });
    for (const id of semids) {
      root.semctl(id, 0, SETVAL, 3);
      root.semctl(id, 0, SETALL, [1, 2, 3]);
    }
    for (const id of ids) root.shmctl(id, IPC_RMID);
    for (const id of semids) root.semctl(id, 0, IPC_RMID);
    for (const id of msqids) root.msgctl(id, IPC_RMID);
    root.exit();
  }
  for (const p of procs) if (!early.includes(p)) p.exit();
}

const tally = { generated: 0, refused: 0, restored: 0, inapplicable: 0, sysvGenerated: 0, sysvRefused: 0, sysvRestored: 0 };

/** Whether a path leads into a semaphore, queue, undo list or sleeping-call record (or a process's undo list reference). */
const isSysv = (p: Path): boolean =>
  (p[0] === 'ipcNamespaces' && (p[2] === 'sem' || p[2] === 'msg')) ||
  p[0] === 'semUndoLists' ||
  p[0] === 'waitingCalls' ||
  (p[0] === 'processes' && p[2] === 'semUndo');

describe('restore of mutated images', () => {
  const IMAGES = images();
  const PATHS = IMAGES.map((img) => paths(img.meta).filter((p) => p.length > 0));
  const SYSV = PATHS.map((ps) => ps.filter(isSysv));

  it('refuses each mutant, or restores a kernel that keeps its invariants and runs to no frames but the pages of its files', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: IMAGES.length - 1 }),
        fc.nat(),
        fc.constantFrom(...KINDS),
        fc.nat({ max: 1000 }),
        fc.boolean(),
        (which, pathPick, kind, r, sysv) => {
          const img = IMAGES[which] as Opened;
          const all = sysv && (SYSV[which] as Path[]).length > 0 ? (SYSV[which] as Path[]) : (PATHS[which] as Path[]);
          const path = all[pathPick % all.length] as Path;
          const meta = kind === 'str' && !isSysv(path) ? undefined : mutate(img.meta, path, kind, r);
          if (meta === undefined) {
            tally.inapplicable += 1;
            return;
          }
          tally.generated += 1;
          if (isSysv(path)) tally.sysvGenerated += 1;
          const restored = restore(reseal(img, meta));
          if (E.isLeft(restored)) {
            tally.refused += 1;
            if (isSysv(path)) tally.sysvRefused += 1;
            expect(restored.left.message.startsWith(`${restored.left.where}: `)).toBe(true);
            return;
          }
          tally.restored += 1;
          if (isSysv(path)) tally.sysvRestored += 1;
          const kernel = restored.right;
          expect(checkInvariants(kernel)).toEqual(E.right(undefined));
          checkSysvMeaning(kernel);
          exercise(kernel, meta);
          expect(checkInvariants(kernel)).toEqual(E.right(undefined));
          // What stays is the pages of files still on a tmpfs (posix scenarios leave /dev/shm objects), nothing else.
          expect(kernel.memoryFile.allocatedFrames).toBe(filePages(kernel));
        },
      ),
      { numRuns: 3000 },
    );
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.restored).toBeGreaterThan(0);
    expect(tally.sysvRefused).toBeGreaterThan(0);
    expect(tally.sysvRestored).toBeGreaterThan(0);
    // 5 to 30 s alone here; a shared 2-core machine running other suites can take a minute or more.
  }, 180_000);

  it('images hold semaphore sets with undo lists, queues with messages, and sleeping calls', () => {
    const sets = IMAGES.flatMap((img) => (img.meta as Json).ipcNamespaces.flatMap((ns: Json) => ns.sem?.sets ?? []));
    const queues = IMAGES.flatMap((img) => (img.meta as Json).ipcNamespaces.flatMap((ns: Json) => ns.msg?.queues ?? []));
    const undo = IMAGES.flatMap((img) => (img.meta as Json).semUndoLists ?? []);
    expect(sets.length).toBeGreaterThanOrEqual(IMAGES.length);
    expect(queues.some((q: Json) => q.messages.length > 1)).toBe(true);
    expect(undo.some((l: Json) => l.entries.some((e: Json) => e.semadj.some((v: number) => v !== 0)))).toBe(true);
    const calls = IMAGES.flatMap((img) => (img.meta as Json).waitingCalls ?? []).map((w: Json) => w.call);
    expect(calls).toContain('msgrcv');
    expect(calls).toContain('semop');
  });

  afterAll(() => {
    console.log(
      `mutants: ${tally.generated} generated, ${tally.refused} refused, ${tally.restored} restored and exercised (${tally.inapplicable} draws had no mutation); ` +
        `of them in semaphore, queue and undo records: ${tally.sysvGenerated} generated, ${tally.sysvRefused} refused, ${tally.sysvRestored} restored`,
    );
  });
});
