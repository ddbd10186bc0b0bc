/**
 * vm.max_map_count, as Linux 6.18 counts it (measured on the host: a process
 * holding map_count VMAs gets ENOMEM from shmat once map_count exceeds the
 * limit, so it ends at limit + 1; a split from mprotect, or a munmap strictly
 * inside one VMA, fails once map_count reaches the limit; a munmap that cuts
 * one edge still works, since it removes what it splits off).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_STAT, PAGE_SIZE, PROT_READ } from '../../src/abi/constants.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { useSeed } from '../support/seed.js';
import { ok as right } from '../support/either.js';

useSeed();

function errno(r: E.Either<{ readonly errno: string }, unknown>): string | undefined {
  return E.isLeft(r) ? r.left.errno : undefined;
}

function nattch(p: Process, id: number): number {
  return right(p.shmctl(id, IPC_STAT)).ds?.nattch ?? -1;
}

/** Attaches `id` until shmat fails; returns the addresses and the failure's errno. */
function fill(p: Process, id: number): { readonly addrs: number[]; readonly errno: string } {
  const addrs: number[] = [];
  for (;;) {
    const a = p.shmat(id, 0, 0);
    if (E.isLeft(a)) return { addrs, errno: a.left.errno };
    addrs.push(a.right);
  }
}

describe('vm.max_map_count', () => {
  it('refuses shmat with ENOMEM once the process holds more VMAs than the limit, and splits once it holds the limit', () => {
    const k = new Kernel({ maxMapCount: 12 });
    const p = k.spawn();
    const id = right(p.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, IPC_CREAT | 0o600));
    const { addrs, errno: e } = fill(p, id);
    expect(e).toBe('ENOMEM');
    // The stack and 12 attachments: 13 VMAs, one past the limit (do_mmap tests map_count > limit).
    expect(p.mm.vmaCount).toBe(13);
    expect(addrs.length).toBe(12);
    expect(nattch(p, id)).toBe(12);
    const last = addrs[addrs.length - 1]!;
    expect(errno(p.mprotect(last, PAGE_SIZE, PROT_READ))).toBe('ENOMEM');
    expect(errno(p.munmap(last + PAGE_SIZE, PAGE_SIZE))).toBe('ENOMEM');
    expect(p.mm.vmaCount).toBe(13);
    expect(nattch(p, id)).toBe(12);
    // Cutting an edge splits and removes: allowed at the limit, the count stays.
    expect(E.isRight(p.munmap(last, PAGE_SIZE))).toBe(true);
    expect(p.mm.vmaCount).toBe(13);
    expect(E.isRight(p.shmdt(last))).toBe(true);
    expect(p.mm.vmaCount).toBe(12);
    expect(E.isRight(p.shmat(id, 0, 0))).toBe(true);
    expect(errno(p.shmat(id, 0, 0))).toBe('ENOMEM');
    expect(E.isRight(checkInvariants(k))).toBe(true);
  });

  it('keeps a first mprotect split when the second would pass the limit, as vma_modify does', () => {
    const k = new Kernel({ maxMapCount: 3 });
    const p = k.spawn();
    const id = right(p.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, IPC_CREAT | 0o600));
    const a = right(p.shmat(id, 0, 0));
    // stack + 1 piece = 2 VMAs: the first split makes 3, the second is refused.
    expect(errno(p.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ))).toBe('ENOMEM');
    expect(p.mm.vmaCount).toBe(3);
    expect(nattch(p, id)).toBe(2);
    expect(E.isRight(p.shmdt(a))).toBe(true);
    expect(nattch(p, id)).toBe(0);
    expect(E.isRight(checkInvariants(k))).toBe(true);
  });

  it('is one value for every process of the kernel, read at each call', () => {
    const k = new Kernel({ maxMapCount: 4 });
    const p = k.spawn();
    const id = right(p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600));
    expect(fill(p, id).addrs.length).toBe(4);
    const child = right(p.fork());
    expect(errno(child.shmat(id, 0, 0))).toBe('ENOMEM');
    k.vm.maxMapCount = 6;
    expect(fill(child, id).addrs.length).toBe(2);
    expect(fill(p, id).addrs.length).toBe(2);
    expect(new Kernel().vm.maxMapCount).toBe(65530);
    expect(E.isRight(checkInvariants(k))).toBe(true);
  });

  it('never lets a process pass limit + 1 VMAs, whatever mix of shmat, mprotect, munmap and shmdt runs', () => {
    type Op = { readonly kind: 'shmat' } | { readonly kind: 'mprotect' | 'munmap' | 'shmdt'; readonly pick: number; readonly page: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ kind: 'shmat' as const }),
      fc.record({ kind: fc.constantFrom('mprotect' as const, 'munmap' as const, 'shmdt' as const), pick: fc.nat(), page: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 60 }), (limit, ops) => {
        const k = new Kernel({ maxMapCount: limit });
        const p = k.spawn();
        const id = right(p.shmget(IPC_PRIVATE, 4 * PAGE_SIZE, IPC_CREAT | 0o600));
        const addrs: number[] = [];
        let prot = 0;
        for (const o of ops) {
          const before = p.mm.vmaCount;
          if (o.kind === 'shmat') {
            const a = p.shmat(id, 0, 0);
            if (E.isRight(a)) addrs.push(a.right);
            else expect([a.left.errno, before > limit]).toEqual(['ENOMEM', true]);
          } else if (addrs.length > 0) {
            const a = addrs[o.pick % addrs.length]!;
            if (o.kind === 'shmdt') {
              p.shmdt(a);
              addrs.splice(o.pick % addrs.length, 1);
            } else if (o.kind === 'mprotect') {
              prot ^= 1;
              p.mprotect(a + o.page * PAGE_SIZE, PAGE_SIZE, PROT_READ | (prot === 1 ? 2 : 0));
            } else {
              p.munmap(a + o.page * PAGE_SIZE, PAGE_SIZE);
            }
          }
          expect(p.mm.vmaCount).toBeLessThanOrEqual(Math.max(limit + 1, before));
          expect(nattch(p, id)).toBe(p.mm.vmaCount - 1);
        }
        expect(E.isRight(checkInvariants(k))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
