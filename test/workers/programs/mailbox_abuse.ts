/**
 * A thread that abuses its own syscall mailbox, as a hostile program in a
 * worker can: an argument that looks like the JSON form's bigint escape but
 * is not one, and then raw request bytes the kernel cannot decode (an
 * unknown wire tag, a negative array length, a bigint's digits running
 * past the buffer, arrays nested deeper than any stack). Returns each reply; after the raw ones, a plain semctl shows the
 * kernel thread still serves.
 */
import type { Task } from '../../../src/kernel/task.js';

/** The mailbox's header words and body offset (src/kernel/mailbox.ts). */
const REQUEST = 0;
const REPLY = 1;
const FORMAT = 4;
const FORMAT_WIRE = 1;
const BODY_WORD = 8;
/** Tags of the binary form (src/kernel/wire.ts). */
const WIRE_BIGINT = 6;
const WIRE_ARRAY = 8;

interface RawMailbox {
  readonly buffer: SharedArrayBuffer;
  take(): unknown;
}

/** Rings the kernel with `body` as the request's wire bytes and waits for its reply. */
function raw(mb: RawMailbox, body: readonly number[]): unknown {
  const words = new Int32Array(mb.buffer);
  Atomics.store(words, FORMAT, FORMAT_WIRE);
  body.forEach((w, i) => {
    words[BODY_WORD + i] = w;
  });
  const seq = (Atomics.load(words, REQUEST) + 1) | 0;
  Atomics.store(words, REQUEST, seq);
  Atomics.notify(words, REQUEST);
  while (Atomics.load(words, REPLY) !== seq) Atomics.wait(words, REPLY, Atomics.load(words, REPLY), 1000);
  return mb.take();
}

export default function main(task: Task, args: readonly unknown[]): unknown[] {
  const [semid] = args as [number];
  const mb = (task as unknown as { mailbox: RawMailbox }).mailbox;
  const out: unknown[] = [];
  // A Date sends the request by JSON; the object beside it only looks like an encoded bigint.
  out.push(task.semctl(semid, 0, 16, [new Date(0), { $bigint: 'zz' }] as never));
  out.push(raw(mb, [0x7fff_0000]));
  out.push(raw(mb, [WIRE_ARRAY, -1]));
  out.push(raw(mb, [WIRE_BIGINT, 0x7fff_ffff]));
  // Arrays nested past any stack: 100,000 levels in 800 KB.
  out.push(
    raw(
      mb,
      Array.from({ length: 200_000 }, (_, i) => (i % 2 === 0 ? WIRE_ARRAY : 1)),
    ),
  );
  out.push(task.semctl(semid, 0, 12));
  return out;
}
