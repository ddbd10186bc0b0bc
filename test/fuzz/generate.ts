/**
 * The differential fuzzer's generator now lives in the public testing entry
 * (src/testing/scenario_arb.ts, `ipc-sentry/testing`). This module keeps the
 * arbitrary that test files outside test/fuzz import under its old name.
 */
import fc from 'fast-check';
import { scenarioTextArb } from '../../src/testing/index.js';

/** Well-formed scenario texts with the fuzzer's default sizes. */
export const scenarioArb = scenarioTextArb(fc);
