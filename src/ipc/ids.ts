/**
 * The id and key tables of one IPC mechanism in one namespace (struct
 * ipc_ids), with Linux's cyclic id allocator (ipc/util.c ipc_idr_alloc).
 *
 * An id is seq << 15 | index. Indexes come from a window that grows with the
 * number of objects in use, handed out cyclically from a cursor, so a freed
 * index is not reused until the cursor wraps; each wrap (an index at or below
 * the last one handed out) bumps the sequence number, so stale ids stop
 * matching.
 *
 * Not thread-safe: the owning registry's lock guards it.
 */
import { IPCMNI, IPCMNI_SHIFT, IPCMNI_SEQ_MAX, IPC_PRIVATE } from '../abi/constants.js';
import { KeyIndex } from './key_index.js';

/** The radix-tree chunk Linux allocates indexes in: the smallest id window. */
const MIN_CYCLE = 64;

/** The sequence part of an id. */
export function idSeq(id: number): number {
  // A shift, not a division: ids are non-negative and below 2^31.
  return id >>> IPCMNI_SHIFT;
}

/** The index part of an id. */
export function idIndex(id: number): number {
  return id & (IPCMNI - 1);
}

/** The cyclic allocator's position, as a checkpoint saves it. */
export interface IdAllocatorState {
  /** The lowest index the next cyclic allocation tries. */
  readonly cursor: number;
  /** The index handed out last (-1 before the first). */
  readonly lastIndex: number;
  readonly seq: number;
}

/** Ids and keys of one mechanism; T is the object type (e.g. a shm segment). */
export class IdTable<T> {
  /**
   * The object in each index slot (undefined when free) and its sequence,
   * as two arrays indexed by slot: shmget and IPC_RMID enter and remove an
   * object each time, and an array index costs less than a Map entry.
   */
  private readonly objs: Array<T | undefined> = [];
  private readonly seqs: number[] = [];
  private used = 0;
  /** Associated keys → their object's index slot. */
  private readonly keys = new KeyIndex();
  private cursor = 0;
  private lastIdx = -1;
  private seq = 0;
  /** The highest index in use, or undefined when it must be recomputed (after its slot was freed). */
  private maxIdx: number | undefined = -1;

  /** Objects in the table (in_use), including those whose key is dissociated. */
  get inUse(): number {
    return this.used;
  }

  /**
   * ipc_get_maxidx: -1 when empty, IPCMNI-1 when full, else the highest
   * index in use.
   */
  maxIndex(): number {
    if (this.used === 0) return -1;
    if (this.used === IPCMNI) return IPCMNI - 1;
    // Recomputed only here: ipc_rmid's eager downward scan would cost every removal.
    if (this.maxIdx === undefined) {
      let max = this.objs.length - 1;
      while (max >= 0 && this.objs[max] === undefined) max -= 1;
      this.maxIdx = max;
    }
    return this.maxIdx;
  }

  /** The object whose key is `key`, if that key is still associated. */
  findKey(key: number): T | undefined {
    const slot = this.keys.get(key);
    return slot < 0 ? undefined : this.objs[slot];
  }

  /** The object with exactly this id (index and sequence both match). */
  findId(id: number): T | undefined {
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) return undefined;
    const idx = idIndex(id);
    return this.seqs[idx] === idSeq(id) ? this.objs[idx] : undefined;
  }

  /** The object in slot `index` whatever its sequence (SHM_STAT): `index` is masked to 15 bits. */
  findIndex(index: number): T | undefined {
    return this.objs[index & (IPCMNI - 1)];
  }

  /**
   * Allocates an id for `obj` and enters it (and its key, unless private).
   * `nextId` is the namespace's shm_next_id (-1 when unset): when set, the
   * sequence comes from it and the index is the lowest free one at or above
   * its index, outside the cyclic window and without moving the cursor.
   * Returns the id, or undefined when no index is free. The caller checks
   * the in_use limit first.
   */
  add(obj: T, key: number, nextId: number): number | undefined {
    let idx: number;
    let seq: number;
    if (nextId >= 0) {
      idx = this.lowestFree(idIndex(nextId), IPCMNI);
      if (idx < 0) return undefined;
      seq = idSeq(nextId);
    } else {
      const limit = Math.min(Math.max(Math.floor((this.used * 3) / 2), MIN_CYCLE), IPCMNI);
      idx = this.lowestFree(this.cursor, limit);
      if (idx < 0) idx = this.lowestFree(0, limit);
      if (idx < 0) return undefined;
      if (idx <= this.lastIdx) {
        this.seq += 1;
        if (this.seq >= IPCMNI_SEQ_MAX) this.seq = 0;
      }
      this.lastIdx = idx;
      this.cursor = idx + 1;
      seq = this.seq;
    }
    this.enter(idx, seq, obj);
    if (key !== IPC_PRIVATE) this.keys.set(key, idx);
    if (this.maxIdx !== undefined && idx > this.maxIdx) this.maxIdx = idx;
    return seq * IPCMNI + idx;
  }

  /** ipc_set_key_private: the key no longer finds the object; its id still does. */
  dissociateKey(key: number, obj: T): void {
    const slot = this.keys.get(key);
    if (slot >= 0 && this.objs[slot] === obj) this.keys.delete(key);
  }

  /** ipc_rmid: removes the object's id (and key, if still associated). */
  remove(id: number, key: number, obj: T): void {
    const idx = idIndex(id);
    this.dissociateKey(key, obj);
    if (this.objs[idx] === undefined) return;
    this.objs[idx] = undefined;
    // A free slot's sequence never matches an id (sequences are non-negative).
    this.seqs[idx] = -1;
    this.used -= 1;
    if (idx === this.maxIdx) this.maxIdx = undefined;
  }

  /** Every object in index order. */
  objects(): T[] {
    const all: T[] = [];
    for (const obj of this.objs) if (obj !== undefined) all.push(obj);
    return all;
  }

  /** Checkpoint: where the cyclic allocator stands (ipc_ids' next index, last index and sequence). */
  allocatorState(): IdAllocatorState {
    return { cursor: this.cursor, lastIndex: this.lastIdx, seq: this.seq };
  }

  /**
   * Checkpoint restore: enters `obj` at exactly `id` with `key` (IPC_PRIVATE
   * for none). Precondition: the slot and the key are free.
   */
  restoreEntry(obj: T, id: number, key: number): void {
    const idx = idIndex(id);
    if (this.objs[idx] !== undefined) throw new Error(`IdTable.restoreEntry: index ${idx} is taken`);
    this.enter(idx, idSeq(id), obj);
    if (key !== IPC_PRIVATE) this.keys.set(key, idx);
    this.maxIdx = undefined;
  }

  /** Checkpoint restore: puts the cyclic allocator where allocatorState found it. */
  restoreAllocator(state: IdAllocatorState): void {
    this.cursor = state.cursor;
    this.lastIdx = state.lastIndex;
    this.seq = state.seq;
  }

  private lowestFree(from: number, to: number): number {
    for (let i = from; i < to; i += 1) {
      if (this.objs[i] === undefined) return i;
    }
    return -1;
  }

  /** Puts `obj` in free slot `idx`, growing the arrays densely so that they stay packed. */
  private enter(idx: number, seq: number, obj: T): void {
    while (this.objs.length < idx) {
      this.objs.push(undefined);
      this.seqs.push(-1);
    }
    this.objs[idx] = obj;
    this.seqs[idx] = seq;
    this.used += 1;
  }
}

/** Builds an id from its parts (for tests and SHM_STAT callers). */
export function makeId(seq: number, index: number): number {
  return seq * 2 ** IPCMNI_SHIFT + index;
}
