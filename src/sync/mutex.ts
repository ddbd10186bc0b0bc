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
 * syscall, so the stack must not grow and shrink its storage each time.
 */
const MAX_DEPTH = 64;
const held: Array<Mutex | undefined> = new Array<Mutex | undefined>(MAX_DEPTH).fill(undefined);
let depth = 0;
let checking = true;

/** Turns lock-order checking on or off (on by default, and always on in tests). */
export function setLockChecking(on: boolean): void {
  checking = on;
}

/** How many locks the current thread holds; zero between syscalls. */
export function heldLockCount(): number {
  return depth;
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
    if (this.locked) {
      throw new LockOrderViolation(`${this.name} is already held: this would deadlock`);
    }
    if (checking && depth > 0) {
      const inner = held[depth - 1]!;
      if (inner.rank >= this.rank) {
        throw new LockOrderViolation(
          `taking ${this.name} (rank ${this.rank}) while holding ${inner.name} (rank ${inner.rank})`,
        );
      }
    }
    if (depth === MAX_DEPTH) throw new LockOrderViolation(`more than ${MAX_DEPTH} locks held at once`);
    this.locked = true;
    held[depth] = this;
    depth += 1;
  }

  /** Releases the lock; it must be held. */
  unlock(): void {
    if (!this.locked) throw new LockOrderViolation(`${this.name} unlocked but not held`);
    // Locks are almost always released innermost first; otherwise close the gap.
    let at = depth - 1;
    while (at >= 0 && held[at] !== this) at -= 1;
    if (at < 0) throw new LockOrderViolation(`${this.name} unlocked but not held`);
    for (let i = at; i < depth - 1; i += 1) held[i] = held[i + 1];
    depth -= 1;
    held[depth] = undefined;
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
