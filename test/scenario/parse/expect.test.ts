import { describe, expect, it } from 'vitest';
import type { Expectation } from '../../../src/scenario/parse/ast.js';
import { FIELD_GROUPS } from '../../../src/scenario/parse/expect.js';
import { errors, last, lines } from '../helpers.js';

/** Line 1 starts A; line 2 binds s. */
const expectation = (tail: string): Expectation | undefined => last(lines('proc A', 'A shmget IPC_PRIVATE 4K 0600 -> s', `A shmctl s IPC_STAT ${tail}`)).expect;
const failures = (tail: string): string[] => errors(lines('proc A', 'A shmget IPC_PRIVATE 4K 0600 -> s', `A shmctl s IPC_STAT ${tail}`));

describe('expectations', () => {
  it('reads ok, errno names and signals, keeping the written text', () => {
    expect(expectation('=> ok')).toEqual({ kind: 'ok', checks: [], text: 'ok' });
    expect(expectation('=> EIDRM')).toEqual({ kind: 'errno', errno: 'EIDRM', text: 'EIDRM' });
    expect(expectation('=> SIGSEGV')).toEqual({ kind: 'signal', signal: 'SIGSEGV', text: 'SIGSEGV' });
    expect(expectation('=> SIGBUS')).toEqual({ kind: 'signal', signal: 'SIGBUS', text: 'SIGBUS' });
    expect(expectation('')).toBeUndefined();
  });

  it('accepts any Linux errno, storing an alias under the printed name', () => {
    expect(expectation('=> EHWPOISON')).toMatchObject({ errno: 'EHWPOISON' });
    expect(expectation('=> E2BIG')).toMatchObject({ errno: 'E2BIG' });
    expect(expectation('=> EWOULDBLOCK')).toEqual({ kind: 'errno', errno: 'EAGAIN', text: 'EWOULDBLOCK' });
    expect(expectation('=> EDEADLOCK')).toMatchObject({ errno: 'EDEADLK' });
    expect(expectation('=> ENOTSUP')).toMatchObject({ errno: 'EOPNOTSUPP' });
  });

  it('rejects what is neither ok, an errno nor a signal', () => {
    expect(failures('=> EFOO')).toEqual(['3:24: unknown errno EFOO']);
    expect(failures('=> einval')).toEqual(['3:24: expected ok, an errno name, SIGSEGV, SIGBUS or blocks, got einval']);
    expect(failures('=> SIGKILL')).toEqual(['3:24: expected ok, an errno name, SIGSEGV, SIGBUS or blocks, got SIGKILL']);
    expect(failures('=>')).toEqual(['3:21: => needs an expectation: ok, an errno name, SIGSEGV, SIGBUS or blocks']);
    expect(failures('=> EINVAL EPERM')).toEqual(['3:31: nothing may follow EINVAL']);
    expect(failures('=> SIGSEGV mode=0')).toEqual(['3:32: nothing may follow SIGSEGV']);
  });

  it('reads FIELD=VALUE checks after ok: numbers with suffixes, names, strings', () => {
    const e = expectation('=> ok  mode=01600 size=4K key=-1 atime=t cpid=A ret=s raw=other shm_rss=0x10 shmmax=18446744073709551615');
    expect(e).toEqual({
      kind: 'ok',
      text: 'ok mode=01600 size=4K key=-1 atime=t cpid=A ret=s raw=other shm_rss=0x10 shmmax=18446744073709551615',
      checks: [
        { field: 'mode', group: 'ds', value: { kind: 'number', value: 0o1600n }, text: 'mode=01600' },
        { field: 'size', group: 'ds', value: { kind: 'number', value: 4096n }, text: 'size=4K' },
        { field: 'key', group: 'ds', value: { kind: 'number', value: -1n }, text: 'key=-1' },
        { field: 'atime', group: 'ds', value: { kind: 'name', name: 't' }, text: 'atime=t' },
        { field: 'cpid', group: 'ds', value: { kind: 'name', name: 'A' }, text: 'cpid=A' },
        { field: 'ret', group: 'line', value: { kind: 'name', name: 's', numSlot: 0 }, text: 'ret=s' },
        { field: 'raw', group: 'line', value: { kind: 'name', name: 'other' }, text: 'raw=other' },
        { field: 'shm_rss', group: 'shm_info', value: { kind: 'number', value: 16n }, text: 'shm_rss=0x10' },
        { field: 'shmmax', group: 'info', value: { kind: 'number', value: 2n ** 64n - 1n }, text: 'shmmax=18446744073709551615' },
      ],
    });
  });

  it('resolves a name to the numeric variable the statement itself binds', () => {
    const s = last(lines('proc A', 'A shmget IPC_PRIVATE 1 0 -> s1 => ok ret=s1 raw=s1'));
    expect(s.expect).toMatchObject({ checks: [{ value: { numSlot: 0 } }, { value: { numSlot: 0 } }] });
  });

  it('leaves an address name unresolved: ret of shmat prints the name itself', () => {
    const s = last(lines('proc A', 'A shmget IPC_PRIVATE 1 0 -> s', 'A shmat s 0 0 -> a => ok ret=a'));
    expect(s.expect).toMatchObject({ checks: [{ value: { kind: 'name', name: 'a' } }] });
    expect(s.expect?.kind === 'ok' && s.expect.checks[0]?.value).not.toHaveProperty('numSlot');
  });

  it('compares data with a string, byte for byte', () => {
    const s = last(lines('proc A', 'A read 0 3 => ok data="hi\\x00" # a comment'));
    expect(s.expect).toMatchObject({ kind: 'ok', text: 'ok data="hi\\x00"' });
    const c = s.expect?.kind === 'ok' ? s.expect.checks[0] : undefined;
    expect(c?.value.kind === 'string' && Array.from(c.value.bytes)).toEqual([0x68, 0x69, 0]);
  });

  it('knows every field of the line, ds, info and shm_info', () => {
    expect(Object.keys(FIELD_GROUPS).sort()).toEqual(
      [
        'ret',
        'raw',
        'data',
        'key',
        'uid',
        'gid',
        'cuid',
        'cgid',
        'mode',
        'seq',
        'size',
        'atime',
        'dtime',
        'ctime',
        'cpid',
        'lpid',
        'nattch',
        'shmmax',
        'shmmin',
        'shmmni',
        'shmseg',
        'shmall',
        'used_ids',
        'shm_tot',
        'shm_rss',
        'shm_swp',
        'swap_attempts',
        'swap_successes',
      ].sort(),
    );
  });

  it('reports bad checks at the right column, all of them', () => {
    expect(failures('=> ok segsz=1 mode=08 nattch=1K2 ret')).toEqual([
      '3:27: unknown field segsz',
      '3:40: invalid octal number 08',
      '3:50: expected a number, got 1K2',
      '3:54: expected FIELD=VALUE after ok, got ret',
    ]);
    expect(failures('=> ok =1')).toEqual(['3:27: expected FIELD=VALUE after ok, got =1']);
    expect(failures('=> ok ret=0 ret=1')).toEqual(['3:33: field ret is checked twice']);
    expect(failures('=> ok ret="0"')).toEqual(['3:31: only data= takes a string, not ret=']);
    expect(failures('=> ok data=00')).toEqual(['3:32: data= takes a string, e.g. data="hi\\x00"']);
    expect(failures('=> ok key=a-b')).toEqual(['3:31: expected a number, got a-b']);
  });
});
