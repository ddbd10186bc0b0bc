/**
 * The statements of blocking calls (docs/scenario-language.md, Blocking
 * calls): `NAME wait` collects what a blocked semop, semtimedop, msgsnd or
 * msgrcv ended with, `NAME interrupt` sends a signal whose handler returns,
 * and `sleep MS` lets time pass. Which process is blocked is a run-time
 * fact, so the parser only checks their shape; result/blocking.ts holds the
 * rules that depend on what blocked.
 */
import type { Body, LineParser } from './args.js';
import { arity } from './args.js';
import type { Token } from './lexer.js';
import type { StatementEntries } from './table.js';

/** The longest `sleep`: natively it really sleeps, within the oracle's run time. */
export const MAX_SLEEP_MS = 10_000n;

function parseWait(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const extra = args[0];
  if (extra !== undefined) return lp.fail(extra.col, `too many arguments: ${opTok.text} takes none`);
  return { op: opTok.text === 'wait' ? 'wait' : 'interrupt', proc };
}

/** `sleep MS`. */
function parseSleep(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  if (!arity(lp, opTok, args, 'MS')) return undefined;
  const tok = args[0] as Token;
  const ms = lp.integer(tok, false);
  if (ms === undefined) return undefined;
  if (ms < 0n || ms > MAX_SLEEP_MS) return lp.fail(tok.col, `MS must be between 0 and ${MAX_SLEEP_MS}`);
  return { op: 'sleep', ms };
}

/** The blocking-call statements' entries in the statement table. */
export const BLOCK_STATEMENTS: StatementEntries<'wait' | 'interrupt' | 'sleep'> = {
  wait: { place: 'process', parse: parseWait, native: (s) => ['wait', s.proc] },
  interrupt: { place: 'process', parse: parseWait, native: (s) => ['interrupt', s.proc] },
  // Not reserved: a process named sleep, once started, keeps its statements.
  sleep: { place: 'host', parse: parseSleep, native: (s) => ['sleep', s.ms] },
};
