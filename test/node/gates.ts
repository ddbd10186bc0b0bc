/**
 * Gate words for worker-thread tests: a thread's program (programs/cow_steps.ts)
 * stores a number in a shared word and parks until the test stores the next.
 */
import type { Process } from '../../src/kernel/process.js';
import { ok as right } from '../support/either.js';

/** Waits until the thread of `p` has stored `n` in the gate word. */
export async function gateAt(p: Process, addr: number, n: number): Promise<void> {
  // Generous: the machine running the suite may be loaded.
  const deadline = Date.now() + 45_000;
  while (right(p.atomicLoad32(addr)) !== n) {
    if (Date.now() > deadline) throw new Error(`the thread never reached gate ${n}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets a thread parked at the gate word go on to gate `n`. */
export function open(p: Process, addr: number, n: number): void {
  right(p.atomicStore32(addr, n));
  right(p.futexWake(addr, 1));
}
