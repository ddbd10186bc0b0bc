/**
 * The command line within bounds: bad bytes and oversized files are parse
 * errors (exit 2, nothing runs), a host that cannot back the emulator stops
 * the run at FILE:LINE (exit 3), and a native run over its budget is refused
 * (exit 3) before anything runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'src', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-limits-'));

function cli(...args: string[]) {
  const r = spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scenario(name: string, content: string | Uint8Array): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
}

describe('scenario bytes', () => {
  it('exits 2 naming FILE:LINE:COL of the first byte that is not UTF-8, and runs nothing', () => {
    const f = scenario(
      'latin1.scn',
      Uint8Array.from([...Buffer.from('proc A\nA shmget IPC_PRIVATE 4K 0600 -> s\nA shmctl s IPC_RMID # gr'), 0xfc, 0x6e, 0x0a]),
    );
    const r = cli('run', f);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${f}:3:25: invalid UTF-8: byte 0xfc is a byte that never appears in UTF-8\n`);
  });

  it('exits 2 on a NUL or another control byte', () => {
    const nul = scenario('nul.scn', 'proc A\nA mkdir "/d\0x"\n');
    expect(cli('run', nul)).toMatchObject({
      status: 2,
      stdout: '',
      stderr: `${nul}:2:12: a NUL byte is not allowed in a scenario (inside a string, write a byte as \\xHH)\n`,
    });
    const esc = scenario('esc.scn', 'proc A\n\x1b[2Jproc B\n');
    expect(cli('run', esc)).toMatchObject({ status: 2, stdout: '' });
    expect(cli('run', esc).stderr).toMatch(/esc\.scn:2:1: control character U\+001B is not allowed/);
    expect(cli('ipcs', esc).status).toBe(2);
    expect(cli('host-channel', esc).status).toBe(2);
  });

  it('stops reading at --max-input: /dev/zero and an endless FIFO', async () => {
    const zero = cli('run', '--max-input', '64K', '/dev/zero');
    expect(zero).toMatchObject({ status: 2, stdout: '' });
    expect(zero.stderr).toBe('/dev/zero:1:1: the file has more than 64 KiB of scenario text, the most a file may have (raise it with --max-input)\n');
    const fifo = join(dir, 'endless.scn');
    spawnSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `exec yes 'proc A' > '${fifo}'`], { stdio: 'ignore' });
    try {
      const r = cli('diff', '--max-input=1M', fifo);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/endless\.scn:1:1: the file has more than 1 MiB/);
    } finally {
      writer.kill();
    }
  });

  it('takes --max-input on ipcs and host-channel too, and refuses a bad size', () => {
    const f = scenario('small.scn', `proc A\n${'# padding\n'.repeat(200)}`);
    expect(cli('ipcs', '--max-input', '1K', f).stderr).toMatch(/small\.scn:1:1: the file has more than 1 KiB/);
    expect(cli('ipcs', '-m', '--max-input=4K', f).status).toBe(0);
    expect(cli('host-channel', '--max-input', '1K', f).status).toBe(2);
    const bad = cli('run', '--max-input', '12Q', f);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--max-input takes a positive byte count such as 4096, 512K, 64M or 2G, not 12Q/);
    expect(cli('run', '--native-budget', '0', f).status).toBe(2);
    expect(cli('ipcs', '--max-input', f).status).toBe(2);
  });

  it('documents the options in the help', () => {
    expect(cli('help', 'run').stdout).toMatch(/--max-input BYTES.*default 64M/);
    expect(cli('help', 'run').stdout).toMatch(/--native-budget BYTES.*default 1G/);
    expect(cli('help', 'diff').stdout).toMatch(/--native-budget BYTES/);
    expect(cli('help', 'host-channel').stdout).toMatch(/--max-input BYTES/);
    expect(cli('help', 'ipcs').stdout).toMatch(/--max-input BYTES/);
  });
});

describe('host memory', () => {
  // A 2 GiB segment filled 16 MiB at a time, under a 1 GB data limit: the
  // emulator (sized like this machine) asks for more than the process may have.
  const fills = Array.from({ length: 128 }, (_, i) => `A fill a+${i * 16 * 1024 * 1024} 16M 0x41`);
  const big = scenario('big.scn', ['proc A', 'A shmget IPC_PRIVATE 2G 0600 -> s', 'A shmat s 0 0 -> a', ...fills, ''].join('\n'));

  const message =
    'emulated backend cannot run this here: this machine cannot give the emulator the memory this statement needs (Array buffer allocation failed); run it with more memory, or with smaller sizes';

  /** Every line before `stopped` printed, in order. */
  const printedUpTo = (stdout: string, stopped: number): void => {
    const out = stdout.trim().split('\n');
    expect(out).toHaveLength(stopped - 1);
    out.forEach((l, i) => {
      expect(JSON.parse(l).line).toBe(i + 1);
    });
  };

  it('stops the run at the statement the host cannot back: earlier lines printed, exit 3, no stack trace', () => {
    // 300 MB of buffers, then V8 refuses (a preload makes the failure exact): 16 MiB frames, so fill 18 fails.
    const preload = join(import.meta.dirname, 'fixtures', 'alloc-limit.mjs');
    const r = spawnSync(tsx, ['--import', preload, main, 'run', big], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, IPC_SENTRY_TEST_ALLOC_LIMIT: '300000000' },
    });
    expect(r.stderr).toMatch(new RegExp(`^${big.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: `));
    const stopped = Number(/:(\d+): /.exec(r.stderr)?.[1]);
    expect(r.stderr).toBe(`${big}:${stopped}: ${message}\n`);
    expect(r.status).toBe(3);
    expect(stopped).toBeGreaterThan(4);
    printedUpTo(r.stdout, stopped);
    const ipcs = spawnSync(tsx, ['--import', preload, main, 'ipcs', big], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, IPC_SENTRY_TEST_ALLOC_LIMIT: '300000000' },
    });
    expect({ status: ipcs.status, stderr: ipcs.stderr }).toEqual({ status: 3, stderr: `${big}:${stopped}: ${message}\n` });
  });

  it('does the same under a real data limit (ulimit -d), unless V8 itself ran out first', (ctx) => {
    const r = spawnSync('sh', ['-c', 'ulimit -d 1000000 && exec "$0" "$@"', tsx, main, 'run', big], { cwd: root, encoding: 'utf8' });
    // Near the limit, V8's own heap may be what cannot grow: a fatal abort no JavaScript can catch.
    if (r.status === 134 && r.stderr.includes('Last few GCs')) ctx.skip('V8 ran out of heap before an ArrayBuffer failed');
    expect(r.status).toBe(3);
    const stopped = Number(/:(\d+): /.exec(r.stderr)?.[1]);
    expect(r.stderr).toBe(`${big}:${stopped}: ${message}\n`);
    printedUpTo(r.stdout, stopped);
  });
});

describe('native budget', () => {
  const huge = scenario('huge.scn', 'tmpfs mount /mnt/t size=0\nproc A\nA open /mnt/t/f O_RDWR|O_CREAT -> f\nA fallocate f 0 12G\n');

  it('refuses a native run that could fill the host, naming the line, before anything runs', () => {
    const r = cli('run', '--backend', 'native', huge);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${huge}:4: native backend cannot run this here: fallocate of 12 GiB could make the kernel hold 12 GiB of memory in all, more than the native backend's budget of 1 GiB (raise it with --native-budget)\n`,
    );
    expect(cli('diff', huge).stderr).toMatch(/huge\.scn:4: native backend cannot run this here: fallocate of 12 GiB/);
    expect(cli('run', '--backend', 'native', '--native-budget', '8G', huge).stderr).toMatch(/huge\.scn:4: .*budget of 8 GiB/);
  });

  it('leaves the emulator alone: its tmpfs holds no host memory until written', () => {
    expect(cli('run', huge).status).toBe(0);
  });
});
