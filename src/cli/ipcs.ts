/**
 * The `ipcs -m` view of a namespace, in util-linux's column layout: key,
 * shmid, owner, perms, bytes, nattch, status (dest, locked).
 */
import { SHM_DEST, SHM_LOCKED } from '../abi/constants.js';
import type { ShmidDs } from '../abi/shm.js';
import type { IpcNamespace } from '../kernel/ipc_namespace.js';

/** A segment as ipcs lists it. */
export interface IpcsRow {
  readonly id: number;
  readonly ds: ShmidDs;
}

const pad = (s: string | number | bigint, n: number): string => String(s).padEnd(n);

/** Names ipcs shows for well-known uids; others print as numbers, as ipcs does without a passwd entry. */
const USER_NAMES = new Map<number, string>([
  [0, 'root'],
  [65534, 'nobody'],
]);

/** Renders rows in `ipcs -m` layout (header included, as util-linux prints it). */
export function formatIpcs(rows: readonly IpcsRow[]): string {
  const lines = ['', '------ Shared Memory Segments --------', `${['key', 'shmid', 'owner', 'perms', 'bytes', 'nattch'].map((h) => pad(h, 10)).join(' ')} ${pad('status', 12)}`];
  for (const { id, ds } of rows) {
    const key = `0x${(ds.perm.key >>> 0).toString(16).padStart(8, '0')}`;
    const owner = USER_NAMES.get(ds.perm.uid) ?? String(ds.perm.uid);
    const dest = (ds.perm.mode & SHM_DEST) !== 0 ? 'dest' : '';
    const locked = (ds.perm.mode & SHM_LOCKED) !== 0 ? 'locked' : '';
    lines.push(
      `${key} ${pad(id, 10)} ${pad(owner, 10)} ${pad((ds.perm.mode & 0o777).toString(8), 10)} ${pad(ds.segsz, 10)} ${pad(ds.nattch, 10)} ${pad(dest, 6)} ${pad(locked, 6)}`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/** Every segment of `ns` in index order, as `ipcs -m` would list it (it uses SHM_STAT_ANY). */
export function ipcsRows(ns: IpcNamespace): IpcsRow[] {
  const rows: IpcsRow[] = [];
  for (const s of ns.shm.segments()) {
    rows.push({ id: s.id, ds: s.mu.with(() => s.statLocked()) });
    s.decRef();
  }
  return rows;
}
