/**
 * The ipc-sentry side of `npm run bench`: the same tests as
 * bench/native/shmbench.c, run on a fresh Kernel through the public API
 * (every call returns an Either, which is checked, as a program would).
 */
import * as E from 'fp-ts/lib/Either.js';
import { GETVAL, IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, IPC_STAT, Kernel, PAGE_SIZE, SETVAL, isPending } from '../src/node/index.js';
import { PROT_READ } from '../src/abi/constants.js';
import type { Process, Sembuf } from '../src/node/index.js';
import { O_CREAT, O_TRUNC, O_WRONLY } from '../src/abi/fs.js';
import { ContainerEngine } from '../src/hostchannel/engine.js';
import { runChild } from './child.js';
import { emulatedCorpusPass, loadCorpus } from './scenario_corpus.js';
import { collect, selfTimedSampler, timedSampler } from './stats.js';
import type { Sampler } from './stats.js';
import { performance } from 'node:perf_hooks';

/** The tests both backends implement (see shmbench.c for what each times). */
export type TestName =
  | 'get-rmid'
  | 'attach-detach'
  | 'mprotect-split'
  | 'ipc-stat'
  | 'key-lookup'
  | 'first-touch'
  | 'copy-in'
  | 'copy-out'
  | 'dd-channel'
  | 'semop'
  | 'sem-getval'
  | 'msg-pair'
  | 'fresh-kernel'
  | 'scenario-throughput'
  | WorkerTestName;

/** The tests that run in two worker threads (bench/workers.ts, in a child process: they need an event loop). */
export type WorkerTestName = 'futex-pingpong' | 'atomic-add' | 'sem-pingpong' | 'msg-pingpong';

/** Every worker test, for argument checks. */
export const WORKER_TESTS: readonly WorkerTestName[] = ['futex-pingpong', 'atomic-add', 'sem-pingpong', 'msg-pingpong'];

export interface Result {
  readonly rates: number[];
  readonly median: number;
}

const KEY_BASE = 0x5e000000;
const MiB = 1 << 20;

function ok<T>(r: E.Either<unknown, T>, what: string): T {
  if (E.isLeft(r)) throw new Error(`${what} failed: ${JSON.stringify(r.left)}`);
  return r.right;
}

function fresh(): Process {
  return new Kernel().spawn();
}

/** True for the tests that run in worker threads of a child process. */
export function isWorkerTest(test: TestName): test is WorkerTestName {
  return (WORKER_TESTS as readonly TestName[]).includes(test);
}

/** Runs `test` on ipc-sentry: one warm-up sample, then `samples` samples of `ops` operations. */
export function runEmulated(test: TestName, ops: number, samples: number, param: number): Result {
  if (isWorkerTest(test)) return runWorkers(test, ops, samples);
  return collect(prepareEmulated(test, ops, param), samples);
}

/**
 * Sets `test` up on a fresh kernel and runs its warm-up sample; each
 * sample() then times `ops` operations. The bench alternates these samples
 * with the native side's, so both see the machine in the same state.
 */
export function prepareEmulated(test: Exclude<TestName, WorkerTestName>, ops: number, param: number): Sampler {
  if (test === 'fresh-kernel') return freshKernels(ops);
  if (test === 'scenario-throughput') {
    // `ops` passes over the corpus (its first `param` files, 0: all) per sample; the rate is statements per second.
    const corpus = loadCorpus(param);
    return timedSampler(() => {
      let statements = 0;
      for (let i = 0; i < ops; i++) statements += emulatedCorpusPass(corpus);
      return statements;
    });
  }
  const p = fresh();
  switch (test) {
    case 'get-rmid':
      return timedSampler(() => {
        for (let i = 0; i < ops; i++) {
          const id = p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600);
          if (E.isLeft(id)) ok(id, 'shmget');
          else if (E.isLeft(p.shmctl(id.right, IPC_RMID))) throw new Error('IPC_RMID failed');
        }
        return ops;
      });
    case 'attach-detach': {
      const id = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600), 'shmget');
      for (let i = 0; i < param; i++) ok(p.shmat(id, 0, 0), 'shmat');
      return timedSampler(() => {
        for (let i = 0; i < ops; i++) {
          const a = p.shmat(id, 0, 0);
          if (E.isLeft(a)) ok(a, 'shmat');
          else if (E.isLeft(p.shmdt(a.right))) throw new Error('shmdt failed');
        }
        return ops;
      });
    }
    case 'mprotect-split': {
      // Each call makes one page of a fresh attachment read-only: one split per call.
      const id = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600), 'shmget');
      for (let i = 0; i < param; i++) ok(p.shmat(id, 0, 0), 'shmat');
      const big = ok(p.shmget(IPC_PRIVATE, (ops + 1) * PAGE_SIZE, IPC_CREAT | 0o600), 'shmget');
      return selfTimedSampler(() => {
        const a = ok(p.shmat(big, 0, 0), 'shmat');
        const t0 = performance.now();
        for (let i = 0; i < ops; i++) {
          if (E.isLeft(p.mprotect(a + i * PAGE_SIZE, PAGE_SIZE, PROT_READ))) throw new Error('mprotect failed');
        }
        const t1 = performance.now();
        ok(p.shmdt(a), 'shmdt');
        return ops / ((t1 - t0) / 1000);
      });
    }
    case 'ipc-stat': {
      const id = ok(p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600), 'shmget');
      let sink = 0;
      return timedSampler(() => {
        for (let i = 0; i < ops; i++) {
          const st = p.shmctl(id, IPC_STAT);
          if (E.isLeft(st)) ok(st, 'IPC_STAT');
          else sink += st.right.ds?.nattch ?? 0;
        }
        if (sink < 0) throw new Error('unreachable');
        return ops;
      });
    }
    case 'key-lookup': {
      const nkeys = Math.max(param, 1);
      for (let k = 0; k < nkeys; k++) ok(p.shmget(KEY_BASE + k, PAGE_SIZE, IPC_CREAT | IPC_EXCL | 0o600), 'shmget');
      let sink = 0;
      return timedSampler(() => {
        let k = 0;
        for (let i = 0; i < ops; i++) {
          const id = p.shmget(KEY_BASE + k, 0, 0);
          if (E.isLeft(id)) ok(id, 'shmget(existing key)');
          else sink += id.right;
          if (++k === nkeys) k = 0;
        }
        if (sink < 0) throw new Error('unreachable');
        return ops;
      });
    }
    case 'first-touch': {
      const bytes = (param > 0 ? param : 64) * MiB;
      const pages = bytes / PAGE_SIZE;
      const one = new Uint8Array([1]);
      return selfTimedSampler(() => {
        const id = ok(p.shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0o600), 'shmget');
        const a = ok(p.shmat(id, 0, 0), 'shmat');
        const t0 = performance.now();
        for (let i = 0; i < pages; i++) {
          if (E.isLeft(p.write(a + i * PAGE_SIZE, one))) throw new Error('first touch faulted');
        }
        const t1 = performance.now();
        ok(p.shmdt(a), 'shmdt');
        ok(p.shmctl(id, IPC_RMID), 'IPC_RMID');
        return pages / ((t1 - t0) / 1000);
      });
    }
    case 'dd-channel':
      return ddChannel();
    case 'semop': {
      // One set of one semaphore at 1: each pair takes it (-1) and gives it back (+1), never waiting.
      const id = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600), 'semget');
      ok(p.semctl(id, 0, SETVAL, 1), 'semctl(SETVAL)');
      const down: readonly Sembuf[] = [{ semNum: 0, semOp: -1, semFlg: 0 }];
      const up: readonly Sembuf[] = [{ semNum: 0, semOp: 1, semFlg: 0 }];
      return timedSampler(() => {
        for (let i = 0; i < ops; i++) {
          const a = p.semop(id, down);
          if (isPending(a) || E.isLeft(a)) waitedOrFailed(a, 'semop(-1)');
          const b = p.semop(id, up);
          if (isPending(b) || E.isLeft(b)) waitedOrFailed(b, 'semop(+1)');
        }
        return ops;
      });
    }
    case 'sem-getval': {
      // `param` sets of one semaphore each; GETVAL cycles over every set.
      const nsets = Math.max(param, 1);
      raiseSemmni(p, nsets);
      const ids: number[] = [];
      for (let k = 0; k < nsets; k++) ids.push(ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600), 'semget'));
      let sink = 0;
      return timedSampler(() => {
        let k = 0;
        for (let i = 0; i < ops; i++) {
          const v = p.semctl(ids[k] as number, 0, GETVAL);
          if (E.isLeft(v)) ok(v, 'semctl(GETVAL)');
          else sink += v.right.ret;
          if (++k === nsets) k = 0;
        }
        if (sink < 0) throw new Error('unreachable');
        return ops;
      });
    }
    case 'msg-pair': {
      // One queue; each pair sends an 8-byte message of type 1 and receives it back.
      const q = ok(p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600), 'msgget');
      const text = new Uint8Array(8).fill(0x2a);
      let sink = 0;
      return timedSampler(() => {
        for (let i = 0; i < ops; i++) {
          const s = p.msgsnd(q, 1, text, 0);
          if (isPending(s) || E.isLeft(s)) waitedOrFailed(s, 'msgsnd');
          const r = p.msgrcv(q, 8, 1, 0);
          if (isPending(r) || E.isLeft(r)) waitedOrFailed(r, 'msgrcv');
          else sink += r.right.text.length;
        }
        if (sink < 0) throw new Error('unreachable');
        return ops;
      });
    }
    case 'copy-in':
    case 'copy-out': {
      const bytes = (param > 0 ? param : 64) * MiB;
      const id = ok(p.shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0o600), 'shmget');
      const a = ok(p.shmat(id, 0, 0), 'shmat');
      // Both sides are touched first: the copy rows time copying, not faults.
      ok(p.fill(a, bytes, 0x11), 'fill');
      const buf = new Uint8Array(bytes).fill(0x22);
      let sink = 0;
      return test === 'copy-in'
        ? timedSampler(() => {
            for (let i = 0; i < ops; i++) ok(p.write(a, buf), 'write');
            return ops * bytes;
          })
        : timedSampler(() => {
            // Into a preallocated private buffer, as the native side memcpy()s into one.
            for (let i = 0; i < ops; i++) {
              ok(p.readInto(a, buf), 'readInto');
              sink += buf[i % bytes] ?? 0;
            }
            if (sink < 0) throw new Error('unreachable');
            return ops * bytes;
          });
    }
  }
}

/**
 * fresh-kernel: what one example of a property test does, `ops` times per
 * sample: a new Kernel, one process, shmget(IPC_PRIVATE, 4 KiB), shmat, a
 * one-byte write, IPC_RMID, exit, and dispose (which hands the kernel's
 * chunk to the pool the next kernel takes it from). Every Either is checked.
 */
function freshKernels(ops: number): Sampler {
  const one = new Uint8Array([1]);
  return timedSampler(() => {
    for (let i = 0; i < ops; i++) {
      const kernel = new Kernel();
      const p = kernel.spawn();
      const id = p.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600);
      if (E.isLeft(id)) ok(id, 'shmget');
      else {
        const a = p.shmat(id.right, 0, 0);
        if (E.isLeft(a)) ok(a, 'shmat');
        else if (E.isLeft(p.write(a.right, one))) throw new Error('write failed');
        if (E.isLeft(p.shmctl(id.right, IPC_RMID))) throw new Error('IPC_RMID failed');
      }
      if (E.isLeft(p.exit())) throw new Error('exit failed');
      kernel.dispose();
    }
    return ops;
  });
}

/** A call of an uncontended loop that waited or failed: neither should happen. */
function waitedOrFailed(r: unknown, what: string): never {
  if (isPending(r)) throw new Error(`${what} would have waited`);
  throw new Error(`${what} failed: ${JSON.stringify((r as E.Left<unknown>).left)}`);
}

/** Raises the namespace's SEMMNI (kernel.sem's fourth field) when it allows fewer than `nsets` sets. */
function raiseSemmni(p: Process, nsets: number): void {
  const sem = ok(p.readSysctl('sem'), 'reading kernel.sem');
  const semmni = sem[3] ?? 0n;
  if (semmni < BigInt(nsets)) ok(p.writeSysctl('sem', [sem[0] ?? 0n, sem[1] ?? 0n, sem[2] ?? 0n, BigInt(nsets)]), 'writing kernel.sem');
}

/** Runs a worker test in a child process (bench/workers.ts) and reads its result. */
function runWorkers(test: WorkerTestName, ops: number, samples: number): Result {
  return runChild<Result>('workers.ts', [], [test, String(ops), String(samples)], 120_000);
}

/**
 * dd-channel: a container with a 64 MiB --host-channel; a process inside it
 * runs dd's loop (open, 32768 writes of 1024 bytes, close) into a new file,
 * which is removed between samples. Bytes per second.
 */
function ddChannel(): Sampler {
  const kernel = new Kernel();
  const engine = new ContainerEngine(kernel);
  const created = engine.create('bench', { hostChannel: '/testdir:/testdir:rw:64M' });
  if (created.exitStatus !== 0 || engine.start('bench').exitStatus !== 0) throw new Error(`isula: ${created.stderr.join(' ')}`);
  const p = ok(engine.exec('bench'), 'isula exec');
  const block = new Uint8Array(1024);
  const blocks = 32768;
  return timedSampler(() => {
    const fd = ok(p.open('/testdir/test.file', O_WRONLY | O_CREAT | O_TRUNC, 0o644), 'open');
    for (let i = 0; i < blocks; i++) {
      const n = p.writeFd(fd, block);
      if (E.isLeft(n) || n.right !== block.length) ok(n, 'write');
    }
    ok(p.close(fd), 'close');
    ok(p.unlink('/testdir/test.file'), 'unlink');
    return blocks * block.length;
  });
}
