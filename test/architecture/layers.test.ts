/**
 * The layer order of docs/architecture.md, enforced: every folder of src/
 * imports only folders below it, so there is no cycle between folders, the
 * kernel imports nothing above it, and sibling mechanisms (shm, sem, msg)
 * never import each other. The test reads the import statements of every
 * source file (static, dynamic and type-only imports alike).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', '..', 'src');

/**
 * Bottom to top. Folders on one line are siblings: neither may import the
 * other. `index.ts` (the package root) may import any folder except the edges
 * above the library.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['abi'],
  ['sync'],
  ['auth'],
  ['mm'],
  ['memcg'],
  ['ipc'],
  ['shm', 'sem', 'msg'],
  ['tmpfs'],
  ['vfs'],
  ['posix'],
  ['kernel'],
  ['hostchannel'],
  ['checkpoint'],
  ['node'],
  ['scenario'],
  ['testing'],
  ['cli'],
];

const rank = new Map<string, number>(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The src/ folder a path lies in, or '' for a file directly in src/. */
function folderOf(path: string): string {
  const parts = relative(src, path).split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly file: string;
  readonly spec: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const file of sourceFiles(src)) {
    const from = folderOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(spec)) {
      const target = normalize(join(dirname(file), m[1]!));
      if (!target.startsWith(src + sep)) continue;
      const to = folderOf(target);
      if (to !== from && to !== '') out.push({ from, to, file: relative(src, file), spec: m[1]! });
    }
  }
  return out;
}

/** The imports that do not point down: upward, or between siblings of one layer. */
function notDown(list: readonly Edge[]): string[] {
  return list.filter((e) => e.from !== '' && !(rank.get(e.to)! < rank.get(e.from)!)).map((e) => `src/${e.file} imports ${e.spec} (${e.from} -> ${e.to})`);
}

describe('the layer order of src/', () => {
  const all = edges();

  it('names every folder of src/ in the layer list', () => {
    const folders = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory());
    expect(folders.filter((f) => !rank.has(f))).toEqual([]);
  });

  it('has every import point down (no upward import, no sibling import)', () => {
    expect(notDown(all)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of all) if (e.from !== '') (graph.get(e.from) ?? graph.set(e.from, new Set()).get(e.from)!).add(e.to);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]): void => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'open') {
        cycles.push([...path.slice(path.indexOf(n)), n].join(' -> '));
        return;
      }
      state.set(n, 'open');
      for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
      state.set(n, 'done');
    };
    for (const n of graph.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });

  it('keeps the kernel free of anything above it', () => {
    const above = all.filter((e) => e.from === 'kernel' && rank.get(e.to)! > rank.get('kernel')!);
    expect(above).toEqual([]);
  });

  it('keeps the package root to the library, not its Node-only edges above it', () => {
    const bad = all.filter((e) => e.from === '' && e.file === 'index.ts' && ['scenario', 'cli', 'node', 'testing'].includes(e.to));
    expect(bad).toEqual([]);
  });

  it('reports an upward import and a sibling import (the check itself works)', () => {
    const fake: Edge[] = [
      { from: 'mm', to: 'kernel', file: 'mm/x.ts', spec: '../kernel/kernel.js' },
      { from: 'shm', to: 'msg', file: 'shm/y.ts', spec: '../msg/queue.js' },
      { from: 'kernel', to: 'mm', file: 'kernel/z.ts', spec: '../mm/vma.js' },
    ];
    expect(notDown(fake)).toEqual(['src/mm/x.ts imports ../kernel/kernel.js (mm -> kernel)', 'src/shm/y.ts imports ../msg/queue.js (shm -> msg)']);
  });
});
