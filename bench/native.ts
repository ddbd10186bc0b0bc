/**
 * The native side's Node edge: builds bench/native/shmbench.c with the
 * system gcc (cached under node_modules/.cache/ipc-sentry, keyed by the
 * sha256 of the flags and the source, built under a temporary name and
 * renamed into place) and runs one test of it per call. shmbench moves
 * itself into a fresh IPC namespace, so nothing it creates outlives it.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result, TestName } from './emulated.js';

const CFLAGS = ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror'];
const EXIT_UNAVAILABLE = 3;
const RUN_TIMEOUT_MS = 120_000;

/** The repository root (bench/ is one level down). */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

let built: string | undefined;

/** The path of the shmbench binary, building it if its source or flags changed. Throws why it cannot. */
export function ensureShmbench(): string {
  if (built !== undefined) return built;
  if (process.platform !== 'linux') throw new Error(`the native side needs Linux (this is ${process.platform})`);
  const source = join(ROOT, 'bench', 'native', 'shmbench.c');
  const hash = createHash('sha256').update(CFLAGS.join(' ')).update('\0').update(readFileSync(source)).digest('hex');
  const dir = join(ROOT, 'node_modules', '.cache', 'ipc-sentry', `shmbench-${hash}`);
  const binary = join(dir, 'shmbench');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `shmbench.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const gcc = spawnSync('gcc', [...CFLAGS, '-o', temp, source], { encoding: 'utf8' });
    if (gcc.error !== undefined) {
      const code = (gcc.error as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? 'no C compiler: gcc is not installed' : `cannot run gcc: ${gcc.error.message}`);
    }
    if (gcc.status !== 0) {
      rmSync(temp, { force: true });
      throw new Error(`gcc cannot build bench/native/shmbench.c:\n${gcc.stderr}`);
    }
    renameSync(temp, binary);
  }
  built = binary;
  return binary;
}

/** Runs `test` natively: one warm-up sample, then `samples` samples of `ops` operations. */
export function runNative(test: TestName, ops: number, samples: number, param: number): Result {
  const binary = ensureShmbench();
  const run = spawnSync(binary, [test, String(ops), String(samples), String(param)], {
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
  });
  if (run.error !== undefined) throw new Error(`shmbench ${test} did not finish: ${run.error.message}`);
  if (run.status === EXIT_UNAVAILABLE) throw new Error(`the native side cannot run here: ${run.stderr.trim()}`);
  if (run.status !== 0) throw new Error(`shmbench ${test} exited with status ${String(run.status ?? run.signal)}: ${run.stderr.trim()}`);
  const parsed = JSON.parse(run.stdout) as { test?: unknown; rates?: unknown; median?: unknown };
  const { rates, median } = parsed;
  if (
    parsed.test !== test ||
    !Array.isArray(rates) ||
    rates.length !== samples ||
    !rates.every((r) => typeof r === 'number' && r > 0) ||
    typeof median !== 'number' ||
    !(median > 0)
  ) {
    throw new Error(`shmbench ${test} printed a malformed result: ${run.stdout.slice(0, 200)}`);
  }
  return { rates: rates as number[], median };
}
