/**
 * The memory and file-position calls test suites use beside mmap
 * (docs/scenario-language.md, Memory calls): msync, mlock (mlock2 with
 * FLAGS), munlock, madvise, mincore, lseek and umask. Addresses and
 * lengths are read as for munmap; names are the x86-64 values of
 * abi/mman.ts.
 */
import * as M from '../../abi/mman.js';
import type { Printing, RawSuccess } from '../result/printed.js';
import { num } from '../result/printed.js';
import type { Body, LineParser } from './args.js';
import { arity } from './args.js';
import { parseFd } from './fileops.js';
import type { Token } from './lexer.js';
import type { StatementEntries } from './table.js';
import * as wire from './wire.js';

const MS_FLAGS: Readonly<Record<string, number>> = { MS_ASYNC: M.MS_ASYNC, MS_INVALIDATE: M.MS_INVALIDATE, MS_SYNC: M.MS_SYNC };
const MLOCK_FLAGS: Readonly<Record<string, number>> = { MLOCK_ONFAULT: M.MLOCK_ONFAULT };
const SEEK_WHENCE: Readonly<Record<string, number>> = {
  SEEK_SET: M.SEEK_SET,
  SEEK_CUR: M.SEEK_CUR,
  SEEK_END: M.SEEK_END,
  SEEK_DATA: M.SEEK_DATA,
  SEEK_HOLE: M.SEEK_HOLE,
};
/** madvise advice names: every MADV_ constant of abi/mman.ts. */
const MADV_NAMES: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(M).filter(([k]) => k.startsWith('MADV_'))) as Record<string, number>;

/** The most pages one mincore prints (its vector is one byte a page, printed as data). */
const MAX_MINCORE_BYTES = 16n << 20n;

/** `msync ADDR LEN FLAGS`, `madvise ADDR LEN ADVICE`, `mlock ADDR LEN [FLAGS]`, `munlock ADDR LEN`, `mincore ADDR LEN`. */
function rangeOp(
  op: 'msync' | 'madvise' | 'mlock' | 'munlock' | 'mincore',
): (lp: LineParser, opTok: Token, args: readonly Token[], proc: number) => Body | undefined {
  return (lp, opTok, args, proc) => {
    const third = op === 'msync' ? 'FLAGS' : op === 'madvise' ? 'ADVICE' : op === 'mlock' && args.length > 2 ? 'FLAGS' : undefined;
    if (!arity(lp, opTok, args, third === undefined ? 'ADDR LEN' : `ADDR LEN ${third}`)) return undefined;
    const [addrTok, lenTok, flagsTok] = args as [Token, Token, Token | undefined];
    const addr = lp.address(addrTok, proc);
    const len = lp.size(lenTok);
    const names = op === 'msync' ? MS_FLAGS : op === 'madvise' ? MADV_NAMES : MLOCK_FLAGS;
    const flags = flagsTok === undefined ? 0 : lp.flags(flagsTok, names);
    if (op === 'mincore' && len !== undefined && len > MAX_MINCORE_BYTES) return lp.fail(lenTok.col, 'mincore looks at most 16 MiB at a time');
    if (addr === undefined || len === undefined || flags === undefined) return undefined;
    if (op === 'mlock') return flagsTok === undefined ? { op, proc, addr, len } : { op, proc, addr, len, flags };
    return { op, proc, addr, len, flags };
  };
}

/** `lseek FD OFFSET WHENCE`. */
function parseLseek(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD OFFSET WHENCE')) return undefined;
  const [fdTok, offTok, whenceTok] = args as [Token, Token, Token];
  const fd = parseFd(lp, fdTok, proc);
  let offset = lp.integer(offTok, true);
  if (offset !== undefined && (offset < -(1n << 63n) || offset >= 1n << 63n)) offset = lp.fail(offTok.col, `${offTok.text} does not fit an off_t`);
  const whence = lp.flags(whenceTok, SEEK_WHENCE);
  if (fd === undefined || offset === undefined || whence === undefined) return undefined;
  return { op: 'lseek', proc, fd, offset, whence };
}

/** `umask MASK`. */
function parseUmask(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'MASK')) return undefined;
  const tok = args[0] as Token;
  const mask = lp.integer(tok, false);
  if (mask !== undefined && (mask < 0n || mask > 0xffffffffn)) return lp.fail(tok.col, 'MASK must be between 0 and 0xffffffff');
  return mask === undefined ? undefined : { op: 'umask', proc, mask: Number(mask) };
}

const printRet = (_s: unknown, raw: RawSuccess, p: Printing): void => {
  if (p.exit === undefined) p.out['ret'] = num(raw.ret ?? 0n);
};

/** The memory calls' entries in the statement table. */
export const MEM_STATEMENTS: StatementEntries<'msync' | 'madvise' | 'mlock' | 'munlock' | 'mincore' | 'lseek' | 'umask'> = {
  msync: { place: 'process', parse: rangeOp('msync'), native: (s) => ['msync', s.proc, wire.addr(s.addr), s.len, s.flags ?? 0], printOk: printRet },
  madvise: { place: 'process', parse: rangeOp('madvise'), native: (s) => ['madvise', s.proc, wire.addr(s.addr), s.len, s.flags ?? 0], printOk: printRet },
  mlock: {
    place: 'process',
    parse: rangeOp('mlock'),
    native: (s) => ['mlock', s.proc, wire.addr(s.addr), s.len, s.flags ?? '-'],
    label: (s) => (s.flags === undefined ? 'mlock' : 'mlock2'),
    printOk: printRet,
  },
  munlock: { place: 'process', parse: rangeOp('munlock'), native: (s) => ['munlock', s.proc, wire.addr(s.addr), s.len], printOk: printRet },
  mincore: { place: 'process', parse: rangeOp('mincore'), native: (s) => ['mincore', s.proc, wire.addr(s.addr), s.len], printOk: printRet },
  lseek: { place: 'process', parse: parseLseek, native: (s) => ['lseek', s.proc, wire.fd(s.fd), s.offset, s.whence], printOk: printRet },
  umask: { place: 'process', parse: parseUmask, native: (s) => ['umask', s.proc, s.mask], printOk: printRet },
};
