/**
 * `npx tsx bench/fresh_kernel.ts [--root DIR] [--seconds S] [--rounds R]`:
 * how many fresh kernels per second run the sequence a property test's
 * example runs: new Kernel(), spawn one process, shmget 4 KiB, shmat, write
 * one byte, IPC_RMID, exit, and (when the kernel has it) dispose(). `--root`
 * names another checkout of ipc-sentry to measure (an older commit in a git
 * worktree), so before and after run in the same process shape. Each round
 * runs the sequence for S seconds (default 1) after a warm-up round; the
 * median and the best round's rate and time per kernel are printed, with
 * the SharedArrayBuffer bytes the last kernel held. On a shared machine
 * the best round is the steadier number: other load only slows rounds down.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

const root = resolve(arg('--root', join(import.meta.dirname, '..')));
const seconds = Number(arg('--seconds', '1'));
const rounds = Number(arg('--rounds', '5'));
if (!(seconds > 0) || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: npx tsx bench/fresh_kernel.ts [--root DIR] [--seconds S] [--rounds R]\n');
  process.exit(2);
}

interface Either {
  readonly _tag: 'Left' | 'Right';
  readonly right?: unknown;
  readonly left?: { readonly message: string };
}
interface BenchProcess {
  shmget(key: number, size: number, flags: number): Either;
  shmat(id: number, addr: number, flags: number): Either;
  shmctl(id: number, cmd: number): Either;
  write(addr: number, bytes: Uint8Array): Either;
  exit(): Either;
}
interface BenchKernel {
  spawn(): BenchProcess;
  dispose?: () => void;
  readonly memoryFile: { readonly reservedBytes: number };
}

const { Kernel } = (await import(pathToFileURL(join(root, 'src/kernel/kernel.ts')).href)) as { Kernel: new () => BenchKernel };
const IPC_PRIVATE = 0;
const IPC_CREAT = 0o1000;
const IPC_RMID = 0;
const ONE = new Uint8Array([1]);

function right(r: Either, what: string): unknown {
  if (r._tag === 'Left') throw new Error(`${what}: ${r.left?.message}`);
  return r.right;
}

let lastBytes = 0;
function once(): void {
  const k = new Kernel();
  const p = k.spawn();
  const id = right(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600), 'shmget') as number;
  const addr = right(p.shmat(id, 0, 0), 'shmat') as number;
  right(p.write(addr, ONE), 'write');
  right(p.shmctl(id, IPC_RMID), 'shmctl');
  right(p.exit(), 'exit');
  lastBytes = k.memoryFile.reservedBytes;
  k.dispose?.();
}

function round(): number {
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 16; i++) once();
    n += 16;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

round();
const rates: number[] = [];
for (let r = 0; r < rounds; r++) rates.push(round());
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)] as number;
console.log(`root: ${root}`);
console.log(`fresh kernels (spawn, shmget 4 KiB, shmat, 1-byte write, RMID, exit): median ${median.toFixed(0)}/s over ${rounds} rounds of ${seconds} s`);
const best = rates[rates.length - 1] as number;
console.log(
  `per kernel: median ${(1e6 / median).toFixed(1)} µs, best round ${(1e6 / best).toFixed(1)} µs; rounds ${rates.map((r) => r.toFixed(0)).join(', ')}/s`,
);
console.log(`chunk bytes the last kernel made or reused: ${lastBytes}`);
