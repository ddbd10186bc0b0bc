/**
 * The trace of a run, grouped by statement: the kernel's trace events
 * (src/kernel/trace.ts) as strace-style lines, with the scenario's process
 * names for pids, as `ipc-sentry run --trace` prints them. A statement that
 * makes thousands of events (dd's 64K writes) keeps its first MAX_EVENTS and
 * says how many more there were, so the page stays responsive.
 */
import type { Kernel } from '../../src/kernel/kernel.js';
import { formatTraceEvent } from '../../src/kernel/trace.js';
import type { TraceEvent } from '../../src/kernel/trace.js';
import type { Program } from '../../src/scenario/parse/ast.js';
import type { EmulatedOptions } from '../../src/scenario/emulated/emulated.js';

/** The most events kept for one statement. */
export const MAX_EVENTS = 200;

/** What a run passes to the emulator, and the events it collected per statement. */
export interface TraceHook {
  readonly options: Pick<EmulatedOptions, 'onKernel' | 'onProcess'>;
  /** Closes the current statement's group (called after each statement's result). */
  endStatement(): void;
  statements(): readonly (readonly string[])[];
}

export function traceHook(program: Program): TraceHook {
  const groups: string[][] = [];
  const names = new Map<number, string>();
  let current: string[] = [];
  let dropped = 0;
  let unsubscribe: (() => void) | undefined;
  const listen = (e: TraceEvent): void => {
    if (current.length < MAX_EVENTS) current.push(formatTraceEvent(e, names));
    else dropped += 1;
  };
  return {
    options: {
      onKernel: (kernel: Kernel) => {
        // A restore moves the run to a new kernel: follow it.
        unsubscribe?.();
        unsubscribe = kernel.onTrace(listen);
      },
      onProcess: (proc, pid) => {
        names.set(pid, program.procNames[proc] ?? String(pid));
      },
    },
    endStatement: () => {
      if (dropped > 0) current.push(`... and ${dropped} more events`);
      groups.push(current);
      current = [];
      dropped = 0;
    },
    statements: () => {
      unsubscribe?.();
      return groups;
    },
  };
}
