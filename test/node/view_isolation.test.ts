/**
 * A worker's direct views reach only memory its process can reach: a
 * uid-1000 process whose thread scans every buffer it was handed finds no
 * byte of another uid's 0600 segment it could never attach.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, Kernel } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';

const program = (name: string): URL => new URL(`./programs/${name}.ts`, import.meta.url);

const MARKER = Array.from('victim-secret-7f3a9c', (c) => c.charCodeAt(0));

describe('worker views', () => {
  it("a uid-1000 worker cannot read another uid's 0600 segment through its views", async () => {
    const k = new Kernel();
    const victim = k.spawn({ uid: 2000, gid: 2000 });
    const secret = right(victim.shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0o600));
    const at = right(victim.shmat(secret, 0, 0));
    right(victim.write(at + 4096 + 100, Uint8Array.from(MARKER)));
    const attacker = k.spawn({ uid: 1000, gid: 1000 });
    expect(E.isLeft(attacker.shmat(secret, 0, 0))).toBe(true);
    const own = right(attacker.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const exit = await right(spawnWorker(k, attacker, program('scan_views'), [MARKER, own])).done;
    expect(exit).toEqual({ ok: true, result: false });
  });
});
