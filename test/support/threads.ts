/**
 * Helpers for tests that run processes in real worker threads: how long a
 * thread may take to end, what it returned, and polling on the event loop
 * (so that the kernel thread keeps serving the threads) until a condition
 * holds. Every wait is bounded.
 */
import type { WorkerExit, WorkerThread } from '../../src/node/worker.js';

/** How a thread ended, at most `ms` from now (a thread still running then is terminated and the promise rejects). */
export async function exitWithin(t: WorkerThread, ms = 30_000): Promise<WorkerExit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<WorkerExit>((_, reject) => {
    timer = setTimeout(() => {
      void t.terminate();
      reject(new Error(`a worker did not end within ${ms} ms`));
    }, ms);
  });
  return Promise.race([t.done, late]).finally(() => clearTimeout(timer));
}

/** What a thread's program returned; a thread that died rejects with its error. */
export async function resultWithin<T>(t: WorkerThread, ms?: number): Promise<T> {
  const exit = await exitWithin(t, ms);
  if (!exit.ok) throw new Error(`the worker died: ${exit.error}`);
  return exit.result as T;
}

/** Polls on the event loop until `cond` holds, at most `ms`. */
export async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 2));
  }
}
