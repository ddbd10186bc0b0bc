/**
 * SCENARIO.md's normalization rules, on the emulated backend: what `ret`
 * prints for ids, how pids, times, modes and big numbers print, and how
 * expectations match printed values.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { runEmulated } from '../../../src/scenario/emulated/emulated.js';
import { normalize } from '../../../src/scenario/result/normalize.js';
import { formatParseError, parseScenario } from '../../../src/scenario/parse/parse.js';

function run(text: string) {
  const p = parseScenario(text, 't.scn');
  if (E.isLeft(p)) throw new Error(p.left.map(formatParseError).join('\n'));
  return normalize(p.right, runEmulated(p.right).results);
}

describe('ret for calls that return ids', () => {
  it('prints the bound name, else the latest id variable of that value in the same namespace, else the number', () => {
    const { lines } = run(
      [
        'proc A',
        'proc B ns=other',
        'A shmget 7 1 IPC_CREAT|0600 -> s1',
        'A shmget 7 1 0 -> s2',
        'A shmget 7 1 0',
        'B shmget 7 1 IPC_CREAT|0600',
        'A shmctl 0 SHM_STAT',
        'A shmctl 0 SHM_STAT -> s3',
        'A shmctl 0 SHM_STAT',
      ].join('\n'),
    );
    expect(lines.slice(2).map((l) => [l['ret'], l['raw']])).toEqual([
      ['s1', 0],
      ['s2', 0],
      ['s2', 0],
      [0, 0],
      ['s2', 0],
      ['s3', 0],
      ['s3', 0],
    ]);
  });

  it('prints IPC_INFO and SHM_INFO indexes as numbers with raw, and other commands as 0', () => {
    const { lines } = run('proc A\nA shmget IPC_PRIVATE 1 0 -> s\nA shmctl 0 IPC_INFO\nA shmctl s IPC_RMID\nA shmctl s 2');
    expect(lines[2]).toMatchObject({ cmd: 'IPC_INFO', ret: 0, raw: 0 });
    expect(lines[3]).toEqual({ line: 4, proc: 'A', op: 'shmctl', cmd: 'IPC_RMID', ok: true, ret: 0 });
    expect(lines[4]).toEqual({ line: 5, proc: 'A', op: 'shmctl', cmd: 2, ok: false, errno: 'EINVAL' });
  });
});

describe('printed fields', () => {
  it('names pids after processes, keeps exited names, and prints times as 0 or "t"', () => {
    const { lines } = run('proc A\nA shmget IPC_PRIVATE 1 0600 -> s\nfork A B\nB shmat s 0 0 -> a\nexit B\nA shmctl s IPC_STAT');
    expect(lines[2]).toMatchObject({ proc: 'A', op: 'fork', ret: 'B' });
    expect(lines[5]!['ds']).toMatchObject({ cpid: 'A', lpid: 'B', atime: 't', dtime: 't', ctime: 't', nattch: 0, key: 'IPC_PRIVATE', mode: '0600' });
  });

  it('prints integers above 2^53-1 as decimal strings and data as lowercase hex', () => {
    const { lines } = run('proc A\nA shmctl 0 IPC_INFO\nA shmget IPC_PRIVATE 3 0600 -> s\nA shmat s 0 0 -> a\nA write a "\\xAB\\n"\nA read a 3');
    expect(lines[1]!['info']).toMatchObject({ shmmax: '18446744073692774399', shmmin: 1 });
    expect(lines[5]!['data']).toBe('ab0a00');
  });

  it('prints mode "00" for zero and the key as a signed 32-bit number', () => {
    const { lines } = run('proc A\nA shmget 0xffffffff 1 IPC_CREAT -> s\nA shmctl s IPC_STAT');
    expect(lines[2]!['ds']).toMatchObject({ key: -1, mode: '00' });
  });
});

describe('expectations', () => {
  it('compare numbers, octal modes, names, strings and variables', () => {
    const { failures } = run(
      [
        'proc A',
        'A shmget 0x10 4097 IPC_CREAT|0640 -> s => ok ret=s raw=0',
        'A shmget 0x10 0 0 => ok ret=s raw=s',
        'A shmat s 0 0 -> a => ok ret=a',
        'A write a "hi" => ok',
        'A read a 3 => ok data="hi\\x00"',
        'A shmctl s IPC_STAT => ok key=16 mode=0640 size=4097 nattch=1 cpid=A atime=t dtime=0',
        'A shmdt a => ok ret=0',
        'A shmdt a => EINVAL',
        'A write a "x" => SIGSEGV',
      ].join('\n'),
    );
    expect(failures).toEqual([]);
  });

  it('report what was wanted and what was got', () => {
    const { lines, failures } = run('proc A\nA shmget 1 1 0 => ok\nA shmget IPC_PRIVATE 1 0600 -> s => ok raw=5\nA shmctl s IPC_STAT => ok mode=0644');
    expect(failures).toEqual([
      { line: 2, wanted: 'ok', got: 'ENOENT' },
      { line: 3, wanted: 'ok raw=5', got: 'raw=0' },
      { line: 4, wanted: 'ok mode=0644', got: 'mode="0600"' },
    ]);
    expect(lines[1]!['expect']).toBe('FAILED: wanted ok');
  });

  it('give a failed data= check back as a string, as it was written', () => {
    const { failures } = run('proc A\nA shmget IPC_PRIVATE 4096 0600 -> s\nA shmat s 0 0 -> a\nA write a "h\\x00\\"\\\\"\nA read a 4 => ok data="ho"');
    expect(failures).toEqual([{ line: 5, wanted: 'ok data="ho"', got: 'data="h\\x00\\"\\\\"' }]);
  });
});
