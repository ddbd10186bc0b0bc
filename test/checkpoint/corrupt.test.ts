/**
 * Fuzzed damage: random byte flips, truncations and extensions of valid
 * images are all refused with a message; metadata rewritten at random and
 * sealed again with fresh checksums (so it reaches io-ts and the cross
 * reference checks) never makes restore throw. An engine section damaged
 * the same ways is refused by the checks, naming the field.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, PROT_READ } from '../../src/abi/constants.js';
import { MAP_SHARED, O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkpoint, restore, restoreWithEngine } from '../../src/checkpoint/index.js';
import type { CheckpointError } from '../../src/checkpoint/index.js';
import { HEADER_BYTES, asciiJson, paddedLength, writeHeader } from '../../src/checkpoint/format.js';
import { ContainerEngine } from '../../src/hostchannel/engine.js';
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

/** The parts of an image that a test rebuilds it from: run count, page section, metadata. */
function parts(image: Uint8Array): { runs: number; pages: Uint8Array; meta: unknown } {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const metaBytes = view.getUint32(16, true);
  return {
    runs: view.getUint32(24, true),
    pages: image.subarray(HEADER_BYTES + paddedLength(metaBytes)),
    meta: JSON.parse(String.fromCharCode(...image.subarray(HEADER_BYTES, HEADER_BYTES + metaBytes))),
  };
}

/** An image of `metadata` and the page section `pages` (with `runs` runs), sealed with valid checksums. */
function seal(metadata: string, pages: Uint8Array, runs: number): Uint8Array {
  const start = HEADER_BYTES + paddedLength(metadata.length);
  const out = new Uint8Array(start + pages.length);
  for (let i = 0; i < metadata.length; i += 1) out[HEADER_BYTES + i] = metadata.charCodeAt(i) & 0x7f;
  out.fill(0x20, HEADER_BYTES + metadata.length, start);
  out.set(pages, start);
  writeHeader(out, metadata.length, runs, pages.length);
  return out;
}

const IMAGE = sampleImage();
const { runs: RUNS, pages: PAGES, meta: META } = parts(IMAGE);

/** An image with `metadata` in place of the original's, sealed with valid checksums. */
function sealed(metadata: string): Uint8Array {
  return seal(metadata, PAGES, RUNS);
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

/** An image with an engine section: containers running (one read-only), stopped and only created. */
function engineImage(): Uint8Array {
  const kernel = new Kernel({ clock: () => 1000, memTotalBytes: 2 ** 28, chunkBytes: 2 ** 16 });
  const engine = new ContainerEngine(kernel);
  engine.run('web', { hostChannel: '/chan/web:/ipc::64K', memoryLimit: 16n * 4096n });
  engine.run('ro', { hostChannel: '/chan/ro:/ipc:ro:8K' });
  engine.run('done', { hostChannel: '/chan/done:/ipc::' });
  engine.create('fresh', { rm: true });
  const inWeb = ok(engine.exec('web'));
  ok(inWeb.writeFd(ok(inWeb.open('/ipc/f', O_CREAT | O_RDWR, 0o644)), new Uint8Array(5000).fill(1)));
  engine.stop('done');
  const img = checkpoint(kernel, { engine });
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

const ENGINE_IMAGE = engineImage();
const ENGINE_PARTS = parts(ENGINE_IMAGE);
const ENGINE_META = ENGINE_PARTS.meta as { processes: { pid: number }[]; engine: unknown };
const ENGINE_PATHS = paths(ENGINE_META.engine, ['engine']).filter((p) => p.length > 1);

function sealedEngine(meta: unknown): Uint8Array {
  return seal(asciiJson(meta), ENGINE_PARTS.pages, ENGINE_PARTS.runs);
}

/**
 * restoreWithEngine answers, never throws, and refuses a bad engine section
 * in its checks: a Left from the build stage would mean the checks let an
 * inconsistent section through.
 */
function engineAnswers(img: Uint8Array): E.Either<CheckpointError, unknown> {
  const r = restoreWithEngine(img);
  if (E.isLeft(r)) {
    expect(r.left.message.startsWith(r.left.where)).toBe(true);
    expect(r.left.message).not.toMatch(/passed every check/);
  }
  return r;
}

const PIDS = ENGINE_META.processes.map((p) => p.pid);

describe('restore of damaged engine sections', () => {
  it('round-trips the sample untouched', () => {
    expect(E.isRight(engineAnswers(sealedEngine(ENGINE_META)))).toBe(true);
  });

  it('never throws, and never gets past the checks, with an engine field changed, removed or retyped', () => {
    const engineValue = fc.oneof(
      oddValue,
      fc.constantFrom(...PIDS, PIDS[PIDS.length - 1]! + 1),
      fc.constantFrom('created', 'running', 'exited', '/', '/x/../y', 'ro,rw'),
    );
    fc.assert(
      fc.property(fc.nat({ max: ENGINE_PATHS.length - 1 }), engineValue, (which, value) => {
        engineAnswers(sealedEngine(setAt(ENGINE_META, ENGINE_PATHS[which] as (string | number)[], value)));
      }),
      { numRuns: 800 },
    );
  });

  it('never throws with two engine fields swapped between containers', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 3 }),
        fc.nat({ max: 3 }),
        fc.constantFrom('name', 'state', 'running', 'cgroup', 'hostChannel', 'memoryLimit'),
        (i, j, field) => {
          const m = structuredClone(ENGINE_META) as { engine: { containers: Record<string, unknown>[] } };
          const [a, b] = [m.engine.containers[i]!, m.engine.containers[j]!];
          [a[field], b[field]] = [b[field], a[field]];
          engineAnswers(sealedEngine(m));
        },
      ),
      { numRuns: 200 },
    );
  });

  const refusal = (path: (string | number)[], value: unknown): CheckpointError => {
    const r = engineAnswers(sealedEngine(setAt(ENGINE_META, path, value)));
    if (E.isRight(r)) throw new Error(`engine.${path.join('.')} = ${JSON.stringify(value)} was accepted`);
    return r.left;
  };

  it('names the field of each broken reference', () => {
    const missingPid = Math.max(...PIDS) + 1;
    expect(refusal(['engine', 'daemon'], missingPid).where).toBe('metadata.engine.daemon');
    expect(refusal(['engine', 'containers', 0, 'running', 'init'], missingPid).where).toBe('metadata.engine.containers[0].running.init');
    expect(refusal(['engine', 'containers', 0, 'running', 'init'], ENGINE_META.processes[0]!.pid).where).toMatch(/^metadata\.engine\.containers\[0\]\.running/);
    const initOfRo = (ENGINE_META.engine as { containers: { running: { init: number } }[] }).containers[1]!.running.init;
    expect(refusal(['engine', 'containers', 0, 'running', 'init'], initOfRo).message).toMatch(/is not in the container's mount namespace/);
    expect(refusal(['engine', 'containers', 1, 'running', 'mountNamespace'], 99).where).toBe('metadata.engine.containers[1].running.mountNamespace');
    expect(refusal(['engine', 'containers', 1, 'running', 'ipcNamespace'], 99).where).toBe('metadata.engine.containers[1].running.ipcNamespace');
    expect(refusal(['engine', 'containers', 0, 'cgroup'], 99).where).toBe('metadata.engine.containers[0].cgroup');
    expect(refusal(['engine', 'containers', 1, 'name'], 'web').message).toMatch(/containers\[1\]\.name: container web appears twice/);
    expect(refusal(['engine', 'containers', 1, 'name'], '-x').where).toBe('metadata.engine.containers[1].name');
    expect(refusal(['engine', 'containers', 0, 'hostChannel', 'pathOnHost'], 'chan').where).toBe('metadata.engine.containers[0].hostChannel.pathOnHost');
    expect(refusal(['engine', 'containers', 0, 'hostChannel', 'permissions'], 'rw,ro').where).toBe('metadata.engine.containers[0].hostChannel.permissions');
    expect(refusal(['engine', 'containers', 0, 'memoryLimit'], '4096').message).toMatch(/limit is not the container's memoryLimit/);
  });

  it('refuses a state that disagrees with what the container holds', () => {
    expect(refusal(['engine', 'containers', 0, 'state'], 'exited').where).toBe('metadata.engine.containers[0].running');
    expect(refusal(['engine', 'containers', 2, 'state'], 'running').where).toBe('metadata.engine.containers[2].running');
    expect(refusal(['engine', 'containers', 2, 'state'], 'created').where).toBe('metadata.engine.containers[2].cgroup');
    expect(refusal(['engine', 'containers', 3, 'state'], 'exited').where).toBe('metadata.engine.containers[3].cgroup');
    expect(refusal(['engine', 'containers', 3, 'state'], 'paused').where).toBe('metadata.engine.containers[3].state');
  });
});
