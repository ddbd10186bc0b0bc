/**
 * One message (Linux struct msg_msg): its type and text, and the queue's
 * messages in send order (q_messages).
 *
 * The text is the bytes msgsnd was given, which the kernel layer copied out
 * of user memory; the queue owns them from then on and never changes them.
 * A message carries nothing else, so once a receive has taken it off its
 * queue it is the receive's result as it stands (MsgReceived's shape),
 * with no second object to build.
 */
import type { MsgType } from './mtype.js';

/** A queued (or in-flight) message. */
export class Message {
  constructor(
    /** m_type: at least 1 (msgsnd refuses anything else). */
    readonly mtype: MsgType,
    /** The text; its length is m_ts. */
    readonly text: Uint8Array,
  ) {}

  /** m_ts: the text's size in bytes. */
  get size(): number {
    return this.text.length;
  }
}

/** Slots a new list starts with (a power of two, as every capacity is). */
const MIN_SLOTS = 8;

/**
 * A queue's messages, first sent first: a ring over an array rather than
 * Linux's linked list. Most receives take the first message (msgtyp 0, or
 * a type the first message has), which a ring does without touching any
 * other message, and a message needs no links. A message taken from
 * further in (a typed receive, MSG_EXCEPT, a negative msgtyp) moves the
 * messages on its shorter side (those before it, or those after) one slot:
 * never more than the search that found it walked.
 * The ring doubles when full and halves when a quarter full.
 */
export class MessageList {
  private slots: (Message | undefined)[] = new Array<Message | undefined>(MIN_SLOTS).fill(undefined);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The first message, or undefined when there is none. */
  get first(): Message | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** The message at 0-based position `i` in send order; `i` must be below size. */
  at(i: number): Message {
    const slots = this.slots;
    return slots[(this.head + i) & (slots.length - 1)] as Message;
  }

  /** list_add_tail. */
  addTail(m: Message): void {
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
    const slots = this.slots;
    slots[(this.head + this.count) & (slots.length - 1)] = m;
    this.count += 1;
  }

  /** list_del: `m` leaves the list. Precondition: `m` is on it (a message that is not is a kernel bug, and throws). */
  remove(m: Message): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    if (this.count !== 0 && slots[this.head] === m) {
      slots[this.head] = undefined;
      this.head = (this.head + 1) & mask;
      this.count -= 1;
    } else {
      const head = this.head;
      let i = 1;
      while (i < this.count && slots[(head + i) & mask] !== m) i += 1;
      if (i >= this.count) throw new Error('message is not on this list');
      if (i < this.count >> 1) {
        // Nearer the head: the messages before it move one slot toward the tail, so a removal costs no
        // more than the search that reached it (the tail of a long queue stays where it is).
        for (; i > 0; i--) slots[(head + i) & mask] = slots[(head + i - 1) & mask];
        slots[head] = undefined;
        this.head = (head + 1) & mask;
      } else {
        for (; i < this.count - 1; i++) slots[(head + i) & mask] = slots[(head + i + 1) & mask];
        slots[(head + this.count - 1) & mask] = undefined;
      }
      this.count -= 1;
    }
    if (this.count < slots.length >> 2 && slots.length > MIN_SLOTS) this.resize(slots.length >> 1);
  }

  /** Every message leaves the list; they are returned in order. */
  takeAll(): Message[] {
    const all = this.toArray();
    this.slots = new Array<Message | undefined>(MIN_SLOTS).fill(undefined);
    this.head = 0;
    this.count = 0;
    return all;
  }

  /** The messages in order (a snapshot: changing the list during the loop is safe). */
  toArray(): Message[] {
    const all: Message[] = [];
    for (let i = 0; i < this.count; i++) all.push(this.at(i));
    return all;
  }

  /** Moves the messages, in order, to the front of a ring of `slots` slots (a power of two, at least count). */
  private resize(slots: number): void {
    const next = new Array<Message | undefined>(slots).fill(undefined);
    for (let i = 0; i < this.count; i++) next[i] = this.at(i);
    this.slots = next;
    this.head = 0;
  }
}
