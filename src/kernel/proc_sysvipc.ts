/**
 * /proc/sysvipc/shm, /proc/sysvipc/sem and /proc/sysvipc/msg of a model
 * namespace, as a 64-bit Linux prints them for a reader in that namespace
 * (sysvipc_shm_proc_show, sysvipc_sem_proc_show, sysvipc_msg_proc_show):
 * a header line, then one line per object in index order. Keys print as
 * signed ints, modes in octal (with SHM_DEST and SHM_LOCKED for segments),
 * ids, pids and times as decimals right-justified in fixed widths that
 * wider values overflow. A segment's rss and swap are in bytes.
 *
 * Pure: no Node API, so a browser page can show the same files.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import type { MsqidDs } from '../abi/msg.js';
import type { SemidDs } from '../abi/sem.js';
import type { IpcNamespace } from './ipc_namespace.js';

/** The three files of /proc/sysvipc. */
export type SysvipcFile = 'shm' | 'sem' | 'msg';

/** The header lines, as ipc_init_proc_interface registers them. */
export const SYSVIPC_HEADERS: Readonly<Record<SysvipcFile, string>> = Object.freeze({
  shm: '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n',
  sem: '       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n',
  msg: '       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n',
});

/** %Nd, %Nu, %No and friends: `text` right-justified in `width` (never cut). */
const right = (text: string | number | bigint, width: number): string => String(text).padStart(width, ' ');

/** %d of an int. */
const int = (n: number): string => String(n | 0);

/** %u of a 32-bit unsigned (uid_t, gid_t, pid_t as the kernel prints them). */
const uns = (n: number): string => String(n >>> 0);

/** %llu of a time64_t that is never negative here. */
const time = (t: number): string => String(Math.max(0, Math.trunc(t)));

/** The perms column: two spaces, then %4o of the whole mode. */
const mode = (m: number): string => `  ${right((m >>> 0).toString(8), 4)}`;

/** The owner columns every file ends its ids with: " %5u" of uid, gid, cuid and cgid. */
function owners(p: { readonly uid: number; readonly gid: number; readonly cuid: number; readonly cgid: number }): string {
  return ` ${right(uns(p.uid), 5)} ${right(uns(p.gid), 5)} ${right(uns(p.cuid), 5)} ${right(uns(p.cgid), 5)}`;
}

/** /proc/sysvipc/shm. */
export function sysvipcShm(ns: IpcNamespace): string {
  let out = SYSVIPC_HEADERS.shm;
  for (const s of ns.shm.segments()) {
    try {
      const { ds, rss } = s.mu.with(() => ({ ds: s.statLocked(), rss: s.residentPages }));
      const p = ds.perm;
      out +=
        `${right(int(p.key), 10)} ${right(int(s.id), 10)}${mode(p.mode)} ${right(ds.segsz, 21)} ${right(uns(ds.cpid), 5)} ${right(uns(ds.lpid), 5)}` +
        `  ${right(ds.nattch, 5)}${owners(p)} ${right(time(ds.atime), 10)} ${right(time(ds.dtime), 10)} ${right(time(ds.ctime), 10)}` +
        ` ${right(BigInt(rss) * BigInt(PAGE_SIZE), 21)} ${right(0, 21)}\n`;
    } finally {
      s.decRef();
    }
  }
  return out;
}

/** /proc/sysvipc/sem. */
export function sysvipcSem(ns: IpcNamespace): string {
  let out = SYSVIPC_HEADERS.sem;
  for (const { id, ds } of semRows(ns)) {
    const p = ds.perm;
    out += `${right(int(p.key), 10)} ${right(int(id), 10)}${mode(p.mode)} ${right(uns(ds.nsems), 10)}${owners(p)} ${right(time(ds.otime), 10)} ${right(time(ds.ctime), 10)}\n`;
  }
  return out;
}

/** /proc/sysvipc/msg. */
export function sysvipcMsg(ns: IpcNamespace): string {
  let out = SYSVIPC_HEADERS.msg;
  for (const { id, ds } of msgRows(ns)) {
    const p = ds.perm;
    out +=
      `${right(int(p.key), 10)} ${right(int(id), 10)}${mode(p.mode)}  ${right(ds.cbytes, 10)} ${right(ds.qnum, 10)} ${right(uns(ds.lspid), 5)} ${right(uns(ds.lrpid), 5)}` +
      `${owners(p)} ${right(time(ds.stime), 10)} ${right(time(ds.rtime), 10)} ${right(time(ds.ctime), 10)}\n`;
  }
  return out;
}

/** The text of /proc/sysvipc/`file` for a reader in `ns`. */
export function sysvipcText(ns: IpcNamespace, file: SysvipcFile): string {
  return file === 'shm' ? sysvipcShm(ns) : file === 'sem' ? sysvipcSem(ns) : sysvipcMsg(ns);
}

/** A semaphore set as ipcs lists it (a line of /proc/sysvipc/sem). */
export interface IpcsSemRow {
  readonly id: number;
  readonly ds: SemidDs;
}

/** Every semaphore set of `ns` in index order, as /proc/sysvipc/sem lists them. */
export function semRows(ns: IpcNamespace): IpcsSemRow[] {
  const rows: IpcsSemRow[] = [];
  for (const s of ns.sem.sets()) {
    rows.push(s.mu.with(() => ({ id: s.perm.id, ds: s.statLocked() })));
    s.decRef();
  }
  return rows;
}

/** A message queue as ipcs lists it (a line of /proc/sysvipc/msg). */
export interface IpcsMsgRow {
  readonly id: number;
  readonly ds: MsqidDs;
}

/** Every message queue of `ns` in index order, as /proc/sysvipc/msg lists them. */
export function msgRows(ns: IpcNamespace): IpcsMsgRow[] {
  const rows: IpcsMsgRow[] = [];
  for (const q of ns.msg.queues()) {
    rows.push(q.mu.with(() => ({ id: q.perm.id, ds: q.statLocked() })));
    q.decRef();
  }
  return rows;
}
