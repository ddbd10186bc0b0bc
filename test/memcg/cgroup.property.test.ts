import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { O_CREAT, O_WRONLY } from '../../src/abi/fs.js';
import { ContainerEngine } from '../../src/hostchannel/engine.js';
import type { MemoryCgroup } from '../../src/memcg/cgroup.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';

const CONTAINERS = ['c0', 'c1'] as const;
type Actor = 'host' | (typeof CONTAINERS)[number];

type Op =
  | { readonly kind: 'write'; readonly actor: Actor; readonly channel: number; readonly file: number; readonly page: number; readonly bytes: number }
  | { readonly kind: 'delete'; readonly actor: Actor; readonly channel: number; readonly file: number }
  | { readonly kind: 'truncate'; readonly actor: Actor; readonly channel: number; readonly file: number; readonly bytes: number }
  | { readonly kind: 'restart'; readonly container: number };

const actors = fc.constantFrom<Actor>('host', ...CONTAINERS);
const channelNo = fc.integer({ min: 0, max: CONTAINERS.length - 1 });
const fileNo = fc.integer({ min: 0, max: 2 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      actor: actors,
      channel: channelNo,
      file: fileNo,
      page: fc.integer({ min: 0, max: 12 }),
      bytes: fc.integer({ min: 1, max: 10 * PAGE_SIZE }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), actor: actors, channel: channelNo, file: fileNo }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      actor: actors,
      channel: channelNo,
      file: fileNo,
      bytes: fc.integer({ min: 0, max: 6 * PAGE_SIZE }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), container: channelNo }) },
);

const setups = fc.tuple(
  fc.array(fc.record({ limitPages: fc.integer({ min: 1, max: 16 }), channelPages: fc.integer({ min: 1, max: 24 }) }), {
    minLength: CONTAINERS.length,
    maxLength: CONTAINERS.length,
  }),
  fc.array(op, { maxLength: 60 }),
);

/**
 * One run: two containers, each with its own channel and memory limit. Host
 * processes and processes inside both containers write, delete and truncate
 * files in either channel (a container reaches only its own).
 */
function run(config: readonly { limitPages: number; channelPages: number }[], ops: readonly Op[]): void {
  const kernel = new Kernel({ memTotalBytes: 64 * 1024 * 1024 });
  const engine = new ContainerEngine(kernel);
  const host = kernel.spawn();
  const cgroups = new Set<MemoryCgroup>();
  const workers = new Map<Actor, Process>();

  CONTAINERS.forEach((name, i) => {
    const { limitPages, channelPages } = config[i]!;
    const r = engine.run(name, { hostChannel: `/chan${i}:/ipc::${channelPages * PAGE_SIZE}`, memoryLimit: BigInt(limitPages * PAGE_SIZE) });
    expect(r.exitStatus).toBe(0);
    cgroups.add(engine.memoryCgroup(name)!);
  });

  /** A live process for `actor`, and the path of file `file` of channel `channel` as it sees it; none when a container cannot see that channel. */
  const worker = (actor: Actor, channel: number, file: number): { p: Process; path: string } | undefined => {
    if (actor === 'host') return { p: host, path: `/chan${channel}/f${file}` };
    if (CONTAINERS.indexOf(actor) !== channel) return undefined;
    let p = workers.get(actor);
    if (p === undefined || p.exited) {
      const spawned = engine.exec(actor);
      if (E.isLeft(spawned)) throw new Error(spawned.left.stderr.join('; '));
      p = spawned.right;
      workers.set(actor, p);
    }
    return { p, path: `/ipc/f${file}` };
  };

  const check = (): void => {
    let charged = kernel.rootMemoryCgroup.chargedPages;
    for (const cg of cgroups) {
      expect(cg.usagePages).toBeLessThanOrEqual(cg.limitPages!);
      charged += cg.usagePages;
    }
    // Every frame in use is a tmpfs page, charged to exactly one cgroup.
    expect(charged).toBe(kernel.memoryFile.allocatedFrames);
  };

  for (const o of ops) {
    if (o.kind === 'restart') {
      const name = CONTAINERS[o.container]!;
      expect(engine.restart(name).exitStatus).toBe(0);
      cgroups.add(engine.memoryCgroup(name)!);
      workers.delete(name);
    } else {
      const w = worker(o.actor, o.channel, o.file);
      if (w === undefined) continue;
      const { p, path } = w;
      if (o.kind === 'delete') {
        p.unlink(path);
      } else {
        const fd = p.open(path, O_CREAT | O_WRONLY, 0o666);
        if (E.isRight(fd)) {
          const done = o.kind === 'write' ? p.pwrite(fd.right, new Uint8Array(o.bytes).fill(1), o.page * PAGE_SIZE) : p.ftruncate(fd.right, o.bytes);
          // Only a refused cgroup charge kills, and only a container process.
          if (p.exited) {
            expect(o.actor).not.toBe('host');
            expect(E.isLeft(done) && done.left.errno).toBe('ENOMEM');
          } else {
            p.close(fd.right);
          }
        }
      }
    }
    check();
  }

  for (const name of CONTAINERS) expect(engine.rm(name, { force: true }).exitStatus).toBe(0);
  host.exit();
  for (const p of kernel.processes()) p.exit();
  check();
  expect(kernel.memoryFile.allocatedFrames).toBe(0);
}

describe('memory cgroup charging under random host and container writes (property)', () => {
  it('keeps usage within the limit, charges equal to pages in use, and zero frames at the end', () => {
    fc.assert(
      fc.property(setups, ([config, ops]) => run(config, ops)),
      { numRuns: 150 },
    );
  });
});
