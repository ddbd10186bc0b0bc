/**
 * Differential tests of a shortcut against the general path it stands in
 * for: two kernels built alike run the same steps, one side through the
 * shortcut and the other through the general path alone, and after every
 * step the two outcomes and the two kernels' checkpointed state must agree.
 */
import { expect } from 'vitest';
import { checkpoint } from '../../src/checkpoint/save.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { ok } from './either.js';

/**
 * The metadata section of `kernel`'s checkpoint image (its length at byte
 * 16, the section at 48), without tmpfs device and mount numbers: those
 * come from counters shared by every kernel of the host process.
 */
export function imageMetadata(kernel: Kernel): string {
  const image = ok(checkpoint(kernel));
  const length = new DataView(image.buffer, image.byteOffset).getUint32(16, true);
  const json = JSON.parse(new TextDecoder().decode(image.subarray(48, 48 + length))) as unknown;
  return JSON.stringify(json, (key, value: unknown) => (key === 'deviceId' || key === 'mountId' ? undefined : value));
}

/** Which of the two kernels a step runs on. */
export type Side = 'shortcut' | 'general';

/**
 * Builds two worlds with `make` (sharing one realtime clock that ticks a
 * second per step), runs each step on both through `step`, and expects the
 * same outcome text and the same imageMetadata after each; `seen` gets each
 * step and its outcome (for coverage counts). Disposes both kernels.
 */
export function runTwins<W extends { readonly kernel: Kernel }, S>(
  make: (clock: () => number) => W,
  steps: readonly S[],
  step: (world: W, s: S, side: Side) => string,
  seen: (s: S, outcome: string) => void,
): void {
  let tick = 1_700_000_000;
  const clock = (): number => tick;
  const shortcut = make(clock);
  const general = make(clock);
  const log: string[] = [];
  for (const s of steps) {
    tick += 1;
    const a = step(shortcut, s, 'shortcut');
    const b = step(general, s, 'general');
    log.push(`${JSON.stringify(s, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))} -> ${a}`);
    expect(a, log.join('\n')).toBe(b);
    seen(s, a);
    expect(imageMetadata(shortcut.kernel), `images differ after:\n${log.join('\n')}`).toBe(imageMetadata(general.kernel));
  }
  shortcut.kernel.dispose();
  general.kernel.dispose();
}
