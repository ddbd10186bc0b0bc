/**
 * Runs steps on its process's memory and returns what each returned, for
 * the copy-on-write tests. args: [gate, steps, markers]: `gate` is a
 * System V segment id whose word 0 paces the thread against the kernel
 * thread; a step is one of
 * - ['read', addr, len]: the bytes read (or the signal);
 * - ['write', addr, byte, len]: stores `len` copies of `byte` (true, or the signal);
 * - ['load', addr]: an atomic load of the word at addr;
 * - ['gate', n, at]: stores n in the gate's word at byte `at` and waits
 *   until the kernel thread stores n + 1 there;
 * - ['scan']: the names of the (name, marker) pairs of `markers` found in
 *   any buffer the thread can read outside Task: those it started with
 *   (workerData), its TLB's chunk views and the views of its TLB entries.
 */
import * as E from 'fp-ts/lib/Either.js';
import { workerData } from 'node:worker_threads';
import type { Task } from '../../../src/kernel/task.js';

type Step = [string, ...number[]];

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  for (let i = hay.indexOf(needle[0] ?? 0); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(needle[0] ?? 0, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

/** Every buffer a program that digs past Task finds in this thread. */
function rawBuffers(task: Task): ArrayBufferLike[] {
  const tlb = (task as unknown as { tlb: { bytes: Array<Uint8Array | undefined>; tlb: Array<{ bytes: Uint8Array } | undefined> } }).tlb;
  const buffers: ArrayBufferLike[] = [...(workerData as { init: { chunks: SharedArrayBuffer[] } }).init.chunks];
  for (const v of tlb.bytes) if (v !== undefined) buffers.push(v.buffer);
  for (const e of tlb.tlb) if (e !== undefined) buffers.push(e.bytes.buffer);
  return buffers;
}

export default function main(task: Task, args: readonly unknown[]): unknown[] {
  const [gate, steps, markers] = args as [number, Step[], Array<[string, number[]]>];
  const g = task.shmat(gate, 0, 0);
  if (E.isLeft(g)) throw new Error(`shmat: ${g.left.message}`);
  const out: unknown[] = [];
  for (const [op, x = 0, y = 0, z = 0] of steps) {
    switch (op) {
      case 'read': {
        const r = task.read(x, y);
        out.push(E.isRight(r) ? [...r.right] : r.left.signal);
        break;
      }
      case 'write': {
        const r = task.write(x, new Uint8Array(z).fill(y));
        out.push(E.isRight(r) ? true : r.left.signal);
        break;
      }
      case 'load': {
        const r = task.atomicLoad32(x);
        out.push(E.isRight(r) ? r.right : r.left.signal);
        break;
      }
      case 'gate': {
        const word = g.right + y;
        task.atomicStore32(word, x);
        task.futexWake(word, 1);
        for (let v = task.atomicLoad32(word); E.isRight(v) && v.right !== x + 1; v = task.atomicLoad32(word)) task.futexWait(word, v.right, 50);
        out.push(x);
        break;
      }
      case 'scan': {
        const views = rawBuffers(task).map((b) => new Uint8Array(b));
        out.push(markers.filter(([, m]) => views.some((v) => contains(v, Uint8Array.from(m)))).map(([n]) => n));
        break;
      }
      default:
        throw new Error(`unknown step ${op}`);
    }
  }
  return out;
}
