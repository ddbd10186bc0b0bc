/**
 * Each container's /dev/shm and the IPC namespace --ipc gives it: the size
 * limit and flags of a shareable container's own tmpfs, who pays for its
 * pages, and which System V objects and /dev/shm files the modes share.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, PAGE_SIZE } from '../../src/abi/constants.js';
import { O_CREAT, O_RDONLY, O_WRONLY, ST_NODEV, ST_NOEXEC, ST_NOSUID, TMPFS_MAGIC } from '../../src/abi/fs.js';
import type { CommandResult, CreateOptions } from '../../src/hostchannel/engine.js';
import { ContainerEngine, ENGINE_MESSAGES } from '../../src/hostchannel/engine.js';
import { shellStatus } from '../../src/hostchannel/shell.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { errno, ok } from '../support/either.js';

const PAGE = PAGE_SIZE;
const MiB = 1024 * 1024;
const OK: CommandResult = { exitStatus: 0, stderr: [] };
const FAILED_CREATE: CommandResult = { exitStatus: 1, stderr: [ENGINE_MESSAGES.execFailed] };
const SHM_OF = (name: string) => `/var/lib/isulad/engines/lcr/${name}/mounts/shm`;
const KEY = 0x5eed;

function setup(): { kernel: Kernel; engine: ContainerEngine; host: Process; logs: string[] } {
  const kernel = new Kernel({ memTotalBytes: 1 << 30 });
  const logs: string[] = [];
  const engine = new ContainerEngine(kernel, { log: (l) => logs.push(l) });
  return { kernel, engine, host: kernel.spawn(), logs };
}

function run(engine: ContainerEngine, name: string, options: CreateOptions = {}): void {
  expect(engine.run(name, options)).toEqual(OK);
}

function exec(engine: ContainerEngine, name: string): Process {
  const p = engine.exec(name);
  if (E.isLeft(p)) throw new Error(`exec ${name}: ${p.left.stderr.join('; ')}`);
  return p.right;
}

/** Writes `bytes` bytes at the end of `path` (created 0644); the count write(2) returned, or the errno. */
function append(p: Process, path: string, bytes: number): E.Either<string, number> {
  const fd = p.open(path, O_CREAT | O_WRONLY, 0o644);
  if (E.isLeft(fd)) return E.left(fd.left.errno);
  const size = ok(p.fstat(fd.right)).size;
  const n = p.pwrite(fd.right, new Uint8Array(bytes).fill(0x61), size);
  if (!p.exited) ok(p.close(fd.right));
  return E.isLeft(n) ? E.left(n.left.errno) : E.right(n.right);
}

function exists(p: Process, path: string): boolean {
  return E.isRight(p.stat(path));
}

function hostMounts(kernel: Kernel): string[] {
  return kernel.initialMountNamespace.mounts().map((m) => m.mountpoint);
}

/** Creates one System V object of each kind with KEY in `p`'s IPC namespace. */
function makeObjects(p: Process): void {
  ok(p.shmget(KEY, PAGE, IPC_CREAT | 0o600));
  ok(p.semget(KEY, 1, IPC_CREAT | 0o600));
  ok(p.msgget(KEY, IPC_CREAT | 0o600));
}

/** Which of the three objects with KEY `p` finds without IPC_CREAT. */
function findObjects(p: Process): [string, string, string] {
  return [errno(p.shmget(KEY, 0, 0)), errno(p.semget(KEY, 0, 0)), errno(p.msgget(KEY, 0))];
}

const SEEN: [string, string, string] = ['ok', 'ok', 'ok'];
const UNSEEN: [string, string, string] = ['ENOENT', 'ENOENT', 'ENOENT'];

function hostDevShm(host: Process): void {
  ok(host.mkdir('/dev', 0o755));
  ok(host.mkdir('/dev/shm', 0o1777));
}

describe('a shareable container (no --ipc)', () => {
  it('gets a 64 MiB tmpfs at create, mode 1777, nosuid nodev noexec, in a 0700 directory of its own', () => {
    const { kernel, engine, host } = setup();
    expect(engine.create('c1')).toEqual(OK);
    expect(hostMounts(kernel)).toContain(SHM_OF('c1'));
    expect(ok(host.stat('/var/lib/isulad/engines/lcr/c1/mounts')).mode & 0o7777).toBe(0o700);
    expect(ok(host.stat(SHM_OF('c1'))).mode & 0o7777).toBe(0o1777);
    const fs = ok(host.statfs(SHM_OF('c1')));
    expect([fs.type, fs.bsize, fs.blocks, fs.bfree]).toEqual([TMPFS_MAGIC, PAGE, (64 * MiB) / PAGE, (64 * MiB) / PAGE]);
    expect(fs.flags & (ST_NOSUID | ST_NODEV | ST_NOEXEC)).toBe(ST_NOSUID | ST_NODEV | ST_NOEXEC);
  });

  it('sees that tmpfs at /dev/shm, with the same flags and size', () => {
    const { engine } = setup();
    run(engine, 'c1', { shmSize: '1M' });
    const p = exec(engine, 'c1');
    const fs = ok(p.statfs('/dev/shm'));
    expect([fs.blocks, fs.flags & (ST_NOSUID | ST_NODEV | ST_NOEXEC)]).toEqual([256, ST_NOSUID | ST_NODEV | ST_NOEXEC]);
    expect(ok(p.stat('/dev/shm')).mode & 0o7777).toBe(0o1777);
  });

  it('rounds the size up to whole pages, as the kernel does', () => {
    const { engine } = setup();
    run(engine, 'c1', { shmSize: '4097' });
    run(engine, 'c2', { shmSize: '1' });
    expect(ok(exec(engine, 'c1').statfs('/dev/shm')).blocks).toBe(2);
    expect(ok(exec(engine, 'c2').statfs('/dev/shm')).blocks).toBe(1);
  });

  it('enforces --shm-size: a write past it is short, the next one ENOSPC', () => {
    const { engine } = setup();
    run(engine, 'c1', { shmSize: '64k' });
    const p = exec(engine, 'c1');
    expect(append(p, '/dev/shm/a', 60 * 1024)).toEqual(E.right(60 * 1024));
    expect(append(p, '/dev/shm/a', 8 * 1024)).toEqual(E.right(4 * 1024));
    expect(append(p, '/dev/shm/a', 1)).toEqual(E.left('ENOSPC'));
    expect(append(p, '/dev/shm/b', 1)).toEqual(E.left('ENOSPC'));
    expect(ok(p.statfs('/dev/shm')).bavail).toBe(0);
  });

  it('charges the pages to the writer: the container for its writes, nothing for the host', () => {
    const { kernel, engine, host } = setup();
    run(engine, 'c1');
    const cg = engine.memoryCgroup('c1')!;
    expect(append(exec(engine, 'c1'), '/dev/shm/mine', 5 * PAGE)).toEqual(E.right(5 * PAGE));
    expect(cg.usagePages).toBe(5);
    const before = kernel.rootMemoryCgroup.chargedPages;
    expect(append(host, `${SHM_OF('c1')}/host`, 3 * PAGE)).toEqual(E.right(3 * PAGE));
    expect(cg.usagePages).toBe(5);
    expect(kernel.rootMemoryCgroup.chargedPages).toBe(before + 3);
    ok(host.unlink(`${SHM_OF('c1')}/mine`));
    expect(cg.usagePages).toBe(0);
  });

  it('OOM-kills a writer whose cgroup runs out before /dev/shm does', () => {
    const { engine } = setup();
    run(engine, 'c1', { memoryLimit: BigInt(4 * PAGE) });
    const p = exec(engine, 'c1');
    expect(append(p, '/dev/shm/big', 8 * PAGE)).toEqual(E.left('ENOMEM'));
    expect(shellStatus(p)).toEqual({ exitStatus: 137, stderr: ['Killed'] });
    expect(ok(exec(engine, 'c1').stat('/dev/shm/big')).size).toBe(4 * PAGE);
  });

  it('keeps its files across stop and start; rm unmounts lazily and removes the directory', () => {
    const { kernel, engine, host } = setup();
    run(engine, 'c1');
    ok(append(exec(engine, 'c1'), '/dev/shm/kept', 10));
    expect(engine.stop('c1')).toEqual(OK);
    expect(hostMounts(kernel)).toContain(SHM_OF('c1'));
    expect(engine.start('c1')).toEqual(OK);
    expect(ok(exec(engine, 'c1').stat('/dev/shm/kept')).size).toBe(10);
    expect(engine.rm('c1', { force: true })).toEqual(OK);
    expect(hostMounts(kernel)).not.toContain(SHM_OF('c1'));
    expect(exists(host, '/var/lib/isulad/engines/lcr/c1')).toBe(false);
  });

  it('mounts the tmpfs again at start when something took it away', () => {
    const { kernel, engine, host } = setup();
    expect(engine.create('c1', { shmSize: '8k' })).toEqual(OK);
    ok(host.umount(SHM_OF('c1')));
    expect(engine.start('c1')).toEqual(OK);
    expect(hostMounts(kernel)).toContain(SHM_OF('c1'));
    expect(ok(exec(engine, 'c1').statfs('/dev/shm')).blocks).toBe(2);
  });

  it('unmounts its tmpfs again when a later create step fails', () => {
    const { kernel, engine, host, logs } = setup();
    ok(host.mkdir('/file-parent', 0o755));
    ok(append(host, '/file-parent/f', 1));
    // A host channel under a regular file passes the client and fails in the daemon.
    expect(engine.create('c1', { hostChannel: '/file-parent/f/chan:/ipc::' })).toEqual(FAILED_CREATE);
    expect(logs).toContain("Failed to create host path '/file-parent/f/chan'.");
    expect(hostMounts(kernel)).not.toContain(SHM_OF('c1'));
    expect(exists(host, '/var/lib/isulad/engines/lcr/c1')).toBe(false);
  });

  it('isolates two containers: each has its own System V objects and its own /dev/shm', () => {
    const { engine, host } = setup();
    run(engine, 'a1');
    run(engine, 'b1', { ipc: 'shareable' });
    const a = exec(engine, 'a1');
    const b = exec(engine, 'b1');
    makeObjects(a);
    ok(append(a, '/dev/shm/a-file', 1));
    expect(findObjects(a)).toEqual(SEEN);
    expect(findObjects(b)).toEqual(UNSEEN);
    expect(findObjects(host)).toEqual(UNSEEN);
    expect(exists(b, '/dev/shm/a-file')).toBe(false);
    expect(exists(host, `${SHM_OF('a1')}/a-file`)).toBe(true);
  });

  it('puts a host channel under /dev/shm on top of the shm tmpfs, as the runtime mounts in path order', () => {
    const { engine, host } = setup();
    run(engine, 'c1', { hostChannel: '/chan:/dev/shm/chan::8k' });
    const p = exec(engine, 'c1');
    ok(append(p, '/dev/shm/chan/f', 1));
    expect(exists(host, '/chan/f')).toBe(true);
    expect(ok(p.statfs('/dev/shm/chan')).blocks).toBe(2);
    expect(ok(p.statfs('/dev/shm')).blocks).toBe((64 * MiB) / PAGE);
  });
});

describe('--ipc none', () => {
  it('has its own IPC namespace and no /dev/shm at all', () => {
    const { kernel, engine, host } = setup();
    run(engine, 'n1', { ipc: 'none' });
    const p = exec(engine, 'n1');
    expect(exists(p, '/dev/shm')).toBe(false);
    makeObjects(host);
    expect(findObjects(p)).toEqual(UNSEEN);
    expect(hostMounts(kernel).some((m) => m.includes('/n1/'))).toBe(false);
    expect(engine.inspect('n1')?.ipcMode).toBe('none');
  });
});

describe('--ipc host', () => {
  it('fails in the daemon when the host has no /dev/shm, with only a log line', () => {
    const { engine, logs } = setup();
    expect(engine.create('h1', { ipc: 'host' })).toEqual(FAILED_CREATE);
    expect(engine.run('h1', { ipc: 'host' })).toEqual({ exitStatus: 125, stderr: [ENGINE_MESSAGES.execFailed] });
    expect(logs).toContain('/dev/shm is not mounted, but must be for --ipc=host');
    expect(engine.names()).toEqual([]);
  });

  it("shares the host's System V objects and binds the host's /dev/shm; no tmpfs of its own", () => {
    const { kernel, engine, host } = setup();
    hostDevShm(host);
    makeObjects(host);
    ok(append(host, '/dev/shm/from-host', 3));
    run(engine, 'h1', { ipc: 'host' });
    const p = exec(engine, 'h1');
    expect(p.ipcNamespace).toBe(kernel.initialIpcNamespace);
    expect(findObjects(p)).toEqual(SEEN);
    expect(ok(p.stat('/dev/shm/from-host')).size).toBe(3);
    ok(append(p, '/dev/shm/from-container', 1));
    expect(exists(host, '/dev/shm/from-container')).toBe(true);
    expect(hostMounts(kernel)).not.toContain(SHM_OF('h1'));
    // rm leaves the host's /dev/shm alone.
    expect(engine.rm('h1', { force: true })).toEqual(OK);
    expect(exists(host, '/dev/shm/from-container')).toBe(true);
  });
});

describe('--ipc container:NAME', () => {
  it('fails in the daemon when NAME does not exist, with only a log line', () => {
    const { kernel, engine, logs } = setup();
    expect(engine.create('j1', { ipc: 'container:nobody' })).toEqual(FAILED_CREATE);
    expect(engine.run('j1', { ipc: 'container:' })).toEqual({ exitStatus: 125, stderr: [ENGINE_MESSAGES.execFailed] });
    expect(logs).toEqual(expect.arrayContaining(['Invalid share path: container:nobody', 'Invalid share path: container:']));
    expect(engine.names()).toEqual([]);
    expect(hostMounts(kernel).filter((m) => m.includes('/j1/'))).toEqual([]);
  });

  it('creates against a donor that is not running, and refuses to start until it is', () => {
    const { engine } = setup();
    expect(engine.create('web')).toEqual(OK);
    expect(engine.create('j1', { ipc: 'container:web' })).toEqual(OK);
    const refused = ENGINE_MESSAGES.joinNotRunning('web');
    expect(refused).toBe('Error response from daemon: Can not join namespace of a non running container web');
    expect(engine.start('j1')).toEqual({ exitStatus: 1, stderr: [refused] });
    expect(engine.run('j2', { ipc: 'container:web' })).toEqual({ exitStatus: 125, stderr: [refused] });
    expect(engine.inspect('j1')?.state).toBe('created');
    expect(engine.start('web')).toEqual(OK);
    expect(engine.start('j1')).toEqual(OK);
  });

  it("sees the donor's System V objects and /dev/shm files, both ways; a third container sees neither", () => {
    const { engine } = setup();
    run(engine, 'web', { shmSize: '1M' });
    run(engine, 'j1', { ipc: 'container:web' });
    run(engine, 'other');
    const donor = exec(engine, 'web');
    const joiner = exec(engine, 'j1');
    makeObjects(donor);
    expect(findObjects(joiner)).toEqual(SEEN);
    expect(joiner.ipcNamespace).toBe(donor.ipcNamespace);
    ok(append(donor, '/dev/shm/d', 1));
    ok(append(joiner, '/dev/shm/j', 2));
    expect(exists(joiner, '/dev/shm/d')).toBe(true);
    expect(ok(donor.stat('/dev/shm/j')).size).toBe(2);
    // The joiner's /dev/shm is the donor's tmpfs, size and all.
    expect(ok(joiner.statfs('/dev/shm')).blocks).toBe(256);
    expect(engine.inspect('j1')?.ipcMode).toBe('container:web');
    const third = exec(engine, 'other');
    expect(findObjects(third)).toEqual(UNSEEN);
    expect(exists(third, '/dev/shm/d')).toBe(false);
  });

  it("charges a joiner's pages in the shared /dev/shm to the joiner, not to the donor", () => {
    const { engine } = setup();
    run(engine, 'web');
    run(engine, 'j1', { ipc: 'container:web' });
    ok(append(exec(engine, 'j1'), '/dev/shm/j', 6 * PAGE));
    expect(engine.memoryCgroup('j1')!.usagePages).toBe(6);
    expect(engine.memoryCgroup('web')!.usagePages).toBe(0);
  });

  it('joins transitively: a container that joins a joiner ends up in the first donor', () => {
    const { engine } = setup();
    run(engine, 'web');
    run(engine, 'j1', { ipc: 'container:web' });
    run(engine, 'j2', { ipc: 'container:j1' });
    makeObjects(exec(engine, 'web'));
    expect(findObjects(exec(engine, 'j2'))).toEqual(SEEN);
    ok(append(exec(engine, 'j2'), '/dev/shm/deep', 1));
    expect(exists(exec(engine, 'web'), '/dev/shm/deep')).toBe(true);
  });

  it("joins a host-mode container's namespace: the host's", () => {
    const { kernel, engine, host } = setup();
    hostDevShm(host);
    run(engine, 'h1', { ipc: 'host' });
    run(engine, 'j1', { ipc: 'container:h1' });
    const p = exec(engine, 'j1');
    expect(p.ipcNamespace).toBe(kernel.initialIpcNamespace);
    ok(append(p, '/dev/shm/x', 1));
    expect(exists(host, '/dev/shm/x')).toBe(true);
  });

  it('fails in the daemon against a none container: there is no /dev/shm mount to size', () => {
    const { engine, logs } = setup();
    run(engine, 'n1', { ipc: 'none' });
    expect(engine.create('j1', { ipc: 'container:n1' })).toEqual(FAILED_CREATE);
    expect(logs).toContain('/dev/shm mount point not exist');
  });

  it('lets the donor be removed: the joiner keeps its IPC namespace and /dev/shm files, but cannot start again', () => {
    const { kernel, engine, logs } = setup();
    run(engine, 'web');
    run(engine, 'j1', { ipc: 'container:web' });
    const donor = exec(engine, 'web');
    makeObjects(donor);
    ok(append(donor, '/dev/shm/kept', 7));
    expect(engine.rm('web', { force: true })).toEqual(OK);
    expect(hostMounts(kernel)).not.toContain(SHM_OF('web'));
    const joiner = exec(engine, 'j1');
    expect(findObjects(joiner)).toEqual(SEEN);
    expect(ok(joiner.stat('/dev/shm/kept')).size).toBe(7);
    expect(engine.stop('j1')).toEqual(OK);
    expect(engine.start('j1')).toEqual(FAILED_CREATE);
    expect(logs).toContain('Invalid share path: container:web');
  });

  it('stays in the old namespace when the donor restarts into a new one; /dev/shm files stay shared', () => {
    const { engine } = setup();
    run(engine, 'web');
    run(engine, 'j1', { ipc: 'container:web' });
    expect(engine.restart('web')).toEqual(OK);
    const donor = exec(engine, 'web');
    const joiner = exec(engine, 'j1');
    makeObjects(donor);
    expect(findObjects(joiner)).toEqual(UNSEEN);
    ok(append(donor, '/dev/shm/after-restart', 1));
    expect(exists(joiner, '/dev/shm/after-restart')).toBe(true);
  });

  it('leaves the namespace to die with its last process', () => {
    const { kernel, engine } = setup();
    run(engine, 'web');
    run(engine, 'j1', { ipc: 'container:web' });
    const ns = exec(engine, 'web').ipcNamespace;
    engine.stop('web');
    expect(kernel.ipcNamespaces()).toContain(ns);
    engine.stop('j1');
    expect(kernel.ipcNamespaces()).not.toContain(ns);
  });
});

describe('reading a joined /dev/shm file', () => {
  it('reads back what the donor wrote', () => {
    const { engine } = setup();
    run(engine, 'web');
    run(engine, 'j1', { ipc: 'container:web' });
    const donor = exec(engine, 'web');
    const fd = ok(donor.open('/dev/shm/msg', O_CREAT | O_WRONLY, 0o644));
    ok(donor.writeFd(fd, new TextEncoder().encode('hello')));
    const joiner = exec(engine, 'j1');
    const rfd = ok(joiner.open('/dev/shm/msg', O_RDONLY));
    expect(new TextDecoder().decode(ok(joiner.readFd(rfd, 16)))).toBe('hello');
  });
});
