/**
 * Argument readers for one statement. A `LineParser` collects every error of
 * its line instead of stopping at the first, so an author sees all of a
 * line's mistakes at once; each reader returns undefined after recording why.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { AddrArg, IdArg, Statement } from './ast.js';
import type { LineError, Token } from './lexer.js';
import { colAt, parseFlags, parseInteger } from './literals.js';
import type { Scope } from './scope.js';

/** `KEY=VALUE` split at its first `=`; `valueCol` is where VALUE starts. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly valueCol: number;
}

/** A statement as an op parser builds it; the caller adds line, bind and expectation. */
export type Body = Statement extends infer S ? (S extends Statement ? Omit<S, 'line' | 'bind' | 'expect'> : never) : never;

const ADDRESS = /^([A-Za-z_][A-Za-z0-9_]*)(?:([+-])(.*))?$/;

/** Reads the arguments of one scenario line against the scope. */
export class LineParser {
  readonly errors: LineError[] = [];

  constructor(
    readonly scope: Scope,
    readonly line: number,
  ) {}

  /** Records an error and yields undefined, so callers can `return lp.fail(...)`. */
  fail(col: number, message: string): undefined {
    this.errors.push({ col, message });
    return undefined;
  }

  /** Unwraps `e`, recording its error. */
  take<T>(e: Either<LineError, T>): T | undefined {
    return E.isLeft(e) ? this.fail(e.left.col, e.left.message) : e.right;
  }

  /** The token's text, which must not contain a string. */
  word(tok: Token): string | undefined {
    return tok.str === undefined ? tok.text : this.fail(tok.col, 'a string is not allowed here');
  }

  /** Splits `KEY=VALUE`; undefined (and no error) when there is no `=`. */
  keyValue(tok: Token): KeyValue | undefined {
    const text = this.word(tok);
    const eq = text?.indexOf('=') ?? -1;
    if (text === undefined || eq < 0) return undefined;
    return { key: text.slice(0, eq), value: text.slice(eq + 1), valueCol: colAt(text, tok.col, eq + 1) };
  }

  /** An integer (see parseInteger), with a size suffix when `sizeSuffix`. */
  integer(tok: Token, sizeSuffix: boolean): bigint | undefined {
    const text = this.word(tok);
    return text === undefined ? undefined : this.take(parseInteger(text, tok.col, sizeSuffix));
  }

  /** A size or length: a u64, so a negative one wraps as a C cast to size_t would. */
  size(tok: Token): bigint | undefined {
    const n = this.integer(tok, true);
    return n === undefined ? undefined : BigInt.asUintN(64, n);
  }

  /** A flag set, as a C int; `names` are the flag names it may use (default: the shm and PROT_ ones). */
  flags(tok: Token, names?: Readonly<Record<string, number>>): number | undefined {
    const text = this.word(tok);
    return text === undefined ? undefined : this.take(parseFlags(text, tok.col, names));
  }

  /** An id or index: a bound numeric variable, or a literal truncated to a C int. */
  id(tok: Token): IdArg | undefined {
    const text = this.word(tok);
    if (text === undefined) return undefined;
    if (/^[A-Za-z_]/.test(text)) {
      const slot = this.take(this.scope.numeric(text, tok.col));
      return slot === undefined ? undefined : { kind: 'slot', slot };
    }
    const n = this.take(parseInteger(text, tok.col, false));
    return n === undefined ? undefined : { kind: 'literal', value: Number(BigInt.asIntN(32, n)) };
  }

  /**
   * An address: a literal (reduced to u64), or VAR, VAR+N, VAR-N with VAR an
   * address bound in process `proc`. Offsets take no size suffix.
   */
  address(tok: Token, proc: number): AddrArg | undefined {
    const text = this.word(tok);
    if (text === undefined) return undefined;
    if (/^[-0-9]/.test(text)) {
      const n = this.take(parseInteger(text, tok.col, false));
      return n === undefined ? undefined : { kind: 'literal', value: BigInt.asUintN(64, n) };
    }
    const m = ADDRESS.exec(text);
    if (m === null) return this.fail(tok.col, `expected an address (0, a number, VAR, VAR+N or VAR-N), got ${text}`);
    const [, name, sign, rest] = m as unknown as [string, string, string | undefined, string | undefined];
    const slot = this.take(this.scope.address(name, tok.col, proc));
    let offset = 0n;
    if (sign !== undefined) {
      const offCol = tok.col + name.length + 1;
      if (!/^[0-9]/.test(rest ?? '')) return this.fail(offCol, `expected an offset after ${sign}`);
      const n = this.take(parseInteger(rest ?? '', offCol, false));
      if (n === undefined) return undefined;
      offset = sign === '-' ? -n : n;
    }
    return slot === undefined ? undefined : { kind: 'slot', slot, offset };
  }

  /** A credential (uid, gid or group) for a new process. */
  credential(text: string, col: number, what: string): number | undefined {
    const n = this.take(parseInteger(text, col, false));
    if (n === undefined) return undefined;
    // 4294967295 is (uid_t)-1, which setresuid reads as "leave unchanged": no process can hold it.
    if (n < 0n || n > 4294967294n) return this.fail(col, `${what} must be between 0 and 4294967294`);
    return Number(n);
  }
}

/** "1 argument", "2 arguments". */
export const argumentCount = (n: number): string => `${n} argument${n === 1 ? '' : 's'}`;

/**
 * Checks that `args` has exactly as many arguments as `usage` names: too few
 * points at the operation, too many at the first extra argument.
 */
export function arity(lp: LineParser, opTok: Token, args: readonly Token[], usage: string): boolean {
  const want = usage.split(' ').length;
  const extra = args[want];
  if (extra !== undefined) return lp.fail(extra.col, `too many arguments: ${opTok.text} takes ${usage}`) ?? false;
  if (args.length < want) {
    return lp.fail(opTok.col, `${opTok.text} needs ${usage} (got ${argumentCount(args.length)})`) ?? false;
  }
  return true;
}
