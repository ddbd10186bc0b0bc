/**
 * The fast-check seed of this test run. vitest.config.ts picks it once (from
 * FC_SEED, or fresh), prints it, and hands it to every worker through the
 * environment, so a CI failure replays with FC_SEED=<seed>.
 */
import fc from 'fast-check';

const fromEnv = process.env['FC_SEED'] ?? '';

/** The run's seed. */
export const seed: number = Number(fromEnv);

/** Configures fast-check globally with the run's seed. */
export function useSeed(): void {
  if (fromEnv === '' || !Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer, got "${fromEnv}"`);
  fc.configureGlobal({ seed });
}
