/**
 * A thread's call polls for its reply before it sleeps (Mailbox.call with
 * spin > 0): it stops polling as soon as the kernel marks the call as one
 * it answers later, and adapts the next poll's length to how the last one
 * went. The kernel side here is a plain worker thread that plays the
 * kernel thread's part on the mailbox's words.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Mailbox } from '../../src/kernel/mailbox.js';

/**
 * The kernel's side, as plain JavaScript: waits for the next request, then as
 * `how` says answers at once, marks the call as answered later and
 * answers after `delayMs`, or answers after `delayMs` without marking.
 * The reply is the JSON text "done" (format word 0), as Mailbox writes one.
 */
const KERNEL = `
const { workerData, parentPort } = require('node:worker_threads');
const { buffer, how, delayMs } = workerData;
const words = new Int32Array(buffer, 0, 8);
const text = new Uint16Array(buffer, 32);
const before = Atomics.load(words, 0);
parentPort.postMessage('ready');
while (Atomics.load(words, 0) === before) Atomics.wait(words, 0, before);
const seq = Atomics.load(words, 0);
if (how === 'later') Atomics.store(words, 5, seq);
if (how !== 'now') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
const json = '"done"';
for (let i = 0; i < json.length; i++) text[i] = json.charCodeAt(i);
Atomics.store(words, 4, 0);
Atomics.store(words, 2, json.length);
Atomics.store(words, 1, seq);
Atomics.notify(words, 1);
`;

type How = 'now' | 'later' | 'silent';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** Starts the kernel side for `mailbox` and resolves once it waits for the request. */
async function kernelSide(mailbox: Mailbox, how: How, delayMs: number): Promise<void> {
  const w = new Worker(KERNEL, { eval: true, workerData: { buffer: mailbox.buffer, how, delayMs } });
  workers.push(w);
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
}

const budgetOf = (m: Mailbox): number => (m as unknown as { spinBudget: number }).spinBudget;

describe('a call polls for its reply before it sleeps', () => {
  it('keeps a poll that the reply ended, up to the cap', async () => {
    const m = Mailbox.create(4096);
    // Polls long enough to outlast the kernel side's wake-up: the reply lands inside them.
    const cap = 2 ** 31 - 1;
    (m as unknown as { spinBudget: number }).spinBudget = 600_000_000;
    await kernelSide(m, 'now', 0);
    expect(m.call({ call: 'x' }, cap)).toBe('done');
    expect(budgetOf(m)).toBe(1_200_000_000);
    await kernelSide(m, 'now', 0);
    expect(m.call({ call: 'y' }, cap)).toBe('done');
    expect(budgetOf(m)).toBe(cap);
  });

  it('stops polling, and keeps its poll length, when the kernel answers the call later', async () => {
    const m = Mailbox.create(4096);
    await kernelSide(m, 'later', 100);
    const t0 = performance.now();
    // Without the mark this poll (2^31 loads of three words) would run for seconds past the reply.
    expect(m.call({ call: 'x' }, 2 ** 31 - 1)).toBe('done');
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(budgetOf(m)).toBe(-1);
  });

  it('halves the next poll after one that ran out before the reply', async () => {
    const m = Mailbox.create(4096);
    await kernelSide(m, 'silent', 200);
    expect(m.call({ call: 'x' }, 1000)).toBe('done');
    expect(budgetOf(m)).toBe(500);
  });

  it('halves its poll after calls that slept down to 64 loads, not to the floor of a futex wait', async () => {
    // Polling on while the kernel thread and the thread a call wakes need both CPUs starves the woken one (Mailbox.call).
    const m = Mailbox.create(4096);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      await kernelSide(m, 'silent', 20);
      expect(m.call({ call: 'x' }, 512)).toBe('done');
      seen.push(budgetOf(m));
    }
    expect(seen).toEqual([256, 128, 64]);
  });

  it('does not poll with spin 0, and a closed mailbox ends the call', () => {
    const m = Mailbox.create(4096);
    m.close();
    expect(m.call({ call: 'x' }, 1000)).toBeUndefined();
    expect(budgetOf(m)).toBe(-1);
  });
});
