/**
 * The fuzzer's semaphore and message queue generation, on the emulator
 * alone (no oracle needed): every text runs to its end with a line per
 * statement (so the blocking rules are kept: a broken one stops the run),
 * the mechanisms option keeps to what it names, SETALL always lists the
 * set's size (never EFAULT, which a short list gives), non-blocking scenarios
 * never block, and blocking ones do block, wait, interrupt and collect.
 * Seeds: the run's FC_SEED (test/setup.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutputLine } from '../../src/testing/index.js';
import { runScenario, scenarioScriptArb, scenarioTextArb, statementCount } from '../../src/testing/index.js';

/** The output lines of a generated text on the emulator; fails the test on a parse or run-time scenario error. */
function run(text: string): readonly OutputLine[] {
  const r = runScenario(text);
  if (E.isLeft(r)) throw new Error(`${r.left.join('\n')}\n${text}`);
  expect(r.right.lines, text).toHaveLength(statementCount(text));
  return r.right.lines;
}

const SHM_OPS = /^\S+ (shmget|shmat|shmctl|shmdt|read|write|fill|munmap|mprotect) /m;
const SEM_OPS = /^\S+ (semget|semop|semtimedop|semctl) /m;
const MSG_OPS = /^\S+ (msgget|msgsnd|msgrcv|msgctl) /m;

describe('sem/msg scenario generation', () => {
  it('keeps to the mechanisms it is given', () => {
    for (const texts of [fc.sample(scenarioTextArb(fc, { mechanisms: ['sem'] }), 60), fc.sample(scenarioTextArb(fc, { mechanisms: ['msg'] }), 60)]) {
      for (const text of texts) expect(SHM_OPS.test(text), text).toBe(false);
    }
    expect(fc.sample(scenarioTextArb(fc, { mechanisms: ['sem'] }), 60).some((t) => MSG_OPS.test(t))).toBe(false);
    expect(fc.sample(scenarioTextArb(fc, { mechanisms: ['shm'] }), 60).some((t) => SEM_OPS.test(t) || MSG_OPS.test(t))).toBe(false);
    // By default all three appear, alone and together.
    const all = fc.sample(scenarioTextArb(fc), 300);
    expect(all.some((t) => SHM_OPS.test(t) && !SEM_OPS.test(t) && !MSG_OPS.test(t))).toBe(true);
    expect(all.some((t) => SEM_OPS.test(t) && MSG_OPS.test(t) && SHM_OPS.test(t))).toBe(true);
    expect(() => scenarioScriptArb(fc, { mechanisms: [] })).toThrow(RangeError);
    expect(() => scenarioScriptArb(fc, { mechanisms: ['pipe' as 'shm'] })).toThrow(/got pipe/);
  });

  it('non-blocking scenarios run to their end and never block; SETALL lists the whole set', () => {
    let setalls = 0;
    fc.assert(
      fc.property(scenarioTextArb(fc, { mechanisms: ['sem', 'msg'] }), (text) => {
        expect(text).not.toMatch(/ (wait|interrupt)$|^sleep /m);
        for (const line of run(text)) {
          expect(line['blocked'], JSON.stringify(line)).toBeUndefined();
          if (line['op'] === 'semctl' && line['cmd'] === 'SETALL') {
            setalls++;
            expect(line['errno'], `${JSON.stringify(line)}\n${text}`).not.toBe('EFAULT');
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(setalls).toBeGreaterThan(0);
  });

  it('blocking scenarios keep the rules of blocking calls, and calls do block, wake and get collected', () => {
    const seen = { blocked: 0, collected: 0, interrupted: 0, stillBlocked: 0 };
    fc.assert(
      fc.property(scenarioTextArb(fc, { mechanisms: ['sem', 'msg'], blocking: true }), (text) => {
        for (const line of run(text)) {
          if (line['blocked'] === true) {
            if (line['op'] === 'wait') seen.stillBlocked++;
            else seen.blocked++;
          }
          if (line['of'] !== undefined && line['op'] !== 'wait') {
            seen.collected++;
            if (line['errno'] === 'EINTR') seen.interrupted++;
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(seen.blocked).toBeGreaterThan(10);
    expect(seen.collected).toBeGreaterThan(3);
    expect(seen.interrupted).toBeGreaterThan(0);
  });
});
