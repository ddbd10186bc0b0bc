/**
 * Throws random JavaScript values at the System V semaphore and message
 * queue methods of the thread's Task, between valid calls that make sets
 * and queues (args: [seed, calls]). Values are drawn here, in the thread,
 * because many cannot be cloned to it (symbols, functions). A call may
 * sleep; the test's kernel thread interrupts the process often, so every
 * sleep ends. The sets and queues made stay for the test to check. Returns one record per call: the method, and 'left', 'right',
 * or what it threw.
 */
import fc from 'fast-check';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_SET, IPC_STAT } from '../../../src/abi/constants.js';
import { MSG_EXCEPT, MSG_NOERROR } from '../../../src/abi/msg.js';
import { GETALL, GETNCNT, SEM_UNDO, SETALL, SETVAL } from '../../../src/abi/sem.js';
import type { Task } from '../../../src/kernel/task.js';

export const METHODS = ['semget', 'semop', 'semtimedop', 'semctl', 'msgget', 'msgsnd', 'msgrcv', 'msgctl'] as const;
type Method = (typeof METHODS)[number];

export interface CallRecord {
  readonly method: Method;
  readonly outcome: 'left' | 'right' | 'TypeError' | 'threw';
  readonly detail?: string;
  readonly args?: string;
}

/** Values aimed at arguments: number and bigint edges, strings, typed arrays, odd objects (some shaped like the wire's own encodings). */
const targeted: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0.5, -1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, -(2 ** 63), Number.MAX_VALUE),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(Int8Array, Uint8Array, Int32Array, Float64Array, BigInt64Array).chain((T) => fc.nat(12).map((n) => new T(n))),
  fc.nat(8).map((n) => new DataView(new ArrayBuffer(n))),
  fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 6 }),
  fc.constantFrom(null, undefined, true, false, {}, [], Symbol('s'), () => 0),
  fc.constantFrom({ $bytes: [1, 2] }, { $bytes: 'x' }, { $bigint: 7 }, [{ semNum: 0 }], [{ semNum: 0, semOp: 1, semFlg: 'x' }], { sec: -1, nsec: 0 }),
  fc.object({ maxDepth: 1 }),
  fc.anything({ maxDepth: 1 }),
);

/** A valid value for argument `i` of `method`, from the ids made so far. */
function good(method: Method, i: number, n: number, semids: number[], msqids: number[]): unknown {
  const pick = <T>(xs: readonly T[], d: T): T => (xs.length === 0 ? d : (xs[n % xs.length] as T));
  const sops = [
    [{ semNum: 0, semOp: 1, semFlg: SEM_UNDO }],
    [{ semNum: 0, semOp: -1, semFlg: IPC_NOWAIT }],
    [{ semNum: 0, semOp: -1, semFlg: 0 }],
    [
      { semNum: 1, semOp: 0, semFlg: 0 },
      { semNum: 0, semOp: 2, semFlg: SEM_UNDO },
    ],
  ];
  const table: Record<Method, readonly unknown[]> = {
    semget: [pick([IPC_PRIVATE, 7], 0), pick([1, 2, 3], 1), IPC_CREAT | 0o666],
    semop: [pick(semids, 0), pick(sops, sops[0])],
    semtimedop: [pick(semids, 0), pick(sops, sops[0]), pick([undefined, { sec: 0, nsec: 1000 }, { sec: 0, nsec: 0 }], undefined)],
    semctl: [
      pick(semids, 0),
      n % 3,
      pick([GETALL, SETVAL, SETALL, GETNCNT, IPC_STAT, IPC_SET], GETALL),
      pick([1, [1, 2, 3], { uid: 0, gid: 0, mode: 0o666 }], 1),
    ],
    msgget: [pick([IPC_PRIVATE, 9], 0), IPC_CREAT | 0o666],
    msgsnd: [pick(msqids, 0), 1 + (n % 3), new Uint8Array(n % 10), pick([0, IPC_NOWAIT], 0)],
    msgrcv: [pick(msqids, 0), pick([64, 2, 0], 64), pick([0, 1, -2], 0), pick([0, IPC_NOWAIT, MSG_EXCEPT | MSG_NOERROR], 0)],
    msgctl: [pick(msqids, 0), pick([IPC_STAT, IPC_SET], IPC_STAT), pick([undefined, { uid: 0, gid: 0, mode: 0o666, qbytes: 24 }], undefined)],
  };
  return table[method][i];
}

const ARITY: Record<Method, number> = { semget: 3, semop: 2, semtimedop: 3, semctl: 4, msgget: 2, msgsnd: 4, msgrcv: 4, msgctl: 3 };

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

export default function main(task: Task, args: readonly unknown[]): CallRecord[] {
  const [seed, count] = args as [number, number];
  const callArb = fc.record({
    method: fc.constantFrom(...METHODS),
    mode: fc.constantFrom('valid', 'one', 'all'),
    which: fc.nat(),
    goods: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
    bads: fc.array(targeted, { minLength: 4, maxLength: 4 }),
  });
  const plan = fc.sample(callArb, { seed, numRuns: count });
  const semids: number[] = [];
  const msqids: number[] = [];
  const out: CallRecord[] = [];
  for (const c of plan) {
    const n = ARITY[c.method];
    const badAt = c.which % n;
    const a = Array.from({ length: n }, (_, i) =>
      c.mode === 'valid' || (c.mode === 'one' && i !== badAt) ? good(c.method, i, c.goods[i] as number, semids, msqids) : c.bads[i],
    );
    let r: unknown;
    try {
      r = (task[c.method] as (...x: unknown[]) => unknown).apply(task, a);
    } catch (e) {
      const isType = e instanceof TypeError && e.message.includes(c.method);
      out.push({
        method: c.method,
        outcome: isType ? 'TypeError' : 'threw',
        detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
        args: a.map(show).join(', '),
      });
      continue;
    }
    const tag = (r as { _tag?: unknown } | null)?._tag;
    if (tag === 'Right') {
      const v = (r as { right: unknown }).right;
      if (c.method === 'semget' && typeof v === 'number' && semids.length < 4) semids.push(v);
      if (c.method === 'msgget' && typeof v === 'number' && msqids.length < 4) msqids.push(v);
      out.push({ method: c.method, outcome: 'right' });
    } else if (tag === 'Left') out.push({ method: c.method, outcome: 'left' });
    else out.push({ method: c.method, outcome: 'threw', detail: `returned ${show(r)}`, args: a.map(show).join(', ') });
  }
  return out;
}
