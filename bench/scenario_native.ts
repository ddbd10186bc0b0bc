/**
 * The native side of the scenario-throughput row, served from a child
 * process as shmbench serves the other rows (bench/native.ts NativeServer):
 *
 *   tsx bench/scenario_native.ts PASSES [FILES]
 *
 * Loads the corpus (its first FILES files when FILES > 0), runs one untimed pass, prints {"ready":true}; then for
 * each line on stdin runs an untimed pass and PASSES timed ones and prints
 * {"rate":r}, statements per second. Its own process, because every file
 * forks an oracle, and a fork write-protects the forking process's memory:
 * the emulated side's next sample, in the bench's process, would pay for it.
 * Exit status 3 when the oracle cannot run here.
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { loadCorpus, nativeCorpusPass } from './scenario_corpus.js';

const passes = Number(process.argv[2] ?? 1);
if (!Number.isInteger(passes) || passes < 1) {
  process.stderr.write('usage: tsx bench/scenario_native.ts PASSES [FILES]\n');
  process.exit(2);
}
const corpus = loadCorpus(Number(process.argv[3] ?? 0));
function pass(): void {
  try {
    nativeCorpusPass(corpus);
  } catch (e) {
    const message = (e as Error).message;
    process.stderr.write(`${message}\n`);
    process.exit(message.startsWith('the native side cannot run here') ? 3 : 4);
  }
}
pass();
process.stdout.write('{"ready":true}\n');
for await (const _ of createInterface({ input: process.stdin })) {
  pass();
  const t0 = performance.now();
  let statements = 0;
  for (let i = 0; i < passes; i++) statements += nativeCorpusPass(corpus);
  const t1 = performance.now();
  process.stdout.write(`${JSON.stringify({ rate: statements / ((t1 - t0) / 1000) })}\n`);
}
