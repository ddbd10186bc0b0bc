/**
 * do_mmap searches for room (get_unmapped_area) before it checks MAP_LOCKED,
 * the mapping type and the file, so a mapping the kernel places that fits
 * nowhere is ENOMEM even when one of those checks would refuse it too.
 * Measured on Linux 6.18 (examples/mmap-no-room-first.scn runs the same
 * calls on both backends); a length no gap holds is used, 0x7ff000000000.
 */
import { describe, expect, it } from 'vitest';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_LOCKED, MAP_PRIVATE, MAP_SHARED, O_CREAT, O_RDONLY, O_WRONLY, PAGE_SIZE, PROT_READ } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { smallKernel, withDevShm } from './helpers.js';

const P = PAGE_SIZE;
const HUGE = 0x7ff0_0000_0000;
const ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;

describe('mmap: no room is ENOMEM before the checks that follow the search', () => {
  it('answers ENOMEM for an unreadable file, a directory, no type, a bad offset and MAP_LOCKED', () => {
    const { p } = withDevShm();
    const wo = ok(p.open('/dev/shm/x', O_CREAT | O_WRONLY, 0o666));
    const dir = ok(p.open('/dev/shm', O_RDONLY));
    const f = ok(p.open('/dev/shm/x', O_RDONLY));
    // The same calls with a length that fits keep their own errors.
    expect(errno(p.mmap(wo, P, PROT_READ, MAP_SHARED))).toBe('EACCES');
    expect(errno(p.mmap(wo, HUGE, PROT_READ, MAP_SHARED))).toBe('ENOMEM');
    expect(errno(p.mmap(dir, P, PROT_READ, MAP_PRIVATE))).toBe('ENODEV');
    expect(errno(p.mmap(dir, HUGE, PROT_READ, MAP_PRIVATE))).toBe('ENOMEM');
    expect(errno(p.mmap(-1, P, PROT_READ, MAP_ANONYMOUS))).toBe('EINVAL');
    expect(errno(p.mmap(-1, HUGE, PROT_READ, MAP_ANONYMOUS))).toBe('ENOMEM');
    expect(errno(p.mmap(f, 0x10_0000, PROT_READ, MAP_SHARED, 0x7fff_ffff_fff0_0000n))).toBe('EOVERFLOW');
    expect(errno(p.mmap(f, HUGE, PROT_READ, MAP_SHARED, 0x7fff_ffff_fff0_0000n))).toBe('ENOMEM');
    ok(p.setMemlockLimit(0n));
    const user = smallKernel().spawn({ uid: 1000, gid: 1000 });
    ok(user.setMemlockLimit(0n));
    expect(errno(user.mmap(-1, P, PROT_READ, ANON_PRIVATE | MAP_LOCKED))).toBe('EPERM');
    expect(errno(user.mmap(-1, HUGE, PROT_READ, ANON_PRIVATE | MAP_LOCKED))).toBe('ENOMEM');
  });

  it('leaves MAP_FIXED alone: its address is checked, not searched for', () => {
    const { p } = withDevShm();
    const wo = ok(p.open('/dev/shm/x', O_CREAT | O_WRONLY, 0o666));
    expect(errno(p.mmap(wo, HUGE, PROT_READ, MAP_SHARED | MAP_FIXED, 0, 0x1_0000_0000))).toBe('EACCES');
  });

  it('places the next mapping where it would have gone without the failed call', () => {
    const place = (failFirst: boolean): number[] => {
      const { p } = withDevShm();
      const wo = ok(p.open('/dev/shm/x', O_CREAT | O_WRONLY, 0o666));
      const out: number[] = [];
      const map = (q: Process, len: number) => out.push(ok(q.mmap(-1, len, PROT_READ, ANON_PRIVATE)));
      map(p, 3 * P);
      // A refused call that had room searched as a question only: the free-area cache is as before.
      if (failFirst) expect(errno(p.mmap(wo, 5 * P, PROT_READ, MAP_SHARED))).toBe('EACCES');
      map(p, 2 * P);
      ok(p.munmap(out[0]!, P));
      if (failFirst) expect(errno(p.mmap(wo, P, PROT_READ, MAP_SHARED))).toBe('EACCES');
      map(p, P);
      map(p, 4 * P);
      return out;
    };
    expect(place(true)).toEqual(place(false));
  });
});
