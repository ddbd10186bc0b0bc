/**
 * Per-namespace semaphore limits and their sysctls (ipc/ipc_sysctl.c):
 * kernel.sem, four ints "SEMMSL SEMMNS SEMOPM SEMMNI" (ns->sem_ctls), and
 * kernel.sem_next_id. Each IPC namespace has its own copy, starting at
 * Linux's defaults (sem_init_ns). Guarded by the namespace's sem registry
 * lock.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPCMNI } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { SEMMNI, SEMMNS, SEMMSL, SEMOPM } from '../abi/sem.js';

/** The sem sysctls under /proc/sys/kernel. */
export type SemSysctl = 'sem' | 'sem_next_id';

const INT_MIN = -0x80000000n;
const INT_MAX = 0x7fffffffn;

/** The semaphore limits of one IPC namespace. */
export class SemLimits {
  /** Most semaphores in one set (sem_ctls[0]). */
  semmsl = SEMMSL;
  /** Most semaphores in all sets of the namespace (sem_ctls[1]). */
  semmns = SEMMNS;
  /** Most operations in one semop call (sem_ctls[2]). */
  semopm = SEMOPM;
  /** Most sets (sem_ctls[3]); ipc_addid caps it at IPCMNI. */
  semmni = SEMMNI;
  /** kernel.sem_next_id: the id the next creation uses, or -1. */
  semNextId = -1;

  /** kernel.sem as /proc shows it: semmsl, semmns, semopm, semmni. */
  readSem(): readonly [number, number, number, number] {
    return [this.semmsl, this.semmns, this.semopm, this.semmni];
  }

  /**
   * Writes kernel.sem as proc_ipc_sem_dointvec does: proc_dointvec stores
   * the values in order, with no range check beyond an int's (a value
   * outside one is EINVAL, and the values before it stay written); an empty
   * write is EINVAL; values past the fourth are ignored. Then
   * sem_check_semmni: semmni outside 0..IPCMNI is ERANGE, and only semmni
   * goes back to what it was.
   */
  writeSem(values: readonly bigint[]): E.Either<SysError, void> {
    if (values.length === 0) return E.left(sysError('EINVAL', 'kernel.sem needs at least one value'));
    const semmni = this.semmni;
    const n = Math.min(values.length, 4);
    for (let i = 0; i < n; i += 1) {
      const v = values[i]!;
      if (typeof v !== 'bigint' || v < INT_MIN || v > INT_MAX) {
        return E.left(sysError('EINVAL', `kernel.sem's field ${i + 1} must be an int, not ${String(v)}`));
      }
      const x = Number(v);
      if (i === 0) this.semmsl = x;
      else if (i === 1) this.semmns = x;
      else if (i === 2) this.semopm = x;
      else this.semmni = x;
    }
    if (this.semmni < 0 || this.semmni > IPCMNI) {
      const bad = this.semmni;
      this.semmni = semmni;
      return E.left(sysError('ERANGE', `kernel.sem's semmni must lie in 0..${IPCMNI} (sem_check_semmni), not ${bad}`));
    }
    return E.right(undefined);
  }

  /** Writes kernel.sem_next_id (proc_dointvec_minmax, 0..INT_MAX); out of range is EINVAL and changes nothing. */
  writeSemNextId(value: bigint): E.Either<SysError, void> {
    if (typeof value !== 'bigint' || value < 0n || value > INT_MAX) {
      return E.left(sysError('EINVAL', `kernel.sem_next_id accepts 0..${INT_MAX}, not ${String(value)}`));
    }
    this.semNextId = Number(value);
    return E.right(undefined);
  }

  /** Reads a sysctl as /proc/sys/kernel/NAME shows it ("sem" as its four fields joined by tabs). */
  read(name: SemSysctl): string {
    return name === 'sem' ? this.readSem().join('\t') : String(this.semNextId);
  }
}
