import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import {
  FALLOC_FL_KEEP_SIZE,
  MAP_PRIVATE,
  MAP_SHARED,
  MNT_DETACH,
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  ST_RDONLY,
} from '../../src/abi/fs.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import type { MountNamespace } from '../../src/vfs/mounts.js';
import type { Tmpfs } from '../../src/tmpfs/superblock.js';
import { errno, ok, signal } from '../support/either.js';
import { LimitedCharge } from '../tmpfs/charge_helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A host with a tmpfs channel at /channel, and a container whose / is /c1/rootfs with the channel bound at /mnt. */
function world(channelBytes: number, containerView: { readonly?: boolean } = {}) {
  const k = new Kernel({ memTotalBytes: 1024 * MiB });
  const host = k.spawn();
  ok(host.mkdir('/channel', 0o700));
  const channel: Tmpfs = ok(k.newTmpfs({ sizeBytes: channelBytes }));
  ok(host.mountTmpfs(channel, '/channel', { nosuid: true, nodev: true, noexec: true }));
  ok(host.mkdir('/c1'));
  ok(host.mkdir('/c1/rootfs'));
  ok(host.mkdir('/c1/rootfs/mnt'));
  const ns: MountNamespace = ok(k.newMountNamespace(ok(host.mountNamespace.resolve(host.creds, '/c1/rootfs'))));
  ok(ns.bind(host.creds, ok(host.mountNamespace.resolve(host.creds, '/channel')), '/mnt', { noexec: true, ...containerView }));
  const container = (uid = 0, memoryCharge?: LimitedCharge): Process =>
    k.spawn({ uid, gid: uid, mountNamespace: ns, ...(memoryCharge ? { memoryCharge } : {}) });
  return { k, host, channel, ns, container };
}

describe('open, read, write', () => {
  it('creates with the creator uid/gid and the given mode, and reads back what was written', () => {
    const { host, container } = world(MiB);
    const user = container(1000);
    const fd = ok(user.open('/mnt/note', O_CREAT | O_RDWR, 0o640));
    expect(ok(user.writeFd(fd, text('hello')))).toBe(5);
    const st = ok(host.stat('/channel/note'));
    expect([st.uid, st.gid, st.mode & 0o7777, st.size, st.blocks]).toEqual([1000, 1000, 0o640, 5, 8]);
    const hfd = ok(host.open('/channel/note', O_RDONLY));
    expect(str(ok(host.readFd(hfd, 100)))).toBe('hello');
    expect(ok(host.readFd(hfd, 100)).length).toBe(0);
  });

  it('O_EXCL, O_TRUNC, O_APPEND and the access modes', () => {
    const { host } = world(MiB);
    const fd = ok(host.open('/channel/f', O_CREAT | O_WRONLY, 0o600));
    ok(host.writeFd(fd, text('abcdef')));
    expect(errno(host.open('/channel/f', O_CREAT | O_EXCL | O_WRONLY))).toBe('EEXIST');
    expect(errno(host.readFd(fd, 1))).toBe('EBADF');
    const app = ok(host.open('/channel/f', O_WRONLY | O_APPEND));
    ok(host.pwrite(app, text('Z'), 0));
    expect(ok(host.fstat(app)).size).toBe(7);
    const ro = ok(host.open('/channel/f', O_RDONLY));
    expect(errno(host.writeFd(ro, text('x')))).toBe('EBADF');
    expect(str(ok(host.pread(ro, 10, 0)))).toBe('abcdefZ');
    ok(host.open('/channel/f', O_WRONLY | O_TRUNC));
    expect(ok(host.fstat(ro)).size).toBe(0);
  });

  it('ENOENT, EISDIR, ENOTDIR and EACCES', () => {
    const { host, container } = world(MiB);
    ok(host.mkdir('/channel/d', 0o755));
    const fd = ok(host.open('/channel/secret', O_CREAT | O_WRONLY, 0o600));
    ok(host.close(fd));
    const user = container(1000);
    expect(errno(user.open('/mnt/missing', O_RDONLY))).toBe('ENOENT');
    expect(errno(user.open('/mnt/d', O_WRONLY))).toBe('EISDIR');
    expect(errno(user.open('/mnt/d', O_CREAT | O_RDONLY))).toBe('EISDIR');
    expect(errno(user.open('/mnt/secret/x', O_RDONLY))).toBe('ENOTDIR');
    expect(errno(user.open('/mnt/secret', O_RDONLY))).toBe('EACCES');
    expect(errno(user.open('/mnt/d/new', O_CREAT | O_WRONLY))).toBe('EACCES');
  });

  it('EMFILE at 1024 descriptors; close frees one', () => {
    const { host } = world(MiB);
    ok(host.close(ok(host.open('/channel/f', O_CREAT | O_RDONLY))));
    for (let i = 0; i < 1024; i += 1) ok(host.open('/channel/f', O_RDONLY));
    expect(errno(host.open('/channel/f', O_RDONLY))).toBe('EMFILE');
    ok(host.close(17));
    expect(ok(host.open('/channel/f', O_RDONLY))).toBe(17);
    expect(errno(host.close(5000))).toBe('EBADF');
  });
});

describe('the tmpfs size limit through syscalls', () => {
  it('a 40 MiB write into a 32 MiB channel returns 33554432, then ENOSPC', () => {
    const { host } = world(32 * MiB);
    const fd = ok(host.open('/channel/big', O_CREAT | O_WRONLY));
    expect(ok(host.writeFd(fd, new Uint8Array(40 * MiB)))).toBe(33554432);
    expect(errno(host.writeFd(fd, new Uint8Array(1)))).toBe('ENOSPC');
    expect(ok(host.statfs('/channel'))).toMatchObject({ blocks: 8192, bfree: 0, bavail: 0 });
  });

  it('statfs of size=4097 reports 2 blocks of 4096', () => {
    const k = new Kernel();
    const host = k.spawn();
    ok(host.mkdir('/t'));
    ok(host.mountTmpfs(ok(k.newTmpfs({ sizeBytes: 4097 })), '/t'));
    expect(ok(host.statfs('/t'))).toMatchObject({ bsize: 4096, frsize: 4096, blocks: 2, bfree: 2 });
  });

  it('fallocate 40M on 32M is ENOSPC with an empty file left; 16M works', () => {
    const { host } = world(32 * MiB);
    const fd = ok(host.open('/channel/fa', O_CREAT | O_RDWR));
    expect(errno(host.fallocate(fd, 0, 0, 40 * MiB))).toBe('ENOSPC');
    expect(ok(host.fstat(fd)).size).toBe(0);
    ok(host.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16 * MiB));
    expect([ok(host.fstat(fd)).size, ok(host.statfs('/channel')).bfree]).toEqual([0, 4096]);
  });

  it('ftruncate needs a descriptor open for writing (EINVAL otherwise); growth is sparse', () => {
    const { host } = world(32 * MiB);
    const fd = ok(host.open('/channel/s', O_CREAT | O_RDWR));
    ok(host.ftruncate(fd, 1024 * MiB));
    expect([ok(host.fstat(fd)).blocks, ok(host.statfs('/channel')).bfree]).toEqual([0, 8192]);
    expect(errno(host.ftruncate(ok(host.open('/channel/s', O_RDONLY)), 0))).toBe('EINVAL');
  });
});

describe('unlink and lazy unmount', () => {
  it('an unlinked open file keeps its pages until the last close', () => {
    const { k, host, channel } = world(32 * MiB);
    const fd = ok(host.open('/channel/tmp', O_CREAT | O_RDWR));
    ok(host.writeFd(fd, new Uint8Array(8 * MiB)));
    const child = ok(host.fork());
    ok(host.unlink('/channel/tmp'));
    expect(errno(host.stat('/channel/tmp'))).toBe('ENOENT');
    expect(channel.usedPages).toBe(2048);
    ok(host.close(fd));
    expect(channel.usedPages).toBe(2048);
    ok(child.exit());
    expect([channel.usedPages, channel.usedInodes, k.memoryFile.allocatedFrames]).toEqual([0, 1, 0]);
  });

  it('umount -l: gone from the table at once, the fd still works, everything is freed at the last close', () => {
    const { k, host, channel, ns } = world(32 * MiB);
    const fd = ok(host.open('/channel/data', O_CREAT | O_RDWR));
    ok(host.writeFd(fd, new Uint8Array(3 * PAGE_SIZE).fill(1)));
    expect(errno(host.umount('/channel'))).toBe('EBUSY');
    ok(host.umount('/channel', MNT_DETACH));
    expect(host.mountNamespace.mounts().map((m) => m.mountpoint)).toEqual(['/']);
    expect(errno(host.stat('/channel/data'))).toBe('ENOENT');
    expect(ok(host.pwrite(fd, text('late'), 0))).toBe(4);
    expect(str(ok(host.pread(fd, 4, 0)))).toBe('late');
    ok(host.rmdir('/channel'));
    ns.leave();
    expect([channel.destroyed, k.memoryFile.allocatedFrames]).toEqual([false, 3]);
    ok(host.close(fd));
    expect([channel.destroyed, k.memoryFile.allocatedFrames]).toEqual([true, 0]);
  });

  it('the container namespace keeps the channel alive after the host detaches; its last process frees it', () => {
    const { k, host, channel, ns, container } = world(MiB);
    const c = container();
    ok(c.writeFd(ok(c.open('/mnt/x', O_CREAT | O_WRONLY)), text('x')));
    ok(host.umount('/channel', MNT_DETACH));
    ns.leave();
    expect([channel.destroyed, k.memoryFile.allocatedFrames]).toEqual([false, 1]);
    ok(c.exit());
    expect([channel.destroyed, k.memoryFile.allocatedFrames]).toEqual([true, 0]);
  });
});

describe('the read-only bind view', () => {
  it('EROFS for every change, before ENOSPC on a full channel; reads and statfs match the host', () => {
    const { host, container } = world(8 * KiB, { readonly: true });
    const hfd = ok(host.open('/channel/a', O_CREAT | O_WRONLY, 0o666));
    ok(host.writeFd(hfd, new Uint8Array(8 * KiB).fill(0x41)));
    const c = container();
    expect(errno(c.open('/mnt/new', O_CREAT | O_WRONLY))).toBe('EROFS');
    expect(errno(c.open('/mnt/a', O_WRONLY))).toBe('EROFS');
    expect(errno(c.open('/mnt/a', O_RDONLY | O_TRUNC))).toBe('EROFS');
    expect(errno(c.mkdir('/mnt/d'))).toBe('EROFS');
    expect(errno(c.unlink('/mnt/a'))).toBe('EROFS');
    expect(errno(c.unlink('/mnt/none'))).toBe('EROFS');
    const fd = ok(c.open('/mnt/a', O_RDONLY));
    expect(ok(c.readFd(fd, 3))).toEqual(new Uint8Array([0x41, 0x41, 0x41]));
    const { flags: roFlags, ...roFigures } = ok(c.statfs('/mnt'));
    const { flags: hostFlags, ...hostFigures } = ok(host.statfs('/channel'));
    expect(roFigures).toEqual(hostFigures);
    expect([roFlags & ST_RDONLY, hostFlags & ST_RDONLY]).toEqual([ST_RDONLY, 0]);
  });
});

describe('sticky bit and ownership', () => {
  it("in the 1777 root, a user cannot remove root's file (EPERM) but can remove its own; root can remove any", () => {
    const { host, container } = world(MiB);
    ok(host.close(ok(host.open('/channel/roots', O_CREAT | O_WRONLY, 0o644))));
    const nobody = container(65534);
    ok(nobody.close(ok(nobody.open('/mnt/mine', O_CREAT | O_WRONLY, 0o644))));
    expect(errno(nobody.unlink('/mnt/roots'))).toBe('EPERM');
    ok(nobody.unlink('/mnt/mine'));
    ok(nobody.close(ok(nobody.open('/mnt/again', O_CREAT | O_WRONLY, 0o644))));
    ok(host.unlink('/channel/again'));
    expect(ok(host.stat('/channel/roots')).uid).toBe(0);
  });
});

describe('mmap', () => {
  it('a host and a container process in different namespaces map the same frames', () => {
    const { host, container } = world(MiB);
    const hfd = ok(host.open('/channel/shared', O_CREAT | O_RDWR));
    ok(host.ftruncate(hfd, 2 * PAGE_SIZE));
    const ha = ok(host.mmap(hfd, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    const c = container();
    const cfd = ok(c.open('/mnt/shared', O_RDWR));
    const ca = ok(c.mmap(cfd, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(host.write(ha + PAGE_SIZE, text('from host')));
    expect(str(ok(c.read(ca + PAGE_SIZE, 9)))).toBe('from host');
    ok(c.write(ca, text('from container')));
    expect(str(ok(host.pread(hfd, 14, 0)))).toBe('from container');
  });

  it('permission checks: EACCES for PROT_WRITE on a read-only fd, EPERM for PROT_EXEC on noexec; MAP_PRIVATE needs only read access', () => {
    const { host } = world(MiB);
    const fd = ok(host.open('/channel/m', O_CREAT | O_RDWR));
    ok(host.ftruncate(fd, PAGE_SIZE));
    const ro = ok(host.open('/channel/m', O_RDONLY));
    const wo = ok(host.open('/channel/m', O_WRONLY));
    expect(errno(host.mmap(ro, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe('EACCES');
    expect(errno(host.mmap(wo, PAGE_SIZE, PROT_READ, MAP_SHARED))).toBe('EACCES');
    expect(errno(host.mmap(fd, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED))).toBe('EPERM');
    // A private mapping never writes the file: a read-only descriptor may map it writable, a write-only one not at all.
    expect(errno(host.mmap(wo, PAGE_SIZE, PROT_READ, MAP_PRIVATE))).toBe('EACCES');
    expect(errno(host.mmap(ro, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE))).toBe('ok');
    const a = ok(host.mmap(ro, PAGE_SIZE, PROT_READ, MAP_SHARED));
    expect(errno(host.mprotect(a, PAGE_SIZE, PROT_READ | PROT_WRITE))).toBe('EACCES');
  });

  it('SIGBUS past the capacity: ftruncate 64 KiB on a 32 KiB tmpfs, touch every page', () => {
    const { host } = world(32 * KiB);
    const fd = ok(host.open('/channel/m', O_CREAT | O_RDWR));
    ok(host.ftruncate(fd, 64 * KiB));
    const a = ok(host.mmap(fd, 64 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED));
    const r = host.fill(a, 64 * KiB, 0x55);
    expect(signal(r)).toBe('SIGBUS');
    expect(r._tag === 'Left' ? r.left.addr - a : -1).toBe(32 * KiB);
    expect(ok(host.statfs('/channel')).bfree).toBe(0);
    expect(host.exited).toBe(false);
  });

  it('SIGBUS past the end of the file rounded up to a page', () => {
    const { host } = world(MiB);
    const fd = ok(host.open('/channel/m', O_CREAT | O_RDWR));
    ok(host.ftruncate(fd, PAGE_SIZE + 1));
    const a = ok(host.mmap(fd, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED));
    expect(signal(host.read(a + 2 * PAGE_SIZE - 1, 1))).toBe('ok');
    expect(signal(host.read(a + 2 * PAGE_SIZE, 1))).toBe('SIGBUS');
  });

  it('the mapping holds the file after close and unlink; munmap frees it', () => {
    const { k, host, channel } = world(MiB);
    const fd = ok(host.open('/channel/m', O_CREAT | O_RDWR));
    ok(host.writeFd(fd, new Uint8Array(PAGE_SIZE).fill(3)));
    const a = ok(host.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
    ok(host.close(fd));
    ok(host.unlink('/channel/m'));
    expect(ok(host.read(a, 1))[0]).toBe(3);
    expect(channel.usedPages).toBe(1);
    ok(host.munmap(a, PAGE_SIZE));
    expect([channel.usedPages, k.memoryFile.allocatedFrames]).toEqual([0, 0]);
  });
});

describe('memory cgroup', () => {
  it('container writes are charged to its cgroup, host writes are not; charges stay until the pages go', () => {
    const { k, host, container } = world(32 * MiB);
    const cg = new LimitedCharge(4096);
    const c = container(0, cg);
    const fd = ok(c.open('/mnt/c', O_CREAT | O_WRONLY));
    ok(c.writeFd(fd, new Uint8Array(2 * MiB)));
    const hfd = ok(host.open('/channel/h', O_CREAT | O_WRONLY));
    ok(host.writeFd(hfd, new Uint8Array(MiB)));
    expect([cg.charged, k.rootMemoryCgroup.chargedPages]).toEqual([512, 256]);
    ok(c.exit());
    expect(cg.charged).toBe(512);
    ok(host.unlink('/channel/c'));
    expect(cg.charged).toBe(0);
  });

  it('a write over the cgroup limit OOM-kills the writer, leaving the file partly written', () => {
    const { host, container } = world(32 * MiB);
    const cg = new LimitedCharge((16 * MiB) / PAGE_SIZE);
    const c = container(0, cg);
    const first = ok(c.open('/mnt/a', O_CREAT | O_WRONLY));
    ok(c.writeFd(first, new Uint8Array(8 * MiB)));
    const second = ok(c.open('/mnt/b', O_CREAT | O_WRONLY));
    expect(errno(c.writeFd(second, new Uint8Array(12 * MiB)))).toBe('ENOMEM');
    expect([c.killedBy, c.exited, ok(host.stat('/channel/b')).size, cg.charged]).toEqual(['SIGKILL', true, 8 * MiB, 4096]);
    expect(host.killedBy).toBeUndefined();
  });

  it('a fault the cgroup refuses OOM-kills the toucher; the host touching the same file is fine', () => {
    const { host, container } = world(MiB);
    const c = container(0, new LimitedCharge(1));
    const fd = ok(c.open('/mnt/m', O_CREAT | O_RDWR));
    ok(c.ftruncate(fd, 4 * PAGE_SIZE));
    const a = ok(c.mmap(fd, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    expect(signal(c.fill(a, 2 * PAGE_SIZE, 1))).toBe('SIGBUS');
    expect(c.killedBy).toBe('SIGKILL');
    const hfd = ok(host.open('/channel/m', O_RDWR));
    const ha = ok(host.mmap(hfd, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    expect(signal(host.fill(ha, 4 * PAGE_SIZE, 2))).toBe('ok');
    expect(host.exited).toBe(false);
  });
});

describe('fork and exit', () => {
  it('fork shares open file descriptions (and their offset); exit closes every descriptor', () => {
    const { host, channel } = world(MiB);
    const fd = ok(host.open('/channel/f', O_CREAT | O_RDWR));
    const child = ok(host.fork());
    ok(child.writeFd(fd, text('ab')));
    ok(host.writeFd(fd, text('cd')));
    expect(str(ok(host.pread(fd, 4, 0)))).toBe('abcd');
    ok(host.unlink('/channel/f'));
    ok(host.exit());
    expect(channel.usedPages).toBe(1);
    ok(child.exit());
    expect(channel.usedPages).toBe(0);
    expect(errno(child.open('/channel', O_RDONLY))).toBe('ESRCH');
    expect([errno(child.readFd(fd, 1)), errno(child.pread(fd, 1, 0)), errno(child.writeFd(fd, text('x'))), errno(child.pwrite(fd, text('x'), 0))]).toEqual([
      'ESRCH',
      'ESRCH',
      'ESRCH',
      'ESRCH',
    ]);
  });
});
