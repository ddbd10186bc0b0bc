/**
 * `new Kernel(options)` from a careless or hostile caller. A constructor
 * cannot return an Either, so an option it cannot use is refused at once
 * with a TypeError (a value of the wrong kind) or a RangeError (a number out
 * of range) naming Kernel and the option; never a crash in a later call,
 * never a value taken silently. Each option is read once, so a getter that
 * answers differently on a second read cannot make the kernel check one
 * value and use another.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { IPC_CREAT, IPC_PRIVATE, Kernel } from '../../src/index.js';
import type { KernelOptions } from '../../src/index.js';

const MiB2 = 2 ** 21;
const GiB = 2 ** 30;

/** What `new Kernel(options)` threw: its class and message, or undefined when it built. */
function thrown(options: unknown): { kind: string; message: string } | undefined {
  try {
    new Kernel(options as KernelOptions);
    return undefined;
  } catch (e) {
    return { kind: (e as Error).constructor.name, message: (e as Error).message };
  }
}

/** A kernel that works: it spawns, makes a segment, tells the time. */
function works(k: Kernel): void {
  const p = k.spawn();
  expect(E.isRight(p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600))).toBe(true);
  expect(typeof k.now()).toBe('number');
  expect(typeof k.monotonicNow()).toBe('number');
  p.exit();
  k.dispose();
}

describe('Kernel options: the whole object', () => {
  it('builds with no options, undefined, an empty object, and a null-prototype object', () => {
    works(new Kernel());
    works(new Kernel(undefined));
    works(new Kernel({}));
    works(new Kernel(Object.assign(Object.create(null) as object, { memTotalBytes: 16 << 20 }) as KernelOptions));
  });

  it.each([
    ['null', null],
    ['an array', [] as unknown],
    ['a number', 5],
    ['a string', 'x'],
    ['a boolean', true],
    ['a bigint', 10n],
    ['a symbol', Symbol('o')],
    ['a function', () => ({})],
  ])('refuses %s as the options with a TypeError naming them', (_, options) => {
    const t = thrown(options);
    expect(t?.kind).toBe('TypeError');
    expect(t?.message).toMatch(/^Kernel: options must be an object of kernel options/);
  });

  it('refuses a revoked Proxy as the options, and a Proxy whose get trap throws, naming what could not be read', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrown(proxy)).toEqual({ kind: 'TypeError', message: 'Kernel: options could not be read' });
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(thrown(trap)).toEqual({ kind: 'TypeError', message: 'Kernel: options.clock could not be read' });
  });

  it('reads each option at most once, and no key the interface does not have', () => {
    const reads = new Map<PropertyKey, number>();
    const target = { memTotalBytes: 16 << 20, clock: () => 9, monotonicClock: () => 0, maxMapCount: 7, hugePageSizes: [MiB2], extra: 1 };
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        reads.set(key, (reads.get(key) ?? 0) + 1);
        return Reflect.get(t, key, receiver) as unknown;
      },
    });
    const k = new Kernel(proxy as KernelOptions);
    for (const [key, n] of reads) expect([key, n]).toEqual([key, 1]);
    expect(reads.has('extra')).toBe(false);
    expect(reads.size).toBe(10);
    // Nothing the kernel does later reads the caller's object again.
    works(k);
    expect(reads.size).toBe(10);
    expect([...reads.values()].every((n) => n === 1)).toBe(true);
  });
});

/** An option's value and the error class and message it must be refused with. */
type Bad = readonly [value: unknown, kind: 'TypeError' | 'RangeError'];

const BAD: Record<keyof KernelOptions, readonly Bad[]> = {
  clock: [
    [5, 'TypeError'],
    ['x', 'TypeError'],
    [null, 'TypeError'],
    [{}, 'TypeError'],
    [true, 'TypeError'],
  ],
  monotonicClock: [
    [0, 'TypeError'],
    [null, 'TypeError'],
    [{ now: () => 0 }, 'TypeError'],
  ],
  allocatePid: [
    [1000, 'TypeError'],
    [null, 'TypeError'],
    ['next', 'TypeError'],
  ],
  memTotalBytes: [
    ['x', 'TypeError'],
    [2n ** 30n, 'TypeError'],
    [null, 'TypeError'],
    [-1, 'RangeError'],
    [1.5, 'RangeError'],
    [Number.NaN, 'RangeError'],
    [Number.POSITIVE_INFINITY, 'RangeError'],
    [2 ** 31 * PAGE_SIZE, 'RangeError'],
  ],
  chunkBytes: [
    ['65536', 'TypeError'],
    [null, 'TypeError'],
    [PAGE_SIZE - 1, 'RangeError'],
    [3 * PAGE_SIZE, 'RangeError'],
    [0, 'RangeError'],
    [2 ** 31, 'RangeError'],
    // 3 * 2^31: its int32 bits pass `n & (n - 1)`, which MemoryFile's own check uses.
    [3 * 2 ** 31, 'RangeError'],
    [Number.NaN, 'RangeError'],
  ],
  executeOnly: [
    [1, 'TypeError'],
    ['true', 'TypeError'],
    [null, 'TypeError'],
  ],
  hugetlbShmGroup: [
    ['0', 'TypeError'],
    [0n, 'TypeError'],
    [-1, 'RangeError'],
    [0.5, 'RangeError'],
    [2 ** 32 - 1, 'RangeError'],
  ],
  hugePageSizes: [
    ['x', 'TypeError'],
    [MiB2, 'TypeError'],
    [{ length: 1, 0: MiB2 }, 'TypeError'],
    [null, 'TypeError'],
    [new Float64Array([MiB2]), 'TypeError'],
    [Array.from({ length: 65 }, () => MiB2), 'RangeError'],
  ],
  poisonFreed: [
    ['0xa5', 'TypeError'],
    [null, 'TypeError'],
    [256, 'RangeError'],
    [-1, 'RangeError'],
    [1.5, 'RangeError'],
  ],
  maxMapCount: [
    ['x', 'TypeError'],
    [null, 'TypeError'],
    [65530n, 'TypeError'],
    [-1, 'RangeError'],
    [1.5, 'RangeError'],
    [Number.POSITIVE_INFINITY, 'RangeError'],
    [2 ** 31, 'RangeError'],
  ],
};

describe('Kernel options: each option of the wrong kind or out of range', () => {
  for (const [name, cases] of Object.entries(BAD)) {
    it.each(
      cases.map(
        ([value, kind]) =>
          [String(typeof value === 'object' && value !== null ? 'an object' : typeof value === 'bigint' ? `${value}n` : value), value, kind] as const,
      ),
    )(`refuses ${name} = %s at once, naming Kernel and options.${name}`, (_, value, kind) => {
      let clockCalls = 0;
      const t = thrown({ memTotalBytes: 16 << 20, ...(name === 'clock' ? {} : { clock: () => ++clockCalls }), [name]: value });
      expect(t?.kind).toBe(kind);
      expect(t?.message).toMatch(new RegExp(`^Kernel: options\\.${name}\\b.* must be `));
      expect(clockCalls).toBe(0);
    });
  }

  it('names the element of hugePageSizes that is not a number, a hole included', () => {
    expect(thrown({ hugePageSizes: [MiB2, 'x'] })).toEqual({
      kind: 'TypeError',
      message: 'Kernel: options.hugePageSizes[1] must be a number of bytes, not "x"',
    });
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(thrown({ hugePageSizes: [MiB2, , GiB] })?.message).toBe('Kernel: options.hugePageSizes[1] must be a number of bytes, not undefined');
    expect(thrown({ hugePageSizes: [MiB2, 2n ** 21n] })?.kind).toBe('TypeError');
  });

  it('the examples of the attack review: each refused by name, not by a crash later', () => {
    expect(thrown({ clock: 5 })?.message).toBe('Kernel: options.clock must be a function returning seconds, not 5');
    expect(thrown({ memTotalBytes: 'x' })?.message).toBe('Kernel: options.memTotalBytes must be a whole number of bytes in 0..8796093022207, not "x"');
    expect(thrown({ hugePageSizes: 'x' })?.message).toBe('Kernel: options.hugePageSizes must be an array of huge page sizes in bytes, not "x"');
    expect(thrown(null)?.message).toBe('Kernel: options must be an object of kernel options, not null');
    expect(thrown({ maxMapCount: 'x' })?.message).toBe('Kernel: options.maxMapCount must be an integer in 0..2147483647, not "x"');
  });
});

describe('Kernel options: getters', () => {
  const names = Object.keys(BAD);
  it.each(names)('refuses a getter of %s that throws with a TypeError naming it, calling none of the other options', (name) => {
    let called = 0;
    const options = { memTotalBytes: 16 << 20, monotonicClock: () => ++called, allocatePid: () => ++called };
    Object.defineProperty(options, name, {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    expect(thrown(options)).toEqual({ kind: 'TypeError', message: `Kernel: options.${name} could not be read` });
    expect(called).toBe(0);
  });

  it('refuses a hugePageSizes whose length or element getter throws, naming it', () => {
    const lengthThrows = new Proxy([MiB2], {
      get(t, key, r) {
        if (key === 'length') throw new Error('length');
        return Reflect.get(t, key, r) as unknown;
      },
    });
    expect(thrown({ hugePageSizes: lengthThrows })).toEqual({ kind: 'TypeError', message: 'Kernel: options.hugePageSizes.length could not be read' });
    const elementThrows = [MiB2, 0];
    Object.defineProperty(elementThrows, 1, {
      get() {
        throw new Error('element');
      },
    });
    expect(thrown({ hugePageSizes: elementThrows })).toEqual({ kind: 'TypeError', message: 'Kernel: options.hugePageSizes[1] could not be read' });
    const { proxy, revoke } = Proxy.revocable([MiB2], {});
    revoke();
    expect(thrown({ hugePageSizes: proxy })).toEqual({ kind: 'TypeError', message: 'Kernel: options.hugePageSizes could not be read' });
  });

  it('refuses a Proxy array claiming more sizes than any CPU has, without reading them', () => {
    let reads = 0;
    const huge = new Proxy([MiB2], {
      get(t, key, r) {
        if (key === 'length') return 2 ** 53 - 1;
        reads++;
        return Reflect.get(t, key, r) as unknown;
      },
    });
    expect(thrown({ hugePageSizes: huge })?.kind).toBe('RangeError');
    expect(reads).toBe(0);
  });

  /** An object whose `name` answers `first` on the first read and `later` on every other. */
  function changing(name: string, first: unknown, later: unknown, rest: object = {}): KernelOptions {
    let n = 0;
    return Object.defineProperty({ ...rest }, name, { enumerable: true, get: () => (n++ === 0 ? first : later) }) as KernelOptions;
  }

  it('a clock that turns into 5 after it was checked: the kernel keeps the function it checked', () => {
    const k = new Kernel(changing('clock', () => 1234, 5, { memTotalBytes: 16 << 20 }));
    expect(k.now()).toBe(1234);
    works(k);
  });

  it('a monotonic clock and a pid allocator that appear only on a second read: the kernel keeps the defaults', () => {
    const k = new Kernel(changing('allocatePid', undefined, () => 7, { memTotalBytes: 16 << 20 }));
    expect(k.spawn().pid).toBe(1000);
    expect(k.spawn().pid).toBe(1001);
    const m = new Kernel(changing('monotonicClock', undefined, 'x', { memTotalBytes: 16 << 20 }));
    expect(Number.isFinite(m.monotonicNow())).toBe(true);
    works(m);
    // The other way round: the allocator checked is the one that hands out pids.
    const pids = new Kernel(changing('allocatePid', () => 42, undefined, { memTotalBytes: 16 << 20 }));
    expect(pids.spawn().pid).toBe(42);
  });

  it('memTotalBytes, chunkBytes, maxMapCount, poisonFreed and hugetlbShmGroup: one value each, the checked one', () => {
    const mem = new Kernel(changing('memTotalBytes', 16 << 20, 'x'));
    expect(mem.memoryFile.totalFrames).toBe((16 << 20) / PAGE_SIZE);
    works(mem);
    const chunk = new Kernel(changing('chunkBytes', 2 ** 16, 3, { memTotalBytes: 16 << 20 }));
    works(chunk);
    const maps = new Kernel(changing('maxMapCount', 3, 'x', { memTotalBytes: 16 << 20 }));
    expect(maps.vm.maxMapCount).toBe(3);
    const poison = new Kernel(changing('poisonFreed', 0xa5, 1000, { memTotalBytes: 16 << 20 }));
    works(poison);
    const group = new Kernel(changing('hugetlbShmGroup', 5, -1, { memTotalBytes: 16 << 20 }));
    expect(group.environment.hugetlbShmGroup).toBe(5);
    const exec = new Kernel(changing('executeOnly', false, 'yes', { memTotalBytes: 16 << 20 }));
    expect(exec.executeOnly).toBe(false);
  });

  it('hugePageSizes whose elements change after the copy: the kernel keeps what it copied, and later changes to the array do nothing', () => {
    let n = 0;
    const sizes = [0, GiB];
    Object.defineProperty(sizes, 0, { enumerable: true, get: () => (n++ === 0 ? MiB2 : 'x') });
    const k = new Kernel({ memTotalBytes: 16 << 20, hugePageSizes: sizes as number[] });
    expect(k.hugePageSizes).toEqual([MiB2, GiB]);
    const plain = [MiB2];
    const q = new Kernel({ memTotalBytes: 16 << 20, hugePageSizes: plain });
    plain[0] = 'x' as unknown as number;
    plain.push(GiB);
    expect(q.hugePageSizes).toEqual([MiB2]);
    works(q);
  });
});

describe('Kernel options: every valid combination still builds', () => {
  let now = 1_700_000_000;
  const pids = [300, 301];
  let next = 5000;
  const valid: readonly KernelOptions[] = [
    { memTotalBytes: 16 << 20 },
    { memTotalBytes: 64 << 20 },
    { memTotalBytes: 1 << 28 },
    { memTotalBytes: 1 << 30 },
    { memTotalBytes: 2 * GiB },
    { memTotalBytes: 4 * GiB },
    { memTotalBytes: 0 },
    { memTotalBytes: 2 ** 31 * PAGE_SIZE - 1 },
    { memTotalBytes: (16 << 20) + 100 },
    { chunkBytes: 4 * PAGE_SIZE },
    { chunkBytes: 16 * PAGE_SIZE },
    { chunkBytes: 64 * PAGE_SIZE },
    { chunkBytes: PAGE_SIZE, memTotalBytes: 16 << 20 },
    { chunkBytes: GiB, memTotalBytes: 16 << 20 },
    { memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16 },
    { memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [MiB2] },
    { memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [2 ** 30, 2 ** 21] },
    { memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, maxMapCount: 1 },
    { memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 },
    { clock: () => 1000, memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 },
    { clock: () => 1_700_000_000, monotonicClock: () => 0, memTotalBytes: 2 ** 24, chunkBytes: 2 ** 16 },
    { clock: () => 1000, monotonicClock: () => 0, memTotalBytes: 16 << 20 },
    { memTotalBytes: 64 << 20, allocatePid: undefined, monotonicClock: () => 0 },
    { clock: () => now++ },
    { clock: () => 7 },
    { clock: () => 5, monotonicClock: () => 0 },
    { clock: () => now, allocatePid: () => pids.shift() ?? 999_999 },
    { allocatePid: () => next++ },
    { poisonFreed: 0xa5 },
    { poisonFreed: 0 },
    { poisonFreed: 255 },
    { maxMapCount: 0 },
    { maxMapCount: 3 },
    { maxMapCount: 12 },
    { maxMapCount: 65530 },
    { maxMapCount: 2 ** 31 - 1 },
    { executeOnly: true },
    { executeOnly: false },
    { hugetlbShmGroup: 0 },
    { hugetlbShmGroup: 1000 },
    { hugetlbShmGroup: 0xfffffffe },
    { hugePageSizes: [] },
    // Sizes that are no huge page size are left out, as KernelOptions.hugePageSizes says.
    { hugePageSizes: [MiB2, 3000, PAGE_SIZE, 1.5, MiB2] },
    {
      clock: undefined,
      monotonicClock: undefined,
      allocatePid: undefined,
      memTotalBytes: undefined,
      chunkBytes: undefined,
      executeOnly: undefined,
      hugetlbShmGroup: undefined,
      hugePageSizes: undefined,
      poisonFreed: undefined,
      maxMapCount: undefined,
    },
  ];

  it.each(valid.map((o, i) => [i, o] as const))('builds #%i', (_, options) => {
    const k = new Kernel(options);
    expect(k.memoryFile.totalFrames).toBe(Math.floor((options.memTotalBytes ?? 8 * GiB) / PAGE_SIZE));
    expect(k.vm.maxMapCount).toBe(options.maxMapCount ?? 65530);
    expect(k.executeOnly).toBe(options.executeOnly ?? true);
    if (options.memTotalBytes === undefined || options.memTotalBytes >= 16 << 20) works(k);
    else k.dispose();
  });

  it('leaves out sizes that are no huge page size, keeping the order and dropping repeats', () => {
    expect(new Kernel({ hugePageSizes: [MiB2, 3000, PAGE_SIZE, 1.5, MiB2] }).hugePageSizes).toEqual([MiB2]);
    expect(new Kernel({ hugePageSizes: [GiB, MiB2] }).hugePageSizes).toEqual([GiB, MiB2]);
  });
});
