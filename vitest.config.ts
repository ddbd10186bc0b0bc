import { defineConfig } from 'vitest/config';

// One fast-check seed per run: FC_SEED from the environment (to replay a
// failure), else a fresh one. Workers inherit it; it is printed once here.
if (process.env['FC_SEED'] === undefined || process.env['FC_SEED'] === '') {
  process.env['FC_SEED'] = String((Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0);
}
console.log(`fast-check seed: ${process.env['FC_SEED']} (replay with FC_SEED=${process.env['FC_SEED']} npm test)`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
