/**
 * A call that waits prints `blocked`, and the process keeps it: a later
 * statement other than wait, interrupt or exit naming that process is a
 * run-time scenario error (exit 2, the lines before it printed), as is a
 * `wait` on a process with no blocked call. Both backends stop at the same
 * line with the same message; neither throws or hangs.
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
const rcv = join(dir, 'rcv.scn');
writeFileSync(rcv, 'proc A\nA msgget IPC_PRIVATE 0600 -> q\nA msgrcv q 8 0 0\nA wait\nA msgctl q IPC_STAT\n');
const idle = join(dir, 'idle.scn');
writeFileSync(idle, 'proc A\nproc B\nB wait\n');
const cli = (...args: string[]) =>
  spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, encoding: 'utf8' });

const BLOCKED_SEMCTL = 'A semctl: process A is blocked in its semop of line 5; only wait, interrupt and exit may name it';

describe.each(['emulated', 'native'] as const)('a blocked call on the %s backend', (backend) => {
  const skip = backend === 'native' && E.isLeft(nativeAvailable());
  const run = (f: string) => cli('run', '--backend', backend, f);

  it.skipIf(skip)(
    'prints blocked, then stops at a statement naming the blocked process, after printing the lines before it',
    () => {
      const r = run(file);
      expect(r.stderr).toBe(`${file}:6:1: ${BLOCKED_SEMCTL}\n`);
      expect(r.status).toBe(2);
      const out = r.stdout.trim().split('\n');
      expect(out).toHaveLength(5);
      expect(JSON.parse(out[4]!)).toEqual({ line: 5, proc: 'A', op: 'semop', blocked: true });
    },
    30_000,
  );

  it.skipIf(skip)(
    'with msgrcv on an empty queue, after a wait that finds it still blocked',
    () => {
      const r = run(rcv);
      expect(r.stderr).toMatch(/:5:1: A msgctl: process A is blocked in its msgrcv of line 3/);
      expect(r.status).toBe(2);
      expect(JSON.parse(r.stdout.trim().split('\n')[3]!)).toEqual({ line: 4, proc: 'A', op: 'wait', of: 3, blocked: true });
    },
    30_000,
  );

  it.skipIf(skip)(
    'stops at a wait on a process with no blocked call',
    () => {
      const r = run(idle);
      expect(r.stderr).toBe(`${idle}:3:1: B wait: process B has no blocked call to wait for\n`);
      expect(r.status).toBe(2);
      expect(r.stdout.trim().split('\n')).toHaveLength(2);
    },
    30_000,
  );
});

describe('runScenario', () => {
  it('gives a run-time scenario error as a Left naming the line, not a throw', () => {
    const r = runScenario(text);
    expect(E.isLeft(r) && r.left).toEqual([`scenario.scn:6:1: ${BLOCKED_SEMCTL}`]);
  });
});
