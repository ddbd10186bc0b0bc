/**
 * The scenario arbitraries of ipc-sentry/testing: every generated text
 * parses and runs on the emulator without throwing, the size options bound
 * what is generated, and runScenario (the entry's platform-free runner)
 * prints a line per statement. Seeds: the run's FC_SEED (test/support/seed.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runOnEmulator } from '../../src/scenario/host.js';
import { parseScenario } from '../../src/scenario/parse/parse.js';
import { installEitherMatchers, renderScenario, runScenario, scenarioScriptArb, scenarioTextArb, statementCount } from '../../src/testing/index.js';
import { useSeed } from '../support/seed.js';

useSeed();
installEitherMatchers(expect);

describe('scenarioTextArb', () => {
  it('gives texts that parse and run on the emulator, one output line per statement', () => {
    fc.assert(
      fc.property(scenarioTextArb(fc), (text) => {
        const program = parseScenario(text, 'generated.scn');
        expect(program).toBeRight();
        if (E.isLeft(program)) return;
        const { run } = runOnEmulator(program.right);
        expect(run.lines).toHaveLength(statementCount(text));
        expect(run.failures).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('honours the size options', () => {
    const options = { minProcesses: 1, maxProcesses: 3, minCommands: 2, maxCommands: 6 };
    fc.assert(
      fc.property(scenarioScriptArb(fc, options), (script) => {
        expect(script.procs.length).toBeGreaterThanOrEqual(1);
        expect(script.procs.length).toBeLessThanOrEqual(3);
        expect(script.commands.length).toBeGreaterThanOrEqual(2);
        expect(script.commands.length).toBeLessThanOrEqual(6);
        const text = renderScenario(script);
        const header = text.split('\n').filter((l) => l.startsWith('proc '));
        expect(header).toHaveLength(script.procs.length);
        // Every command renders as one statement or none; a posix scenario may first make its /dev/shm (two host statements).
        const setup = script.devshm === undefined ? 0 : 2;
        expect(statementCount(text)).toBeLessThanOrEqual(script.procs.length + setup + script.commands.length);
        expect(statementCount(text)).toBeGreaterThanOrEqual(script.procs.length);
      }),
      { numRuns: 200 },
    );
  });

  it('reaches the whole default range: 2 to 5 processes, 8 to 35 commands', () => {
    const scripts = fc.sample(scenarioScriptArb(fc), 300);
    const procs = new Set(scripts.map((s) => s.procs.length));
    const cmds = scripts.map((s) => s.commands.length);
    expect([...procs].sort()).toEqual([2, 3, 4, 5]);
    expect(Math.min(...cmds)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...cmds)).toBeLessThanOrEqual(35);
    expect(Math.max(...cmds)).toBeGreaterThan(30);
  });

  it('rejects sizes it cannot honour', () => {
    expect(() => scenarioTextArb(fc, { maxProcesses: 9 })).toThrow(RangeError);
    expect(() => scenarioTextArb(fc, { minProcesses: 0 })).toThrow(RangeError);
    expect(() => scenarioTextArb(fc, { minCommands: 5, maxCommands: 4 })).toThrow(/0 <= min \(5\) <= max \(4\)/);
    expect(() => scenarioTextArb(fc, { maxCommands: 1.5 })).toThrow(RangeError);
    // A lone maximum below the default minimum lowers the minimum with it.
    expect(fc.sample(scenarioScriptArb(fc, { maxCommands: 3, maxProcesses: 1 }), 50).every((s) => s.commands.length <= 3 && s.procs.length === 1)).toBe(true);
  });
});

describe('runScenario', () => {
  it('runs a generated text without Node, a line per statement, like the CLI', () => {
    fc.assert(
      fc.property(scenarioTextArb(fc, { maxCommands: 15 }), (text) => {
        const run = runScenario(text);
        expect(run).toBeRight();
        if (E.isRight(run)) expect(run.right.lines.map((l) => l['line'])).toEqual(text.split('\n').flatMap((l, i) => (l.trim() === '' ? [] : [i + 1])));
      }),
      { numRuns: 100 },
    );
  });

  it('gives the output lines and the kernel of a fixed scenario', () => {
    const run = runScenario('proc A\nA shmget IPC_PRIVATE 4096 IPC_CREAT|0600 -> s\nA shmat s 0 0 -> a\nA write a "hi"\nA read a 2\n');
    expect(run).toBeRightWith(expect.objectContaining({ failures: [] }));
    if (E.isLeft(run)) return;
    expect(run.right.lines).toHaveLength(5);
    expect(run.right.lines[4]).toMatchObject({ op: 'read', ok: true });
    expect(run.right.kernel.processes()).toHaveLength(1);
  });

  it('returns the parse errors as FILE:LINE:COL lines', () => {
    expect(runScenario('proc A\nA shmgot 1 2 3\n', {}, 'bad.scn')).toBeLeftWith([expect.stringMatching(/^bad\.scn:2:\d+: /)]);
  });
});
