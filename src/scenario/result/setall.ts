/**
 * The language's run-time rule for SETALL (docs/scenario-language.md,
 * Semaphores and message queues): `NAME semctl ID SEMNUM SETALL V,V,...`
 * lists one value per semaphore of the set ID names. Which set that is, and
 * so how many values it takes, is known only when the statement runs, so
 * each backend learns the set's size just before the call, without any
 * permission check, and the run stops there with a scenario error when the
 * counts differ. An id that names no set goes to the kernel unchecked: its
 * EINVAL or EIDRM is the statement's answer.
 */
import type { Program, SemctlStmt, Statement } from '../parse/ast.js';

/** A `semctl … SETALL V,V,...` statement (the command named, so it carries its values). */
export type SetallStatement = SemctlStmt & { readonly vals: readonly number[] };

/** True for a statement the SETALL rule applies to. */
export function isSetall(s: Statement): s is SetallStatement {
  return s.op === 'semctl' && s.vals !== undefined;
}

/** How the statement names its set: the variable, or the literal id. */
function setName(program: Program, s: SetallStatement): string {
  return s.id.kind === 'slot' ? (program.numVars[s.id.slot] ?? `#${s.id.slot}`) : `id ${s.id.value}`;
}

/**
 * Why `s` may not run against a set of `nsems` semaphores, or undefined
 * when its list has exactly that many values. Both backends stop with this
 * message, so their stderr agrees.
 */
export function setallRefusal(program: Program, s: SetallStatement, nsems: number): string | undefined {
  const given = s.vals.length;
  if (given === nsems) return undefined;
  const values = given === 1 ? '1 value' : `${given} values`;
  const sems = nsems === 1 ? '1 semaphore' : `${nsems} semaphores`;
  return `${program.procNames[s.proc]} semctl: SETALL lists ${values}, but set ${setName(program, s)} has ${sems}; list exactly one value per semaphore`;
}
