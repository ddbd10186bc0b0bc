/**
 * The package as a user gets it: `npm pack`, then publint and
 * arethetypeswrong on the tarball, then a fresh consumer project that
 * installs the tarball and uses it from TypeScript (NodeNext), plain Node ESM,
 * CommonJS `require` and the installed bin, and runs the README's snippets
 * against the installed package. The install reads the npm cache first
 * (`--prefer-offline`): the dependencies are the ones `npm ci` just fetched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractSnippets } from '../../scripts/readme-snippets.js';

const root = join(import.meta.dirname, '..', '..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const work = mkdtempSync(join(tmpdir(), 'ipc-sentry-pack-'));
const consumer = join(work, 'consumer');
let tarball = '';

function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env, timeout: 180_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

describe('the packed package', () => {
  beforeAll(() => {
    const packed = run('npm', ['pack', '--silent', '--pack-destination', work], root);
    expect(packed.status, packed.stderr).toBe(0);
    tarball = join(work, packed.stdout.trim().split('\n').pop()!);
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    console.log(`tarball: ${statSync(tarball).size} bytes, ${files.length} files`);

    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // @types/node for the consumer's own code, fast-check for ipc-sentry/testing's declarations (an optional peer).
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball, '@types/node@20', 'fast-check@4'], consumer);
    expect(install.status, install.stderr).toBe(0);
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships compiled code, declarations, the oracle sources and examples, and no tests', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    for (const f of [
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/cli.js',
      'package/bin/ipc-sentry.js',
      'package/native/oracle.c',
      'package/examples/host-channel.scn',
      'package/LICENSE',
      'package/README.md',
      'package/docs/scenario-language.md',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^package\/(test|bench|scripts|src)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });

  it('passes publint with no message', () => {
    const r = run(bin('publint'), ['run', tarball, '--strict', '--level', 'suggestion'], root);
    expect(r.stdout + r.stderr).not.toMatch(/error|warning|suggestion/i);
    expect(r.status).toBe(0);
  });

  it('passes arethetypeswrong for every entry point (ESM, with Node 16+ and bundler resolution)', () => {
    // The exit status applies the profile: ESM-only packages are not checked for CommonJS-era resolution.
    const r = run(bin('attw'), [tarball, '--profile', 'esm-only'], root);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const json = run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'json'], root);
    const report = JSON.parse(json.stdout) as { analysis: { entrypoints: Record<string, unknown>; problems: Array<{ resolutionKind?: string }> } };
    // What the profile leaves out is require() from pre-20.19 CommonJS and node10 resolution; nothing else may fail.
    expect(report.analysis.problems.filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs')).toEqual([]);
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(['.', './node', './package.json', './task', './testing']);
  });

  it('type-checks a TypeScript consumer with NodeNext resolution against the shipped declarations', () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    writeFileSync(
      join(consumer, 'types.ts'),
      [
        "import { Kernel, type FileStat, type Tmpfs, type MountFlags, type SysError } from 'ipc-sentry';",
        "import { spawnWorker } from 'ipc-sentry/node';",
        "import type { Task } from 'ipc-sentry/task';",
        "import { eitherMatchers } from 'ipc-sentry/testing';",
        'const k: Kernel = new Kernel();',
        'const flags: MountFlags = { readonly: true };',
        'export type Used = [FileStat, Tmpfs, SysError, Task, typeof spawnWorker, typeof eitherMatchers, typeof flags, typeof k];',
      ].join('\n'),
    );
    const r = run(bin('tsc'), ['-p', consumer], consumer);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs from plain Node ESM and from CommonJS require', () => {
    const program = `
      const a = k.spawn(), b = k.spawn();
      const id = a.shmget(42, 4096, IPC_CREAT | 0o600).right;
      a.write(a.shmat(id, 0, 0).right, new Uint8Array([7]));
      console.log(b.read(b.shmat(id, 0, 0).right, 1).right[0], a.shmctl(id, IPC_STAT).right.ds.nattch);`;
    writeFileSync(join(consumer, 'esm.mjs'), `import { Kernel, IPC_CREAT, IPC_STAT } from 'ipc-sentry';\nconst k = new Kernel();${program}\n`);
    writeFileSync(join(consumer, 'cjs.cjs'), `const { Kernel, IPC_CREAT, IPC_STAT } = require('ipc-sentry');\nconst k = new Kernel();${program}\n`);
    for (const f of ['esm.mjs', 'cjs.cjs']) {
      const r = run(process.execPath, [f], consumer);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('7 2\n');
    }
  });

  it('runs every README snippet against the installed package', () => {
    const snippets = extractSnippets(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(snippets.length).toBeGreaterThan(3);
    const dir = join(consumer, 'readme');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          outDir: 'out',
          rootDir: '.',
          types: ['node'],
          skipLibCheck: true,
        },
        include: ['**/*.ts'],
      }),
    );
    for (const s of snippets) {
      mkdirSync(dirname(join(dir, s.file)), { recursive: true });
      writeFileSync(join(dir, s.file), s.code);
    }
    const tsc = run(bin('tsc'), ['-p', dir], dir);
    expect(tsc.stdout + tsc.stderr).toBe('');
    for (const s of snippets) {
      const r = run(process.execPath, [join(dir, 'out', s.file.replace(/\.ts$/, '.js'))], dir);
      expect(r.stderr, `README.md:${s.line}`).toBe('');
      expect(r.status, `README.md:${s.line}`).toBe(0);
      expect(r.stdout, `README.md:${s.line}`).toBe(s.expected ?? '');
    }
  });

  it('answers --version, ipcs -m FILE and run FILE through the installed bin with plain node', () => {
    const ipcs = join(consumer, 'node_modules', '.bin', 'ipc-sentry');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const examples = join(consumer, 'node_modules', 'ipc-sentry', 'examples');
    // No tsx and no dev dependencies: the consumer has neither.
    expect(readdirSync(join(consumer, 'node_modules'))).not.toContain('tsx');
    const home = mkdtempSync(join(work, 'home-'));
    const env = { ...process.env, HOME: home, XDG_CACHE_HOME: '' };
    expect(run(ipcs, ['--version'], consumer, env).stdout).toBe(`ipc-sentry ${pkg.version}\n`);
    const listed = run(ipcs, ['ipcs', '-m', join(examples, 'rmid-attached-life-cycle.scn')], consumer, env);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/------ Shared Memory Segments --------\nkey +shmid +owner +perms +bytes +nattch +status/);
    const ran = run(ipcs, ['run', '--check', join(examples, 'shmat-rnd.scn')], consumer, env);
    expect(ran.status, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout.split('\n')[0]!)).toMatchObject({ op: 'proc', ok: true });
  });
});
