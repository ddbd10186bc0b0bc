/**
 * Injected dependencies are read before state changes: a clock (or pid
 * allocator) that throws on its Nth call makes the call that read it throw,
 * and leaves the kernel exactly as it was (VMAs, nattch, times, processes).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_STAT, PAGE_SIZE, PROT_READ } from '../../src/abi/constants.js';
import { O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { useSeed } from '../support/seed.js';

useSeed();

class Boom extends Error {}

/** What the test compares before and after a throw. */
function snapshot(k: Kernel, p: Process, id: number): unknown {
  return {
    procs: k.processes().map((q) => [q.pid, q.exited, q.mm.vmas().map((v) => [v.start, v.end, v.perms])]),
    ds: E.isRight(p.shmctl(id, IPC_STAT)) ? (p.shmctl(id, IPC_STAT) as E.Right<{ ds?: unknown }>).right.ds : undefined,
  };
}

type Step = 'shmget' | 'shmat' | 'shmdt' | 'ipcset' | 'mprotect' | 'munmap' | 'fork' | 'exit' | 'write';

describe('a throwing injected clock or pid allocator', () => {
  it('changes nothing in the call that read it', () => {
    const steps: Step[] = ['shmget', 'shmat', 'shmdt', 'ipcset', 'mprotect', 'munmap', 'fork', 'exit', 'write'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...steps), { minLength: 1, maxLength: 12 }), fc.nat({ max: 40 }), fc.boolean(), (plan, n, pids) => {
        let calls = 0;
        let armed = false;
        const tick = (): void => {
          calls += 1;
          if (armed && calls > n) throw new Boom('injected');
        };
        let pid = 100;
        const k = new Kernel({
          clock: () => {
            if (!pids) tick();
            return 1_700_000_000;
          },
          allocatePid: () => {
            if (pids) tick();
            return pid++;
          },
        });
        const p = k.spawn();
        const id = (p.shmget(IPC_PRIVATE, 4 * PAGE_SIZE, IPC_CREAT | 0o600) as E.Right<number>).right;
        const addrs: number[] = [(p.shmat(id, 0, 0) as E.Right<number>).right];
        const fd = (p.open('/f', O_CREAT | O_RDWR, 0o600) as E.Right<number>).right;
        const kids: Process[] = [];
        armed = true;
        for (const step of plan) {
          const before = snapshot(k, p, id);
          try {
            if (step === 'shmget') p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600);
            else if (step === 'shmat') {
              const a = p.shmat(id, 0, 0);
              if (E.isRight(a)) addrs.push(a.right);
            } else if (step === 'shmdt' && addrs.length > 0) {
              if (E.isRight(p.shmdt(addrs[addrs.length - 1]!))) addrs.pop();
            } else if (step === 'ipcset') p.shmctl(id, 1, { uid: 0, gid: 0, mode: 0o640 });
            else if (step === 'mprotect' && addrs.length > 0) p.mprotect(addrs[0]! + PAGE_SIZE, PAGE_SIZE, PROT_READ);
            else if (step === 'munmap' && addrs.length > 0) p.munmap(addrs[0]! + 2 * PAGE_SIZE, PAGE_SIZE);
            else if (step === 'fork') {
              const c = p.fork();
              if (E.isRight(c)) kids.push(c.right);
            } else if (step === 'exit' && kids.length > 0) {
              if (E.isRight(kids[kids.length - 1]!.exit())) kids.pop();
            } else if (step === 'write') p.writeFd(fd, new Uint8Array(PAGE_SIZE).fill(3));
          } catch (e) {
            if (!(e instanceof Boom)) throw e;
            expect(snapshot(k, p, id)).toEqual(before);
          }
          expect(E.isRight(checkInvariants(k))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
