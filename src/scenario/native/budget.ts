/**
 * The native backend's memory budget. A scenario run natively makes the real
 * kernel hold what it stores: tmpfs pages (the oracle's root is a tmpfs
 * without a size limit, and `tmpfs mount ... size=0` is unlimited too) and
 * the shared memory pages it touches. Before the oracle runs, the program is
 * walked once to bound what it can make the kernel hold, line by line; the
 * first line after which that bound passes the budget is refused, and
 * nothing runs.
 *
 * The bound is an over-estimate that only needs the program's text:
 * - a file's data (fwrite, fallocate, dd's bs x count) costs its length,
 *   capped by what is left of the size of the tmpfs holding the path (a bind
 *   mount shares its source's); unlimited mounts have no cap;
 * - a memory access (write, fill, read: a read fault on shared memory
 *   allocates a page too) costs its length, and all of them together cost at
 *   most the sizes of every segment created and every file mapped;
 * - dd's own buffer (bs bytes) must fit beside what is already held.
 * Pages are counted whole (a byte costs its page), rounding each length up.
 */
import type { FdArg, Program } from '../parse/ast.js';

/** What the native backend lets a scenario make the host's kernel hold unless told otherwise: 1 GiB. */
export const DEFAULT_NATIVE_BUDGET_BYTES = 1024 * 1024 * 1024;

/** The line whose statement could take the total past the budget. */
export interface BudgetExceeded {
  readonly line: number;
  readonly message: string;
}

const PAGE = 4096n;

const pages = (n: bigint): bigint => ((n + PAGE - 1n) / PAGE) * PAGE;

/** `bytes` for a person: the largest binary unit that divides it, else bytes. */
export function showBytes(n: bigint): string {
  for (const [unit, size] of [
    ['TiB', 1n << 40n],
    ['GiB', 1n << 30n],
    ['MiB', 1n << 20n],
    ['KiB', 1n << 10n],
  ] as const) {
    if (n >= size && n % size === 0n) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

/** A tmpfs: `capacity` undefined means unlimited. */
interface Mount {
  readonly capacity: bigint | undefined;
  used: bigint;
}

/** Path components, so `/mnt//t/` and `/mnt/t` are the same place. */
const parts = (path: string): string[] => path.split('/').filter((p) => p !== '' && p !== '.');

/** Returns why `program` cannot run natively within `budget` bytes, or undefined when it can. */
export function checkNativeBudget(program: Program, budget: bigint): BudgetExceeded | undefined {
  const root: Mount = { capacity: undefined, used: 0n };
  /** Mount points, as joined components, to the tmpfs they show. */
  const mounts = new Map<string, Mount>([['', root]]);
  const mountOf = (path: string): Mount => {
    const p = parts(path);
    for (let n = p.length; n >= 0; n -= 1) {
      const m = mounts.get(p.slice(0, n).join('/'));
      if (m !== undefined) return m;
    }
    return root;
  };
  /** Descriptor variables to the tmpfs of the path they last opened. */
  const fds = new Map<number, Mount>();
  const fdMount = (fd: FdArg): Mount => (fd.kind === 'slot' ? (fds.get(fd.slot) ?? root) : root);
  let files = 0n;
  let touched = 0n;
  let mapped = 0n;
  const held = (): bigint => files + (touched < mapped ? touched : mapped);
  /** Stores `len` bytes of file data in `m`; returns what it adds. */
  const store = (m: Mount, len: bigint): void => {
    let add = pages(len);
    if (m.capacity !== undefined && add > m.capacity - m.used) add = m.capacity - m.used;
    if (add < 0n) add = 0n;
    m.used += add;
    files += add;
  };
  for (const s of program.statements) {
    let what: string | undefined;
    switch (s.op) {
      case 'tmpfs':
        mounts.set(parts(s.path).join('/'), { capacity: s.size === 0n ? undefined : pages(s.size), used: 0n });
        break;
      case 'mount':
        mounts.set(parts(s.target).join('/'), mountOf(s.source));
        break;
      case 'open':
        if (s.bind !== undefined) fds.set(s.bind, mountOf(s.path));
        break;
      case 'shm_open':
        // The object is a file of whatever tmpfs the scenario mounted on /dev/shm.
        if (s.bind !== undefined) fds.set(s.bind, mountOf('/dev/shm/x'));
        break;
      case 'memfd_create':
        // The kernel's internal tmpfs has no size limit of its own.
        if (s.bind !== undefined) fds.set(s.bind, { capacity: undefined, used: 0n });
        break;
      case 'fwrite': {
        const len = s.data.kind === 'bytes' ? BigInt(s.data.bytes.length) : BigInt(s.data.count);
        store(fdMount(s.fd), len);
        what = `file write of ${showBytes(len)}`;
        break;
      }
      case 'fallocate':
        // FALLOC_FL_PUNCH_HOLE (2) frees pages instead.
        if ((s.mode & 2) === 0) store(fdMount(s.fd), s.len);
        what = `fallocate of ${showBytes(s.len)}`;
        break;
      case 'dd': {
        store(mountOf(s.path), s.bs * s.count);
        what = `dd of ${showBytes(s.bs)} x ${s.count}`;
        if (held() + s.bs > budget) return exceeded(s.line, what, held() + s.bs, budget);
        break;
      }
      case 'shmget':
        mapped += pages(s.size);
        break;
      case 'mmap':
        mapped += pages(s.len);
        break;
      case 'write':
        touched += pages(BigInt(s.data.length)) + PAGE;
        what = 'write';
        break;
      case 'fill':
        touched += pages(s.len) + PAGE;
        what = `fill of ${showBytes(s.len)}`;
        break;
      case 'read':
        touched += pages(s.len) + PAGE;
        what = `read of ${showBytes(s.len)}`;
        break;
      default:
        break;
    }
    if (what !== undefined && held() > budget) return exceeded(s.line, what, held(), budget);
  }
  return undefined;
}

function exceeded(line: number, what: string, total: bigint, budget: bigint): BudgetExceeded {
  return {
    line,
    message:
      `${what} could make the kernel hold ${showBytes(total)} of memory in all, ` +
      `more than the native backend's budget of ${showBytes(budget)} (raise it with --native-budget)`,
  };
}
