import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import type { Fault } from '../../src/mm/access.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { MemoryManager } from '../../src/mm/memory_manager.js';
import { FakeObject, ctxOf } from './fake_mappable.js';

const RW = PROT_READ | PROT_WRITE;
const RWX = RW | PROT_EXEC;
const ctx = ctxOf(100);

/** An address space over small (4-page) chunks, so runs cross chunk boundaries early. */
function setup(maxFrames?: number): { mf: MemoryFile; mm: MemoryManager } {
  const mf = new MemoryFile({ chunkBytes: 4 * PAGE_SIZE, ...(maxFrames === undefined ? {} : { maxFrames }) });
  return { mf, mm: new MemoryManager({ memoryFile: mf }) };
}

/** Maps `obj` (or a new object of `pages` pages) at a kernel-chosen address. */
function map(mm: MemoryManager, obj: FakeObject, perms = RW, length = obj.bytes, offset = 0): number {
  const r = mm.mmap(ctx, { length, offset, perms, maxPerms: RWX, mappable: obj, identity: obj, writable: true });
  if (E.isLeft(r)) {
    throw new Error(r.left.message);
  }
  return r.right;
}

function fault(r: E.Either<Fault, unknown>): Fault | undefined {
  return E.isLeft(r) ? r.left : undefined;
}

/** True when a read succeeded with exactly `want` (cheaper than toEqual on large arrays). */
function readsAs(r: E.Either<Fault, Uint8Array>, want: Uint8Array): boolean {
  return E.isRight(r) && r.right.length === want.length && r.right.every((b, i) => b === want[i]);
}

function bytesOf(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

describe('MemoryManager byte access', () => {
  it('allocates no frame for a mapped but untouched 1 GiB object, and one per touched page', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 1 << 30);
    const addr = map(mm, obj);
    expect(mf.allocatedFrames).toBe(0);
    expect(mm.write(addr + 5 * PAGE_SIZE + 10, Uint8Array.of(1, 2, 3))).toEqual(E.right(undefined));
    expect(mf.allocatedFrames).toBe(1);
    expect(mm.read(addr + 100 * PAGE_SIZE, 1)).toEqual(E.right(Uint8Array.of(0)));
    expect(mf.allocatedFrames).toBe(2);
    expect(obj.populatedPages()).toBe(2);
  });

  it('writes, reads and fills across pages and across chunk boundaries', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 10 * PAGE_SIZE);
    const addr = map(mm, obj);
    const data = bytesOf(9 * PAGE_SIZE, 3);
    expect(E.isRight(mm.write(addr + 100, data))).toBe(true);
    // Frames 0..9 in 4-frame chunks: the copy spans three chunks.
    expect(obj.frameOf(3)).toBe(3);
    expect(mf.chunkBytes(obj.frameOf(3)) === mf.chunkBytes(obj.frameOf(4))).toBe(false);
    expect(readsAs(mm.read(addr + 100, data.length), data)).toBe(true);
    const f4 = obj.frameOf(4);
    expect(mf.chunkBytes(f4)[mf.byteOffset(f4)]).toBe(data[4 * PAGE_SIZE - 100]);

    expect(E.isRight(mm.fill(addr + PAGE_SIZE - 2, PAGE_SIZE * 3 + 4, 0x5a))).toBe(true);
    const back = mm.read(addr + PAGE_SIZE - 3, PAGE_SIZE * 3 + 6);
    expect(E.isRight(back)).toBe(true);
    if (E.isRight(back)) {
      expect(back.right[0]).toBe(data[PAGE_SIZE - 103]);
      expect(back.right.subarray(1, PAGE_SIZE * 3 + 5).every((b) => b === 0x5a)).toBe(true);
      expect(back.right[PAGE_SIZE * 3 + 5]).toBe(data[4 * PAGE_SIZE + 2 - 100]);
    }
  });

  it('translates whole runs, not page by page', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 64 * PAGE_SIZE);
    const addr = map(mm, obj);
    expect(E.isRight(mm.fill(addr, 64 * PAGE_SIZE, 1))).toBe(true);
    expect(obj.translateCalls).toBe(1);
    expect(readsAs(mm.read(addr, 64 * PAGE_SIZE), new Uint8Array(64 * PAGE_SIZE).fill(1))).toBe(true);
  });

  it('reads an empty range without faulting and without allocating', () => {
    const { mf, mm } = setup();
    expect(mm.read(0x1234, 0)).toEqual(E.right(new Uint8Array(0)));
    expect(mm.write(0x1234, new Uint8Array(0))).toEqual(E.right(undefined));
    expect(mf.allocatedFrames).toBe(0);
  });

  it('gives SIGSEGV outside every VMA, including junk addresses', () => {
    const { mf, mm } = setup();
    const addr = map(mm, new FakeObject(mf, 2 * PAGE_SIZE));
    expect(fault(mm.read(addr - 1, 1))).toEqual({ signal: 'SIGSEGV', addr: addr - 1 });
    expect(fault(mm.read(addr + 2 * PAGE_SIZE, 4))).toEqual({ signal: 'SIGSEGV', addr: addr + 2 * PAGE_SIZE });
    for (const junk of [-1, -4096, 2 ** 60, Number.NaN, Infinity, 1.5, Number.MAX_SAFE_INTEGER]) {
      expect(fault(mm.read(junk, 8))?.signal).toBe('SIGSEGV');
      expect(fault(mm.write(junk, Uint8Array.of(1)))?.signal).toBe('SIGSEGV');
      expect(fault(mm.fill(junk, 8, 0))?.signal).toBe('SIGSEGV');
    }
    expect(fault(mm.read(addr, -1))?.signal).toBe('SIGSEGV');
  });

  it('stops a write at the first faulting page and keeps the bytes before it', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 2 * PAGE_SIZE);
    const addr = map(mm, obj);
    const data = bytesOf(3 * PAGE_SIZE, 1);
    expect(fault(mm.write(addr + 10, data))).toEqual({ signal: 'SIGSEGV', addr: addr + 2 * PAGE_SIZE });
    expect(readsAs(mm.read(addr + 10, 2 * PAGE_SIZE - 10), data.subarray(0, 2 * PAGE_SIZE - 10))).toBe(true);
    expect(fault(mm.fill(addr + PAGE_SIZE, 2 * PAGE_SIZE, 9))?.addr).toBe(addr + 2 * PAGE_SIZE);
    expect(mm.read(addr + 2 * PAGE_SIZE - 1, 1)).toEqual(E.right(Uint8Array.of(9)));
  });

  it('returns only the fault for a read that crosses into an unmapped page', () => {
    const { mf, mm } = setup();
    const addr = map(mm, new FakeObject(mf, PAGE_SIZE));
    expect(fault(mm.read(addr + PAGE_SIZE - 4, 8))).toEqual({ signal: 'SIGSEGV', addr: addr + PAGE_SIZE });
    // A huge read that cannot succeed must not try to allocate its result.
    expect(fault(mm.read(addr, 2 ** 50))).toEqual({ signal: 'SIGSEGV', addr: addr + PAGE_SIZE });
  });

  it('gives SIGBUS past the end of the object, after writing the pages before it', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 2 * PAGE_SIZE);
    // A 4-page mapping of a 2-page object, as after mremap growth.
    const addr = map(mm, obj, RW, 4 * PAGE_SIZE);
    expect(fault(mm.write(addr + PAGE_SIZE, bytesOf(2 * PAGE_SIZE, 5)))).toEqual({ signal: 'SIGBUS', addr: addr + 2 * PAGE_SIZE });
    expect(readsAs(mm.read(addr + PAGE_SIZE, PAGE_SIZE), bytesOf(PAGE_SIZE, 5))).toBe(true);
    expect(fault(mm.read(addr + 3 * PAGE_SIZE + 5, 1))).toEqual({ signal: 'SIGBUS', addr: addr + 3 * PAGE_SIZE + 5 });
    expect(fault(mm.read(addr, 3 * PAGE_SIZE))?.signal).toBe('SIGBUS');
  });

  it('gives SIGBUS when memory runs out on first touch', () => {
    const { mf, mm } = setup(2);
    const addr = map(mm, new FakeObject(mf, 4 * PAGE_SIZE));
    expect(fault(mm.fill(addr, 4 * PAGE_SIZE, 1))).toEqual({ signal: 'SIGBUS', addr: addr + 2 * PAGE_SIZE });
    expect(mf.allocatedFrames).toBe(2);
  });

  it('follows x86 protection rules', () => {
    const { mf, mm } = setup();
    const cases: Array<[number, boolean, boolean]> = [
      [PROT_NONE, false, false],
      [PROT_READ, true, false],
      [PROT_WRITE, true, true],
      [PROT_EXEC, true, false],
      [RW, true, true],
    ];
    for (const [perms, readable, writable] of cases) {
      const addr = map(mm, new FakeObject(mf, PAGE_SIZE), perms);
      expect(E.isRight(mm.read(addr, 4)), `read prot ${perms}`).toBe(readable);
      expect(E.isRight(mm.write(addr, Uint8Array.of(1))), `write prot ${perms}`).toBe(writable);
      expect(fault(mm.write(addr, Uint8Array.of(1)))?.signal ?? 'none').toBe(writable ? 'none' : 'SIGSEGV');
    }
  });

  it('shows the same bytes through two mappings of one object at different offsets', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 4 * PAGE_SIZE);
    const whole = map(mm, obj);
    const tail = map(mm, obj, RW, 2 * PAGE_SIZE, 2 * PAGE_SIZE);
    expect(E.isRight(mm.write(tail + 3, Uint8Array.of(42)))).toBe(true);
    expect(mm.read(whole + 2 * PAGE_SIZE + 3, 1)).toEqual(E.right(Uint8Array.of(42)));
  });
});

describe('MemoryManager atomics', () => {
  it('loads, stores, adds and compare-exchanges 32-bit words', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 2 * PAGE_SIZE);
    const addr = map(mm, obj);
    const w = addr + PAGE_SIZE + 8;
    expect(mm.atomicLoad32(w)).toEqual(E.right(0));
    expect(mm.atomicStore32(w, 0xffffffff)).toEqual(E.right(-1));
    expect(mm.atomicAdd32(w, 2)).toEqual(E.right(-1));
    expect(mm.atomicLoad32(w)).toEqual(E.right(1));
    expect(mm.atomicCompareExchange32(w, 5, 9)).toEqual(E.right(1));
    expect(mm.atomicCompareExchange32(w, 1, 9)).toEqual(E.right(1));
    expect(mm.read(w, 4)).toEqual(E.right(Uint8Array.of(9, 0, 0, 0)));
  });

  it('faults on misaligned, unmapped, protected and out-of-object words', () => {
    const { mf, mm } = setup();
    const ro = map(mm, new FakeObject(mf, PAGE_SIZE), PROT_READ);
    const grown = map(mm, new FakeObject(mf, PAGE_SIZE), RW, 2 * PAGE_SIZE);
    expect(fault(mm.atomicLoad32(ro + 2))).toEqual({ signal: 'SIGBUS', addr: ro + 2 });
    // grown sits directly below ro; below grown nothing is mapped.
    expect(fault(mm.atomicLoad32(grown - 4))).toEqual({ signal: 'SIGSEGV', addr: grown - 4 });
    expect(fault(mm.atomicLoad32(ro - 4))).toEqual({ signal: 'SIGBUS', addr: ro - 4 });
    expect(fault(mm.atomicLoad32(-8))?.signal).toBe('SIGSEGV');
    expect(mm.atomicLoad32(ro)).toEqual(E.right(0));
    expect(fault(mm.atomicAdd32(ro, 1))).toEqual({ signal: 'SIGSEGV', addr: ro });
    expect(fault(mm.atomicStore32(grown + PAGE_SIZE, 1))).toEqual({ signal: 'SIGBUS', addr: grown + PAGE_SIZE });
  });
});
