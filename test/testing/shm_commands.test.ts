/**
 * The syscall-sequence arbitrary and runCommands of ipc-sentry/testing: every
 * generated list runs without the kernel throwing, the run's bookkeeping
 * agrees with what the kernel shows, the options restrict what is generated,
 * and a hand-written list resolves exactly as documented. Seeds: the run's
 * FC_SEED (test/support/seed.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_STAT, Kernel, PAGE_SIZE, SHM_RDONLY } from '../../src/index.js';
import { isShmMappable } from '../../src/mm/memmap.js';
import {
  CommandRunError,
  DEFAULT_CAST,
  SHM_OPS,
  formatTrace,
  installEitherMatchers,
  runCommands,
  shmCommandArb,
  shmCommandsArb,
} from '../../src/testing/index.js';
import type { RunState, ShmCommand, ShmOp } from '../../src/testing/index.js';
import { useSeed } from '../support/seed.js';

useSeed();
installEitherMatchers(expect);

/** The run's bookkeeping against the kernel: what it says is attached is mapped, what it says exists exists. */
function agrees(state: RunState, observer: ReturnType<Kernel['spawn']>): void {
  for (const p of state.processes) {
    if (p.process.exited) {
      expect(p.attached).toEqual([]);
      continue;
    }
    const mapped = p.process.mm.vmas().filter((v) => isShmMappable(v.mappable));
    for (const a of p.attached) {
      expect(a.pages.size).toBeGreaterThan(0);
      for (const i of a.pages) {
        const page = a.addr + i * PAGE_SIZE;
        expect(mapped.some((v) => v.start <= page && page < v.end && v.start - v.offset === a.addr)).toBe(true);
      }
    }
  }
  for (const s of state.segments) {
    if (s.removed) continue;
    const stat = observer.shmctl(s.id, IPC_STAT);
    expect(stat).toBeRightWith(expect.objectContaining({ ds: expect.objectContaining({ segsz: BigInt(s.size) }) }));
    const perm = E.isRight(stat) ? stat.right.ds?.perm : undefined;
    expect(perm && { key: perm.key, cuid: perm.cuid, cgid: perm.cgid, uid: perm.uid, gid: perm.gid, mode: perm.mode & 0o777 }).toEqual({
      key: s.key,
      cuid: s.cuid,
      cgid: s.cgid,
      uid: s.uid,
      gid: s.gid,
      mode: s.mode,
    });
  }
}

describe('shmCommandsArb and runCommands', () => {
  it('run every generated list, each command either a step or skipped, bookkeeping true to the kernel', () => {
    fc.assert(
      fc.property(shmCommandsArb(fc, { maxCommands: 40 }), (commands) => {
        const kernel = new Kernel();
        const observer = kernel.spawn();
        const run = runCommands(kernel, commands, { afterEach: (_, state) => agrees(state, observer) });
        const indexes = [...run.steps.map((s) => s.index), ...run.skipped.map((s) => s.index)].sort((a, b) => a - b);
        expect(indexes).toEqual(commands.map((_, i) => i));
        expect(run.processes.filter((p) => !p.process.exited).length).toBeLessThanOrEqual(10);
        expect(run.processes.filter((p) => !p.process.exited).length).toBeGreaterThanOrEqual(1);
        for (const s of run.skipped) expect(s.reason).not.toBe('');
      }),
      { numRuns: 200 },
    );
  });

  it('generate only the ops asked for, within the length bounds', () => {
    const ops = fc.subarray([...SHM_OPS], { minLength: 1 });
    fc.assert(
      fc.property(
        ops.chain((o) => fc.tuple(fc.constant(o), shmCommandsArb(fc, { ops: o, minCommands: 2, maxCommands: 5 }))),
        ([o, commands]) => {
          expect(commands.length).toBeGreaterThanOrEqual(2);
          expect(commands.length).toBeLessThanOrEqual(5);
          for (const c of commands) expect(o).toContain(c.op);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('draw every op of the full mix', () => {
    const seen = new Set(fc.sample(shmCommandArb(fc), 2000).map((c) => c.op));
    expect([...seen].sort()).toEqual([...SHM_OPS].sort());
  });

  it('reject options they cannot honour', () => {
    expect(() => shmCommandArb(fc, { ops: [] })).toThrow(/empty/);
    expect(() => shmCommandArb(fc, { ops: ['shmget', 'mmap' as ShmOp] })).toThrow(/unknown op "mmap"/);
    expect(() => shmCommandsArb(fc, { minCommands: 3, maxCommands: 2 })).toThrow(RangeError);
    expect(() => runCommands(new Kernel(), [], { processes: [] })).toThrow(/no process/);
  });
});

describe('runCommands on a fixed list', () => {
  const list: ShmCommand[] = [
    { op: 'exit', proc: 0 }, // ends root (proc 0 of seven live)
    { op: 'shmget', proc: 0, key: 11, size: 5000, flags: IPC_CREAT | 0o640 }, // A creates a two-page segment
    { op: 'shmat', proc: 1, target: 'live', seg: 0, flags: SHM_RDONLY, asCreator: false }, // B, same group: read-only attach
    { op: 'shmat', proc: 2, target: 'live', seg: 0, flags: 0, asCreator: false }, // nobody: EACCES
    { op: 'fork', proc: 0 }, // A, the first live process
    { op: 'write', proc: 0, att: 0, page: 0, offset: 4095, bytes: new Uint8Array([1, 2]) }, // B, the only one with an attachment, writes it: read-only
    { op: 'shmctl', proc: 8, target: 'live', seg: 0, cmd: 'IPC_RMID', uid: undefined, gid: undefined, mode: undefined, asOwner: true }, // among the owner's uid: A (A.1 for an odd choice)
    { op: 'shmat', proc: 0, target: 'live', seg: 0, flags: 0, asCreator: false }, // no live segment left: skipped
    { op: 'shmdt', proc: 0, att: 0, variant: 'secondPage' }, // B: EINVAL, not an attach address
    { op: 'shmdt', proc: 0, att: 0, variant: 'origin' }, // B detaches: the removed segment goes
  ];

  it('resolves choices among live processes, segments and attachments as documented', () => {
    const kernel = new Kernel();
    const run = runCommands(kernel, list);
    const lines = formatTrace(run.steps)
      .replace(/pid \d+/g, 'pid N')
      .replace(/0x7[0-9a-f]+/g, 'ADDR')
      .split('\n');
    expect(lines).toEqual([
      '#0 root(pid N) exit() -> ok',
      '#1 A(pid N) shmget(11, 5000, IPC_CREAT|0640) -> 0',
      '#2 B(pid N) shmat(0, 0, SHM_RDONLY) -> ADDR',
      '#3 nobody(pid N) shmat(0, 0, 0) -> EACCES',
      '#4 A(pid N) fork() -> pid N',
      '#5 B(pid N) write(ADDR, Uint8Array[1, 2]) -> SIGSEGV at ADDR',
      '#6 A(pid N) shmctl(0, IPC_RMID) -> 0',
      '#8 B(pid N) shmdt(ADDR) -> EINVAL',
      '#9 B(pid N) shmdt(ADDR) -> 0',
    ]);
    expect(run.skipped).toEqual([{ index: 7, command: list[7], reason: 'no live segment' }]);
    expect(run.processes.map((p) => p.name)).toEqual([...DEFAULT_CAST.map((m) => m.name), 'A.1']);
    expect(run.segments).toEqual([{ id: 0, key: 11, size: 5000, cuid: 1000, cgid: 1000, uid: 1000, gid: 1000, mode: 0o640, removed: true }]);
    const b = run.processes[2]!;
    expect(b.attached).toEqual([]);
    expect(b.history).toHaveLength(1);
    expect(run.steps[7]!.args).toEqual([b.history[0]!.addr + PAGE_SIZE]);
    expect(run.steps[5]!.result).toFault('SIGSEGV', b.history[0]!.addr + 4095);
    expect(kernel.processes()[0]!.shmctl(0, IPC_STAT)).toBeErrno('EINVAL');
  });

  it('tracks munmap page by page, and forks copy attachments', () => {
    const kernel = new Kernel();
    const [root] = [kernel.spawn()];
    const run = runCommands(
      kernel,
      [
        { op: 'shmget', proc: 0, key: 0, size: 3 * PAGE_SIZE, flags: IPC_CREAT | 0o600 },
        { op: 'shmat', proc: 0, target: 'live', seg: 0, flags: 0, asCreator: false },
        { op: 'fork', proc: 0 },
        { op: 'munmap', proc: 0, att: 0, preferMapped: true, first: 1, count: 0 }, // page 1 only
        { op: 'munmap', proc: 0, att: 0, preferMapped: true, first: 0, count: 0 }, // page 0
        { op: 'munmap', proc: 0, att: 0, preferMapped: true, first: 2, count: 2 }, // page 2 and the two past the end
      ],
      { processes: [root!] },
    );
    expect(run.steps.map((s) => s.result)).toEqual([E.right(0), expect.toBeRight(), expect.toBeRight(), E.right(0), E.right(0), E.right(0)]);
    const [parent, child] = run.processes;
    expect(parent!.name).toBe('P0');
    expect(child!.name).toBe('P0.1');
    expect(parent!.attached).toEqual([]);
    expect(parent!.history).toHaveLength(1);
    expect([...child!.attached[0]!.pages]).toEqual([0, 1, 2]);
    expect(child!.process.shmctl(0, IPC_STAT)).toBeRightWith(expect.objectContaining({ ds: expect.objectContaining({ nattch: 1 }) }));
  });

  it('turns a throw inside the kernel into a CommandRunError with the trace', () => {
    const kernel = new Kernel();
    const p = kernel.spawn();
    const run = (): RunState =>
      runCommands(
        kernel,
        [
          { op: 'info', proc: 0 },
          { op: 'shmget', proc: 0, key: 0, size: 1, flags: IPC_CREAT },
        ],
        { processes: [p] },
      );
    p.shmget = () => {
      throw new Error('boom');
    };
    expect(run).toThrow(CommandRunError);
    expect(run).toThrow(/command #1 .*threw: boom\n--- trace ---\n#0 P0\(pid \d+\) shmctl\(0, SHM_INFO\) -> 0$/);
  });
});
