import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { MemoryCgroup } from '../../src/memcg/cgroup.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isChargeRefused } from '../../src/tmpfs/claim.js';
import type { RegularFile } from '../../src/tmpfs/regular.js';
import { Tmpfs } from '../../src/tmpfs/superblock.js';
import { ok } from '../support/either.js';

const PAGE = 4096;
const owner = { uid: 0, gid: 0, mode: 0o644 };

function channel(sizeBytes = 32 * PAGE): { kernel: Kernel; fs: Tmpfs } {
  const kernel = new Kernel();
  const fs = ok(Tmpfs.create(kernel.memoryFile, { sizeBytes }));
  fs.hold();
  return { kernel, fs };
}

function file(fs: Tmpfs, name: string): RegularFile {
  return ok(fs.root.createFile(name, owner));
}

describe('MemoryCgroup as a tmpfs charge target', () => {
  it('rounds the limit down to whole pages; 0 or none means no limit', () => {
    expect(new MemoryCgroup('/c', 16n * 1024n * 1024n).limitPages).toBe(4096);
    expect(new MemoryCgroup('/c', 8191n).limitPages).toBe(1);
    expect(new MemoryCgroup('/c', 0n).limitPages).toBeUndefined();
    expect(new MemoryCgroup('/c').limitPages).toBeUndefined();
  });

  it('charges each new page to the cgroup of its first writer', () => {
    const { fs } = channel();
    const box = new MemoryCgroup('/box', 8n * BigInt(PAGE));
    const f = file(fs, 'f');
    ok(f.write(0, new Uint8Array(3 * PAGE), box));
    expect([box.usagePages, box.usageBytes]).toEqual([3, 3n * BigInt(PAGE)]);
    expect(fs.usedPages).toBe(3);
  });

  it('a later write by another cgroup to a held page charges nobody; new pages go to the new writer', () => {
    const { fs } = channel();
    const box = new MemoryCgroup('/box', 8n * BigInt(PAGE));
    const host = new MemoryCgroup('/');
    const f = file(fs, 'f');
    ok(f.write(0, new Uint8Array(2 * PAGE), box));
    ok(f.write(0, new Uint8Array(3 * PAGE).fill(7), host));
    expect([box.usagePages, host.usagePages]).toEqual([2, 1]);
  });

  it('the charge stays until the page is freed, and goes back to whoever paid', () => {
    const { fs } = channel();
    const box = new MemoryCgroup('/box', 8n * BigInt(PAGE));
    const host = new MemoryCgroup('/');
    const f = file(fs, 'f');
    ok(f.write(0, new Uint8Array(4 * PAGE), box));
    ok(f.truncate(PAGE));
    expect(box.usagePages).toBe(1);
    // The host deletes the container's file: the container's cgroup gets the page back.
    fs.root.removeEntry('f');
    expect([box.usagePages, host.usagePages, fs.usedPages]).toEqual([0, 0, 0]);
  });

  it('refuses a charge past the limit, counting failcnt; the write stops short with the pages before it kept', () => {
    const { fs } = channel();
    const box = new MemoryCgroup('/box', 4n * BigInt(PAGE));
    const f = file(fs, 'f');
    const out = ok(f.write(0, new Uint8Array(6 * PAGE), box));
    expect(out.written).toBe(4 * PAGE);
    expect(out.stopped !== undefined && isChargeRefused(out.stopped)).toBe(true);
    expect([box.usagePages, box.failCount, f.size, fs.usedPages]).toEqual([4, 1, 4 * PAGE, 4]);
  });

  it('the cgroup limit applies before the tmpfs size: a full cgroup is refused even with space left', () => {
    const { fs } = channel(64 * PAGE);
    const box = new MemoryCgroup('/box', BigInt(PAGE));
    const f = file(fs, 'f');
    const out = ok(f.write(0, new Uint8Array(2 * PAGE), box));
    expect(out.stopped?.errno).toBe('ENOMEM');
    expect(fs.statfs().bavail).toBe(63);
  });

  it('a refused charge leaves nothing charged and no frame taken', () => {
    const { kernel, fs } = channel();
    const box = new MemoryCgroup('/box', BigInt(PAGE));
    const f = file(fs, 'f');
    ok(f.write(0, new Uint8Array(PAGE), box));
    const frames = kernel.memoryFile.allocatedFrames;
    expect(E.isRight(f.write(PAGE, new Uint8Array(1), box))).toBe(true);
    expect([box.usagePages, kernel.memoryFile.allocatedFrames]).toEqual([1, frames]);
  });

  it('ENOSPC from a full tmpfs returns the charge it took first', () => {
    const { fs } = channel(2 * PAGE);
    const box = new MemoryCgroup('/box', 64n * BigInt(PAGE));
    const f = file(fs, 'f');
    const out = ok(f.write(0, new Uint8Array(3 * PAGE), box));
    expect([out.written, out.stopped?.errno, box.usagePages]).toEqual([2 * PAGE, 'ENOSPC', 2]);
  });

  it('uncharging more than is charged is a bug', () => {
    expect(() => new MemoryCgroup('/c').uncharge(1)).toThrow(/uncharge/);
  });
});
