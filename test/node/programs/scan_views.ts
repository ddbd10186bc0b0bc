/**
 * An attacker's program: looks for `args[0]` (a byte string) in every
 * MemoryFile chunk the thread was handed at start (workerData) and, after
 * touching its own segment args[1] when given, in every chunk that arrived
 * on its chunk port since. Returns whether it found the marker.
 */
import * as E from 'fp-ts/lib/Either.js';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Task } from '../../../src/kernel/task.js';

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export default function main(task: Task, args: readonly unknown[]): boolean {
  const [marker, own] = args as [number[], number | undefined];
  const needle = Uint8Array.from(marker);
  const boot = workerData as { init: { chunks: SharedArrayBuffer[] }; chunkPort: MessagePort };
  const buffers: SharedArrayBuffer[] = [...boot.init.chunks];
  if (own !== undefined) {
    const at = task.shmat(own, 0, 0);
    if (E.isLeft(at)) throw new Error(`shmat: ${at.left.message}`);
    const w = task.write(at.right, new Uint8Array([1]));
    if (E.isLeft(w)) throw new Error(`write: ${w.left.signal}`);
  }
  // The views the thread's TLB built from the chunks it received.
  for (const v of (task as unknown as { tlb: { bytes: Array<Uint8Array | undefined> } }).tlb.bytes)
    if (v !== undefined) buffers.push(v.buffer as SharedArrayBuffer);
  for (let m = receiveMessageOnPort(boot.chunkPort); m !== undefined; m = receiveMessageOnPort(boot.chunkPort)) {
    for (const [, b] of m.message as Array<[number, SharedArrayBuffer]>) buffers.push(b);
  }
  return buffers.some((b) => contains(new Uint8Array(b), needle));
}
