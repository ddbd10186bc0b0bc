/**
 * The oracle takes every value the scenario language accepts, so a scenario
 * at the language's limits gets the kernel's answer, never a malformed
 * program (exit 4). msgrcv's MAXSIZE is the text part only, up to 16 MiB, so the largest message the
 * language can send can also be received whole (examples/msg-largest-buffer.scn
 * shows it through the whole scenario path). Skipped, with the reason,
 * where the oracle cannot run.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { nativeAvailable, runOracle } from '../../../src/scenario/native/native.js';
import type { RawResult } from '../../../src/scenario/result/raw.js';

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;
if (unavailable !== undefined) console.warn(`native msgrcv size tests skipped: ${unavailable}`);

const MIB16 = 16 * 1024 * 1024;

function outcome(r: RawResult | undefined): string {
  if (r === undefined) return '(none)';
  if (r.ok) return r.ret === undefined ? 'ok' : `ret=${r.ret}`;
  return 'errno' in r ? r.errno : 'signal' in r ? r.signal : 'blocked';
}

describe.skipIf(unavailable !== undefined)("the oracle at the scenario language's limits", () => {
  it('accepts a 16 MiB MAXSIZE and refuses one byte more as a malformed program', () => {
    const ok = runOracle(
      ['proc 0 0 0 0 -1 0', 'msgget 0 0 384 #0', 'msgsnd 0 #0 3 6869 0', `msgrcv 0 #0 ${MIB16} 0 2048`, `msgrcv 0 #0 ${MIB16} 0 2048`]
        .map((s, i) => `${i + 1} ${s}\n`)
        .join(''),
    );
    if (E.isLeft(ok)) throw new Error(`oracle: ${JSON.stringify(ok.left)}`);
    expect(ok.right.map(outcome).slice(1)).toEqual(['ret=0', 'ret=0', 'ret=2', 'ENOMSG']);
    expect(ok.right[3]).toMatchObject({ mtype: 3n, data: Uint8Array.from([0x68, 0x69]) });

    const tooBig = runOracle(`1 proc 0 0 0 0 -1 0\n2 msgget 0 0 384 #0\n3 msgrcv 0 #0 ${MIB16 + 1} 0 2048\n`);
    expect(E.isLeft(tooBig)).toBe(true);
  });

  it('takes a semop of more than 65536 operations (the language has no cap; the kernel checks semopm)', () => {
    const n = 65537;
    const triples = Array.from({ length: n }, () => '0 0 2048').join(' ');
    const r = runOracle(
      ['proc 0 0 0 0 -1 0', 'semget 0 0 1 384 #0', `semop 0 #0 - ${n} ${triples}`, 'sysctl 0 sem 250,32000,70000,32000', `semop 0 #0 - ${n} ${triples}`]
        .map((s, i) => `${i + 1} ${s}\n`)
        .join(''),
    );
    if (E.isLeft(r)) throw new Error(`oracle: ${JSON.stringify(r.left)}`);
    expect(r.right.map(outcome).slice(1)).toEqual(['ret=0', 'E2BIG', 'ok', 'ret=0']);
  });
});
