/**
 * The emulated backend's side of the POSIX statements (parse/posixops.ts):
 * shm_open and shm_unlink, memfd_create, fcntl, fstat, cmpaddr and
 * sysvipc, each the Process call a C program would make, reported as the
 * same raw facts the native oracle reports.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../../abi/errno.js';
import { sysvipcText } from '../../kernel/proc_sysvipc.js';
import type { Process } from '../../kernel/process.js';
import type { AddrArg, FdArg, Statement } from '../parse/ast.js';
import { utf8Decode, utf8Encode } from '../parse/utf8.js';
import type { RawResult } from '../result/raw.js';

/** The statements this module runs. */
export type PosixStatement = Extract<Statement, { op: 'shm_open' | 'shm_unlink' | 'memfd_create' | 'fcntl' | 'fstat' | 'cmpaddr' | 'sysvipc' }>;

/** What a POSIX statement needs from the run: the process's descriptor and address variables. */
export interface PosixContext {
  /** A descriptor argument of process `proc`; an unbound slot reads -1. */
  fd(proc: number, arg: FdArg): number;
  /** Records descriptor `fd` in slot `slot` of process `proc`. */
  bindFd(proc: number, slot: number, fd: number): void;
  /** An address argument of process `proc`; an unbound slot reads (void *)-1. */
  addr(proc: number, arg: AddrArg): bigint;
}

const fail = (e: SysError): RawResult => ({ ok: false, errno: e.errno });

/** Runs one POSIX statement in process `p`. */
export function runPosix(s: PosixStatement, p: Process, ctx: PosixContext): RawResult {
  switch (s.op) {
    case 'shm_open': {
      // glibc hands the mode to open(2), where the kernel applies the process's umask.
      const r = p.shmOpen(utf8Decode(s.name), s.flags, s.mode);
      return opened(r, s.proc, s.bind, ctx);
    }
    case 'shm_unlink': {
      const r = p.shmUnlink(utf8Decode(s.name));
      return E.isLeft(r) ? fail(r.left) : { ok: true, ret: 0n };
    }
    case 'memfd_create':
      return opened(p.memfdCreate(utf8Decode(s.name), s.flags), s.proc, s.bind, ctx);
    case 'fcntl': {
      const r = p.fcntl(ctx.fd(s.proc, s.fd), s.cmd, s.arg);
      return E.isLeft(r) ? fail(r.left) : { ok: true, ret: BigInt(r.right) };
    }
    case 'fstat': {
      const r = p.fstat(ctx.fd(s.proc, s.fd));
      if (E.isLeft(r)) return fail(r.left);
      const t = r.right;
      return { ok: true, ret: 0n, stat: { mode: t.mode, nlink: BigInt(t.nlink), uid: t.uid, gid: t.gid, size: BigInt(t.size), blocks: BigInt(t.blocks) } };
    }
    case 'cmpaddr':
      return { ok: true, ret: ctx.addr(s.proc, s.a) === ctx.addr(s.proc, s.b) ? 0n : 1n };
    case 'sysvipc':
      if (p.exited) return { ok: false, errno: 'ESRCH' };
      return { ok: true, text: utf8Encode(sysvipcText(p.ipcNamespace, s.file)) };
  }
}

/** A call that returns a new descriptor: bound to the statement's variable on success. */
function opened(r: E.Either<SysError, number>, proc: number, bind: number | undefined, ctx: PosixContext): RawResult {
  if (E.isLeft(r)) return fail(r.left);
  if (bind !== undefined) ctx.bindFd(proc, bind, r.right);
  return { ok: true, ret: BigInt(r.right) };
}
