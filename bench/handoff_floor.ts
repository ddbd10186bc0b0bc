/**
 * What the ping-pong rows (sem-pingpong, msg-pingpong) could reach at best
 * on this machine, with no kernel work at all: a token passed between two
 * worker threads by Atomics.wait/notify alone.
 *
 *   npx tsx bench/handoff_floor.ts [ROUND_TRIPS] [RUNS]
 *
 * - direct: each worker waits on one shared word and hands the token to the
 *   other with a store and Atomics.notify (a futex ping-pong: two wake-ups
 *   per round trip, as the native semaphore ping-pong has);
 * - relay: each hand-off is a request to the main thread, which serves the
 *   workers' request words in a loop and answers through a reply word, as
 *   the kernel thread serves mailboxes (node/worker.ts): four calls per
 *   round trip, as sem-pingpong makes;
 * - relay-sleep: the same, but the main thread sleeps on a doorbell word
 *   the workers ring after each request instead of spinning.
 *
 * Prints round trips per second for each, alternating, RUNS times.
 */
import { Worker } from 'node:worker_threads';
import { median } from './stats.js';

const [tripsText = '20000', runsText = '3'] = process.argv.slice(2);
const trips = Number(tripsText);
const runs = Number(runsText);

// Worker side, as plain JavaScript (a worker's entry module does not go through tsx).
const WORKER = `
const { workerData } = require('node:worker_threads');
const { sab, side, mode, trips } = workerData;
const w = new Int32Array(sab);
// Start barrier: the main thread times from the moment both workers are up.
Atomics.add(w, 120, 1);
Atomics.notify(w, 120);
while (Atomics.load(w, 121) === 0) Atomics.wait(w, 121, 0);
if (mode === 'direct') {
  for (let i = 0; i < trips; i++) {
    while (Atomics.load(w, 64) !== side) Atomics.wait(w, 64, 1 - side);
    Atomics.store(w, 64, 1 - side);
    Atomics.notify(w, 64);
  }
} else {
  let seq = 0;
  const call = (op) => {
    Atomics.store(w, 16 * side + 8, op);
    seq++;
    Atomics.store(w, 16 * side, seq);
    if (mode === 'relay-sleep') { Atomics.add(w, 100, 1); Atomics.notify(w, 100); }
    while (Atomics.load(w, 16 * side + 4) !== seq) Atomics.wait(w, 16 * side + 4, seq - 1);
  };
  for (let i = 0; i < trips; i++) { call(2); call(1); }
  call(3);
}
`;

type Mode = 'direct' | 'relay' | 'relay-sleep';

/** The main thread's side of a relay: op 1 posts the other side's token, op 2 takes one's own (or waits), op 3 ends. */
function serveRelay(w: Int32Array, sleep: boolean): void {
  const served = [0, 0];
  const waiting = [false, false];
  const tokens = [1, 0];
  let ended = 0;
  let bell = 0;
  const reply = (i: number): void => {
    Atomics.store(w, 16 * i + 4, served[i]!);
    Atomics.notify(w, 16 * i + 4);
  };
  while (ended < 2) {
    for (let i = 0; i < 2; i++) {
      const r = Atomics.load(w, 16 * i);
      if (r === served[i]) continue;
      served[i] = r;
      const op = Atomics.load(w, 16 * i + 8);
      if (op === 1) {
        const o = 1 - i;
        tokens[o]! += 1;
        reply(i);
        if (waiting[o]) {
          waiting[o] = false;
          tokens[o]! -= 1;
          reply(o);
        }
      } else if (op === 2) {
        if (tokens[i]! > 0) {
          tokens[i]! -= 1;
          reply(i);
        } else {
          waiting[i] = true;
        }
      } else {
        reply(i);
        ended += 1;
      }
    }
    if (sleep) {
      if (Atomics.load(w, 100) === bell) Atomics.wait(w, 100, bell, 50);
      bell = Atomics.load(w, 100);
    }
  }
}

async function once(mode: Mode): Promise<number> {
  const sab = new SharedArrayBuffer(1024);
  const w = new Int32Array(sab);
  const workers = [0, 1].map((side) => new Worker(WORKER, { eval: true, workerData: { sab, side, mode, trips } }));
  const exits = workers.map((x) => new Promise((resolve) => x.on('exit', resolve)));
  for (let n = Atomics.load(w, 120); n < 2; n = Atomics.load(w, 120)) Atomics.wait(w, 120, n, 10);
  const t0 = performance.now();
  Atomics.store(w, 121, 1);
  Atomics.notify(w, 121);
  if (mode !== 'direct') serveRelay(w, mode === 'relay-sleep');
  await Promise.all(exits);
  return trips / ((performance.now() - t0) / 1000);
}

const modes: readonly Mode[] = ['direct', 'relay', 'relay-sleep'];
const rates = new Map<Mode, number[]>(modes.map((m) => [m, []]));
for (let r = 0; r < runs; r++) for (const m of modes) rates.get(m)?.push(await once(m));
for (const m of modes) {
  const xs = rates.get(m) ?? [];
  process.stdout.write(`${m.padEnd(12)} median ${Math.round(median(xs))} round trips/s (${xs.map((x) => Math.round(x)).join(', ')})\n`);
}
