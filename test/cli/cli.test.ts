/**
 * The ipc-sentry command as a user runs it: exit statuses, where output goes,
 * and the exact shape of error lines.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'src', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-cli-'));

function cli(...args: string[]) {
  const r = spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scenario(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('ipc-sentry run', () => {
  it('prints one JSON line per statement and exits 0', () => {
    const f = scenario('ok.scn', 'proc A\nA shmget IPC_PRIVATE 4K 0600 -> s => ok ret=s raw=0\nA shmctl s IPC_STAT => ok size=4096 mode=0600\n');
    const r = cli('run', f, '--check');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toEqual({ line: 2, proc: 'A', op: 'shmget', ok: true, ret: 's', raw: 0 });
    expect(lines[2].ds.mode).toBe('0600');
  });

  it('with --check, exits 1 and names FILE:LINE for a failed expectation', () => {
    const f = scenario('fail.scn', 'proc A\nA shmget 5 100 0 => ENOENT\nA shmget 5 100 0 => EEXIST\n');
    const r = cli('run', f, '--check');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`${f}:3: expectation failed: wanted EEXIST, got ENOENT\n`);
    expect(JSON.parse(r.stdout.trim().split('\n')[2]!).expect).toBe('FAILED: wanted EEXIST');
  });

  it('without --check, a failed expectation is only marked in the output', () => {
    const f = scenario('mark.scn', 'proc A\nA shmget 5 100 0 => EEXIST\n');
    expect(cli('run', f).status).toBe(0);
  });

  it('exits 2 with FILE:LINE:COL on a parse error, and runs nothing', () => {
    const good = scenario('good.scn', 'proc A\n');
    const bad = scenario('bad.scn', 'proc A\nA shmget IPC_PRIVATE 4K 0600\nA frobnicate 1\n');
    const r = cli('run', good, bad);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:3: `));
  });

  it('reports an unreadable file as a parse-time error', () => {
    const r = cli('run', join(dir, 'missing.scn'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/missing\.scn:1:1: cannot read the file/);
  });

  it('rejects unknown options and backends with usage', () => {
    expect(cli('run', '--backend', 'qemu', 'x.scn').status).toBe(2);
    expect(cli('run', '--fast', 'x.scn').stderr).toMatch(/unknown option --fast/);
    expect(cli('frob').status).toBe(2);
  });

  it('prints help for each command', () => {
    for (const args of [['--help'], ['run', '--help'], ['diff', '--help'], ['ipcs', '--help']]) {
      const r = cli(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/examples:/);
    }
  });
});

describe('ipc-sentry ipcs', () => {
  it('lists segments in util-linux ipcs -m layout', () => {
    const f = scenario('ipcs.scn', 'proc A\nA shmget 0x5eed 100 IPC_CREAT|0644 -> s\nA shmat s 0 0 -> a\nA shmctl s SHM_LOCK\nA shmctl s IPC_RMID\nA shmget IPC_PRIVATE 4096 0600\n');
    const r = cli('ipcs', f);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '',
      '------ Shared Memory Segments --------',
      'key        shmid      owner      perms      bytes      nattch     status      ',
      '0x00000000 0          root       644        100        1          dest   locked',
      '0x00000000 1          root       600        4096       0                       ',
      '',
    ]);
  });
});
