/**
 * --ipc and --shm-size as the isula client and the daemon read them:
 * iSulad's byte-size grammar with command_convert_membytes's message, the
 * default for 0, and the four modes the daemon knows.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { ContainerEngine, ENGINE_MESSAGES } from '../../src/hostchannel/engine.js';
import { DEFAULT_SHM_SIZE, effectiveShmSize, ipcModeOf, parseShmSize, shmTmpfsBytes } from '../../src/hostchannel/ipc_mode.js';
import { Kernel } from '../../src/kernel/kernel.js';

const refused = (value: string) => ({ exitStatus: 125, stderr: [`Invalid value "${value}" for flag --shm-size`] });

describe('parseShmSize', () => {
  it.each([
    ['1', 1n],
    ['4096', 4096n],
    ['1k', 1024n],
    ['1KB', 1024n],
    ['1KiB', 1024n],
    ['64m', 67108864n],
    ['64MB', 67108864n],
    ['64Mi', 67108864n],
    ['2g', 2n ** 31n],
    ['1.5M', 1572864n],
    ['010K', 8192n],
    ['0', 0n],
    ['0.0K', 0n],
    ['1b', 1n],
    ['9223372036854775807', 2n ** 63n - 1n],
  ])('takes %s as %s bytes', (value, bytes) => {
    expect(parseShmSize(value)).toEqual(E.right(bytes));
  });

  it.each([
    '',
    '-1',
    '-64M',
    '+1M',
    ' 1M',
    '1M ',
    'M',
    '.5M',
    '1.',
    '1.K',
    '1..5M',
    '1.2.3M',
    '08',
    '09K',
    '0x1000',
    '1e3',
    '1E',
    '64MBB',
    '9999999999999999999',
    '8388608T',
    '8192P',
  ])('refuses %j with the option error', (value) => {
    expect(parseShmSize(value)).toEqual(E.left(`Invalid value "${value}" for flag --shm-size`));
  });

  it('leaves 0 for the daemon, which makes it the default 64 MiB', () => {
    expect(DEFAULT_SHM_SIZE).toBe(64n * 1024n * 1024n);
    expect(effectiveShmSize(0n)).toBe(DEFAULT_SHM_SIZE);
    expect(effectiveShmSize(undefined)).toBe(DEFAULT_SHM_SIZE);
    expect(effectiveShmSize(1n)).toBe(1n);
  });

  it('mounts sizes past 8 PiB as the largest page multiple a Tmpfs takes', () => {
    expect(shmTmpfsBytes(4097n)).toBe(4097);
    const cap = shmTmpfsBytes(2n ** 63n - 1n);
    expect(cap % PAGE_SIZE).toBe(0);
    expect(Number.isSafeInteger(cap)).toBe(true);
    expect(shmTmpfsBytes(BigInt(cap) + 1n)).toBe(cap);
  });
});

describe('ipcModeOf', () => {
  it('reads no option and `shareable` as shareable, and knows none, host and container:', () => {
    expect(ipcModeOf(undefined)).toEqual({ kind: 'shareable' });
    expect(ipcModeOf('shareable')).toEqual({ kind: 'shareable' });
    expect(ipcModeOf('none')).toEqual({ kind: 'none' });
    expect(ipcModeOf('host')).toEqual({ kind: 'host' });
    expect(ipcModeOf('container:web')).toEqual({ kind: 'container', name: 'web' });
    expect(ipcModeOf('container:')).toEqual({ kind: 'container', name: '' });
  });

  it.each(['private', 'Shareable', 'HOST', 'container', ' host', ''])('has no meaning for %j', (mode) => {
    expect(ipcModeOf(mode)).toEqual({ kind: 'other' });
  });
});

describe('isula create and run with --shm-size', () => {
  const engine = () => new ContainerEngine(new Kernel({ memTotalBytes: 1 << 30 }));

  it.each(['', '-1', '1E', '0x10', '08', '1.', '64MBB', '8388608T'])('refuse %j with exit 125 from both commands', (value) => {
    const e = engine();
    expect(e.create('c1', { shmSize: value })).toEqual(refused(value));
    expect(e.run('c1', { shmSize: value })).toEqual(refused(value));
    expect(e.names()).toEqual([]);
  });

  it('refuses the size while parsing the command line: before the host channel, the name and the --ipc mode', () => {
    const e = engine();
    expect(e.create('c1', { shmSize: 'x', hostChannel: 'relative:/a::' })).toEqual(refused('x'));
    expect(e.create('-bad', { shmSize: 'x' })).toEqual(refused('x'));
    expect(e.create('c1', { shmSize: 'x', ipc: 'container:nobody' })).toEqual(refused('x'));
  });

  it('stores the settled size: the parsed bytes, or 64 MiB for 0 and for no option', () => {
    const e = engine();
    expect(e.create('a1', { shmSize: '1.5M' }).exitStatus).toBe(0);
    expect(e.create('b1', { shmSize: '0' }).exitStatus).toBe(0);
    expect(e.create('c1').exitStatus).toBe(0);
    expect(e.inspect('a1')?.shmSize).toBe(1572864n);
    expect(e.inspect('b1')?.shmSize).toBe(DEFAULT_SHM_SIZE);
    expect(e.inspect('c1')?.shmSize).toBe(DEFAULT_SHM_SIZE);
  });

  it('is no refusal with a mode that has no shm of its own: iSulad stores it and uses it nowhere', () => {
    const kernel = new Kernel({ memTotalBytes: 1 << 30 });
    const e = new ContainerEngine(kernel);
    const host = kernel.spawn();
    expect(E.isRight(host.mkdir('/dev', 0o755))).toBe(true);
    expect(E.isRight(host.mkdir('/dev/shm', 0o1777))).toBe(true);
    expect(e.run('h1', { ipc: 'host', shmSize: '1M' })).toEqual({ exitStatus: 0, stderr: [] });
    expect(e.run('n1', { ipc: 'none', shmSize: '1M' })).toEqual({ exitStatus: 0, stderr: [] });
    expect(e.inspect('h1')).toMatchObject({ ipcMode: 'host', shmSize: 1048576n });
  });

  it('TypeErrors a value of another JavaScript type, as no command line can give one', () => {
    const e = engine();
    expect(() => e.create('c1', { shmSize: 64 as unknown as string })).toThrow(TypeError);
    expect(() => e.run('c1', { ipc: 1 as unknown as string })).toThrow(TypeError);
  });
});

describe('isula create with an --ipc value the daemon does not know', () => {
  it.each(['private', 'Shareable', '', 'bridge'])('%j passes the client and fails in the daemon: no /dev/shm mount to size', (mode) => {
    const logs: string[] = [];
    const kernel = new Kernel({ memTotalBytes: 1 << 30 });
    const e = new ContainerEngine(kernel, { log: (l) => logs.push(l) });
    expect(e.create('c1', { ipc: mode })).toEqual({ exitStatus: 1, stderr: [ENGINE_MESSAGES.execFailed] });
    expect(e.run('c1', { ipc: mode })).toEqual({ exitStatus: 125, stderr: [ENGINE_MESSAGES.execFailed] });
    expect(logs).toContain('/dev/shm mount point not exist');
    expect(e.names()).toEqual([]);
    expect(E.isLeft(kernel.spawn().stat('/var/lib/isulad/engines/lcr/c1'))).toBe(true);
  });
});
