/**
 * Highlighting for scenario files (docs/scenario-language.md): comments,
 * strings, expectations after `=>`, variable bindings after `->`, flag
 * names and numbers. Output is HTML spans with classes the stylesheet
 * colours; every character of the input is kept, so the highlighted text
 * lies exactly under the editor's own.
 */

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const span = (cls: string, text: string): string => `<span class="${cls}">${escapeHtml(text)}</span>`;

/** Words that start a statement without a process, or follow one. */
const OPS = new Set(
  (
    'proc fork exit wait interrupt sleep sysctl rlimit ns checkpoint restore isula meminfo dd open close fwrite fread unlink mkdir rmdir statfs stat ' +
    'ftruncate fallocate mmap munmap mprotect read write fill shmget shmat shmdt shmctl semget semop semtimedop semctl msgget msgsnd msgrcv msgctl ' +
    'memfd_create fcntl shm_open shm_unlink pread pwrite'
  ).split(' '),
);

/** One line of code (no comment) split into spans. */
function code(text: string): string {
  let out = '';
  const re =
    /("(?:[^"\\]|\\.)*"?)|(=>.*$)|(->\s*[A-Za-z_][A-Za-z0-9_]*)|(\b(?:IPC|SHM|SEM|MSG|GET|SET|O|PROT|MAP|MFD|F|FALLOC|SEAL)_[A-Z0-9_|]*|\bGETALL\b|\bSETALL\b|\bGETVAL\b|\bSETVAL\b|\bGETPID\b|\bGETNCNT\b|\bGETZCNT\b)|(\b(?:0x[0-9a-fA-F]+|\d+[KMG]?)\b)|([A-Za-z_][A-Za-z0-9_.-]*)/g;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out += escapeHtml(text.slice(last, m.index));
    const [whole, str, expect, bind, flag, num, word] = m;
    if (str !== undefined) out += span('h-str', str);
    else if (expect !== undefined) out += span('h-expect', expect);
    else if (bind !== undefined) out += span('h-bind', bind);
    else if (flag !== undefined) out += span('h-flag', flag);
    else if (num !== undefined) out += span('h-num', num);
    else if (word !== undefined && OPS.has(word)) out += span('h-op', word);
    else out += escapeHtml(whole);
    last = m.index + whole.length;
  }
  return out + escapeHtml(text.slice(last));
}

/** A comment starts at a # outside a string. */
function commentStart(line: string): number {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString && c === '\\') i++;
    else if (c === '"') inString = !inString;
    else if (c === '#' && !inString) return i;
  }
  return -1;
}

/** The whole file as highlighted HTML, one line per source line; `current` (1-based) gets a mark. */
export function highlightScenario(source: string, current?: number): string {
  return source
    .split('\n')
    .map((line, i) => {
      const at = commentStart(line);
      const html = at < 0 ? code(line) : code(line.slice(0, at)) + span('h-comment', line.slice(at));
      return i + 1 === current ? `<span class="h-current">${html || ' '}</span>` : html;
    })
    .join('\n');
}
