// `npm run build` (and `prepare`, so a checkout's bin works after `npm ci`):
// the library as compiled ESM with declarations in dist/, then the CLI as one
// bundled file, dist/cli.js, because Node spends most of a cold start
// resolving and compiling a hundred small modules (see bench/cold-start.ts).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

rmSync(join(root, 'dist'), { recursive: true, force: true });
try {
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
} catch {
  console.error('build: tsc reported the errors above; dist/ is incomplete');
  process.exit(1);
}
const { build } = await import('esbuild');
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
});
