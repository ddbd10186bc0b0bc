/**
 * What the differential fuzzer's posix mechanism found wrong in the
 * emulator, kept as scenarios with the kernel's answers (measured on Linux
 * 6.18 by the native oracle) as expectations: each must hold on the
 * emulator, and where the native oracle runs, both backends must print the
 * same lines for it (checkScenario).
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../src/scenario/native/native.js';
import { runScenario } from '../../src/testing/index.js';
import { checkScenario } from './differential.js';

const FOUND: readonly (readonly [string, string])[] = [
  [
    // __get_unmapped_area reads a MAP_FIXED address in the top 4095 bytes as an error value: -1 is EPERM.
    'MAP_FIXED at an unbound name (address -1) is EPERM',
    `proc A
A mmap -1 0 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -> nowhere => EINVAL
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED at=nowhere => EPERM
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED at=0xfffffffffffffff4 => ENOMEM
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED at=0xfffffffffffff000 => ENOMEM
`,
  ],
  [
    'an mmap length past 2^53 is ENOMEM, not a bad argument',
    `proc A
A mmap -1 0xfffffffffffff000 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS => ENOMEM
A mmap -1 0xfffffffffffffff0 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS => ENOMEM
A mmap -1 0x800000000000 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS => ENOMEM
`,
  ],
  [
    // file_mmap_size_max is ULONG_MAX for a directory: no EOVERFLOW, so the type and the file's checks answer.
    'an mmap of a directory past the largest file offset is EINVAL without a type, ENODEV with one',
    `host mkdir /dev/shm
tmpfs mount /dev/shm size=1M
proc A
A shm_open . O_RDONLY -> d => ok
A mmap d 4096 PROT_READ 0 0x7ffffffffffff000 => EINVAL
A mmap d 4096 PROT_READ MAP_PRIVATE 0x7ffffffffffff000 => ENODEV
A mmap d 4096 PROT_READ MAP_PRIVATE -4096 => EOVERFLOW
A shm_open /f O_RDWR|O_CREAT -> f => ok
A mmap f 4096 PROT_READ 0 0x7ffffffffffff000 => EOVERFLOW
`,
  ],
  [
    // mapping_seek_hole_data rounds the last page's position up to 2^63, which wraps to LLONG_MIN.
    'SEEK_DATA never finds the last page a file can have; SEEK_HOLE through it returns LLONG_MIN',
    `proc A
A memfd_create buf 0 -> d => ok
A pwrite d "x" 9223372036854775806 => ok ret=1
A lseek d 0 SEEK_DATA => ENXIO
A lseek d 9223372036854775806 SEEK_DATA => ENXIO
A lseek d 0 SEEK_HOLE => ok ret=0
A lseek d 9223372036854771712 SEEK_HOLE => ok ret=-9223372036854775808
A lseek d 0 SEEK_CUR => ok ret=0
A pwrite d "y" 9223372036854767616 => ok ret=1
A lseek d 0 SEEK_DATA => ok ret=9223372036854767616
A lseek d 9223372036854767617 SEEK_HOLE => ok ret=-9223372036854775808
`,
  ],
  [
    // round_hint_to_min uses the kernel's mmap_min_addr, raised to CONFIG_LSM_MMAP_MIN_ADDR (64 KiB) over vm.mmap_min_addr (4096).
    'a hint below 64 KiB is raised to 64 KiB, while MAP_FIXED may map at 4096',
    `proc A
A mmap -1 8192 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS at=4096 -> h => ok
A mlock 4096 4096  => ENOMEM
A cmpaddr h 65536  => ok ret=0
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS at=100 -> g => ok
A cmpaddr g 65536  => ok ret=1
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED at=4096 -> f => ok
A cmpaddr f 4096   => ok ret=0
`,
  ],
  [
    'O_CREAT of "." is EEXIST under O_EXCL, EISDIR without (EINVAL from shm_open); O_CREAT with O_DIRECTORY is EINVAL first',
    `host mkdir /dev/shm
tmpfs mount /dev/shm size=1M
proc A
A shm_open . O_RDWR|O_CREAT|O_EXCL  => EEXIST
A shm_open .. O_RDONLY|O_CREAT|O_EXCL => EEXIST
A shm_open . O_RDONLY|O_CREAT       => EINVAL
A open /dev/shm/. O_RDWR|O_CREAT|O_EXCL => EEXIST
A open /dev/shm/. O_RDONLY|O_CREAT  => EISDIR
A open /dev/shm/ O_RDONLY|O_CREAT|O_EXCL => EISDIR
A open /dev/shm O_RDONLY|O_CREAT|O_EXCL => EEXIST
A open /dev/shm/. O_RDONLY|O_DIRECTORY|O_CREAT => EINVAL
A shm_open /new O_RDWR|O_CREAT|O_DIRECTORY => EINVAL
A shm_open /new O_RDWR => ENOENT
`,
  ],
  [
    'search permission on the last directory comes before the name is looked up',
    `host mkdir /dev/shm
tmpfs mount /dev/shm size=1M mode=0700
proc A
proc B uid=1000
A shm_open /obj O_RDWR|O_CREAT -> a => ok
B shm_unlink /obj     => EACCES
B shm_unlink /missing => EACCES
B shm_unlink .        => EACCES
B shm_open . O_RDONLY => EACCES
B mkdir /dev/shm/obj  => EACCES
B unlink /dev/shm/obj => EACCES
A shm_unlink /missing => ENOENT
`,
  ],
  [
    'mlock that cannot fault a page in (past the end of the file, PROT_NONE) is ENOMEM, and the lock stays',
    `host mkdir /dev/shm
tmpfs mount /dev/shm size=1M
proc A
A shm_open /obj O_RDWR|O_CREAT -> d => ok
A mmap d 8192 PROT_READ MAP_SHARED -> m => ok
A mlock m 4096     => ENOMEM
A ftruncate d 4096 => ok
A mlock m 8192     => ENOMEM
A mincore m 8192   => ok data="\\x01\\x00"
A mmap -1 4096 PROT_NONE MAP_PRIVATE|MAP_ANONYMOUS -> n => ok
A mlock n 4096     => ENOMEM
A mlock m 4096     => ok
A mlock m 8192 MLOCK_ONFAULT => ok
`,
  ],
  [
    'RLIMIT_MEMLOCK below a page is ENOMEM for mlock and EAGAIN for MAP_LOCKED; only 0 is EPERM',
    `proc A uid=1000
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -> a => ok
rlimit A memlock=1
A mlock a 4096 => ENOMEM
A mlock 0x10000000 4096 => ENOMEM
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED => EAGAIN
rlimit A memlock=0
A mlock a 4096 => EPERM
A mmap -1 4096 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED => EPERM
`,
  ],
];

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;

describe('divergences the posix fuzzer found', () => {
  for (const [name, text] of FOUND) {
    it(`${name}: the kernel's answers hold on the emulator`, () => {
      const r = runScenario(text);
      if (E.isLeft(r)) throw new Error(r.left.join('\n'));
      expect(r.right.failures).toEqual([]);
      expect(r.right.lines.length).toBe(text.split('\n').filter((l) => l.trim() !== '').length);
    });
    it.skipIf(unavailable !== undefined)(`${name}: both backends print the same`, () => {
      checkScenario(text);
    });
  }
});
