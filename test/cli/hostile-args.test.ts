/**
 * The command line given bad files and bad arguments: a missing file, a
 * directory, an empty file, binary junk, 10 MB of text, unknown flags, bad
 * --backend values and bad ipcs arguments. Each ends with a clear exit
 * status and a one-line reason (FILE:LINE:COL or the option), never a stack
 * trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'src', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-hostile-'));

function cli(...args: string[]) {
  const r = spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** No uncaught exception: no stack frames, no Node error banner. */
function calm(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(stderr).not.toMatch(/Uncaught|node:internal|TypeError|RangeError|ReferenceError/);
}

const missing = join(dir, 'missing.scn');
const directory = join(dir, 'dir.scn');
mkdirSync(directory);
const empty = join(dir, 'empty.scn');
writeFileSync(empty, '');
const binary = join(dir, 'bin.scn');
writeFileSync(
  binary,
  Uint8Array.from({ length: 4096 }, (_, i) => (i * 151 + 0x80) & 0xff),
);
const ok = join(dir, 'ok.scn');
writeFileSync(ok, 'proc A\n');
const big = join(dir, 'big.scn');
// 10 MB of comment lines, then one statement on the last line.
writeFileSync(big, `${`# ${'x'.repeat(97)}\n`.repeat(104_858)}proc A\n`);

describe('bad files', () => {
  for (const command of [['run', '--check', '--backend', 'emulated'], ['diff'], ['ipcs'], ['host-channel']]) {
    const name = command[0]!;
    it(`${name}: a missing file and a directory are FILE:1:1 errors, exit 2`, () => {
      for (const f of [missing, directory]) {
        const r = cli(...command, f);
        expect(r.status, `${name} ${f}`).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:1: cannot read the file: `));
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        calm(r.stderr);
      }
    });

    it(`${name}: binary junk is an invalid UTF-8 error at its line and column, exit 2`, () => {
      const r = cli(...command, binary);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/bin\.scn:\d+:\d+: invalid UTF-8: /);
      calm(r.stderr);
    });
  }

  it('run: an empty file runs nothing and exits 0', () => {
    const r = cli('run', '--check', '--backend', 'emulated', empty);
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('run: 10 MB of text parses and runs, and --max-input below it refuses the file', () => {
    const r = cli('run', '--check', '--backend', 'emulated', big);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ line: 104_859, proc: 'A', op: 'proc', ok: true });
    const small = cli('run', '--max-input', '1M', big);
    expect(small.status).toBe(2);
    expect(small.stderr).toMatch(/big\.scn:1:1: the file has more than 1 MiB of scenario text/);
    calm(small.stderr);
  });

  it('run: /dev/zero stops at --max-input instead of reading forever', () => {
    const r = cli('run', '--max-input', '4K', '/dev/zero');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^\/dev\/zero:1:1: the file has more than 4 KiB/);
  });
});

describe('bad arguments', () => {
  it('run: unknown flags, bad --backend values and options with wrong values are usage errors, exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', '--bogus', ok], /unknown option --bogus/],
      [['run', '--backend', '', ok], /--backend takes emulated or native, not $/m],
      [['run', '--backend=', ok], /--backend takes emulated or native/],
      [['run', '--backend', 'EMULATED', ok], /not EMULATED/],
      [['run', '-b', 'native,emulated', ok], /not native,emulated/],
      [['run', '--backend'], /option --backend needs a NAME/],
      [['run', '--check=yes', ok], /option --check takes no value/],
      [['run', '--max-input=-1', ok], /--max-input takes a positive byte count/],
      [['run', '--max-input', '99999999999999999999999', ok], /--max-input takes a positive byte count/],
      [['run'], /run needs at least one FILE/],
      [['help', 'bogus'], /no command "bogus"/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).toMatch(/usage: ipc-sentry/);
      calm(r.stderr);
    }
  });

  it('ipcs: bad options and ids are usage errors, exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['ipcs', '--bogus'], /unrecognized option '--bogus'/],
      [['ipcs', '-i'], /option requires an argument -- 'i'/],
      [['ipcs', '-i', 'x'], /failed to parse id argument: 'x'/],
      [['ipcs', '-i', '99999999999999999999'], /failed to parse id argument: '99999999999999999999'/],
      [['ipcs', '-i', '-1'], /a single resource must be specified/],
      [['ipcs', ok, ok], /ipcs takes at most one FILE/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      calm(r.stderr);
    }
  });

  it('run: a trace path that cannot be written is one error line, exit 2', () => {
    for (const path of [join(dir, 'no', 'such', 'dir', 'trace'), directory]) {
      const r = cli('run', `--trace=${path}`, ok);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^ipc-sentry: cannot write the trace to /);
      calm(r.stderr);
    }
  });
});
