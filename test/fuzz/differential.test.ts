/**
 * Differential fuzzing: random well-formed scenarios (scenarioTextArb of
 * ipc-sentry/testing, src/testing/scenario_arb.ts) must give
 * the same normalized output on the emulator and on the real kernel. Three
 * properties: scenarios of every mechanism (shm alone, sem alone, msg alone,
 * posix alone, or all mixed), scenarios of semaphores and message queues
 * only, half with calls that block (wait, interrupt, exit while blocked),
 * and POSIX scenarios only (/dev/shm, memfds and seals, file and anonymous
 * mappings, copy-on-write across fork, the memory calls). The
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
 * Scenarios of every mechanism (shm, sem, msg or posix alone, or mixed,
 * none blocking), then scenarios of semaphores and message queues only, half
 * of them with calls that block, then POSIX scenarios only. 3,500 native
 * runs, 55 to 70 seconds on 2 busy cores (1,000 posix ones would add 10 more), most of it the oracle's process
 * start (spawnSync alone is about 4 ms of the 10 ms a scenario takes; a
 * blocking one takes about 15, a posix one, which mounts a tmpfs in a
 * private mount namespace, about 20).
 */
const DEFAULT_RUNS = 1000;
const DEFAULT_SEMMSG_RUNS = 2000;
const DEFAULT_POSIX_RUNS = 500;

/** FUZZ_RUNS, when set, for every property. */
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

  it.skipIf(unavailable !== undefined)(
    `${runs(DEFAULT_POSIX_RUNS)} random POSIX shared memory, memfd and memory call scenarios give the same output on both backends`,
    () => {
      fc.assert(
        fc.property(scenarioTextArb(fc, { mechanisms: ['posix'] }), (text) => {
          checkScenario(text);
        }),
        { numRuns: runs(DEFAULT_POSIX_RUNS) },
      );
    },
    30 * 60_000,
  );
});
