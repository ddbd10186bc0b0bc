/**
 * The kernel's side of a software TLB: the generation word that tells the
 * threads of a process their cached translations are stale, and the fill
 * that hands them translations.
 *
 * A thread outside the kernel thread (a worker running a process's program)
 * caches virtual-to-frame translations and reads its address space's
 * generation word before every access. Every change that can make a cached
 * translation wrong (removing or replacing a mapping, changing protections)
 * bumps the word (MemoryManager does it under mappingMu, before any frame of
 * an unmapped object can be freed), so a translation is never used after the
 * change that removed it. Threads cache translations only, never faults, so
 * a new mapping of unmapped space and a fork bump nothing, and neither does
 * any change before the address space's first fill. An access already in
 * flight when frames are freed keeps them alive through the MemoryFile's
 * ReclaimGate.
 */

import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import { permits } from './access.js';
import type { AccessRules, Fault } from './access.js';
import { AnonymousMemory } from './anon.js';
import { copyBytes } from './copy.js';
import { firstGuard } from './guards.js';
import { ZERO_FRAME, isBusError, isShmMappable } from './memmap.js';
import type { Mappable } from './memmap.js';
import type { MemoryFile } from './memory_file.js';
import type { Vma, VmaSet } from './vma.js';

/** The most pages one fill translates (bounds the work a single miss costs the kernel). */
const MAX_FILL_PAGES = 1024;

/**
 * One run of a fill: virtual pages [start, start+pages*PAGE_SIZE) in
 * consecutive slots of one chunk from `frame`, which is a MemoryFile slot
 * (chunk id << chunkShift | index), not a frame number.
 */
export interface TlbRun {
  readonly start: number;
  readonly pages: number;
  readonly frame: number;
}

/**
 * A page a fill shows by its bytes instead of its chunk: a private page
 * still shared copy-on-write with a fork relative, whose frame sits in the
 * relative's arena (see anon.ts). The thread reads the copy for one access.
 */
export interface TlbCopy {
  /** The page's virtual address. */
  readonly start: number;
  /** Its PAGE_SIZE bytes, as they are now; none for the zero page (slot ZERO_FRAME), which the thread fills with zeros itself. */
  readonly bytes: Uint8Array;
  /**
   * The frame's slot; the thread is not given the chunk. ZERO_FRAME for the
   * zero page. No futex is keyed through a copy: a page shown this way is
   * private memory read, and a futex there either faults it in for writing
   * first or is refused (see TlbFill.futex).
   */
  readonly slot: number;
}

/** What a TLB miss gets back: translations of the pages from the missing address on. */
export interface TlbFill {
  /** The address space's generation when the fill was made: the runs are valid until it changes. */
  readonly generation: number;
  readonly runs: readonly TlbRun[];
  /** Whether the pages may be read, and written, through this mapping. */
  readonly readable: boolean;
  readonly writable: boolean;
  /**
   * Whether the runs may be cached until the generation changes. Only
   * objects whose frames stay put while any mapping of them exists qualify
   * (shm segments, anonymous memory); a tmpfs file can lose pages to
   * truncation with no VMA changing, so its runs serve one access only.
   */
  readonly cacheable: boolean;
  /** Set instead of runs (which are then empty) when the missing page is shown by its bytes. */
  readonly copy?: TlbCopy;
  /** How a futex on these pages is keyed (see futexKeying); absent: by the frame word. */
  readonly futex?: FutexKeying;
}

/**
 * How get_futex_key keys a futex word, besides by its frame word (the key
 * of a shared object's page, futex.ts):
 * - FUTEX_BY_ADDRESS: private memory the futex call may write. Linux faults
 *   the page in for writing first (breaking copy-on-write), then keys the
 *   process's own page by (address space, address);
 * - FUTEX_REFUSED: a page of private memory the process holds (or the zero
 *   page) in a mapping it may not write: Linux refuses it with EFAULT, as
 *   such a page never changes. A file page a read-only private mapping still
 *   reads through to is keyed by its frame, as the file's.
 */
export type FutexKeying = typeof FUTEX_BY_ADDRESS | typeof FUTEX_REFUSED;
export const FUTEX_BY_ADDRESS = 1;
export const FUTEX_REFUSED = 2;

/**
 * The keying of a futex on object page `page` of `vma`, translated for
 * writing when `write` (a futex tries that first: TlbCache.futexKey,
 * MemoryManager.futexWord) or for reading; undefined: by the frame word.
 */
export function futexKeying(vma: Vma, page: number, write: boolean): FutexKeying | undefined {
  const m = vma.mappable;
  if (!(m instanceof AnonymousMemory)) return undefined;
  if (write) return FUTEX_BY_ADDRESS;
  return m.backing === undefined || m.holdsPage(page) ? FUTEX_REFUSED : undefined;
}

/** A one-word generation counter, in shared memory where the platform has it. */
export function newGenerationWord(): Int32Array {
  return new Int32Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(4) : new ArrayBuffer(4));
}

/** Marks every cached translation of the address space stale. */
export function bumpGeneration(word: Int32Array): void {
  Atomics.add(word, 0, 1);
}

/** Objects whose page-to-frame map changes only when no mapping of them exists. */
function framesStayWhileMapped(m: Mappable): boolean {
  return isShmMappable(m) || m instanceof AnonymousMemory;
}

/**
 * Translates the pages covering [addr, addr+len) (at most MAX_FILL_PAGES,
 * and not past the VMA holding `addr`), allocating frames on first touch as
 * an access would. A fault at `addr` itself is returned as the fault; a
 * later page that cannot be translated ends the fill early, and the next
 * miss there reports it.
 * Preconditions: the address space's mappingMu is held.
 */
export function fillTlb(
  vmas: VmaSet,
  mf: MemoryFile,
  rules: AccessRules,
  generation: number,
  addr: number,
  len: number,
  write: boolean,
): E.Either<Fault, TlbFill> {
  const vma = vmas.find(addr);
  if (vma === undefined || !permits(vma, write, rules)) return E.left({ signal: 'SIGSEGV', addr });
  const first = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  let stop = Math.min(vma.end, first + MAX_FILL_PAGES * PAGE_SIZE, Math.ceil((addr + Math.max(len, 1)) / PAGE_SIZE) * PAGE_SIZE);
  if (vma.guards !== undefined) {
    // A guard page faults (the thread's access is SIGSEGV there), and a fill ends before one.
    const guard = firstGuard(vma.guards, first / PAGE_SIZE, stop / PAGE_SIZE);
    if (guard === first / PAGE_SIZE) return E.left({ signal: 'SIGSEGV', addr });
    if (guard >= 0) stop = guard * PAGE_SIZE;
  }
  const runs: TlbRun[] = [];
  // A private page whose frame something else holds too may be read once, never cached or written (see anon.ts).
  let shared = false;
  // A futex on private memory the futex may write is keyed by address; read-only, it depends on the page, and a fill keeps to one kind.
  const anon = vma.mappable instanceof AnonymousMemory;
  const keyedByAddress = anon && (write || permits(vma, true, rules));
  let futex: FutexKeying | undefined = keyedByAddress ? FUTEX_BY_ADDRESS : undefined;
  let cur = first;
  while (cur < stop) {
    // Page arithmetic: the offset may be past 2^53 (see Vma.offset).
    const page = vma.offset / PAGE_SIZE + (cur - vma.start) / PAGE_SIZE;
    if (anon && !keyedByAddress) {
      const k = futexKeying(vma, page, false);
      if (runs.length > 0 && k !== futex) break;
      futex = k;
    }
    const t = vma.mappable.translate(page, (stop - cur) / PAGE_SIZE, write);
    if (isBusError(t)) {
      if (runs.length === 0) return E.left({ signal: 'SIGBUS', addr });
      break;
    }
    if (t.elsewhere === true) {
      // The page ends a fill, and one that starts there shows its bytes (see TlbCopy).
      if (runs.length > 0) break;
      const readable = permits(vma, false, rules);
      // Private memory read, either way: a futex there writes it first, or is refused.
      const keying = keyedByAddress ? FUTEX_BY_ADDRESS : FUTEX_REFUSED;
      if (t.zero === true) return E.right(zeroFill(generation, cur, readable, keying));
      return E.right(copyFill(mf, generation, cur, t.frame, readable, keying));
    }
    if (t.shared === true) shared = true;
    let frame = t.frame;
    let pages = t.pages;
    while (pages > 0) {
      const inChunk = mf.contiguousInChunk(frame, pages);
      runs.push({ start: cur, pages: inChunk, frame: mf.slotOf(frame) });
      cur += inChunk * PAGE_SIZE;
      frame += inChunk;
      pages -= inChunk;
    }
  }
  const fill: TlbFill = {
    generation,
    runs,
    readable: permits(vma, false, rules),
    writable: !shared && permits(vma, true, rules),
    cacheable: !shared && framesStayWhileMapped(vma.mappable),
  };
  return E.right(futex === undefined ? fill : { ...fill, futex });
}

/** A fill showing the page at `start` (held in `frame`) by a copy of its bytes, for one read. */
function copyFill(mf: MemoryFile, generation: number, start: number, frame: number, readable: boolean, futex: FutexKeying): TlbFill {
  const bytes = new Uint8Array(PAGE_SIZE);
  copyBytes(bytes, 0, mf.chunkBytes(frame), mf.byteOffset(frame), PAGE_SIZE);
  return { generation, runs: [], readable, writable: false, cacheable: false, copy: { start, bytes, slot: mf.slotOf(frame) }, futex };
}

/** The bytes of a zero-page copy: none cross the mailbox, the thread makes its own zeros. */
const NO_BYTES = new Uint8Array(0);

/** A fill showing the zero page at `start` (a never-written private anonymous page) for one read: fresh zeros, never the page itself. */
function zeroFill(generation: number, start: number, readable: boolean, futex: FutexKeying): TlbFill {
  return { generation, runs: [], readable, writable: false, cacheable: false, copy: { start, bytes: NO_BYTES, slot: ZERO_FRAME }, futex };
}
