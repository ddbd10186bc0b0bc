/**
 * The kernel's Web Worker. It parses the scenario the page sends and, for
 * each `goto N`, runs the first N statements on a fresh emulated kernel and
 * posts what the page shows: the output lines, the kernel's state after
 * statement N, and the trace.
 *
 * Stepping back reruns the shorter prefix rather than restoring a
 * checkpoint: a scenario run is deterministic here (the scenario clock
 * stands still, and the wall clock is pinned to one second per loaded
 * file), so the prefix gives exactly the kernel the step had, including the
 * bound variables and blocked calls that live in the runner, not in the
 * kernel image. The lessons are tens of statements, so a rerun costs
 * milliseconds.
 */
import * as E from 'fp-ts/lib/Either.js';
import { setDefaultClock } from '../../src/kernel/clock.js';
import type { Program } from '../../src/scenario/parse/ast.js';
import { runEmulated } from '../../src/scenario/emulated/emulated.js';
import type { EmulatedOptions, EmulatedRun } from '../../src/scenario/emulated/emulated.js';
import { lexLine } from '../../src/scenario/parse/lexer.js';
import { parseScenario } from '../../src/scenario/parse/parse.js';
import { ScenarioError } from '../../src/scenario/result/blocking.js';
import { incrementalNormalizer } from '../../src/scenario/result/normalize.js';
import type { RawResult } from '../../src/scenario/result/raw.js';
import { kernelView, processNames } from './model.js';
import type { FromWorker, MachineFacts, StatementInfo, ToWorker } from './protocol.js';
import { traceHook } from './trace.js';

interface Loaded {
  readonly program: Program;
  readonly options: EmulatedOptions;
  /** The wall-clock second every run of this file reads (shm_ctime and the like). */
  readonly second: number;
}

let loaded: Loaded | undefined;

const post = (m: FromWorker): void => (self as unknown as { postMessage(m: FromWorker): void }).postMessage(m);

/** A statement's source line without its expectation, for the page's list. */
function statementText(source: string): string {
  const lexed = lexLine(source);
  if (!lexed.ok) return source.trim();
  const arrow = lexed.tokens.find((t) => t.str === undefined && t.text === '=>');
  // Columns count code points, not UTF-16 units.
  return (
    arrow === undefined
      ? source
      : Array.from(source)
          .slice(0, arrow.col - 1)
          .join('')
  ).trim();
}

/** The emulator sized like the machine that recorded the kernel's lines, so both answer the same questions alike. */
function optionsFor(machine: MachineFacts): EmulatedOptions {
  const mem = machine.memTotalBytes ?? undefined;
  const commit = mem === undefined ? undefined : mem + (machine.swapTotalBytes ?? 0);
  return {
    ...(commit !== undefined ? { memTotalBytes: commit } : {}),
    ...(mem !== undefined ? { ramBytes: mem } : {}),
    ...(machine.protectionKeys !== null ? { executeOnly: machine.protectionKeys } : {}),
  };
}

function load(file: string, source: string, machine: MachineFacts): void {
  const parsed = parseScenario(source, file);
  if (E.isLeft(parsed)) {
    loaded = undefined;
    post({ type: 'parse-error', file, errors: parsed.left.map((e) => ({ line: e.line, col: e.col, message: e.message })) });
    return;
  }
  const program = parsed.right;
  const lines = source.replace(/^\uFEFF/, '').split('\n');
  const statements: StatementInfo[] = program.statements.map((s) => ({ line: s.line, text: statementText(lines[s.line - 1] ?? '') }));
  loaded = { program, options: optionsFor(machine), second: Math.floor(Date.now() / 1000) };
  post({ type: 'parsed', file, statements });
}

function goto(count: number): void {
  if (loaded === undefined) return;
  const { program, options, second } = loaded;
  const n = Math.max(0, Math.min(count, program.statements.length));
  const prefix: Program = { ...program, statements: program.statements.slice(0, n) };
  setDefaultClock(() => second);
  const normalizer = incrementalNormalizer(program);
  const raws: RawResult[] = [];
  const trace = traceHook(program);
  const started = performance.now();
  let run: EmulatedRun | undefined;
  let stop: { line: number; reason: string } | undefined;
  try {
    run = runEmulated(prefix, {
      ...options,
      ...trace.options,
      onResult: (raw) => {
        raws.push(raw);
        normalizer.push(raw);
        trace.endStatement();
      },
    });
  } catch (e) {
    const line = program.statements[raws.length]?.line ?? 0;
    if (e instanceof ScenarioError) stop = { line: e.line, reason: e.reason };
    else if (e instanceof RangeError) stop = { line, reason: `the browser could not give the emulator the memory this statement needs (${e.message})` };
    else throw e;
  }
  const ms = performance.now() - started;
  const ran = program.statements.slice(0, raws.length);
  const view = run === undefined ? undefined : kernelView(run.kernel, processNames(program, ran, raws));
  post({
    type: 'state',
    count: raws.length,
    lines: normalizer.run.lines,
    failures: normalizer.run.failures.map((f) => ({ line: f.line, wanted: f.wanted, got: f.got })),
    view: view ?? { processes: [], namespaces: [], frames: { allocated: 0, owners: [], unattributed: 0 }, mounts: [], cgroups: [] },
    trace: trace.statements(),
    ...(stop === undefined ? {} : { stop }),
    ms,
  });
  run?.kernel.dispose();
}

self.onmessage = (ev: MessageEvent<ToWorker>): void => {
  const m = ev.data;
  try {
    if (m.type === 'load') load(m.file, m.source, m.machine);
    else goto(m.count);
  } catch (e) {
    // A throw from the emulator is a broken invariant: say so rather than leave the page waiting.
    post({ type: 'crash', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
};
