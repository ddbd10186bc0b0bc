/**
 * `npm run bench -- --quick` works: it runs to the end, prints the table and
 * writes every row with numbers. No timing is asserted; --quick numbers mean
 * nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ROWS } from '../../bench/rows.js';
import type { JsonRow } from '../../bench/rows.js';
import { nativeAvailable } from '../../src/scenario/native/native.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  it('produces every row with positive numbers', () => {
    const out = join(dir, 'rows.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'main.ts'), '--quick', '--json', out], {
      cwd: root,
      encoding: 'utf8',
      // Each rate and scale row starts a node process of its own: about twice one process's time.
      timeout: 170_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    // Progress goes to stderr, one report per row; the table to stdout.
    for (const row of ROWS) {
      expect(run.stderr).toContain(row.name);
      expect(run.stdout).toContain(`| ${row.name} `);
      if (row.kind === 'rate' || row.kind === 'scale') expect(run.stderr).toContain(`${row.name}: own process`);
    }

    const rows = JSON.parse(readFileSync(out, 'utf8')) as JsonRow[];
    expect(rows.map((r) => r.name)).toEqual(ROWS.map((r) => r.name));
    const withNative = E.isRight(nativeAvailable());
    for (const [i, r] of rows.entries()) {
      const row = ROWS[i];
      if (row === undefined) throw new Error('more rows than ROWS');
      expect(Object.keys(r).sort()).toEqual(['emulated', 'name', 'native', 'ratio', 'unit']);
      expect(r.unit).toBe(row.unit);
      if (row.kind === 'memory' || row.kind === 'checkpoint') {
        expect(r.native).toBeNull();
        expect(r.ratio).toBeNull();
        // The frame count of an untouched segment is legitimately zero.
        if (row.unit === 'frames') expect(r.emulated).toBeGreaterThanOrEqual(0);
        else expect(r.emulated).toBeGreaterThan(0);
        expect(Number.isFinite(r.emulated)).toBe(true);
        continue;
      }
      expect(r.emulated, r.name).toBeGreaterThan(0);
      expect(Number.isFinite(r.emulated)).toBe(true);
      if (withNative) {
        expect(r.native, r.name).toBeGreaterThan(0);
        expect(r.ratio, r.name).toBeGreaterThan(0);
        expect(Number.isFinite(r.ratio)).toBe(true);
      }
    }
  }, 180_000);
});
