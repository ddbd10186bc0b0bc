/**
 * mmap of a tmpfs file at offsets past 2^53 (up to the last mappable page
 * below 2^63): the VMA keeps its page-aligned offset exactly, faults reach
 * the right file page, splits advance the offset exactly, and a checkpoint
 * carries it. The bytes are checked through pread/pwrite, which address
 * the file by exact bigint offsets.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import { MAP_SHARED, O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { MemoryManager } from '../../src/mm/memory_manager.js';
import { runOnEmulator, runOnKernel } from '../../src/scenario/host.js';
import { nativeAvailable } from '../../src/scenario/native/native.js';
import { parseScenario } from '../../src/scenario/parse/parse.js';
import type { OutputLine } from '../../src/scenario/result/normalize.js';
import { errno, ok, signal } from '../support/either.js';
import { FakeObject, ctxOf } from './fake_mappable.js';

const P62 = 2n ** 62n;
const PAGE = BigInt(PAGE_SIZE);
const RW = PROT_READ | PROT_WRITE;
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A process with /f open read-write, a sparse file `size` bytes long. */
function sparseFile(size: bigint): { kernel: Kernel; p: Process; fd: number } {
  const kernel = new Kernel({ memTotalBytes: 64 << 20 });
  const p = kernel.spawn();
  const fd = ok(p.open('/f', O_RDWR | O_CREAT, 0o644));
  ok(p.ftruncate(fd, size));
  return { kernel, p, fd };
}

describe('mmap at a file offset past 2^53', () => {
  it('maps 2^62 exactly: bytes written through the mapping land at 2^62 + k, and pwrite shows through it', () => {
    const { p, fd } = sparseFile(P62 + 4n * PAGE);
    const addr = ok(p.mmap(fd, 4 * PAGE_SIZE, RW, MAP_SHARED, P62));
    const vma = p.mm.vmas().find((v) => v.start === addr)!;
    expect(BigInt(vma.offset)).toBe(P62);
    // A byte that is not page aligned: 2^62 + PAGE + 5 is no double, so only exact page arithmetic gets it right.
    ok(p.write(addr + PAGE_SIZE + 5, bytes('mapped')));
    expect(text(ok(p.pread(fd, 6, P62 + PAGE + 5n)))).toBe('mapped');
    expect(text(ok(p.pread(fd, 1, P62 + PAGE + 4n)))).toBe('\0');
    ok(p.pwrite(fd, bytes('filed'), P62 + 3n * PAGE + 4091n));
    // Crossing from the third page into the fourth.
    expect(text(ok(p.read(addr + 3 * PAGE_SIZE + 4091, 5)))).toBe('filed');
    // The atomic path computes its page on its own.
    ok(p.pwrite(fd, new Uint8Array([7, 0, 0, 0]), P62 + 2n * PAGE + 8n));
    expect(ok(p.mm.atomicLoad32(addr + 2 * PAGE_SIZE + 8))).toBe(7);
  });

  it('a page past the end of the file is SIGBUS, as at small offsets', () => {
    const { p, fd } = sparseFile(P62 + PAGE + 1n);
    const addr = ok(p.mmap(fd, 4 * PAGE_SIZE, PROT_READ, MAP_SHARED, P62));
    expect(ok(p.read(addr + 2 * PAGE_SIZE - 1, 1))).toEqual(new Uint8Array(1));
    expect(signal(p.read(addr + 2 * PAGE_SIZE, 1))).toBe('SIGBUS');
  });

  it('maps the last page file_mmap_ok allows, below 2^63 - 1', () => {
    const last = 2n ** 63n - 2n * PAGE;
    const { p, fd } = sparseFile(2n ** 63n - 1n);
    const addr = ok(p.mmap(fd, PAGE_SIZE, RW, MAP_SHARED, last));
    ok(p.write(addr + 4095, bytes('z')));
    expect(text(ok(p.pread(fd, 1, last + 4095n)))).toBe('z');
  });

  it('mprotect and munmap splits advance the offset of the upper piece exactly', () => {
    const { p, fd } = sparseFile(P62 + 8n * PAGE);
    const addr = ok(p.mmap(fd, 8 * PAGE_SIZE, RW, MAP_SHARED, P62));
    ok(p.mprotect(addr + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ));
    ok(p.munmap(addr + 5 * PAGE_SIZE, PAGE_SIZE));
    const mine = p.mm.vmas().filter((v) => v.start >= addr && v.end <= addr + 8 * PAGE_SIZE);
    const pieces = mine.map((v) => [v.start - addr, BigInt(v.offset) - P62, v.perms]);
    expect(pieces).toEqual([
      [0, 0n, RW],
      [2 * PAGE_SIZE, 2n * PAGE, PROT_READ],
      [4 * PAGE_SIZE, 4n * PAGE, RW],
      [6 * PAGE_SIZE, 6n * PAGE, RW],
    ]);
    ok(p.write(addr + 6 * PAGE_SIZE + 1, bytes('six')));
    expect(text(ok(p.pread(fd, 3, P62 + 6n * PAGE + 1n)))).toBe('six');
    expect(signal(p.write(addr + 2 * PAGE_SIZE, bytes('no')))).toBe('SIGSEGV');
  });

  it('checkpoint and restore keep the offsets, the bytes and the image', () => {
    const { kernel, p, fd } = sparseFile(P62 + 8n * PAGE);
    const addr = ok(p.mmap(fd, 8 * PAGE_SIZE, RW, MAP_SHARED, P62));
    ok(p.mprotect(addr + 4 * PAGE_SIZE, PAGE_SIZE, PROT_READ));
    ok(p.write(addr + 5 * PAGE_SIZE + 9, bytes('kept')));
    const image = ok(checkpoint(kernel));
    const copy = ok(restore(image));
    expect(E.isRight(checkInvariants(copy))).toBe(true);
    expect(Buffer.compare(Buffer.from(ok(checkpoint(copy))), Buffer.from(image))).toBe(0);
    const twin = copy.processes().find((q) => q.pid === p.pid)!;
    const mine = twin.mm.vmas().filter((v) => v.start >= addr && v.end <= addr + 8 * PAGE_SIZE);
    expect(mine.map((v) => BigInt(v.offset) - P62)).toEqual([0n, 4n * PAGE, 5n * PAGE]);
    expect(text(ok(twin.read(addr + 5 * PAGE_SIZE + 9, 4)))).toBe('kept');
    ok(twin.write(addr + 7 * PAGE_SIZE + 4095, bytes('!')));
    expect(text(ok(twin.pread(fd, 1, P62 + 8n * PAGE - 1n)))).toBe('!');
  });
});

describe('MemoryManager.mmap offsets', () => {
  it('takes any page-aligned offset below 2^64 and refuses the rest with EINVAL', () => {
    const mf = new MemoryFile();
    const mm = new MemoryManager({ memoryFile: mf });
    const obj = new FakeObject(mf, PAGE_SIZE);
    const ctx = ctxOf(1);
    const map = (offset: number) =>
      mm.mmap(ctx, { length: PAGE_SIZE, offset, perms: PROT_READ, maxPerms: PROT_READ, mappable: obj, identity: obj, writable: false });
    expect(errno(map(2 ** 62))).toBe('ok');
    expect(errno(map(2 ** 64 - PAGE_SIZE))).toBe('ok');
    expect(errno(map(2 ** 64))).toBe('EINVAL');
    expect(errno(map(4097))).toBe('EINVAL');
    expect(errno(map(2 ** 62 + 2048))).toBe('EINVAL');
    expect(errno(map(-PAGE_SIZE))).toBe('EINVAL');
    expect(errno(map(Number.NaN))).toBe('EINVAL');
    expect(errno(map(Number.POSITIVE_INFINITY))).toBe('EINVAL');
  });
});

/**
 * The same on the real kernel: a scenario with its answers written in, run
 * on the emulator, and on the native oracle where it can run (skipped with
 * the reason where it cannot).
 */
const SCENARIO = String.raw`host mkdir /mnt/t
tmpfs mount /mnt/t size=32M
proc A
A open /mnt/t/huge O_RDWR|O_CREAT -> f                                => ok
A ftruncate f 0x4000000000008000                                      => ok
A mmap f 32768 PROT_READ|PROT_WRITE MAP_SHARED 0x4000000000000000 -> m => ok
A write m+4101 "mapped"                                               => ok
A pread f 8 0x4000000000001004                                        => ok ret=8 data="\x00mapped\x00"
A pwrite f "filed" 0x4000000000003ffb                                 => ok ret=5
A read m+16379 5                                                      => ok data="filed"
A mprotect m+8192 8192 PROT_READ                                      => ok
A munmap m+20480 4096                                                 => ok
A write m+24577 "six"                                                 => ok
A pread f 3 0x4000000000006001                                        => ok data="six"
A write m+8192 "no"                                                   => SIGSEGV
A mmap f 8192 PROT_READ MAP_SHARED 0x4000000000006000 -> n            => ok
A read n+1 3                                                          => ok data="six"
A ftruncate f 0x4000000000006001                                      => ok
A read n+4095 1                                                       => ok data="\x00"
A read n+4096 1                                                       => SIGBUS
A mmap f 4096 PROT_READ|PROT_WRITE MAP_SHARED 0x7fffffffffffe000 -> z  => ok
A read z 1                                                            => SIGBUS
A ftruncate f 0x7fffffffffffffff                                      => ok
A write z+4095 "z"                                                    => ok
A pread f 1 0x7fffffffffffefff                                        => ok data="z"
A close f                                                             => ok
`;

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;

describe('a scenario mapping a file past 2^53', () => {
  const parsed = parseScenario(SCENARIO, 'huge-mmap.scn');
  if (E.isLeft(parsed)) throw new Error(parsed.left.map((e) => `${e.line}:${e.col}: ${e.message}`).join('\n'));
  const program = parsed.right;
  const answer = ({ expect: _note, ...rest }: OutputLine): OutputLine => rest;

  it('meets every written answer on the emulator', () => {
    expect(runOnEmulator(program).run.failures).toEqual([]);
  });

  it.skipIf(unavailable !== undefined)(
    `prints the emulator's lines on the real kernel${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
    (ctx) => {
      const native = runOnKernel(program);
      if (E.isLeft(native)) {
        if (native.left.kind === 'unavailable') ctx.skip(`the native backend cannot run this scenario: ${native.left.reason}`);
        throw new Error(`the native oracle failed: ${JSON.stringify(native.left)}`);
      }
      expect(native.right.failures).toEqual([]);
      expect(native.right.lines.map(answer)).toEqual(runOnEmulator(program).run.lines.map(answer));
    },
  );
});
