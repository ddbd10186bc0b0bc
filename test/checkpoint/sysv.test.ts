/**
 * checkpoint/restore of System V semaphores, message queues and SEM_UNDO
 * lists: round trips are byte-identical, restored objects behave as the
 * originals (values, messages in order, undo applied at exit), images
 * without these sections still restore, and edited images are refused
 * with a Left naming the field.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_STAT } from '../../src/abi/constants.js';
import { GETALL, SEM_UNDO, SETVAL } from '../../src/abi/sem.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import type { CheckpointError } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';
import { edited, openImage, reseal } from './reseal.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

function image(kernel: Kernel): Uint8Array {
  const img = checkpoint(kernel);
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

function restored(img: Uint8Array): Kernel {
  const k = restore(img);
  if (E.isLeft(k)) throw new Error(k.left.message);
  return k.right;
}

function refusal(img: Uint8Array): CheckpointError {
  const k = restore(img);
  if (E.isRight(k)) throw new Error('the edited image was accepted');
  return k.left;
}

const byPid = (k: Kernel, pid: number): Process => {
  const p = k.processes().find((q) => q.pid === pid);
  if (p === undefined) throw new Error(`no process ${pid}`);
  return p;
};

/** A kernel with sets (one with undo adjustments), queues with messages, and a second namespace. */
function sysvKernel(): { kernel: Kernel; a: Process; b: Process; semid: number; msqid: number; otherSem: number } {
  const kernel = new Kernel({ clock: () => 1_700_000_000, memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16 });
  const a = kernel.spawn();
  const b = kernel.spawn({ uid: 1000, gid: 1000 });
  ok(a.writeSysctl('sem', [300n, 64000n, 40n, 200n]));
  ok(a.writeSysctl('msgmnb', 20000n));
  ok(a.writeSysctl('sem_next_id', 7n));
  const semid = ok(a.semget(0x51, 3, IPC_CREAT | 0o666));
  ok(a.semctl(semid, 1, SETVAL, 5));
  const r = a.semop(semid, [
    { semNum: 0, semOp: 4, semFlg: SEM_UNDO },
    { semNum: 1, semOp: -2, semFlg: SEM_UNDO },
  ]);
  expect(isPending(r)).toBe(false);
  ok(b.semop(semid, [{ semNum: 2, semOp: 9, semFlg: 0 }]) as E.Either<unknown, number>);
  const msqid = ok(a.msgget(0x61, IPC_CREAT | 0o666));
  ok(a.msgsnd(msqid, 3, text('three'), 0) as E.Either<unknown, 0>);
  ok(b.msgsnd(msqid, 1, text('one'), 0) as E.Either<unknown, 0>);
  ok(a.msgsnd(msqid, 2n ** 60n, text(''), 0) as E.Either<unknown, 0>);
  ok(a.msgget(0, IPC_CREAT | 0o600));
  const ns = kernel.newIpcNamespace();
  const c = kernel.spawn({ ipcNamespace: ns });
  const otherSem = ok(c.semget(0x51, 1, IPC_CREAT | 0o600));
  ok(c.semop(otherSem, [{ semNum: 0, semOp: 2, semFlg: SEM_UNDO }]) as E.Either<unknown, number>);
  return { kernel, a, b, semid, msqid, otherSem };
}

describe('semaphores, message queues and undo lists in images', () => {
  it('round-trips byte-identically and keeps every field', () => {
    const { kernel, a, semid, msqid } = sysvKernel();
    expect(checkInvariants(kernel)).toEqual(E.right(undefined));
    const img = image(kernel);
    const k2 = restored(img);
    expect(image(k2)).toEqual(img);
    const a2 = byPid(k2, a.pid);
    expect(ok(a2.semctl(semid, 0, GETALL)).values).toEqual([4, 3, 9]);
    expect(ok(a2.semctl(semid, 0, IPC_STAT)).ds).toEqual(ok(a.semctl(semid, 0, IPC_STAT)).ds);
    expect(ok(a2.msgctl(msqid, IPC_STAT)).ds).toEqual(ok(a.msgctl(msqid, IPC_STAT)).ds);
    expect(ok(a2.readSysctl('sem'))).toEqual([300n, 64000n, 40n, 200n]);
    expect(ok(a2.readSysctl('msgmnb'))).toBe(20000n);
    expect(ok(a2.readSysctl('sem_next_id'))).toBe(ok(a.readSysctl('sem_next_id')));
    // Messages come back in order with their types and bytes.
    const got: [number | bigint, string][] = [];
    for (let i = 0; i < 3; i += 1) {
      const m = ok(a2.msgrcv(msqid, 100, 0, IPC_NOWAIT) as E.Either<unknown, { mtype: number | bigint; text: Uint8Array }>);
      got.push([m.mtype, str(m.text)]);
    }
    expect(got).toEqual([
      [3, 'three'],
      [1, 'one'],
      [2n ** 60n, ''],
    ]);
    // The next ids come from the same allocator state on both kernels.
    expect(ok(a2.semget(0, 1, IPC_CREAT | 0o600))).toBe(ok(a.semget(0, 1, IPC_CREAT | 0o600)));
    expect(ok(a2.msgget(0, IPC_CREAT | 0o600))).toBe(ok(a.msgget(0, IPC_CREAT | 0o600)));
    expect(checkInvariants(k2)).toEqual(E.right(undefined));
  });

  it('applies a restored undo list at exit', () => {
    const { kernel, a, b, semid } = sysvKernel();
    const k2 = restored(image(kernel));
    ok(byPid(k2, a.pid).exit());
    expect(ok(byPid(k2, b.pid).semctl(semid, 0, GETALL)).values).toEqual([0, 5, 9]);
    ok(a.exit());
    expect(ok(b.semctl(semid, 0, GETALL)).values).toEqual([0, 5, 9]);
  });

  it('restores an image written without the System V sections as before', () => {
    const kernel = new Kernel({ clock: () => 1_700_000_000, memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16 });
    const p = kernel.spawn();
    const opened = openImage(image(kernel));
    const old = edited<{ ipcNamespaces: Record<string, unknown>[]; semUndoLists?: unknown }>(opened.meta, (m) => {
      for (const ns of m.ipcNamespaces) {
        delete ns['sem'];
        delete ns['msg'];
      }
      delete m.semUndoLists;
    });
    const k2 = restored(reseal(opened, old));
    expect(ok(byPid(k2, p.pid).readSysctl('sem'))).toEqual(ok(p.readSysctl('sem')));
    expect(ok(byPid(k2, p.pid).semget(0, 1, IPC_CREAT | 0o600))).toBe(ok(p.semget(0, 1, IPC_CREAT | 0o600)));
  });

  type M = {
    ipcNamespaces: {
      sem: { limits: Record<string, number>; sets: { nsems: number; semval: number[]; otime: number[] }[] };
      msg: { limits: Record<string, number>; queues: { cbytes: number; qnum: number; messages: [string, string][] }[] };
    }[];
    semUndoLists: { refs: number; entries: { ns: number; semid: number; semadj: number[] }[] }[];
    processes: { semUndo?: number }[];
  };
  const edits: [string, (m: M) => void, string][] = [
    ['a semval past SEMVMX', (m) => void (m.ipcNamespaces[0]!.sem.sets[0]!.semval[1] = 32768), 'metadata.ipcNamespaces[0].sem.sets[0].semval[1]'],
    ['a negative semval', (m) => void (m.ipcNamespaces[0]!.sem.sets[0]!.semval[0] = -1), 'metadata.ipcNamespaces[0].sem.sets[0].semval[0]'],
    ['nsems not matching the values', (m) => void (m.ipcNamespaces[0]!.sem.sets[0]!.nsems = 4), 'metadata.ipcNamespaces[0].sem.sets[0].semval'],
    ['a missing otime', (m) => void m.ipcNamespaces[0]!.sem.sets[0]!.otime.pop(), 'metadata.ipcNamespaces[0].sem.sets[0].otime'],
    ['cbytes not the messages’ bytes', (m) => void (m.ipcNamespaces[0]!.msg.queues[0]!.cbytes += 1), 'metadata.ipcNamespaces[0].msg.queues[0].cbytes'],
    ['qnum not the message count', (m) => void (m.ipcNamespaces[0]!.msg.queues[0]!.qnum -= 1), 'metadata.ipcNamespaces[0].msg.queues[0].qnum'],
    ['a message of type 0', (m) => void (m.ipcNamespaces[0]!.msg.queues[0]!.messages[0]![0] = '0'), 'metadata.ipcNamespaces[0].msg.queues[0].messages[0][0]'],
    ['semmni past IPCMNI', (m) => void (m.ipcNamespaces[0]!.sem.limits['semmni'] = 32769), 'metadata.ipcNamespaces[0].sem.limits.semmni'],
    ['msgmni past IPCMNI', (m) => void (m.ipcNamespaces[0]!.msg.limits['msgmni'] = 40000), 'metadata.ipcNamespaces[0].msg.limits.msgmni'],
    ['msgmax past INT_MAX', (m) => void (m.ipcNamespaces[0]!.msg.limits['msgmax'] = 2 ** 31), 'metadata.ipcNamespaces[0].msg.limits.msgmax'],
    ['an undo entry naming no set', (m) => void (m.semUndoLists[0]!.entries[0]!.semid += 1), 'metadata.semUndoLists[0].entries[0].semid'],
    ['an undo entry with too few semaphores', (m) => void m.semUndoLists[0]!.entries[0]!.semadj.pop(), 'metadata.semUndoLists[0].entries[0].semadj'],
    ['an undo list with the wrong holder count', (m) => void (m.semUndoLists[0]!.refs = 2), 'metadata.semUndoLists[0].refs'],
    ['a process naming no undo list', (m) => void (m.processes[0]!.semUndo = 9), 'metadata.processes[0].semUndo'],
  ];
  it.each(edits)('refuses %s, naming the field', (_what, edit, where) => {
    const { kernel } = sysvKernel();
    const opened = openImage(image(kernel));
    expect(refusal(reseal(opened, edited<M>(opened.meta, edit))).where).toBe(where);
  });

  it('shares a shared undo list again', () => {
    const { kernel, a } = sysvKernel();
    const opened = openImage(image(kernel));
    // An image where two processes share one list, as CLONE_SYSVSEM leaves them.
    const shared = edited<M>(opened.meta, (m) => {
      m.processes[1]!.semUndo = 0;
      m.semUndoLists[0]!.refs = 2;
    });
    const k2 = restored(reseal(opened, shared));
    const [p0, p1] = k2.processes();
    expect(p0!.sysvsem.undoList).toBe(p1!.sysvsem.undoList);
    expect(p0!.pid).toBe(a.pid);
    const img2 = image(k2);
    const k3 = restored(img2);
    expect(k3.processes()[0]!.sysvsem.undoList).toBe(k3.processes()[1]!.sysvsem.undoList);
    expect(image(k3)).toEqual(img2);
    expect(checkInvariants(k2)).toEqual(E.right(undefined));
  });
});
