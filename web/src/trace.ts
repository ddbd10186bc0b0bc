/**
 * The trace of a run, grouped by statement. The kernel's trace API
 * (src/kernel/trace.ts) is not in this tree yet, so a run records no
 * events and the page says so; this module is the one place that will
 * subscribe to it.
 */
import type { EmulatedOptions } from '../../src/scenario/emulated/emulated.js';

/** What a run passes to the emulator, and the events it collected per statement. */
export interface TraceHook {
  readonly options: Partial<EmulatedOptions>;
  /** Closes the current statement's group (called after each statement's result). */
  endStatement(): void;
  statements(): readonly (readonly string[])[];
  /** False while the kernel has no trace API: the page then says why the trace is empty. */
  readonly available: boolean;
}

export function traceHook(): TraceHook {
  const groups: string[][] = [];
  return {
    options: {},
    endStatement: () => {
      groups.push([]);
    },
    statements: () => groups,
    available: false,
  };
}
