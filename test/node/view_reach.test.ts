/**
 * What a worker's direct views reach, over random histories: processes of
 * different uids create, attach, detach and remove segments and map tmpfs
 * files they may open; then each process's worker touches its mappings and
 * scans every buffer it holds for every object's marker. It finds exactly
 * the objects its process maps: none it could not map, none it unmapped,
 * none removed before (whose chunks other objects may reuse).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, PAGE_SIZE, PROT_READ, SHM_RDONLY } from '../../src/abi/constants.js';
import { MAP_SHARED, O_CREAT, O_RDONLY, O_RDWR } from '../../src/abi/fs.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { spawnWorker } from '../../src/node/worker.js';
import { useSeed } from '../support/seed.js';

useSeed();

const program = new URL('./programs/reach.ts', import.meta.url);
const UIDS = [0, 1000, 2000] as const;
const MODES = [0o600, 0o640, 0o644, 0o666] as const;
const PAGES = 3;

type Op =
  | { readonly op: 'seg'; readonly p: number; readonly mode: number; readonly page: number }
  | { readonly op: 'attach'; readonly p: number; readonly s: number }
  | { readonly op: 'detach'; readonly p: number; readonly i: number }
  | { readonly op: 'rm'; readonly s: number }
  | { readonly op: 'file'; readonly mode: number; readonly page: number }
  | { readonly op: 'map'; readonly p: number; readonly f: number };

const proc = fc.integer({ min: 0, max: UIDS.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('seg' as const), p: proc, mode: fc.constantFrom(...MODES), page: fc.nat(PAGES - 1) }),
  fc.record({ op: fc.constant('attach' as const), p: proc, s: fc.nat(20) }),
  fc.record({ op: fc.constant('detach' as const), p: proc, i: fc.nat(20) }),
  fc.record({ op: fc.constant('rm' as const), s: fc.nat(20) }),
  fc.record({ op: fc.constant('file' as const), mode: fc.constantFrom(...MODES), page: fc.nat(PAGES - 1) }),
  fc.record({ op: fc.constant('map' as const), p: proc, f: fc.nat(20) }),
);

/** An object and where its marker is. */
interface Obj {
  readonly name: string;
  readonly marker: number[];
  readonly at: number;
}
interface Segment extends Obj {
  readonly id: number;
  readonly creator: number;
  removed: boolean;
}
interface Mapping {
  readonly obj: Obj;
  readonly addr: number;
  readonly segment: boolean;
}

function marker(name: string): number[] {
  return Array.from(`<<${name}:${'#'.repeat(8)}>>`, (c) => c.charCodeAt(0));
}

async function run(ops: readonly Op[]): Promise<void> {
  const k = new Kernel();
  const ps: Process[] = UIDS.map((uid) => k.spawn({ uid, gid: uid }));
  const root = ps[0] as Process;
  const segs: Segment[] = [];
  const files: Obj[] = [];
  const maps: Mapping[][] = ps.map(() => []);
  const all: Obj[] = [];
  for (const o of ops) {
    if (o.op === 'seg') {
      const p = ps[o.p] as Process;
      const id = p.shmget(IPC_PRIVATE, PAGES * PAGE_SIZE, IPC_CREAT | o.mode);
      if (E.isLeft(id)) continue;
      const addr = p.shmat(id.right, 0, 0);
      if (E.isLeft(addr)) throw new Error('the creator cannot attach');
      const s: Segment = {
        name: `seg${segs.length}`,
        marker: marker(`seg${segs.length}`),
        at: o.page * PAGE_SIZE + 40,
        id: id.right,
        creator: o.p,
        removed: false,
      };
      expect(E.isRight(p.write(addr.right + s.at, Uint8Array.from(s.marker)))).toBe(true);
      segs.push(s);
      all.push(s);
      maps[o.p]?.push({ obj: s, addr: addr.right, segment: true });
    } else if (o.op === 'attach') {
      const s = segs[o.s];
      if (s === undefined || s.removed) continue;
      const p = ps[o.p] as Process;
      let addr = p.shmat(s.id, 0, 0);
      if (E.isLeft(addr)) addr = p.shmat(s.id, 0, SHM_RDONLY);
      if (E.isRight(addr)) maps[o.p]?.push({ obj: s, addr: addr.right, segment: true });
    } else if (o.op === 'detach') {
      const mine = maps[o.p] as Mapping[];
      const m = mine[o.i % Math.max(1, mine.length)];
      if (m === undefined) continue;
      const p = ps[o.p] as Process;
      const r = m.segment ? p.shmdt(m.addr) : p.munmap(m.addr, PAGES * PAGE_SIZE);
      expect(E.isRight(r)).toBe(true);
      mine.splice(mine.indexOf(m), 1);
    } else if (o.op === 'rm') {
      const s = segs[o.s];
      if (s === undefined || s.removed) continue;
      expect(E.isRight((ps[s.creator] as Process).shmctl(s.id, IPC_RMID))).toBe(true);
      s.removed = true;
    } else if (o.op === 'file') {
      const name = `file${files.length}`;
      const fd = root.open(`/${name}`, O_CREAT | O_RDWR, o.mode);
      if (E.isLeft(fd)) throw new Error(`open: ${fd.left.message}`);
      const f: Obj = { name, marker: marker(name), at: o.page * PAGE_SIZE + 100 };
      const bytes = new Uint8Array(PAGES * PAGE_SIZE);
      bytes.set(f.marker, f.at);
      expect(root.writeFd(fd.right, bytes)).toEqual(E.right(bytes.length));
      root.close(fd.right);
      files.push(f);
      all.push(f);
    } else {
      const f = files[o.f];
      if (f === undefined) continue;
      const p = ps[o.p] as Process;
      const fd = p.open(`/${f.name}`, O_RDONLY);
      if (E.isLeft(fd)) continue;
      const addr = p.mmap(fd.right, PAGES * PAGE_SIZE, PROT_READ, MAP_SHARED);
      p.close(fd.right);
      if (E.isRight(addr)) maps[o.p]?.push({ obj: f, addr: addr.right, segment: false });
    }
  }
  const markers = all.map((o): [string, number[]] => [o.name, o.marker]);
  const reports = await Promise.all(
    ps.map(async (p, i) => {
      const touches = (maps[i] as Mapping[]).map((m) => m.addr + m.obj.at);
      const t = spawnWorker(k, p, program, [touches, markers]);
      if (E.isLeft(t)) throw new Error(`spawnWorker: ${t.left.message}`);
      return t.right.done;
    }),
  );
  reports.forEach((r, i) => {
    const mapped = [...new Set((maps[i] as Mapping[]).map((m) => m.obj.name))].sort();
    expect({ process: i, ...r }).toEqual({ process: i, ok: true, result: expect.anything() });
    expect([...(r.result as string[])].sort()).toEqual(mapped);
  });
}

describe('what a worker reaches', () => {
  it('finds exactly the objects its process maps, whatever the history', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => run(ops)),
      { numRuns: 10 },
    );
  }, 120_000);
});
