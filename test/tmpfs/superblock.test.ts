import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { UnlimitedCharge } from '../../src/memcg/charge.js';
import { Tmpfs } from '../../src/tmpfs/superblock.js';
import type { TmpfsOptions } from '../../src/tmpfs/superblock.js';
import { errno, ok } from '../support/either.js';

const MiB = 1024 * 1024;
const owner = { uid: 0, gid: 0, mode: 0o644 };

function tmpfs(options: TmpfsOptions): { fs: Tmpfs; mf: MemoryFile } {
  const mf = new MemoryFile();
  return { fs: ok(Tmpfs.create(mf, options)), mf };
}

describe('size and statfs', () => {
  it('an empty 32 MiB tmpfs: 8192 blocks of 4096, all free, root inode used', () => {
    const { fs } = tmpfs({ sizeBytes: 32 * MiB, nrInodes: 3085511 });
    expect(fs.statfs()).toEqual({
      type: 0x01021994,
      bsize: 4096,
      frsize: 4096,
      blocks: 8192,
      bfree: 8192,
      bavail: 8192,
      files: 3085511,
      ffree: 3085510,
      namelen: 255,
    });
  });

  it('rounds size= up to whole pages (1 → 1, 4096 → 1, 4097 → 2, 8191 → 2, 12k → 3)', () => {
    const blocks = [1, 4096, 4097, 8191, 12288].map((sizeBytes) => tmpfs({ sizeBytes }).fs.statfs().blocks);
    expect(blocks).toEqual([1, 1, 2, 2, 3]);
  });

  it('size=0 is unlimited: blocks and free report 0 and a 100 MiB write fits', () => {
    const { fs } = tmpfs({ sizeBytes: 0 });
    const f = ok(fs.root.createFile('big', owner));
    const w = ok(f.write(0, new Uint8Array(100 * MiB), new UnlimitedCharge()));
    expect([w.written, w.stopped, fs.statfs().blocks, fs.statfs().bfree, fs.usedPages]).toEqual([100 * MiB, undefined, 0, 0, 25600]);
  });

  it('rejects negative or fractional sizes with EINVAL', () => {
    const mf = new MemoryFile();
    expect(errno(Tmpfs.create(mf, { sizeBytes: -1 }))).toBe('EINVAL');
    expect(errno(Tmpfs.create(mf, { sizeBytes: 1.5 }))).toBe('EINVAL');
    expect(errno(Tmpfs.create(mf, { nrInodes: -3 }))).toBe('EINVAL');
  });

  it('root mode 1777 owned by root by default; options override', () => {
    expect(tmpfs({}).fs.root.mode & 0o7777).toBe(0o1777);
    const r = tmpfs({ mode: 0o700, uid: 5, gid: 6 }).fs.root;
    expect([r.mode & 0o7777, r.uid, r.gid]).toEqual([0o700, 5, 6]);
  });
});

describe('inode limit', () => {
  it('nr_inodes=5: the root counts, so 4 files fit, then create and mkdir fail with ENOSPC', () => {
    const { fs } = tmpfs({ nrInodes: 5 });
    for (let i = 0; i < 4; i += 1) ok(fs.root.createFile(`f${i}`, owner));
    expect(errno(fs.root.createFile('f4', owner))).toBe('ENOSPC');
    expect(errno(fs.root.createDirectory('d', owner))).toBe('ENOSPC');
    expect([fs.statfs().files, fs.statfs().ffree]).toEqual([5, 0]);
    fs.root.removeEntry('f0');
    ok(fs.root.createDirectory('d', owner));
  });

  it('empty files and directories use no blocks', () => {
    const { fs } = tmpfs({ sizeBytes: 8192 });
    for (let i = 0; i < 100; i += 1) ok(fs.root.createFile(`e${i}`, owner));
    ok(fs.root.createDirectory('dir', owner));
    expect([fs.usedPages, fs.usedInodes]).toEqual([0, 102]);
  });
});

describe('remount', () => {
  function filled(usedMiB: number): Tmpfs {
    const { fs } = tmpfs({ sizeBytes: 32 * MiB, nrInodes: 100 });
    const f = ok(fs.root.createFile('data', owner));
    ok(f.write(0, new Uint8Array(usedMiB * MiB), new UnlimitedCharge()));
    return fs;
  }

  it('grows, keeping the contents', () => {
    const fs = filled(20);
    ok(fs.remount({ sizeBytes: 64 * MiB }));
    expect([fs.statfs().blocks, fs.usedPages]).toEqual([16384, 5120]);
  });

  it('shrinks to exactly the pages in use, leaving 0 available', () => {
    const fs = filled(20);
    ok(fs.remount({ sizeBytes: 20 * MiB }));
    expect([fs.statfs().blocks, fs.statfs().bavail]).toEqual([5120, 0]);
  });

  it('shrinking below use is EINVAL and keeps the old size', () => {
    const fs = filled(20);
    expect(errno(fs.remount({ sizeBytes: 20 * MiB - 1 - PAGE_SIZE, nrInodes: 50 }))).toBe('EINVAL');
    expect([fs.capacityPages, fs.inodeLimit]).toEqual([8192, 100]);
  });

  it('too few inodes for current use is EINVAL; an unlimited dimension cannot become limited', () => {
    const fs = filled(1);
    expect(errno(fs.remount({ nrInodes: 1 }))).toBe('EINVAL');
    ok(fs.remount({ sizeBytes: 0 }));
    expect(fs.capacityPages).toBe(0);
    expect(errno(fs.remount({ sizeBytes: 32 * MiB }))).toBe('EINVAL');
  });
});

describe('lifetime', () => {
  it('the last mount reference frees every page, linked files included', () => {
    const { fs, mf } = tmpfs({ sizeBytes: 1 * MiB });
    const charge = new UnlimitedCharge();
    const f = ok(fs.root.createFile('kept', owner));
    ok(f.write(0, new Uint8Array(3 * PAGE_SIZE), charge));
    fs.hold();
    fs.hold();
    fs.release();
    expect([mf.allocatedFrames, fs.destroyed]).toEqual([3, false]);
    fs.release();
    expect([mf.allocatedFrames, charge.chargedPages, fs.usedPages, fs.destroyed]).toEqual([0, 0, 0, true]);
  });
});
