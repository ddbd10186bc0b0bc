/**
 * ftok keys and rlimit fsize= on the emulated backend: keys print by the
 * name they got first (never as numbers, which differ between backends),
 * in ret, ds.key and sysvipc rows; a literal key still prints as a number;
 * an unbound ftok names its key after its line; the key a get call uses is
 * the one ftok computed; fsize= reaches the process's RLIMIT_FSIZE.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { runEmulated } from '../../../src/scenario/emulated/emulated.js';
import { formatParseError, parseScenario } from '../../../src/scenario/parse/parse.js';
import { normalize } from '../../../src/scenario/result/normalize.js';

function run(...lines: string[]) {
  const p = parseScenario(`${lines.join('\n')}\n`, 't.scn');
  if (E.isLeft(p)) throw new Error(p.left.map(formatParseError).join('\n'));
  const emulated = runEmulated(p.right);
  return { ...normalize(p.right, emulated.results), kernel: emulated.kernel };
}

const SETUP = ['host mkdir /t', 'tmpfs mount /t size=64K', 'proc A', 'A open /t/a O_RDWR|O_CREAT 0644 -> f'];

describe('ftok in scenarios', () => {
  it('names keys by first appearance and never prints their value', () => {
    const r = run(...SETUP, 'A ftok /t/a 7', 'A ftok /t/a 7 -> k', 'A shmget k 4K IPC_CREAT|0600 -> s', 'A shmctl s IPC_STAT', 'A sysvipc shm');
    const [unbound, bound, , stat, rows] = r.lines.slice(4);
    expect(unbound).toEqual({ line: 5, proc: 'A', op: 'ftok', ok: true, ret: 'ftok:5', proj: 7 });
    expect(bound).toMatchObject({ ret: 'ftok:5', proj: 7 });
    expect(JSON.stringify(r.lines)).not.toMatch(/"raw":-?\d{6,}/);
    expect((stat as { ds: { key: string } }).ds.key).toBe('ftok:5');
    expect((rows as { sysvipc: { key: string }[] }).sysvipc[0]!.key).toBe('ftok:5');
    expect(r.failures).toEqual([]);
  });

  it('hands shmget the key Process.ftok computes, and leaves literal keys numbers', () => {
    const r = run(...SETUP, 'A ftok /t/a 1 -> k', 'A shmget k 4K IPC_CREAT|0600 -> s', 'A shmget 0x1234 4K IPC_CREAT|0600 -> l', 'A shmctl l IPC_STAT');
    const a = r.kernel.processes()[0]!;
    const key = a.ftok('/t/a', 1);
    expect(E.isRight(key)).toBe(true);
    const again = a.shmget(E.isRight(key) ? key.right : 0, 0, 0);
    expect(again).toEqual(E.right(0));
    expect((r.lines[7] as { ds: { key: number } }).ds.key).toBe(0x1234);
  });

  it('reports ENOENT for a missing path and binds nothing', () => {
    const r = run(...SETUP, 'A ftok /t/none 1 -> k', 'A shmget k 4K IPC_CREAT|0600 -> s', 'A shmctl s IPC_STAT');
    expect(r.lines[4]).toMatchObject({ ok: false, errno: 'ENOENT' });
    // An unbound key slot reads -1, as the oracle's does: key 0xffffffff, a number.
    expect((r.lines[6] as { ds: { key: number } }).ds.key).toBe(-1);
  });
});

describe('rlimit fsize= in scenarios', () => {
  it('sets the process limit and keeps memlock apart', () => {
    const r = run('proc A', 'rlimit A fsize=4096', 'A memfd_create m 0 -> m', 'A pwrite m bytes=5000 0 => ok ret=4096');
    expect(r.failures).toEqual([]);
    const a = r.kernel.processes()[0]!;
    expect(a.fsizeRlimit.soft).toBe(4096n);
    expect(a.creds.memlock.soft).toBe(8n << 20n);
  });
});
