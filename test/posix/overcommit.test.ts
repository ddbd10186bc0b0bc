/**
 * The overcommit heuristic (vm.overcommit_memory 0) in mmap and mprotect:
 * one request for more pages than RAM plus swap is ENOMEM when it is
 * charged: a private writable mapping, the shmem file of a shared anonymous
 * one, a private piece mprotect makes writable. MAP_NORESERVE, shared file
 * mappings and read-only private ones are never charged. Measured on Linux
 * 6.18 with a 1 TiB request (examples/mmap-overcommit.scn); the kernel here
 * has 64 MiB, so 128 MiB is past the bound.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const BIG = 128 * 2 ** 20;
const SMALL = 32 * 2 ** 20;
const ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;

const signal = (r: E.Either<{ signal: string }, unknown>): string => (E.isLeft(r) ? r.left.signal : 'ok');

describe('mmap asks the overcommit heuristic', () => {
  it('for private writable and shared anonymous mappings, unless MAP_NORESERVE', () => {
    const p = smallKernel().spawn();
    expect(errno(p.mmap(-1, BIG, RW, ANON_PRIVATE))).toBe('ENOMEM');
    expect(errno(p.mmap(-1, BIG, PROT_READ, ANON_PRIVATE))).toBe('ok');
    expect(errno(p.mmap(-1, BIG, RW, ANON_PRIVATE | MAP_NORESERVE))).toBe('ok');
    expect(errno(p.mmap(-1, SMALL, RW, ANON_PRIVATE))).toBe('ok');
    expect(errno(p.mmap(-1, BIG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS))).toBe('ENOMEM');
    expect(errno(p.mmap(-1, BIG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE))).toBe('ok');
    const fd = ok(p.memfdCreate('m', 0));
    ok(p.ftruncate(fd, BIG));
    expect(errno(p.mmap(fd, BIG, RW, MAP_PRIVATE))).toBe('ENOMEM');
    expect(errno(p.mmap(fd, BIG, RW, MAP_SHARED))).toBe('ok');
    expect(errno(p.mmap(fd, BIG, PROT_READ, MAP_PRIVATE))).toBe('ok');
    expect(errno(p.mmap(fd, BIG, RW, MAP_PRIVATE | MAP_NORESERVE))).toBe('ok');
  });

  it('a refused MAP_FIXED leaves what was mapped there', () => {
    const p = smallKernel().spawn();
    const a = ok(p.mmap(-1, BIG, PROT_READ, ANON_PRIVATE));
    expect(errno(p.mmap(-1, BIG, RW, ANON_PRIVATE | MAP_FIXED, 0, a))).toBe('ENOMEM');
    expect(ok(p.read(a, 1))).toEqual(bytes(0));
  });
});

describe('mprotect asks it for a private piece turning writable', () => {
  it('refuses the piece, after changing the pieces before it', () => {
    const p = smallKernel().spawn();
    const a = ok(p.mmap(-1, BIG, PROT_NONE, ANON_PRIVATE));
    ok(p.mprotect(a, PAGE_SIZE, RW));
    ok(p.write(a, bytes(7)));
    ok(p.mprotect(a, BIG, PROT_READ));
    // The first page was writable once (VM_ACCOUNT); the rest is one piece past the bound.
    expect(errno(p.mprotect(a, BIG, RW))).toBe('ENOMEM');
    expect(signal(p.write(a, bytes(8)))).toBe('ok');
    expect(signal(p.write(a + PAGE_SIZE, bytes(8)))).toBe('SIGSEGV');
    expect(errno(p.mprotect(a, BIG, PROT_READ))).toBe('ok');
    expect(errno(p.mprotect(a + PAGE_SIZE, SMALL, RW))).toBe('ok');
  });

  it('never for MAP_NORESERVE, shared or already writable pieces, nor for a hole or EACCES first', () => {
    const p = smallKernel().spawn();
    const nr = ok(p.mmap(-1, BIG, PROT_NONE, ANON_PRIVATE | MAP_NORESERVE));
    expect(errno(p.mprotect(nr, BIG, RW))).toBe('ok');
    const fd = ok(p.memfdCreate('m', 0));
    ok(p.ftruncate(fd, BIG));
    const sh = ok(p.mmap(fd, BIG, PROT_READ, MAP_SHARED));
    expect(errno(p.mprotect(sh, BIG, RW))).toBe('ok');
    const big = ok(p.mmap(-1, BIG, PROT_READ, ANON_PRIVATE));
    ok(p.munmap(big, PAGE_SIZE));
    // A hole at the start: ENOMEM for the hole, nothing changed.
    expect(errno(p.mprotect(big, BIG, RW))).toBe('ENOMEM');
    expect(signal(p.write(big + PAGE_SIZE, bytes(1)))).toBe('SIGSEGV');
  });

  it('follows fork and a checkpoint', () => {
    const kernel = smallKernel();
    const p = kernel.spawn();
    const nr = ok(p.mmap(-1, BIG, PROT_READ, ANON_PRIVATE | MAP_NORESERVE));
    const plain = ok(p.mmap(-1, BIG, PROT_READ, ANON_PRIVATE));
    const child = ok(p.fork());
    expect([errno(child.mprotect(nr, BIG, RW)), errno(child.mprotect(plain, BIG, RW))]).toEqual(['ok', 'ENOMEM']);
    const restored = ok(restore(ok(checkpoint(kernel))));
    expect(checkInvariants(restored)).toEqual(E.right(undefined));
    const q = restored.processes().find((x) => x.pid === p.pid) as Process;
    expect([errno(q.mprotect(nr, BIG, RW)), errno(q.mprotect(plain, BIG, RW))]).toEqual(['ok', 'ENOMEM']);
  });
});
