/**
 * Node-only helpers for running scenarios against the machine: reading
 * files, the host's memory size (so the emulator's overcommit bound matches
 * the kernel it is compared with), and running a parsed program on either
 * backend.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { Program, Statement } from './parse/ast.js';
import { runEmulated } from './emulated/emulated.js';
import { BlockedCalls, ScenarioError } from './result/blocking.js';
import type { EmulatedOptions, EmulatedRun } from './emulated/emulated.js';
import type { NativeFailure, NativeUnavailable, OracleResults } from './native/native.js';
import { isSetall, setallRefusal } from './result/setall.js';
import { runOracle, streamOracle } from './native/native.js';
import type { ExpectationFailure, NormalizedRun, OutputLine } from './result/normalize.js';
import { incrementalNormalizer, normalize } from './result/normalize.js';
import { parseScenario } from './parse/parse.js';
import { decodeSource, sourceError } from './parse/source.js';
import type { ParseError } from './parse/parse.js';
import { checkNativeBudget, DEFAULT_NATIVE_BUDGET_BYTES, showBytes } from './native/budget.js';
import { emulatedOnly, encodeProgram } from './native/protocol.js';
import { MFD_HUGETLB } from '../abi/memfd.js';
import { MAP_HUGETLB } from '../abi/mman.js';

/** Which kernel runs a scenario. */
export type BackendName = 'emulated' | 'native';

/** The machine facts the emulator is sized by; undefined where /proc does not say. */
interface HostFacts {
  /** MemTotal + SwapTotal in bytes (Linux's overcommit bound). */
  readonly commitBytes: number | undefined;
  /** MemTotal in bytes (tmpfs's default nr_inodes is half its pages). */
  readonly ramBytes: number | undefined;
  /** Whether the CPU has protection keys enabled (cpuinfo flags pku and ospke): Linux then makes PROT_EXEC-only mappings unreadable. */
  readonly protectionKeys: boolean | undefined;
  /** The kernel's huge page sizes in bytes, the default first (/sys/kernel/mm/hugepages and Hugepagesize in /proc/meminfo). */
  readonly hugePageSizes: readonly number[] | undefined;
  /** Whether any huge page pool of the host may give pages (nr_hugepages or nr_overcommit_hugepages not 0). */
  readonly hugePagesReserved: boolean;
}

/** The host's huge page sizes, the default (meminfo's Hugepagesize) first, and whether any pool may give pages. */
function hugePageFacts(defaultKb: number | undefined): { sizes: number[] | undefined; reserved: boolean } {
  const dir = '/sys/kernel/mm/hugepages';
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    // No hugetlbfs in this kernel, or no sysfs: the emulator keeps its default sizes.
    return { sizes: undefined, reserved: false };
  }
  const sizes: number[] = [];
  let reserved = false;
  for (const name of names) {
    const m = /^hugepages-(\d+)kB$/.exec(name);
    if (m === null) continue;
    const kb = Number(m[1]);
    if (kb === defaultKb) sizes.unshift(kb * 1024);
    else sizes.push(kb * 1024);
    for (const pool of ['nr_hugepages', 'nr_overcommit_hugepages']) {
      try {
        if (Number(readFileSync(`${dir}/${name}/${pool}`, 'utf8').trim()) !== 0) reserved = true;
      } catch {
        // An unreadable pool count: taken as empty.
      }
    }
  }
  return { sizes, reserved };
}

let facts: HostFacts | undefined;

/** This machine's facts, read from /proc once per process. */
function hostFacts(): HostFacts {
  if (facts !== undefined) return facts;
  let memTotalKb: number | undefined;
  let swapTotalKb = 0;
  let hugeDefaultKb: number | undefined;
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const kb = (name: string): number | undefined => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
      return m === null ? undefined : Number(m[1]);
    };
    memTotalKb = kb('MemTotal');
    swapTotalKb = kb('SwapTotal') ?? 0;
    hugeDefaultKb = kb('Hugepagesize');
  } catch {
    // No /proc/meminfo: the emulator keeps its defaults.
  }
  let protectionKeys: boolean | undefined;
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
    protectionKeys = flags.includes('pku') && flags.includes('ospke');
  } catch {
    protectionKeys = undefined;
  }
  const commit = (memTotalKb ?? 0) + swapTotalKb;
  const huge = hugePageFacts(hugeDefaultKb);
  facts = {
    hugePageSizes: huge.sizes,
    hugePagesReserved: huge.reserved,
    commitBytes: commit > 0 ? commit * 1024 : undefined,
    ramBytes: memTotalKb === undefined ? undefined : memTotalKb * 1024,
    protectionKeys,
  };
  return facts;
}

/** The most scenario text read from one file unless the caller says otherwise: 64 MiB. */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** How much is asked of the file at a time. */
const READ_CHUNK = 1024 * 1024;

/**
 * A file's bytes, read through a descriptor a chunk at a time, never more
 * than `maxBytes` + 1 of them: a file past the bound (or /dev/zero, or a
 * FIFO whose writer never stops) is refused once the bound is crossed.
 */
function readBounded(file: string, maxBytes: number): E.Either<string, Uint8Array> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return E.left(`cannot read the file: ${(e as Error).message}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const want = Math.min(READ_CHUNK, maxBytes + 1 - total);
      const chunk = new Uint8Array(want);
      const got = readSync(fd, chunk, 0, want, null);
      if (got === 0) break;
      chunks.push(got === want ? chunk : chunk.subarray(0, got));
      total += got;
      if (total > maxBytes)
        return E.left(`the file has more than ${showBytes(BigInt(maxBytes))} of scenario text, the most a file may have (raise it with --max-input)`);
    }
  } catch (e) {
    return E.left(`cannot read the file: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
  if (chunks.length === 1) return E.right(chunks[0] as Uint8Array);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return E.right(bytes);
}

/** How a scenario file is read. */
export interface LoadOptions {
  /** The most bytes the file may have; default DEFAULT_MAX_INPUT_BYTES. */
  readonly maxInputBytes?: number;
}

/**
 * Reads and parses a scenario file, keeping its text (the transcript shows
 * its comments). Errors name FILE:LINE:COL: the first byte that is not
 * UTF-8, a character the language does not allow, a parse error; an
 * unreadable or oversized file is reported at 1:1.
 */
export function loadScenarioSource(file: string, options: LoadOptions = {}): E.Either<ParseError[], { program: Program; text: string }> {
  const bytes = readBounded(file, options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
  if (E.isLeft(bytes)) return E.left([{ file, line: 1, col: 1, message: bytes.left }]);
  const decoded = decodeSource(bytes.right);
  if (!('text' in decoded)) return E.left([sourceError(file, decoded)]);
  const { text } = decoded;
  return E.map((program: Program) => ({ program, text }))(parseScenario(text, file));
}

/** Reads and parses a scenario file; errors name FILE:LINE:COL (or the file for an unreadable one). */
export function loadScenario(file: string, options: LoadOptions = {}): E.Either<ParseError[], Program> {
  return E.map((s: { program: Program }) => s.program)(loadScenarioSource(file, options));
}

/** Called with each output line as soon as its statement has run, and the expectation failure if any. */
export type LineListener = (line: OutputLine, failure: ExpectationFailure | undefined) => void;

/** Runs a program on the emulator, sized like this machine; `onLine` sees each line as its statement finishes. Throws what the emulator throws. */
export function runOnEmulator(program: Program, onLine?: LineListener, hooks: EmulatorHooks = {}): { run: NormalizedRun; emulated: EmulatedRun } {
  const { commitBytes: mem, protectionKeys: pkeys, ramBytes: ram, hugePageSizes } = hostFacts();
  const n = incrementalNormalizer(program);
  const emulated = runEmulated(program, {
    ...(mem !== undefined ? { memTotalBytes: mem } : {}),
    ...(pkeys !== undefined ? { executeOnly: pkeys } : {}),
    ...(hugePageSizes !== undefined ? { hugePageSizes } : {}),
    ...(ram !== undefined ? { ramBytes: ram } : {}),
    ...hooks,
    onResult: (raw) => {
      const out = n.push(raw);
      onLine?.(out.line, out.failure);
    },
  });
  return { run: n.run, emulated };
}

/**
 * A file that cannot run here because of this machine's limits, not because
 * of the file: the host could not back the emulator's memory, or the native
 * run would pass its budget. `line` is the statement's; the CLI prints it as
 * FILE:LINE and exits 3.
 */
export interface HostLimit extends NativeUnavailable {
  readonly line: number;
}

/**
 * The file, not the machine, stopped the run at `line`: a run-time rule of
 * blocking calls (a statement naming a process whose call is blocked, or a
 * `wait` on a process with none; result/blocking.ts), or a SETALL whose
 * list is not as long as its set (result/setall.ts). The CLI prints it as
 * FILE:LINE:COL, COL being the column of the statement's first token, and
 * exits 2, a run-time scenario error.
 */
export interface ScenarioStop {
  readonly kind: 'scenario';
  readonly line: number;
  readonly col: number;
  readonly reason: string;
  /** `line LINE:COL: reason`, for callers that print any problem's message. */
  readonly message: string;
}

function scenarioStop(line: number, col: number, reason: string): ScenarioStop {
  return { kind: 'scenario', line, col, reason, message: `line ${line}:${col}: ${reason}` };
}

/** The stop at statement `s`. */
function stopAt(s: Statement, reason: string): ScenarioStop {
  return scenarioStop(s.line, s.col ?? 1, reason);
}

/**
 * The native oracle's results checked against the language's run-time
 * rules: every statement it answered may run, and when it stopped early
 * (exit status 2) the statement after the last answer is one the rules stop
 * at: one the rules of blocking calls refuse, or, when the oracle's stop
 * line gave the set's size (OracleResults.stop), a SETALL whose count that
 * size makes wrong. A ScenarioStop names it; any other mismatch is the
 * oracle's failure.
 */
function nativeStop(program: Program, raws: OracleResults): ScenarioStop | NativeFailure | undefined {
  const blocked = new BlockedCalls(program);
  for (const [i, raw] of raws.entries()) {
    const s = program.statements[i]!;
    const why = blocked.refusal(s);
    if (why !== undefined) return { kind: 'failure', message: `the oracle ran line ${s.line}, where the scenario stops: ${why}` };
    blocked.record(s, raw);
  }
  const next = program.statements[raws.length];
  if (raws.stop !== undefined) {
    const wrong = next !== undefined && isSetall(next) ? setallRefusal(program, next, raws.stop.nsems) : undefined;
    if (next === undefined || wrong === undefined || blocked.refusal(next) !== undefined)
      return {
        kind: 'failure',
        message: `the oracle stopped ${next === undefined ? 'after the last line' : `at line ${next.line}`} for a SETALL on a set of ${raws.stop.nsems} semaphores, where the scenario may run`,
      };
    return stopAt(next, wrong);
  }
  if (next === undefined) return undefined;
  const why = blocked.refusal(next);
  if (why === undefined) return { kind: 'failure', message: `the oracle stopped before line ${next.line}, which the scenario may run` };
  return stopAt(next, why);
}

/** A run stopped at one statement: by this machine's limits, or by the file. */
export type LineStop = HostLimit | ScenarioStop;

/** How the CLI reports a LineStop at FILE: the line to print, and the exit status. */
export function describeLineStop(backend: BackendName, file: string, stop: LineStop): { text: string; status: 2 | 3 } {
  if (stop.kind === 'scenario') return { text: `${file}:${stop.line}:${stop.col}: ${stop.reason}\n`, status: 2 };
  return { text: `${file}:${stop.line}: ${backend} backend cannot run this here: ${stop.reason}\n`, status: 3 };
}

/** Why a backend did not run a file to its end. */
export type RunProblem = NativeUnavailable | NativeFailure | LineStop;

/**
 * Whether `e` is the host refusing memory (V8's RangeError for an
 * ArrayBuffer or SharedArrayBuffer it could not allocate): the emulator sizes
 * itself like this machine, which the JS process cannot always back.
 */
export function isHostAllocationFailure(e: unknown): e is RangeError {
  return e instanceof RangeError && /^(Array buffer allocation failed|Invalid array buffer length)/.test(e.message);
}

/**
 * Runs a program on the emulator as runOnEmulator does, but a host
 * allocation failure stops the run with a HostLimit naming the statement
 * that was running, and a run-time scenario error with a ScenarioStop; the
 * lines before it have been reported. Any other throw
 * is a broken invariant and goes on up.
 */
export function tryOnEmulator(
  program: Program,
  onLine?: LineListener,
  hooks: EmulatorHooks = {},
): E.Either<LineStop, { run: NormalizedRun; emulated: EmulatedRun }> {
  let done = 0;
  try {
    return E.right(
      runOnEmulator(
        program,
        (line, failure) => {
          done += 1;
          onLine?.(line, failure);
        },
        hooks,
      ),
    );
  } catch (e) {
    const line = program.statements[done]?.line ?? 0;
    if (e instanceof ScenarioError) return E.left(scenarioStop(e.line, e.col, e.reason));
    if (!isHostAllocationFailure(e)) throw e;
    return E.left({
      kind: 'unavailable',
      line,
      reason: `this machine cannot give the emulator the memory this statement needs (${e.message}); run it with more memory, or with smaller sizes`,
    });
  }
}

/** How a backend runs a program. */
export interface RunOptions {
  /** The most memory a native run may make the kernel hold (see native/budget.ts); default DEFAULT_NATIVE_BUDGET_BYTES. */
  readonly nativeBudgetBytes?: number;
  /** What the emulator tells as it runs: each kernel, each process's pid (`run --trace`). The native backend has none. */
  readonly emulator?: EmulatorHooks;
}

/** The emulated run's hooks a caller may pass (see EmulatedOptions). */
export type EmulatorHooks = Pick<EmulatedOptions, 'onKernel' | 'onProcess'>;

/**
 * A hugetlbfs memfd (or anonymous MAP_HUGETLB memory, which is one
 * unnamed) answers as the emulator's only while the host's huge
 * page pools are empty: with pages reserved (or allowed to overcommit),
 * mmap, fallocate and faults succeed where the emulator's empty pool says
 * ENOMEM, ENOSPC or SIGBUS. Such a host cannot be the oracle for the file.
 */
function hugetlbRefusal(program: Program): HostLimit | undefined {
  const s = program.statements.find(
    (st) => (st.op === 'memfd_create' && (st.flags & MFD_HUGETLB) !== 0) || (st.op === 'mmap' && (st.flags & MAP_HUGETLB) !== 0),
  );
  if (s === undefined || !hostFacts().hugePagesReserved) return undefined;
  const what = s.op === 'mmap' ? 'mmap with MAP_HUGETLB' : 'memfd_create with MFD_HUGETLB';
  return {
    kind: 'unavailable',
    line: s.line,
    reason: `${what} needs a host with no huge pages reserved (vm.nr_hugepages and nr_overcommit_hugepages 0), as the emulator models`,
  };
}

/** Why the native backend will not run `program`: emulated-only statements, or the budget. */
function nativeRefusal(program: Program, options: RunOptions): NativeUnavailable | HostLimit | undefined {
  const only = emulatedOnly(program);
  if (only !== undefined) return { kind: 'unavailable', reason: only };
  const huge = hugetlbRefusal(program);
  if (huge !== undefined) return huge;
  const over = checkNativeBudget(program, BigInt(options.nativeBudgetBytes ?? DEFAULT_NATIVE_BUDGET_BYTES));
  return over === undefined ? undefined : { kind: 'unavailable', line: over.line, reason: over.message };
}

/** Runs a program on the named backend, reporting each line as soon as its statement has run. */
export async function streamOn(
  backend: BackendName,
  program: Program,
  onLine: LineListener,
  options: RunOptions = {},
): Promise<E.Either<RunProblem, NormalizedRun>> {
  if (backend === 'emulated') return E.map((r: { run: NormalizedRun }) => r.run)(tryOnEmulator(program, onLine, options.emulator));
  const refused = nativeRefusal(program, options);
  if (refused !== undefined) return E.left(refused);
  const n = incrementalNormalizer(program);
  const blocked = new BlockedCalls(program);
  let wrong: string | undefined;
  const raws = await streamOracle(encodeProgram(program), (raw, i) => {
    const s = program.statements[i]!;
    // A line the rules stop at is never shown: the check below names the oracle's mistake.
    wrong ??= blocked.refusal(s);
    if (wrong !== undefined) return;
    blocked.record(s, raw);
    const out = n.push(raw);
    onLine(out.line, out.failure);
  });
  if (E.isLeft(raws)) return raws;
  const stop = nativeStop(program, raws.right);
  return stop === undefined ? E.right(n.run) : E.left(stop);
}

/** Runs a program on the real kernel through the native oracle, if it fits the budget. */
export function runOnKernel(program: Program, options: RunOptions = {}): E.Either<NativeUnavailable | NativeFailure | LineStop, NormalizedRun> {
  const refused = nativeRefusal(program, options);
  if (refused !== undefined) return E.left(refused);
  const raws = runOracle(encodeProgram(program));
  if (E.isLeft(raws)) return raws;
  const stop = nativeStop(program, raws.right);
  return stop === undefined ? E.right(normalize(program, raws.right)) : E.left(stop);
}

/** Runs a program on the named backend. */
export function runOn(backend: BackendName, program: Program, options: RunOptions = {}): E.Either<RunProblem, NormalizedRun> {
  return backend === 'emulated' ? E.map((r: { run: NormalizedRun }) => r.run)(tryOnEmulator(program)) : runOnKernel(program, options);
}
