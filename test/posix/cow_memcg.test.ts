/**
 * Private memory and memory cgroups, as Linux charges them: an anonymous
 * page, and the copy a write to a private file page or to a page shared
 * after fork makes, is charged to the memory cgroup of the process that
 * faults it in (do_anonymous_page, wp_page_copy), and uncharged when the
 * page is freed (munmap, MADV_DONTNEED, exit), whoever frees it; a page a
 * parent and child still share stays charged to the cgroup that paid for
 * it. A fault past the limit OOM-kills the process, as for tmpfs pages.
 * Checkpoints keep each page's charge; the restore meaning check (and so
 * checkInvariants) compares every cgroup's usage with the pages charged.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { MADV_DONTNEED, MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, MemoryCgroup, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;
const box = (name: string, pages: number): MemoryCgroup => new MemoryCgroup(name, BigInt(pages * P));

describe('private anonymous pages are charged to the faulting process', () => {
  it('a write past the limit OOM-kills the writer; its pages stay charged until it exits', () => {
    const k = smallKernel();
    const cg = box('/box', 4);
    const p = k.spawn({ memoryCharge: cg });
    const a = ok(p.mmap(-1, 8 * P, RW, ANON_PRIVATE));
    for (let i = 0; i < 3; i++) ok(p.write(a + i * P, bytes(i + 1)));
    expect([cg.usagePages, cg.failCount]).toEqual([3, 0]);
    // One store over pages 3..6: page 3 fits, page 4 does not.
    const w = p.write(a + 3 * P, new Uint8Array(4 * P).fill(9));
    expect(E.isLeft(w)).toBe(true);
    expect([p.exited, p.killedBy]).toEqual([true, 'SIGKILL']);
    // One refusal, as one fault failed (the run's look-ahead past page 4 is not counted).
    expect([cg.failCount, cg.usagePages]).toEqual([1, 0]);
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });

  it('MADV_DONTNEED and munmap uncharge; a process of the root cgroup charges the root', () => {
    const k = smallKernel();
    const cg = box('/box', 8);
    const p = k.spawn({ memoryCharge: cg });
    const a = ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE));
    ok(p.write(a, new Uint8Array(3 * P).fill(1)));
    expect(cg.usagePages).toBe(3);
    ok(p.madvise(a + P, P, MADV_DONTNEED));
    expect(cg.usagePages).toBe(2);
    ok(p.munmap(a, 4 * P));
    expect(cg.usagePages).toBe(0);
    const host = k.spawn();
    const rootBefore = k.rootMemoryCgroup.chargedPages;
    const b = ok(host.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(host.write(b, new Uint8Array(2 * P).fill(2)));
    expect([k.rootMemoryCgroup.chargedPages - rootBefore, cg.usagePages]).toEqual([2, 0]);
    ok(host.exit());
    expect(k.rootMemoryCgroup.chargedPages).toBe(rootBefore);
    ok(checkInvariants(k));
  });

  it('after fork a shared page stays charged to the cgroup that paid; a copy is charged to the writer, and refused at its limit', () => {
    const k = smallKernel();
    const a = box('/a', 8);
    const b = box('/b', 1);
    const p = k.spawn({ memoryCharge: a });
    const at = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    ok(p.write(at, new Uint8Array(3 * P).fill(1)));
    const c = ok(p.fork());
    c.setMemoryCharge(b);
    expect([a.usagePages, b.usagePages]).toEqual([3, 0]);
    ok(c.write(at, bytes(7)));
    expect([a.usagePages, b.usagePages]).toEqual([3, 1]);
    ok(checkInvariants(k));
    // The parent leaves: its copy of page 0 goes; pages 1 and 2, which the child still holds, stay charged to /a.
    ok(p.exit());
    expect([a.usagePages, b.usagePages]).toEqual([2, 1]);
    // The child now holds page 1 alone: a write is in place, no charge.
    ok(c.write(at + P, bytes(8)));
    expect([a.usagePages, b.usagePages]).toEqual([2, 1]);
    ok(checkInvariants(k));
    ok(c.exit());
    expect([a.usagePages, b.usagePages]).toEqual([0, 0]);
  });

  it("a copy past the writer's limit OOM-kills the writer, not the process sharing the page", () => {
    const k = smallKernel();
    const b = box('/b', 1);
    const p = k.spawn();
    const at = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(p.write(at, new Uint8Array(2 * P).fill(1)));
    const c = ok(p.fork());
    c.setMemoryCharge(b);
    ok(c.write(at, bytes(7)));
    expect(E.isLeft(c.write(at + P, bytes(8)))).toBe(true);
    expect([c.killedBy, b.failCount, b.usagePages]).toEqual(['SIGKILL', 1, 0]);
    expect([p.exited, ok(p.read(at + P, 1))[0]]).toEqual([false, 1]);
    ok(checkInvariants(k));
  });
});

describe('pages that MAP_POPULATE and mlock fault in', () => {
  it("are charged to the caller's cgroup, and past its limit OOM-kill the caller with one refusal", () => {
    const k = smallKernel();
    const cg = box('/box', 4);
    const p = k.spawn({ memoryCharge: cg });
    ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE | MAP_POPULATE));
    expect([cg.usagePages, k.rootMemoryCgroup.chargedPages]).toEqual([3, 0]);
    const b = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    ok(p.mlock(b, P));
    expect(cg.usagePages).toBe(4);
    ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE | MAP_POPULATE));
    expect([p.exited, p.killedBy, cg.failCount, cg.usagePages]).toEqual([true, 'SIGKILL', 1, 0]);
  });
});

describe('checkpoints keep private pages charged', () => {
  it('a restored kernel has the same charges, a shared page charged once, and uncharges them as the original would', () => {
    const k = smallKernel();
    const a = box('/a', 8);
    const b = box('/b', 8);
    const p = k.spawn({ memoryCharge: a });
    const at = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    ok(p.write(at, new Uint8Array(3 * P).fill(1)));
    const c = ok(p.fork());
    c.setMemoryCharge(b);
    ok(c.write(at + 2 * P, bytes(5)));
    const k2 = ok(restore(ok(checkpoint(k))));
    ok(checkInvariants(k2));
    const p2 = k2.processes().find((x) => x.pid === p.pid) as Process;
    const c2 = k2.processes().find((x) => x.pid === c.pid) as Process;
    const [a2, b2] = [p2.memoryCharge, c2.memoryCharge] as MemoryCgroup[];
    expect([a2?.usagePages, b2?.usagePages]).toEqual([3, 1]);
    // The pages shared after the fork are still charged to /a: the child's exit frees nothing of them.
    ok(c2.exit());
    expect([a2?.usagePages, b2?.usagePages]).toEqual([3, 0]);
    ok(p2.munmap(at, 3 * P));
    expect(a2?.usagePages).toBe(0);
    ok(checkInvariants(k2));
  });

  it('the meaning check compares a cgroup usage with the private pages charged to it', () => {
    const k = smallKernel();
    const cg = box('/box', 8);
    const p = k.spawn({ memoryCharge: cg });
    const at = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(p.write(at, new Uint8Array(2 * P).fill(1)));
    ok(checkInvariants(k));
    cg.restoreCounters(1, 0);
    const bad = checkInvariants(k);
    expect(E.isLeft(bad) && bad.left.message).toMatch(/chargedPages: is 1, but 2 pages are charged to it/);
    expect(E.isLeft(checkpoint(k)) || E.isLeft(restore(ok(checkpoint(k))))).toBe(true);
  });
});
