/**
 * Process.msgsnd and Process.msgrcv decide the usual call through
 * msg/uncontended.ts (a send that fits with no receiver asleep, a receive
 * that finds its message with no sender asleep) and everything else through
 * the general path. The two must be indistinguishable: two kernels run the
 * same random steps, one through the public calls and the other through
 * the general path alone (Process's msgsndChecked and msgrcvChecked), and
 * after every step the outcomes agree (value, errno, received type and
 * bytes, or asleep) and the kernels' checkpoint images hold the same
 * metadata: every queue's messages, counts, times and pids, and every
 * sleeper. tmpfs device and mount numbers are left out: they come from
 * counters shared by every kernel of the host process.
 *
 * The steps mix ordinary calls with every way the shortcut must decline:
 * types and sizes only a bigint holds, fractions, negative values, texts
 * that are no Uint8Array, a Node Buffer, IPC_NOWAIT, MSG_NOERROR,
 * MSG_EXCEPT, MSG_COPY, full queues (a small qbytes), sleeping senders and
 * receivers, queues the caller may not use, removed queues and an exited
 * caller.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET } from '../../src/abi/constants.js';
import { MSG_COPY, MSG_EXCEPT, MSG_NOERROR } from '../../src/abi/msg.js';
import type { Word } from '../../src/kernel/syscall_args.js';
import { userBytesCopy } from '../../src/kernel/syscall_args.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { ok } from '../support/either.js';
import { useSeed } from '../support/seed.js';
import { runTwins } from '../support/twin_kernels.js';

beforeAll(() => useSeed());

type Step =
  | { readonly kind: 'send'; readonly who: number; readonly q: number; readonly mtype: unknown; readonly text: unknown; readonly flg: unknown }
  | { readonly kind: 'recv'; readonly who: number; readonly q: number; readonly size: unknown; readonly type: unknown; readonly flg: unknown }
  | { readonly kind: 'qbytes'; readonly q: number; readonly qbytes: number }
  | { readonly kind: 'rmid'; readonly q: number }
  | { readonly kind: 'exit'; readonly who: number };

/** A kernel with an owner (root, group 100), a stranger (uid 1000) and a group member (uid 1001, gid 100), and two queues. */
interface World {
  readonly kernel: Kernel;
  readonly procs: Process[];
  readonly ids: number[];
}

/** Queue 0 is mode 0660 (group 100 may use it), queue 1 mode 0600. */
const MODES = [0o660, 0o600] as const;

function world(clock: () => number): World {
  const kernel = new Kernel({ clock, monotonicClock: () => 0 });
  const procs = [kernel.spawn({ gid: 100 }), kernel.spawn({ uid: 1000, gid: 1000, caps: [] }), kernel.spawn({ uid: 1001, gid: 100, caps: [] })];
  return { kernel, procs, ids: MODES.map((mode) => ok(procs[0]!.msgget(IPC_PRIVATE, IPC_CREAT | mode))) };
}

/** An outcome two kernels can be compared by. */
function outcome(r: unknown): string {
  if (isPending(r)) return r.state === 'pending' ? 'asleep' : `woke ${outcome(r.result)}`;
  const e = r as E.Either<{ errno: string }, unknown>;
  if (E.isLeft(e)) return e.left.errno;
  const v = e.right;
  if (typeof v === 'object' && v !== null && 'text' in v) {
    const m = v as { mtype: number | bigint; text: Uint8Array };
    return `type ${m.mtype} text ${Buffer.from(m.text).toString('hex')}`;
  }
  return `= ${String(v)}`;
}

const who = fc.constantFrom(0, 0, 0, 1, 2);
const queueRef = fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.constantFrom(-1, 2, 3) });
const mtype = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 1.5, 2 ** 53, 2n, -0, '1') },
);
/** A text: mostly a fresh Uint8Array of 0 to 12 bytes; sometimes a Buffer or no Uint8Array at all. */
const text = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([1, 2], 'ab', undefined, new DataView(new ArrayBuffer(2))) },
);
const sendFlg = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constant(IPC_NOWAIT) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(1.5, 2 ** 31) },
);
const size = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 16 }) },
  { weight: 4, arbitrary: fc.constant(64) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 1.5, 8n, 2 ** 53, '8') },
);
const rcvType = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 8, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, 1.5, 2n, -(2n ** 63n), 2 ** 60) },
);
const rcvFlg = fc.oneof(
  { weight: 5, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.constant(IPC_NOWAIT) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(MSG_NOERROR, MSG_EXCEPT, MSG_NOERROR | IPC_NOWAIT, MSG_EXCEPT | IPC_NOWAIT, MSG_COPY | IPC_NOWAIT, MSG_COPY, 1.5),
  },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('send' as const), who, q: queueRef, mtype, text, flg: sendFlg }) },
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('recv' as const), who, q: queueRef, size, type: rcvType, flg: rcvFlg }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('qbytes' as const), q: fc.constantFrom(0, 1), qbytes: fc.constantFrom(0, 12, 16, 24, 16384) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rmid' as const), q: fc.constantFrom(0, 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), who: fc.integer({ min: 1, max: 2 }) }) },
);

/** The msqid a step names in `w`: a queue, or one no queue has (negative, stale, fractional). */
function msqidOf(w: World, ref: number): number {
  if (ref === -1) return -1;
  if (ref === 2) return w.ids[0]! + 32768;
  if (ref === 3) return w.ids[1]! + 0.5;
  return w.ids[ref]!;
}

/** The two ways of calling: the public methods, or Process's general path alone. */
interface Calls {
  send(p: Process, msqid: number, mtype: unknown, text: unknown, flg: unknown): unknown;
  recv(p: Process, msqid: number, size: unknown, type: unknown, flg: unknown): unknown;
}

const PUBLIC: Calls = {
  send: (p, id, t, b, f) => p.msgsnd(id, t as number, b as Uint8Array, f as number),
  recv: (p, id, s, t, f) => p.msgrcv(id, s as Word, t as number, f as number),
};
const GENERAL: Calls = {
  send: (p, id, t, b, f) => p['msgsndChecked'](id, t as number, b as Uint8Array, userBytesCopy(b), f as number),
  recv: (p, id, s, t, f) => p['msgrcvChecked'](id, s as Word, t as number, f as number),
};

function run(w: World, s: Step, calls: Calls): string {
  switch (s.kind) {
    case 'send':
      // Each side gets its own copy of the bytes, so neither can see the other's.
      return outcome(calls.send(w.procs[s.who]!, msqidOf(w, s.q), s.mtype, s.text instanceof Uint8Array ? s.text.slice() : s.text, s.flg));
    case 'recv':
      return outcome(calls.recv(w.procs[s.who]!, msqidOf(w, s.q), s.size, s.type, s.flg));
    case 'qbytes':
      return outcome(w.procs[0]!.msgctl(w.ids[s.q]!, IPC_SET, { uid: 0, gid: 100, mode: MODES[s.q]!, qbytes: s.qbytes }));
    case 'rmid': {
      const r = outcome(E.map((x: { ret: number }) => x.ret)(w.procs[0]!.msgctl(w.ids[s.q]!, IPC_RMID)));
      w.ids[s.q] = ok(w.procs[0]!.msgget(IPC_PRIVATE, IPC_CREAT | MODES[s.q]!));
      return r;
    }
    case 'exit':
      w.procs[s.who]!.exit();
      return 'exited';
  }
}

describe('msgsnd and msgrcv shortcuts (msg/uncontended.ts) against the general path', () => {
  it('give the same outcomes and leave the same kernel state', () => {
    const coverage = { sent: 0, received: 0, sendSlept: 0, other: 0 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 10, maxLength: 60 }), (steps) => {
        runTwins(
          world,
          steps,
          (w, s, side) => run(w, s, side === 'shortcut' ? PUBLIC : GENERAL),
          (s, outcome) => {
            if (s.kind === 'send' && outcome === '= 0') coverage.sent += 1;
            else if (s.kind === 'recv' && outcome.startsWith('type')) coverage.received += 1;
            else if (s.kind === 'send' && outcome === 'asleep') coverage.sendSlept += 1;
            else coverage.other += 1;
          },
        );
      }),
      { numRuns: 150 },
    );
    // The steps reached sends and receives performed at once, and everything else.
    expect(coverage.sent, JSON.stringify(coverage)).toBeGreaterThan(300);
    expect(coverage.received, JSON.stringify(coverage)).toBeGreaterThan(80);
    expect(coverage.sendSlept, JSON.stringify(coverage)).toBeGreaterThan(10);
    expect(coverage.other, JSON.stringify(coverage)).toBeGreaterThan(300);
  });
});
