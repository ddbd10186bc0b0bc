/**
 * Runs only the ipc-sentry side of one test, for profiling without the
 * native runs in the picture:
 *
 *   node --cpu-prof --cpu-prof-dir=prof --import tsx bench/profile.ts TEST [OPS] [SAMPLES] [PARAM]
 *
 * TEST is one of the tests in bench/emulated.ts (get-rmid, attach-detach,
 * ipc-stat, key-lookup, first-touch, copy-in, copy-out, dd-channel, semop,
 * sem-getval, msg-pair). Prints the median rate.
 */
import { runEmulated } from './emulated.js';
import type { TestName } from './emulated.js';

const TESTS: readonly TestName[] = [
  'get-rmid',
  'attach-detach',
  'ipc-stat',
  'key-lookup',
  'first-touch',
  'copy-in',
  'copy-out',
  'dd-channel',
  'semop',
  'sem-getval',
  'msg-pair',
];
const [test, ops = '100000', samples = '20', param = '0'] = process.argv.slice(2);
if (!TESTS.includes(test as TestName)) {
  process.stderr.write(`usage: bench/profile.ts TEST [OPS] [SAMPLES] [PARAM]; TEST is one of ${TESTS.join(', ')}\n`);
  process.exit(2);
}
const r = runEmulated(test as TestName, Number(ops), Number(samples), Number(param));
process.stdout.write(`${test} ${param}: median ${Math.round(r.median)} per second over ${samples} samples\n`);
