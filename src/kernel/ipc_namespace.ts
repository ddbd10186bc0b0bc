/**
 * An IPC namespace as the kernel holds it (Linux struct ipc_namespace; gVisor
 * kernel.IPCNamespace): its limits and its shm, semaphore and message queue
 * registries. Namespaces are reference counted by their member processes;
 * when the last member leaves, free_ipcs runs for each kind in Linux's order
 * (sem_exit_ns, msg_exit_ns, shm_exit_ns): every object is removed as
 * IPC_RMID would, and a call still waiting on a set or queue (one of a
 * process that unshared away) ends with EIDRM. The kernel's initial
 * namespace never dies.
 */
import { IpcLimits } from '../ipc/limits.js';
import { MsgLimits } from '../msg/limits.js';
import { MsgRegistry } from '../msg/registry.js';
import { SemLimits } from '../sem/limits.js';
import { SemRegistry } from '../sem/registry.js';
import type { ShmEnvironment } from '../shm/registry.js';
import { Registry } from '../shm/registry.js';

/** One IPC namespace. */
export class IpcNamespace {
  /** The shm limits (kernel.shmmax, shmall, shmmni, shm_rmid_forced, shm_next_id). */
  readonly limits = new IpcLimits();
  /** The semaphore limits (kernel.sem, sem_next_id). */
  readonly semLimits = new SemLimits();
  /** The message queue limits (kernel.msgmax, msgmnb, msgmni, msg_next_id). */
  readonly msgLimits = new MsgLimits();
  /** @internal */
  readonly shm: Registry;
  /** @internal */
  readonly sem: SemRegistry;
  /** @internal */
  readonly msg: MsgRegistry;
  private members = 0;
  private dead = false;

  /** @internal */
  constructor(
    /** A number unique within the kernel, for diagnostics; 0 is the initial namespace. */
    readonly nsId: number,
    env: ShmEnvironment,
    private readonly immortal: boolean,
  ) {
    this.shm = new Registry(this.limits, env);
    this.sem = new SemRegistry(this.semLimits, env.now);
    this.msg = new MsgRegistry(this.msgLimits, env.now);
  }

  /** True once the last member left and the namespace was torn down. */
  get isDead(): boolean {
    return this.dead;
  }

  /** Checkpoint: members, and whether the namespace lives for ever (the initial one). */
  get membership(): { readonly members: number; readonly immortal: boolean } {
    return { members: this.members, immortal: this.immortal };
  }

  /**
   * Checkpoint restore: the member count and teardown state checkpointed.
   * @internal
   */
  restoreMembership(members: number, dead: boolean): void {
    this.members = members;
    this.dead = dead;
  }

  /** A process joins (spawn, fork, unshare). */
  join(): void {
    if (this.dead) throw new Error(`IPC namespace ${this.nsId} joined after its teardown`);
    this.members += 1;
  }

  /** A process leaves (exit, unshare); the last one tears the namespace down. */
  leave(): void {
    this.members -= 1;
    if (this.members === 0 && !this.immortal) {
      this.dead = true;
      this.sem.release();
      this.msg.release();
      this.shm.release();
    }
  }
}
