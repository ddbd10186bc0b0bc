import * as E from 'fp-ts/lib/Either.js';
import { IPC_CREAT, IPC_EXCL, Kernel, PAGE_SIZE } from '../src/index.js';
function run(n: number): number {
  const p = new Kernel().spawn();
  for (let k = 0; k < n; k++) p.shmget(0x5e000000 + k, PAGE_SIZE, IPC_CREAT | IPC_EXCL | 0o600);
  let sink = 0; const ops = 2_000_000;
  let best = Infinity;
  for (let s = 0; s < 7; s++) {
    const t = performance.now(); let k = 0;
    for (let i = 0; i < ops; i++) { const id = p.shmget(0x5e000000 + k, 0, 0); if (E.isRight(id)) sink += id.right; if (++k === n) k = 0; }
    best = Math.min(best, (performance.now() - t) * 1e6 / ops);
  }
  if (sink < 0) throw 0;
  return best;
}
for (let r = 0; r < 3; r++) { const a = run(1), b = run(4096), c = run(32768 - 100); console.log(`1 key ${a.toFixed(1)} ns, 4096 keys ${b.toFixed(1)} ns, ratio ${(a / b).toFixed(2)}; 32668 keys ${c.toFixed(1)}`); }
