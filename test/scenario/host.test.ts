/**
 * Reading scenario files (bounded, as bytes) and running them within what
 * this machine can back.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_INPUT_BYTES, isHostAllocationFailure, loadScenario, loadScenarioSource } from '../../src/scenario/host.js';

const dir = mkdtempSync(join(tmpdir(), 'ipc-sentry-host-'));

function file(name: string, bytes: string | Uint8Array): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

const firstError = (f: string, maxInputBytes?: number): string => {
  const r = loadScenario(f, maxInputBytes === undefined ? {} : { maxInputBytes });
  if (E.isRight(r)) throw new Error('expected an error');
  return r.left.map((e) => `${e.line}:${e.col}: ${e.message}`)[0] as string;
};

describe('loadScenario', () => {
  it('reads a file as bytes: invalid UTF-8 is an error at its line and column', () => {
    const f = file('bad.scn', Uint8Array.from([...Buffer.from('proc A\nA shmget IPC_PRIVATE 4K 0600 # \u00e9'), 0xc3, 0x28]));
    expect(firstError(f)).toBe('2:33: invalid UTF-8: the sequence starting with byte 0xc3 is broken by byte 0x28');
  });

  it('refuses a NUL byte where the old reader ran it', () => {
    expect(firstError(file('nul.scn', 'proc A\nA mkdir "/d\0x"\n'))).toMatch(/^2:12: a NUL byte is not allowed/);
  });

  it('keeps the text, without its byte-order mark', () => {
    const r = loadScenarioSource(file('bom.scn', '\uFEFFproc A\n'));
    expect(E.isRight(r) && r.right.text).toBe('proc A\n');
  });

  it('defaults to 64 MiB and refuses a file past the bound', () => {
    expect(DEFAULT_MAX_INPUT_BYTES).toBe(64 * 1024 * 1024);
    const f = file('big.scn', `proc A\n${'#'.repeat(5000)}\n`);
    expect(firstError(f, 4096)).toBe('1:1: the file has more than 4 KiB of scenario text, the most a file may have (raise it with --max-input)');
    expect(E.isRight(loadScenario(f, { maxInputBytes: 5008 }))).toBe(true);
  });

  it('stops reading /dev/zero at the bound', () => {
    expect(firstError('/dev/zero', 1 << 20)).toMatch(/^1:1: the file has more than 1 MiB of scenario text/);
  });

  it('stops reading a FIFO whose writer never stops at the bound', async () => {
    const fifo = join(dir, 'endless.scn');
    const mk = spawn('mkfifo', [fifo]);
    await new Promise((done) => mk.on('exit', done));
    // `yes` writes "proc A" lines until the reader goes away (then SIGPIPE ends it).
    const writer = spawn('sh', ['-c', `exec yes 'proc A' > '${fifo}'`], { stdio: 'ignore' });
    try {
      expect(firstError(fifo, 256 * 1024)).toMatch(/^1:1: the file has more than 256 KiB/);
    } finally {
      writer.kill();
    }
  });

  it('names an unreadable file', () => {
    expect(firstError(join(dir, 'missing.scn'))).toMatch(/^1:1: cannot read the file: ENOENT/);
    expect(firstError(dir)).toMatch(/^1:1: cannot read the file: EISDIR/);
  });
});

describe('isHostAllocationFailure', () => {
  it('knows the RangeError of a buffer the host cannot allocate, and nothing else', () => {
    let failure: unknown;
    try {
      new ArrayBuffer(Number.MAX_SAFE_INTEGER);
    } catch (e) {
      failure = e;
    }
    expect(isHostAllocationFailure(failure)).toBe(true);
    expect(isHostAllocationFailure(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isHostAllocationFailure(new RangeError('lock rank 9 must be an integer'))).toBe(false);
    expect(isHostAllocationFailure(new Error('Array buffer allocation failed'))).toBe(false);
  });
});
