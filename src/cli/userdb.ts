/**
 * The Node side of `ipcs` names: a UserDatabase read from /etc/passwd and
 * /etc/group, the "files" source of getpwuid(3) and getgrgid(3). Other NSS
 * sources (LDAP, systemd's dynamic users) are not consulted.
 */
import { readFileSync } from 'node:fs';
import type { UserDatabase } from './ipcs.js';
import { parseUserDatabase } from './ipcs.js';

/** A file's text, or '' when it cannot be read (a database that knows nobody). */
function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The users and groups of this machine, read once now from `passwd` and
 * `group` (default /etc/passwd and /etc/group). A file that cannot be read
 * contributes no names, so its ids print as numbers.
 */
export function readUserDatabase(passwd = '/etc/passwd', group = '/etc/group'): UserDatabase {
  return parseUserDatabase(readOrEmpty(passwd), readOrEmpty(group));
}
