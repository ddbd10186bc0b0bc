/**
 * Message types: a C long (signed 64 bits) for both mtype and msgtyp.
 *
 * A MsgType is canonical: a value that is a safe integer (|v| < 2^53) is
 * always a number, and only a value outside that range is a bigint. Programs
 * almost always use small types, so the common case stays a number compare;
 * the rare large type is exact. Because each value has exactly one form,
 * `===` is value equality, and `<`/`<=` compare a number with a bigint
 * exactly, so the selection rules (testmsg) need no conversion.
 */

/** A signed 64-bit type, canonical (see the file comment). */
export type MsgType = number | bigint;

const LONG_MAX = (1n << 63n) - 1n;

/**
 * The canonical MsgType of `v` read as a C long: a bigint wraps to signed 64
 * bits (as the kernel's load of a long does); a number must be an integer
 * (throws otherwise: the caller passed something no register holds).
 */
export function asMsgType(v: number | bigint): MsgType {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v === 0 ? 0 : v; // -0 becomes 0
    if (!Number.isInteger(v)) throw new RangeError(`message type ${v} is not an integer`);
    return canonical(BigInt.asIntN(64, BigInt(v)));
  }
  return canonical(BigInt.asIntN(64, v));
}

/** A bigint in the signed 64-bit range, as its canonical MsgType. */
function canonical(v: bigint): MsgType {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/** convert_mode's negation of a negative msgtyp: -msgtyp, with LONG_MIN mapped to LONG_MAX (its negation is undefined in C). */
export function negateType(t: MsgType): MsgType {
  if (typeof t === 'number') return -t;
  return t === -(1n << 63n) ? LONG_MAX : canonical(-t);
}

/** find_msg's narrowing of SEARCH_LESSEQUAL's bound to m_type - 1 (m_type >= 1, so no wrap). */
export function typeBelow(t: MsgType): MsgType {
  return typeof t === 'number' ? t - 1 : canonical(t - 1n);
}
