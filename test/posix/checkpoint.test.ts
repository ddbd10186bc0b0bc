/**
 * A checkpoint keeps memfds (the unlinked file, its name, its seals, its
 * pages), the descriptors to them with FD_CLOEXEC, /dev/shm objects, and
 * the writable mappings F_SEAL_WRITE looks for; restore refuses images
 * whose seals or descriptor flags could not have come from the calls,
 * with a Left naming the field.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  FD_CLOEXEC,
  F_ADD_SEALS,
  F_GETFD,
  F_GET_SEALS,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  O_CREAT,
  O_RDWR,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import type { Kernel, Process } from '../../src/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { errno, ok } from '../support/either.js';
import { bytes, withDevShm } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: edits reach into decoded JSON by path
type Meta = any;

interface Sample {
  readonly kernel: Kernel;
  readonly p: Process;
  readonly q: Process;
  /** p's sealable memfd (GROW | SHRINK, FD_CLOEXEC), which q maps read-write at qAddr. */
  readonly sealed: number;
  readonly qAddr: number;
  /** p's plain memfd, unsealable, holding three pages. */
  readonly plain: number;
  /** p's /dev/shm object "obj", mapped by p at pAddr and by q at qObj. */
  readonly obj: number;
  readonly pAddr: number;
  readonly qObj: number;
}

function sample(): Sample {
  const { kernel, p } = withDevShm();
  const sealed = ok(p.memfdCreate('sealed', MFD_ALLOW_SEALING | MFD_CLOEXEC));
  ok(p.ftruncate(sealed, 2 * PAGE_SIZE));
  ok(p.pwrite(sealed, bytes(1, 2, 3), 100));
  ok(p.fcntl(sealed, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK));
  const plain = ok(p.memfdCreate('plain', 0));
  ok(p.pwrite(plain, new Uint8Array(3 * PAGE_SIZE).fill(0x5a), 0));
  const q = ok(p.fork());
  const qAddr = ok(q.mmap(sealed, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
  const obj = ok(p.shmOpen('/obj', O_RDWR | O_CREAT, 0o600));
  ok(p.ftruncate(obj, PAGE_SIZE));
  const pAddr = ok(p.mmap(obj, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
  const qObj = ok(q.mmap(ok(q.shmOpen('obj', O_RDWR, 0)), PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
  ok(p.write(pAddr, bytes(42)));
  return { kernel, p, q, sealed, qAddr, plain, obj, pAddr, qObj };
}

function restored(s: Sample): { kernel: Kernel; p: Process; q: Process; image: Uint8Array } {
  const image = ok(checkpoint(s.kernel));
  const kernel = ok(restore(image));
  const byPid = (pid: number): Process => kernel.processes().find((x) => x.pid === pid) as Process;
  return { kernel, p: byPid(s.p.pid), q: byPid(s.q.pid), image };
}

describe('round trip', () => {
  it('memfds keep their seals, names, contents and FD_CLOEXEC; the restored kernel checkpoints to the same bytes', () => {
    const s = sample();
    const r = restored(s);
    expect(checkInvariants(r.kernel)).toEqual(E.right(undefined));
    expect(ok(r.p.fcntl(s.sealed, F_GET_SEALS))).toBe(F_SEAL_GROW | F_SEAL_SHRINK);
    expect(ok(r.p.fcntl(s.plain, F_GET_SEALS))).toBe(F_SEAL_SEAL);
    expect(ok(r.p.fcntl(s.sealed, F_GETFD))).toBe(FD_CLOEXEC);
    expect(ok(r.p.fcntl(s.plain, F_GETFD))).toBe(0);
    expect(ok(r.q.fcntl(s.sealed, F_GETFD))).toBe(FD_CLOEXEC);
    expect([...ok(r.p.pread(s.sealed, 3, 100))]).toEqual([1, 2, 3]);
    expect(ok(r.p.fstat(s.plain))).toMatchObject({ size: 3 * PAGE_SIZE, nlink: 0, blocks: 24 });
    expect(ok(r.p.pread(s.plain, 1, 2 * PAGE_SIZE))[0]).toBe(0x5a);
    const vma = r.q.mm.vmas().find((v) => v.start === s.qAddr);
    expect(vma?.identity.mappedName()).toBe('/memfd:sealed (deleted)');
    // The seals still bite.
    expect(errno(r.p.ftruncate(s.sealed, 3 * PAGE_SIZE))).toBe('EPERM');
    expect(errno(r.p.ftruncate(s.sealed, PAGE_SIZE))).toBe('EPERM');
    expect(ok(checkpoint(r.kernel))).toEqual(r.image);
  });

  it('the restored writable mapping still blocks F_SEAL_WRITE, until it goes', () => {
    const s = sample();
    const r = restored(s);
    expect(errno(r.p.fcntl(s.sealed, F_ADD_SEALS, F_SEAL_WRITE))).toBe('EBUSY');
    ok(r.q.munmap(s.qAddr, 2 * PAGE_SIZE));
    ok(r.p.fcntl(s.sealed, F_ADD_SEALS, F_SEAL_WRITE));
    expect(errno(r.p.pwrite(s.sealed, bytes(1), 0))).toBe('EPERM');
  });

  it('a mapping made under F_SEAL_FUTURE_WRITE comes back unable to become writable', () => {
    const s = sample();
    ok(s.p.fcntl(s.sealed, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    const ro = ok(s.p.mmap(s.sealed, PAGE_SIZE, PROT_READ, MAP_SHARED));
    const r = restored(s);
    expect(errno(r.p.mprotect(ro, PAGE_SIZE, PROT_READ | PROT_WRITE))).toBe('EACCES');
    // q's mapping from before the seal stays writable.
    ok(r.q.write(s.qAddr, bytes(8)));
    expect(ok(r.p.pread(s.sealed, 1, 0))[0]).toBe(8);
  });

  it('a /dev/shm object keeps its name and contents, and its two mappings stay one object', () => {
    const s = sample();
    const r = restored(s);
    expect(ok(r.q.read(s.qObj, 1))[0]).toBe(42);
    ok(r.q.write(s.qObj + 1, bytes(43)));
    expect(ok(r.p.read(s.pAddr + 1, 1))[0]).toBe(43);
    expect(ok(r.p.fcntl(s.obj, F_GETFD))).toBe(FD_CLOEXEC);
    const again = ok(r.p.shmOpen('obj', O_RDWR, 0));
    expect(ok(r.p.fstat(again)).ino).toBe(ok(r.p.fstat(s.obj)).ino);
    ok(r.p.shmUnlink('obj'));
  });

  it('memfds made after a restore work beside the restored ones', () => {
    const r = restored(sample());
    const fd = ok(r.p.memfdCreate('new', MFD_ALLOW_SEALING));
    ok(r.p.pwrite(fd, bytes(5), 0));
    ok(r.p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    expect(ok(r.p.fcntl(fd, F_GET_SEALS))).toBe(F_SEAL_WRITE);
  });
});

describe('restore refuses seals and descriptor flags no call could make', () => {
  const s = sample();
  const opened = openImage(ok(checkpoint(s.kernel)));
  const meta: Meta = opened.meta;
  /** [tmpfs index, inode index] of the first inode with seals. */
  const sealedAt = (): [number, number] => {
    for (let i = 0; i < meta.tmpfs.length; i += 1) {
      const j = meta.tmpfs[i].inodes.findIndex((n: Meta) => n.seals !== undefined);
      if (j >= 0) return [i, j];
    }
    throw new Error('no sealed inode in the sample');
  };
  const [T, I] = sealedAt();
  const P = meta.processes.findIndex((p: Meta) => p.pid === s.p.pid);
  const Q = meta.processes.findIndex((p: Meta) => p.pid === s.q.pid);

  function refusedAt(edit: (m: Meta) => void): string {
    const r = restore(reseal(opened, edited(meta, edit)));
    if (E.isRight(r)) throw new Error('the edited image was restored');
    return r.left.where;
  }

  it('the unedited image restores', () => {
    expect(E.isRight(restore(reseal(opened, meta)))).toBe(true);
  });

  it('an unknown seal bit', () => {
    expect(refusedAt((m) => (m.tmpfs[T].inodes[I].seals = 0x40))).toBe(`metadata.tmpfs[${T}].inodes[${I}].seals`);
  });

  it('seals that are not a number', () => {
    expect(refusedAt((m) => (m.tmpfs[T].inodes[I].seals = 'x'))).toBe(`metadata.tmpfs[${T}].inodes[${I}].seals`);
  });

  it('seals on a directory', () => {
    expect(refusedAt((m) => (m.tmpfs[T].inodes[0].seals = 0))).toBe(`metadata.tmpfs[${T}].inodes[0].seals`);
  });

  it('F_SEAL_WRITE while a writable mapping of the file exists', () => {
    const where = refusedAt((m) => (m.tmpfs[T].inodes[I].seals = F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_WRITE));
    expect(where).toMatch(new RegExp(`^metadata\\.processes\\[${Q}\\]\\.vmas\\[\\d+\\]\\.writable$`));
  });

  it('a sealable file that a directory names', () => {
    const obj = meta.tmpfs.findIndex((sb: Meta) => sb.inodes.some((n: Meta) => n.kind === 'file' && n.links === 1));
    const j = meta.tmpfs[obj].inodes.findIndex((n: Meta) => n.kind === 'file' && n.links === 1);
    expect(refusedAt((m) => (m.tmpfs[obj].inodes[j].seals = 0))).toBe(`metadata.tmpfs[${obj}].inodes[${j}].seals`);
  });

  it('FD_CLOEXEC on a descriptor the process does not have, or twice', () => {
    expect(refusedAt((m) => (m.processes[P].cloexec = [999]))).toBe(`metadata.processes[${P}].cloexec[0]`);
    expect(refusedAt((m) => m.processes[P].cloexec.push(m.processes[P].cloexec[0]))).toBe(
      `metadata.processes[${P}].cloexec[${meta.processes[P].cloexec.length}]`,
    );
  });
});
