/**
 * The scenario parser (docs/scenario-language.md): text in, a fully resolved Program out, or
 * every error found. Nothing runs until the whole file is consistent, so each
 * check here is static: statement order alone decides which processes run and
 * which variables are bound at each line.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { Body } from './args.js';
import { LineParser } from './args.js';
import type { Expectation, Program, Statement } from './ast.js';
import { parseExpectation } from './expect.js';
import type { LineError, ParseError, Token } from './lexer.js';
import { lexLine } from './lexer.js';
import { Scope } from './scope.js';
import type { Op, StatementKind } from './table.js';
import { BY_WORD, RESERVED_WORDS } from './table.js';

export type { ParseError } from './lexer.js';

const isPlain = (tok: Token, text: string): boolean => tok.str === undefined && tok.text === text;

/** The operation a line names: its word, its table entry, and what its parser made of the arguments. */
interface Operation {
  readonly word: string;
  readonly kind: StatementKind<Op>;
  readonly body?: Body;
  /** The process before the word, for a per-process statement. */
  readonly proc?: number;
}

/** Parses the operation and its arguments; yields the body and, for `-> VAR`, the binding process. */
function parseOperation(lp: LineParser, head: readonly Token[]): Operation | undefined {
  // Indexing and slice rather than `[first, second, ...rest] =`, which walks the array through its iterator.
  const first = head[0] as Token;
  const second = head[1];
  const lead = BY_WORD.get(first.text);
  if (lead !== undefined && lead.place !== 'process' && (lead.place === 'setup' || lead.reserved === true || !lp.scope.isProcess(first.text))) {
    const body = lead.parse(lp, first, head.slice(1));
    return body === undefined ? { word: first.text, kind: lead } : { word: first.text, kind: lead, body };
  }
  const kind = second === undefined ? undefined : BY_WORD.get(second.text);
  if (second === undefined || kind?.place !== 'process') {
    if (lead?.place === 'process') return lp.fail(first.col, `missing process name before ${first.text}`);
    if (!lp.scope.isProcess(first.text)) return lp.fail(first.col, `unknown operation ${first.text}`);
    if (second === undefined) return lp.fail(first.col, `missing operation after ${first.text}`);
    return lp.fail(second.col, `unknown operation ${second.text}`);
  }
  const proc = lp.word(first) === undefined ? undefined : lp.take(lp.scope.running(first));
  // Without a process the arguments cannot be checked (addresses belong to one), so stop at this error.
  if (proc === undefined) return undefined;
  const body = kind.parse(lp, second, head.slice(2), proc);
  return body === undefined ? { word: second.text, kind, proc } : { word: second.text, kind, body, proc };
}

/** Parses one non-blank line: `[PROC] OP ARGS... [-> VAR] [=> EXPECTATION]`. */
function parseStatement(scope: Scope, line: number, tokens: readonly Token[]): { stmt?: Statement; errors: LineError[] } {
  const lp = new LineParser(scope, line);
  const arrow = tokens.findIndex((t) => isPlain(t, '=>'));
  const head = arrow < 0 ? tokens : tokens.slice(0, arrow);
  const bindAt = head.findIndex((t) => isPlain(t, '->'));
  const bindArrow = bindAt < 0 ? undefined : head[bindAt];
  const bindTok = bindAt < 0 ? undefined : head[bindAt + 1];
  const opHead = bindAt < 0 ? head : head.slice(0, bindAt);
  if (bindArrow !== undefined && (bindTok === undefined || head.length !== bindAt + 2)) {
    lp.fail(bindArrow.col, '-> takes exactly one variable name, just before => or the end of the line');
  }
  if (opHead.length === 0) {
    const first = tokens[0] as Token;
    return { errors: [{ col: first.col, message: `missing statement before ${first.text}` }] };
  }
  const parsed = parseOperation(lp, opHead);
  let bind: number | undefined;
  if (bindArrow !== undefined && bindTok !== undefined && parsed !== undefined) {
    const kind = parsed.kind.binds;
    if (kind === undefined) lp.fail(bindArrow.col, `${parsed.word} does not bind a variable`);
    else if (parsed.proc !== undefined) bind = lp.take(scope.bind(bindTok, kind, parsed.proc, line));
  }
  let expect: Expectation | undefined;
  if (arrow >= 0) {
    const e = parseExpectation(tokens.slice(arrow + 1), (tokens[arrow] as Token).col, (name) => scope.boundNumeric(name));
    if (E.isLeft(e)) lp.errors.push(...e.left);
    else expect = e.right;
  }
  const body = parsed?.body;
  if (lp.errors.length > 0 || body === undefined) return { errors: lp.errors };
  const col = (tokens[0] as Token).col;
  const stmt = {
    ...body,
    line,
    ...(col === 1 ? {} : { col }),
    ...(bind === undefined ? {} : { bind }),
    ...(expect === undefined ? {} : { expect }),
  };
  return { stmt, errors: [] };
}

/** Errors reported before the parser stops looking: enough to fix a file, few enough that a garbage file cannot flood stderr. */
export const MAX_PARSE_ERRORS = 100;

/**
 * Parses a scenario. `file` only labels errors. On failure every error found
 * (up to MAX_PARSE_ERRORS, then a last one saying where checking stopped) is
 * returned, ordered by line and column; the program is returned only when
 * there is none. Lines are taken one at a time, so a file's size costs no
 * array of its lines.
 */
export function parseScenario(text: string, file: string): Either<ParseError[], Program> {
  const scope = new Scope(RESERVED_WORDS);
  const statements: Statement[] = [];
  const errors: ParseError[] = [];
  // A byte-order mark is an encoding artifact, not part of the first statement.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let from = 0;
  for (let line = 1; ; line += 1) {
    const nl = body.indexOf('\n', from);
    const raw = body.slice(from, nl < 0 ? body.length : nl);
    from = nl + 1;
    const lexed = lexLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    if (!lexed.ok) {
      errors.push({ file, line, ...lexed.error });
    } else if (lexed.tokens.length > 0) {
      const r = parseStatement(scope, line, lexed.tokens);
      for (const e of r.errors) errors.push({ file, line, ...e });
      if (r.stmt !== undefined) statements.push(r.stmt);
    }
    if (nl < 0) break;
    if (errors.length >= MAX_PARSE_ERRORS && from < body.length) {
      errors.push({ file, line: line + 1, col: 1, message: `${errors.length} errors so far: the rest of the file is not checked` });
      break;
    }
  }
  if (errors.length > 0) return E.left(errors.sort((a, b) => a.line - b.line || a.col - b.col));
  return E.right({
    statements,
    procNames: scope.procNames,
    procNs: scope.procNs,
    nsNames: scope.nsNames,
    numVars: scope.numVars,
    addrVars: scope.addrVars,
    // Only programs that open files carry the table, so the shm part's Program is unchanged.
    ...(scope.fdVars.length > 0 ? { fdVars: scope.fdVars } : {}),
  });
}

/** The longest message formatParseError prints whole. */
const MAX_MESSAGE = 400;

/** Formats an error as `FILE:LINE:COL: message`, the form stderr gets. */
export function formatParseError(e: ParseError): string {
  // A message quoting a huge token (a 60 MiB word) is cut: the position says where it is.
  const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE)}...` : e.message;
  return `${e.file}:${e.line}:${e.col}: ${message}`;
}
