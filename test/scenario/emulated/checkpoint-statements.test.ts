/**
 * The `checkpoint NAME` and `restore NAME` statements: parsing, the run's
 * image store, and the errors a restore can give.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { runEmulated } from '../../../src/scenario/emulated/emulated.js';
import { normalize } from '../../../src/scenario/result/normalize.js';
import { formatParseError, parseScenario } from '../../../src/scenario/parse/parse.js';
import { emulatedOnly } from '../../../src/scenario/native/protocol.js';

function program(text: string) {
  const p = parseScenario(text, 't.scn');
  if (E.isLeft(p)) throw new Error(p.left.map(formatParseError).join('\n'));
  return p.right;
}

function outcomes(text: string, images = new Map<string, Uint8Array>()) {
  const p = program(text);
  return normalize(p, runEmulated(p, { images }).results).lines.map((l) => (l['ok'] === true ? 'ok' : String(l['errno'])));
}

describe('parsing', () => {
  it('takes exactly one file-name-like NAME', () => {
    const errors = (text: string) => {
      const p = parseScenario(text, 't.scn');
      return E.isLeft(p) ? p.left.map(formatParseError) : [];
    };
    expect(errors('checkpoint')).toEqual(['t.scn:1:1: checkpoint needs an image NAME']);
    expect(errors('restore a b')).toEqual(['t.scn:1:11: restore takes one NAME, got b too']);
    expect(errors('checkpoint "x"')).toEqual([`t.scn:1:12: an image name is letters, digits, '_', '.' and '-', not "x"`]);
    expect(errors('checkpoint before-rmid.img\nrestore before-rmid.img')).toEqual([]);
  });

  it('is emulated only', () => {
    expect(emulatedOnly(program('proc A\ncheckpoint x'))).toMatch(/line 2: checkpoint is emulated only/);
  });
});

describe('running', () => {
  it('puts images in the store an embedding program passes, and restores from one it gives', () => {
    const images = new Map<string, Uint8Array>();
    expect(outcomes('proc A\nA shmget 7 100 IPC_CREAT|0600 -> s\ncheckpoint one', images)).toEqual(['ok', 'ok', 'ok']);
    const image = images.get('one');
    expect(image?.length).toBeGreaterThan(0);
    const again = new Map([['from-elsewhere', image!]]);
    expect(outcomes('restore from-elsewhere\nproc B\nB shmget 7 0 0', again)).toEqual(['ok', 'ok', 'ok']);
  });

  it('answers ENOENT for a missing image and EINVAL for a damaged one, and carries on', () => {
    const images = new Map<string, Uint8Array>();
    outcomes('proc A\ncheckpoint good', images);
    const bad = images.get('good')!.slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    images.set('bad', bad);
    expect(outcomes('proc A\nrestore missing\nrestore bad\nA shmget IPC_PRIVATE 1 0', images)).toEqual(['ok', 'ENOENT', 'EINVAL', 'ok']);
  });

  it('takes containers along, and forgets those made after the image', () => {
    const text = [
      'isula run --host-channel /chan:/c::8K c1',
      'checkpoint x',
      'isula rm -f c1',
      'isula create c2',
      'restore x',
      'proc P container=c1',
      'isula rm c2',
      'isula stop c1',
      'isula rm c1',
    ].join('\n');
    const p = program(text);
    const lines = normalize(p, runEmulated(p).results).lines;
    expect(lines.map((l) => [l['ok'], l['exit'] ?? l['errno'] ?? null])).toEqual([
      [true, 0],
      [true, null],
      [true, 0],
      [true, 0],
      [true, null],
      [true, null],
      [true, 1],
      [true, 0],
      [true, 0],
    ]);
    expect(lines[6]?.['stderr']).toEqual(['Error response from daemon: No such container:c2']);
  });

  it('restores an image taken before the first container into a run without one', () => {
    expect(outcomes('proc H\ncheckpoint empty\nisula run c1\nrestore empty\nproc P container=c1\nisula run c1')).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ESRCH',
      'ok',
    ]);
  });
});
