/**
 * The TypeScript snippets of a Markdown file (the README), as files a
 * compiler and a runner can take: each ```ts block is one file, and the
 * ```text block right after it (only blank lines between) is what the file
 * prints when run. A block whose first line is `// file: NAME.ts` is written
 * as NAME.ts, so blocks that import each other (`./ring.js` from main.ts)
 * land side by side; any other block is `snippet-N.ts`, N counting the ts
 * blocks from 1.
 *
 * Free of test-runner imports, so CI can compile the same snippets against
 * the installed package.
 */

/** One ```ts block of the document. */
export interface Snippet {
  /** The file name to write the code under: `// file: NAME.ts`, else `snippet-N.ts`. */
  readonly file: string;
  /** The block's text, ending with a newline. */
  readonly code: string;
  /** What the program prints on stdout: the ```text block that follows, when there is one. */
  readonly expected?: string;
  /** The line of the opening fence, from 1, for messages. */
  readonly line: number;
}

/** A fenced block of a Markdown document. */
export interface FencedBlock {
  /** The info string's first word, lower-cased: `ts`, `text`, `sh`, or empty. */
  readonly info: string;
  /** The lines between the fences, each ending with a newline. */
  readonly text: string;
  /** The line of the opening fence, from 1. */
  readonly line: number;
  /** True when only blank lines separate it from the block before it. */
  readonly follows: boolean;
}

const FENCE = /^(`{3,}|~{3,})\s*([^\s`]*)/;
const FILE_COMMENT = /^\/\/ file: ([A-Za-z0-9_.-]+\.ts)\s*$/;
const TS_INFO = new Set(['ts', 'typescript']);

/** Every fenced block of `markdown`, in order; throws on a fence that never closes. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const out: FencedBlock[] = [];
  let previousEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const fence = open[1] ?? '```';
    // A closing fence is the same character, at least as long, and nothing else.
    const closes = (l: string): boolean => {
      const t = l.trim();
      return t.length >= fence.length && t[0] === fence[0] && /^(`+|~+)$/.test(t);
    };
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !closes(lines[j] ?? '')) body.push(lines[j++] ?? '');
    if (j >= lines.length) throw new Error(`line ${i + 1}: the ${fence} block never closes`);
    const follows = previousEnd >= 0 && lines.slice(previousEnd + 1, i).every((l) => l.trim() === '');
    out.push({ info: (open[2] ?? '').toLowerCase(), text: body.map((l) => `${l}\n`).join(''), line: i + 1, follows });
    previousEnd = j;
    i = j;
  }
  return out;
}

/**
 * The ```ts blocks of `markdown` as snippets. Throws when two blocks claim
 * the same file name, since one would overwrite the other.
 */
export function extractSnippets(markdown: string): Snippet[] {
  const all = fencedBlocks(markdown);
  const snippets: Snippet[] = [];
  const seen = new Map<string, number>();
  let n = 0;
  all.forEach((b, k) => {
    if (!TS_INFO.has(b.info)) return;
    n += 1;
    const named = FILE_COMMENT.exec(b.text.split('\n', 1)[0] ?? '');
    const file = named?.[1] ?? `snippet-${n}.ts`;
    const earlier = seen.get(file);
    if (earlier !== undefined) throw new Error(`line ${b.line}: ${file} is also the name of the block at line ${earlier}`);
    seen.set(file, b.line);
    const next = all[k + 1];
    const expected = next !== undefined && next.info === 'text' && next.follows ? next.text : undefined;
    snippets.push(expected === undefined ? { file, code: b.text, line: b.line } : { file, code: b.text, expected, line: b.line });
  });
  return snippets;
}
