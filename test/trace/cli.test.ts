/**
 * `ipc-sentry run --trace` over the teaching examples: every example prints
 * strace-style lines, particular examples print particular lines, the
 * command line's output is the in-process trace, JSON mode parses, and
 * without --trace nothing changes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { traceSession } from '../../src/cli/trace.js';
import { loadScenario, streamOn } from '../../src/scenario/host.js';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'src', 'cli', 'main.ts');
const examples = join(root, 'examples');
const FILES = readdirSync(examples)
  .filter((n) => n.endsWith('.scn'))
  .sort();
const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-trace-'));

function cli(...args: string[]) {
  const r = spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The shapes a trace line takes: a call with its result, one that sleeps, its wake-up, and strace's `--- ... ---` lines. */
const CALL = /^(\S+) ([a-z_0-9]+)\((.*)\) = (-?\d+|0x[0-9a-f]+|\?|-1 E[A-Z0-9]+ \([^)]+\)|\[.*\])$/;
const UNFINISHED = /^(\S+) ([a-z_0-9]+)\((.*) <unfinished \.\.\.>$/;
const RESUMED = /^(\S+) <\.\.\. ([a-z_0-9]+) resumed>\) = (-?\d+|-1 E[A-Z0-9]+ \([^)]+\))( \(woken by \S+\))?$/;
const EVENT =
  /^(\S+ )?--- (SIG(SEGV|BUS) \{si_signo=SIG(SEGV|BUS), si_addr=0x[0-9a-f]+\}|SIGUSR1 \{si_signo=SIGUSR1, si_code=SI_USER\}|frames? \d+(-\d+)? (allocated|freed)|container \S+: [a-z]+ = \d+(, pid \S+)?) ---$/;

function isTraceLine(line: string): boolean {
  return CALL.test(line) || UNFINISHED.test(line) || RESUMED.test(line) || EVENT.test(line);
}

/** Each example's trace, run in-process the way the CLI runs it. */
const traces = new Map<string, string[]>();

beforeAll(async () => {
  for (const name of FILES) {
    const program = loadScenario(join(examples, name));
    if (E.isLeft(program)) throw new Error(`${name} does not parse`);
    const lines: string[] = [];
    const session = traceSession(program.right, false, (text) => lines.push(text.replace(/\n$/, '')));
    const r = await streamOn('emulated', program.right, () => undefined, { emulator: session.hooks });
    session.end();
    if (E.isLeft(r)) throw new Error(`${name}: ${JSON.stringify(r.left)}`);
    traces.set(name, lines);
  }
}, 120_000);

/** Wall-clock seconds (shm_ctime and friends) as a placeholder: two runs may straddle a second. */
function timeless(text: string): string {
  return text.replace(/(time=)\d+/g, '$1T');
}

describe('ipc-sentry run --trace', () => {
  it.each(FILES)('%s prints strace-style lines', (name) => {
    const lines = traces.get(name)!;
    expect(lines.filter((l) => CALL.test(l)).length).toBeGreaterThan(0);
    expect(lines.filter((l) => !isTraceLine(l))).toEqual([]);
  });

  it.each([
    ['shmat-permissions.scn', 'U shmat(0, NULL, SHM_RDONLY) = 0x7efffffff000'],
    ['shmat-permissions.scn', 'U shmat(0, NULL, 0) = -1 EACCES (Permission denied)'],
    ['shmat-permissions.scn', 'O shmat(4, NULL, SHM_RDONLY|SHM_EXEC) = 0x7effffffe000'],
    ['sem-block-decrement-woken.scn', 'B semop(0, [{sem_num=0, sem_op=-1, sem_flg=0}], 1 <unfinished ...>'],
    ['sem-block-decrement-woken.scn', 'B <... semop resumed>) = 0 (woken by A)'],
    ['msg-accounting.scn', 'A msgsnd(0, {1, "hello world"}, 11, 0) = 0'],
    ['host-channel.scn', '--- container c1: create = 0 ---'],
    [
      'host-channel.scn',
      'W write(0, "\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0"..., 1024) = -1 ENOSPC (No space left on device)',
    ],
    ['sem-block-interrupt-eintr.scn', 'B --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER} ---'],
    ['fork-inherits-attachments.scn', 'C --- SIGSEGV {si_signo=SIGSEGV, si_addr=0x7effffffe000} ---'],
    ['shmat-hugetlb-split.scn', 'A --- SIGBUS {si_signo=SIGBUS, si_addr=0x7effffe00000} ---'],
    ['tmpfs-statfs.scn', 'A --- frames 0-255 allocated ---'],
    ['shmget-missing-key.scn', 'A shmget(0x2000, 4096, IPC_EXCL|0600) = -1 ENOENT (No such file or directory)'],
  ])('%s prints %s', (name, line) => {
    expect(traces.get(name)).toContain(line);
  });

  it('prints on stderr, to a file with --trace=PATH, the in-process trace, and keeps stdout and the exit status', () => {
    const files = FILES.map((n) => join(examples, n));
    const path = join(dir, 'all.trace');
    const plain = cli('run', '--check', ...files);
    const toFile = cli('run', '--check', `--trace=${path}`, ...files);
    expect(toFile.status).toBe(plain.status);
    expect(toFile.stdout).toBe(plain.stdout);
    expect(toFile.stderr).toBe(plain.stderr);
    const expected = FILES.flatMap((n) => traces.get(n)!);
    expect(timeless(readFileSync(path, 'utf8'))).toBe(timeless(`${expected.join('\n')}\n`));
    const some = ['shmat-permissions.scn', 'sem-block-decrement-woken.scn', 'checkpoint-restore.scn'];
    const toStderr = cli('run', '--trace', ...some.map((n) => join(examples, n)));
    expect(toStderr.status).toBe(0);
    expect(timeless(toStderr.stderr)).toBe(timeless(`${some.flatMap((n) => traces.get(n)!).join('\n')}\n`));
  }, 120_000);

  it('prints JSON Lines with --trace=json', () => {
    const r = cli('run', '--trace=json', join(examples, 'shmat-permissions.scn'));
    expect(r.status).toBe(0);
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(traces.get('shmat-permissions.scn')!.length);
    expect(events[2]).toEqual({
      kind: 'syscall',
      pid: 1002,
      name: 'U',
      call: 'shmat',
      args: [0, 0, 0],
      result: { status: 'error', errno: 'EACCES', message: expect.any(String) },
    });
  });

  it('refuses --trace for the native backend, an empty --trace=, and a trace file it cannot create (exit 2)', () => {
    const f = join(examples, 'shmat-rnd.scn');
    const native = cli('run', '--backend', 'native', '--trace', f);
    expect(native.status).toBe(2);
    expect(native.stderr).toMatch(/^ipc-sentry: --trace traces the emulated backend only\n/);
    expect(cli('run', '--trace=', f).status).toBe(2);
    const unwritable = cli('run', `--trace=${join(dir, 'no', 'such', 'dir', 'x')}`, f);
    expect(unwritable.status).toBe(2);
    expect(unwritable.stderr).toMatch(/^ipc-sentry: cannot write the trace to /);
    expect(unwritable.stdout).toBe('');
  });
});
