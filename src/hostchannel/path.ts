/**
 * Lexical path cleaning as iSulad's client does it (src/utils/cutils/path.c,
 * util_clean_path) for an absolute path: no symlink is resolved and nothing
 * on any filesystem is consulted.
 */

import { PATH_MAX } from '../abi/fs.js';

/** Linux PATH_MAX (abi/fs.ts): the size of the buffer util_clean_path writes into, NUL included. */
export { PATH_MAX };

/**
 * Cleans an absolute path: runs of '/' collapse, '.' parts vanish, '..'
 * drops the part before it but never climbs above '/', and a trailing '/'
 * goes (except for '/' itself).
 *
 * Returns undefined when the result being built would fill the PATH_MAX
 * buffer. The C code checks the length each time it appends a part, before
 * any later '..' can shorten it again, so a long intermediate result fails
 * even if the final one would be short. Lengths are in UTF-8 bytes, as C
 * counts them.
 *
 * Precondition: `path` starts with '/' (callers report relative paths first).
 */
export function cleanAbsolutePath(path: string): string | undefined {
  // `parts` is what the C buffer holds, one entry per component after the
  // leading '/'; `bytes` is the buffer's length in bytes.
  const parts: string[] = [];
  let bytes = 1;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      const last = parts.pop();
      if (last !== undefined) bytes -= utf8Length(last) + (parts.length === 0 ? 0 : 1);
      continue;
    }
    // The separator before this part is written first, then the length is
    // checked: dest + len >= buffer end fails (path.c do_clean_path).
    const separator = parts.length === 0 ? 0 : 1;
    const next = bytes + separator + utf8Length(part);
    if (next >= PATH_MAX) return undefined;
    parts.push(part);
    bytes = next;
  }
  return '/' + parts.join('/');
}

/** The number of bytes `s` takes in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
