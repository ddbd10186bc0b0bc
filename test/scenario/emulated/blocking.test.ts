/**
 * Blocking calls on the emulated backend (docs/scenario-language.md,
 * Blocking calls): the lines they print, the scenario clock that ends timed
 * calls only at `wait` and `sleep`, and the run-time rules that stop a file.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { runEmulated } from '../../../src/scenario/emulated/emulated.js';
import { formatParseError, parseScenario } from '../../../src/scenario/parse/parse.js';
import { ScenarioError } from '../../../src/scenario/result/blocking.js';
import { normalize } from '../../../src/scenario/result/normalize.js';

function program(text: string) {
  const p = parseScenario(text, 't.scn');
  if (E.isLeft(p)) throw new Error(p.left.map(formatParseError).join('\n'));
  return p.right;
}

function run(...lines: string[]) {
  const p = program(`${lines.join('\n')}\n`);
  const emulated = runEmulated(p);
  return { ...normalize(p, emulated.results), kernel: emulated.kernel };
}

/** The ScenarioError a run throws, as `line: reason`. */
function stop(...lines: string[]): string {
  try {
    run(...lines);
  } catch (e) {
    if (e instanceof ScenarioError) return `${e.line}: ${e.reason}`;
    throw e;
  }
  throw new Error('the run did not stop');
}

const SET = ['proc A', 'proc B', 'A semget IPC_PRIVATE 1 0600 -> s'];

describe('output lines', () => {
  it('prints blocked, a still-blocked wait, and the collected result with op and of, keys in order', () => {
    const { lines } = run(...SET, 'B semop s 0:-1', 'B wait', 'A semop s 0:+1', 'B wait', 'B interrupt', 'sleep 5');
    expect(lines.slice(3).map((l) => JSON.stringify(l))).toEqual([
      '{"line":4,"proc":"B","op":"semop","blocked":true}',
      '{"line":5,"proc":"B","op":"wait","of":4,"blocked":true}',
      '{"line":6,"proc":"A","op":"semop","ok":true,"ret":0}',
      '{"line":7,"proc":"B","op":"semop","of":4,"ok":true,"ret":0}',
      '{"line":8,"proc":"B","op":"interrupt","ok":true}',
      '{"line":9,"op":"sleep","ok":true}',
    ]);
  });

  it('prints a collected msgrcv as msgrcv prints, with mtype and data, and an error with errno', () => {
    const { lines } = run('proc A', 'proc B', 'A msgget IPC_PRIVATE 0600 -> q', 'B msgrcv q 8 0 0', 'A msgsnd q 3 "ab" 0', 'B wait');
    expect(lines[5]).toEqual({ line: 6, proc: 'B', op: 'msgrcv', of: 4, ok: true, ret: 2, mtype: 3, data: '6162' });
    const e = run(...SET, 'B semtimedop s 0:-1 10', 'B wait');
    expect(e.lines[4]).toEqual({ line: 5, proc: 'B', op: 'semtimedop', of: 4, ok: false, errno: 'EAGAIN' });
  });

  it('checks => blocks against what the statement printed', () => {
    const { failures } = run(...SET, 'B semop s 0:-1 => blocks', 'B wait => ok', 'A semop s 0:+1 => blocks', 'B wait => blocks', 'A semop s 0:0 => ok');
    expect(failures).toEqual([
      { line: 5, wanted: 'ok', got: 'blocks' },
      { line: 6, wanted: 'blocks', got: 'ok' },
      { line: 7, wanted: 'blocks', got: 'ok' },
    ]);
  });
});

describe('the scenario clock', () => {
  it('stands still between statements and moves only at wait (by the remaining timeout) and at sleep', () => {
    const { lines, kernel } = run(...SET, 'B semtimedop s 0:-1 300', 'sleep 100', 'A semctl s 0 GETNCNT', 'B wait');
    expect(lines[5]).toMatchObject({ ok: true, ret: 1 });
    expect(lines[6]).toMatchObject({ op: 'semtimedop', errno: 'EAGAIN' });
    expect(kernel.monotonicNow()).toBe(300);
  });

  it('does not move at a wait whose timed call already ended', () => {
    const { lines, kernel } = run(...SET, 'B semtimedop s 0:-1 2000', 'A semop s 0:+1', 'B wait');
    expect(lines[5]).toMatchObject({ ok: true, ret: 0 });
    expect(kernel.monotonicNow()).toBe(0);
  });

  it('ends every timed call whose deadline a wait passes, and a sleep past a deadline ends that call', () => {
    const { lines, kernel } = run(
      'proc A',
      'proc B',
      'proc C',
      'A semget IPC_PRIVATE 1 0600 -> s',
      'B semtimedop s 0:-1 100',
      'C semtimedop s 0:-1 500',
      'C wait',
      'A semctl s 0 GETNCNT',
      'B wait',
      'B semtimedop s 0:-1 50',
      'sleep 60',
      'A semctl s 0 GETNCNT',
      'B wait',
    );
    expect(lines[6]).toMatchObject({ op: 'semtimedop', errno: 'EAGAIN' });
    expect(lines[7]).toMatchObject({ ret: 0 });
    expect(lines[8]).toMatchObject({ op: 'semtimedop', errno: 'EAGAIN' });
    expect(lines[11]).toMatchObject({ ret: 0 });
    expect(lines[12]).toMatchObject({ errno: 'EAGAIN' });
    expect(kernel.monotonicNow()).toBe(560);
  });

  it('never blocks an untimed call at wait: it stays blocked', () => {
    const { lines, kernel } = run(...SET, 'B semop s 0:-1', 'B wait', 'B wait');
    expect(lines.slice(4).map((l) => l['blocked'])).toEqual([true, true]);
    expect(kernel.monotonicNow()).toBe(0);
  });
});

describe('interrupt and exit', () => {
  it('interrupt ends a sleeping call with EINTR, leaves a finished one its result, and changes nothing on an idle process', () => {
    const { lines } = run(
      ...SET,
      'A interrupt',
      'B semop s 0:-1',
      'B interrupt',
      'A semctl s 0 GETNCNT',
      'B wait',
      'B semop s 0:-1',
      'A semop s 0:+1',
      'B interrupt',
      'B wait',
    );
    expect(lines.slice(3).map((l) => l['errno'] ?? l['ret'] ?? l['ok'] ?? l['blocked'])).toEqual([true, true, true, 0, 'EINTR', true, 0, true, 0]);
  });

  it('exit of a sleeping process takes it off the queue and applies its undo adjustments', () => {
    const { lines } = run(...SET, 'B semop s 0:+2:SEM_UNDO', 'B semop s 0:-3', 'A semctl s 0 GETNCNT', 'exit B', 'A semctl s 0 GETNCNT', 'A semctl s 0 GETVAL');
    expect(lines.slice(5).map((l) => l['ret'] ?? l['ok'])).toEqual([1, true, 0, 0]);
  });
});

describe('checkpoint and restore with calls asleep', () => {
  it('follows each sleeping call into the restored kernel, a timed one with the time it had left', () => {
    const { lines, kernel } = run(
      'proc A',
      'proc B',
      'proc C',
      'A semget IPC_PRIVATE 1 0600 -> s',
      'A msgget IPC_PRIVATE 0600 -> q',
      'B semtimedop s 0:-1 300',
      'C msgrcv q 8 0 0',
      'sleep 100',
      'checkpoint x',
      'restore x',
      'A semctl s 0 GETNCNT',
      'A msgsnd q 2 "hi" 0',
      'C wait',
      'B wait',
      'A semctl s 0 GETNCNT',
    );
    expect(lines.slice(10).map((l) => l['errno'] ?? l['ret'])).toEqual([1, 0, 2, 'EAGAIN', 0]);
    expect(lines[12]).toMatchObject({ op: 'msgrcv', of: 7, data: '6869' });
    // The restored kernel's clock starts again at 0: the call had 200 ms left.
    expect(kernel.monotonicNow()).toBe(200);
  });
});

describe('run-time rules', () => {
  it('stops at any statement but wait, interrupt and exit naming a blocked process', () => {
    const blocked = [...SET, 'B semop s 0:-1'];
    expect(stop(...blocked, 'B semctl s 0 GETVAL')).toBe('5: B semctl: process B is blocked in its semop of line 4; only wait, interrupt and exit may name it');
    expect(stop(...blocked, 'fork B C')).toBe('5: fork: process B is blocked in its semop of line 4; only wait, interrupt and exit may name it');
    expect(stop(...blocked, 'A semop s 0:+1', 'B msgget IPC_PRIVATE 0600')).toMatch(/^6: B msgget: process B is blocked in its semop of line 4/);
    expect(run(...blocked, 'B interrupt', 'exit B', 'A semctl s 0 GETVAL').lines).toHaveLength(7);
  });

  it('stops at a wait on a process with no blocked call, also after its call was collected or it exited and restarted nothing', () => {
    expect(stop(...SET, 'B wait')).toBe('4: B wait: process B has no blocked call to wait for');
    expect(stop(...SET, 'B semop s 0:-1', 'A semop s 0:+1', 'B wait', 'B wait')).toBe('7: B wait: process B has no blocked call to wait for');
    expect(stop(...SET, 'B semop s 0:+1', 'B wait')).toBe('5: B wait: process B has no blocked call to wait for');
  });

  it('lets a process named sleep block and be waited for, while sleep MS still works before it starts', () => {
    const { lines } = run('sleep 1', 'proc sleep', 'sleep semget IPC_PRIVATE 1 0600 -> s', 'sleep semtimedop s 0:-1 10', 'sleep wait');
    expect(lines.map((l) => l['op'])).toEqual(['sleep', 'proc', 'semget', 'semtimedop', 'semtimedop']);
    expect(lines[4]).toMatchObject({ proc: 'sleep', of: 4, errno: 'EAGAIN' });
  });
});
