/**
 * Hostile scenario text: random bytes and damaged copies of the example
 * files (truncated, with NUL bytes, invalid UTF-8, a BOM in the middle,
 * CR/LF mixes, huge integers, a token repeated thousands of times, very long
 * lines, unknown statements, odd quoting in expectations) go through the
 * decoder, the parser and, when they parse, the emulated runner. Nothing
 * may throw, every error names a line and a column, and each case is quick.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { tryOnEmulator } from '../../src/scenario/host.js';
import type { ParseError } from '../../src/scenario/parse/parse.js';
import { formatParseError, parseScenario } from '../../src/scenario/parse/parse.js';
import { decodeSource, sourceError } from '../../src/scenario/parse/source.js';
import { seed } from '../support/seed.js';

const examplesDir = join(import.meta.dirname, '..', '..', 'examples');
const examples: readonly Uint8Array[] = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.scn'))
  .sort()
  .map((f) => new Uint8Array(readFileSync(join(examplesDir, f))));

const enc = new TextEncoder();

/** Pieces that tend to break parsers, as bytes. */
const NASTY: readonly Uint8Array[] = [
  [0x00],
  [0xff],
  [0xc3],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc0, 0xaf],
  [0xef, 0xbb, 0xbf],
  [0x0d],
  [0x0d, 0x0a],
  [0x0a, 0x0d],
  [0x09],
  [0x0b, 0x0c],
].map((b) => Uint8Array.from(b));

const WORDS = [
  '99999999999999999999999999999999',
  '-99999999999999999999999999999',
  '0x' + 'f'.repeat(40),
  '18446744073709551616',
  '9223372036854775808',
  '-1',
  '1E',
  '1.5',
  '0777777777777777777777',
  '4K4K',
  '->',
  '=>',
  '"',
  '"\\',
  '"\\x"',
  '"\\x4"',
  '"\\u{110000}"',
  "'x'",
  '""""',
  '#',
  'frobnicate',
  'proc',
  'fork',
  'exit',
  'isula',
  'checkpoint',
  'restore',
  '--host-channel',
  '/a:/b:ro:4K',
  'container=',
  '=> ok data="abc',
  '=> ok stderr="\\"',
  '=> ok ret=',
  '=> ok exit=99999999999999999999',
  '=> EWHATEVER',
  '=> ok =>',
  'O_RDWR|',
  '|||',
  'PROT_READ|PROT_WRITE|PROT_EXEC|PROT_NONE',
  'bytes=99999999999999999999',
];

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'word'; at: number; word: string }
  | { kind: 'repeat'; at: number; word: string; times: number }
  | { kind: 'longLine'; at: number; length: number }
  | { kind: 'dupLine'; line: number; times: number }
  | { kind: 'dropLine'; line: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.constantFrom(...NASTY), fc.uint8Array({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant('word' as const), at: fc.nat(), word: fc.constantFrom(...WORDS) }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    word: fc.constantFrom('A', 'x', '4K', '|', '->', '=>', 'O_RDWR', '"a"'),
    times: fc.integer({ min: 2, max: 3000 }),
  }),
  fc.record({ kind: fc.constant('longLine' as const), at: fc.nat(), length: fc.integer({ min: 1000, max: 200_000 }) }),
  fc.record({ kind: fc.constant('dupLine' as const), line: fc.nat(), times: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant('dropLine' as const), line: fc.nat() }),
);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The byte offsets where lines start. */
function lineStarts(b: Uint8Array): number[] {
  const starts = [0];
  for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) starts.push(i + 1);
  return starts;
}

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const at = b.length === 0 ? 0 : ('at' in m ? m.at : 0) % (b.length + 1);
  switch (m.kind) {
    case 'truncate':
      return b.subarray(0, at);
    case 'insert':
      return concat(b.subarray(0, at), m.bytes, b.subarray(at));
    case 'word':
      return concat(b.subarray(0, at), enc.encode(` ${m.word} `), b.subarray(at));
    case 'repeat':
      return concat(b.subarray(0, at), enc.encode(` ${`${m.word} `.repeat(m.times)}`), b.subarray(at));
    case 'longLine':
      return concat(b.subarray(0, at), enc.encode('/'.repeat(m.length)), b.subarray(at));
    case 'dupLine':
    case 'dropLine': {
      const starts = lineStarts(b);
      const i = m.line % starts.length;
      const from = starts[i] as number;
      const to = starts[i + 1] ?? b.length;
      const line = b.subarray(from, to);
      const middle = m.kind === 'dropLine' ? new Uint8Array(0) : concat(...Array.from({ length: m.times + 1 }, () => line));
      return concat(b.subarray(0, from), middle, b.subarray(to));
    }
  }
}

const textArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...WORDS), fc.constantFrom(' ', '\n', '\r\n', '\t', 'A ', 'proc A\n', 'A open /f O_RDWR|O_CREAT -> fd ')), {
        maxLength: 60,
      })
      .map((ws) => enc.encode(ws.join(' '))),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.nat({ max: examples.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
      .map(([i, ms]) => ms.reduce(mutate, examples[i] as Uint8Array)),
  },
);

/** Every error names its file, a line and a column that exist. */
function checkErrors(errors: readonly ParseError[], text: string | undefined): void {
  expect(errors.length).toBeGreaterThan(0);
  const lines = text === undefined ? Number.POSITIVE_INFINITY : text.split('\n').length + 1;
  for (const e of errors) {
    expect(e.file).toBe('h.scn');
    expect(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines, `line ${e.line}`).toBe(true);
    expect(Number.isInteger(e.col) && e.col >= 1, `col ${e.col}`).toBe(true);
    expect(e.message.length).toBeGreaterThan(0);
    expect(formatParseError(e)).toMatch(/^h\.scn:\d+:\d+: ./s);
  }
}

/** How long one case (decode, parse, run) may take. */
const CASE_MS = 3000;

/** Cases per run: a few hundred keep the file under a second or two. */
const RUNS = 300;

it('never throws on hostile scenario text, and every error names line and column', () => {
  console.log(`hostile-text: fast-check seed ${seed}`);
  let parsed = 0;
  let ran = 0;
  fc.assert(
    fc.property(textArb, (bytes) => {
      const t0 = performance.now();
      const decoded = decodeSource(bytes);
      if (!('text' in decoded)) {
        checkErrors([sourceError('h.scn', decoded)], undefined);
        return;
      }
      const r = parseScenario(decoded.text, 'h.scn');
      if (E.isLeft(r)) {
        checkErrors(r.left, decoded.text);
      } else {
        parsed += 1;
        // Only the file's own stops (a Left) are allowed; anything thrown fails the property.
        const run = tryOnEmulator(r.right);
        if (E.isLeft(run)) expect(run.left.line).toBeGreaterThanOrEqual(0);
        ran += 1;
      }
      expect(performance.now() - t0, 'one case took too long').toBeLessThan(CASE_MS);
    }),
    { numRuns: RUNS },
  );
  console.log(`hostile-text: ${parsed} of ${RUNS} cases parsed and ran on the emulator (${ran} finished or stopped cleanly)`);
}, 60_000);

it('plain edge files: empty, only a BOM, BOM mid-file, NUL, CR only, a huge line', () => {
  const cases: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['bom', Uint8Array.from([0xef, 0xbb, 0xbf])],
    ['bom mid-file', enc.encode('proc A\n\uFEFFA umask 0\n')],
    ['nul', enc.encode('proc A\0\n')],
    ['cr only', enc.encode('proc A\rA umask 0\r')],
    ['lone cr mid-line', enc.encode('proc A\nA umask\r0\n')],
    ['huge line', enc.encode(`proc ${'A'.repeat(5_000_000)}\n`)],
    ['many tokens', enc.encode(`proc A\nA umask ${'0 '.repeat(100_000)}\n`)],
    ['many errors', enc.encode('frob\n'.repeat(100_000))],
    ['invalid utf-8 late', concat(enc.encode('proc A\nA umask 0\n'), Uint8Array.from([0xe2, 0x28, 0xa1]))],
  ];
  for (const [name, bytes] of cases) {
    const t0 = performance.now();
    const decoded = decodeSource(bytes);
    if (!('text' in decoded)) {
      checkErrors([sourceError('h.scn', decoded)], undefined);
    } else {
      const r = parseScenario(decoded.text, 'h.scn');
      if (E.isLeft(r)) checkErrors(r.left, decoded.text);
      else expect(E.isRight(tryOnEmulator(r.right)), name).toBe(true);
    }
    expect(performance.now() - t0, name).toBeLessThan(CASE_MS);
  }
});
