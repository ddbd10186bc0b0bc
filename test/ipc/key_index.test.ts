/**
 * KeyIndex, the key table of an IdTable, against a Map: any sequence of
 * sets and deletes leaves both answering every key alike, through growth,
 * shrinking and runs of colliding keys.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../../src/ipc/key_index.js';

/** Keys from a small pool (so runs collide and deletes hit), plus any int32. */
const key = fc.oneof(fc.integer({ min: -40, max: 40 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })).filter((k) => k !== 0);
const op = fc.oneof(fc.record({ kind: fc.constant('set' as const), key, slot: fc.nat(32767) }), fc.record({ kind: fc.constant('delete' as const), key }));

describe('KeyIndex', () => {
  it('answers like a Map after any sets and deletes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const index = new KeyIndex();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            index.set(o.key, o.slot);
            model.set(o.key, o.slot);
          } else {
            index.delete(o.key);
            model.delete(o.key);
          }
        }
        expect(index.size).toBe(model.size);
        for (const o of ops) expect(index.get(o.key)).toBe(model.get(o.key) ?? -1);
        for (const [k, v] of model) expect(index.get(k)).toBe(v);
      }),
    );
  });

  it('keeps every key through growth to thousands and back down', () => {
    const index = new KeyIndex();
    const keys = Array.from({ length: 5000 }, (_, i) => (0x5e000000 + i * 7919) | 0);
    keys.forEach((k, i) => index.set(k, i));
    expect(keys.every((k, i) => index.get(k) === i)).toBe(true);
    keys.slice(0, 4990).forEach((k) => index.delete(k));
    expect(index.size).toBe(10);
    expect(keys.slice(4990).every((k, i) => index.get(k) === 4990 + i)).toBe(true);
    expect(index.get(keys[0] as number)).toBe(-1);
  });

  it('never holds IPC_PRIVATE and refuses keys that are not 32-bit', () => {
    const index = new KeyIndex();
    expect(index.get(0)).toBe(-1);
    expect(() => index.set(0, 1)).toThrow(RangeError);
    expect(() => index.set(2 ** 31, 1)).toThrow(RangeError);
    expect(() => index.set(1.5, 1)).toThrow(RangeError);
    index.delete(0);
    expect(index.size).toBe(0);
  });
});
