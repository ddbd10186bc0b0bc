/**
 * Checkpoint and restore of sleeping in-process calls (semop, semtimedop,
 * msgsnd, msgrcv): a restored kernel has the same waiters on the same
 * queues in the same order, hands out new Pendings for them, and running
 * the same operations on it gives the same results as on the original
 * kernel (a differential test: ops A, checkpoint, restore, ops B against
 * A + B straight through), for fixed sequences and for random ones
 * (fast-check, seed from FC_SEED). Crafted images with bad waiter records
 * are refused with a Left naming the field.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_COPY, MSG_EXCEPT, MSG_NOERROR } from '../../src/abi/msg.js';
import { GETALL, GETNCNT, GETZCNT, SEM_UNDO, SETVAL } from '../../src/abi/sem.js';
import type { Sembuf } from '../../src/abi/sem.js';
import { checkInvariants, checkpoint, restoreWithEngine } from '../../src/checkpoint/index.js';
import type { CheckpointError, RestoredCall } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Pending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';
import { useSeed } from '../support/seed.js';
import { edited, openImage, reseal } from './reseal.js';

beforeAll(() => useSeed());

// A small world: processes, one semaphore set and one queue, driven by ops.

const NSEMS = 3;
/** The index of the process that only observes. */
const OBSERVER = 4;

type Op =
  | { readonly op: 'semop'; readonly p: number; readonly sops: readonly Sembuf[]; readonly timeoutMs?: number }
  | { readonly op: 'setval'; readonly p: number; readonly semnum: number; readonly value: number }
  | { readonly op: 'msgsnd'; readonly p: number; readonly mtype: number; readonly size: number; readonly flags: number }
  | { readonly op: 'msgrcv'; readonly p: number; readonly bufsz: number; readonly msgtyp: number; readonly flags: number }
  | { readonly op: 'qbytes'; readonly qbytes: number; readonly mode?: number }
  | { readonly op: 'rmid'; readonly what: 'sem' | 'msg' }
  | { readonly op: 'interrupt'; readonly p: number }
  | { readonly op: 'exit'; readonly p: number }
  | { readonly op: 'unshare'; readonly p: number }
  | { readonly op: 'time'; readonly ms: number };

interface World {
  readonly kernel: Kernel;
  /** The processes by index; undefined for one that exited before a restore. */
  readonly procs: readonly (Process | undefined)[];
  readonly semid: number;
  readonly msqid: number;
  /** Every Pending the ops got, in the order they got them. */
  readonly handles: Pending<E.Either<{ errno: string }, unknown>>[];
  /** What each op returned, and which handles settled during it (with what). */
  readonly log: unknown[];
}

const newKernel = (): Kernel => new Kernel({ clock: () => 1_700_000_000, monotonicClock: () => 0, memTotalBytes: 2 ** 24, chunkBytes: 2 ** 16 });

function world(): World {
  const kernel = newKernel();
  // [4] only looks and sets qbytes: it never sleeps, exits or leaves the namespace.
  const procs = [kernel.spawn(), kernel.spawn({ uid: 1000, gid: 1000 }), kernel.spawn(), kernel.spawn({ uid: 1001, gid: 1000 }), kernel.spawn()];
  const root = procs[0] as Process;
  const semid = ok(root.semget(IPC_PRIVATE, NSEMS, IPC_CREAT | 0o666));
  const msqid = ok(root.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
  ok(root.msgctl(msqid, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 40 }));
  return { kernel, procs, semid, msqid, handles: [], log: [] };
}

/** A result as a comparable value: errno, or the value (a message as its type and bytes). */
function shown(r: E.Either<{ errno: string }, unknown>): unknown {
  if (E.isLeft(r)) return { errno: r.left.errno };
  const v = r.right as { mtype?: unknown; text?: Uint8Array };
  return v !== null && typeof v === 'object' && v.text instanceof Uint8Array ? { mtype: String(v.mtype), text: [...v.text] } : v;
}

const bytes = (size: number, tag: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (tag * 31 + i) & 0xff);

/** Runs one op on `w`, logging what it returned and what it woke. */
function run(w: World, o: Op, tag: number): void {
  const before = w.handles.map((h) => h.state);
  const p = w.procs['p' in o ? o.p : OBSERVER];
  if (p === undefined || p.exited) {
    w.log.push([o.op, 'ESRCH', []]);
    return;
  }
  let out: unknown;
  switch (o.op) {
    case 'semop':
      out =
        o.timeoutMs === undefined
          ? p.semop(w.semid, o.sops)
          : p.semtimedop(w.semid, o.sops, { sec: Math.floor(o.timeoutMs / 1000), nsec: (o.timeoutMs % 1000) * 1e6 });
      break;
    case 'setval':
      out = p.semctl(w.semid, o.semnum, SETVAL, o.value);
      break;
    case 'msgsnd':
      out = p.msgsnd(w.msqid, o.mtype, bytes(o.size, tag), o.flags);
      break;
    case 'msgrcv':
      out = p.msgrcv(w.msqid, o.bufsz, o.msgtyp, o.flags);
      break;
    case 'qbytes':
      out = p.msgctl(w.msqid, IPC_SET, { uid: 0, gid: 0, mode: o.mode ?? 0o666, qbytes: o.qbytes });
      break;
    case 'rmid':
      out = o.what === 'sem' ? p.semctl(w.semid, 0, IPC_RMID) : p.msgctl(w.msqid, IPC_RMID);
      break;
    case 'interrupt':
      out = p.interrupt();
      break;
    case 'exit':
      out = p.exit();
      break;
    case 'unshare':
      out = p.unshareIpc();
      break;
    case 'time':
      out = w.kernel.advanceTime(o.ms);
      break;
  }
  let entry: unknown;
  if (isPending(out)) {
    w.handles.push(out as World['handles'][number]);
    entry = { pending: w.handles.length - 1 };
  } else {
    const r = out as E.Either<{ errno: string }, unknown>;
    entry = E.isRight(r) && typeof r.right === 'object' && r.right !== null && !('text' in r.right) ? 'ok' : shown(r);
  }
  const woke = w.handles.flatMap((h, i) =>
    before[i] === 'pending' && h.state === 'settled' ? [[i, shown(h.result as E.Either<{ errno: string }, unknown>)]] : [],
  );
  w.log.push([o.op, entry, woke]);
}

/** What can be seen of the world's objects now. */
function observe(w: World): unknown {
  const root = w.procs[OBSERVER] as Process;
  const ret = (r: E.Either<{ errno: string }, { ret: number }>): unknown => (E.isLeft(r) ? r.left.errno : r.right.ret);
  const counts = Array.from({ length: NSEMS }, (_, i) => [ret(root.semctl(w.semid, i, GETNCNT)), ret(root.semctl(w.semid, i, GETZCNT))]);
  const values = root.semctl(w.semid, 0, GETALL);
  const q = root.msgctl(w.msqid, IPC_STAT);
  return {
    values: E.isLeft(values) ? values.left.errno : values.right.values,
    counts,
    queue: E.isLeft(q) ? q.left.errno : [q.right.ds?.qnum, q.right.ds?.cbytes, q.right.ds?.perm.mode],
    handles: w.handles.map((h) => (h.state === 'pending' ? 'pending' : shown(h.result as E.Either<{ errno: string }, unknown>))),
  };
}

function image(k: Kernel): Uint8Array {
  const img = checkpoint(k);
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

/** The restored world: its processes by the original's pids, and each handle still pending replaced by the restored call's. */
function restoredWorld(w: World, img: Uint8Array): { world: World; waiting: readonly RestoredCall[] } {
  const r = restoreWithEngine(img, { clock: () => 1_700_000_000, monotonicClock: () => 0 });
  if (E.isLeft(r)) throw new Error(r.left.message);
  const { kernel, waiting } = r.right;
  const procs = w.procs.map((p) => kernel.processes().find((q) => q.pid === p?.pid));
  const stillPending = w.handles.map((h, i) => [h, i] as const).filter(([h]) => h.state === 'pending');
  expect(waiting.length).toBe(stillPending.length);
  const handles = [...w.handles];
  stillPending.forEach(([, i], k) => {
    handles[i] = (waiting[k] as RestoredCall).pending as World['handles'][number];
  });
  return { world: { kernel, procs, semid: w.semid, msqid: w.msqid, handles, log: [...w.log] }, waiting };
}

/**
 * Runs `a` then `b` on one kernel, and `a`, checkpoint, restore, `b` on
 * another built the same way; both must log and show the same, keep their
 * invariants, and checkpoint to the same bytes at the end.
 */
function differential(a: readonly Op[], b: readonly Op[]): { waiting: readonly RestoredCall[]; straight: World } {
  const straight = world();
  a.forEach((o, i) => run(straight, o, i));
  const img = image(straight.kernel);
  const { world: after, waiting } = restoredWorld(straight, img);
  // Same waiters, places, arguments and time left: the restored kernel checkpoints to the very same bytes.
  expect(Buffer.from(image(after.kernel)).equals(Buffer.from(img))).toBe(true);
  expect(observe(after)).toEqual(observe(straight));
  b.forEach((o, i) => {
    run(straight, o, a.length + i);
    run(after, o, a.length + i);
  });
  expect(after.log).toEqual(straight.log);
  expect(observe(after)).toEqual(observe(straight));
  expect(checkInvariants(straight.kernel)).toEqual(E.right(undefined));
  expect(checkInvariants(after.kernel)).toEqual(E.right(undefined));
  expect(Buffer.from(image(after.kernel)).equals(Buffer.from(image(straight.kernel)))).toBe(true);
  return { waiting, straight };
}

const sop = (semNum: number, semOp: number, semFlg = 0): Sembuf => ({ semNum, semOp, semFlg });

describe('sleeping calls across checkpoint and restore', () => {
  it('restores semops on every kind of queue, in order, and wakes them as the original does', () => {
    const a: Op[] = [
      // Single altering sops on semaphores 0 and 1, a wait-for-zero on 2 after raising it, then a complex one (merges the queues).
      { op: 'semop', p: 1, sops: [sop(0, -1)] },
      { op: 'semop', p: 2, sops: [sop(0, -2)] },
      { op: 'semop', p: 3, sops: [sop(1, -1, SEM_UNDO)] },
      { op: 'setval', p: 0, semnum: 2, value: 1 },
      { op: 'semop', p: 0, sops: [sop(2, 0)] },
      { op: 'semop', p: 1, sops: [sop(0, -1), sop(1, -1)] },
      { op: 'semop', p: 2, sops: [sop(2, 0), sop(1, 0)] },
      { op: 'semop', p: 3, sops: [sop(0, -3)], timeoutMs: 250 },
    ];
    const b: Op[] = [
      { op: 'setval', p: 0, semnum: 0, value: 2 },
      { op: 'time', ms: 100 },
      { op: 'setval', p: 0, semnum: 1, value: 3 },
      { op: 'setval', p: 0, semnum: 2, value: 0 },
      { op: 'time', ms: 200 },
      { op: 'setval', p: 0, semnum: 0, value: 5 },
      { op: 'interrupt', p: 2 },
      { op: 'interrupt', p: 1 },
    ];
    const { waiting, straight } = differential(a, b);
    expect(waiting.map((c) => [c.pid, c.call])).toEqual([
      [straight.procs[1]?.pid, 'semop'],
      [straight.procs[2]?.pid, 'semop'],
      [straight.procs[3]?.pid, 'semop'],
      [straight.procs[0]?.pid, 'semop'],
      [straight.procs[1]?.pid, 'semop'],
      [straight.procs[2]?.pid, 'semop'],
      [straight.procs[3]?.pid, 'semtimedop'],
    ]);
    // Something settled after the restore, and something timed out: the test exercised the wake-ups.
    expect(straight.log.slice(a.length).some((e) => (e as unknown[])[2] !== undefined && ((e as unknown[])[2] as unknown[]).length > 0)).toBe(true);
  });

  it('restores senders and receivers in queue order, with their messages, types and flags', () => {
    const a: Op[] = [
      { op: 'msgrcv', p: 1, bufsz: 8, msgtyp: 2, flags: 0 },
      { op: 'msgrcv', p: 2, bufsz: 4, msgtyp: 0, flags: MSG_NOERROR },
      { op: 'msgrcv', p: 3, bufsz: 16, msgtyp: -3, flags: 0 },
      { op: 'msgrcv', p: 0, bufsz: 16, msgtyp: 1, flags: MSG_EXCEPT },
      // One receiver is handed a message; others stay; then the queue fills and senders sleep.
      { op: 'msgsnd', p: 0, mtype: 5, size: 2, flags: 0 },
      { op: 'msgsnd', p: 0, mtype: 9, size: 30, flags: 0 },
      { op: 'msgsnd', p: 1, mtype: 7, size: 12, flags: 0 },
      { op: 'msgsnd', p: 2, mtype: 4, size: 1, flags: 0 },
      { op: 'msgsnd', p: 3, mtype: 8, size: 20, flags: IPC_NOWAIT },
      { op: 'msgsnd', p: 2, mtype: 1, size: 30, flags: 0 },
      { op: 'msgsnd', p: 3, mtype: 6, size: 5, flags: MSG_NOERROR },
    ];
    const b: Op[] = [
      { op: 'msgsnd', p: 0, mtype: 2, size: 10, flags: IPC_NOWAIT },
      { op: 'msgrcv', p: 0, bufsz: 64, msgtyp: 0, flags: IPC_NOWAIT },
      { op: 'qbytes', qbytes: 200 },
      { op: 'msgsnd', p: 0, mtype: 3, size: 3, flags: 0 },
      { op: 'msgrcv', p: 0, bufsz: 64, msgtyp: 0, flags: MSG_COPY | IPC_NOWAIT },
      { op: 'interrupt', p: 3 },
      { op: 'msgsnd', p: 0, mtype: 2, size: 9, flags: 0 },
      { op: 'msgrcv', p: 2, bufsz: 64, msgtyp: 0, flags: IPC_NOWAIT },
    ];
    const { waiting } = differential(a, b);
    // p2 took type 5, p0 got E2BIG for type 9 (queued): p1 and p3 still receive; p1's 12 and p2's 30 bytes do not fit.
    expect(waiting.map((c) => [c.pid, c.call])).toEqual([
      [1001, 'msgrcv'],
      [1003, 'msgrcv'],
      [1001, 'msgsnd'],
      [1002, 'msgsnd'],
    ]);
  });

  it('carries a timeout as the time it had left, and an overdue one fires at the first timer run', () => {
    const straight = world();
    run(straight, { op: 'semop', p: 1, sops: [sop(0, -1)], timeoutMs: 500 }, 0);
    run(straight, { op: 'time', ms: 300 }, 1);
    const img = image(straight.kernel);
    const later = restoreWithEngine(img, { clock: () => 1_700_000_000, monotonicClock: () => 1_000_000 });
    const { kernel, waiting } = ok(later as E.Either<CheckpointError, { kernel: Kernel; waiting: readonly RestoredCall[] }>);
    const [call] = waiting;
    expect(ok(kernel.advanceTime(199))).toBe(0);
    expect(call?.pending.state).toBe('pending');
    expect(ok(kernel.advanceTime(1))).toBe(1);
    expect(shown(call?.pending.result as E.Either<{ errno: string }, unknown>)).toEqual({ errno: 'EAGAIN' });
    expect(kernel.timers.size).toBe(0);
  });

  it('hands out Pendings that settle for awaiting callers too', async () => {
    const straight = world();
    run(straight, { op: 'msgrcv', p: 1, bufsz: 8, msgtyp: 0, flags: 0 }, 0);
    const { world: after, waiting } = restoredWorld(straight, image(straight.kernel));
    const done = (waiting[0] as RestoredCall).pending.done;
    ok((after.procs[0] as Process).msgsnd(after.msqid, 6, new Uint8Array([1, 2, 3]), 0) as E.Either<{ errno: string }, 0>);
    expect(shown((await done) as E.Either<{ errno: string }, unknown>)).toEqual({ mtype: '6', text: [1, 2, 3] });
  });

  it('keeps the adjustments of a SEM_UNDO semop whose process left the namespace (exit_sem dropped its list)', () => {
    const a: Op[] = [
      { op: 'semop', p: 0, sops: [sop(2, 2, SEM_UNDO)] },
      { op: 'semop', p: 0, sops: [sop(0, 1, SEM_UNDO), sop(1, -1, SEM_UNDO)] },
      { op: 'unshare', p: 0 },
    ];
    const w = world();
    a.forEach((o, i) => run(w, o, i));
    const calls = (openImage(image(w.kernel)).meta as { waitingCalls: { orphanUndo?: number[] }[] }).waitingCalls;
    // exit_sem applied -2 to semaphore 2 and dropped the list; the sleeping semop still holds the entry.
    expect(calls.map((c) => c.orphanUndo)).toEqual([[0, 0, -2]]);
    differential(a, [
      { op: 'setval', p: OBSERVER, semnum: 1, value: 1 },
      { op: 'semop', p: 2, sops: [sop(0, 0)] },
      { op: 'interrupt', p: 2 },
    ]);
  });

  it('restores a sender that lost write permission while it slept, which fails with EACCES once there is room', () => {
    const { straight } = differential(
      [
        { op: 'msgsnd', p: 1, mtype: 2, size: 41, flags: 0 },
        { op: 'qbytes', qbytes: 40, mode: 0o600 },
      ],
      [{ op: 'qbytes', qbytes: 100, mode: 0o600 }],
    );
    expect(shown(straight.handles[0]?.result as E.Either<{ errno: string }, unknown>)).toEqual({ errno: 'EACCES' });
  });

  it('refuses a checkpoint while a call exceeds a sysctl lowered since it slept, though the kernel keeps its invariants', () => {
    const w = world();
    run(w, { op: 'msgsnd', p: 1, mtype: 2, size: 41, flags: 0 }, 0);
    run(w, { op: 'semop', p: 2, sops: [sop(0, -1), sop(1, -1)] }, 1);
    const root = w.procs[OBSERVER] as Process;
    ok(root.writeSysctl('msgmax', 40n));
    const msg = checkpoint(w.kernel);
    expect(E.isLeft(msg) && [msg.left.where, msg.left.errno]).toEqual([`process ${w.procs[1]?.pid}: its msgsnd`, undefined]);
    expect(E.isLeft(msg) && msg.left.message).toMatch(/kernel\.msgmax \(40\)/);
    ok(root.writeSysctl('msgmax', 8192n));
    ok(root.writeSysctl('sem', [32000n, 1024000000n, 1n, 32000n]));
    const sem = checkpoint(w.kernel);
    expect(E.isLeft(sem) && sem.left.message).toMatch(/semopm \(1\)/);
    expect(checkInvariants(w.kernel)).toEqual(E.right(undefined));
  });

  it('puts calls back on the sets and queues of their own namespaces, including one its process has left', async () => {
    const kernel = newKernel();
    const [a, b, c] = [kernel.spawn(), kernel.spawn(), kernel.spawn()];
    const first = ok(a.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const sleepsInFirst = a.semop(first, [sop(0, -1)]);
    ok(a.unshareIpc());
    const q = ok(a.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const second = ok(a.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const receives = a.msgrcv(q, 16, 0, 0);
    ok(b.unshareIpc());
    const sleepsInThird = b.semop(ok(b.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)), [sop(0, 0), sop(0, -1)]);
    expect([sleepsInFirst, receives, sleepsInThird].every(isPending)).toBe(true);
    const img = image(kernel);
    const calls = (openImage(img).meta as MetaWithCalls).waitingCalls;
    expect(calls.map((r) => [r['pid'], r['call'], r['ns']])).toEqual([
      [a.pid, 'semop', 0],
      [a.pid, 'msgrcv', 1],
      [b.pid, 'semop', 2],
    ]);
    const r = restoreWithEngine(img, { monotonicClock: () => 0 });
    if (E.isLeft(r)) throw new Error(r.left.message);
    const [inFirst, inSecond, inThird] = r.right.waiting;
    const twin = (p: Process): Process => r.right.kernel.processes().find((x) => x.pid === p.pid) as Process;
    // The process is in the second namespace now; the set it sleeps on is still the first namespace's.
    ok(twin(c).semctl(first, 0, SETVAL, 1));
    expect(inFirst?.pending.result).toEqual(E.right(0));
    ok(twin(a).msgsnd(q, 3, new Uint8Array([7]), 0) as E.Either<{ errno: string }, 0>);
    expect(shown(inSecond?.pending.result as E.Either<{ errno: string }, unknown>)).toEqual({ mtype: '3', text: [7] });
    expect(twin(a).semctl(second, 0, GETNCNT)).toEqual(E.right({ ret: 0 }));
    expect(twin(b).interrupt()).toEqual(E.right(1));
    expect(shown(inThird?.pending.result as E.Either<{ errno: string }, unknown>)).toEqual({ errno: 'EINTR' });
    expect(checkInvariants(r.right.kernel)).toEqual(E.right(undefined));
  });

  it('checkInvariants finds a sleeping call that sits on no queue', () => {
    const w = world();
    run(w, { op: 'semop', p: 1, sops: [sop(0, -1)] }, 0);
    const set = w.kernel.initialIpcNamespace.sem.findById(w.semid);
    if (set === undefined) throw new Error('no set');
    set.decRef();
    const waiter = set.pendingAlter[0]?.[0];
    if (waiter === undefined) throw new Error('no waiter');
    set.unlink(waiter);
    const r = checkInvariants(w.kernel);
    expect(E.isLeft(r) && r.left.message).toMatch(/process 1001's semop waits on no queue/);
  });

  it('restores nothing extra: an image without sleeping calls has no waitingCalls and restores with none', () => {
    const w = world();
    run(w, { op: 'setval', p: 0, semnum: 0, value: 1 }, 0);
    const img = image(w.kernel);
    expect((openImage(img).meta as { waitingCalls?: unknown }).waitingCalls).toBeUndefined();
    const r = restoreWithEngine(img, { monotonicClock: () => 0 });
    expect(E.isRight(r) && r.right.waiting.length).toBe(0);
  });
});

// Random sequences with blocking calls.

const procIndex = fc.integer({ min: 0, max: 3 });
const semOpArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constant('semop' as const),
  p: procIndex,
  sops: fc.array(
    fc.record({
      semNum: fc.integer({ min: 0, max: NSEMS - 1 }),
      semOp: fc.integer({ min: -3, max: 2 }),
      semFlg: fc.constantFrom(0, 0, SEM_UNDO, IPC_NOWAIT),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  timeoutMs: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: semOpArb },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('setval' as const),
      p: procIndex,
      semnum: fc.integer({ min: 0, max: NSEMS - 1 }),
      value: fc.integer({ min: 0, max: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('msgsnd' as const),
      p: procIndex,
      mtype: fc.integer({ min: 1, max: 4 }),
      size: fc.integer({ min: 0, max: 24 }),
      flags: fc.constantFrom(0, 0, IPC_NOWAIT),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('msgrcv' as const),
      p: procIndex,
      bufsz: fc.integer({ min: 0, max: 24 }),
      msgtyp: fc.integer({ min: -4, max: 4 }),
      flags: fc.constantFrom(0, 0, MSG_NOERROR, MSG_EXCEPT, IPC_NOWAIT),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('qbytes' as const), qbytes: fc.integer({ min: 0, max: 64 }), mode: fc.constantFrom(0o666, 0o600, 0o644) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('interrupt' as const), p: procIndex }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), p: fc.integer({ min: 1, max: 3 }) }) },
  // Processes 0 and 2 are root: unshare leaves their sleeping calls in the initial namespace.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unshare' as const), p: fc.constantFrom(0, 2) }) },
);

/** Sometimes a removal of the set or the queue, and where in B it goes. */
const rmidArb = fc.option(
  fc.record({ op: fc.record({ op: fc.constant('rmid' as const), what: fc.constantFrom('sem' as const, 'msg' as const) }), at: fc.nat({ max: 40 }) }),
  {
    freq: 4,
  },
);

describe('sleeping calls, random sequences', () => {
  it('ops A, checkpoint, restore, ops B give what A + B give straight through', () => {
    const numRuns = 120;
    /** Runs whose image held sleeping calls, and of which kinds: the property must exercise them. */
    const seen = { runs: 0, semop: 0, semtimedop: 0, msgsnd: 0, msgrcv: 0 };
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 4, maxLength: 40 }), fc.array(opArb, { maxLength: 40 }), rmidArb, (a, b0, rmid) => {
        // Sometimes a removal somewhere in B: it ends the restored calls on the object with EIDRM.
        const b = rmid === null ? b0 : [...b0.slice(0, rmid.at), rmid.op, ...b0.slice(rmid.at)];
        const { waiting } = differential(a, b);
        if (waiting.length > 0) seen.runs += 1;
        for (const c of waiting) seen[c.call] += 1;
      }),
      { numRuns },
    );
    expect(seen.runs).toBeGreaterThan(numRuns / 3);
    expect(Math.min(seen.semop, seen.semtimedop, seen.msgsnd, seen.msgrcv)).toBeGreaterThan(0);
  });
});

// Crafted images.

type WaitRecord = Record<string, unknown>;
interface MetaWithCalls {
  waitingCalls: WaitRecord[];
  processes: { pid: number }[];
}

/** An image of a world with a semop, a msgsnd and a msgrcv asleep (in that order), and the first record of each. */
function sleepingImage(): Uint8Array {
  const w = world();
  run(w, { op: 'semop', p: 1, sops: [sop(0, -1)], timeoutMs: 900 }, 0);
  run(w, { op: 'msgsnd', p: 2, mtype: 3, size: 41, flags: 0 }, 1);
  run(w, { op: 'semop', p: 3, sops: [sop(0, -1), sop(1, -1, SEM_UNDO)] }, 2);
  run(w, { op: 'msgrcv', p: 0, bufsz: 9, msgtyp: 7, flags: 0 }, 3);
  return image(w.kernel);
}

function refusal(img: Uint8Array, edit: (m: MetaWithCalls) => void): CheckpointError {
  const opened = openImage(img);
  const r = restoreWithEngine(reseal(opened, edited(opened.meta, edit)), { monotonicClock: () => 0 });
  if (E.isRight(r)) throw new Error('the edited image was accepted');
  return r.left;
}

describe('crafted sleeping-call records', () => {
  const img = sleepingImage();
  const calls = (openImage(img).meta as MetaWithCalls).waitingCalls;

  it('the untouched image restores its four calls', () => {
    expect(calls.map((c) => c['call'])).toEqual(['semtimedop', 'msgsnd', 'semop', 'msgrcv']);
    const r = restoreWithEngine(img, { monotonicClock: () => 0 });
    expect(E.isRight(r) && r.right.waiting.map((c) => c.call)).toEqual(['semtimedop', 'msgsnd', 'semop', 'msgrcv']);
  });

  const cases: [string, (m: MetaWithCalls) => void, string][] = [
    ['a pid no process has', (m) => void (m.waitingCalls[0]!['pid'] = 4242), 'metadata.waitingCalls[0].pid'],
    ['a namespace past the list', (m) => void (m.waitingCalls[0]!['ns'] = 3), 'metadata.waitingCalls[0].ns'],
    ['a set that does not exist', (m) => void (m.waitingCalls[0]!['semid'] = 77), 'metadata.waitingCalls[0].semid'],
    ['a queue that does not exist', (m) => void (m.waitingCalls[1]!['msqid'] = 77), 'metadata.waitingCalls[1].msqid'],
    ['a sem_num past the set', (m) => void ((m.waitingCalls[2]!['sops'] as number[][])[1]![0] = 3), 'metadata.waitingCalls[2].sops[1][0]'],
    ['a sem_op outside a short', (m) => void ((m.waitingCalls[2]!['sops'] as number[][])[0]![1] = -40000), 'metadata.waitingCalls[2].sops[0][1]'],
    ['more sops than semopm', (m) => void (m.waitingCalls[2]!['sops'] = Array.from({ length: 501 }, () => [0, -1, 0])), 'metadata.waitingCalls[2].sops'],
    ['no sops', (m) => void (m.waitingCalls[2]!['sops'] = []), 'metadata.waitingCalls[2].sops'],
    ['a blocking index past the sops', (m) => void (m.waitingCalls[2]!['blocking'] = 2), 'metadata.waitingCalls[2].blocking'],
    ['a semnum past the set', (m) => void (m.waitingCalls[0]!['semnum'] = 3), 'metadata.waitingCalls[0].semnum'],
    ['a single sop on another semaphore queue', (m) => void (m.waitingCalls[0]!['semnum'] = 1), 'metadata.waitingCalls[0].semnum'],
    ['an altering op on a wait-for-zero queue', (m) => void (m.waitingCalls[0]!['queue'] = 'const'), 'metadata.waitingCalls[0].queue'],
    ['semop with a timeout', (m) => void (m.waitingCalls[2]!['timeoutMs'] = 5), 'metadata.waitingCalls[2].timeoutMs'],
    ['semtimedop without one', (m) => void (m.waitingCalls[0]!['timeoutMs'] = null), 'metadata.waitingCalls[0].timeoutMs'],
    ['a timeout that is no number', (m) => void (m.waitingCalls[0]!['timeoutMs'] = 'soon'), 'metadata.waitingCalls[0].timeoutMs'],
    ['a position taken twice', (m) => void (m.waitingCalls[2]!['position'] = 0), 'metadata.waitingCalls[2].position'],
    ['a position past the queue', (m) => void (m.waitingCalls[3]!['position'] = 1), 'metadata.waitingCalls[3].position'],
    ['SEM_UNDO without the undo entry', (m) => void ((m.waitingCalls[0]!['sops'] as number[][])[0]![2] = SEM_UNDO), 'metadata.waitingCalls[0].sops'],
    ['IPC_NOWAIT on the blocking sop', (m) => void ((m.waitingCalls[2]!['sops'] as number[][])[0]![2] = IPC_NOWAIT), 'metadata.waitingCalls[2].blocking'],
    ['a message past msgmax', (m) => void (m.waitingCalls[1]!['text'] = 'ab'.repeat(8193)), 'metadata.waitingCalls[1].text'],
    ['text that is not hex', (m) => void (m.waitingCalls[1]!['text'] = 'xyz'), 'metadata.waitingCalls[1].text'],
    ['mtype 0', (m) => void (m.waitingCalls[1]!['mtype'] = '0'), 'metadata.waitingCalls[1].mtype'],
    ['a sender with IPC_NOWAIT', (m) => void (m.waitingCalls[1]!['msgflg'] = IPC_NOWAIT), 'metadata.waitingCalls[1].msgflg'],
    ['a receiver with MSG_COPY', (m) => void (m.waitingCalls[3]!['msgflg'] = MSG_COPY), 'metadata.waitingCalls[3].msgflg'],
    ['a buffer negative as a long', (m) => void (m.waitingCalls[3]!['msgsz'] = '9223372036854775808'), 'metadata.waitingCalls[3].msgsz'],
    ['an unknown call', (m) => void (m.waitingCalls[3]!['call'] = 'waitpid'), 'metadata.waitingCalls[3]'],
    ['orphaned adjustments without SEM_UNDO', (m) => void (m.waitingCalls[0]!['orphanUndo'] = [0, 0, 0]), 'metadata.waitingCalls[0].orphanUndo'],
    ['orphaned adjustments of the wrong length', (m) => void (m.waitingCalls[2]!['orphanUndo'] = [0]), 'metadata.waitingCalls[2].orphanUndo'],
    ['an orphaned adjustment outside a short', (m) => void (m.waitingCalls[2]!['orphanUndo'] = [0, 40000, 0]), 'metadata.waitingCalls[2].orphanUndo[1]'],
    ['a timeout past what a timespec holds', (m) => void (m.waitingCalls[0]!['timeoutMs'] = 1e25), 'metadata.waitingCalls[0].timeoutMs'],
    ['a complex semop on a semaphore queue', (m) => void (m.waitingCalls[2]!['semnum'] = 0), 'metadata.waitingCalls[2].semnum'],
  ];
  for (const [name, edit, where] of cases) {
    it(`refuses ${name}, naming the field`, () => {
      const e = refusal(img, edit);
      expect(e.where, e.message).toMatch(new RegExp(`^${where.replace(/[[\].]/g, '\\$&')}`));
      expect(e.message).toContain(e.where);
    });
  }

  it('never throws on a record with a field changed, removed or retyped, and what it accepts keeps its invariants', () => {
    const keys = [...new Set(calls.flatMap((c) => Object.keys(c))), 'orphanUndo'];
    const values: unknown[] = [
      undefined,
      null,
      -1,
      0,
      1,
      2,
      3,
      1.5,
      2 ** 53,
      -(2 ** 63),
      '0',
      '1',
      '-1',
      '9223372036854775807',
      'zz',
      [],
      [[0, -1, 0]],
      [0, 0, 0],
      {},
      true,
      'alter',
      'const',
      'semop',
      'msgsnd',
      'msgrcv',
    ];
    let accepted = 0;
    fc.assert(
      fc.property(fc.nat({ max: calls.length - 1 }), fc.constantFrom(...keys), fc.constantFrom(...values), (i, key, value) => {
        const opened = openImage(img);
        const meta = edited(opened.meta, (m: MetaWithCalls) => {
          const rec = m.waitingCalls[i] as WaitRecord;
          if (value === undefined) delete rec[key];
          else rec[key] = value;
        });
        const r = restoreWithEngine(reseal(opened, meta), { monotonicClock: () => 0 });
        if (E.isRight(r)) {
          accepted += 1;
          expect(checkInvariants(r.right.kernel)).toEqual(E.right(undefined));
        } else {
          expect(r.left.message).toContain(r.left.where);
        }
      }),
      { numRuns: 300 },
    );
    // Some edits are harmless (a semop's flag, a position that stays unique): not everything is refused.
    expect(accepted).toBeGreaterThan(0);
  });

  it('refuses a single altering semop on a semaphore queue while a complex one waits', () => {
    const w = world();
    run(w, { op: 'semop', p: 1, sops: [sop(0, -1), sop(1, -1)] }, 0);
    run(w, { op: 'semop', p: 2, sops: [sop(2, -1)] }, 1);
    const one = image(w.kernel);
    const got = (openImage(one).meta as MetaWithCalls).waitingCalls;
    expect(got.map((c) => c['semnum'])).toEqual([-1, -1]);
    const e = refusal(one, (m) => void (m.waitingCalls[1]!['semnum'] = 2));
    expect(e.where).toBe('metadata.waitingCalls[1].semnum');
  });
});
