/**
 * The `checkpoint NAME` and `restore NAME` statements: parsing, the run's
 * image store, and the errors a restore can give.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { runEmulated } from '../../src/scenario/emulated.js';
import { normalize } from '../../src/scenario/normalize.js';
import { formatParseError, parseScenario } from '../../src/scenario/parse.js';
import { emulatedOnly } from '../../src/scenario/protocol.js';

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

  it('refuses to checkpoint a kernel with containers (EOPNOTSUPP)', () => {
    expect(outcomes('isula create c1\ncheckpoint x')).toEqual(['ok', 'EOPNOTSUPP']);
  });
});
