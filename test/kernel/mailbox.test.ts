import { describe, expect, it } from 'vitest';
import { Mailbox, MailboxOverflow } from '../../src/kernel/mailbox.js';
import { onSettled, deferredCall, settledCall } from '../../src/kernel/pending.js';

/**
 * What a message turned into under the mailbox's earlier, JSON-only form:
 * the binary form must give the same value back for everything it carries.
 */
function viaJson(value: unknown): unknown {
  const json =
    JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint') return { $bigint: v.toString() };
      if (v instanceof Uint8Array) return { $bytes: Array.from(v) };
      return v;
    }) ?? 'null';
  return JSON.parse(json, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null) {
      const o = v as { $bigint?: unknown; $bytes?: unknown };
      if (typeof o.$bigint === 'string') return BigInt(o.$bigint);
      if (Array.isArray(o.$bytes)) return Uint8Array.from(o.$bytes as number[]);
    }
    return v;
  }) as unknown;
}

/** Sends `value` as a request through a mailbox and returns what the kernel side reads. */
function roundTrip(value: unknown, bytes?: number): unknown {
  const kernelSide = Mailbox.create(bytes);
  const threadSide = new Mailbox(kernelSide.buffer);
  // The thread's call blocks for its reply, so the kernel side answers first; then the thread's request is read.
  kernelSide.reply('unused');
  (threadSide as unknown as { put(v: unknown): void }).put(value);
  return (kernelSide as unknown as { take(): unknown }).take();
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('mailbox messages', () => {
  const proto = JSON.parse('{"__proto__": 5, "a": 1}') as unknown;
  const values: ReadonlyArray<readonly [string, unknown]> = [
    ['a semop request', { call: 'semop', args: [5, [{ semNum: 0, semOp: -1, semFlg: 0x1000 }]] }],
    ['an Either with a SysError', { _tag: 'Left', left: { errno: 'EINVAL', code: 22, message: 'no set has id 5 — ünïcode \ud800' } }],
    ['a received message', { _tag: 'Right', right: { mtype: 3, text: new Uint8Array([1, 2, 3, 255, 0]) } }],
    ['numbers', [0, -0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 1.5, -1e300, Number.NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER]],
    ['bigints', [0n, -1n, 2n ** 64n + 1n, -(2n ** 63n)]],
    ['holes and leftovers', [undefined, () => 1, Symbol('s'), null, true, false, '', 'x'.repeat(100)]],
    ['properties left out', { a: undefined, b: () => 1, c: Symbol('s'), d: 1 }],
    ['an own __proto__ key', proto],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { k: 'v' })],
    ['a Date (through JSON)', { when: new Date(0) }],
    ['a class instance (through JSON)', [new Point(1, 2)]],
    ['an object with toJSON (through JSON)', { toJSON: () => 'custom' }],
    ['a Map (through JSON)', new Map([[1, 2]])],
    ['a deep value (through JSON)', JSON.parse(`${'['.repeat(100)}1${']'.repeat(100)}`) as unknown],
    ['undefined', undefined],
    ['a string at top level', 'semop'],
  ];
  for (const [name, value] of values) {
    it(`carries ${name} as JSON did`, () => {
      expect(roundTrip(value)).toStrictEqual(viaJson(value));
    });
  }

  it("carries a Node Buffer as the bytes it holds (JSON sent its toJSON object, which a worker's msgsnd got back as EFAULT)", () => {
    expect(roundTrip({ text: Buffer.from('hello') })).toStrictEqual({ text: new Uint8Array(Buffer.from('hello')) });
    // Through JSON too (a Date is not carried in binary): the replacer sees the Buffer, not its toJSON object.
    expect(roundTrip({ when: new Date(0), text: Buffer.from('hi') })).toStrictEqual({
      when: '1970-01-01T00:00:00.000Z',
      text: new Uint8Array(Buffer.from('hi')),
    });
  });

  it('carries through JSON a property whose getter throws when read a second time, as its first read', () => {
    let reads = 0;
    const value = { when: new Date(0) };
    Object.defineProperty(value, 'text', {
      enumerable: true,
      get() {
        reads += 1;
        if (reads > 1) throw new Error('read twice');
        return 'abc';
      },
    });
    expect(roundTrip(value)).toStrictEqual({ when: '1970-01-01T00:00:00.000Z', text: 'abc' });
  });

  it('sends a message too large in binary but not as JSON, and refuses one too large for both', () => {
    // 1,000 small numbers: 8 bytes each in binary, about 4 as JSON text.
    const small = Array.from({ length: 1000 }, () => 1);
    expect(roundTrip(small, 6000)).toStrictEqual(small);
    const kernelSide = Mailbox.create(6000);
    expect(kernelSide.fits(small)).toBe(true);
    expect(kernelSide.fits(Array.from({ length: 4000 }, () => 1))).toBe(false);
    expect(() =>
      roundTrip(
        Array.from({ length: 4000 }, () => 1),
        6000,
      ),
    ).toThrow(MailboxOverflow);
  });

  it('refuses a cycle as JSON did', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(Mailbox.create().fits(a)).toBe(false);
    expect(() => roundTrip(a)).toThrow(TypeError);
  });
});

describe('onSettled', () => {
  it('runs inside settle, before the promise callbacks, and at once for a settled call', async () => {
    const order: string[] = [];
    const { pending, settle } = deferredCall<number>();
    void pending.done.then((v) => order.push(`then ${v}`));
    onSettled(pending, (v) => order.push(`listener ${v}`));
    settle(7);
    order.push('after settle');
    await pending.done;
    expect(order).toEqual(['listener 7', 'after settle', 'then 7']);
    const seen: number[] = [];
    onSettled(settledCall(3), (v) => seen.push(v));
    expect(seen).toEqual([3]);
  });
});
