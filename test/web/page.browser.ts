/**
 * The teaching page in a real Chromium (Debian's, at CHROMIUM or
 * /usr/bin/chromium; playwright-core drives it and downloads nothing).
 * `npm run test:web` builds web/dist first; these tests serve it, open it
 * as a new user would, run the host-channel lesson and one lesson of each
 * System V mechanism, and check what the page says: the lesson's own text,
 * the output lines beside the recorded kernel's, the ipcs tables with who
 * sleeps where, the address-space view, and stepping back and forward. They
 * also walk the page with the keyboard and measure its text contrast. A
 * screenshot of each view goes to web-artifacts/ (git-ignored).
 *
 * Only a browser that is missing or will not launch skips the tests (the
 * reason is printed and named in the suite's title); anything the page
 * does wrong fails them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

/** The page's document, as the functions evaluated in it see it (this file compiles without the DOM lib). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/** The little of the DOM the in-page checks below use, typed here for the same reason. */
interface InPageStyle {
  readonly color: string;
  readonly backgroundColor: string;
  readonly outlineStyle: string;
  readonly outlineWidth: string;
  readonly outlineColor: string;
}
interface InPageElement {
  readonly tagName: string;
  readonly id: string;
  readonly className: string;
  readonly textContent: string | null;
  readonly parentElement: InPageElement | null;
  readonly childNodes: ArrayLike<{ readonly nodeType: number; readonly nodeValue: string | null }>;
  checkVisibility(): boolean;
  getAttribute(name: string): string | null;
}
interface InPage {
  readonly document: { readonly activeElement: InPageElement | null; querySelectorAll(selector: string): ArrayLike<InPageElement> };
  getComputedStyle(e: InPageElement): InPageStyle;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(ROOT, 'web-artifacts');
const EXECUTABLE = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('web/dist is not built: run npm run test:web, which builds it first');

/**
 * The browser, or why there is none: Chromium missing, failing `--version`,
 * or failing to launch (a sandbox it cannot set up, a library it lacks).
 * Launched here, before the tests are collected, so that a browser that
 * cannot start skips them rather than failing the first one.
 */
async function launch(): Promise<{ browser: Browser } | { problem: string }> {
  if (!existsSync(EXECUTABLE)) return { problem: `no Chromium at ${EXECUTABLE}` };
  try {
    execFileSync(EXECUTABLE, ['--version'], { stdio: 'pipe', timeout: 20_000 });
  } catch (e) {
    return { problem: `${EXECUTABLE} --version failed: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    return { browser: await chromium.launch({ executablePath: EXECUTABLE, args: ['--no-sandbox'], timeout: 30_000 }) };
  } catch (e) {
    return { problem: `${EXECUTABLE} did not launch: ${launchFailure((e as Error).message)}` };
  }
}

/** Playwright's launch error, shortened to its first line, what the browser wrote to stderr and how it exited. */
function launchFailure(message: string): string {
  const lines = message.split('\n');
  const callLog = lines.findIndex((l) => l.startsWith('Call log:'));
  const logs = callLog < 0 ? lines : lines.slice(0, callLog);
  const stderr = logs.filter((l) => /\]\[err\] /.test(l)).map((l) => l.replace(/^\[pid=\d+\]\[err\] /, ''));
  const exit = /process did exit: (exitCode=\S+ signal=\S+)>/.exec(message)?.[1]?.replace(',', '');
  return [lines[0], ...stderr.slice(0, 3), ...(exit === undefined ? [] : [exit])].join('; ');
}

const launched = await launch();
const problem = 'problem' in launched ? launched.problem : undefined;
const browser: Browser | undefined = 'browser' in launched ? launched.browser : undefined;
if (problem !== undefined) console.warn(`test/web: skipped, ${problem}`);

interface Served {
  readonly server: Server;
  readonly url: string;
}

// scripts/web.mjs is plain JavaScript; its server is all these tests take from it.
const { servePage } = (await import(join(ROOT, 'scripts', 'web.mjs'))) as {
  servePage(o: { port: number; isolation: boolean }): Promise<Served>;
};

const servers: Server[] = [];

/** The README's screenshot (docs/teaching-page.png is a copy of web-artifacts/teaching-page.png): smaller pixels keep the file small. */
const README_SHOT = { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 0.75 };

async function open(
  isolation: boolean,
  display: { viewport: { width: number; height: number }; deviceScaleFactor?: number } = { viewport: { width: 1400, height: 1000 } },
): Promise<Page> {
  const served = await servePage({ port: 0, isolation });
  servers.push(served.server);
  const page = await browser!.newPage(display);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(served.url);
  await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Statement 0 of') === true);
  return page;
}

/** Waits until the page says `count` statements have run. */
async function atStatement(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelector('#status')?.textContent?.startsWith(`Statement ${n} of`) === true, count);
}

async function statementCount(page: Page): Promise<number> {
  const text = (await page.textContent('#status')) ?? '';
  const m = /^Statement \d+ of (\d+)/.exec(text);
  if (m === null) throw new Error(`status line not understood: ${text}`);
  return Number(m[1]);
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  // A full-page shot keeps the window's scroll, which would draw the sticky lesson list that far down.
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function view(page: Page, tab: string): Promise<string> {
  await page.click(`#tab-${tab}`);
  return (await page.textContent(`#view-${tab}`)) ?? '';
}

/** The output row of scenario line `line`: statement, emulator, kernel, comparison. */
async function row(page: Page, line: number): Promise<string[]> {
  return page.$$eval(`#output-rows tr[data-line="${line}"] td`, (tds) => tds.map((td) => td.textContent ?? ''));
}

/** Opens lesson `file` from the list and waits for it to load. */
async function openLesson(page: Page, file: string): Promise<void> {
  await page.click(`#lessons button[data-file="${file}"]`);
  await page.waitForFunction((f) => document.querySelector('#lesson-title')?.textContent === f, file);
  await atStatement(page, 0);
}

/** Steps forward or back, one statement a click, until `count` statements have run. */
async function stepTo(page: Page, count: number): Promise<void> {
  for (;;) {
    const m = /^Statement (\d+) of/.exec((await page.textContent('#status')) ?? '');
    const at = m === null ? Number.NaN : Number(m[1]);
    if (at === count) return;
    await page.click(at < count ? '#step-forward' : '#step-back');
    await atStatement(page, at < count ? at + 1 : at - 1);
  }
}

/** How many statements run up to and including the one on scenario line `line` (the statements' lines, from the output after a full run). */
async function statementsThrough(page: Page, line: number): Promise<number> {
  const n = await statementCount(page);
  await page.click('#run');
  await atStatement(page, n);
  const lines = await page.$$eval('#output-rows tr', (rs) => rs.map((r) => Number(r.getAttribute('data-line'))));
  const at = lines.indexOf(line);
  if (at < 0) throw new Error(`no statement on line ${line}: ${lines.join(' ')}`);
  return at + 1;
}

/** The rows of the IPC view's table for semaphore set or queue `id` (`semid` or `msqid`), cells as text. */
async function ipcTable(page: Page, kind: 'semid' | 'msqid', id: number): Promise<string[][]> {
  await page.click('#tab-ipc');
  return page.$$eval(`#view-ipc table[data-${kind}="${id}"] tbody tr`, (rs) => rs.map((r) => [...r.children].map((td) => td.textContent ?? '')));
}

/** The IPC view and the processes view as text: what stepping back and forward must give back unchanged. */
async function kernelViews(page: Page): Promise<{ ipc: string; processes: string }> {
  return { ipc: await view(page, 'ipc'), processes: await view(page, 'processes') };
}

/** Every output row agrees with the recorded kernel: the summary says so, and each row says `same`. */
async function expectAllSame(page: Page, file: string): Promise<void> {
  const n = await statementCount(page);
  const recorded = JSON.parse(readFileSync(join(ROOT, 'web', 'recorded.json'), 'utf8')) as { examples: Record<string, { lines?: unknown[] }> };
  expect(recorded.examples[file]?.lines).toHaveLength(n);
  expect(await page.textContent('#compare-summary')).toBe(`All ${n} lines so far agree with the real kernel's.`);
  expect(await page.$$eval('#output-rows td.cmp', (tds) => tds.map((td) => td.textContent))).toEqual(Array(n).fill('same'));
}

/** The first sentence-ish of a lesson file's leading comment, as the page should show it. */
function lessonOpening(file: string): string {
  const first = (readFileSync(join(ROOT, 'examples', file), 'utf8').split('\n')[0] ?? '').replace(/^#\s*/, '').replace(/^Lesson:\s*/, '');
  return first.charAt(0).toUpperCase() + first.slice(1);
}

/** A text/background pair whose contrast is below WCAG AA's 4.5:1. */
interface LowContrast {
  readonly element: string;
  readonly text: string;
  readonly color: string;
  readonly background: string;
  readonly ratio: number;
}

/**
 * Measures, in the page, every visible element's own text against the
 * background drawn behind it (the nearest ancestors' background colours,
 * composed over white): the pairs below 4.5:1, and how many were measured.
 * Text drawn in a transparent colour is not drawn (the editor's textarea
 * lies over its highlighted copy, which is measured instead).
 */
async function lowContrast(page: Page): Promise<{ checked: number; low: LowContrast[] }> {
  return page.evaluate(() => {
    const w = globalThis as unknown as InPage;
    const parse = (c: string): [number, number, number, number] | undefined => {
      const m = /^rgba?\(([^)]*)\)$/.exec(c.trim());
      if (m === null) return undefined;
      const p = m[1]!
        .split(/[\s,/]+/)
        .filter((x) => x !== '')
        .map(Number);
      return [p[0]!, p[1]!, p[2]!, p[3] ?? 1];
    };
    const over = (top: number[], under: number[]): [number, number, number, number] => {
      const a = top[3]!;
      return [0, 1, 2].map((i) => top[i]! * a + under[i]! * (1 - a)).concat(1) as [number, number, number, number];
    };
    const luminance = (c: number[]): number => {
      const f = (v: number): number => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c[0]!) + 0.7152 * f(c[1]!) + 0.0722 * f(c[2]!);
    };
    const backdrop = (e: InPageElement): number[] => {
      const layers: number[][] = [];
      for (let x: InPageElement | null = e; x !== null; x = x.parentElement) {
        const c = parse(w.getComputedStyle(x).backgroundColor);
        if (c === undefined || c[3] === 0) continue;
        layers.push(c);
        if (c[3] >= 1) break;
      }
      return layers.reduceRight<number[]>((under, top) => over(top, under), [255, 255, 255, 1]);
    };
    const low: LowContrast[] = [];
    let checked = 0;
    for (const e of Array.from(w.document.querySelectorAll('body *'))) {
      const own = Array.from(e.childNodes)
        .filter((n) => n.nodeType === 3)
        .map((n) => n.nodeValue ?? '')
        .join('')
        .trim();
      if (own === '' || !e.checkVisibility()) continue;
      const fg = parse(w.getComputedStyle(e).color);
      if (fg === undefined || fg[3] === 0) continue;
      const bg = backdrop(e);
      const [l1, l2] = [luminance(over(fg, bg)), luminance(bg)];
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      checked += 1;
      if (ratio < 4.5) {
        const name = `${e.tagName.toLowerCase()}${e.id === '' ? '' : `#${e.id}`}${typeof e.className === 'string' && e.className !== '' ? `.${e.className.split(' ').join('.')}` : ''}`;
        low.push({ element: name, text: own.slice(0, 40), color: w.getComputedStyle(e).color, background: `rgb(${bg.slice(0, 3).join(', ')})`, ratio });
      }
    }
    return { checked, low };
  });
}

/** The focused element, named, with its outline and the outline's contrast against the page behind it. */
interface Focused {
  readonly name: string;
  readonly outline: string;
  readonly outlineWidth: number;
  readonly ringContrast: number;
}

async function focused(page: Page): Promise<Focused | undefined> {
  return page.evaluate(() => {
    const w = globalThis as unknown as InPage;
    const e = w.document.activeElement;
    if (e === null || e.tagName === 'BODY') return undefined;
    const s = w.getComputedStyle(e);
    const rgb = (c: string): number[] =>
      (/\(([^)]*)\)/.exec(c)?.[1] ?? '0 0 0')
        .split(/[\s,/]+/)
        .filter((x) => x !== '')
        .map(Number);
    const luminance = (c: number[]): number => {
      const f = (v: number): number => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c[0]!) + 0.7152 * f(c[1]!) + 0.0722 * f(c[2]!);
    };
    // The ring is drawn outside the element (or inside the editor's box), over the page's white.
    const l = luminance(rgb(s.outlineColor));
    const name = e.getAttribute('data-file') ?? (e.id !== '' ? `#${e.id}` : e.tagName === 'SUMMARY' ? 'summary' : `${e.tagName.toLowerCase()}.${e.className}`);
    return { name, outline: s.outlineStyle, outlineWidth: Number.parseFloat(s.outlineWidth), ringContrast: 1.05 / (l + 0.05) };
  });
}

describe.skipIf(problem !== undefined)(`the teaching page in Chromium${problem === undefined ? '' : ` (skipped: ${problem})`}`, () => {
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
  });

  it('opens on the host-channel lesson; running it shows dd failing as iSulad documents, the tmpfs full and the cgroup charged', async () => {
    const page = await open(true);
    expect(await page.textContent('#lesson-title')).toBe('host-channel.scn');
    expect(await page.textContent('#isolation')).toContain('Cross-origin isolated');
    const n = await statementCount(page);
    // Step to just after dd (scenario line 18): the container's process still runs, so its cgroup shows.
    await page.click('#run');
    await atStatement(page, n);
    const dd = await row(page, 18);
    expect(dd[0]).toContain('dd if=/dev/zero of=/testdir/test.file bs=1024 count=64K');
    expect(dd[1]).toContain("dd: error writing '/testdir/test.file': No space left on device");
    expect(dd[1]).toContain('32769+0 records in\n32768+0 records out\n33554432 bytes (34 MB, 32 MiB) copied');
    expect(dd[1]).toContain('exit=1');
    expect(await page.textContent('#compare-summary')).toContain('Not run on the real kernel: line 9: isula is emulated only');
    await shot(page, 'host-channel-output');

    // Back to the statement after dd: the channel is full, and the writer's cgroup holds the pages.
    const afterDd = (await page.$$eval('#output-rows tr', (rs) => rs.map((r) => r.getAttribute('data-line')))).indexOf('18') + 1;
    for (let at = n; at > afterDd; at--) {
      await page.keyboard.press('Alt+P');
      await atStatement(page, at - 1);
    }
    const storage = await view(page, 'storage');
    expect(storage).toMatch(/\/testdir\s*\d+\s*8192\s*8192\s*100%/);
    // The writer's memory cgroup holds the 8192 pages dd wrote (no -m limit, so no failures).
    expect(storage).toMatch(/\/isulad\/c1\s*8192\s*32768\s*none\s*0/);
    await shot(page, 'host-channel-storage');
    const frames = await view(page, 'frames');
    expect(frames).toMatch(/tmpfs file ino \d+ on host:\/testdir\s*8192/);
    await shot(page, 'host-channel-frames');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();

    // The README's picture: a new user's first view of the lesson, stepped to just after dd, with the tmpfs and cgroup view open.
    const readme = await open(true, README_SHOT);
    await stepTo(readme, afterDd);
    expect(await view(readme, 'storage')).toMatch(/\/testdir\s*\d+\s*8192\s*8192\s*100%/);
    await shot(readme, 'teaching-page');
    await readme.close();
  }, 90_000);

  it('runs shmat-sharing: the ipcs table, the address spaces with attach origins, and every line the same as the recorded kernel', async () => {
    const page = await open(true);
    await page.click('#lessons button[data-file="shmat-sharing.scn"]');
    await page.waitForFunction(() => document.querySelector('#lesson-title')?.textContent === 'shmat-sharing.scn');
    await atStatement(page, 0);
    const n = await statementCount(page);
    await page.keyboard.press('Control+Enter');
    await atStatement(page, n);
    const summary = (await page.textContent('#compare-summary')) ?? '';
    expect(summary).toBe(`All ${n} lines so far agree with the real kernel's.`);
    const read = await row(page, 18);
    expect(read[1]).toContain('data="sharing"');
    expect(read[2]).toContain('data="sharing"');
    expect(read[3]).toBe('same');
    await shot(page, 'shm-output');

    // After the whole run P has detached both; C still holds the segment (nattch 1).
    const ipc = await view(page, 'ipc');
    expect(ipc).toContain('------ Shared Memory Segments --------');
    expect(ipc).toMatch(/0x00008000\s+0\s+root\s+666\s+16\s+1\s*\n/);
    await shot(page, 'shm-ipcs');

    // Step back to just after P's second attach (line 11, the fourth statement): two attachments in P.
    const lines = await page.$$eval('#output-rows tr', (rs) => rs.map((r) => Number(r.getAttribute('data-line'))));
    const at = lines.indexOf(11) + 1;
    while ((await statementCount(page)) > 0 && !(await page.textContent('#status'))?.startsWith(`Statement ${at} of`)) {
      await page.click('#step-back');
      await page.waitForTimeout(20);
    }
    await atStatement(page, at);
    const procs = await view(page, 'processes');
    const pMaps = await page.$$eval('#view-processes section[data-proc="P"] tbody tr', (rs) =>
      rs.map((r) => [...r.children].map((td) => td.textContent ?? '')),
    );
    const shm = pMaps.filter((cells) => cells[5] === '/SYSV00008000 (deleted)');
    expect(shm).toHaveLength(2);
    for (const [start, , , perms, , , origin] of shm) {
      expect(perms).toBe('rw-s');
      expect(origin).toBe(start);
    }
    expect(procs).toContain('C ');
    await shot(page, 'shm-address-spaces');
    const ipcThen = await view(page, 'ipc');
    expect(ipcThen).toMatch(/0x00008000\s+0\s+root\s+666\s+16\s+2\s*\n/);

    // Forward one statement (P writes through a1): the segment's page is now allocated, and the frames view names it.
    await page.click('#step-forward');
    await atStatement(page, at + 1);
    const frames = await view(page, 'frames');
    expect(frames).toMatch(/shm id 0 key 0x00008000 \(initial \(nsid \d+\)\)\s*1\s*4/);
    await shot(page, 'shm-frames');
    // The trace shows each statement's calls with the scenario's names: P's two shmat calls, and the frame P's write allocated.
    const trace = await view(page, 'trace');
    expect(trace.match(/P shmat\(/g)?.length).toBe(2);
    expect(trace).toMatch(/frame/);
    await shot(page, 'shm-trace');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('marks a line that differs from the recorded kernel', async () => {
    const page = await open(true);
    await page.click('#lessons button[data-file="shmat-sharing.scn"]');
    await page.waitForFunction(() => document.querySelector('#lesson-title')?.textContent === 'shmat-sharing.scn');
    await atStatement(page, 0);
    // An edit the real kernel never ran: C writes other bytes, so P reads something else than was recorded.
    const source = await page.inputValue('#editor');
    await page.fill('#editor', source.replace('C write c+4 "ing"', 'C write c+4 "ING"'));
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Edited') === true);
    await atStatement(page, 0);
    await page.click('#run');
    const n = await statementCount(page);
    await atStatement(page, n);
    const read = await row(page, 18);
    expect(read[1]).toContain('data="sharING"');
    expect(read[3]).toBe('DIFFERS');
    expect(await page.textContent('#compare-summary')).toMatch(/^\d+ line\(s\) differ from the real kernel's/);
    expect(await page.$$eval('#output-rows tr.differs', (rs) => rs.length)).toBeGreaterThan(0);
    await page.close();
  }, 60_000);

  it('served without COOP/COEP, says why and still runs the lesson', async () => {
    const page = await open(false);
    const note = (await page.textContent('#isolation')) ?? '';
    expect(note).toContain('without the Cross-Origin-Opener-Policy');
    expect(note).toContain('SharedArrayBuffer');
    expect(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated)).toBe(false);
    const n = await statementCount(page);
    await page.click('#run');
    await atStatement(page, n);
    expect((await row(page, 18))[1]).toContain('No space left on device');
    await shot(page, 'no-isolation');
    await page.close();
  }, 60_000);
  it('shows each Start here lesson its own text, the how-to hint, and notes on the statements they explain', async () => {
    const page = await open(true);
    const how = (await page.textContent('#how-to')) ?? '';
    expect(await page.getAttribute('#how-to', 'open')).not.toBeNull();
    for (const words of ['How to read this page', 'Step forward', 'real Linux kernel', 'blocked', 'IPC tables', 'Step back']) expect(how).toContain(words);
    const start = await page.$$eval('#lessons h3', (hs) => {
      const h = hs.find((x) => x.textContent === 'Start here');
      return [...(h?.nextElementSibling?.querySelectorAll('button') ?? [])].map((b) => b.getAttribute('data-file') ?? '');
    });
    expect(start).toEqual(['host-channel.scn', 'shmat-sharing.scn', 'sem-block-decrement-woken.scn', 'msg-block-pipelined-handoff.scn', 'shmctl-ipc-stat.scn']);
    for (const file of start) {
      if (file !== 'host-channel.scn') await openLesson(page, file);
      const text = (await page.textContent('#lesson-text .teaches')) ?? '';
      expect(text.startsWith(lessonOpening(file)), `${file}: ${text}`).toBe(true);
      // The lesson text is the file's prose, not its statements or the Linux sources it cites.
      expect(text).not.toMatch(/Linux rules|=>/);
    }
    // The last of them (IPC_STAT's errno order) runs to the end with every line as the real kernel printed it.
    await page.click('#run');
    await atStatement(page, await statementCount(page));
    await expectAllSame(page, 'shmctl-ipc-stat.scn');
    expect((await row(page, 12)).slice(1)).toEqual(['EACCES  cmd=IPC_STAT', 'EACCES  cmd=IPC_STAT', 'same']);
    await shot(page, 'shmctl-ipc-stat-output');

    // A comment above a statement is that statement's note in the output.
    await openLesson(page, 'sem-block-decrement-woken.scn');
    await page.click('#run');
    await atStatement(page, await statementCount(page));
    expect((await row(page, 23))[0]).toContain('A second sleeper wants 2: one +1 is not enough, a second one is.');
    expect(await page.textContent('#lesson-text .rules')).toContain('Linux rules: ipc/sem.c do_semtimedop');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("runs sem-block-decrement-woken: the kernel's lines, the set's values and its sleeper, and the same views after stepping back and forward", async () => {
    const page = await open(true);
    await openLesson(page, 'sem-block-decrement-woken.scn');
    const blockedAt = await statementsThrough(page, 14);
    await expectAllSame(page, 'sem-block-decrement-woken.scn');
    const woken = (await row(page, 21)).slice(1, 3);
    for (const side of woken) expect(side).toContain('(the call of line 14 woke and returned)');
    await shot(page, 'sem-output');

    // At B's semop on line 14: B is asleep on the set, whose value is 0 with ncount 1.
    await stepTo(page, blockedAt);
    const current = await row(page, 14);
    expect(current.slice(1)).toEqual(['blocked', 'blocked', 'same']);
    expect(await page.getAttribute('#output-rows tr[data-line="14"]', 'class')).toContain('current');
    expect(await ipcTable(page, 'semid', 0)).toEqual([['0', '0', '1', '0', '0']]);
    const ipc = await view(page, 'ipc');
    expect(ipc).toMatch(/Asleep on semid 0: B \(pid \d+\): 0:-1/);
    expect(ipc).toContain('------ Semaphore Arrays --------');
    expect(ipc).toMatch(/0x00000000 0\s+root\s+600\s+1\s*\n/);
    await shot(page, 'sem-blocked-ipc');
    const procs = await view(page, 'processes');
    expect(procs).toMatch(/B pid \d+ · asleep · asleep in semop on semid 0/);
    const blocked = await kernelViews(page);

    // A's +1 on line 17 wakes B: the kernel did B's -1 for it, so the value is back to 0, nobody sleeps, and GETPID's pid is B's.
    await stepTo(page, blockedAt + 3);
    expect((await row(page, 17))[0]).toContain('A semop s 0:+1');
    expect(await ipcTable(page, 'semid', 0)).toEqual([['0', '0', '0', '0', expect.stringMatching(/^B \(pid \d+\)$/)]]);
    expect(await view(page, 'ipc')).toContain('Nobody sleeps on semid 0.');
    expect(await view(page, 'processes')).toMatch(/B pid \d+ · running/);
    await shot(page, 'sem-woken-ipc');
    const wokenViews = await kernelViews(page);

    // Back to the blocked statement and forward again: each view is what it was.
    await stepTo(page, blockedAt);
    expect(await kernelViews(page)).toEqual(blocked);
    expect(await page.getAttribute('#output-rows tr[data-line="14"]', 'class')).toContain('current');
    await stepTo(page, blockedAt + 3);
    expect(await kernelViews(page)).toEqual(wokenViews);

    // The second sleeper (line 23) wants 2: after one +1 (line 24) it still sleeps, with the value at 1.
    const second = await statementsThrough(page, 24);
    await stepTo(page, second);
    expect(await ipcTable(page, 'semid', 0)).toEqual([['0', '1', '1', '0', expect.stringMatching(/^A \(pid \d+\)$/)]]);
    expect(await view(page, 'ipc')).toMatch(/Asleep on semid 0: B \(pid \d+\): 0:-2/);
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('runs msg-block-pipelined-handoff: the receiver asleep on the empty queue, the hand-off that never queues, and the same views after stepping back and forward', async () => {
    const page = await open(true);
    await openLesson(page, 'msg-block-pipelined-handoff.scn');
    const blockedAt = await statementsThrough(page, 11);
    await expectAllSame(page, 'msg-block-pipelined-handoff.scn');
    expect((await row(page, 15))[1]).toMatch(/^ok {2}\(the call of line 11 woke and returned\) {2}ret=5 {2}mtype=7 {2}data="hello"$/);
    expect((await row(page, 15))[3]).toBe('same');
    await shot(page, 'msg-output');

    // At B's msgrcv on line 11: B sleeps on the empty queue.
    await stepTo(page, blockedAt);
    expect((await row(page, 11)).slice(1)).toEqual(['blocked', 'blocked', 'same']);
    expect(await ipcTable(page, 'msqid', 0)).toEqual([['0', '0', '16384', '0', '0']]);
    const ipc = await view(page, 'ipc');
    expect(ipc).toMatch(/Asleep on msqid 0: B \(pid \d+\): msgrcv msgtyp 0/);
    expect(ipc).toContain('------ Message Queues --------');
    expect(ipc).toMatch(/0x00000000 0\s+root\s+600\s+0\s+0\s*\n/);
    expect(await view(page, 'processes')).toMatch(/B pid \d+ · asleep · asleep in msgrcv on msqid 0/);
    await shot(page, 'msg-blocked-ipc');
    const blocked = await kernelViews(page);

    // A's msgsnd (line 13) hands "hello" to B: the queue stays empty, yet lspid is A and lrpid is B.
    await stepTo(page, blockedAt + 2);
    const handoff = await ipcTable(page, 'msqid', 0);
    expect(handoff).toEqual([['0', '0', '16384', expect.stringMatching(/^A \(pid \d+\)$/), expect.stringMatching(/^B \(pid \d+\)$/)]]);
    expect(await view(page, 'ipc')).toContain('Nobody sleeps on msqid 0.');
    await shot(page, 'msg-handoff-ipc');
    const after = await kernelViews(page);

    await stepTo(page, blockedAt);
    expect(await kernelViews(page)).toEqual(blocked);
    await stepTo(page, blockedAt + 2);
    expect(await kernelViews(page)).toEqual(after);

    // With nobody asleep, "again" (line 17) is queued: qnum 1, cbytes 5.
    await stepTo(page, await statementsThrough(page, 17));
    expect((await ipcTable(page, 'msqid', 0))[0]?.slice(0, 2)).toEqual(['1', '5']);
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('can be worked with the keyboard alone: Tab reaches every control, each with a visible focus ring, and arrow keys switch views', async () => {
    const page = await open(true);
    await page.click('#step-forward');
    await atStatement(page, 1);
    // Start from the top of the document, as a keyboard user arriving does (a click on the heading moves Tab's starting point there).
    await page.click('h1');
    const lessons = await page.$$eval('#lessons button', (bs) => bs.map((b) => b.getAttribute('data-file') ?? ''));
    const seen: Focused[] = [];
    for (let i = 0; i < lessons.length + 40; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      // Past the last control focus leaves the document for a press, then comes back at the skip link.
      if (f === undefined) continue;
      if (seen.some((x) => x.name === f.name)) break;
      seen.push(f);
    }
    const names = seen.map((f) => f.name);
    const controls = [
      'a.skip',
      '#how-to',
      '#reset',
      '#step-back',
      '#step-forward',
      '#run',
      '#editor',
      'div.output-scroll',
      '#tab-processes',
      '#view-processes',
    ];
    for (const c of [...lessons, ...controls])
      expect(
        names.some((n) => n === c || (c === '#how-to' && n === 'summary')),
        `Tab never reaches ${c}: ${names.join(' ')}`,
      ).toBe(true);
    expect(names[0]).toBe(lessons[0]);
    for (const f of seen) {
      expect(f.outline, `${f.name} has no focus ring`).not.toBe('none');
      expect(f.outlineWidth, `${f.name}'s focus ring`).toBeGreaterThanOrEqual(2);
      // WCAG 1.4.11: a focus indicator needs 3:1 against what is next to it.
      expect(f.ringContrast, `${f.name}'s focus ring contrast`).toBeGreaterThanOrEqual(3);
    }
    // The views are a tablist: the selected tab takes focus, and the arrow keys move to the others.
    await page.focus('#tab-processes');
    await page.keyboard.press('ArrowRight');
    expect((await focused(page))?.name).toBe('#tab-ipc');
    expect(await page.getAttribute('#tab-ipc', 'aria-selected')).toBe('true');
    expect(await page.isVisible('#view-ipc')).toBe(true);
    await page.keyboard.press('ArrowLeft');
    expect((await focused(page))?.name).toBe('#tab-processes');
    // And the keys the header lists step the scenario.
    await page.keyboard.press('Alt+N');
    await atStatement(page, 2);
    await page.keyboard.press('Alt+P');
    await atStatement(page, 1);
    await page.focus('#lessons button[data-file="sem-block-decrement-woken.scn"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#lesson-title')?.textContent === 'sem-block-decrement-woken.scn');
    await page.focus('#step-forward');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    await shot(page, 'keyboard-focus');
    await page.close();
  }, 90_000);

  it('keeps body text at WCAG AA contrast (4.5:1) in every state the lessons reach', async () => {
    const page = await open(true);
    const states: { checked: number; low: LowContrast[] }[] = [];
    // The first lesson loaded, then a blocked semaphore with its sleeper marked, then a line that differs, then the page without isolation.
    states.push(await lowContrast(page));
    await openLesson(page, 'sem-block-decrement-woken.scn');
    await stepTo(page, 4);
    await page.click('#tab-ipc');
    expect(await page.isVisible('#view-ipc p.waiters.asleep')).toBe(true);
    states.push(await lowContrast(page));
    await openLesson(page, 'shmat-sharing.scn');
    const source = await page.inputValue('#editor');
    await page.fill('#editor', source.replace('C write c+4 "ing"', 'C write c+4 "ING"'));
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Edited') === true);
    await atStatement(page, 0);
    await page.click('#run');
    await atStatement(page, await statementCount(page));
    expect(await page.$$eval('#output-rows tr.differs', (rs) => rs.length)).toBeGreaterThan(0);
    states.push(await lowContrast(page));
    await page.close();
    const bare = await open(false);
    states.push(await lowContrast(bare));
    await bare.close();
    for (const s of states) {
      // Hundreds of elements carry text on this page: a handful would mean the walk missed them.
      expect(s.checked).toBeGreaterThan(200);
      expect(s.low).toEqual([]);
    }
  }, 90_000);
});
