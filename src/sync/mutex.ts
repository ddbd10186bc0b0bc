/**
 * Mutexes with a rank, so the lock order of DESIGN.md is a checked contract.
 *
 * Lock order (outermost first), as in gVisor's sentry:
 *
 *   mm.mappingMu  →  shm.Registry.mu  →  shm.Shm.mu
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
 * The ranks of the locks the current thread holds, innermost at
 * ranks[depth], with ranks[0] a floor below every rank. Ranks, not the
 * Mutex objects: storing a just-made segment's Mutex into a long-lived array
 * is an old-to-young pointer, which costs the engine a remembered-set entry
 * on every lock (a twelfth of a shmget+IPC_RMID pair). A held stack is
 * strictly increasing in rank (that is the order being checked), so a rank
 * also says where its lock sits, and the stack never holds more than
 * MAX_RANK entries. The state lives in one object rather than module-level
 * `let`s, which the engine guards with a hole check on every access.
 *
 * lock and unlock are kept to a few bytecodes: they are inlined into every
 * syscall path, and their size counts against the engine's inlining budget
 * for the rest of the path.
 */
const FLOOR = -0x80000000;
const lockState = {
  ranks: new Int32Array(MAX_RANK + 1).fill(FLOOR),
  depth: 0,
};

/**
 * A name for each rank, for LockOrderViolation messages: the first Mutex
 * made with a rank names it. The kernel's ranks are one per lock class.
 */
const rankNames: (string | undefined)[] = new Array<string | undefined>(MAX_RANK).fill(undefined);

/** How many locks the current thread holds; zero between syscalls. */
export function heldLockCount(): number {
  return lockState.depth;
}

/** A non-reentrant mutex with a rank in the kernel's lock order. */
export class Mutex {
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
    const st = lockState;
    const depth = st.depth;
    // A held lock's rank is on the stack, so the order test also catches a relock.
    if (st.ranks[depth]! >= this.rank) this.refuseLock(depth);
    this.locked = true;
    st.ranks[depth + 1] = this.rank;
    st.depth = depth + 1;
  }

  /** Releases the lock; it must be held. */
  unlock(): void {
    const st = lockState;
    const top = st.depth;
    // Locks are almost always released innermost first.
    if (st.ranks[top] === this.rank && this.locked) {
      st.depth = top - 1;
      this.locked = false;
      return;
    }
    this.unlockOutOfOrder();
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

  /** Throws the LockOrderViolation that lock() at `depth` ran into (its cold path). */
  private refuseLock(depth: number): never {
    if (this.locked) throw new LockOrderViolation(`${this.name} is already held: this would deadlock`);
    const inner = lockState.ranks[depth]!;
    throw new LockOrderViolation(`taking ${this.name} (rank ${this.rank}) while holding ${rankNames[inner] ?? 'a lock'} (rank ${inner})`);
  }

  /** unlock() of a lock below the top of the held stack: closes the gap, or throws if it is not held. */
  private unlockOutOfOrder(): void {
    const st = lockState;
    const ranks = st.ranks;
    const top = st.depth;
    let at = top;
    while (at > 0 && ranks[at] !== this.rank) at -= 1;
    if (at === 0 || !this.locked) throw new LockOrderViolation(`${this.name} unlocked but not held`);
    ranks.copyWithin(at, at + 1, top + 1);
    ranks[top] = FLOOR;
    st.depth = top - 1;
    this.locked = false;
  }
}
