/** Runs a bench script in a child process, for rows that need their own process (flags, allocator, an event loop). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './native.js';

/** Runs bench/`name` under node (through tsx) in a child process and parses the one JSON object it prints. */
export function runChild<T>(name: string, nodeArgs: readonly string[], args: readonly string[], timeout: number, env: NodeJS.ProcessEnv = process.env): T {
  const run = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'bench', name), ...args], { cwd: ROOT, encoding: 'utf8', timeout, env });
  if (run.status !== 0) throw new Error(`bench/${name} failed (${String(run.status ?? run.signal)}): ${run.stderr.trim()}`);
  return JSON.parse(run.stdout) as T;
}
