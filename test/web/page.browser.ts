/**
 * The teaching page in a real Chromium (Debian's, at CHROMIUM or
 * /usr/bin/chromium; playwright-core drives it and downloads nothing).
 * `npm run test:web` builds web/dist first; these tests serve it, open it
 * as a new user would, run the host-channel lesson and a shared-memory
 * lesson, and check what the page says: dd's lines, the ipcs table, the
 * address-space view, the comparison with the recorded kernel, and stepping
 * back and forward. A screenshot of each view goes to web-artifacts/.
 *
 * Where Chromium is missing or cannot start, every test here is skipped,
 * never passed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The page's document, as the functions evaluated in it see it (this file compiles without the DOM lib). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(ROOT, 'web-artifacts');
const EXECUTABLE = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

/** Why Chromium cannot run here, or undefined when it can. */
function chromiumProblem(): string | undefined {
  if (!existsSync(EXECUTABLE)) return `no Chromium at ${EXECUTABLE}`;
  try {
    execFileSync(EXECUTABLE, ['--version'], { stdio: 'pipe', timeout: 20_000 });
    return undefined;
  } catch (e) {
    return `${EXECUTABLE} --version failed: ${(e as Error).message}`;
  }
}

const problem = chromiumProblem();
if (problem !== undefined) console.warn(`test/web: skipped, ${problem}`);
if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('web/dist is not built: run npm run test:web, which builds it first');

interface Served {
  readonly server: Server;
  readonly url: string;
}

// scripts/web.mjs is plain JavaScript; its server is all these tests take from it.
const { servePage } = (await import(join(ROOT, 'scripts', 'web.mjs'))) as {
  servePage(o: { port: number; isolation: boolean }): Promise<Served>;
};

let browser: Browser | undefined;
const servers: Server[] = [];

async function open(isolation: boolean): Promise<Page> {
  const served = await servePage({ port: 0, isolation });
  servers.push(served.server);
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
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

describe.skipIf(problem !== undefined)('the teaching page in Chromium', () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: EXECUTABLE, args: ['--no-sandbox'] });
  }, 60_000);

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
});
