/**
 * SEM_UNDO bookkeeping (Linux struct sem_undo, struct sem_undo_list,
 * get_undo_list, lookup_undo, copy_semundo). A process's tasks share one
 * UndoList (CLONE_SYSVSEM; glibc's threads); the list holds one SemUndo per
 * set the process used with SEM_UNDO, most recently used first, each with a
 * semadj per semaphore. A set keeps its SemUndos too (list_id), so SETVAL,
 * SETALL and IPC_RMID reach every process's adjustments.
 *
 * exit_sem is in exit.ts.
 */
import type { SemSet } from './set.js';

/** One process's adjustments for one set (struct sem_undo). */
export class SemUndo {
  /** The set's id; -1 once IPC_RMID invalidated the entry (freeary). */
  semid: number;
  /** semadj[i]: added to semaphore i at exit; a short, kept in [-32768, 32767] by semop's ERANGE. */
  readonly semadj: Int16Array;

  constructor(
    readonly ulp: UndoList,
    readonly set: SemSet,
    semid: number,
    nsems: number,
  ) {
    this.semid = semid;
    this.semadj = new Int16Array(nsems);
  }
}

/** The undo list a process's tasks share (struct sem_undo_list). */
export class UndoList {
  /** Tasks sharing the list; the last one to leave applies it. */
  refs = 1;
  /** list_proc: one entry per set, most recently used first. */
  readonly entries: SemUndo[] = [];

  /** __lookup_undo: the entry for `semid`, or undefined. */
  find(semid: number): SemUndo | undefined {
    for (const un of this.entries) if (un.semid === semid) return un;
    return undefined;
  }

  /** lookup_undo: the entry for `semid`, moved to the head (most recently used). */
  lookup(semid: number): SemUndo | undefined {
    const i = this.entries.findIndex((un) => un.semid === semid);
    if (i < 0) return undefined;
    const un = this.entries[i]!;
    if (i > 0) {
      this.entries.splice(i, 1);
      this.entries.unshift(un);
    }
    return un;
  }

  /** Unlinks an entry from list_proc (freeary, exit_sem). */
  remove(un: SemUndo): void {
    const i = this.entries.indexOf(un);
    if (i >= 0) this.entries.splice(i, 1);
  }
}

/**
 * A task's System V semaphore state (task_struct.sysvsem): its undo list,
 * made at its first SEM_UNDO semop. The kernel keeps one per task.
 */
export interface SysvSem {
  undoList: UndoList | undefined;
}

/** A task's slot with no undo list yet. */
export function newSysvSem(): SysvSem {
  return { undoList: undefined };
}

/** get_undo_list: the task's undo list, made now if it has none. */
export function getUndoList(task: SysvSem): UndoList {
  let ulp = task.undoList;
  if (ulp === undefined) {
    ulp = new UndoList();
    task.undoList = ulp;
  }
  return ulp;
}

/**
 * copy_semundo, at clone: with CLONE_SYSVSEM the child shares the parent's
 * list (made for the parent first if it had none); otherwise (fork) the
 * child starts with none and inherits no adjustment.
 */
export function copySemundo(parent: SysvSem, child: SysvSem, cloneSysvsem: boolean): void {
  if (!cloneSysvsem) {
    child.undoList = undefined;
    return;
  }
  const ulp = getUndoList(parent);
  ulp.refs += 1;
  child.undoList = ulp;
}
