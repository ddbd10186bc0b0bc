/**
 * The scenario extension's statements in the parser: what each builds, and
 * each mistake reported as LINE:COL at the character to fix. The shm part's
 * own behaviour is covered by the other parse tests, which stay unchanged.
 */
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR, O_WRONLY } from '../../../src/abi/fs.js';
import { errors, last, lines, program } from '../helpers.js';

describe('host-side statements', () => {
  it('reads tmpfs mount, mount --bind and host mkdir', () => {
    expect(last('tmpfs mount /mnt/t size=32M nr_inodes=5 mode=01777\n')).toEqual({
      op: 'tmpfs',
      line: 1,
      path: '/mnt/t',
      size: 32n << 20n,
      nrInodes: 5n,
      mode: 0o1777,
    });
    expect(last('tmpfs mount /t size=4097\n')).toEqual({ op: 'tmpfs', line: 1, path: '/t', size: 4097n });
    expect(last('mount --bind -o ro /a /b\n')).toEqual({ op: 'mount', line: 1, source: '/a', target: '/b', readonly: true });
    expect(last('mount --bind /a "/b c"\n')).toEqual({ op: 'mount', line: 1, source: '/a', target: '/b c', readonly: false });
    expect(last('host mkdir /x/y\n')).toEqual({ op: 'host', line: 1, path: '/x/y' });
  });

  it('points at the bad part', () => {
    expect(errors('tmpfs mount /t\n')).toEqual(['1:1: tmpfs mount needs size=N (0 means no limit)']);
    expect(errors('tmpfs mount t size=1\n')).toEqual(['1:13: a path must be absolute (start with /), got t']);
    expect(errors('tmpfs mount /t size=1 size=2\n')).toEqual(['1:23: size= is given twice']);
    expect(errors('tmpfs mount /t size=x1\n')).toEqual(['1:21: expected a number, got x1']);
    expect(errors('tmpfs mount /t size=1 mode=08\n')).toEqual(['1:28: invalid octal number 08']);
    expect(errors('tmpfs mount /t size=1 ro\n')).toEqual(['1:23: expected size=, nr_inodes= or mode=, got ro']);
    expect(errors('tmpfs umount /t\n')).toEqual(['1:7: expected tmpfs mount PATH size=N [nr_inodes=N] [mode=N]']);
    expect(errors('tmpfs mount /a/../b size=1\n')).toEqual(['1:13: a host-side path may not contain .. components']);
    expect(errors('mount /a /b\n')).toEqual(['1:7: expected mount --bind [-o ro] SRC DST']);
    expect(errors('mount --bind -o rx /a /b\n')).toEqual(['1:17: -o takes ro or rw']);
    expect(errors('mount --bind /a\n')).toEqual(['1:7: --bind needs SRC DST (got 1 argument)']);
    expect(errors('host mkdir\n')).toEqual(['1:6: mkdir needs PATH (got 0 arguments)']);
    expect(errors('host rmdir /x\n')).toEqual(['1:6: expected host mkdir PATH']);
  });

  it('lets a process named like a host-side word keep its meaning (the words were free before)', () => {
    const p = program(lines('proc host', 'host shmget IPC_PRIVATE 4K 0600', 'proc mount', 'mount read 0 1'));
    expect(p.statements.map((s) => s.op)).toEqual(['proc', 'shmget', 'proc', 'read']);
  });
});

describe('isula, meminfo, memcg and proc container=', () => {
  it('reads isula commands and their options', () => {
    expect(last('isula run --rm -m 16M --host-channel /a:/b:rw:32M c1\n')).toEqual({
      op: 'isula',
      line: 1,
      cmd: 'run',
      name: 'c1',
      rm: true,
      force: false,
      memory: '16M',
      hostChannel: '/a:/b:rw:32M',
    });
    expect(last('isula create --host-channel="" c1\n')).toMatchObject({ cmd: 'create', hostChannel: '' });
    expect(last('isula create --host-channel "/a b:/c::" c1\n')).toMatchObject({ hostChannel: '/a b:/c::' });
    expect(last('isula rm -f c1\n')).toMatchObject({ cmd: 'rm', force: true });
    // -m's SIZE is kept as typed, even one isula refuses: the engine answers for it (exit 125).
    expect(last('isula create -m 1.2.3M c1\n')).toMatchObject({ memory: '1.2.3M' });
    expect(last('isula create -m=1G --memory=-1 c1\n')).toMatchObject({ memory: '-1' });
    expect(last('isula create -m "" c1\n')).toMatchObject({ memory: '' });
    expect(last('meminfo available=2G total=4G\n')).toEqual({ op: 'meminfo', line: 1, total: 4n << 30n, available: 2n << 30n });
    expect(last('memcg c1\n')).toEqual({ op: 'memcg', line: 1, name: 'c1' });
    expect(last('proc W uid=1000 container=c1\n')).toMatchObject({ op: 'proc', uid: 1000, container: 'c1', ns: 0 });
  });

  it('points at the bad part', () => {
    expect(errors('isula frob c1\n')).toEqual(['1:7: expected isula create|run|start|stop|restart|rm, got frob']);
    expect(errors('isula create\n')).toEqual(['1:7: isula create needs a container NAME']);
    expect(errors('isula create --host-channel\n')).toEqual(['1:14: Flag needs an argument: --host-channel']);
    expect(errors('isula start --rm c1\n')).toEqual(['1:13: isula start does not take --rm here']);
    expect(errors('isula create c1 c2\n')).toEqual(['1:17: isula create takes one container NAME, after its options']);
    expect(errors('meminfo total=1G\n')).toEqual(['1:1: meminfo needs available=']);
    expect(errors('meminfo total=1G available=-1\n')).toEqual(['1:28: available must be between 0 and 2^63-1']);
    expect(errors('proc W container=c1 ns=x\n')).toEqual(['1:21: ns= and container= exclude each other (a container has its own IPC namespace)']);
    expect(errors('proc W container=-c\n')).toEqual(['1:18: expected a container name, got -c']);
  });
});

describe('file statements', () => {
  it('binds descriptors per process, inherited at fork, and dispatches write/read on them', () => {
    const p = program(
      lines(
        'proc A',
        'A open /f O_RDWR|O_CREAT 0600 -> f',
        'A write f "hi"',
        'A pwrite f bytes=4K 8',
        'fork A B',
        'B read f 2',
        'A mmap f 4096 PROT_READ|PROT_WRITE MAP_SHARED -> m',
        'A write m "x"',
        'A read m 1',
      ),
    );
    expect(p.fdVars).toEqual(['f']);
    expect(p.statements[1]).toEqual({ op: 'open', line: 2, proc: 0, path: '/f', flags: O_RDWR | O_CREAT, mode: 0o600, bind: 0 });
    expect(p.statements[2]).toEqual({
      op: 'fwrite',
      line: 3,
      proc: 0,
      fd: { kind: 'slot', slot: 0 },
      data: { kind: 'bytes', bytes: new Uint8Array([0x68, 0x69]) },
    });
    expect(p.statements[3]).toMatchObject({ op: 'fwrite', data: { kind: 'zeros', count: 4096 }, offset: 8n });
    expect(p.statements[5]).toMatchObject({ op: 'fread', proc: 1, len: 2n });
    expect(p.statements[6]).toMatchObject({ op: 'mmap', bind: 0, offset: 0n });
    expect(p.statements.slice(7).map((s) => s.op)).toEqual(['write', 'read']);
  });

  it('reads the path, fd and size statements', () => {
    const base = ['proc A', 'A open /f O_WRONLY -> f'];
    expect(last(lines(...base, 'A fallocate f 0 16M FALLOC_FL_KEEP_SIZE'))).toMatchObject({ op: 'fallocate', offset: 0n, len: 16n << 20n, mode: 1 });
    expect(last(lines(...base, 'A ftruncate f 1G'))).toMatchObject({ op: 'ftruncate', len: 1n << 30n });
    // 64-bit offsets and lengths stay exact, up to 2^63-1 (off_t); pread is fread with an offset.
    expect(last(lines(...base, 'A ftruncate f 0x7fffffffffffffff'))).toMatchObject({ op: 'ftruncate', len: 2n ** 63n - 1n });
    expect(last(lines(...base, 'A pwrite f "!" 0x4000000000000000'))).toMatchObject({ op: 'fwrite', offset: 2n ** 62n });
    expect(last(lines(...base, 'A pread f 4 0x3ffffffffffffffe'))).toEqual({
      op: 'fread',
      line: 3,
      proc: 0,
      fd: { kind: 'slot', slot: 0 },
      len: 4n,
      offset: 2n ** 62n - 2n,
    });
    expect(last(lines(...base, 'A fallocate f 0x7ffffffffffffffe 1'))).toMatchObject({ offset: 2n ** 63n - 2n, len: 1n });
    expect(last(lines(...base, 'A mmap f 4096 PROT_READ MAP_SHARED -4096'))).toMatchObject({ offset: -4096n });
    expect(last(lines(...base, 'A close -1'))).toMatchObject({ op: 'close', fd: { kind: 'literal', value: -1 } });
    expect(last(lines(...base, 'A mkdir /d 0700'))).toMatchObject({ op: 'mkdir', path: '/d', mode: 0o700 });
    expect(last(lines(...base, 'A unlink /f'))).toMatchObject({ op: 'unlink', path: '/f' });
    expect(last(lines(...base, 'A dd count=64K of=/testdir/test.file bs=1024 if=/dev/zero'))).toEqual({
      op: 'dd',
      line: 3,
      proc: 0,
      path: '/testdir/test.file',
      bs: 1024n,
      count: 65536n,
    });
    expect(last(lines(...base, `A open /g ${O_WRONLY}|O_CREAT`))).toMatchObject({ flags: O_WRONLY | O_CREAT, mode: 0o666 });
  });

  it('points at the bad part', () => {
    const e = (stmt: string): string[] => errors(lines('proc A', 'A open /f O_RDWR -> f', 'A shmget IPC_PRIVATE 4K 0600 -> s', stmt));
    expect(e('A open f O_RDONLY')).toEqual(['4:8: a path must be absolute (start with /), got f']);
    expect(e('A open /g O_RDONLY|IPC_CREAT')).toEqual(['4:20: unknown flag IPC_CREAT']);
    expect(e('A open /g O_RDONLY 0800')).toEqual(['4:20: invalid octal number 0800']);
    expect(e('A open /g O_RDONLY 010000')).toEqual(['4:20: MODE must be between 0 and 07777']);
    expect(e('A open /g O_RDONLY -> s')).toEqual(['4:23: s already holds a number (bound at line 3); a variable holds one kind only']);
    expect(e('A close g')).toEqual(['4:9: file descriptor g is not bound in process A']);
    expect(e('A close s')).toEqual(['4:9: s holds a number (bound at line 3), not a file descriptor']);
    expect(e('A close 3')).toEqual(['4:9: a literal file descriptor must be a negative int (use a variable bound by open)']);
    expect(e('A write f 12')).toEqual(['4:11: expected a string or bytes=N, got 12']);
    expect(e('A write f bytes=1G')).toEqual(['4:17: bytes= must be between 0 and 256M']);
    expect(e('A pwrite f "x"')).toEqual(['4:3: pwrite needs FD DATA OFFSET (got 2 arguments)']);
    expect(e('A read f 17M')).toEqual(['4:10: a read moves at most 16 MiB']);
    expect(e('A pread f 1')).toEqual(['4:3: pread needs FD LEN OFFSET (got 2 arguments)']);
    expect(e('A pread f 17M 0')).toEqual(['4:11: a read moves at most 16 MiB']);
    expect(e('A pread f 1 0x8000000000000000')).toEqual(['4:13: 0x8000000000000000 does not fit an off_t']);
    expect(e('A shmat f 0 0')).toEqual(['4:9: f holds a file descriptor (bound at line 2), not a number']);
    expect(e('A mmap f 4096 PROT_READ MAP_PRIVATE|MAP_HUGE_16MB')).toEqual(['4:37: unknown flag MAP_HUGE_16MB']);
    expect(e('A mmap f 4096 PROT_READ MAP_PRIVATE 0 at=nowhere')).toEqual(['4:42: address nowhere is not bound in process A']);
    expect(e('A mmap f 4096 PROT_READ MAP_SHARED -> s')).toEqual(['4:39: s already holds a number (bound at line 3); a variable holds one kind only']);
    expect(e('A fallocate f 0 1 FALLOC_FL_ZERO')).toEqual(['4:19: unknown flag FALLOC_FL_ZERO']);
    expect(e('A dd if=/dev/urandom of=/x bs=1 count=1')).toEqual(['4:9: dd reads if=/dev/zero only']);
    expect(e('A dd of=/x bs=0 count=1 if=/dev/zero')).toEqual(['4:15: bs= must be between 1 and 64M']);
    expect(e('A dd of=x bs=1 count=1 if=/dev/zero')).toEqual(['4:9: a path must be absolute (start with /), got x']);
    expect(e('A dd of=/x bs=1')).toEqual(['4:3: dd needs if= count=']);
    expect(e('A dd of=/x of=/y bs=1 count=1 if=/dev/zero')).toEqual(['4:12: of= is given twice']);
    expect(e('A stat')).toEqual(['4:3: stat needs PATH (got 0 arguments)']);
    expect(e('A unlink /a /b')).toEqual(['4:13: too many arguments: unlink takes PATH']);
    expect(e('open /f O_RDONLY')).toEqual(['4:1: missing process name before open']);
    expect(e('A stat "/a\\x00"')).toEqual(['4:8: a path cannot contain a NUL byte']);
  });

  it('checks the new expectation fields', () => {
    const e = (tail: string): string[] => errors(lines('proc A', `A statfs / ${tail}`));
    expect(e('=> ok f_blocks=1K f_bogus=1')).toEqual(['2:30: unknown field f_bogus']);
    expect(e('=> ok stderr=1')).toEqual(['2:25: stderr= takes a string (the lines joined by \\n), e.g. stderr=""']);
    expect(e('=> ok exit="1"')).toEqual(['2:23: only data= takes a string, not exit=']);
    expect(last(lines('proc A', 'A statfs / => ok exit=1 stderr="a\\nb" st_mode=040755 usage=0'))).toMatchObject({
      expect: {
        kind: 'ok',
        checks: [
          { field: 'exit', group: 'line' },
          { field: 'stderr', group: 'line' },
          { field: 'st_mode', group: 'stat' },
          { field: 'usage', group: 'memcg' },
        ],
      },
    });
  });
});
