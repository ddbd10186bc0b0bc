/**
 * Runs a scenario text on the emulator, with no Node built-in in the way (so
 * it works in a browser test runner too): parse, run on a fresh Kernel sized
 * by the options (the Kernel's defaults otherwise), normalize to the output
 * lines `ipc-sentry scenario` prints.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Kernel } from '../kernel/kernel.js';
import { runEmulated } from '../scenario/emulated/emulated.js';
import { ScenarioError } from '../scenario/result/blocking.js';
import type { EmulatedOptions } from '../scenario/emulated/emulated.js';
import { normalize } from '../scenario/result/normalize.js';
import type { ExpectationFailure, OutputLine } from '../scenario/result/normalize.js';
import { formatParseError, parseScenario } from '../scenario/parse/parse.js';

export type { EmulatedOptions, ExpectationFailure, OutputLine };

/** One emulated run of a scenario. */
export interface ScenarioRun {
  /** One output line per statement: the JSON objects `ipc-sentry scenario` prints. */
  readonly lines: readonly OutputLine[];
  /** Statements whose `=> expectation` did not hold. */
  readonly failures: readonly ExpectationFailure[];
  /** The kernel the scenario ran on, left as the last statement left it. */
  readonly kernel: Kernel;
}

/** Parses and runs `text`; Left holds the parse errors, or the run-time scenario error that stopped the run, as `FILE:LINE:COL: message` lines. */
export function runScenario(text: string, options: EmulatedOptions = {}, file = 'scenario.scn'): E.Either<string[], ScenarioRun> {
  const parsed = parseScenario(text, file);
  if (E.isLeft(parsed)) return E.left(parsed.left.map(formatParseError));
  let run: ReturnType<typeof runEmulated>;
  try {
    run = runEmulated(parsed.right, options);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return E.left([`${file}:${e.line}:${e.col}: ${e.reason}`]);
  }
  const { lines, failures } = normalize(parsed.right, run.results);
  return E.right({ lines, failures, kernel: run.kernel });
}
