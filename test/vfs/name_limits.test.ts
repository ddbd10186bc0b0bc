/**
 * NAME_MAX (255) and PATH_MAX (4096, with its NUL) count UTF-8 bytes, as
 * Linux does: a name of 128 'é' (2 bytes each) is 256 bytes and too long,
 * although JavaScript counts 128 characters.
 */
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_WRONLY } from '../../src/abi/fs.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { utf8Length } from '../../src/vfs/mounts.js';
import { errno, ok } from '../support/either.js';

describe('name and path limits in UTF-8 bytes', () => {
  it('counts bytes as TextEncoder does', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a😀é€', '\ud800', 'x\udc00y', 'é'.repeat(200)]) {
      expect(utf8Length(s), JSON.stringify(s)).toBe(new TextEncoder().encode(s).length);
    }
  });

  it('refuses a 128-character name of two-byte characters (256 bytes) and takes 127 of them', () => {
    const p = new Kernel().spawn();
    expect(errno(p.open(`/${'é'.repeat(128)}`, O_WRONLY | O_CREAT, 0o644))).toBe('ENAMETOOLONG');
    expect(errno(p.mkdir(`/${'é'.repeat(128)}`))).toBe('ENAMETOOLONG');
    expect(ok(p.open(`/${'é'.repeat(127)}x`, O_WRONLY | O_CREAT, 0o644))).toBeGreaterThanOrEqual(0);
    expect(errno(p.open(`/${'😀'.repeat(64)}`, O_WRONLY | O_CREAT, 0o644))).toBe('ENAMETOOLONG');
    expect(ok(p.open(`/${'😀'.repeat(63)}abc`, O_WRONLY | O_CREAT, 0o644))).toBeGreaterThanOrEqual(0);
  });

  it('refuses a path of 4096 bytes or more, counted in UTF-8', () => {
    const p = new Kernel().spawn();
    // 2048 two-byte characters: 2048 in JavaScript, 4096 bytes for Linux (and the NUL makes 4097).
    const long = `/${'é'.repeat(2047)}`;
    expect(long.length).toBeLessThan(4096);
    expect(errno(p.open(long, O_WRONLY | O_CREAT, 0o644))).toBe('ENAMETOOLONG');
    expect(errno(p.stat(long))).toBe('ENAMETOOLONG');
  });
});
