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

/**
 * The locks the current thread holds, innermost at held[depth-1]. A fixed
 * array with a depth counter: locks nest a few deep and are taken on every
 * syscall, so the stack must not grow and shrink its storage each time. The
 * state lives in one object rather than module-level `let`s, which the
 * engine guards with a hole check on every access.
 */
const MAX_DEPTH = 64;
const lockState = {
  held: new Array<Mutex | undefined>(MAX_DEPTH).fill(undefined),
  depth: 0,
  checking: true,
};

/** Turns lock-order checking on or off (on by default, and always on in tests). */
export function setLockChecking(on: boolean): void {
  lockState.checking = on;
}

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
  ) {}

  /** Takes the lock; throws LockOrderViolation if that would break the order. */
  lock(): void {
    const st = lockState;
    const depth = st.depth;
    // One test for the common case; the rest is the cold path, kept out of line so that lock inlines.
    if (this.locked || (depth > 0 && st.checking && st.held[depth - 1]!.rank >= this.rank) || depth === MAX_DEPTH) {
      this.refuseLock(depth);
    }
    this.locked = true;
    st.held[depth] = this;
    st.depth = depth + 1;
  }

  /** Releases the lock; it must be held. */
  unlock(): void {
    const st = lockState;
    const top = st.depth - 1;
    // Locks are almost always released innermost first.
    if (top >= 0 && st.held[top] === this) {
      st.held[top] = undefined;
      st.depth = top;
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
    const inner = lockState.held[depth - 1];
    if (depth > 0 && lockState.checking && inner !== undefined && inner.rank >= this.rank) {
      throw new LockOrderViolation(`taking ${this.name} (rank ${this.rank}) while holding ${inner.name} (rank ${inner.rank})`);
    }
    throw new LockOrderViolation(`more than ${MAX_DEPTH} locks held at once`);
  }

  /** unlock() of a lock below the top of the held stack: closes the gap, or throws if it is not held. */
  private unlockOutOfOrder(): void {
    const st = lockState;
    const held = st.held;
    const top = st.depth - 1;
    let at = top;
    while (at >= 0 && held[at] !== this) at -= 1;
    if (at < 0 || !this.locked) throw new LockOrderViolation(`${this.name} unlocked but not held`);
    for (let i = at; i < top; i += 1) held[i] = held[i + 1];
    held[top] = undefined;
    st.depth = top;
    this.locked = false;
  }
}
