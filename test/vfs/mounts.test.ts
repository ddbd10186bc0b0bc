import { describe, expect, it } from 'vitest';
import { MNT_DETACH, O_CREAT, O_RDONLY, O_WRONLY } from '../../src/abi/fs.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { errno, ok } from '../support/either.js';

const MiB = 1024 * 1024;

function host() {
  const k = new Kernel();
  const root = k.spawn();
  return { k, root };
}

describe('path resolution', () => {
  it('the host root is an unlimited tmpfs owned by root, mode 0755', () => {
    const { k, root } = host();
    const st = ok(root.stat('/'));
    expect([st.mode & 0o7777, st.uid, k.rootfs.capacityPages, ok(root.statfs('/')).blocks]).toEqual([0o755, 0, 0, 0]);
  });

  it('ENOENT, ENOTDIR, ENAMETOOLONG; "." and ".." resolve, ".." stops at "/"', () => {
    const { root } = host();
    ok(root.mkdir('/a'));
    ok(root.mkdir('/a/b'));
    ok(root.close(ok(root.open('/a/f', O_CREAT | O_WRONLY))));
    expect(errno(root.stat('/a/missing/x'))).toBe('ENOENT');
    expect(errno(root.stat('/a/f/x'))).toBe('ENOTDIR');
    expect(errno(root.stat('/a/f/'))).toBe('ENOTDIR');
    expect(errno(root.stat(''))).toBe('ENOENT');
    expect(errno(root.stat(`/${'n'.repeat(256)}`))).toBe('ENAMETOOLONG');
    expect(errno(root.stat(`/${'a/'.repeat(2048)}`))).toBe('ENAMETOOLONG');
    expect(ok(root.stat('/a/b/../../../a/./f')).ino).toBe(ok(root.stat('/a/f')).ino);
  });

  it('crosses into mounts, ".." from a mount root leaves it, and the last mount on a path wins', () => {
    const { k, root } = host();
    ok(root.mkdir('/m'));
    ok(root.close(ok(root.open('/m/under', O_CREAT | O_WRONLY))));
    const first = ok(k.newTmpfs({ sizeBytes: MiB }));
    const second = ok(k.newTmpfs({ sizeBytes: 2 * MiB }));
    ok(root.mountTmpfs(first, '/m'));
    expect(errno(root.stat('/m/under'))).toBe('ENOENT');
    ok(root.mountTmpfs(second, '/m'));
    expect(ok(root.statfs('/m')).blocks).toBe(512);
    expect(ok(root.stat('/m/..')).ino).toBe(ok(root.stat('/')).ino);
    ok(root.umount('/m'));
    expect(ok(root.statfs('/m')).blocks).toBe(256);
    ok(root.umount('/m'));
    expect(ok(root.stat('/m/under')).size).toBe(0);
    expect([first.destroyed, second.destroyed]).toEqual([true, true]);
  });

  it('search permission is needed on every directory walked (EACCES)', () => {
    const { k, root } = host();
    ok(root.mkdir('/private', 0o700));
    ok(root.close(ok(root.open('/private/f', O_CREAT | O_WRONLY, 0o666))));
    const user = k.spawn({ uid: 1000, gid: 1000 });
    expect(errno(user.open('/private/f', O_RDONLY))).toBe('EACCES');
    expect(errno(user.mkdir('/nope'))).toBe('EACCES');
  });
});

describe('directories', () => {
  it('mkdir: EEXIST is checked before EROFS; rmdir: ENOTEMPTY, ENOTDIR, EBUSY on a mount point', () => {
    const { k, root } = host();
    ok(root.mkdir('/d'));
    ok(root.mkdir('/d/sub'));
    ok(root.mkdir('/ro'));
    ok(root.bindMount('/d', '/ro', { readonly: true }));
    expect(errno(root.mkdir('/ro/sub'))).toBe('EEXIST');
    expect(errno(root.mkdir('/ro/other'))).toBe('EROFS');
    expect(errno(root.rmdir('/d'))).toBe('ENOTEMPTY');
    ok(root.close(ok(root.open('/d/file', O_CREAT | O_WRONLY))));
    expect(errno(root.rmdir('/d/file'))).toBe('ENOTDIR');
    expect(errno(root.unlink('/d/sub'))).toBe('EISDIR');
    expect(errno(root.rmdir('/ro'))).toBe('EBUSY');
    ok(root.umount('/ro'));
    ok(root.rmdir('/ro'));
    expect(k.initialMountNamespace.mounts().length).toBe(1);
  });

  it('unlink with a trailing slash: ENOTDIR for a file (left in place), EISDIR for a directory, both before EACCES', () => {
    const { k, root } = host();
    ok(root.mkdir('/d', 0o755));
    ok(root.mkdir('/d/sub'));
    ok(root.close(ok(root.open('/d/f', O_CREAT | O_WRONLY))));
    const user = k.spawn({ uid: 1000, gid: 1000 });
    expect(errno(user.unlink('/d/f/'))).toBe('ENOTDIR');
    expect(errno(user.unlink('/d/sub/'))).toBe('EISDIR');
    expect(errno(user.unlink('/d/none/'))).toBe('ENOENT');
    expect(errno(user.unlink('/d/f'))).toBe('EACCES');
    expect(errno(root.unlink('/d/f/'))).toBe('ENOTDIR');
    expect(errno(root.unlink('/d/f//'))).toBe('ENOTDIR');
    expect(ok(root.stat('/d/f')).size).toBe(0);
    ok(root.rmdir('/d/sub/'));
    ok(root.unlink('/d/f'));
  });

  it('mkdir ignores S_ISGID in its mode; a set-group-ID directory passes its group on, and S_ISGID to subdirectories', () => {
    const { k, root } = host();
    ok(root.mkdir('/plain', 0o2777));
    expect(ok(root.stat('/plain')).mode & 0o7777).toBe(0o777);
    ok(root.mountTmpfs(ok(k.newTmpfs({ mode: 0o2777, gid: 50 })), '/plain'));
    const user = k.spawn({ uid: 1000, gid: 1000 });
    ok(user.close(ok(user.open('/plain/x', O_CREAT | O_WRONLY, 0o644))));
    ok(user.mkdir('/plain/sub', 0o755));
    const [x, sub] = [ok(root.stat('/plain/x')), ok(root.stat('/plain/sub'))];
    expect([x.uid, x.gid, x.mode & 0o7777, sub.gid, sub.mode & 0o7777]).toEqual([1000, 50, 0o644, 50, 0o2755]);
  });

  it('a directory reports 20 bytes per entry and 2 + subdirectories links, and no blocks', () => {
    const { root } = host();
    ok(root.mkdir('/d'));
    ok(root.mkdir('/d/a'));
    ok(root.close(ok(root.open('/d/f', O_CREAT | O_WRONLY))));
    const st = ok(root.stat('/d'));
    expect([st.size, st.nlink, st.blocks]).toEqual([80, 3, 0]);
  });
});

describe('mount, umount, remount', () => {
  it('mounting needs CAP_SYS_ADMIN; umount of a non-mount point is EINVAL', () => {
    const { k, root } = host();
    ok(root.mkdir('/t'));
    const user = k.spawn({ uid: 1000 });
    expect(errno(user.mountTmpfs(ok(k.newTmpfs({})), '/t'))).toBe('EPERM');
    expect(errno(user.umount('/t'))).toBe('EPERM');
    expect(errno(root.umount('/t'))).toBe('EINVAL');
    expect(errno(root.umount('/', MNT_DETACH))).toBe('EBUSY');
  });

  it('MNT_DETACH takes the mounts below with it', () => {
    const { k, root } = host();
    ok(root.mkdir('/outer'));
    ok(root.mountTmpfs(ok(k.newTmpfs({})), '/outer'));
    ok(root.mkdir('/outer/inner'));
    const inner = ok(k.newTmpfs({}));
    ok(root.mountTmpfs(inner, '/outer/inner'));
    expect(errno(root.umount('/outer'))).toBe('EBUSY');
    ok(root.umount('/outer', MNT_DETACH));
    expect([k.initialMountNamespace.mounts().length, inner.destroyed]).toEqual([1, true]);
  });

  it('remount grows and shrinks to exactly the use; below it is EINVAL and the size stays', () => {
    const { k, root } = host();
    ok(root.mkdir('/t'));
    ok(root.mountTmpfs(ok(k.newTmpfs({ sizeBytes: 32 * MiB })), '/t'));
    const fd = ok(root.open('/t/f', O_CREAT | O_WRONLY));
    ok(root.writeFd(fd, new Uint8Array(20 * MiB)));
    expect(errno(root.remount('/t', { sizeBytes: 16 * MiB }))).toBe('EINVAL');
    expect(ok(root.statfs('/t')).blocks).toBe(8192);
    ok(root.remount('/t', { sizeBytes: 64 * MiB }));
    ok(root.remount('/t', { sizeBytes: 20 * MiB }));
    expect(ok(root.statfs('/t'))).toMatchObject({ blocks: 5120, bavail: 0 });
    expect(errno(root.remount('/t/f', { sizeBytes: MiB }))).toBe('EINVAL');
  });

  it('newTmpfs defaults: half of RAM and half as many inodes as RAM pages', () => {
    const k = new Kernel({ memTotalBytes: 64 * MiB });
    const fs = ok(k.newTmpfs());
    expect([fs.capacityPages, fs.inodeLimit]).toEqual([8192, 8192]);
  });
});
