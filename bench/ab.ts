/**
 * `npx tsx bench/ab.ts OLD_TREE [--samples N] [--only ROW,...]`: a change's
 * effect on the ipc-sentry side of every rate row, measured as the project
 * measures it: the old and the new code in one process, their samples
 * alternating (old, new, old, new, ...), so both see the machine in the same
 * state. OLD_TREE is a checkout of the old commit (for example
 * `git worktree add /tmp/old <commit>`, with node_modules linked from this
 * checkout); its own bench/emulated.ts and src/ are loaded beside this
 * tree's, so each build's loops gather their own type feedback.
 *
 * Prints, per row, both medians and new ÷ old as a speed ratio (above 1:
 * the new code is faster). Worker rows run in child processes, alternating
 * likewise; checkpoint and restore use a 64 MiB image.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Emulated from './emulated.js';
import type * as Checkpoint from './checkpoint.js';
import { median } from './stats.js';

interface Row {
  readonly name: Emulated.TestName;
  readonly ops: number;
  readonly param: number;
}

/** The rows of bench/rows.ts, at their full operation counts. */
const ROWS: readonly Row[] = [
  { name: 'get-rmid', ops: 20_000, param: 0 },
  { name: 'attach-detach', ops: 20_000, param: 0 },
  { name: 'ipc-stat', ops: 100_000, param: 0 },
  { name: 'key-lookup', ops: 100_000, param: 1 },
  { name: 'first-touch', ops: 1, param: 64 },
  { name: 'copy-in', ops: 1, param: 64 },
  { name: 'copy-out', ops: 1, param: 64 },
  { name: 'dd-channel', ops: 1, param: 0 },
  { name: 'futex-pingpong', ops: 20_000, param: 0 },
  { name: 'atomic-add', ops: 200_000, param: 0 },
  { name: 'semop', ops: 200_000, param: 0 },
  { name: 'msg-pair', ops: 200_000, param: 0 },
  { name: 'sem-getval', ops: 200_000, param: 1 },
  { name: 'sem-getval', ops: 200_000, param: 32_000 },
  { name: 'sem-pingpong', ops: 5_000, param: 0 },
  { name: 'msg-pingpong', ops: 5_000, param: 0 },
];

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npx tsx bench/ab.ts OLD_TREE [--samples N] [--only ROW,...]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const oldTree = args[0];
if (oldTree === undefined || oldTree.startsWith('-')) usage('OLD_TREE is required');
const samplesAt = args.indexOf('--samples');
const samples = samplesAt >= 0 ? Number(args[samplesAt + 1]) : 20;
if (!Number.isInteger(samples) || samples < 3) usage('--samples takes a whole number of at least 3');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',')) : undefined;
for (const n of only ?? []) if (n !== 'checkpoint' && !ROWS.some((r) => r.name === n)) usage(`no row ${n}`);
const oldBench = resolve(oldTree, 'bench');
if (!existsSync(join(oldBench, 'emulated.ts'))) usage(`${oldTree} has no bench/emulated.ts`);

const load = async <T>(dir: string, file: string): Promise<T> => (await import(pathToFileURL(join(dir, file)).href)) as T;
const sides = {
  old: await load<typeof Emulated>(oldBench, 'emulated.ts'),
  new: await load<typeof Emulated>(import.meta.dirname, 'emulated.ts'),
};

function report(name: string, unit: string, oldRates: readonly number[], newRates: readonly number[]): void {
  const o = median(oldRates);
  const n = median(newRates);
  const fmt = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(1));
  console.log(`${name.padEnd(16)} old ${fmt(o).padStart(8)} ${unit}  new ${fmt(n).padStart(8)} ${unit}  new/old ${(n / o).toFixed(3)}`);
}

for (const row of ROWS) {
  if (only !== undefined && !only.has(row.name)) continue;
  const rates = { old: [] as number[], new: [] as number[] };
  if (sides.new.isWorkerTest(row.name)) {
    for (let i = 0; i < Math.max(3, Math.ceil(samples / 4)); i++) {
      for (const side of ['old', 'new'] as const) rates[side].push(sides[side].runEmulated(row.name, row.ops, 3, row.param).median);
    }
  } else {
    const test = row.name as Exclude<Emulated.TestName, Emulated.WorkerTestName>;
    const samplers = { old: sides.old.prepareEmulated(test, row.ops, row.param), new: sides.new.prepareEmulated(test, row.ops, row.param) };
    for (let i = 0; i < samples; i++) {
      for (const side of ['old', 'new'] as const) {
        samplers[side].sample(); // untimed: each side has sat idle while the other ran
        rates[side].push(samplers[side].sample());
      }
    }
  }
  report(row.param > 1 ? `${row.name}/${row.param}` : row.name, '/s', rates.old, rates.new);
}

if (only === undefined || only.has('checkpoint')) {
  const cp = {
    old: await load<typeof Checkpoint>(oldBench, 'checkpoint.ts'),
    new: await load<typeof Checkpoint>(import.meta.dirname, 'checkpoint.ts'),
  };
  const save = { old: [] as number[], new: [] as number[] };
  const back = { old: [] as number[], new: [] as number[] };
  for (let i = 0; i < Math.max(3, Math.ceil(samples / 4)); i++) {
    for (const side of ['old', 'new'] as const) {
      const r = cp[side].runCheckpointBench(64, 1);
      save[side].push(r.checkpointRate / 2 ** 30);
      back[side].push(r.restoreRate / 2 ** 30);
    }
  }
  report('checkpoint', 'GiB/s', save.old, save.new);
  report('restore', 'GiB/s', back.old, back.new);
}
