/**
 * The kernel's trace (src/kernel/trace.ts) through its public API: the
 * events each kind of work emits, their strace-style lines, JSON Lines, and
 * that the last unsubscribe leaves the kernel as an untraced one.
 */
import { describe, expect, it } from 'vitest';
import { ContainerEngine, IPC_CREAT, IPC_STAT, Kernel, SETVAL, SHM_RDONLY, formatTraceEvent, isPending, traceEventToJson } from '../../src/index.js';
import type { TraceEvent } from '../../src/index.js';
import { ok as right } from '../support/either.js';

/** A kernel with a fixed clock and every event it emits, printed with the names given. */
function traced(names: Record<number, string> = { 1000: 'A', 1001: 'B' }) {
  const kernel = new Kernel({ clock: () => 1_700_000_000, monotonicClock: () => 0 });
  const events: TraceEvent[] = [];
  const stop = kernel.onTrace((e) => events.push(e));
  const map = new Map(Object.entries(names).map(([pid, name]) => [Number(pid), name]));
  const lines = () => events.map((e) => formatTraceEvent(e, map));
  return { kernel, events, stop, lines };
}

describe('Kernel.onTrace', () => {
  it('reports each syscall with its process, arguments and result, as strace prints it', () => {
    const { kernel, lines } = traced();
    const a = kernel.spawn({ uid: 1000, gid: 1000 });
    const b = kernel.spawn({ uid: 1001, gid: 1001 });
    const id = right(a.shmget(0x10000, 4096, IPC_CREAT | 0o600));
    const addr = right(a.shmat(id, 0, 0));
    b.shmat(id, 0, SHM_RDONLY);
    a.shmdt(addr);
    expect(lines()).toEqual([
      'A shmget(0x10000, 4096, IPC_CREAT|0600) = 0',
      `A shmat(0, NULL, 0) = 0x${addr.toString(16)}`,
      'B shmat(0, NULL, SHM_RDONLY) = -1 EACCES (Permission denied)',
      `A shmdt(0x${addr.toString(16)}) = 0`,
    ]);
  });

  it('prints a pid where no name is given, and the structures a STAT fills', () => {
    const { kernel, lines } = traced({});
    const a = kernel.spawn({ uid: 1000, gid: 1000 });
    a.shmget(0, 4096, IPC_CREAT | 0o640);
    a.shmctl(0, IPC_STAT);
    expect(lines()[1]).toBe(
      '1000 shmctl(0, IPC_STAT, {shm_perm={key=IPC_PRIVATE, uid=1000, gid=1000, cuid=1000, cgid=1000, mode=0640}, shm_segsz=4096, shm_atime=0, shm_dtime=0, shm_ctime=1700000000, shm_cpid=1000, shm_lpid=0, shm_nattch=0}) = 0',
    );
  });

  it('reports a call that sleeps as unfinished, and its wake-up with the waker', () => {
    const { kernel, lines, events } = traced();
    const a = kernel.spawn();
    const b = kernel.spawn();
    const sem = right(a.semget(0, 1, IPC_CREAT | 0o600));
    const r = b.semop(sem, [{ semNum: 0, semOp: -1, semFlg: 0 }]);
    expect(isPending(r)).toBe(true);
    a.semctl(sem, 0, SETVAL, 1);
    expect(lines()).toEqual([
      'A semget(IPC_PRIVATE, 1, IPC_CREAT|0600) = 0',
      'B semop(0, [{sem_num=0, sem_op=-1, sem_flg=0}], 1 <unfinished ...>',
      'A semctl(0, 0, SETVAL, 1) = 0',
      'B <... semop resumed>) = 0 (woken by A)',
    ]);
    expect(events[3]).toEqual({ kind: 'wake', pid: 1001, call: 'semop', result: { status: 'ok', value: 0 }, by: 1000 });
  });

  it('reports a faulting access and the frames a first touch and a removal move', () => {
    const { kernel, lines } = traced();
    const a = kernel.spawn();
    const id = right(a.shmget(0, 3 * 4096, IPC_CREAT | 0o600));
    const addr = right(a.shmat(id, 0, 0));
    a.write(addr, new Uint8Array(3 * 4096).fill(1));
    a.read(0x1000, 1);
    a.shmdt(addr);
    a.shmctl(id, 0);
    expect(lines().slice(2)).toEqual([
      'A --- frames 0-2 allocated ---',
      'A --- SIGSEGV {si_signo=SIGSEGV, si_addr=0x1000} ---',
      `A shmdt(0x${addr.toString(16)}) = 0`,
      'A shmctl(0, IPC_RMID, NULL) = 0',
      'A --- frames 0-2 freed ---',
    ]);
  });

  it('reports the container engine lifecycle steps and the processes they start', () => {
    const { kernel, events } = traced({});
    const engine = new ContainerEngine(kernel);
    engine.create('web', { hostChannel: '/testdir:/testdir:rw:32M' });
    engine.create('bad', { hostChannel: '/a:/b:rw:1K' });
    engine.start('web');
    const steps = events.filter((e) => e.kind === 'container');
    const init = engine.initProcess('web');
    expect(steps).toEqual([
      { kind: 'container', name: 'web', step: 'create', exitStatus: 0 },
      { kind: 'container', name: 'bad', step: 'create', exitStatus: 1, stderr: ['Invalid size, larger than 4KB is allowed'] },
      { kind: 'container', name: 'web', step: 'start', exitStatus: 0, pid: init?.pid },
    ]);
    expect(formatTraceEvent(steps[2]!)).toBe(`--- container web: start = 0, pid ${init?.pid} ---`);
    // The daemon's own syscalls (the host channel's mount) are traced too.
    expect(events.some((e) => e.kind === 'syscall' && e.call === 'mountTmpfs')).toBe(true);
  });

  it('encodes events as JSON Lines, bigints and buffers included', () => {
    const { kernel, events } = traced();
    const a = kernel.spawn();
    const q = right(a.msgget(0, IPC_CREAT | 0o600));
    a.msgsnd(q, 2n ** 60n, new TextEncoder().encode('hi'), 0);
    const parsed = events.map((e) => JSON.parse(traceEventToJson(e, new Map([[1000, 'A']]))) as Record<string, unknown>);
    expect(parsed[1]).toEqual({
      kind: 'syscall',
      pid: 1000,
      name: 'A',
      call: 'msgsnd',
      args: [0, '1152921504606846976', { kind: 'bytes', bytes: '6869', length: 2 }, 0],
      result: { status: 'ok', value: 0 },
    });
    expect(formatTraceEvent(events[1]!)).toBe('1000 msgsnd(0, {1152921504606846976, "hi"}, 2, 0) = 0');
  });

  it('traces processes made after it subscribes, and calls inside a call only once', () => {
    const { kernel, events } = traced();
    const a = kernel.spawn();
    const child = right(a.fork());
    child.semop(right(child.semget(0, 1, IPC_CREAT | 0o600)), [{ semNum: 0, semOp: 1, semFlg: 0 }]);
    // Process.semop runs semtimedop inside: one event, named as called.
    expect(events.map((e) => (e.kind === 'syscall' ? `${e.pid} ${e.call}` : e.kind))).toEqual(['1000 fork', '1001 semget', '1001 semop']);
    expect(formatTraceEvent(events[0]!)).toBe('1000 fork() = 1001');
  });

  it('leaves the kernel untraced after the last unsubscribe', () => {
    const kernel = new Kernel();
    const a = kernel.spawn();
    const plain = Object.getPrototypeOf(a) as object;
    const plainMemory = Object.getPrototypeOf(kernel.memoryFile) as object;
    const seen: TraceEvent[] = [];
    const stop1 = kernel.onTrace((e) => seen.push(e));
    const stop2 = kernel.onTrace(() => undefined);
    expect(Object.getPrototypeOf(a)).not.toBe(plain);
    stop1();
    stop1();
    a.shmget(0, 4096, IPC_CREAT | 0o600);
    expect(seen).toEqual([]);
    expect(kernel.tracer).not.toBe(undefined);
    stop2();
    expect(kernel.tracer).toBe(undefined);
    expect(Object.getPrototypeOf(a)).toBe(plain);
    expect(Object.getPrototypeOf(kernel.memoryFile)).toBe(plainMemory);
    expect(Object.getOwnPropertyNames(a)).not.toContain('shmget');
  });
});

describe('tracing a caller whose arguments cannot be read', () => {
  it('records them as <unreadable>, and the call answers as it would untraced (EFAULT)', () => {
    const { kernel, events } = traced();
    const p = kernel.spawn();
    const id = right(p.semget(0x2000, 1, IPC_CREAT | 0o600));
    const sop = { semNum: 0, semFlg: 0 };
    Object.defineProperty(sop, 'semOp', {
      enumerable: true,
      get() {
        throw new Error('semOp cannot be read');
      },
    });
    const r = p.semop(id, [sop as never]);
    expect(isPending(r) ? 'asleep' : r._tag === 'Left' ? r.left.errno : 'ok').toBe('EFAULT');
    const call = events.find((e) => e.kind === 'syscall' && e.call === 'semop');
    expect(JSON.stringify(call)).toContain('<unreadable>');
  });
});
