/**
 * ContainerEngine's options whose getter or Proxy trap throws: a TypeError
 * naming the method and the option, as every other unusable option is,
 * never the caller's own exception out of the command.
 */
import { describe, expect, it } from 'vitest';
import { ContainerEngine, Kernel } from '../../src/index.js';

function throwingOption(key: string): object {
  return Object.defineProperty({}, key, {
    enumerable: true,
    get: () => {
      throw new Error('the caller’s own');
    },
  });
}

describe('an engine option that cannot be read', () => {
  it('is a TypeError naming it, from create, run and rm', () => {
    const engine = new ContainerEngine(new Kernel());
    const cases: ReadonlyArray<readonly [() => unknown, string]> = [
      [() => engine.create('a', throwingOption('hostChannel')), 'ContainerEngine.create: options.hostChannel could not be read'],
      [() => engine.run('b', throwingOption('rm')), 'ContainerEngine.run: options.rm could not be read'],
      [() => engine.rm('c', throwingOption('force')), 'ContainerEngine.rm: options.force could not be read'],
    ];
    for (const [call, message] of cases) expect(call).toThrow(new TypeError(message));
  });
});
