/**
 * Differential fuzzing outside vitest:
 *
 *   npm run fuzz -- --runs N [--seed S] [--mix shm,sem,msg,posix] [--blocking yes|no|some] [--shard K/M] [--json FILE]
 *   npm run fuzz -- --merge FILE... [--json FILE]
 *
 * Runs the property of test/fuzz (random scenarios, emulator vs kernel) N
 * times with a progress line on stderr. --mix names the mechanisms the
 * scenarios use: the System V ones and posix (POSIX shm, memfds, mappings
 * and the memory calls); default all four, each scenario keeping to one of
 * them or mixing them all; --blocking says whether semaphore and queue calls may
 * block (default some: half the scenarios that use them). On a divergence it prints the shrunk
 * scenario file and exits 1. Either way it writes a JSON summary
 * (.cache/fuzz-summary.json, or FILE).
 *
 * A campaign splits across machines with --shard K/M (K from 1 to M): every
 * shard takes the same --runs and --seed, runs its share of the runs with a
 * seed derived from S and K, and writes its own summary; --merge adds the
 * summaries of all M shards into one, and refuses shards of different
 * campaigns, missing or repeated shards. docs/fuzzing.md shows a CI matrix.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { nativeAvailable } from '../src/scenario/native/native.js';
import type { ScenarioMechanism } from '../src/testing/index.js';
import { SCENARIO_MECHANISMS, scenarioTextArb, statementCount } from '../src/testing/index.js';
import { checkScenario, DivergenceError } from '../test/fuzz/differential.js';
import type { Summary } from './fuzz_shards.js';
import { mergeSummaries, parseSummary, shardRuns, shardSeed } from './fuzz_shards.js';

const USAGE =
  'usage: npm run fuzz -- --runs N [--seed S] [--mix shm,sem,msg,posix] [--blocking yes|no|some] [--shard K/M] [--json FILE]\n       npm run fuzz -- --merge FILE... [--json FILE]';

function fail(message: string, status = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

interface Options {
  readonly runs: number;
  readonly seed: number;
  readonly shard: { readonly k: number; readonly m: number } | undefined;
  /** The mechanisms given with --mix, or undefined for all of them. */
  readonly mix: readonly ScenarioMechanism[] | undefined;
  /** --blocking, or undefined for the default (some). */
  readonly blocking: 'yes' | 'no' | 'some' | undefined;
  readonly json: string | undefined;
  readonly merge: readonly string[] | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  let runs = 2000;
  let seed: number | undefined;
  let shard: { k: number; m: number } | undefined;
  let json: string | undefined;
  let merge: string[] | undefined;
  let mix: ScenarioMechanism[] | undefined;
  let blocking: 'yes' | 'no' | 'some' | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--runs') {
      runs = Number(value());
      if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer\n${USAGE}`);
    } else if (flag === '--seed') {
      seed = Number(value());
      if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 31) fail(`--seed must be a 32-bit integer\n${USAGE}`);
    } else if (flag === '--shard') {
      const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(value());
      if (m === null || Number(m[1]) > Number(m[2])) fail(`--shard takes K/M with 1 <= K <= M\n${USAGE}`);
      shard = { k: Number(m[1]), m: Number(m[2]) };
    } else if (flag === '--mix') {
      const names = value().split(',');
      const bad = names.filter((n) => !(SCENARIO_MECHANISMS as readonly string[]).includes(n));
      if (bad.length > 0 || names.length === 0)
        fail(`--mix takes a comma-separated list of ${SCENARIO_MECHANISMS.join(', ')} (got ${bad.join(', ')})\n${USAGE}`);
      // In the canonical order, so equal mixes name the same campaign.
      mix = SCENARIO_MECHANISMS.filter((m) => names.includes(m));
    } else if (flag === '--blocking') {
      const v = value();
      if (v !== 'yes' && v !== 'no' && v !== 'some') fail(`--blocking takes yes, no or some (got ${v})\n${USAGE}`);
      blocking = v;
    } else if (flag === '--json') {
      json = value();
    } else if (flag === '--merge') {
      merge = [];
      while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) merge.push(argv[++i] as string);
      if (merge.length === 0) fail(`--merge needs at least one summary FILE\n${USAGE}`);
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      fail(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  if (merge !== undefined && (shard !== undefined || seed !== undefined || mix !== undefined || blocking !== undefined)) {
    fail(`--merge takes no --shard, --seed, --mix or --blocking\n${USAGE}`);
  }
  if (shard !== undefined && seed === undefined) fail(`--shard needs the campaign's --seed, the same on every shard\n${USAGE}`);
  if (shard !== undefined && runs < shard.m) fail(`--runs ${runs} cannot be split into ${shard.m} shards\n${USAGE}`);
  return { runs, seed: seed ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0, shard, mix, blocking, json, merge };
}

const options = parseArgs(process.argv.slice(2));
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function writeSummary(summary: Summary): string {
  const file = options.json ?? join(root, '.cache', 'fuzz-summary.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  return file;
}

if (options.merge !== undefined) {
  const parts = options.merge.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      fail(`fuzz: ${file}: ${(e as Error).message}`);
    }
    const summary = parseSummary(text, file);
    return E.isLeft(summary) ? fail(`fuzz: ${summary.left}`) : { file, summary: summary.right };
  });
  const mergedOr = mergeSummaries(parts);
  if (E.isLeft(mergedOr)) fail(`fuzz: ${mergedOr.left}`);
  const merged = mergedOr.right;
  const file = writeSummary(merged);
  process.stdout.write(
    `${merged.runs} scenarios (${merged.statements} statements) in ${merged.shards.length} shards, ${merged.divergences} divergences; summary in ${file}\n`,
  );
  for (const f of merged.found) process.stdout.write(`${f.trimEnd()}\n`);
  process.exit(merged.divergences === 0 ? 0 : 1);
}

const shard = options.shard ?? { k: 1, m: 1 };
const runs = shardRuns(options.runs, shard.k, shard.m);
const seed = shardSeed(options.seed, shard.k, shard.m);
const mix = options.mix ?? SCENARIO_MECHANISMS;
const mixText = mix.join(',');
const blocking = options.blocking ?? 'some';
const command =
  `npm run fuzz -- --runs ${options.runs} --seed ${options.seed}` +
  `${options.mix === undefined ? '' : ` --mix ${mixText}`}${options.blocking === undefined ? '' : ` --blocking ${blocking}`}` +
  `${options.shard === undefined ? '' : ` --shard ${shard.k}/${shard.m}`}`;

const availability = nativeAvailable();
if (E.isLeft(availability)) fail(`fuzz: the native oracle cannot run here: ${availability.left}`, 3);

process.stderr.write(
  `fast-check seed: ${seed}${options.shard === undefined ? '' : ` (shard ${shard.k}/${shard.m} of campaign seed ${options.seed})`} (replay with: ${command})\n`,
);

let done = 0;
let statements = 0;
let shrinking = false;
let shrinkSteps = 0;
const tty = process.stderr.isTTY === true;
let lastPrint = 0;

function progress(force = false): void {
  const now = Date.now();
  if (!force && now - lastPrint < (tty ? 100 : 5000)) return;
  lastPrint = now;
  const text = shrinking ? `  ${done}/${runs} scenarios, 1 divergence, shrinking (${shrinkSteps} tries)` : `  ${done}/${runs} scenarios, 0 divergences`;
  process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
}

const started = Date.now();
const result = fc.check(
  fc.property(scenarioTextArb(fc, { mechanisms: mix, blocking: blocking === 'yes' ? true : blocking === 'no' ? false : 'some' }), (text) => {
    let failed = true;
    try {
      checkScenario(text);
      failed = false;
    } finally {
      if (shrinking) {
        shrinkSteps++;
      } else {
        done++;
        statements += statementCount(text);
        // fast-check shrinks right after the first failure: the runs after it are shrinking tries.
        if (failed) shrinking = true;
      }
      progress();
    }
  }),
  { numRuns: runs, seed },
);

function finish(found: readonly string[]): void {
  progress(true);
  if (tty) process.stderr.write('\n');
  const summary: Summary = {
    date: new Date().toISOString(),
    campaign: { seed: options.seed, runs: options.runs, shards: shard.m, mix: mixText, blocking },
    shards: [{ shard: shard.k, seed, runs: done, command }],
    runs: done,
    statements,
    divergences: found.length,
    found,
  };
  const file = writeSummary(summary);
  process.stderr.write(
    `${done} scenarios (${statements} statements) in ${((Date.now() - started) / 1000).toFixed(1)} s, ${found.length} divergence${found.length === 1 ? '' : 's'}; summary in ${file}\n`,
  );
}

if (result.failed) {
  const err = result.errorInstance;
  if (err instanceof DivergenceError) {
    const report =
      `# divergence found with seed ${seed} (${command}), shrunk ${result.numShrinks} times\n` +
      `${err.text.trimEnd()}\n# first divergence at line ${err.divergence.line ?? '?'}:\n` +
      `# native:   ${JSON.stringify(err.divergence.native)}\n# emulated: ${JSON.stringify(err.divergence.emulated)}\n`;
    finish([report]);
    process.stdout.write(report);
  } else {
    finish([]);
    process.stderr.write(`fuzz: the property failed without a divergence (a generator or oracle bug):\n${String(err instanceof Error ? err.message : err)}\n`);
  }
  process.exit(1);
}
finish([]);
