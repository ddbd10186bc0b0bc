/**
 * `npm start`: the default command runs examples/host-channel.scn and its
 * transcript shows dd's output exactly as the iSulad documentation shows it
 * (time and rate replaced by placeholders), line for line.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** The documented lines, in order, each a whole line of the output. */
const DOCUMENTED = [
  "dd: error writing '/testdir/test.file': No space left on device",
  '32769+0 records in',
  '32768+0 records out',
  '33554432 bytes (34 MB, 32 MiB) copied, <time>, <rate>',
];

describe('npm start', () => {
  it('runs the host-channel demo and prints the documented dd lines, line for line', () => {
    const r = spawnSync('npm', ['start', '--silent'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const at = lines.indexOf(DOCUMENTED[0]!);
    expect(at, r.stdout).toBeGreaterThan(0);
    expect(lines.slice(at, at + DOCUMENTED.length)).toEqual(DOCUMENTED);
    // The prompt names the container process that ran dd, and the exit status follows.
    expect(lines[at - 1]).toBe('W@c1$ dd if=/dev/zero of=/testdir/test.file bs=1024 count=64K');
    expect(lines[at + DOCUMENTED.length]).toBe('  exit status 1');
    expect(r.stdout).toMatch(/all held\n$/);
    // The message exchange through the shared mapping, both ways.
    expect(r.stdout).toContain('W@c1$ read wmap 19\n  "hello from the host"\n');
    expect(r.stdout).toContain('H$ read hmap+64 23\n  "hello from container c1"\n');
  });

  it('keeps the shm demo as `ipc-sentry demo`, and prints JSON lines with --json', () => {
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    const main = join(root, 'src', 'cli', 'main.ts');
    const demo = spawnSync(tsx, [main, 'demo'], { cwd: root, encoding: 'utf8' });
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/System V shared memory segment/);
    const json = spawnSync(tsx, [main, 'host-channel', '--json'], { cwd: root, encoding: 'utf8' });
    expect(json.status).toBe(0);
    const dd = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['op'] === 'dd');
    expect(dd).toMatchObject({ proc: 'W', ok: true, exit: 1, stderr: DOCUMENTED });
  });
});
