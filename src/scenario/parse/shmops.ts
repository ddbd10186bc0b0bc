/**
 * The per-process statements: the System V shm calls and the memory accesses
 * through an attachment. Each parser gets the already-resolved process.
 */
import { IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, SHM_INFO, SHM_LOCK, SHM_STAT, SHM_STAT_ANY, SHM_UNLOCK } from '../../abi/constants.js';
import type { Printing, RawSuccess } from '../result/printed.js';
import { num } from '../result/printed.js';
import type { Body, LineParser } from './args.js';
import { argumentCount, arity } from './args.js';
import type { ShmctlCmdName, ShmctlStmt } from './ast.js';
import { parseFileRead, parseFileWrite } from './fileops.js';
import type { Token } from './lexer.js';
import { parseInteger } from './literals.js';
import type { StatementEntries } from './table.js';
import { addr, bind, hex, id } from './wire.js';

/** The shmctl command names and their Linux values. */
const SHMCTL_CMDS: Readonly<Record<ShmctlCmdName, number>> = {
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  IPC_INFO,
  SHM_LOCK,
  SHM_UNLOCK,
  SHM_STAT,
  SHM_INFO,
  SHM_STAT_ANY,
};

/** The most one write or read may move: large enough for any demo, small enough to print. */
const MAX_ACCESS = 16n << 20n;

type IpcSetFields = NonNullable<ShmctlStmt['set']>;

const isCmdName = (s: string): s is ShmctlCmdName => Object.hasOwn(SHMCTL_CMDS, s);

/** Reads a length that a single write or read moves, which is capped. */
function accessLength(lp: LineParser, tok: Token): bigint | undefined {
  const len = lp.size(tok);
  if (len !== undefined && len > MAX_ACCESS) return lp.fail(tok.col, 'an access moves at most 16 MiB');
  return len;
}

/** Parses `uid=N gid=N mode=N`, all three once each in any order, after IPC_SET. */
function parseSetFields(lp: LineParser, cmdTok: Token, rest: readonly Token[]): IpcSetFields | undefined {
  const got = new Map<string, bigint | undefined>();
  for (const tok of rest) {
    const kv = lp.keyValue(tok);
    if (kv === undefined || !['uid', 'gid', 'mode'].includes(kv.key)) {
      if (tok.str === undefined) lp.fail(tok.col, `expected uid=, gid= or mode=, got ${tok.text}`);
      continue;
    }
    if (got.has(kv.key)) {
      lp.fail(tok.col, `${kv.key}= is given twice`);
      continue;
    }
    let n = lp.take(parseInteger(kv.value, kv.valueCol, false));
    // The mode reaches the kernel as written; it must at least fit the u32 the oracle passes.
    if (kv.key === 'mode' && n !== undefined && (n < 0n || n > 0xffffffffn)) {
      n = lp.fail(kv.valueCol, 'mode must be between 0 and 0xffffffff');
    }
    got.set(kv.key, n);
  }
  const missing = ['uid', 'gid', 'mode'].filter((k) => !got.has(k));
  if (missing.length > 0) {
    return lp.fail(cmdTok.col, `IPC_SET needs uid=, gid= and mode= (missing ${missing.map((k) => `${k}=`).join(' ')})`);
  }
  const [uid, gid, mode] = [got.get('uid'), got.get('gid'), got.get('mode')];
  if (uid === undefined || gid === undefined || mode === undefined) return undefined;
  // uid_t and gid_t are u32: uid=-1 reaches the kernel as 4294967295 (and fails there with EINVAL).
  return { uid: Number(BigInt.asUintN(32, uid)), gid: Number(BigInt.asUintN(32, gid)), mode: Number(mode) };
}

function parseShmctl(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  const [idTok, cmdTok, ...rest] = args;
  if (idTok === undefined || cmdTok === undefined) {
    return lp.fail(opTok.col, `shmctl needs ID CMD (got ${argumentCount(args.length)})`);
  }
  const id = lp.id(idTok);
  const cmdText = lp.word(cmdTok);
  let cmd: number | undefined;
  let cmdName: ShmctlCmdName | undefined;
  if (cmdText !== undefined && isCmdName(cmdText)) {
    cmdName = cmdText;
    cmd = SHMCTL_CMDS[cmdText];
  } else if (cmdText !== undefined && /^[A-Za-z_]/.test(cmdText)) {
    lp.fail(cmdTok.col, `unknown shmctl command ${cmdText}`);
  } else if (cmdText !== undefined) {
    const n = lp.take(parseInteger(cmdText, cmdTok.col, false));
    cmd = n === undefined ? undefined : Number(BigInt.asIntN(32, n));
  }
  let set: IpcSetFields | undefined;
  if (cmdName === 'IPC_SET') {
    set = parseSetFields(lp, cmdTok, rest);
    if (set === undefined) return undefined;
  } else {
    for (const tok of rest) {
      const key = lp.keyValue(tok)?.key;
      if (key === 'uid' || key === 'gid' || key === 'mode') lp.fail(tok.col, `only IPC_SET takes uid=, gid= and mode=`);
      else if (tok.str === undefined) lp.fail(tok.col, 'too many arguments: shmctl takes ID CMD');
    }
  }
  if (id === undefined || cmd === undefined) return undefined;
  const base = { op: 'shmctl' as const, proc, id, cmd };
  if (cmdName === undefined) return base;
  return set === undefined ? { ...base, cmdName } : { ...base, cmdName, set };
}

/**
 * A get call's KEY: a key variable an ftok bound (read at run time), or
 * IPC_PRIVATE or a number, as key_t: a signed 32-bit int, so 0xffffffff and
 * -1 name the same key.
 */
export function parseKey(lp: LineParser, tok: Token): { key: number; keyWritten: bigint; keySlot?: number } | undefined {
  const keySlot = tok.str === undefined ? lp.scope.keySlot(tok.text) : undefined;
  if (keySlot !== undefined) return { key: 0, keyWritten: 0n, keySlot };
  const keyWritten = tok.text === 'IPC_PRIVATE' ? 0n : lp.integer(tok, false);
  return keyWritten === undefined ? undefined : { key: Number(BigInt.asIntN(32, keyWritten)), keyWritten };
}

/** A get call's KEY in the oracle's program text: `#N` for a key variable, else the key_t. */
export function keyField(s: { readonly key: number; readonly keySlot?: number }): string | number {
  return s.keySlot === undefined ? s.key : `#${s.keySlot}`;
}

function parseShmget(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'KEY SIZE FLAGS')) return undefined;
  const [keyTok, sizeTok, flagsTok] = args as [Token, Token, Token];
  const key = parseKey(lp, keyTok);
  const size = lp.size(sizeTok);
  const flags = lp.flags(flagsTok);
  if (key === undefined || size === undefined || flags === undefined) return undefined;
  return { op: 'shmget', proc, ...key, size, flags };
}

function parseShmat(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ID ADDR FLAGS')) return undefined;
  const [idTok, addrTok, flagsTok] = args as [Token, Token, Token];
  const id = lp.id(idTok);
  const addr = lp.address(addrTok, proc);
  const flags = lp.flags(flagsTok);
  if (id === undefined || addr === undefined || flags === undefined) return undefined;
  return { op: 'shmat', proc, id, addr, flags };
}

function parseShmdt(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ADDR')) return undefined;
  const addr = lp.address(args[0] as Token, proc);
  return addr === undefined ? undefined : { op: 'shmdt', proc, addr };
}

function parseMunmap(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ADDR LEN')) return undefined;
  const [addrTok, lenTok] = args as [Token, Token];
  const addr = lp.address(addrTok, proc);
  const len = lp.size(lenTok);
  if (addr === undefined || len === undefined) return undefined;
  return { op: 'munmap', proc, addr, len };
}

function parseMprotect(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ADDR LEN PROT')) return undefined;
  const [addrTok, lenTok, protTok] = args as [Token, Token, Token];
  const addr = lp.address(addrTok, proc);
  const len = lp.size(lenTok);
  const prot = lp.flags(protTok);
  if (addr === undefined || len === undefined || prot === undefined) return undefined;
  return { op: 'mprotect', proc, addr, len, prot };
}

/** True when the first argument names a descriptor of the process: `write`/`read` then mean the file calls. */
const onDescriptor = (lp: LineParser, args: readonly Token[], proc: number): boolean =>
  args[0] !== undefined && args[0].str === undefined && lp.scope.isFdIn(args[0].text, proc);

function parseWrite(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (onDescriptor(lp, args, proc)) return parseFileWrite(lp, opTok, args, proc);
  if (!arity(lp, opTok, args, 'ADDR STRING')) return undefined;
  const [addrTok, strTok] = args as [Token, Token];
  const addr = lp.address(addrTok, proc);
  if (strTok.str === undefined || strTok.str.prefix !== '') return lp.fail(strTok.col, `expected a string, got ${strTok.text}`);
  if (BigInt(strTok.str.bytes.length) > MAX_ACCESS) return lp.fail(strTok.col, 'an access moves at most 16 MiB');
  return addr === undefined ? undefined : { op: 'write', proc, addr, data: strTok.str.bytes };
}

function parseFill(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (!arity(lp, opTok, args, 'ADDR LEN BYTE')) return undefined;
  const [addrTok, lenTok, byteTok] = args as [Token, Token, Token];
  const addr = lp.address(addrTok, proc);
  const len = lp.size(lenTok);
  let byte = lp.integer(byteTok, false);
  if (byte !== undefined && (byte < 0n || byte > 255n)) byte = lp.fail(byteTok.col, 'BYTE must be between 0 and 255');
  if (addr === undefined || len === undefined || byte === undefined) return undefined;
  return { op: 'fill', proc, addr, len, byte: Number(byte) };
}

function parseRead(lp: LineParser, opTok: Token, args: readonly Token[], proc: number): Body | undefined {
  if (onDescriptor(lp, args, proc)) return parseFileRead(lp, opTok, args, proc);
  if (!arity(lp, opTok, args, 'ADDR LEN')) return undefined;
  const [addrTok, lenTok] = args as [Token, Token];
  const addr = lp.address(addrTok, proc);
  const len = accessLength(lp, lenTok);
  if (addr === undefined || len === undefined) return undefined;
  return { op: 'read', proc, addr, len };
}

/** Commands whose return value is an id (ret prints as a variable name when one holds it). */
const ID_COMMANDS: ReadonlySet<ShmctlCmdName> = new Set(['SHM_STAT', 'SHM_STAT_ANY']);
/** Commands whose return value is an index. */
const INDEX_COMMANDS: ReadonlySet<ShmctlCmdName> = new Set(['IPC_INFO', 'SHM_INFO']);

/** ret of a call that returns 0 or fails. */
const printRet = (_s: unknown, raw: RawSuccess, p: Printing): void => {
  p.out['ret'] = num(raw.ret ?? 0n);
};

/** The shm and memory statements' entries in the statement table. */
export const SHM_STATEMENTS: StatementEntries<'shmget' | 'shmat' | 'shmdt' | 'shmctl' | 'munmap' | 'mprotect' | 'write' | 'fill' | 'read'> = {
  shmget: {
    place: 'process',
    parse: parseShmget,
    binds: 'num',
    native: (s) => ['shmget', s.proc, keyField(s), s.size, s.flags, bind(s, '#')],
    printOk: (s, raw, p) => p.idResult(s.bind, raw.ret!),
  },
  shmat: {
    place: 'process',
    parse: parseShmat,
    binds: 'addr',
    native: (s) => ['shmat', s.proc, id(s.id), addr(s.addr), s.flags, bind(s, '@')],
    printOk: (s, _raw, p) => {
      if (s.bind !== undefined) p.out['ret'] = p.program.addrVars[s.bind]!;
    },
  },
  shmdt: { place: 'process', parse: parseShmdt, native: (s) => ['shmdt', s.proc, addr(s.addr)], printOk: printRet },
  shmctl: {
    place: 'process',
    parse: parseShmctl,
    binds: 'num',
    native: (s) => {
      const head = ['shmctl', s.proc, id(s.id), s.cmd, s.cmdName === undefined ? 0 : 1, bind(s, '#')];
      return s.set === undefined ? head : [...head, s.set.uid, s.set.gid, s.set.mode];
    },
    cmd: (s) => s.cmdName ?? s.cmd,
    printOk: (s, raw, p) => {
      const ret = raw.ret ?? 0n;
      if (s.cmdName !== undefined && ID_COMMANDS.has(s.cmdName)) return p.idResult(s.bind, ret);
      if (s.bind !== undefined) p.setNum(s.bind, ret);
      p.out['ret'] = num(ret);
      if (s.cmdName !== undefined && INDEX_COMMANDS.has(s.cmdName)) p.out['raw'] = num(ret);
    },
  },
  munmap: { place: 'process', parse: parseMunmap, native: (s) => ['munmap', s.proc, addr(s.addr), s.len], printOk: printRet },
  mprotect: { place: 'process', parse: parseMprotect, native: (s) => ['mprotect', s.proc, addr(s.addr), s.len, s.prot], printOk: printRet },
  // `write FD ...` and `read FD ...` on a descriptor yield fwrite and fread (fileops.ts).
  write: { place: 'process', parse: parseWrite, native: (s) => ['write', s.proc, addr(s.addr), hex(s.data)] },
  fill: { place: 'process', parse: parseFill, native: (s) => ['fill', s.proc, addr(s.addr), s.len, s.byte] },
  read: { place: 'process', parse: parseRead, native: (s) => ['read', s.proc, addr(s.addr), s.len] },
};
