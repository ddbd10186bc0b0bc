/**
 * The teaching page: a lesson list (the examples), an editor, run and step
 * controls, the emulator's output beside the real kernel's recorded output,
 * and live views of the kernel the worker runs. Plain DOM, no framework.
 */
import { canonical } from '../../src/scenario/result/normalize.js';
import type { OutputLine, Printed } from '../../src/scenario/result/printed.js';
import recorded from '../recorded.json';
import { LESSONS } from 'virtual:lessons';
import type { Lesson } from 'virtual:lessons';
import { highlightScenario } from './highlight.js';
import type { KernelView } from './model.js';
import type { FromWorker, MachineFacts, StatementInfo, ToWorker } from './protocol.js';

interface RecordedExample {
  readonly lines?: readonly OutputLine[];
  readonly failures?: readonly number[];
  readonly unavailable?: string;
}

const RECORDED = recorded as unknown as { machine: MachineFacts; examples: Record<string, RecordedExample> };

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`page: #${id} is missing from index.html`);
  return el as T;
};

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
};

const editor = $<HTMLTextAreaElement>('editor');
const highlighted = $<HTMLElement>('highlighted');
const status = $<HTMLElement>('status');

/** The page's state: the lesson shown, its statements, and how many have run. */
const state = {
  file: '',
  statements: [] as readonly StatementInfo[],
  count: 0,
  parsed: false,
  last: undefined as Extract<FromWorker, { type: 'state' }> | undefined,
};

// The isolation notice: without COOP/COEP the browser withholds SharedArrayBuffer.
function showIsolation(): void {
  const note = $('isolation');
  if (globalThis.crossOriginIsolated === true) {
    note.textContent = 'Cross-origin isolated: page frames live in SharedArrayBuffers, as in Node.';
    note.className = 'note ok';
    return;
  }
  note.className = 'note warn';
  note.textContent =
    'This page was served without the Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp headers, ' +
    'so the browser withholds SharedArrayBuffer. Every lesson still runs: the kernel keeps its page frames in plain ArrayBuffers instead, ' +
    'which one thread can use but no other worker could share. `npm run web` serves the page with the headers.';
}

// The worker.
let worker: Worker | undefined;
let pending: ToWorker | undefined;
let busy = false;

function send(m: ToWorker): void {
  if (worker === undefined) return;
  if (busy) {
    // Only the latest request matters: a click while the kernel runs replaces the one waiting.
    if (m.type === 'load' || pending?.type !== 'load') pending = m;
    return;
  }
  busy = true;
  worker.postMessage(m);
}

function startWorker(): void {
  try {
    worker = new Worker('worker.js');
  } catch (e) {
    status.textContent = `The kernel's Web Worker could not start here (${(e as Error).message}); serve the page over http (npm run web).`;
    return;
  }
  worker.onerror = (ev) => {
    status.textContent = `The kernel's Web Worker failed: ${ev.message}`;
  };
  worker.onmessage = (ev: MessageEvent<FromWorker>) => {
    busy = false;
    onWorker(ev.data);
    if (pending !== undefined) {
      const next = pending;
      pending = undefined;
      send(next);
    }
  };
}

function onWorker(m: FromWorker): void {
  switch (m.type) {
    case 'parsed':
      state.statements = m.statements;
      state.parsed = true;
      state.count = Math.min(state.count, m.statements.length);
      $('parse-errors').textContent = '';
      send({ type: 'goto', count: state.count });
      break;
    case 'parse-error':
      state.parsed = false;
      state.statements = [];
      $('parse-errors').textContent = m.errors.map((e) => `${m.file}:${e.line}:${e.col}: ${e.message}`).join('\n');
      status.textContent = 'The scenario does not parse: fix the lines named below the editor.';
      break;
    case 'state':
      state.last = m;
      state.count = m.count;
      render(m);
      break;
    case 'crash':
      status.textContent = `The emulator threw (a bug in ipc-sentry): ${m.message}`;
      break;
  }
}

// Lessons.
function lessonList(): void {
  const nav = $('lessons');
  let section = '';
  let list: HTMLOListElement | undefined;
  for (const lesson of LESSONS) {
    if (lesson.section !== section) {
      section = lesson.section;
      nav.append(el('h3', {}, section));
      list = el('ol');
      nav.append(list);
    }
    const button = el('button', { type: 'button', 'data-file': lesson.file, title: lesson.teaches }, lesson.title);
    button.addEventListener('click', () => openLesson(lesson));
    list?.append(el('li', {}, button));
  }
}

function openLesson(lesson: Lesson): void {
  state.file = lesson.file;
  state.count = 0;
  state.last = undefined;
  editor.value = lesson.source;
  editor.scrollTop = 0;
  editor.scrollLeft = 0;
  for (const b of document.querySelectorAll<HTMLButtonElement>('#lessons button')) {
    b.setAttribute('aria-current', String(b.dataset['file'] === lesson.file));
  }
  $('lesson-title').textContent = lesson.file;
  showLessonText(lesson);
  showMachine();
  repaint();
  load();
}

/** Lines of the file's leading comment: from the top to the first line that is not a comment, or an empty `#`. */
function headerLines(source: string): string[] {
  const out: string[] = [];
  for (const line of source.replace(/^\uFEFF/, '').split('\n')) {
    const m = /^#\s?(.*)$/.exec(line);
    if (m === null || m[1]!.trim() === '') break;
    out.push(m[1]!);
  }
  return out;
}

/** The lesson's own words, its leading comment, shown above the editor; the Linux rules it cites go in a line of their own. */
function showLessonText(lesson: Lesson): void {
  const lines = headerLines(lesson.source);
  const rulesAt = lines.findIndex((l) => /^Linux rules?:/.test(l));
  const prose = (rulesAt < 0 ? lines : lines.slice(0, rulesAt)).join(' ').replace(/^Lesson:\s*/, '');
  const body = prose.charAt(0).toUpperCase() + prose.slice(1);
  const rules = rulesAt < 0 ? '' : lines.slice(rulesAt).join(' ');
  const root = $('lesson-text');
  root.replaceChildren(el('p', { class: 'teaches' }, body || lesson.teaches));
  if (rules !== '') root.append(el('p', { class: 'rules' }, rules));
}

/** The comment lines right above scenario line `line` (1-based), after the leading comment: the lesson's note on that statement. */
function noteAbove(source: string, line: number): string {
  const lines = source.split('\n');
  const header = headerLines(source).length;
  const note: string[] = [];
  for (let i = line - 2; i >= header; i--) {
    const m = /^\s*#\s?(.*)$/.exec(lines[i] ?? '');
    if (m === null || m[1]!.trim() === '') break;
    note.unshift(m[1]!);
  }
  return note.join(' ');
}

function load(): void {
  send({ type: 'load', file: state.file || 'scratch.scn', source: editor.value, machine: RECORDED.machine });
}

// The editor: a textarea over its highlighted copy.
function repaint(): void {
  const current = state.count > 0 ? state.statements[state.count - 1]?.line : undefined;
  highlighted.innerHTML = `${highlightScenario(editor.value, current)}\n`;
  highlighted.scrollTop = editor.scrollTop;
  highlighted.scrollLeft = editor.scrollLeft;
}

let editTimer: ReturnType<typeof setTimeout> | undefined;
editor.addEventListener('input', () => {
  status.textContent = 'Edited: the scenario is checked again when you pause typing.';
  repaint();
  clearTimeout(editTimer);
  editTimer = setTimeout(load, 300);
});
editor.addEventListener('scroll', () => {
  highlighted.scrollTop = editor.scrollTop;
  highlighted.scrollLeft = editor.scrollLeft;
});

// Run and step.
function goto(count: number): void {
  if (!state.parsed) return;
  send({ type: 'goto', count: Math.max(0, Math.min(count, state.statements.length)) });
}

$('run').addEventListener('click', () => goto(state.statements.length));
$('step-forward').addEventListener('click', () => goto(state.count + 1));
$('step-back').addEventListener('click', () => goto(state.count - 1));
$('reset').addEventListener('click', () => goto(0));

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey && ev.key === 'Enter') {
    ev.preventDefault();
    goto(state.statements.length);
  } else if (ev.altKey && (ev.key === 'n' || ev.key === 'N')) {
    ev.preventDefault();
    goto(state.count + 1);
  } else if (ev.altKey && (ev.key === 'p' || ev.key === 'P')) {
    ev.preventDefault();
    goto(state.count - 1);
  }
});

// Output: the emulator's lines beside the kernel's recorded ones.
const HIDDEN = new Set(['line', 'proc', 'op', 'expect', 'stderr', 'ok']);

/** Bytes read back: a quoted string when printable, as the CLI's transcript shows them, else the hex. */
function showData(hex: string): string {
  const bytes = hex.match(/../g)?.map((h) => Number.parseInt(h, 16)) ?? [];
  return bytes.every((b) => b >= 0x20 && b <= 0x7e) ? JSON.stringify(String.fromCharCode(...bytes)) : `0x${hex}`;
}

function showValue(v: Printed): string {
  if (Array.isArray(v)) return `[${v.map(showValue).join(' ')}]`;
  if (typeof v === 'object' && v !== null) {
    return Object.entries(v as Record<string, Printed>)
      .map(([k, x]) => `${k}=${showValue(x)}`)
      .join(' ');
  }
  return String(v);
}

/** A result as the page prints it: the outcome and its fields, then a command's stderr lines verbatim. */
function resultText(l: OutputLine): string {
  const head = l['blocked'] === true ? 'blocked' : l['ok'] === false ? String(l['errno'] ?? l['signal'] ?? 'failed') : 'ok';
  const fields = Object.entries(l)
    .filter(([k]) => !HIDDEN.has(k) && !(head !== 'ok' && (k === 'errno' || k === 'signal' || k === 'blocked')))
    .map(([k, v]) =>
      k === 'of'
        ? `(the call of line ${showValue(v)} ${head === 'blocked' ? 'still sleeps' : 'woke and returned'})`
        : k === 'data' && typeof v === 'string'
          ? `data=${showData(v)}`
          : typeof v === 'object'
            ? `${k}: ${showValue(v)}`
            : `${k}=${showValue(v)}`,
    );
  const stderr = Array.isArray(l['stderr']) ? (l['stderr'] as string[]) : [];
  return [...stderr, [head, ...fields].join('  ')].join('\n');
}

/** A line without its `expect` note: the backend's answer, as scripts/conformance.ts compares them. */
function answer(l: OutputLine | undefined): string {
  if (l === undefined) return '';
  const { expect: _note, ...rest } = l;
  return canonical(rest);
}

function showMachine(): void {
  const m = RECORDED.machine;
  const pkeys =
    m.protectionKeys === null ? 'unknown' : m.protectionKeys ? 'yes (PROT_EXEC-only pages are unreadable)' : 'no (PROT_EXEC-only pages stay readable)';
  $('machine').textContent =
    `Recorded by npm run conformance on ${m.kernel} (${m.arch}), ${m.date.slice(0, 10)}; CPU protection keys: ${pkeys}; ` +
    `MemTotal ${m.memTotalBytes === null ? 'unknown' : `${Math.round(m.memTotalBytes / 2 ** 20)} MiB`}. The emulator here is sized like that machine.`;
}

function renderOutput(m: Extract<FromWorker, { type: 'state' }>): void {
  const body = $('output-rows');
  body.replaceChildren();
  const rec = RECORDED.examples[state.file];
  const kernelLines = rec?.lines;
  const failed = new Map(m.failures.map((f) => [f.line, f]));
  let differ = 0;
  m.lines.forEach((line, i) => {
    const info = state.statements[i];
    const k = kernelLines?.[i];
    const emu = resultText(line);
    const nat = kernelLines === undefined ? '' : k === undefined ? '(no line)' : resultText(k);
    const same = kernelLines === undefined ? undefined : answer(line) === answer(k);
    if (same === false) differ++;
    const f = failed.get(Number(line['line']));
    const expect = line['expect'];
    const check = f !== undefined ? `expected ${f.wanted}, got ${f.got}` : expect !== undefined ? 'expectation held' : '';
    const note = noteAbove(editor.value, Number(line['line']));
    const row = el(
      'tr',
      { class: `${same === false ? 'differs' : ''}${i === m.lines.length - 1 ? ' current' : ''}`, 'data-line': String(line['line']) },
      el(
        'td',
        { class: 'src' },
        ...(note === '' ? [] : [el('div', { class: 'stmt-note' }, note)]),
        el('span', { class: 'lineno' }, `${String(line['line'])}`),
        ` ${info?.text ?? ''}`,
      ),
      el(
        'td',
        { class: 'emu' },
        el('pre', {}, emu),
        check === '' ? '' : el('div', { class: f === undefined ? 'held' : 'failed' }, f === undefined ? `✓ ${check}` : `✗ ${check}`),
      ),
      el('td', { class: 'nat' }, kernelLines === undefined ? '' : el('pre', {}, nat)),
      el('td', { class: 'cmp' }, same === undefined ? '' : same ? 'same' : 'DIFFERS'),
    );
    body.append(row);
  });
  const summary = $('compare-summary');
  if (rec === undefined) summary.textContent = 'No recording of this file on the real kernel (it is not one of the examples, or was edited).';
  else if (rec.unavailable !== undefined) summary.textContent = `Not run on the real kernel: ${rec.unavailable.replace(/^unavailable: /, '')}.`;
  else if (m.lines.length === 0) summary.textContent = "Nothing has run yet: step forward, and each statement's line appears here beside the real kernel's.";
  else
    summary.textContent =
      differ === 0 ? `All ${m.lines.length} lines so far agree with the real kernel's.` : `${differ} line(s) differ from the real kernel's (marked DIFFERS).`;
  if (m.stop !== undefined) summary.textContent += ` The run stopped at line ${m.stop.line}: ${m.stop.reason}.`;
  scrollToCurrent(body.querySelector<HTMLElement>('tr.current'));
}

/** Scrolls the output box, and only it, so the current row shows; the window stays where the reader left it. */
function scrollToCurrent(row: HTMLElement | null): void {
  const box = row?.closest<HTMLElement>('.output-scroll');
  if (row == null || box == null) return;
  const head = box.querySelector('thead')?.getBoundingClientRect().height ?? 0;
  const r = row.getBoundingClientRect();
  const at = box.scrollTop + r.top - box.getBoundingClientRect().top;
  const top = at - head;
  const bottom = at + r.height - box.clientHeight;
  if (box.scrollTop > top) box.scrollTop = top;
  else if (box.scrollTop < bottom) box.scrollTop = bottom;
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[], caption?: string): HTMLTableElement {
  const t = el('table');
  if (caption !== undefined) t.append(el('caption', {}, caption));
  t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))));
  t.append(el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, String(c)))))));
  return t;
}

function renderProcesses(v: KernelView): void {
  const root = $('view-processes');
  root.replaceChildren();
  if (v.processes.length === 0) root.append(el('p', {}, 'No processes yet: step forward to the first proc statement.'));
  for (const p of v.processes) {
    const facts = [
      `pid ${p.pid}`,
      p.state,
      ...(p.waiting === undefined ? [] : [`asleep in ${p.waiting}`]),
      ...(p.uid >= 0 ? [`uid ${p.uid} gid ${p.gid}`] : []),
      ...(p.container === undefined ? [] : [`in container ${p.container}`]),
      ...(p.ipcNs === '' ? [] : [`IPC namespace ${p.ipcNs}`]),
      ...(p.cgroup === '' ? [] : [`memory cgroup ${p.cgroup}`]),
    ];
    const section = el('section', { class: 'proc', 'data-proc': p.name }, el('h3', {}, `${p.name} `, el('small', {}, facts.join(' · '))));
    if (p.vmas.length > 0) {
      section.append(
        table(
          ['start', 'end', 'KiB', 'perms', 'max', 'object', 'attach origin', 'resident pages'],
          p.vmas.map((m) => [m.start, m.end, m.kib, m.perms, m.maxPerms, m.name || m.kind, m.origin ?? '', m.residentPages]),
          `${p.name}'s address space (as /proc/${p.pid}/maps lists it)`,
        ),
      );
    }
    root.append(section);
  }
}

function renderIpc(v: KernelView): void {
  const root = $('view-ipc');
  root.replaceChildren();
  for (const ns of v.namespaces) {
    const section = el('section', { class: 'ns' }, el('h3', {}, `IPC namespace ${ns.label}: ipcs -a`), el('pre', { class: 'ipcs' }, ns.ipcs));
    for (const s of ns.semSets) {
      const t = table(
        ['semnum', 'value', 'ncount', 'zcount', 'pid (last semop)'],
        s.semaphores.map((x, i) => [i, x.value, x.ncount, x.zcount, x.lastBy]),
        `semid ${s.id} (ipcs -s -i ${s.id}): ncount counts the processes asleep until the value can drop`,
      );
      t.dataset['semid'] = String(s.id);
      section.append(t, waitersLine(`semid ${s.id}`, s.waiters));
    }
    for (const q of ns.queues) {
      const t = table(
        ['qnum', 'cbytes', 'qbytes', 'lspid (last msgsnd)', 'lrpid (last msgrcv)'],
        [[q.qnum, q.cbytes, q.qbytes, q.lspid, q.lrpid]],
        `msqid ${q.id} (msgctl IPC_STAT): qnum and cbytes count the messages waiting in the queue`,
      );
      t.dataset['msqid'] = String(q.id);
      section.append(t, waitersLine(`msqid ${q.id}`, q.waiters));
    }
    root.append(section);
  }
}

/** Who sleeps on a set or queue: the answer to "why did that statement print blocked?". */
function waitersLine(what: string, waiters: readonly string[]): HTMLElement {
  return el(
    'p',
    { class: `waiters${waiters.length === 0 ? '' : ' asleep'}` },
    waiters.length === 0 ? `Nobody sleeps on ${what}.` : `Asleep on ${what}: ${waiters.join('; ')}`,
  );
}

function renderFrames(v: KernelView): void {
  const root = $('view-frames');
  const f = v.frames;
  root.replaceChildren(
    el(
      'p',
      {},
      `${f.allocated} page frame(s) allocated (${(f.allocated * 4) / 1024} MiB).` +
        (f.unattributed === 0 ? '' : ` ${f.unattributed} not attributed to an object below.`),
    ),
    table(
      ['owner', 'pages', 'KiB'],
      f.owners.map((o) => [o.owner, o.pages, o.pages * 4]),
      'Frames by the object that holds them',
    ),
  );
}

function renderStorage(v: KernelView): void {
  const root = $('view-storage');
  root.replaceChildren(
    table(
      ['seen from', 'mountpoint', 'device', 'used pages', 'capacity pages', 'used', 'inodes', 'ro'],
      v.mounts.map((m) => [
        m.where,
        m.mountpoint,
        m.device,
        m.usedPages,
        m.capacityPages === 0 ? 'unlimited' : m.capacityPages,
        m.capacityPages === 0 ? '' : `${Math.round((100 * m.usedPages) / m.capacityPages)}%`,
        `${m.usedInodes}/${m.inodeLimit === 0 ? '∞' : m.inodeLimit}`,
        m.readonly ? 'ro' : 'rw',
      ]),
      'tmpfs mounts (the host channel is the one at its host path)',
    ),
    v.cgroups.length === 0
      ? el('p', {}, 'No memory cgroup besides the root: no container process is running.')
      : table(
          ['memory cgroup', 'charged pages', 'KiB', 'limit pages', 'failcnt'],
          v.cgroups.map((c) => [c.path, c.usagePages, c.usagePages * 4, c.limitPages ?? 'none', c.failCount]),
          "Memory cgroups of running processes (tmpfs pages are charged to the writer's)",
        ),
  );
}

function renderTrace(m: Extract<FromWorker, { type: 'state' }>): void {
  const root = $('view-trace');
  root.replaceChildren();
  const any = m.trace.some((g) => g.length > 0);
  if (!any) {
    root.append(
      el(
        'p',
        {},
        m.count === 0 ? 'Nothing has run yet: step forward to see the calls each statement makes.' : 'The statements run so far made no trace events.',
      ),
    );
    return;
  }
  m.trace.forEach((events, i) => {
    const info = state.statements[i];
    root.append(el('h3', {}, `line ${info?.line ?? '?'}: ${info?.text ?? ''}`), el('pre', { class: 'trace' }, events.join('\n') || '(no events)'));
  });
}

function render(m: Extract<FromWorker, { type: 'state' }>): void {
  const n = state.statements.length;
  const at = m.count === 0 ? 'before the first statement' : `after line ${state.statements[m.count - 1]?.line}`;
  status.textContent = `Statement ${m.count} of ${n} (${at}). The worker ran these ${m.count} statements on a fresh kernel in ${m.ms.toFixed(1)} ms.`;
  $<HTMLButtonElement>('step-back').disabled = m.count === 0;
  $<HTMLButtonElement>('step-forward').disabled = m.count >= n;
  $<HTMLButtonElement>('run').disabled = m.count >= n;
  repaint();
  renderOutput(m);
  renderProcesses(m.view);
  renderIpc(m.view);
  renderFrames(m.view);
  renderStorage(m.view);
  renderTrace(m);
}

// Tabs: arrow keys move between them, as a tablist should.
function tabs(): void {
  const list = [...document.querySelectorAll<HTMLButtonElement>('[role=tab]')];
  const select = (tab: HTMLButtonElement): void => {
    for (const t of list) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls') ?? '').hidden = !on;
    }
  };
  list.forEach((t, i) => {
    t.addEventListener('click', () => select(t));
    t.addEventListener('keydown', (ev) => {
      const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (d === 0) return;
      const next = list[(i + d + list.length) % list.length]!;
      select(next);
      next.focus();
    });
  });
  select(list[0]!);
}

showIsolation();
lessonList();
tabs();
startWorker();
const first = LESSONS[0];
if (first !== undefined) openLesson(first);
