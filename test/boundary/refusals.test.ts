/**
 * Each named refusal at the API boundary: what Linux's proc handlers and
 * iSulad's client refuse is refused at the call, and the state stays as it
 * was.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { ContainerEngine, ENGINE_MESSAGES, Kernel } from '../../src/index.js';
import type { ShmSysctl } from '../../src/index.js';

const errno = (r: E.Either<{ errno?: string }, unknown>): string | undefined => (E.isLeft(r) ? r.left.errno : undefined);

describe('spawn options', () => {
  it('trySpawn refuses uid -1 with EINVAL naming uid; spawn throws a TypeError naming it', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const before = k.processes().length;
    const r = k.trySpawn({ uid: -1 });
    expect(errno(r)).toBe('EINVAL');
    expect(E.isLeft(r) && r.left.message).toMatch(/uid/);
    expect(() => k.spawn({ uid: -1 })).toThrow(TypeError);
    expect(() => k.spawn({ uid: -1 })).toThrow(/Kernel\.spawn: uid/);
    expect(k.processes().length).toBe(before);
  });

  it('refuses fractional and out-of-range ids, unknown capabilities and a soft memlock above the hard one', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    expect(errno(k.trySpawn({ uid: 1.5 }))).toBe('EINVAL');
    expect(errno(k.trySpawn({ gid: 2 ** 32 - 1 }))).toBe('EINVAL');
    expect(errno(k.trySpawn({ groups: [1, -2] }))).toBe('EINVAL');
    expect(errno(k.trySpawn({ caps: ['CAP_NOPE' as never] }))).toBe('EINVAL');
    expect(errno(k.trySpawn({ memlock: { soft: 2n, hard: 1n } }))).toBe('EINVAL');
    expect(errno(k.trySpawn(null as never))).toBe('EINVAL');
    expect(E.isRight(k.trySpawn({ uid: 4294967294, gid: 0, caps: new Set(['CAP_IPC_LOCK' as const]) }))).toBe(true);
  });
});

describe('sysctls', () => {
  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ['shmmni', 1.5],
    ['shmmax', '100000'],
    ['shmmax', 2n ** 64n],
    ['shmall', -1n],
    ['nope', 1n],
  ];
  for (const [name, value] of cases) {
    it(`writeSysctl(${JSON.stringify(name)}, ${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value)}) is EINVAL and changes nothing`, () => {
      const k = new Kernel({ memTotalBytes: 16 << 20 });
      const ns = k.initialIpcNamespace;
      const before = ['shmmax', 'shmall', 'shmmni'].map((n) => ns.limits.read(n as ShmSysctl));
      expect(errno(k.writeSysctl(ns, name as ShmSysctl, value as bigint))).toBe('EINVAL');
      expect(errno(k.spawn().writeSysctl(name as ShmSysctl, value as bigint))).toBe('EINVAL');
      expect(['shmmax', 'shmall', 'shmmni'].map((n) => ns.limits.read(n as ShmSysctl))).toEqual(before);
    });
  }

  it('refuses a namespace that is not one of the kernel', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const other = new Kernel({ memTotalBytes: 16 << 20 });
    expect(errno(k.writeSysctl(other.initialIpcNamespace, 'shmmni', 10n))).toBe('EINVAL');
    expect(errno(k.writeSysctl({} as never, 'shmmni', 10n))).toBe('EINVAL');
  });
});

describe('container memory limits', () => {
  for (const [limit, shown] of [
    [2n ** 64n, '18446744073709551616'],
    [-1n, '-1'],
  ] as const) {
    it(`-m ${shown} is refused by the client while it reads its options: create and run exit 125, and no container exists`, () => {
      const k = new Kernel({ memTotalBytes: 64 << 20 });
      const engine = new ContainerEngine(k);
      const created = engine.create('c0', { memoryLimit: limit });
      expect(created).toEqual({ exitStatus: 125, stderr: [ENGINE_MESSAGES.invalidMemory(shown)] });
      expect(created.stderr).toEqual([`Invalid value "${shown}" for flag --memory`]);
      expect(engine.run('c1', { memoryLimit: limit })).toEqual({ exitStatus: 125, stderr: [ENGINE_MESSAGES.invalidMemory(shown)] });
      expect(engine.names()).toEqual([]);
    });
  }

  it('takes INT64_MAX, and a name or option of the wrong type is a TypeError naming the method', () => {
    const k = new Kernel({ memTotalBytes: 64 << 20 });
    const engine = new ContainerEngine(k);
    expect(engine.create('c0', { memoryLimit: 2n ** 63n - 1n }).exitStatus).toBe(0);
    expect(() => engine.create(5 as never)).toThrow(/ContainerEngine\.create: name/);
    expect(() => engine.run('c1', { memoryLimit: 5 as never })).toThrow(/ContainerEngine\.run: options\.memoryLimit/);
  });
});
