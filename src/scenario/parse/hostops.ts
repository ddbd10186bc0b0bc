/**
 * The host-side statements of the scenario extension
 * (docs/scenario-extensions.md): `tmpfs mount`, `mount --bind`, `host mkdir`,
 * and the emulated-only `meminfo`, `isula` and `memcg`. Like `sysctl` they
 * have no process before them; they run as root on the host.
 */
import { INT64_MAX } from '../../hostchannel/size.js';
import type { Body, LineParser } from './args.js';
import { arity } from './args.js';
import type { IsulaCmd } from './ast.js';
import { parsePath } from './fileops.js';
import type { Token } from './lexer.js';
import { parseInteger } from './literals.js';
import type { EmulatedOnly, StatementEntries } from './table.js';
import { utf8Decode } from './utf8.js';
import * as wire from './wire.js';

/** The largest tmpfs size= and nr_inodes= the emulator represents exactly. */
const MAX_TMPFS_VALUE = BigInt(Number.MAX_SAFE_INTEGER);

/** `tmpfs mount PATH size=N [nr_inodes=N] [mode=N]`. */
export function parseTmpfs(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  const [sub, pathTok, ...opts] = args;
  if (sub === undefined || sub.text !== 'mount') return lp.fail(sub?.col ?? opTok.col, 'expected tmpfs mount PATH size=N [nr_inodes=N] [mode=N]');
  if (pathTok === undefined) return lp.fail(sub.col, 'tmpfs mount needs PATH size=N');
  const path = parsePath(lp, pathTok, true);
  let size: bigint | undefined;
  let nrInodes: bigint | undefined;
  let mode: number | undefined;
  let bad = false;
  const seen = new Set<string>();
  for (const tok of opts) {
    const kv = lp.keyValue(tok);
    if (kv === undefined || !['size', 'nr_inodes', 'mode'].includes(kv.key)) {
      if (tok.str === undefined) lp.fail(tok.col, `expected size=, nr_inodes= or mode=, got ${tok.text}`);
      bad = true;
      continue;
    }
    if (seen.has(kv.key)) {
      lp.fail(tok.col, `${kv.key}= is given twice`);
      bad = true;
      continue;
    }
    seen.add(kv.key);
    const n = lp.take(parseInteger(kv.value, kv.valueCol, kv.key !== 'mode'));
    if (n === undefined) {
      bad = true;
    } else if (kv.key === 'mode') {
      if (n < 0n || n > 0o7777n) bad = lp.fail(kv.valueCol, 'mode must be between 0 and 07777') ?? true;
      else mode = Number(n);
    } else if (n < 0n || n > MAX_TMPFS_VALUE) {
      bad = lp.fail(kv.valueCol, `${kv.key} must be between 0 and 2^53-1`) ?? true;
    } else if (kv.key === 'size') {
      size = n;
    } else {
      nrInodes = n;
    }
  }
  if (!seen.has('size') && !bad) return lp.fail(opTok.col, 'tmpfs mount needs size=N (0 means no limit)');
  if (bad || path === undefined || size === undefined) return undefined;
  return {
    op: 'tmpfs',
    path,
    size,
    ...(nrInodes === undefined ? {} : { nrInodes }),
    ...(mode === undefined ? {} : { mode }),
  };
}

/** `mount --bind [-o ro|rw] SRC DST`. */
export function parseMount(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  const [bindTok, ...rest] = args;
  if (bindTok === undefined || bindTok.text !== '--bind') return lp.fail(bindTok?.col ?? opTok.col, 'expected mount --bind [-o ro] SRC DST');
  let readonly = false;
  let paths = rest;
  if (rest[0]?.text === '-o') {
    const opt = rest[1];
    if (opt === undefined || (opt.text !== 'ro' && opt.text !== 'rw')) return lp.fail(opt?.col ?? rest[0].col, '-o takes ro or rw');
    readonly = opt.text === 'ro';
    paths = rest.slice(2);
  }
  if (!arity(lp, bindTok, paths, 'SRC DST')) return undefined;
  const source = parsePath(lp, paths[0] as Token, true);
  const target = parsePath(lp, paths[1] as Token, true);
  if (source === undefined || target === undefined) return undefined;
  return { op: 'mount', source, target, readonly };
}

/** `host mkdir PATH`. */
export function parseHost(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  const [sub, ...rest] = args;
  if (sub === undefined || sub.text !== 'mkdir') return lp.fail(sub?.col ?? opTok.col, 'expected host mkdir PATH');
  if (!arity(lp, sub, rest, 'PATH')) return undefined;
  const path = parsePath(lp, rest[0] as Token, true);
  return path === undefined ? undefined : { op: 'host', path };
}

/** `meminfo total=BYTES available=BYTES`, the two in any order. */
export function parseMeminfo(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  const got = new Map<string, bigint | undefined>();
  for (const tok of args) {
    const kv = lp.keyValue(tok);
    if (kv === undefined || (kv.key !== 'total' && kv.key !== 'available')) {
      if (tok.str === undefined) lp.fail(tok.col, `expected total=BYTES or available=BYTES, got ${tok.text}`);
      got.set('bad', undefined);
      continue;
    }
    if (got.has(kv.key)) {
      lp.fail(tok.col, `${kv.key}= is given twice`);
      continue;
    }
    let n = lp.take(parseInteger(kv.value, kv.valueCol, true));
    if (n !== undefined && (n < 0n || n > INT64_MAX)) n = lp.fail(kv.valueCol, `${kv.key} must be between 0 and 2^63-1`);
    got.set(kv.key, n);
  }
  const missing = ['total', 'available'].filter((k) => !got.has(k));
  if (missing.length > 0 && !got.has('bad')) return lp.fail(opTok.col, `meminfo needs ${missing.map((k) => `${k}=`).join(' ')}`);
  const total = got.get('total');
  const available = got.get('available');
  if (got.has('bad') || total === undefined || available === undefined) return undefined;
  return { op: 'meminfo', total, available };
}

/** The create/run options whose value the engine takes as typed. */
type StringFlag = '--host-channel' | '--ipc' | '--shm-size';
const STRING_FLAGS: readonly StringFlag[] = ['--host-channel', '--ipc', '--shm-size'];

/** The string-valued option `tok` gives (`--flag`, `--flag=VALUE`, or a `--flag="..."` string), if any. */
function stringFlag(tok: Token): StringFlag | undefined {
  if (tok.str !== undefined) return STRING_FLAGS.find((f) => tok.str?.prefix === `${f}=`);
  return STRING_FLAGS.find((f) => tok.text === f || tok.text.startsWith(`${f}=`));
}

const ISULA_CMDS: readonly IsulaCmd[] = ['create', 'run', 'start', 'stop', 'restart', 'rm'];

/**
 * `isula create|run [--rm] [-m SIZE] [--host-channel SPEC] [--ipc MODE] [--shm-size SIZE] NAME` and
 * `isula start|stop|restart|rm [-f] NAME`. SPEC is taken verbatim (a string
 * token for one with blanks or an empty one), and so are MODE and the SIZEs
 * of -m and --shm-size, which the engine checks as iSulad does.
 */
export function parseIsula(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  const [cmdTok, ...rest] = args;
  const cmd = ISULA_CMDS.find((c) => c === cmdTok?.text);
  if (cmdTok === undefined || cmd === undefined) {
    return lp.fail(cmdTok?.col ?? opTok.col, `expected isula ${ISULA_CMDS.join('|')}, got ${cmdTok?.text ?? 'nothing'}`);
  }
  const creates = cmd === 'create' || cmd === 'run';
  let rm = false;
  let force = false;
  let memory: string | undefined;
  const strings: Partial<Record<StringFlag, string>> = {};
  let name: string | undefined;
  let bad = false;
  const value = (i: number, flag: Token): Token | undefined => {
    const v = rest[i + 1];
    if (v === undefined) lp.fail(flag.col, `Flag needs an argument: ${flag.text}`);
    return v;
  };
  for (let i = 0; i < rest.length; i += 1) {
    const tok = rest[i] as Token;
    const text = tok.str === undefined ? tok.text : undefined;
    if (creates && text === '--rm') {
      rm = true;
    } else if (cmd === 'rm' && (text === '-f' || text === '--force')) {
      force = true;
    } else if (creates && (text === '-m' || text === '--memory' || text?.startsWith('--memory=') === true || text?.startsWith('-m=') === true)) {
      // -m's SIZE too is taken verbatim: isula reads it, and refuses one it cannot read with exit 125.
      if (text.includes('=')) {
        memory = text.slice(text.indexOf('=') + 1);
        continue;
      }
      const v = value(i, tok);
      i += 1;
      const vText = v === undefined ? undefined : v.str !== undefined && v.str.prefix === '' ? utf8Decode(v.str.bytes) : lp.word(v);
      if (vText === undefined) bad = true;
      else memory = vText;
    } else if (creates && stringFlag(tok) !== undefined) {
      // --host-channel, --ipc and --shm-size take their value verbatim: `--flag VALUE`, `--flag=VALUE` or a string.
      const flag = stringFlag(tok) as StringFlag;
      let given: string | undefined;
      if (tok.str !== undefined) given = utf8Decode(tok.str.bytes);
      else if (text?.startsWith(`${flag}=`) === true) given = (text as string).slice(flag.length + 1);
      else {
        const v = value(i, tok);
        i += 1;
        if (v === undefined) {
          bad = true;
          continue;
        }
        given = v.str !== undefined && v.str.prefix === '' ? utf8Decode(v.str.bytes) : v.text;
      }
      strings[flag] = given;
    } else if (text?.startsWith('-')) {
      bad = lp.fail(tok.col, `isula ${cmd} does not take ${text} here`) ?? true;
    } else if (name !== undefined) {
      bad = lp.fail(tok.col, `isula ${cmd} takes one container NAME, after its options`) ?? true;
    } else {
      name = lp.word(tok);
      if (name === undefined) bad = true;
    }
  }
  if (name === undefined) return bad ? undefined : lp.fail(cmdTok.col, `isula ${cmd} needs a container NAME`);
  if (bad) return undefined;
  return {
    op: 'isula',
    cmd,
    name,
    rm,
    force,
    ...(memory === undefined ? {} : { memory }),
    ...(strings['--host-channel'] === undefined ? {} : { hostChannel: strings['--host-channel'] }),
    ...(strings['--ipc'] === undefined ? {} : { ipc: strings['--ipc'] }),
    ...(strings['--shm-size'] === undefined ? {} : { shmSize: strings['--shm-size'] }),
  };
}

/** `memcg NAME`. */
export function parseMemcg(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  if (!arity(lp, opTok, args, 'NAME')) return undefined;
  const name = lp.word(args[0] as Token);
  return name === undefined ? undefined : { op: 'memcg', name };
}

/** The characters an image name may use: a file-name-like word. */
const IMAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** `checkpoint NAME` and `restore NAME`. */
export function parseImage(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  const op = opTok.text === 'checkpoint' ? 'checkpoint' : 'restore';
  const [nameTok, extra] = args;
  if (nameTok === undefined) return lp.fail(opTok.col, `${op} needs an image NAME`);
  if (extra !== undefined) return lp.fail(extra.col, `${op} takes one NAME, got ${extra.text} too`);
  if (nameTok.str !== undefined || !IMAGE_NAME.test(nameTok.text)) {
    return lp.fail(nameTok.col, `an image name is letters, digits, '_', '.' and '-', not ${nameTok.text}`);
  }
  return { op, image: nameTok.text };
}

const NO_ENGINE: EmulatedOnly = { emulatedOnly: 'the native backend runs no iSulad engine, memory cgroup or fake meminfo' };
const OWN_KERNEL: EmulatedOnly = { emulatedOnly: "it saves or restores ipc-sentry's own kernel" };

/** The host-side statements' entries in the statement table. */
export const HOST_STATEMENTS: StatementEntries<'tmpfs' | 'mount' | 'host' | 'meminfo' | 'isula' | 'memcg' | 'checkpoint' | 'restore'> = {
  tmpfs: {
    place: 'host',
    parse: parseTmpfs,
    native: (s) => ['tmpfs', wire.path(s.path), s.size, s.nrInodes ?? '-', s.mode === undefined ? '-' : s.mode],
    cmd: () => 'mount',
  },
  mount: {
    place: 'host',
    parse: parseMount,
    native: (s) => ['bind', wire.path(s.source), wire.path(s.target), s.readonly ? 1 : 0],
    cmd: (s) => (s.readonly ? 'bind,ro' : 'bind'),
  },
  host: { place: 'host', parse: parseHost, native: (s) => ['hmkdir', wire.path(s.path)], cmd: () => 'mkdir' },
  meminfo: { place: 'host', parse: parseMeminfo, native: () => NO_ENGINE },
  isula: { place: 'host', parse: parseIsula, native: () => NO_ENGINE, cmd: (s) => s.cmd },
  memcg: { place: 'host', parse: parseMemcg, native: () => NO_ENGINE },
  checkpoint: { place: 'host', parse: parseImage, native: () => OWN_KERNEL },
  restore: { place: 'host', parse: parseImage, native: () => OWN_KERNEL },
};
