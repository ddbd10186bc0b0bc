import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import { MAP_SHARED, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, ST_NODEV, ST_NOEXEC, ST_NOSUID, ST_RDONLY } from '../../src/abi/fs.js';
import type { CommandResult } from '../../src/hostchannel/engine.js';
import { ContainerEngine, ENGINE_MESSAGES } from '../../src/hostchannel/engine.js';
import { shellStatus } from '../../src/hostchannel/shell.js';
import { ContainerConfigCodec } from '../../src/hostchannel/records.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { errno, ok } from '../support/either.js';

const PAGE = PAGE_SIZE;
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function setup(memTotalBytes = 1 << 30): { kernel: Kernel; engine: ContainerEngine; host: Process; logs: string[] } {
  const kernel = new Kernel({ memTotalBytes });
  const logs: string[] = [];
  const engine = new ContainerEngine(kernel, { log: (l) => logs.push(l) });
  return { kernel, engine, host: kernel.spawn(), logs };
}

function exec(engine: ContainerEngine, name: string): Process {
  const p = engine.exec(name);
  if (E.isLeft(p)) throw new Error(`exec ${name}: ${p.left.stderr.join('; ')}`);
  return p.right;
}

function writeFile(p: Process, path: string, data: Uint8Array): E.Either<string, number> {
  const fd = p.open(path, O_CREAT | O_WRONLY, 0o644);
  if (E.isLeft(fd)) return E.left(fd.left.errno);
  const n = p.writeFd(fd.right, data);
  if (!p.exited) ok(p.close(fd.right));
  return E.isLeft(n) ? E.left(n.left.errno) : E.right(n.right);
}

function readFile(p: Process, path: string, count = 1 << 20): string {
  const fd = ok(p.open(path, O_RDONLY));
  const data = ok(p.readFd(fd, count));
  ok(p.close(fd));
  return str(data);
}

function mountpoints(kernel: Kernel): string[] {
  return kernel.initialMountNamespace.mounts().map((m) => m.mountpoint);
}

const OK: CommandResult = { exitStatus: 0, stderr: [] };

describe('create', () => {
  it('makes the host directory like mkdir -p, each new component mode 0700, and mounts nothing', () => {
    const { kernel, engine, host } = setup();
    expect(engine.create('c1', { hostChannel: '/srv/chan/a:/dev/shm/a::' })).toEqual(OK);
    for (const dir of ['/srv', '/srv/chan', '/srv/chan/a']) expect(ok(host.stat(dir)).mode & 0o7777).toBe(0o700);
    expect(mountpoints(kernel)).not.toContain('/srv/chan/a');
    expect(ok(host.stat('/srv/chan/a')).nlink).toBe(2);
    expect(engine.inspect('c1')).toEqual({
      name: 'c1',
      state: 'created',
      hostChannel: { pathOnHost: '/srv/chan/a', pathInContainer: '/dev/shm/a', permissions: 'rw', size: 67108864n },
      shmSize: 67108864n,
    });
  });

  it('keeps existing parents as they are', () => {
    const { engine, host } = setup();
    ok(host.mkdir('/srv', 0o755));
    engine.create('c1', { hostChannel: '/srv/a:/a::' });
    expect(ok(host.stat('/srv')).mode & 0o7777).toBe(0o755);
  });

  it('refuses an existing directory with the client error: create exits 1, run 125', () => {
    const { engine, host } = setup();
    ok(host.mkdir('/chan'));
    expect(engine.create('c1', { hostChannel: '/chan/:/a::' })).toEqual({ exitStatus: 1, stderr: ["Host path '/chan' already exists"] });
    expect(engine.run('c1', { hostChannel: '/chan/:/a::' })).toEqual({ exitStatus: 125, stderr: ["Host path '/chan' already exists"] });
    expect(engine.names()).toEqual([]);
  });

  it('a regular file at the host path passes the client and fails in the daemon with the generic error', () => {
    const { engine, host, logs } = setup();
    ok(writeFile(host, '/chan', text('x')));
    expect(engine.create('c1', { hostChannel: '/chan:/a::' })).toEqual({ exitStatus: 1, stderr: ['Execute operation failed'] });
    expect(engine.run('c2', { hostChannel: '/chan/sub:/a::' })).toEqual({ exitStatus: 125, stderr: ['Execute operation failed'] });
    expect(logs).toContain("Failed to create host path '/chan'.");
    expect(engine.names()).toEqual([]);
    expect(readFile(host, '/chan')).toBe('x');
  });

  it('a path too long to clean fails with no stderr at all', () => {
    const { engine } = setup();
    expect(engine.create('c1', { hostChannel: `/${'a'.repeat(4095)}:/a::` })).toEqual({ exitStatus: 1, stderr: [] });
    expect(engine.run('c1', { hostChannel: `/${'a'.repeat(4095)}:/a::` })).toEqual({ exitStatus: 125, stderr: [] });
  });

  it('two live containers cannot share a host path; after rm it is free again', () => {
    const { engine } = setup();
    expect(engine.create('c1', { hostChannel: '/chan:/a::' })).toEqual(OK);
    expect(engine.create('c2', { hostChannel: '/chan:/b::' })).toEqual({ exitStatus: 1, stderr: ["Host path '/chan' already exists"] });
    expect(engine.rm('c1')).toEqual(OK);
    expect(engine.create('c2', { hostChannel: '/chan:/b::' })).toEqual(OK);
  });

  it('size checks use the kernel meminfo: MemTotal from RAM, MemAvailable from free frames', () => {
    const { engine } = setup(64 * PAGE);
    expect(engine.create('c1', { hostChannel: '/chan:/a::129k' })).toEqual({
      exitStatus: 1,
      stderr: ['Required host channel size 132096 is larger than half of total memory 262144'],
    });
    expect(engine.create('c1', { hostChannel: '/chan:/a::128k' })).toEqual(OK);
  });

  it('names: the client option is checked first, then the name', () => {
    const { engine } = setup();
    expect(engine.create('c1')).toEqual(OK);
    expect(engine.create('c1', { hostChannel: 'rel:/a::' }).stderr).toEqual(['Host channel host path should be absolute: rel']);
    expect(engine.create('c1')).toEqual({ exitStatus: 1, stderr: [ENGINE_MESSAGES.nameInUse('c1')] });
    expect(engine.run('c1')).toEqual({ exitStatus: 125, stderr: [ENGINE_MESSAGES.nameInUse('c1')] });
    expect(engine.create('x')).toEqual({ exitStatus: 1, stderr: [ENGINE_MESSAGES.invalidName('x')] });
    expect(engine.create('a/b').stderr).toEqual(['Error response from daemon: Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed.']);
  });
});

describe('start', () => {
  it('mounts a fresh tmpfs of the channel size, mode 1777, nosuid/nodev/noexec', () => {
    const { kernel, engine, host } = setup();
    engine.create('c1', { hostChannel: '/chan:/dev/shm/chan::4097' });
    expect(engine.start('c1')).toEqual(OK);
    expect(mountpoints(kernel)).toContain('/chan');
    const st = ok(host.statfs('/chan'));
    expect([st.blocks, st.bavail, st.flags]).toEqual([2, 2, ST_NOSUID | ST_NODEV | ST_NOEXEC]);
    expect(ok(host.stat('/chan')).mode & 0o7777).toBe(0o1777);
    expect(engine.inspect('c1')?.state).toBe('running');
  });

  it('host and container processes share the files, both ways', () => {
    const { engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/dev/shm/chan::' });
    const inside = exec(engine, 'c1');
    ok(writeFile(host, '/chan/from-host', text('hello')));
    expect(readFile(inside, '/dev/shm/chan/from-host')).toBe('hello');
    ok(writeFile(inside, '/dev/shm/chan/from-box', text('hi')));
    expect(readFile(host, '/chan/from-box')).toBe('hi');
    // The container does not see the host's tree: its / is its own root.
    expect(errno(inside.stat('/chan'))).toBe('ENOENT');
  });

  it('a shared mapping of a channel file shows the same bytes on both sides', () => {
    const { engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::' });
    const inside = exec(engine, 'c1');
    const hfd = ok(host.open('/chan/ring', O_CREAT | O_RDWR, 0o666));
    ok(host.ftruncate(hfd, PAGE));
    const ha = ok(host.mmap(hfd, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED));
    const cfd = ok(inside.open('/ipc/ring', O_RDWR));
    const ca = ok(inside.mmap(cfd, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(inside.write(ca + 100, text('ping')));
    expect(str(ok(host.read(ha + 100, 4)))).toBe('ping');
    ok(host.exit());
    ok(inside.exit());
  });

  it('the container view is read-only when the mode has the piece ro, whatever else it has', () => {
    const { engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc:rshared,ro,z:' });
    const inside = exec(engine, 'c1');
    ok(writeFile(host, '/chan/f', text('data')));
    expect(readFile(inside, '/ipc/f')).toBe('data');
    expect(writeFile(inside, '/ipc/g', text('x'))).toEqual(E.left('EROFS'));
    expect(errno(inside.open('/ipc/f', O_WRONLY))).toBe('EROFS');
    expect(errno(inside.unlink('/ipc/f'))).toBe('EROFS');
    expect(errno(inside.mkdir('/ipc/d'))).toBe('EROFS');
    expect(ok(inside.statfs('/ipc')).flags).toBe(ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC);
    expect(ok(host.statfs('/chan')).flags & ST_RDONLY).toBe(0);
  });

  it('the container gets its own IPC namespace', () => {
    const { engine, host } = setup();
    engine.run('c1');
    const inside = exec(engine, 'c1');
    expect(inside.ipcNamespace).not.toBe(host.ipcNamespace);
    expect(exec(engine, 'c1').ipcNamespace).toBe(inside.ipcNamespace);
    ok(inside.shmget(42, PAGE, IPC_CREAT | 0o600));
    expect(errno(host.shmget(42, PAGE, 0))).toBe('ENOENT');
  });

  it('starting a running container does nothing; unknown names get the daemon error', () => {
    const { engine } = setup();
    engine.run('c1');
    const init = engine.initProcess('c1');
    expect(engine.start('c1')).toEqual(OK);
    expect(engine.initProcess('c1')).toBe(init);
    for (const r of [engine.start('nope'), engine.stop('nope'), engine.restart('nope'), engine.rm('nope')]) {
      expect(r).toEqual({ exitStatus: 1, stderr: ['Error response from daemon: No such container:nope'] });
    }
    const e = engine.exec('nope');
    expect(E.isLeft(e) && e.left.stderr).toEqual(['Error response from daemon: No such container:nope']);
  });

  it('a failed mount (the host directory was removed) fails the start with the generic error', () => {
    const { engine, host, logs } = setup();
    engine.create('c1', { hostChannel: '/chan:/a::' });
    ok(host.rmdir('/chan'));
    expect(engine.start('c1')).toEqual({ exitStatus: 1, stderr: ['Execute operation failed'] });
    expect(logs).toEqual(["Failed to mount host path '/chan'", 'Failed to mount host channel']);
    expect(engine.inspect('c1')?.state).toBe('created');
  });
});

describe('stop and restart', () => {
  it('stop ends every container process and leaves the channel and its data in place', () => {
    const { kernel, engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::' });
    const a = exec(engine, 'c1');
    const b = ok(a.fork());
    ok(writeFile(a, '/ipc/f', text('kept')));
    expect(engine.stop('c1')).toEqual(OK);
    expect([a.exited, b.exited, engine.initProcess('c1')]).toEqual([true, true, undefined]);
    expect(engine.inspect('c1')?.state).toBe('exited');
    expect(mountpoints(kernel)).toContain('/chan');
    expect(readFile(host, '/chan/f')).toBe('kept');
    ok(writeFile(host, '/chan/g', text('while stopped')));
    expect(engine.stop('c1')).toEqual(OK);
    const e = engine.exec('c1');
    expect(E.isLeft(e) && e.left).toEqual({ exitStatus: 1, stderr: ['Error response from daemon: Container c1 is not running'] });
  });

  it('start after stop, and restart, reuse the mounted tmpfs: no second mount, the data survives', () => {
    const { kernel, engine } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::' });
    ok(writeFile(exec(engine, 'c1'), '/ipc/f', text('one')));
    engine.stop('c1');
    expect(engine.start('c1')).toEqual(OK);
    expect(readFile(exec(engine, 'c1'), '/ipc/f')).toBe('one');
    const init = engine.initProcess('c1');
    expect(engine.restart('c1')).toEqual(OK);
    expect(init?.exited).toBe(true);
    expect(readFile(exec(engine, 'c1'), '/ipc/f')).toBe('one');
    expect(mountpoints(kernel).filter((m) => m === '/chan')).toHaveLength(1);
  });

  it('restart of a created container starts it', () => {
    const { engine } = setup();
    engine.create('c1');
    expect(engine.restart('c1')).toEqual(OK);
    expect(engine.inspect('c1')?.state).toBe('running');
  });

  it('when init exits the container exits, taking its other processes along', () => {
    const { engine } = setup();
    engine.run('c1');
    const worker = exec(engine, 'c1');
    ok(engine.initProcess('c1')!.exit());
    expect(engine.inspect('c1')?.state).toBe('exited');
    expect(worker.exited).toBe(true);
  });
});

describe('rm', () => {
  it('refuses a running container without -f; -f stops it first', () => {
    const { engine } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::' });
    expect(engine.rm('c1')).toEqual({
      exitStatus: 1,
      stderr: ['Error response from daemon: You cannot remove a running container c1. Stop the container before attempting removal or use -f'],
    });
    expect(engine.rm('c1', { force: true })).toEqual(OK);
    expect(engine.names()).toEqual([]);
  });

  it('lazily unmounts and removes the host path; a host process with the file open keeps it until close', () => {
    const { kernel, engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::' });
    const fd = ok(host.open('/chan/f', O_CREAT | O_RDWR, 0o600));
    ok(host.writeFd(fd, new Uint8Array(3 * PAGE).fill(1)));
    engine.stop('c1');
    expect(engine.rm('c1')).toEqual(OK);
    expect(mountpoints(kernel)).not.toContain('/chan');
    expect(errno(host.stat('/chan'))).toBe('ENOENT');
    expect(ok(host.pread(fd, 2, PAGE)).every((b) => b === 1)).toBe(true);
    expect(ok(host.pwrite(fd, text('still'), 0))).toBe(5);
    expect(kernel.memoryFile.allocatedFrames).toBe(3);
    ok(host.close(fd));
    expect(kernel.memoryFile.allocatedFrames).toBe(0);
  });

  it('removes what the host wrote into the directory before the first start, too', () => {
    const { kernel, engine, host } = setup();
    engine.create('c1', { hostChannel: '/chan:/ipc::' });
    ok(writeFile(host, '/chan/early', text('under the mount')));
    engine.start('c1');
    expect(errno(host.stat('/chan/early'))).toBe('ENOENT');
    engine.rm('c1', { force: true });
    expect(errno(host.stat('/chan'))).toBe('ENOENT');
    expect(kernel.memoryFile.allocatedFrames).toBe(0);
  });

  it('removes a container that never started, and its host directory', () => {
    const { engine, host } = setup();
    engine.create('c1', { hostChannel: '/srv/chan:/ipc::' });
    expect(engine.rm('c1')).toEqual(OK);
    expect(errno(host.stat('/srv/chan'))).toBe('ENOENT');
    // mkdir -p's parents stay, as in iSulad.
    expect(ok(host.stat('/srv')).mode & 0o7777).toBe(0o700);
  });

  it('only logs what it cannot remove, and goes on', () => {
    const { kernel, engine, host, logs } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::' });
    ok(writeFile(host, '/chan/f', text('x')));
    // Someone stacks a second tmpfs on the channel: the lazy unmount takes
    // that one, and the channel below keeps /chan a mount point.
    ok(host.mountTmpfs(ok(kernel.newTmpfs({ sizeBytes: PAGE })), '/chan'));
    expect(engine.rm('c1', { force: true })).toEqual(OK);
    expect(logs).toEqual(["Failed to delete path '/chan': /chan is a mount point"]);
    expect(engine.names()).toEqual([]);
    // rm -rf still emptied the channel it walked into.
    expect(errno(host.stat('/chan/f'))).toBe('ENOENT');
  });
});

describe('run --rm', () => {
  it('removes the container and its host path when the container exits', () => {
    const { kernel, engine, host } = setup();
    expect(engine.run('c1', { rm: true, hostChannel: '/chan:/ipc::' })).toEqual(OK);
    ok(writeFile(exec(engine, 'c1'), '/ipc/f', new Uint8Array(2 * PAGE)));
    ok(engine.initProcess('c1')!.exit());
    expect(engine.names()).toEqual([]);
    expect(errno(host.stat('/chan'))).toBe('ENOENT');
    expect(kernel.memoryFile.allocatedFrames).toBe(0);
  });

  it('stop of a --rm container removes it too', () => {
    const { engine } = setup();
    engine.run('c1', { rm: true });
    expect(engine.stop('c1')).toEqual(OK);
    expect(engine.inspect('c1')).toBeUndefined();
  });
});

describe('memory cgroup of a container', () => {
  const MiB = 1024n * 1024n;

  it('a container write past the limit is an OOM kill: 137, Killed, the partial file stays charged', () => {
    const { engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::32M', memoryLimit: 16n * MiB });
    const cg = engine.memoryCgroup('c1')!;
    const dd = exec(engine, 'c1');
    expect(writeFile(dd, '/ipc/a', new Uint8Array(8 * 1024 * 1024))).toEqual(E.right(8 * 1024 * 1024));
    expect(cg.usageBytes).toBe(8n * MiB);
    const dd2 = exec(engine, 'c1');
    expect(writeFile(dd2, '/ipc/b', new Uint8Array(12 * 1024 * 1024))).toEqual(E.left('ENOMEM'));
    expect(shellStatus(dd2)).toEqual({ exitStatus: 137, stderr: ['Killed'] });
    expect(ok(host.stat('/chan/b')).size).toBe(8 * 1024 * 1024);
    expect(cg.usageBytes).toBe(16n * MiB);
    // The cgroup ran out, not the tmpfs: half of it is still free.
    expect(ok(host.statfs('/chan')).bavail).toBe(4096);
    // The container lives on: only the writer died.
    expect(engine.inspect('c1')?.state).toBe('running');
    // Deleting the files (here from the host) drops the charge.
    ok(host.unlink('/chan/a'));
    ok(host.unlink('/chan/b'));
    expect(cg.usagePages).toBe(0);
  });

  it('host writes are never charged to the container', () => {
    const { kernel, engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::32M', memoryLimit: 4n * MiB });
    expect(writeFile(host, '/chan/big', new Uint8Array(8 * 1024 * 1024))).toEqual(E.right(8 * 1024 * 1024));
    expect(engine.memoryCgroup('c1')!.usagePages).toBe(0);
    expect(kernel.rootMemoryCgroup.chargedPages).toBe(2048);
  });

  it('a container page fault past the limit is an OOM kill too', () => {
    const { engine } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::1M', memoryLimit: BigInt(2 * PAGE) });
    const p = exec(engine, 'c1');
    const fd = ok(p.open('/ipc/m', O_CREAT | O_RDWR, 0o600));
    ok(p.ftruncate(fd, 4 * PAGE));
    const a = ok(p.mmap(fd, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.fill(a, 2 * PAGE, 7));
    p.fill(a + 2 * PAGE, 1, 7);
    expect(shellStatus(p)).toEqual({ exitStatus: 137, stderr: ['Killed'] });
    expect(engine.memoryCgroup('c1')!.usagePages).toBe(2);
  });

  it('an OOM-killed init ends the container; its pages stay charged to the old cgroup after a restart', () => {
    const { engine, host } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc::1M', memoryLimit: BigInt(2 * PAGE) });
    const init = engine.initProcess('c1')!;
    expect(writeFile(init, '/ipc/x', new Uint8Array(3 * PAGE))).toEqual(E.left('ENOMEM'));
    expect(engine.inspect('c1')?.state).toBe('exited');
    const old = engine.memoryCgroup('c1')!;
    expect(old.usagePages).toBe(2);
    engine.start('c1');
    const fresh = engine.memoryCgroup('c1')!;
    expect(fresh).not.toBe(old);
    expect(writeFile(exec(engine, 'c1'), '/ipc/y', new Uint8Array(2 * PAGE))).toEqual(E.right(2 * PAGE));
    expect([old.usagePages, fresh.usagePages]).toEqual([2, 2]);
    ok(host.unlink('/chan/x'));
    expect(old.usagePages).toBe(0);
  });
});

describe('records', () => {
  it('inspect gives a record the codec encodes, with the limit and the state', () => {
    const { engine } = setup();
    engine.run('c1', { hostChannel: '/chan:/ipc:ro:8k', memoryLimit: 1n << 24n });
    const record = engine.inspect('c1')!;
    expect(ContainerConfigCodec.encode(record)).toEqual({
      Name: 'c1',
      State: 'running',
      HostConfig: { HostChannel: { PathOnHost: '/chan', PathInContainer: '/ipc', Permissions: 'ro', Size: 8192 }, Memory: 16777216, ShmSize: 67108864 },
    });
  });
});

describe('teardown', () => {
  it('leaves zero frames once every container is removed and every process has exited', () => {
    const { kernel, engine, host } = setup();
    engine.run('a1', { hostChannel: '/a:/ipc::1M', memoryLimit: 1n << 20n });
    engine.run('b1', { hostChannel: '/b:/ipc:ro:' });
    ok(writeFile(exec(engine, 'a1'), '/ipc/f', new Uint8Array(5 * PAGE)));
    ok(writeFile(host, '/b/f', new Uint8Array(3 * PAGE)));
    const reader = exec(engine, 'b1');
    const fd = ok(reader.open('/ipc/f', O_RDONLY));
    engine.rm('a1', { force: true });
    engine.rm('b1', { force: true });
    expect(reader.exited).toBe(true);
    expect(fd).toBeGreaterThanOrEqual(0);
    ok(host.exit());
    expect(kernel.memoryFile.allocatedFrames).toBe(0);
  });
});
