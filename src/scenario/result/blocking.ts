/**
 * Which scenario process is blocked in which call, decided from raw results
 * alone, so both backends apply the language's run-time rules for blocking
 * calls (docs/scenario-language.md, Blocking calls) the same way: a process
 * with a blocked call may be named only by `wait`, `interrupt` and `exit`,
 * and `wait` needs a blocked call. A call blocks when its statement's raw
 * result says so; it stays blocked until a `wait` collects its result or the
 * process exits.
 */
import type { Program, Statement } from '../parse/ast.js';
import { isHostSide } from '../parse/table.js';
import type { RawResult } from './raw.js';

/** The statements whose call can block. */
export type BlockingStatement = Extract<Statement, { op: 'semop' | 'semtimedop' | 'msgsnd' | 'msgrcv' }>;

/** True for a statement whose call can block. */
export function canBlock(s: Statement): s is BlockingStatement {
  return s.op === 'semop' || s.op === 'semtimedop' || s.op === 'msgsnd' || s.op === 'msgrcv';
}

/** True when a raw result says the call is (still) blocked. */
export function isBlocked(raw: RawResult): raw is Extract<RawResult, { blocked: true }> {
  return !raw.ok && 'blocked' in raw;
}

/**
 * A run-time scenario error: the file, not the machine, stops the run at
 * `line` (exit status 2, the earlier lines already printed); `col` is the
 * column of the statement's first token, as FILE:LINE:COL names it.
 */
export class ScenarioError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly col: number = 1,
  ) {
    super(reason);
  }

  /** The error at statement `s`. */
  static at(s: Statement, reason: string): ScenarioError {
    return new ScenarioError(s.line, reason, s.col ?? 1);
  }
}

/** The process a statement names (a fork's parent); undefined for `proc` and the host-side statements. */
function actorOf(s: Statement): number | undefined {
  if (s.op === 'fork') return s.parent;
  if (s.op === 'proc' || isHostSide(s)) return undefined;
  return s.proc;
}

/** The blocked calls of a run, fed each statement's raw result in order. */
export class BlockedCalls {
  private readonly calls = new Map<number, BlockingStatement>();

  constructor(private readonly program: Program) {}

  /** The call process `proc` is blocked in, if any. */
  of(proc: number): BlockingStatement | undefined {
    return this.calls.get(proc);
  }

  /** Why `s` may not run now, or undefined when it may. */
  refusal(s: Statement): string | undefined {
    const actor = actorOf(s);
    if (actor === undefined || s.op === 'interrupt' || s.op === 'exit') return undefined;
    const name = this.program.procNames[actor];
    const call = this.calls.get(actor);
    if (s.op === 'wait') return call === undefined ? `${name} wait: process ${name} has no blocked call to wait for` : undefined;
    if (call === undefined) return undefined;
    return `${s.op === 'fork' ? 'fork' : `${name} ${s.op}`}: process ${name} is blocked in its ${call.op} of line ${call.line}; only wait, interrupt and exit may name it`;
  }

  /** Records what `s` did; throws ScenarioError for a statement that may not run (a runner checks refusal first). */
  record(s: Statement, raw: RawResult): void {
    const why = this.refusal(s);
    if (why !== undefined) throw ScenarioError.at(s, why);
    if (s.op === 'exit') this.calls.delete(s.proc);
    else if (s.op === 'wait' && !isBlocked(raw)) this.calls.delete(s.proc);
    else if (canBlock(s) && isBlocked(raw)) this.calls.set(s.proc, s);
  }

  /** Processes with a blocked call, in process order. */
  blockedProcs(): number[] {
    return [...this.calls.keys()].sort((a, b) => a - b);
  }
}
