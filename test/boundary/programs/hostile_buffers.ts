/**
 * Hands the thread's Task the buffers a hostile or careless program can
 * make (args: [msqid, addr of a writable page]): a detached one, a Node
 * Buffer, a Uint8Array subclass that lies about its length, a Proxy of
 * one. Returns, per call, 'left', 'right', or what it threw; then the
 * messages it reads back (their length and first bytes).
 */
import type { Task } from '../../../src/kernel/task.js';

const IPC_NOWAIT = 0o4000;

export interface Outcome {
  readonly what: string;
  readonly outcome: string;
}

class Liar extends Uint8Array {
  override get length(): number {
    return 3000;
  }
}

function detached(): Uint8Array {
  const ab = new ArrayBuffer(8);
  const v = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return v;
}

function outcome(f: () => unknown): string {
  try {
    const r = f() as { _tag?: string; left?: { errno?: string } };
    return r._tag === 'Left' ? `left ${r.left?.errno ?? 'fault'}` : 'right';
  } catch (e) {
    return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}

export default function main(task: Task, args: readonly unknown[]): { calls: Outcome[]; received: string[] } {
  const [msqid, addr] = args as [number, number];
  const calls: Outcome[] = [];
  const buf = Buffer.from([1, 2, 3]);
  const inputs: [string, () => Uint8Array][] = [
    ['detached', detached],
    ['Buffer', () => buf],
    ['Liar', () => new Liar([4, 5, 6])],
    ['Proxy', () => new Proxy(new Uint8Array([7]), {})],
  ];
  for (const [what, make] of inputs) {
    calls.push({ what: `msgsnd ${what}`, outcome: outcome(() => task.msgsnd(msqid, 1, make(), IPC_NOWAIT)) });
    calls.push({ what: `write ${what}`, outcome: outcome(() => task.write(addr, make())) });
    calls.push({ what: `readInto ${what}`, outcome: outcome(() => task.readInto(addr, make())) });
  }
  const received: string[] = [];
  for (;;) {
    const r = task.msgrcv(msqid, 8192, 0, IPC_NOWAIT);
    if (r._tag === 'Left') break;
    received.push(`${r.right.text.length}:${Array.from(r.right.text.subarray(0, 4)).join(',')}`);
  }
  return { calls, received };
}
