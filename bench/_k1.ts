import * as E from 'fp-ts/lib/Either.js';
import { IPC_CREAT, IPC_EXCL, Kernel, PAGE_SIZE } from '../src/index.js';
const n = Number(process.argv[2]);
const p = new Kernel().spawn();
for (let k = 0; k < n; k++) p.shmget(0x5e000000 + k, PAGE_SIZE, IPC_CREAT | IPC_EXCL | 0o600);
let sink = 0; const ops = 3_000_000;
for (let s = 0; s < 10; s++) {
  const t = performance.now(); let k = 0;
  for (let i = 0; i < ops; i++) { const id = p.shmget(0x5e000000 + k, 0, 0); if (E.isRight(id)) sink += id.right; if (++k === n) k = 0; }
  if (s === 9) console.log(n, ((performance.now() - t) * 1e6 / ops).toFixed(1), 'ns');
}
