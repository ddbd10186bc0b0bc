import { defineConfig } from 'vitest/config';

// `npm run test:web`: the teaching page in a real Chromium (test/web/*.browser.ts),
// kept out of the default suite, which never starts a browser. .ci/run adds
// these counts to its closing line.
export default defineConfig({
  test: {
    include: ['test/web/**/*.browser.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
