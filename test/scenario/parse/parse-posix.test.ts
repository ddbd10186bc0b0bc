/**
 * The POSIX and memory statements (parse/posixops.ts, parse/memops.ts):
 * what each builds, and errors named by line and column.
 */
import { describe, expect, it } from 'vitest';
import { F_ADD_SEALS, F_SEAL_GROW, F_SEAL_WRITE, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_HUGE_2MB } from '../../../src/abi/memfd.js';
import { MADV_DONTNEED, MAP_ANONYMOUS, MAP_FIXED, SEEK_HOLE } from '../../../src/abi/mman.js';
import { MAP_PRIVATE, O_CREAT, O_RDWR } from '../../../src/abi/fs.js';
import { encodeProgram } from '../../../src/scenario/native/protocol.js';
import { errors, last, lines, program } from '../helpers.js';

const base = ['proc A', 'A memfd_create m MFD_ALLOW_SEALING -> m', 'A mmap -1 8K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -> a'];

describe('POSIX statements', () => {
  it('builds shm_open, shm_unlink, memfd_create, fcntl, fstat, cmpaddr and sysvipc', () => {
    expect(last(lines('proc A', 'A shm_open /obj O_RDWR|O_CREAT 0640 -> fd'))).toMatchObject({
      op: 'shm_open',
      name: new TextEncoder().encode('/obj'),
      flags: O_RDWR | O_CREAT,
      mode: 0o640,
      bind: 0,
    });
    expect(last(lines('proc A', 'A shm_open "" O_RDWR'))).toMatchObject({ op: 'shm_open', name: new Uint8Array(0), mode: 0o666 });
    expect(last(lines('proc A', 'A shm_unlink "a b"'))).toMatchObject({ op: 'shm_unlink', name: new TextEncoder().encode('a b') });
    expect(last(lines(...base.slice(0, 2)))).toMatchObject({ op: 'memfd_create', flags: MFD_ALLOW_SEALING });
    expect(last(lines('proc A', 'A memfd_create h MFD_HUGETLB|MFD_HUGE_2MB'))).toMatchObject({ op: 'memfd_create', flags: MFD_HUGETLB | MFD_HUGE_2MB });
    expect(last(lines('proc A', 'A memfd_create h MFD_HUGETLB|MFD_HUGE_1GB'))).toMatchObject({ op: 'memfd_create', flags: MFD_HUGETLB | (30 << 26) });
    expect(last(lines(...base, 'A fcntl m F_ADD_SEALS F_SEAL_WRITE|F_SEAL_GROW'))).toMatchObject({
      op: 'fcntl',
      cmd: F_ADD_SEALS,
      cmdName: 'F_ADD_SEALS',
      arg: F_SEAL_WRITE | F_SEAL_GROW,
    });
    expect(last(lines(...base, 'A fcntl m 99'))).toEqual(expect.objectContaining({ op: 'fcntl', cmd: 99, arg: 0 }));
    expect(last(lines(...base, 'A fcntl m 99'))).not.toHaveProperty('cmdName');
    expect(last(lines(...base, 'A fstat m'))).toMatchObject({ op: 'fstat', fd: { kind: 'slot', slot: 0 } });
    expect(last(lines(...base, 'A cmpaddr a a+4096'))).toMatchObject({ op: 'cmpaddr', b: { kind: 'slot', offset: 4096n } });
    expect(last(lines(...base, 'A sysvipc msg'))).toMatchObject({ op: 'sysvipc', file: 'msg' });
    // A descriptor from shm_open or memfd_create makes write and read the file calls.
    expect(last(lines(...base, 'A write m "x"'))).toMatchObject({ op: 'fwrite' });
  });

  it('builds the memory calls, anonymous mmap and at=', () => {
    expect(last(lines(...base))).toMatchObject({ op: 'mmap', fd: { kind: 'literal', value: -1 }, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    expect(last(lines(...base, 'A mmap -1 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED 0 at=a+4096'))).toMatchObject({
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      at: { kind: 'slot', slot: 0, offset: 4096n },
    });
    expect(last(lines(...base, 'A madvise a 4K MADV_DONTNEED'))).toMatchObject({ op: 'madvise', len: 4096n, flags: MADV_DONTNEED });
    expect(last(lines(...base, 'A mlock a 4K'))).not.toHaveProperty('flags');
    expect(last(lines(...base, 'A mlock a 4K MLOCK_ONFAULT'))).toMatchObject({ op: 'mlock', flags: 1 });
    expect(last(lines(...base, 'A lseek m -1 SEEK_HOLE'))).toMatchObject({ op: 'lseek', offset: -1n, whence: SEEK_HOLE });
    expect(last(lines('proc A', 'A umask 077'))).toMatchObject({ op: 'umask', mask: 0o77 });
  });

  it('writes the oracle lines of docs/oracle-protocol.md', () => {
    const p = program(lines(...base, 'A shm_open "a b" O_RDWR -> f', 'A mmap -1 4K 0 MAP_PRIVATE|MAP_ANONYMOUS 0 at=4096', 'A mlock a 4K'));
    expect(encodeProgram(p).trim().split('\n').slice(1)).toEqual([
      '2 memfd_create 0 x6d 2 %0',
      '3 mmap 0 -1 8192 1 34 0 @0',
      '4 shm_open 0 x612062 2 438 %1',
      '5 mmap 0 -1 4096 0 34 0 - 4096',
      '6 mlock 0 @0+0 4096 -',
    ]);
  });

  it('names file, line and column of each mistake', () => {
    const e = (stmt: string): string[] => errors(lines(...base, stmt));
    expect(e('A shm_open "a\\x00b" O_RDWR')).toEqual(['4:12: a name cannot contain a NUL byte']);
    expect(e('A shm_open "\\xff" O_RDWR')).toEqual(['4:12: a name must be valid UTF-8']);
    expect(e('A shm_open /o O_RDWR|MAP_SHARED')).toEqual(['4:22: unknown flag MAP_SHARED']);
    expect(e('A shm_open /o O_RDWR 010000')).toEqual(['4:22: MODE must be between 0 and 07777']);
    expect(e('A shm_unlink')).toEqual(['4:3: shm_unlink needs NAME (got 0 arguments)']);
    expect(e('A memfd_create h MFD_HUGE_4MB')).toEqual(['4:18: unknown flag MFD_HUGE_4MB']);
    expect(e('A memfd_create h 0 -> a')).toEqual(['4:23: a already holds an address (bound at line 3); a variable holds one kind only']);
    expect(e('A fcntl m F_DUPFD')).toEqual(['4:11: unknown fcntl command F_DUPFD (use F_GETFD, F_SETFD, F_GETFL, F_ADD_SEALS, F_GET_SEALS or a number)']);
    expect(e('A fcntl m F_ADD_SEALS F_SEAL_BOGUS')).toEqual(['4:23: unknown flag F_SEAL_BOGUS']);
    expect(e('A fcntl a F_GETFD')).toEqual(['4:9: a holds an address (bound at line 3), not a file descriptor']);
    expect(e('A fstat 3')).toEqual(['4:9: a literal file descriptor must be a negative int (use a variable bound by open)']);
    expect(e('A cmpaddr a')).toEqual(['4:3: cmpaddr needs ADDR ADDR (got 1 argument)']);
    expect(e('A cmpaddr a m')).toEqual(['4:13: m holds a file descriptor (bound at line 2), not an address']);
    expect(e('A sysvipc shmem')).toEqual(['4:11: expected shm, sem or msg, got shmem']);
    expect(e('A madvise a 4K MADV_BOGUS')).toEqual(['4:16: unknown flag MADV_BOGUS']);
    expect(e('A mincore a 17M')).toEqual(['4:13: mincore looks at most 16 MiB at a time']);
    expect(e('A lseek m 0 SEEK_NOWHERE')).toEqual(['4:13: unknown flag SEEK_NOWHERE']);
    expect(e('A umask 0x100000000')).toEqual(['4:9: MASK must be between 0 and 0xffffffff']);
    expect(e('A munlock a')).toEqual(['4:3: munlock needs ADDR LEN (got 1 argument)']);
  });
});

describe('ftok and key variables', () => {
  it('builds ftok, binds a key in a numeric slot, and passes it as KEY to the get calls (#N in the oracle text)', () => {
    const p = program(lines('proc A', 'A ftok /t/a 0x141 -> k', 'A shmget k 4K 0 -> s', 'A semget k 1 0', 'A msgget k 0', 'A shmget 0x10 4K 0'));
    expect(p.statements[1]).toMatchObject({ op: 'ftok', path: '/t/a', proj: 0x141, bind: 0 });
    expect(p.statements[2]).toMatchObject({ op: 'shmget', keySlot: 0, key: 0 });
    expect(p.statements[5]).toMatchObject({ op: 'shmget', key: 0x10 });
    expect(p.statements[5]).not.toHaveProperty('keySlot');
    expect(encodeProgram(p).split('\n').slice(1, 6)).toEqual([
      `2 ftok 0 ${Buffer.from('/t/a').toString('hex')} 321 #0`,
      '3 shmget 0 #0 4096 0 #1',
      '4 semget 0 #0 1 0 -',
      '5 msgget 0 #0 0 -',
      '6 shmget 0 16 4096 0 -',
    ]);
  });

  it('keeps a key out of id and number places, and an id out of KEY', () => {
    expect(errors(lines('proc A', 'A ftok /t/a 1 -> k', 'A shmat k 0 0'))[0]).toMatch(/^3:\d+: k holds an ftok key \(bound at line 2\), not a number/);
    expect(errors(lines('proc A', 'A shmget 1 4K IPC_CREAT -> s', 'A ftok /t/a 1 -> s'))[0]).toMatch(/^3:\d+: s already holds a number/);
    expect(errors(lines('proc A', 'A shmget 1 4K IPC_CREAT -> s', 'A shmget s 4K 0'))[0]).toMatch(/^3:10: /);
  });

  it('refuses a relative path, a PROJ past an int, and a missing argument', () => {
    expect(errors(lines('proc A', 'A ftok t 1'))[0]).toMatch(/^2:8: /);
    expect(errors(lines('proc A', 'A ftok /t 0x100000000'))).toEqual(['2:11: PROJ must fit in an int (or be written unsigned)']);
    expect(errors(lines('proc A', 'A ftok /t'))[0]).toMatch(/^2:3: ftok needs PATH PROJ/);
  });
});
