import { describe, expect, it } from 'vitest';
import { encodeProgram } from '../../../src/scenario/native/protocol.js';
import { errors, last, lines, program } from '../helpers.js';

describe('blocking-call statements', () => {
  it('parses wait and interrupt after a process name', () => {
    expect(last(lines('proc A', 'proc B', 'B wait'))).toEqual({ op: 'wait', line: 3, proc: 1 });
    expect(last(lines('proc A', 'A interrupt'))).toEqual({ op: 'interrupt', line: 2, proc: 0 });
  });

  it('parses sleep MS with no process', () => {
    expect(last('sleep 250')).toEqual({ op: 'sleep', line: 1, ms: 250n });
    expect(last('sleep 0')).toEqual({ op: 'sleep', line: 1, ms: 0n });
  });

  it('takes => blocks, and blocks with nothing after it', () => {
    expect(last(lines('proc A', 'A semop 0 0:-1 => blocks'))).toMatchObject({ expect: { kind: 'blocks', text: 'blocks' } });
    expect(last(lines('proc A', 'A wait => EIDRM'))).toMatchObject({ expect: { kind: 'errno', errno: 'EIDRM' } });
    expect(errors(lines('proc A', 'A wait => blocks ret=0'))).toEqual(['2:18: nothing may follow blocks']);
  });

  it('lets a started process named sleep keep its statements, and sleep stay a statement before that', () => {
    const p = program(lines('sleep 5', 'proc sleep', 'sleep semget IPC_PRIVATE 1 0600 -> s', 'sleep wait', 'proc wait', 'wait interrupt'));
    expect(p.statements.map((s) => s.op)).toEqual(['sleep', 'proc', 'semget', 'wait', 'proc', 'interrupt']);
    expect(p.statements[3]).toMatchObject({ proc: 0 });
    expect(p.statements[5]).toMatchObject({ proc: 1 });
  });

  it('reports bad shapes', () => {
    expect(errors('sleep')).toEqual(['1:1: sleep needs MS (got 0 arguments)']);
    expect(errors('sleep 1 2')).toEqual(['1:9: too many arguments: sleep takes MS']);
    expect(errors('sleep -1')).toEqual(['1:7: MS must be between 0 and 10000']);
    expect(errors('sleep 10001')).toEqual(['1:7: MS must be between 0 and 10000']);
    expect(errors(lines('proc A', 'A wait 1'))).toEqual(['2:8: too many arguments: wait takes none']);
    expect(errors(lines('proc A', 'A interrupt x'))).toEqual(['2:13: too many arguments: interrupt takes none']);
    expect(errors('wait')).toEqual(['1:1: missing process name before wait']);
    expect(errors(lines('proc A', 'exit A', 'A wait'))).toEqual(['3:1: process A exited at line 2']);
  });

  it('encodes the three statements for the oracle', () => {
    expect(encodeProgram(program(lines('proc A', 'A wait', 'A interrupt', 'sleep 30')))).toBe('1 proc 0 0 0 0 -1 0\n2 wait 0\n3 interrupt 0\n4 sleep 30\n');
  });
});
