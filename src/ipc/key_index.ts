/**
 * The key table of an IdTable: key_t → index slot, as an open-addressing
 * hash table over two Int32Arrays (linear probing, deletion by shifting
 * the run back, so there are no tombstones).
 *
 * A Map would do, but keys are 32-bit and most real keys (ftok's, say)
 * are outside V8's small-integer range, so a Map keeps each one as a boxed
 * number in a heap cell of its own and compares against it on every probe:
 * a cache miss per lookup once there are thousands of keys. Here a probe
 * reads the key from the array itself.
 *
 * Key 0 (IPC_PRIVATE) is never stored; it marks an empty cell.
 */

/** 2^32 / φ: multiplicative hashing spreads consecutive keys over the table. */
const HASH = 0x9e3779b1 | 0;
const MIN_CAPACITY = 16;

export class KeyIndex {
  private keys = new Int32Array(MIN_CAPACITY);
  private slots = new Int32Array(MIN_CAPACITY);
  /** 32 - log2(capacity): the hash's top bits pick the home cell. */
  private shift = 32 - Math.log2(MIN_CAPACITY);
  private count = 0;

  /** Keys held. */
  get size(): number {
    return this.count;
  }

  /** The slot stored for `key`, or -1. */
  get(key: number): number {
    if (key === 0) return -1;
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let i = Math.imul(key, HASH) >>> this.shift; ; i = (i + 1) & mask) {
      const k = keys[i] as number;
      if (k === key) return this.slots[i] as number;
      if (k === 0) return -1;
    }
  }

  /** Stores `slot` for `key` (a non-zero int32), replacing what it had. */
  set(key: number, slot: number): void {
    if (key === 0 || key !== (key | 0)) throw new RangeError(`KeyIndex: ${key} is not a non-zero 32-bit key`);
    if ((this.count + 1) * 2 > this.keys.length) this.resize(this.keys.length * 2);
    const keys = this.keys;
    const mask = keys.length - 1;
    let i = Math.imul(key, HASH) >>> this.shift;
    while (keys[i] !== 0 && keys[i] !== key) i = (i + 1) & mask;
    if (keys[i] === 0) {
      keys[i] = key;
      this.count += 1;
    }
    this.slots[i] = slot;
  }

  /** Forgets `key`; nothing happens when it is not held. */
  delete(key: number): void {
    if (key === 0) return;
    const keys = this.keys;
    const slots = this.slots;
    const mask = keys.length - 1;
    let hole = Math.imul(key, HASH) >>> this.shift;
    while (keys[hole] !== key) {
      if (keys[hole] === 0) return;
      hole = (hole + 1) & mask;
    }
    // Shift back every later entry of the run that may live in the hole:
    // one whose home cell is not cyclically inside (hole, j].
    for (let j = (hole + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = Math.imul(keys[j] as number, HASH) >>> this.shift;
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      keys[hole] = keys[j] as number;
      slots[hole] = slots[j] as number;
      hole = j;
    }
    keys[hole] = 0;
    this.count -= 1;
    if (this.keys.length > MIN_CAPACITY && this.count * 8 < this.keys.length) this.resize(this.keys.length / 2);
  }

  private resize(capacity: number): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    this.keys = new Int32Array(capacity);
    this.slots = new Int32Array(capacity);
    this.shift = 32 - Math.log2(capacity);
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i += 1) {
      const k = oldKeys[i] as number;
      if (k !== 0) this.set(k, oldSlots[i] as number);
    }
  }
}
