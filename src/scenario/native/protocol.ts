/**
 * The program text the native oracle reads on stdin (docs/oracle-protocol.md):
 * one line per statement, each built by its entry in the statement table.
 */
import type { Program } from '../parse/ast.js';
import { isEmulatedOnly, kindOf } from '../parse/table.js';

/**
 * The first statement the native backend cannot run, with why: the container
 * engine, its memory cgroups and the meminfo it reads exist only in the
 * emulator. Undefined when the whole program can run on the real kernel.
 */
export function emulatedOnly(program: Program): string | undefined {
  for (const s of program.statements) {
    const form = kindOf(s).native(s);
    if (isEmulatedOnly(form)) return `line ${s.line}: ${form.feature ?? s.op} is emulated only (${form.emulatedOnly})`;
  }
  return undefined;
}

/** Encodes `program` as the oracle's program text: one newline-terminated line per statement. */
export function encodeProgram(program: Program): string {
  return program.statements
    .map((s) => {
      const form = kindOf(s).native(s);
      // A runner checks emulatedOnly() first; reaching here with such a statement is a bug.
      if (isEmulatedOnly(form)) throw new Error(`${s.op} (line ${s.line}) is emulated only; check emulatedOnly() before encoding`);
      return `${[s.line, ...form].join(' ')}\n`;
    })
    .join('');
}
