/**
 * ipc's generic Registry on a fake mechanism (a "counter set" whose get
 * argument is a count, as sem's nsems is), so that the get path, ipc_addid,
 * the IPC_RMID/IPC_SET prelude, the lookups and two-phase removal are shown
 * to hold without shm.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPCMNI } from '../../src/abi/constants.js';
import type { SysError } from '../../src/abi/errno.js';
import { sysError } from '../../src/abi/errno.js';
import { makeCredentials } from '../../src/auth/credentials.js';
import { makeId } from '../../src/ipc/ids.js';
import type { IpcObject } from '../../src/ipc/object.js';
import { refcountBug } from '../../src/ipc/object.js';
import type { IpcPermState, IpcSetArgs } from '../../src/ipc/perm.js';
import { newPerm, updatePerm, validOwner } from '../../src/ipc/perm.js';
import type { IpcCaller } from '../../src/ipc/registry.js';
import { CONTROL_DONE, Registry } from '../../src/ipc/registry.js';
import { Mutex } from '../../src/sync/mutex.js';
import { errno, ok } from '../support/either.js';

/** Ranks of their own, after every real lock. */
const REGISTRY_RANK = 100;
const OBJECT_RANK = 101;
/** A bit above the nine permission bits that the fake mechanism sets when removal's first phase runs. */
const MARKED = 0o1000;

class Counters implements IpcObject {
  readonly mu = new Mutex('fake.Counters.mu', OBJECT_RANK);
  pendingDestruction = false;
  private refs = 1;

  constructor(
    private readonly owner: FakeRegistry,
    readonly perm: IpcPermState,
    readonly count: number,
  ) {}

  get id(): number {
    return this.perm.id;
  }

  get refCount(): number {
    return this.refs;
  }

  incRef(): void {
    if (this.refs <= 0) refcountBug(this, 'incRef after destruction');
    this.refs += 1;
  }

  decRef(): void {
    if (this.refs > 1) this.refs -= 1;
    else this.owner.putRef(this);
  }

  dropRef(): boolean {
    if (this.refs <= 0) refcountBug(this, 'decRef below zero');
    this.refs -= 1;
    return this.refs === 0;
  }
}

class FakeRegistry extends Registry<Counters, IpcCaller, number> {
  limit = 16;
  nextId = -1;
  readonly freed: number[] = [];

  constructor() {
    super(new Mutex('fake.Registry.mu', REGISTRY_RANK), 'counter set');
  }

  get(creds: IpcCaller['creds'], key: number, count: number, flags: number): E.Either<SysError, number> {
    return this.ipcget({ creds }, key, flags, count);
  }

  maxIndex(): number {
    return this.mu.with(() => this.maxIndexLocked());
  }

  restore(obj: Counters): void {
    this.mu.with(() => this.restoreLocked(obj));
  }

  protected moreChecksLocked(obj: Counters, count: number): E.Either<SysError, never> | undefined {
    return count > obj.count ? E.left(sysError('EINVAL', 'more counters than the set has')) : undefined;
  }

  protected newLocked(who: IpcCaller, key: number, flags: number, count: number): E.Either<SysError, number> {
    if (count < 1) return E.left(sysError('EINVAL', 'no counters'));
    return this.addIdLocked(new Counters(this, newPerm(who.creds, key, flags), count));
  }

  protected objectLimit(): number {
    return this.limit;
  }

  protected takeNextId(): number {
    const next = this.nextId;
    this.nextId = -1;
    return next;
  }

  protected setLocked(obj: Counters, set: IpcSetArgs): E.Either<SysError, void> {
    if (!validOwner(set)) return E.left(sysError('EINVAL', 'invalid owner'));
    obj.mu.with(() => updatePerm(obj.perm, set));
    return CONTROL_DONE;
  }

  protected markedLocked(obj: Counters): void {
    obj.perm.mode |= MARKED;
  }

  protected freeLocked(obj: Counters): void {
    this.freed.push(obj.perm.id);
  }
}

const owner = makeCredentials({ uid: 1000, gid: 1000 });
const other = makeCredentials({ uid: 2000, gid: 2000 });
const ipcOwner = makeCredentials({ uid: 2000, gid: 2000, caps: ['CAP_IPC_OWNER'] });
const sysAdmin = makeCredentials({ uid: 2000, gid: 2000, caps: ['CAP_SYS_ADMIN'] });

describe('Registry: the get path (ipcget)', () => {
  it('creates on IPC_PRIVATE every time, with ids from the cyclic allocator', () => {
    const r = new FakeRegistry();
    expect([1, 2, 3].map((n) => ok(r.get(owner, IPC_PRIVATE, n, 0o600)))).toEqual([0, 1, 2]);
  });

  it('finds an existing key, and refuses a missing one without IPC_CREAT (ENOENT)', () => {
    const r = new FakeRegistry();
    expect(errno(r.get(owner, 42, 1, 0o600))).toBe('ENOENT');
    const id = ok(r.get(owner, 42, 3, IPC_CREAT | 0o600));
    expect(ok(r.get(owner, 42, 3, 0o600))).toBe(id);
    expect(ok(r.get(owner, 42, 0, 0))).toBe(id);
  });

  it("checks in Linux's order: EEXIST, then the mechanism's own check, then EACCES", () => {
    const r = new FakeRegistry();
    ok(r.get(owner, 42, 3, IPC_CREAT | 0o600));
    expect(errno(r.get(other, 42, 9, IPC_CREAT | IPC_EXCL | 0o600))).toBe('EEXIST');
    expect(errno(r.get(other, 42, 9, 0o600))).toBe('EINVAL');
    expect(errno(r.get(other, 42, 3, 0o600))).toBe('EACCES');
    expect(errno(r.get(ipcOwner, 42, 3, 0o600))).toBe('ok');
  });

  it("runs the mechanism's creation checks before the object limit", () => {
    const r = new FakeRegistry();
    r.limit = 0;
    expect(errno(r.get(owner, IPC_PRIVATE, 0, 0))).toBe('EINVAL');
    expect(errno(r.get(owner, IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
  });

  it('refuses creation at the object limit, capped at IPCMNI (ipc_addid)', () => {
    const r = new FakeRegistry();
    r.limit = 2;
    ok(r.get(owner, IPC_PRIVATE, 1, 0));
    ok(r.get(owner, IPC_PRIVATE, 1, 0));
    expect(errno(r.get(owner, IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
    r.limit = IPCMNI * 2;
    expect(errno(r.get(owner, IPC_PRIVATE, 1, 0))).toBe('ok');
  });

  it('consumes next_id only when an id is allocated', () => {
    const r = new FakeRegistry();
    r.nextId = makeId(5, 7);
    expect(errno(r.get(owner, IPC_PRIVATE, 0, 0))).toBe('EINVAL');
    expect(r.nextId).toBe(makeId(5, 7));
    r.limit = 0;
    expect(errno(r.get(owner, IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
    expect(r.nextId).toBe(makeId(5, 7));
    r.limit = 16;
    expect(ok(r.get(owner, IPC_PRIVATE, 1, 0))).toBe(makeId(5, 7));
    expect(r.nextId).toBe(-1);
    expect(ok(r.get(owner, IPC_PRIVATE, 1, 0))).toBe(0);
  });

  it("records the caller's euid and egid as owner and creator, and the nine mode bits", () => {
    const r = new FakeRegistry();
    const id = ok(r.get(owner, 7, 1, IPC_CREAT | IPC_EXCL | 0o7640));
    const obj = r.findById(id)!;
    expect(obj.perm).toEqual({ key: 7, id, seq: 0, uid: 1000, gid: 1000, cuid: 1000, cgid: 1000, mode: 0o640 });
    obj.decRef();
  });
});

describe('Registry: lookups by id and by index', () => {
  it('matches the sequence by id but not by index, and masks the index to 15 bits', () => {
    const r = new FakeRegistry();
    r.nextId = makeId(3, 4);
    const id = ok(r.get(owner, IPC_PRIVATE, 1, 0));
    expect(r.findById(makeId(2, 4))).toBeUndefined();
    const byIndex = r.findByIndex(makeId(9, 4))!;
    expect(byIndex.id).toBe(id);
    const byId = r.findById(id)!;
    expect(byId).toBe(byIndex);
    // Each lookup took a reference.
    expect(byId.refCount).toBe(3);
    byId.decRef();
    byIndex.decRef();
    expect(byId.refCount).toBe(1);
  });

  it('reports the highest index in use, 0 when none (ipc_get_maxidx)', () => {
    const r = new FakeRegistry();
    expect(r.maxIndex()).toBe(0);
    ok(r.get(owner, IPC_PRIVATE, 1, 0));
    const id = ok(r.get(owner, IPC_PRIVATE, 1, 0));
    ok(r.get(owner, IPC_PRIVATE, 1, 0));
    expect(r.maxIndex()).toBe(2);
    expect(errno(r.ctlDown(owner, id, undefined))).toBe('ok');
    expect(r.maxIndex()).toBe(2);
  });

  it('lists every object in index order with a reference each', () => {
    const r = new FakeRegistry();
    const ids = [1, 2, 3].map((n) => ok(r.get(owner, IPC_PRIVATE, n, 0)));
    const all = r.objects();
    expect(all.map((o) => o.id)).toEqual(ids);
    expect(all.map((o) => o.refCount)).toEqual([2, 2, 2]);
    for (const o of all) o.decRef();
  });
});

describe('Registry: IPC_RMID and IPC_SET (ipcctl_obtain_check)', () => {
  it('refuses an unknown id (EINVAL), then anyone but owner, creator or CAP_SYS_ADMIN (EPERM)', () => {
    const r = new FakeRegistry();
    const id = ok(r.get(owner, IPC_PRIVATE, 1, 0o666));
    expect(errno(r.ctlDown(owner, id + IPCMNI, undefined))).toBe('EINVAL');
    expect(errno(r.ctlDown(other, id, undefined))).toBe('EPERM');
    expect(errno(r.ctlDown(ipcOwner, id, undefined))).toBe('EPERM');
    expect(errno(r.ctlDown(sysAdmin, id, { uid: 5, gid: 6, mode: 0o600 }))).toBe('ok');
    // The creator keeps its rights after the owner changed.
    expect(errno(r.ctlDown(owner, id, undefined))).toBe('ok');
  });

  it('IPC_SET checks ownership before the new owner (EPERM before EINVAL) and keeps the bits above 0777', () => {
    const r = new FakeRegistry();
    const id = ok(r.get(owner, IPC_PRIVATE, 1, 0o600));
    expect(errno(r.ctlDown(other, id, { uid: -1, gid: 0, mode: 0 }))).toBe('EPERM');
    expect(errno(r.ctlDown(owner, id, { uid: -1, gid: 0, mode: 0 }))).toBe('EINVAL');
    expect(errno(r.ctlDown(owner, id, { uid: 0, gid: 0xffffffff, mode: 0 }))).toBe('EINVAL');
    const held = r.findById(id)!;
    held.perm.mode |= MARKED;
    expect(errno(r.ctlDown(owner, id, { uid: 7, gid: 8, mode: 0o7444 }))).toBe('ok');
    expect([held.perm.uid, held.perm.gid, held.perm.mode]).toEqual([7, 8, MARKED | 0o444]);
    held.decRef();
  });
});

describe('Registry: removal in two phases', () => {
  it('frees an unheld object at IPC_RMID', () => {
    const r = new FakeRegistry();
    const id = ok(r.get(owner, 42, 1, IPC_CREAT | 0o600));
    expect(errno(r.ctlDown(owner, id, undefined))).toBe('ok');
    expect(r.freed).toEqual([id]);
    expect(r.findById(id)).toBeUndefined();
    expect(errno(r.get(owner, 42, 1, 0o600))).toBe('ENOENT');
  });

  it('dissociates the key at once and frees the id with the last reference', () => {
    const r = new FakeRegistry();
    const id = ok(r.get(owner, 42, 1, IPC_CREAT | 0o600));
    const held = r.findById(id)!;
    expect(errno(r.ctlDown(owner, id, undefined))).toBe('ok');
    // Phase one: the key is free for a new object, the id still finds the old one.
    expect(held.pendingDestruction).toBe(true);
    expect(held.perm.key).toBe(IPC_PRIVATE);
    expect(held.perm.mode & MARKED).toBe(MARKED);
    const second = ok(r.get(owner, 42, 1, IPC_CREAT | IPC_EXCL | 0o600));
    expect(second).not.toBe(id);
    const again = r.findById(id)!;
    expect(again).toBe(held);
    again.decRef();
    expect(r.freed).toEqual([]);
    // A second removal is refused by nothing and changes nothing.
    expect(errno(r.ctlDown(owner, id, undefined))).toBe('ok');
    expect(held.refCount).toBe(1);
    // Phase two.
    held.decRef();
    expect(r.freed).toEqual([id]);
    expect(r.findById(id)).toBeUndefined();
    expect(r.findByIndex(id)).toBeUndefined();
  });

  it('throws on a reference dropped after the object was freed', () => {
    const r = new FakeRegistry();
    const id = ok(r.get(owner, IPC_PRIVATE, 1, 0));
    const held = r.findById(id)!;
    r.markDestroyed(held);
    held.decRef();
    expect(() => held.decRef()).toThrow(/below zero/);
    expect(() => held.incRef()).toThrow(/after destruction/);
  });

  it('removes everything when the namespace ends (free_ipcs), sparing held objects until their holders let go', () => {
    const r = new FakeRegistry();
    const ids = [1, 2, 3].map((n) => ok(r.get(owner, n, n, IPC_CREAT | 0o600)));
    const held = r.findById(ids[1]!)!;
    r.release();
    expect(r.freed).toEqual([ids[0], ids[2]]);
    held.decRef();
    expect(r.freed).toEqual([ids[0], ids[2], ids[1]]);
    expect(r.objectsForCheckpoint()).toEqual([]);
  });
});

describe('Registry: checkpoint', () => {
  it('rebuilds objects at their ids and keys, and the allocator where it stood', () => {
    const r = new FakeRegistry();
    for (let i = 0; i < 3; i += 1) ok(r.get(owner, IPC_PRIVATE, 1, 0));
    const kept = ok(r.get(owner, 42, 2, IPC_CREAT | 0o600));
    const state = r.idAllocatorState();
    const copy = new FakeRegistry();
    copy.restoreIdAllocator(state);
    for (const o of r.objectsForCheckpoint()) copy.restore(new Counters(copy, { ...o.perm }, o.count));
    expect(copy.objectsForCheckpoint().map((o) => o.id)).toEqual(r.objectsForCheckpoint().map((o) => o.id));
    expect(ok(copy.get(owner, 42, 2, 0))).toBe(kept);
    expect(ok(copy.get(owner, IPC_PRIVATE, 1, 0))).toBe(ok(r.get(owner, IPC_PRIVATE, 1, 0)));
  });
});
