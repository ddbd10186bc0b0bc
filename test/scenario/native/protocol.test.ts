import { describe, expect, it } from 'vitest';
import { encodeProgram } from '../../../src/scenario/native/protocol.js';
import { CAP_BITS, CAPS_ALL, capsMask } from '../../../src/scenario/parse/wire.js';
import { lines, program } from '../helpers.js';

describe('encodeProgram', () => {
  it('encodes a realistic scenario line for line', () => {
    const p = program(
      lines(
        '# Two processes share a segment; the owner removes it while B still holds it.',
        'proc A uid=1000 gid=1000 groups=10,20',
        'proc B uid=1001 gid=1001 caps=CAP_IPC_OWNER,CAP_IPC_LOCK ns=default',
        'proc R ns=other',
        'sysctl kernel.shmmax=0x100000',
        'sysctl ns=other kernel.shm_next_id=-1 => EINVAL',
        'rlimit B memlock=-1',
        'A shmget 0xdeadbeef 8K IPC_CREAT|IPC_EXCL|0640 -> s1 => ok ret=s1',
        'A shmat s1 0 0 -> a',
        'A write a+4096 "hi\\x00\\n" => ok',
        'fork A C',
        'C fill a 4K 0xff',
        'C read a 0x1002 => ok data="\\xff"',
        'B shmat s1 0x7f0000000000 SHM_RDONLY -> b => EACCES',
        'B shmat -1 0 SHM_RND',
        'A mprotect a 4K PROT_READ',
        'A shmctl s1 IPC_SET uid=-1 gid=1001 mode=010600 -> r',
        'A shmctl 0x1ffffffff 13 -> idx',
        'A shmctl s1 SHM_STAT_ANY',
        'A shmctl s1 IPC_RMID',
        'C shmdt a-0',
        'A munmap a-4096 16K',
        'A write a ""',
        'exit C',
      ),
    );
    expect(encodeProgram(p)).toBe(
      lines(
        '2 proc 0 1000 1000 2 10 20 0 0',
        '3 proc 1 1001 1001 0 3 0',
        '4 proc 2 0 0 0 -1 1',
        '5 sysctl 0 shmmax 1048576',
        '6 sysctl 1 shm_next_id -1',
        '7 rlimit 1 18446744073709551615',
        '8 shmget 0 -559038737 8192 1952 #0',
        '9 shmat 0 #0 0 0 @0',
        '10 write 0 @0+4096 6869000a',
        '11 fork 0 3',
        '12 fill 3 @0+0 4096 255',
        '13 read 3 @0+0 4098',
        '14 shmat 1 #0 139637976727552 4096 @1',
        '15 shmat 1 -1 0 8192 -',
        '16 mprotect 0 @0+0 4096 1',
        '17 shmctl 0 #0 1 1 #1 4294967295 1001 4480',
        '18 shmctl 0 -1 13 0 #2',
        '19 shmctl 0 #0 15 1 -',
        '20 shmctl 0 #0 0 1 -',
        '21 shmdt 3 @0+0',
        '22 munmap 0 @0-4096 16384',
        '23 write 0 @0+0 -',
        '24 exit 3',
      ),
    );
    expect(p.numVars).toEqual(['s1', 'r', 'idx']);
    expect(p.addrVars).toEqual(['a', 'b']);
  });

  it('encodes an empty program as empty text', () => {
    expect(encodeProgram(program('# nothing\n'))).toBe('');
  });
});

describe('capsMask', () => {
  it('uses the protocol bits, and -1 for the full set', () => {
    expect(CAP_BITS).toEqual({ CAP_IPC_OWNER: 1, CAP_IPC_LOCK: 2, CAP_SYS_ADMIN: 4, CAP_SYS_RESOURCE: 8 });
    expect(capsMask('all')).toBe(CAPS_ALL);
    expect(capsMask([])).toBe(0);
    expect(capsMask(['CAP_IPC_OWNER', 'CAP_IPC_LOCK', 'CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE'])).toBe(15);
  });
});
