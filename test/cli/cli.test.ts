/**
 * The ipc-sentry command as a user runs it: exit statuses, where output goes,
 * and the exact shape of error lines.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../src/scenario/native/native.js';

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
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
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

  it('prints help for each command, as CMD --help and as help CMD', () => {
    for (const args of [['--help'], ['-h'], ['run', '--help'], ['diff', '--help'], ['demo', '--help'], ['help', 'run'], ['help', 'ipcs'], ['help']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/examples:/);
    }
    // ipcs answers -h and --help itself, with util-linux's text.
    expect(cli('ipcs', '--help').stdout).toMatch(/^\nUsage:\n ipcs \[resource-option\.\.\.\] \[output-option\]/);
  });

  it('answers --version and -V with the package version', () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(cli(flag)).toEqual({ status: 0, stdout: `ipc-sentry ${version}\n`, stderr: '' });
  });

  it('refuses unknown options on every command with exit 2 and a usage line', () => {
    for (const args of [
      ['demo', '--bogus'],
      ['host-channel', '--bogus'],
      ['run', '-z', 'x.scn'],
      ['diff', '--quick', 'x.scn'],
      ['ipcs', '--bogus'],
      ['help', 'frob'],
    ]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/\nusage: ipc-sentry/);
    }
  });

  it('names only example files that exist in its usage text', () => {
    const text = cli('--help').stdout + ['run', 'diff', 'ipcs', 'host-channel'].map((c) => cli('help', c).stdout).join('');
    const named = [...text.matchAll(/examples\/[\w.-]+\.scn/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(2);
    for (const f of named) expect(existsSync(join(root, f)), f).toBe(true);
  });

  it('ends quietly with status 141 when its reader goes away (EPIPE)', () => {
    const big = scenario('many.scn', `proc A\n${'A shmget IPC_PRIVATE 4096 0600\n'.repeat(3000)}`);
    const r = spawnSync('sh', ['-c', `"$0" "$1" run "$2" | head -1; exit "\${PIPESTATUS:-0}"`, tsx, main, big], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('{"line":1,"proc":"A","op":"proc","ok":true}\n');
  });

  it('prints each result line when its statement finishes, before the run ends', async () => {
    const f = scenario('slow.scn', `proc A\n${'A shmget IPC_PRIVATE 4096 0600\n'.repeat(20000)}`);
    const child = spawn(tsx, [main, 'run', f], { cwd: root });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(b.toString('utf8'))));
    // The first line arrived while the run was still going: the process has not exited yet.
    expect(child.exitCode).toBe(null);
    expect(first.startsWith('{"line":1,')).toBe(true);
    child.kill();
  });
});

describe('ipc-sentry diff', () => {
  it.skipIf(E.isLeft(nativeAvailable()))('skips emulated-only files with a note and compares the rest', () => {
    const only = scenario('iso.scn', 'isula create c1 => ok exit=0\n');
    const plain = scenario('plain.scn', 'proc A\nA shmget IPC_PRIVATE 4096 0600\n');
    const r = cli('diff', only, plain);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${only}: skipped, line 1: isula is emulated only`);
    expect(r.stdout).toContain(`${plain}: 2 of 2 statements agree`);
  });
});

describe('ipc-sentry ipcs', () => {
  it('lists segments in util-linux ipcs -m layout', () => {
    const f = scenario(
      'ipcs.scn',
      'proc A\nA shmget 0x5eed 100 IPC_CREAT|0644 -> s\nA shmat s 0 0 -> a\nA shmctl s SHM_LOCK\nA shmctl s IPC_RMID\nA shmget IPC_PRIVATE 4096 0600\n',
    );
    const r = cli('ipcs', '-m', f);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '',
      '------ Shared Memory Segments --------',
      'key        shmid      owner      perms      bytes      nattch     status      ',
      '0x00000000 0          root       644        100        1          dest   locked',
      '0x00000000 1          root       600        4096       0                       ',
      '',
      '',
    ]);
  });
});
