/**
 * The entry point of a worker thread started by spawnWorker: builds the
 * Task, imports the program, runs its default export, and posts back what
 * it returns. A throw ends the thread with an error, which the kernel
 * thread treats as the process dying.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Task } from '../kernel/task.js';
import type { LeaseMessage, TaskHost } from '../kernel/task.js';
import type { WorkerBoot } from './worker.js';

/** A program's entry point: the default export of its module. */
export type Program = (task: Task, args: readonly unknown[]) => unknown;

const boot = workerData as WorkerBoot;
/** What the port brought that nobody has taken yet: chunks (arrays of pairs) and leases ({ semLease } or { msgLease }). */
let chunks: Array<readonly [number, SharedArrayBuffer]> = [];
let leases: LeaseMessage[] = [];
function drain(): void {
  for (let m = receiveMessageOnPort(boot.chunkPort); m !== undefined; m = receiveMessageOnPort(boot.chunkPort)) {
    const message = m.message as Array<readonly [number, SharedArrayBuffer]> | LeaseMessage;
    if (Array.isArray(message)) chunks.push(...message);
    else leases.push(message);
  }
}
const host: TaskHost = {
  receiveChunks: () => {
    drain();
    const out = chunks;
    chunks = [];
    return out;
  },
  receiveLeases: () => {
    drain();
    const out = leases;
    leases = [];
    return out;
  },
  endThread: () => process.exit(0),
};
const task = new Task(boot.init, host);
const mod = (await import(boot.moduleUrl)) as { default?: unknown };
if (typeof mod.default !== 'function') throw new TypeError(`${boot.moduleUrl} has no default export to run`);
const result = await (mod.default as Program)(task, boot.args);
parentPort?.postMessage({ result });
boot.chunkPort.close();
