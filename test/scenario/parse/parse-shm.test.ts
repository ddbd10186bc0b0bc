import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { formatParseError, parseScenario } from '../../../src/scenario/parse/parse.js';
import { errors, last, lines, program } from '../helpers.js';

/** Line 1 starts A; line 2 binds id s; line 3 binds address a in A. */
const HEAD = ['proc A', 'A shmget IPC_PRIVATE 4K IPC_CREAT|0600 -> s', 'A shmat s 0 0 -> a'];
const withHead = (...ls: string[]): string => lines(...HEAD, ...ls);

describe('shmget', () => {
  it('resolves IPC_PRIVATE, sizes with suffixes and flag sets', () => {
    expect(last(lines('proc A', 'A shmget IPC_PRIVATE 2M IPC_CREAT|IPC_EXCL|0640 -> s'))).toEqual({
      op: 'shmget',
      line: 2,
      proc: 0,
      key: 0,
      keyWritten: 0n,
      size: 2n << 20n,
      flags: 0o3640,
      bind: 0,
    });
  });

  it('truncates the key to a signed 32-bit key_t and keeps what was written', () => {
    expect(last(lines('proc A', 'A shmget 0xffffffff 1 0'))).toMatchObject({ key: -1, keyWritten: 0xffffffffn });
    expect(last(lines('proc A', 'A shmget -5 1 0'))).toMatchObject({ key: -5, keyWritten: -5n });
    expect(last(lines('proc A', 'A shmget 0x100000000 1 0'))).toMatchObject({ key: 0, keyWritten: 0x100000000n });
    expect(last(lines('proc A', 'A shmget 0x80000000 1 0'))).toMatchObject({ key: -(2 ** 31) });
  });

  it('keeps sizes exact up to 2^64-1 and wraps negative sizes as size_t', () => {
    expect(last(lines('proc A', 'A shmget 1 18446744073709551615 0'))).toMatchObject({ size: 2n ** 64n - 1n });
    expect(last(lines('proc A', 'A shmget 1 -1 0'))).toMatchObject({ size: 2n ** 64n - 1n });
  });

  it('reports bad keys, sizes and flags, all of them', () => {
    expect(errors(lines('proc A', 'A shmget IPC_PUBLIC 4Q FOO'))).toEqual([
      '2:10: expected a number, got IPC_PUBLIC',
      '2:21: expected a number, got 4Q',
      '2:24: unknown flag FOO',
    ]);
    expect(errors(lines('proc A', 'A shmget 1K 1 0'))).toEqual(['2:11: a size suffix is not allowed here']);
  });
});

describe('shmat and address expressions', () => {
  it('takes an id variable or a literal int, and binds an address', () => {
    expect(last(withHead('A shmat s 0 SHM_RDONLY|SHM_RND -> b'))).toEqual({
      op: 'shmat',
      line: 4,
      proc: 0,
      id: { kind: 'slot', slot: 0 },
      addr: { kind: 'literal', value: 0n },
      flags: 0o30000,
      bind: 1,
    });
    expect(last(withHead('A shmat 0xffffffff 0 0'))).toMatchObject({ id: { kind: 'literal', value: -1 } });
    expect(last(withHead('A shmat -1 0 0'))).toMatchObject({ id: { kind: 'literal', value: -1 } });
  });

  it('reads VAR, VAR+N, VAR-N and literal addresses', () => {
    expect(last(withHead('A shmdt a'))).toMatchObject({ addr: { kind: 'slot', slot: 0, offset: 0n } });
    expect(last(withHead('A shmdt a+0x1000'))).toMatchObject({ addr: { kind: 'slot', slot: 0, offset: 4096n } });
    expect(last(withHead('A shmdt a-010'))).toMatchObject({ addr: { kind: 'slot', slot: 0, offset: -8n } });
    expect(last(withHead('A shmdt 0x7f0000000000'))).toMatchObject({ addr: { kind: 'literal', value: 0x7f0000000000n } });
    expect(last(withHead('A shmdt -1'))).toMatchObject({ addr: { kind: 'literal', value: 2n ** 64n - 1n } });
  });

  it('takes any flag name in any flag set, as its plain value', () => {
    expect(last(withHead('A shmat s 0 IPC_CREAT|PROT_WRITE'))).toMatchObject({ flags: 0o1002 });
    expect(last(withHead('A mprotect a 4096 SHM_RDONLY'))).toMatchObject({ prot: 0o10000 });
  });

  it('allows no size suffix in addresses or offsets', () => {
    expect(errors(withHead('A shmdt a+4K'))).toEqual(['4:12: a size suffix is not allowed here']);
    expect(errors(withHead('A shmdt 4K'))).toEqual(['4:10: a size suffix is not allowed here']);
  });

  it('reports malformed address expressions', () => {
    expect(errors(withHead('A shmdt a+'))).toEqual(['4:11: expected an offset after +']);
    expect(errors(withHead('A shmdt a+-4'))).toEqual(['4:11: expected an offset after +']);
    expect(errors(withHead('A shmdt a*2'))).toEqual(['4:9: expected an address (0, a number, VAR, VAR+N or VAR-N), got a*2']);
    expect(errors(withHead('A shmdt a+0x'))).toEqual(['4:11: expected a number, got 0x']);
  });

  it('requires the address to be bound in that same process', () => {
    expect(errors(withHead('proc B', 'B shmdt a'))).toEqual(['5:9: address a is not bound in process B']);
    expect(errors(withHead('A shmdt nowhere'))).toEqual(['4:9: address nowhere is not bound in process A']);
  });

  it('lets another process bind the same name to its own address', () => {
    const p = program(withHead('proc B', 'B shmat s 0 0 -> a', 'B shmdt a'));
    expect(p.addrVars).toEqual(['a']);
    expect(p.statements[4]).toMatchObject({ proc: 1, bind: 0 });
  });
});

describe('shmctl', () => {
  it('resolves every command name and marks it as named', () => {
    const cmds: Record<string, number> = {
      IPC_RMID: 0,
      IPC_STAT: 2,
      IPC_INFO: 3,
      SHM_LOCK: 11,
      SHM_UNLOCK: 12,
      SHM_STAT: 13,
      SHM_INFO: 14,
      SHM_STAT_ANY: 15,
    };
    for (const [name, cmd] of Object.entries(cmds)) {
      expect(last(withHead(`A shmctl s ${name}`))).toEqual({ op: 'shmctl', line: 4, proc: 0, id: { kind: 'slot', slot: 0 }, cmd, cmdName: name });
    }
  });

  it('passes a numeric command unchanged, without a name', () => {
    const s = last(withHead('A shmctl 0 2 -> r'));
    expect(s).toEqual({ op: 'shmctl', line: 4, proc: 0, id: { kind: 'literal', value: 0 }, cmd: 2, bind: 1 });
    expect(last(withHead('A shmctl 0 0xffffffff'))).toMatchObject({ cmd: -1 });
  });

  it('reads IPC_SET fields in any order, truncating uid and gid to u32', () => {
    expect(last(withHead('A shmctl s IPC_SET mode=01777 gid=0x10 uid=-1'))).toMatchObject({
      cmd: 1,
      cmdName: 'IPC_SET',
      set: { uid: 4294967295, gid: 16, mode: 0o1777 },
    });
  });

  it('requires all three IPC_SET fields once each', () => {
    expect(errors(withHead('A shmctl s IPC_SET uid=1 mode=0600'))).toEqual(['4:12: IPC_SET needs uid=, gid= and mode= (missing gid=)']);
    expect(errors(withHead('A shmctl s IPC_SET'))).toEqual(['4:12: IPC_SET needs uid=, gid= and mode= (missing uid= gid= mode=)']);
    expect(errors(withHead('A shmctl s IPC_SET uid=1 gid=1 mode=1 uid=2'))).toEqual(['4:39: uid= is given twice']);
    expect(errors(withHead('A shmctl s IPC_SET uid=1 gid=1 mode=1 key=2'))).toEqual(['4:39: expected uid=, gid= or mode=, got key=2']);
    expect(errors(withHead('A shmctl s IPC_SET uid=1 gid=1 mode=-1'))).toEqual(['4:37: mode must be between 0 and 0xffffffff']);
    expect(errors(withHead('A shmctl s IPC_SET uid=x gid=1 mode=1'))).toEqual(['4:24: expected a number, got x']);
  });

  it('gives uid=, gid= and mode= to IPC_SET only', () => {
    expect(errors(withHead('A shmctl s IPC_STAT mode=0600'))).toEqual(['4:21: only IPC_SET takes uid=, gid= and mode=']);
    expect(errors(withHead('A shmctl s 1 uid=0 gid=0 mode=0'))).toEqual([
      '4:14: only IPC_SET takes uid=, gid= and mode=',
      '4:20: only IPC_SET takes uid=, gid= and mode=',
      '4:26: only IPC_SET takes uid=, gid= and mode=',
    ]);
    expect(errors(withHead('A shmctl s IPC_STAT extra'))).toEqual(['4:21: too many arguments: shmctl takes ID CMD']);
  });

  it('reports unknown commands and missing arguments', () => {
    expect(errors(withHead('A shmctl s IPC_GET'))).toEqual(['4:12: unknown shmctl command IPC_GET']);
    expect(errors(withHead('A shmctl s'))).toEqual(['4:3: shmctl needs ID CMD (got 1 argument)']);
  });
});

describe('munmap, mprotect, write, fill, read', () => {
  it('parses lengths with suffixes and protections as flag sets', () => {
    expect(last(withHead('A munmap a 1G'))).toEqual({ op: 'munmap', line: 4, proc: 0, addr: { kind: 'slot', slot: 0, offset: 0n }, len: 1n << 30n });
    expect(last(withHead('A mprotect a+4096 4K PROT_READ|PROT_EXEC'))).toMatchObject({ len: 4096n, prot: 5 });
    expect(last(withHead('A fill a 8K 0xff'))).toMatchObject({ op: 'fill', len: 8192n, byte: 255 });
    expect(last(withHead('A read a 16M'))).toMatchObject({ op: 'read', len: 16n << 20n });
  });

  it('stores the bytes of a written string', () => {
    const s = last(withHead('A write a+1 "hi\\x00\\n"'));
    expect(s.op === 'write' && Array.from(s.data)).toEqual([0x68, 0x69, 0, 0x0a]);
  });

  it('caps a read or a write at 16 MiB', () => {
    expect(errors(withHead('A read a 0x1000001'))).toEqual(['4:10: an access moves at most 16 MiB']);
    const big = `A write a "${'x'.repeat((16 << 20) + 1)}"`;
    expect(errors(withHead(big))).toEqual(['4:11: an access moves at most 16 MiB']);
  });

  it('checks BYTE and the string argument', () => {
    expect(errors(withHead('A fill a 1 256'))).toEqual(['4:12: BYTE must be between 0 and 255']);
    expect(errors(withHead('A fill a 1 -1'))).toEqual(['4:12: BYTE must be between 0 and 255']);
    expect(errors(withHead('A fill a 1 1K'))).toEqual(['4:13: a size suffix is not allowed here']);
    expect(errors(withHead('A write a hi'))).toEqual(['4:11: expected a string, got hi']);
    expect(errors(withHead('A write a x="hi"'))).toEqual(['4:11: expected a string, got x="hi"']);
    expect(errors(withHead('A read a "4"'))).toEqual(['4:10: a string is not allowed here']);
  });

  it('checks argument counts', () => {
    expect(errors(withHead('A munmap a'))).toEqual(['4:3: munmap needs ADDR LEN (got 1 argument)']);
    expect(errors(withHead('A mprotect a 1 2 3'))).toEqual(['4:18: too many arguments: mprotect takes ADDR LEN PROT']);
    expect(errors(withHead('A shmdt'))).toEqual(['4:3: shmdt needs ADDR (got 0 arguments)']);
  });
});

describe('statement form', () => {
  it('reports unknown operations and missing parts', () => {
    expect(errors(withHead('A shmgte 1 1 0'))).toEqual(['4:3: unknown operation shmgte']);
    expect(errors(withHead('A'))).toEqual(['4:1: missing operation after A']);
    expect(errors(withHead('shmdt a'))).toEqual(['4:1: missing process name before shmdt']);
    expect(errors(withHead('prc B'))).toEqual(['4:1: unknown operation prc']);
    expect(errors(withHead('B shmdt 0'))).toEqual(['4:1: unknown process B']);
    expect(errors(withHead('=> ok'))).toEqual(['4:1: missing statement before =>']);
  });

  it('lets a process be named like a per-process operation', () => {
    expect(last(lines('proc read', 'read read 0 1'))).toMatchObject({ op: 'read', proc: 0 });
  });

  it('ignores comments, blank lines, CRLF endings and a byte-order mark', () => {
    const p = program('\uFEFF# intro\r\n\r\nproc A # root\r\n  \t\r\nA shmdt 0\r\n');
    expect(p.statements.map((s) => [s.op, s.line])).toEqual([
      ['proc', 3],
      ['shmdt', 5],
    ]);
  });

  it('collects every error of the file, ordered by line and column', () => {
    expect(errors(lines('proc A uid=x', 'A shmget 1 1 BAD', 'B shmdt 0', 'A read "s" 1 => EWHAT'))).toEqual([
      '1:12: expected a number, got x',
      '2:14: unknown flag BAD',
      '3:1: unknown process B',
      '4:8: a string is not allowed here',
      '4:17: unknown errno EWHAT',
    ]);
  });

  it('reports a lexical error and goes on with the next lines', () => {
    expect(errors(lines('proc A', 'A write 0 "\\q"', 'A shmdt 0 0'))).toEqual([
      '2:12: unknown escape \\q (use \\\\, \\", \\n, \\t or \\xHH)',
      '3:11: too many arguments: shmdt takes ADDR',
    ]);
  });

  it('formats errors as FILE:LINE:COL: message', () => {
    const r = parseScenario(lines('proc A', 'B shmdt 0'), 'demo.scn');
    expect(E.isLeft(r) && r.left.map(formatParseError)).toEqual(['demo.scn:2:1: unknown process B']);
  });

  it('counts error columns in code points', () => {
    expect(errors(lines('proc A', 'A write 0 "€😀" extra'))).toEqual(['2:16: too many arguments: write takes ADDR STRING']);
  });
});

describe('variables', () => {
  it('numbers numeric and address variables globally in order of first binding', () => {
    const p = program(withHead('A shmctl s IPC_STAT -> r', 'A shmget 5 1 0 -> s', 'A shmat r 0 0 -> b'));
    expect(p.numVars).toEqual(['s', 'r']);
    expect(p.addrVars).toEqual(['a', 'b']);
    expect(p.statements.map((s) => s.bind)).toEqual([undefined, 0, 0, 1, 0, 1]);
  });

  it('shares numeric variables between processes and namespaces', () => {
    expect(last(withHead('proc B ns=other', 'B shmctl s IPC_STAT'))).toMatchObject({ proc: 1, id: { kind: 'slot', slot: 0 } });
  });

  it('binds only where the statement returns something', () => {
    expect(errors(withHead('A shmdt a -> x'))).toEqual(['4:11: shmdt does not bind a variable']);
    expect(errors(lines('proc A -> x'))).toEqual(['1:8: proc does not bind a variable']);
    expect(errors(withHead('A shmget 1 1 0 ->'))).toEqual(['4:16: -> takes exactly one variable name, just before => or the end of the line']);
    expect(errors(withHead('A shmget 1 1 0 -> x y'))).toEqual(['4:16: -> takes exactly one variable name, just before => or the end of the line']);
    expect(errors(withHead('A shmget 1 1 0 -> 1x'))).toEqual(['4:19: expected a variable name, got 1x']);
  });

  it('rejects a numeric variable used before any binding', () => {
    expect(errors(lines('proc A', 'A shmat s 0 0', 'A shmget 1 1 0 -> s'))).toEqual(['2:9: s is used before any statement binds it']);
  });

  it('keeps each variable to one kind', () => {
    expect(errors(withHead('A shmat s 0 0 -> s'))).toEqual(['4:18: s already holds a number (bound at line 2); a variable holds one kind only']);
    expect(errors(withHead('A shmget 1 1 0 -> a'))).toEqual(['4:19: a already holds an address (bound at line 3); a variable holds one kind only']);
    expect(errors(withHead('A shmctl a IPC_STAT'))).toEqual(['4:10: a holds an address (bound at line 3), not a number']);
    expect(errors(withHead('A shmdt s'))).toEqual(['4:9: s holds a number (bound at line 2), not an address']);
  });

  it('binds even when an argument is wrong, so the mistake is reported once', () => {
    expect(errors(lines('proc A', 'A shmget 1 1 BAD -> s', 'A shmat s 0 0'))).toEqual(['2:14: unknown flag BAD']);
  });
});
