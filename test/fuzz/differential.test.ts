/**
 * Differential fuzzing: random well-formed scenarios (scenarioTextArb of
 * ipc-sentry/testing, src/testing/scenario_arb.ts) must give
 * the same normalized output on the emulator and on the real kernel. Two
 * properties: scenarios of every mechanism (shm alone, sem alone, msg alone,
 * or all mixed), and scenarios of semaphores and message queues only, half
 * with calls that block (wait, interrupt, exit while blocked). The
 * seed is the run's (test/setup.ts configures fast-check with FC_SEED, and
 * vitest.config.ts prints it); FUZZ_RUNS overrides the number of scenarios of
 * each. Skipped, with the reason, where the native oracle cannot run.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { nativeAvailable } from '../../src/scenario/native/native.js';
import { scenarioTextArb } from '../../src/testing/index.js';
import { checkScenario } from './differential.js';

/**
 * Scenarios of every mechanism (shm alone, sem alone, msg alone or mixed,
 * none blocking), then scenarios of semaphores and message queues only, half
 * of them with calls that block. 3,000 native runs, 35 to 50 seconds on 2
 * busy cores, most of it the oracle's process start (spawnSync alone is
 * about 4 ms of the 10 ms a scenario takes; a blocking one takes about 15).
 */
const DEFAULT_RUNS = 1000;
const DEFAULT_SEMMSG_RUNS = 2000;

/** FUZZ_RUNS, when set, for both properties. */
function runs(fallback = DEFAULT_RUNS): number {
  const text = process.env['FUZZ_RUNS'];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got "${text}"`);
  return n;
}

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;
if (unavailable !== undefined) console.warn(`differential fuzzing skipped: the native oracle cannot run here: ${unavailable}`);

describe('emulator vs kernel on random scenarios', () => {
  // Shrinking a failure can take minutes more.
  it.skipIf(unavailable !== undefined)(
    `${runs()} random scenarios give the same output on both backends`,
    () => {
      fc.assert(
        fc.property(scenarioTextArb(fc), (text) => {
          checkScenario(text);
        }),
        { numRuns: runs() },
      );
    },
    30 * 60_000,
  );

  it.skipIf(unavailable !== undefined)(
    `${runs(DEFAULT_SEMMSG_RUNS)} random semaphore and message queue scenarios give the same output on both backends`,
    () => {
      fc.assert(
        fc.property(scenarioTextArb(fc, { mechanisms: ['sem', 'msg'], blocking: 'some' }), (text) => {
          checkScenario(text);
        }),
        { numRuns: runs(DEFAULT_SEMMSG_RUNS) },
      );
    },
    30 * 60_000,
  );
});
