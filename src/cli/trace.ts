/**
 * `ipc-sentry run --trace`: the emulated kernel's trace (kernel/trace.ts)
 * as strace prints it, with the scenario's process names in place of pids
 * (`A shmat(65536, NULL, 0) = 0x7f0000000000`), on stderr as strace does;
 * `--trace=PATH` writes the lines to a file, `--trace=json` prints the
 * events as JSON Lines on stderr.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { Kernel } from '../kernel/kernel.js';
import type { TraceEvent } from '../kernel/trace.js';
import { formatTraceEvent, traceEventToJson } from '../kernel/trace.js';
import type { Program } from '../scenario/parse/ast.js';
import type { EmulatorHooks } from '../scenario/host.js';

/** Where the trace goes: what `--trace`, `--trace=json` and `--trace=PATH` ask for. */
export type TraceTarget = { readonly to: 'stderr'; readonly json: boolean } | { readonly to: 'file'; readonly path: string };

/** The option's value as parsed (the empty string for a bare --trace), or a usage message. */
export function parseTraceOption(value: string): E.Either<string, TraceTarget> {
  if (value === '') return E.right({ to: 'stderr', json: false });
  if (value === 'json') return E.right({ to: 'stderr', json: true });
  return E.right({ to: 'file', path: value });
}

/** An open trace: a session per scenario file, and close at the end. */
export interface TraceWriter {
  /** Hooks that trace one run of `program`; `end` stops listening. */
  session(program: Program): { readonly hooks: EmulatorHooks; end(): void };
  close(): void;
}

/** Opens `target`; a file that cannot be created is a Left with the reason. */
export function openTrace(target: TraceTarget): E.Either<string, TraceWriter> {
  let write: (text: string) => void;
  let close = (): void => undefined;
  const json = target.to === 'stderr' && target.json;
  if (target.to === 'file') {
    let fd: number;
    try {
      fd = openSync(target.path, 'w');
    } catch (e) {
      return E.left(`cannot write the trace to ${target.path}: ${(e as Error).message}`);
    }
    write = (text) => writeSync(fd, text);
    close = () => closeSync(fd);
  } else {
    write = (text) => process.stderr.write(text);
  }
  return E.right({
    session: (program) => traceSession(program, json, write),
    close,
  });
}

/** Listens to each kernel the run moves to (a restore moves it), naming pids as the scenario names its processes. */
export function traceSession(program: Program, json: boolean, write: (text: string) => void): { readonly hooks: EmulatorHooks; end(): void } {
  const names = new Map<number, string>();
  let unsubscribe: (() => void) | undefined;
  const print = (e: TraceEvent): void => write(`${json ? traceEventToJson(e, names) : formatTraceEvent(e, names)}\n`);
  return {
    hooks: {
      onKernel: (kernel: Kernel) => {
        unsubscribe?.();
        unsubscribe = kernel.onTrace(print);
      },
      onProcess: (proc, pid) => {
        const name = program.procNames[proc];
        if (name !== undefined) names.set(pid, name);
      },
    },
    end: () => {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}
