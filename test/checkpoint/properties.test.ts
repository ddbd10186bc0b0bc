/**
 * The two checkpoint properties over random scenarios from the differential
 * fuzzer's generator, and over random container scenarios (emulated backend
 * only):
 *  - running a scenario straight through prints what running a prefix,
 *    checkpointing, restoring into a fresh kernel and running the rest prints;
 *  - checkpoint → restore → checkpoint gives the same bytes, at the cut and
 *    at the end.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkpoint, restoreWithEngine } from '../../src/checkpoint/index.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { runEmulated, runEmulatedAcrossRestore } from '../../src/scenario/emulated/emulated.js';
import { normalize } from '../../src/scenario/result/normalize.js';
import type { Program } from '../../src/scenario/parse/ast.js';
import { formatParseError, parseScenario } from '../../src/scenario/parse/parse.js';
import { canonical } from '../fuzz/differential.js';
import { scenarioArb } from '../fuzz/generate.js';
import { containerScenarioArb } from './container_scenarios.js';

function image(kernel: Kernel): Uint8Array {
  const img = checkpoint(kernel);
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

/** Restores `img` (with its container engine, if it has one) and checkpoints the result again. */
function reimage(img: Uint8Array): Uint8Array {
  const m = restoreWithEngine(img);
  if (E.isLeft(m)) throw new Error(m.left.message);
  const again = checkpoint(m.right.kernel, m.right.engine === undefined ? {} : { engine: m.right.engine });
  if (E.isLeft(again)) throw new Error(again.left.message);
  return again.right;
}

function parsed(text: string): Program {
  const p = parseScenario(text, 'fuzz.scn');
  if (E.isLeft(p)) throw new Error(`generated scenario does not parse:\n${text}\n${p.left.map(formatParseError).join('\n')}`);
  return p.right;
}

describe('checkpoint properties on random scenarios', () => {
  it('straight through prints what prefix + checkpoint + restore + rest prints', () => {
    fc.assert(
      fc.property(scenarioArb, fc.double({ min: 0, max: 1, noNaN: true }), (text, where) => {
        const parsed = parseScenario(text, 'fuzz.scn');
        if (E.isLeft(parsed)) throw new Error(`generated scenario does not parse:\n${text}`);
        const program = parsed.right;
        const cut = Math.floor(where * (program.statements.length + 1));
        const straight = normalize(program, runEmulated(program).results);
        const across = runEmulatedAcrossRestore(program, cut);
        const cutRun = normalize(program, across.results);
        expect(cutRun.lines.map(canonical)).toEqual(straight.lines.map(canonical));
        // Re-imaging the image taken at the cut gives the same bytes.
        expect(Buffer.compare(Buffer.from(reimage(across.image)), Buffer.from(across.image))).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it('checkpoint → restore → checkpoint is byte-identical at the end of a scenario', () => {
    fc.assert(
      fc.property(scenarioArb, (text) => {
        const parsed = parseScenario(text, 'fuzz.scn');
        if (E.isLeft(parsed)) throw new Error(`generated scenario does not parse:\n${text}`);
        const first = image(runEmulated(parsed.right).kernel);
        expect(Buffer.compare(Buffer.from(reimage(first)), Buffer.from(first))).toBe(0);
      }),
      { numRuns: 400 },
    );
  });
});

describe('checkpoint properties on random container scenarios', () => {
  it('straight through prints what prefix + checkpoint + restore + rest prints, containers included', () => {
    fc.assert(
      fc.property(containerScenarioArb, fc.double({ min: 0, max: 1, noNaN: true }), (text, where) => {
        const program = parsed(text);
        const cut = Math.floor(where * (program.statements.length + 1));
        const straight = normalize(program, runEmulated(program).results);
        const across = runEmulatedAcrossRestore(program, cut);
        expect(normalize(program, across.results).lines.map(canonical)).toEqual(straight.lines.map(canonical));
        expect(Buffer.compare(Buffer.from(reimage(across.image)), Buffer.from(across.image))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('checkpoint → restore → checkpoint is byte-identical at the end, engine section included', () => {
    fc.assert(
      fc.property(containerScenarioArb, (text) => {
        const program = parsed(text);
        // A cut after the last statement: the image of the finished run, engine and all.
        const end = runEmulatedAcrossRestore(program, program.statements.length);
        expect(Buffer.compare(Buffer.from(reimage(end.image)), Buffer.from(end.image))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
