/** The bench table's number formatting: no "1000.0 k" at the unit boundaries. */
import { describe, expect, it } from 'vitest';
import { formatValue } from '../../bench/rows.js';

describe('formatValue', () => {
  it('moves to the next unit where the rounded value would reach 1000', () => {
    expect(formatValue('ops/s', 999.4)).toBe('999 ops/s');
    expect(formatValue('ops/s', 999.6)).toBe('1.0 k ops/s');
    expect(formatValue('ops/s', 999_949)).toBe('999.9 k ops/s');
    expect(formatValue('ops/s', 999_960)).toBe('1.00 M ops/s');
    expect(formatValue('ops/s', 1_234_567)).toBe('1.23 M ops/s');
  });
});
