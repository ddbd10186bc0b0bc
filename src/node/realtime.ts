/**
 * The tick clock (Node only): CLOCK_REALTIME in whole seconds, read as
 * Linux reads it for shm_atime, shm_dtime and shm_ctime. The package's Node
 * entry (index.ts) installs it as every Kernel's default clock
 * (kernel/clock.ts); the platform-free core reads Date.now() instead.
 *
 * Linux does not ask the clock hardware for those. ktime_get_real_seconds()
 * returns xtime_sec, a number the timer tick keeps current, so a shmat costs
 * a load. JavaScript has no such number: Date.now() asks the host clock on
 * each call, 80-90 ns on the bench machine (kvm-clock), which was a fifth of
 * a shmat+shmdt pair.
 *
 * So one thread per JavaScript realm plays the tick: it stores the current
 * second into a shared word just after each second begins and sleeps until
 * the next one, and every Kernel reads that word with a plain load, as Linux
 * reads xtime_sec. Like xtime_sec it trails the precise clock by the tick's
 * lateness (here, how late the thread wakes: normally well under a
 * millisecond), and like it a change of the host clock shows within one tick
 * (at most a second here). The thread is unref'd, so it never keeps a
 * process alive, and it starts on the clock's first read, so loading the
 * package starts nothing.
 *
 * Until the thread has published its first second, and if it cannot start
 * or stops, every read is the host clock's second.
 */
import { Worker } from 'node:worker_threads';
import { hostSeconds, setDefaultClock } from '../kernel/clock.js';

/** The thread's program (CommonJS, run with eval). */
const TICKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const word = new Int32Array(workerData.buffer);
const base = workerData.base;
for (;;) {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  Atomics.store(word, 0, sec - base);
  // Word 1 is never notified: this sleeps until the next second begins.
  Atomics.wait(word, 1, 0, (sec + 1) * 1000 - now);
}
`;

/**
 * The shared words: [0] the second minus `base` (0 until the first store),
 * [1] the thread's sleeping place. Undefined before the thread is asked for,
 * and again if it fails or exits.
 */
let word: Int32Array | undefined;
/** One second before the thread started, so every stored value is at least 1 and fits 31 bits for 68 years. */
let base = 0;
/** Whether starting the thread was tried (once per realm). */
let tried = false;

/** CLOCK_REALTIME in whole seconds: the tick thread's word when it has one, else the host clock's. */
export function realtimeSeconds(): number {
  const w = word;
  // A plain aligned read: tear-free for an Int32Array, and a fresh load each
  // call (V8 neither caches nor hoists typed-array loads). In Node 20
  // Atomics.load is a builtin call costing 10-20 ns, more than the rest of
  // the read; realtime.test.ts checks that a hot loop sees it move. The
  // rest is out of line, so that this inlines into every syscall that
  // stamps a time.
  const v = w === undefined ? 0 : w[0]!;
  // The sum is taken on every read, before the tick's first second too (0 + 0): optimized code that
  // inlined this read while the thread was starting has then seen it, and is not thrown away when
  // the first second arrives (which left a hot loop's final code to the timing of that moment).
  const sum = base + v;
  return v !== 0 ? sum : beforeTick();
}

/** The host clock's second, starting the tick thread on first use. */
function beforeTick(): number {
  if (!tried) startTicker();
  return hostSeconds();
}

/** Where realtimeSeconds reads from at this moment (for tests and the bench's report). */
export function realtimeSource(): 'tick' | 'host clock' {
  return word !== undefined && word[0] !== 0 ? 'tick' : 'host clock';
}

/**
 * The tick thread's shared word and base, for a worker thread that stamps
 * sem_otime, msg_stime or msg_rtime as the kernel thread would
 * (sem/lease.ts, msg/lease.ts): undefined until the thread has published
 * its first second, and once it has stopped (the
 * word then reads 0, which such a reader takes as "ask the kernel").
 */
export function tickShare(): { readonly buffer: SharedArrayBuffer; readonly base: number } | undefined {
  const w = word;
  return w === undefined || w[0] === 0 ? undefined : { buffer: w.buffer as SharedArrayBuffer, base };
}

/** Makes the tick clock the default of every Kernel built from now on. */
export function installTickClock(): void {
  setDefaultClock(realtimeSeconds);
}

function startTicker(): void {
  tried = true;
  const w = new Int32Array(new SharedArrayBuffer(8));
  const start = Math.floor(Date.now() / 1000) - 1;
  try {
    const thread = new Worker(TICKER_SOURCE, {
      eval: true,
      workerData: { buffer: w.buffer, base: start },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1, stackSizeMb: 1 },
    });
    thread.unref();
    // A thread that stops would leave a stale second behind: go back to the host clock.
    const stop = (): void => {
      if (word === w) word = undefined;
      // Worker threads that read the word (tickShare) see it stop, rather than a second that no longer moves.
      Atomics.store(w, 0, 0);
    };
    thread.on('error', stop);
    thread.on('exit', stop);
  } catch {
    return;
  }
  base = start;
  word = w;
}
