/**
 * The teaching examples (examples/*.scn) as conformance tests. Each file
 * gets two tests: the emulator must meet every expectation written in it,
 * and the real kernel must meet them too while printing the very same
 * normalized lines as the emulator. The kernel tests are skipped, with the
 * reason, where the native oracle cannot run.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Program } from '../../src/scenario/parse/ast.js';
import { loadScenario, runOnEmulator, runOnKernel } from '../../src/scenario/host.js';
import { nativeAvailable } from '../../src/scenario/native/native.js';
import type { ExpectationFailure, NormalizedRun, OutputLine } from '../../src/scenario/result/normalize.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const FILES = readdirSync(EXAMPLES)
  .filter((n) => n.endsWith('.scn'))
  .sort();

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;
if (unavailable !== undefined) console.warn(`native example tests skipped: ${unavailable}`);

/** Parses one example, failing the test with FILE:LINE:COL messages if it does not parse. */
function load(name: string): Program {
  const parsed = loadScenario(join(EXAMPLES, name));
  if (E.isLeft(parsed)) {
    throw new Error(parsed.left.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`).join('\n'));
  }
  return parsed.right;
}

/** The emulator's run of each example, computed once (both tests of a file use it). */
const emulated = new Map<string, { program: Program; run: NormalizedRun }>();
function onEmulator(name: string): { program: Program; run: NormalizedRun } {
  let r = emulated.get(name);
  if (r === undefined) {
    const program = load(name);
    r = { program, run: runOnEmulator(program).run };
    emulated.set(name, r);
  }
  return r;
}

/** A line without its `expect` note: what the backend answered, not what the run made of it. */
function answer(line: OutputLine): OutputLine {
  const { expect: _note, ...rest } = line;
  return rest;
}

/** Failures as the CLI's --check would name them. */
const describeFailures = (name: string, fs: readonly ExpectationFailure[]): string[] =>
  fs.map((f) => `${name}:${f.line}: expectation failed: wanted ${f.wanted}, got ${f.got}`);

describe('examples/*.scn', () => {
  it('has the examples', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(44);
  });

  describe.each(FILES)('%s', (name) => {
    it('meets every expectation on the emulator', () => {
      const { program, run } = onEmulator(name);
      expect(program.statements.filter((s) => s.expect !== undefined).length).toBeGreaterThan(0);
      expect(describeFailures(name, run.failures)).toEqual([]);
    });

    it.skipIf(unavailable !== undefined)(
      `meets every expectation on the real kernel and prints the emulator's lines${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
      (ctx) => {
        const { program, run: emu } = onEmulator(name);
        const native = runOnKernel(program);
        if (E.isLeft(native)) {
          // This machine runs the oracle but not this scenario (exit status 3): not a pass.
          if (native.left.kind === 'unavailable') ctx.skip(`the native backend cannot run ${name}: ${native.left.reason}`);
          throw new Error(`the native oracle failed on ${name}: ${native.left.kind === 'failure' ? native.left.message : native.left.reason}`);
        }
        const kernel = native.right;
        expect(describeFailures(name, kernel.failures)).toEqual([]);
        expect(kernel.lines).toHaveLength(emu.lines.length);
        kernel.lines.forEach((line, i) => {
          expect(answer(line), `${name}: statement ${i + 1} (scenario line ${String(line['line'])})`).toEqual(answer(emu.lines[i] ?? {}));
        });
      },
    );
  });
});
