/**
 * The rows of `npm run bench`: what each measures on both backends, its
 * unit, its target, and how many operations a sample does (full and
 * --quick). Ratios are ipc-sentry ÷ native, so > 1 means ipc-sentry is faster.
 */
import { CALLS_PART, TMPFS_PART } from './scenario_corpus.js';
import type { TestName } from './emulated.js';

/** How one backend runs a test for a row: operations per sample, and the test's parameter. */
export interface Sizing {
  readonly native: number;
  readonly emulated: number;
}

/** A rate row: the same test on both backends; ratio = emulated ÷ native. */
export interface RateRow {
  readonly kind: 'rate';
  readonly name: string;
  readonly unit: string;
  readonly test: TestName;
  readonly param: number;
  readonly quickParam: number;
  readonly ops: Sizing;
  readonly quickOps: Sizing;
  /** The least acceptable ratio; absent where the issue sets none (the row is reported, not judged). */
  readonly target?: number;
  readonly what: string;
}

/**
 * A scaling row: the test's rate with `scaledParam` ÷ its rate with
 * `baseParam`, on each backend; the row's ratio is the emulated factor.
 */
export interface ScaleRow {
  readonly kind: 'scale';
  readonly name: string;
  readonly unit: 'factor';
  readonly test: TestName;
  readonly baseParam: number;
  readonly scaledParam: number;
  readonly ops: Sizing;
  readonly scaledOps: Sizing;
  readonly quickOps: Sizing;
  readonly target: number;
  readonly what: string;
}

/** A memory row: ipc-sentry only, an absolute figure; `max` is the most acceptable value. */
export interface MemoryRow {
  readonly kind: 'memory';
  readonly name: string;
  readonly unit: string;
  readonly max: number;
  /** true when the target is strict (<), false when ≤. */
  readonly strict: boolean;
  readonly what: string;
}

/**
 * A checkpoint row: ipc-sentry only (the real kernel has nothing to compare
 * with), an absolute figure with a least (`min`) or most (`max`) acceptable
 * value.
 */
export interface CheckpointRow {
  readonly kind: 'checkpoint';
  readonly name: string;
  readonly unit: string;
  readonly bound: { readonly min: number } | { readonly max: number };
  readonly what: string;
}

export type Row = RateRow | ScaleRow | MemoryRow | CheckpointRow;

const KiB = 1024;

export const ROWS: readonly Row[] = [
  {
    kind: 'rate',
    name: 'get-rmid',
    unit: 'pairs/s',
    test: 'get-rmid',
    param: 0,
    quickParam: 0,
    ops: { native: 20_000, emulated: 20_000 },
    quickOps: { native: 200, emulated: 200 },
    target: 10,
    what: 'shmget(IPC_PRIVATE, 4 KiB) + shmctl(IPC_RMID) pairs',
  },
  {
    kind: 'rate',
    name: 'attach-detach',
    unit: 'pairs/s',
    test: 'attach-detach',
    param: 0,
    quickParam: 0,
    ops: { native: 20_000, emulated: 20_000 },
    quickOps: { native: 200, emulated: 200 },
    target: 10,
    what: 'shmat + shmdt pairs on one 4 KiB segment',
  },
  {
    kind: 'rate',
    name: 'ipc-stat',
    unit: 'ops/s',
    test: 'ipc-stat',
    param: 0,
    quickParam: 0,
    ops: { native: 200_000, emulated: 100_000 },
    quickOps: { native: 500, emulated: 500 },
    target: 2,
    what: 'shmctl(IPC_STAT)',
  },
  {
    kind: 'rate',
    name: 'key-lookup',
    unit: 'lookups/s',
    test: 'key-lookup',
    param: 1,
    quickParam: 1,
    ops: { native: 200_000, emulated: 100_000 },
    quickOps: { native: 500, emulated: 500 },
    target: 2,
    what: 'shmget(existing key, 0, 0)',
  },
  {
    kind: 'rate',
    name: 'first-touch',
    unit: 'pages/s',
    test: 'first-touch',
    param: 64,
    quickParam: 4,
    ops: { native: 1, emulated: 1 },
    quickOps: { native: 1, emulated: 1 },
    target: 1,
    what: 'one byte written into each page of a fresh 64 MiB segment',
  },
  {
    kind: 'rate',
    name: 'copy-in',
    unit: 'bytes/s',
    test: 'copy-in',
    param: 64,
    quickParam: 4,
    ops: { native: 8, emulated: 4 },
    quickOps: { native: 1, emulated: 1 },
    target: 0.5,
    what: 'copy 64 MiB from a private buffer into an attached, touched segment',
  },
  {
    kind: 'rate',
    name: 'copy-out',
    unit: 'bytes/s',
    test: 'copy-out',
    param: 64,
    quickParam: 4,
    ops: { native: 8, emulated: 2 },
    quickOps: { native: 1, emulated: 1 },
    target: 0.5,
    what: 'copy 64 MiB out of an attached, touched segment into a private buffer',
  },
  {
    kind: 'rate',
    name: 'futex-pingpong',
    unit: 'round trips/s',
    test: 'futex-pingpong',
    param: 0,
    quickParam: 0,
    ops: { native: 20_000, emulated: 20_000 },
    quickOps: { native: 200, emulated: 200 },
    target: 0.5,
    what: 'FUTEX_WAKE/FUTEX_WAIT round trips on a shm word between two processes (ipc-sentry: two worker threads)',
  },
  {
    kind: 'rate',
    name: 'dd-channel',
    unit: 'bytes/s',
    test: 'dd-channel',
    param: 0,
    quickParam: 0,
    ops: { native: 1, emulated: 1 },
    quickOps: { native: 1, emulated: 1 },
    target: 2,
    what: 'dd bs=1024 count=32768 (32 MiB) into a 64 MiB host channel (native: real dd into a real tmpfs, exec included)',
  },
  {
    kind: 'rate',
    name: 'atomic-add',
    unit: 'ops/s',
    test: 'atomic-add',
    param: 0,
    quickParam: 0,
    // Samples of about the same length on both sides (a few hundred ms): on a loaded machine a
    // 20 ms native sample mostly escapes preemption, which a 200 ms one of ipc-sentry's cannot.
    ops: { native: 20_000_000, emulated: 1_000_000 },
    quickOps: { native: 1000, emulated: 1000 },
    target: 0.25,
    what: 'atomic increments of one shm word by two processes at once, from a start barrier (ipc-sentry: two worker threads, through Task.atomicAdd32), both counted',
  },
  {
    kind: 'rate',
    name: 'fresh-kernel',
    unit: 'kernels/s',
    test: 'fresh-kernel',
    param: 0,
    quickParam: 0,
    ops: { native: 500, emulated: 5_000 },
    quickOps: { native: 10, emulated: 10 },
    target: 10,
    what: "a property test's example: new Kernel, spawn, shmget 4 KiB, shmat, 1-byte write, IPC_RMID, exit, dispose (native: a forked child doing unshare(CLONE_NEWIPC) and the same calls, waited for)",
  },
  {
    kind: 'rate',
    name: 'scenario-throughput',
    unit: 'statements/s',
    test: 'scenario-throughput',
    param: 0,
    quickParam: 3,
    ops: { native: 1, emulated: 4 },
    quickOps: { native: 1, emulated: 1 },
    target: 20,
    what: 'statements/s over bench/scenario-corpus.txt (parse, run, normalize, as ipc-sentry run does; native: one oracle process per file), passes per sample as ops; param: the first N files (0: all)',
  },
  {
    kind: 'rate',
    name: 'semop',
    unit: 'pairs/s',
    test: 'semop',
    param: 0,
    quickParam: 0,
    ops: { native: 200_000, emulated: 200_000 },
    quickOps: { native: 500, emulated: 500 },
    target: 5,
    what: 'semop(-1) + semop(+1) pairs on one semaphore at 1 (one set, one process; never waits)',
  },
  {
    kind: 'rate',
    name: 'sem-pingpong',
    unit: 'round trips/s',
    test: 'sem-pingpong',
    param: 0,
    quickParam: 0,
    ops: { native: 20_000, emulated: 5_000 },
    quickOps: { native: 200, emulated: 200 },
    target: 0.5,
    what: 'a token passed through two semaphores between two processes (one waits on 0 and posts 1, the other the reverse; ipc-sentry: two worker threads)',
  },
  {
    kind: 'rate',
    name: 'msg-pair',
    unit: 'pairs/s',
    test: 'msg-pair',
    param: 0,
    quickParam: 0,
    ops: { native: 200_000, emulated: 200_000 },
    quickOps: { native: 500, emulated: 500 },
    target: 5,
    what: 'msgsnd + msgrcv pairs of an 8-byte message of type 1 on one queue, in one process',
  },
  {
    kind: 'rate',
    name: 'msg-pingpong',
    unit: 'round trips/s',
    test: 'msg-pingpong',
    param: 0,
    quickParam: 0,
    ops: { native: 20_000, emulated: 5_000 },
    quickOps: { native: 200, emulated: 200 },
    target: 0.5,
    what: 'an 8-byte message sent back and forth between two processes through two queues (ipc-sentry: two worker threads)',
  },
  {
    kind: 'scale',
    name: 'scale-keys',
    unit: 'factor',
    test: 'key-lookup',
    baseParam: 1,
    scaledParam: 4096,
    ops: { native: 200_000, emulated: 100_000 },
    scaledOps: { native: 200_000, emulated: 100_000 },
    quickOps: { native: 500, emulated: 500 },
    target: 0.67,
    what: 'key lookups/s with 4,096 keyed segments ÷ with 1 (lookups cycle over every key)',
  },
  {
    kind: 'scale',
    name: 'scale-vmas',
    unit: 'factor',
    test: 'attach-detach',
    baseParam: 0,
    scaledParam: 10_000,
    ops: { native: 20_000, emulated: 20_000 },
    scaledOps: { native: 20_000, emulated: 5_000 },
    quickOps: { native: 100, emulated: 100 },
    target: 0.5,
    what: 'shmat + shmdt pairs/s while the process holds 10,000 attachments ÷ with none',
  },
  {
    kind: 'scale',
    name: 'scale-mprotect',
    unit: 'factor',
    test: 'mprotect-split',
    baseParam: 0,
    scaledParam: 10_000,
    ops: { native: 20_000, emulated: 20_000 },
    scaledOps: { native: 20_000, emulated: 20_000 },
    quickOps: { native: 100, emulated: 100 },
    target: 0.5,
    what: 'mprotect splits/s (one page of a fresh attachment per call) while the process holds 10,000 attachments ÷ with none',
  },
  {
    kind: 'scale',
    name: 'scale-semsets',
    unit: 'factor',
    test: 'sem-getval',
    baseParam: 1,
    scaledParam: 32_000,
    ops: { native: 200_000, emulated: 200_000 },
    scaledOps: { native: 200_000, emulated: 200_000 },
    quickOps: { native: 500, emulated: 500 },
    target: 0.67,
    what: 'semctl(GETVAL)/s with 32,000 sets ÷ with 1 (calls cycle over every set; SEMMNI is 32000 in a fresh namespace)',
  },
  {
    kind: 'memory',
    name: 'mem-untouched-1gib',
    unit: 'bytes',
    max: 64 * KiB,
    strict: true,
    what: 'JS heap + ArrayBuffer/SharedArrayBuffer bytes held per created and attached, untouched 1 GiB segment',
  },
  {
    kind: 'memory',
    name: 'mem-untouched-1gib-frames',
    unit: 'frames',
    max: 0,
    strict: false,
    what: 'page frames allocated per untouched 1 GiB segment',
  },
  {
    kind: 'memory',
    name: 'mem-fresh-kernel',
    unit: 'bytes',
    max: 64 * KiB,
    strict: false,
    what: 'SharedArrayBuffer bytes a fresh kernel holds after one process touched one page (counted at the constructor, empty pool)',
  },
  {
    kind: 'memory',
    name: 'mem-touched-page',
    unit: 'bytes',
    max: 4 * KiB + 16,
    strict: false,
    what: 'bytes held per touched page (the 4 KiB frame included)',
  },
  {
    kind: 'checkpoint',
    name: 'checkpoint-256mib',
    unit: 'bytes/s',
    bound: { min: 2 ** 30 },
    what: 'checkpoint(kernel) of a kernel holding 256 MiB of touched pages, into an in-memory image',
  },
  {
    kind: 'checkpoint',
    name: 'restore-256mib',
    unit: 'bytes/s',
    bound: { min: 2 ** 30 },
    what: 'restore(image) of that image into a fresh kernel, every check included',
  },
  {
    kind: 'checkpoint',
    name: 'image-mostly-untouched',
    unit: 'bytes',
    bound: { max: 512 * KiB },
    what: 'image of a kernel with 64 attached 1 GiB segments, one page of each touched',
  },
  {
    kind: 'checkpoint',
    name: 'image-growth-untouched',
    unit: 'bytes',
    bound: { max: 64 },
    what: 'extra image bytes per untouched GiB (64 × 1 GiB segments against 64 × 1 MiB, same touched pages)',
  },
  // The rows without a target run last, after every judged row: the heap and caches their
  // passes leave behind (some 150 MiB moved through tmpfs) then change no judged figure.
  {
    kind: 'rate',
    name: 'scenario-calls',
    unit: 'statements/s',
    test: 'scenario-throughput',
    param: CALLS_PART,
    quickParam: 3,
    ops: { native: 1, emulated: 4 },
    quickOps: { native: 1, emulated: 1 },
    what: 'scenario-throughput over the corpus without its tmpfs lessons (the files that make calls rather than move bulk data); reported, not judged',
  },
  {
    kind: 'rate',
    name: 'scenario-tmpfs',
    unit: 'statements/s',
    test: 'scenario-throughput',
    param: TMPFS_PART,
    quickParam: TMPFS_PART,
    ops: { native: 1, emulated: 4 },
    quickOps: { native: 1, emulated: 1 },
    what: "scenario-throughput over the corpus's tmpfs lessons alone (dd, fallocate and fills moving about 150 MiB a pass through memory on both sides); reported, not judged",
  },
];

/** A row as `--json` writes it. native and ratio are null for the memory rows. */
export interface JsonRow {
  readonly name: string;
  readonly unit: string;
  readonly native: number | null;
  readonly emulated: number;
  readonly ratio: number | null;
}

/** Whether a measured row meets its target. */
export function meetsTarget(row: Row, r: JsonRow): boolean {
  if (row.kind === 'memory') return row.strict ? r.emulated < row.max : r.emulated <= row.max;
  if (row.kind === 'checkpoint') return 'min' in row.bound ? r.emulated >= row.bound.min : r.emulated <= row.bound.max;
  if (row.target === undefined) return true;
  return r.ratio !== null && r.ratio >= row.target;
}

/** Whether the row has a target at all. */
export function hasTarget(row: Row): boolean {
  return row.kind !== 'rate' || row.target !== undefined;
}

/** The target as the table shows it. */
export function targetText(row: Row): string {
  if (row.kind === 'memory') {
    const v = row.unit === 'bytes' ? formatBytes(row.max) : String(row.max);
    return `${row.strict ? '<' : '≤'} ${v}`;
  }
  if (row.kind === 'checkpoint') return 'min' in row.bound ? `≥ ${formatValue(row.unit, row.bound.min)}` : `≤ ${formatValue(row.unit, row.bound.max)}`;
  return row.target === undefined ? '—' : `≥ ${row.target}`;
}

/** A byte count as the table shows it. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 16 * 1024) return `${(n / 1024).toFixed(2)} KiB`;
  return `${n.toFixed(n % 1 === 0 ? 0 : 1)} B`;
}

/** A measured value in a row's unit, as the table shows it. */
export function formatValue(unit: string, v: number | null): string {
  if (v === null) return '—';
  if (unit === 'bytes') return formatBytes(v);
  if (unit === 'bytes/s') return `${(v / 2 ** 30).toFixed(2)} GiB/s`;
  if (unit === 'factor') return v.toFixed(2);
  if (unit === 'frames') return String(v);
  const suffix = unit;
  // Thresholds at the rounded value, so 999,960 prints as 1.00 M rather than 1000.0 k.
  if (v >= 999_950) return `${(v / 1e6).toFixed(2)} M ${suffix}`;
  if (v >= 999.5) return `${(v / 1e3).toFixed(1)} k ${suffix}`;
  return `${v.toFixed(0)} ${suffix}`;
}

/** Markdown-ish table of rows (used by main.ts and by median-of-runs.ts). */
export function renderTable(results: ReadonlyArray<{ row: Row; r: JsonRow }>): string {
  const header = ['operation', 'native', 'ipc-sentry', 'ratio', 'target', 'meets'];
  const lines = results.map(({ row, r }) => [
    r.name,
    formatValue(r.unit, r.native),
    formatValue(r.unit, r.emulated),
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
    targetText(row),
    !hasTarget(row) ? '—' : meetsTarget(row, r) ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}
