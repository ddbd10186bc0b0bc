/**
 * The part of fast-check the arbitraries are built from. Every arbitrary of
 * ipc-sentry/testing is made by a function that takes the caller's fast-check
 * (`import fc from 'fast-check'`, or `import * as fc`), so this entry never
 * loads fast-check itself: the import below is type-only and erased, the
 * arbitraries come from the same fast-check instance that runs them, and a
 * project that only wants the matchers needs no fast-check at all.
 */
import type * as FC from 'fast-check';

/** The fast-check functions the arbitraries use; pass the whole `fc` module. */
export type FastCheck = Pick<
  typeof FC,
  'array' | 'boolean' | 'constant' | 'constantFrom' | 'integer' | 'nat' | 'oneof' | 'option' | 'record' | 'tuple' | 'uint8Array'
>;

/** A fast-check arbitrary. */
export type Arbitrary<T> = FC.Arbitrary<T>;
