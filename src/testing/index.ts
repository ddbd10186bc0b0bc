/**
 * ipc-sentry/testing: helpers for property-based test suites that drive
 * ipc-sentry (docs/testing.md).
 *
 *  - `eitherMatchers`: toBeRight, toBeRightWith, toBeLeft, toBeLeftWith,
 *    toBeErrno, toFault, for `expect.extend` under vitest or jest;
 *  - arbitraries of scenario texts and of shm syscall sequences, built from
 *    the caller's fast-check (`scenarioTextArb(fc)`, `shmCommandsArb(fc)`);
 *  - `runCommands(kernel, commands)`, which executes a syscall sequence, and
 *    `runScenario(text)`, which runs a scenario text on the emulator.
 *
 * Many small kernels (a fresh one per example): `using kernel = new
 * Kernel()` disposes each at the end of its example, so the next takes the
 * memory chunks it gave back instead of the host making new ones; check with
 * plain code (return a boolean, or throw) rather than an `expect` per call.
 * See "Many small kernels" in docs/testing.md for an example and its
 * measured cost.
 *
 * Optional peers: this module imports neither vitest nor fast-check at run
 * time. The matchers are plain functions; the arbitraries are made from the
 * `fc` passed in; the only references to either package are `import type`
 * and the vitest augmentation below, which the compiler erases. So
 * `import { eitherMatchers } from 'ipc-sentry/testing'` loads with neither
 * installed. It imports no Node built-in either, so it runs in a browser
 * test runner.
 */
// Type-only, and dropped from both the emitted JavaScript and .d.ts: it
// brings vitest's declarations into this package's own build (which compiles
// src alone, where nothing else imports vitest) so that the augmentation at
// the end of this file has a module to extend.
import type {} from 'vitest';
import type { EitherAssertions } from './matchers.js';

export { deepEqual, eitherMatchers, installEitherMatchers } from './matchers.js';
export type { EitherAssertions, EitherMatchers, Extendable, FaultSignal, MatcherResult } from './matchers.js';
export type { Arbitrary, FastCheck } from './fast_check.js';
export { renderScenario, SCENARIO_MECHANISMS, scenarioScriptArb, scenarioTextArb, statementCount } from './scenario_arb.js';
export type { ScenarioArbOptions, ScenarioCommand, ScenarioCommandKind, ScenarioMechanism, ScenarioProcSpec, ScenarioScript } from './scenario_arb.js';
export { runScenario } from './run_scenario.js';
export type { EmulatedOptions, ExpectationFailure, OutputLine, ScenarioRun } from './run_scenario.js';
export type { Printed } from '../scenario/result/normalize.js';
export type {
  RawResult,
  RawDs,
  RawInfo,
  RawMemcg,
  RawMsginfo,
  RawMsqDs,
  RawSemDs,
  RawSeminfo,
  RawShmInfo,
  RawStat,
  RawStatfs,
  RawDd,
} from '../scenario/result/raw.js';
export { MSGINFO_KEYS, SEMINFO_KEYS } from '../scenario/result/raw.js';
export type { SignalName } from '../scenario/parse/ast.js';
export { SHM_OPS, shmCommandArb, shmCommandsArb } from './shm_commands.js';
export type {
  AccessCommand,
  DetachVariant,
  ExitCommand,
  ForkCommand,
  InfoCommand,
  MprotectCommand,
  MunmapCommand,
  ShmatCommand,
  ShmCommand,
  ShmCommandArbOptions,
  ShmCommandsArbOptions,
  ShmctlCommand,
  ShmctlName,
  ShmdtCommand,
  ShmgetCommand,
  ShmOp,
  Target,
} from './shm_commands.js';
export { CommandRunError, DEFAULT_CAST, formatStep, formatTrace, runCommands, spawnCast } from './run_commands.js';
export type {
  Attachment,
  CastMember,
  RunOptions,
  RunState,
  SkippedCommand,
  Step,
  StepArg,
  StepResult,
  TrackedProcess,
  TrackedSegment,
} from './run_commands.js';

// The matchers' types for vitest: `expect(x).toBeErrno('EACCES')` and
// `expect.toBeRight()` type-check once this module is imported anywhere in
// the compilation (a setup file that calls installEitherMatchers does it).
// Jest users declare the same in their project: see docs/testing.md.
// The type parameters must read as vitest declares them (`any`), or the merge fails.
declare module 'vitest' {
  // biome-ignore lint/suspicious/noExplicitAny: vitest declares Assertion<T = any>
  interface Assertion<T = any> extends EitherAssertions<T> {}
  // biome-ignore lint/suspicious/noExplicitAny: as above
  interface AsymmetricMatchersContaining extends EitherAssertions<any> {}
}
