import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { MsgLimits } from '../../src/msg/limits.js';
import { asMsgType, negateType, typeBelow } from '../../src/msg/mtype.js';

const errno = (r: E.Either<{ errno: string }, void>) => (E.isLeft(r) ? r.left.errno : 'ok');

describe('MsgLimits sysctls', () => {
  it('start at Linux’s defaults', () => {
    const l = new MsgLimits();
    expect(['msgmax', 'msgmnb', 'msgmni', 'auto_msgmni', 'msg_next_id'].map((n) => l.read(n as never))).toEqual([8192n, 16384n, 32000n, 0n, -1n]);
  });

  it('enforce each handler’s range and leave the value alone on EINVAL', () => {
    const l = new MsgLimits();
    expect(errno(l.write('msgmax', 2147483647n))).toBe('ok');
    expect(errno(l.write('msgmax', 2147483648n))).toBe('EINVAL');
    expect(errno(l.write('msgmnb', -1n))).toBe('EINVAL');
    expect(errno(l.write('msgmnb', 0n))).toBe('ok');
    expect(errno(l.write('msgmni', 32768n))).toBe('ok');
    expect(errno(l.write('msgmni', 32769n))).toBe('EINVAL');
    expect(errno(l.write('msg_next_id', -1n))).toBe('EINVAL');
    expect(errno(l.write('msg_next_id', 7n))).toBe('ok');
    expect([l.msgmax, l.msgmnb, l.msgmni, l.msgNextId]).toEqual([2147483647, 0, 32768, 7]);
  });

  it('accept auto_msgmni 0 or 1 and ignore it; refuse other names', () => {
    const l = new MsgLimits();
    expect(errno(l.write('auto_msgmni', 1n))).toBe('ok');
    expect(l.read('auto_msgmni')).toBe(0n);
    expect(errno(l.write('auto_msgmni', 2n))).toBe('EINVAL');
    expect(errno(l.write('shmmax' as never, 1n))).toBe('EINVAL');
    expect(errno(l.write('msgmax', 5 as never))).toBe('EINVAL');
  });
});

describe('message types', () => {
  it('are canonical: safe integers are numbers, the rest bigints wrapped to 64 bits', () => {
    expect(asMsgType(5n)).toBe(5);
    expect(asMsgType(-0)).toBe(0);
    expect(asMsgType(2n ** 60n)).toBe(2n ** 60n);
    expect(asMsgType(2n ** 64n + 3n)).toBe(3);
    expect(asMsgType(2n ** 63n)).toBe(-(2n ** 63n));
    expect(() => asMsgType(1.5)).toThrow(RangeError);
  });

  it('negate LONG_MIN to LONG_MAX, and narrow by one without leaving the canonical form', () => {
    expect(negateType(-(2n ** 63n))).toBe(2n ** 63n - 1n);
    expect(negateType(-7)).toBe(7);
    expect(typeBelow(2n ** 53n)).toBe(2 ** 53 - 1);
    expect(typeBelow(1)).toBe(0);
  });
});
