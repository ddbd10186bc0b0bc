/**
 * Byte-size strings as iSulad parses them (src/utils/cutils/utils_string.c,
 * util_parse_byte_size_string), with the C library's quirks reproduced:
 * strtoll base 0 for the integer part, strtod for the fraction.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';

/** INT64_MAX: every intermediate value must fit a signed 64-bit integer. */
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * DBL_MIN: glibc's strtod reports ERANGE when a nonzero decimal underflows
 * below it (to a subnormal or to zero), and iSulad then rejects the size.
 */
const DBL_MIN = 2.2250738585072014e-308;

/** Unit suffixes (matched case-insensitively, whole) and their multipliers; all binary. */
const UNITS: ReadonlyMap<string, bigint> = new Map(
  (
    [
      [['', 'b', 'i', 'ib'], 0n],
      [['k', 'ki', 'kb', 'kib'], 10n],
      [['m', 'mi', 'mb', 'mib'], 20n],
      [['g', 'gi', 'gb', 'gib'], 30n],
      [['t', 'ti', 'tb', 'tib'], 40n],
      [['p', 'pi', 'pb', 'pib'], 50n],
    ] as const
  ).flatMap(([names, shift]) => names.map((name) => [name, 1n << shift] as const)),
);

/**
 * Parses a size such as `64M`, `1.5k` or `010KiB` into bytes, or None when
 * iSulad would reject it.
 *
 * - The first character must be a digit; the number is the longest run of
 *   digits and dots after it, and the rest must be a whole unit suffix.
 * - With a dot, the fraction is read as `0.<digits>` by strtod, multiplied
 *   by the unit and truncated toward zero; a trailing or second dot fails.
 * - The integer part goes through strtoll with base 0: a leading 0 means
 *   octal, so `08` fails, and a value beyond INT64_MAX fails.
 * - `integer × unit` and the sum with the fraction must fit INT64_MAX.
 */
export function parseByteSize(text: string): O.Option<bigint> {
  if (text === '' || !isDigit(text.charCodeAt(0))) return O.none;
  let end = 0;
  while (end < text.length && (isDigit(text.charCodeAt(end)) || text[end] === '.')) end++;
  const unit = UNITS.get(asciiLower(text.slice(end)));
  if (unit === undefined) return O.none;
  const number = text.slice(0, end);

  let fractionBytes = 0n;
  let integerText = number;
  const dot = number.indexOf('.');
  if (dot >= 0) {
    const digits = number.slice(dot + 1);
    // strtod must consume all of "0.<digits>": nothing after the dot, or a
    // second dot, leaves characters over.
    if (digits === '' || digits.includes('.')) return O.none;
    const fraction = Number(`0.${digits}`);
    if (fraction < DBL_MIN && /[1-9]/.test(digits)) return O.none;
    fractionBytes = BigInt(Math.trunc(fraction * Number(unit)));
    integerText = number.slice(0, dot);
  }

  const integer = strtollBase0(integerText);
  if (integer === undefined) return O.none;
  if (INT64_MAX / unit < integer) return O.none;
  const integerBytes = integer * unit;
  if (INT64_MAX - integerBytes < fractionBytes) return O.none;
  return O.some(integerBytes + fractionBytes);
}

/**
 * EINVALIDARGS: the exit status of an isula command whose option callback
 * failed while command_parse_args read the command line (create and run
 * alike, before the daemon is contacted).
 */
export const OPTION_ERROR_EXIT_STATUS = 125;

/**
 * A size option as isula's command_convert_membytes reads it (`-m` and
 * `--memory`, `--shm-size`, ...): iSulad's byte-size grammar, and no
 * negative result. The Left is the line the client prints, naming the
 * option by its long name (`--memory` even when `-m` was typed).
 */
export function convertMembytes(value: string, longName: string): E.Either<string, bigint> {
  const parsed = parseByteSize(value);
  if (O.isNone(parsed) || parsed.value < 0n) return E.left(`Invalid value "${value}" for flag --${longName}`);
  return E.right(parsed.value);
}

/**
 * strtoll(text, &end, 0) on a string of decimal digits, requiring it to
 * consume everything and not overflow. A leading 0 selects octal, where 8
 * and 9 stop the conversion early.
 */
function strtollBase0(digits: string): bigint | undefined {
  const octal = digits.length > 1 && digits[0] === '0';
  if (octal && /[89]/.test(digits)) return undefined;
  const value = octal ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  return value > INT64_MAX ? undefined : value;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** strcasecmp folds ASCII letters only. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
