/**
 * The main demo: two processes share a System V segment, told step by step
 * the way strace would show it, ending with an `ipcs -m` view and the frame
 * count going back to zero.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_CREAT, IPC_RMID, IPC_STAT, SHM_RDONLY } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { Kernel } from '../kernel/kernel.js';
import { IPCS_SHM, formatIpcsReport } from './ipcs.js';
import { readUserDatabase } from './userdb.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

function show<T>(who: string, call: string, r: E.Either<SysError | { signal: string }, T>, render: (t: T) => string = String): T | undefined {
  if (E.isRight(r)) {
    console.log(`  [${who}] ${call} = ${render(r.right)}`);
    return r.right;
  }
  const l = r.left;
  console.log(`  [${who}] ${call} -> ${'errno' in l ? `${l.errno} (${l.message})` : `${l.signal}`}`);
  return undefined;
}

/** Runs the demo, printing to stdout; returns the process exit status. */
export function runDemo(): number {
  const k = new Kernel();
  const writer = k.spawn({ uid: 1000, gid: 1000 });
  const reader = k.spawn({ uid: 1001, gid: 1000 });
  const w = `writer pid ${writer.pid} uid 1000`;
  const r = `reader pid ${reader.pid} uid 1001`;
  console.log('ipc-sentry demo: two processes share a System V shared memory segment\n');

  const id = show(w, 'shmget(0x5eed, 4096, IPC_CREAT|0640)', writer.shmget(0x5eed, 4096, IPC_CREAT | 0o640));
  if (id === undefined) return 1;
  const wa = show(w, `shmat(${id}, NULL, 0)`, writer.shmat(id, 0, 0), hex);
  if (wa === undefined) return 1;
  const message = new TextEncoder().encode('hello from the writer');
  show(w, `write(${hex(wa)}, "hello from the writer")`, writer.write(wa, message), () => 'ok');

  show(r, 'shmget(0x5eed, 0, 0660)  # asks for rw: the group triple grants only r', reader.shmget(0x5eed, 0, 0o660));
  const rid = show(r, 'shmget(0x5eed, 0, 0440)', reader.shmget(0x5eed, 0, 0o440));
  if (rid === undefined) return 1;
  show(r, `shmat(${rid}, NULL, 0)  # read-write needs w`, reader.shmat(rid, 0, 0), hex);
  const ra = show(r, `shmat(${rid}, NULL, SHM_RDONLY)`, reader.shmat(rid, 0, SHM_RDONLY), hex);
  if (ra === undefined) return 1;
  show(r, `read(${hex(ra)}, 21)`, reader.read(ra, 21), (b) => JSON.stringify(new TextDecoder().decode(b)));
  show(r, `write(${hex(ra)}, "x")  # the attachment is read-only`, reader.write(ra, new Uint8Array([0x78])), () => 'ok');

  process.stdout.write(formatIpcsReport(writer.ipcNamespace, IPCS_SHM, readUserDatabase()));

  show(w, `shmctl(${id}, IPC_RMID)  # attached: marked for removal, key becomes IPC_PRIVATE`, writer.shmctl(id, IPC_RMID), (x) => String(x.ret));
  process.stdout.write(formatIpcsReport(writer.ipcNamespace, IPCS_SHM, readUserDatabase()));
  show(w, `shmdt(${hex(wa)})`, writer.shmdt(wa));
  show(r, `shmdt(${hex(ra)})  # the last detach destroys the segment`, reader.shmdt(ra));
  show(w, `shmctl(${id}, IPC_STAT)`, writer.shmctl(id, IPC_STAT), (x) => String(x.ret));
  console.log(`\nframes in use after the last detach: ${k.memoryFile.allocatedFrames}`);
  return 0;
}
