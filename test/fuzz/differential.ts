/**
 * The differential property shared by the vitest test and scripts/fuzz.ts:
 * one scenario text runs on the emulator and on the real kernel, and the two
 * normalized outputs must agree line by line, compared as parsed JSON.
 */
import * as E from 'fp-ts/lib/Either.js';
import { runOnEmulator, runOnKernel } from '../../src/scenario/host.js';
import { canonical } from '../../src/scenario/result/normalize.js';
import type { OutputLine } from '../../src/scenario/result/normalize.js';
import { formatParseError, parseScenario } from '../../src/scenario/parse/parse.js';

export { canonical };

/** Where the backends first disagree. */
export interface Divergence {
  /** The scenario line of the first differing statement. */
  readonly line: number | undefined;
  readonly native: OutputLine | undefined;
  readonly emulated: OutputLine | undefined;
}

/** The first differing output line of two runs, or undefined when they agree. */
export function firstDifference(native: readonly OutputLine[], emulated: readonly OutputLine[]): Divergence | undefined {
  const n = Math.max(native.length, emulated.length);
  for (let i = 0; i < n; i++) {
    const a = native[i];
    const b = emulated[i];
    if (canonical(a) !== canonical(b)) {
      const line = (a?.['line'] ?? b?.['line']) as number | undefined;
      return { line, native: a, emulated: b };
    }
  }
  return undefined;
}

/**
 * The failure message for a divergence: the scenario file, ready to run as it
 * is, then the two differing lines as comments (so the file still parses).
 */
export function divergenceReport(text: string, d: Divergence): string {
  const show = (l: OutputLine | undefined): string => (l === undefined ? '(no line)' : JSON.stringify(l));
  return [
    'the emulator diverges from the kernel on this scenario:',
    '',
    text.trimEnd(),
    `# first divergence at line ${d.line ?? '?'}:`,
    `# native:   ${show(d.native)}`,
    `# emulated: ${show(d.emulated)}`,
    '',
  ].join('\n');
}

/** Thrown when the backends disagree; the message is the report above. */
export class DivergenceError extends Error {
  constructor(
    readonly text: string,
    readonly divergence: Divergence,
  ) {
    super(divergenceReport(text, divergence));
    this.name = 'DivergenceError';
  }
}

/**
 * Runs `text` on both backends and throws a DivergenceError when they
 * disagree. A parse failure, an oracle failure or a refusal (NativeUnavailable)
 * of a single scenario throws too: none is a pass, and each is a bug of the
 * generator or of the oracle to report.
 */
export function checkScenario(text: string): void {
  const parsed = parseScenario(text, 'fuzz.scn');
  if (E.isLeft(parsed)) throw new Error(`generated scenario does not parse:\n${parsed.left.map(formatParseError).join('\n')}\n${text}`);
  const native = runOnKernel(parsed.right);
  if (E.isLeft(native)) {
    if (native.left.kind === 'scenario') checkBeforeStop(text, native.left.line);
    const why = native.left.kind === 'unavailable' ? `refused it (NativeUnavailable): ${native.left.reason}` : `failed: ${native.left.message}`;
    throw new Error(`the native oracle ${why}\n${text}`);
  }
  const emulated = runOnEmulator(parsed.right).run;
  const d = firstDifference(native.right.lines, emulated.lines);
  if (d !== undefined) throw new DivergenceError(text, d);
}

/**
 * A native run that stopped at a run-time scenario error at line N (`wait`
 * on a process with no blocked call, a statement naming a blocked process)
 * follows the emulator's idea of which calls block, which the
 * generator went by; the kernel thought otherwise at some earlier line.
 * Runs the statements before line N on both backends and throws the
 * DivergenceError of that shorter scenario, if they differ there.
 */
function checkBeforeStop(text: string, line: number): void {
  const prefix = `${text
    .split('\n')
    .slice(0, line - 1)
    .join('\n')}\n`;
  const parsed = parseScenario(prefix, 'fuzz.scn');
  if (E.isLeft(parsed)) return;
  const native = runOnKernel(parsed.right);
  if (E.isLeft(native)) return;
  const d = firstDifference(native.right.lines, runOnEmulator(parsed.right).run.lines);
  if (d !== undefined) throw new DivergenceError(prefix, d);
}
