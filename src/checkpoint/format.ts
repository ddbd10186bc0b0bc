/**
 * The image container: a fixed header, the metadata section (ASCII JSON) and
 * the page section (runs of whole frames), each section with its own
 * checksum, and the header with one of its own. All numbers little-endian.
 *
 *   offset  size  field
 *   0       8     magic "IPCSCKPT"
 *   8       4     format version
 *   12      4     header length (48)
 *   16      4     metadata length in bytes
 *   20      4     metadata checksum
 *   24      4     number of page runs
 *   28      4     page section checksum
 *   32      8     page section length in bytes (u64)
 *   40      4     reserved, 0
 *   44      4     checksum of bytes 0..43
 *   48      ...   metadata, padded with spaces to a multiple of 8
 *   ...     ...   page runs: u32 first frame, u32 frame count, count * 4096 bytes
 *
 * The image ends exactly where the page section does.
 *
 * The versions differ only in their checksum (checksum.ts): version 2's
 * takes two words per multiply, version 3's runs sixteen lanes so a SIMD
 * loop can hash at memory speed. Versions 1 and 2 are still read.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import { checksum32, checksumV2, checksumV3 } from './checksum.js';
import type { ChecksumVersion } from './checksum.js';
import type { CheckpointError } from './errors.js';
import { checkpointError } from './errors.js';

/** The image's first eight bytes. */
export const MAGIC = 'IPCSCKPT';
/** The format this code writes. */
export const FORMAT_VERSION = 3;
/** The formats this code reads. */
const READABLE_VERSIONS: readonly number[] = [1, 2, 3];

/** The section checksum of format `version`. */
export function sectionChecksum(version: number, bytes: Uint8Array): number {
  return version === 1 ? checksum32(bytes) : version === 2 ? checksumV2(bytes) : checksumV3(bytes);
}
export const HEADER_BYTES = 48;
/** Bytes before each run's frames: its first frame and its frame count. */
export const RUN_HEADER_BYTES = 8;
/**
 * Frames checkpoint and restore copy between two checksum updates: 256 KiB,
 * so each piece is hashed while it is still in a core's cache.
 */
export const PIECE_FRAMES = 64;

/** A run of consecutive frames in the page section. */
export interface PageRun {
  readonly firstFrame: number;
  readonly count: number;
  /** Where the run's bytes start in the image. */
  readonly dataOffset: number;
}

/** An image split into its sections, each checked against its checksum. */
export interface ImageSections {
  readonly metadata: string;
  readonly runs: readonly PageRun[];
  /**
   * Set when the caller asked to check the page section itself (a version 2 or 3
   * image read with `deferPages`): the checksum the section must have, with
   * its bounds. Undefined when readSections checked it.
   */
  readonly pendingPages: { readonly start: number; readonly end: number; readonly checksum: number; readonly version: ChecksumVersion } | undefined;
}

/** The metadata length rounded up so the page section starts 8-byte aligned. */
export function paddedLength(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/**
 * JSON as pure ASCII: every character past 0x7e is written as a \u escape,
 * which JSON.parse turns back into the same string. The core has no
 * TextEncoder, and ASCII needs none.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Writes the header (format FORMAT_VERSION) for sections already in place in
 * `image`. `pageChecksum` is the page section's checksum when the caller
 * hashed it while writing it; otherwise it is computed here.
 */
export function writeHeader(image: Uint8Array, metadataBytes: number, runCount: number, pageBytes: number, pageChecksum?: number): void {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (let i = 0; i < MAGIC.length; i += 1) image[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, HEADER_BYTES, true);
  view.setUint32(16, metadataBytes, true);
  const metaStart = HEADER_BYTES;
  view.setUint32(20, sectionChecksum(FORMAT_VERSION, image.subarray(metaStart, metaStart + metadataBytes)), true);
  view.setUint32(24, runCount, true);
  const pageStart = HEADER_BYTES + paddedLength(metadataBytes);
  view.setUint32(28, pageChecksum ?? sectionChecksum(FORMAT_VERSION, image.subarray(pageStart, pageStart + pageBytes)), true);
  view.setUint32(32, pageBytes % 2 ** 32, true);
  view.setUint32(36, Math.floor(pageBytes / 2 ** 32), true);
  view.setUint32(40, 0, true);
  view.setUint32(44, sectionChecksum(FORMAT_VERSION, image.subarray(0, 44)), true);
}

/**
 * Checks the header, the lengths and both checksums, and splits the image.
 * Every failure names the field or section at fault. With `deferPages`, a
 * version 2 or 3 image's page checksum is left to the caller (see
 * ImageSections.pendingPages), which hashes the pages as it copies them.
 */
export function readSections(image: Uint8Array, options: { readonly deferPages?: boolean } = {}): E.Either<CheckpointError, ImageSections> {
  if (!(image instanceof Uint8Array)) return E.left(checkpointError('image', 'is not a Uint8Array'));
  if (image.length < HEADER_BYTES) {
    return E.left(checkpointError('header', `the image is ${image.length} bytes, shorter than the ${HEADER_BYTES}-byte header`));
  }
  for (let i = 0; i < MAGIC.length; i += 1) {
    if (image[i] !== MAGIC.charCodeAt(i))
      return E.left(checkpointError('header.magic', `not an ipc-sentry checkpoint image (the first 8 bytes are not "${MAGIC}")`));
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const version = view.getUint32(8, true);
  // The version comes first: a later format may lay out the rest of its header differently.
  if (!READABLE_VERSIONS.includes(version)) {
    return E.left(checkpointError('header.version', `image format version ${version}; this ipc-sentry reads versions ${READABLE_VERSIONS.join(', ')}`));
  }
  if (view.getUint32(44, true) !== sectionChecksum(version, image.subarray(0, 44))) {
    return E.left(checkpointError('header', 'the header checksum does not match: the header is damaged'));
  }
  if (view.getUint32(12, true) !== HEADER_BYTES) return E.left(checkpointError('header.headerLength', `is ${view.getUint32(12, true)}, not ${HEADER_BYTES}`));
  if (view.getUint32(40, true) !== 0) return E.left(checkpointError('header.reserved', 'is not 0'));
  const metaBytes = view.getUint32(16, true);
  const runCount = view.getUint32(24, true);
  const pageBytes = view.getUint32(32, true) + view.getUint32(36, true) * 2 ** 32;
  const pageStart = HEADER_BYTES + paddedLength(metaBytes);
  const expected = pageStart + pageBytes;
  if (expected !== image.length) {
    return E.left(
      checkpointError('image', `is ${image.length} bytes but its header describes ${expected} (${expected > image.length ? 'truncated' : 'trailing bytes'})`),
    );
  }
  const metaSection = image.subarray(HEADER_BYTES, HEADER_BYTES + metaBytes);
  if (view.getUint32(20, true) !== sectionChecksum(version, metaSection))
    return E.left(checkpointError('metadata', 'the section checksum does not match: the metadata is damaged'));
  for (let i = HEADER_BYTES + metaBytes; i < pageStart; i += 1) {
    if (image[i] !== 0x20) return E.left(checkpointError('metadata', `padding byte at offset ${i} is not a space`));
  }
  const deferred = options.deferPages === true && version !== 1;
  if (!deferred && view.getUint32(28, true) !== sectionChecksum(version, image.subarray(pageStart, pageStart + pageBytes))) return E.left(pagesDamaged());
  const metadata = asciiText(metaSection);
  if (E.isLeft(metadata)) return metadata;
  const runs = readRuns(view, pageStart, expected, runCount);
  if (E.isLeft(runs)) return runs;
  const pendingPages = deferred ? { start: pageStart, end: expected, checksum: view.getUint32(28, true), version: version as ChecksumVersion } : undefined;
  return E.right({ metadata: metadata.right, runs: runs.right, pendingPages });
}

/** The `runCount` run headers of the page section [start, end), which the runs must fill exactly. */
function readRuns(view: DataView, start: number, end: number, runCount: number): E.Either<CheckpointError, PageRun[]> {
  const runs: PageRun[] = [];
  let at = start;
  for (let r = 0; r < runCount; r += 1) {
    if (at + RUN_HEADER_BYTES > end) return E.left(checkpointError(`pages.run[${r}]`, `starts past the end of the page section`));
    const firstFrame = view.getUint32(at, true);
    const count = view.getUint32(at + 4, true);
    const dataOffset = at + RUN_HEADER_BYTES;
    if (count === 0) return E.left(checkpointError(`pages.run[${r}]`, 'holds no frames'));
    if (dataOffset + count * PAGE_SIZE > end) return E.left(checkpointError(`pages.run[${r}]`, `its ${count} frames run past the end of the page section`));
    const previous = runs[runs.length - 1];
    if (previous !== undefined && firstFrame < previous.firstFrame + previous.count) {
      return E.left(checkpointError(`pages.run[${r}]`, `frame ${firstFrame} is not above the previous run's last frame`));
    }
    runs.push({ firstFrame, count, dataOffset });
    at = dataOffset + count * PAGE_SIZE;
  }
  if (at !== end) return E.left(checkpointError('pages', `${end - at} bytes follow the last of the ${runCount} runs`));
  return E.right(runs);
}

/** The error for a page section whose checksum does not match. */
export function pagesDamaged(): CheckpointError {
  return checkpointError('pages', 'the section checksum does not match: the page data is damaged');
}

/** The metadata bytes as a string; every byte must be ASCII. */
function asciiText(bytes: Uint8Array): E.Either<CheckpointError, string> {
  const parts: string[] = [];
  const STEP = 8192;
  for (let i = 0; i < bytes.length; i += STEP) {
    const piece = bytes.subarray(i, Math.min(i + STEP, bytes.length));
    for (let j = 0; j < piece.length; j += 1) {
      if ((piece[j] as number) > 0x7e) return E.left(checkpointError('metadata', `byte ${i + j} is not printable ASCII`));
    }
    parts.push(String.fromCharCode(...piece));
  }
  return E.right(parts.join(''));
}
