/**
 * What a container's shell reports for a process it ran: the exit status and
 * the line bash prints when a child was killed (the OOM killer's SIGKILL).
 */
import type { Process } from '../kernel/process.js';

/** What a shell prints and returns for a child process that has ended. */
export interface ShellStatus {
  readonly exitStatus: number;
  readonly stderr: readonly string[];
}

/**
 * The status a shell reports for `p` once it has ended: 137 (128 + SIGKILL)
 * and bash's `Killed` line after an OOM kill, else 0. Undefined while `p`
 * runs.
 */
export function shellStatus(p: Process): ShellStatus | undefined {
  if (!p.exited) return undefined;
  return p.killedBy === 'SIGKILL' ? { exitStatus: 137, stderr: ['Killed'] } : { exitStatus: 0, stderr: [] };
}
