/**
 * The worker rows of `npm run bench`, run in a child process because they
 * need the kernel thread's event loop (bench/emulated.ts is synchronous):
 *
 *   tsx bench/workers.ts TEST OPS SAMPLES
 *
 * Each sample starts two processes in two worker threads on one shared
 * segment (worker_program.ts), one warm-up sample first, and prints
 * {"rates":[...],"median":m}: round trips per second for futex-pingpong,
 * increments per second across both workers for atomic-add.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, Kernel } from '../src/node/index.js';
import { spawnWorker } from '../src/node/worker.js';
import { median } from './stats.js';

async function sample(test: string, ops: number): Promise<number> {
  const k = new Kernel();
  const owner = k.spawn();
  const id = owner.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
  if (E.isLeft(id)) throw new Error(id.left.message);
  const url = new URL('./worker_program.ts', import.meta.url);
  const threads = [0, 1].map((side) => {
    const t = spawnWorker(k, k.spawn(), url, [test, id.right, side, ops]);
    if (E.isLeft(t)) throw new Error(t.left.message);
    return t.right;
  });
  const exits = await Promise.all(threads.map((t) => t.done));
  owner.shmctl(id.right, IPC_RMID);
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
if ((test !== 'futex-pingpong' && test !== 'atomic-add') || !(ops > 0) || !(samples > 0)) {
  process.stderr.write('usage: tsx bench/workers.ts futex-pingpong|atomic-add OPS SAMPLES\n');
  process.exit(2);
}
await sample(test, ops);
const rates: number[] = [];
for (let i = 0; i < samples; i++) rates.push(await sample(test, ops));
process.stdout.write(`${JSON.stringify({ rates, median: median(rates) })}\n`);
