import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContainerConfig } from '../../src/hostchannel/records.js';
import {
  ContainerConfigCodec,
  HostChannelCodec,
  decodeContainerConfig,
  decodeHostChannel,
  parseContainerConfig,
  stringifyContainerConfig,
} from '../../src/hostchannel/records.js';
import type { HostChannel } from '../../src/hostchannel/spec.js';

const channel: HostChannel = { pathOnHost: '/srv/chan', pathInContainer: '/dev/shm/chan', permissions: 'ro,rshared', size: 33554432n };

function errors<T>(r: E.Either<string[], T>): string[] {
  if (E.isRight(r)) throw new Error('expected a decoding failure');
  return r.left;
}

describe('the HostChannel record', () => {
  it('encodes with the hostconfig field names', () => {
    expect(HostChannelCodec.encode(channel)).toEqual({
      PathOnHost: '/srv/chan',
      PathInContainer: '/dev/shm/chan',
      Permissions: 'ro,rshared',
      Size: 33554432,
    });
  });

  it('decodes what it encodes', () => {
    expect(decodeHostChannel(JSON.parse(JSON.stringify(HostChannelCodec.encode(channel))))).toEqual(E.right(channel));
  });

  it('accepts Size 0, which only the API can send (an unlimited tmpfs)', () => {
    expect(decodeHostChannel({ PathOnHost: '/a', PathInContainer: '/b', Permissions: 'rw', Size: 0 })).toEqual(
      E.right({ pathOnHost: '/a', pathInContainer: '/b', permissions: 'rw', size: 0n }),
    );
  });

  it('ignores fields it does not know', () => {
    expect(E.isRight(decodeHostChannel({ ...HostChannelCodec.encode(channel), Extra: 1 }))).toBe(true);
  });

  it.each([
    ['abc', 'HostChannel.Size: expected a non-negative integer, got "abc"'],
    [-1, 'HostChannel.Size: expected a non-negative integer, got -1'],
    [1.5, 'HostChannel.Size: expected a non-negative integer, got 1.5'],
    [null, 'HostChannel.Size: expected a non-negative integer, got null'],
    [undefined, 'HostChannel.Size: expected a non-negative integer, got nothing'],
    [2 ** 64, 'HostChannel.Size: expected a non-negative integer below 2^53 (larger ones lose digits in JSON), got 18446744073709552000'],
  ])('a Size of %j is refused', (size, message) => {
    expect(errors(decodeHostChannel({ PathOnHost: '/a', PathInContainer: '/b', Permissions: 'rw', Size: size }))).toEqual([message]);
  });

  it('names every bad field, in field order', () => {
    expect(errors(decodeHostChannel({ PathOnHost: 'rel', PathInContainer: 7, Permissions: 'RW' }))).toEqual([
      'HostChannel.PathOnHost: expected an absolute path, got "rel"',
      'HostChannel.PathInContainer: expected an absolute path, got 7',
      'HostChannel.Permissions: expected a mount mode such as "rw" or "ro,rshared", got "RW"',
      'HostChannel.Size: expected a non-negative integer, got nothing',
    ]);
  });

  it('refuses a value that is not an object', () => {
    expect(errors(decodeHostChannel('x'))).toEqual(['HostChannel: expected an object, got "x"']);
    expect(errors(decodeHostChannel(null))).toEqual(['HostChannel: expected an object, got null']);
  });

  it('the guard recognises typed channels only', () => {
    expect(HostChannelCodec.is(channel)).toBe(true);
    expect(HostChannelCodec.is({ ...channel, size: 5 })).toBe(false);
    expect(HostChannelCodec.is(HostChannelCodec.encode(channel))).toBe(false);
  });
});

describe('the container record', () => {
  const full: ContainerConfig = { name: 'c1', state: 'running', hostChannel: channel, memoryLimit: 16777216n };

  it('encodes HostChannel and Memory under HostConfig, as inspect shows them', () => {
    expect(ContainerConfigCodec.encode(full)).toEqual({
      Name: 'c1',
      State: 'running',
      HostConfig: { HostChannel: HostChannelCodec.encode(channel), Memory: 16777216 },
    });
    expect(ContainerConfigCodec.encode({ name: 'c2', state: 'created' })).toEqual({ Name: 'c2', State: 'created', HostConfig: {} });
  });

  it('round-trips through JSON text, with and without the optional fields', () => {
    for (const config of [full, { name: 'c2', state: 'exited' } as const, { name: 'c3', state: 'created', memoryLimit: 0n } as const]) {
      expect(parseContainerConfig(stringifyContainerConfig(config))).toEqual(E.right(config));
    }
  });

  it('round-trips any valid record (property)', () => {
    const channels = fc.record({
      pathOnHost: fc.stringMatching(/^\/[a-z/]{0,12}$/),
      pathInContainer: fc.stringMatching(/^\/[a-z/]{0,12}$/),
      permissions: fc.constantFrom('rw', 'ro', 'ro,', 'rshared,ro,z,nocopy', 'Z'),
      size: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
    });
    const configs = fc.record(
      {
        name: fc.string({ minLength: 1 }),
        state: fc.constantFrom('created' as const, 'running' as const, 'exited' as const),
        hostChannel: channels,
        memoryLimit: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
        ipcMode: fc.oneof(fc.constantFrom('shareable', 'none', 'host', 'container:web'), fc.string()),
        shmSize: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
      },
      { requiredKeys: ['name', 'state'] },
    );
    fc.assert(
      fc.property(configs, (config) => {
        expect(ContainerConfigCodec.is(config)).toBe(true);
        expect(parseContainerConfig(stringifyContainerConfig(config))).toEqual(E.right(config));
      }),
    );
  });

  it('names nested fields from the record root', () => {
    expect(
      errors(
        decodeContainerConfig({
          Name: '',
          State: 'paused',
          HostConfig: { HostChannel: { PathOnHost: '/a', PathInContainer: '/b', Permissions: 'rw', Size: 'abc' }, Memory: -5 },
        }),
      ),
    ).toEqual([
      'Name: expected a non-empty string, got ""',
      'State: expected one of "created", "running", "exited", got "paused"',
      'HostConfig.HostChannel.Size: expected a non-negative integer, got "abc"',
      'HostConfig.Memory: expected a non-negative integer, got -5',
    ]);
  });

  it('keeps --ipc and the shm size under HostConfig as IpcMode and ShmSize', () => {
    const joined: ContainerConfig = { name: 'j1', state: 'created', ipcMode: 'container:web', shmSize: 67108864n };
    expect(ContainerConfigCodec.encode(joined)).toEqual({ Name: 'j1', State: 'created', HostConfig: { IpcMode: 'container:web', ShmSize: 67108864 } });
    expect(parseContainerConfig(stringifyContainerConfig(joined))).toEqual(E.right(joined));
    expect(errors(decodeContainerConfig({ Name: 'j1', State: 'created', HostConfig: { IpcMode: 3, ShmSize: 1.5 } }))).toEqual([
      'HostConfig.IpcMode: expected string, got 3',
      'HostConfig.ShmSize: expected a non-negative integer, got 1.5',
    ]);
  });

  it('needs HostConfig to be an object, and the record itself', () => {
    expect(errors(decodeContainerConfig({ Name: 'c', State: 'created' }))).toEqual(['HostConfig: expected an object, got nothing']);
    expect(errors(decodeContainerConfig([1]))).toEqual(['(root): expected an object, got [1]']);
  });

  it('reports text that is not JSON', () => {
    const [line] = errors(parseContainerConfig('{"Name":'));
    expect(line).toMatch(/^not JSON: /);
  });

  it('the guard rejects malformed values without throwing', () => {
    expect(ContainerConfigCodec.is(full)).toBe(true);
    expect(ContainerConfigCodec.is({ name: 'c', state: 'created', hostChannel: 'x' })).toBe(false);
    expect(ContainerConfigCodec.is(null)).toBe(false);
    expect(ContainerConfigCodec.is({ name: 'c', state: 'gone' })).toBe(false);
  });
});
