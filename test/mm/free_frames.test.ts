import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FreeFrames } from '../../src/mm/free_frames.js';

describe('FreeFrames', () => {
  it('hands frames back lowest first, across word and level boundaries', () => {
    const free = new FreeFrames();
    const frames = [70000, 31, 32, 1023, 1024, 0, 32767, 32768, 5, 3_000_001];
    for (const f of frames) free.push(f);
    expect(free.size).toBe(frames.length);
    const out: number[] = [];
    while (free.size > 0) out.push(free.pop());
    expect(out).toEqual([...frames].sort((a, b) => a - b));
  });

  it('finds a frame freed below the lowest one it last handed out', () => {
    const free = new FreeFrames();
    for (let f = 40000; f < 40010; f++) free.push(f);
    expect(free.pop()).toBe(40000);
    free.push(3);
    expect([free.pop(), free.pop()]).toEqual([3, 40001]);
  });

  it('throws on a frame pushed twice (a double free is a bug)', () => {
    const free = new FreeFrames();
    free.push(7);
    expect(() => free.push(7)).toThrow(/already free/);
  });

  it('always pops the minimum, as a sorted set would', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), frame: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 200_000 })) }),
      fc.record({ kind: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const free = new FreeFrames();
        const model = new Set<number>();
        for (const o of ops) {
          if (o.kind === 'push') {
            if (model.has(o.frame)) continue;
            model.add(o.frame);
            free.push(o.frame);
          } else if (model.size > 0) {
            const want = Math.min(...model);
            model.delete(want);
            expect(free.pop()).toBe(want);
          }
          expect(free.size).toBe(model.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
