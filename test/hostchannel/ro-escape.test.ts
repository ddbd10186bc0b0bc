/**
 * A container given a read-only host channel tries every way the scenario
 * language offers to change the channel or reach host paths it was not
 * given: writes and truncation through a read-only descriptor, O_TRUNC and
 * O_CREAT opens, unlink and mkdir through `//`, `.`, `..` and trailing
 * slashes, fallocate and hole punching, shared writable mappings, mprotect,
 * MADV_REMOVE and MADV_POPULATE_WRITE, private mappings synced back, F_SETFL,
 * fork, checkpoint and restore, restart, and shm_open names with `..`.
 *
 * Only the safety property is asserted: each attempt fails (whatever the
 * errno), the harmless ones may succeed, and at the end the host still reads
 * exactly what it wrote. The exact errnos are left to the examples, whose
 * non-container parts the native oracle checks.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { runOn } from '../../src/scenario/host.js';
import { formatParseError, parseScenario } from '../../src/scenario/parse/parse.js';
import type { OutputLine } from '../../src/scenario/result/normalize.js';

/** Runs `text` on the emulator; the output lines by source line. */
function run(text: string): Map<number, OutputLine> {
  const p = parseScenario(text, 'esc.scn');
  if (E.isLeft(p)) throw new Error(p.left.map(formatParseError).join('\n'));
  const r = runOn('emulated', p.right);
  if (E.isLeft(r)) throw new Error(`run stopped: ${JSON.stringify(r.left)}`);
  return new Map(r.right.lines.map((l) => [(l as { line: number }).line, l]));
}

/** Lines tagged `# deny` must fail; the line `# check` must read the host's data unchanged. */
function checkDenials(text: string): void {
  const lines = text.split('\n');
  const out = run(text);
  let denials = 0;
  for (const [i, src] of lines.entries()) {
    if (!src.includes('# deny')) continue;
    denials += 1;
    const line = out.get(i + 1) as { ok: boolean; exit?: number } | undefined;
    expect(line, `line ${i + 1} ran: ${src}`).toBeDefined();
    // A dd always prints ok (the command ran); its exit status says whether it could write.
    const failed = line?.ok === false || (line?.exit !== undefined && line.exit !== 0);
    expect(failed, `line ${i + 1} must fail: ${src} -> ${JSON.stringify(line)}`).toBe(true);
  }
  expect(denials).toBeGreaterThan(0);
  for (const [i, src] of lines.entries()) {
    if (!src.includes('# check')) continue;
    const line = out.get(i + 1) as { ok: boolean; data?: string; stat?: { st_size: number } };
    expect(line.ok, src).toBe(true);
    if (line.data !== undefined) expect(Buffer.from(line.data, 'hex').toString()).toBe('mode=ro');
    if (line.stat !== undefined) expect(line.stat.st_size).toBe(7);
  }
}

const SETUP = [
  'host mkdir /secret',
  'proc H',
  'H open /secret/key O_RDWR|O_CREAT 0600 -> k',
  'H write k "topsecret"',
  'isula run --host-channel /chan:/shared:ro:64K c1',
  'H open /chan/config O_RDWR|O_CREAT 0666 -> w',
  'H write w "mode=ro"',
  'proc C container=c1',
  'C open /shared/config O_RDONLY -> r',
];

describe('a read-only host channel stays read-only from inside the container', () => {
  it('through descriptors, paths and file calls', () => {
    checkDenials(
      [
        ...SETUP,
        'C write r "X" # deny',
        'C pwrite r "X" 0 # deny',
        'C ftruncate r 0 # deny',
        'C fallocate r 0 4096 # deny',
        'C fallocate r 0 4096 FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE # deny',
        'C fcntl r 4 2',
        'C write r "Q" # deny',
        'C open /shared/config O_RDONLY|O_TRUNC # deny',
        'C open /shared/config O_WRONLY|O_TRUNC # deny',
        'C open /shared/config O_RDWR|O_APPEND # deny',
        'C open /shared//config O_RDWR # deny',
        'C open /shared/./config O_WRONLY # deny',
        'C open /shared/../shared/config O_RDWR # deny',
        'C open /shared/config/ O_RDWR # deny',
        'C open //shared///config O_WRONLY|O_CREAT # deny',
        'C open /shared/new O_RDONLY|O_CREAT # deny',
        'C open /shared/new/ O_RDWR|O_CREAT # deny',
        'C unlink /shared//config # deny',
        'C unlink /shared/./config # deny',
        'C rmdir /shared # deny',
        'C rmdir /shared/ # deny',
        'C mkdir /shared/../shared/x # deny',
        'C mkdir /shared/x/ # deny',
        'C dd if=/dev/zero of=/shared//config bs=1 count=1 # deny',
        'C dd if=/dev/zero of=/shared/./../shared/config bs=1 count=1 # deny',
        'C dd if=/dev/zero of=/shared/new bs=1 count=1 # deny',
        'C shm_open ../../shared/config O_RDWR # deny',
        'fork C C2',
        'C2 write r "Q" # deny',
        'C2 open /shared/config O_RDWR # deny',
        'H pread w 16 0 # check',
        'H stat /chan/config # check',
      ].join('\n'),
    );
  });

  it('through mappings, mprotect and madvise', () => {
    checkDenials(
      [
        ...SETUP,
        'C mmap r 4096 PROT_READ|PROT_WRITE MAP_SHARED # deny',
        'C mmap r 4096 PROT_READ|PROT_WRITE MAP_SHARED_VALIDATE # deny',
        'C mmap r 4096 PROT_READ MAP_SHARED -> m',
        'C mprotect m 4096 PROT_READ|PROT_WRITE # deny',
        'C write m "Y" # deny',
        'C madvise m 4096 MADV_REMOVE # deny',
        'C madvise m 4096 MADV_POPULATE_WRITE # deny',
        'C mmap r 4096 PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_POPULATE -> p',
        'C write p "ZZZZZZZ"',
        'C msync p 4096 MS_SYNC',
        'C madvise p 4096 MADV_REMOVE # deny',
        'C mmap r 4096 PROT_READ MAP_SHARED|MAP_FIXED at=p',
        'C write p "R" # deny',
        'C mprotect p 4096 PROT_READ|PROT_WRITE # deny',
        'H pread w 16 0 # check',
        'H stat /chan/config # check',
      ].join('\n'),
    );
  });

  it('across checkpoint, restore, restart and stop/start', () => {
    checkDenials(
      [
        ...SETUP,
        'C mmap r 4096 PROT_READ MAP_SHARED -> m',
        'checkpoint one',
        'restore one',
        'C open /shared/config O_RDWR # deny',
        'C open /shared/new O_RDWR|O_CREAT # deny',
        'C mprotect m 4096 PROT_READ|PROT_WRITE # deny',
        'C write r "x" # deny',
        'proc C2 container=c1',
        'C2 open /shared/config O_RDWR # deny',
        'isula restart c1',
        'proc C3 container=c1',
        'C3 open /shared/config O_RDWR # deny',
        'isula stop c1',
        'isula start c1',
        'proc C4 container=c1',
        'checkpoint two',
        'restore two',
        'C4 open /shared/config O_RDWR # deny',
        'C4 mkdir /shared/d # deny',
        'H pread w 16 0 # check',
      ].join('\n'),
    );
  });

  it('and the container reaches no host path it was not given', () => {
    checkDenials(
      [
        'host mkdir /dev/shm',
        'tmpfs mount /dev/shm size=64K',
        ...SETUP,
        'H shm_open hostobj O_RDWR|O_CREAT 0666 -> h',
        'C stat /secret/key # deny',
        'C stat /chan/config # deny',
        'C stat /shared/../chan/config # deny',
        'C stat /shared/../../../secret/key # deny',
        'C open /../../secret/key O_RDONLY # deny',
        'C ftok /chan/config 1 # deny',
        'C shm_open hostobj O_RDWR # deny',
        'C mkdir /escape',
        'H stat /escape # deny',
        'isula run --host-channel /chan2:/dev/shm:ro:64K c2',
        'proc D container=c2',
        'D shm_open y O_RDWR|O_CREAT # deny',
        'D open /dev/shm/y O_RDWR|O_CREAT # deny',
        'H pread w 16 0 # check',
      ].join('\n'),
    );
  });
});
