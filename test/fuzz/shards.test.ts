/**
 * Sharded fuzz campaigns: the shards' runs add up to the campaign's, their
 * seeds differ, and merging refuses what does not belong together. One small
 * campaign runs for real in two shards and is merged, where the native
 * oracle can run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../scripts/fuzz_shards.js';
import { mergeSummaries, parseSummary, shardRuns, shardSeed } from '../../scripts/fuzz_shards.js';
import { nativeAvailable } from '../../src/scenario/native/native.js';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-shards-'));

function shard(k: number, m: number, runs: number, divergences = 0): Summary {
  return {
    date: '2026-01-01T00:00:00.000Z',
    campaign: { seed: 42, runs: 10, shards: m },
    shards: [{ shard: k, seed: shardSeed(42, k, m), runs, command: `npm run fuzz -- --runs 10 --seed 42 --shard ${k}/${m}` }],
    runs,
    statements: runs * 7,
    divergences,
    found: Array.from({ length: divergences }, () => 'proc A\n'),
  };
}

describe('fuzz shards', () => {
  it('splits the runs evenly and completely', () => {
    for (const [runs, m] of [
      [20000, 4],
      [10, 3],
      [7, 7],
      [2000, 1],
    ] as const) {
      const parts = Array.from({ length: m }, (_, i) => shardRuns(runs, i + 1, m));
      expect(parts.reduce((a, b) => a + b, 0)).toBe(runs);
      expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
    }
  });

  it('gives every shard its own 32-bit seed, and an unsharded run the campaign seed', () => {
    const seeds = new Set(Array.from({ length: 64 }, (_, i) => shardSeed(123, i + 1, 64)));
    expect(seeds.size).toBe(64);
    for (const s of seeds) expect(s === (s | 0)).toBe(true);
    expect(shardSeed(123, 1, 1)).toBe(123);
  });

  it('merges the shards of one campaign into one summary', () => {
    const merged = mergeSummaries([
      { file: 'b.json', summary: shard(2, 2, 5, 1) },
      { file: 'a.json', summary: shard(1, 2, 5) },
    ]);
    if (E.isLeft(merged)) throw new Error(merged.left);
    expect(merged.right).toMatchObject({ runs: 10, statements: 70, divergences: 1, campaign: { seed: 42, runs: 10, shards: 2 } });
    expect(merged.right.shards.map((s) => s.shard)).toEqual([1, 2]);
    expect(merged.right.found).toHaveLength(1);
  });

  it('refuses missing, repeated and foreign shards, naming them', () => {
    const missing = mergeSummaries([{ file: 'a.json', summary: shard(1, 3, 4) }]);
    expect(E.isLeft(missing) && missing.left).toBe('shards 2, 3 of 3 missing');
    const twice = mergeSummaries([
      { file: 'a.json', summary: shard(1, 2, 5) },
      { file: 'c.json', summary: shard(1, 2, 5) },
    ]);
    expect(E.isLeft(twice) && twice.left).toBe('shard 1 appears in both a.json and c.json');
    const foreign = mergeSummaries([
      { file: 'a.json', summary: shard(1, 2, 5) },
      { file: 'x.json', summary: { ...shard(2, 2, 5), campaign: { seed: 7, runs: 10, shards: 2 } } },
    ]);
    expect(E.isLeft(foreign) && foreign.left).toMatch(/^x\.json belongs to another campaign/);
    const otherMix = mergeSummaries([
      { file: 'a.json', summary: { ...shard(1, 2, 5), campaign: { seed: 42, runs: 10, shards: 2, mix: 'shm,sem,msg' } } },
      { file: 'm.json', summary: { ...shard(2, 2, 5), campaign: { seed: 42, runs: 10, shards: 2, mix: 'sem' } } },
    ]);
    expect(E.isLeft(otherMix) && otherMix.left).toBe(
      'm.json belongs to another campaign (seed 42, 10 runs, 2 shards, mix sem; a.json has seed 42, 10 runs, 2 shards, mix shm,sem,msg)',
    );
  });

  it('refuses a damaged summary file, naming the field', () => {
    expect(parseSummary('{', 'f.json')).toMatchObject({ _tag: 'Left' });
    const text = JSON.stringify({ ...shard(1, 1, 3), runs: -1 });
    expect(parseSummary(text, 'f.json')).toEqual(E.left('f.json: field runs is missing or not valid'));
    const wrongShard = JSON.stringify({ ...shard(1, 1, 3), shards: [{ shard: 5, seed: 1, runs: 3, command: '' }] });
    expect(parseSummary(wrongShard, 'f.json')).toEqual(E.left('f.json: field shards[0] is missing or not valid'));
    expect(parseSummary(JSON.stringify(shard(1, 1, 3)), 'f.json')).toEqual(E.right(shard(1, 1, 3)));
    const badMix = JSON.stringify({ ...shard(1, 1, 3), campaign: { seed: 42, runs: 10, shards: 1, mix: 3 } });
    expect(parseSummary(badMix, 'f.json')).toEqual(E.left('f.json: field campaign.mix is missing or not valid'));
  });

  it.skipIf(E.isLeft(nativeAvailable()))(
    'runs a campaign in two shards and merges them (npm run fuzz)',
    () => {
      const tsx = join(root, 'node_modules', '.bin', 'tsx');
      const fuzz = join(root, 'scripts', 'fuzz.ts');
      for (const k of [1, 2]) {
        const r = spawnSync(tsx, [fuzz, '--runs', '21', '--seed', '99', '--shard', `${k}/2`, '--json', join(dir, `s${k}.json`)], {
          cwd: root,
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
      }
      const s1 = JSON.parse(readFileSync(join(dir, 's1.json'), 'utf8')) as Summary;
      expect(s1.runs).toBe(11);
      expect(s1.shards[0]?.seed).toBe(shardSeed(99, 1, 2));
      const merged = spawnSync(tsx, [fuzz, '--merge', join(dir, 's1.json'), join(dir, 's2.json'), '--json', join(dir, 'all.json')], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(merged.status, merged.stderr).toBe(0);
      const all = JSON.parse(readFileSync(join(dir, 'all.json'), 'utf8')) as Summary;
      expect(all).toMatchObject({ runs: 21, divergences: 0, campaign: { seed: 99, runs: 21, shards: 2, mix: 'shm,sem,msg,posix', blocking: 'some' } });
      // --mix keeps the campaign to the mechanisms named, and the replay command says so.
      const semOnly = spawnSync(tsx, [fuzz, '--runs', '5', '--seed', '99', '--mix', 'msg,sem', '--blocking', 'yes', '--json', join(dir, 'mix.json')], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(semOnly.status, semOnly.stderr).toBe(0);
      const mixed = JSON.parse(readFileSync(join(dir, 'mix.json'), 'utf8')) as Summary;
      expect(mixed.campaign).toMatchObject({ mix: 'sem,msg', blocking: 'yes' });
      expect(mixed.shards[0]?.command).toBe('npm run fuzz -- --runs 5 --seed 99 --mix sem,msg --blocking yes');
      const wrongBlocking = spawnSync(tsx, [fuzz, '--runs', '5', '--blocking', 'maybe'], { cwd: root, encoding: 'utf8' });
      expect(wrongBlocking.status).toBe(2);
      expect(wrongBlocking.stderr).toMatch(/--blocking takes yes, no or some \(got maybe\)/);
      const wrongMix = spawnSync(tsx, [fuzz, '--runs', '5', '--mix', 'sem,pipes'], { cwd: root, encoding: 'utf8' });
      expect(wrongMix.status).toBe(2);
      expect(wrongMix.stderr).toMatch(/--mix takes a comma-separated list of shm, sem, msg, posix \(got pipes\)/);
      writeFileSync(join(dir, 'bad.json'), '{"runs": 1}');
      const bad = spawnSync(tsx, [fuzz, '--merge', join(dir, 'bad.json')], { cwd: root, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/bad\.json: field campaign is missing or not valid|bad\.json: field date/);
    },
    120_000,
  );
});
