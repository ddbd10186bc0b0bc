/**
 * The native oracle's file-system statements against the real kernel: a
 * private tmpfs root every process chroots into, host-side mounts made by
 * the coordinator, descriptor slots, dd's copy loop, and the clean-up that
 * leaves the machine as it was. Skipped, with the reason, where the oracle
 * cannot run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR, O_WRONLY } from '../../../src/abi/fs.js';
import { loadScenario, runOnKernel } from '../../../src/scenario/host.js';
import { nativeAvailable, runOracle } from '../../../src/scenario/native/native.js';
import { parseScenario } from '../../../src/scenario/parse/parse.js';
import { encodeProgram } from '../../../src/scenario/native/protocol.js';
import type { RawResult } from '../../../src/scenario/result/raw.js';
import { bytesLine } from '../../../src/scenario/result/dd.js';

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;
const native = describe.skipIf(unavailable !== undefined);

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

function run(...statements: string[]): RawResult[] {
  const r = runOracle(statements.map((s, i) => `${i + 1} ${s}\n`).join(''));
  if (E.isLeft(r)) throw new Error(`oracle: ${JSON.stringify(r.left)}`);
  expect(r.right).toHaveLength(statements.length);
  return r.right;
}

const roots = (): string[] => readdirSync('/tmp').filter((n) => n.startsWith('ipc-sentry-root-'));
const tmpfsMounts = (): number =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(' - tmpfs ')).length;

native(`native file statements${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, () => {
  it('encodes paths as hex and descriptors as %N slots', () => {
    const p = parseScenario('proc A\nA open "/a b" O_RDWR|O_CREAT 0600 -> f\nA pwrite f bytes=3 7\nA close f\n', 't.scn');
    if (E.isLeft(p)) throw new Error('parse');
    expect(encodeProgram(p.right).split('\n').slice(1, 4)).toEqual([
      `2 open 0 ${hex('/a b')} ${O_RDWR | O_CREAT} 384 %0`,
      '3 fwrite 0 %0 z3 7',
      '4 close 0 %0',
    ]);
  });

  it('mounts a sized tmpfs and reports short writes, ENOSPC and statfs', () => {
    const r = run(
      `hmkdir ${hex('/m')}`,
      `tmpfs ${hex('/m')} 8192 - -`,
      'proc 0 0 0 0 -1 0',
      `open 0 ${hex('/m/f')} ${O_WRONLY | O_CREAT} 438 %0`,
      'fwrite 0 %0 z5000 -',
      'fwrite 0 %0 z5000 -',
      'fwrite 0 %0 z1 -',
      `statfs 0 ${hex('/m')}`,
      `stat 0 ${hex('/m/f')}`,
    );
    expect(r.map((x) => x.ok)).toEqual([true, true, true, true, true, true, false, true, true]);
    expect(r[4]).toMatchObject({ ret: 5000n });
    expect(r[5]).toMatchObject({ ret: 3192n });
    expect(r[6]).toEqual({ ok: false, errno: 'ENOSPC' });
    expect(r[7]).toMatchObject({ statfs: { bsize: 4096n, blocks: 2n, bfree: 0n, bavail: 0n } });
    // umask 022 applied to 0666.
    expect(r[8]).toMatchObject({ stat: { mode: 0o100644, size: 8192n, blocks: 16n } });
  });

  it('runs dd with coreutils loop and reports the facts the runner formats', () => {
    const r = run(`hmkdir ${hex('/m')}`, `tmpfs ${hex('/m')} 12288 - -`, 'proc 0 0 0 0 -1 0', `dd 0 ${hex('/m/f')} 5000 10`);
    expect(r[3]).toEqual({
      ok: true,
      dd: { inFull: 3n, inPartial: 0n, outFull: 2n, outPartial: 0n, bytes: 12288n, failed: { call: 'write', errno: 'ENOSPC' } },
    });
  });

  it('keeps descriptor slots per process and copies them at fork', () => {
    const r = run(
      'proc 0 0 0 0 -1 0',
      `open 0 ${hex('/f')} ${O_RDWR | O_CREAT} 438 %0`,
      'fork 0 1',
      'close 0 %0',
      'fwrite 1 %0 6869 -',
      'fwrite 0 %0 6869 -',
      'fread 1 %0 10 -',
    );
    expect(r[4]).toMatchObject({ ok: true, ret: 2n });
    expect(r[5]).toEqual({ ok: false, errno: 'EBADF' });
    // The child's descriptor shares the file position: the read starts after the write.
    expect(r[6]).toMatchObject({ ok: true, ret: 0n });
  });

  it('never touches the machine: no mount is left, and the root directory is removed', () => {
    const before = { roots: roots(), mounts: tmpfsMounts() };
    run(
      `hmkdir ${hex('/x/y')}`,
      `tmpfs ${hex('/x/y')} 4096 5 01777`,
      `hmkdir ${hex('/v')}`,
      `bind ${hex('/x/y')} ${hex('/v')} 1`,
      'proc 0 0 0 0 -1 0',
      `statfs 0 ${hex('/v')}`,
    );
    // Other test files run the oracle at the same time, each with a root of its own under /tmp: a root
    // that is new now must be theirs, and so must go away soon; one of this run's would stay.
    const fresh = roots().filter((n) => !before.roots.includes(n));
    const deadline = Date.now() + 20_000;
    let staying = fresh;
    while (staying.length > 0 && Date.now() < deadline) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      const now = roots();
      staying = staying.filter((n) => now.includes(n));
    }
    expect(staying).toEqual([]);
    expect(tmpfsMounts()).toBe(before.mounts);
  });

  it('chroots processes into the scenario root: host paths are out of reach', () => {
    const r = run('proc 0 0 0 0 -1 0', `stat 0 ${hex('/proc/self')}`, `stat 0 ${hex('/etc/passwd')}`, `statfs 0 ${hex('/')}`);
    expect(r[1]).toEqual({ ok: false, errno: 'ENOENT' });
    expect(r[2]).toEqual({ ok: false, errno: 'ENOENT' });
    expect(r[3]).toMatchObject({ statfs: { blocks: 0n, files: 0n } });
  });

  it('turns a program with isula, meminfo, memcg or proc container= into exit status 3', () => {
    for (const text of ['isula create c1\n', 'meminfo total=1G available=1G\n', 'memcg c1\n', 'proc A container=c1\n']) {
      const p = parseScenario(text, 't.scn');
      if (E.isLeft(p)) throw new Error('parse');
      const k = runOnKernel(p.right);
      expect(E.isLeft(k) && k.left.kind).toBe('unavailable');
      expect(E.isLeft(k) && k.left.kind === 'unavailable' && k.left.reason).toMatch(/^line 1: .* is emulated only/);
    }
    // From the sources: test/package rebuilds dist/ while other files run.
    const root = join(import.meta.dirname, '..', '..', '..');
    const cli = spawnSync(
      join(root, 'node_modules', '.bin', 'tsx'),
      [join(root, 'src', 'cli', 'main.ts'), 'run', '--backend', 'native', 'examples/hostchannel-oom.scn'],
      {
        cwd: join(import.meta.dirname, '..', '..', '..'),
        encoding: 'utf8',
      },
    );
    expect(cli.status).toBe(3);
    expect(cli.stdout).toBe('');
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/emulated only/);
  });

  it('passes the tmpfs examples on the kernel (also covered by the examples test)', () => {
    const p = loadScenario(join(import.meta.dirname, '..', '..', '..', 'examples', 'tmpfs-short-write-enospc.scn'));
    if (E.isLeft(p)) throw new Error('parse');
    const k = runOnKernel(p.right);
    expect(E.isRight(k) && k.right.failures).toEqual([]);
  });
});

/** The real dd on a real tmpfs (in a private mount namespace through util-linux unshare) prints the §7.4 rows. */
const unshareOk = unavailable === undefined && spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
describe.skipIf(!unshareOk)('real coreutils dd on a real tmpfs', () => {
  it.each([
    ['33554432', '1024', '64K', '32769+0 records in', '32768+0 records out', 33554432n],
    ['4097', '1024', '64K', '9+0 records in', '8+0 records out', 8192n],
    ['12288', '5000', '10', '3+0 records in', '2+0 records out', 12288n],
  ])('size=%s bs=%s count=%s', (size, bs, count, inLine, outLine, bytes) => {
    const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-dd-'));
    try {
      const script = `mount -t tmpfs -o size=${size} tmpfs "$1" && dd if=/dev/zero of="$1/test.file" bs=${bs} count=${count}`;
      const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', dir], {
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' },
      });
      const lines = r.stderr.trim().split('\n');
      expect(r.status).toBe(1);
      expect(lines.slice(0, 3)).toEqual([`dd: error writing '${dir}/test.file': No space left on device`, inLine, outLine]);
      expect(lines[3]?.replace(/, [^,]* s, [^,]*$/, ', <time>, <rate>')).toBe(bytesLine(bytes));
    } finally {
      rmdirSync(dir);
    }
  });
});
