/**
 * Restore checks an image's meaning, not only its bytes: each edit below
 * keeps valid checksums (the image is sealed again by the format module's
 * writer) and is refused with a Left naming the field, before anything is
 * built. The three reproduced attacks come first.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, PAGE_SIZE, PROT_READ, PROT_WRITE, SHM_RDONLY } from '../../src/abi/constants.js';
import { MAP_SHARED, O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import type { CheckpointError } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';
import { edited, openImage, reseal } from './reseal.js';

// biome-ignore lint/suspicious/noExplicitAny: edits reach into decoded JSON by path
type Meta = any;

/** A owns segment 7 (0644) and maps it read-write; B maps it SHM_RDONLY; R (root) maps a tmpfs file it wrote. */
function sample(): { image: Uint8Array; a: number; b: number; r: number } {
  const kernel = new Kernel({ clock: () => 1000, memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 });
  const a = kernel.spawn({ uid: 1000, gid: 1000 });
  const b = kernel.spawn({ uid: 2000, gid: 2000 });
  const id = ok(a.shmget(7, 3 * PAGE_SIZE, IPC_CREAT | 0o644));
  const at = ok(a.shmat(id, 0, 0));
  ok(a.fill(at, 2 * PAGE_SIZE, 0xab));
  ok(b.shmat(id, 0, SHM_RDONLY));
  const r = kernel.spawn();
  ok(r.mkdir('/d'));
  const fd = ok(r.open('/d/f', O_CREAT | O_RDWR, 0o600));
  ok(r.writeFd(fd, new Uint8Array(6000).fill(3)));
  ok(r.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
  return { image: ok(checkpoint(kernel)), a: a.pid, b: b.pid, r: r.pid };
}

const SAMPLE = sample();
const OPENED = openImage(SAMPLE.image);
const META: Meta = OPENED.meta;
const procIndex = (pid: number): number => META.processes.findIndex((p: Meta) => p.pid === pid);
const shmVma = (pid: number): number => META.processes[procIndex(pid)].vmas.findIndex((v: Meta) => v.object.kind === 'shm');
const fileVma = (pid: number): number => META.processes[procIndex(pid)].vmas.findIndex((v: Meta) => v.object.kind === 'file');
const A = procIndex(SAMPLE.a);
const B = procIndex(SAMPLE.b);
const R = procIndex(SAMPLE.r);
const B_SHM = `metadata.processes[${B}].vmas[${shmVma(SAMPLE.b)}]`;
const SEG = 'metadata.ipcNamespaces[0].segments[0]';
const fileInode = (): number => META.tmpfs[0].inodes.findIndex((n: Meta) => n.kind === 'file');

/** The Left of restoring `meta` resealed; fails when it restores. */
function refused(meta: unknown): CheckpointError {
  const r = restore(reseal(OPENED, meta));
  if (E.isRight(r)) throw new Error('the edited image was restored');
  return r.left;
}

describe('the reproduced attacks', () => {
  it('the untouched sample restores, and its kernel keeps its invariants', () => {
    const k = ok(restore(reseal(OPENED, META)));
    expect(checkInvariants(k)).toEqual(E.right(undefined));
  });

  it('refuses a SHM_RDONLY piece re-sealed with PROT_WRITE in its protections', () => {
    const e = refused(
      edited<Meta>(META, (m) => {
        const v = m.processes[B].vmas[shmVma(SAMPLE.b)];
        v.perms |= PROT_WRITE;
        v.maxPerms |= PROT_WRITE;
      }),
    );
    expect(e.where).toBe(`${B_SHM}.writable`);
  });

  it('refuses a SHM_RDONLY piece re-sealed writable, or with PROT_WRITE beyond its maximum', () => {
    expect(refused(edited<Meta>(META, (m) => (m.processes[B].vmas[shmVma(SAMPLE.b)].writable = true))).where).toBe(`${B_SHM}.writable`);
    expect(refused(edited<Meta>(META, (m) => (m.processes[B].vmas[shmVma(SAMPLE.b)].perms |= PROT_WRITE))).where).toBe(`${B_SHM}.perms`);
    expect(refused(edited<Meta>(META, (m) => (m.processes[B].vmas[shmVma(SAMPLE.b)].maxPerms = PROT_READ))).where).toBe(`${B_SHM}.maxPerms`);
  });

  it('restores a piece edited consistently into a read-write attachment: IPC_SET after the attach reaches that state', () => {
    // perms, maxPerms and writable together describe what a read-write shmat
    // followed by the owner's IPC_SET to 0644 leaves; the image cannot tell them apart.
    const meta = edited<Meta>(META, (m) => {
      const v = m.processes[B].vmas[shmVma(SAMPLE.b)];
      v.perms |= PROT_WRITE;
      v.maxPerms |= PROT_WRITE;
      v.writable = true;
    });
    expect(checkInvariants(ok(restore(reseal(OPENED, meta))))).toEqual(E.right(undefined));
  });

  it('refuses understated reference counts and nattch of a mapped segment', () => {
    expect(refused(edited<Meta>(META, (m) => (m.ipcNamespaces[0].segments[0].refs -= 1))).where).toBe(`${SEG}.refs`);
    expect(refused(edited<Meta>(META, (m) => (m.ipcNamespaces[0].segments[0].refs = 1))).where).toBe(`${SEG}.refs`);
    expect(refused(edited<Meta>(META, (m) => (m.ipcNamespaces[0].segments[0].nattch -= 1))).where).toBe(`${SEG}.nattch`);
    expect(refused(edited<Meta>(META, (m) => (m.ipcNamespaces[0].segments[0].nattch = 0))).where).toBe(`${SEG}.nattch`);
    expect(refused(edited<Meta>(META, (m) => (m.ipcNamespaces[0].segments[0].refs += 1))).where).toBe(`${SEG}.refs`);
  });

  it('refuses a frameLimit of 2^31-1 in a small image at once, allocating nothing large', () => {
    const small = ok(checkpoint(new Kernel({ clock: () => 1000 })));
    const opened = openImage(small);
    const meta = edited<Meta>(opened.meta, (m) => {
      m.kernel.frameLimit = 2 ** 31 - 1;
      m.kernel.memTotalBytes = (2 ** 31 - 1) * PAGE_SIZE;
    });
    const image = reseal(opened, meta);
    expect(image.length).toBeLessThan(4096);
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const r = restore(image);
    const ms = performance.now() - t0;
    const grew = process.memoryUsage().arrayBuffers - before;
    expect(E.isLeft(r) && r.left.where).toBe('metadata.kernel.frameLimit');
    expect(ms).toBeLessThan(500);
    expect(grew).toBeLessThan(16 * 2 ** 20);
  });

  it('bounds the frame limit by the restore options: the limit the caller grants is accepted', () => {
    const small = ok(checkpoint(new Kernel({ clock: () => 1000 })));
    const opened = openImage(small);
    const meta = edited<Meta>(opened.meta, (m) => (m.kernel.frameLimit = 300));
    const image = reseal(opened, meta);
    expect(E.isLeft(restore(image, { maxFrames: 299 }))).toBe(true);
    expect(checkInvariants(ok(restore(image, { maxFrames: 300 })))).toEqual(E.right(undefined));
    const ram = edited<Meta>(opened.meta, (m) => (m.kernel.memTotalBytes = 2 ** 40));
    const r = restore(reseal(opened, ram), { maxMemTotalBytes: 2 ** 34 });
    expect(E.isLeft(r) && r.left.where).toBe('metadata.kernel.memTotalBytes');
  });
});

/** Edits of the sample, each with the field it must be refused at. */
const EDITS: readonly (readonly [string, (m: Meta) => void, string])[] = [
  ['an open file counting one more holder', (m) => (m.openFiles[0].refs += 1), 'metadata.openFiles[0].refs'],
  ['an open file counting one fewer holder', (m) => (m.openFiles[0].refs -= 1), 'metadata.openFiles[0].refs'],
  ['a mount counting one fewer holder', (m) => (m.mounts[0].refs -= 1), 'metadata.mounts[0].refs'],
  ['a tmpfs counting a page more than its files hold', (m) => (m.tmpfs[0].pagesUsed += 1), 'metadata.tmpfs[0].pagesUsed'],
  ['a tmpfs counting an inode fewer', (m) => (m.tmpfs[0].inodesUsed -= 1), 'metadata.tmpfs[0].inodesUsed'],
  ['a tmpfs holding more pages than its size', (m) => (m.tmpfs[0].maxPages = 1), 'metadata.tmpfs[0].pagesUsed'],
  ['a tmpfs holding more inodes than nr_inodes', (m) => (m.tmpfs[0].maxInodes = 1), 'metadata.tmpfs[0].inodesUsed'],
  ['a tmpfs counting a mount more', (m) => (m.tmpfs[0].mounts += 1), 'metadata.tmpfs[0].mounts'],
  ['an inode counting an open more', (m) => (m.tmpfs[0].inodes[fileInode()].opens += 1), `metadata.tmpfs[0].inodes[${fileInode()}].opens`],
  ['an inode counting two links', (m) => (m.tmpfs[0].inodes[fileInode()].links = 2), `metadata.tmpfs[0].inodes[${fileInode()}].links`],
  ['the root cgroup charged a page its files do not hold', (m) => (m.kernel.rootCgroupCharged += 1), 'metadata.kernel.rootCgroupCharged'],
  ['a pid twice', (m) => (m.processes[B].pid = m.processes[A].pid), `metadata.processes[${B}].pid`],
  ['a pid the allocator would hand out again', (m) => (m.processes[B].pid = m.kernel.nextPid), `metadata.processes[${B}].pid`],
  ['an IPC namespace with fewer members than processes', (m) => (m.ipcNamespaces[0].members = 1), 'metadata.ipcNamespaces[0].members'],
  ['a mount namespace with fewer members than processes', (m) => (m.mountNamespaces[0].members = 0), 'metadata.mountNamespaces[0].members'],
  ['a mount listed twice in a table', (m) => m.mountNamespaces[0].table.push(['/d', 0, 0, 1]), 'metadata.mountNamespaces[0].table[1]'],
  ['a stack counting one more piece', (m) => (m.anonymous[0].refs += 1), 'metadata.anonymous[0].refs'],
  ['a stack mapped by two processes', (m) => (m.processes[B].vmas.at(-1).object.anon = m.processes[A].vmas.at(-1).object.anon), 'metadata.anonymous[0]'],
  ['locked memory no segment accounts for', (m) => m.lockedMemory.push([1000, '3']), 'metadata.lockedMemory[0]'],
  ['a segment locked without SHM_LOCKED', (m) => (m.ipcNamespaces[0].segments[0].lockedBy = 1000), `${SEG}.lockedBy`],
  ['a segment marked for destruction without SHM_DEST', (m) => (m.ipcNamespaces[0].segments[0].pendingDestruction = true), `${SEG}.refs`],
  [
    'a piece past the end of its segment',
    (m) => (m.processes[A].vmas[shmVma(SAMPLE.a)].offset = PAGE_SIZE),
    `metadata.processes[${A}].vmas[${shmVma(SAMPLE.a)}]`,
  ],
  [
    'a file mapping of a description not open for writing, with VM_MAYWRITE',
    (m) => (m.openFiles[m.processes[R].vmas[fileVma(SAMPLE.r)].object.file].writable = false),
    `metadata.processes[${R}].vmas[${fileVma(SAMPLE.r)}].maxPerms`,
  ],
];

describe('counts and cross references of the sample', () => {
  for (const [what, edit, where] of EDITS) {
    it(`refuses ${what}, naming ${where}`, () => {
      const e = refused(edited<Meta>(META, edit));
      expect(e.where).toBe(where);
      expect(e.message.startsWith(`${where}: `)).toBe(true);
    });
  }
});
