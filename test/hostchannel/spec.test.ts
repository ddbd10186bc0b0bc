import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { HostChannel, HostChannelCommand, HostChannelEnv, HostChannelError } from '../../src/hostchannel/spec.js';
import { parseHostChannel } from '../../src/hostchannel/spec.js';

/** The reference machine: MemTotal 24684092 kB; MemAvailable 20 GiB. */
const MEM_TOTAL_KB = 24684092n;
const MEM_TOTAL = MEM_TOTAL_KB * 1024n;
const MEM_AVAILABLE = 20n * 2n ** 30n;

function env(dirs: string[] = [], meminfo: HostChannelEnv['meminfo'] = { memTotalKb: MEM_TOTAL_KB, memAvailableKb: MEM_AVAILABLE / 1024n }): HostChannelEnv {
  return { meminfo, isExistingDirectory: (p) => dirs.includes(p) };
}

function parsed(spec: string, e: HostChannelEnv = env()): HostChannel {
  const r = parseHostChannel(spec, e);
  if (E.isLeft(r)) throw new Error(`expected ${spec} to parse, got ${JSON.stringify(r.left)}`);
  return r.right;
}

function failure(spec: string, e: HostChannelEnv = env(), command: HostChannelCommand = 'create'): HostChannelError {
  const r = parseHostChannel(spec, e, command);
  if (E.isRight(r)) throw new Error(`expected ${spec} to fail, got ${JSON.stringify(r.right, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  return r.left;
}

function stderr(spec: string, e: HostChannelEnv = env()): string | undefined {
  return failure(spec, e).stderr;
}

describe('parseHostChannel: a valid option', () => {
  it('stores cleaned paths, the mode as typed and the size in bytes', () => {
    expect(parsed('//srv/./chan/:/dev/shm/x/../chan/:ro,:32M')).toEqual({
      pathOnHost: '/srv/chan',
      pathInContainer: '/dev/shm/chan',
      permissions: 'ro,',
      size: 33554432n,
    });
  });

  it('empty mode and size fields give rw and 64 MiB', () => {
    expect(parsed('/a:/b::')).toEqual({ pathOnHost: '/a', pathInContainer: '/b', permissions: 'rw', size: 67108864n });
  });

  it('the default size skips the memory checks entirely', () => {
    expect(parsed('/a:/b::', env([], {})).size).toBe(67108864n);
  });

  it('accepts / as the container path, and a size that is not a page multiple', () => {
    expect(parsed('/a:/:rw:4097')).toMatchObject({ pathInContainer: '/', size: 4097n });
  });

  it('keeps a mode with every group, as typed', () => {
    expect(parsed('/a:/b:rshared,ro,z,nocopy:').permissions).toBe('rshared,ro,z,nocopy');
  });
});

describe('parseHostChannel: the field count', () => {
  it.each(['', ':', '/a', '/a:/b', '/a:/b:rw', '/a:/b:rw:4k:', '/a:/b:rw:4k:x', '/a:/b:::'])('%j is a bad format', (spec) => {
    expect(failure(spec)).toEqual({ kind: 'bad-format', stderr: `Bad host channel format: ${spec}`, exitStatus: 1 });
  });

  it('fewer than four fields fails only after the fields present were validated', () => {
    expect(stderr('a:/b')).toBe('Host channel host path should be absolute: a');
    expect(stderr('/a:b')).toBe('Host channel container path should be absolute: b');
    expect(stderr('/a:/b:RW')).toBe('Invalid mount mode for host channel: /a:/b:RW');
  });

  it('with too many fields, the first four are fully validated before the fifth token is refused', () => {
    expect(stderr('/a:/b:rw:abc:extra')).toBe('Invalid size limit for host channel: /a:/b:rw:abc:extra');
    expect(stderr('/a:/b:rw:1k:extra')).toBe('Invalid size, larger than 4KB is allowed');
    expect(stderr('/a:/b:rw:1T:extra')).toBe(`Required host channel size 1099511627776 is larger than half of total memory ${MEM_TOTAL}`);
    expect(stderr('/a:/b:bogus:4k:extra')).toBe('Invalid mount mode for host channel: /a:/b:bogus:4k:extra');
    expect(stderr('/a:/b:rw:4k:extra')).toBe('Bad host channel format: /a:/b:rw:4k:extra');
  });

  it('the fields are checked in order: the first bad one wins', () => {
    expect(stderr(':b:bogus:abc')).toBe('Bad host channel format: :b:bogus:abc');
    expect(stderr('a:b:bogus:abc')).toBe('Host channel host path should be absolute: a');
    expect(stderr('/a:b:bogus:abc')).toBe('Host channel container path should be absolute: b');
    expect(stderr('/a::bogus:abc')).toBe('Bad host channel format: /a::bogus:abc');
    expect(stderr('/a:/b:bogus:abc')).toBe('Invalid mount mode for host channel: /a:/b:bogus:abc');
  });
});

describe('parseHostChannel: field 1, the host path', () => {
  it('an empty host path is a bad format', () => {
    expect(stderr(':/b::')).toBe('Bad host channel format: :/b::');
  });

  it('a relative host path echoes the raw token', () => {
    expect(stderr('./a/../x:/b::')).toBe('Host channel host path should be absolute: ./a/../x');
  });

  it('an existing directory is refused under its cleaned name', () => {
    expect(stderr('/srv//chan/./:/b::', env(['/srv/chan']))).toBe("Host path '/srv/chan' already exists");
  });

  it('the existence check is made on the cleaned path only', () => {
    expect(parsed('/srv/chan/x/..:/b::', env(['/srv/chan/x'])).pathOnHost).toBe('/srv/chan');
  });

  it('a path too long to clean fails silently: no stderr line, still the exit status', () => {
    const long = '/' + 'a'.repeat(4095);
    expect(failure(`${long}:/b::`)).toEqual({ kind: 'path-too-long', stderr: undefined, exitStatus: 1 });
    expect(failure(`${long}:/b::`, env(), 'run')).toEqual({ kind: 'path-too-long', stderr: undefined, exitStatus: 125 });
  });

  it('the too-long check comes before the existence check', () => {
    const long = '/' + 'a'.repeat(4095);
    expect(failure(`${long}:/b::`, { meminfo: {}, isExistingDirectory: () => true }).kind).toBe('path-too-long');
  });
});

describe('parseHostChannel: field 2, the container path', () => {
  it('an empty container path is a bad format', () => {
    expect(stderr('/a:::')).toBe('Bad host channel format: /a:::');
  });

  it('a relative container path echoes the raw token', () => {
    expect(stderr('/a:dev/shm::')).toBe('Host channel container path should be absolute: dev/shm');
  });

  it('is not checked for existence: an existing directory is fine', () => {
    expect(parsed('/a:/b::', env(['/b'])).pathInContainer).toBe('/b');
  });

  it('a container path too long to clean fails silently too', () => {
    expect(failure(`/a:/${'c'.repeat(4095)}::`)).toEqual({ kind: 'path-too-long', stderr: undefined, exitStatus: 1 });
  });
});

describe('parseHostChannel: field 3, the mode', () => {
  it.each(['ro', 'rw', 'ro,', ',ro', 'ro,,shared', 'Z,nocopy'])('%j is stored as typed', (mode) => {
    expect(parsed(`/a:/b:${mode}:`).permissions).toBe(mode);
  });

  it.each([',', 'rw,ro', 'z,Z', 'private,slave', 'rw,rw', 'RW', 'Ro', ' ro', 'ro ', 'bind', 'rbind', 'ro,rbind'])(
    '%j is refused, echoing the whole option',
    (mode) => {
      const spec = `/a:/b:${mode}:`;
      expect(stderr(spec)).toBe(`Invalid mount mode for host channel: ${spec}`);
    },
  );
});

describe('parseHostChannel: field 4, the size', () => {
  it.each([
    ['1.5M', 1572864n],
    ['4.5K', 4608n],
    ['4096.9', 4096n],
    ['2048.965kI', 2098140n],
    ['010K', 8192n],
    ['4096', 4096n],
    ['4k', 4096n],
    ['32mib', 33554432n],
  ])('%s = %s bytes', (text, bytes) => {
    expect(parsed(`/a:/b:rw:${text}`).size).toBe(bytes);
  });

  it.each(['08K', '09', '0x1000', '1e3', '8388608T', '8192P', '9999999999999999999', '.5M', '+1M', '-1M', ' 1M', 'M', '1.', '1.2.3M', '1..5M', '32E', '4 k'])(
    '%j is an invalid size limit, echoing the whole option',
    (text) => {
      const spec = `/a:/b:rw:${text}`;
      expect(stderr(spec)).toBe(`Invalid size limit for host channel: ${spec}`);
    },
  );

  it.each(['3.99K', '4095', '0', '00', '0.0K', '1k', '4095.999'])('%s is below 4096 bytes', (text) => {
    expect(stderr(`/a:/b:rw:${text}`)).toBe('Invalid size, larger than 4KB is allowed');
  });

  it('exactly half of MemTotal is allowed; one byte more is not, and the message shows the whole MemTotal', () => {
    const half = MEM_TOTAL / 2n;
    const e = env([], { memTotalKb: MEM_TOTAL_KB, memAvailableKb: MEM_TOTAL_KB });
    expect(parsed(`/a:/b:rw:${half}`, e).size).toBe(half);
    expect(stderr(`/a:/b:rw:${half + 1n}`, e)).toBe(`Required host channel size ${half + 1n} is larger than half of total memory ${MEM_TOTAL}`);
  });

  it('half of an odd MemTotal rounds down', () => {
    const e = env([], { memTotalKb: 9, memAvailableKb: 9 });
    expect(parsed('/a:/b:rw:4608', e).size).toBe(4608n);
    expect(stderr('/a:/b:rw:4609', e)).toBe('Required host channel size 4609 is larger than half of total memory 9216');
  });

  it('INT64_MAX bytes parses, then fails the half-of-memory check', () => {
    expect(stderr('/a:/b:rw:9223372036854775807')).toBe(`Required host channel size 9223372036854775807 is larger than half of total memory ${MEM_TOTAL}`);
  });

  it('then the size must fit MemAvailable; exactly MemAvailable is allowed', () => {
    const e = env([], { memTotalKb: 1048576, memAvailableKb: 8 });
    expect(parsed('/a:/b:rw:8k', e).size).toBe(8192n);
    expect(stderr('/a:/b:rw:8193', e)).toBe('Required host channel size 8193 is larger than available memory 8192');
  });

  it('a missing MemAvailable line reads as 0, so every explicit size fails', () => {
    expect(stderr('/a:/b:rw:4k', env([], { memTotalKb: MEM_TOTAL_KB }))).toBe('Required host channel size 4096 is larger than available memory 0');
  });

  it('a missing MemTotal line reads as 0 too', () => {
    expect(stderr('/a:/b:rw:4k', env([], { memAvailableKb: MEM_TOTAL_KB }))).toBe('Required host channel size 4096 is larger than half of total memory 0');
  });

  it('the half-of-memory check comes before the available-memory check', () => {
    expect(stderr('/a:/b:rw:1M', env([], { memTotalKb: 1024, memAvailableKb: 0 }))).toBe(
      'Required host channel size 1048576 is larger than half of total memory 1048576',
    );
  });

  it('the 4 KiB floor comes before the memory checks', () => {
    expect(stderr('/a:/b:rw:1k', env([], {}))).toBe('Invalid size, larger than 4KB is allowed');
  });

  it('meminfo values may be numbers or bigints', () => {
    expect(parsed('/a:/b:rw:1M', env([], { memTotalKb: 4096, memAvailableKb: 4096n })).size).toBe(1048576n);
  });
});

describe('parseHostChannel: the exit status follows the command', () => {
  it.each([
    ['create', 1],
    ['run', 125],
  ] as const)('isula %s exits %i on any rejected option', (command, status) => {
    for (const spec of ['', 'a:/b::', '/a:/b:x:', '/a:/b::x', '/a:/b::1k', '/a:/b::1T']) {
      expect(failure(spec, env(), command).exitStatus).toBe(status);
    }
  });

  it('create is the default command', () => {
    expect(failure('').exitStatus).toBe(1);
  });
});
