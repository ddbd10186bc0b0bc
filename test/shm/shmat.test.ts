import { describe, expect, it } from 'vitest';
import {
  IPC_PRIVATE,
  IPC_RMID,
  IPC_STAT,
  Kernel,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SHM_EXEC,
  SHM_RDONLY,
  SHM_REMAP,
  SHM_RND,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok, signal } from '../support/either.js';

const FREE = 0x10000000;

function setup() {
  const k = new Kernel({ clock: () => 1_700_000_000 });
  return { k, root: k.spawn(), nobody: k.spawn({ uid: 65534, gid: 65534 }) };
}

function nattch(p: Process, id: number): number {
  return ok(p.shmctl(id, IPC_STAT)).ds!.nattch;
}

describe('shmat: argument checks come before the id lookup', () => {
  it('rejects negative ids, unaligned addresses, SHM_RND|SHM_REMAP to 0 and NULL|SHM_REMAP', () => {
    const { root, nobody } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 4096, 0o600));
    expect(errno(root.shmat(-1, 0, 0))).toBe('EINVAL');
    expect(errno(root.shmat(-2147483648, 0, 0))).toBe('EINVAL');
    expect(errno(root.shmat(id, FREE + 1, 0))).toBe('EINVAL');
    expect(errno(root.shmat(id, FREE + 0x800, 0))).toBe('EINVAL');
    expect(errno(root.shmat(id, 1, SHM_RND | SHM_REMAP))).toBe('EINVAL');
    expect(errno(root.shmat(id, PAGE_SIZE - 1, SHM_RND | SHM_REMAP))).toBe('EINVAL');
    expect(errno(root.shmat(id, 0, SHM_REMAP))).toBe('EINVAL');
    // Bad id plus bad address, or no permission plus bad address: EINVAL wins.
    expect(errno(root.shmat(12345, FREE + 1, 0))).toBe('EINVAL');
    expect(errno(nobody.shmat(id, FREE + 1, 0))).toBe('EINVAL');
    expect(errno(nobody.shmat(id, FREE, 0))).toBe('EACCES');
  });

  it('treats stale and removed ids as EINVAL, never EIDRM', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 4096, 0o600));
    expect(errno(root.shmat(id + 32768, 0, 0))).toBe('EINVAL');
    ok(root.shmctl(id, IPC_RMID));
    expect(errno(root.shmat(id, 0, 0))).toBe('EINVAL');
  });
});

describe('shmat: permissions', () => {
  it('needs r for SHM_RDONLY, r+w otherwise, and x for SHM_EXEC', () => {
    const { k, root, nobody } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 4096, 0o644));
    ok(nobody.shmat(id, 0, SHM_RDONLY));
    expect(errno(nobody.shmat(id, 0, 0))).toBe('EACCES');
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const rw = ok(owner.shmget(IPC_PRIVATE, 4096, 0o666));
    expect(errno(owner.shmat(rw, 0, SHM_EXEC))).toBe('EACCES');
    const rwx = ok(owner.shmget(IPC_PRIVATE, 4096, 0o700));
    ok(owner.shmat(rwx, 0, SHM_EXEC));
    const rx = ok(owner.shmget(IPC_PRIVATE, 4096, 0o500));
    ok(owner.shmat(rx, 0, SHM_EXEC | SHM_RDONLY));
    const ipcOwner = k.spawn({ uid: 5, caps: ['CAP_IPC_OWNER'] });
    const zero = ok(owner.shmget(IPC_PRIVATE, 4096, 0));
    ok(ipcOwner.shmat(zero, 0, SHM_EXEC));
  });
});

describe('shmat: addresses', () => {
  it('rounds down with SHM_RND and attaches exactly at an aligned address', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 4096, 0o600));
    expect(ok(root.shmat(id, FREE + 0xfff, SHM_RND))).toBe(FREE);
    expect(ok(root.shmat(id, FREE + 0x10000, 0))).toBe(FREE + 0x10000);
  });

  it('places kernel-chosen attachments top-down, one below the other', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 4096, 0o600));
    const a = ok(root.shmat(id, 0, 0));
    const b = ok(root.shmat(id, 0, 0));
    expect(b).toBe(a - PAGE_SIZE);
  });

  it('refuses an overlapping fixed address without SHM_REMAP, and replaces with it', () => {
    const { root } = setup();
    const big = ok(root.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0o600));
    const small = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    ok(root.shmat(big, FREE, 0));
    expect(errno(root.shmat(small, FREE + PAGE_SIZE, 0))).toBe('EINVAL');
    expect(ok(root.shmat(small, FREE + PAGE_SIZE, SHM_REMAP))).toBe(FREE + PAGE_SIZE);
    // The uncovered remainder of the first attachment stays attached: two pieces.
    expect(nattch(root, big)).toBe(2);
    expect(nattch(root, small)).toBe(1);
  });

  it('distinguishes wrap (EINVAL) from the top of the address space (ENOMEM)', () => {
    const { root } = setup();
    const one = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const three = ok(root.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0o600));
    expect(errno(root.shmat(one, 0xfffffffffffff000n, 0))).toBe('EINVAL');
    expect(errno(root.shmat(one, 0xfffffffffffff000n, SHM_REMAP))).toBe('ENOMEM');
    expect(errno(root.shmat(three, 0x7ffffffff000, 0))).toBe('ENOMEM');
    expect(errno(root.shmat(one, 0x800000000000, 0))).toBe('ENOMEM');
  });

  it('maps page 0 for root only (vm.mmap_min_addr)', () => {
    const { root, nobody } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o666));
    expect(errno(nobody.shmat(id, 1, SHM_RND))).toBe('EPERM');
    expect(ok(root.shmat(id, 1, SHM_RND))).toBe(0);
    ok(nobody.shmat(id, 0x1000, 0));
  });

  it('a failed attach changes neither atime, lpid nor nattch', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    ok(root.shmat(id, FREE, 0));
    const before = ok(root.shmctl(id, IPC_STAT)).ds!;
    const other = setup().k.spawn();
    expect(errno(root.shmat(id, FREE, 0))).toBe('EINVAL');
    expect(ok(root.shmctl(id, IPC_STAT)).ds).toEqual(before);
    expect(other.pid).toBeGreaterThan(0);
  });
});

describe('memory through attachments', () => {
  it('maps PAGE_ALIGN(segsz): a 100-byte segment is writable in its first page, not beyond', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 100, 0o600));
    const a = ok(root.shmat(id, 0, 0));
    ok(root.write(a + 4000, new Uint8Array([1, 2, 3])));
    expect(signal(root.write(a + PAGE_SIZE, new Uint8Array([1])))).toBe('SIGSEGV');
  });

  it('SHM_RDONLY attachments read but fault on write, and mprotect cannot add write', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const a = ok(root.shmat(id, 0, SHM_RDONLY));
    expect(ok(root.read(a, 4))).toEqual(new Uint8Array(4));
    expect(signal(root.write(a, new Uint8Array([1])))).toBe('SIGSEGV');
    expect(errno(root.mprotect(a, PAGE_SIZE, PROT_READ | PROT_WRITE))).toBe('EACCES');
  });

  it('shares bytes across attachments and processes', () => {
    const { root, k } = setup();
    const id = ok(root.shmget(77, 2 * PAGE_SIZE, 0o666 | 0o1000));
    const a = ok(root.shmat(id, 0, 0));
    const b = ok(root.shmat(id, 0, 0));
    const other = k.spawn({ uid: 1, gid: 1 });
    const c = ok(other.shmat(ok(other.shmget(77, 0, 0)), 0, 0));
    ok(root.write(a + 4090, new TextEncoder().encode('across pages')));
    expect(new TextDecoder().decode(ok(root.read(b + 4090, 12)))).toBe('across pages');
    expect(new TextDecoder().decode(ok(other.read(c + 4090, 12)))).toBe('across pages');
  });

  it('a write that faults keeps the bytes of earlier pages', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const a = ok(root.shmat(id, FREE, 0));
    expect(signal(root.fill(a + PAGE_SIZE - 2, 4, 0xab))).toBe('SIGSEGV');
    expect([...ok(root.read(a + PAGE_SIZE - 2, 2))]).toEqual([0xab, 0xab]);
    expect(signal(root.read(a, PAGE_SIZE + 1))).toBe('SIGSEGV');
  });

  it('PROT_NONE pieces fault on read', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const a = ok(root.shmat(id, 0, 0));
    ok(root.mprotect(a, PAGE_SIZE, PROT_NONE));
    expect(signal(root.read(a, 1))).toBe('SIGSEGV');
  });
});

describe('shmdt and the attach-origin rule', () => {
  it('needs an aligned address that is the origin of an attachment', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0o600));
    const a = ok(root.shmat(id, FREE, 0));
    expect(errno(root.shmdt(a + 1))).toBe('EINVAL');
    expect(errno(root.shmdt(a + PAGE_SIZE))).toBe('EINVAL');
    expect(errno(root.shmdt(0))).toBe('EINVAL');
    ok(root.shmdt(a));
    expect(errno(root.shmdt(a))).toBe('EINVAL');
    expect(signal(root.write(a, new Uint8Array([1])))).toBe('SIGSEGV');
    expect(nattch(root, id)).toBe(0);
  });

  it('counts pieces: mprotect of the middle page gives 3, and they never re-merge', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0o600));
    const a = ok(root.shmat(id, FREE, 0));
    ok(root.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ));
    expect(nattch(root, id)).toBe(3);
    ok(root.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE));
    expect(nattch(root, id)).toBe(3);
    ok(root.shmdt(a));
    expect(nattch(root, id)).toBe(0);
  });

  it('munmap of the middle page gives 2, of the first page 1; shmdt(start) still removes the rest', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0o600));
    const a = ok(root.shmat(id, FREE, 0));
    ok(root.munmap(a + PAGE_SIZE, PAGE_SIZE));
    expect(nattch(root, id)).toBe(2);
    ok(root.shmdt(a));
    expect(nattch(root, id)).toBe(0);
    const b = ok(root.shmat(id, FREE, 0));
    ok(root.munmap(b, PAGE_SIZE));
    expect(nattch(root, id)).toBe(1);
    expect(errno(root.shmdt(b + PAGE_SIZE))).toBe('EINVAL');
    ok(root.shmdt(b));
    expect(nattch(root, id)).toBe(0);
  });

  it('LTP shmat04: mprotect splits then shmdt leaves nattch 0', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0o600));
    const a = ok(root.shmat(id, 0, 0));
    ok(root.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_NONE));
    ok(root.mprotect(a, 2 * PAGE_SIZE, PROT_WRITE));
    ok(root.shmdt(a));
    expect(nattch(root, id)).toBe(0);
  });

  it('leaves an adjacent attachment of another segment alone', () => {
    const { root } = setup();
    const x = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const y = ok(root.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    ok(root.shmat(x, FREE, 0));
    ok(root.shmat(y, FREE + PAGE_SIZE, 0));
    ok(root.shmdt(FREE));
    expect([nattch(root, x), nattch(root, y)]).toEqual([0, 1]);
  });

  it('updates dtime and lpid on detach', () => {
    let now = 100;
    const k = new Kernel({ clock: () => now });
    const p = k.spawn();
    const id = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const a = ok(p.shmat(id, 0, 0));
    now = 200;
    const q = k.spawn();
    ok(q.shmat(id, 0, 0));
    now = 300;
    ok(p.shmdt(a));
    const ds = ok(p.shmctl(id, IPC_STAT)).ds!;
    expect([ds.atime, ds.dtime, ds.lpid, ds.nattch]).toEqual([200, 300, p.pid, 1]);
  });
});
