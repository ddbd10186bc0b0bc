/**
 * `npm run bench [-- --quick] [-- --json FILE] [-- --only NAME[,NAME...]] [-- --same-process]`
 *
 * Measures every row on ipc-sentry and on the machine's own kernel in the
 * same run (bench/native/shmbench.c, in a fresh IPC namespace), prints a
 * table (operation, native, ipc-sentry, ratio; ratio > 1 means ipc-sentry is
 * faster) and, with --json, writes the rows as
 * [{name, unit, native, emulated, ratio}, ...]. Progress goes to stderr.
 *
 * A row's native and ipc-sentry samples alternate, one of each per round
 * (the native side is a shmbench serving one sample per request), so that
 * both see the machine in the same state: this VM's speed changes by up to
 * 2x from one second to the next. Each side runs an untimed sample just
 * before each timed one, because each has sat idle while the other ran,
 * and a vCPU that has idled runs the next tens of milliseconds slower.
 *
 * Each rate and scale row runs in a node process of its own (this script
 * again, with --one-row), as JMH forks a JVM per benchmark: in one process,
 * the rows run before a row leave the optimizer's type feedback on every
 * function they share with it (argument checks, result tests, lookups), and
 * a row's figure then depends on its place in the table. --same-process
 * runs every row in this process instead, in table order.
 *
 * --quick runs tiny operation counts and one sample: a smoke pass that
 * checks the harness works. Its numbers mean nothing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, release, type } from 'node:os';
import type { CheckpointReport } from './checkpoint.js';
import { isWorkerTest, prepareEmulated, runEmulated } from './emulated.js';
import type { Result, TestName, WorkerTestName } from './emulated.js';
import { median } from './stats.js';
import type { Sampler } from './stats.js';
import { runChild } from './child.js';
import { NativeServer, ensureShmbench, runNative } from './native.js';
import { ROWS, meetsTarget, renderTable } from './rows.js';
import type { Sizing } from './rows.js';
import type { JsonRow, Row } from './rows.js';

interface Options {
  readonly quick: boolean;
  readonly json: string | undefined;
  readonly only: ReadonlySet<string> | undefined;
  /** Every row in this process (no child per row). */
  readonly sameProcess: boolean;
  /** Set in a row's own process: the one row to measure, printed as JSON on stdout. */
  readonly oneRow: string | undefined;
}

const USAGE = 'usage: npm run bench -- [--quick] [--json FILE] [--only NAME,...] [--same-process]';

function parseArgs(argv: readonly string[]): Options {
  let quick = false;
  let json: string | undefined;
  let only: Set<string> | undefined;
  let sameProcess = false;
  let oneRow: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--json') json = argv[++i];
    else if (a === '--only') only = new Set((argv[++i] ?? '').split(','));
    else if (a === '--same-process') sameProcess = true;
    else if (a === '--one-row') {
      oneRow = argv[++i] ?? '';
      only = new Set([oneRow]);
    } else {
      process.stderr.write(`${USAGE}\nunknown argument ${String(a)}\n`);
      process.exit(2);
    }
  }
  if (json === undefined && argv.includes('--json')) {
    process.stderr.write('--json needs a file name\n');
    process.exit(2);
  }
  if (only !== undefined) {
    for (const n of only) {
      if (!ROWS.some((r) => r.name === n)) {
        process.stderr.write(`no row named ${n}; rows: ${ROWS.map((r) => r.name).join(', ')}\n`);
        process.exit(2);
      }
    }
  }
  return { quick, json, only, sameProcess, oneRow };
}

/** Runs the rate or scale row `name` in a node process of its own (this script with --one-row): its JSON row. */
function rowInChild(name: string, quick: boolean): JsonRow {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--one-row', name, ...(quick ? ['--quick'] : [])];
  // Progress (stderr) goes straight through; stdout is the row.
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (run.status !== 0) throw new Error(`the ${name} row's process failed (${String(run.status ?? run.signal)})`);
  return JSON.parse(run.stdout) as JsonRow;
}

const tty = process.stderr.isTTY === true;
function progress(text: string): void {
  if (tty) process.stderr.write(`\r\x1b[K${text}`);
  else process.stderr.write(`${text}\n`);
}

/** The machine, for the table's header and BENCHMARKS.md. */
function machine(): string {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1] !== undefined) cpu = m[1];
  } catch {
    // not Linux: os.cpus() it is
  }
  const uname = spawnSync('uname', ['-srvm'], { encoding: 'utf8' });
  const kernel = uname.status === 0 ? uname.stdout.trim() : `${type()} ${release()}`;
  return `${kernel}; ${cpu} × ${cpus().length}; node ${process.version}`;
}

/** What the memory child (bench/memory.ts) prints. */
interface MemoryReport {
  readonly freshKernelSabBytes: number;
  readonly freshKernelReportedBytes: number;
  readonly freshKernelArrayBufferBytes: number;
  readonly untouchedBytes: number;
  readonly untouchedFrames: number;
  readonly untouchedReserved: number;
  readonly touchedBytesPerPage: number;
}

function runMemory(quick: boolean): MemoryReport {
  // The untouched figure is a heap delta over many segments: with too few, GC
  // jitter (±tens of KiB) outweighs ~1 KiB per segment, so --quick keeps 200
  // (they are cheap: nothing is touched) and only shrinks the touched part.
  return runChild<MemoryReport>('memory.ts', ['--expose-gc'], quick ? ['200', '16'] : ['200', '256'], 120_000);
}

/**
 * glibc's tunable that has malloc ask for transparent huge pages
 * (madvise(MADV_HUGEPAGE)) on the memory it maps (glibc 2.35 and later;
 * older ones ignore it). Every image and every restored kernel's memory is
 * a fresh allocation of hundreds of MiB; with 4 KiB pages, the host's page
 * faults on it alone run at about 1 GiB/s on this VM.
 */
const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/** The checkpoint rows, in a child process: with huge pages for large allocations (`hugePages`) or without. */
function runCheckpoint(quick: boolean, hugePages: boolean): CheckpointReport {
  const inherited = process.env.GLIBC_TUNABLES;
  const tunables = hugePages ? [inherited, HUGE_PAGES_TUNABLE].filter((t) => t !== undefined && t !== '').join(':') : inherited;
  const env = { ...process.env };
  if (tunables === undefined) delete env.GLIBC_TUNABLES;
  else env.GLIBC_TUNABLES = tunables;
  return runChild<CheckpointReport>('checkpoint_child.ts', [], quick ? ['16', '1'] : ['256', '5'], 300_000, env);
}

/** One size of one test on both sides: a native server (absent when the native side cannot run) and an ipc-sentry sampler. */
interface Side {
  readonly native: NativeServer | undefined;
  readonly emulated: Sampler;
}

/**
 * `samples` rounds over `sides`: in each, a native sample of every side,
 * then an ipc-sentry sample of every side, each after an untimed one.
 * Closes the servers; returns each side's medians (native null without a
 * server).
 */
async function alternate(sides: readonly Side[], samples: number, tag: string): Promise<Array<{ native: number | null; emulated: number }>> {
  const nr = sides.map((): number[] => []);
  const er = sides.map((): number[] => []);
  for (let k = 0; k < samples; k++) {
    progress(`${tag}: round ${k + 1}/${samples}…`);
    for (const [j, side] of sides.entries()) if (side.native !== undefined) nr[j]!.push(await side.native.sample());
    for (const [j, side] of sides.entries()) {
      side.emulated.sample();
      er[j]!.push(side.emulated.sample());
    }
  }
  for (const side of sides) await side.native?.close();
  return sides.map((side, j) => ({ native: side.native === undefined ? null : median(nr[j]!), emulated: median(er[j]!) }));
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const samples = opts.quick ? 1 : 9;
  const rows = ROWS.filter((r) => opts.only === undefined || opts.only.has(r.name));
  const header = `ipc-sentry benchmark${opts.quick ? ' (--quick: smoke pass, numbers mean nothing)' : ''}\n${machine()}`;

  let nativeProblem: string | undefined;
  try {
    ensureShmbench();
  } catch (e) {
    nativeProblem = (e as Error).message;
    process.stderr.write(`warning: native side unavailable (${nativeProblem}); native columns are empty\n`);
  }
  // A machine without IPC namespaces: say so once and go on with ipc-sentry alone.
  const unavailable = (e: unknown): undefined => {
    const msg = (e as Error).message;
    if (!msg.startsWith('the native side cannot run here')) throw e;
    nativeProblem = msg;
    process.stderr.write(`warning: ${msg}; native columns are empty\n`);
    return undefined;
  };
  const native = (test: TestName, ops: number, param: number): Result | undefined => {
    if (nativeProblem !== undefined) return undefined;
    try {
      return runNative(test, ops, samples, param);
    } catch (e) {
      return unavailable(e);
    }
  };
  const server = async (test: TestName, ops: number, param: number): Promise<NativeServer | undefined> => {
    if (nativeProblem !== undefined) return undefined;
    try {
      // The scenario corpus runs natively through the oracle, from a node child of its own (bench/scenario_native.ts).
      if (test === 'scenario-throughput') return await NativeServer.startScript(test, 'scenario_native.ts', [String(ops), String(param)]);
      return await NativeServer.start(test, ops, param);
    } catch (e) {
      return unavailable(e);
    }
  };
  // The server starts (a fork of this process) before ipc-sentry's warm-up.
  const side = async (test: Exclude<TestName, WorkerTestName>, ops: Sizing, param: number): Promise<Side> => {
    const native = await server(test, ops.native, param);
    return { native, emulated: prepareEmulated(test, ops.emulated, param) };
  };

  const results: Array<{ row: Row; r: JsonRow }> = [];
  let memory: MemoryReport | undefined;
  let checkpointReport: CheckpointReport | undefined;
  let smallPages: CheckpointReport | undefined;
  // A row in a process of its own unless it is the only one measured here.
  const ownProcess = !opts.sameProcess && opts.oneRow === undefined && rows.length > 1;
  for (const [i, row] of rows.entries()) {
    const tag = `[${i + 1}/${rows.length}] ${row.name}`;
    if (ownProcess && (row.kind === 'rate' || row.kind === 'scale')) {
      progress(`${tag}: own process…`);
      results.push({ row, r: rowInChild(row.name, opts.quick) });
    } else if (row.kind === 'rate') {
      const ops = opts.quick ? row.quickOps : row.ops;
      const param = opts.quick ? row.quickParam : row.param;
      let nm: number | null;
      let em: number;
      if (isWorkerTest(row.test)) {
        // Two threads in a child process each: not alternated.
        progress(`${tag}: native…`);
        nm = native(row.test, ops.native, param)?.median ?? null;
        progress(`${tag}: ipc-sentry…`);
        em = runEmulated(row.test, ops.emulated, samples, param).median;
      } else {
        progress(`${tag}: starting…`);
        const [r] = await alternate([await side(row.test, ops, param)], samples, tag);
        nm = r!.native;
        em = r!.emulated;
      }
      results.push({ row, r: { name: row.name, unit: row.unit, native: nm, emulated: em, ratio: nm === null ? null : em / nm } });
    } else if (row.kind === 'scale') {
      const base = opts.quick ? row.quickOps : row.ops;
      const scaled = opts.quick ? row.quickOps : row.scaledOps;
      if (isWorkerTest(row.test)) throw new Error(`scale row ${row.name} needs an in-process test`);
      // Both sizes on both sides, alternated.
      progress(`${tag}: starting…`);
      const [b, sc] = await alternate([await side(row.test, base, row.baseParam), await side(row.test, scaled, row.scaledParam)], samples, tag);
      const nf = b!.native === null || sc!.native === null ? null : sc!.native / b!.native;
      const ef = sc!.emulated / b!.emulated;
      results.push({ row, r: { name: row.name, unit: row.unit, native: nf, emulated: ef, ratio: ef } });
    } else if (row.kind === 'checkpoint') {
      progress(`${tag}: ipc-sentry…`);
      if (checkpointReport === undefined) {
        progress(`${tag}: ipc-sentry (child process, ${HUGE_PAGES_TUNABLE})…`);
        checkpointReport = runCheckpoint(opts.quick, true);
        progress(`${tag}: ipc-sentry (child process, 4 KiB pages)…`);
        smallPages = runCheckpoint(opts.quick, false);
      }
      const c = checkpointReport;
      const v =
        row.name === 'checkpoint-256mib'
          ? c.checkpointRate
          : row.name === 'restore-256mib'
            ? c.restoreRate
            : row.name === 'image-mostly-untouched'
              ? c.mostlyUntouchedImage
              : c.growthPerUntouchedGiB;
      results.push({ row, r: { name: row.name, unit: row.unit, native: null, emulated: v, ratio: null } });
    } else {
      progress(`${tag}: ipc-sentry${memory === undefined ? ' (child process with --expose-gc)' : ''}…`);
      memory ??= runMemory(opts.quick);
      const v =
        row.name === 'mem-fresh-kernel'
          ? memory.freshKernelSabBytes
          : row.name === 'mem-untouched-1gib'
            ? memory.untouchedBytes + memory.untouchedReserved
            : row.name === 'mem-untouched-1gib-frames'
              ? memory.untouchedFrames
              : memory.touchedBytesPerPage;
      results.push({ row, r: { name: row.name, unit: row.unit, native: null, emulated: v, ratio: null } });
    }
  }
  if (tty) process.stderr.write('\r\x1b[K');
  if (opts.oneRow !== undefined) {
    process.stdout.write(`${JSON.stringify(results[0]?.r)}\n`);
    return;
  }

  process.stdout.write(`${header}\n\n${renderTable(results)}\n`);
  if (memory !== undefined) {
    process.stdout.write(
      `\nmemory: ${memory.untouchedReserved} MemoryFile bytes reserved and ${memory.untouchedFrames} frames allocated per untouched 1 GiB segment; ` +
        `a fresh kernel that touched one page: ${memory.freshKernelSabBytes} SharedArrayBuffer bytes made, ${memory.freshKernelReportedBytes} by kernel.memoryUsage(), ` +
        `${memory.freshKernelArrayBufferBytes} ArrayBuffer bytes of every kind (process.memoryUsage)\n`,
    );
  }
  if (smallPages !== undefined) {
    const gib = (rate: number): string => `${(rate / 2 ** 30).toFixed(2)} GiB/s`;
    process.stdout.write(
      `\ncheckpoint rows: run with GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}; with 4 KiB pages for the image and the restored memory: checkpoint ${gib(smallPages.checkpointRate)}, restore ${gib(smallPages.restoreRate)}\n`,
    );
  }
  const below = results.filter(({ row, r }) => !meetsTarget(row, r)).map(({ r }) => r.name);
  if (!opts.quick && below.length > 0) process.stdout.write(`\nbelow target: ${below.join(', ')}\n`);
  if (opts.json !== undefined) {
    writeFileSync(
      opts.json,
      `${JSON.stringify(
        results.map(({ r }) => r),
        null,
        2,
      )}\n`,
    );
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
