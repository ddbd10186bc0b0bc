/**
 * spawnWorker refuses what it cannot start: arguments structured clone
 * cannot copy are EINVAL naming args, and leave no thread slot behind, so
 * 300 refused spawns (more than the 256 slots) still leave room for a good
 * one. A thread whose module fails to load releases its slot and ends its
 * process.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, Kernel } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';

const program = (name: string): URL => new URL(`./programs/${name}.ts`, import.meta.url);

describe('spawnWorker arguments', () => {
  it('300 spawns with uncloneable arguments are EINVAL naming args; then a good spawn runs', async () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const owner = k.spawn();
    const id = owner.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o666);
    if (E.isLeft(id)) throw new Error(id.left.message);
    const p = k.spawn();
    const uncloneable: unknown[] = [() => 0, Symbol('s'), { f: () => 0 }, new WeakMap()];
    for (let i = 0; i < 300; i++) {
      const r = spawnWorker(k, p, program('counter'), [uncloneable[i % uncloneable.length]]);
      expect(E.isLeft(r) && r.left.errno).toBe('EINVAL');
      expect(E.isLeft(r) && r.left.message).toMatch(/args/);
    }
    expect(p.exited).toBe(false);
    const good = spawnWorker(k, p, program('counter'), [id.right, 0, 10]);
    if (E.isLeft(good)) throw new Error(`${good.left.errno}: ${good.left.message}`);
    expect((await good.right.done).ok).toBe(true);
  });

  it('refuses a non-array args, a bad module URL and a process of another kernel, holding nothing', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    expect(E.isLeft(spawnWorker(k, p, program('counter'), 5 as never))).toBe(true);
    expect(E.isLeft(spawnWorker(k, p, 42 as never))).toBe(true);
    expect(E.isLeft(spawnWorker(k, new Kernel({ memTotalBytes: 16 << 20 }).spawn(), program('counter')))).toBe(true);
    expect(p.exited).toBe(false);
  });

  it('a thread whose program cannot load gives its slot back and ends its process', async () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    for (let i = 0; i < 3; i++) {
      const p = k.spawn();
      const t = spawnWorker(k, p, new URL('./programs/no_such_program.ts', import.meta.url));
      if (E.isLeft(t)) throw new Error(t.left.message);
      const exit = await t.right.done;
      expect(exit.ok).toBe(false);
      expect(p.exited).toBe(true);
    }
  });
});
