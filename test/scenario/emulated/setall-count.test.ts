/**
 * SETALL's count on the emulated backend (docs/scenario-language.md,
 * Semaphores and message queues): the runner looks the id up before the
 * call, with no permission check, and a set of another size stops the run
 * with a run-time scenario error at the statement's first column; an id
 * that names no set runs and gets the kernel's answer. The kernel API keeps
 * Linux's behaviour for a library caller. Run-time errors of blocking calls
 * carry the column too.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE } from '../../../src/abi/constants.js';
import { GETALL, SETALL } from '../../../src/abi/sem.js';
import { Kernel } from '../../../src/kernel/kernel.js';
import { describeLineStop, tryOnEmulator } from '../../../src/scenario/host.js';
import type { OutputLine } from '../../../src/scenario/result/normalize.js';
import { runScenario } from '../../../src/testing/index.js';
import { lines, program } from '../helpers.js';

/** The emulated run of `text`: the lines printed, and the stop as the CLI prints it (undefined when the run ended). */
function run(text: string): { printed: OutputLine[]; stderr: string | undefined } {
  const printed: OutputLine[] = [];
  const r = tryOnEmulator(program(text), (line) => printed.push(line));
  if (E.isRight(r)) return { printed, stderr: undefined };
  const { text: stderr, status } = describeLineStop('emulated', 'f.scn', r.left);
  expect(status).toBe(2);
  return { printed, stderr };
}

const SET = ['proc A', 'proc U uid=1000 gid=1000 caps=none', 'A semget IPC_PRIVATE 3 0600 -> s'];

describe('SETALL with a count other than its set size', () => {
  it('stops before a short list, after printing the lines before it, naming the line, the column, the size and the count', () => {
    const { printed, stderr } = run(lines(...SET, 'A semctl s 0 SETALL 1,2,3', '  A semctl s 0 SETALL 1,2', 'A semctl s 0 GETALL'));
    expect(printed.map((l) => l['line'])).toEqual([1, 2, 3, 4]);
    expect(stderr).toBe('f.scn:5:3: A semctl: SETALL lists 2 values, but set s has 3 semaphores; list exactly one value per semaphore\n');
  });

  it('stops before a long list, and a single value is counted in the singular', () => {
    expect(run(lines(...SET, 'A semctl s 0 SETALL 1,2,3,4')).stderr).toMatch(/^f\.scn:4:1: A semctl: SETALL lists 4 values, but set s has 3 semaphores;/);
    expect(run(lines(...SET, 'A semctl s 0 SETALL 1')).stderr).toMatch(/SETALL lists 1 value, but/);
    expect(run(lines('proc A', 'A semget IPC_PRIVATE 1 0600 -> one', 'A semctl one 0 SETALL 1,2')).stderr).toMatch(/set one has 1 semaphore;/);
  });

  it('checks without permission: a process that would get EACCES stops there too', () => {
    expect(run(lines(...SET, 'U semctl s 0 SETALL 1,2,3 => EACCES')).stderr).toBeUndefined();
    expect(run(lines(...SET, 'U semctl s 0 SETALL 1,2')).stderr).toMatch(/^f\.scn:4:1: U semctl: SETALL lists 2 values, but set s has 3 semaphores/);
  });

  it("names a literal id as written, and checks the set in the process's own namespace", () => {
    expect(run(lines(...SET, 'A semctl 0 0 SETALL 1')).stderr).toMatch(/^f\.scn:4:1: A semctl: SETALL lists 1 value, but set id 0 has 3 semaphores/);
    // In another namespace id 0 names that namespace's set of one.
    const r = run(
      lines(...SET, 'proc B ns=other', 'B semget IPC_PRIVATE 1 0600 => ok raw=0', 'B semctl 0 0 SETALL 5 => ok', 'B semctl 0 0 GETALL => ok vals=5'),
    );
    expect(r.stderr).toBeUndefined();
    expect(r.printed.map((l) => l['expect'])).toEqual(Array(7).fill(undefined));
  });

  it('lets the call run when no set has the id: the kernel answers EINVAL', () => {
    const r = run(
      lines(
        ...SET,
        'A semctl s 0 IPC_RMID',
        'A semctl s 0 SETALL 1 => EINVAL',
        'A semctl 12345 0 SETALL 1,2,3,4,5 => EINVAL',
        // A failed semget binds nothing: the variable reads -1.
        'A semget 5 1 0600 -> miss => ENOENT',
        'A semctl miss 0 SETALL 1 => EINVAL',
      ),
    );
    expect(r.stderr).toBeUndefined();
    expect(r.printed.map((l) => l['expect'])).toEqual(Array(8).fill(undefined));
  });

  it('leaves a SETALL written as a number alone (it passes no list)', () => {
    expect(run(lines(...SET, `A semctl s 0 ${SETALL} => EFAULT`)).stderr).toBeUndefined();
  });

  it('is a Left FILE:LINE:COL line from runScenario, not a throw', () => {
    const r = runScenario(lines(...SET, '\tA semctl s 0 SETALL 1'), {}, 'x.scn');
    expect(E.isLeft(r) && r.left).toEqual(['x.scn:4:2: A semctl: SETALL lists 1 value, but set s has 3 semaphores; list exactly one value per semaphore']);
  });
});

describe("the kernel API keeps Linux's SETALL", () => {
  it('gives a library caller EFAULT for a short array and ignores extra values', () => {
    const p = new Kernel({ memTotalBytes: 16 << 20 }).spawn();
    const id = E.getOrElse(() => -1)(p.semget(IPC_PRIVATE, 3, IPC_CREAT | 0o600));
    const short = p.semctl(id, 0, SETALL, [1, 2]);
    expect(E.isLeft(short) && short.left.errno).toBe('EFAULT');
    expect(E.isRight(p.semctl(id, 0, SETALL, [4, 5, 6, 7]))).toBe(true);
    const all = p.semctl(id, 0, GETALL);
    expect(E.isRight(all) && all.right.values).toEqual([4, 5, 6]);
  });
});

describe('run-time scenario errors of blocking calls', () => {
  it('name the column of the statement’s first token, like a parse error', () => {
    expect(run(lines('proc A', 'proc B', '    B wait')).stderr).toBe('f.scn:3:5: B wait: process B has no blocked call to wait for\n');
    const blocked = run(lines('proc A', 'A semget IPC_PRIVATE 1 0600 -> s', 'A semop s 0:-1', ' A semctl s 0 GETVAL'));
    expect(blocked.stderr).toBe('f.scn:4:2: A semctl: process A is blocked in its semop of line 3; only wait, interrupt and exit may name it\n');
    expect(blocked.printed).toHaveLength(3);
  });
});
