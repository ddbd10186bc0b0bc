import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_STAT, Kernel, PAGE_SIZE, PROT_READ, heldLockCount } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

function stat(p: Process, id: number) {
  return ok(p.shmctl(id, IPC_STAT)).ds!;
}

describe('fork', () => {
  it('inherits attachments: nattch +1 per piece, atime now, lpid the parent', () => {
    let now = 10;
    const k = new Kernel({ clock: () => now });
    const parent = k.spawn();
    const id = ok(parent.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0o600));
    const a = ok(parent.shmat(id, 0, 0));
    ok(parent.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ));
    expect(stat(parent, id).nattch).toBe(3);
    now = 20;
    const child = ok(parent.fork());
    const ds = stat(parent, id);
    expect([ds.nattch, ds.atime, ds.lpid]).toEqual([6, 20, parent.pid]);
    ok(child.write(a, new TextEncoder().encode('from child')));
    expect(new TextDecoder().decode(ok(parent.read(a, 10)))).toBe('from child');
  });

  it('LTP shmctl01: a parent attach plus 20 children gives 21, then back to 1 and 0', () => {
    const k = new Kernel();
    const parent = k.spawn();
    const id = ok(parent.shmget(IPC_PRIVATE, 2048, 0o600));
    const a = ok(parent.shmat(id, 0, 0));
    const children = Array.from({ length: 20 }, () => ok(parent.fork()));
    expect(stat(parent, id).nattch).toBe(21);
    children.forEach((c) => ok(c.shmdt(a)));
    expect(stat(parent, id).nattch).toBe(1);
    ok(parent.shmdt(a));
    expect(stat(parent, id).nattch).toBe(0);
  });
});

describe('exit', () => {
  it('detaches everything, updating dtime and lpid, and destroys SHM_DEST segments at 0', () => {
    let now = 1;
    const k = new Kernel({ clock: () => now });
    const a = k.spawn();
    const b = k.spawn();
    const id = ok(a.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    ok(b.shmat(id, 0, 0));
    ok(b.shmat(id, 0, 0));
    now = 5;
    ok(b.exit());
    const ds = stat(a, id);
    expect([ds.nattch, ds.dtime, ds.lpid, ds.cpid]).toEqual([0, 5, b.pid, a.pid]);
    const c = k.spawn();
    ok(c.shmat(id, 0, 0));
    ok(a.shmctl(id, IPC_RMID));
    ok(c.exit());
    expect(errno(a.shmctl(id, IPC_STAT))).toBe('EINVAL');
    expect(errno(c.shmget(IPC_PRIVATE, 1, 0))).toBe('ESRCH');
  });

  it('keeps cpid after the creator exits', () => {
    const k = new Kernel();
    const creator = k.spawn();
    const other = k.spawn();
    const id = ok(creator.shmget(IPC_PRIVATE, 1, 0o600));
    ok(creator.exit());
    expect(stat(other, id).cpid).toBe(creator.pid);
  });
});

describe('kernel.shm_rmid_forced', () => {
  it('destroys a segment when nattch drops to 0, even with its creator alive', () => {
    const k = new Kernel();
    const p = k.spawn();
    ok(p.writeSysctl('shm_rmid_forced', 1n));
    const id = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const a = ok(p.shmat(id, 0, 0));
    stat(p, id);
    ok(p.shmdt(a));
    expect(errno(p.shmctl(id, IPC_STAT))).toBe('EINVAL');
  });

  it('destroys unattached segments of an exiting creator, and a failed attach of an unattached one', () => {
    const k = new Kernel();
    const admin = k.spawn();
    ok(admin.writeSysctl('shm_rmid_forced', 1n));
    const p = ok(admin.fork());
    const kept = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const gone = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    ok(admin.shmat(kept, 0, 0));
    ok(p.exit());
    expect(stat(admin, kept).nattch).toBe(1);
    expect(errno(admin.shmctl(gone, IPC_STAT))).toBe('EINVAL');

    const victim = ok(admin.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    expect(errno(admin.shmat(victim, 0xfffffffffffff000n, 0))).toBe('EINVAL');
    expect(errno(admin.shmctl(victim, IPC_STAT))).toBe('EINVAL');
  });

  it('switching it on destroys unattached orphans at once', () => {
    const k = new Kernel();
    const admin = k.spawn();
    const creator = k.spawn();
    const orphan = ok(creator.shmget(IPC_PRIVATE, 1, 0o600));
    const attached = ok(creator.shmget(IPC_PRIVATE, 1, 0o600));
    const livesOn = ok(admin.shmget(IPC_PRIVATE, 1, 0o600));
    ok(admin.shmat(attached, 0, 0));
    ok(creator.exit());
    expect(stat(admin, orphan).nattch).toBe(0);
    ok(admin.writeSysctl('shm_rmid_forced', 1n));
    expect(errno(admin.shmctl(orphan, IPC_STAT))).toBe('EINVAL');
    expect(stat(admin, attached).nattch).toBe(1);
    expect(stat(admin, livesOn).nattch).toBe(0);
  });
});

describe('IPC namespaces', () => {
  it('isolate keys and ids', () => {
    const k = new Kernel();
    const a = k.spawn();
    const b = k.spawn({ ipcNamespace: k.newIpcNamespace() });
    const idA = ok(a.shmget(0x1234, 100, IPC_CREAT | 0o600));
    expect(errno(b.shmget(0x1234, 100, 0))).toBe('ENOENT');
    const idB = ok(b.shmget(0x1234, 100, IPC_CREAT | 0o600));
    expect(idA).toBe(0);
    expect(idB).toBe(0);
    const addr = ok(a.shmat(idA, 0, 0));
    const addrB = ok(b.shmat(idB, 0, 0));
    ok(a.write(addr, new Uint8Array([1])));
    expect(ok(b.read(addrB, 1))[0]).toBe(0);
  });

  it('unshare gives a fresh namespace with default limits; attachments stay mapped', () => {
    const k = new Kernel();
    const p = k.spawn();
    ok(p.writeSysctl('shmmni', 5n));
    const id = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    const a = ok(p.shmat(id, 0, 0));
    ok(p.unshareIpc());
    expect(p.ipcNamespace.limits.shmmni).toBe(4096);
    expect(errno(p.shmctl(id, IPC_STAT))).toBe('EINVAL');
    ok(p.write(a, new Uint8Array([9])));
    const nobody = k.spawn({ uid: 65534 });
    expect(errno(nobody.unshareIpc())).toBe('EPERM');
  });

  it('remove every segment when the last member of a namespace leaves', () => {
    const k = new Kernel();
    const ns = k.newIpcNamespace();
    const p = k.spawn({ ipcNamespace: ns });
    const id = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600));
    ok(p.fill(ok(p.shmat(id, 0, 0)), PAGE_SIZE, 7));
    expect(k.memoryFile.allocatedFrames).toBe(1);
    ok(p.exit());
    expect(ns.isDead).toBe(true);
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });
});

describe('frames', () => {
  it('are allocated on first touch only, and all return when segments go', () => {
    const k = new Kernel({ memTotalBytes: 4 * 2 ** 30 });
    const p = k.spawn();
    const big = ok(p.shmget(IPC_PRIVATE, 1n << 30n, 0o600));
    const a = ok(p.shmat(big, 0, 0));
    expect(k.memoryFile.allocatedFrames).toBe(0);
    ok(p.fill(a + 5 * PAGE_SIZE, 3 * PAGE_SIZE, 1));
    ok(p.read(a + 100 * PAGE_SIZE, 1));
    expect(k.memoryFile.allocatedFrames).toBe(4);
    ok(p.shmctl(big, IPC_RMID));
    expect(k.memoryFile.allocatedFrames).toBe(4);
    ok(p.exit());
    expect(k.memoryFile.allocatedFrames).toBe(0);
    expect(heldLockCount()).toBe(0);
  });

  it('a syscall on an exited process is ESRCH, and a result is never thrown', () => {
    const k = new Kernel();
    const p = k.spawn();
    ok(p.exit());
    const r = p.shmat(0, 0, 0);
    expect(E.isLeft(r) && r.left.message).toMatch(/exited/);
  });
});

describe('arguments a C caller could not pass', () => {
  it('are EINVAL or a fault, never a throw', () => {
    const k = new Kernel();
    const p = k.spawn();
    expect(errno(p.shmget(Number.NaN, 4096, 0))).toBe('EINVAL');
    expect(errno(p.shmget(IPC_PRIVATE, 1.5, 0))).toBe('EINVAL');
    expect(errno(p.shmat(0.5, 0, 0))).toBe('EINVAL');
    expect(errno(p.shmat(0, Number.POSITIVE_INFINITY, 0))).toBe('EINVAL');
    expect(errno(p.shmdt(Number.NaN))).toBe('EINVAL');
    expect(errno(p.shmctl(0, Number.NaN))).toBe('EINVAL');
    expect(errno(p.munmap(0x10000000, Number.NaN))).toBe('EINVAL');
    expect(errno(p.mprotect(0x10000000, 4096, 1.5))).toBe('EINVAL');
    expect(E.isLeft(p.read(Number.NaN, 4))).toBe(true);
    expect(E.isLeft(p.fill(0x10000000, -1, 0))).toBe(true);
    expect(ok(p.read(0xffffffffffffffffn, 0))).toHaveLength(0);
  });
});

describe('the process image', () => {
  it('has a stack at the top of the address space, so huge fixed attaches overlap it', () => {
    const k = new Kernel();
    const p = k.spawn();
    const id = ok(p.shmget(IPC_PRIVATE, 0x7fffffffffffffffn, 0o600 | 0o10000));
    expect(errno(p.shmat(id, 0x10000000, 0))).toBe('EINVAL');
    const child = ok(p.fork());
    expect(child.mm.vmas().map((v) => v.identity.mappedName())).toEqual(['[stack]']);
    ok(p.exit());
    ok(child.exit());
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });

  it('makes PROT_EXEC-only pages unreadable with protection keys, readable without', () => {
    for (const [executeOnly, want] of [
      [true, 'SIGSEGV'],
      [false, 'ok'],
    ] as const) {
      const p = new Kernel({ executeOnly }).spawn();
      const a = ok(p.shmat(ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600)), 0, 0));
      ok(p.mprotect(a, PAGE_SIZE, 4));
      expect(E.isLeft(p.read(a, 1)) ? 'SIGSEGV' : 'ok').toBe(want);
    }
  });
});

describe('readInto', () => {
  it('fills a caller buffer, and on a fault keeps the pages before it', () => {
    const p = new Kernel().spawn();
    const a = ok(p.shmat(ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, 0o600)), 0x10000000, 0));
    ok(p.fill(a, PAGE_SIZE, 7));
    const dst = new Uint8Array(PAGE_SIZE + 8);
    expect(E.isLeft(p.readInto(a, dst))).toBe(true);
    expect(dst[PAGE_SIZE - 1]).toBe(7);
    expect(dst[PAGE_SIZE]).toBe(0);
    const exact = new Uint8Array(16);
    ok(p.readInto(a + 100, exact));
    expect([...exact]).toEqual(Array(16).fill(7));
  });
});
