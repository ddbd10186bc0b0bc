/**
 * A second view of a read-only view stays read-only (Linux's clone_mnt copies
 * the source's mnt_flags): a container with a `:ro` host channel cannot reach
 * the host's files for writing by bind-mounting the channel elsewhere, by a
 * bind of that bind, or by asking for a read-write bind.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { ContainerEngine, Kernel, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

function roContainer(): { kernel: Kernel; inside: Process } {
  const kernel = new Kernel();
  const engine = new ContainerEngine(kernel);
  expect(engine.run('c1', { hostChannel: '/chan:/chan:ro:1M' }).exitStatus).toBe(0);
  const host = kernel.spawn();
  const fd = ok(host.open('/chan/secret', O_WRONLY | O_CREAT, 0o666));
  expect(ok(host.writeFd(fd, new TextEncoder().encode('host')))).toBe(4);
  const inside = engine.exec('c1');
  if (E.isLeft(inside)) throw new Error(inside.left.stderr.join('\n'));
  return { kernel, inside: inside.right };
}

describe('binds of a read-only view', () => {
  it('the channel itself refuses writes', () => {
    const { inside } = roContainer();
    expect(errno(inside.open('/chan/secret', O_RDWR))).toBe('EROFS');
  });

  it.each([
    ['a plain bind', {}],
    ['a bind that asks for read-write', { readonly: false }],
  ])('%s of the channel is read-only too', (_, flags) => {
    const { kernel, inside } = roContainer();
    const made = inside.mkdir('/x', 0o755);
    if (E.isLeft(made) && made.left.errno !== 'EEXIST') throw new Error(made.left.message);
    // The container's root holds every capability (the engine's default), so the bind itself is allowed.
    const bound = ok(inside.bindMount('/chan', '/x', flags));
    expect(bound.flags.readonly).toBe(true);
    expect(errno(inside.open('/x/secret', O_RDWR))).toBe('EROFS');
    expect(errno(inside.open('/x/new', O_WRONLY | O_CREAT, 0o644))).toBe('EROFS');
    expect(errno(inside.unlink('/x/secret'))).toBe('EROFS');
    // Reading still works, and the host's file is unchanged.
    expect(ok(inside.open('/x/secret', O_RDONLY))).toBeGreaterThanOrEqual(0);
    expect(ok(kernel.spawn().stat('/chan/secret')).size).toBe(4);
  });

  it('a bind of a bind of the channel is read-only too', () => {
    const { inside } = roContainer();
    for (const d of ['/x', '/y']) {
      const made = inside.mkdir(d, 0o755);
      if (E.isLeft(made) && made.left.errno !== 'EEXIST') throw new Error(made.left.message);
    }
    ok(inside.bindMount('/chan', '/x'));
    ok(inside.bindMount('/x', '/y', { readonly: false }));
    expect(errno(inside.open('/y/secret', O_RDWR))).toBe('EROFS');
  });

  it('a read-write view bound read-only is read-only, and the original stays writable', () => {
    const kernel = new Kernel();
    const root = kernel.spawn();
    ok(root.mkdir('/src', 0o755));
    ok(root.mkdir('/ro', 0o755));
    ok(root.bindMount('/src', '/ro', { readonly: true }));
    expect(errno(root.open('/ro/f', O_WRONLY | O_CREAT, 0o644))).toBe('EROFS');
    expect(ok(root.open('/src/f', O_WRONLY | O_CREAT, 0o644))).toBeGreaterThanOrEqual(0);
  });
});
