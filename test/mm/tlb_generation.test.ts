import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, Kernel, PAGE_SIZE } from '../../src/index.js';
import { ok } from '../support/either.js';

function setup() {
  const p = new Kernel().spawn();
  const id = ok(p.shmget(IPC_PRIVATE, 4 * PAGE_SIZE, IPC_CREAT | 0o600));
  return { p, id, generation: () => Atomics.load(p.mm.tlbGeneration, 0) };
}

describe('the TLB generation word', () => {
  it('changes at every unmapping change once translations were handed out', () => {
    const { p, id, generation } = setup();
    const a = ok(p.shmat(id, 0, 0));
    const fill = p.mm.translateForTlb(a, PAGE_SIZE, true);
    expect(E.isRight(fill)).toBe(true);
    const cached = E.isRight(fill) ? fill.right.generation : -1;
    expect(cached).toBe(generation());
    // A new mapping of free space invalidates nothing.
    const b = ok(p.shmat(id, 0, 0));
    expect(generation()).toBe(cached);
    ok(p.shmdt(b));
    const afterDetach = generation();
    expect(afterDetach).not.toBe(cached);
    ok(p.mprotect(a, PAGE_SIZE, 1));
    const afterProtect = generation();
    expect(afterProtect).not.toBe(afterDetach);
    ok(p.munmap(a, PAGE_SIZE));
    expect(generation()).not.toBe(afterProtect);
  });

  it('stays put while no thread ever held a translation', () => {
    const { p, id, generation } = setup();
    const start = generation();
    const a = ok(p.shmat(id, 0, 0));
    ok(p.mprotect(a, PAGE_SIZE, 1));
    ok(p.munmap(a, PAGE_SIZE));
    ok(p.shmdt(a));
    expect(generation()).toBe(start);
  });
});
