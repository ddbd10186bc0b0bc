import * as E from 'fp-ts/lib/Either.js';
import type { Program, Statement } from '../../src/scenario/parse/ast.js';
import { parseScenario } from '../../src/scenario/parse/parse.js';

/** Parses `text`, failing the test with the formatted errors if it does not parse. */
export function program(text: string): Program {
  const r = parseScenario(text, 't.scn');
  if (E.isLeft(r)) throw new Error(r.left.map((e) => `${e.line}:${e.col}: ${e.message}`).join('\n'));
  return r.right;
}

/** The last statement of `text`. */
export function last(text: string): Statement {
  const s = program(text).statements.at(-1);
  if (s === undefined) throw new Error('no statements');
  return s;
}

/** The errors of `text` as `LINE:COL: message`, failing the test if it parses. */
export function errors(text: string): string[] {
  const r = parseScenario(text, 't.scn');
  if (E.isRight(r)) throw new Error('expected parse errors');
  return r.left.map((e) => `${e.line}:${e.col}: ${e.message}`);
}

/** Joins lines into a scenario. */
export const lines = (...ls: string[]): string => `${ls.join('\n')}\n`;
