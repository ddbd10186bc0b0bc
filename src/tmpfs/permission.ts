/**
 * Permission checks on tmpfs inodes, after Linux fs/namei.c:
 * generic_permission with its capability overrides, and the sticky-bit rule
 * of may_delete. One user namespace: capable() is a plain capability test.
 */
import { MAY_EXEC, MAY_WRITE, S_ISVTX } from '../abi/fs.js';
import type { Credentials } from '../auth/credentials.js';
import { hasCapability, inGroup } from '../auth/credentials.js';
import type { Inode } from './inode.js';

/**
 * generic_permission: may `creds` access `inode` with the MAY_* bits in
 * `mask`? The owner class is used when the uid matches, the group class
 * when a group matches, else the other class. CAP_DAC_OVERRIDE grants read
 * and write always, and execute on a directory or on a file with any
 * execute bit.
 */
export function permits(creds: Credentials, inode: Inode, mask: number): boolean {
  const mode = inode.mode;
  let granted: number;
  if (creds.uid === inode.uid) granted = (mode >> 6) & 7;
  else if (inGroup(creds, inode.gid)) granted = (mode >> 3) & 7;
  else granted = mode & 7;
  if ((mask & ~granted & 7) === 0) return true;
  if (!hasCapability(creds, 'CAP_DAC_OVERRIDE')) return false;
  if ((mask & MAY_EXEC) === 0) return true;
  return inode.kind === 'dir' || (mode & 0o111) !== 0;
}

/**
 * check_sticky: in a directory with S_ISVTX, only the file's owner, the
 * directory's owner, or a holder of CAP_FOWNER may remove or rename an entry.
 * True when the removal is allowed.
 */
export function passesStickyRule(creds: Credentials, dir: Inode, victim: Inode): boolean {
  if ((dir.mode & S_ISVTX) === 0) return true;
  if (victim.uid === creds.uid || dir.uid === creds.uid) return true;
  return hasCapability(creds, 'CAP_FOWNER');
}

/** may_create / may_delete's first check: write and search permission on the directory. */
export function mayModifyDirectory(creds: Credentials, dir: Inode): boolean {
  return permits(creds, dir, MAY_WRITE | MAY_EXEC);
}
