/**
 * The iSulad daemon's filesystem work for containers, their /dev/shm and
 * their host channels, done through the daemon's own process (root with
 * every capability, in the host's namespaces): mkdir -p and rm -rf on the
 * host, the tmpfs mounts and lazy unmounts of shm paths and channels, and
 * each container's mount namespace with its /dev/shm and channel bound in it.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import type { Credentials } from '../auth/credentials.js';
import { MNT_DETACH } from '../abi/fs.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Process } from '../kernel/process.js';
import type { Location, MountFlags, MountNamespace } from '../vfs/mounts.js';
import { Directory } from '../tmpfs/directory.js';
import type { Tmpfs } from '../tmpfs/superblock.js';
import { shmTmpfsBytes } from './ipc_mode.js';
import { isReadOnlyMode } from './mode.js';
import type { HostChannel } from './spec.js';

/**
 * The flags of the host-channel and shm tmpfs mounts (MS_NOSUID|MS_NODEV|
 * MS_NOEXEC, in both mount_host_channel and util_create_shm_path); a
 * container's bind of either inherits them.
 */
const CHANNEL_FLAGS = { nosuid: true, nodev: true, noexec: true } as const;

/** Where every container sees its shm tmpfs. */
export const DEV_SHM = '/dev/shm';

/** The daemon's view of the host's filesystem. */
export class DaemonFs {
  /** The daemon's process, respawned whenever something has ended it (see `daemon`). */
  private proc: Process;

  /** `daemon` is the daemon's process of a restored engine; without it a new one is spawned. */
  constructor(
    private readonly kernel: Kernel,
    private readonly log: (line: string) => void,
    daemon?: Process,
  ) {
    this.proc = daemon ?? kernel.spawn();
  }

  /**
   * The daemon's process. Process.exit is public, so a caller can end it;
   * the daemon is then restarted as systemd restarts isulad: a fresh root
   * process in the host's namespaces takes over (the containers' own
   * processes never belonged to it).
   */
  private get daemon(): Process {
    if (this.proc.exited) this.proc = this.kernel.spawn();
    return this.proc;
  }

  /** The daemon's process, for a checkpoint: a live one. */
  get daemonProcess(): Process {
    return this.daemon;
  }

  /** stat(2) says `path` is a directory: the client's "already exists" check. */
  isExistingDirectory(path: string): boolean {
    const found = this.kernel.initialMountNamespace.resolve(this.daemon.creds, path);
    return E.isRight(found) && found.right.inode.kind === 'dir';
  }

  /** util_file_exists: stat(2) of `path` succeeds, whatever it is. */
  exists(path: string): boolean {
    return E.isRight(this.kernel.initialMountNamespace.resolve(this.daemon.creds, path));
  }

  /** mkdir -p in the host's namespace. */
  mkdirAll(path: string, mode: number): E.Either<SysError, void> {
    return mkdirAllIn(this.kernel.initialMountNamespace, this.daemon.creds, path, mode);
  }

  /**
   * prepare_host_channel: refuse an existing directory (the client checked
   * already, so this only matters for a race), then mkdir -p with 0700 for
   * every component made. The Left is the daemon's log line.
   */
  prepareHostChannel(path: string): E.Either<string, void> {
    if (this.isExistingDirectory(path)) return E.left(`Host path '${path}' already exist`);
    const made = this.mkdirAll(path, 0o700);
    return E.isLeft(made) ? E.left(`Failed to create host path '${path}'.`) : E.right(undefined);
  }

  /**
   * mount_host_channel: nothing when the host path is already a mount point
   * (an exact match in the host's mount table); else a new tmpfs, size= the
   * channel size, mode=1777, nosuid/nodev/noexec. Size 0 is an unlimited tmpfs.
   */
  mountHostChannel(channel: HostChannel): E.Either<SysError, void> {
    if (this.isMountPoint(channel.pathOnHost)) return E.right(undefined);
    const sb = this.kernel.newTmpfs({ sizeBytes: Number(channel.size), mode: 0o1777 });
    if (E.isLeft(sb)) return sb;
    return E.map(() => undefined)(this.daemon.mountTmpfs(sb.right, channel.pathOnHost, CHANNEL_FLAGS));
  }

  /**
   * umount_host_channel: a lazy unmount if the host path is a mount point,
   * then rm -rf of the host path. Failures are logged and the delete goes on.
   */
  umountHostChannel(path: string): void {
    if (this.isMountPoint(path)) {
      const unmounted = this.daemon.umount(path, MNT_DETACH);
      if (E.isLeft(unmounted)) this.log(`Failed to umount host channel '${path}': ${unmounted.left.message}`);
    }
    this.removeAll(path);
  }

  /**
   * util_create_shm_path as setup_ipc_dirs calls it (at create, and again at
   * start): nothing when `path` is already a mount point; else mkdir -p with
   * 0700 for each directory made, then a tmpfs with mode=1777,size=`size`
   * and nosuid/nodev/noexec. The Left is the daemon's log line.
   */
  createShmPath(path: string, size: bigint): E.Either<string, void> {
    if (this.isMountPoint(path)) return E.right(undefined);
    if (E.isLeft(this.mkdirAll(path, 0o700))) return E.left('Build shm dir failed');
    const sb = this.kernel.newTmpfs({ sizeBytes: shmTmpfsBytes(size), mode: 0o1777 });
    const mounted = E.chain((fs: Tmpfs) => this.daemon.mountTmpfs(fs, path, CHANNEL_FLAGS))(sb);
    return E.isLeft(mounted) ? E.left(`Mount ${path} failed: ${mounted.left.message}`) : E.right(undefined);
  }

  /** umount_share_shm: a lazy unmount of a container's own shm path, if mounted; failures are only logged. */
  umountShm(path: string): void {
    if (!this.isMountPoint(path)) return;
    const unmounted = this.daemon.umount(path, MNT_DETACH);
    if (E.isLeft(unmounted)) this.log(`Failed to umount the target: ${path}: ${unmounted.left.message}`);
  }

  /**
   * A container's mount namespace: `rootfs` (a host directory) as its "/",
   * the host directory `shmPath` bound at /dev/shm (add_shm_mount: rbind),
   * then the channel bound at the container path (add_host_channel_mount:
   * rbind, read-only when the mode has the piece `ro`). The runtime mounts
   * in destination order, so a channel under /dev/shm lands on the shm
   * tmpfs; each mount point is made first, as the runtime does. Binds keep
   * the source mount's flags. The caller gets the namespace's creator
   * reference; on failure it is dropped here.
   */
  containerNamespace(rootfs: string, shmPath: string | undefined, channel: HostChannel | undefined): E.Either<SysError, MountNamespace> {
    const host = this.kernel.initialMountNamespace;
    const creds = this.daemon.creds;
    const root = host.resolve(creds, rootfs);
    if (E.isLeft(root)) return root;
    const ns = this.kernel.newMountNamespace(root.right);
    if (E.isLeft(ns)) return ns;
    const bindAt = (source: string, target: string, flags: MountFlags): E.Either<SysError, unknown> =>
      E.chain(() => E.chain((loc: Location) => ns.right.bind(creds, loc, target, flags))(host.resolve(creds, source)))(
        mkdirAllIn(ns.right, creds, target, 0o755),
      );
    const shm = shmPath === undefined ? E.right(undefined) : bindAt(shmPath, DEV_SHM, {});
    const bound =
      channel === undefined
        ? shm
        : E.chain(() => bindAt(channel.pathOnHost, channel.pathInContainer, { ...CHANNEL_FLAGS, readonly: isReadOnlyMode(channel.permissions) }))(shm);
    if (E.isLeft(bound)) {
      ns.right.leave();
      return bound;
    }
    return ns;
  }

  /** rm -rf in the host's namespace; failures are logged, never returned. */
  removeAll(path: string): void {
    const ns = this.kernel.initialMountNamespace;
    const creds = this.daemon.creds;
    const loc = ns.resolve(creds, path);
    if (E.isLeft(loc)) {
      if (loc.left.errno !== 'ENOENT') this.log(`Failed to delete path '${path}': ${loc.left.message}`);
      return;
    }
    const inode = loc.right.inode;
    if (inode instanceof Directory) {
      for (const name of inode.names()) this.removeAll(path === '/' ? `/${name}` : `${path}/${name}`);
    }
    const removed = inode instanceof Directory ? ns.rmdir(creds, path) : ns.unlink(creds, path);
    if (E.isLeft(removed)) this.log(`Failed to delete path '${path}': ${removed.left.message}`);
  }

  /** The mountinfo check iSulad makes: an exact string match of a mount point. */
  private isMountPoint(path: string): boolean {
    return this.kernel.initialMountNamespace.mounts().some((m) => m.mountpoint === path);
  }
}

/**
 * mkdir -p `path` in `ns` with `creds`, giving each directory it makes
 * `mode`: an existing directory on the way is fine, anything else there is
 * EEXIST.
 */
export function mkdirAllIn(ns: MountNamespace, creds: Credentials, path: string, mode: number): E.Either<SysError, void> {
  let prefix = '';
  for (const part of path.split('/').filter((p) => p !== '')) {
    prefix = `${prefix}/${part}`;
    const made = ns.mkdir(creds, prefix, mode);
    if (E.isRight(made) || made.left.errno !== 'EEXIST') {
      if (E.isLeft(made)) return made;
      continue;
    }
    const existing = ns.resolve(creds, prefix);
    if (E.isLeft(existing)) return existing;
    if (existing.right.inode.kind !== 'dir') return made;
  }
  return E.right(undefined);
}
