/**
 * The fuzzer's generation, on the emulator alone (no oracle needed): every
 * text runs to its end with a line per statement (so the blocking rules are
 * kept: a broken one stops the run), the mechanisms option keeps to what it
 * names, SETALL always lists the set's size (a wrong count is a run-time
 * scenario error, which fails run() below), non-blocking scenarios never
 * block, and blocking ones do block, wait, interrupt and collect. POSIX
 * scenarios mount /dev/shm first, draw names and flags from the intended
 * sets, reach successes and errors of each call, and keep out the cases the
 * generator must avoid.
 * Seeds: the run's FC_SEED (test/setup.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutputLine } from '../../src/testing/index.js';
import { runScenario, scenarioScriptArb, scenarioTextArb, statementCount } from '../../src/testing/index.js';

/** The output lines of a generated text on the emulator; fails the test on a parse or run-time scenario error. */
function run(text: string): readonly OutputLine[] {
  const r = runScenario(text);
  if (E.isLeft(r)) throw new Error(`${r.left.join('\n')}\n${text}`);
  expect(r.right.lines, text).toHaveLength(statementCount(text));
  return r.right.lines;
}

const SHM_OPS = /^\S+ (shmget|shmat|shmctl|shmdt|read|write|fill|munmap|mprotect) /m;
const SEM_OPS = /^\S+ (semget|semop|semtimedop|semctl) /m;
const MSG_OPS = /^\S+ (msgget|msgsnd|msgrcv|msgctl) /m;
const POSIX_OPS = /^\S+ (shm_open|shm_unlink|memfd_create|fcntl|mmap|msync|madvise|mlock|munlock|mincore|lseek|umask|cmpaddr) /m;

describe('sem/msg scenario generation', () => {
  it('keeps to the mechanisms it is given', () => {
    for (const texts of [fc.sample(scenarioTextArb(fc, { mechanisms: ['sem'] }), 60), fc.sample(scenarioTextArb(fc, { mechanisms: ['msg'] }), 60)]) {
      for (const text of texts) expect(SHM_OPS.test(text), text).toBe(false);
    }
    expect(fc.sample(scenarioTextArb(fc, { mechanisms: ['sem'] }), 60).some((t) => MSG_OPS.test(t))).toBe(false);
    expect(fc.sample(scenarioTextArb(fc, { mechanisms: ['shm'] }), 60).some((t) => SEM_OPS.test(t) || MSG_OPS.test(t) || POSIX_OPS.test(t))).toBe(false);
    const posix = fc.sample(scenarioTextArb(fc, { mechanisms: ['posix'] }), 60);
    expect(posix.some((t) => /^\S+ (shmget|shmat|shmctl|semget|semop|semctl|msgget|msgsnd|msgrcv|msgctl) /m.test(t))).toBe(false);
    expect(posix.every((t) => POSIX_OPS.test(t))).toBe(true);
    // By default all four appear, alone and together.
    const all = fc.sample(scenarioTextArb(fc), 300);
    expect(all.some((t) => SHM_OPS.test(t) && !SEM_OPS.test(t) && !MSG_OPS.test(t) && !POSIX_OPS.test(t))).toBe(true);
    expect(all.some((t) => POSIX_OPS.test(t) && !SEM_OPS.test(t) && !MSG_OPS.test(t) && !/ shmget /.test(t))).toBe(true);
    expect(all.some((t) => SEM_OPS.test(t) && MSG_OPS.test(t) && SHM_OPS.test(t) && POSIX_OPS.test(t))).toBe(true);
    expect(() => scenarioScriptArb(fc, { mechanisms: [] })).toThrow(RangeError);
    expect(() => scenarioScriptArb(fc, { mechanisms: ['pipe' as 'shm'] })).toThrow(/got pipe/);
  });

  it('non-blocking scenarios run to their end and never block; SETALL lists the whole set', () => {
    let setalls = 0;
    fc.assert(
      fc.property(scenarioTextArb(fc, { mechanisms: ['sem', 'msg'] }), (text) => {
        expect(text).not.toMatch(/ (wait|interrupt)$|^sleep /m);
        for (const line of run(text)) {
          expect(line['blocked'], JSON.stringify(line)).toBeUndefined();
          if (line['op'] === 'semctl' && line['cmd'] === 'SETALL') {
            setalls++;
            expect(line['errno'], `${JSON.stringify(line)}\n${text}`).not.toBe('EFAULT');
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(setalls).toBeGreaterThan(0);
  });

  it('blocking scenarios keep the rules of blocking calls, and calls do block, wake and get collected', () => {
    const seen = { blocked: 0, collected: 0, interrupted: 0, stillBlocked: 0 };
    fc.assert(
      fc.property(scenarioTextArb(fc, { mechanisms: ['sem', 'msg'], blocking: true }), (text) => {
        for (const line of run(text)) {
          if (line['blocked'] === true) {
            if (line['op'] === 'wait') seen.stillBlocked++;
            else seen.blocked++;
          }
          if (line['of'] !== undefined && line['op'] !== 'wait') {
            seen.collected++;
            if (line['errno'] === 'EINTR') seen.interrupted++;
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(seen.blocked).toBeGreaterThan(10);
    expect(seen.collected).toBeGreaterThan(3);
    expect(seen.interrupted).toBeGreaterThan(0);
  });
});

/** The names and flags the posix generator is meant to draw from (src/testing/scenario_arb.ts). */
const SHM_NAMES = new Set([
  '/obj',
  'obj',
  '/o2',
  '//obj',
  '/o3',
  '""',
  '/',
  '/a/b',
  '.',
  '/.',
  '..',
  '"/with blank é"',
  `"${'n'.repeat(255)}"`,
  `"${'n'.repeat(256)}"`,
  `"${'n'.repeat(260)}"`,
]);
const MEMFD_NAMES = new Set(['buf', '""', 'x', '"a b"', '"a/b"', `"${'n'.repeat(249)}"`, `"${'n'.repeat(250)}"`]);
const OPEN_FLAGS = new Set(['O_RDWR', 'O_RDONLY', 'O_WRONLY', 'O_CREAT', 'O_EXCL', 'O_TRUNC', 'O_APPEND', 'O_DIRECTORY', 'O_CLOEXEC', 'O_NOFOLLOW']);
const MFD_FLAGS = new Set(['0', 'MFD_ALLOW_SEALING', 'MFD_CLOEXEC', 'MFD_NOEXEC_SEAL', 'MFD_EXEC', '0x100']);
const SEAL_NAMES = new Set(['0', 'F_SEAL_SEAL', 'F_SEAL_SHRINK', 'F_SEAL_GROW', 'F_SEAL_WRITE', 'F_SEAL_FUTURE_WRITE', 'F_SEAL_EXEC', '0x40']);

/** A statement's words, with a string (which may hold blanks) as one word. */
function words(line: string): string[] {
  return line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

describe('posix scenario generation', () => {
  it('mounts /dev/shm first, draws names and flags from the intended sets, and keeps out the avoided cases', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenarioTextArb(fc, { mechanisms: ['posix'] }), (text) => {
        const lines = text.split('\n').filter((l) => l !== '');
        // /dev/shm comes before any process, mostly as a tmpfs.
        const firstProc = lines.findIndex((l) => l.startsWith('proc '));
        for (const l of lines.slice(firstProc)) expect(l, text).not.toMatch(/^(host|tmpfs) /);
        if (lines[1]?.startsWith('tmpfs mount /dev/shm ')) seen.add('tmpfs');
        let fallocated = false;
        // Pages of the mappings each name was bound to without MAP_FIXED (the fewest, as the generator keeps them).
        const chosenPages = new Map<string, number>();
        for (const line of lines) {
          const w = words(line);
          if (w[1] === 'mmap' && !(w[5] ?? '').includes('MAP_FIXED')) {
            // As the generator counts them: at least one page, sizes with their K/M/G suffix.
            const size = /^(0x[0-9a-f]+|[0-9]+)([KMG]?)$/i.exec(w[3] ?? '');
            const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(size?.[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G'];
            const pages = size === null ? Number.NaN : Math.max(1, Math.ceil((Number(size[1]) * scale) / 4096));
            const at = w.find((x) => x.startsWith('at='))?.slice(3);
            // A hint at a kernel-chosen name never asks for more pages than the name has (the oracle's guard may lie past them).
            const bound = at === undefined ? undefined : chosenPages.get(at);
            if (bound !== undefined && Number.isFinite(pages)) expect(pages, `${line}\n${text}`).toBeLessThanOrEqual(bound);
            const name = w[w.indexOf('->') + 1];
            if (w.includes('->') && name !== undefined && Number.isFinite(pages)) {
              chosenPages.set(name, Math.min(chosenPages.get(name) ?? Number.POSITIVE_INFINITY, Math.min(pages, 16)));
            }
          }
          const op = w[0] === 'fork' ? 'fork' : (w[1] ?? '');
          seen.add(op);
          if (op === 'shm_open' || op === 'shm_unlink') expect(SHM_NAMES.has(w[2] ?? ''), line).toBe(true);
          if (op === 'shm_open') {
            const flags = (w[3] ?? '').split('|');
            for (const f of flags) expect(OPEN_FLAGS.has(f), line).toBe(true);
            if (flags.includes('O_DIRECTORY')) seen.add('O_DIRECTORY');
          }
          if (op === 'memfd_create') {
            expect(MEMFD_NAMES.has(w[2] ?? ''), line).toBe(true);
            for (const f of (w[3] ?? '').split('|')) expect(MFD_FLAGS.has(f), line).toBe(true);
          }
          if (op === 'fcntl') {
            if (w[3] === 'F_ADD_SEALS' || w[3] === '1033') {
              for (const s of (w[4] ?? '').split('|')) expect(SEAL_NAMES.has(s), line).toBe(true);
              if ((w[4] ?? '').includes('F_SEAL_GROW')) seen.add('grow');
            }
            seen.add(w[3] ?? '');
          }
          // Writes under F_SEAL_GROW are generated too (they cross the end of the file now and then).
          if (seen.has('grow') && (op === 'write' || op === 'pwrite') && /^d\d+$/.test(w[2] ?? '')) seen.add('write after grow');
          // SEEK_DATA, SEEK_HOLE and mincore follow fallocate too (a fallocated page is a hole until written or faulted in).
          if (op === 'fallocate' && !(w[5] ?? '').includes('PUNCH')) fallocated = true;
          if (op === 'lseek') {
            seen.add(w[4] ?? '');
            if (fallocated && /SEEK_DATA|SEEK_HOLE/.test(w[4] ?? '')) seen.add('seek after fallocate');
          }
          if (op === 'mincore' && fallocated) seen.add('mincore after fallocate');
          if (op === 'mmap' && /^(1024G|0x[0-9a-f]{9,})$/.test(w[3] ?? '')) {
            seen.add((w[5] ?? '').includes('MAP_NORESERVE') ? 'huge without charge' : 'huge with charge');
            expect(w[5], line).not.toMatch(/MAP_POPULATE|MAP_LOCKED|MAP_FIXED/);
          }
          if (op === 'mmap') seen.add((w[5] ?? '').includes('MAP_PRIVATE') ? 'private' : 'shared');
        }
      }),
      // Enough that the rarer combinations below (a seek after a fallocate: about 6 in 300) are all but certain to appear.
      { numRuns: 800 },
    );
    for (const want of ['tmpfs', 'shm_open', 'shm_unlink', 'memfd_create', 'fcntl', 'mmap', 'private', 'shared', 'mprotect', 'munmap', 'msync']) {
      expect(seen, want).toContain(want);
    }
    for (const want of ['madvise', 'mlock', 'munlock', 'mincore', 'umask', 'cmpaddr', 'sysvipc', 'fork', 'SEEK_DATA', 'SEEK_HOLE', 'SEEK_END']) {
      expect(seen, want).toContain(want);
    }
    for (const want of ['F_GETFL', 'F_GET_SEALS', 'F_SETFD', 'F_GETFD', 'grow', 'write after grow', 'O_DIRECTORY']) {
      expect(seen, want).toContain(want);
    }
    for (const want of ['seek after fallocate', 'mincore after fallocate', 'huge without charge', 'huge with charge']) expect(seen, want).toContain(want);
  });

  it('runs to its end on the emulator, with successes and errors of the new calls, and copy-on-write after fork', () => {
    const outcomes = new Map<string, { ok: number; err: number }>();
    let forkedPrivateReads = 0;
    fc.assert(
      fc.property(scenarioTextArb(fc, { mechanisms: ['posix'] }), (text) => {
        const forked = /^fork /m.test(text);
        for (const line of run(text)) {
          const key = String(line['op']);
          const o = outcomes.get(key) ?? { ok: 0, err: 0 };
          if (line['ok'] === true) o.ok++;
          else o.err++;
          outcomes.set(key, o);
          if (forked && key === 'read' && line['data'] !== undefined) forkedPrivateReads++;
        }
      }),
      { numRuns: 200 },
    );
    for (const op of ['shm_open', 'shm_unlink', 'memfd_create', 'fcntl', 'mmap', 'mprotect', 'madvise', 'mlock', 'mincore', 'lseek', 'ftruncate']) {
      const o = outcomes.get(op);
      expect(o?.ok ?? 0, `${op} succeeds sometimes`).toBeGreaterThan(0);
      expect(o?.err ?? 0, `${op} fails sometimes`).toBeGreaterThan(0);
    }
    expect(forkedPrivateReads).toBeGreaterThan(0);
  });
});
