import { describe, expect, it } from 'vitest';
import { IdTable, idIndex, idSeq, makeId } from '../../src/ipc/ids.js';

const obj = (n: number) => ({ n });

describe('IdTable: Linux cyclic id allocation', () => {
  it('hands out 0, 1, 2 in a fresh table', () => {
    const t = new IdTable<{ n: number }>();
    expect([t.add(obj(0), 0, -1), t.add(obj(1), 0, -1), t.add(obj(2), 0, -1)]).toEqual([0, 1, 2]);
  });

  it('does not reuse a freed low index until the cursor wraps', () => {
    const t = new IdTable<{ n: number }>();
    const a = obj(0);
    t.add(a, 0, -1);
    t.add(obj(1), 0, -1);
    t.add(obj(2), 0, -1);
    t.remove(0, 0, a);
    expect(t.add(obj(3), 0, -1)).toBe(3);
  });

  it('cycles through a window of 64, then bumps seq', () => {
    const t = new IdTable<{ n: number }>();
    const ids: number[] = [];
    for (let i = 0; i < 130; i += 1) {
      const o = obj(i);
      const id = t.add(o, 0, -1)!;
      ids.push(id);
      t.remove(id, 0, o);
    }
    expect(ids.slice(0, 64)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(ids[64]).toBe(32768);
    expect(ids[127]).toBe(32768 + 63);
    expect(ids[128]).toBe(65536);
  });

  it('grows the window to in_use*3/2 and wraps with seq+1', () => {
    const t = new IdTable<{ n: number }>();
    const held: Array<[number, { n: number }]> = [];
    for (let i = 0; i < 100; i += 1) {
      const o = obj(i);
      held.push([t.add(o, 0, -1)!, o]);
    }
    // Window is 150: a create/remove loop uses 100..149, then wraps to 100 with seq 1.
    const seen: number[] = [];
    for (let i = 0; i < 51; i += 1) {
      const o = obj(1000 + i);
      const id = t.add(o, 0, -1)!;
      seen.push(id);
      t.remove(id, 0, o);
    }
    expect(seen[0]).toBe(100);
    expect(seen[49]).toBe(149);
    expect(seen[50]).toBe(32768 + 100);
    // Releasing the held ones: the cursor (101) is past the new window of 64, so it wraps to 0.
    for (const [id, o] of held) t.remove(id, 0, o);
    expect(t.add(obj(5), 0, -1)).toBe(2 * 32768 + 0);
  });

  it('honours shm_next_id without moving the cursor', () => {
    const t = new IdTable<{ n: number }>();
    expect(t.add(obj(0), 0, 1000)).toBe(1000);
    expect(t.add(obj(1), 0, -1)).toBe(0);
    expect(t.add(obj(2), 0, 98309)).toBe(98309);
    // Index 5 is busy now: the lowest free index at or above it.
    expect(t.add(obj(3), 0, 98309)).toBe(98310);
    expect(t.add(obj(4), 0, -1)).toBe(1);
  });

  it('checks the sequence on id lookup but not on index lookup', () => {
    const t = new IdTable<{ n: number }>();
    const a = obj(0);
    const id = t.add(a, 77, -1)!;
    expect(t.findId(id)).toBe(a);
    expect(t.findId(id + 32768)).toBeUndefined();
    expect(t.findIndex(id + 32768)).toBe(a);
    expect(t.findKey(77)).toBe(a);
    t.dissociateKey(77, a);
    expect(t.findKey(77)).toBeUndefined();
    expect(t.findId(id)).toBe(a);
  });

  it('tracks the highest index in use', () => {
    const t = new IdTable<{ n: number }>();
    expect(t.maxIndex()).toBe(-1);
    const os = [obj(0), obj(1), obj(2)];
    os.forEach((o) => t.add(o, 0, -1));
    expect(t.maxIndex()).toBe(2);
    t.remove(2, 0, os[2]!);
    expect(t.maxIndex()).toBe(1);
    t.remove(0, 0, os[0]!);
    expect(t.maxIndex()).toBe(1);
  });

  it('splits ids into seq and index', () => {
    expect(idSeq(makeId(3, 5))).toBe(3);
    expect(idIndex(makeId(3, 5))).toBe(5);
    expect(makeId(65534, 32767)).toBe(2147450879);
  });
});
