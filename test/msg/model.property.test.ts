/**
 * Model-based properties of the message queues. A reference model (arrays
 * of messages and the selection rule written out plainly) must agree with
 * the registry on every non-blocking call; with blocking calls, interrupts,
 * IPC_SET and IPC_RMID mixed in, every sent message is received exactly
 * once or removed with its queue, each type's messages come out in the
 * order they went in, the counts always equal the queued messages' sums, and
 * no sleeper is left asleep with what it waits for available.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET } from '../../src/abi/constants.js';
import type { SysError } from '../../src/abi/errno.js';
import { MSG_COPY, MSG_EXCEPT, MSG_NOERROR } from '../../src/abi/msg.js';
import { msgctl } from '../../src/msg/ctl.js';
import type { MsgQueue } from '../../src/msg/queue.js';
import { msgrcv } from '../../src/msg/receive.js';
import { findMsg } from '../../src/msg/select.js';
import { msgsnd } from '../../src/msg/send.js';
import type { MsgReceived, MsgWaiter } from '../../src/msg/waiter.js';
import { isMsgWaiter } from '../../src/msg/waiter.js';
import { useSeed } from '../support/seed.js';
import { makeEnv, root } from './helpers.js';

beforeAll(() => useSeed());

// The reference model.

interface ModelMsg {
  readonly type: number;
  readonly size: number;
  readonly tag: number;
}

interface ModelQueue {
  msgs: ModelMsg[];
  qbytes: number;
}

const cbytesOf = (q: ModelQueue) => q.msgs.reduce((n, m) => n + m.size, 0);

/** The index of the message msgrcv takes, written from the man page's rules rather than from find_msg. */
function select(msgs: readonly ModelMsg[], msgtyp: number, flags: number): number {
  if ((flags & MSG_COPY) !== 0) return msgtyp >= 0 && msgtyp < msgs.length ? msgtyp : -1;
  if (msgtyp === 0) return msgs.length > 0 ? 0 : -1;
  if (msgtyp > 0) return msgs.findIndex((m) => ((flags & MSG_EXCEPT) !== 0 ? m.type !== msgtyp : m.type === msgtyp));
  let best = -1;
  msgs.forEach((m, i) => {
    if (m.type <= -msgtyp && (best < 0 || m.type < msgs[best]!.type)) best = i;
  });
  return best;
}

type Cmd =
  | { readonly op: 'send'; readonly q: number; readonly type: number; readonly size: number }
  | { readonly op: 'recv'; readonly q: number; readonly msgtyp: number; readonly flags: number; readonly bufsz: number }
  | { readonly op: 'set'; readonly q: number; readonly qbytes: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ op: fc.constant('send' as const), q: fc.nat(1), type: fc.integer({ min: 0, max: 4 }), size: fc.nat(9) }),
  fc.record({
    op: fc.constant('recv' as const),
    q: fc.nat(1),
    msgtyp: fc.integer({ min: -5, max: 5 }),
    flags: fc.subarray([MSG_EXCEPT, MSG_NOERROR, MSG_COPY]).map((fs) => fs.reduce((a, b) => a | b, 0)),
    bufsz: fc.nat(10),
  }),
  fc.record({ op: fc.constant('set' as const), q: fc.nat(1), qbytes: fc.nat(40) }),
);

const tagOf = (text: Uint8Array) => (text.length >= 4 ? new DataView(text.buffer, text.byteOffset, 4).getUint32(0) : -1);
function body(tag: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  if (size >= 4) new DataView(b.buffer).setUint32(0, tag);
  else b.fill(tag & 0xff);
  return b;
}

/** The queue behind an id, looked up without keeping a reference. */
function peek(env: ReturnType<typeof makeEnv>, id: number): MsgQueue | undefined {
  const q = env.reg.findById(id);
  q?.decRef();
  return q;
}

function checkCounts(env: ReturnType<typeof makeEnv>, ids: readonly number[]): void {
  let hdrs = 0;
  let bytes = 0;
  for (const id of ids) {
    const q = peek(env, id);
    if (q === undefined) continue;
    const msgs = q.messages.toArray();
    expect(q.qnum).toBe(msgs.length);
    expect(q.cbytes).toBe(msgs.reduce((n, m) => n + m.size, 0));
    hdrs += msgs.length;
    bytes += q.cbytes;
    // No sleeper is left asleep with what it waits for at hand.
    for (const r of q.receivers.toArray()) expect(findMsg(q.messages, r.search)).toBeUndefined();
    for (const s of q.senders.toArray()) expect(q.fitsLocked(s.msgsz)).toBe(false);
  }
  expect(env.reg.totals()).toEqual({ hdrs, bytes });
}

describe('msg queues against a reference model', () => {
  it('agree on every non-blocking call: errno, the message taken, and the counts', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 60 }), (cmds) => {
        const env = makeEnv();
        const who = root();
        const ids = [0, 1].map(() => E.getOrElse<SysError, number>(() => -1)(env.reg.msgget(who, IPC_PRIVATE, 0o600)));
        const model: ModelQueue[] = [0, 1].map(() => ({ msgs: [], qbytes: 16384 }));
        let tag = 0;
        for (const c of cmds) {
          const id = ids[c.q]!;
          const mq = model[c.q]!;
          if (c.op === 'send') {
            tag += 1;
            const r = msgsnd(env.reg, who, id, c.type, body(tag, c.size), IPC_NOWAIT, () => expect.fail('no call waits'));
            const want = c.type < 1 ? 'EINVAL' : c.size + cbytesOf(mq) <= mq.qbytes && mq.msgs.length + 1 <= mq.qbytes ? 'ok' : 'EAGAIN';
            expect(E.isLeft(r) ? r.left.errno : 'ok').toBe(want);
            if (want === 'ok') mq.msgs.push({ type: c.type, size: c.size, tag });
          } else if (c.op === 'recv') {
            const r = msgrcv(env.reg, who, id, c.bufsz, c.msgtyp, c.flags | IPC_NOWAIT, () => expect.fail('no call waits'));
            const copy = (c.flags & MSG_COPY) !== 0;
            const noerror = (c.flags & MSG_NOERROR) !== 0;
            let want: string;
            let taken: ModelMsg | undefined;
            if (copy && (c.flags & MSG_EXCEPT) !== 0) want = 'EINVAL';
            else {
              const i = select(mq.msgs, c.msgtyp, c.flags);
              taken = mq.msgs[i];
              if (taken === undefined) want = 'ENOMSG';
              else if (c.bufsz < taken.size && !noerror) want = 'E2BIG';
              else if (copy && taken.size > Math.min(c.bufsz, 8192)) want = 'EINVAL';
              else {
                want = 'ok';
                if (!copy) mq.msgs.splice(i, 1);
              }
            }
            expect(E.isLeft(r) ? r.left.errno : 'ok').toBe(want);
            if (want === 'ok' && E.isRight(r)) {
              const got = r.right as MsgReceived;
              expect(got.mtype).toBe(taken!.type);
              expect(got.text.length).toBe(Math.min(c.bufsz, taken!.size));
              if (got.text.length >= 4) expect(tagOf(got.text)).toBe(taken!.tag);
            }
          } else {
            expect(E.isRight(msgctl(env.reg, who.creds, id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: c.qbytes }))).toBe(true);
            mq.qbytes = c.qbytes;
          }
          checkCounts(env, ids);
          for (const [i, id2] of ids.entries()) {
            const q = peek(env, id2)!;
            expect(q.messages.toArray().map((m) => [m.mtype, m.size])).toEqual(model[i]!.msgs.map((m) => [m.type, m.size]));
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

// With blocking.

type BCmd =
  | { readonly op: 'send'; readonly q: number; readonly type: number; readonly extra: number; readonly wait: boolean }
  | {
      readonly op: 'recv';
      readonly q: number;
      readonly msgtyp: number;
      readonly except: boolean;
      readonly noerror: boolean;
      readonly bufsz: number;
      readonly wait: boolean;
    }
  | { readonly op: 'copy'; readonly q: number; readonly index: number }
  | { readonly op: 'set'; readonly q: number; readonly qbytes: number; readonly mode: number }
  | { readonly op: 'interrupt'; readonly pick: number }
  | { readonly op: 'rmid'; readonly q: number };

const bcmdArb: fc.Arbitrary<BCmd> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant('send' as const), q: fc.nat(1), type: fc.integer({ min: 1, max: 3 }), extra: fc.nat(6), wait: fc.boolean() }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('recv' as const),
      q: fc.nat(1),
      msgtyp: fc.integer({ min: -3, max: 3 }),
      except: fc.boolean(),
      noerror: fc.boolean(),
      bufsz: fc.integer({ min: 4, max: 12 }),
      wait: fc.boolean(),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ op: fc.constant('copy' as const), q: fc.nat(1), index: fc.integer({ min: -1, max: 4 }) }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('set' as const), q: fc.nat(1), qbytes: fc.integer({ min: 4, max: 40 }), mode: fc.constantFrom(0o600, 0o666) }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant('interrupt' as const), pick: fc.nat(20) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('rmid' as const), q: fc.nat(1) }), weight: 1 },
);

describe('msg queues with sleepers', () => {
  it('deliver every sent message exactly once or remove it with its queue, in per-type FIFO order, with consistent counts', () => {
    fc.assert(
      fc.property(fc.array(bcmdArb, { maxLength: 80 }), (cmds) => {
        const env = makeEnv();
        const who = root();
        const stranger = { ...root(), creds: { ...root().creds, uid: 4242, gid: 4242, caps: new Set<never>() } };
        const ids: number[] = [0, 1].map(() => E.getOrElse<SysError, number>(() => -1)(env.reg.msgget(who, IPC_PRIVATE, 0o666)));
        for (const id of ids) msgctl(env.reg, who.creds, id, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 20 });
        /** Per tag: its queue id, type, and its fate. */
        const sent = new Map<number, { id: number; type: number; seq: number }>();
        const received = new Map<number, number>();
        const removed = new Set<number>();
        /** Per queue id and type: tags in the order they were taken. */
        const takenOrder = new Map<string, number[]>();
        const waiters: MsgWaiter[] = [];
        let tag = 0;
        let seq = 0;
        const onReceived = (id: number, res: E.Either<SysError, MsgReceived>) => {
          if (E.isLeft(res)) return;
          const t = tagOf(res.right.text);
          received.set(t, (received.get(t) ?? 0) + 1);
          const key = `${id}:${String(res.right.mtype)}`;
          takenOrder.set(key, [...(takenOrder.get(key) ?? []), t]);
        };
        for (const c of cmds) {
          const id = ids['q' in c ? c.q : 0]!;
          switch (c.op) {
            case 'send': {
              tag += 1;
              const mine = tag;
              const onSent = (res: E.Either<SysError, 0>) => {
                if (E.isRight(res)) sent.set(mine, { id, type: c.type, seq: seq++ });
              };
              const r = msgsnd(env.reg, who, id, c.type, body(mine, 4 + c.extra), c.wait ? 0 : IPC_NOWAIT, onSent);
              if (E.isRight(r) && isMsgWaiter(r.right)) waiters.push(r.right);
              else onSent(r as E.Either<SysError, 0>);
              break;
            }
            case 'recv': {
              const flags = (c.except ? MSG_EXCEPT : 0) | (c.noerror ? MSG_NOERROR : 0) | (c.wait ? 0 : IPC_NOWAIT);
              const caller = c.msgtyp === 3 ? stranger : who;
              const r = msgrcv(env.reg, caller, id, c.bufsz, c.msgtyp, flags, (res) => onReceived(id, res));
              if (E.isRight(r) && isMsgWaiter(r.right)) waiters.push(r.right);
              else onReceived(id, r as E.Either<SysError, MsgReceived>);
              break;
            }
            case 'copy': {
              const before = peek(env, id)
                ?.messages.toArray()
                .map((m) => m.size);
              msgrcv(env.reg, who, id, 100, c.index, MSG_COPY | IPC_NOWAIT, () => expect.fail('MSG_COPY never waits'));
              expect(
                peek(env, id)
                  ?.messages.toArray()
                  .map((m) => m.size),
              ).toEqual(before);
              break;
            }
            case 'set':
              msgctl(env.reg, who.creds, id, IPC_SET, { uid: 0, gid: 0, mode: c.mode, qbytes: c.qbytes });
              break;
            case 'interrupt': {
              const live = waiters.filter((w) => !w.done);
              live[c.pick % Math.max(live.length, 1)]?.interrupt();
              break;
            }
            case 'rmid': {
              const q = peek(env, id);
              if (q !== undefined) for (const m of q.messages.toArray()) removed.add(tagOf(m.text));
              msgctl(env.reg, who.creds, id, IPC_RMID);
              break;
            }
          }
          checkCounts(env, ids);
        }
        // Whatever is still queued counts as not yet received.
        for (const id of ids) for (const m of peek(env, id)?.messages.toArray() ?? []) removed.add(tagOf(m.text));
        for (const [t, n] of received) {
          expect(n).toBe(1);
          expect(sent.has(t)).toBe(true);
          expect(removed.has(t)).toBe(false);
        }
        for (const t of sent.keys()) expect(received.has(t) || removed.has(t)).toBe(true);
        for (const t of removed) expect(sent.has(t)).toBe(true);
        for (const [, tags] of takenOrder) {
          const seqs = tags.map((t) => sent.get(t)!.seq);
          expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        }
        // Every waiter of a removed queue has finished.
        for (const w of waiters) if (peek(env, w.msqid) === undefined) expect(w.done).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
