/**
 * Two threads of one process race an attachment's life against reads.
 * args: ['detacher', ctl, rounds, addrA, addrB] attaches a fresh segment at
 * addrA and addrB in turn, fills it with a pattern whose high nibble names
 * the address (0x1_ at A, 0x2_ at B), marks it for removal and detaches it,
 * so its frames are freed (and poisoned) and reused by the next round.
 * args: ['reader', ctl, 0, addrA, addrB] reads both addresses until the
 * detacher sets the word at ctl, and counts reads that saw a byte that does
 * not belong at that address: poison, or another address's pattern.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

const SIZE = 4 * 4096;
const POISON = 0xa5;

export default function main(task: Task, args: readonly unknown[]): unknown {
  const [role, ctl, rounds, addrA, addrB] = args as [string, number, number, number, number];
  if (role === 'detacher') {
    for (let k = 0; k < rounds; k++) {
      const id = task.shmget(0, SIZE, 0o1600);
      if (E.isLeft(id)) throw new Error(id.left.message);
      const addr = k % 2 === 0 ? addrA : addrB;
      const at = task.shmat(id.right, addr, 0);
      if (E.isLeft(at)) throw new Error(at.left.message);
      task.write(addr, new Uint8Array(SIZE).fill((k % 2 === 0 ? 0x10 : 0x20) | (k & 0xf)));
      task.shmctl(id.right, 0);
      task.shmdt(addr);
    }
    task.atomicStore32(ctl, 1);
    return { rounds };
  }
  let ok = 0;
  let faults = 0;
  let bad = 0;
  const buf = new Uint8Array(SIZE);
  for (let spins = 0; spins < 2_000_000; spins++) {
    const done = task.atomicLoad32(ctl);
    if (E.isRight(done) && done.right === 1) break;
    for (const [addr, nibble] of [
      [addrA, 0x10],
      [addrB, 0x20],
    ] as const) {
      const r = task.readInto(addr, buf);
      if (E.isLeft(r)) {
        faults++;
        continue;
      }
      ok++;
      for (const b of buf) {
        if (b === POISON || (b !== 0 && (b & 0xf0) !== nibble)) {
          bad++;
          break;
        }
      }
    }
  }
  return { ok, faults, bad };
}
