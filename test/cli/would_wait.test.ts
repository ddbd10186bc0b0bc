/**
 * Calls that wait are not in the scenario language yet: a file whose semop,
 * msgsnd or msgrcv would sleep stops with a scenario error naming the line on
 * the emulator (exit 2, the lines before it printed), and the native oracle
 * ends such a call after a bounded wait instead of hanging (exit 4, naming
 * the reason). Neither throws or hangs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../src/scenario/native/native.js';
import { runScenario } from '../../src/testing/index.js';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-wait-'));
const text = 'proc A\nA semget IPC_PRIVATE 1 0600 -> s\nA semop s 0:+1\nA semop s 0:-1\nA semop s 0:-1\nA semctl s 0 GETVAL\n';
const file = join(dir, 'waits.scn');
writeFileSync(file, text);
const cli = (...args: string[]) =>
  spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, encoding: 'utf8' });

describe('a call that would wait', () => {
  it('stops an emulated run with a scenario error at its line, after printing the lines before it', () => {
    const r = cli('run', file);
    expect(r.status).toBe(2);
    expect(r.stdout.trim().split('\n')).toHaveLength(4);
    expect(r.stderr).toBe(`${file}:5: semop would wait, and calls that wait are not in the scenario language yet: add IPC_NOWAIT\n`);
  });

  it('is a Left from runScenario, not a throw', () => {
    const r = runScenario(text);
    expect(E.isLeft(r) && r.left[0]).toMatch(/would wait/);
  });

  it('with msgrcv on an empty queue, too', () => {
    const f = join(dir, 'rcv.scn');
    writeFileSync(f, 'proc A\nA msgget IPC_PRIVATE 0600 -> q\nA msgrcv q 8 0 0\n');
    const r = cli('run', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/:3: msgrcv would wait/);
  });

  it.skipIf(E.isLeft(nativeAvailable()))(
    'ends natively after a bounded wait, naming the reason, instead of hanging',
    () => {
      const r = cli('run', '--backend', 'native', file);
      expect(r.status).toBe(4);
      expect(r.stdout.trim().split('\n')).toHaveLength(4);
      expect(r.stderr).toMatch(/scenario line 5.*calls that wait are not in the scenario language yet/);
    },
    30_000,
  );
});
