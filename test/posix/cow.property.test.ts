/**
 * A private mapping never changes what another process sees. Random calls
 * from up to four processes (fork, exit, private and shared mappings of
 * anonymous memory, of a tmpfs file and of a memfd, stores through the
 * mappings, pwrite to the files, MADV_DONTNEED, munmap, and checkpoint
 * and restore in between) run against a byte model of what each process
 * must see at each mapped address:
 *
 * - a shared mapping shows its object's bytes (the file's, or the shared
 *   anonymous object's), whoever wrote them;
 * - a private page shows the file's current bytes (zeros for anonymous
 *   memory) until its process writes it, then its own copy, which a fork
 *   gives the child as it is then; MADV_DONTNEED forgets the copy.
 *
 * After every call each live process reads all its mappings, the files
 * are read back, checkInvariants holds, and the frames in use are exactly
 * the files' pages, the live shared anonymous objects' pages and one per
 * distinct private page copy (a copy a parent and child still share is one
 * frame), and the processes' memory cgroup is charged for each of them
 * once. The runs must reach copy-on-write: a store to a private page
 * that a fork relative still shares, and a checkpoint taken while one is
 * shared. The run's fast-check seed is printed at the start (FC_SEED
 * replays it).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MemoryCgroup,
  O_CREAT,
  O_RDWR,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import type { Kernel, Process } from '../../src/index.js';
import { ok } from '../support/either.js';
import { withDevShm } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
/** Every file has FILE_PAGES pages; every mapping MAP_PAGES, at file page 0 or 1. */
const FILE_PAGES = 3;
const MAP_PAGES = 2;
const MAX_PROCS = 4;
const MAX_MAPS = 4;

type Kind = 'anonPrivate' | 'anonShared' | 'filePrivate' | 'fileShared';
type Op =
  | { op: 'fork'; who: number }
  | { op: 'exit'; who: number }
  | { op: 'mmap'; who: number; kind: Kind; file: number; off: number }
  | { op: 'munmap'; who: number; pick: number }
  | { op: 'store'; who: number; pick: number; at: number; len: number; byte: number }
  | { op: 'pwrite'; who: number; file: number; at: number; len: number; byte: number }
  | { op: 'dontneed'; who: number; pick: number; page: number }
  | { op: 'restore' };

const who = fc.nat(MAX_PROCS - 1);
const byte = fc.integer({ min: 1, max: 255 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fork' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), who }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('mmap' as const),
      who,
      kind: fc.constantFrom<Kind>('anonPrivate', 'anonShared', 'filePrivate', 'fileShared'),
      file: fc.nat(1),
      off: fc.nat(FILE_PAGES - MAP_PAGES),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('munmap' as const), who, pick: fc.nat() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('store' as const),
      who,
      pick: fc.nat(),
      // Near a page's end now and then, so that a store spans two pages.
      at: fc.oneof(fc.nat(MAP_PAGES * P - 1), fc.integer({ min: P - 8, max: P - 1 })),
      len: fc.integer({ min: 1, max: 16 }),
      byte,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('pwrite' as const),
      who,
      file: fc.nat(1),
      at: fc.nat(FILE_PAGES * P - 1),
      len: fc.integer({ min: 1, max: 16 }),
      byte,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dontneed' as const), who, pick: fc.nat(), page: fc.nat(MAP_PAGES - 1) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restore' as const }) },
);

/** One private page copy; a parent and child share it (one frame) until either writes. */
interface Copy {
  readonly bytes: Uint8Array;
  holders: number;
}

/** A shared anonymous object: one per mmap, shared by forks. */
interface SharedAnon {
  readonly bytes: Uint8Array;
}

interface Mapping {
  readonly addr: number;
  readonly kind: Kind;
  readonly file: number;
  /** The file page the mapping starts at. */
  readonly off: number;
  readonly shared: SharedAnon | undefined;
  /** A private mapping's copies by page; undefined: the page reads the file (or, anonymous, is not touched yet). */
  readonly copies: Array<Copy | undefined>;
}

interface Proc {
  pid: number;
  maps: Mapping[];
}

interface World {
  kernel: Kernel;
  readonly procs: Proc[];
  /** The two files' bytes: /dev/shm/f and a memfd. */
  readonly files: Uint8Array[];
  /** Descriptors of the files (the same in every process: fork copies the table). */
  readonly fds: number[];
  readonly copies: Set<Copy>;
}

/** What the runs reached. */
interface Seen {
  cowStore: number;
  inPlace: number;
  sharedAtCheckpoint: number;
  fileReadThrough: number;
  dontneedShared: number;
}

const proc = (w: World, pid: number): Process => w.kernel.processes().find((p) => p.pid === pid) as Process;

function release(w: World, c: Copy | undefined): void {
  if (c === undefined) return;
  c.holders -= 1;
  if (c.holders === 0) w.copies.delete(c);
}

/** What `m`'s page `i` shows now. */
function expected(w: World, m: Mapping, i: number): Uint8Array {
  const file = w.files[m.file] as Uint8Array;
  const at = (m.off + i) * P;
  if (m.kind === 'fileShared') return file.subarray(at, at + P);
  if (m.kind === 'anonShared') return (m.shared as SharedAnon).bytes.subarray(i * P, (i + 1) * P);
  const c = m.copies[i];
  if (c !== undefined) return c.bytes;
  return m.kind === 'filePrivate' ? file.subarray(at, at + P) : new Uint8Array(P);
}

/** A process's store of `data` at byte `at` of mapping `m`, as the model sees it. */
function store(w: World, m: Mapping, at: number, data: Uint8Array, seen: Seen): void {
  for (let done = 0; done < data.length; ) {
    const i = Math.floor((at + done) / P);
    const inPage = (at + done) % P;
    const n = Math.min(data.length - done, P - inPage);
    const piece = data.subarray(done, done + n);
    if (m.kind === 'fileShared') (w.files[m.file] as Uint8Array).set(piece, (m.off + i) * P + inPage);
    else if (m.kind === 'anonShared') (m.shared as SharedAnon).bytes.set(piece, i * P + inPage);
    else {
      let c = m.copies[i];
      if (c === undefined || c.holders > 1) {
        if (c !== undefined) seen.cowStore += 1;
        const copy: Copy = { bytes: Uint8Array.from(expected(w, m, i)), holders: 1 };
        release(w, c);
        w.copies.add(copy);
        m.copies[i] = copy;
        c = copy;
      } else seen.inPlace += 1;
      c.bytes.set(piece, inPage);
    }
    done += n;
  }
}

function run(w: World, op: Op, seen: Seen): void {
  if (op.op === 'restore') {
    if ([...w.copies].some((c) => c.holders > 1)) seen.sharedAtCheckpoint += 1;
    w.kernel = ok(restore(ok(checkpoint(w.kernel))));
    return;
  }
  const me = w.procs[op.who % w.procs.length] as Proc;
  const p = proc(w, me.pid);
  const pick = (n: number): Mapping | undefined => me.maps[n % Math.max(me.maps.length, 1)];
  switch (op.op) {
    case 'fork': {
      if (w.procs.length >= MAX_PROCS) return;
      const child = ok(p.fork());
      const maps = me.maps.map((m): Mapping => {
        for (const c of m.copies) if (c !== undefined) c.holders += 1;
        return { ...m, copies: [...m.copies] };
      });
      w.procs.push({ pid: child.pid, maps });
      return;
    }
    case 'exit': {
      if (w.procs.length === 1) return;
      ok(p.exit());
      for (const m of me.maps) for (const c of m.copies) release(w, c);
      w.procs.splice(w.procs.indexOf(me), 1);
      return;
    }
    case 'mmap': {
      if (me.maps.length >= MAX_MAPS) return;
      const anon = op.kind === 'anonPrivate' || op.kind === 'anonShared';
      const flags = (op.kind === 'anonShared' || op.kind === 'fileShared' ? MAP_SHARED : MAP_PRIVATE) | (anon ? MAP_ANONYMOUS : 0);
      const addr = ok(p.mmap(anon ? -1 : (w.fds[op.file] as number), MAP_PAGES * P, RW, flags, anon ? 0 : op.off * P));
      me.maps.push({
        addr,
        kind: op.kind,
        file: op.file,
        off: anon ? 0 : op.off,
        shared: op.kind === 'anonShared' ? { bytes: new Uint8Array(MAP_PAGES * P) } : undefined,
        copies: new Array<Copy | undefined>(MAP_PAGES).fill(undefined),
      });
      return;
    }
    case 'munmap': {
      const m = pick(op.pick);
      if (m === undefined) return;
      ok(p.munmap(m.addr, MAP_PAGES * P));
      for (const c of m.copies) release(w, c);
      me.maps.splice(me.maps.indexOf(m), 1);
      return;
    }
    case 'store': {
      const m = pick(op.pick);
      if (m === undefined) return;
      const len = Math.min(op.len, MAP_PAGES * P - op.at);
      const data = new Uint8Array(len).fill(op.byte);
      ok(p.write(m.addr + op.at, data));
      store(w, m, op.at, data, seen);
      return;
    }
    case 'pwrite': {
      const len = Math.min(op.len, FILE_PAGES * P - op.at);
      const data = new Uint8Array(len).fill(op.byte);
      expect(ok(p.pwrite(w.fds[op.file] as number, data, op.at))).toBe(len);
      (w.files[op.file] as Uint8Array).set(data, op.at);
      return;
    }
    case 'dontneed': {
      const m = pick(op.pick);
      if (m === undefined) return;
      ok(p.madvise(m.addr + op.page * P, P, MADV_DONTNEED));
      const c = m.copies[op.page];
      if (c !== undefined && c.holders > 1) seen.dontneedShared += 1;
      release(w, c);
      m.copies[op.page] = undefined;
      return;
    }
  }
}

/** Every process reads every mapping; the files read back; the frames in use are what the model holds. */
function check(w: World, what: string, seen: Seen): void {
  const sharedAnon = new Set<SharedAnon>();
  for (const me of w.procs) {
    const p = proc(w, me.pid);
    for (const m of me.maps) {
      const got = ok(p.read(m.addr, MAP_PAGES * P));
      for (let i = 0; i < MAP_PAGES; i++) {
        // Reading untouched private anonymous memory maps the zero page: no frame, no charge (expected gives zeros).
        if (m.kind === 'filePrivate' && m.copies[i] === undefined) seen.fileReadThrough += 1;
        const want = expected(w, m, i);
        const page = got.subarray(i * P, (i + 1) * P);
        if (!page.every((b, j) => b === want[j])) {
          const j = page.findIndex((b, k) => b !== want[k]);
          expect.fail(`${what}: pid ${me.pid} ${m.kind} mapping at ${m.addr} page ${i} byte ${j} reads ${page[j]}, the model says ${want[j]}`);
        }
      }
      if (m.shared !== undefined) sharedAnon.add(m.shared);
    }
  }
  const p0 = proc(w, (w.procs[0] as Proc).pid);
  w.files.forEach((f, i) => {
    const got = ok(p0.pread(w.fds[i] as number, f.length, 0));
    // Compared by hand: a deep equality over 12 KiB costs more than the rest of a step.
    if (got.length !== f.length || got.some((b, j) => b !== f[j])) expect.fail(`${what}: file ${i} reads back other bytes than the model's`);
  });
  const frames = w.files.length * FILE_PAGES + sharedAnon.size * MAP_PAGES + w.copies.size;
  expect(w.kernel.memoryFile.allocatedFrames, `${what}: frames in use`).toBe(frames);
  // Every process is in one memory cgroup, which paid for every page: each exactly once.
  expect((p0.memoryCharge as MemoryCgroup).usagePages, `${what}: pages charged`).toBe(frames);
  expect(checkInvariants(w.kernel), what).toEqual(E.right(undefined));
}

function setUp(): World {
  const { kernel, p } = withDevShm();
  p.setMemoryCharge(new MemoryCgroup('/cow'));
  const named = ok(p.open('/dev/shm/f', O_CREAT | O_RDWR, 0o600));
  const memfd = ok(p.memfdCreate('m', MFD_ALLOW_SEALING));
  const files = [named, memfd].map((fd, i) => {
    const bytes = Uint8Array.from({ length: FILE_PAGES * P }, (_, j) => (j + 1 + 97 * i) & 0xff || 1);
    expect(ok(p.pwrite(fd, bytes, 0))).toBe(bytes.length);
    return bytes;
  });
  return { kernel, procs: [{ pid: p.pid, maps: [] }], files, fds: [named, memfd], copies: new Set() };
}

describe('copy-on-write', () => {
  it('a private mapping never changes what another process sees, across forks, exits and checkpoints', () => {
    const seen: Seen = { cowStore: 0, inPlace: 0, sharedAtCheckpoint: 0, fileReadThrough: 0, dontneedShared: 0 };
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 40, size: 'max' }), (ops) => {
        const w = setUp();
        check(w, 'set-up', seen);
        ops.forEach((op, i) => {
          run(w, op, seen);
          check(w, `step ${i} ${JSON.stringify(op)}`, seen);
        });
      }),
      // Enough runs that each counter below is reached whatever the seed: since reads map the zero page
      // instead of a page of their own, a DONTNEED of a page shared with a fork relative came about 3 times
      // in 60 runs, and none at all for about one seed in seven (FC_SEED=265849301).
      { numRuns: 200 },
    );
    // A generator that stopped reaching copy-on-write fails here.
    for (const [k, v] of Object.entries(seen)) expect(v, `the runs never reached ${k}`).toBeGreaterThan(0);
  });
});
