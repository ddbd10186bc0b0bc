/**
 * Conformance report: runs every examples/*.scn on the emulator and on the
 * real kernel (native oracle), and writes CONFORMANCE.md at the repository
 * root with one row per example, the totals, and the last recorded
 * differential fuzzing run (.cache/fuzz-summary.json, written by the fuzzer).
 * It also writes web/recorded.json: each example's normalized lines on the
 * real kernel (or why it did not run there) and the facts of the machine
 * that ran them, which the teaching page ships and shows beside its own
 * emulated run (so the page needs no oracle, offline or in CI).
 *
 *   npm run conformance
 *
 * Exit status: 0 when the report was written (whatever it says), 2 when an
 * example does not parse (nothing is written).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import type { Program } from '../src/scenario/parse/ast.js';
import { loadScenario, runOnEmulator, runOnKernel } from '../src/scenario/host.js';
import { nativeAvailable } from '../src/scenario/native/native.js';
import { formatParseError } from '../src/scenario/parse/parse.js';
import { canonical } from '../src/scenario/result/normalize.js';
import type { NormalizedRun, OutputLine } from '../src/scenario/result/normalize.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = join(ROOT, 'examples');
const REPORT = join(ROOT, 'CONFORMANCE.md');
const FUZZ_SUMMARY = join(ROOT, '.cache', 'fuzz-summary.json');
const RECORDED = join(ROOT, 'web', 'recorded.json');

/** Whether this CPU has protection keys enabled (cpuinfo flags pku and ospke), or null where /proc does not say. */
function protectionKeys(): boolean | null {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
    return flags.includes('pku') && flags.includes('ospke');
  } catch {
    return null;
  }
}

/** A /proc/meminfo field in bytes, or null where /proc does not say. */
function meminfoBytes(field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/**
 * web/recorded.json: per example, the real kernel's lines (the `expect`
 * notes kept, as the page shows them) or the reason it did not run, with
 * the machine's facts. Keys are sorted, so a rerun on the same machine
 * changes only the date and what the kernel printed differently.
 */
function writeRecorded(rows: readonly Row[], date: string): void {
  const examples: Record<string, unknown> = {};
  for (const r of rows) {
    examples[r.name] = E.isRight(r.native)
      ? { lines: r.native.right.lines, failures: r.native.right.failures.map((f) => f.line) }
      : { unavailable: r.native.left };
  }
  const machine = {
    date,
    kernel: `Linux ${release()}`,
    arch: arch(),
    node: process.version,
    protectionKeys: protectionKeys(),
    // The emulator is sized by these as on the recording machine: overcommit (MemTotal + SwapTotal) and tmpfs's default inode count.
    memTotalBytes: meminfoBytes('MemTotal'),
    swapTotalBytes: meminfoBytes('SwapTotal'),
  };
  // One example a line: small enough to ship, and a rerun's diff names the examples that changed.
  const body = Object.entries(examples).map(([name, v]) => `${JSON.stringify(name)}:${JSON.stringify(v)}`);
  writeFileSync(RECORDED, `{"machine":${JSON.stringify(machine)},\n"examples":{\n${body.join(',\n')}\n}}\n`);
}

/** One example's outcome on both backends. */
interface Row {
  readonly name: string;
  readonly statements: number;
  readonly expectations: number;
  readonly emulated: NormalizedRun;
  /** The kernel's run, or why there is none. */
  readonly native: E.Either<string, NormalizedRun>;
  /** Scenario lines where the two backends printed different answers. */
  readonly differing: readonly number[];
}

/** A line without its `expect` note: the backend's answer only. */
function answer(line: OutputLine | undefined): string {
  if (line === undefined) return '';
  const { expect: _note, ...rest } = line;
  return canonical(rest);
}

function differingLines(emu: NormalizedRun, nat: NormalizedRun): number[] {
  const out: number[] = [];
  const n = Math.max(emu.lines.length, nat.lines.length);
  for (let i = 0; i < n; i++) {
    const e = emu.lines[i];
    const k = nat.lines[i];
    if (answer(e) !== answer(k)) out.push(Number((e ?? k)?.['line'] ?? i + 1));
  }
  return out;
}

function runExample(name: string, program: Program, nativeOk: boolean, reason: string): Row {
  const emulated = runOnEmulator(program).run;
  const expectations = program.statements.filter((s) => s.expect !== undefined).length;
  let native: E.Either<string, NormalizedRun> = E.left(reason);
  if (nativeOk) {
    const r = runOnKernel(program);
    native = E.isRight(r) ? E.right(r.right) : E.left(r.left.kind === 'unavailable' ? `unavailable: ${r.left.reason}` : `oracle failure: ${r.left.message}`);
  }
  const differing = E.isRight(native) ? differingLines(emulated, native.right) : [];
  return { name, statements: program.statements.length, expectations, emulated, native, differing };
}

/** "12/12" expectations held, or the reason there is no run. */
function held(expectations: number, run: NormalizedRun): string {
  const ok = expectations - run.failures.length;
  const mark = run.failures.length === 0 ? '' : ` (failed at line ${run.failures.map((f) => f.line).join(', ')})`;
  return `${ok}/${expectations}${mark}`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The fuzz summary section: the recorded run, or a note that there is none. */
function fuzzSection(): string[] {
  const out = ['## Differential fuzzing', ''];
  if (!existsSync(FUZZ_SUMMARY)) {
    out.push('No fuzz run has been recorded yet (`.cache/fuzz-summary.json` does not exist).');
    return out;
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(FUZZ_SUMMARY, 'utf8'));
  } catch (e) {
    out.push(`\`.cache/fuzz-summary.json\` exists but cannot be read: ${(e as Error).message}`);
    return out;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    out.push('`.cache/fuzz-summary.json` exists but does not hold a JSON object.');
    return out;
  }
  const rec = data as Record<string, unknown>;
  const show = (v: unknown): string => (v === undefined ? '(missing)' : typeof v === 'string' ? v : JSON.stringify(v));
  out.push('From `.cache/fuzz-summary.json`:', '', '| field | value |', '| --- | --- |');
  // The summary's shape is scripts/fuzz_shards.ts's Summary: the campaign, then one entry per shard it covers.
  const campaign = (rec['campaign'] ?? {}) as Record<string, unknown>;
  const shards = Array.isArray(rec['shards']) ? (rec['shards'] as Array<Record<string, unknown>>) : [];
  out.push(`| date | ${cell(show(rec['date']))} |`, `| campaign seed | ${cell(show(campaign['seed']))} |`, `| shards | ${cell(show(campaign['shards']))} |`);
  // The mechanisms and blocking setting the commands below ran with (their defaults when the commands name none).
  if (campaign['mix'] !== undefined) out.push(`| mechanisms | ${cell(show(campaign['mix']))} |`);
  if (campaign['blocking'] !== undefined) out.push(`| blocking | ${cell(show(campaign['blocking']))} |`);
  for (const field of ['runs', 'statements', 'divergences']) out.push(`| ${field} | ${cell(show(rec[field]))} |`);
  out.push('', shards.length === 1 ? 'Command:' : 'Commands (one per shard):', '', '```sh', ...shards.map((s) => show(s['command'])), '```');
  return out;
}

function main(): number {
  const names = readdirSync(EXAMPLES)
    .filter((n) => n.endsWith('.scn'))
    .sort();
  const programs: [string, Program][] = [];
  let parseErrors = 0;
  for (const name of names) {
    const p = loadScenario(join(EXAMPLES, name));
    if (E.isLeft(p)) {
      for (const e of p.left) console.error(formatParseError(e));
      parseErrors++;
    } else {
      programs.push([name, p.right]);
    }
  }
  if (parseErrors > 0) {
    console.error(`${parseErrors} example(s) do not parse; CONFORMANCE.md was not written`);
    return 2;
  }

  const avail = nativeAvailable();
  const nativeOk = E.isRight(avail);
  const reason = E.isLeft(avail) ? `native backend unavailable: ${avail.left}` : '';
  const rows = programs.map(([name, program]) => runExample(name, program, nativeOk, reason));

  const nativeRuns = rows.filter((r) => E.isRight(r.native)).length;
  const agreeing = rows.filter((r) => E.isRight(r.native) && r.differing.length === 0).length;
  const differingStatements = rows.reduce((n, r) => n + r.differing.length, 0);
  const statements = rows.reduce((n, r) => n + r.statements, 0);
  const expectations = rows.reduce((n, r) => n + r.expectations, 0);
  const heldEmu = rows.reduce((n, r) => n + r.expectations - r.emulated.failures.length, 0);
  const heldNat = rows.reduce((n, r) => n + (E.isRight(r.native) ? r.expectations - r.native.right.failures.length : 0), 0);
  const expectationsNat = rows.reduce((n, r) => n + (E.isRight(r.native) ? r.expectations : 0), 0);

  const date = new Date().toISOString();
  const md: string[] = [
    '# Conformance report',
    '',
    'Generated by `npm run conformance` (scripts/conformance.ts): every scenario in `examples/` runs on the',
    'emulator and on the real kernel through the native oracle, and the normalized output lines of the two',
    'are compared field by field (the `expect` note aside). Expectations are the ones written in each file.',
    '',
    `- Date: ${date}`,
    `- Machine: Linux ${release()} (${arch()}), Node ${process.version}`,
    `- Native backend: ${nativeOk ? 'available' : reason}`,
    '',
    '## Examples',
    '',
    '| example | statements | expectations | emulated vs native | held (emulated) | held (native) |',
    '| --- | ---: | ---: | --- | --- | --- |',
  ];
  for (const r of rows) {
    const versus = E.isLeft(r.native) ? `not run: ${r.native.left}` : r.differing.length === 0 ? 'agree' : `**differ** (line ${r.differing.join(', ')})`;
    const nat = E.isLeft(r.native) ? 'n/a' : held(r.expectations, r.native.right);
    md.push(`| [${r.name}](examples/${r.name}) | ${r.statements} | ${r.expectations} | ${cell(versus)} | ${held(r.expectations, r.emulated)} | ${nat} |`);
  }
  md.push(
    '',
    '## Totals',
    '',
    `- Examples: ${rows.length}; statements: ${statements}; expectations: ${expectations}`,
    `- Emulated vs native: ${agreeing} of ${nativeRuns} examples run on both backends agree` +
      (nativeRuns > 0 ? `; ${differingStatements} statement(s) differ` : ''),
    `- Expectations held on the emulator: ${heldEmu} of ${expectations}`,
    `- Expectations held on the real kernel: ${nativeRuns > 0 ? `${heldNat} of ${expectationsNat}` : 'n/a'}`,
    '',
    ...fuzzSection(),
    '',
  );
  writeFileSync(REPORT, md.join('\n'));
  // Only a run that reached the kernel is worth shipping: without the oracle the page keeps its last recording.
  if (nativeOk) writeRecorded(rows, date);
  console.log(
    `CONFORMANCE.md: ${rows.length} examples, ${agreeing}/${nativeRuns} agree, ` +
      `expectations held ${heldEmu}/${expectations} emulated, ${nativeRuns > 0 ? `${heldNat}/${expectationsNat}` : 'n/a'} native`,
  );
  return 0;
}

process.exitCode = main();
