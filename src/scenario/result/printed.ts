/**
 * The values an output line is made of, and the context a statement's own
 * result printer (its entry in the statement table) writes into.
 */
import type { Program } from '../parse/ast.js';
import type { RawResult } from './raw.js';

/** The System V mechanism an id belongs to: ids of different mechanisms overlap. */
export type Mechanism = 'shm' | 'sem' | 'msg';

/** A printed value: JSON-safe. */
export type Printed = string | number | boolean | readonly Printed[] | { readonly [k: string]: Printed };

/** One output line, keys in docs/scenario-language.md's order. */
export type OutputLine = { readonly [k: string]: Printed };

/** A successful raw result. */
export type RawSuccess = Extract<RawResult, { ok: true }>;

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A number as docs/scenario-language.md prints it: a JSON number, or a decimal string above 2^53-1. */
export function num(v: bigint | number): number | string {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  return b > SAFE || b < -SAFE ? b.toString() : Number(b);
}

/**
 * What a statement's result printer may do to the line being built. It runs
 * first on a success, so `ret` (and `raw`) come before every other field; it
 * may replace the exit status and stderr lines (dd formats its own).
 */
export interface Printing {
  readonly program: Program;
  /** The line so far; a printer adds `ret` and `raw`. */
  readonly out: Record<string, Printed>;
  exit: number | undefined;
  stderr: readonly string[] | undefined;
  /** ret for a call returning an id: the variable it binds, else the latest id variable of that value in the namespace, else the number. */
  idResult(bind: number | undefined, ret: bigint, mech?: Mechanism): void;
  /** An id as a row of /proc/sysvipc prints it: the latest variable of mechanism `mech` holding it in the namespace, else the number. */
  idName(id: bigint, mech: Mechanism): Printed;
  /**
   * ret of ftok: keys print by name, never by value (st_dev and st_ino differ
   * between backends). A key already seen prints as the name it got first;
   * a new one takes `name` (the bound variable, or a name made from the line).
   */
  keyResult(key: bigint, name: string): void;
  /** A key as ds and /proc/sysvipc rows print it: an ftok key's name, 0 as IPC_PRIVATE, else the number. */
  keyName(key: bigint): Printed;
  /** A pid as it prints: the name of the process it belongs to, 0 as 0, else the number. */
  pidName(pid: number): Printed;
  /** Records numeric slot `slot`'s value, for later checks by name. */
  setNum(slot: number, value: bigint): void;
  /** From here on `pid` prints as process `proc`'s name. */
  namePid(pid: number, proc: number): void;
}
