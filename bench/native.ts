/**
 * The native side's Node edge: builds bench/native/shmbench.c with the
 * system gcc (cached under node_modules/.cache/ipc-sentry, keyed by the
 * sha256 of the flags and the source, built under a temporary name and
 * renamed into place) and runs one test of it per call. shmbench moves
 * itself into a fresh IPC namespace, so nothing it creates outlives it.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
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

/**
 * One test served by a running shmbench (`shmbench TEST OPS serve PARAM`):
 * set up and warmed up once, then one timed sample per request, so the bench
 * can alternate native and ipc-sentry samples without a fork per sample.
 */
export class NativeServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private ended = false;
  private stderr = '';

  private constructor(
    private readonly test: string,
    binary: string,
    args: readonly string[],
  ) {
    this.child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    const rl = createInterface({ input: this.child.stdout });
    rl.on('line', (line) => this.deliver(line));
    rl.on('close', () => {
      this.ended = true;
      this.deliver(undefined);
    });
    this.child.on('error', () => {
      this.ended = true;
      this.deliver(undefined);
    });
  }

  /** Starts shmbench for `test` and waits until it has set up and warmed up. Rejects as runNative throws. */
  static async start(test: TestName, ops: number, param: number): Promise<NativeServer> {
    const server = new NativeServer(test, ensureShmbench(), [test, String(ops), 'serve', String(param)]);
    const ready = await server.next();
    if (ready !== '{"ready":true}') await server.failed('did not get ready');
    return server;
  }

  /**
   * Starts bench/`script` under node (through tsx), which serves samples as
   * shmbench does (`{"ready":true}`, then one `{"rate":r}` per line read);
   * exit status 3 means the native side cannot run here.
   */
  static async startScript(label: string, script: string, args: readonly string[]): Promise<NativeServer> {
    const server = new NativeServer(label, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', script), ...args]);
    const ready = await server.next();
    if (ready !== '{"ready":true}') await server.failed('did not get ready');
    return server;
  }

  /** One timed sample: operations (or bytes, or pages) per second. */
  async sample(): Promise<number> {
    this.child.stdin.write('\n');
    const line = await this.next();
    const rate = line === undefined ? undefined : (JSON.parse(line) as { rate?: unknown }).rate;
    if (typeof rate !== 'number' || !(rate > 0)) return this.failed(`printed a malformed sample: ${String(line).slice(0, 200)}`);
    return rate;
  }

  /** Ends the server (its IPC namespace goes with it). */
  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null && this.child.signalCode === null) await once(this.child, 'exit');
  }

  private next(): Promise<string | undefined> {
    const line = this.lines.shift();
    if (line !== undefined || this.ended) return Promise.resolve(line);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private deliver(line: string | undefined): void {
    const w = this.waiting;
    if (w !== undefined) {
      this.waiting = undefined;
      w(line);
    } else if (line !== undefined) {
      this.lines.push(line);
    }
  }

  private async failed(what: string): Promise<never> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill();
      await once(this.child, 'exit');
    }
    if (this.child.exitCode === EXIT_UNAVAILABLE) throw new Error(`the native side cannot run here: ${this.stderr.trim()}`);
    throw new Error(`shmbench ${this.test} ${what} (exit ${String(this.child.exitCode ?? this.child.signalCode)}): ${this.stderr.trim()}`);
  }
}
