/**
 * The example of docs/testing.md, kept runnable: the same test with the
 * package imports (`ipc-sentry`, `ipc-sentry/testing`) spelled as paths into
 * this repository, plus the project's seed line (useSeed), which a user's
 * suite does not need.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_STAT, Kernel } from '../../src/index.js';
import { installEitherMatchers, runCommands, shmCommandsArb } from '../../src/testing/index.js';
import { useSeed } from '../support/seed.js';

useSeed();
installEitherMatchers(expect);

// Without munmap and mprotect every attachment stays one mapping, and
// shm_nattch counts mappings: so here it must count attachments.
const calls = shmCommandsArb(fc, {
  ops: ['shmget', 'shmat', 'shmdt', 'shmctl', 'fork', 'exit'],
  maxCommands: 30,
});

describe('shm_nattch', () => {
  it('equals the number of live attachments after every call', () => {
    fc.assert(
      fc.property(calls, (commands) => {
        const kernel = new Kernel();
        const admin = kernel.spawn(); // root, outside the run: may IPC_STAT anything
        runCommands(kernel, commands, {
          afterEach: (_step, run) => {
            for (const seg of run.segments) {
              const attached = run.processes.flatMap((p) => p.attached).filter((a) => a.id === seg.id).length;
              const stat = admin.shmctl(seg.id, IPC_STAT);
              if (seg.removed && attached === 0) {
                expect(stat).toBeErrno('EINVAL'); // IPC_RMID'd and last detach: gone
              } else {
                expect(stat).toBeRightWith(expect.objectContaining({ ds: expect.objectContaining({ nattch: attached }) }));
              }
            }
          },
        });
      }),
      { numRuns: 300 },
    );
  });
});
