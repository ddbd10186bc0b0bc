/**
 * The statement table: one entry per statement kind, declared next to its
 * argument parser (setup.ts, shmops.ts, fileops.ts, hostops.ts). An entry
 * says where the statement's word stands on a line, what it binds, how it
 * goes to the native oracle (or why it cannot), and what its result line
 * adds. The parser, the emulated backend's dispatch, the protocol encoder
 * and the normalizer all read this table, so a new statement is an AST type,
 * an entry, the emulated code that runs it and the oracle's handler.
 */
import type { Printed, Printing, RawSuccess } from '../result/printed.js';
import type { Body, LineParser } from './args.js';
import type { HostSideStatement, Statement } from './ast.js';
import { BLOCK_STATEMENTS } from './blockops.js';
import { FILE_STATEMENTS } from './fileops.js';
import { HOST_STATEMENTS } from './hostops.js';
import type { Token } from './lexer.js';
import type { VarKind } from './scope.js';
import { MEM_STATEMENTS } from './memops.js';
import { POSIX_STATEMENTS } from './posixops.js';
import { SEMMSG_STATEMENTS } from './semmsgops.js';
import { SETUP_STATEMENTS } from './setup.js';
import { SHM_STATEMENTS } from './shmops.js';
import type { Field } from './wire.js';

/** A statement kind's name: the AST's discriminant. */
export type Op = Statement['op'];

/** The statement type of kind `K` (a type shared by several kinds, such as PathStmt, serves each). */
export type StatementOf<K extends Op> = Statement extends infer S ? (S extends { readonly op: infer O } ? (K extends O ? S : never) : never) : never;

/** Parses the arguments of a statement that starts its line. */
export type LineStartParser = (lp: LineParser, opTok: Token, args: readonly Token[]) => Body | undefined;

/** Parses the arguments of a statement run by process `proc`, already resolved. */
export type ProcessParser = (lp: LineParser, opTok: Token, args: readonly Token[], proc: number) => Body | undefined;

/** Why the native backend cannot run a statement; `feature` names the part that is emulated only (default: the op). */
export interface EmulatedOnly {
  readonly emulatedOnly: string;
  readonly feature?: string;
}

/** A statement's program-text fields after LINE, or why it has none. */
export type NativeForm = readonly Field[] | EmulatedOnly;

/** The part of an entry every kind has. */
interface KindBase<K extends Op> {
  /** The words that introduce it (default: the op); none when another statement's parser yields it. */
  readonly words?: readonly string[];
  /** What `-> VAR` binds; absent: the statement binds nothing. */
  readonly binds?: VarKind;
  /** The fields after LINE in the oracle's program text, or why the oracle cannot run it. */
  native(s: StatementOf<K>): NativeForm;
  /** The `op` its result line prints (default: the op). */
  label?(s: StatementOf<K>): string;
  /** The `cmd` its result line prints, after `op`; absent: none. */
  cmd?(s: StatementOf<K>): Printed;
  /** What a success adds first: `ret` and `raw`, and names learnt from it. */
  printOk?(s: StatementOf<K>, raw: RawSuccess, p: Printing): void;
}

/**
 * Where the word stands. `setup`: first on the line, and reserved (it can
 * never name a process); run by a process. `host`: first on the line, run on
 * the host as root; the extension's host words came after processes could
 * take any name, so a started process of that name still wins unless
 * `reserved`. `process`: after the name of the process that runs it.
 */
export type StatementKind<K extends Op> = KindBase<K> &
  (
    | { readonly place: 'setup'; readonly parse: LineStartParser }
    | { readonly place: 'host'; readonly reserved?: true; readonly parse: LineStartParser }
    | { readonly place: 'process'; readonly parse: ProcessParser }
  );

/** Entries for some statement kinds. */
export type StatementEntries<K extends Op> = { readonly [P in K]: StatementKind<P> };

/** Every statement kind. */
export const STATEMENTS: StatementEntries<Op> = {
  ...SETUP_STATEMENTS,
  ...SHM_STATEMENTS,
  ...SEMMSG_STATEMENTS,
  ...BLOCK_STATEMENTS,
  ...FILE_STATEMENTS,
  ...HOST_STATEMENTS,
  ...POSIX_STATEMENTS,
  ...MEM_STATEMENTS,
};

/** The entry of `s`'s kind, typed for `s` (an entry's methods take its own statement type). */
export function kindOf(s: Statement): StatementKind<Op> {
  return STATEMENTS[s.op] as StatementKind<Op>;
}

/** Each word's entry. */
export const BY_WORD: ReadonlyMap<string, StatementKind<Op>> = new Map(
  (Object.keys(STATEMENTS) as Op[]).flatMap((op) => {
    const kind = STATEMENTS[op] as StatementKind<Op>;
    return (kind.words ?? [op]).map((w) => [w, kind] as const);
  }),
);

/** The words no process may take as its name. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  [...BY_WORD].filter(([, k]) => k.place === 'setup' || (k.place === 'host' && k.reserved === true)).map(([w]) => w),
);

/** The per-process statements' parsers, by word. */
export const PROC_OPS: Readonly<Record<string, ProcessParser>> = Object.fromEntries(
  [...BY_WORD].flatMap(([w, k]) => (k.place === 'process' ? [[w, k.parse]] : [])),
);

/** True for the statements that run on the host, not in a scenario process. */
export function isHostSide(s: Statement): s is HostSideStatement {
  return STATEMENTS[s.op].place === 'host';
}

/** True when `form` says the statement is emulated only. */
export function isEmulatedOnly(form: NativeForm): form is EmulatedOnly {
  return !Array.isArray(form);
}
