/**
 * An IPC namespace as the kernel holds it (Linux struct ipc_namespace; gVisor
 * kernel.IPCNamespace): its limits and its shm registry. Namespaces are
 * reference counted by their member processes; when the last member leaves,
 * every segment is removed as IPC_RMID would (shm_exit_ns). The kernel's
 * initial namespace never dies.
 */
import { IpcLimits } from '../ipc/limits.js';
import type { ShmEnvironment } from '../shm/registry.js';
import { Registry } from '../shm/registry.js';

/** One IPC namespace. */
export class IpcNamespace {
  readonly limits = new IpcLimits();
  /** @internal */
  readonly shm: Registry;
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
      this.shm.release();
    }
  }
}
