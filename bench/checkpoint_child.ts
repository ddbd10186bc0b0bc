/**
 * Runs the checkpoint rows (checkpoint.ts) in a child process, so main.ts
 * can choose how its memory allocator behaves. Prints the CheckpointReport
 * as one JSON object on stdout.
 *
 *   checkpoint_child.ts TOUCH_MIB SAMPLES
 */
import { runCheckpointBench } from './checkpoint.js';

const [touch, samples] = process.argv.slice(2).map(Number);
if (!(touch !== undefined && touch > 0 && samples !== undefined && samples > 0)) {
  process.stderr.write('usage: tsx bench/checkpoint_child.ts TOUCH_MIB SAMPLES\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(runCheckpointBench(touch, samples))}\n`);
