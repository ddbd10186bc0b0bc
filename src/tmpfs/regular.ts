/**
 * A tmpfs regular file: its size and its pages, claimed one at a time from
 * the superblock on first write, first fallocate or first touch through a
 * mapping (Linux mm/shmem.c). The file is the Mappable behind every shared
 * mapping of it, so all processes that map it, in any mount namespace, see
 * the same frames that read and write use.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from '../abi/fs.js';
import { F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE } from '../abi/memfd.js';
import type { AddrRange, BusError, Mappable, MappingStamp, MappingSpace, PrivateCopies, Translation } from '../mm/memmap.js';
import type { MemoryCharge } from '../memcg/charge.js';
import { CLAIM_CHARGE_REFUSED, CLAIM_NO_SPACE, claimError } from './claim.js';
import { Inode } from './inode.js';
import { copyBytes } from '../mm/copy.js';
import { FrameTable } from '../mm/frame_table.js';
import type { FileOffset } from './offset.js';
import { MAX_LFS_FILESIZE, addOffset, inPageOf, maxOffset, offsetOf, pageOf, pageStart, pagesFor, subOffset } from './offset.js';

/**
 * The largest file size: tmpfs's s_maxbytes, MAX_LFS_FILESIZE (2^63 - 1).
 * Sizes and offsets are FileOffsets, exact all the way; page indices stay
 * numbers (at most 2^51).
 */
export const MAX_FILE_BYTES: FileOffset = MAX_LFS_FILESIZE;

/** The result of a write: the bytes written, and why it stopped early, if it did. */
export interface WriteOutcome {
  readonly written: number;
  /** Set when a page could not be claimed (ENOSPC, ENOMEM, or a refused charge). */
  readonly stopped: SysError | undefined;
}

const BUS_PAST_EOF: BusError = { bus: true, reason: 'access past the end of the file' };
const BUS_NO_SPACE: BusError = { bus: true, reason: 'the tmpfs is full' };
const BUS_NO_MEMORY: BusError = { bus: true, reason: 'no page could be allocated' };

/** A tmpfs regular file. */
export class RegularFile extends Inode implements Mappable {
  readonly kind = 'file';
  /** st_size in bytes, at most MAX_FILE_BYTES. */
  size: FileOffset = 0;
  /**
   * The file's seals (F_SEAL_*), as shmem keeps them per inode. Every tmpfs
   * file starts with F_SEAL_SEAL, so it can never be sealed; only
   * memfd_create with MFD_ALLOW_SEALING or MFD_NOEXEC_SEAL starts a file
   * without it. Seals are only ever added (src/posix/seals.ts).
   */
  seals = F_SEAL_SEAL;
  /**
   * The huge page size of a hugetlbfs file (memfd_create with MFD_HUGETLB),
   * 0 for a tmpfs one. The kernel's pool of huge pages is empty
   * (vm.nr_hugepages 0), so such a file never holds a page: writes are
   * EINVAL (hugetlbfs has no write_iter), the size moves only in whole huge
   * pages, fallocate is ENOSPC and mmap ENOMEM; reads see zeros.
   */
  hugePageSize = 0;
  /** Shared mappings that may be written through (Linux's i_mmap_writable): F_SEAL_WRITE is refused while any exists. */
  private writableMaps = 0;
  private readonly pages = new FrameTable<MemoryCharge>(this.sb.memoryFile);
  /**
   * The page a write claimed and filled only from its first byte, whose
   * frame's bytes from `unzeroedFrom` on still belong to the frame's last
   * owner; -1 when there is none. Linux zeroes them when the write claims the
   * page (shmem_write_end). Here that waits, because a sequential writer
   * (dd) overwrites them next: every path that could let the stale bytes be
   * seen (read, translate, a write that leaves a gap, forEachPage) settles
   * the page first, and freeing the page (releasePage) forgets it. Truncate
   * and hole punching only zero or free, so they need neither. At most one
   * page is pending, so a settle costs one zeroing.
   */
  private unzeroedPage = -1;
  private unzeroedFrame = -1;
  private unzeroedFrom = 0;
  /**
   * Pages fallocate claimed that nothing has written or faulted in since:
   * shmem leaves such a folio not uptodate (mm/shmem.c, "falloc'ed"), so
   * SEEK_DATA/SEEK_HOLE (mapping_seek_hole_data) and mincore (mincore_page)
   * count it as a hole, not in memory, while it stays allocated and
   * charged. A write through the file or any fault through a mapping makes
   * it uptodate, and so does a later fallocate over it (shmem_get_folio with
   * SGP_FALLOC clears it); read() gives zeros and leaves it as it is.
   * Absent until the first fallocate, so other files pay nothing.
   */
  private falloced: Set<number> | undefined;
  /** The private mappings of the file that may hold copies of its pages (Linux finds them in i_mmap); absent until the first. */
  private privateCopies: Set<PrivateCopies> | undefined;

  trackPrivate(copies: PrivateCopies, on: boolean): void {
    if (on) (this.privateCopies ??= new Set()).add(copies);
    else this.privateCopies?.delete(copies);
  }

  /** Mapping pieces that may be written through (VM_SHARED with VM_MAYWRITE). */
  get writableMappings(): number {
    return this.writableMaps;
  }

  /** Checkpoint restore: the writable mapping pieces the restored address spaces hold. */
  restoreWritableMappings(count: number): void {
    this.writableMaps = count;
  }

  /** Pages the file holds: st_blocks / 8. */
  get residentPages(): number {
    return this.pages.residentPages;
  }

  /** Checkpoint: the pages fallocate left not uptodate (see falloced), in page order. */
  fallocatedPages(): number[] {
    return this.falloced === undefined ? [] : [...this.falloced].sort((a, b) => a - b);
  }

  /** Checkpoint restore: page `page`, which the file holds, is fallocated and not uptodate. */
  restoreFallocated(page: number): void {
    (this.falloced ??= new Set<number>()).add(page);
  }

  /** Page `page` becomes uptodate: written, faulted in, or fallocated again. */
  private markUptodate(page: number): void {
    this.falloced?.delete(page);
  }

  /** Whether `page` is fallocated and not uptodate. */
  private isFalloced(page: number): boolean {
    return this.falloced?.has(page) === true;
  }

  /** Forgets the fallocated state of pages [first, end), which the file no longer holds. */
  private forgetFalloced(first: number, end: number): void {
    const f = this.falloced;
    if (f === undefined || f.size === 0) return;
    for (const p of f) if (p >= first && p < end) f.delete(p);
  }

  /**
   * Reads up to `length` bytes at `offset`, stopping at the end of the file.
   * Holes read as zeros without claiming pages (shmem_file_read_iter uses
   * SGP_READ).
   */
  read(offset: FileOffset, length: number): Uint8Array {
    if (length <= 0 || this.size <= offset) return new Uint8Array(0);
    const left = subOffset(this.size, offset);
    const total = left < length ? Number(left) : length;
    this.settle();
    const out = new Uint8Array(total);
    const mf = this.sb.memoryFile;
    // Positions relative to `offset` stay small numbers; the page index is exact up to 2^51.
    let page = pageOf(offset);
    let inPage = inPageOf(offset);
    for (let done = 0; done < total; page += 1, inPage = 0) {
      const n = Math.min(PAGE_SIZE - inPage, total - done);
      const frame = this.pages.frameAt(page);
      if (frame >= 0) copyBytes(out, done, mf.chunkBytes(frame), mf.byteOffset(frame) + inPage, n);
      done += n;
    }
    return out;
  }

  /**
   * Writes `src` at `offset`, page by page as generic_perform_write does:
   * a page already held needs nothing new; a missing one is claimed and
   * charged to `charge`. The first page that cannot be claimed ends the write
   * with the bytes before it written (a short count) and the reason. As
   * generic_write_check_limits: EFBIG when `offset` is at or past the
   * caller's RLIMIT_FSIZE (`fsizeLimit`, absent for none; SIGXFSZ is taken
   * as ignored) or the size limit, and a write reaching past either is cut
   * short there. Never called for a hugetlbfs file: write(2) refuses one
   * first (vfs/files.ts).
   */
  write(offset: FileOffset, src: Uint8Array, charge: MemoryCharge, fsizeLimit?: FileOffset): E.Either<SysError, WriteOutcome> {
    if (src.length === 0) return E.right({ written: 0, stopped: undefined });
    let length = src.length;
    if (fsizeLimit !== undefined) {
      if (offset >= fsizeLimit) return E.left(sysError('EFBIG', `offset ${offset} is at or past RLIMIT_FSIZE ${fsizeLimit}`));
      const room = subOffset(fsizeLimit, offset);
      if (room < length) length = Number(room);
    }
    // A number offset is below 2^53, far under the limit: only a bigint one needs the check (docs/architecture.md, Hot paths).
    if (typeof offset !== 'number') {
      if (offset >= MAX_FILE_BYTES) return E.left(sysError('EFBIG', `offset ${offset} is at or past the largest file size`));
      const room = subOffset(MAX_FILE_BYTES, offset);
      if (room < length) length = Number(room);
    }
    // shmem_write_begin's seal checks, made per page as generic_perform_write asks for each.
    if (this.seals !== F_SEAL_SEAL) {
      if ((this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0) return E.left(sysError('EPERM', 'the file is sealed against writes'));
      if ((this.seals & F_SEAL_GROW) !== 0 && addOffset(offset, length) > this.size) {
        length = this.lengthBelowGrowSeal(offset);
        if (length === 0) return E.left(sysError('EPERM', 'the file is sealed against growing, and the write reaches past its end'));
      }
    }
    const mf = this.sb.memoryFile;
    let done = 0;
    let stopped: SysError | undefined;
    let page = pageOf(offset);
    let inPage = inPageOf(offset);
    try {
      for (; done < length; page += 1, inPage = 0) {
        const n = Math.min(PAGE_SIZE - inPage, length - done);
        const frame = this.frameForWrite(page, charge, inPage, inPage + n);
        if (frame < 0) {
          stopped = claimError(frame);
          break;
        }
        copyBytes(mf.chunkBytes(frame), mf.byteOffset(frame) + inPage, src, done, n);
        // shmem_write_end marks the page uptodate (a fallocated page was zeroed when claimed).
        this.markUptodate(page);
        done += n;
      }
    } finally {
      // Also when a charge target of the caller's own throws: the bytes written are a short write, never data past the end.
      if (done > 0) this.size = maxOffset(this.size, addOffset(offset, done));
    }
    return E.right({ written: done, stopped });
  }

  /**
   * Under F_SEAL_GROW, how much of a write at `offset` that reaches past the
   * end gets written: generic_perform_write asks shmem_write_begin for one
   * page's part at a time, and the seal refuses the first part that ends
   * past the size. So the write stops at the last page boundary at or below
   * the size: a short write when that is past `offset`, else nothing (EPERM).
   * Measured on Linux 6.18 (a 10000-byte file: a write of 10000 bytes at 5000
   * returns 3192; one of 1001 at 9000 is EPERM).
   */
  private lengthBelowGrowSeal(offset: FileOffset): number {
    const boundary = pageStart(pageOf(this.size));
    return boundary > offset ? Number(subOffset(boundary, offset)) : 0;
  }

  /**
   * Sets the size (do_truncate → shmem_setattr). Growing is free: the new
   * range is a hole. Shrinking frees the pages wholly past the new end and
   * zeroes the rest of the last partial page. EINVAL for a negative length
   * (do_sys_ftruncate), then inode_newsize_ok: growing past the caller's
   * RLIMIT_FSIZE (`fsizeLimit`) or past s_maxbytes is EFBIG; then the seals.
   */
  truncate(length: FileOffset, fsizeLimit?: FileOffset): E.Either<SysError, void> {
    if (length < 0) return E.left(sysError('EINVAL', `length ${length} is negative`));
    const limited = this.newSizeRefused(length, fsizeLimit);
    if (limited !== undefined) return E.left(limited);
    if (length > MAX_FILE_BYTES) return E.left(sysError('EFBIG', `length ${length} is past the largest file size`));
    // hugetlbfs_setattr: a size that is not a whole number of huge pages, before the seals.
    if (this.hugePageSize !== 0 && BigInt(length) % BigInt(this.hugePageSize) !== 0n) {
      return E.left(sysError('EINVAL', `length ${length} is not a multiple of the huge page size ${this.hugePageSize}`));
    }
    // shmem_setattr: the size may stay as it is under either seal.
    if (length < this.size && (this.seals & F_SEAL_SHRINK) !== 0) return E.left(sysError('EPERM', 'the file is sealed against shrinking'));
    if (length > this.size && (this.seals & F_SEAL_GROW) !== 0) return E.left(sysError('EPERM', 'the file is sealed against growing'));
    if (length < this.size) {
      // truncate_inode_pages_range runs to the end of the page cache, so pages
      // fallocated past the size (FALLOC_FL_KEEP_SIZE) go too.
      const keep = pagesFor(length);
      // shmem_setattr: unmap_mapping_range(holebegin, 0, even_cows) takes the
      // private mappings' copies of the pages wholly past the end too.
      if (this.privateCopies !== undefined) for (const copies of [...this.privateCopies]) copies.discardFrom(keep);
      this.pages.removeRange(keep, Number.MAX_SAFE_INTEGER, this.releasePage);
      this.forgetFalloced(keep, Number.MAX_SAFE_INTEGER);
      this.zeroRange(length, pageStart(keep));
    }
    this.size = offsetOf(length);
    return E.right(undefined);
  }

  /** inode_newsize_ok's RLIMIT_FSIZE rule: EFBIG for growing the file past `fsizeLimit` (absent: no limit). */
  private newSizeRefused(size: FileOffset, fsizeLimit: FileOffset | undefined): SysError | undefined {
    if (fsizeLimit === undefined || size <= this.size || size <= fsizeLimit) return undefined;
    return sysError('EFBIG', `size ${size} is past RLIMIT_FSIZE ${fsizeLimit}`);
  }

  /**
   * fallocate(2) as shmem_fallocate implements it. Mode 0 and KEEP_SIZE
   * claim every page of [offset, offset+length); a range longer than the
   * whole capacity is ENOSPC at once, and a claim failing part-way gives back
   * the pages this call claimed, so the file is left as it was. Mode 0 then
   * extends the size. PUNCH_HOLE (with KEEP_SIZE) frees the whole pages in
   * the range and zeroes the partial ones. The caller (vfs_fallocate) has
   * checked offset ≥ 0, length > 0 and offset + length ≤ MAX_FILE_BYTES; the
   * checks here repeat them for a direct caller, then refuse what
   * shmem_fallocate does not support (EOPNOTSUPP). Past a hole punch, an
   * end past the size and past RLIMIT_FSIZE (`fsizeLimit`) is EFBIG, even
   * with KEEP_SIZE, before F_SEAL_GROW's EPERM.
   */
  fallocate(mode: number, offset: FileOffset, length: FileOffset, charge: MemoryCharge, fsizeLimit?: FileOffset): E.Either<SysError, void> {
    if (offset < 0 || length <= 0) return E.left(sysError('EINVAL', 'fallocate needs offset >= 0 and length > 0'));
    const end = addOffset(offset, length);
    if (end > MAX_FILE_BYTES) return E.left(sysError('EFBIG', 'fallocate range reaches past the largest file size'));
    if (mode !== 0 && mode !== FALLOC_FL_KEEP_SIZE && mode !== (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
      return E.left(sysError('EOPNOTSUPP', `fallocate mode ${mode} is not supported by tmpfs`));
    }
    if ((mode & FALLOC_FL_PUNCH_HOLE) !== 0) {
      // shmem_fallocate: punching a hole writes zeros, which a write seal forbids. hugetlbfs_punch_hole
      // refuses every punch under a write seal too, whatever the range covers, since the partial huge
      // pages at its edges are zeroed as well (measured on Linux 6.18: 4 KiB at 0, 2 MiB at 1 and 4 KiB
      // past the end are all EPERM); unsealed, a hugetlbfs file holds no page, so nothing is freed.
      if ((this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0) return E.left(sysError('EPERM', 'the file is sealed against writes'));
      if (this.hugePageSize !== 0) return E.right(undefined);
      this.punchHole(offset, end);
      return E.right(undefined);
    }
    // shmem_fallocate checks the rlimit even with FALLOC_FL_KEEP_SIZE.
    const limited = this.newSizeRefused(end, fsizeLimit);
    if (limited !== undefined) return E.left(limited);
    // Even with FALLOC_FL_KEEP_SIZE: the seal refuses any range past the end.
    if ((this.seals & F_SEAL_GROW) !== 0 && end > this.size) return E.left(sysError('EPERM', 'the file is sealed against growing'));
    // hugetlbfs_fallocate: the range holds at least one huge page, and the empty pool has none to give.
    if (this.hugePageSize !== 0) return E.left(sysError('ENOSPC', 'no huge page is free (vm.nr_hugepages is 0)'));
    const first = pageOf(offset);
    const last = pagesFor(end);
    const capacity = this.sb.capacityPages;
    if (capacity !== 0 && last - first > capacity) {
      return E.left(sysError('ENOSPC', `fallocate of ${last - first} pages exceeds the tmpfs capacity of ${capacity}`));
    }
    const claimed: number[] = [];
    let failed = 0;
    try {
      for (let page = first; page < last; page += 1) {
        if (this.pages.frameAt(page) >= 0) {
          // SGP_FALLOC on a page an earlier fallocate left not uptodate clears it and marks it uptodate.
          this.markUptodate(page);
          continue;
        }
        const frame = this.frameFor(page, charge);
        if (frame < 0) {
          failed = frame;
          break;
        }
        claimed.push(page);
      }
    } catch (e) {
      // A charge target of the caller's own threw: this call's pages go back as on a failed claim.
      for (const p of claimed) this.pages.removeRange(p, p + 1, this.releasePage);
      throw e;
    }
    if (failed < 0) {
      for (const p of claimed) this.pages.removeRange(p, p + 1, this.releasePage);
      return E.left(claimError(failed));
    }
    // The new pages stay not uptodate: holes to SEEK_DATA and mincore until written or faulted in.
    if (claimed.length > 0) {
      const f = (this.falloced ??= new Set<number>());
      for (const p of claimed) f.add(p);
    }
    if (mode === 0 && end > this.size) this.size = end;
    return E.right(undefined);
  }

  // Mappable. A mapping's lifetime is held by its open file description, so
  // the mapping callbacks count only the pieces that may be written through,
  // for F_SEAL_WRITE (mapping_map_writable / mapping_unmap_writable).

  addMapping(_at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, writable: boolean): void {
    if (writable) this.writableMaps += 1;
  }

  removeMapping(_at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, writable: boolean): void {
    if (writable) this.writableMaps -= 1;
  }

  copyMapping(_at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, writable: boolean): void {
    if (writable) this.writableMaps += 1;
  }

  /** A hugetlbfs file's mappings split only at huge page boundaries (hugetlb_vm_op_split); a tmpfs file's anywhere. */
  maySplit(offset: number): boolean {
    return this.hugePageSize === 0 || offset % this.hugePageSize === 0;
  }

  /**
   * shmem_fault: a page at or past the end of the file rounded up to a page
   * is SIGBUS; a hole is claimed on first touch, reads included, and charged
   * to the faulting task's cgroup. A page that cannot be claimed (the tmpfs
   * is full, or the cgroup refuses) is SIGBUS too.
   */
  translate(page: number, maxPages: number, _write: boolean): Translation | BusError {
    // A hugetlbfs file's pool is empty: only a MAP_NORESERVE mapping exists, and every fault is SIGBUS.
    if (this.hugePageSize !== 0) return BUS_NO_MEMORY;
    const eofPage = pagesFor(this.size);
    if (page >= eofPage) return BUS_PAST_EOF;
    // A mapping sees the frame directly, stale bytes included.
    this.settle();
    const faults = this.sb.faultCharges;
    const first = this.frameFor(page, faults.current());
    if (first < 0) {
      if (first === CLAIM_CHARGE_REFUSED) faults.refused();
      return first === CLAIM_NO_SPACE ? BUS_NO_SPACE : BUS_NO_MEMORY;
    }
    // shmem_fault marks the page uptodate, a fallocated one included (zeroed when claimed).
    this.markUptodate(page);
    // Only pages already held and uptodate extend the run (fault-around maps only uptodate
    // folios); a hole or a fallocated page is faulted in by the next call.
    return { page, frame: first, pages: this.uptodateRun(page, this.pages.runLength(page, first, Math.min(page + maxPages, eofPage))) };
  }

  /** A run of `pages` held pages from `page` cut short at the first fallocated one after `page`. */
  private uptodateRun(page: number, pages: number): number {
    const f = this.falloced;
    if (f === undefined || f.size === 0) return pages;
    for (let n = 1; n < pages; n += 1) if (f.has(page + n)) return n;
    return pages;
  }

  /** mincore: whether page `page` of the file is in memory (held and uptodate: mincore_page). */
  isResident(page: number): boolean {
    return this.pages.frameAt(page) >= 0 && !this.isFalloced(page);
  }

  /** SEEK_DATA: the first page at or after `page` that the file holds uptodate, if any. */
  nextResidentPage(page: number): number | undefined {
    let found: number | undefined;
    // Pages come in order; the walk stops being useful at the first hit, and the table is sparse.
    this.pages.forEach((p) => {
      if (found === undefined && p >= page && !this.isFalloced(p)) found = p;
    });
    return found;
  }

  /** SEEK_HOLE: the first page at or after `page` that the file does not hold, or holds fallocated and not uptodate. */
  nextHolePage(page: number): number {
    let p = page;
    while (this.pages.frameAt(p) >= 0 && !this.isFalloced(p)) p += 1;
    return p;
  }

  /** MADV_REMOVE on a shared mapping: fallocate(PUNCH_HOLE | KEEP_SIZE) of pages [firstPage, endPage). */
  removePages(firstPage: number, endPage: number): SysError | undefined {
    // shmem_fallocate: punching a hole writes zeros, which a write seal forbids.
    if ((this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0) return sysError('EPERM', 'the file is sealed against writes');
    this.punchHole(pageStart(firstPage), pageStart(endPage));
    return undefined;
  }

  /** Checkpoint: calls `fn` with every page the file holds, its frame and the cgroup it is charged to, in page order. */
  forEachPage(fn: (page: number, frame: number, charge: MemoryCharge) => void): void {
    // The caller may copy the frames out.
    this.settle();
    this.pages.forEach(fn);
  }

  /** Checkpoint restore: page `page` is held in `frame` (whose reference passes to the file), charged to `charge`. */
  restorePage(page: number, frame: number, charge: MemoryCharge): void {
    this.pages.adopt(page, frame, charge);
  }

  protected releaseData(): void {
    this.pages.clear(this.releasePage);
    this.falloced = undefined;
  }

  /**
   * The frame a write of bytes [from, to) of `page` copies into, claiming
   * the page if it is a hole; a negative CLAIM_* code on failure. A new page
   * written from its first byte is left with its tail unzeroed (see
   * unzeroedPage); any other new page is zeroed outside [from, to) now.
   */
  private frameForWrite(page: number, charge: MemoryCharge, from: number, to: number): number {
    if (page === this.unzeroedPage) {
      // A write past unzeroedFrom would leave stale bytes between.
      if (from > this.unzeroedFrom) this.settle();
      else if (to === PAGE_SIZE) this.unzeroedPage = -1;
      else this.unzeroedFrom = Math.max(this.unzeroedFrom, to);
      return this.unzeroedFrame;
    }
    if (from !== 0 || to === PAGE_SIZE) return this.frameFor(page, charge, from, to);
    const held = this.pages.frameAt(page);
    if (held >= 0) return held;
    const frame = this.sb.claimPage(charge, false, this.pages.arena);
    if (frame < 0) return frame;
    this.settle();
    this.pages.adopt(page, frame, charge);
    this.unzeroedPage = page;
    this.unzeroedFrame = frame;
    this.unzeroedFrom = to;
    return frame;
  }

  /** Zeroes the stale tail of the pending page of unzeroedPage, if there is one. */
  private settle(): void {
    if (this.unzeroedPage < 0) return;
    this.sb.memoryFile.zero(this.unzeroedFrame, this.unzeroedFrom, PAGE_SIZE - this.unzeroedFrom);
    this.unzeroedPage = -1;
  }

  /**
   * The frame of `page`, claiming it if it is a hole; a negative CLAIM_* code
   * on failure. A claimed page is zeroed except for [keepFrom, keepTo), which
   * the caller is about to write (none by default).
   */
  private frameFor(page: number, charge: MemoryCharge, keepFrom = 0, keepTo = 0): number {
    const held = this.pages.frameAt(page);
    if (held >= 0) return held;
    // As shmem_write_end, which zeroes only around a partial write.
    const whole = keepTo <= keepFrom;
    const frame = this.sb.claimPage(charge, whole, this.pages.arena);
    if (frame < 0) return frame;
    if (!whole) {
      const mf = this.sb.memoryFile;
      if (keepFrom > 0) mf.zero(frame, 0, keepFrom);
      if (keepTo < PAGE_SIZE) mf.zero(frame, keepTo, PAGE_SIZE - keepTo);
    }
    this.pages.adopt(page, frame, charge);
    return frame;
  }

  private readonly releasePage = (frame: number, charge: MemoryCharge): void => {
    // First: a charge target that throws leaves the page held, its pending zeroing too.
    this.sb.releasePage(frame, charge);
    // Whoever gets the frame next clears or overwrites it; the stale bytes need no zeroing now.
    if (frame === this.unzeroedFrame) this.unzeroedPage = -1;
  };

  /** Frees the whole pages inside [start, end) and zeroes the parts of pages it only covers partly. */
  private punchHole(start: FileOffset, end: FileOffset): void {
    if (end <= start) return;
    const firstWhole = pagesFor(start);
    const endWhole = pageOf(end);
    if (firstWhole < endWhole) {
      this.pages.removeRange(firstWhole, endWhole, this.releasePage);
      this.forgetFalloced(firstWhole, endWhole);
      this.zeroRange(start, pageStart(firstWhole));
      this.zeroRange(pageStart(endWhole), end);
    } else {
      this.zeroRange(start, end);
    }
  }

  /** Zeroes the bytes of [start, end) that sit in pages the file holds. */
  private zeroRange(start: FileOffset, end: FileOffset): void {
    if (end <= start) return;
    const mf = this.sb.memoryFile;
    const last = pageOf(subOffset(end, 1));
    const endIn = inPageOf(subOffset(end, 1)) + 1;
    for (let page = pageOf(start), from = inPageOf(start); page <= last; page += 1, from = 0) {
      const to = page === last ? endIn : PAGE_SIZE;
      const frame = this.pages.frameAt(page);
      if (frame >= 0 && to > from) mf.zero(frame, from, to - from);
    }
  }
}
