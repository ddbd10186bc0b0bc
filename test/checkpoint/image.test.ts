/**
 * checkpoint/restore of hand-built kernels: every kind of state the image
 * carries comes back, shared objects stay shared, untouched memory stays
 * untouched, and damaged or foreign images are refused with a message that
 * says where, leaving the running kernel alone.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_RMID, IPC_STAT, PROT_READ, SHM_LOCK, SHM_NORESERVE } from '../../src/abi/constants.js';
import { MAP_SHARED, O_APPEND, O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkpoint, FORMAT_VERSION, restore, restoreWithEngine } from '../../src/checkpoint/index.js';
import type { CheckpointError, RestoredMachine } from '../../src/checkpoint/index.js';
import { ContainerEngine } from '../../src/hostchannel/engine.js';
import { MemoryCgroup } from '../../src/memcg/cgroup.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

function image(kernel: Kernel): Uint8Array {
  const img = checkpoint(kernel);
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

function restored(img: Uint8Array, options = {}): Kernel {
  const k = restore(img, options);
  if (E.isLeft(k)) throw new Error(k.left.message);
  return k.right;
}

function failure(img: Uint8Array): CheckpointError {
  const k = restore(img);
  if (E.isRight(k)) throw new Error('the damaged image was accepted');
  return k.left;
}

const byPid = (k: Kernel, pid: number): Process => {
  const p = k.processes().find((q) => q.pid === pid);
  if (p === undefined) throw new Error(`no process ${pid}`);
  return p;
};

/** A kernel holding some of everything the image carries. */
function busyKernel(): { kernel: Kernel; addrs: Record<string, number>; pids: Record<string, number> } {
  const kernel = new Kernel({ clock: () => 1_700_000_000, memTotalBytes: 2 ** 30, chunkBytes: 2 ** 16 });
  const a = kernel.spawn({ uid: 1000, gid: 1000 });
  const root = kernel.spawn();
  const ns = kernel.newIpcNamespace();
  const other = kernel.spawn({ ipcNamespace: ns });
  const id = ok(a.shmget(0x1234, 3 * 4096, IPC_CREAT | 0o666));
  const shared = ok(a.shmat(id, 0, 0));
  ok(a.write(shared + 4096, text('shared page')));
  const child = ok(a.fork());
  ok(a.mprotect(shared + 4096, 4096, PROT_READ)); // splits a's attachment into three pieces
  const doomed = ok(root.shmget(0x99, 4096, IPC_CREAT | 0o600));
  const doomedAt = ok(root.shmat(doomed, 0, 0));
  ok(root.write(doomedAt, text('pending')));
  ok(root.shmctl(doomed, IPC_RMID));
  ok(root.shmctl(doomed, SHM_LOCK));
  ok(other.shmget(0x1234, 4096, IPC_CREAT | 0o600)); // the same key, another namespace
  ok(root.writeSysctl('shm_next_id', 77n));
  ok(a.write(0x7fffffffe000 - 8, text('stack!'))); // the [stack]
  // Files: a tmpfs with a limit, a bind mount, a shared mapping, an unlinked open file, a cgroup.
  ok(root.mkdir('/data'));
  ok(root.mkdir('/view'));
  const sb = ok(kernel.newTmpfs({ sizeBytes: 64 * 4096, mode: 0o1777 }));
  ok(root.mountTmpfs(sb, '/data'));
  ok(root.bindMount('/data', '/view', { readonly: true }));
  const cg = new MemoryCgroup('/isulad/c1', 16n * 4096n);
  const writer = kernel.spawn({ uid: 1000, gid: 1000, memoryCharge: cg });
  const fd = ok(writer.open('/data/f', O_CREAT | O_RDWR | O_APPEND, 0o644));
  ok(writer.writeFd(fd, text('file contents')));
  const mapped = ok(writer.mmap(fd, 8192, PROT_READ, MAP_SHARED));
  const gone = ok(writer.open('/data/gone', O_CREAT | O_RDWR, 0o600));
  ok(writer.writeFd(gone, text('unlinked but open')));
  ok(writer.unlink('/data/gone'));
  const huge = ok(a.shmget(0, 2 ** 30, IPC_CREAT | 0o600 | SHM_NORESERVE)); // 1 GiB, never touched
  ok(a.shmat(huge, 0, 0));
  return { kernel, addrs: { shared, doomedAt, mapped, gone }, pids: { a: a.pid, root: root.pid, other: other.pid, child: child.pid, writer: writer.pid } };
}

describe('checkpoint and restore', () => {
  it('brings back segments, address spaces, files, mounts and cgroups', () => {
    const { kernel, addrs, pids } = busyKernel();
    const img = image(kernel);
    const k = restored(img, { clock: () => 1_700_000_000 });
    expect(k.processes().map((p) => p.pid)).toEqual(kernel.processes().map((p) => p.pid));
    for (const p of kernel.processes()) {
      const q = byPid(k, p.pid);
      expect(q.mm.vmas().map(({ start, end, offset, perms, maxPerms, writable }) => ({ start, end, offset, perms, maxPerms, writable }))).toEqual(
        p.mm.vmas().map(({ start, end, offset, perms, maxPerms, writable }) => ({ start, end, offset, perms, maxPerms, writable })),
      );
      expect(q.creds).toEqual(p.creds);
      expect(q.files.entries().map(([fd]) => fd)).toEqual(p.files.entries().map(([fd]) => fd));
    }
    const a = byPid(k, pids['a']!);
    expect(str(ok(a.read(addrs['shared']! + 4096, 11)))).toBe('shared page');
    expect(str(ok(a.read(0x7fffffffe000 - 8, 6)))).toBe('stack!');
    // One segment still: the child's write shows through the parent's attachment.
    ok(byPid(k, pids['child']!).write(addrs['shared']!, text('from child')));
    expect(str(ok(a.read(addrs['shared']!, 10)))).toBe('from child');
    expect(ok(a.shmctl(0, IPC_STAT)).ds).toEqual(ok(byPid(kernel, pids['a']!).shmctl(0, IPC_STAT)).ds);
    // The doomed segment: still attached, SHM_DEST|SHM_LOCKED, locked memory charged.
    const root = byPid(k, pids['root']!);
    expect(str(ok(root.read(addrs['doomedAt']!, 7)))).toBe('pending');
    expect(k.lockedMemory.pages(0)).toBe(1n);
    ok(root.shmdt(addrs['doomedAt']!));
    expect(k.lockedMemory.pages(0)).toBe(0n);
    // Namespaces and limits.
    expect(k.initialIpcNamespace.limits).toEqual(kernel.initialIpcNamespace.limits);
    expect(ok(a.shmget(0x4444, 4096, IPC_CREAT))).toBe(ok(byPid(kernel, pids['a']!).shmget(0x4444, 4096, IPC_CREAT)));
    expect(ok(byPid(k, pids['other']!).shmget(0x1234, 0, 0))).toBe(ok(byPid(kernel, pids['other']!).shmget(0x1234, 0, 0)));
    // Files and mounts.
    const w = byPid(k, pids['writer']!);
    expect(str(ok(w.pread(0, 13, 0)))).toBe('file contents');
    expect(str(ok(w.read(addrs['mapped']!, 4)))).toBe('file');
    expect(str(ok(w.pread(1, 17, 0)))).toBe('unlinked but open');
    expect(ok(w.stat('/view/f'))).toEqual(ok(byPid(kernel, pids['writer']!).stat('/view/f')));
    expect(E.isLeft(w.open('/view/new', O_CREAT | O_RDWR))).toBe(true); // the bind is read-only
    expect(ok(w.statfs('/data'))).toEqual(ok(byPid(kernel, pids['writer']!).statfs('/data')));
    const cg = w.memoryCharge as MemoryCgroup;
    expect(cg).toBeInstanceOf(MemoryCgroup);
    expect(cg.usagePages).toBe(2);
    expect(cg.limitPages).toBe(16);
    // O_APPEND and the file position survive: the next write lands at the end.
    ok(w.writeFd(0, text('!')));
    expect(str(ok(w.pread(0, 14, 0)))).toBe('file contents!');
    // Everything is released as it would be on the original, given the same calls.
    ok(byPid(kernel, pids['child']!).write(addrs['shared']!, text('from child')));
    ok(byPid(kernel, pids['writer']!).writeFd(0, text('!')));
    for (const p of k.processes()) ok(p.exit());
    for (const p of kernel.processes()) ok(p.exit());
    expect(k.memoryFile.allocatedFrames).toBe(kernel.memoryFile.allocatedFrames);
  });

  it('is byte-identical when re-imaged, and the image has no page for untouched memory', () => {
    const { kernel } = busyKernel();
    const img = image(kernel);
    const k = restored(img);
    expect(Buffer.compare(Buffer.from(image(k)), Buffer.from(img))).toBe(0);
    expect(k.memoryFile.allocatedFrames).toBe(kernel.memoryFile.allocatedFrames);
    // A 1 GiB segment nobody touched adds no page data.
    expect(img.length).toBeLessThan(64 * 1024);
  });

  it('does not change the kernel it checkpoints', () => {
    const { kernel, pids } = busyKernel();
    const before = image(kernel);
    image(kernel);
    expect(Buffer.compare(Buffer.from(image(kernel)), Buffer.from(before))).toBe(0);
    expect(ok(byPid(kernel, pids['a']!).fork()).pid).toBe(ok(byPid(restored(before), pids['a']!).fork()).pid);
  });

  it('carries the default pid allocator on, and asks for an injected one', () => {
    const k = new Kernel();
    k.spawn();
    k.spawn();
    expect(restored(image(k)).spawn().pid).toBe(k.spawn().pid);
    let next = 5;
    const injected = new Kernel({ allocatePid: () => next++ });
    injected.spawn();
    const img = image(injected);
    expect(failure(img).where).toBe('metadata.kernel.nextPid');
    expect(restored(img, { allocatePid: () => 42 }).spawn().pid).toBe(42);
  });
});

describe('restore of damaged and foreign images', () => {
  const { kernel } = busyKernel();
  const img = image(kernel);

  it('names the version of a foreign image', () => {
    const bad = img.slice();
    new DataView(bad.buffer).setUint32(8, FORMAT_VERSION + 1, true);
    const e = failure(bad);
    expect(e.where).toBe('header.version');
    expect(e.message).toMatch(/version 4.*reads versions 1, 2, 3/);
  });

  it('refuses something that is not an image', () => {
    expect(failure(text('#!/bin/sh\necho hello, this is not an image at all\n')).where).toBe('header.magic');
    expect(failure(new Uint8Array(3)).where).toBe('header');
  });

  it('says when the image is truncated or has trailing bytes', () => {
    expect(failure(img.subarray(0, img.length - 1)).message).toMatch(/truncated/);
    const longer = new Uint8Array(img.length + 4);
    longer.set(img);
    expect(failure(longer).message).toMatch(/trailing/);
  });

  it('says which section a flipped byte damaged', () => {
    const inMeta = img.slice();
    inMeta[60] = (inMeta[60] as number) ^ 0x01;
    expect(failure(inMeta).where).toBe('metadata');
    const inPages = img.slice();
    inPages[img.length - 100] = (inPages[img.length - 100] as number) ^ 0x80;
    expect(failure(inPages).where).toBe('pages');
  });

  it('leaves the running kernel alone', () => {
    const frames = kernel.memoryFile.allocatedFrames;
    const pids = kernel.processes().map((p) => p.pid);
    const bad = img.slice();
    bad[img.length - 5] = (bad[img.length - 5] as number) ^ 0xff;
    failure(bad);
    expect(kernel.memoryFile.allocatedFrames).toBe(frames);
    expect(kernel.processes().map((p) => p.pid)).toEqual(pids);
    expect(kernel.spawn().pid).toBe(Math.max(...pids) + 1);
  });
});

/** A host with containers in every state: running (one with a limit, one read-only), stopped, never started. */
function busyEngine(): { kernel: Kernel; engine: ContainerEngine; host: Process } {
  const kernel = new Kernel({ clock: () => 1_700_000_000, memTotalBytes: 2 ** 30, chunkBytes: 2 ** 16 });
  const engine = new ContainerEngine(kernel);
  const host = kernel.spawn();
  expect(engine.run('web', { hostChannel: '/chan/web:/ipc::1M', memoryLimit: 64n * 4096n }).exitStatus).toBe(0);
  expect(engine.run('ro', { hostChannel: '/chan/ro:/ipc:ro,rshared:8K' }).exitStatus).toBe(0);
  expect(engine.run('done', { hostChannel: '/chan/done:/ipc::' }).exitStatus).toBe(0);
  expect(engine.create('fresh', { hostChannel: '/chan/fresh:/x::', rm: true }).exitStatus).toBe(0);
  const inWeb = ok(engine.exec('web'));
  const fd = ok(inWeb.open('/ipc/msg', O_CREAT | O_RDWR, 0o644));
  ok(inWeb.writeFd(fd, text('from the container')));
  const inDone = ok(engine.exec('done'));
  const d = ok(inDone.open('/ipc/left', O_CREAT | O_RDWR, 0o644));
  ok(inDone.writeFd(d, text('written before the stop')));
  expect(engine.stop('done').exitStatus).toBe(0);
  return { kernel, engine, host };
}

function machine(img: Uint8Array): RestoredMachine {
  const m = restoreWithEngine(img);
  if (E.isLeft(m)) throw new Error(m.left.message);
  return m.right;
}

function engineImage(kernel: Kernel, engine: ContainerEngine): Uint8Array {
  const img = checkpoint(kernel, { engine });
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

describe('checkpoint and restore with a container engine', () => {
  it('brings back every container with its state, channel, init, namespaces and cgroup', () => {
    const { kernel, engine } = busyEngine();
    const { kernel: k, engine: e } = machine(engineImage(kernel, engine));
    if (e === undefined) throw new Error('the engine did not come back');
    expect(e.kernel).toBe(k);
    expect(e.names()).toEqual(['web', 'ro', 'done', 'fresh']);
    for (const name of e.names()) expect(e.inspect(name)).toEqual(engine.inspect(name));
    expect(e.initProcess('web')?.pid).toBe(engine.initProcess('web')?.pid);
    expect(k.processes()).toContain(e.initProcess('web'));
    expect(e.initProcess('done')).toBeUndefined();
    // The cgroup is the one the restored pages are charged to, with its limit and usage.
    const cg = e.memoryCgroup('web');
    expect(cg?.limitPages).toBe(64);
    expect(cg?.usagePages).toBe(1);
    expect(e.memoryCgroup('done')?.usagePages).toBe(1);
    expect(e.memoryCgroup('fresh')).toBeUndefined();
    // exec joins the restored container's namespaces and cgroup: it sees the channel at its own path.
    const again = ok(e.exec('web'));
    expect(again.mountNamespace).toBe(e.initProcess('web')?.mountNamespace);
    expect(again.memoryCharge).toBe(cg);
    expect(str(ok(again.pread(ok(again.open('/ipc/msg', O_RDWR)), 18, 0)))).toBe('from the container');
    expect(E.isLeft(ok(e.exec('ro')).open('/ipc/new', O_CREAT | O_RDWR, 0o644))).toBe(true);
  });

  it('lets the restored engine stop, start and remove, and the host sees what the container wrote', () => {
    const { kernel, engine } = busyEngine();
    const { kernel: k, engine: e } = machine(engineImage(kernel, engine));
    if (e === undefined) throw new Error('the engine did not come back');
    // The same steps on the restored machine and on the original give the same answers.
    const steps = (k: Kernel, e: ContainerEngine): unknown[] => {
      const host = k.spawn();
      const seen: unknown[] = [e.stop('web').exitStatus, e.inspect('web')?.state];
      seen.push(str(ok(host.pread(ok(host.open('/chan/web/msg', O_RDWR)), 18, 0))));
      seen.push(e.start('done').exitStatus, str(ok(host.pread(ok(host.open('/chan/done/left', O_RDWR)), 23, 0))));
      seen.push(e.rm('web').exitStatus, E.isLeft(host.stat('/chan/web')));
      // A --rm container that was only created goes when it is started and stopped.
      seen.push(e.start('fresh').exitStatus, e.stop('fresh').exitStatus, e.names());
      seen.push(e.names().map((n) => [e.inspect(n), e.memoryCgroup(n)?.usagePages, e.initProcess(n)?.pid]));
      return seen;
    };
    const after = steps(k, e);
    expect(after.slice(0, -1)).toEqual([0, 'exited', 'from the container', 0, 'written before the stop', 0, true, 0, 0, ['ro', 'done']]);
    expect(steps(kernel, engine)).toEqual(after);
  });

  it('is byte-identical when re-imaged, with containers running, stopped and only created', () => {
    const { kernel, engine } = busyEngine();
    const img = engineImage(kernel, engine);
    const { kernel: k, engine: e } = machine(img);
    expect(Buffer.compare(Buffer.from(engineImage(k, e!)), Buffer.from(img))).toBe(0);
  });

  it('takes a container whose init ended as the daemon would find it: stopped', () => {
    const { kernel, engine } = busyEngine();
    ok(engine.initProcess('web')!.exit());
    const { engine: e } = machine(engineImage(kernel, engine));
    expect(e?.inspect('web')?.state).toBe('exited');
    expect(engine.inspect('web')?.state).toBe('exited');
  });

  it('restores a kernel alone from an image with an engine, and no engine from an image without one', () => {
    const { kernel, engine } = busyEngine();
    const img = engineImage(kernel, engine);
    expect(
      restored(img)
        .processes()
        .map((p) => p.pid),
    ).toEqual(kernel.processes().map((p) => p.pid));
    const plain = machine(image(kernel));
    expect(plain.engine).toBeUndefined();
    expect(plain.kernel.processes().length).toBe(kernel.processes().length);
  });

  it('refuses an engine of another kernel', () => {
    const { engine } = busyEngine();
    const other = checkpoint(new Kernel(), { engine });
    expect(E.isLeft(other) && other.left.where).toBe('engine');
  });
});
