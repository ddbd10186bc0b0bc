/**
 * Reports which objects' bytes the thread's direct views can reach: reads
 * one byte at each address in args[0] (its process's mappings; a fault is
 * ignored), then looks for each (name, marker) of args[1] in every buffer
 * the thread holds: those it started with (workerData) and those its TLB
 * was given. Returns the names found.
 */
import { workerData } from 'node:worker_threads';
import type { Task } from '../../../src/kernel/task.js';

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  for (let i = hay.indexOf(first ?? 0); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first ?? 0, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

export default function main(task: Task, args: readonly unknown[]): string[] {
  const [touches, markers] = args as [number[], Array<[string, number[]]>];
  for (const addr of touches) task.read(addr, 1);
  const buffers: ArrayBufferLike[] = [...(workerData as { init: { chunks: SharedArrayBuffer[] } }).init.chunks];
  for (const v of (task as unknown as { tlb: { bytes: Array<Uint8Array | undefined> } }).tlb.bytes) if (v !== undefined) buffers.push(v.buffer);
  const views = buffers.map((b) => new Uint8Array(b));
  return markers.filter(([, m]) => views.some((v) => contains(v, Uint8Array.from(m)))).map(([name]) => name);
}
