/**
 * docs/scenario-language.md against the parser and the emulator:
 *
 * - every ```scn block parses, runs on the emulated backend, and meets its
 *   own expectations, or prints exactly the ```jsonl block that follows it
 *   (which then shows any expectation failure it means to show);
 * - where the native oracle can run, every ```scn block that does not use
 *   an emulated-only statement prints the same lines on the real kernel;
 * - every ```scn-error block is rejected, with exactly the errors of the
 *   ```text block that follows it, when there is one;
 * - the reference names every operation and expectation field the parser
 *   knows, so a new statement cannot go undocumented.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fencedBlocks } from '../../scripts/readme-snippets.js';
import type { FencedBlock } from '../../scripts/readme-snippets.js';
import { EXTENSION_FIELD_GROUPS, FIELD_GROUPS } from '../../src/scenario/parse/expect.js';
import { runOnEmulator, runOnKernel } from '../../src/scenario/host.js';
import { nativeAvailable } from '../../src/scenario/native/native.js';
import { formatParseError, parseScenario } from '../../src/scenario/parse/parse.js';
import { emulatedOnly } from '../../src/scenario/native/protocol.js';
import { PROC_OPS } from '../../src/scenario/parse/table.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const doc = read('docs/scenario-language.md');
const blocks = fencedBlocks(doc);

/** A scenario block and the block right after it, when that one is of kind `next`. */
function withFollower(info: string, next: string): Array<[number, FencedBlock, FencedBlock | undefined]> {
  return blocks.flatMap((b, i) => {
    if (b.info !== info) return [];
    const f = blocks[i + 1];
    return [[b.line, b, f?.follows && f.info === next ? f : undefined] as [number, FencedBlock, FencedBlock | undefined]];
  });
}

const good = withFollower('scn', 'jsonl');
const native = nativeAvailable();

/** The scn blocks the native backend can run: those without an emulated-only statement. */
const portable = good.filter(([, block]) => {
  const parsed = parseScenario(block.text, 'example.scn');
  return E.isLeft(parsed) || emulatedOnly(parsed.right) === undefined;
});
const bad = withFollower('scn-error', 'text');

/** The statement words that start a line without a process before them. */
const HEAD_WORDS = ['proc', 'fork', 'exit', 'sysctl', 'rlimit', 'tmpfs', 'mount', 'host', 'meminfo', 'isula', 'memcg', 'checkpoint', 'restore'];

describe('docs/scenario-language.md', () => {
  it('has examples of both kinds, and every output block belongs to one', () => {
    expect(good.length).toBeGreaterThanOrEqual(10);
    expect(portable.length).toBeGreaterThanOrEqual(8);
    expect(bad.length).toBeGreaterThanOrEqual(1);
    blocks.forEach((b, i) => {
      const before = blocks[i - 1];
      if (b.info === 'jsonl') expect(before?.info === 'scn' && b.follows, `the jsonl block at line ${b.line} follows no scn block`).toBe(true);
    });
  });

  it.each(good)('the scn block at line %i parses and runs as shown', (line, block, output) => {
    const parsed = parseScenario(block.text, 'example.scn');
    if (E.isLeft(parsed)) throw new Error(`block at line ${line}:\n${parsed.left.map(formatParseError).join('\n')}`);
    const { run } = runOnEmulator(parsed.right);
    if (output === undefined) {
      expect(run.failures, `block at line ${line}`).toEqual([]);
    } else {
      expect(run.lines.map((l) => JSON.stringify(l)).join('\n')).toBe(output.text.trimEnd());
    }
  });

  it.skipIf(E.isLeft(native)).each(portable)('the scn block at line %i prints the same lines on the real kernel', (line, block) => {
    const parsed = parseScenario(block.text, 'example.scn');
    if (E.isLeft(parsed)) throw new Error(`block at line ${line} does not parse`);
    const kernel = runOnKernel(parsed.right);
    if (E.isLeft(kernel)) throw new Error(`block at line ${line}: ${JSON.stringify(kernel.left)}`);
    const lines = (run: { lines: readonly object[] }): string[] => run.lines.map((l) => JSON.stringify(l));
    expect(lines(kernel.right)).toEqual(lines(runOnEmulator(parsed.right).run));
  });

  it.each(bad)('the scn-error block at line %i is rejected', (line, block, errors) => {
    const parsed = parseScenario(block.text, 'example.scn');
    if (E.isRight(parsed)) throw new Error(`block at line ${line} parsed, but is marked as an error`);
    if (errors !== undefined) expect(parsed.left.map(formatParseError).join('\n')).toBe(errors.text.trimEnd());
  });

  it('names every operation and every expectation field', () => {
    const words = [...HEAD_WORDS, ...Object.keys(PROC_OPS), ...Object.keys(FIELD_GROUPS), ...Object.keys(EXTENSION_FIELD_GROUPS)];
    const missing = words.filter((w) => !doc.includes(`\`${w}\``));
    expect(missing).toEqual([]);
  });

  it('links only to sections that exist', () => {
    // GitHub's heading anchors: lower case, punctuation dropped, blanks as hyphens.
    const slug = (heading: string): string =>
      heading
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-');
    const prose = doc.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
    const anchors = new Set([...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));
    const pointer = read('docs/scenario-extensions.md');
    const links = [
      ...[...doc.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] ?? ''),
      ...[...pointer.matchAll(/\]\(scenario-language\.md#([^)]+)\)/g)].map((m) => m[1] ?? ''),
    ];
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });

  it('is the reference the README and the extension page point to', () => {
    for (const path of ['README.md', 'docs/scenario-extensions.md']) {
      const text = read(path);
      expect(text, path).toContain('scenario-language.md');
      expect(text, path).not.toMatch(/\.\.\/shared|\/work\/shared|SCENARIO\.md/);
    }
  });
});
