/**
 * Touches segment args[0] at byte args[3], detaches it, tells the kernel
 * thread so through word 0 of segment args[1] (stores 1), waits there until
 * the word is 2, then reports whether the detached address faults on the
 * checked path and which (name, marker) pairs of args[2] its direct views
 * still reach.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  for (let i = hay.indexOf(needle[0] ?? 0); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(needle[0] ?? 0, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

export default function main(task: Task, args: readonly unknown[]): { segv: boolean; found: string[] } {
  const [seg, gate, markers, at] = args as [number, number, Array<[string, number[]]>, number];
  const s = task.shmat(seg, 0, 0);
  const g = task.shmat(gate, 0, 0);
  if (E.isLeft(s) || E.isLeft(g)) throw new Error('shmat');
  if (E.isLeft(task.read(s.right + at, 1))) throw new Error('the first touch faulted');
  if (E.isLeft(task.shmdt(s.right))) throw new Error('shmdt');
  task.atomicStore32(g.right, 1);
  task.futexWake(g.right, 1);
  for (let v = task.atomicLoad32(g.right); E.isRight(v) && v.right !== 2; v = task.atomicLoad32(g.right)) task.futexWait(g.right, v.right, 50);
  const read = task.read(s.right + at, 1);
  const views = (task as unknown as { tlb: { bytes: Array<Uint8Array | undefined> } }).tlb.bytes.filter((v): v is Uint8Array => v !== undefined);
  const found = markers.filter(([, m]) => views.some((v) => contains(new Uint8Array(v.buffer), Uint8Array.from(m)))).map(([n]) => n);
  return { segv: E.isLeft(read) && read.left.signal === 'SIGSEGV', found };
}
