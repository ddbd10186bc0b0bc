/**
 * A fuzz campaign split into shards (`npm run fuzz -- --shard K/M`): how many
 * runs and which seed each shard takes, and how shard summaries merge. Pure
 * functions, so the rules are tested without running the fuzzer.
 */
import * as E from 'fp-ts/lib/Either.js';

/** One run's (or one shard's, or a merged campaign's) summary, as written to the JSON file. */
export interface Summary {
  readonly date: string;
  /**
   * The campaign's seed and total runs and shard count, the mechanisms its
   * scenarios use (`--mix`, e.g. "shm,sem,msg") and whether their calls may
   * block (`--blocking`: yes, no or some); both absent in summaries written
   * before there was a choice. The same on every shard.
   */
  readonly campaign: { readonly seed: number; readonly runs: number; readonly shards: number; readonly mix?: string; readonly blocking?: string };
  /** The shards this summary covers (1-based), the seed each ran with, and the command that replays it. */
  readonly shards: ReadonlyArray<{ readonly shard: number; readonly seed: number; readonly runs: number; readonly command: string }>;
  readonly runs: number;
  readonly statements: number;
  readonly divergences: number;
  /** Each divergence's shrunk scenario, as a file to run. */
  readonly found: readonly string[];
}

/** The share of `runs` that shard k of m runs: an even split, the first shards taking one more. */
export function shardRuns(runs: number, k: number, m: number): number {
  return Math.floor(runs / m) + (k <= runs % m ? 1 : 0);
}

/** The seed shard k of m runs with: the campaign's own seed when unsharded, else a 32-bit mix of it and k. */
export function shardSeed(seed: number, k: number, m: number): number {
  return m === 1 ? seed : (Math.imul(seed ^ Math.imul(k, 0x9e3779b9), 0x85ebca6b) ^ k) | 0;
}

const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
const isInt32 = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= -(2 ** 31) && (x as number) < 2 ** 31;

/** Decodes a summary file's text; a Left names the file and the field that is wrong. */
export function parseSummary(text: string, file: string): E.Either<string, Summary> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return E.left(`${file}: not JSON: ${(e as Error).message}`);
  }
  const bad = (field: string): E.Either<string, never> => E.left(`${file}: field ${field} is missing or not valid`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('(the top level object)');
  const o = v as Record<string, unknown>;
  if (typeof o['date'] !== 'string') return bad('date');
  const c = o['campaign'] as Record<string, unknown> | null | undefined;
  if (typeof c !== 'object' || c === null || !isInt32(c['seed']) || !isCount(c['runs']) || !isCount(c['shards']) || c['shards'] < 1) return bad('campaign');
  if (c['mix'] !== undefined && typeof c['mix'] !== 'string') return bad('campaign.mix');
  if (c['blocking'] !== undefined && typeof c['blocking'] !== 'string') return bad('campaign.blocking');
  const shards = o['shards'];
  if (!Array.isArray(shards) || shards.length === 0) return bad('shards');
  for (const [i, x] of shards.entries()) {
    const s = x as Record<string, unknown> | null;
    if (
      typeof s !== 'object' ||
      s === null ||
      !isCount(s['shard']) ||
      s['shard'] < 1 ||
      s['shard'] > c['shards'] ||
      !isInt32(s['seed']) ||
      !isCount(s['runs']) ||
      typeof s['command'] !== 'string'
    ) {
      return bad(`shards[${i}]`);
    }
  }
  for (const f of ['runs', 'statements', 'divergences'] as const) if (!isCount(o[f])) return bad(f);
  const found = o['found'];
  if (!Array.isArray(found) || found.some((x) => typeof x !== 'string')) return bad('found');
  if (found.length !== o['divergences']) return bad('found (one entry per divergence)');
  return E.right(v as Summary);
}

/** Adds shard summaries into one; refuses summaries of different campaigns and missing or repeated shards. */
export function mergeSummaries(parts: ReadonlyArray<{ readonly file: string; readonly summary: Summary }>): E.Either<string, Summary> {
  const first = parts[0];
  if (first === undefined) return E.left('nothing to merge');
  const seen = new Map<number, string>();
  for (const { file, summary } of parts) {
    const c = summary.campaign;
    const f = first.summary.campaign;
    if (c.seed !== f.seed || c.runs !== f.runs || c.shards !== f.shards || c.mix !== f.mix || c.blocking !== f.blocking) {
      const show = (x: Summary['campaign']): string =>
        `seed ${x.seed}, ${x.runs} runs, ${x.shards} shards${x.mix === undefined ? '' : `, mix ${x.mix}`}${x.blocking === undefined ? '' : `, blocking ${x.blocking}`}`;
      return E.left(`${file} belongs to another campaign (${show(c)}; ${first.file} has ${show(f)})`);
    }
    for (const s of summary.shards) {
      const before = seen.get(s.shard);
      if (before !== undefined) return E.left(`shard ${s.shard} appears in both ${before} and ${file}`);
      seen.set(s.shard, file);
    }
  }
  const total = first.summary.campaign.shards;
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((k) => !seen.has(k));
  if (missing.length > 0) return E.left(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${total} missing`);
  const sum = (f: 'runs' | 'statements' | 'divergences'): number => parts.reduce((n, p) => n + p.summary[f], 0);
  return E.right({
    date: new Date().toISOString(),
    campaign: first.summary.campaign,
    shards: parts.flatMap((p) => p.summary.shards).sort((a, b) => a.shard - b.shard),
    runs: sum('runs'),
    statements: sum('statements'),
    divergences: sum('divergences'),
    found: parts.flatMap((p) => p.summary.found),
  });
}
