/**
 * What coreutils dd (9.1, LC_ALL=C) prints on stderr for a run, built from
 * the facts a backend reports (RawDd). Only the elapsed time and the rate
 * vary between runs; they are replaced by the fixed placeholders `<time>`
 * and `<rate>`, so the line reads
 * `33554432 bytes (34 MB, 32 MiB) copied, <time>, <rate>`.
 *
 * The size figures follow gnulib's human_readable with dd's options
 * (autoscale, round to nearest, a space before the unit, `B` suffix): SI
 * with powers of 1000 (`kB`, `MB`, ...) and IEC with powers of 1024 (`KiB`,
 * `MiB`, ...); one decimal while the scaled value is below 10. A figure
 * without a prefix (`999 B`) is left out, so below 1000 bytes there are no
 * brackets, and below 1024 only the SI figure is shown.
 */
import { strerror } from '../../abi/strerror.js';
import type { RawDd } from './raw.js';

/** The placeholders that stand for dd's elapsed time and rate. */
export const DD_TIME = '<time>';
export const DD_RATE = '<rate>';

/** strerror(errno) as glibc words it (the one table, in abi). */
export { strerror };

/**
 * A file name as dd quotes it (gnulib quoteaf, shell-escape-always style in
 * the C locale): in single quotes, each `'` written as `'\''`.
 */
export function quoteFileName(name: string): string {
  return `'${name.replace(/'/g, "'\\''")}'`;
}

/** SI prefixes (powers of 1000; `k` is lower case) and IEC ones (powers of 1024). */
const SI_LETTERS = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y', 'R', 'Q'];
const IEC_LETTERS = ['', 'K', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y', 'R', 'Q'];

/**
 * `n` bytes as human_readable prints them for dd: scaled by `base` while the
 * value is at least `base`, rounded to the nearest (ties to even on the last
 * digit kept), with one decimal below 10, then a space and the unit
 * (`4.1 kB`, `32 MiB`, `999 B`).
 */
export function humanSize(n: bigint, base: 1000 | 1024): string {
  const b = BigInt(base);
  let amt = n;
  let tenths = 0;
  /** 0: exact; 1: below half a unit; 2: exactly half; 3: above half (gnulib's rounding state). */
  let rounding = 0;
  let exponent = 0;
  const maxExponent = SI_LETTERS.length - 1;
  let decimal = '';
  if (b <= amt) {
    do {
      const r10 = Number(amt % b) * 10 + tenths;
      const r2 = (r10 % base) * 2 + (rounding >> 1);
      amt /= b;
      tenths = Math.floor(r10 / base);
      rounding = r2 < base ? (r2 + rounding !== 0 ? 1 : 0) : 2 + (base < r2 + rounding ? 1 : 0);
      exponent += 1;
    } while (b <= amt && exponent < maxExponent);
    if (amt < 10n) {
      if (2 < rounding + (tenths & 1)) {
        tenths += 1;
        rounding = 0;
        if (tenths === 10) {
          amt += 1n;
          tenths = 0;
        }
      }
      if (amt < 10n) {
        decimal = `.${tenths}`;
        tenths = 0;
        rounding = 0;
      }
    }
  }
  if (5 < tenths + (0 < rounding + Number(amt & 1n) ? 1 : 0)) {
    amt += 1n;
    if (amt === b && exponent < maxExponent) {
      exponent += 1;
      amt = 1n;
      decimal = '.0';
    }
  }
  const letter = base === 1000 ? SI_LETTERS[exponent] : IEC_LETTERS[exponent];
  const unit = exponent === 0 ? 'B' : `${letter}${base === 1024 ? 'i' : ''}B`;
  return `${amt}${decimal} ${unit}`;
}

/** dd's summary line for `bytes` written, time and rate replaced by the placeholders. */
export function bytesLine(bytes: bigint): string {
  const tail = `copied, ${DD_TIME}, ${DD_RATE}`;
  const si = humanSize(bytes, 1000);
  if (si.endsWith(' B')) return `${bytes} byte${bytes === 1n ? '' : 's'} ${tail}`;
  const iec = humanSize(bytes, 1024);
  if (iec.endsWith(' B')) return `${bytes} bytes (${si}) ${tail}`;
  return `${bytes} bytes (${si}, ${iec}) ${tail}`;
}

/** The exit status and stderr lines of a dd run (as a shell shows them: `Killed` after SIGKILL). */
export function ddOutput(path: string, dd: RawDd): { exit: number; stderr: string[] } {
  if (dd.killed === true) return { exit: 137, stderr: ['Killed'] };
  const file = quoteFileName(path);
  if (dd.failed?.call === 'open') return { exit: 1, stderr: [`dd: failed to open ${file}: ${strerror(dd.failed.errno)}`] };
  const stats = [`${dd.inFull}+${dd.inPartial} records in`, `${dd.outFull}+${dd.outPartial} records out`, bytesLine(dd.bytes)];
  if (dd.failed !== undefined) return { exit: 1, stderr: [`dd: error writing ${file}: ${strerror(dd.failed.errno)}`, ...stats] };
  return { exit: 0, stderr: stats };
}
