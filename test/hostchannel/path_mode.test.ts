import { describe, expect, it } from 'vitest';
import { isReadOnlyMode, isValidMountMode } from '../../src/hostchannel/mode.js';
import { PATH_MAX, cleanAbsolutePath, utf8Length } from '../../src/hostchannel/path.js';

describe('cleanAbsolutePath (util_clean_path)', () => {
  it.each([
    ['/', '/'],
    ['//', '/'],
    ['/a', '/a'],
    ['/a/', '/a'],
    ['//a//b///', '/a/b'],
    ['/a/./b/.', '/a/b'],
    ['/a/b/..', '/a'],
    ['/a/b/../../..', '/'],
    ['/..', '/'],
    ['/../a', '/a'],
    ['/a/../../b/./c/..', '/b'],
    ['/a/.../b', '/a/.../b'],
    ['/a/..b/.c', '/a/..b/.c'],
    ['/a b/\u00e9', '/a b/\u00e9'],
  ])('%j cleans to %j', (raw, cleaned) => {
    expect(cleanAbsolutePath(raw)).toBe(cleaned);
  });

  it('fails once the result would fill the PATH_MAX buffer (4095 bytes fit, 4096 do not)', () => {
    const fits = '/' + 'a'.repeat(PATH_MAX - 2);
    expect(cleanAbsolutePath(fits)).toBe(fits);
    expect(cleanAbsolutePath('/' + 'a'.repeat(PATH_MAX - 1))).toBeUndefined();
    expect(cleanAbsolutePath('/' + 'a'.repeat(2000) + '/' + 'b'.repeat(2093))).toBe('/' + 'a'.repeat(2000) + '/' + 'b'.repeat(2093));
    expect(cleanAbsolutePath('/' + 'a'.repeat(2000) + '/' + 'b'.repeat(2094))).toBeUndefined();
  });

  it('counts the cleaned result, not the raw input: slashes and dots that vanish cost nothing', () => {
    const raw = '/' + './'.repeat(3000) + 'x';
    expect(raw.length).toBeGreaterThan(PATH_MAX);
    expect(cleanAbsolutePath(raw)).toBe('/x');
  });

  it('checks each intermediate result, so a long part later removed by .. still fails', () => {
    expect(cleanAbsolutePath('/' + 'a'.repeat(PATH_MAX - 1) + '/..')).toBeUndefined();
    // ..and a part dropped by '..' frees its bytes for the next one.
    const half = 'a'.repeat(2500);
    expect(cleanAbsolutePath(`/${half}/../${half}`)).toBe(`/${half}`);
  });

  it('measures in UTF-8 bytes, as C does', () => {
    expect(utf8Length('\u00e9')).toBe(2);
    expect(utf8Length('\u20ac')).toBe(3);
    expect(utf8Length('\u{1f600}')).toBe(4);
    expect(utf8Length('\ud800')).toBe(3);
    expect(cleanAbsolutePath('/' + '\u00e9'.repeat(2047))).toBe('/' + '\u00e9'.repeat(2047));
    expect(cleanAbsolutePath('/' + '\u00e9'.repeat(2048))).toBeUndefined();
  });
});

describe('isValidMountMode (util_valid_mount_mode)', () => {
  it.each([
    'rw',
    'ro',
    'private',
    'rprivate',
    'slave',
    'rslave',
    'shared',
    'rshared',
    'z',
    'Z',
    'nocopy',
    'ro,',
    ',ro',
    'ro,,shared',
    'rshared,ro,z,nocopy',
    'nocopy,Z,private,rw',
  ])('%j is valid', (mode) => {
    expect(isValidMountMode(mode)).toBe(true);
  });

  it.each([',', ',,', 'rw,ro', 'rw,rw', 'z,Z', 'private,slave', 'nocopy,nocopy', 'RW', 'Ro', ' ro', 'ro ', 'bind', 'rbind', 'ro,rbind', 'ro;shared'])(
    '%j is invalid',
    (mode) => {
      expect(isValidMountMode(mode)).toBe(false);
    },
  );
});

describe('isReadOnlyMode', () => {
  it.each([
    ['ro', true],
    ['ro,', true],
    ['shared,ro,z', true],
    ['rw', false],
    ['rshared', false],
    ['nocopy,Z', false],
  ])('%j → %s', (mode, ro) => {
    expect(isReadOnlyMode(mode)).toBe(ro);
  });
});
