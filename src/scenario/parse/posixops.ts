/**
 * The per-process statements of POSIX shared memory and memfd
 * (docs/scenario-language.md, POSIX shared memory and memfd), and the calls
 * external test suites need beside them: shm_open, shm_unlink,
 * memfd_create, fcntl, fstat, cmpaddr (are two addresses equal, without
 * printing either) and sysvipc (reading /proc/sysvipc back, normalized).
 */
import {
  F_ADD_SEALS,
  F_GET_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_EXEC,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  F_SETFD,
  FD_CLOEXEC,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_HUGE_1GB,
  MFD_HUGE_2MB,
  MFD_NOEXEC_SEAL,
} from '../../abi/memfd.js';
import type { Printed, Printing, RawSuccess } from '../result/printed.js';
import { num } from '../result/printed.js';
import type { Body, LineParser } from './args.js';
import { arity } from './args.js';
import type { FcntlCmdName, FdArg, SysvipcName } from './ast.js';
import { OPEN_FLAGS, openArgs, parseFd, parsePath } from './fileops.js';
import type { Token } from './lexer.js';
import { NAME, parseInteger } from './literals.js';
import type { StatementEntries } from './table.js';
import { utf8Decode, utf8DecodeStrict, utf8Encode } from './utf8.js';
import * as wire from './wire.js';

/** Flag names shm_open takes: open's (glibc adds O_NOFOLLOW and O_CLOEXEC anyway) but the synchronous-I/O and tty ones. */
const SHM_OPEN_FLAGS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(OPEN_FLAGS).filter(([name]) => name !== 'O_NOCTTY' && name !== 'O_DSYNC' && name !== 'O_SYNC'),
);

/** Flag names memfd_create takes, with the two x86-64 huge page sizes (uapi linux/memfd.h's MFD_HUGE_2MB and MFD_HUGE_1GB). */
const MFD_FLAGS: Readonly<Record<string, number>> = {
  MFD_CLOEXEC,
  MFD_ALLOW_SEALING,
  MFD_NOEXEC_SEAL,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_HUGE_2MB,
  MFD_HUGE_1GB,
};

/** The fcntl command names and their Linux values. */
const FCNTL_CMDS: Readonly<Record<FcntlCmdName, number>> = { F_GETFD, F_SETFD, F_GETFL, F_ADD_SEALS, F_GET_SEALS };

/** Names an fcntl argument may use: the seals and FD_CLOEXEC. */
const FCNTL_ARGS: Readonly<Record<string, number>> = {
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_GROW,
  F_SEAL_WRITE,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_EXEC,
  FD_CLOEXEC,
};

/** The longest name written: far past every limit (NAME_MAX, memfd's 249), short enough to print. */
const MAX_NAME_BYTES = 4096;

/**
 * A POSIX shm or memfd name: a bare token (`/obj`, `obj`) or a string (`""`,
 * `"a b"`). Its bytes reach the call as written, so they must be UTF-8
 * without NUL (the C string would end there).
 */
function parseObjectName(lp: LineParser, tok: Token): Uint8Array | undefined {
  let bytes: Uint8Array;
  if (tok.str !== undefined) {
    if (tok.str.prefix !== '') return lp.fail(tok.col, `expected a name, got ${tok.text}`);
    bytes = tok.str.bytes;
  } else {
    bytes = utf8Encode(tok.text);
  }
  if (bytes.includes(0)) return lp.fail(tok.col, 'a name cannot contain a NUL byte');
  if (utf8DecodeStrict(bytes) === undefined) return lp.fail(tok.col, 'a name must be valid UTF-8');
  if (bytes.length > MAX_NAME_BYTES) return lp.fail(tok.col, `a name has at most ${MAX_NAME_BYTES} bytes`);
  return bytes;
}

/** `shm_open NAME FLAGS [MODE]`. */
function parseShmOpen(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const a = openArgs(lp, opTok, args, 'NAME', parseObjectName, SHM_OPEN_FLAGS);
  return a === undefined ? undefined : { op: 'shm_open', proc, name: a.target, flags: a.flags, mode: a.mode };
}

/** `shm_unlink NAME`. */
function parseShmUnlink(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'NAME')) return undefined;
  const name = parseObjectName(lp, args[0] as Token);
  return name === undefined ? undefined : { op: 'shm_unlink', proc, name };
}

/** `memfd_create NAME FLAGS`. */
function parseMemfdCreate(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'NAME FLAGS')) return undefined;
  const [nameTok, flagsTok] = args as [Token, Token];
  const name = parseObjectName(lp, nameTok);
  const flags = lp.flags(flagsTok, MFD_FLAGS);
  if (name === undefined || flags === undefined) return undefined;
  return { op: 'memfd_create', proc, name, flags };
}

const isFcntlCmd = (s: string): s is FcntlCmdName => Object.hasOwn(FCNTL_CMDS, s);

/** `fcntl FD CMD [ARG]`: CMD a name or a number; ARG a flag set of seals and FD_CLOEXEC, default 0. */
function parseFcntl(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, args.length >= 3 ? 'FD CMD ARG' : 'FD CMD')) return undefined;
  const [fdTok, cmdTok, argTok] = args as [Token, Token, Token | undefined];
  const fd = parseFd(lp, fdTok, proc);
  const cmdText = lp.word(cmdTok);
  let cmd: number | undefined;
  let cmdName: FcntlCmdName | undefined;
  if (cmdText !== undefined && isFcntlCmd(cmdText)) {
    cmdName = cmdText;
    cmd = FCNTL_CMDS[cmdText];
  } else if (cmdText !== undefined && NAME.test(cmdText)) {
    lp.fail(cmdTok.col, `unknown fcntl command ${cmdText} (use ${Object.keys(FCNTL_CMDS).join(', ')} or a number)`);
  } else if (cmdText !== undefined) {
    const n = lp.take(parseInteger(cmdText, cmdTok.col, false));
    cmd = n === undefined ? undefined : Number(BigInt.asIntN(32, n));
  }
  const arg = argTok === undefined ? 0 : lp.flags(argTok, FCNTL_ARGS);
  if (fd === undefined || cmd === undefined || arg === undefined) return undefined;
  return cmdName === undefined ? { op: 'fcntl', proc, fd, cmd, arg } : { op: 'fcntl', proc, fd, cmd, cmdName, arg };
}

/** `fstat FD`. */
function parseFstat(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FD')) return undefined;
  const fd = parseFd(lp, args[0] as Token, proc);
  return fd === undefined ? undefined : { op: 'fstat', proc, fd };
}

/** `cmpaddr ADDR ADDR`. */
function parseCmpaddr(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ADDR ADDR')) return undefined;
  const [aTok, bTok] = args as [Token, Token];
  const a = lp.address(aTok, proc);
  const b = lp.address(bTok, proc);
  if (a === undefined || b === undefined) return undefined;
  return { op: 'cmpaddr', proc, a, b };
}

const SYSVIPC_FILES: readonly SysvipcName[] = ['shm', 'sem', 'msg'];

/** `sysvipc shm|sem|msg`. */
function parseSysvipc(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'FILE')) return undefined;
  const tok = args[0] as Token;
  const file = SYSVIPC_FILES.find((f) => f === tok.text && tok.str === undefined);
  if (file === undefined) return lp.fail(tok.col, `expected shm, sem or msg, got ${tok.text}`);
  return { op: 'sysvipc', proc, file };
}

/** The columns of each /proc/sysvipc file after its header, and how each prints. */
type Column = 'key' | 'id' | 'mode' | 'num' | 'pid' | 'time';
const SYSVIPC_COLUMNS: Readonly<Record<SysvipcName, readonly (readonly [string, Column])[]>> = {
  shm: [
    ['key', 'key'],
    ['shmid', 'id'],
    ['perms', 'mode'],
    ['size', 'num'],
    ['cpid', 'pid'],
    ['lpid', 'pid'],
    ['nattch', 'num'],
    ['uid', 'num'],
    ['gid', 'num'],
    ['cuid', 'num'],
    ['cgid', 'num'],
    ['atime', 'time'],
    ['dtime', 'time'],
    ['ctime', 'time'],
    ['rss', 'num'],
    ['swap', 'num'],
  ],
  sem: [
    ['key', 'key'],
    ['semid', 'id'],
    ['perms', 'mode'],
    ['nsems', 'num'],
    ['uid', 'num'],
    ['gid', 'num'],
    ['cuid', 'num'],
    ['cgid', 'num'],
    ['otime', 'time'],
    ['ctime', 'time'],
  ],
  msg: [
    ['key', 'key'],
    ['msqid', 'id'],
    ['perms', 'mode'],
    ['cbytes', 'num'],
    ['qnum', 'num'],
    ['lspid', 'pid'],
    ['lrpid', 'pid'],
    ['uid', 'num'],
    ['gid', 'num'],
    ['cuid', 'num'],
    ['cgid', 'num'],
    ['stime', 'time'],
    ['rtime', 'time'],
    ['ctime', 'time'],
  ],
};

/**
 * The rows of a /proc/sysvipc file, normalized by the language's rules: ids
 * as the variables that hold them, pids as process names, times as 0 or
 * "t", modes as octal strings, key 0 as IPC_PRIVATE. Undefined when the
 * text is not such a file (the header or a row's column count is wrong).
 */
export function sysvipcRows(file: SysvipcName, text: string, p: Printing): Printed[] | undefined {
  const lines = text.split('\n');
  if (lines.pop() !== '') return undefined;
  const columns = SYSVIPC_COLUMNS[file];
  const header = lines.shift()?.trim().split(/\s+/);
  if (header === undefined || header.join(' ') !== columns.map(([name]) => name).join(' ')) return undefined;
  const rows: Printed[] = [];
  for (const line of lines) {
    const cells = line.trim().split(/\s+/);
    if (cells.length !== columns.length || !cells.every((c) => /^-?[0-9]+$/.test(c))) return undefined;
    const row: Record<string, Printed> = {};
    columns.forEach(([name, kind], i) => {
      const v = BigInt(cells[i]!);
      const key = kind === 'id' ? 'id' : kind === 'mode' ? 'mode' : name;
      if (kind === 'key') row[key] = p.keyName(v);
      else if (kind === 'id') row[key] = p.idName(v, file);
      else if (kind === 'mode') row[key] = `0${BigInt(`0o${cells[i]!}`).toString(8)}`;
      else if (kind === 'pid') row[key] = p.pidName(Number(v));
      else if (kind === 'time') row[key] = v === 0n ? 0 : 't';
      else row[key] = num(v);
    });
    rows.push(row);
  }
  return rows;
}

/** `ftok PATH PROJ`: PROJ an int (glibc keeps its low byte). */
function parseFtok(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'PATH PROJ')) return undefined;
  const [pathTok, projTok] = args as [Token, Token];
  const path = parsePath(lp, pathTok);
  const proj = lp.integer(projTok, false);
  if (proj !== undefined && (proj < -(1n << 31n) || proj >= 1n << 32n)) return lp.fail(projTok.col, 'PROJ must fit in an int (or be written unsigned)');
  if (path === undefined || proj === undefined) return undefined;
  return { op: 'ftok', proc, path, proj: Number(BigInt.asIntN(32, proj)) };
}

/** ftok's line: ret as the key's name, and proj_id's low byte, which is bits 24 to 31 of the key on every machine. */
const printKey = (s: { readonly line: number; readonly bind?: number }, raw: RawSuccess, p: Printing): void => {
  const key = raw.ret ?? 0n;
  p.keyResult(key, s.bind === undefined ? `ftok:${s.line}` : p.program.numVars[s.bind]!);
  p.out['proj'] = Number((BigInt.asUintN(32, key) >> 24n) & 0xffn);
};

/** ret of a call that returns a number. */
const printRet = (_s: unknown, raw: RawSuccess, p: Printing): void => {
  if (p.exit === undefined) p.out['ret'] = num(raw.ret ?? 0n);
};

/** ret of a call that binds a descriptor: the variable's name. */
const printFd = (s: { readonly bind?: number }, _raw: RawSuccess, p: Printing): void => {
  if (s.bind !== undefined && p.exit === undefined) p.out['ret'] = (p.program.fdVars ?? [])[s.bind]!;
};

const fdField = (fd: FdArg): string => wire.fd(fd);

/** The POSIX statements' entries in the statement table. */
export const POSIX_STATEMENTS: StatementEntries<'shm_open' | 'shm_unlink' | 'memfd_create' | 'fcntl' | 'fstat' | 'cmpaddr' | 'sysvipc' | 'ftok'> = {
  ftok: {
    place: 'process',
    parse: parseFtok,
    binds: 'key',
    native: (s) => ['ftok', s.proc, wire.path(s.path), s.proj, wire.bind(s, '#')],
    printOk: printKey,
  },
  shm_open: {
    place: 'process',
    parse: parseShmOpen,
    binds: 'fd',
    native: (s) => ['shm_open', s.proc, wire.name(s.name), s.flags, s.mode, wire.bind(s, '%')],
    printOk: printFd,
  },
  shm_unlink: { place: 'process', parse: parseShmUnlink, native: (s) => ['shm_unlink', s.proc, wire.name(s.name)], printOk: printRet },
  memfd_create: {
    place: 'process',
    parse: parseMemfdCreate,
    binds: 'fd',
    native: (s) => ['memfd_create', s.proc, wire.name(s.name), s.flags, wire.bind(s, '%')],
    printOk: printFd,
  },
  fcntl: {
    place: 'process',
    parse: parseFcntl,
    native: (s) => ['fcntl', s.proc, fdField(s.fd), s.cmd, s.arg],
    cmd: (s) => s.cmdName ?? s.cmd,
    printOk: printRet,
  },
  fstat: { place: 'process', parse: parseFstat, native: (s) => ['fstat', s.proc, fdField(s.fd)], printOk: printRet },
  cmpaddr: { place: 'process', parse: parseCmpaddr, native: (s) => ['cmpaddr', s.proc, wire.addr(s.a), wire.addr(s.b)], printOk: printRet },
  sysvipc: {
    place: 'process',
    parse: parseSysvipc,
    native: (s) => ['sysvipc', s.proc, s.file],
    cmd: (s) => s.file,
    printOk: (s, raw, p) => {
      const rows = raw.text === undefined ? undefined : sysvipcRows(s.file, utf8Decode(raw.text), p);
      // A backend's text that is not the file is a broken backend, never a kernel answer.
      if (rows === undefined) throw new Error(`line ${s.line}: /proc/sysvipc/${s.file} did not read as that file`);
      p.out['rows'] = rows.length;
      p.out['sysvipc'] = rows;
    },
  },
};
