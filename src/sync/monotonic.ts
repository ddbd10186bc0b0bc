/**
 * The host's monotonic clock, for the core, which has no Node or DOM types:
 * whatever globalThis offers.
 */

/** The host's monotonic clock in milliseconds: performance.now() where the host has it (browsers, Node, Deno), else Date.now(). */
export function hostMonotonic(): () => number {
  const perf = (globalThis as { performance?: { now?: unknown } }).performance;
  if (perf !== undefined && typeof perf.now === 'function') {
    const now = perf.now as () => number;
    return () => now.call(perf);
  }
  return () => Date.now();
}
