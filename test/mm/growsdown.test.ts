/**
 * MAP_GROWSDOWN: an access in the hole right below such a mapping grows it
 * down to the accessed page, as the x86 fault path's expand_stack does,
 * unless that would come within stack_guard_gap (1 MiB) of an accessible
 * mapping below, pass RLIMIT_STACK (8 MiB) in all, or go below
 * vm.mmap_min_addr. mprotect's PROT_GROWSDOWN starts the range where the
 * mapping starts; PROT_GROWSUP is EINVAL on x86-64. Measured on Linux 6.18
 * (examples/mmap-growsdown.scn runs the same steps on both backends).
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  MADV_DONTFORK,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MLOCK_ONFAULT,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { Kernel } from '../../src/index.js';

const P = PAGE_SIZE;
const MiB = 2 ** 20;
const RW = PROT_READ | PROT_WRITE;
const MAP_GROWSDOWN = 0x100;
const PROT_GROWSDOWN = 0x01000000;
const PROT_GROWSUP = 0x02000000;

const signal = (r: E.Either<{ signal: string }, unknown>): string => (E.isLeft(r) ? r.left.signal : 'ok');

/** A process with a two-page MAP_GROWSDOWN mapping 16 MiB into 32 MiB of free space; returns its start. */
function growing(): { kernel: Kernel; p: Process; g: number; room: number } {
  const kernel = new Kernel({ memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 });
  const p = kernel.spawn();
  const room = ok(p.mmap(-1, 32 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE));
  ok(p.munmap(room, 32 * MiB));
  const g = ok(p.mmap(-1, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, 0, room + 16 * MiB));
  return { kernel, p, g, room };
}

describe('MAP_GROWSDOWN', () => {
  it('grows down to the page an access touches, and keeps what it holds', () => {
    const { p, g } = growing();
    ok(p.write(g, Uint8Array.of(1)));
    expect(errno(p.mincore(g - P, P))).toBe('ENOMEM');
    ok(p.write(g - 3 * P + 5, Uint8Array.of(7)));
    expect([...ok(p.mincore(g - 3 * P, 5 * P))]).toEqual([1, 0, 0, 1, 0]);
    expect(ok(p.read(g - 3 * P + 5, 1))).toEqual(Uint8Array.of(7));
    expect(ok(p.read(g - 2 * MiB, 1))).toEqual(Uint8Array.of(0));
  });

  it('the grown part has the flags of the mapping it widens, as Linux 6.18 showed through fork', () => {
    const { p, g } = growing();
    ok(p.madvise(g, 2 * P, MADV_DONTFORK));
    ok(p.write(g - P, Uint8Array.of(3)));
    expect(p.mm.vmas().find((v) => v.start === g - P)?.dontCopy).toBe(true);
    // VM_DONTCOPY: the child has nothing there, the grown page included.
    const c = ok(p.fork());
    expect(signal(c.read(g - P, 1))).toBe('SIGSEGV');
    const w = growing();
    ok(w.p.madvise(w.g, 2 * P, MADV_WIPEONFORK));
    ok(w.p.write(w.g - P, Uint8Array.of(5)));
    // VM_WIPEONFORK: the child reads zeros in the grown page too; the parent keeps its byte.
    expect(ok(ok(w.p.fork()).read(w.g - P, 1))).toEqual(Uint8Array.of(0));
    expect(ok(w.p.read(w.g - P, 1))).toEqual(Uint8Array.of(5));
  });

  it('a locked mapping grows only within RLIMIT_MEMLOCK, as Linux 6.18 showed', () => {
    const kernel = new Kernel({ memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 });
    const u = kernel.spawn({ uid: 1000, gid: 1000 });
    ok(u.setMemlockLimit(BigInt(3 * P)));
    const g = ok(u.mmap(-1, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN));
    ok(u.mlock(g, 2 * P));
    ok(u.write(g - P, Uint8Array.of(1)));
    // The grown page is locked and counted: the fourth page would pass the limit.
    expect(u.mm.lockedPages()).toBe(3);
    expect(signal(u.write(g - 2 * P, Uint8Array.of(2)))).toBe('SIGSEGV');
    ok(u.munlock(g - P, 3 * P));
    const h = ok(u.mmap(-1, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN));
    ok(u.mlock2(h, 2 * P, MLOCK_ONFAULT));
    ok(u.write(h - P, Uint8Array.of(3)));
    expect(signal(u.write(h - 2 * P, Uint8Array.of(4)))).toBe('SIGSEGV');
    // Root's CAP_IPC_LOCK lifts the limit.
    const { p, g: r } = growing();
    ok(p.setMemlockLimit(BigInt(P)));
    ok(p.mlock(r, 2 * P));
    ok(p.write(r - 4 * P, Uint8Array.of(5)));
  });

  it('stops at the guard gap above an accessible mapping, at RLIMIT_STACK and at mmap_min_addr', () => {
    const { p, g } = growing();
    const below = ok(p.mmap(-1, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0, g - MiB));
    expect(signal(p.write(g - MiB + P, Uint8Array.of(1)))).toBe('SIGSEGV');
    expect(errno(p.mincore(g - MiB + P, P))).toBe('ENOMEM');
    ok(p.mprotect(below, P, PROT_NONE));
    expect(signal(p.write(g - MiB + P, Uint8Array.of(1)))).toBe('ok');
    ok(p.munmap(below, P));
    expect(signal(p.write(g - 8 * MiB + P, Uint8Array.of(1)))).toBe('SIGSEGV');
    expect(signal(p.write(g - 8 * MiB + 2 * P, Uint8Array.of(1)))).toBe('ok');
    // The kernel's mmap_min_addr is 65536 (the LSM's), though vm.mmap_min_addr lets root map at 8192.
    const low = ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, 0, 0x11000));
    expect(signal(p.write(0x10000, Uint8Array.of(1)))).toBe('ok');
    expect(signal(p.write(0xf000, Uint8Array.of(1)))).toBe('SIGSEGV');
    ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, 0, 2 * P));
    expect(signal(p.write(P, Uint8Array.of(1)))).toBe('SIGSEGV');
    expect(low).toBe(0x11000);
  });

  it('PROT_GROWSDOWN reaches the start of the grown mapping; PROT_GROWSUP and plain mappings are EINVAL', () => {
    const { p, g, room } = growing();
    ok(p.write(g - 2 * P, Uint8Array.of(1)));
    expect(errno(p.mprotect(g, P, PROT_READ | PROT_GROWSDOWN))).toBe('ok');
    expect(signal(p.write(g - 2 * P, Uint8Array.of(2)))).toBe('SIGSEGV');
    expect(signal(p.write(g + P, Uint8Array.of(2)))).toBe('ok');
    expect(errno(p.mprotect(g, P, PROT_READ | PROT_GROWSUP))).toBe('EINVAL');
    expect(errno(p.mprotect(g, P, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP))).toBe('EINVAL');
    const plain = ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0, room));
    expect(errno(p.mprotect(plain, P, PROT_READ | PROT_GROWSDOWN))).toBe('EINVAL');
    expect(errno(p.mprotect(g + 2 * P, P, PROT_READ | PROT_GROWSDOWN))).toBe('ENOMEM');
    expect(errno(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_GROWSDOWN, 0))).toBe('EBADF');
  });

  it('a mapping the kernel places, or a hint it takes, keeps stack_guard_gap free below a growing-down mapping (vm_start_gap)', () => {
    const kernel = new Kernel({ memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 });
    const p = kernel.spawn();
    const g = ok(p.mmap(-1, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN));
    const x = ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    expect(x).toBe(g - MiB - P);
    // A hint inside the gap is not taken; MAP_FIXED may go there.
    expect(ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0, g - P))).not.toBe(g - P);
    expect(ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0, g - P))).toBe(g - P);
    // Without the flag, the next mapping sits right below.
    const plain = ok(p.mmap(-1, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0, x - 64 * MiB));
    expect(ok(p.mmap(-1, P, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0, plain - P))).toBe(plain - P);
  });

  it('a forked child and a restored kernel grow the mapping too', () => {
    const { kernel, p, g } = growing();
    const child = ok(p.fork());
    expect(signal(child.write(g - P, Uint8Array.of(3)))).toBe('ok');
    expect(errno(p.mincore(g - P, P))).toBe('ENOMEM');
    const restored = ok(restore(ok(checkpoint(kernel))));
    expect(checkInvariants(restored)).toEqual(E.right(undefined));
    const q = restored.processes().find((x) => x.pid === p.pid) as Process;
    expect(signal(q.write(g - 4 * P, Uint8Array.of(4)))).toBe('ok');
    expect(ok(q.read(g - 4 * P, 1))).toEqual(Uint8Array.of(4));
  });
});
