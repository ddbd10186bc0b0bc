/**
 * How a statement's operands are written in the native oracle's program text
 * (docs/oracle-protocol.md): every name already a slot number, every integer
 * in decimal, so the C side only converts and calls. Each statement's entry
 * in the statement table builds its line from these.
 */
import type { AddrArg, CapName, Caps, FdArg, FileData, IdArg, Statement } from './ast.js';
import { utf8Encode } from './utf8.js';

/** One field of a program line. */
export type Field = string | number | bigint;

/** The CAPS mask bit of each capability a scenario can grant one by one. */
export const CAP_BITS: Readonly<Record<CapName, number>> = {
  CAP_IPC_OWNER: 1,
  CAP_IPC_LOCK: 2,
  CAP_SYS_ADMIN: 4,
  CAP_SYS_RESOURCE: 8,
};

/** The CAPS value for the full capability set (every capability the kernel knows). */
export const CAPS_ALL = -1;

/** The CAPS mask for `caps`. */
export function capsMask(caps: Caps): number {
  return caps === 'all' ? CAPS_ALL : caps.reduce((mask, c) => mask | CAP_BITS[c], 0);
}

export function id(arg: IdArg): string {
  return arg.kind === 'slot' ? `#${arg.slot}` : String(arg.value);
}

export function addr(arg: AddrArg): string {
  if (arg.kind === 'literal') return String(arg.value);
  return arg.offset < 0n ? `@${arg.slot}-${-arg.offset}` : `@${arg.slot}+${arg.offset}`;
}

/** The slot a statement binds, after its sigil, or `-`. */
export function bind(stmt: Statement, sigil: '#' | '@' | '%'): string {
  return stmt.bind === undefined ? '-' : `${sigil}${stmt.bind}`;
}

export function fd(arg: FdArg): string {
  return arg.kind === 'slot' ? `%${arg.slot}` : String(arg.value);
}

/** A path as the lowercase hex of its UTF-8 bytes (paths may hold blanks). */
export function path(p: string): string {
  return hex(utf8Encode(p));
}

/** A POSIX shm or memfd name: `x` and the lowercase hex of its bytes (a name may be empty or hold blanks). */
export function name(bytes: Uint8Array): string {
  return `x${bytes.length === 0 ? '' : hex(bytes)}`;
}

/** write data: hex bytes (`-` for none), or `zN` for N zero bytes. */
export function data(d: FileData): string {
  return d.kind === 'bytes' ? hex(d.bytes) : `z${d.count}`;
}

/** Lowercase hex, `-` for no bytes. */
export function hex(bytes: Uint8Array): string {
  if (bytes.length === 0) return '-';
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
