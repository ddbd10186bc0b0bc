/**
 * Message queues through the kernel (Process.msgsnd, msgrcv, msgctl,
 * interrupt, exit) with sleepers, against a model of each queue's
 * contents. Several processes send (typed messages carrying a unique tag)
 * and receive (msgtyp 0, > 0, < 0, MSG_EXCEPT, MSG_NOERROR, short buffers),
 * waiting or not, on two small queues that fill up, mixed with signals,
 * exits, IPC_SET of the queue's size and IPC_RMID (the queue is made again).
 *
 * The model is the list of messages each queue holds, kept from the calls'
 * outcomes alone: a send that completes (at once, or when its Pending
 * settles) appends its message, a receive removes the one it got. From it
 * the model predicts each call's immediate outcome (sent, EAGAIN, a sleep;
 * the message msgrcv takes by Linux's selection rules, ENOMSG, E2BIG).
 * After every call the queue holds exactly the model's messages in the
 * model's order, IPC_STAT's qnum and cbytes are their count and bytes, no
 * receiver sleeps while a message it selects is queued and no sender while
 * its message fits, each sleeper that ended did so for a reason the step
 * gave it, and checkInvariants holds. At the end every message sent was
 * received exactly once, or removed with its queue, or is still queued;
 * none was received that was not sent; and each type's messages left each
 * queue in the order they were sent.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import type { SysError } from '../../src/abi/errno.js';
import { MSG_EXCEPT, MSG_NOERROR } from '../../src/abi/msg.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Pending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { findMsg } from '../../src/msg/select.js';
import type { MsgReceived } from '../../src/msg/waiter.js';
import { ok } from '../support/either.js';
import { useSeed } from '../support/seed.js';

beforeAll(() => useSeed());

const PROCS = 3;
const QUEUES = 2;
const QBYTES = 24;

interface ModelMsg {
  readonly tag: number;
  readonly type: number;
  readonly size: number;
  /** Order of completion of the sends, over the whole run. */
  readonly seq: number;
}

type Action =
  | { readonly kind: 'send'; readonly proc: number; readonly q: number; readonly type: number; readonly size: number; readonly wait: boolean }
  | {
      readonly kind: 'recv';
      readonly proc: number;
      readonly q: number;
      readonly msgtyp: number;
      readonly except: boolean;
      readonly noerror: boolean;
      readonly bufsz: number;
      readonly wait: boolean;
    }
  | { readonly kind: 'signal'; readonly proc: number }
  | { readonly kind: 'exit'; readonly proc: number }
  | { readonly kind: 'rmid'; readonly q: number }
  | { readonly kind: 'set'; readonly q: number; readonly qbytes: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      proc: fc.nat(PROCS - 1),
      q: fc.nat(QUEUES - 1),
      type: fc.integer({ min: 1, max: 3 }),
      size: fc.integer({ min: 4, max: 10 }),
      wait: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('recv' as const),
      proc: fc.nat(PROCS - 1),
      q: fc.nat(QUEUES - 1),
      msgtyp: fc.integer({ min: -3, max: 3 }),
      except: fc.boolean(),
      noerror: fc.boolean(),
      bufsz: fc.oneof(fc.constant(16), fc.integer({ min: 2, max: 10 })),
      wait: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('signal' as const), proc: fc.nat(PROCS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), proc: fc.nat(PROCS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rmid' as const), q: fc.nat(QUEUES - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), q: fc.nat(QUEUES - 1), qbytes: fc.integer({ min: 8, max: 40 }) }) },
);

/** The index of the message msgrcv takes, from the man page's rules. */
function select(msgs: readonly ModelMsg[], msgtyp: number, except: boolean): number {
  if (msgtyp === 0) return msgs.length > 0 ? 0 : -1;
  if (msgtyp > 0) return msgs.findIndex((m) => (except ? m.type !== msgtyp : m.type === msgtyp));
  let best = -1;
  msgs.forEach((m, i) => {
    if (m.type <= -msgtyp && (best < 0 || m.type < msgs[best]!.type)) best = i;
  });
  return best;
}

function body(tag: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, tag);
  return b;
}

const tagOf = (text: Uint8Array): number => (text.length >= 4 ? new DataView(text.buffer, text.byteOffset, 4).getUint32(0) : -1);

/** A call that slept: who made it, on which queue, and what became of it. */
interface Sleeper {
  readonly proc: number;
  readonly gen: number;
  readonly q: number;
  readonly msqid: number;
  readonly send?: { readonly tag: number; readonly type: number; readonly size: number };
  readonly recv?: { readonly noerror: boolean; readonly bufsz: number };
  readonly pending: Pending<E.Either<SysError, 0 | MsgReceived>>;
  seen: boolean;
}

const settledNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function newQueue(admin: Process): number {
  const id = ok(admin.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
  ok(admin.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: QBYTES }));
  return id;
}

describe('message queues through the kernel, with sleepers', () => {
  it('deliver every message exactly once or remove it with its queue, per type in order, with exact counts and invariants after every call', async () => {
    const tally = { calls: 0, slept: 0, sentLater: 0, receivedLater: 0, received: 0, removed: 0, eintr: 0, eidrm: 0, e2big: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 10, maxLength: 50, size: 'max' }), async (actions) => {
        const k = new Kernel({ clock: () => 1000, monotonicClock: () => 0, memTotalBytes: 16 << 20 });
        const procs: Process[] = Array.from({ length: PROCS }, () => k.spawn());
        const gens = new Array<number>(PROCS).fill(0);
        const admin = k.spawn();
        const ids = Array.from({ length: QUEUES }, () => newQueue(admin));
        const qbytes = ids.map(() => QBYTES);
        const queued: ModelMsg[][] = ids.map(() => []);
        const sent = new Map<number, ModelMsg>();
        const received = new Map<number, number>();
        const removed = new Set<number>();
        /** Per queue id and type: the seqs of the messages taken, in the order they were taken. */
        const takenOrder = new Map<string, number[]>();
        const sleepers: Sleeper[] = [];
        let tag = 0;
        let seq = 0;
        /** Completions of one step, in the order the kernel delivered them. */
        let completions: { s: Sleeper; r: E.Either<SysError, 0 | MsgReceived> }[] = [];

        const sendDone = (q: number, m: { tag: number; type: number; size: number }) => {
          const msg = { ...m, seq: seq++ };
          sent.set(m.tag, msg);
          queued[q]!.push(msg);
        };
        const recvDone = (q: number, got: MsgReceived) => {
          const t = tagOf(got.text);
          const i = queued[q]!.findIndex((m) => m.tag === t);
          expect(i, `message ${t} was received but is not queued`).toBeGreaterThanOrEqual(0);
          const m = queued[q]!.splice(i, 1)[0]!;
          expect(got.mtype).toBe(m.type);
          received.set(t, (received.get(t) ?? 0) + 1);
          const key = `${ids[q]}:${m.type}`;
          takenOrder.set(key, [...(takenOrder.get(key) ?? []), m.seq]);
          tally.received += 1;
        };

        for (const a of actions) {
          tally.calls += 1;
          let endedBy: (s: Sleeper) => string | undefined = () => undefined;
          switch (a.kind) {
            case 'send': {
              tag += 1;
              const mine = { tag, type: a.type, size: a.size };
              const model = queued[a.q]!;
              const cbytes = model.reduce((n, m) => n + m.size, 0);
              const fits = cbytes + a.size <= qbytes[a.q]! && model.length + 1 <= qbytes[a.q]!;
              const r = procs[a.proc]!.msgsnd(ids[a.q]!, a.type, body(tag, a.size), a.wait ? 0 : IPC_NOWAIT);
              if (isPending(r)) {
                expect(fits ? 'sent' : 'slept').toBe('slept');
                expect(a.wait).toBe(true);
                tally.slept += 1;
                const s: Sleeper = { proc: a.proc, gen: gens[a.proc]!, q: a.q, msqid: ids[a.q]!, send: mine, pending: r, seen: false };
                sleepers.push(s);
                void r.done.then((res) => completions.push({ s, r: res }));
              } else {
                expect(E.isLeft(r) ? r.left.errno : 'sent').toBe(fits ? 'sent' : 'EAGAIN');
                if (E.isRight(r)) sendDone(a.q, mine);
              }
              break;
            }
            case 'recv': {
              const model = queued[a.q]!;
              const i = select(model, a.msgtyp, a.except);
              const want = i < 0 ? (a.wait ? 'slept' : 'ENOMSG') : a.bufsz < model[i]!.size && !a.noerror ? 'E2BIG' : 'ok';
              const wantTag = i < 0 ? -1 : model[i]!.tag;
              const flags = (a.except ? MSG_EXCEPT : 0) | (a.noerror ? MSG_NOERROR : 0) | (a.wait ? 0 : IPC_NOWAIT);
              const r = procs[a.proc]!.msgrcv(ids[a.q]!, a.bufsz, a.msgtyp, flags);
              if (isPending(r)) {
                expect(want).toBe('slept');
                tally.slept += 1;
                const s: Sleeper = {
                  proc: a.proc,
                  gen: gens[a.proc]!,
                  q: a.q,
                  msqid: ids[a.q]!,
                  recv: { noerror: a.noerror, bufsz: a.bufsz },
                  pending: r,
                  seen: false,
                };
                sleepers.push(s);
                void r.done.then((res) => completions.push({ s, r: res }));
              } else {
                expect(E.isLeft(r) ? r.left.errno : 'ok').toBe(want);
                if (E.isRight(r)) {
                  expect(tagOf(r.right.text)).toBe(a.bufsz >= 4 ? wantTag : -1);
                  expect(r.right.text.length).toBe(Math.min(a.bufsz, model[i]!.size));
                  // A cut text has no whole tag: the model's choice names the message taken.
                  recvDone(a.q, { mtype: r.right.mtype, text: body(wantTag, 4) });
                }
              }
              break;
            }
            case 'signal':
              ok(procs[a.proc]!.interrupt());
              endedBy = (s) => (s.proc === a.proc && s.gen === gens[a.proc] ? 'EINTR' : undefined);
              break;
            case 'exit': {
              const gen = gens[a.proc]!;
              ok(procs[a.proc]!.exit());
              procs[a.proc] = k.spawn();
              gens[a.proc] = gen + 1;
              endedBy = (s) => (s.proc === a.proc && s.gen === gen ? 'EINTR' : undefined);
              break;
            }
            case 'set':
              // IPC_SET wakes every receiver to look again and every sender that now fits (expunge_all, ss_wakeup).
              ok(admin.msgctl(ids[a.q]!, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: a.qbytes }));
              qbytes[a.q] = a.qbytes;
              break;
            case 'rmid': {
              const old = ids[a.q]!;
              ok(admin.msgctl(old, IPC_RMID));
              for (const m of queued[a.q]!) removed.add(m.tag);
              tally.removed += queued[a.q]!.length;
              queued[a.q] = [];
              ids[a.q] = newQueue(admin);
              qbytes[a.q] = QBYTES;
              endedBy = (s) => (s.msqid === old ? 'EIDRM' : undefined);
              break;
            }
          }
          await settledNow();

          // Sleepers that ended in this step: sends first (a woken sender's message may go straight to a woken receiver).
          const done = completions;
          completions = [];
          for (const { s, r } of done) {
            s.seen = true;
            const must = endedBy(s);
            if (E.isRight(r)) {
              expect(must).toBeUndefined();
              if (s.send !== undefined) {
                sendDone(s.q, s.send);
                tally.sentLater += 1;
              }
            } else if (must === undefined && r.left.errno === 'E2BIG') {
              expect(s.recv !== undefined && !s.recv.noerror).toBe(true);
              tally.e2big += 1;
            } else {
              expect(r.left.errno).toBe(must);
              tally[must === 'EINTR' ? 'eintr' : 'eidrm'] += 1;
            }
          }
          for (const { s, r } of done) {
            if (s.recv === undefined || E.isLeft(r)) continue;
            const got = r.right as MsgReceived;
            expect(got.text.length).toBeLessThanOrEqual(s.recv.bufsz);
            if (got.text.length >= 4) recvDone(s.q, got);
            else {
              // A cut text: the first queued message of that type left (per-type order makes it the one taken).
              const m = queued[s.q]!.find((x) => x.type === got.mtype);
              expect(m).toBeDefined();
              recvDone(s.q, { mtype: got.mtype, text: body(m!.tag, 4) });
            }
            tally.receivedLater += 1;
          }
          for (const s of sleepers) {
            if (!s.seen) expect(endedBy(s), 'a sleeper should have ended').toBeUndefined();
            if (!s.seen) expect(s.pending.state).toBe('pending');
          }

          // The queues hold exactly the model's messages, counted right, and no sleeper could go on.
          ids.forEach((id, q) => {
            const ds = ok(admin.msgctl(id, IPC_STAT)).ds!;
            expect([ds.qnum, ds.cbytes]).toEqual([queued[q]!.length, queued[q]!.reduce((n, m) => n + m.size, 0)]);
            const mq = k.initialIpcNamespace.msg.findById(id)!;
            mq.decRef();
            expect(mq.messages.toArray().map((m) => [tagOf(m.text), Number(m.mtype)])).toEqual(queued[q]!.map((m) => [m.tag, m.type]));
            for (const r of mq.receivers.toArray()) expect(findMsg(mq.messages, r.search)).toBeUndefined();
            for (const s of mq.senders.toArray()) expect(mq.fitsLocked(s.msgsz)).toBe(false);
            const live = sleepers.filter((s) => !s.seen && s.msqid === id);
            expect(mq.receivers.size + mq.senders.size).toBe(live.length);
          });
          expect(checkInvariants(k)).toEqual(E.right(undefined));
        }

        for (const q of queued) for (const m of q) removed.add(m.tag);
        for (const [t, n] of received) {
          expect(n).toBe(1);
          expect(sent.has(t)).toBe(true);
          expect(removed.has(t)).toBe(false);
        }
        for (const t of sent.keys()) expect(received.has(t) || removed.has(t)).toBe(true);
        for (const [, seqs] of takenOrder) expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      }),
      { numRuns: 80 },
    );
    console.log(`msg kernel delivery: ${JSON.stringify(tally)}`);
    expect(tally.sentLater).toBeGreaterThan(0);
    expect(tally.receivedLater).toBeGreaterThan(0);
    expect(tally.removed).toBeGreaterThan(0);
  });
});
