/**
 * Combines several `npm run bench -- --json FILE` outputs into one table of
 * per-row medians (what BENCHMARKS.md quotes):
 *
 *   tsx bench/median-of-runs.ts run1.json run2.json run3.json [--json OUT]
 *
 * native and ipc-sentry are the medians of their columns; the ratio is the
 * median of the runs' ratios (so it can differ slightly from the quotient
 * of the two medians).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ROWS, renderTable } from './rows.js';
import type { JsonRow, Row } from './rows.js';
import { median } from './stats.js';

const args = process.argv.slice(2);
const outAt = args.indexOf('--json');
const out = outAt >= 0 ? args[outAt + 1] : undefined;
const files = args.filter((_, i) => outAt < 0 || (i !== outAt && i !== outAt + 1));
if (files.length === 0) {
  process.stderr.write('usage: tsx bench/median-of-runs.ts RUN.json... [--json OUT]\n');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as JsonRow[]);
const med = (xs: Array<number | null>): number | null => {
  const ns = xs.filter((x): x is number => x !== null);
  return ns.length === 0 ? null : median(ns);
};
const results: Array<{ row: Row; r: JsonRow }> = [];
for (const row of ROWS) {
  const got = runs.map((run) => run.find((r) => r.name === row.name)).filter((r): r is JsonRow => r !== undefined);
  if (got.length === 0) continue;
  results.push({
    row,
    r: {
      name: row.name,
      unit: row.unit,
      native: med(got.map((r) => r.native)),
      emulated: med(got.map((r) => r.emulated)) ?? 0,
      ratio: med(got.map((r) => r.ratio)),
    },
  });
}
process.stdout.write(`medians of ${runs.length} run(s)\n\n${renderTable(results)}\n`);
if (out !== undefined)
  writeFileSync(
    out,
    `${JSON.stringify(
      results.map(({ r }) => r),
      null,
      2,
    )}\n`,
  );
