/**
 * Sampling for the TypeScript side of the benchmark: one untimed warm-up
 * sample, then timed samples, reported as their median. The native side
 * (bench/native/shmbench.c) follows the same plan.
 */
import { performance } from 'node:perf_hooks';

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** One prepared test: each call of `sample` runs one timed sample and returns its rate. */
export interface Sampler {
  sample(): number;
}

/**
 * A Sampler over `once` (which performs its operations and returns how many
 * units it did: operations, pages or bytes), timed around each call, in
 * units per second. `once` runs once here, untimed, to warm up.
 */
export function timedSampler(once: () => number): Sampler {
  once();
  return {
    sample(): number {
      const t0 = performance.now();
      const units = once();
      const t1 = performance.now();
      return units / ((t1 - t0) / 1000);
    },
  };
}

/**
 * Like timedSampler, but `once` times itself (so that untimed setup can sit
 * in the sample) and returns units per second directly.
 */
export function selfTimedSampler(once: () => number): Sampler {
  once();
  return { sample: once };
}

/** `samples` samples of `sampler`, and their median. */
export function collect(sampler: Sampler, samples: number): { rates: number[]; median: number } {
  const rates: number[] = [];
  for (let i = 0; i < samples; i++) rates.push(sampler.sample());
  return { rates, median: median(rates) };
}
