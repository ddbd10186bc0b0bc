/**
 * A simulated iSulad daemon and `isula` client on one Kernel, reduced to what
 * the host channel and /dev/shm need: create, start, stop, restart, rm and
 * run of containers, each with its own mount namespace and memory cgroup,
 * and an IPC namespace and /dev/shm chosen by --ipc (ipc_mode.ts).
 *
 * Lifetimes:
 * - create validates the option as the client does, then makes the host
 *   directory (mkdir -p, mode 0700); nothing is mounted yet.
 * - start mounts a fresh tmpfs on the host directory unless something is
 *   already mounted exactly there, then builds the container's namespaces
 *   with the channel bind-mounted at the container path, and spawns the
 *   container's init process in them with a fresh memory cgroup.
 * - stop ends every process of the container; its namespaces go with the
 *   last of them. The host mount stays, so the data survives.
 * - rm lazily unmounts the host path and removes it recursively; failures
 *   are only logged, as iSulad does.
 *
 * /dev/shm (specs_mount.c set_shm_path, setup_ipc_dirs):
 * - a shareable container (the default) gets a tmpfs of --shm-size bytes
 *   mounted at create on <container dir>/mounts/shm; it stays mounted
 *   across stop and start, and rm lazily unmounts it (umount_share_shm);
 * - `host` binds the host's /dev/shm, `container:NAME` binds NAME's shm
 *   path, `none` gets no /dev/shm; each start joins the IPC namespace the
 *   mode names (get_share_namespace_path): NAME's current one, the host's,
 *   or a new one.
 * - iSulad asks of a donor only that it exists (at create and start), that
 *   it has a shm path to bind (at create: a `none` donor fails) and that it
 *   runs (at start): a donor that is itself a `container:` or `host`
 *   container is joined transitively, and removing a donor others joined
 *   is allowed; they keep its IPC namespace and the files of its /dev/shm.
 *
 * The daemon notices a container's init exiting (an OOM kill, or a test
 * calling exit) the next time it looks: every command and query reaps first.
 * Then the container's other processes die with it, as they do when a PID
 * namespace's init ends, and a `run --rm` container is removed.
 *
 * Messages the reference does not pin down are chosen after iSulad's
 * sources and documented on ENGINE_MESSAGES.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CredentialsInit } from '../auth/credentials.js';
import { describeValue, isOptions } from '../kernel/syscall_args.js';
import type { IpcNamespace } from '../kernel/ipc_namespace.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Process } from '../kernel/process.js';
import type { TraceEvent } from '../kernel/trace.js';
import type { MountNamespace } from '../vfs/mounts.js';
import { DEV_SHM, DaemonFs } from './daemon_fs.js';
import { SHM_SIZE_ERROR_EXIT_STATUS, effectiveShmSize, ipcModeOf, parseShmSize } from './ipc_mode.js';
import { MemoryCgroup } from '../memcg/cgroup.js';
import type { ContainerConfig, ContainerState } from './records.js';
import type { HostChannel, HostChannelCommand, Meminfo } from './spec.js';
import { convertMembytes, INT64_MAX, OPTION_ERROR_EXIT_STATUS } from './size.js';
import { SPEC_ERROR_EXIT_STATUS, parseHostChannel } from './spec.js';

/** The outcome of one isula command: its exit status and the lines it printed on stderr. */
export interface CommandResult {
  readonly exitStatus: number;
  readonly stderr: readonly string[];
}

/** `isula create` options the engine models. */
export interface CreateOptions {
  /** The raw --host-channel value, exactly as typed. */
  readonly hostChannel?: string;
  /**
   * `-m`: the memory cgroup limit in bytes; 0 means none. Unlike `memory`,
   * it skips the daemon's 4 MiB floor, so that a caller can build a cgroup
   * of a few pages.
   */
  readonly memoryLimit?: bigint;
  /**
   * The raw `-m` (`--memory`) value, exactly as typed: isula converts it
   * with command_convert_membytes, so a size it cannot read is the client's
   * `Invalid value "..." for flag --memory`, exit 125; the daemon then
   * refuses a limit above 0 and below 4 MiB (verify.c). When given, it
   * takes the place of memoryLimit.
   */
  readonly memory?: string;
  /**
   * The raw --ipc value: `shareable` (also the meaning of its absence),
   * `none`, `host` or `container:NAME`. The client takes any string; the
   * daemon fails to create a container with another one (`private`
   * included), as iSulad's does.
   */
  readonly ipc?: string;
  /** The raw --shm-size value, exactly as typed; 0 means the default 64 MiB. */
  readonly shmSize?: string;
}

/** `isula run` options: create's, plus --rm. */
export interface RunOptions extends CreateOptions {
  /** --rm: remove the container when it exits. */
  readonly rm?: boolean;
}

/** How to build an engine. */
export interface EngineOptions {
  /**
   * The meminfo the client reads when it checks a channel size. Default:
   * MemTotal from the kernel's RAM, MemAvailable from its free frames.
   */
  readonly meminfo?: () => Meminfo;
  /** Called with each line the daemon logs (failures it only logs, e.g. during rm). */
  readonly log?: (line: string) => void;
}

/**
 * The daemon's error texts, as the client prints them. The reference fixes
 * `Execute operation failed` (an ISULAD_ERR_EXEC with no message set, which
 * client_print_error prints bare); the others follow iSulad's
 * isulad_set_error_message calls (`No such container:%s` has no space in
 * iSulad's container callbacks) with the container's name where iSulad
 * prints its id, and are printed with the `Error response from daemon: `
 * prefix.
 */
export const ENGINE_MESSAGES = {
  execFailed: 'Execute operation failed',
  noSuchContainer: (name: string) => `Error response from daemon: No such container:${name}`,
  nameInUse: (name: string) =>
    `Error response from daemon: Conflict. The name "${name}" is already in use by container ${name}. You have to remove (or rename) that container to be able to reuse that name.`,
  removeRunning: (name: string) =>
    `Error response from daemon: You cannot remove a running container ${name}. Stop the container before attempting removal or use -f`,
  notRunning: (name: string) => `Error response from daemon: Container ${name} is not running`,
  invalidName: (name: string) => `Error response from daemon: Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed.`,
  /**
   * The client's refusal of a `-m` value (command_convert_membytes): the
   * byte-size parser caps a size at INT64_MAX, and a negative size is
   * refused; printed bare, before the daemon is contacted.
   */
  invalidMemory: (value: string) => `Invalid value "${value}" for flag --memory`,
  /** The daemon's refusal of a `-m` limit above 0 and below 4 MiB (verify.c verify_mem_limit_swap), at create. */
  memoryBelowMinimum: 'Error response from daemon: Minimum memory limit allowed is 4MB',
  /**
   * start's refusal to join the IPC namespace of a container that is not
   * running (specs_namespace.c parse_share_namespace_with_prefix); `name`
   * is the text after `container:`.
   */
  joinNotRunning: (name: string) => `Error response from daemon: Can not join namespace of a non running container ${name}`,
  /** exec's refusal of credentials no process can have (Kernel.trySpawn's EINVAL). */
  invalidUser: (why: string) => `Error response from daemon: ${why}`,
} as const;

/** LINUX_MIN_MEMORY in verify.c: the smallest memory limit the daemon takes, other than 0 (none). */
export const MIN_MEMORY_LIMIT = 4n * 1024n * 1024n;

/** Container names the daemon accepts (util_valid_container_name). */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Whether the daemon accepts `name` as a container name. */
export function isValidContainerName(name: string): boolean {
  return CONTAINER_NAME.test(name);
}

/**
 * Exit status of a command the daemon refused: `isula create` and the other
 * commands exit ECOMMON (1); `isula run` exits ESERVERERROR (125), as
 * do_client_create maps a daemon error code.
 */
const DAEMON_ERROR_EXIT_STATUS: Readonly<Record<HostChannelCommand, number>> = { create: 1, run: 125 };

/** Where the daemon keeps each container's root directory on the host. */
const CONTAINERS_DIR = '/var/lib/isulad/engines/lcr';

/** The daemon's view of one container, and what it holds while running. */
interface Container {
  readonly name: string;
  readonly hostChannel: HostChannel | undefined;
  readonly memoryLimit: bigint | undefined;
  /** The --ipc value as given; undefined when the option was absent (shareable). */
  readonly ipcMode: string | undefined;
  /** HostConfig.ShmSize: the size of the container's own shm tmpfs, in bytes (the default for 0 or none). */
  readonly shmSize: bigint;
  /**
   * The host directory bound at the container's /dev/shm (shm_path): its
   * own `<container dir>/mounts/shm`, the host's /dev/shm, or its donor's
   * shm path; undefined for `none`.
   */
  readonly shmPath: string | undefined;
  readonly autoRemove: boolean;
  state: ContainerState;
  /** Set while running: the init process and its namespaces. */
  running: RunningContainer | undefined;
  /** The cgroup of the last start; it keeps the charges of the pages its tasks wrote. */
  cgroup: MemoryCgroup | undefined;
}

/** What a running container holds: its init process (whose exit ends it) and the namespaces it was started in. */
export interface RunningContainer {
  readonly init: Process;
  readonly ipcNamespace: IpcNamespace;
  readonly mountNamespace: MountNamespace;
}

/** One container as checkpoint and restore see it: the daemon's whole record, read-only. */
export type ContainerRecord = Readonly<Container>;

/**
 * Everything an engine holds besides its options, for checkpoint and
 * restore: the daemon's process and the containers in creation order.
 */
export interface EngineState {
  readonly daemon: Process;
  readonly containers: readonly ContainerRecord[];
}

const OK: CommandResult = { exitStatus: 0, stderr: [] };

/** The container engine of one simulated host. */
export class ContainerEngine {
  /** The daemon's filesystem work, done as its own process (root, host namespaces). */
  private readonly fs: DaemonFs;
  private readonly containers = new Map<string, Container>();
  private readonly meminfo: () => Meminfo;
  private readonly log: (line: string) => void;

  /** An engine on `kernel`; it spawns the daemon's process. */
  constructor(kernel: Kernel, options?: EngineOptions);
  /**
   * Checkpoint restore only: `restored` gives the daemon and containers of a
   * checkpointed engine, already rebuilt in `kernel`.
   * @internal
   */
  constructor(kernel: Kernel, options: EngineOptions | undefined, restored: EngineState);
  constructor(
    readonly kernel: Kernel,
    options: EngineOptions = {},
    restored?: EngineState,
  ) {
    this.log = options.log ?? (() => undefined);
    this.fs = new DaemonFs(kernel, this.log, restored?.daemon);
    for (const c of restored?.containers ?? []) this.containers.set(c.name, { ...c });
    const mf = kernel.memoryFile;
    this.meminfo = options.meminfo ?? (() => ({ memTotalKb: mf.totalFrames * 4, memAvailableKb: (mf.totalFrames - mf.allocatedFrames) * 4 }));
  }

  /** `isula create [--rm] [-m LIMIT] [--ipc MODE] [--shm-size SIZE] [--host-channel SPEC] --name NAME`. */
  create(name: string, options: CreateOptions & { readonly rm?: boolean } = {}): CommandResult {
    checkName('create', name);
    const copied = checkCreateOptions('create', options);
    this.reap();
    return this.doCreate(name, copied, copied.rm === true, 'create');
  }

  /** `isula start NAME`. Starting a running container does nothing, successfully. */
  start(name: string): CommandResult {
    checkName('start', name);
    this.reap();
    const c = this.containers.get(name);
    if (c === undefined) return fail(1, ENGINE_MESSAGES.noSuchContainer(name));
    if (c.state === 'running') return OK;
    return this.doStart(c, 1);
  }

  /**
   * `isula stop NAME`. Stopping a container that is not running does
   * nothing, successfully; a --rm container that stops is removed.
   */
  stop(name: string): CommandResult {
    checkName('stop', name);
    this.reap();
    const c = this.containers.get(name);
    if (c === undefined) return fail(1, ENGINE_MESSAGES.noSuchContainer(name));
    if (c.state !== 'running') return OK;
    this.halt(c);
    if (c.autoRemove) this.remove(c);
    return OK;
  }

  /** `isula restart NAME`: stop if running, then start (a --rm container is not removed in between). */
  restart(name: string): CommandResult {
    checkName('restart', name);
    this.reap();
    const c = this.containers.get(name);
    if (c === undefined) return fail(1, ENGINE_MESSAGES.noSuchContainer(name));
    this.halt(c);
    return this.doStart(c, 1);
  }

  /** `isula rm [-f] NAME`. A running container needs -f, which stops it first. */
  rm(name: string, options: { readonly force?: boolean } = {}): CommandResult {
    checkName('rm', name);
    const copied = checkOptions('rm', options, { force: 'boolean' });
    this.reap();
    const c = this.containers.get(name);
    if (c === undefined) return fail(1, ENGINE_MESSAGES.noSuchContainer(name));
    if (c.state === 'running' && copied['force'] !== true) return fail(1, ENGINE_MESSAGES.removeRunning(name));
    this.remove(c);
    return OK;
  }

  /** `isula run [--rm] [-m LIMIT] [--ipc MODE] [--shm-size SIZE] [--host-channel SPEC] --name NAME`: create, then start. */
  run(name: string, options: RunOptions = {}): CommandResult {
    checkName('run', name);
    const copied = checkCreateOptions('run', options);
    this.reap();
    const created = this.doCreate(name, copied, copied.rm === true, 'run');
    if (created.exitStatus !== 0) return created;
    const c = this.containers.get(name);
    if (c === undefined) throw new Error(`run: ${name} vanished after create`);
    const started = this.doStart(c, DAEMON_ERROR_EXIT_STATUS.run);
    if (started.exitStatus !== 0 && c.autoRemove) this.remove(c);
    return started;
  }

  /**
   * `isula exec NAME`: a new process in the running container's namespaces
   * and memory cgroup (root with every capability unless `creds` says
   * otherwise). Host processes are plain `kernel.spawn()` ones.
   */
  exec(name: string, creds: CredentialsInit = {}): E.Either<CommandResult, Process> {
    checkName('exec', name);
    checkOptions('exec', creds, {});
    this.reap();
    const c = this.containers.get(name);
    if (c === undefined) return E.left(fail(1, ENGINE_MESSAGES.noSuchContainer(name)));
    if (c.running === undefined || c.cgroup === undefined) return E.left(fail(1, ENGINE_MESSAGES.notRunning(name)));
    // Only the credentials come from the caller: the namespaces and the cgroup are the container's.
    const { uid, gid, groups, caps, memlock } = creds;
    const spawned = this.kernel.trySpawn({
      ...(uid !== undefined ? { uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
      ...(groups !== undefined ? { groups } : {}),
      ...(caps !== undefined ? { caps } : {}),
      ...(memlock !== undefined ? { memlock } : {}),
      ipcNamespace: c.running.ipcNamespace,
      mountNamespace: c.running.mountNamespace,
      memoryCharge: c.cgroup,
    });
    return E.isLeft(spawned) ? E.left(fail(1, ENGINE_MESSAGES.invalidUser(spawned.left.message))) : spawned;
  }

  /** The container's init process while it runs (its exit ends the container). */
  initProcess(name: string): Process | undefined {
    checkName('initProcess', name);
    this.reap();
    return this.containers.get(name)?.running?.init;
  }

  /** The container's record, as `isula inspect` would build it; undefined for an unknown name. */
  inspect(name: string): ContainerConfig | undefined {
    checkName('inspect', name);
    this.reap();
    const c = this.containers.get(name);
    if (c === undefined) return undefined;
    return {
      name: c.name,
      state: c.state,
      ...(c.hostChannel !== undefined ? { hostChannel: c.hostChannel } : {}),
      ...(c.memoryLimit !== undefined ? { memoryLimit: c.memoryLimit } : {}),
      ...(c.ipcMode !== undefined ? { ipcMode: c.ipcMode } : {}),
      shmSize: c.shmSize,
    };
  }

  /** The memory cgroup of the container's latest start; undefined before its first start. */
  memoryCgroup(name: string): MemoryCgroup | undefined {
    checkName('memoryCgroup', name);
    this.reap();
    return this.containers.get(name)?.cgroup;
  }

  /** Names of the containers that exist, in creation order. */
  names(): string[] {
    this.reap();
    return [...this.containers.keys()];
  }

  /**
   * Checkpoint: the daemon's process and every container. Like every command
   * and query it reaps first, so a running container's init is alive.
   * @internal
   */
  checkpointState(): EngineState {
    this.reap();
    return { daemon: this.fs.daemonProcess, containers: [...this.containers.values()] };
  }

  /**
   * The daemon's SIGCHLD handling: a running container whose init has ended
   * is stopped (its remaining processes die with it) and, with --rm, removed.
   */
  reap(): void {
    for (const c of [...this.containers.values()]) {
      if (c.running === undefined) continue;
      const { init } = c.running;
      // exec joins the init's namespaces as /proc/PID/ns shows them now: an init that unshared its IPC namespace moved the container's.
      if (!init.exited && init.ipcNamespace !== c.running.ipcNamespace) c.running = { ...c.running, ipcNamespace: init.ipcNamespace };
      if (!init.exited) continue;
      this.halt(c);
      if (this.kernel.tracer !== undefined) this.kernel.tracer.emit({ kind: 'container', name: c.name, step: 'exited', exitStatus: 0, pid: init.pid });
      if (c.autoRemove) this.remove(c);
    }
  }

  private doCreate(name: string, options: CreateOptions, autoRemove: boolean, command: HostChannelCommand): CommandResult {
    // The client converts -m while it parses the command line, before it contacts the daemon: a size
    // it cannot read, or one outside 0..INT64_MAX, never gets there; create and run both exit 125.
    let memoryLimit = options.memoryLimit;
    let checkMinimum = false;
    if (options.memory !== undefined) {
      checkMinimum = true;
      const converted = convertMembytes(options.memory, 'memory');
      if (E.isLeft(converted)) return fail(OPTION_ERROR_EXIT_STATUS, converted.left);
      memoryLimit = converted.right;
    } else if (memoryLimit !== undefined && (memoryLimit < 0n || memoryLimit > INT64_MAX)) {
      return fail(OPTION_ERROR_EXIT_STATUS, ENGINE_MESSAGES.invalidMemory(String(memoryLimit)));
    }
    // --shm-size too is converted while the command line is parsed, and its failure exits 125 from create as from run.
    let shmSize: bigint | undefined;
    if (options.shmSize !== undefined) {
      const parsed = parseShmSize(options.shmSize);
      if (E.isLeft(parsed)) return fail(SHM_SIZE_ERROR_EXIT_STATUS, parsed.left);
      shmSize = parsed.right;
    }
    const settledShmSize = effectiveShmSize(shmSize);
    // The client validates the option before it contacts the daemon.
    let hostChannel: HostChannel | undefined;
    if (options.hostChannel !== undefined) {
      const parsed = parseHostChannel(options.hostChannel, { meminfo: this.meminfo(), isExistingDirectory: (p) => this.fs.isExistingDirectory(p) }, command);
      if (E.isLeft(parsed)) {
        return { exitStatus: SPEC_ERROR_EXIT_STATUS[command], stderr: parsed.left.stderr === undefined ? [] : [parsed.left.stderr] };
      }
      hostChannel = parsed.right;
    }
    if (!isValidContainerName(name)) return fail(DAEMON_ERROR_EXIT_STATUS[command], ENGINE_MESSAGES.invalidName(name));
    if (this.containers.has(name)) return fail(DAEMON_ERROR_EXIT_STATUS[command], ENGINE_MESSAGES.nameInUse(name));
    const rootfs = this.fs.mkdirAll(rootfsOf(name), 0o755);
    if (E.isLeft(rootfs)) {
      this.log(`Failed to create container root '${rootfsOf(name)}': ${rootfs.left.message}`);
      return fail(DAEMON_ERROR_EXIT_STATUS[command], ENGINE_MESSAGES.execFailed);
    }
    // The host config is verified once the container's directory exists (get_basic_spec), before any spec is made.
    if (checkMinimum && memoryLimit !== undefined && memoryLimit !== 0n && memoryLimit < MIN_MEMORY_LIMIT) {
      this.log('Minimum memory limit allowed is 4MB');
      this.fs.removeAll(containerDirOf(name));
      return fail(DAEMON_ERROR_EXIT_STATUS[command], ENGINE_MESSAGES.memoryBelowMinimum);
    }
    // The OCI spec is generated (and the shm path set up) before the channel is prepared.
    const ipcMode = options.ipc;
    const shm = this.setShmPath(name, ipcMode, settledShmSize);
    if (E.isLeft(shm)) {
      for (const line of shm.left) this.log(line);
      this.fs.removeAll(containerDirOf(name));
      return fail(DAEMON_ERROR_EXIT_STATUS[command], ENGINE_MESSAGES.execFailed);
    }
    const shmPath = shm.right;
    if (hostChannel !== undefined) {
      const prepared = this.fs.prepareHostChannel(hostChannel.pathOnHost);
      if (E.isLeft(prepared)) {
        this.log(prepared.left);
        this.umountOwnShm(ipcMode, shmPath);
        this.fs.removeAll(containerDirOf(name));
        return fail(DAEMON_ERROR_EXIT_STATUS[command], ENGINE_MESSAGES.execFailed);
      }
    }
    this.containers.set(name, {
      name,
      hostChannel,
      memoryLimit,
      ipcMode,
      shmSize: settledShmSize,
      shmPath,
      autoRemove,
      state: 'created',
      running: undefined,
      cgroup: undefined,
    });
    return OK;
  }

  /** do_start_container, as far as the channel goes: mount it, then build and enter the namespaces. */
  private doStart(c: Container, failureStatus: number): CommandResult {
    const channel = c.hostChannel;
    if (channel !== undefined) {
      const mounted = this.fs.mountHostChannel(channel);
      if (E.isLeft(mounted)) {
        this.log(`Failed to mount host path '${channel.pathOnHost}'`);
        this.log('Failed to mount host channel');
        return fail(failureStatus, ENGINE_MESSAGES.execFailed);
      }
    }
    const mode = ipcModeOf(c.ipcMode);
    if (mode.kind === 'shareable' && c.shmPath !== undefined) {
      const made = this.fs.createShmPath(c.shmPath, c.shmSize);
      if (E.isLeft(made)) {
        this.log(made.left);
        this.log('Failed to setup ipc dirs');
        return fail(failureStatus, ENGINE_MESSAGES.execFailed);
      }
    }
    const joined = this.sharedIpcNamespace(c, failureStatus);
    if (E.isLeft(joined)) return joined.left;
    const namespaces = this.fs.containerNamespace(rootfsOf(c.name), c.shmPath, c.hostChannel);
    if (E.isLeft(namespaces)) {
      this.log(`Failed to set up the mounts of ${c.name}: ${namespaces.left.message}`);
      return fail(failureStatus, ENGINE_MESSAGES.execFailed);
    }
    const ipcNamespace = joined.right ?? this.kernel.newIpcNamespace();
    // The runtime makes a fresh cgroup at every start; one left by an earlier
    // run keeps the charges of pages its tasks wrote, as an offline memcg does.
    const cgroup = new MemoryCgroup(`/isulad/${c.name}`, c.memoryLimit);
    const init = this.kernel.spawn({ ipcNamespace, mountNamespace: namespaces.right, memoryCharge: cgroup });
    // From here the namespace lives as long as the container's processes.
    namespaces.right.leave();
    c.cgroup = cgroup;
    c.running = { init, ipcNamespace, mountNamespace: namespaces.right };
    c.state = 'running';
    return OK;
  }

  /** Ends every process of a running container; the container is then `exited`. */
  private halt(c: Container): void {
    const running = c.running;
    if (running === undefined) return;
    for (const p of this.kernel.processes()) {
      if (p.mountNamespace === running.mountNamespace) p.exit();
    }
    c.running = undefined;
    c.state = 'exited';
  }

  /**
   * set_shm_path and setup_ipc_dirs at create: the host directory the
   * container will see at /dev/shm, mounted now when it is the container's
   * own. The Left holds the daemon's log lines; the client then sees only
   * the generic error, since none of these set a message for it.
   */
  private setShmPath(name: string, ipcMode: string | undefined, shmSize: bigint): E.Either<readonly string[], string | undefined> {
    const mode = ipcModeOf(ipcMode);
    switch (mode.kind) {
      case 'shareable': {
        const path = ownShmPath(name);
        const made = this.fs.createShmPath(path, shmSize);
        return E.isLeft(made) ? E.left([made.left, 'Failed to create shm path']) : E.right(path);
      }
      case 'container': {
        const donor = this.containers.get(mode.name);
        if (donor === undefined) return E.left([`Invalid share path: ${ipcMode}`, 'Failed to set shm path']);
        // A donor without a shm path leaves no /dev/shm mount whose size change_dev_shm_size could set.
        return donor.shmPath === undefined ? E.left(NO_DEV_SHM_MOUNT) : E.right(donor.shmPath);
      }
      case 'host':
        return this.fs.exists(DEV_SHM) ? E.right(DEV_SHM) : E.left(['/dev/shm is not mounted, but must be for --ipc=host', 'Failed to set shm path']);
      case 'none':
        return E.right(undefined);
      case 'other':
        return E.left(NO_DEV_SHM_MOUNT);
    }
  }

  /**
   * merge_share_namespace at start: the IPC namespace `c` must join, or
   * undefined for a new one. A donor that is gone fails with only a log
   * line; one that is not running fails with iSulad's message.
   */
  private sharedIpcNamespace(c: Container, failureStatus: number): E.Either<CommandResult, IpcNamespace | undefined> {
    const mode = ipcModeOf(c.ipcMode);
    if (mode.kind === 'host') return E.right(this.kernel.initialIpcNamespace);
    if (mode.kind !== 'container') return E.right(undefined);
    const donor = this.containers.get(mode.name);
    if (donor === undefined) {
      this.log(`Invalid share path: ${c.ipcMode}`);
      return E.left(fail(failureStatus, ENGINE_MESSAGES.execFailed));
    }
    if (donor.running === undefined) return E.left(fail(failureStatus, ENGINE_MESSAGES.joinNotRunning(mode.name)));
    return E.right(donor.running.ipcNamespace);
  }

  /** umount_share_shm: only a shareable container's own shm path is unmounted; a joined or host one is left alone. */
  private umountOwnShm(ipcMode: string | undefined, shmPath: string | undefined): void {
    if (ipcModeOf(ipcMode).kind === 'shareable' && shmPath !== undefined) this.fs.umountShm(shmPath);
  }

  /** do_delete_container: the shm path goes (umount_share_shm), the channel (umount_host_channel), then the container's own directory. */
  private remove(c: Container): void {
    this.halt(c);
    this.umountOwnShm(c.ipcMode, c.shmPath);
    if (c.hostChannel !== undefined) this.fs.umountHostChannel(c.hostChannel.pathOnHost);
    this.fs.removeAll(containerDirOf(c.name));
    this.containers.delete(c.name);
  }
}

/**
 * The trace (kernel/trace.ts): each command reports its container, its exit
 * status and the process it started, after it ran. Done once here, around
 * the commands, rather than at each of their returns; a kernel nobody
 * traces pays one field test per command.
 */
for (const step of ['create', 'start', 'stop', 'restart', 'rm', 'run', 'exec'] as const) {
  const proto = ContainerEngine.prototype as unknown as Record<string, (this: ContainerEngine, name: string, ...rest: unknown[]) => unknown>;
  const command = proto[step]!;
  proto[step] = function (this: ContainerEngine, name: string, ...rest: unknown[]): unknown {
    const r = command.call(this, name, ...rest);
    const tracer = this.kernel.tracer;
    if (tracer !== undefined) tracer.emit(containerStep(this, step, name, r));
    return r;
  };
}

/** A command's outcome as a trace event. */
function containerStep(engine: ContainerEngine, step: string, name: string, r: unknown): TraceEvent {
  // exec's outcome is an Either: the new process, or the client's failure.
  const either = r as { _tag?: string; left?: CommandResult; right?: Process };
  const result: CommandResult = either._tag === 'Right' ? OK : either._tag === 'Left' ? either.left! : (r as CommandResult);
  const started =
    either._tag === 'Right'
      ? either.right
      : result.exitStatus === 0 && (step === 'start' || step === 'run' || step === 'restart')
        ? engine.initProcess(name)
        : undefined;
  return {
    kind: 'container',
    name,
    step,
    exitStatus: result.exitStatus,
    ...(started !== undefined ? { pid: started.pid } : {}),
    ...(result.stderr.length > 0 ? { stderr: [...result.stderr] } : {}),
  };
}

/** change_dev_shm_size's failure when the spec has no /dev/shm mount to resize. */
const NO_DEV_SHM_MOUNT: readonly string[] = ['/dev/shm mount point not exist', 'Failed to set dev shm size'];

function containerDirOf(name: string): string {
  return `${CONTAINERS_DIR}/${name}`;
}

/** A shareable container's own shm path (get_prepare_share_shm_path: <container dir>/mounts/shm). */
export function ownShmPath(name: string): string {
  return `${containerDirOf(name)}/mounts/shm`;
}

function rootfsOf(name: string): string {
  return `${containerDirOf(name)}/rootfs`;
}

function fail(exitStatus: number, line: string): CommandResult {
  return { exitStatus, stderr: [line] };
}

/**
 * A command's arguments as the isula client has them: strings, and options
 * of the types CreateOptions declares. No command line gives anything else,
 * so another JavaScript type is a TypeError naming the method and argument.
 */
function checkName(method: string, name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`ContainerEngine.${method}: name must be a string, not ${describeValue(name)}`);
}

/**
 * The options of `types`, checked and copied: a TypeError unless `options`
 * is undefined or an object whose `types` fields are absent or of their
 * type, or when a field cannot be read (a getter or Proxy trap that
 * throws). Each is read once, so that the command uses the values checked
 * here (a getter answering differently on a later read made create throw
 * from inside the host channel's parser).
 */
function checkOptions(method: string, options: unknown, types: Readonly<Record<string, 'boolean' | 'string' | 'bigint'>>): Record<string, unknown> {
  if (!isOptions(options)) throw new TypeError(`ContainerEngine.${method}: options must be an object, not ${describeValue(options)}`);
  const copy: Record<string, unknown> = {};
  if (options === undefined) return copy;
  for (const [key, type] of Object.entries(types)) {
    let v: unknown;
    try {
      v = (options as Record<string, unknown>)[key];
    } catch {
      throw new TypeError(`ContainerEngine.${method}: options.${key} could not be read`);
    }
    if (v !== undefined && typeof v !== type) throw new TypeError(`ContainerEngine.${method}: options.${key} must be a ${type}, not ${describeValue(v)}`);
    if (v !== undefined) copy[key] = v;
  }
  return copy;
}

function checkCreateOptions(method: string, options: unknown): CreateOptions & { readonly rm?: boolean } {
  return checkOptions(method, options, { hostChannel: 'string', memoryLimit: 'bigint', memory: 'string', rm: 'boolean', ipc: 'string', shmSize: 'string' });
}
