/**
 * Node-only helpers for running scenarios against the machine: reading
 * files, the host's memory size (so the emulator's overcommit bound matches
 * the kernel it is compared with), and running a parsed program on either
 * backend.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { Program } from './parse/ast.js';
import { runEmulated } from './emulated/emulated.js';
import type { EmulatedRun } from './emulated/emulated.js';
import type { NativeFailure, NativeUnavailable } from './native/native.js';
import { runOracle, streamOracle } from './native/native.js';
import type { ExpectationFailure, NormalizedRun, OutputLine } from './result/normalize.js';
import { incrementalNormalizer, normalize } from './result/normalize.js';
import { parseScenario } from './parse/parse.js';
import type { ParseError } from './parse/parse.js';
import { emulatedOnly, encodeProgram } from './native/protocol.js';

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
}

let facts: HostFacts | undefined;

/** This machine's facts, read from /proc once per process. */
function hostFacts(): HostFacts {
  if (facts !== undefined) return facts;
  let memTotalKb: number | undefined;
  let swapTotalKb = 0;
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const kb = (name: string): number | undefined => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
      return m === null ? undefined : Number(m[1]);
    };
    memTotalKb = kb('MemTotal');
    swapTotalKb = kb('SwapTotal') ?? 0;
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
  facts = {
    commitBytes: commit > 0 ? commit * 1024 : undefined,
    ramBytes: memTotalKb === undefined ? undefined : memTotalKb * 1024,
    protectionKeys,
  };
  return facts;
}

/** Reads and parses a scenario file; errors name FILE:LINE:COL (or the file for an unreadable one). */
export function loadScenario(file: string): E.Either<ParseError[], Program> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return E.left([{ file, line: 1, col: 1, message: `cannot read the file: ${(e as Error).message}` }]);
  }
  return parseScenario(text, file);
}

/** Called with each output line as soon as its statement has run, and the expectation failure if any. */
export type LineListener = (line: OutputLine, failure: ExpectationFailure | undefined) => void;

/** Runs a program on the emulator, sized like this machine; `onLine` sees each line as its statement finishes. */
export function runOnEmulator(program: Program, onLine?: LineListener): { run: NormalizedRun; emulated: EmulatedRun } {
  const { commitBytes: mem, protectionKeys: pkeys, ramBytes: ram } = hostFacts();
  const n = incrementalNormalizer(program);
  const emulated = runEmulated(program, {
    ...(mem !== undefined ? { memTotalBytes: mem } : {}),
    ...(pkeys !== undefined ? { executeOnly: pkeys } : {}),
    ...(ram !== undefined ? { ramBytes: ram } : {}),
    onResult: (raw) => {
      const out = n.push(raw);
      onLine?.(out.line, out.failure);
    },
  });
  return { run: n.run, emulated };
}

/** Runs a program on the named backend, reporting each line as soon as its statement has run. */
export async function streamOn(
  backend: BackendName,
  program: Program,
  onLine: LineListener,
): Promise<E.Either<NativeUnavailable | NativeFailure, NormalizedRun>> {
  if (backend === 'emulated') return E.right(runOnEmulator(program, onLine).run);
  const only = emulatedOnly(program);
  if (only !== undefined) return E.left({ kind: 'unavailable', reason: only });
  const n = incrementalNormalizer(program);
  const raws = await streamOracle(encodeProgram(program), (raw) => {
    const out = n.push(raw);
    onLine(out.line, out.failure);
  });
  return E.map(() => n.run)(raws);
}

/** Runs a program on the real kernel through the native oracle. */
export function runOnKernel(program: Program): E.Either<NativeUnavailable | NativeFailure, NormalizedRun> {
  const only = emulatedOnly(program);
  if (only !== undefined) return E.left({ kind: 'unavailable', reason: only });
  return E.map((raws: Parameters<typeof normalize>[1]) => normalize(program, raws))(runOracle(encodeProgram(program)));
}

/** Runs a program on the named backend. */
export function runOn(backend: BackendName, program: Program): E.Either<NativeUnavailable | NativeFailure, NormalizedRun> {
  return backend === 'emulated' ? E.right(runOnEmulator(program).run) : runOnKernel(program);
}
