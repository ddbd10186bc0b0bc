/**
 * Attacks on the newer surfaces (memfd seals, /dev/shm files, madvise fork
 * flags, futex keys, containers' --ipc and /dev/shm) that found a hole:
 * each test is a sequence of calls or a tampered checkpoint image that was
 * accepted or broke an invariant before its fix.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import { F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, O_CREAT, O_RDWR, PAGE_SIZE } from '../../src/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { ok } from '../support/either.js';
import { withDevShm } from '../posix/helpers.js';

interface InodeJson {
  kind: string;
  links: number;
  seals?: number;
}
type MetaJson = { tmpfs: { inodes: InodeJson[] }[] };

describe('tampered images of sealed files', () => {
  it('refuses seals on a file a directory entry names (only a memfd, which has no name, holds more than F_SEAL_SEAL)', () => {
    const { kernel, p } = withDevShm();
    const fd = ok(p.shmOpen('named', O_CREAT | O_RDWR, 0o600));
    ok(p.ftruncate(fd, PAGE_SIZE));
    const opened = openImage(ok(checkpoint(kernel)));
    for (const seals of [F_SEAL_SEAL | F_SEAL_WRITE, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW, F_SEAL_WRITE]) {
      let named = 0;
      const meta = edited<MetaJson>(opened.meta, (m) => {
        for (const sb of m.tmpfs) {
          for (const n of sb.inodes) {
            if (n.kind === 'file' && n.links > 0) {
              n.seals = seals;
              named += 1;
            }
          }
        }
      });
      expect(named).toBe(1);
      const r = restore(reseal(opened, meta));
      expect(E.isLeft(r) && r.left.message).toMatch(/\.seals: inode \d+ has seals \d+, which only a memfd can, but a directory entry names it/);
    }
    // F_SEAL_SEAL written out is what the file holds: accepted.
    const plain = edited<MetaJson>(opened.meta, (m) => {
      for (const sb of m.tmpfs) for (const n of sb.inodes) if (n.kind === 'file' && n.links > 0) n.seals = F_SEAL_SEAL;
    });
    expect(E.isRight(restore(reseal(opened, plain)))).toBe(true);
  });
});
