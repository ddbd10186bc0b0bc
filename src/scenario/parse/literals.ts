/**
 * Literal values inside tokens: integers (with optional size suffixes), flag
 * sets and names. Each parser takes the column where its text starts, so an
 * error points at the exact character the author has to fix.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_NOWAIT,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SHM_EXEC,
  SHM_HUGETLB,
  SHM_NORESERVE,
  SHM_RDONLY,
  SHM_REMAP,
  SHM_RND,
} from '../../abi/constants.js';
import type { LineError } from './lexer.js';

/** A name: processes, namespaces, variables and expectation values. */
export const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The flag names a flag set may use; any flag set takes any of them, as its plain value. */
const FLAG_VALUES: Readonly<Record<string, number>> = {
  IPC_CREAT,
  IPC_EXCL,
  IPC_NOWAIT,
  SHM_HUGETLB,
  SHM_NORESERVE,
  SHM_RDONLY,
  SHM_RND,
  SHM_REMAP,
  SHM_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
};

const SUFFIX_SHIFT: Readonly<Record<string, bigint>> = { K: 10n, M: 20n, G: 30n };

const INTEGER = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([KMG]?)$/;

/** Values are 64-bit: anything from INT64_MIN to UINT64_MAX is representable somewhere. */
const MIN_I64 = -(1n << 63n);
const MAX_U64 = (1n << 64n) - 1n;

/** The column of the character at UTF-16 index `k` of a token starting at `col`. */
export function colAt(text: string, col: number, k: number): number {
  return col + Array.from(text.slice(0, k)).length;
}

/**
 * `text` split at the one-character separator `sep`, each part with the
 * column it starts at when `text` starts at `col`. Columns are counted
 * forward part by part, so a long list costs time in proportion to its
 * length (colAt from the start for each part would be quadratic).
 */
export function partsWithCols(text: string, col: number, sep: string): { readonly part: string; readonly col: number }[] {
  const parts: { part: string; col: number }[] = [];
  let c = col;
  for (const part of text.split(sep)) {
    parts.push({ part, col: c });
    c += Array.from(part).length + 1;
  }
  return parts;
}

/**
 * Parses an integer literal: decimal, `0x` hexadecimal or leading-`0` octal,
 * optionally negative, with a binary K/M/G suffix where `sizeSuffix` allows
 * it. The result is exact (bigint) and lies in [INT64_MIN, UINT64_MAX].
 */
export function parseInteger(text: string, col: number, sizeSuffix: boolean): Either<LineError, bigint> {
  const m = INTEGER.exec(text);
  if (m === null) {
    if (/^-?0[0-9]+[KMG]?$/.test(text)) return E.left({ col, message: `invalid octal number ${text}` });
    return E.left({ col, message: `expected a number, got ${text === '' ? 'nothing' : text}` });
  }
  const [, sign, digits, suffix] = m as unknown as [string, string, string, string];
  if (suffix !== '' && !sizeSuffix) {
    return E.left({ col: col + text.length - 1, message: 'a size suffix is not allowed here' });
  }
  // BigInt() reads 0x itself but not a leading-0 octal, which needs its 0o spelling.
  const magnitude = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const value = (sign === '-' ? -magnitude : magnitude) << (SUFFIX_SHIFT[suffix] ?? 0n);
  if (value < MIN_I64 || value > MAX_U64) return E.left({ col, message: `${text} is out of the 64-bit range` });
  return E.right(value);
}

/**
 * Parses a flag set: names and numbers joined by `|`, ORed together and
 * truncated to a C `int` as the syscall receives them.
 */
export function parseFlags(text: string, col: number, names: Readonly<Record<string, number>> = FLAG_VALUES): Either<LineError, number> {
  let acc = 0n;
  for (const { part, col: partCol } of partsWithCols(text, col, '|')) {
    const named = Object.hasOwn(names, part) ? names[part] : undefined;
    if (named !== undefined) {
      acc |= BigInt(named);
      continue;
    }
    if (NAME.test(part)) return E.left({ col: partCol, message: `unknown flag ${part}` });
    const n = parseInteger(part, partCol, false);
    if (E.isLeft(n)) return n;
    acc |= n.right;
  }
  return E.right(Number(BigInt.asIntN(32, acc)));
}

/** Checks that `text` is a name, saying what kind of name was expected. */
export function parseName(text: string, col: number, what: string): Either<LineError, string> {
  return NAME.test(text) ? E.right(text) : E.left({ col, message: `expected ${what}, got ${text === '' ? 'nothing' : text}` });
}
