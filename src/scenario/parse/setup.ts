/**
 * The set-up statements: proc, fork, exit, sysctl and rlimit. They start a
 * line (no process before them), which is why their words cannot name a
 * process.
 */
import { RLIM_INFINITY } from '../../abi/constants.js';
import type { Body, LineParser } from './args.js';
import { arity } from './args.js';
import { utf8Decode } from './utf8.js';
import type { CapName, Caps, GlobalSysctlName, SysctlName } from './ast.js';
import type { Token } from './lexer.js';
import { colAt, parseInteger, parseName, partsWithCols } from './literals.js';
import type { StatementEntries } from './table.js';
import { capsMask } from './wire.js';

/** The capability names `caps=` accepts, in the order a Caps list keeps them. */
const CAP_NAMES: readonly CapName[] = ['CAP_IPC_OWNER', 'CAP_IPC_LOCK', 'CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE'];

const SYSCTL_NAMES: readonly SysctlName[] = [
  'shmmax',
  'shmall',
  'shmmni',
  'shm_rmid_forced',
  'shm_next_id',
  'sem',
  'msgmax',
  'msgmnb',
  'msgmni',
  'sem_next_id',
  'msg_next_id',
];

/** The global sysctls, written on the emulator only: the native backend never changes the host's value. */
const GLOBAL_SYSCTL_NAMES: readonly GlobalSysctlName[] = ['vm.max_map_count'];

function parseCaps(lp: LineParser, text: string, col: number): Caps | undefined {
  if (text === 'all') return 'all';
  if (text === 'none') return [];
  const seen = new Set<CapName>();
  let bad = false;
  for (const { part, col: partCol } of partsWithCols(text, col, ',')) {
    const cap = CAP_NAMES.find((c) => c === part);
    if (cap === undefined) {
      bad = true;
      const shown = part === '' ? '(empty)' : part;
      lp.fail(partCol, `unknown capability ${shown} (use all, none, or ${CAP_NAMES.join(', ')})`);
    } else if (seen.has(cap)) {
      bad = true;
      lp.fail(partCol, `capability ${cap} is listed twice`);
    }
    if (cap !== undefined) seen.add(cap);
  }
  return bad ? undefined : CAP_NAMES.filter((c) => seen.has(c));
}

/**
 * `proc NAME [uid=N] [gid=N] [groups=N,...] [caps=LIST] [ns=NSNAME] [container=CNAME]`,
 * options in any order; container= (the extension) and ns= exclude each other.
 */
export function parseProc(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  const [nameTok, ...opts] = args;
  if (nameTok === undefined) return lp.fail(opTok.col, 'proc needs a process name');
  const name = lp.word(nameTok) === undefined ? undefined : lp.take(lp.scope.checkNewProcess(nameTok));
  let uid = 0;
  let gid = 0;
  let groups: number[] = [];
  let caps: Caps | undefined;
  let ns = 0;
  let container: string | undefined;
  const seen = new Set<string>();
  for (const opt of opts) {
    const kv = lp.keyValue(opt);
    if (kv === undefined) {
      if (opt.str === undefined) lp.fail(opt.col, `expected uid=, gid=, groups=, caps= or ns=, got ${opt.text}`);
      continue;
    }
    if (seen.has(kv.key)) {
      lp.fail(opt.col, `${kv.key}= is given twice`);
      continue;
    }
    seen.add(kv.key);
    switch (kv.key) {
      case 'uid':
        uid = lp.credential(kv.value, kv.valueCol, 'uid') ?? uid;
        break;
      case 'gid':
        gid = lp.credential(kv.value, kv.valueCol, 'gid') ?? gid;
        break;
      case 'groups': {
        groups = partsWithCols(kv.value, kv.valueCol, ',').flatMap(({ part, col }) => {
          const n = lp.credential(part, col, 'a group');
          return n === undefined ? [] : [n];
        });
        break;
      }
      case 'caps':
        caps = parseCaps(lp, kv.value, kv.valueCol);
        break;
      case 'ns': {
        if (seen.has('container')) {
          lp.fail(opt.col, 'ns= and container= exclude each other (a container has its own IPC namespace)');
          break;
        }
        const nsName = lp.take(parseName(kv.value, kv.valueCol, 'a namespace name'));
        if (nsName !== undefined) ns = lp.scope.namespace(nsName);
        break;
      }
      case 'container':
        if (seen.has('ns')) lp.fail(opt.col, 'ns= and container= exclude each other (a container has its own IPC namespace)');
        else if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(kv.value))
          lp.fail(kv.valueCol, `expected a container name, got ${kv.value === '' ? 'nothing' : kv.value}`);
        else container = kv.value;
        break;
      default:
        lp.fail(opt.col, `unknown option ${kv.key}= (proc takes uid=, gid=, groups=, caps= and ns=)`);
    }
  }
  // The process exists from here on even if an option was wrong, so later lines report their own mistakes only.
  if (name === undefined) return undefined;
  const proc = lp.scope.startProcess(name, ns);
  // Linux gives root the full set and everyone else none, unless the scenario says otherwise.
  const base = { op: 'proc' as const, proc, uid, gid, groups, caps: caps ?? (uid === 0 ? ('all' as const) : []), ns };
  return container === undefined ? base : { ...base, container };
}

/** `fork PARENT CHILD`: the child shares the parent's namespace and copies its address names. */
export function parseFork(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  if (!arity(lp, opTok, args, 'PARENT CHILD')) return undefined;
  const [parentTok, childTok] = args as [Token, Token];
  const parent = lp.word(parentTok) === undefined ? undefined : lp.take(lp.scope.running(parentTok));
  const childName = lp.word(childTok) === undefined ? undefined : lp.take(lp.scope.checkNewProcess(childTok));
  if (childName === undefined) return undefined;
  const child =
    parent === undefined
      ? lp.scope.startProcess(childName, 0)
      : lp.scope.startProcess(childName, lp.scope.nsOf(parent), lp.scope.addrsOf(parent), lp.scope.fdsOf(parent));
  return parent === undefined ? undefined : { op: 'fork', parent, child };
}

/** `exit NAME`. */
export function parseExit(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  if (!arity(lp, opTok, args, 'NAME')) return undefined;
  const tok = args[0] as Token;
  const proc = lp.word(tok) === undefined ? undefined : lp.take(lp.scope.running(tok));
  if (proc === undefined) return undefined;
  lp.scope.exit(proc, lp.line);
  return { op: 'exit', proc };
}

/** `sysctl [ns=NSNAME] kernel.KEY=VALUE`, the two in any order, or `sysctl vm.max_map_count=N` (global: no ns=). */
export function parseSysctl(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  let ns = 0;
  let seenNs = false;
  let nsCol = 0;
  let name: SysctlName | GlobalSysctlName | undefined;
  let value: bigint | undefined;
  let values: bigint[] | undefined;
  let valid = true;
  for (const arg of args) {
    if (arg.str !== undefined && arg.str.prefix === 'kernel.sem=') {
      // kernel.sem="SEMMSL SEMMNS SEMOPM SEMMNI": exactly four numbers, as the
      // language defines the statement. (Linux itself would also take the
      // first one to three and keep the rest; a scenario always writes all four.)
      if (name !== undefined) {
        lp.fail(arg.col, 'sysctl writes one key per statement');
        valid = false;
        continue;
      }
      name = 'sem';
      const found = [...utf8Decode(arg.str.bytes).matchAll(/\S+/g)];
      // A number's own column when the string is written without escapes; else the token's.
      const plain = !arg.text.includes('\\');
      const start = arg.str.prefix.length + 1;
      const nums = found.map((m) => lp.take(parseInteger(m[0], plain ? colAt(arg.text, arg.col, start + m.index) : arg.col, false)));
      if (found.length !== 4) {
        lp.fail(arg.col, 'kernel.sem takes exactly four numbers: "SEMMSL SEMMNS SEMOPM SEMMNI"');
        valid = false;
      } else if (nums.every((n) => n !== undefined)) {
        values = nums as bigint[];
        value = values[0];
      }
      continue;
    }
    const kv = lp.keyValue(arg);
    if (kv === undefined) {
      if (arg.str === undefined) lp.fail(arg.col, `expected ns=NSNAME or kernel.KEY=VALUE, got ${arg.text}`);
      valid = false;
      continue;
    }
    if (kv.key === 'ns') {
      const nsName = seenNs ? lp.fail(arg.col, 'ns= is given twice') : lp.take(parseName(kv.value, kv.valueCol, 'a namespace name'));
      seenNs = true;
      nsCol = arg.col;
      if (nsName === undefined) valid = false;
      else ns = lp.scope.namespace(nsName);
      continue;
    }
    const sysctl = SYSCTL_NAMES.find((n) => `kernel.${n}` === kv.key) ?? GLOBAL_SYSCTL_NAMES.find((n) => n === kv.key);
    if (sysctl === undefined || name !== undefined) {
      const known = `kernel.${SYSCTL_NAMES.join(', kernel.')}, ${GLOBAL_SYSCTL_NAMES.join(', ')}`;
      lp.fail(arg.col, sysctl === undefined ? `unknown sysctl ${kv.key} (use ${known})` : 'sysctl writes one key per statement');
      valid = false;
      continue;
    }
    name = sysctl;
    if (sysctl === 'sem') {
      lp.fail(kv.valueCol, 'kernel.sem takes its four numbers in one quoted string: kernel.sem="250 32000 32 32000"');
      valid = false;
      continue;
    }
    value = lp.take(parseInteger(kv.value, kv.valueCol, false));
  }
  if (name === undefined) return valid ? lp.fail(opTok.col, 'sysctl needs kernel.KEY=VALUE') : undefined;
  if (seenNs && GLOBAL_SYSCTL_NAMES.includes(name as GlobalSysctlName)) return lp.fail(nsCol, `${name} is global: ns= does not apply`);
  if (!valid || value === undefined) return undefined;
  return values === undefined ? { op: 'sysctl', ns, name, value } : { op: 'sysctl', ns, name, value, values };
}

/** The resources `rlimit` sets. */
const RLIMIT_RESOURCES = ['memlock', 'fsize'] as const;

/** `rlimit NAME memlock=N` or `rlimit NAME fsize=N`, where -1 means unlimited. */
export function parseRlimit(lp: LineParser, opTok: Token, args: readonly Token[]): Body | undefined {
  if (!arity(lp, opTok, args, 'NAME memlock=N|fsize=N')) return undefined;
  const [procTok, limitTok] = args as [Token, Token];
  const proc = lp.word(procTok) === undefined ? undefined : lp.take(lp.scope.running(procTok));
  const kv = lp.keyValue(limitTok);
  const resource = RLIMIT_RESOURCES.find((r) => r === kv?.key);
  if (kv === undefined || resource === undefined) {
    if (limitTok.str === undefined) lp.fail(limitTok.col, `expected memlock=N or fsize=N, got ${limitTok.text}`);
    return undefined;
  }
  const n = lp.take(parseInteger(kv.value, kv.valueCol, false));
  if (n === undefined) return undefined;
  if (n < -1n) return lp.fail(kv.valueCol, `${resource} must be -1 (unlimited) or a number of bytes`);
  if (proc === undefined) return undefined;
  const value = n === -1n ? RLIM_INFINITY : n;
  return resource === 'memlock' ? { op: 'rlimit', proc, memlock: value } : { op: 'rlimit', proc, fsize: value };
}

/** The set-up statements' entries in the statement table. */
export const SETUP_STATEMENTS: StatementEntries<'proc' | 'fork' | 'exit' | 'sysctl' | 'rlimit'> = {
  proc: {
    place: 'setup',
    parse: parseProc,
    native: (s) =>
      s.container === undefined
        ? ['proc', s.proc, s.uid, s.gid, s.groups.length, ...s.groups, capsMask(s.caps), s.ns]
        : { emulatedOnly: 'the native backend runs no iSulad engine', feature: 'proc container=' },
    printOk: (s, raw, p) => {
      if (raw.pid !== undefined) p.namePid(raw.pid, s.proc);
    },
  },
  fork: {
    place: 'setup',
    parse: parseFork,
    native: (s) => ['fork', s.parent, s.child],
    printOk: (s, raw, p) => {
      if (raw.pid !== undefined) p.namePid(raw.pid, s.child);
      p.out['ret'] = p.program.procNames[s.child]!;
    },
  },
  exit: { place: 'setup', parse: parseExit, native: (s) => ['exit', s.proc] },
  // Set-up, so its word is reserved, but it runs on the host, inside the namespace it writes.
  sysctl: {
    place: 'host',
    reserved: true,
    parse: parseSysctl,
    native: (s) =>
      s.name === 'vm.max_map_count'
        ? { emulatedOnly: "a global sysctl: the native backend never changes the host's value", feature: 'sysctl vm.max_map_count' }
        : ['sysctl', s.ns, s.name, s.values === undefined ? s.value : s.values.join(',')],
  },
  rlimit: {
    place: 'setup',
    parse: parseRlimit,
    native: (s) => (s.fsize === undefined ? ['rlimit', s.proc, s.memlock] : ['rlimit', s.proc, 'fsize', s.fsize]),
  },
};
