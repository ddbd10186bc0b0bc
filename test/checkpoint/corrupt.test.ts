/**
 * Fuzzed damage: random byte flips, truncations and extensions of valid
 * images are all refused with a message; metadata rewritten at random and
 * sealed again with fresh checksums (so it reaches io-ts and the cross
 * reference checks) never makes restore throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, PROT_READ } from '../../src/abi/constants.js';
import { MAP_SHARED, O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import { HEADER_BYTES, asciiJson, paddedLength, writeHeader } from '../../src/checkpoint/format.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';

function sampleImage(): Uint8Array {
  const kernel = new Kernel({ clock: () => 1000, memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 });
  const a = kernel.spawn({ uid: 1000, gid: 1000 });
  const b = kernel.spawn({ ipcNamespace: kernel.newIpcNamespace() });
  const id = ok(a.shmget(7, 5 * 4096, IPC_CREAT | 0o666));
  const at = ok(a.shmat(id, 0, 0));
  ok(a.fill(at, 3 * 4096, 0xab));
  ok(a.fork());
  ok(b.shmget(7, 4096, IPC_CREAT | 0o600));
  ok(b.mkdir('/d'));
  const fd = ok(b.open('/d/f', O_CREAT | O_RDWR, 0o600));
  ok(b.writeFd(fd, new Uint8Array(6000).fill(3)));
  ok(b.mmap(fd, 4096, PROT_READ, MAP_SHARED));
  const img = checkpoint(kernel);
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

const IMAGE = sampleImage();
const META_BYTES = new DataView(IMAGE.buffer).getUint32(16, true);
const RUNS = new DataView(IMAGE.buffer).getUint32(24, true);
const PAGES = IMAGE.subarray(HEADER_BYTES + paddedLength(META_BYTES));
const META: unknown = JSON.parse(String.fromCharCode(...IMAGE.subarray(HEADER_BYTES, HEADER_BYTES + META_BYTES)));

/** An image with `metadata` in place of the original's, sealed with valid checksums. */
function sealed(metadata: string): Uint8Array {
  const start = HEADER_BYTES + paddedLength(metadata.length);
  const out = new Uint8Array(start + PAGES.length);
  for (let i = 0; i < metadata.length; i += 1) out[HEADER_BYTES + i] = metadata.charCodeAt(i) & 0x7f;
  out.fill(0x20, HEADER_BYTES + metadata.length, start);
  out.set(PAGES, start);
  writeHeader(out, metadata.length, RUNS, PAGES.length);
  return out;
}

/** Every path to a leaf or node of a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}
const PATHS = paths(META).filter((p) => p.length > 0);

function setAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy: unknown = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** restore must answer, never throw; a Left carries a message naming a place. */
function answers(img: Uint8Array): E.Either<string, unknown> {
  const r = restore(img);
  if (E.isLeft(r)) {
    expect(r.left.message.length).toBeGreaterThan(r.left.where.length);
    expect(r.left.message.startsWith(r.left.where)).toBe(true);
    return E.left(r.left.message);
  }
  return E.right(r.right);
}

const oddValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer({ min: -5, max: 5 }),
  fc.integer(),
  fc.constantFrom(2 ** 31, 2 ** 32 + 1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1.5, -1),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('18446744073709551616', '-1', '0', 'root', 'shm', 'anon', 'file', 'dir'),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);

describe('restore of damaged images', () => {
  it('refuses every image with flipped bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: IMAGE.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), (flips) => {
        const bad = IMAGE.slice();
        for (const [at, mask] of flips) bad[at] = (bad[at] as number) ^ mask;
        if (Buffer.compare(Buffer.from(bad), Buffer.from(IMAGE)) === 0) return;
        expect(E.isLeft(answers(bad))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses every truncated or extended image', () => {
    fc.assert(
      fc.property(fc.nat({ max: IMAGE.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean(), (cut, extra, extend) => {
        const bad = extend ? new Uint8Array([...IMAGE, ...extra]) : IMAGE.subarray(0, cut);
        expect(E.isLeft(answers(bad))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on resealed metadata with a field changed, removed or retyped', () => {
    fc.assert(
      fc.property(fc.nat({ max: PATHS.length - 1 }), oddValue, (which, value) => {
        answers(sealed(asciiJson(setAt(META, PATHS[which] as (string | number)[], value))));
      }),
      { numRuns: 800 },
    );
  });

  it('never throws on resealed metadata text with characters changed', () => {
    const text = asciiJson(META);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: text.length - 1 }), fc.integer({ min: 0x20, max: 0x7e })), { minLength: 1, maxLength: 4 }), (edits) => {
        const chars = text.split('');
        for (const [at, c] of edits) chars[at] = String.fromCharCode(c);
        answers(sealed(chars.join('')));
      }),
      { numRuns: 400 },
    );
  });

  it('reports a decoding failure with its JSON path', () => {
    const bad = setAt(META, ['processes', 1, 'vmas', 0, 'perms'], 'rw');
    const r = restore(sealed(asciiJson(bad)));
    expect(E.isLeft(r) && r.left.where).toBe('metadata.processes[1].vmas[0].perms');
    const dangling = setAt(META, ['processes', 0, 'vmas', 0, 'object', 'id'], 12345);
    const d = restore(sealed(asciiJson(dangling)));
    expect(E.isLeft(d) && d.left.message).toMatch(/processes\[0\]\.vmas\[0\]\.object: segment 12345 is not in IPC namespace 0/);
  });
});
