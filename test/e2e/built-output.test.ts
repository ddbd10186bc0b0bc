/**
 * The compiled ESM output must run under plain node (no tsx, no vitest
 * resolver): this catches imports that only work through a bundler, such as
 * bare `fp-ts/function` subpaths.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const out = join(root, '.cache', `build-smoke-${process.pid}`);

describe('built output under plain node', () => {
  beforeAll(() => {
    mkdirSync(out, { recursive: true });
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', out], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs the demo', () => {
    const text = execFileSync(process.execPath, [join(out, 'cli', 'main.js'), 'demo'], { encoding: 'utf8' });
    expect(text).toMatch(/read\(0x[0-9a-f]+, 21\) = "hello from the writer"/);
    expect(text).toMatch(/frames in use after the last detach: 0/);
  });

  it('exposes the library API from the package entry', () => {
    const script = `
      import { Kernel, IPC_CREAT, IPC_STAT } from ${JSON.stringify(join(out, 'index.js'))};
      import * as E from 'fp-ts/lib/Either.js';
      const k = new Kernel();
      const a = k.spawn(), b = k.spawn();
      const id = a.shmget(42, 4096, IPC_CREAT | 0o600);
      const addr = a.shmat(id.right, 0, 0).right;
      a.write(addr, new Uint8Array([7]));
      const seen = b.read(b.shmat(id.right, 0, 0).right, 1);
      console.log(JSON.stringify({ nattch: a.shmctl(id.right, IPC_STAT).right.ds.nattch, byte: E.isRight(seen) ? seen.right[0] : -1 }));
    `;
    const text = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(text)).toEqual({ nattch: 2, byte: 7 });
  });

  it('runs programs in worker threads without tsx', () => {
    writeFileSync(
      join(out, 'count.mjs'),
      'export default function main(task, [id]) { const a = task.shmat(id, 0, 0).right; for (let i = 0; i < 1000; i++) task.atomicAdd32(a, 1); return 0; }\n',
    );
    const script = `
      import { Kernel, IPC_CREAT } from ${JSON.stringify(join(out, 'index.js'))};
      import { spawnWorker } from ${JSON.stringify(join(out, 'node', 'worker.js'))};
      const k = new Kernel(), p = k.spawn();
      const id = p.shmget(0, 4096, IPC_CREAT | 0o600).right, a = p.shmat(id, 0, 0).right;
      const url = new URL(${JSON.stringify(`file://${join(out, 'count.mjs')}`)});
      const exits = await Promise.all([0, 1].map(() => spawnWorker(k, k.spawn(), url, [id]).right.done));
      console.log(JSON.stringify({ ok: exits.every((e) => e.ok), count: p.atomicLoad32(a).right }));
    `;
    const text = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(text)).toEqual({ ok: true, count: 2000 });
  });
  // Whichever module loads first, checkpoint and restore must work (no import cycle leaves a binding undefined).
  it.each(['index.js', 'kernel/kernel.js', 'checkpoint/index.js', 'checkpoint/restore.js', 'hostchannel/engine.js'])(
    'checkpoints and restores a kernel with containers when %s loads first',
    (first) => {
      const script = `
        await import(${JSON.stringify(join(out, first))});
        const { Kernel, checkpoint, restore, restoreWithEngine } = await import(${JSON.stringify(join(out, 'index.js'))});
        const { ContainerEngine } = await import(${JSON.stringify(join(out, 'hostchannel', 'engine.js'))});
        const k = new Kernel(), engine = new ContainerEngine(k);
        engine.run('c1', { hostChannel: '/chan:/chan::' });
        const img = checkpoint(k, { engine });
        const back = restore(img.right), machine = restoreWithEngine(img.right);
        console.log(JSON.stringify({ processes: back.right.processes().length, names: machine.right.engine.names() }));
      `;
      const text = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
      expect(JSON.parse(text)).toEqual({ processes: 2, names: ['c1'] });
    },
  );
});
