/**
 * One message (Linux struct msg_msg): its type and text. The text is the
 * bytes msgsnd was given, which the kernel layer copied out of user memory;
 * the queue owns them from then on and never changes them.
 */
import type { ListNode } from './list.js';
import type { MsgType } from './mtype.js';

/** A queued (or in-flight) message. */
export class Message implements ListNode<Message> {
  prev: Message | undefined = undefined;
  next: Message | undefined = undefined;
  linked = false;

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
