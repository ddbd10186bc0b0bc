import { describe, expect, it } from 'vitest';
import { IPCMNI } from '../../src/abi/constants.js';
import { SemLimits } from '../../src/sem/limits.js';
import { errno, ok } from '../support/either.js';

describe('kernel.sem and kernel.sem_next_id', () => {
  it('a new namespace reads "32000 1024000000 500 32000" and sem_next_id -1', () => {
    const l = new SemLimits();
    expect(l.read('sem')).toBe('32000\t1024000000\t500\t32000');
    expect(l.read('sem_next_id')).toBe('-1');
  });

  it('proc_dointvec checks no bounds on the first three fields: negative values are stored', () => {
    const l = new SemLimits();
    ok(l.writeSem([-5n, 0n, -1n, 10n]));
    expect(l.readSem()).toEqual([-5, 0, -1, 10]);
  });

  it('a write of fewer fields changes only those; more than four ignores the rest', () => {
    const l = new SemLimits();
    ok(l.writeSem([250n]));
    expect(l.readSem()).toEqual([250, 1024000000, 500, 32000]);
    ok(l.writeSem([1n, 2n, 3n, 4n, 5n]));
    expect(l.readSem()).toEqual([1, 2, 3, 4]);
    expect(errno(l.writeSem([]))).toBe('EINVAL');
  });

  it('semmni outside 0..IPCMNI is ERANGE and only semmni goes back (sem_check_semmni)', () => {
    const l = new SemLimits();
    expect(errno(l.writeSem([1n, 2n, 3n, BigInt(IPCMNI + 1)]))).toBe('ERANGE');
    expect(l.readSem()).toEqual([1, 2, 3, 32000]);
    expect(errno(l.writeSem([1n, 2n, 3n, -1n]))).toBe('ERANGE');
    ok(l.writeSem([1n, 2n, 3n, BigInt(IPCMNI)]));
    expect(l.semmni).toBe(IPCMNI);
  });

  it('a value that is no int is EINVAL, and the fields before it stay written', () => {
    const l = new SemLimits();
    expect(errno(l.writeSem([7n, 2n ** 31n]))).toBe('EINVAL');
    expect(l.readSem()).toEqual([7, 1024000000, 500, 32000]);
  });

  it('sem_next_id accepts 0..INT_MAX', () => {
    const l = new SemLimits();
    expect(errno(l.writeSemNextId(-1n))).toBe('EINVAL');
    expect(errno(l.writeSemNextId(2n ** 31n))).toBe('EINVAL');
    ok(l.writeSemNextId(0n));
    expect(l.semNextId).toBe(0);
  });
});
