/**
 * The limits a run works within, as the command line sets them: how much
 * scenario text a file may have (--max-input, for every command that reads a
 * file) and how much memory a native run may make the kernel hold
 * (--native-budget, for run and diff). Both take a byte count with an
 * optional binary suffix: K, M or G (KiB, MiB, GiB; either case).
 */
import * as E from 'fp-ts/lib/Either.js';
import { DEFAULT_MAX_INPUT_BYTES } from '../scenario/host.js';

/** `--max-input`'s help line. */
export const MAX_INPUT_HELP = `most bytes a scenario file may have (default 64M; suffixes K, M, G)`;

/** `--native-budget`'s help line. */
export const NATIVE_BUDGET_HELP = 'most memory a native run may make the kernel hold (default 1G; suffixes K, M, G)';

const SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `text` as a byte count (`4096`, `64M`, `1g`), or the usage error naming `option`. */
export function parseByteCount(option: string, text: string): E.Either<string, number> {
  const m = /^([0-9]+)([kKmMgG]?)$/.exec(text);
  const n = m === null ? Number.NaN : Number(m[1]) * (SUFFIX[(m[2] ?? '').toLowerCase()] ?? Number.NaN);
  if (!Number.isSafeInteger(n) || n <= 0) return E.left(`--${option} takes a positive byte count such as 4096, 512K, 64M or 2G, not ${text}`);
  return E.right(n);
}

/**
 * Takes `--max-input N` (or `--max-input=N`) out of an argument list whose
 * other options belong to someone else (ipcs parses util-linux's). Returns
 * the rest and the bound, or the usage error.
 */
export function takeMaxInput(args: readonly string[]): E.Either<string, { rest: string[]; maxInputBytes: number }> {
  const rest: string[] = [];
  let maxInputBytes = DEFAULT_MAX_INPUT_BYTES;
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i] as string;
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a !== '--max-input' && !a.startsWith('--max-input=')) {
      rest.push(a);
      continue;
    }
    const value = a === '--max-input' ? args[(i += 1)] : a.slice('--max-input='.length);
    if (value === undefined) return E.left('option --max-input needs a BYTES');
    const n = parseByteCount('max-input', value);
    if (E.isLeft(n)) return n;
    maxInputBytes = n.right;
  }
  return E.right({ rest, maxInputBytes });
}
