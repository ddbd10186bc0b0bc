/**
 * Message queues through Process, end to end: msgsnd and msgrcv that would
 * sleep return a Pending another process's call settles; interrupt() is
 * EINTR, IPC_RMID and the namespace's end EIDRM; exit ends the process's
 * waits; the text is copied at the call; msgctl's commands and refusals.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_INFO, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, Kernel, MSG_INFO, MSG_NOERROR, isPending } from '../../src/index.js';
import type { MsgReceived, Pending, Process, SysError, SysResult } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { useSeed } from '../support/seed.js';

useSeed();

function waits<T>(r: SysResult<T>): Pending<E.Either<SysError, T>> {
  if (!isPending(r)) throw new Error(`expected the call to wait, got ${JSON.stringify(r)}`);
  return r;
}

function now<T>(r: SysResult<T>): E.Either<SysError, T> {
  if (isPending(r)) throw new Error('expected the call to complete at once');
  return r;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (m: MsgReceived): string => new TextDecoder().decode(m.text);

function queue(p: Process): number {
  return ok(p.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
}

const qnum = (p: Process, id: number): number => ok(p.msgctl(id, IPC_STAT)).ds!.qnum;

describe('msgsnd and msgrcv through Process', () => {
  it('a msgrcv on an empty queue waits, and another process send settles it with the message', async () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const rx = k.spawn();
    const tx = k.spawn();
    const id = queue(rx);
    const pending = waits(rx.msgrcv(id, 100, 0, 0));
    expect(now(tx.msgsnd(id, 7, bytes('hello'), 0))).toEqual(E.right(0));
    const got = ok(await pending.done);
    expect([got.mtype, text(got)]).toEqual([7, 'hello']);
    expect(qnum(tx, id)).toBe(0);
    expect(ok(tx.msgctl(id, IPC_STAT)).ds!.lrpid).toBe(rx.pid);
  });

  it('a msgsnd on a full queue waits until a receive makes room', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const id = queue(p);
    ok(p.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 8 }));
    expect(now(p.msgsnd(id, 1, bytes('12345678'), 0))).toEqual(E.right(0));
    expect(errno(now(p.msgsnd(id, 2, bytes('x'), IPC_NOWAIT)))).toBe('EAGAIN');
    const sending = waits(p.msgsnd(id, 2, bytes('x'), 0));
    expect(text(ok(now(p.msgrcv(id, 64, 0, 0))))).toBe('12345678');
    expect(sending.result).toEqual(E.right(0));
    expect(ok(now(p.msgrcv(id, 64, 0, 0))).mtype).toBe(2);
  });

  it('the text is copied at the call: changing the caller buffer afterwards changes nothing', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const id = queue(p);
    const buf = bytes('abc');
    ok(now(p.msgsnd(id, 1, buf, 0)));
    buf[0] = 0x7a;
    expect(text(ok(now(p.msgrcv(id, 64, 0, 0))))).toBe('abc');
    // A Node Buffer too, whose own slice() is a view of the same memory.
    const nodeBuf = Buffer.from('def');
    ok(now(p.msgsnd(id, 1, nodeBuf, 0)));
    nodeBuf.write('xyz');
    const got = ok(now(p.msgrcv(id, 64, 0, 0)));
    expect(text(got)).toBe('def');
    expect(Object.getPrototypeOf(got.text)).toBe(Uint8Array.prototype);
  });

  it('interrupt() ends a waiting msgrcv and msgsnd with EINTR', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const id = queue(p);
    ok(p.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 0 }));
    const r = waits(p.msgrcv(id, 10, 5, 0));
    const s = waits(p.msgsnd(id, 1, bytes('x'), 0));
    expect(ok(p.interrupt())).toBe(2);
    expect([errno(r.result!), errno(s.result!)]).toEqual(['EINTR', 'EINTR']);
    expect(ok(p.interrupt())).toBe(0);
  });

  it('IPC_RMID and the namespace end settle waiters with EIDRM; exit ends the process own waits', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const id = queue(p);
    const r = waits(p.msgrcv(id, 10, 0, 0));
    ok(p.msgctl(id, IPC_RMID));
    expect(errno(r.result!)).toBe('EIDRM');

    const ns = k.newIpcNamespace();
    const a = ok(k.trySpawn({ ipcNamespace: ns }));
    const b = ok(k.trySpawn({ ipcNamespace: ns }));
    const q = queue(a);
    const ra = waits(a.msgrcv(q, 10, 0, 0));
    const rb = waits(b.msgrcv(q, 10, 0, 0));
    ok(a.exit());
    expect(errno(ra.result!)).toBe('EINTR');
    ok(b.unshareIpc());
    expect(ns.isDead).toBe(true);
    expect(errno(rb.result!)).toBe('EIDRM');
  });

  it('a handed-over message wins over a later interrupt', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const other = k.spawn();
    const id = queue(p);
    const r = waits(p.msgrcv(id, 10, 0, 0));
    ok(now(other.msgsnd(id, 3, bytes('m'), 0)));
    expect(ok(p.interrupt())).toBe(0);
    expect(ok(r.result!).mtype).toBe(3);
  });

  it('mtype and msgtyp take bigints past 2^53; msgsz takes a Word', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const id = queue(p);
    const big = 2n ** 62n + 1n;
    ok(now(p.msgsnd(id, big, bytes('big'), 0)));
    ok(now(p.msgsnd(id, 1, bytes('small'), 0)));
    const got = ok(now(p.msgrcv(id, 10n, big, 0)));
    expect([got.mtype, text(got)]).toEqual([big, 'big']);
    expect(text(ok(now(p.msgrcv(id, 2, -5, MSG_NOERROR))))).toBe('sm');
  });

  it('refuses what no C caller could pass', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const id = queue(p);
    expect(errno(now(p.msgsnd(id, 1, 'x' as never, 0)))).toBe('EFAULT');
    expect(errno(now(p.msgsnd(id, 1.5, bytes('x'), 0)))).toBe('EINVAL');
    expect(errno(now(p.msgsnd(id, 0, bytes('x'), 0)))).toBe('EINVAL');
    expect(errno(now(p.msgsnd(id, 2n ** 64n, bytes('x'), 0)))).toBe('EINVAL');
    expect(errno(now(p.msgrcv(id, -1.5, 0, 0)))).toBe('EINVAL');
    expect(errno(now(p.msgrcv(id, 10, 'a' as never, 0)))).toBe('EINVAL');
    expect(errno(p.msgctl(id, IPC_SET))).toBe('EFAULT');
    expect(errno(p.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0, qbytes: 'x' } as never))).toBe('EINVAL');
    expect(errno(p.msgget(Number.NaN, 0))).toBe('EINVAL');
    expect(qnum(p, id)).toBe(0);
    expect(ok(p.msgctl(0, IPC_INFO)).info?.msgmax).toBe(8192);
    expect(ok(p.msgctl(0, MSG_INFO)).info?.msgpool).toBe(1);
  });

  it('property: messages sent by several processes to waiting and non-waiting receivers arrive exactly once each', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 }), (script) => {
        const k = new Kernel({ memTotalBytes: 16 << 20 });
        const senders = [k.spawn(), k.spawn()];
        const receiver = k.spawn();
        const id = queue(receiver);
        const got: string[] = [];
        const sent: string[] = [];
        const waiting: Pending<E.Either<SysError, MsgReceived>>[] = [];
        let n = 0;
        for (const [send, type] of script) {
          if (send) {
            const body = `${type + 1}:${n++}`;
            sent.push(body);
            ok(now(senders[n % 2]!.msgsnd(id, type + 1, bytes(body), 0)));
          } else {
            const r = receiver.msgrcv(id, 64, type, 0);
            if (isPending(r)) waiting.push(r);
            else got.push(text(ok(r)));
          }
        }
        receiver.interrupt();
        for (const w of waiting) {
          expect(w.state).toBe('settled');
          const e = w.result!;
          if (E.isRight(e)) got.push(text(e.right));
          else expect(e.left.errno).toBe('EINTR');
        }
        // The rest, without waiting.
        for (;;) {
          const r = now(receiver.msgrcv(id, 64, 0, IPC_NOWAIT));
          if (E.isLeft(r)) break;
          got.push(text(r.right));
        }
        expect([...got].sort()).toEqual([...sent].sort());
        expect(qnum(receiver, id)).toBe(0);
      }),
    );
  });
});
