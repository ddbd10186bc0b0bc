/**
 * Every ```ts snippet of README.md is a program that compiles and runs, and
 * prints what the README says it prints (the ```text block after it).
 *
 * The snippets import the package ('ipc-sentry', 'ipc-sentry/node', ...);
 * here those imports are pointed at the project itself, twice: at the
 * TypeScript sources, which are also type-checked, and at a compiled copy
 * of the library, which is what an installed package runs (the worker
 * thread of a compiled library loads its program without tsx unless it has
 * to: the README's `./ring.js` is such a case).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractSnippets } from '../../scripts/readme-snippets.js';
import type { Snippet } from '../../scripts/readme-snippets.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = join(root, '.cache', 'readme-snippets');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);

/** The package's entry points, as files of the project (sources, without the extension). */
const ENTRY_POINTS: Readonly<Record<string, string>> = {
  'ipc-sentry': 'src/index',
  'ipc-sentry/node': 'src/node/worker',
  'ipc-sentry/task': 'src/kernel/task',
  'ipc-sentry/testing': 'src/testing/index',
};

const PACKAGE_IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(ipc-sentry(?:\/[^'"]*)?)\2/g;

/**
 * `code` with each package import replaced by a relative import of the
 * entry point's `.js` file under `libRoot`, as seen from `dir`.
 */
function pointImports(code: string, dir: string, libRoot: string): string {
  return code.replace(PACKAGE_IMPORT, (_all, before: string, quote: string, spec: string) => {
    const target = ENTRY_POINTS[spec];
    if (target === undefined) throw new Error(`the README imports ${spec}, which the package does not export`);
    const path = relative(dir, join(libRoot, `${target}.js`))
      .split('\\')
      .join('/');
    return `${before}${quote}${path.startsWith('.') ? path : `./${path}`}${quote}`;
  });
}

/** Writes the snippets into `dir`, their imports pointed at `libRoot`. */
function writeSnippets(snippets: readonly Snippet[], dir: string, libRoot: string): void {
  mkdirSync(dir, { recursive: true });
  // The snippets are ES modules (top-level await) whatever package.json the project has.
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, type: 'module' })}\n`);
  for (const s of snippets) writeFileSync(join(dir, s.file), pointImports(s.code, dir, libRoot));
}

/** A tsconfig in `dir` with the project's compiler options. */
function writeTsconfig(dir: string, options: Record<string, unknown>, files: readonly string[]): string {
  const file = join(dir, 'tsconfig.json');
  const config = { extends: relative(dir, join(root, 'tsconfig.json')), compilerOptions: { rootDir: relative(dir, root), ...options }, include: [], files };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

function run(command: string, args: readonly string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 50_000 });
  return { status: r.status, stdout: r.stdout, stderr: `${r.stderr}${r.error === undefined ? '' : String(r.error)}` };
}

const snippets = extractSnippets(readFileSync(join(root, 'README.md'), 'utf8'));
const sourceDir = join(work, 'source');
const compiledDir = join(work, 'compiled');
const compiledLib = join(compiledDir, 'lib');

beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  writeSnippets(snippets, sourceDir, root);
  writeSnippets(snippets, compiledDir, compiledLib);
});

describe('README.md snippets', () => {
  it('are found, each a program with a distinct file name', () => {
    // The library, containers, checkpoint, and the worker pair (ring.ts, main.ts).
    expect(snippets.length).toBeGreaterThanOrEqual(5);
    expect(snippets.map((s) => s.file)).toEqual(expect.arrayContaining(['ring.ts', 'main.ts']));
    const importsPackage = new RegExp(PACKAGE_IMPORT.source);
    for (const s of snippets) expect(s.code, `${s.file} (README line ${s.line})`).toMatch(importsPackage);
  });

  it('type-check against the sources with the project compiler options', () => {
    const tsconfig = writeTsconfig(
      sourceDir,
      { noEmit: true },
      snippets.map((s) => s.file),
    );
    const r = run(bin('tsc'), ['-p', tsconfig], sourceDir);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  describe.each([
    ['the sources', sourceDir],
    ['the compiled library', compiledDir],
  ])('run against %s', (_what, dir) => {
    if (dir === compiledDir) {
      it('builds the library', () => {
        // The entry points the snippets import, and the worker's entry module, which worker.js loads by URL.
        const used = new Set(snippets.flatMap((s) => [...s.code.matchAll(PACKAGE_IMPORT)].map((m) => ENTRY_POINTS[m[3] ?? ''] ?? '')));
        const entries = [...used, 'src/node/worker_main'].filter((e) => existsSync(join(root, `${e}.ts`)));
        const tsconfig = writeTsconfig(
          compiledDir,
          { outDir: relative(compiledDir, compiledLib), noEmit: false },
          entries.map((e) => relative(compiledDir, join(root, `${e}.ts`))),
        );
        const r = run(bin('tsc'), ['-p', tsconfig], compiledDir);
        expect(r.stdout + r.stderr).toBe('');
        expect(r.status).toBe(0);
      });
    }

    it.each(snippets.map((s) => [s.file, s] as const))('%s exits 0 and prints what the README shows', (file, s) => {
      const r = run(bin('tsx'), [file], dir);
      expect(r.stderr, `${file} (README line ${s.line}) wrote to stderr`).toBe('');
      expect(r.status, `${file} (README line ${s.line})`).toBe(0);
      // A snippet without a ```text block after it must print nothing.
      expect(r.stdout).toBe(s.expected ?? '');
    });
  });
});
