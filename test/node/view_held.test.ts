/**
 * What a worker can still touch after shmdt: the checked path faults, the
 * raw views still reach the detached segment's chunk (a SharedArrayBuffer
 * cannot be taken back), and while the thread lives that chunk is never
 * reused for another object, even after the segment is removed.
 */
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, PAGE_SIZE } from '../../src/abi/constants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { spawnWorker } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';

const marker = (name: string): number[] => Array.from(`<<held-${name}-c41e>>`, (c) => c.charCodeAt(0));
const PAGES = 16;

describe('a worker after shmdt', () => {
  it('faults on the checked path, and its views reach only the detached segment, never the object that came after it', async () => {
    const k = new Kernel();
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const other = k.spawn({ uid: 2000, gid: 2000 });
    const s = right(owner.shmget(IPC_PRIVATE, PAGES * PAGE_SIZE, IPC_CREAT | 0o600));
    const sAt = right(owner.shmat(s, 0, 0));
    for (let i = 0; i < PAGES; i++) right(owner.write(sAt + i * PAGE_SIZE, Uint8Array.from(marker('S'))));
    right(owner.shmdt(sAt));
    const gate = right(owner.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600));
    const gAt = right(owner.shmat(gate, 0, 0));
    const thread = right(
      spawnWorker(k, k.spawn({ uid: 1000, gid: 1000 }), new URL('./programs/held_after_detach.ts', import.meta.url), [
        s,
        gate,
        [
          ['S', marker('S')],
          ['T', marker('T')],
        ],
        0,
      ]),
    );
    while (right(owner.atomicLoad32(gAt)) !== 1) await new Promise((r) => setTimeout(r, 5));
    // The segment goes away; another uid's segment of the same size takes memory.
    right(owner.shmctl(s, IPC_RMID));
    const t = right(other.shmget(IPC_PRIVATE, PAGES * PAGE_SIZE, IPC_CREAT | 0o600));
    const tAt = right(other.shmat(t, 0, 0));
    for (let i = 0; i < PAGES; i++) right(other.write(tAt + i * PAGE_SIZE, Uint8Array.from(marker('T'))));
    right(owner.atomicStore32(gAt, 2));
    right(owner.futexWake(gAt, 1));
    const exit = await thread.done;
    expect(exit).toEqual({ ok: true, result: { segv: true, found: ['S'] } });
  });
});
