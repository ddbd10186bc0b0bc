/**
 * The worker rows of `npm run bench`, run in a child process because they
 * need the kernel thread's event loop (bench/emulated.ts is synchronous):
 *
 *   tsx bench/workers.ts TEST OPS SAMPLES
 *
 * Each sample starts two processes in two worker threads on one shared
 * segment (worker_program.ts), one warm-up sample first, and prints
 * {"rates":[...],"median":m}: round trips per second for the ping-pong
 * tests, increments per second across both workers for atomic-add.
 * sem-pingpong also gets a set of two semaphores (semaphore 0 at 1, the
 * token, semaphore 1 at 0); msg-pingpong two message queues.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, Kernel, SETVAL } from '../src/node/index.js';
import { spawnWorker } from '../src/node/worker.js';
import { WORKER_TESTS } from './emulated.js';
import type { WorkerTestName } from './emulated.js';
import { median } from './stats.js';

function ok<T>(r: E.Either<{ message: string }, T>): T {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

async function sample(test: WorkerTestName, ops: number): Promise<number> {
  const k = new Kernel();
  const owner = k.spawn();
  const id = ok(owner.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
  let semid = -1;
  const queues = [-1, -1];
  if (test === 'sem-pingpong') {
    semid = ok(owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600));
    ok(owner.semctl(semid, 0, SETVAL, 1));
  } else if (test === 'msg-pingpong') {
    for (const i of [0, 1]) queues[i] = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
  }
  const url = new URL('./worker_program.ts', import.meta.url);
  const threads = [0, 1].map((side) => ok(spawnWorker(k, k.spawn(), url, [test, id, side, ops, semid, queues[0], queues[1]])));
  const exits = await Promise.all(threads.map((t) => t.done));
  owner.shmctl(id, IPC_RMID);
  if (semid >= 0) owner.semctl(semid, 0, IPC_RMID);
  for (const q of queues) if (q >= 0) owner.msgctl(q, IPC_RMID);
  const ms = exits.map((e) => {
    if (!e.ok || typeof e.result !== 'number') throw new Error(`a ${test} worker failed: ${e.error ?? 'no result'}`);
    return e.result;
  });
  const slowest = Math.max(...ms);
  return ((test === 'atomic-add' ? 2 * ops : ops) * 1000) / slowest;
}

const [test = '', opsText = '', samplesText = ''] = process.argv.slice(2);
const ops = Number(opsText);
const samples = Number(samplesText);
if (!(WORKER_TESTS as readonly string[]).includes(test) || !(ops > 0) || !(samples > 0)) {
  process.stderr.write(`usage: tsx bench/workers.ts ${WORKER_TESTS.join('|')} OPS SAMPLES\n`);
  process.exit(2);
}
const name = test as WorkerTestName;
await sample(name, ops);
const rates: number[] = [];
for (let i = 0; i < samples; i++) rates.push(await sample(name, ops));
process.stdout.write(`${JSON.stringify({ rates, median: median(rates) })}\n`);
