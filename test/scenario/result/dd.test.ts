/**
 * dd's stderr as the runner builds it (src/scenario/dd.ts): every measured
 * row of the host-channel notes §7.4 through the emulator's copy loop, and
 * gnulib human_readable's SI/IEC rules on their own.
 */
import { spawnSync } from 'node:child_process';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { bytesLine, ddOutput, humanSize, quoteFileName, strerror } from '../../../src/scenario/result/dd.js';
import { runOnEmulator } from '../../../src/scenario/host.js';
import { parseScenario } from '../../../src/scenario/parse/parse.js';

/** One §7.4 row: tmpfs size, bs, count → records in/out and the bytes line (time and rate replaced). */
const TABLE: ReadonlyArray<[size: string, bs: string, count: string, inRecs: string, outRecs: string, bytes: string, exit: number]> = [
  ['33554432', '1024', '64K', '32769+0', '32768+0', '33554432 bytes (34 MB, 32 MiB) copied', 1],
  ['33554432', '3000', '20000', '11185+0', '11184+0', '33554432 bytes (34 MB, 32 MiB) copied', 1],
  ['4096', '1024', '64K', '5+0', '4+0', '4096 bytes (4.1 kB, 4.0 KiB) copied', 1],
  ['4097', '1024', '64K', '9+0', '8+0', '8192 bytes (8.2 kB, 8.0 KiB) copied', 1],
  ['65536', '1000', '100', '66+0', '65+0', '65536 bytes (66 kB, 64 KiB) copied', 1],
  ['12288', '5000', '10', '3+0', '2+0', '12288 bytes (12 kB, 12 KiB) copied', 1],
  ['1048576', '4096', '1000', '257+0', '256+0', '1048576 bytes (1.0 MB, 1.0 MiB) copied', 1],
  ['67108864', '1M', '100', '65+0', '64+0', '67108864 bytes (67 MB, 64 MiB) copied', 1],
  ['33554432', '1M', '16', '16+0', '16+0', '16777216 bytes (17 MB, 16 MiB) copied', 0],
];

describe('dd on an empty tmpfs (notes §7.4)', () => {
  it.each(TABLE)('size=%s bs=%s count=%s', (size, bs, count, inRecs, outRecs, bytes, exit) => {
    const text = `host mkdir /t\ntmpfs mount /t size=${size}\nproc A\nA dd if=/dev/zero of=/t/file bs=${bs} count=${count}\n`;
    const program = parseScenario(text, 'dd.scn');
    if (E.isLeft(program)) throw new Error(JSON.stringify(program.left));
    const line = runOnEmulator(program.right).run.lines[3]!;
    const tail = [`${inRecs} records in`, `${outRecs} records out`, `${bytes}, <time>, <rate>`];
    expect(line['exit']).toBe(exit);
    expect(line['stderr']).toEqual(exit === 0 ? tail : ["dd: error writing '/t/file': No space left on device", ...tail]);
  });
});

describe('the bytes line (gnulib human_readable, dd options)', () => {
  it.each([
    [0n, '0 bytes copied'],
    [1n, '1 byte copied'],
    [2n, '2 bytes copied'],
    [999n, '999 bytes copied'],
    [1000n, '1000 bytes (1.0 kB) copied'],
    [1023n, '1023 bytes (1.0 kB) copied'],
    [1024n, '1024 bytes (1.0 kB, 1.0 KiB) copied'],
    [10000n, '10000 bytes (10 kB, 9.8 KiB) copied'],
    [100000n, '100000 bytes (100 kB, 98 KiB) copied'],
    [1500000n, '1500000 bytes (1.5 MB, 1.4 MiB) copied'],
    [1073741824n, '1073741824 bytes (1.1 GB, 1.0 GiB) copied'],
  ])('%s bytes', (n, want) => {
    expect(bytesLine(n)).toBe(`${want}, <time>, <rate>`);
  });

  it('scales SI by 1000 with a lower-case k and IEC by 1024 with an i', () => {
    expect(humanSize(999n, 1000)).toBe('999 B');
    expect(humanSize(1000n, 1000)).toBe('1.0 kB');
    expect(humanSize(1000n, 1024)).toBe('1000 B');
    expect(humanSize(1024n, 1024)).toBe('1.0 KiB');
    expect(humanSize(2n ** 40n, 1024)).toBe('1.0 TiB');
    expect(humanSize(10n ** 15n, 1000)).toBe('1.0 PB');
    expect(humanSize(2n ** 63n - 1n, 1024)).toBe('8.0 EiB');
  });

  it('keeps one decimal below 10 and rounds to the nearest', () => {
    expect(humanSize(4096n, 1000)).toBe('4.1 kB');
    expect(humanSize(9949n, 1000)).toBe('9.9 kB');
    expect(humanSize(9950n, 1000)).toBe('10 kB'); // 9.95 rounds up past 9.9, and 10 takes no decimal
    expect(humanSize(10499n, 1000)).toBe('10 kB');
    expect(humanSize(10500n, 1000)).toBe('10 kB'); // exactly half: to the even neighbour
    expect(humanSize(11500n, 1000)).toBe('12 kB');
    expect(humanSize(10501n, 1000)).toBe('11 kB');
    expect(humanSize(1050n, 1000)).toBe('1.0 kB'); // 1.05: exactly half, even tenth kept
    expect(humanSize(1150n, 1000)).toBe('1.2 kB');
    expect(humanSize(33554432n, 1000)).toBe('34 MB');
  });

  it('carries into the next unit when rounding reaches the base', () => {
    expect(humanSize(999999n, 1000)).toBe('1.0 MB');
    expect(humanSize(999499n, 1000)).toBe('999 kB');
    expect(humanSize(1048575n, 1024)).toBe('1.0 MiB');
  });
});

describe('dd messages', () => {
  it('quotes the file name as gnulib quoteaf does in the C locale', () => {
    expect(quoteFileName('/testdir/test.file')).toBe("'/testdir/test.file'");
    expect(quoteFileName("/it's")).toBe("'/it'\\''s'");
  });

  it('prints only the open error when open fails, and exit status 1', () => {
    const out = ddOutput('/ro/f', { inFull: 0n, inPartial: 0n, outFull: 0n, outPartial: 0n, bytes: 0n, failed: { call: 'open', errno: 'EROFS' } });
    expect(out).toEqual({ exit: 1, stderr: ["dd: failed to open '/ro/f': Read-only file system"] });
  });

  it('reports an OOM kill as a shell does: status 137, Killed', () => {
    expect(ddOutput('/f', { inFull: 3n, inPartial: 0n, outFull: 2n, outPartial: 0n, bytes: 2n, killed: true })).toEqual({ exit: 137, stderr: ['Killed'] });
  });

  it('uses glibc strerror texts', () => {
    expect(strerror('ENOSPC')).toBe('No space left on device');
    expect(strerror('EACCES')).toBe('Permission denied');
    expect(strerror('ENOENT')).toBe('No such file or directory');
  });
});

describe('against the real coreutils dd', () => {
  const probe = spawnSync('dd', ['--version'], { encoding: 'utf8' });
  const haveDd = probe.status === 0 && /coreutils/.test(probe.stdout);

  it.skipIf(!haveDd)('prints the same bytes line for a range of sizes (dd to /dev/null)', () => {
    for (const n of [1, 999, 1000, 1023, 1024, 1050, 1150, 4096, 9949, 9950, 10500, 10501, 11500, 65536, 999499, 999999, 1048575, 1500000, 33554432]) {
      const r = spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', `bs=${n}`, 'count=1'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
      const real = r.stderr.trim().split('\n');
      expect(real.slice(0, 2)).toEqual(['1+0 records in', '1+0 records out']);
      // Only the time and the rate differ: dd prints them as the last two comma-separated fields.
      expect(real[2]?.replace(/, [^,]* s, [^,]*$/, ', <time>, <rate>')).toBe(bytesLine(BigInt(n)));
    }
  });
});
