/**
 * The version 2 per-process statements: System V semaphores (semget, semop,
 * semtimedop, semctl) and message queues (msgget, msgsnd, msgrcv, msgctl).
 * Values are converted here as C converts them on the way to the kernel, so
 * both backends pass the same bits.
 */
import { IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT } from '../../abi/constants.js';
import { MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR, MSG_STAT, MSG_STAT_ANY } from '../../abi/msg.js';
import { GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SETALL, SETVAL } from '../../abi/sem.js';
import type { Printing, RawSuccess } from '../result/printed.js';
import { num } from '../result/printed.js';
import type { Body, LineParser } from './args.js';
import { argumentCount, arity } from './args.js';
import type { MsgctlCmdName, MsgctlStmt, SemctlCmdName, SemOpArg } from './ast.js';
import type { Token } from './lexer.js';
import { colAt, parseFlags, parseInteger, partsWithCols } from './literals.js';
import type { StatementEntries } from './table.js';
import type { Field } from './wire.js';
import { bind, hex, id } from './wire.js';
import { keyField, parseKey } from './shmops.js';

const SEMCTL_CMDS: Readonly<Record<SemctlCmdName, number>> = {
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  IPC_INFO,
  SEM_INFO,
  SEM_STAT,
  SEM_STAT_ANY,
  GETVAL,
  SETVAL,
  GETALL,
  SETALL,
  GETPID,
  GETNCNT,
  GETZCNT,
};

const MSGCTL_CMDS: Readonly<Record<MsgctlCmdName, number>> = {
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  IPC_INFO,
  MSG_INFO,
  MSG_STAT,
  MSG_STAT_ANY,
};

const GET_FLAGS = { IPC_CREAT, IPC_EXCL, IPC_NOWAIT };
const SEMOP_FLAGS = { SEM_UNDO, IPC_NOWAIT };
const MSGSND_FLAGS = { IPC_NOWAIT };
const MSGRCV_FLAGS = { IPC_NOWAIT, MSG_NOERROR, MSG_EXCEPT, MSG_COPY };

/** The most one msgsnd (bytes=N) or msgrcv buffer moves: the oracle's data area. */
const MAX_MSG = 16n << 20n;

const INT_MIN = -(1n << 31n);

/** An integer within [lo, hi]. */
function ranged(lp: LineParser, tok: Token, lo: bigint, hi: bigint, what: string): bigint | undefined {
  const n = lp.integer(tok, false);
  if (n !== undefined && (n < lo || n > hi)) return lp.fail(tok.col, `${what} must be between ${lo} and ${hi}`);
  return n;
}

function parseSemget(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'KEY NSEMS FLAGS')) return undefined;
  const [keyTok, nsemsTok, flagsTok] = args as [Token, Token, Token];
  const key = parseKey(lp, keyTok);
  const nsems = lp.integer(nsemsTok, false);
  const flags = lp.flags(flagsTok, GET_FLAGS);
  if (key === undefined || nsems === undefined || flags === undefined) return undefined;
  return { op: 'semget', proc, ...key, nsems: Number(BigInt.asIntN(32, nsems)), flags };
}

/** `SEMNUM:OP[:FLAGS]`, comma-separated. */
function parseSops(lp: LineParser, tok: Token): SemOpArg[] | undefined {
  const text = lp.word(tok);
  if (text === undefined) return undefined;
  const sops: SemOpArg[] = [];
  // Each part and field is judged at its own column, so an error points at the character to fix.
  for (const { part, col: partCol } of partsWithCols(text, tok.col, ',')) {
    const fields = part.split(':');
    if (fields.length < 2 || fields.length > 3) return lp.fail(partCol, `expected SEMNUM:OP or SEMNUM:OP:FLAGS, got ${part}`);
    // Each field's column counts the characters of the fields before it (an astral character is one).
    const opCol = colAt(fields[0]!, partCol, fields[0]!.length) + 1;
    const flagsCol = colAt(fields[1]!, opCol, fields[1]!.length) + 1;
    const plus = fields[1]!.startsWith('+') ? 1 : 0;
    const semNum = lp.take(parseInteger(fields[0]!, partCol, false));
    const semOp = lp.take(parseInteger(fields[1]!.slice(plus), opCol + plus, false));
    const semFlg = fields[2] === undefined ? 0 : lp.take(parseFlags(fields[2], flagsCol, SEMOP_FLAGS));
    if (semNum === undefined || semOp === undefined || semFlg === undefined) return undefined;
    // struct sembuf: unsigned short sem_num, short sem_op, short sem_flg.
    sops.push({ semNum: Number(BigInt.asUintN(16, semNum)), semOp: Number(BigInt.asIntN(16, semOp)), semFlg: Number(BigInt.asIntN(16, BigInt(semFlg))) });
  }
  return sops;
}

function parseSemop(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const timed = opTok.text === 'semtimedop';
  if (!arity(lp, opTok, args, timed ? 'ID OPS TIMEOUT' : 'ID OPS')) return undefined;
  const id = lp.id(args[0]!);
  const sops = parseSops(lp, args[1]!);
  const timeoutMs = timed ? ranged(lp, args[2]!, 0n, 1n << 40n, 'TIMEOUT') : undefined;
  if (id === undefined || sops === undefined || (timed && timeoutMs === undefined)) return undefined;
  return timed ? { op: 'semtimedop', proc, id, sops, timeoutMs: timeoutMs! } : { op: 'semop', proc, id, sops };
}

type IpcSet = { uid: number; gid: number; mode: number; qbytes?: bigint };

/** Parses `uid=N gid=N mode=N` (and `qbytes=N` when `withQbytes`), each once. */
function parseSet(lp: LineParser, cmdTok: Token, rest: readonly Token[], withQbytes: boolean): IpcSet | undefined {
  const keys = withQbytes ? ['uid', 'gid', 'mode', 'qbytes'] : ['uid', 'gid', 'mode'];
  const got = new Map<string, bigint | undefined>();
  for (const tok of rest) {
    const kv = lp.keyValue(tok);
    if (kv === undefined || !keys.includes(kv.key)) {
      if (tok.str === undefined) lp.fail(tok.col, `expected ${keys.map((k) => `${k}=`).join(', ')}, got ${tok.text}`);
      continue;
    }
    if (got.has(kv.key)) {
      lp.fail(tok.col, `${kv.key}= is given twice`);
      continue;
    }
    let n = lp.take(parseInteger(kv.value, kv.valueCol, false));
    if (kv.key === 'mode' && n !== undefined && (n < 0n || n > 0xffffffffn)) n = lp.fail(kv.valueCol, 'mode must be between 0 and 0xffffffff');
    got.set(kv.key, n);
  }
  const missing = keys.filter((k) => !got.has(k));
  if (missing.length > 0) return lp.fail(cmdTok.col, `IPC_SET needs ${keys.map((k) => `${k}=`).join(' ')} (missing ${missing.map((k) => `${k}=`).join(' ')})`);
  const [uid, gid, mode, qbytes] = keys.map((k) => got.get(k));
  if (uid === undefined || gid === undefined || mode === undefined || (withQbytes && qbytes === undefined)) return undefined;
  const set: IpcSet = { uid: Number(BigInt.asUintN(32, uid)), gid: Number(BigInt.asUintN(32, gid)), mode: Number(mode) };
  // msg_qbytes is an unsigned long in struct msqid_ds.
  if (withQbytes) set.qbytes = BigInt.asUintN(64, qbytes!);
  return set;
}

/** A command: a name from `names`, or a number (as a C int). */
function parseCmd<N extends string>(lp: LineParser, tok: Token, names: Readonly<Record<N, number>>, call: string): { cmd: number; cmdName?: N } | undefined {
  const text = lp.word(tok);
  if (text === undefined) return undefined;
  if (Object.hasOwn(names, text)) return { cmd: names[text as N], cmdName: text as N };
  if (/^[A-Za-z_]/.test(text)) return lp.fail(tok.col, `unknown ${call} command ${text}`);
  const n = lp.take(parseInteger(text, tok.col, false));
  return n === undefined ? undefined : { cmd: Number(BigInt.asIntN(32, n)) };
}

function parseSemctl(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const [idTok, numTok, cmdTok, ...rest] = args;
  if (idTok === undefined || numTok === undefined || cmdTok === undefined) {
    return lp.fail(opTok.col, `semctl needs ID SEMNUM CMD (got ${argumentCount(args.length)})`);
  }
  const id = lp.id(idTok);
  const semnum = lp.integer(numTok, false);
  const c = parseCmd(lp, cmdTok, SEMCTL_CMDS, 'semctl');
  if (id === undefined || semnum === undefined || c === undefined) return undefined;
  const base = { op: 'semctl' as const, proc, id, semnum: Number(BigInt.asIntN(32, semnum)), ...c };
  if (c.cmdName === 'IPC_SET') {
    const set = parseSet(lp, cmdTok, rest, false);
    return set === undefined ? undefined : { ...base, set };
  }
  if (c.cmdName === 'SETVAL' || c.cmdName === 'SETALL') {
    if (rest.length !== 1) return lp.fail(cmdTok.col, c.cmdName === 'SETVAL' ? 'SETVAL needs one value' : 'SETALL needs N,N,...');
    const tok = rest[0]!;
    const text = lp.word(tok);
    if (text === undefined) return undefined;
    const vals: number[] = [];
    for (const { part, col: partCol } of partsWithCols(text, tok.col, ',')) {
      const n = lp.take(parseInteger(part, partCol, false));
      if (n === undefined) return undefined;
      if (n < -32768n || n > 65535n) return lp.fail(partCol, 'a semaphore value must be between -32768 and 65535');
      vals.push(Number(n));
    }
    if (c.cmdName === 'SETVAL') {
      if (vals.length !== 1) return lp.fail(tok.col, 'SETVAL takes one value');
      return { ...base, val: vals[0]! };
    }
    // SETALL's array is unsigned short.
    return { ...base, vals: vals.map((v) => v & 0xffff) };
  }
  if (rest.length > 0) return lp.fail(rest[0]!.col, `too many arguments: semctl ${c.cmdName ?? 'with a numeric command'} takes ID SEMNUM CMD`);
  return base;
}

function parseMsgget(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'KEY FLAGS')) return undefined;
  const [keyTok, flagsTok] = args as [Token, Token];
  const key = parseKey(lp, keyTok);
  const flags = lp.flags(flagsTok, GET_FLAGS);
  if (key === undefined || flags === undefined) return undefined;
  return { op: 'msgget', proc, ...key, flags };
}

function parseMsgsnd(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ID MTYPE STRING|bytes=N FLAGS')) return undefined;
  const [idTok, typeTok, dataTok, flagsTok] = args as [Token, Token, Token, Token];
  const id = lp.id(idTok);
  const mtype = ranged(lp, typeTok, -(1n << 63n), (1n << 63n) - 1n, 'MTYPE');
  let data: { kind: 'bytes'; bytes: Uint8Array } | { kind: 'zeros'; count: bigint } | undefined;
  if (dataTok.str !== undefined) {
    if (dataTok.str.prefix !== '') return lp.fail(dataTok.col, `expected a string, got ${dataTok.text}`);
    if (BigInt(dataTok.str.bytes.length) > MAX_MSG) return lp.fail(dataTok.col, 'a message holds at most 16 MiB here');
    data = { kind: 'bytes', bytes: dataTok.str.bytes };
  } else {
    const kv = lp.keyValue(dataTok);
    if (kv?.key !== 'bytes') return lp.fail(dataTok.col, `expected a string or bytes=N, got ${dataTok.text}`);
    const n = lp.take(parseInteger(kv.value, kv.valueCol, false));
    if (n === undefined) return undefined;
    if (n > MAX_MSG || n < INT_MIN) return lp.fail(kv.valueCol, 'bytes=N must be at most 16 MiB');
    data = { kind: 'zeros', count: n };
  }
  const flags = lp.flags(flagsTok, MSGSND_FLAGS);
  if (id === undefined || mtype === undefined || flags === undefined) return undefined;
  return { op: 'msgsnd', proc, id, mtype, data, flags };
}

function parseMsgrcv(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ID MAXSIZE MSGTYP FLAGS')) return undefined;
  const [idTok, sizeTok, typeTok, flagsTok] = args as [Token, Token, Token, Token];
  const id = lp.id(idTok);
  const maxsize = ranged(lp, sizeTok, INT_MIN, MAX_MSG, 'MAXSIZE');
  const msgtyp = ranged(lp, typeTok, -(1n << 63n), (1n << 63n) - 1n, 'MSGTYP');
  const flags = lp.flags(flagsTok, MSGRCV_FLAGS);
  if (id === undefined || maxsize === undefined || msgtyp === undefined || flags === undefined) return undefined;
  return { op: 'msgrcv', proc, id, maxsize, msgtyp, flags };
}

function parseMsgctl(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const [idTok, cmdTok, ...rest] = args;
  if (idTok === undefined || cmdTok === undefined) return lp.fail(opTok.col, `msgctl needs ID CMD (got ${argumentCount(args.length)})`);
  const id = lp.id(idTok);
  const c = parseCmd(lp, cmdTok, MSGCTL_CMDS, 'msgctl');
  if (id === undefined || c === undefined) return undefined;
  const base = { op: 'msgctl' as const, proc, id, ...c };
  if (c.cmdName === 'IPC_SET') {
    const set = parseSet(lp, cmdTok, rest, true);
    return set === undefined ? undefined : { ...base, set: { uid: set.uid, gid: set.gid, mode: set.mode, qbytes: set.qbytes! } };
  }
  if (rest.length > 0) return lp.fail(rest[0]!.col, 'only IPC_SET takes uid=, gid=, mode= and qbytes=');
  return base;
}

/** What the return value of a sem or msg ctl command is. */
const ID_CMDS: ReadonlySet<string> = new Set(['SEM_STAT', 'SEM_STAT_ANY', 'MSG_STAT', 'MSG_STAT_ANY']);
const INDEX_CMDS: ReadonlySet<string> = new Set(['IPC_INFO', 'SEM_INFO', 'MSG_INFO']);

function printCtl(mech: 'sem' | 'msg') {
  return (s: { readonly bind?: number; readonly cmd: number; readonly cmdName?: string }, raw: RawSuccess, p: Printing): void => {
    const ret = raw.ret ?? 0n;
    if (s.cmdName !== undefined && ID_CMDS.has(s.cmdName)) return p.idResult(s.bind, ret, mech);
    if (s.bind !== undefined) p.setNum(s.bind, ret);
    // GETPID answers a pid whether it was named or written as 11: print it as the process's name, as v1 does pids.
    if (mech === 'sem' && (s.cmdName === 'GETPID' || (s.cmdName === undefined && s.cmd === GETPID))) {
      p.out['ret'] = p.pidName(Number(ret));
      return;
    }
    p.out['ret'] = num(ret);
    if (s.cmdName !== undefined && INDEX_CMDS.has(s.cmdName)) p.out['raw'] = num(ret);
  };
}

const printRet = (_s: unknown, raw: RawSuccess, p: Printing): void => {
  p.out['ret'] = num(raw.ret ?? 0n);
};

/** semop's ops in the program text: the count, then SEMNUM OP FLG for each. */
const sopFields = (sops: readonly SemOpArg[]): Field[] => [sops.length, ...sops.flatMap((o) => [o.semNum, o.semOp, o.semFlg])];

/** The sem and msg statements' entries in the statement table. */
export const SEMMSG_STATEMENTS: StatementEntries<'semget' | 'semop' | 'semtimedop' | 'semctl' | 'msgget' | 'msgsnd' | 'msgrcv' | 'msgctl'> = {
  semget: {
    place: 'process',
    parse: parseSemget,
    binds: 'num',
    native: (s) => ['semget', s.proc, keyField(s), s.nsems, s.flags, bind(s, '#')],
    printOk: (s, raw, p) => p.idResult(s.bind, raw.ret!, 'sem'),
  },
  semop: {
    place: 'process',
    parse: parseSemop,
    native: (s) => ['semop', s.proc, id(s.id), '-', ...sopFields(s.sops)],
    printOk: printRet,
  },
  semtimedop: {
    place: 'process',
    parse: parseSemop,
    native: (s) => ['semop', s.proc, id(s.id), s.timeoutMs ?? 0n, ...sopFields(s.sops)],
    printOk: printRet,
  },
  semctl: {
    place: 'process',
    parse: parseSemctl,
    binds: 'num',
    native: (s) => {
      const head: Field[] = ['semctl', s.proc, id(s.id), s.semnum, s.cmd, s.cmdName === undefined ? 0 : 1, bind(s, '#')];
      if (s.set !== undefined) return [...head, s.set.uid, s.set.gid, s.set.mode];
      if (s.val !== undefined) return [...head, s.val];
      if (s.vals !== undefined) return [...head, s.vals.length, ...s.vals];
      return head;
    },
    cmd: (s) => s.cmdName ?? s.cmd,
    printOk: printCtl('sem'),
  },
  msgget: {
    place: 'process',
    parse: parseMsgget,
    binds: 'num',
    native: (s) => ['msgget', s.proc, keyField(s), s.flags, bind(s, '#')],
    printOk: (s, raw, p) => p.idResult(s.bind, raw.ret!, 'msg'),
  },
  msgsnd: {
    place: 'process',
    parse: parseMsgsnd,
    native: (s) => ['msgsnd', s.proc, id(s.id), s.mtype, s.data.kind === 'bytes' ? hex(s.data.bytes) : `z${s.data.count}`, s.flags],
    printOk: printRet,
  },
  msgrcv: {
    place: 'process',
    parse: parseMsgrcv,
    native: (s) => ['msgrcv', s.proc, id(s.id), s.maxsize, s.msgtyp, s.flags],
    printOk: printRet,
  },
  msgctl: {
    place: 'process',
    parse: parseMsgctl,
    binds: 'num',
    native: (s: MsgctlStmt) => {
      const head: Field[] = ['msgctl', s.proc, id(s.id), s.cmd, s.cmdName === undefined ? 0 : 1, bind(s, '#')];
      return s.set === undefined ? head : [...head, s.set.uid, s.set.gid, s.set.mode, s.set.qbytes];
    },
    cmd: (s) => s.cmdName ?? s.cmd,
    printOk: printCtl('msg'),
  },
};
