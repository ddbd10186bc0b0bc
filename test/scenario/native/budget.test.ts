/**
 * The native backend's memory budget: what a program can make the kernel
 * hold, bounded from its text before anything runs.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { loadScenario, runOnKernel } from '../../../src/scenario/host.js';
import { checkNativeBudget, DEFAULT_NATIVE_BUDGET_BYTES } from '../../../src/scenario/native/budget.js';
import { lines, program } from '../helpers.js';

const GiB = 1n << 30n;
const over = (text: string, budget = GiB): string | undefined => {
  const r = checkNativeBudget(program(text), budget);
  return r === undefined ? undefined : `${r.line}: ${r.message}`;
};

const FILE = ['proc A', 'A open /mnt/t/f O_CREAT|O_RDWR -> fd'];

describe('checkNativeBudget', () => {
  it('refuses a huge fallocate on an unlimited tmpfs, naming its line', () => {
    expect(over(lines('tmpfs mount /mnt/t size=0', ...FILE, 'A fallocate fd 0 12G'))).toBe(
      "4: fallocate of 12 GiB could make the kernel hold 12 GiB of memory in all, more than the native backend's budget of 1 GiB (raise it with --native-budget)",
    );
  });

  it('lets a tmpfs size cap what its files can hold', () => {
    expect(over(lines('tmpfs mount /mnt/t size=64M', ...FILE, 'A fallocate fd 0 12G', 'A dd if=/dev/zero of=/mnt/t/g bs=1M count=100000'))).toBeUndefined();
  });

  it('counts paths outside any tmpfs mount against the unlimited root, and bind mounts against their source', () => {
    expect(over(lines('proc A', 'A dd if=/dev/zero of=/big bs=1M count=2048'))).toMatch(/^2: dd of 1 MiB x 2048 could make the kernel hold 2049 MiB/);
    const bound = lines('tmpfs mount /mnt/t size=16M', 'host mkdir /b', 'mount --bind /mnt/t /b', 'proc A', 'A dd if=/dev/zero of=/b/f bs=1M count=4096');
    expect(over(bound)).toBeUndefined();
  });

  it('adds up across lines and names the one that crosses the budget', () => {
    const text = lines('tmpfs mount /mnt/t size=0', ...FILE, ...Array.from({ length: 5 }, () => 'A write fd bytes=256M'));
    expect(over(text)).toMatch(/^8: file write of 256 MiB could make the kernel hold 1280 MiB/);
    expect(over(text, 2n * GiB)).toBeUndefined();
  });

  it('counts touched shared memory, at most the size of what was mapped', () => {
    const fills = Array.from({ length: 80 }, (_, i) => `A fill a+${i * 16 * 1024 * 1024} 16M 0x41`);
    expect(over(lines('proc A', 'A shmget IPC_PRIVATE 2G 0600 -> s', 'A shmat s 0 0 -> a', ...fills))).toMatch(
      /^67: fill of 16 MiB could make the kernel hold/,
    );
    const again = Array.from({ length: 80 }, () => 'A fill a 16M 0x41');
    expect(over(lines('proc A', 'A shmget IPC_PRIVATE 16M 0600 -> s', 'A shmat s 0 0 -> a', ...again))).toBeUndefined();
  });

  it("checks dd's buffer beside what is held", () => {
    const text = lines('tmpfs mount /mnt/t size=4K', 'proc A', 'A dd if=/dev/zero of=/mnt/t/f bs=64M count=1');
    expect(over(text, 32n << 20n)).toMatch(/^3: dd of 64 MiB x 1 could make the kernel hold 65540 KiB/);
  });

  it('passes every example with the default budget', () => {
    const dir = join(import.meta.dirname, '..', '..', '..', 'examples');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.scn'))) {
      const p = loadScenario(join(dir, name));
      if (E.isLeft(p)) throw new Error(`${name} does not parse`);
      expect(checkNativeBudget(p.right, BigInt(DEFAULT_NATIVE_BUDGET_BYTES)), name).toBeUndefined();
    }
  });

  it('makes runOnKernel refuse before the oracle runs, with the line', () => {
    const r = runOnKernel(program(lines('tmpfs mount /mnt/t size=0', ...FILE, 'A fallocate fd 0 12G')));
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'unavailable', line: 4 });
    const small = runOnKernel(program(lines('proc A', 'A shmget IPC_PRIVATE 1M 0600 -> s', 'A shmat s 0 0 -> a', 'A fill a 64K 1')), {
      nativeBudgetBytes: 16384,
    });
    expect(E.isLeft(small) && small.left).toMatchObject({ kind: 'unavailable', line: 4 });
  });
});
