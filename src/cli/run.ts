/**
 * `ipc-sentry run` and `ipc-sentry diff`: scenario files on the command line.
 * Exit statuses: 0 ran, 1 an expectation failed (with --check) or the
 * backends differ (diff), 2 a file cannot be parsed (nothing runs), 3 the
 * native backend cannot run here, 4 the native backend failed internally.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BackendName, LoadOptions, RunOptions, RunProblem } from '../scenario/host.js';
import { describeLineStop, runOn, streamOn } from '../scenario/host.js';
import type { OutputLine } from '../scenario/result/normalize.js';
import { canonical } from '../scenario/result/normalize.js';
import { emulatedOnly } from '../scenario/native/protocol.js';
import { loadAll } from './scenario.js';
import type { TraceTarget, TraceWriter } from './trace.js';
import type { Program } from '../scenario/parse/ast.js';
import { openTrace } from './trace.js';

/**
 * Reports why a backend did not run; returns the exit status (3 unavailable,
 * 4 failed). A limit of this machine met at one statement (the emulator's
 * memory, the native budget) is reported as FILE:LINE.
 */
function backendProblem(backend: BackendName, problem: RunProblem, file: string): number {
  if ('line' in problem) {
    const { text, status } = describeLineStop(backend, file, problem);
    process.stderr.write(text);
    return status;
  }
  const unavailable = problem.kind === 'unavailable';
  const text = unavailable ? problem.reason : problem.message;
  process.stderr.write(`ipc-sentry: ${backend} backend ${unavailable ? 'cannot run here' : 'failed'}: ${text.trim()}\n`);
  return unavailable ? 3 : 4;
}

/** What run and diff are told on the command line besides the files. */
export type RunLimits = LoadOptions & RunOptions;

/**
 * `run [--backend emulated|native] [--check] [--trace[=PATH|json]] FILE...`:
 * each line is printed as its statement finishes (so a run stopped by a
 * limit has printed every line before the statement that met it), and with
 * `trace` the emulated kernel's trace as it happens (cli/trace.ts).
 */
export async function runCommand(files: readonly string[], backend: BackendName, check: boolean, limits: RunLimits = {}, trace?: TraceTarget): Promise<number> {
  const loaded = loadAll(files, limits);
  if (loaded === undefined) return 2;
  const tracing = trace === undefined ? undefined : openTrace(trace);
  if (tracing !== undefined && E.isLeft(tracing)) {
    process.stderr.write(`ipc-sentry: ${tracing.left}\n`);
    return 2;
  }
  const writer = tracing?.right;
  try {
    return await runLoaded(loaded, backend, check, limits, writer);
  } finally {
    writer?.close();
  }
}

async function runLoaded(
  loaded: Array<[string, Program]>,
  backend: BackendName,
  check: boolean,
  limits: RunLimits,
  writer: TraceWriter | undefined,
): Promise<number> {
  let status = 0;
  for (const [file, program] of loaded) {
    const session = writer?.session(program);
    const r = await streamOn(
      backend,
      program,
      (line, failure) => {
        process.stdout.write(`${JSON.stringify(line)}\n`);
        if (check && failure !== undefined) {
          process.stderr.write(`${file}:${failure.line}: expectation failed: wanted ${failure.wanted}, got ${failure.got}\n`);
          status = 1;
        }
      },
      session === undefined ? limits : { ...limits, emulator: session.hooks },
    );
    session?.end();
    if (E.isLeft(r)) return backendProblem(backend, r.left, file);
  }
  return status;
}

/** Two output lines are the same when they are equal as parsed JSON, field by field. */
function sameLine(a: OutputLine | undefined, b: OutputLine | undefined): boolean {
  return canonical(a) === canonical(b);
}

/**
 * `diff FILE...`: runs each file on both backends and shows every statement
 * where they disagree. A file the native backend cannot run by its nature
 * (emulated-only statements) is skipped with a note; exit 3 stays for a
 * machine where the native backend cannot run at all.
 */
export function diffCommand(files: readonly string[], limits: RunLimits = {}): number {
  const loaded = loadAll(files, limits);
  if (loaded === undefined) return 2;
  let differ = false;
  let compared = 0;
  let skipped = 0;
  for (const [file, program] of loaded) {
    const only = emulatedOnly(program);
    if (only !== undefined) {
      process.stdout.write(`${file}: skipped, ${only}\n`);
      skipped += 1;
      continue;
    }
    const native = runOn('native', program, limits);
    if (E.isLeft(native)) return backendProblem('native', native.left, file);
    const emulated = runOn('emulated', program);
    if (E.isLeft(emulated)) return backendProblem('emulated', emulated.left, file);
    compared += 1;
    const a = emulated.right.lines;
    const b = native.right.lines;
    let same = 0;
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if (sameLine(a[i], b[i])) {
        same += 1;
        continue;
      }
      differ = true;
      process.stdout.write(
        `${file}:${a[i]?.['line'] ?? b[i]?.['line']}: backends differ\n  emulated: ${JSON.stringify(a[i])}\n  native:   ${JSON.stringify(b[i])}\n`,
      );
    }
    process.stdout.write(`${file}: ${same} of ${program.statements.length} statements agree\n`);
  }
  if (loaded.length > 1) process.stdout.write(`${compared} files compared, ${skipped} skipped (emulated only)${differ ? ', backends differ' : ''}\n`);
  return differ ? 1 : 0;
}
