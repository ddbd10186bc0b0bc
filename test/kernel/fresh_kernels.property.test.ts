/**
 * The "many small kernels" example of docs/testing.md, kept runnable (the
 * package imports spelled as paths into this repository, plus the seed
 * line): a fresh kernel per example, disposed by `using`, so each one takes
 * the chunk the last one gave back; plain checks instead of an expect per
 * call. The property also checks that what one kernel wrote never shows in
 * the next one's memory.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, Kernel } from '../../src/index.js';
import { deepEqual } from '../../src/testing/index.js';
import { useSeed } from '../support/seed.js';

useSeed();

/** The value of a call that must succeed; a Left throws, and fast-check reports the example. */
function ok<T>(r: { _tag: 'Left'; left: unknown } | { _tag: 'Right'; right: T }): T {
  if (r._tag === 'Left') throw new Error(JSON.stringify(r.left));
  return r.right;
}

describe('a fresh segment', () => {
  it('reads zero, and shows a write to every process that attaches it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(4095), (bytes, offset) => {
        using kernel = new Kernel(); // disposed when the example ends: its memory serves the next one
        const writer = kernel.spawn();
        const reader = kernel.spawn();
        const id = ok(writer.shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0o600));
        const at = ok(writer.shmat(id, 0, 0));
        const before = ok(writer.read(at + offset, bytes.length)); // nothing of an earlier kernel
        ok(writer.write(at + offset, bytes));
        const seen = ok(reader.shmat(id, 0, 0));
        const after = ok(reader.read(seen + offset, bytes.length));
        return before.every((b) => b === 0) && deepEqual(after, bytes);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('docs/testing.md', () => {
  it('shows this example as it runs here', () => {
    const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
    const blocks = [...read('docs/testing.md').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    const mine = read('test/kernel/fresh_kernels.property.test.ts');
    const asUserCode = mine
      .slice(mine.indexOf("import fc from 'fast-check';"), mine.indexOf("\ndescribe('docs/testing.md'"))
      .replace("import { describe, expect, it } from 'vitest';", "import { describe, it } from 'vitest';")
      .replace("from '../../src/index.js'", "from 'ipc-sentry'")
      .replace("from '../../src/testing/index.js'", "from 'ipc-sentry/testing'")
      .replace("import { useSeed } from '../support/seed.js';\n", '')
      .replace('useSeed();\n\n', '');
    expect(blocks).toContain(asUserCode);
  });
});
