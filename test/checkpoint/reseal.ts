/**
 * An image's metadata as JSON, and an image made again from edited metadata
 * and the original page section, sealed with valid checksums by the format
 * module's own writer: so an edit reaches decoding and every check of
 * meaning instead of stopping at a checksum.
 */
import { HEADER_BYTES, asciiJson, paddedLength, writeHeader } from '../../src/checkpoint/format.js';

/** An image split for editing: its metadata as JSON, its run count and its page section. */
export interface Opened {
  readonly meta: unknown;
  readonly runs: number;
  readonly pages: Uint8Array;
}

export function openImage(image: Uint8Array): Opened {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const metaBytes = view.getUint32(16, true);
  return {
    meta: JSON.parse(String.fromCharCode(...image.subarray(HEADER_BYTES, HEADER_BYTES + metaBytes))),
    runs: view.getUint32(24, true),
    pages: image.subarray(HEADER_BYTES + paddedLength(metaBytes)),
  };
}

/** `meta` with `opened`'s page section, sealed with valid checksums. */
export function reseal(opened: Opened, meta: unknown): Uint8Array {
  const metadata = asciiJson(meta);
  const start = HEADER_BYTES + paddedLength(metadata.length);
  const out = new Uint8Array(start + opened.pages.length);
  for (let i = 0; i < metadata.length; i += 1) out[HEADER_BYTES + i] = metadata.charCodeAt(i);
  out.fill(0x20, HEADER_BYTES + metadata.length, start);
  out.set(opened.pages, start);
  writeHeader(out, metadata.length, opened.runs, opened.pages.length);
  return out;
}

/** A deep copy of `meta` with `edit` applied to it. */
export function edited<T>(meta: unknown, edit: (m: T) => void): unknown {
  const copy = structuredClone(meta) as T;
  edit(copy);
  return copy;
}
