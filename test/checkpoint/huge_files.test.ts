/**
 * Files past 2^53 bytes (tmpfs goes to 2^63 - 1) checkpoint and restore
 * exactly: sizes and file positions beyond a JSON number's exact range are
 * written as decimal strings, and the one page at 2^62 comes back.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_READ } from '../../src/abi/constants.js';
import { MAP_SHARED, O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';
import { openImage, reseal } from './reseal.js';

describe('a sparse file past 2^53 bytes', () => {
  it('round-trips byte for byte, with its size, its page and an open file position', () => {
    const kernel = new Kernel();
    const p = kernel.spawn();
    const fd = ok(p.open('/big', O_RDWR | O_CREAT, 0o644));
    expect(ok(p.pwrite(fd, new TextEncoder().encode('!'), 2n ** 62n))).toBe(1);
    expect(ok(p.stat('/big')).size).toBe(2n ** 62n + 1n);
    const image = ok(checkpoint(kernel));
    const copy = ok(restore(image));
    expect(E.isRight(checkInvariants(copy))).toBe(true);
    expect(Buffer.compare(Buffer.from(ok(checkpoint(copy))), Buffer.from(image))).toBe(0);
    const twin = copy.processes().find((q) => q.pid === p.pid)!;
    expect(ok(twin.stat('/big')).size).toBe(2n ** 62n + 1n);
    expect(new TextDecoder().decode(ok(twin.pread(fd, 1, 2n ** 62n)))).toBe('!');
  });
});

describe('a mapping of a file at an offset past 2^53', () => {
  /** An image whose one file mapping starts at byte 2^62 of the file; its metadata, and the mapping's place in it. */
  function mapped(): { image: Uint8Array; meta: { processes: { vmas: { offset: unknown; object: { kind: string } }[] }[] } } {
    const kernel = new Kernel();
    const p = kernel.spawn();
    const fd = ok(p.open('/big', O_RDWR | O_CREAT, 0o644));
    ok(p.ftruncate(fd, 2n ** 62n + 2n * BigInt(PAGE_SIZE)));
    ok(p.mmap(fd, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, 2n ** 62n));
    const image = ok(checkpoint(kernel));
    return { image, meta: openImage(image).meta as ReturnType<typeof mapped>['meta'] };
  }

  it('writes the offset as a decimal string, and a safe one as a number as before', () => {
    const { meta } = mapped();
    const vmas = meta.processes[0]!.vmas;
    expect(vmas.find((v) => v.object.kind === 'file')!.offset).toBe('4611686018427387904');
    expect(vmas.find((v) => v.object.kind === 'anon')!.offset).toBe(0);
  });

  it('refuses an offset that is not a page-aligned u64, or a number past 2^53', () => {
    const { image, meta } = mapped();
    const opened = openImage(image);
    const withOffset = (offset: unknown): E.Either<unknown, unknown> => {
      const copy = structuredClone(meta);
      copy.processes[0]!.vmas.find((v) => v.object.kind === 'file')!.offset = offset;
      return restore(reseal(opened, copy));
    };
    for (const bad of ['4611686018427387905', '18446744073709551616', '09223372036854771712', '-4096', 2 ** 62, 4097]) {
      expect(E.isLeft(withOffset(bad)), String(bad)).toBe(true);
    }
    // The last page file_mmap_ok allows stays valid; one page further passes 2^63 - 1.
    expect(E.isRight(withOffset(String(2n ** 63n - 3n * BigInt(PAGE_SIZE))))).toBe(true);
    expect(E.isLeft(withOffset(String(2n ** 63n - 2n * BigInt(PAGE_SIZE))))).toBe(true);
  });
});
