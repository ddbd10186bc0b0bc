/**
 * Messages between the page and the kernel's Web Worker. Everything is
 * plain data (structured clone): the kernel never leaves the worker.
 */
import type { OutputLine } from '../../src/scenario/result/printed.js';
import type { KernelView } from './model.js';

/** The recording machine's facts that size the emulator like it (web/recorded.json's `machine`). */
export interface MachineFacts {
  readonly date: string;
  readonly kernel: string;
  readonly arch: string;
  readonly node: string;
  readonly protectionKeys: boolean | null;
  readonly memTotalBytes: number | null;
  readonly swapTotalBytes?: number | null;
}

export type ToWorker =
  /** Parse a scenario; later `goto`s run it. */
  | { readonly type: 'load'; readonly file: string; readonly source: string; readonly machine: MachineFacts }
  /** Show the kernel after the first `count` statements (0: before any). */
  | { readonly type: 'goto'; readonly count: number };

/** One statement of the loaded scenario, for the page's list and editor marks. */
export interface StatementInfo {
  readonly line: number;
  readonly text: string;
}

export type FromWorker =
  | { readonly type: 'parsed'; readonly file: string; readonly statements: readonly StatementInfo[] }
  | { readonly type: 'parse-error'; readonly file: string; readonly errors: readonly { line: number; col: number; message: string }[] }
  | {
      readonly type: 'state';
      /** Statements run (the prefix shown). */
      readonly count: number;
      readonly lines: readonly OutputLine[];
      /** Scenario lines whose expectation did not hold. */
      readonly failures: readonly { line: number; wanted: string; got: string }[];
      readonly view: KernelView;
      /** Trace lines of each statement run, in order (empty when the kernel has no trace API). */
      readonly trace: readonly (readonly string[])[];
      /** Why the run stopped before `count` (a blocked-call rule, or the browser's memory). */
      readonly stop?: { readonly line: number; readonly reason: string };
      /** How long the run took in the worker, in milliseconds. */
      readonly ms: number;
    }
  | { readonly type: 'crash'; readonly message: string };
