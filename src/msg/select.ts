/**
 * Which message a receive takes (ipc/msg.c convert_mode, testmsg and
 * find_msg). msgrcv's msgtyp and flags become a search mode and a type;
 * a waiting receiver keeps both, and pipelined_send tests each new message
 * against them with the same testmsg.
 */
import { MSG_COPY, MSG_EXCEPT } from '../abi/msg.js';
import type { Message, MessageList } from './message.js';
import type { MsgType } from './mtype.js';
import { negateType, typeBelow } from './mtype.js';

/** convert_mode's search modes (their values in msg.c). */
export const SEARCH_ANY = 1;
export const SEARCH_EQUAL = 2;
export const SEARCH_NOTEQUAL = 3;
export const SEARCH_LESSEQUAL = 4;
export const SEARCH_NUMBER = 5;
export type SearchMode = typeof SEARCH_ANY | typeof SEARCH_EQUAL | typeof SEARCH_NOTEQUAL | typeof SEARCH_LESSEQUAL | typeof SEARCH_NUMBER;

/** A receive's search: the mode and the type (or, for SEARCH_NUMBER, the 0-based position) it looks for. */
export interface Search {
  readonly mode: SearchMode;
  readonly msgtyp: MsgType;
}

/**
 * convert_mode: MSG_COPY searches by position (msgtyp is the index); else
 * msgtyp 0 takes the first message, a negative msgtyp the lowest type at or
 * below |msgtyp| (LONG_MIN counts as LONG_MAX), and a positive one the first
 * of that type, or with MSG_EXCEPT the first of any other type. MSG_EXCEPT
 * is ignored unless msgtyp > 0.
 */
export function convertMode(msgtyp: MsgType, msgflg: number): Search {
  if ((msgflg & MSG_COPY) !== 0) return { mode: SEARCH_NUMBER, msgtyp };
  if (msgtyp === 0) return { mode: SEARCH_ANY, msgtyp };
  if (msgtyp < 0) return { mode: SEARCH_LESSEQUAL, msgtyp: negateType(msgtyp) };
  return { mode: (msgflg & MSG_EXCEPT) !== 0 ? SEARCH_NOTEQUAL : SEARCH_EQUAL, msgtyp };
}

/** testmsg: does a message of type `mtype` match (`type`, `mode`)? SEARCH_NUMBER matches every message (find_msg counts them). */
export function testmsg(mtype: MsgType, type: MsgType, mode: SearchMode): boolean {
  switch (mode) {
    case SEARCH_ANY:
    case SEARCH_NUMBER:
      return true;
    case SEARCH_LESSEQUAL:
      return mtype <= type;
    case SEARCH_EQUAL:
      return mtype === type;
    case SEARCH_NOTEQUAL:
      return mtype !== type;
  }
}

/**
 * find_msg: the message a receive takes, scanning in FIFO order, or
 * undefined. ANY, EQUAL and NOTEQUAL take the first match; LESSEQUAL keeps
 * the first message of the lowest type at or below the bound (it narrows the
 * bound to m_type - 1 at each candidate, and stops at type 1); NUMBER takes
 * the message at 0-based position msgtyp (a negative position never matches).
 */
export function findMsg(messages: MessageList, search: Search): Message | undefined {
  return findMsgBy(messages, search.mode, search.msgtyp);
}

/** findMsg with the search's mode and type as arguments (a first try has no Search object). */
export function findMsgBy(messages: MessageList, mode: SearchMode, msgtyp: MsgType): Message | undefined {
  let type = msgtyp;
  let found: Message | undefined;
  let count = 0;
  for (let i = 0; i < messages.size; i++) {
    const m = messages.at(i);
    if (!testmsg(m.mtype, type, mode)) continue;
    if (mode === SEARCH_LESSEQUAL && m.mtype !== 1) {
      type = typeBelow(m.mtype);
      found = m;
    } else if (mode === SEARCH_NUMBER) {
      if (type === count) return m;
    } else {
      return m;
    }
    count += 1;
  }
  return found;
}
