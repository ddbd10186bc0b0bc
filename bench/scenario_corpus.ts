/**
 * The scenario-throughput row's corpus and its passes: the examples that run
 * on both backends (bench/scenario-corpus.txt, one file of examples/ a line),
 * parsed, run and normalized as `ipc-sentry run` does it, on the emulator in
 * this process or on the real kernel through the native oracle. A pass
 * returns how many statements it ran; a file that fails to parse, run or
 * meet its expectations stops the bench, since a rate of wrong answers
 * means nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { runOnEmulator } from '../src/scenario/host.js';
import { runOracle } from '../src/scenario/native/native.js';
import { encodeProgram } from '../src/scenario/native/protocol.js';
import type { Program } from '../src/scenario/parse/ast.js';
import { parseScenario } from '../src/scenario/parse/parse.js';
import { normalize } from '../src/scenario/result/normalize.js';
import type { NormalizedRun } from '../src/scenario/result/normalize.js';
import { ROOT } from './native.js';

/** One corpus file: its name under examples/ and its text (read once, before any timing). */
export interface CorpusFile {
  readonly file: string;
  readonly text: string;
}

/**
 * A `limit` that picks the corpus's tmpfs lessons (tmpfs-*.scn) alone. They
 * move bulk data (dd of up to 64 MiB from /dev/zero, fallocate, fills of a
 * size-limited tmpfs), about 150 MiB a pass, which both sides copy through
 * memory at much the same speed; the others are calls. The bench reports
 * the two parts as rows of their own beside the whole corpus's.
 */
export const TMPFS_PART = -1;
/** A `limit` that picks every file of the corpus but its tmpfs lessons. */
export const CALLS_PART = -2;

const isTmpfsLesson = (file: string): boolean => file.startsWith('tmpfs-');

/**
 * The corpus, in bench/scenario-corpus.txt's order (blank lines and `#`
 * comments skipped): its first `limit` files when limit > 0; one of its
 * parts for TMPFS_PART or CALLS_PART; all of it for 0.
 */
export function loadCorpus(limit = 0): readonly CorpusFile[] {
  const list = readFileSync(join(ROOT, 'bench', 'scenario-corpus.txt'), 'utf8');
  const files = list
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const picked =
    limit === TMPFS_PART
      ? files.filter(isTmpfsLesson)
      : limit === CALLS_PART
        ? files.filter((f) => !isTmpfsLesson(f))
        : files.slice(0, limit > 0 ? limit : undefined);
  return picked.map((file) => ({ file, text: readFileSync(join(ROOT, 'examples', file), 'utf8') }));
}

function parsed(c: CorpusFile): Program {
  const p = parseScenario(c.text, c.file);
  if (E.isLeft(p)) throw new Error(`${c.file} does not parse: ${p.left[0]?.message ?? ''}`);
  return p.right;
}

function checked(c: CorpusFile, run: NormalizedRun, statements: number): void {
  if (run.lines.length !== statements) throw new Error(`${c.file}: ${run.lines.length} lines for ${statements} statements`);
  const f = run.failures[0];
  if (f !== undefined) throw new Error(`${c.file}:${f.line}: wanted ${f.wanted}, got ${f.got}`);
}

/** One pass on the emulator: parse, run (lines normalized as they come), dispose the kernel. */
export function emulatedCorpusPass(corpus: readonly CorpusFile[]): number {
  let statements = 0;
  for (const c of corpus) {
    const program = parsed(c);
    const { run, emulated } = runOnEmulator(program);
    emulated.kernel.dispose();
    checked(c, run, program.statements.length);
    statements += program.statements.length;
  }
  return statements;
}

/** One pass on the real kernel: parse, encode, one oracle process per file, normalize. */
export function nativeCorpusPass(corpus: readonly CorpusFile[]): number {
  let statements = 0;
  for (const c of corpus) {
    const program = parsed(c);
    const raws = runOracle(encodeProgram(program));
    if (E.isLeft(raws)) {
      const why = raws.left.kind === 'unavailable' ? raws.left.reason : raws.left.message;
      throw new Error(raws.left.kind === 'unavailable' ? `the native side cannot run here: ${why}` : `${c.file}: ${why}`);
    }
    checked(c, normalize(program, raws.right), program.statements.length);
    statements += program.statements.length;
  }
  return statements;
}
