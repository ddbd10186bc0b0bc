/**
 * `npm run bench:cold-start [-- --runs N]`: how long `ipc-sentry run FILE`
 * takes from the installed package, as a ratio to `node -e 0` on the same
 * machine in the same run (target: at most 5x). The package is packed and
 * installed into a fresh project first, so the bin, its symlink and dist/ are
 * what a user gets. Samples alternate (node, ipc-sentry, node, ...), so
 * both see the machine in the same state; medians are printed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.js';

const root = join(import.meta.dirname, '..');
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(process.argv[runsAt + 1]) : 30;
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: npm run bench:cold-start -- [--runs N]\n');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'ipc-sentry-cold-'));
try {
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  writeFileSync(join(work, 'package.json'), '{"name":"cold","private":true}');
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, tgz)], { cwd: work, stdio: 'inherit' });
  const bin = join(work, 'node_modules', '.bin', 'ipc-sentry');
  const file = join(work, 'node_modules', 'ipc-sentry', 'examples', 'shmat-rnd.scn');

  const time = (cmd: string, args: readonly string[]): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const node: number[] = [];
  const cli: number[] = [];
  time(process.execPath, ['-e', '0']);
  time(bin, ['run', file]);
  for (let i = 0; i < runs; i++) {
    node.push(time(process.execPath, ['-e', '0']));
    cli.push(time(bin, ['run', file]));
  }
  const n = median(node);
  const c = median(cli);
  console.log(`node -e 0:                 median ${n.toFixed(1)} ms over ${runs} runs`);
  console.log(`ipc-sentry run shmat-rnd:  median ${c.toFixed(1)} ms over ${runs} runs`);
  console.log(`cold start ratio: ${(c / n).toFixed(2)}x node -e 0 (target <= 5)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
