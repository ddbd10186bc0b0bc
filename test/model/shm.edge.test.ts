/**
 * Deterministic companions of the model-based test: short sequences for the
 * rules that random generation reaches only rarely (linux-shm.md §4, §5 and
 * mprotect's partial application). Each also replays the sequence on the
 * ShmModel, so the model is held to the same expectations.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, Kernel, heldLockCount } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { PAGE, PROT_NONE, PROT_READ, PROT_WRITE, SHM_RDONLY, ShmModel } from './model.js';
import type { MProc } from './model.js';

function ok<T>(e: E.Either<unknown, T>): T {
  if (E.isLeft(e)) throw new Error(`expected success, got ${JSON.stringify(e.left)}`);
  return e.right;
}
function errno(e: E.Either<{ errno: string }, unknown>): string {
  return E.isLeft(e) ? e.left.errno : 'ok';
}
function fault(e: E.Either<{ signal: string; addr: number }, unknown>): string {
  return E.isLeft(e) ? `${e.left.signal}@${e.left.addr}` : 'ok';
}
function nattch(p: Process, id: number): number {
  return ok(p.shmctl(id, IPC_STAT)).ds!.nattch;
}

/** A kernel with one root process, mirrored by a model. */
function world(): { k: Kernel; root: Process; m: ShmModel; mroot: MProc } {
  const k = new Kernel({ clock: () => 100 });
  const root = k.spawn({ uid: 0, gid: 0, caps: ALL_CAPABILITIES });
  const m = new ShmModel();
  const mroot = m.addProc({
    name: 'root',
    pid: root.pid,
    uid: 0,
    gid: 0,
    groups: [],
    caps: new Set(['CAP_IPC_OWNER', 'CAP_IPC_LOCK', 'CAP_SYS_ADMIN']),
  });
  return { k, root, m, mroot };
}

/** Removes the segment as root, exits everyone, and checks that nothing is left behind. */
function finish(k: Kernel, root: Process, id: number, procs: Process[]): void {
  ok(root.shmctl(id, IPC_RMID));
  for (const p of procs) if (!p.exited) ok(p.exit());
  expect(errno(k.spawn().shmctl(id, IPC_STAT))).toBe('EINVAL');
  expect(k.memoryFile.allocatedFrames).toBe(0);
  expect(heldLockCount()).toBe(0);
}

describe('shm edge cases the generator rarely builds', () => {
  it('mprotect across a munmapped hole: ENOMEM, and the piece before the hole keeps the change', () => {
    const { k, root, m, mroot } = world();
    const id = ok(root.shmget(IPC_PRIVATE, 3 * PAGE, 0o600));
    const seg = m.create(mroot, id, IPC_PRIVATE, 3 * PAGE, 0o600);
    const a = ok(root.shmat(id, 0, 0));
    m.attach(mroot, seg, a, 0);
    ok(root.munmap(a + PAGE, PAGE));
    m.munmap(mroot, a + PAGE, PAGE);
    expect(nattch(root, id)).toBe(2);

    expect(errno(root.mprotect(a, 3 * PAGE, PROT_READ))).toBe('ENOMEM');
    expect(m.mprotect(mroot, a, 3 * PAGE, PROT_READ)).toBe('ENOMEM');
    // The first page became read-only; the third, past the hole, is untouched.
    expect(fault(root.write(a, new Uint8Array([1])))).toBe(`SIGSEGV@${a}`);
    expect(fault(root.write(a + 2 * PAGE, new Uint8Array([2])))).toBe('ok');
    expect(m.faultAt(mroot, a, 1, true)).toBe(a);
    expect(m.faultAt(mroot, a + 2 * PAGE, 1, true)).toBeUndefined();
    // Whole pieces changed, so nothing was split.
    expect(nattch(root, id)).toBe(2);
    expect(m.nattch(seg)).toBe(2);

    // A hole at the very start fails before anything changes.
    expect(errno(root.mprotect(a + PAGE, 2 * PAGE, PROT_NONE))).toBe('ENOMEM');
    expect(m.mprotect(mroot, a + PAGE, 2 * PAGE, PROT_NONE)).toBe('ENOMEM');
    expect(fault(root.read(a + 2 * PAGE, 1))).toBe('ok');
    finish(k, root, id, [root]);
  });

  it('shmdt after munmap of the first page: the origin still detaches the rest, the new first page does not', () => {
    const { k, root, m, mroot } = world();
    const id = ok(root.shmget(IPC_PRIVATE, 3 * PAGE, 0o600));
    const seg = m.create(mroot, id, IPC_PRIVATE, 3 * PAGE, 0o600);
    const a = ok(root.shmat(id, 0, 0));
    m.attach(mroot, seg, a, 0);
    ok(root.mprotect(a + 2 * PAGE, PAGE, PROT_READ));
    m.mprotect(mroot, a + 2 * PAGE, PAGE, PROT_READ);
    ok(root.munmap(a, PAGE));
    m.munmap(mroot, a, PAGE);
    expect(nattch(root, id)).toBe(2);
    expect(m.nattch(seg)).toBe(2);

    expect(errno(root.shmdt(a + PAGE))).toBe('EINVAL');
    expect(m.shmdt(mroot, a + PAGE)).toBe('EINVAL');
    expect(errno(root.shmdt(a))).toBe('ok');
    expect(m.shmdt(mroot, a)).toBe('ok');
    expect(nattch(root, id)).toBe(0);
    expect(m.nattch(seg)).toBe(0);
    expect(fault(root.read(a + PAGE, 1))).toBe(`SIGSEGV@${a + PAGE}`);
    expect(errno(root.shmdt(a))).toBe('EINVAL');
    finish(k, root, id, [root]);
  });

  it('mprotect(RW) over a read-write then a read-only attachment: EACCES, the first keeps RW', () => {
    const { k, root, m, mroot } = world();
    const id = ok(root.shmget(IPC_PRIVATE, PAGE, 0o600));
    const seg = m.create(mroot, id, IPC_PRIVATE, PAGE, 0o600);
    const ro = ok(root.shmat(id, 0, SHM_RDONLY));
    m.attach(mroot, seg, ro, SHM_RDONLY);
    const rw = ok(root.shmat(id, 0, 0));
    m.attach(mroot, seg, rw, 0);
    // Top-down placement puts the second attach right below the first (§5).
    expect(rw).toBe(ro - PAGE);
    ok(root.mprotect(rw, PAGE, PROT_NONE));
    m.mprotect(mroot, rw, PAGE, PROT_NONE);

    expect(errno(root.mprotect(rw, 2 * PAGE, PROT_READ | PROT_WRITE))).toBe('EACCES');
    expect(m.mprotect(mroot, rw, 2 * PAGE, PROT_READ | PROT_WRITE)).toBe('EACCES');
    expect(fault(root.write(rw, new Uint8Array([7])))).toBe('ok');
    expect(m.write(mroot, rw, new Uint8Array([7]))).toBeUndefined();
    expect(fault(root.write(ro, new Uint8Array([8])))).toBe(`SIGSEGV@${ro}`);
    expect(ok(root.read(ro, 1))[0]).toBe(7);
    expect(m.read(mroot, ro, 1)[0]).toBe(7);
    finish(k, root, id, [root]);
  });

  it('§4: a member of cgid only keeps the group triple after the owner gives gid away', () => {
    const { k, root, m } = world();
    const a = k.spawn({ uid: 1000, gid: 1000, groups: [], caps: [] });
    const b = k.spawn({ uid: 2000, gid: 1000, groups: [], caps: [] });
    const ma = m.addProc({ name: 'A', pid: a.pid, uid: 1000, gid: 1000, groups: [], caps: new Set() });
    const mb = m.addProc({ name: 'B', pid: b.pid, uid: 2000, gid: 1000, groups: [], caps: new Set() });
    const id = ok(a.shmget(IPC_PRIVATE, 100, 0o640));
    m.create(ma, id, IPC_PRIVATE, 100, 0o640);
    ok(a.shmctl(id, IPC_SET, { uid: 1000, gid: 65534, mode: 0o640 }));
    expect(m.ipcSet(ma, id, 1000, 65534, 0o640)).toBe('ok');
    // B is in cgid 1000 (not in gid 65534): the group bits (r) apply, not other's (none).
    expect(errno(b.shmat(id, 0, SHM_RDONLY))).toBe('ok');
    expect(m.shmat(mb, id, SHM_RDONLY)).not.toBeTypeOf('string');
    expect(errno(b.shmat(id, 0, 0))).toBe('EACCES');
    expect(m.shmat(mb, id, 0)).toBe('EACCES');
    finish(k, root, id, [a, b, root]);
  });
});
