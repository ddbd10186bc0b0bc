/**
 * Model-based test of System V shared memory: random sequences of shmget,
 * shmat, shmdt, munmap, mprotect, memory accesses, shmctl, fork and exit run
 * against a real Kernel and the naive ShmModel (model.ts); each step compares
 * errno names, ids, addresses, bytes and shmid_ds fields. The seed is the
 * run's FC_SEED (see test/setup.ts).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { commandArbs, setup, teardown } from './commands.js';

describe('shm model', () => {
  it('matches the Linux reference model on random command sequences', () => {
    fc.assert(
      fc.property(fc.commands(commandArbs, { maxCommands: 60, size: 'max' }), (cmds) => {
        const s = setup();
        fc.modelRun(() => s, cmds);
        teardown(s.model, s.real);
      }),
      { numRuns: 300 },
    );
  });
});
