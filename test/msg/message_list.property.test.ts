/**
 * MessageList (src/msg/message.ts), the ring that holds a queue's messages,
 * against an array: random sends, receives of the first message, receives
 * from further in and drains keep the same messages in the same order,
 * through the ring's growth, wrap-around and shrinking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Message, MessageList } from '../../src/msg/message.js';

type Step = { kind: 'add'; n: number } | { kind: 'removeFirst' } | { kind: 'removeAt'; at: number } | { kind: 'takeAll' };

const step: fc.Arbitrary<Step> = fc.oneof(
  // Bursts of sends, so that the ring grows past several doublings and then shrinks.
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('removeFirst' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('removeAt' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('takeAll' as const) }) },
);

describe('MessageList', () => {
  it('keeps the messages an array keeps, in its order', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const list = new MessageList();
        let model: Message[] = [];
        let made = 0;
        for (const s of steps) {
          if (s.kind === 'add') {
            for (let i = 0; i < s.n; i++) {
              const m = new Message(++made, new Uint8Array([made & 0xff]));
              list.addTail(m);
              model.push(m);
            }
          } else if (s.kind === 'removeFirst') {
            const m = model.shift();
            if (m !== undefined) list.remove(m);
          } else if (s.kind === 'removeAt') {
            if (model.length === 0) continue;
            const k = s.at % model.length;
            const m = model[k]!;
            model.splice(k, 1);
            list.remove(m);
          } else {
            expect(list.takeAll()).toEqual(model);
            model = [];
          }
          expect(list.size).toBe(model.length);
          expect(list.first).toBe(model[0]);
          expect(list.toArray()).toEqual(model);
          for (let i = 0; i < model.length; i++) expect(list.at(i)).toBe(model[i]);
        }
      }),
    );
  });

  it('refuses to remove a message it does not hold (a kernel bug), changing nothing', () => {
    const list = new MessageList();
    const held = new Message(1, new Uint8Array(1));
    list.addTail(held);
    expect(() => list.remove(new Message(1, new Uint8Array(1)))).toThrow('message is not on this list');
    expect(list.toArray()).toEqual([held]);
    list.remove(held);
    expect(() => list.remove(held)).toThrow('message is not on this list');
    expect(list.size).toBe(0);
    expect(list.first).toBeUndefined();
  });
});
