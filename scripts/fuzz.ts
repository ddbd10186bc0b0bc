/**
 * Differential fuzzing outside vitest: `npm run fuzz -- --runs N [--seed S]`.
 * Runs the property of test/fuzz (random scenarios, emulator vs kernel) N
 * times with a progress line on stderr. On a divergence it prints the shrunk
 * scenario file and exits 1. Either way it writes .cache/fuzz-summary.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { nativeAvailable } from '../src/scenario/native/native.js';
import { scenarioTextArb, statementCount } from '../src/testing/index.js';
import { checkScenario, DivergenceError } from '../test/fuzz/differential.js';

const USAGE = 'usage: npm run fuzz -- --runs N [--seed S]';

function fail(message: string, status = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

function parseArgs(argv: readonly string[]): { runs: number; seed: number } {
  let runs = 2000;
  let seed: number | undefined;
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
      if (!Number.isInteger(seed)) fail(`--seed must be an integer\n${USAGE}`);
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      fail(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return { runs, seed: seed ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0 };
}

const { runs, seed } = parseArgs(process.argv.slice(2));
const command = `npm run fuzz -- --runs ${runs} --seed ${seed}`;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const availability = nativeAvailable();
if (E.isLeft(availability)) fail(`fuzz: the native oracle cannot run here: ${availability.left}`, 3);

process.stderr.write(`fast-check seed: ${seed} (replay with: ${command})\n`);

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
  fc.property(scenarioTextArb(fc), (text) => {
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

function finish(divergences: number): void {
  progress(true);
  if (tty) process.stderr.write('\n');
  const summary = { date: new Date().toISOString(), seed, runs: done, statements, divergences, command };
  const dir = join(root, '.cache');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'fuzz-summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(
    `${done} scenarios (${statements} statements) in ${((Date.now() - started) / 1000).toFixed(1)} s, ${divergences} divergence${divergences === 1 ? '' : 's'}; summary in .cache/fuzz-summary.json\n`,
  );
}

if (result.failed) {
  const err = result.errorInstance;
  finish(err instanceof DivergenceError ? 1 : 0);
  if (err instanceof DivergenceError) {
    process.stdout.write(`# divergence found with seed ${seed} (${command}), shrunk ${result.numShrinks} times\n`);
    process.stdout.write(`${err.text.trimEnd()}\n# first divergence at line ${err.divergence.line ?? '?'}:\n`);
    process.stdout.write(`# native:   ${JSON.stringify(err.divergence.native)}\n# emulated: ${JSON.stringify(err.divergence.emulated)}\n`);
  } else {
    process.stderr.write(`fuzz: the property failed without a divergence (a generator or oracle bug):\n${String(err instanceof Error ? err.message : err)}\n`);
  }
  process.exit(1);
}
finish(0);
