/**
 * Mutexes with a rank, so the lock order of DESIGN.md is a checked contract.
 *
 * Lock order (outermost first), as in gVisor's sentry:
 *
 *   mm.mappingMu  →  shm.Registry.mu  →  shm.Shm.mu
 *   sem.Registry.mu  →  sem.SemSet.mu (never held with the shm locks)
 *   msg.MsgRegistry.mu  →  msg.MsgQueue.mu (never held with the shm or sem locks)
 *
 * A thread may only take a lock whose rank is strictly greater than every lock
 * it already holds. JavaScript runs one thread per isolate, so in-process the
 * locks never block: taking a lock that is already held is a deadlock that
 * would hang a real kernel, and is reported as a LockOrderViolation instead.
 */

/** Ranks of the kernel's locks; a larger rank is taken later (inner). */
export const LockRank = {
  mmMappingMu: 10,
  shmRegistryMu: 20,
  shmSegmentMu: 30,
  semRegistryMu: 40,
  semSetMu: 41,
  msgRegistryMu: 50,
  msgQueueMu: 51,
} as const;

/** Thrown when code takes locks against the documented order. It is a bug in ipc-sentry. */
export class LockOrderViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockOrderViolation';
  }
}

/** Ranks are integers below this. */
const MAX_RANK = 1024;

/**
 * The current thread's held locks, as a chain of ranks: chain[0] is the
 * rank of the innermost held lock (FLOOR when none is held), and while the
 * lock of rank r is held, chain[r + 1] is the rank of the lock held just
 * outside it. A held set is strictly increasing in rank (that is the order
 * being checked), so no two held locks share a rank and the rank names the
 * lock's link. Ranks, not the Mutex objects: storing a just-made segment's
 * Mutex into a long-lived array is an old-to-young pointer, which costs the
 * engine a remembered-set entry on every lock.
 *
 * lock and unlock stay a read, a test and two writes each: they are on every
 * syscall's hot path (docs/architecture.md, Hot paths). Linking by rank also
 * lets a lock released out of order be unlinked from the chain.
 */
const FLOOR = -0x80000000;
const chain = new Int32Array(MAX_RANK + 1);
chain[0] = FLOOR;

/**
 * A name for each rank, for LockOrderViolation messages: the first Mutex
 * made with a rank names it. The kernel's ranks are one per lock class.
 */
const rankNames: (string | undefined)[] = new Array<string | undefined>(MAX_RANK).fill(undefined);

/** How many locks the current thread holds; zero between syscalls. */
export function heldLockCount(): number {
  let n = 0;
  for (let r = chain[0]!; r !== FLOOR; r = chain[r + 1]!) n += 1;
  return n;
}

/**
 * What users of a lock call: a Mutex, or an object that keeps its own lock
 * word (an embedded lock, below).
 */
export interface Lock {
  readonly name: string;
  readonly rank: number;
  lock(): void;
  unlock(): void;
  isLocked(): boolean;
  with<T>(fn: () => T): T;
}

/**
 * A lock kept as a flag inside the object it guards, for objects a
 * namespace holds by the tens of thousands (a semaphore set): a separate
 * Mutex is one more heap object, and one more cache line, per object and
 * per call. Its owner's lock() and unlock() call lockEmbedded and
 * unlockEmbedded, which follow Mutex.lock and Mutex.unlock step for step;
 * the rank and name are usually prototype getters, so they cost no field.
 */
export interface EmbeddedLock {
  locked: boolean;
  readonly name: string;
  readonly rank: number;
}

/** Mutex.lock for an embedded lock. */
export function lockEmbedded(l: EmbeddedLock): void {
  const c = chain;
  const r = l.rank;
  const inner = c[0]!;
  if (inner >= r) refuseLock(l.name, r, l.locked);
  c[r + 1] = inner;
  c[0] = r;
  l.locked = true;
}

/** Mutex.unlock for an embedded lock. */
export function unlockEmbedded(l: EmbeddedLock): void {
  const c = chain;
  const r = l.rank;
  if (c[0] === r && l.locked) {
    c[0] = c[r + 1]!;
    l.locked = false;
    return;
  }
  unlockOutOfOrder(l.name, r, l.locked);
  l.locked = false;
}

/**
 * The order test of lockEmbedded alone, for a critical section that runs no
 * code able to look at a lock: it takes no other lock and calls out to
 * nothing that could. One JavaScript thread runs such a section from start
 * to end, so nobody sees the lock held in between, and the order test is
 * all that taking and releasing it would show. Throws as lockEmbedded would.
 */
export function checkEmbeddedOrder(l: EmbeddedLock): void {
  if (chain[0]! >= l.rank) refuseLock(l.name, l.rank, l.locked);
}

/** Throws the LockOrderViolation that a lock() (a Mutex's or an embedded one's) ran into: its cold path. */
function refuseLock(name: string, rank: number, locked: boolean): never {
  if (locked) throw new LockOrderViolation(`${name} is already held: this would deadlock`);
  const inner = chain[0]!;
  throw new LockOrderViolation(`taking ${name} (rank ${rank}) while holding ${rankNames[inner] ?? 'a lock'} (rank ${inner})`);
}

/** An unlock() of a lock held outside the innermost one: unlinks it, or throws if it is not held. */
function unlockOutOfOrder(name: string, r: number, locked: boolean): void {
  // Find the held lock just inside this one: the link that names r.
  let inside = chain[0]!;
  while (inside !== FLOOR && chain[inside + 1] !== r) inside = chain[inside + 1]!;
  if (inside === FLOOR || !locked) throw new LockOrderViolation(`${name} unlocked but not held`);
  chain[inside + 1] = chain[r + 1]!;
}

/** Names `rank` in LockOrderViolation messages unless a lock already does (an embedded lock's owner calls it once). */
export function nameRank(rank: number, name: string): void {
  if (rankNames[rank] === undefined) rankNames[rank] = name;
}

/** A non-reentrant mutex with a rank in the kernel's lock order. */
export class Mutex implements Lock {
  private locked = false;

  constructor(
    readonly name: string,
    readonly rank: number,
  ) {
    if (!(Number.isInteger(rank) && rank >= 0 && rank < MAX_RANK)) throw new RangeError(`lock rank ${rank} must be an integer in [0, ${MAX_RANK})`);
    if (rankNames[rank] === undefined) rankNames[rank] = name;
  }

  /** Takes the lock; throws LockOrderViolation if that would break the order. */
  lock(): void {
    const c = chain;
    const r = this.rank;
    const inner = c[0]!;
    // A held lock's rank is in the chain, so the order test also catches a relock.
    if (inner >= r) refuseLock(this.name, r, this.locked);
    c[r + 1] = inner;
    c[0] = r;
    this.locked = true;
  }

  /**
   * lock() and unlock() for a critical section that runs no code able to
   * look at a lock (checkEmbeddedOrder's case): throws as lock() would when
   * the lock could not be taken now, and otherwise changes nothing.
   */
  checkOrder(): void {
    if (chain[0]! >= this.rank) refuseLock(this.name, this.rank, this.locked);
  }

  /** Releases the lock; it must be held. */
  unlock(): void {
    const c = chain;
    const r = this.rank;
    // Locks are almost always released innermost first.
    if (c[0] === r && this.locked) {
      c[0] = c[r + 1]!;
      this.locked = false;
      return;
    }
    unlockOutOfOrder(this.name, r, this.locked);
    this.locked = false;
  }

  /** True while some caller holds the lock. */
  isLocked(): boolean {
    return this.locked;
  }

  /** Runs `fn` with the lock held and releases it however `fn` returns. */
  with<T>(fn: () => T): T {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }
}
