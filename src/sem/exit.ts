/**
 * exit_sem (ipc/sem.c): a task leaves its undo list, at exit, at
 * unshare(CLONE_NEWIPC) or unshare(CLONE_SYSVSEM), and at setns into
 * another IPC namespace. Only the last task sharing the list applies it.
 *
 * Each entry, most recently used first: an entry whose set is gone is
 * skipped (IPC_RMID already unlinked it); otherwise it leaves both lists,
 * each non-zero semadj is added to its semaphore with the result clamped to
 * 0..SEMVMX (never blocking, never failing) and sempid becomes the exiting
 * process's tgid, and then do_smart_update(no sops, otime set) wakes
 * waiters and sets sem_otime of semaphore 0, even when every semadj was 0.
 * The completions of one set are delivered before the next set is undone.
 *
 * The kernel must end the task's own waits (interrupt()) before calling
 * this: a task exits only once it no longer sleeps in semop.
 */
import { SEMVMX } from '../abi/sem.js';
import type { SysvSem } from './undo.js';
import type { WakeQueue } from './waiter.js';
import { wakeUp } from './waiter.js';
import { doSmartUpdate } from './wake.js';

/**
 * exit_sem for the task whose slot is `task`; `pid` is its tgid. `now`, when
 * given, is sem_otime for every set (the caller read the clock before it
 * changed anything); else each set's owner is asked.
 */
export function exitSem(task: SysvSem, pid: number, now?: number): void {
  const ulp = task.undoList;
  if (ulp === undefined) return;
  task.undoList = undefined;
  ulp.refs -= 1;
  if (ulp.refs > 0) return;
  for (;;) {
    const un = ulp.entries[0];
    if (un === undefined) break;
    const set = un.set;
    if (un.semid === -1 || set.pendingDestruction) {
      ulp.remove(un);
      continue;
    }
    const otime = now ?? set.owner.now();
    const wq: WakeQueue = [];
    set.lock();
    try {
      const i = set.undos.indexOf(un);
      if (i >= 0) set.undos.splice(i, 1);
      ulp.remove(un);
      for (let s = 0; s < set.nsems; s += 1) {
        const adj = un.semadj[s]!;
        if (adj === 0) continue;
        const v = set.semval[s]! + adj;
        set.semval[s] = Math.max(0, Math.min(v, SEMVMX));
        set.sempid[s] = pid;
      }
      doSmartUpdate(set, undefined, true, wq, otime);
    } finally {
      set.unlockSet();
    }
    wakeUp(wq);
  }
}
