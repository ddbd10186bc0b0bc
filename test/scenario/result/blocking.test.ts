/**
 * result/blocking.ts: which process is blocked, decided from raw results
 * alone, and the run-time rules both backends stop at.
 */
import { describe, expect, it } from 'vitest';
import { BlockedCalls, canBlock, isBlocked, ScenarioError } from '../../../src/scenario/result/blocking.js';
import type { RawResult } from '../../../src/scenario/result/raw.js';
import { lines, program } from '../helpers.js';

const BLOCKED: RawResult = { ok: false, blocked: true };
const OK: RawResult = { ok: true, ret: 0n };

const p = program(
  lines(
    'proc A',
    'proc B',
    'A semget IPC_PRIVATE 1 0600 -> s',
    'A msgget IPC_PRIVATE 0600 -> q',
    'B msgrcv q 8 0 0',
    'sysctl kernel.msgmax=100',
    'sleep 10',
    'proc C',
    'A semop s 0:+1',
    'B wait',
    'B wait',
    'fork B D',
    'B interrupt',
    'exit B',
  ),
);
const st = (line: number) => p.statements.find((s) => s.line === line)!;

describe('BlockedCalls', () => {
  it('knows the four calls that can block and the raw result that says so', () => {
    expect(p.statements.filter(canBlock).map((s) => s.op)).toEqual(['msgrcv', 'semop']);
    expect([BLOCKED, OK, { ok: false, errno: 'EAGAIN' } as RawResult].map(isBlocked)).toEqual([true, false, false]);
  });

  it('keeps a call blocked until a wait collects it, and lets host-side statements and other processes run meanwhile', () => {
    const b = new BlockedCalls(p);
    for (const line of [1, 2, 3, 4]) b.record(st(line), OK);
    b.record(st(5), BLOCKED);
    expect(b.of(1)?.line).toBe(5);
    expect(b.blockedProcs()).toEqual([1]);
    for (const line of [6, 7, 8, 9]) expect(b.refusal(st(line))).toBeUndefined();
    expect(b.refusal(st(12))).toBe('fork: process B is blocked in its msgrcv of line 5; only wait, interrupt and exit may name it');
    expect(b.refusal(st(13))).toBeUndefined();
    expect(b.refusal(st(14))).toBeUndefined();
    b.record(st(10), BLOCKED);
    expect(b.of(1)?.line).toBe(5);
    b.record(st(10), OK);
    expect(b.of(1)).toBeUndefined();
    expect(b.refusal(st(11))).toBe('B wait: process B has no blocked call to wait for');
    expect(() => b.record(st(11), OK)).toThrow(ScenarioError);
  });

  it('forgets the call of a process that exits', () => {
    const b = new BlockedCalls(p);
    b.record(st(5), BLOCKED);
    b.record(st(14), { ok: true });
    expect(b.of(1)).toBeUndefined();
  });
});
