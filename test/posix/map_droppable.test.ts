/**
 * MAP_DROPPABLE (Linux 6.11): private anonymous memory that is never
 * reserved, never locked and wiped in a fork's child. Each answer was
 * measured on Linux 6.18 (examples/gvisor-mm-map-droppable.scn runs on both
 * backends); these tests pin the model's side, with what a scenario cannot
 * show: VMA flags, the locked page count and checkpoints.
 */
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  MADV_DODUMP,
  MADV_DONTDUMP,
  MADV_DONTNEED,
  MADV_KEEPONFORK,
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  MS_INVALIDATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { smallKernel } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const DROPPABLE = MAP_DROPPABLE | MAP_ANONYMOUS;

const pieceAt = (p: Process, addr: number) => p.mm.vmas().find((v) => v.start <= addr && addr < v.end);

describe('MAP_DROPPABLE', () => {
  it('is private anonymous memory, wiped in a fork child, whatever the overcommit heuristic says', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 2 * P, RW, DROPPABLE));
    ok(p.write(a, new TextEncoder().encode('hi')));
    expect(pieceAt(p, a)?.wipeOnFork).toBe(true);
    const c = ok(p.fork());
    expect(Array.from(ok(c.read(a, 2)))).toEqual([0, 0]);
    expect(new TextDecoder().decode(ok(p.read(a, 2)))).toBe('hi');
    // VM_NORESERVE: far more than the small kernel's RAM is still mapped.
    ok(p.mmap(-1, 2 ** 40, RW, DROPPABLE));
    expect(errno(p.mmap(-1, 2 ** 40, RW, MAP_PRIVATE | MAP_ANONYMOUS))).toBe('ENOMEM');
    for (const q of [c, p]) ok(q.exit());
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });

  it('is EINVAL with MAP_LOCKED, MAP_GROWSDOWN or a file; MAP_LOCKED with RLIMIT_MEMLOCK 0 is EPERM first', () => {
    const k = smallKernel();
    const p = k.spawn({ uid: 1000, gid: 1000 });
    expect(errno(p.mmap(-1, P, RW, DROPPABLE | MAP_LOCKED))).toBe('EINVAL');
    expect(errno(p.mmap(-1, P, RW, DROPPABLE | MAP_GROWSDOWN))).toBe('EINVAL');
    expect(errno(p.mmap(-1, P, RW, DROPPABLE | MAP_SHARED))).toBe('EINVAL');
    const fd = ok(p.memfdCreate('f', 0));
    ok(p.ftruncate(fd, P));
    expect(errno(p.mmap(fd, P, RW, MAP_DROPPABLE))).toBe('EINVAL');
    ok(p.setMemlockLimit(0n));
    expect(errno(p.mmap(-1, P, RW, DROPPABLE | MAP_LOCKED))).toBe('EPERM');
    ok(p.exit());
  });

  it('mlock faults it in but never locks it, though RLIMIT_MEMLOCK counts the request', () => {
    const k = smallKernel();
    const p = k.spawn({ uid: 1000, gid: 1000 });
    const a = ok(p.mmap(-1, 2 * P, RW, DROPPABLE));
    ok(p.mlock(a, 2 * P));
    expect(pieceAt(p, a)?.locked).toBe(false);
    expect(p.mm.lockedPages()).toBe(0);
    expect(Array.from(ok(p.mincore(a, 2 * P)))).toEqual([1, 1]);
    ok(p.msync(a, 2 * P, MS_INVALIDATE));
    ok(p.madvise(a, P, MADV_DONTNEED));
    ok(p.setMemlockLimit(BigInt(P)));
    expect(errno(p.mlock(a, 2 * P))).toBe('ENOMEM');
    ok(p.mlock(a, P));
    ok(p.exit());
  });

  it('refuses MADV_KEEPONFORK and MADV_DODUMP, and a checkpoint keeps it droppable', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, P, RW, DROPPABLE));
    expect(errno(p.madvise(a, P, MADV_KEEPONFORK))).toBe('EINVAL');
    expect(errno(p.madvise(a, P, MADV_DODUMP))).toBe('EINVAL');
    ok(p.madvise(a, P, MADV_DONTDUMP));
    const r = ok(restore(ok(checkpoint(k))));
    const q = r.processes().find((x) => x.pid === p.pid) as Process;
    ok(q.mlock(a, P));
    expect(pieceAt(q, a)?.locked).toBe(false);
    expect(pieceAt(q, a)?.wipeOnFork).toBe(true);
    expect(errno(q.madvise(a, P, MADV_KEEPONFORK))).toBe('EINVAL');
  });
});
