/**
 * The README's container example, through the package entry: the engine,
 * the open flags and the host's view of the channel are all public API.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { ContainerEngine, Kernel, O_CREAT, O_WRONLY } from '../../src/index.js';
import { ok } from '../support/either.js';

describe('containers from the package entry', () => {
  it('runs the README example: a file written inside the container is on the host channel', () => {
    const kernel = new Kernel();
    const engine = new ContainerEngine(kernel);
    expect(engine.create('web', { hostChannel: '/testdir:/testdir:rw:32M' })).toEqual({ exitStatus: 0, stderr: [] });
    expect(engine.create('bad', { hostChannel: '/a:/b:rw:1K' }).exitStatus).toBe(1);
    expect(engine.start('web').exitStatus).toBe(0);
    const inside = engine.exec('web');
    if (E.isLeft(inside)) throw new Error(inside.left.stderr.join('\n'));
    const fd = ok(inside.right.open('/testdir/msg', O_WRONLY | O_CREAT, 0o644));
    expect(ok(inside.right.writeFd(fd, new TextEncoder().encode('hi')))).toBe(2);
    expect(ok(kernel.spawn().stat('/testdir/msg')).size).toBe(2);
    expect(engine.stop('web').exitStatus).toBe(0);
    expect(ok(kernel.spawn().stat('/testdir/msg')).size).toBe(2);
  });
});
