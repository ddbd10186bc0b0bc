/**
 * SETALL's count on the native oracle: before the call the process asks
 * SEM_STAT_ANY about the id's slot, and a set of another size ends the run
 * with a stop line giving that size and exit status 2, which the runner
 * reports as the emulator does (same lines before, same FILE:LINE:COL
 * message). An id that names no set goes to the kernel. Each test skips,
 * with the reason, where the native backend cannot run.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { RunProblem } from '../../../src/scenario/host.js';
import { describeLineStop, streamOn } from '../../../src/scenario/host.js';
import { nativeAvailable, runOracle } from '../../../src/scenario/native/native.js';
import type { OutputLine } from '../../../src/scenario/result/normalize.js';
import type { RawResult } from '../../../src/scenario/result/raw.js';
import { lines, program } from '../helpers.js';

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;

/** Skips the running test when the oracle cannot run here. */
function needNative(ctx: { skip: (note?: string) => void }): void {
  if (unavailable !== undefined) ctx.skip(`the native backend cannot run here: ${unavailable}`);
}

function outcome(r: RawResult | undefined): string {
  if (r === undefined) return '(none)';
  if (r.ok) return r.ret === undefined ? 'ok' : `ret=${r.ret}`;
  return 'errno' in r ? r.errno : 'signal' in r ? r.signal : 'blocked';
}

/** One backend's run of `text`: the lines printed, and what stopped it as the CLI prints it. */
async function run(backend: 'emulated' | 'native', text: string): Promise<{ printed: OutputLine[]; stderr: string | undefined }> {
  const printed: OutputLine[] = [];
  const r = await streamOn(backend, program(text), (line) => printed.push(line));
  if (E.isRight(r)) return { printed, stderr: undefined };
  const problem: RunProblem = r.left;
  if (!('line' in problem)) throw new Error(`${backend}: ${JSON.stringify(problem)}`);
  const { text: stderr, status } = describeLineStop(backend, 'f.scn', problem);
  expect(status).toBe(2);
  return { printed, stderr };
}

const SET = ['proc A', 'proc U uid=1000 gid=1000 caps=none', 'A semget IPC_PRIVATE 3 0600 -> s'];

describe('SETALL with a count other than its set size, on the real kernel', () => {
  it('stops the oracle with a stop line giving the set size, also for a caller without permission', (ctx) => {
    needNative(ctx);
    const text = (setall: string) =>
      [
        'proc 0 0 0 0 -1 0',
        'proc 1 1000 1000 0 0 0',
        'semget 0 0 3 384 #0',
        'semctl 1 #0 0 17 1 - 3 1 2 40000',
        'semctl 0 #0 0 17 1 - 3 40000 1 2',
        setall,
        'semctl 0 #0 0 13 1 -',
      ]
        .map((s, i) => `${i + 1} ${s}\n`)
        .join('');
    for (const setall of ['semctl 1 #0 0 17 1 - 2 1 2', 'semctl 0 #0 0 17 1 - 4 1 2 3 4', 'semctl 0 #0 0 17 1 - 1 7']) {
      const r = runOracle(text(setall));
      if (E.isLeft(r)) throw new Error(`oracle: ${JSON.stringify(r.left)}`);
      expect(r.right.map(outcome)).toEqual(['ok', 'ok', 'ret=0', 'EACCES', 'ERANGE']);
      expect(r.right.stop).toEqual({ nsems: 3 });
    }
    const fine = runOracle(text('semctl 0 #0 0 17 1 - 3 1 2 3'));
    if (E.isLeft(fine)) throw new Error(`oracle: ${JSON.stringify(fine.left)}`);
    expect(fine.right.map(outcome).slice(5)).toEqual(['ret=0', 'ret=0']);
    expect(fine.right.stop).toBeUndefined();
  });

  it('lets the call run when no set has the id (a removed set, a literal, an unbound slot): EINVAL', (ctx) => {
    needNative(ctx);
    const r = runOracle(
      [
        'proc 0 0 0 0 -1 0',
        'semget 0 0 3 384 #0',
        'semctl 0 #0 0 0 1 -',
        'semctl 0 #0 0 17 1 - 1 1',
        'semctl 0 12345 0 17 1 - 2 1 2',
        'semctl 0 #1 0 17 1 - 1 1',
      ]
        .map((s, i) => `${i + 1} ${s}\n`)
        .join(''),
    );
    if (E.isLeft(r)) throw new Error(`oracle: ${JSON.stringify(r.left)}`);
    expect(r.right.map(outcome)).toEqual(['ok', 'ret=0', 'ret=0', 'EINVAL', 'EINVAL', 'EINVAL']);
    expect(r.right.stop).toBeUndefined();
  });

  it('prints the emulator’s lines, then stops with the emulator’s FILE:LINE:COL message', async (ctx) => {
    needNative(ctx);
    const scenarios = [
      lines(...SET, 'U semctl s 0 SETALL 1,2,3 => EACCES', 'A semctl s 0 SETALL 1,2,3 => ok', '  A semctl s 0 SETALL 1,2', 'A semctl s 0 GETALL'),
      lines(...SET, 'U semctl s 0 SETALL 1,2,3,4'),
      // Id reuse: after sem_next_id and RMID the old variable names a set of four.
      lines(
        'proc A',
        'A semget IPC_PRIVATE 2 0600 => ok raw=0',
        'sysctl kernel.sem_next_id=1',
        'A semget IPC_PRIVATE 1 0600 -> one => ok raw=1',
        'A semctl one 0 IPC_RMID',
        'A semctl one 0 SETALL 9,9 => EINVAL',
        'A semget IPC_PRIVATE 4 0600 -> four => ok raw=1',
        '\tA semctl one 0 SETALL 7',
      ),
      // The blocking rules' errors carry the column too.
      lines('proc A', 'A semget IPC_PRIVATE 1 0600 -> s', 'A semop s 0:-1', '   A semctl s 0 GETVAL'),
    ];
    const want = [
      'f.scn:6:3: A semctl: SETALL lists 2 values, but set s has 3 semaphores; list exactly one value per semaphore\n',
      'f.scn:4:1: U semctl: SETALL lists 4 values, but set s has 3 semaphores; list exactly one value per semaphore\n',
      'f.scn:8:2: A semctl: SETALL lists 1 value, but set one has 4 semaphores; list exactly one value per semaphore\n',
      'f.scn:4:4: A semctl: process A is blocked in its semop of line 3; only wait, interrupt and exit may name it\n',
    ];
    for (const [i, text] of scenarios.entries()) {
      const emulated = await run('emulated', text);
      const native = await run('native', text);
      expect(emulated.stderr, text).toBe(want[i]);
      expect(native.stderr, text).toBe(want[i]);
      expect(native.printed, text).toEqual(emulated.printed);
      expect(emulated.printed.every((l) => l['expect'] === undefined)).toBe(true);
    }
  }, 30_000);

  it('reports the size of a set above 65535 semaphores (semmsl raised) as the emulator does', async (ctx) => {
    needNative(ctx);
    const text = lines('proc A', 'sysctl kernel.sem="70000 100000 32 32000" => ok', 'A semget IPC_PRIVATE 70000 0600 -> s => ok', 'A semctl s 0 SETALL 1,2');
    const want = 'f.scn:4:1: A semctl: SETALL lists 2 values, but set s has 70000 semaphores; list exactly one value per semaphore\n';
    const emulated = await run('emulated', text);
    const native = await run('native', text);
    expect(emulated.stderr).toBe(want);
    expect(native.stderr).toBe(want);
    expect(native.printed).toEqual(emulated.printed);
  }, 30_000);
});
