/**
 * Blocking calls on the native oracle: the raw lines of the protocol
 * (blocked, a collected result, exit status 2 for a run-time scenario
 * error), real time for sleep and timed calls, and whole scenarios that
 * must print the emulator's lines. Skipped, with the reason, where the
 * oracle cannot run.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { runOnEmulator, runOnKernel } from '../../../src/scenario/host.js';
import { nativeAvailable, runOracle } from '../../../src/scenario/native/native.js';
import { formatParseError, parseScenario } from '../../../src/scenario/parse/parse.js';
import type { RawResult } from '../../../src/scenario/result/raw.js';

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;
if (unavailable !== undefined) console.warn(`native blocking-call tests skipped: ${unavailable}`);

/** Runs protocol statements numbered as scenario lines 1, 2, …; fewer results when the oracle stopped. */
function oracle(...statements: string[]): RawResult[] {
  const r = runOracle(statements.map((s, i) => `${i + 1} ${s}\n`).join(''));
  if (E.isLeft(r)) throw new Error(`oracle: ${JSON.stringify(r.left)}`);
  return r.right;
}

function outcome(r: RawResult | undefined): string {
  if (r === undefined) return '(none)';
  if (r.ok) return r.ret === undefined ? 'ok' : `ret=${r.ret}`;
  return 'errno' in r ? r.errno : 'signal' in r ? r.signal : 'blocked';
}

function program(text: string) {
  const p = parseScenario(text, 't.scn');
  if (E.isLeft(p)) throw new Error(p.left.map(formatParseError).join('\n'));
  return p.right;
}

const PROCS = ['proc 0 0 0 0 -1 0', 'proc 1 0 0 0 -1 0', 'semget 0 0 1 384 #0'];

describe.skipIf(unavailable !== undefined)('the oracle with blocking calls', () => {
  it('reports blocked, a still-blocked wait, and the result collected at wait', () => {
    const r = oracle(
      ...PROCS,
      'semop 1 #0 - 1 0 -1 0',
      'wait 1',
      'semop 0 #0 - 1 0 1 0',
      'wait 1',
      'msgget 0 0 384 #1',
      'msgrcv 1 #1 8 0 0',
      'msgsnd 0 #1 4 6869 0',
      'wait 1',
    );
    expect(r.map(outcome).slice(3)).toEqual(['blocked', 'blocked', 'ret=0', 'ret=0', 'ret=0', 'blocked', 'ret=0', 'ret=2']);
    expect(r[10]).toMatchObject({ mtype: 4n, data: Uint8Array.from([0x68, 0x69]) });
  });

  it('ends a sleeping call with EINTR at interrupt, and interrupts an idle process harmlessly', () => {
    const r = oracle(...PROCS, 'interrupt 0', 'semop 1 #0 - 1 0 -1 0', 'interrupt 1', 'semctl 0 #0 0 14 1 -', 'wait 1');
    expect(r.map(outcome).slice(3)).toEqual(['ok', 'blocked', 'ok', 'ret=0', 'EINTR']);
  });

  it('kills a sleeping process at exit and applies its undo adjustments', () => {
    const r = oracle(...PROCS, 'semop 1 #0 - 1 0 2 4096', 'semop 1 #0 - 1 0 -3 0', 'exit 1', 'semctl 0 #0 0 12 1 -');
    expect(r.map(outcome).slice(3)).toEqual(['ret=0', 'blocked', 'ok', 'ret=0']);
  });

  it('stops with exit status 2, keeping the results before it, at a statement naming a blocked process or a wait with none', () => {
    expect(oracle(...PROCS, 'semop 1 #0 - 1 0 -1 0', 'semctl 1 #0 0 12 1 -').map(outcome)).toEqual(['ok', 'ok', 'ret=0', 'blocked']);
    expect(oracle(...PROCS, 'wait 1').map(outcome)).toEqual(['ok', 'ok', 'ret=0']);
  });

  it('lets real time pass at sleep and waits out a timed call at wait', () => {
    const t0 = performance.now();
    const r = oracle(...PROCS, 'sleep 150');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    expect(r.map(outcome)[3]).toBe('ok');
    const t1 = performance.now();
    const timed = oracle(...PROCS, 'semop 1 #0 300 1 0 -1 0', 'wait 1');
    expect(performance.now() - t1).toBeGreaterThanOrEqual(300);
    expect(timed.map(outcome).slice(3)).toEqual(['blocked', 'EAGAIN']);
  });

  it('never reports a zero-timeout call blocked', () => {
    expect(oracle(...PROCS, 'semop 1 #0 0 1 0 -1 0').map(outcome)[3]).toBe('EAGAIN');
  });
});

describe.skipIf(unavailable !== undefined)('scenarios with blocking calls on both backends', () => {
  const SCENARIOS: Record<string, string> = {
    'two sleepers on one set, woken one by one': [
      'proc A',
      'proc B',
      'proc C',
      'A semget IPC_PRIVATE 2 0600 -> s',
      'B semop s 0:-1,1:-1',
      'C semop s 1:-1',
      'A semop s 1:+1',
      'C wait',
      'B wait',
      'A semop s 0:+1,1:+1',
      'B wait',
      'A semctl s 0 GETALL',
      'A semctl s 0 IPC_STAT',
    ].join('\n'),
    'senders and receivers on one queue': [
      'proc A',
      'proc B',
      'proc C',
      'A msgget IPC_PRIVATE 0600 -> q',
      'A msgctl q IPC_SET uid=0 gid=0 mode=0600 qbytes=3',
      'A msgsnd q 1 "abc" 0',
      'B msgsnd q 2 "d" 0',
      'C msgrcv q 8 2 0',
      'A msgrcv q 8 1 0',
      'B wait',
      'C wait',
      'A msgctl q IPC_STAT',
    ].join('\n'),
  };

  it.each(Object.keys(SCENARIOS))('%s', (name) => {
    const p = program(`${SCENARIOS[name]}\n`);
    const native = runOnKernel(p);
    if (E.isLeft(native)) throw new Error(JSON.stringify(native.left));
    expect(native.right.lines).toEqual(runOnEmulator(p).run.lines);
  });

  it('runs a qbytes whose low 32 bits are within msgmnb without asking for CAP_SYS_RESOURCE', () => {
    // msgctl_down keeps an int: 2^32+1 is 1 and 0x100004000 is 16384, neither above msgmnb.
    const p = program(
      [
        'proc A',
        'A msgget IPC_PRIVATE 0600 -> q',
        'A msgctl q IPC_SET uid=0 gid=0 mode=0600 qbytes=4294967297',
        'A msgctl q IPC_STAT => ok qbytes=1',
        'A msgctl q IPC_SET uid=0 gid=0 mode=0600 qbytes=0x100004000',
        'A msgctl q IPC_STAT => ok qbytes=16384',
        '',
      ].join('\n'),
    );
    const native = runOnKernel(p);
    if (E.isLeft(native)) throw new Error(JSON.stringify(native.left));
    expect(native.right.lines).toEqual(runOnEmulator(p).run.lines);
    expect(native.right.lines.map((l) => l.expect)).toEqual(Array(6).fill(undefined));
  });

  it('stops both backends at the same line with the same reason', () => {
    const p = program('proc A\nA msgget IPC_PRIVATE 0600 -> q\nA msgrcv q 8 0 0\nA msgctl q IPC_RMID\n');
    const native = runOnKernel(p);
    expect(E.isLeft(native) && native.left).toMatchObject({
      kind: 'scenario',
      line: 4,
      reason: 'A msgctl: process A is blocked in its msgrcv of line 3; only wait, interrupt and exit may name it',
    });
  });
});
