/**
 * The memory rows, run in a child process started with --expose-gc (see
 * main.ts): the SharedArrayBuffer bytes of a fresh kernel that touched one
 * page, what ipc-sentry holds for an untouched 1 GiB segment, and per
 * touched page. Prints one JSON object on stdout.
 *
 * The fresh kernel's figure counts the bytes of every SharedArrayBuffer
 * constructed while it is made and one page is touched (the global
 * constructor is wrapped first, and nothing is pooled yet in this process),
 * so it does not rest on the kernel's own memoryUsage(), which is printed
 * beside it.
 *
 *   memory.ts SEGMENTS TOUCH_MIB
 *
 * "Held" is process.memoryUsage() heapUsed + arrayBuffers after a full GC
 * (arrayBuffers counts every ArrayBuffer and SharedArrayBuffer backing
 * store; `external` misses SharedArrayBuffers on Node 20), minus the same
 * figure before, divided by the number of segments (pages).
 * Each segment is created and attached, as a program would use it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_CREAT, IPC_PRIVATE, Kernel, PAGE_SIZE } from '../src/node/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('bench/memory.ts needs node --expose-gc\n');
  process.exit(2);
}

function held(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** ArrayBuffer and SharedArrayBuffer bytes of every kind after two full GCs. */
function arrayBuffers(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().arrayBuffers;
}

function ok<T>(r: E.Either<unknown, T>, what: string): T {
  if (E.isLeft(r)) throw new Error(`${what} failed: ${JSON.stringify(r.left)}`);
  return r.right;
}

// SharedArrayBuffer bytes constructed while `counting`; installed before any kernel exists.
let counting = false;
let sabBytes = 0;
const Original = globalThis.SharedArrayBuffer;
globalThis.SharedArrayBuffer = new Proxy(Original, {
  construct(target, args: [number?, ...unknown[]]) {
    if (counting) sabBytes += Number(args[0] ?? 0);
    return Reflect.construct(target, args);
  },
});

// What the process makes once for every kernel comes first, uncounted: a
// kernel that stamps a time (shmget) starts the process-wide clock thread
// and its 8-byte tick word. It touches no page, so the pool stays empty.
{
  const warm = new Kernel();
  const wp = warm.spawn();
  ok(wp.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600), 'shmget');
  warm.dispose();
}

// A fresh kernel that touched one page, as a property test's example leaves it.
const ab0 = arrayBuffers();
counting = true;
const small = new Kernel();
const sp = small.spawn();
const sa = ok(sp.shmat(ok(sp.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600), 'shmget'), 0, 0), 'shmat');
ok(sp.write(sa, new Uint8Array([1])), 'write');
counting = false;
const freshKernelArrayBufferBytes = arrayBuffers() - ab0;
const freshKernelSabBytes = sabBytes;
const freshKernelReportedBytes = small.memoryUsage().sabBytes;
small.dispose();

const segments = Number(process.argv[2] ?? 200);
const touchMiB = Number(process.argv[3] ?? 128);
const GiB = 2 ** 30;

// Untouched 1 GiB segments. The kernel and process exist before the baseline,
// so only what each segment adds is counted.
const kernel = new Kernel();
const p = kernel.spawn();
// One segment created and dropped first, so lazily built shared state is in the baseline.
ok(p.shmat(ok(p.shmget(IPC_PRIVATE, GiB, IPC_CREAT | 0o600), 'shmget'), 0, 0), 'shmat');
const reserved0 = kernel.memoryFile.reservedBytes;
const frames0 = kernel.memoryFile.allocatedFrames;
const before = held();
const keep: number[] = [];
for (let i = 0; i < segments; i++) {
  const id = ok(p.shmget(IPC_PRIVATE, GiB, IPC_CREAT | 0o600), 'shmget');
  keep.push(ok(p.shmat(id, 0, 0), 'shmat'));
}
const after = held();
const untouchedBytes = (after - before) / segments;
const untouchedFrames = (kernel.memoryFile.allocatedFrames - frames0) / segments;
const untouchedReserved = (kernel.memoryFile.reservedBytes - reserved0) / segments;

// Touched pages: one byte written into each page of a fresh segment, on a
// fresh kernel (so its MemoryFile chunks are created by these touches).
const k2 = new Kernel();
const q = k2.spawn();
const bytes = touchMiB * 2 ** 20;
const id = ok(q.shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0o600), 'shmget');
const a = ok(q.shmat(id, 0, 0), 'shmat');
const one = new Uint8Array([1]);
const pages = bytes / PAGE_SIZE;
const t0 = held();
for (let i = 0; i < pages; i++) ok(q.write(a + i * PAGE_SIZE, one), 'write');
const t1 = held();

process.stdout.write(
  `${JSON.stringify({
    freshKernelSabBytes,
    freshKernelReportedBytes,
    freshKernelArrayBufferBytes,
    segments,
    untouchedBytes,
    untouchedFrames,
    untouchedReserved,
    pages,
    touchedBytesPerPage: (t1 - t0) / pages,
    touchedFramesPerPage: k2.memoryFile.allocatedFrames / pages,
    attached: keep.length,
  })}\n`,
);
