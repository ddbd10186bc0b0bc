/**
 * A worker's mailbox is memory the worker can write as it likes. Whatever
 * bytes it rings the kernel with, the kernel thread answers EINVAL and goes
 * on serving: a request that does not decode is the caller's error, never a
 * throw on the kernel's side.
 */
import * as E from 'fp-ts/lib/Either.js';
import { expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE } from '../../src/abi/constants.js';
import { SETVAL } from '../../src/abi/sem.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { spawnWorker } from '../../src/node/worker.js';

const errnoOf = (r: unknown): string => {
  const e = r as E.Either<{ errno: string }, unknown>;
  return E.isLeft(e) ? e.left.errno : 'ok';
};

it('requests that do not decode (a fake bigint escape, unknown tags, bad lengths, deep nesting) are EINVAL, and the next call is served', async () => {
  const k = new Kernel();
  const owner = k.spawn();
  const semid = owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600);
  if (E.isLeft(semid)) throw new Error('semget failed');
  expect(E.isRight(owner.semctl(semid.right, 0, SETVAL, 7))).toBe(true);
  const t = spawnWorker(k, k.spawn(), new URL('./programs/mailbox_abuse.ts', import.meta.url), [semid.right]);
  if (E.isLeft(t)) throw new Error(`spawnWorker: ${t.left.errno}`);
  const exit = await t.right.done;
  expect(exit.error).toBeUndefined();
  const out = exit.result as unknown[];
  expect(out.map(errnoOf)).toEqual(['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'ok']);
  expect(out[5]).toEqual(E.right({ ret: 7 }));
  expect(checkInvariants(k)).toEqual(E.right(undefined));
});
