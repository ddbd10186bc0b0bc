/**
 * The emulated backend's side of the memory and file-position calls
 * (parse/memops.ts): msync, madvise, mlock/mlock2, munlock, mincore, lseek
 * and umask, each the Process call a C program would make.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../../abi/errno.js';
import type { Process } from '../../kernel/process.js';
import type { Statement } from '../parse/ast.js';
import type { RawResult } from '../result/raw.js';
import type { PosixContext } from './emulated_posix.js';

/** The statements this module runs. */
export type MemStatement = Extract<Statement, { op: 'msync' | 'madvise' | 'mlock' | 'munlock' | 'mincore' | 'lseek' | 'umask' }>;

const done = (r: E.Either<SysError, unknown>): RawResult => (E.isLeft(r) ? { ok: false, errno: r.left.errno } : { ok: true, ret: 0n });

/** Runs one memory or file-position statement in process `p`. */
export function runMem(s: MemStatement, p: Process, ctx: PosixContext): RawResult {
  switch (s.op) {
    case 'msync':
      return done(p.msync(ctx.addr(s.proc, s.addr), s.len, s.flags ?? 0));
    case 'madvise':
      return done(p.madvise(ctx.addr(s.proc, s.addr), s.len, s.flags ?? 0));
    case 'mlock': {
      const addr = ctx.addr(s.proc, s.addr);
      return done(s.flags === undefined ? p.mlock(addr, s.len) : p.mlock2(addr, s.len, s.flags));
    }
    case 'munlock':
      return done(p.munlock(ctx.addr(s.proc, s.addr), s.len));
    case 'mincore': {
      const r = p.mincore(ctx.addr(s.proc, s.addr), s.len);
      return E.isLeft(r) ? { ok: false, errno: r.left.errno } : { ok: true, ret: 0n, data: r.right };
    }
    case 'lseek': {
      const r = p.lseek(ctx.fd(s.proc, s.fd), s.offset, s.whence);
      return E.isLeft(r) ? { ok: false, errno: r.left.errno } : { ok: true, ret: BigInt(r.right) };
    }
    case 'umask': {
      const r = p.umask(s.mask);
      return E.isLeft(r) ? { ok: false, errno: r.left.errno } : { ok: true, ret: BigInt(r.right) };
    }
  }
}
