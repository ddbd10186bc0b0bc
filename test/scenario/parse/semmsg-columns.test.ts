/**
 * Errors inside a token that packs several values (semop's OPS, SETALL's
 * list, kernel.sem's quoted numbers) point at the value that is wrong, not
 * at the token's first character: COL counts characters from 1, non-ASCII
 * text before the token included.
 */
import { describe, expect, it } from 'vitest';
import { errors, lines } from '../helpers.js';

describe('columns inside packed tokens', () => {
  it("names the bad part of semop's and semtimedop's OPS", () => {
    expect(errors(lines('proc A', 'A semop 1 0:1,1:1K'))).toEqual(['2:18: a size suffix is not allowed here']);
    expect(errors(lines('proc A', 'A semop 1 0:+1K'))).toEqual(['2:15: a size suffix is not allowed here']);
    expect(errors(lines('proc A', 'A semop 1 0:1,x:1'))).toEqual(['2:15: expected a number, got x']);
    expect(errors(lines('proc A', 'A semop 1 0:1:SEM_UNDO|FOO'))).toEqual(['2:24: unknown flag FOO']);
    expect(errors(lines('proc A', 'A semop 1 0:1,1:2:3:4'))).toEqual(['2:15: expected SEMNUM:OP or SEMNUM:OP:FLAGS, got 1:2:3:4']);
    expect(errors(lines('proc A', 'A semtimedop 1 0:1,2:y 10'))).toEqual(['2:22: expected a number, got y']);
  });

  it("names the bad value of SETALL's list", () => {
    expect(errors(lines('proc A', 'A semctl 1 0 SETALL 1,2,x'))).toEqual(['2:25: expected a number, got x']);
    expect(errors(lines('proc A', 'A semctl 1 0 SETALL 1,70000'))).toEqual(['2:23: a semaphore value must be between -32768 and 65535']);
  });

  it("names the bad number of kernel.sem's string, counting characters", () => {
    expect(errors('sysctl kernel.sem="1 2 3 x"')).toEqual(['1:26: expected a number, got x']);
    expect(errors('sysctl kernel.sem="  1\t2  y 4"')).toEqual(['1:27: expected a number, got y']);
    // With an escape in the string, the token's column stands for all its numbers.
    expect(errors('sysctl kernel.sem="\\x31 z 3 4"')).toEqual(['1:8: expected a number, got z']);
  });

  it('counts a non-ASCII character as one column', () => {
    expect(errors('sysctl kernel.sem="1 é x 4"')).toEqual(['1:22: expected a number, got é', '1:24: expected a number, got x']);
    expect(errors('sysctl kernel.sem="😀 x 3 4"')).toEqual(['1:20: expected a number, got 😀', '1:22: expected a number, got x']);
    // In semop's OPS, before the op and before the flags.
    expect(errors(lines('proc A', 'A semop 1 😀:1:FOO'))).toEqual(['2:11: expected a number, got 😀', '2:15: unknown flag FOO']);
    expect(errors(lines('proc A', 'A semop 1 0:😀:FOO'))).toEqual(['2:13: expected a number, got 😀', '2:15: unknown flag FOO']);
    expect(errors(lines('proc A', 'A semop 1 0:1,😀😀:2:BAR'))).toEqual(['2:15: expected a number, got 😀😀', '2:20: unknown flag BAR']);
  });
});
