/**
 * Mutated images: images of random scenario kernels whose metadata is
 * edited (numbers ±1, to 0, to 2^31-1, to -1; booleans flipped; protection
 * bits toggled; array elements dropped or duplicated; references re-pointed)
 * and sealed again with valid checksums. Each mutant is either refused with
 * a Left, or restores into a kernel whose invariants hold and which then
 * takes a follow-up of calls (read, write, attach, detach, munmap of every
 * mapping, IPC_RMID of every segment, exit of every process) without a throw,
 * ending with no frame allocated.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { IPC_RMID } from '../../src/abi/constants.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { runScenario, scenarioTextArb } from '../../src/testing/index.js';
import { seed, useSeed } from '../support/seed.js';
import { edited, openImage, reseal } from './reseal.js';
import type { Opened } from './reseal.js';

useSeed();

// biome-ignore lint/suspicious/noExplicitAny: mutations reach into decoded JSON by path
type Json = any;
type Path = readonly (string | number)[];

/** Images of a dozen random scenario kernels, from the run's seed. */
function images(): Opened[] {
  const texts = fc.sample(scenarioTextArb(fc, { maxProcesses: 4, maxCommands: 25 }), { numRuns: 12, seed });
  return texts.map((text) => {
    const run = runScenario(text);
    if (E.isLeft(run)) throw new Error(`generated scenario does not parse:\n${run.left.join('\n')}`);
    const img = checkpoint(run.right.kernel);
    if (E.isLeft(img)) throw new Error(img.left.message);
    return openImage(img.right);
  });
}

/** Every path to a node of a JSON value. */
function paths(v: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

const KINDS = ['inc', 'dec', 'zero', 'max', 'neg', 'flip', 'toggle', 'drop', 'dup', 'repoint'] as const;
type Kind = (typeof KINDS)[number];

/** The mutated value of a leaf, or undefined when `kind` does not apply to it. */
function mutateLeaf(v: unknown, kind: Kind, r: number, siblings: readonly unknown[]): unknown {
  if (typeof v === 'number') {
    switch (kind) {
      case 'inc':
        return v + 1;
      case 'dec':
        return v - 1;
      case 'zero':
        return 0;
      case 'max':
        return 2 ** 31 - 1;
      case 'neg':
        return -1;
      case 'toggle':
        return v ^ (1 << (r % 3));
      case 'repoint': {
        const other = siblings.filter((s) => typeof s === 'number' && s !== v);
        return other.length > 0 ? other[r % other.length] : r % 4;
      }
      default:
        return undefined;
    }
  }
  if (typeof v === 'boolean') return kind === 'flip' || kind === 'toggle' ? !v : undefined;
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) {
    const n = BigInt(v);
    if (kind === 'inc') return (n + 1n).toString();
    if (kind === 'dec') return (n - 1n).toString();
    if (kind === 'zero') return '0';
    if (kind === 'max') return String(2 ** 31 - 1);
  }
  return undefined;
}

/** The values at the same key in the sibling elements of the node's nearest array, for re-pointing. */
function siblingValues(meta: Json, path: Path): unknown[] {
  for (let i = path.length - 1; i >= 0; i -= 1) {
    if (typeof path[i] !== 'number') continue;
    const container = path.slice(0, i).reduce((n: Json, k) => n?.[k], meta);
    if (!Array.isArray(container)) continue;
    const rest = path.slice(i + 1);
    return container.map((el) => rest.reduce((n: Json, k) => n?.[k], el));
  }
  return [];
}

/** `meta` with the node at `path` mutated by `kind`, or undefined when nothing applies. */
function mutate(meta: Json, path: Path, kind: Kind, r: number): unknown {
  const value = path.reduce((n: Json, k) => n?.[k], meta);
  if (Array.isArray(value)) {
    if (value.length === 0 || (kind !== 'drop' && kind !== 'dup')) return undefined;
    return edited<Json>(meta, (m) => {
      const arr = path.reduce((n: Json, k) => n[k], m) as unknown[];
      const i = r % arr.length;
      if (kind === 'drop') arr.splice(i, 1);
      else arr.splice(i, 0, structuredClone(arr[i]));
    });
  }
  const next = mutateLeaf(value, kind, r, kind === 'repoint' ? siblingValues(meta, path) : []);
  if (next === undefined) return undefined;
  return edited<Json>(meta, (m) => {
    const parent = path.slice(0, -1).reduce((n: Json, k) => n[k], m);
    parent[path[path.length - 1] as string | number] = next;
  });
}

/** Calls every process makes on a restored kernel, then removal of everything; throws only where the kernel does. */
function exercise(kernel: Kernel, meta: Json): void {
  const ids = new Set<number>();
  for (const ns of meta.ipcNamespaces) for (const s of ns.segments) ids.add(s.id);
  const procs = kernel.processes();
  for (const p of procs) {
    const vmas = meta.processes.find((m: Json) => m.pid === p.pid)?.vmas ?? [];
    for (const v of vmas) {
      p.read(v.start, 1);
      p.write(v.start, new Uint8Array([0x5a]));
      p.read(v.end - 1, 1);
    }
    for (const id of ids) {
      const at = p.shmat(id, 0, 0);
      if (E.isRight(at)) {
        p.write(at.right, new Uint8Array([1, 2, 3]));
        p.read(at.right, 3);
        p.shmdt(at.right);
      }
    }
    for (const v of vmas) p.munmap(v.start, v.end - v.start);
  }
  for (const ns of kernel.ipcNamespaces()) {
    const root = kernel.spawn({ ipcNamespace: ns });
    for (const id of ids) root.shmctl(id, IPC_RMID);
    root.exit();
  }
  for (const p of procs) p.exit();
}

const tally = { generated: 0, refused: 0, restored: 0, inapplicable: 0 };

describe('restore of mutated images', () => {
  const IMAGES = images();
  const PATHS = IMAGES.map((img) => paths(img.meta).filter((p) => p.length > 0));

  it('refuses each mutant, or restores a kernel that keeps its invariants and runs to zero frames', () => {
    fc.assert(
      fc.property(fc.nat({ max: IMAGES.length - 1 }), fc.nat(), fc.constantFrom(...KINDS), fc.nat({ max: 1000 }), (which, pathPick, kind, r) => {
        const img = IMAGES[which] as Opened;
        const all = PATHS[which] as Path[];
        const path = all[pathPick % all.length] as Path;
        const meta = mutate(img.meta, path, kind, r);
        if (meta === undefined) {
          tally.inapplicable += 1;
          return;
        }
        tally.generated += 1;
        const restored = restore(reseal(img, meta));
        if (E.isLeft(restored)) {
          tally.refused += 1;
          expect(restored.left.message.startsWith(`${restored.left.where}: `)).toBe(true);
          return;
        }
        tally.restored += 1;
        const kernel = restored.right;
        expect(checkInvariants(kernel)).toEqual(E.right(undefined));
        exercise(kernel, meta);
        expect(checkInvariants(kernel)).toEqual(E.right(undefined));
        expect(kernel.memoryFile.allocatedFrames).toBe(0);
      }),
      { numRuns: 3000 },
    );
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.restored).toBeGreaterThan(0);
  });

  afterAll(() => {
    console.log(
      `mutants: ${tally.generated} generated, ${tally.refused} refused, ${tally.restored} restored and exercised (${tally.inapplicable} draws had no mutation)`,
    );
  });
});
