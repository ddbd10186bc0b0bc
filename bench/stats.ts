/**
 * Sampling for the TypeScript side of the benchmark: one untimed warm-up
 * sample, then a fixed number of timed samples, reported as their median.
 * The native side (bench/native/shmbench.c) follows the same plan.
 */
import { performance } from 'node:perf_hooks';

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Runs `once` (which performs its operations and returns how many units it
 * did: operations, pages or bytes) once to warm up and then `samples` times
 * timed; returns the median rate in units per second.
 */
export function measure(samples: number, once: () => number): { rates: number[]; median: number } {
  once();
  const rates: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const units = once();
    const t1 = performance.now();
    rates.push(units / ((t1 - t0) / 1000));
  }
  return { rates, median: median(rates) };
}

/**
 * Like measure, but `once` times itself (so that untimed setup can sit in the
 * sample) and returns units per second directly.
 */
export function measureTimed(samples: number, once: () => number): { rates: number[]; median: number } {
  once();
  const rates: number[] = [];
  for (let i = 0; i < samples; i++) rates.push(once());
  return { rates, median: median(rates) };
}
