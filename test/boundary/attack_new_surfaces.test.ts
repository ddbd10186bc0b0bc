/**
 * Attacks on the newer surfaces (memfd seals, /dev/shm files, madvise fork
 * flags, futex keys, containers' --ipc and /dev/shm) that found a hole:
 * each test is a sequence of calls or a tampered checkpoint image that was
 * accepted or broke an invariant before its fix.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  F_ADD_SEALS,
  F_GET_SEALS,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_KEEPONFORK,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_REMOVE,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  O_CREAT,
  O_RDWR,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SEEK_DATA,
  SEEK_HOLE,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { ok } from '../support/either.js';
import { smallKernel, withDevShm } from '../posix/helpers.js';

interface InodeJson {
  kind: string;
  links: number;
  seals?: number;
  fallocated?: [number, number][];
}
type MetaJson = { tmpfs: { inodes: InodeJson[] }[] };

describe('tampered images of sealed files', () => {
  it('refuses seals on a file a directory entry names (only a memfd, which has no name, holds more than F_SEAL_SEAL)', () => {
    const { kernel, p } = withDevShm();
    const fd = ok(p.shmOpen('named', O_CREAT | O_RDWR, 0o600));
    ok(p.ftruncate(fd, PAGE_SIZE));
    const opened = openImage(ok(checkpoint(kernel)));
    for (const seals of [F_SEAL_SEAL | F_SEAL_WRITE, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW, F_SEAL_WRITE]) {
      let named = 0;
      const meta = edited<MetaJson>(opened.meta, (m) => {
        for (const sb of m.tmpfs) {
          for (const n of sb.inodes) {
            if (n.kind === 'file' && n.links > 0) {
              n.seals = seals;
              named += 1;
            }
          }
        }
      });
      expect(named).toBe(1);
      const r = restore(reseal(opened, meta));
      expect(E.isLeft(r) && r.left.message).toMatch(/\.seals: inode \d+ has seals \d+, which only a memfd can, but a directory entry names it/);
    }
    // F_SEAL_SEAL written out is what the file holds: accepted.
    const plain = edited<MetaJson>(opened.meta, (m) => {
      for (const sb of m.tmpfs) for (const n of sb.inodes) if (n.kind === 'file' && n.links > 0) n.seals = F_SEAL_SEAL;
    });
    expect(E.isRight(restore(reseal(opened, plain)))).toBe(true);
  });
});

describe('tampered images of fallocated pages', () => {
  it('refuses a fallocated page whose frame holds data (read would return it while SEEK_DATA calls it a hole)', () => {
    const k = smallKernel();
    const p = k.spawn();
    const fd = ok(p.memfdCreate('m', 0));
    ok(p.ftruncate(fd, 2 * PAGE_SIZE));
    ok(p.pwrite(fd, Uint8Array.of(5, 6), 0));
    ok(p.fallocate(fd, 0, 0, 2 * PAGE_SIZE));
    const opened = openImage(ok(checkpoint(k)));
    const meta = edited<MetaJson>(opened.meta, (m) => {
      for (const sb of m.tmpfs) for (const n of sb.inodes) if (n.fallocated !== undefined) n.fallocated = [[0, 2]];
    });
    const r = restore(reseal(opened, meta));
    expect(E.isLeft(r) && r.left.message).toMatch(/\.fallocated: page 0 is fallocated and not uptodate, so it holds zeros, not data/);
    // The image as saved (page 1 alone fallocated, all zeros) restores, and page 0 is still data.
    const q = ok(restore(reseal(opened, opened.meta))).processes()[0] as Process;
    expect(ok(q.lseek(fd, 0, SEEK_DATA))).toBe(0);
  });

  it('any sequence of writes, fallocates, punches, truncations and stores through a mapping restores (property; FC_SEED replays)', () => {
    const P = PAGE_SIZE;
    const op = fc.oneof(
      fc.record({ op: fc.constant('pwrite' as const), at: fc.integer({ min: 0, max: 6 * P }), len: fc.integer({ min: 1, max: 2 * P }) }),
      fc.record({ op: fc.constant('fallocate' as const), at: fc.integer({ min: 0, max: 6 * P }), len: fc.integer({ min: 1, max: 3 * P }), keep: fc.boolean() }),
      fc.record({ op: fc.constant('punch' as const), at: fc.integer({ min: 0, max: 6 * P }), len: fc.integer({ min: 1, max: 3 * P }) }),
      fc.record({ op: fc.constant('ftruncate' as const), len: fc.integer({ min: 0, max: 6 * P }) }),
      fc.record({ op: fc.constant('store' as const), at: fc.integer({ min: 0, max: 6 * P - 1 }) }),
      fc.record({ op: fc.constant('checkpoint' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        let k = smallKernel();
        let p = k.spawn();
        const fd = ok(p.memfdCreate('m', 0));
        const map = ok(p.mmap(fd, 6 * P, PROT_READ | PROT_WRITE, MAP_SHARED));
        for (const o of ops) {
          if (o.op === 'pwrite') p.pwrite(fd, new Uint8Array(o.len).fill(7), o.at);
          else if (o.op === 'fallocate') p.fallocate(fd, o.keep ? FALLOC_FL_KEEP_SIZE : 0, o.at, o.len);
          else if (o.op === 'punch') p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, o.at, o.len);
          else if (o.op === 'ftruncate') p.ftruncate(fd, o.len);
          else if (o.op === 'store') p.write(map + o.at, Uint8Array.of(9));
          else {
            const r = restore(ok(checkpoint(k)));
            if (E.isLeft(r)) throw new Error(r.left.message);
            k = r.right;
            p = k.processes()[0] as Process;
          }
        }
        const last = restore(ok(checkpoint(k)));
        if (E.isLeft(last)) throw new Error(last.left.message);
      }),
      { numRuns: 150 },
    );
  });
});

describe('F_SEAL_WRITE and a worker thread storing through a mapping', () => {
  it('no store lands after munmap and F_SEAL_WRITE return, though one was in flight when the mapping went', async () => {
    const P = PAGE_SIZE;
    const word = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getInt32(0, true);
    for (let round = 0; round < 4; round++) {
      const k = smallKernel();
      const p = k.spawn();
      const fd = ok(p.memfdCreate('sealed', MFD_ALLOW_SEALING));
      ok(p.ftruncate(fd, P));
      // The reader outlives the worker's process, which ends with its thread.
      const reader = ok(p.fork());
      const m = ok(p.mmap(fd, P, PROT_READ | PROT_WRITE, MAP_SHARED));
      const w = ok(spawnWorker(k, p, new URL('./programs/seal_writer.ts', import.meta.url), [m]));
      // Let the worker store for a while (it needs this thread's event loop for its translations).
      for (let i = 0; i < 5000 && word(ok(reader.pread(fd, 4, 0))) < 500; i++) await new Promise((r) => setTimeout(r, 1));
      ok(p.munmap(m, P));
      ok(reader.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
      const sealed = word(ok(reader.pread(fd, 4, 0)));
      const end = await w.done;
      expect(end.ok).toBe(true);
      // Every store the worker made landed before the seal was granted.
      expect(word(ok(reader.pread(fd, 4, 0)))).toBe(sealed);
      expect(sealed).toBe(end.result);
    }
  }, 60_000);

  it('no store lands after mprotect(PROT_READ) returns, though one was in flight then (the TLB flush waits for it)', async () => {
    const P = PAGE_SIZE;
    const word = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getInt32(0, true);
    for (let round = 0; round < 4; round++) {
      const k = smallKernel();
      const p = k.spawn();
      const m = ok(p.mmap(-1, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS));
      // The reader shares the page and outlives the worker's process, which ends with its thread.
      const reader = ok(p.fork());
      const w = ok(spawnWorker(k, p, new URL('./programs/seal_writer.ts', import.meta.url), [m]));
      for (let i = 0; i < 5000 && word(ok(reader.read(m, 4))) < 500; i++) await new Promise((r) => setTimeout(r, 1));
      ok(p.mprotect(m, P, PROT_READ));
      const after = word(ok(reader.read(m, 4)));
      const end = await w.done;
      expect(end.ok).toBe(true);
      // The worker's last store landed before mprotect returned: nothing changed the word since.
      expect(word(ok(reader.read(m, 4)))).toBe(after);
      expect(after).toBe(end.result);
    }
  }, 60_000);
});

describe('a checkpoint in the middle changes nothing (property; FC_SEED replays)', () => {
  const P = PAGE_SIZE;
  const ADVICE = [MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_DONTFORK, MADV_DOFORK, MADV_POPULATE_WRITE, MADV_POPULATE_READ, MADV_DONTNEED, MADV_REMOVE, MADV_FREE];
  const who = fc.nat(5);
  const m = fc.nat(20);
  const prot = fc.constantFrom(PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE);
  const opArb = fc.oneof(
    fc.record({ op: fc.constant('mmap' as const), who, kind: fc.nat(3), pages: fc.integer({ min: 1, max: 4 }), prot }),
    fc.record({ op: fc.constant('madvise' as const), who, m, off: fc.nat(3), pages: fc.integer({ min: 1, max: 3 }), advice: fc.constantFrom(...ADVICE) }),
    fc.record({ op: fc.constant('fork' as const), who }),
    fc.record({ op: fc.constant('write' as const), who, m, off: fc.nat(4 * P - 4), byte: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ op: fc.constant('read' as const), who, m, off: fc.nat(4 * P - 4) }),
    fc.record({ op: fc.constant('futex' as const), who, m, off: fc.nat(P / 4 - 1) }),
    fc.record({ op: fc.constant('mprotect' as const), who, m, prot }),
    fc.record({ op: fc.constant('munmap' as const), who, m, off: fc.nat(3) }),
    fc.record({ op: fc.constant('file' as const), who, mode: fc.nat(2), at: fc.nat(4 * P), len: fc.integer({ min: 1, max: 2 * P }) }),
    fc.record({ op: fc.constant('seal' as const), who, seals: fc.nat(31) }),
    fc.record({ op: fc.constant('exit' as const), who }),
    fc.record({ op: fc.constant('checkpoint' as const) }),
  );
  type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;
  const shown = (r: E.Either<{ errno?: string; signal?: string }, unknown>): string =>
    E.isLeft(r)
      ? `L${r.left.errno ?? r.left.signal}`
      : r.right instanceof Uint8Array
        ? `R${r.right.join(',')}`
        : typeof r.right === 'object'
          ? 'R'
          : `R${String(r.right)}`;

  /** What each call of `ops` returned, and at the end every mapped page's first bytes and residency; a checkpoint and restore at each `checkpoint` op when `restoring`. */
  function run(ops: readonly Op[], restoring: boolean): string[] {
    let k = smallKernel();
    const first = k.spawn();
    const fd = ok(first.memfdCreate('m', MFD_ALLOW_SEALING));
    ok(first.ftruncate(fd, 4 * P));
    const maps = new Map<number, number[]>([[first.pid, []]]);
    const out: string[] = [];
    for (const o of ops) {
      if (o.op === 'checkpoint') {
        if (restoring) k = ok(restore(ok(checkpoint(k))));
        continue;
      }
      const live = k.processes().filter((p) => maps.has(p.pid));
      const p = live[o.who % Math.max(1, live.length)];
      if (p === undefined) break;
      const ms = maps.get(p.pid) as number[];
      const at = 'm' in o ? ms[o.m % Math.max(1, ms.length)] : undefined;
      if ('m' in o && at === undefined) continue;
      const a = at as number;
      switch (o.op) {
        case 'mmap': {
          const flags = [MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED][o.kind] as number;
          const r = p.mmap(o.kind < 2 ? -1 : fd, o.pages * P, o.prot, flags);
          if (E.isRight(r)) ms.push(r.right);
          out.push(`mmap ${shown(r)}`);
          break;
        }
        case 'madvise':
          out.push(`madvise ${shown(p.madvise(a + o.off * P, o.pages * P, o.advice))}`);
          break;
        case 'fork': {
          const r = p.fork();
          if (E.isRight(r)) maps.set(r.right.pid, [...ms]);
          out.push(`fork ${E.isRight(r) ? 'R' : shown(r)}`);
          break;
        }
        case 'write':
          out.push(`write ${shown(p.write(a + o.off, Uint8Array.of(o.byte)))}`);
          break;
        case 'read':
          out.push(`read ${shown(p.read(a + o.off, 4))}`);
          break;
        case 'futex':
          out.push(`futex ${shown(p.futexWait(a + o.off * 4, 0x7abcdef, 0))}`);
          break;
        case 'mprotect':
          out.push(`mprotect ${shown(p.mprotect(a, P, o.prot))}`);
          break;
        case 'munmap':
          out.push(`munmap ${shown(p.munmap(a + o.off * P, P))}`);
          break;
        case 'file': {
          const mode = [FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0][o.mode] as number;
          const rs = [
            p.pwrite(fd, new Uint8Array(o.len).fill(3), o.at),
            p.fallocate(fd, mode, o.at, o.len),
            p.ftruncate(fd, o.at),
            p.lseek(fd, 0, SEEK_DATA),
            p.lseek(fd, 0, SEEK_HOLE),
          ];
          out.push(`file ${rs.map(shown).join('/')}`);
          break;
        }
        case 'seal':
          out.push(`seal ${shown(p.fcntl(fd, F_ADD_SEALS, o.seals))} ${shown(p.fcntl(fd, F_GET_SEALS))}`);
          break;
        case 'exit':
          out.push(`exit ${shown(p.exit())}`);
          break;
      }
    }
    for (const p of k.processes()) {
      for (const a of maps.get(p.pid) ?? []) for (let i = 0; i < 4; i++) out.push(`end ${shown(p.read(a + i * P, 2))} ${shown(p.mincore(a + i * P, P))}`);
    }
    return out;
  }

  it('mappings with fork flags, private and shared memory, a sealed memfd with holes, forks and futex keys', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        expect(run(ops, true)).toEqual(run(ops, false));
      }),
      { numRuns: 80 },
    );
  });
});
