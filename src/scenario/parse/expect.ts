/**
 * Parses the `=> EXPECTATION` tail of a statement (docs/scenario-language.md, Expectations).
 * The checker that compares an expectation with a result lives with the runner;
 * this side only makes sure every field exists and every value is well formed.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { Expectation, ExpectValue, FieldCheck, FieldGroup } from './ast.js';
import { canonicalErrnoName } from '../result/errnames.js';
import type { LineError, Token } from './lexer.js';
import { colAt, NAME, parseInteger } from './literals.js';

/** Which part of a result line each checkable field lives in. */
export const FIELD_GROUPS: Readonly<Record<string, FieldGroup>> = {
  ret: 'line',
  raw: 'line',
  data: 'line',
  key: 'ds',
  uid: 'ds',
  gid: 'ds',
  cuid: 'ds',
  cgid: 'ds',
  mode: 'ds',
  seq: 'ds',
  size: 'ds',
  atime: 'ds',
  dtime: 'ds',
  ctime: 'ds',
  cpid: 'ds',
  lpid: 'ds',
  nattch: 'ds',
  shmmax: 'info',
  shmmin: 'info',
  shmmni: 'info',
  shmseg: 'info',
  shmall: 'info',
  used_ids: 'shm_info',
  shm_tot: 'shm_info',
  shm_rss: 'shm_info',
  shm_swp: 'shm_info',
  swap_attempts: 'shm_info',
  swap_successes: 'shm_info',
};

/** The fields version 2 adds: semaphore and queue structures, seminfo, msginfo, GETALL's vals, msgrcv's mtype. */
export const V2_FIELD_GROUPS: Readonly<Record<string, FieldGroup>> = {
  vals: 'line',
  mtype: 'line',
  nsems: 'ds',
  otime: 'ds',
  stime: 'ds',
  rtime: 'ds',
  cbytes: 'ds',
  qnum: 'ds',
  qbytes: 'ds',
  lspid: 'ds',
  lrpid: 'ds',
  ...Object.fromEntries(
    ['semmap', 'semmni', 'semmns', 'semmnu', 'semmsl', 'semopm', 'semume', 'semusz', 'semvmx', 'semaem'].map((k) => [k, 'seminfo' as const]),
  ),
  ...Object.fromEntries(['msgpool', 'msgmap', 'msgmax', 'msgmnb', 'msgmni', 'msgssz', 'msgtql', 'msgseg'].map((k) => [k, 'msginfo' as const])),
};

/** The fields the extension's statements add (docs/scenario-extensions.md). */
export const EXTENSION_FIELD_GROUPS: Readonly<Record<string, FieldGroup>> = {
  exit: 'line',
  stderr: 'line',
  f_bsize: 'statfs',
  f_blocks: 'statfs',
  f_bfree: 'statfs',
  f_bavail: 'statfs',
  f_files: 'statfs',
  f_ffree: 'statfs',
  st_mode: 'stat',
  st_nlink: 'stat',
  st_uid: 'stat',
  st_gid: 'stat',
  st_size: 'stat',
  st_blocks: 'stat',
  rows: 'line',
  proj: 'line',
  usage: 'memcg',
  limit: 'memcg',
  failcnt: 'memcg',
};

/** Fields whose value is a string: `data` (bytes, printed as hex) and `stderr` (lines joined by \n). */
const STRING_FIELDS = new Set(['data', 'stderr']);

/** Parses one `FIELD=VALUE` token; `numSlot` looks up a numeric variable bound so far. */
function parseCheck(tok: Token, numSlot: (name: string) => number | undefined): Either<LineError, FieldCheck> {
  const eq = tok.text.indexOf('=');
  if (eq <= 0) return E.left({ col: tok.col, message: `expected FIELD=VALUE after ok, got ${tok.text}` });
  const field = tok.text.slice(0, eq);
  const has = (table: object): boolean => Object.hasOwn(table, field);
  const group = has(FIELD_GROUPS)
    ? FIELD_GROUPS[field]
    : has(EXTENSION_FIELD_GROUPS)
      ? EXTENSION_FIELD_GROUPS[field]
      : has(V2_FIELD_GROUPS)
        ? V2_FIELD_GROUPS[field]
        : undefined;
  if (group === undefined) return E.left({ col: tok.col, message: `unknown field ${field}` });
  const valueCol = colAt(tok.text, tok.col, eq + 1);
  const done = (value: ExpectValue): Either<LineError, FieldCheck> => E.right({ field, group, value, text: tok.text });
  if (tok.str !== undefined) {
    if (!STRING_FIELDS.has(field)) return E.left({ col: valueCol, message: `only data= takes a string, not ${field}=` });
    return done({ kind: 'string', bytes: tok.str.bytes });
  }
  // A read's data prints as bytes; a string says which bytes unambiguously.
  if (field === 'data') return E.left({ col: valueCol, message: 'data= takes a string, e.g. data="hi\\x00"' });
  if (field === 'stderr') return E.left({ col: valueCol, message: 'stderr= takes a string (the lines joined by \\n), e.g. stderr=""' });
  const text = tok.text.slice(eq + 1);
  if (field === 'vals') {
    // GETALL's values: numbers separated by commas.
    const values: bigint[] = [];
    for (const part of text.split(',')) {
      const n = parseInteger(part, valueCol, false);
      if (E.isLeft(n)) return n;
      values.push(n.right);
    }
    return done({ kind: 'list', values });
  }
  if (NAME.test(text)) {
    const slot = numSlot(text);
    return done(slot === undefined ? { kind: 'name', name: text } : { kind: 'name', name: text, numSlot: slot });
  }
  const n = parseInteger(text, valueCol, true);
  return E.isLeft(n) ? n : done({ kind: 'number', value: n.right });
}

/**
 * Parses the tokens after `=>` (whose column is `arrowCol`). `numSlot` maps a
 * numeric variable bound by this statement or an earlier one to its slot.
 */
export function parseExpectation(tokens: readonly Token[], arrowCol: number, numSlot: (name: string) => number | undefined): Either<LineError[], Expectation> {
  const [head, ...rest] = tokens;
  if (head === undefined) {
    return E.left([{ col: arrowCol, message: '=> needs an expectation: ok, an errno name, SIGSEGV, SIGBUS or blocks' }]);
  }
  const text = tokens.map((t) => t.text).join(' ');
  if (head.text === 'ok') {
    const errors: LineError[] = [];
    const checks: FieldCheck[] = [];
    for (const tok of rest) {
      const c = parseCheck(tok, numSlot);
      if (E.isLeft(c)) errors.push(c.left);
      else if (checks.some((prev) => prev.field === c.right.field)) {
        errors.push({ col: tok.col, message: `field ${c.right.field} is checked twice` });
      } else checks.push(c.right);
    }
    return errors.length > 0 ? E.left(errors) : E.right({ kind: 'ok', checks, text });
  }
  let expectation: Expectation;
  if (head.text === 'SIGSEGV' || head.text === 'SIGBUS') {
    expectation = { kind: 'signal', signal: head.text, text };
  } else if (head.text === 'blocks') {
    expectation = { kind: 'blocks', text };
  } else {
    const errno = canonicalErrnoName(head.text);
    if (errno === undefined) {
      const message = /^E[A-Z0-9]+$/.test(head.text) ? `unknown errno ${head.text}` : `expected ok, an errno name, SIGSEGV, SIGBUS or blocks, got ${head.text}`;
      return E.left([{ col: head.col, message }]);
    }
    expectation = { kind: 'errno', errno, text };
  }
  const extra = rest[0];
  if (extra !== undefined) return E.left([{ col: extra.col, message: `nothing may follow ${head.text}` }]);
  return E.right(expectation);
}
