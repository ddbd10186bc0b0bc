/**
 * Running a process's program in a Node worker thread (Node only; the
 * platform-free parts are kernel/mailbox.ts, kernel/task.ts,
 * kernel/syscall_server.ts, mm/tlb_cache.ts and mm/inflight.ts).
 *
 * The calling thread is the kernel thread: it owns the Kernel, serves each
 * worker's syscalls from its mailbox without blocking its event loop
 * (Atomics.waitAsync), and hands MemoryFile chunks to workers over a
 * MessagePort that the worker drains synchronously when a translation needs
 * one. A worker starts with no chunk and is given exactly the chunks its
 * fills name: chunks of the arenas of objects its process has mapped (see
 * "Processes in worker threads" in docs/architecture.md). Each chunk given
 * stays held (MemoryFile.holdChunk) until the thread ends, so its slots are
 * never reused for another object while the thread could see them. The program's module exports a default function `(task, args)`,
 * which runs with a Task for the process; what it returns (or resolves to)
 * becomes the thread's result.
 *
 * A process ends when its last thread returns, when any thread calls exit,
 * or when any thread dies (throws, or is terminated): then the process
 * exits as with exit(2), which detaches its segments, and its other threads
 * are terminated. A dead thread's in-flight mark is cleared, so it never
 * holds frames back from reuse; kernel locks are only ever taken on the
 * kernel thread, so it cannot leave one held.
 */
import * as E from 'fp-ts/lib/Either.js';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import { Kernel } from '../kernel/kernel.js';
import { Mailbox, MailboxOverflow } from '../kernel/mailbox.js';
import { Process } from '../kernel/process.js';
import { describeValue } from '../kernel/syscall_args.js';
import { deferredCall, isPending, onSettled } from '../kernel/pending.js';
import type { Pending } from '../kernel/pending.js';
import { noChild, serveSyscall } from '../kernel/syscall_server.js';
import type { Served } from '../kernel/syscall_server.js';
import type { SyscallContext, ThreadServices } from '../kernel/syscall_server.js';
import type { ChildExit } from '../kernel/syscalls.js';
import type { TaskInit } from '../kernel/task.js';
import { hostSeconds } from '../kernel/clock.js';
import { InFlightAccesses } from '../mm/inflight.js';
import type { MsgLease, MsgLeaseMessage } from '../msg/lease.js';
import { STEAL_MS } from '../msg/lease.js';
import { SemLease } from '../sem/lease.js';
import type { SemLeaseMessage } from '../sem/lease.js';
import { realtimeSeconds, tickShare } from './realtime.js';
import type { TlbFill } from '../mm/tlb.js';

/** How a worker thread ended. */
export interface WorkerExit {
  /** True when the program returned (or called exit); false when it threw or was terminated. */
  readonly ok: boolean;
  /** What the program returned, when it did. */
  readonly result?: unknown;
  /** Why it died, when it did. */
  readonly error?: string;
}

/** What worker_main.ts receives as workerData. */
export interface WorkerBoot {
  readonly init: TaskInit;
  readonly moduleUrl: string;
  readonly args: readonly unknown[];
  readonly chunkPort: MessagePort;
}

/** A thread running a process's program. */
export interface WorkerThread {
  readonly process: Process;
  /** Settles when the thread has ended and the kernel has cleaned up after it. */
  readonly done: Promise<WorkerExit>;
  /** Kills the thread as a signal would; its process exits. */
  terminate(): Promise<WorkerExit>;
}

/** The kernel thread's bookkeeping for one kernel's worker threads. */
interface KernelThreads {
  readonly inFlight: InFlightAccesses;
  readonly byProcess: Map<Process, Set<ThreadState>>;
  /** Children a thread started with fork and nobody has waited for yet, by parent and pid. */
  readonly children: WeakMap<Process, Map<number, Promise<WorkerExit>>>;
  /** Every live thread, for the poll after a served call. */
  readonly all: Set<ThreadState>;
  /** A poll is running (one serves every thread; a call it serves does not start another). */
  polling: boolean;
}

interface ThreadState {
  readonly worker: Worker;
  readonly process: Process;
  readonly mailbox: Mailbox;
  /** What its calls run as; set when its serving loop starts. */
  ctx: SyscallContext | undefined;
  /** A call of the thread is being served or waits to complete: its request is not to be served again. */
  inCall: boolean;
  /** Settles when the call that completes later has been answered. */
  callDone: Promise<unknown> | undefined;
  readonly slot: number;
  readonly chunkPort: MessagePort;
  /** Ids of the chunks the thread was given, each held in the MemoryFile until the thread ends. */
  readonly chunks: Set<number>;
  /** Semaphore and message-queue leases the thread was sent, with its process's IPC epoch then (see offerLease). */
  readonly leases: WeakMap<SemLease | MsgLease, number>;
  result: unknown;
  hasResult: boolean;
  error: string | undefined;
  /** The thread called exit(2) and ends itself. */
  exiting: boolean;
}

const perKernel = new WeakMap<Kernel, KernelThreads>();

/**
 * The most times a worker's FUTEX_WAIT polls for its wake, and a worker's
 * call polls for the kernel thread's reply, before it sleeps in
 * Atomics.wait (some tens of microseconds); FutexQueue.wait and
 * Mailbox.call adapt the number below it. A wake or reply that lands while
 * the thread polls skips the Atomics.notify round trip through the host
 * scheduler (about 20 µs here). On one CPU the other side cannot run while
 * the thread polls, so there it never polls.
 */
const FUTEX_SPIN = availableParallelism() > 1 ? 20_000 : 0;

/**
 * After serving a call, the kernel thread keeps reading every worker's
 * request word for this long (milliseconds) since the last call it served,
 * and serves what arrives, rather than going back to its event loop: a
 * woken waiter, or the caller's next call, usually sends within that time,
 * and learning of it through Atomics.waitAsync takes a trip through the
 * event loop (some tens of microseconds here). None on one CPU.
 */
const POLL_IDLE_MS = availableParallelism() > 1 ? 0.2 : 0;

/** The longest the kernel thread polls before it lets its event loop run (timers, thread exits, messages). */
const POLL_MAX_MS = 2;

/** A worker's futex queue slot: its in-flight slot moved past the kernel thread's. */
const futexSlotOf = (inFlightSlot: number): number => inFlightSlot + 1;

/** A thread has ended (or never started): its in-flight slot and its futex queue slot go back. */
function releaseSlot(kernel: Kernel, threads: KernelThreads, slot: number): void {
  threads.inFlight.release(slot);
  kernel.memoryFile.futexQueue.release(futexSlotOf(slot));
}

type WaitAsync = (
  words: Int32Array,
  index: number,
  value: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

function threadsOf(kernel: Kernel): KernelThreads {
  let t = perKernel.get(kernel);
  if (t === undefined) {
    t = { inFlight: new InFlightAccesses(), byProcess: new Map(), children: new WeakMap(), all: new Set(), polling: false };
    kernel.memoryFile.setReclaimGate(t.inFlight);
    perKernel.set(kernel, t);
    // Kernel.dispose ends the threads first; each releases its chunks when it has ended (cleanUp).
    const mine = t;
    kernel.onDispose(() => {
      for (const s of mine.all) endThread(s);
    });
  }
  return t;
}

/**
 * Starts a worker thread that runs `moduleUrl`'s default export as `p`.
 * ESRCH when `p` has exited; EAGAIN when the kernel runs as many threads as
 * it can track; EINVAL naming the argument when `p` is not a live process
 * of `kernel`, `moduleUrl` is neither a string nor a URL, or `args` is not
 * an array that structured clone can copy to the thread (a function, a
 * symbol, a class instance with private state...). A thread that cannot
 * start holds nothing afterwards: its slot goes back at once, and `p` is
 * left as it was. A `.ts` program (or running from source) loads through tsx.
 */
export function spawnWorker(kernel: Kernel, p: Process, moduleUrl: string | URL, args: readonly unknown[] = []): E.Either<SysError, WorkerThread> {
  if (!(kernel instanceof Kernel)) return E.left(sysError('EINVAL', `spawnWorker: kernel must be a Kernel, not ${describeValue(kernel)}`));
  if (!(p instanceof Process) || !kernel.processes().includes(p)) {
    if (p instanceof Process && p.exited) return E.left(sysError('ESRCH', `process ${p.pid} has exited`));
    return E.left(sysError('EINVAL', `spawnWorker: p must be a live process of the kernel, not ${describeValue(p)}`));
  }
  if (typeof moduleUrl !== 'string' && !(moduleUrl instanceof URL)) {
    return E.left(sysError('EINVAL', `spawnWorker: moduleUrl must be a string or a URL, not ${describeValue(moduleUrl)}`));
  }
  if (!Array.isArray(args)) return E.left(sysError('EINVAL', `spawnWorker: args must be an array, not ${describeValue(args)}`));
  const threads = threadsOf(kernel);
  const slot = threads.inFlight.acquire();
  if (slot === undefined) return E.left(sysError('EAGAIN', `no more than ${threads.inFlight.capacity} worker threads at once`));

  const mailbox = Mailbox.create();
  // A thread with a call in its mailbox is blocked on this thread (MemoryFile.accessesEnded).
  threads.inFlight.setBlocked(slot, () => mailbox.hasRequest());
  const { port1, port2 } = new MessageChannel();
  const url = String(moduleUrl);
  const boot: WorkerBoot = {
    init: {
      pid: p.pid,
      mailbox: mailbox.buffer,
      generation: p.mm.tlbGeneration.buffer as SharedArrayBuffer,
      inFlight: threads.inFlight.buffer,
      slot,
      chunkShift: kernel.memoryFile.chunkShift,
      chunks: [],
      space: p.mm.spaceId,
      futex: kernel.memoryFile.futexQueue.buffer as SharedArrayBuffer,
      futexSlot: futexSlotOf(slot),
      futexSpin: FUTEX_SPIN,
      ipcEpoch: p.ipcEpochWord().buffer as SharedArrayBuffer,
    },
    moduleUrl: url,
    args,
    chunkPort: port2,
  };
  const entry = workerEntry(url);
  if (E.isLeft(entry)) {
    releaseSlot(kernel, threads, slot);
    port1.close();
    port2.close();
    return entry;
  }
  let worker: Worker;
  try {
    worker = new Worker(entry.right, { workerData: boot, transferList: [port2], execArgv: [] });
  } catch (err) {
    // Nothing started: the slot and the ports go back, and no state of the thread was recorded.
    releaseSlot(kernel, threads, slot);
    mailbox.close();
    port1.close();
    port2.close();
    return E.left(notStarted(err));
  }
  const t: ThreadState = {
    worker,
    process: p,
    mailbox,
    ctx: undefined,
    inCall: false,
    callDone: undefined,
    slot,
    chunkPort: port1,
    chunks: new Set(),
    leases: new WeakMap(),
    result: undefined,
    hasResult: false,
    error: undefined,
    exiting: false,
  };
  let siblings = threads.byProcess.get(p);
  if (siblings === undefined) {
    siblings = new Set();
    threads.byProcess.set(p, siblings);
  }
  siblings.add(t);
  threads.all.add(t);

  worker.on('message', (m: { result?: unknown }) => {
    t.result = m.result;
    t.hasResult = true;
  });
  worker.on('error', (err: unknown) => {
    t.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  });
  const done = new Promise<WorkerExit>((resolve) => {
    worker.on('exit', (code) => {
      const ok = t.error === undefined && code === 0;
      cleanUp(kernel, threads, p, t, ok);
      if (ok) resolve(t.hasResult ? { ok, result: t.result } : { ok });
      else resolve({ ok, error: t.error ?? `the thread exited with code ${code}` });
    });
  });
  void serve(kernel, threads, p, t).catch((err: unknown) => servingFailed(t, err));
  return E.right({
    process: p,
    done,
    terminate: async () => {
      t.error ??= 'terminated';
      // Never in the middle of a leased queue call, whose lock word the kernel thread would then wait for.
      t.mailbox.leaseGate(STEAL_MS);
      await worker.terminate();
      return done;
    },
  });
}

/** Why `new Worker` threw: EINVAL for arguments structured clone refused, EAGAIN (as pthread_create's) otherwise. */
function notStarted(err: unknown): SysError {
  const name = err instanceof Error || (typeof err === 'object' && err !== null) ? (err as { name?: unknown }).name : undefined;
  const message = err instanceof Error ? err.message : describeValue(err);
  if (name === 'DataCloneError') return sysError('EINVAL', `spawnWorker: args cannot be copied to a thread: ${message}`);
  return sysError('EAGAIN', `the thread could not start: ${message}`);
}

/**
 * The worker's entry module. From the compiled output it is worker_main.js;
 * from TypeScript sources (or for a .ts program) a small ESM bootstrap
 * registers tsx first, because Node 20 workers do not apply `--import` from
 * their execArgv to the entry module.
 */
function workerEntry(programUrl: string): E.Either<SysError, URL> {
  const fromSource = import.meta.url.endsWith('.ts');
  const main = new URL(fromSource ? './worker_main.ts' : './worker_main.js', import.meta.url);
  if (!fromSource && !isTypeScript(programUrl)) return E.right(main);
  let api: string;
  try {
    const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
    const exports = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports;
    const target = exports['./esm/api']?.import.default;
    if (target === undefined) throw new Error('tsx has no ./esm/api export');
    api = pathToFileURL(join(dirname(pkg), target)).href;
  } catch (err) {
    return E.left(sysError('EOPNOTSUPP', `a TypeScript worker needs tsx: ${err instanceof Error ? err.message : String(err)}`));
  }
  const source = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(main.href)});`;
  return E.right(new URL(`data:text/javascript,${encodeURIComponent(source)}`));
}

/**
 * A `.ts` program, or a `.js` file URL with no file behind it but a `.ts`
 * beside it: a TypeScript program named as its compiled output, as
 * TypeScript's own ESM imports name it. tsx loads the `.ts` under that name.
 */
function isTypeScript(programUrl: string): boolean {
  if (programUrl.endsWith('.ts')) return true;
  if (!programUrl.startsWith('file:') || !programUrl.endsWith('.js')) return false;
  const file = fileURLToPath(programUrl);
  return !existsSync(file) && existsSync(`${file.slice(0, -'.js'.length)}.ts`);
}

/** Serves the thread's syscalls until its mailbox closes. */
async function serve(kernel: Kernel, threads: KernelThreads, p: Process, t: ThreadState): Promise<void> {
  t.ctx = { kernel, process: p, threads: threadServices(kernel, threads) };
  for (;;) {
    if (t.mailbox.closed) return;
    if (p.exited) {
      // The process exited on the kernel thread (or under another thread): this thread ends too.
      endThread(t);
      return;
    }
    if (t.inCall) {
      // The thread is blocked in a call that completes later; its answer goes out as it settles.
      await t.callDone;
      continue;
    }
    if (t.mailbox.hasRequest()) {
      serveOne(kernel, threads, t);
      poll(kernel, threads);
      continue;
    }
    const w = t.mailbox.requestWait();
    const r = waitAsync(w.words, w.index, w.value);
    if (r.async) await r.value;
  }
}

/** What serveOne reads from a mailbox whose bytes do not decode. */
const UNDECODABLE = Symbol('undecodable request');

/**
 * Serves the request in `t`'s mailbox. A call that completes now is
 * answered now; one that completes later (a semop that sleeps) is answered
 * from whatever settles it, on the waker's path, and until then the
 * thread's request is not served again.
 */
function serveOne(kernel: Kernel, threads: KernelThreads, t: ThreadState): void {
  const ctx = t.ctx as SyscallContext;
  const p = ctx.process;
  t.inCall = true;
  let served: Served;
  // The request's bytes are the thread's to write: ones that do not decode are a malformed call, not a kernel fault.
  let request: unknown;
  try {
    request = t.mailbox.pending();
  } catch {
    request = UNDECODABLE;
  }
  try {
    served = request === UNDECODABLE ? E.left(sysError('EINVAL', 'the request in the mailbox does not decode')) : serveSyscall(ctx, request);
  } catch (err) {
    t.inCall = false;
    throw err;
  }
  if (isPending(served) && served.state === 'pending') {
    t.callDone = served.done;
    t.mailbox.later();
    onSettled(served, (reply) => {
      t.inCall = false;
      // The process may have ended while the call waited (its exit ends the wait): the thread ends, unanswered.
      if (t.mailbox.closed || t.process.exited) return;
      try {
        t.mailbox.reply(reply);
      } catch (err) {
        // Nothing of it was sent: the thread gets E2BIG instead.
        if (!(err instanceof MailboxOverflow)) throw err;
        t.mailbox.reply(E.left(sysError('E2BIG', 'the result is too large to pass back')));
      }
    });
    return;
  }
  const reply = isPending(served) ? served.result : served;
  sendChunks(kernel, t, reply);
  offerLease(kernel, t, request, reply);
  t.mailbox.reply(reply);
  t.inCall = false;
  kernel.memoryFile.reclaim();
  if (p.exited) {
    // exit(2) from this thread: it ends itself on the reply; the others are killed.
    t.exiting = true;
    t.mailbox.close();
    endThreads(threads, p);
  }
}

/**
 * Serves every thread's requests as they arrive until none has come for
 * POLL_IDLE_MS (or POLL_MAX_MS have passed): see POLL_IDLE_MS. Each
 * thread's own loop still waits on its mailbox, and finds its call served.
 */
function poll(kernel: Kernel, threads: KernelThreads): void {
  if (POLL_IDLE_MS === 0 || threads.polling) return;
  threads.polling = true;
  try {
    const start = performance.now();
    let last = start;
    for (;;) {
      let any = false;
      for (const t of threads.all) {
        if (t.inCall || t.ctx === undefined || t.process.exited || !t.mailbox.hasRequest() || t.mailbox.closed) continue;
        try {
          serveOne(kernel, threads, t);
        } catch (err) {
          servingFailed(t, err);
        }
        any = true;
      }
      const now = performance.now();
      if (any) last = now;
      else if (now - last > POLL_IDLE_MS) return;
      if (now - start > POLL_MAX_MS) return;
    }
  } finally {
    threads.polling = false;
  }
}

/** A throw while serving `t`'s call is a bug in ipc-sentry: the thread cannot go on, so it dies. */
function servingFailed(t: ThreadState, err: unknown): void {
  t.error = `ipc-sentry failed serving a syscall: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  t.mailbox.leaseGate(STEAL_MS);
  void t.worker.terminate();
}

/** The calls the syscall table hands to this layer: fork and waitpid. */
function threadServices(kernel: Kernel, threads: KernelThreads): ThreadServices {
  return {
    fork: (p, url, args) => forkFromThread(kernel, threads, p, url, args),
    waitpid: (p, pid) => waitForChild(threads, p, pid),
  };
}

/**
 * fork from a thread: the child is a fork of `p` (Process.fork: attachments
 * inherited at the same addresses) whose program runs in a new thread.
 * Returns the child's pid; a child whose thread cannot start exits at once.
 */
function forkFromThread(kernel: Kernel, threads: KernelThreads, p: Process, url: string, args: readonly unknown[]): E.Either<SysError, number> {
  const child = p.fork();
  if (E.isLeft(child)) return child;
  const thread = spawnWorker(kernel, child.right, url, args);
  if (E.isLeft(thread)) {
    child.right.exit();
    return thread;
  }
  let mine = threads.children.get(p);
  if (mine === undefined) {
    mine = new Map();
    threads.children.set(p, mine);
  }
  mine.set(child.right.pid, thread.right.done);
  return E.right(child.right.pid);
}

/** waitpid from a thread: settles once the child's thread has ended; each child can be waited for once. */
function waitForChild(threads: KernelThreads, p: Process, pid: number): Pending<E.Either<SysError, ChildExit>> {
  const { pending, settle } = deferredCall<E.Either<SysError, ChildExit>>();
  const done = threads.children.get(p)?.get(pid);
  if (done === undefined) {
    settle(noChild(p, pid));
    return pending;
  }
  threads.children.get(p)?.delete(pid);
  void done.then((exit) => settle(E.right({ pid, ...exit })));
  return pending;
}

/**
 * Before a fill naming a chunk the thread has never seen is answered, the
 * chunk goes down its port, and the thread holds it until it ends.
 */
function sendChunks(kernel: Kernel, t: ThreadState, reply: unknown): void {
  const fill = reply as E.Either<unknown, Partial<TlbFill> | undefined>;
  if (typeof fill !== 'object' || fill === null || !E.isRight(fill) || !Array.isArray(fill.right?.runs)) return;
  const mf = kernel.memoryFile;
  let fresh: Array<[number, SharedArrayBuffer]> | undefined;
  for (const run of fill.right?.runs ?? []) {
    const id = run.frame >> mf.chunkShift;
    if (t.chunks.has(id)) continue;
    t.chunks.add(id);
    mf.holdChunk(id);
    (fresh ??= []).push([id, mf.chunkBuffer(id) as SharedArrayBuffer]);
  }
  if (fresh !== undefined) t.chunkPort.postMessage(fresh);
}

/**
 * After a semop, msgsnd or msgrcv the thread made succeeded, lends the set
 * or queue to the thread's process when it may be lent (sem/lease.ts,
 * msg/lease.ts), and sends the thread the lease ahead of the reply unless
 * it has it: its next uncontended calls on the object then stay in the
 * thread. Only while the kernel's clock is one the thread can read too:
 * the host clock's second, or the tick clock.
 */
function offerLease(kernel: Kernel, t: ThreadState, request: unknown, reply: unknown): void {
  if (typeof request !== 'object' || request === null) return;
  const req = request as { call?: unknown; args?: unknown };
  const call = req.call;
  const sem = call === 'semop' || call === 'semtimedop';
  if (!Array.isArray(req.args) || !(sem || call === 'msgsnd' || call === 'msgrcv') || !E.isRight(reply as E.Either<unknown, unknown>)) return;
  const id: unknown = req.args[0];
  if (typeof id !== 'number') return;
  const clock = kernel.clock;
  const tick = clock === realtimeSeconds ? tickShare() : undefined;
  if (tick === undefined && clock !== hostSeconds) return;
  const now = clock();
  const grant = sem ? t.process.semLease(id, now) : t.process.msgLease(id, now);
  if (grant === undefined) return;
  const epoch = Atomics.load(t.process.ipcEpochWord(), 0);
  const l = grant.lease;
  if (t.leases.get(l) === epoch) return;
  t.leases.set(l, epoch);
  const clockShare = { tick: tick?.buffer, tickBase: tick?.base };
  if (l instanceof SemLease) {
    const message: SemLeaseMessage = { semid: id, buffer: l.buffer, nsems: l.nsems, lessee: grant.lessee, base: l.base, epoch, ...clockShare };
    t.chunkPort.postMessage({ semLease: message });
  } else {
    const message: MsgLeaseMessage = { msqid: id, buffer: l.buffer, ring: l.ring, lessee: grant.lessee, base: l.base, epoch, ...clockShare };
    t.chunkPort.postMessage({ msgLease: message });
  }
  t.mailbox.leaseSent();
}

/** The thread has ended: release what it held and, when the process is done, exit it. */
function cleanUp(kernel: Kernel, threads: KernelThreads, p: Process, t: ThreadState, ok: boolean): void {
  t.mailbox.close();
  t.chunkPort.close();
  releaseSlot(kernel, threads, t.slot);
  // The thread can touch its chunks no more: their arenas may let them go.
  for (const id of t.chunks) kernel.memoryFile.releaseChunk(id);
  t.chunks.clear();
  threads.all.delete(t);
  const siblings = threads.byProcess.get(p);
  siblings?.delete(t);
  if (siblings?.size === 0) threads.byProcess.delete(p);
  if (!ok || p.exited || siblings === undefined || siblings.size === 0) {
    if (!p.exited) p.exit();
    endThreads(threads, p);
  }
  kernel.memoryFile.reclaim();
}

/** The process has exited: every thread of it is killed, but one that called exit ends itself. */
function endThreads(threads: KernelThreads, p: Process): void {
  for (const s of threads.byProcess.get(p) ?? []) endThread(s);
}

function endThread(t: ThreadState): void {
  if (t.exiting) return;
  t.error ??= 'the process exited';
  t.mailbox.leaseGate(STEAL_MS);
  void t.worker.terminate();
}
