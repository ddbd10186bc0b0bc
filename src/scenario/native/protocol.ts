/**
 * The program text the native oracle reads on stdin (docs/oracle-protocol.md):
 * one line per statement, every name already a slot number, every integer in
 * decimal, so the C side only converts and calls.
 */
import type { AddrArg, Caps, CapName, FdArg, FileData, IdArg, Program, Statement } from '../parse/ast.js';

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

function id(arg: IdArg): string {
  return arg.kind === 'slot' ? `#${arg.slot}` : String(arg.value);
}

function addr(arg: AddrArg): string {
  if (arg.kind === 'literal') return String(arg.value);
  return arg.offset < 0n ? `@${arg.slot}-${-arg.offset}` : `@${arg.slot}+${arg.offset}`;
}

function bind(stmt: Statement, sigil: '#' | '@' | '%'): string {
  return stmt.bind === undefined ? '-' : `${sigil}${stmt.bind}`;
}

function fd(arg: FdArg): string {
  return arg.kind === 'slot' ? `%${arg.slot}` : String(arg.value);
}

/** A path as the lowercase hex of its UTF-8 bytes (paths may hold blanks). */
function path(p: string): string {
  return hex(new TextEncoder().encode(p));
}

/** write data: hex bytes (`-` for none), or `zN` for N zero bytes. */
function data(d: FileData): string {
  return d.kind === 'bytes' ? hex(d.bytes) : `z${d.count}`;
}

function hex(bytes: Uint8Array): string {
  if (bytes.length === 0) return '-';
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The fields after LINE for one statement. */
function fields(s: Statement): readonly (string | number | bigint)[] {
  switch (s.op) {
    case 'proc':
      return ['proc', s.proc, s.uid, s.gid, s.groups.length, ...s.groups, capsMask(s.caps), s.ns];
    case 'fork':
      return ['fork', s.parent, s.child];
    case 'exit':
      return ['exit', s.proc];
    case 'sysctl':
      return ['sysctl', s.ns, s.name, s.value];
    case 'rlimit':
      return ['rlimit', s.proc, s.memlock];
    case 'shmget':
      return ['shmget', s.proc, s.key, s.size, s.flags, bind(s, '#')];
    case 'shmat':
      return ['shmat', s.proc, id(s.id), addr(s.addr), s.flags, bind(s, '@')];
    case 'shmdt':
      return ['shmdt', s.proc, addr(s.addr)];
    case 'shmctl': {
      const head = ['shmctl', s.proc, id(s.id), s.cmd, s.cmdName === undefined ? 0 : 1, bind(s, '#')];
      return s.set === undefined ? head : [...head, s.set.uid, s.set.gid, s.set.mode];
    }
    case 'munmap':
      return ['munmap', s.proc, addr(s.addr), s.len];
    case 'mprotect':
      return ['mprotect', s.proc, addr(s.addr), s.len, s.prot];
    case 'write':
      return ['write', s.proc, addr(s.addr), hex(s.data)];
    case 'fill':
      return ['fill', s.proc, addr(s.addr), s.len, s.byte];
    case 'read':
      return ['read', s.proc, addr(s.addr), s.len];
    case 'tmpfs':
      return ['tmpfs', path(s.path), s.size, s.nrInodes ?? '-', s.mode === undefined ? '-' : s.mode];
    case 'mount':
      return ['bind', path(s.source), path(s.target), s.readonly ? 1 : 0];
    case 'host':
      return ['hmkdir', path(s.path)];
    case 'open':
      return ['open', s.proc, path(s.path), s.flags, s.mode, bind(s, '%')];
    case 'close':
      return ['close', s.proc, fd(s.fd)];
    case 'fwrite':
      return ['fwrite', s.proc, fd(s.fd), data(s.data), s.offset ?? '-'];
    case 'fread':
      return ['fread', s.proc, fd(s.fd), s.len];
    case 'unlink':
    case 'rmdir':
    case 'statfs':
    case 'stat':
      return [s.op, s.proc, path(s.path)];
    case 'mkdir':
      return ['mkdir', s.proc, path(s.path), s.mode];
    case 'ftruncate':
      return ['ftruncate', s.proc, fd(s.fd), s.len];
    case 'fallocate':
      return ['fallocate', s.proc, fd(s.fd), s.mode, s.offset, s.len];
    case 'mmap':
      return ['mmap', s.proc, fd(s.fd), s.len, s.prot, s.flags, s.offset, bind(s, '@')];
    case 'dd':
      return ['dd', s.proc, path(s.path), s.bs, s.count];
    case 'meminfo':
    case 'isula':
    case 'memcg':
    case 'checkpoint':
    case 'restore':
      throw new Error(`${s.op} (line ${s.line}) is emulated only; check emulatedOnly() before encoding`);
  }
}

/**
 * The first statement the native backend cannot run, with why: the container
 * engine, its memory cgroups and the meminfo it reads exist only in the
 * emulator. Undefined when the whole program can run on the real kernel.
 */
export function emulatedOnly(program: Program): string | undefined {
  for (const s of program.statements) {
    if (s.op === 'isula' || s.op === 'meminfo' || s.op === 'memcg') {
      return `line ${s.line}: ${s.op} is emulated only (the native backend runs no iSulad engine, memory cgroup or fake meminfo)`;
    }
    if (s.op === 'checkpoint' || s.op === 'restore') {
      return `line ${s.line}: ${s.op} is emulated only (it saves or restores ipc-sentry's own kernel)`;
    }
    if (s.op === 'proc' && s.container !== undefined) {
      return `line ${s.line}: proc container= is emulated only (the native backend runs no iSulad engine)`;
    }
  }
  return undefined;
}

/** Encodes `program` as the oracle's program text: one newline-terminated line per statement. */
export function encodeProgram(program: Program): string {
  return program.statements.map((s) => `${[s.line, ...fields(s)].join(' ')}\n`).join('');
}
