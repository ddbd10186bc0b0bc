/**
 * docs/testing.md shows the example of test/testing/example.test.ts: the same
 * code, with the package imports in place of this repository's paths and
 * without the project's seed line. This keeps the two from drifting apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** The example test as a user writes it. */
function asUserCode(test: string): string {
  return test
    .slice(test.indexOf('import fc'))
    .replace("from '../../src/index.js'", "from 'ipc-sentry'")
    .replace("from '../../src/testing/index.js'", "from 'ipc-sentry/testing'")
    .replace("import { useSeed } from '../support/seed.js';\n", '')
    .replace('useSeed();\n', '');
}

describe('docs/testing.md', () => {
  it('shows test/testing/example.test.ts as it runs', () => {
    const blocks = [...read('docs/testing.md').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    const example = blocks.find((b) => b?.includes("describe('shm_nattch'"));
    expect(example).toBeDefined();
    expect(example).toBe(asUserCode(read('test/testing/example.test.ts')));
  });

  it('names every matcher of eitherMatchers', async () => {
    const { eitherMatchers } = await import('../../src/testing/index.js');
    const doc = read('docs/testing.md');
    for (const name of Object.keys(eitherMatchers)) expect(doc).toContain(`\`${name}(`);
  });
});
