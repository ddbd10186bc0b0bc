/**
 * MemoryFile.moveTo while another thread's access is in flight: a frame a
 * private object comes to hold alone moves into its own arena (anon.ts),
 * and a thread of the arena it left may still be reading the old slot
 * through a translation taken before. The old slot is held back from
 * reuse, with its bytes, until that access ends, as a freed frame is
 * (ReclaimGate).
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { MemoryFile } from '../../src/mm/memory_file.js';

describe('moveTo under the reclaim gate', () => {
  it('keeps the slot a frame left, and its bytes, until the access in flight ends', () => {
    const mf = new MemoryFile({ chunkBytes: 64 * PAGE_SIZE });
    const from = mf.newArena();
    const to = mf.newArena();
    const f = mf.allocate(true, from);
    mf.chunkBytes(f).fill(0x5a, mf.byteOffset(f), mf.byteOffset(f) + PAGE_SIZE);
    const left = mf.slotOf(f);
    const oldBytes = mf.chunkBytes(f);
    const oldAt = mf.byteOffset(f);
    let done = false;
    const inFlight = {};
    mf.setReclaimGate({ inFlight: () => (done ? undefined : inFlight), finished: () => done });
    expect(mf.moveTo(f, to)).toBe(true);
    expect(mf.slotOf(f)).not.toBe(left);
    expect(mf.chunkBytes(f)[mf.byteOffset(f)]).toBe(0x5a);
    // The arena it left allocates elsewhere while the access lasts; the old slot keeps its bytes.
    const g = mf.allocate(true, from);
    expect(mf.slotOf(g)).not.toBe(left);
    mf.chunkBytes(g).fill(0x77, mf.byteOffset(g), mf.byteOffset(g) + PAGE_SIZE);
    expect(oldBytes.subarray(oldAt, oldAt + PAGE_SIZE).every((b) => b === 0x5a)).toBe(true);
    // A moved frame's slot is not a frame: retiredFrames does not count it.
    expect(mf.retiredFrames).toBe(0);
    done = true;
    mf.reclaim();
    const h = mf.allocate(true, from);
    expect(mf.slotOf(h)).toBe(left);
    expect(mf.allocatedFrames).toBe(3);
  });

  it('frees the slot at once when no access is in flight', () => {
    const mf = new MemoryFile({ chunkBytes: 64 * PAGE_SIZE });
    const from = mf.newArena();
    const to = mf.newArena();
    const f = mf.allocate(true, from);
    const left = mf.slotOf(f);
    mf.setReclaimGate({ inFlight: () => undefined, finished: () => true });
    expect(mf.moveTo(f, to)).toBe(true);
    expect(mf.slotOf(mf.allocate(true, from))).toBe(left);
  });
});
