/**
 * The per-process file statements of the scenario extension
 * (docs/scenario-extensions.md): open, close, write/pwrite/read/pread on a
 * descriptor, unlink, mkdir, rmdir, stat, statfs, ftruncate, fallocate, mmap
 * and dd. Paths are absolute; descriptors are variables bound by `open` in
 * the same process (or inherited through fork), like addresses.
 */
import { PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from '../../abi/constants.js';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  MAP_PRIVATE,
  MAP_SHARED,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_DSYNC,
  O_EXCL,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TRUNC,
  O_WRONLY,
} from '../../abi/fs.js';
import { O_CLOEXEC, O_NOFOLLOW } from '../../abi/memfd.js';
import { INT64_MAX } from '../../hostchannel/size.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_DROPPABLE,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGE_1GB,
  MAP_HUGE_2MB,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_SHARED_VALIDATE,
} from '../../abi/mman.js';
import { ddOutput } from '../result/dd.js';
import type { Printing, RawSuccess } from '../result/printed.js';
import { num } from '../result/printed.js';
import type { Body, LineParser } from './args.js';
import { arity } from './args.js';
import type { FdArg, FileData } from './ast.js';
import type { Token } from './lexer.js';
import { NAME, parseInteger } from './literals.js';
import type { ProcessParser, StatementEntries } from './table.js';
import { utf8DecodeStrict } from './utf8.js';
import * as wire from './wire.js';

/** Flag names `open` takes: the ones that act, and status flags F_GETFL shows. */
export const OPEN_FLAGS: Readonly<Record<string, number>> = {
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_CLOEXEC,
  O_NONBLOCK,
  O_NOCTTY,
  O_DSYNC,
  O_SYNC,
};

/** Flag names `mmap` takes: its PROT and its FLAGS. */
const MMAP_PROT: Readonly<Record<string, number>> = { PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC };
const MMAP_FLAGS: Readonly<Record<string, number>> = {
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_SHARED_VALIDATE,
  MAP_DROPPABLE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_HUGETLB,
  MAP_HUGE_2MB,
  MAP_HUGE_1GB,
};

/** Mode names `fallocate` takes. */
const FALLOCATE_MODES: Readonly<Record<string, number>> = { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE };

/** The most one string write or one read moves (printed as hex), as for memory accesses. */
const MAX_ACCESS = 16n << 20n;
/** The most `bytes=N` writes in one call. */
const MAX_ZERO_WRITE = 256n << 20n;
/** dd's largest block size here. */
const MAX_DD_BS = 64n << 20n;

/**
 * A path: a bare token starting with `/`, or a string. It must be absolute,
 * valid UTF-8 and free of NUL bytes; `hostSide` paths (run by the native
 * oracle outside the scenario's root) may not contain `..` components either.
 */
export function parsePath(lp: LineParser, tok: Token, hostSide = false): string | undefined {
  let path: string;
  if (tok.str !== undefined) {
    if (tok.str.prefix !== '') return lp.fail(tok.col, `expected a path, got ${tok.text}`);
    if (tok.str.bytes.includes(0)) return lp.fail(tok.col, 'a path cannot contain a NUL byte');
    const decoded = utf8DecodeStrict(tok.str.bytes);
    if (decoded === undefined) return lp.fail(tok.col, 'a path must be valid UTF-8');
    path = decoded;
  } else {
    path = tok.text;
  }
  if (!path.startsWith('/')) return lp.fail(tok.col, `a path must be absolute (start with /), got ${tok.text}`);
  if (hostSide && path.split('/').includes('..')) return lp.fail(tok.col, 'a host-side path may not contain .. components');
  return path;
}

/** A descriptor: a descriptor variable of process `proc`, or a negative literal (never open on either backend). */
export function parseFd(lp: LineParser, tok: Token, proc: number): FdArg | undefined {
  const text = lp.word(tok);
  if (text === undefined) return undefined;
  if (NAME.test(text)) {
    const slot = lp.take(lp.scope.fd(text, tok.col, proc));
    return slot === undefined ? undefined : { kind: 'slot', slot };
  }
  const n = lp.take(parseInteger(text, tok.col, false));
  if (n === undefined) return undefined;
  // The backends number descriptors differently (the oracle's processes hold 0 to 3), so only a never-open number is portable.
  if (n >= 0n || n < -(1n << 31n)) return lp.fail(tok.col, 'a literal file descriptor must be a negative int (use a variable bound by open)');
  return { kind: 'literal', value: Number(n) };
}

/** A signed 64-bit offset or length (off_t). */
function offset(lp: LineParser, tok: Token): bigint | undefined {
  const n = lp.integer(tok, true);
  if (n !== undefined && n > INT64_MAX) return lp.fail(tok.col, `${tok.text} does not fit an off_t`);
  return n;
}

/** A mode for open, mkdir or shm_open: 0 to 07777. */
export function mode(lp: LineParser, tok: Token): number | undefined {
  const n = lp.integer(tok, false);
  if (n !== undefined && (n < 0n || n > 0o7777n)) return lp.fail(tok.col, 'MODE must be between 0 and 07777');
  return n === undefined ? undefined : Number(n);
}

/** STRING, or bytes=N (N zero bytes). */
function fileData(lp: LineParser, tok: Token): FileData | undefined {
  if (tok.str !== undefined) {
    if (tok.str.prefix !== '') return lp.fail(tok.col, `expected a string or bytes=N, got ${tok.text}`);
    if (BigInt(tok.str.bytes.length) > MAX_ACCESS) return lp.fail(tok.col, 'a string write moves at most 16 MiB');
    return { kind: 'bytes', bytes: tok.str.bytes };
  }
  const kv = lp.keyValue(tok);
  if (kv?.key !== 'bytes') return lp.fail(tok.col, `expected a string or bytes=N, got ${tok.text}`);
  const n = lp.take(parseInteger(kv.value, kv.valueCol, true));
  if (n === undefined) return undefined;
  if (n < 0n || n > MAX_ZERO_WRITE) return lp.fail(kv.valueCol, 'bytes= must be between 0 and 256M');
  return { kind: 'zeros', count: Number(n) };
}

/**
 * `WHAT FLAGS [MODE]`, the arguments open and shm_open share: what is
 * opened (read by `target`), flags from `names`, and a mode (0666 when
 * left out); undefined after an error, which `lp` has recorded.
 */
export function openArgs<T>(
  lp: LineParser,
  opTok: Token,
  args: readonly Token[],
  what: string,
  target: (lp: LineParser, tok: Token) => T | undefined,
  names: Readonly<Record<string, number>>,
): { readonly target: T; readonly flags: number; readonly mode: number } | undefined {
  if (!arity(lp, opTok, args, args.length >= 3 ? `${what} FLAGS MODE` : `${what} FLAGS`)) return undefined;
  const [whatTok, flagsTok, modeTok] = args as [Token, Token, Token | undefined];
  const t = target(lp, whatTok);
  const flags = lp.flags(flagsTok, names);
  const m = modeTok === undefined ? 0o666 : mode(lp, modeTok);
  return t === undefined || flags === undefined || m === undefined ? undefined : { target: t, flags, mode: m };
}

function parseOpen(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const a = openArgs(lp, opTok, args, 'PATH', (l, t) => parsePath(l, t), OPEN_FLAGS);
  return a === undefined ? undefined : { op: 'open', proc, path: a.target, flags: a.flags, mode: a.mode };
}

function parseClose(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD')) return undefined;
  const fd = parseFd(lp, args[0] as Token, proc);
  return fd === undefined ? undefined : { op: 'close', proc, fd };
}

/** `write FD STRING|bytes=N`; the caller has seen that FD is a descriptor of the process. */
export function parseFileWrite(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD DATA')) return undefined;
  const [fdTok, dataTok] = args as [Token, Token];
  const fd = parseFd(lp, fdTok, proc);
  const data = fileData(lp, dataTok);
  if (fd === undefined || data === undefined) return undefined;
  return { op: 'fwrite', proc, fd, data };
}

function parsePwrite(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD DATA OFFSET')) return undefined;
  const [fdTok, dataTok, offTok] = args as [Token, Token, Token];
  const fd = parseFd(lp, fdTok, proc);
  const data = fileData(lp, dataTok);
  const off = offset(lp, offTok);
  if (fd === undefined || data === undefined || off === undefined) return undefined;
  return { op: 'fwrite', proc, fd, data, offset: off };
}

/** `read FD LEN`; the caller has seen that FD is a descriptor of the process. */
export function parseFileRead(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD LEN')) return undefined;
  const [fdTok, lenTok] = args as [Token, Token];
  const fd = parseFd(lp, fdTok, proc);
  const len = lp.size(lenTok);
  if (len !== undefined && len > MAX_ACCESS) return lp.fail(lenTok.col, 'a read moves at most 16 MiB');
  if (fd === undefined || len === undefined) return undefined;
  return { op: 'fread', proc, fd, len };
}

/** `pread FD LEN OFFSET`. */
function parsePread(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD LEN OFFSET')) return undefined;
  const [fdTok, lenTok, offTok] = args as [Token, Token, Token];
  const fd = parseFd(lp, fdTok, proc);
  const len = lp.size(lenTok);
  if (len !== undefined && len > MAX_ACCESS) return lp.fail(lenTok.col, 'a read moves at most 16 MiB');
  const off = offset(lp, offTok);
  if (fd === undefined || len === undefined || off === undefined) return undefined;
  return { op: 'fread', proc, fd, len, offset: off };
}

/** unlink, rmdir, statfs, stat: `OP PATH`; mkdir: `mkdir PATH [MODE]`. */
function pathOp(op: 'unlink' | 'mkdir' | 'rmdir' | 'statfs' | 'stat'): ProcessParser {
  return (lp, opTok, args, proc) => {
    const usage = op === 'mkdir' && args.length >= 2 ? 'PATH MODE' : 'PATH';
    if (!arity(lp, opTok, args, usage)) return undefined;
    const path = parsePath(lp, args[0] as Token);
    const m = args[1] === undefined ? 0o777 : mode(lp, args[1]);
    if (path === undefined || m === undefined) return undefined;
    return { op, proc, path, mode: op === 'mkdir' ? m : 0 };
  };
}

function parseFtruncate(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD LEN')) return undefined;
  const [fdTok, lenTok] = args as [Token, Token];
  const fd = parseFd(lp, fdTok, proc);
  const len = offset(lp, lenTok);
  if (fd === undefined || len === undefined) return undefined;
  return { op: 'ftruncate', proc, fd, len };
}

function parseFallocate(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, args.length > 3 ? 'FD OFFSET LEN MODE' : 'FD OFFSET LEN')) return undefined;
  const [fdTok, offTok, lenTok, modeTok] = args as [Token, Token, Token, Token | undefined];
  const fd = parseFd(lp, fdTok, proc);
  const off = offset(lp, offTok);
  const len = offset(lp, lenTok);
  const m = modeTok === undefined ? 0 : lp.flags(modeTok, FALLOCATE_MODES);
  if (fd === undefined || off === undefined || len === undefined || m === undefined) return undefined;
  return { op: 'fallocate', proc, fd, mode: m, offset: off, len };
}

/** `mmap FD LEN PROT FLAGS [OFFSET] [at=ADDR]`; FD is -1 (any negative literal) for MAP_ANONYMOUS. */
function parseMmap(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const last = args.at(-1);
  const atKv = args.length > 4 && last !== undefined ? lp.keyValue(last) : undefined;
  const positional = atKv?.key === 'at' ? args.slice(0, -1) : args;
  if (!arity(lp, opTok, positional, positional.length > 4 ? 'FD LEN PROT FLAGS OFFSET' : 'FD LEN PROT FLAGS')) return undefined;
  const [fdTok, lenTok, protTok, flagsTok, offTok] = positional as [Token, Token, Token, Token, Token | undefined];
  const fd = parseFd(lp, fdTok, proc);
  const len = lp.size(lenTok);
  const prot = lp.flags(protTok, MMAP_PROT);
  const flags = lp.flags(flagsTok, MMAP_FLAGS);
  const off = offTok === undefined ? 0n : offset(lp, offTok);
  const at = atKv === undefined ? undefined : lp.address({ text: atKv.value, col: atKv.valueCol }, proc);
  if (fd === undefined || len === undefined || prot === undefined || flags === undefined || off === undefined) return undefined;
  if (atKv !== undefined && at === undefined) return undefined;
  const base = { op: 'mmap' as const, proc, fd, len, prot, flags, offset: off };
  return at === undefined ? base : { ...base, at };
}

/** `dd if=/dev/zero of=PATH bs=N count=N`, operands in any order, each once. */
function parseDd(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const got = new Map<string, { value: string; col: number; tok: Token }>();
  let bad = false;
  for (const tok of args) {
    const kv = lp.keyValue(tok);
    if (kv === undefined || !['if', 'of', 'bs', 'count'].includes(kv.key)) {
      if (tok.str === undefined) lp.fail(tok.col, `dd takes if=/dev/zero, of=PATH, bs=N and count=N, got ${tok.text}`);
      bad = true;
      continue;
    }
    if (got.has(kv.key)) {
      lp.fail(tok.col, `${kv.key}= is given twice`);
      bad = true;
      continue;
    }
    got.set(kv.key, { value: kv.value, col: kv.valueCol, tok });
  }
  const missing = ['if', 'of', 'bs', 'count'].filter((k) => !got.has(k));
  if (missing.length > 0) return bad ? undefined : lp.fail(opTok.col, `dd needs ${missing.map((k) => `${k}=`).join(' ')}`);
  const input = got.get('if')!;
  if (input.value !== '/dev/zero') return lp.fail(input.col, 'dd reads if=/dev/zero only');
  const out = got.get('of')!;
  const path = parsePath(lp, { text: out.value, col: out.col });
  const bsArg = got.get('bs')!;
  let bs = lp.take(parseInteger(bsArg.value, bsArg.col, true));
  if (bs !== undefined && (bs < 1n || bs > MAX_DD_BS)) bs = lp.fail(bsArg.col, 'bs= must be between 1 and 64M');
  const countArg = got.get('count')!;
  let count = lp.take(parseInteger(countArg.value, countArg.col, true));
  if (count !== undefined && (count < 0n || count > INT64_MAX)) count = lp.fail(countArg.col, 'count= must be between 0 and 2^63-1');
  if (bad || path === undefined || bs === undefined || count === undefined) return undefined;
  return { op: 'dd', proc, path, bs, count };
}

/** ret of a file call: its return value, unless the OOM killer ended the process during it. */
const printRet = (_s: unknown, raw: RawSuccess, p: Printing): void => {
  if (p.exit === undefined) p.out['ret'] = num(raw.ret ?? 0n);
};

/** The file statements' entries in the statement table. */
export const FILE_STATEMENTS: StatementEntries<
  'open' | 'close' | 'fwrite' | 'fread' | 'unlink' | 'mkdir' | 'rmdir' | 'statfs' | 'stat' | 'ftruncate' | 'fallocate' | 'mmap' | 'dd'
> = {
  open: {
    place: 'process',
    parse: parseOpen,
    binds: 'fd',
    native: (s) => ['open', s.proc, wire.path(s.path), s.flags, s.mode, wire.bind(s, '%')],
    printOk: (s, _raw, p) => {
      if (s.bind !== undefined && p.exit === undefined) p.out['ret'] = (p.program.fdVars ?? [])[s.bind]!;
    },
  },
  close: { place: 'process', parse: parseClose, native: (s) => ['close', s.proc, wire.fd(s.fd)], printOk: printRet },
  // `write FD DATA` reaches it through write's parser; it prints as the call it makes.
  fwrite: {
    place: 'process',
    words: ['pwrite'],
    parse: parsePwrite,
    native: (s) => ['fwrite', s.proc, wire.fd(s.fd), wire.data(s.data), s.offset ?? '-'],
    label: (s) => (s.offset === undefined ? 'write' : 'pwrite'),
    printOk: printRet,
  },
  fread: {
    place: 'process',
    // `read FD LEN` reaches it through read's parser; it prints as the call it makes.
    words: ['pread'],
    parse: parsePread,
    native: (s) => ['fread', s.proc, wire.fd(s.fd), s.len, s.offset ?? '-'],
    label: (s) => (s.offset === undefined ? 'read' : 'pread'),
    printOk: printRet,
  },
  unlink: { place: 'process', parse: pathOp('unlink'), native: (s) => ['unlink', s.proc, wire.path(s.path)], printOk: printRet },
  mkdir: { place: 'process', parse: pathOp('mkdir'), native: (s) => ['mkdir', s.proc, wire.path(s.path), s.mode], printOk: printRet },
  rmdir: { place: 'process', parse: pathOp('rmdir'), native: (s) => ['rmdir', s.proc, wire.path(s.path)], printOk: printRet },
  statfs: { place: 'process', parse: pathOp('statfs'), native: (s) => ['statfs', s.proc, wire.path(s.path)], printOk: printRet },
  stat: { place: 'process', parse: pathOp('stat'), native: (s) => ['stat', s.proc, wire.path(s.path)], printOk: printRet },
  ftruncate: { place: 'process', parse: parseFtruncate, native: (s) => ['ftruncate', s.proc, wire.fd(s.fd), s.len], printOk: printRet },
  fallocate: {
    place: 'process',
    parse: parseFallocate,
    native: (s) => ['fallocate', s.proc, wire.fd(s.fd), s.mode, s.offset, s.len],
    printOk: printRet,
  },
  mmap: {
    place: 'process',
    parse: parseMmap,
    binds: 'addr',
    // ADDR follows BIND only when `at=` was given, so older programs keep their text.
    native: (s) => {
      const head = ['mmap', s.proc, wire.fd(s.fd), s.len, s.prot, s.flags, s.offset, wire.bind(s, '@')];
      return s.at === undefined ? head : [...head, wire.addr(s.at)];
    },
    printOk: (s, _raw, p) => {
      if (s.bind !== undefined && p.exit === undefined) p.out['ret'] = p.program.addrVars[s.bind]!;
    },
  },
  dd: {
    place: 'process',
    parse: parseDd,
    native: (s) => ['dd', s.proc, wire.path(s.path), s.bs, s.count],
    // dd prints what coreutils dd prints: an exit status and its stderr.
    printOk: (s, raw, p) => {
      if (raw.dd !== undefined) ({ exit: p.exit, stderr: p.stderr } = ddOutput(s.path, raw.dd));
    },
  },
};
