/**
 * `ipcs` for a model namespace: the options of util-linux 2.38's ipcs and
 * the bytes it prints for them, trailing blank lines included.
 *
 * util-linux reads /proc/sysvipc/{shm,sem,msg}, /proc/sys/kernel/* and the
 * *_INFO commands of shmctl, semctl and msgctl (and, for -s -i, semctl's
 * GETVAL, GETNCNT, GETZCNT and GETPID); here the same facts come from the
 * namespace: its segments, semaphore sets and message queues (in index
 * order, as /proc lists them), its limits and its usage counters. What is
 * modelled is a normal Linux with /proc mounted, where util-linux takes the
 * /proc path rather than its syscall fallback.
 *
 * Names of owners and groups come from a UserDatabase the caller passes
 * (getpwuid/getgrgid in util-linux); without one every id prints as a
 * number, as ipcs does for ids the user database does not know. This module
 * uses no Node API: src/cli/userdb.ts is the Node part that reads
 * /etc/passwd and /etc/group.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE, SHM_DEST, SHM_LOCKED, U64_MAX } from '../abi/constants.js';
import { SEM_INFO, SEMVMX } from '../abi/sem.js';
import type { IpcPerm, ShmidDs } from '../abi/shm.js';
import type { IpcNamespace } from '../kernel/ipc_namespace.js';
import { countSemcnt } from '../sem/wake.js';
import { msgRows, semRows } from '../kernel/proc_sysvipc.js';
import type { IpcsMsgRow, IpcsSemRow } from '../kernel/proc_sysvipc.js';

export { msgRows, semRows };
export type { IpcsMsgRow, IpcsSemRow };

/** Who an id is: the caller's user and group database. */
export interface UserDatabase {
  /** The login name of `uid`, or undefined when the database has no entry. */
  userName(uid: number): string | undefined;
  /** The name of group `gid`, or undefined when the database has no entry. */
  groupName(gid: number): string | undefined;
}

/** A database that knows nobody: every id prints as a number. */
export const NUMERIC_IDS: UserDatabase = Object.freeze({
  userName: (): string | undefined => undefined,
  groupName: (): string | undefined => undefined,
});

/** A UserDatabase from fixed maps (tests, or a page that knows its users). */
export function userDatabaseOf(users: ReadonlyMap<number, string>, groups: ReadonlyMap<number, string>): UserDatabase {
  return {
    userName: (uid) => users.get(uid),
    groupName: (gid) => groups.get(gid),
  };
}

/**
 * id → name from the text of a colon-separated database whose field 0 is
 * the name and field 2 the id (/etc/passwd, /etc/group). Blank lines and
 * lines starting with '#' are skipped, as are lines without a decimal id;
 * the first line for an id wins, as getpwuid's "files" source finds it.
 */
export function parseIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.replace(/^[ \t]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(':');
    const name = fields[0];
    const id = fields[2];
    if (name === undefined || name === '' || id === undefined || !/^[0-9]+$/.test(id)) continue;
    const n = Number(id);
    if (n > 0xffffffff || names.has(n)) continue;
    names.set(n, name);
  }
  return names;
}

/** A UserDatabase from the texts of /etc/passwd and /etc/group. */
export function parseUserDatabase(passwd: string, group: string): UserDatabase {
  return userDatabaseOf(parseIdFile(passwd), parseIdFile(group));
}

/** The resources to show (-q, -m, -s; -a is all three). */
export interface IpcsResources {
  readonly msg: boolean;
  readonly shm: boolean;
  readonly sem: boolean;
}

/** The output option: -l limits, -u summary, -c creator, -t time, -p pid, or the plain listing. */
export type IpcsFormat = 'default' | 'limits' | 'summary' | 'creator' | 'time' | 'pid';

/** How sizes print: util-linux's default, -b (bytes) or --human. */
export type IpcsUnit = 'default' | 'bytes' | 'human';

/** Parsed ipcs options. */
export interface IpcsOptions {
  /** Resolved: with no resource option (and no -i) all three are set, as ipcs does. */
  readonly resources: IpcsResources;
  /** The last output option given wins, as in ipcs. */
  readonly format: IpcsFormat;
  /** The last of -b and --human wins. */
  readonly unit: IpcsUnit;
  /** -i ID: one object's details; exactly one resource is then set. */
  readonly id?: number;
  /** -h or -V was given: print the help or the version instead of a report. */
  readonly action?: 'help' | 'version';
}

/** What the command line gives: the options and the scenario file, if any. */
export interface IpcsArgs extends IpcsOptions {
  readonly file?: string;
}

/** Plain `ipcs`: every resource, the listing, default units. */
export const IPCS_DEFAULTS: IpcsOptions = Object.freeze({
  resources: Object.freeze({ msg: true, shm: true, sem: true }),
  format: 'default',
  unit: 'default',
});

/** `ipcs -m`. */
export const IPCS_SHM: IpcsOptions = Object.freeze({ ...IPCS_DEFAULTS, resources: Object.freeze({ msg: false, shm: true, sem: false }) });

/** The time zone times print in: the runtime's local zone (what ipcs uses), or UTC. */
export type IpcsTimeZone = 'local' | 'utc';

/** One run's output: what goes to stdout and what to stderr (ipcs exits 0 either way). */
export interface IpcsOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * What stands for the output of `ipcs -s -i ID` with a negative ID while a
 * set exists: util-linux 2.38.1 dies of SIGSEGV there (exit status 139 in a
 * shell), its buffered stdout lost; the model prints this on stderr instead.
 */
export const IPCS_SEM_CRASH = 'ipcs: util-linux 2.38.1 dies of SIGSEGV here (-s -i with a negative id while a semaphore set exists)\n';

/** The usage line of `ipc-sentry ipcs`. */
export const IPCS_SYNOPSIS = 'ipc-sentry ipcs [-m|-q|-s|-a] [-i ID] [-l|-u|-c|-p|-t] [-b|--human] [FILE]';

/** The version of util-linux whose output this module reproduces. */
export const UTIL_LINUX_VERSION = '2.38.1';

// ---------------------------------------------------------------------------
// Arguments, as getopt_long parses "i:qmsatpclubVh" with ipcs's long options.

type OptionName = 'i' | 'q' | 'm' | 's' | 'a' | 't' | 'p' | 'c' | 'l' | 'u' | 'b' | 'V' | 'h' | 'human';

/** The long options, in the order ipcs declares them (getopt lists ambiguous candidates in this order). */
const LONG_OPTIONS: ReadonlyArray<readonly [string, OptionName]> = [
  ['id', 'i'],
  ['queues', 'q'],
  ['shmems', 'm'],
  ['semaphores', 's'],
  ['all', 'a'],
  ['time', 't'],
  ['pid', 'p'],
  ['creator', 'c'],
  ['limits', 'l'],
  ['summary', 'u'],
  ['human', 'human'],
  ['bytes', 'b'],
  ['version', 'V'],
  ['help', 'h'],
];

const SHORT_OPTIONS = new Set<string>(['i', 'q', 'm', 's', 'a', 't', 'p', 'c', 'l', 'u', 'b', 'V', 'h']);

/** What the option loop has gathered so far. */
interface ParseState {
  msg: boolean;
  shm: boolean;
  sem: boolean;
  format: IpcsFormat;
  unit: IpcsUnit;
  id: number | undefined;
}

/** C's isspace in the C locale, which strtol skips before a number. */
const C_SPACE = /^[ \t\n\v\f\r]*/;

/**
 * The -i argument as util-linux's strtos32_or_err reads it: optional
 * leading white space, a sign, decimal digits and nothing after them, in
 * the range of a 32-bit int.
 */
function parseId(text: string): E.Either<string, number> {
  const body = text.replace(C_SPACE, '');
  if (!/^[+-]?[0-9]+$/.test(body)) return E.left(`failed to parse id argument: '${text}'`);
  const n = BigInt(body);
  if (n < -(2n ** 31n) || n > 2n ** 31n - 1n) return E.left(`failed to parse id argument: '${text}': Numerical result out of range`);
  return E.right(Number(n));
}

/** Applies one option; a Left ends parsing with that message; 'help'/'version' end it with that action. */
function apply(st: ParseState, opt: OptionName, value: string | undefined): E.Either<string, 'help' | 'version' | undefined> {
  switch (opt) {
    case 'i': {
      const id = parseId(value ?? '');
      if (E.isLeft(id)) return id;
      st.id = id.right;
      return E.right(undefined);
    }
    case 'a':
      st.msg = st.shm = st.sem = true;
      break;
    case 'q':
      st.msg = true;
      break;
    case 'm':
      st.shm = true;
      break;
    case 's':
      st.sem = true;
      break;
    case 't':
      st.format = 'time';
      break;
    case 'c':
      st.format = 'creator';
      break;
    case 'p':
      st.format = 'pid';
      break;
    case 'l':
      st.format = 'limits';
      break;
    case 'u':
      st.format = 'summary';
      break;
    case 'human':
      st.unit = 'human';
      break;
    case 'b':
      st.unit = 'bytes';
      break;
    case 'h':
      return E.right('help');
    case 'V':
      return E.right('version');
  }
  return E.right(undefined);
}

/** A long option by its name or an unambiguous prefix of it, as getopt_long matches them. */
function findLong(name: string): E.Either<string, readonly [string, OptionName]> {
  const exact = LONG_OPTIONS.find(([n]) => n === name);
  if (exact !== undefined) return E.right(exact);
  const candidates = LONG_OPTIONS.filter(([n]) => n.startsWith(name));
  const [only] = candidates;
  if (only !== undefined && candidates.length === 1) return E.right(only);
  return E.left(candidates.length === 0 ? '' : `option '--${name}' is ambiguous; possibilities:${candidates.map(([n]) => ` '--${n}'`).join('')}`);
}

/**
 * Parses the arguments of `ipc-sentry ipcs`: ipcs's options and at most one
 * scenario FILE. Options and the file may come in any order, as getopt
 * permutes them; `--` ends the options. Short options cluster (`-mt`, `-i5`),
 * long ones take `=VALUE` or the next argument, and a long name may be
 * shortened to any unambiguous prefix. A Left carries the usage error, in
 * getopt's and ipcs's words (without the program name).
 */
export function parseIpcsArgs(argv: readonly string[]): E.Either<string, IpcsArgs> {
  const st: ParseState = { msg: false, shm: false, sem: false, format: 'default', unit: 'default', id: undefined };
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    let done: E.Either<string, 'help' | 'version' | undefined>;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const found = findLong(name);
      if (E.isLeft(found)) return E.left(found.left === '' ? `unrecognized option '${arg}'` : found.left);
      const [long, opt] = found.right;
      if (opt === 'i') {
        const value = eq >= 0 ? arg.slice(eq + 1) : argv[(i += 1)];
        if (value === undefined) return E.left(`option '--${long}' requires an argument`);
        done = apply(st, opt, value);
      } else {
        if (eq >= 0) return E.left(`option '--${long}' doesn't allow an argument`);
        done = apply(st, opt, undefined);
      }
    } else {
      done = E.right(undefined);
      for (let j = 1; j < arg.length; j += 1) {
        const c = arg[j]!;
        if (!SHORT_OPTIONS.has(c)) return E.left(`invalid option -- '${c}'`);
        if (c === 'i') {
          const value = j + 1 < arg.length ? arg.slice(j + 1) : argv[(i += 1)];
          if (value === undefined) return E.left("option requires an argument -- 'i'");
          done = apply(st, 'i', value);
          break;
        }
        done = apply(st, c as OptionName, undefined);
        if (E.isLeft(done) || done.right !== undefined) break;
      }
    }
    if (E.isLeft(done)) return done;
    if (done.right !== undefined) return E.right({ ...IPCS_DEFAULTS, action: done.right });
  }
  if (operands.length > 1) return E.left(`ipcs takes at most one FILE, not ${operands.length}`);
  const file = operands[0];
  const withFile = file === undefined ? {} : { file };
  if (st.id !== undefined) {
    if (Number(st.msg) + Number(st.shm) + Number(st.sem) !== 1) return E.left('when using an ID, a single resource must be specified');
    return E.right({ resources: { msg: st.msg, shm: st.shm, sem: st.sem }, format: st.format, unit: st.unit, id: st.id, ...withFile });
  }
  const none = !st.msg && !st.shm && !st.sem;
  const resources = none ? IPCS_DEFAULTS.resources : { msg: st.msg, shm: st.shm, sem: st.sem };
  return E.right({ resources, format: st.format, unit: st.unit, ...withFile });
}

// ---------------------------------------------------------------------------
// printf, as the format strings ipcs uses behave: widths count bytes.

/** The length of `s` in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD, as an encoder writes it). */
function byteLength(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/** %-Ns: `s` left-justified in N bytes. */
const padEnd = (s: string | number | bigint, n: number): string => {
  const t = String(s);
  return t + ' '.repeat(Math.max(0, n - byteLength(t)));
};

/** %Ns: `s` right-justified in N bytes. */
const padStart = (s: string | number | bigint, n: number): string => {
  const t = String(s);
  return ' '.repeat(Math.max(0, n - byteLength(t))) + t;
};

/**
 * %.Ns: at most N bytes of `s`. C cuts inside a multi-byte character; a
 * JavaScript string cannot hold half a character, so the cut falls before it.
 */
function precision(s: string, n: number): string {
  if (byteLength(s) <= n) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const b = byteLength(ch);
    if (bytes + b > n) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/** %u of an id (uid_t, gid_t, pid_t printed unsigned). */
const u32 = (n: number): string => String(n >>> 0);

/** %d of an int. */
const i32 = (n: number): string => String(n | 0);

/** "0x%08x" of a key. */
const hexKey = (key: number): string => `0x${(key >>> 0).toString(16).padStart(8, '0')}`;

/** %#o. */
const altOctal = (n: number): string => (n === 0 ? '0' : `0${(n >>> 0).toString(8)}`);

// ---------------------------------------------------------------------------
// Times: glibc's ctime, "Thu Jan  1 00:00:00 1970".

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** The proleptic Gregorian date of a day count from 1970-01-01 (days-from-civil, inverted). */
function civil(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: era * 400 + yoe + (month <= 2 ? 1 : 0), month, day };
}

/** Seconds east of UTC at `seconds` in `tz`. */
function utcOffset(seconds: number, tz: IpcsTimeZone): number {
  if (tz === 'utc') return 0;
  const offset = new Date(seconds * 1000).getTimezoneOffset();
  return Number.isNaN(offset) ? 0 : -offset * 60;
}

/** ctime(3) without its newline: "Www Mmm dd hh:mm:ss yyyy". */
function ctime(seconds: number, tz: IpcsTimeZone): string {
  const t = seconds + utcOffset(seconds, tz);
  const days = Math.floor(t / 86400);
  const secs = t - days * 86400;
  const { year, month, day } = civil(days);
  const weekday = WEEKDAYS[(((days + 4) % 7) + 7) % 7]!;
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = secs % 60;
  return `${weekday} ${MONTHS[month - 1]!}${padStart(day, 3)} ${two(hh)}:${two(mm)}:${two(ss)} ${year}`;
}

/** %-20.16s of ctime()+4, or of "Not set" for a time that was never set: the -t columns. */
function shortTime(seconds: number, tz: IpcsTimeZone): string {
  return padEnd(seconds !== 0 ? ctime(seconds, tz).slice(4, 20) : 'Not set', 20);
}

/** %-26.24s of ctime(), or of "Not set": the -i lines. */
function longTime(seconds: number, tz: IpcsTimeZone, unsetText: boolean): string {
  return padEnd(unsetText && seconds === 0 ? 'Not set' : ctime(seconds, tz).slice(0, 24), 26);
}

// ---------------------------------------------------------------------------
// Sizes: ipc_print_size and size_to_human_string.

type SizeUnit = IpcsUnit | 'kbytes';

/** A u64 as util-linux's human form with a one-letter suffix: 1B, 4K, 1.5M, 16E. */
export function humanSize(bytes: bigint): string {
  let shift = 10n;
  while (shift <= 60n && bytes >= 1n << shift) shift += 10n;
  const exp = shift - 10n;
  const suffix = 'BKMGTPE'[Number(exp / 10n)]!;
  let dec = exp === 0n ? bytes : bytes >> exp;
  let frac = exp === 0n ? 0n : bytes & ((1n << exp) - 1n);
  if (frac !== 0n) {
    frac = frac >= U64_MAX / 1000n ? ((frac / 1024n) * 1000n) / (1n << (exp - 10n)) : (frac * 1000n) / (1n << exp);
    frac = ((frac + 50n) / 100n) * 10n;
    if (frac === 100n) {
      dec += 1n;
      frac = 0n;
    }
  }
  if (frac === 0n) return `${dec}${suffix}`;
  let digits = frac.toString().padStart(2, '0');
  if (digits.endsWith('0')) digits = digits.slice(0, -1);
  return `${dec}.${digits}${suffix}`;
}

/**
 * One size as ipcs prints it: the label (`name =`, `name (bytes) =`,
 * `name (kbytes) =`, or a label ending in '=' as it is), then the value in a
 * printf width (negative: left-justified), then `end`.
 */
function size(unit: SizeUnit, label: string | undefined, value: bigint, end: string, width: number): string {
  const prefix =
    label === undefined
      ? ''
      : label.endsWith('=')
        ? label
        : unit === 'bytes'
          ? `${label} (bytes) = `
          : unit === 'kbytes'
            ? `${label} (kbytes) = `
            : `${label} = `;
  const text = unit === 'human' ? humanSize(value) : unit === 'kbytes' ? String(value / 1024n) : String(value);
  return prefix + (width < 0 ? padEnd(text, -width) : padStart(text, width)) + end;
}

// ---------------------------------------------------------------------------
// The report.

/** A segment as ipcs lists it. */
export interface IpcsRow {
  readonly id: number;
  readonly ds: ShmidDs;
}

/** Every segment of `ns` in index order, as /proc/sysvipc/shm lists them. */
export function ipcsRows(ns: IpcNamespace): IpcsRow[] {
  const rows: IpcsRow[] = [];
  for (const s of ns.shm.segments()) {
    rows.push({ id: s.id, ds: s.mu.with(() => s.statLocked()) });
    s.decRef();
  }
  return rows;
}

/** One semaphore as `ipcs -s -i` shows it: semctl's GETVAL, GETNCNT, GETZCNT and GETPID. */
export interface IpcsSemaphore {
  readonly value: number;
  readonly ncount: number;
  readonly zcount: number;
  readonly pid: number;
}

/** The semaphores of the set whose id is `id`, or undefined when there is none. */
export function semaphoresOf(ns: IpcNamespace, id: number): IpcsSemaphore[] | undefined {
  let found: IpcsSemaphore[] | undefined;
  for (const s of ns.sem.sets()) {
    if (found === undefined && s.perm.id === id) {
      found = s.mu.with(() =>
        Array.from({ length: s.nsems }, (_, i) => ({
          value: s.semval[i]!,
          ncount: countSemcnt(s, i, false),
          zcount: countSemcnt(s, i, true),
          pid: s.sempid[i]!,
        })),
      );
    }
    s.decRef();
  }
  return found;
}

/** The column headers: each label left-justified in its width, joined by spaces. */
function header(columns: ReadonlyArray<readonly [string, number]>): string {
  return `${columns.map(([label, width]) => padEnd(label, width)).join(' ')}\n`;
}

/** Bound to one call's user database and time zone. */
class Printer {
  constructor(
    private readonly users: UserDatabase,
    private readonly tz: IpcsTimeZone,
  ) {}

  /** "%-Wd %-10.10s" or "%-Wd %-10u": the id, then the owner's name (cut to 10 bytes) or uid. */
  private idOwner(id: number, uid: number, idWidth: number): string {
    const name = this.users.userName(uid >>> 0);
    return `${padEnd(i32(id), idWidth)} ${padEnd(name !== undefined ? precision(name, 10) : u32(uid), 10)}`;
  }

  /** ipc_print_perms: the -c row. */
  private perms(id: number, p: IpcPerm): string {
    const user = (uid: number): string => padEnd(this.users.userName(uid >>> 0) ?? u32(uid), 10);
    const group = (gid: number): string => padEnd(this.users.groupName(gid >>> 0) ?? u32(gid), 10);
    return `${padEnd(i32(id), 10)} ${padEnd((p.mode & 0o777).toString(8), 10)} ${user(p.cuid)} ${group(p.cgid)} ${user(p.uid)} ${group(p.gid)}\n`;
  }

  shm(ns: IpcNamespace, format: IpcsFormat, unit: IpcsUnit): string {
    let out: string;
    switch (format) {
      case 'limits': {
        const { info } = ns.shm.ipcInfo();
        out = '------ Shared Memory Limits --------\n';
        out += `max number of segments = ${info.shmmni}\n`;
        out += size(unit === 'default' ? 'kbytes' : unit, 'max seg size', info.shmmax, '\n', 0);
        // shmall is in pages; the product saturates (rounded down to a
        // multiple of the factor) where it would pass 64 bits.
        const total = (factor: bigint): bigint => (info.shmall * factor > U64_MAX ? U64_MAX - (U64_MAX % factor) : info.shmall * factor);
        if (unit === 'default') out += size('default', 'max total shared memory (kbytes)', total(BigInt(PAGE_SIZE / 1024)), '\n', 0);
        else out += size(unit, 'max total shared memory', total(BigInt(PAGE_SIZE)), '\n', 0);
        out += size(unit === 'default' ? 'bytes' : unit, 'min seg size', info.shmmin, '\n', 0);
        return out;
      }
      case 'summary': {
        const { usage } = ns.shm.shmInfo();
        return (
          '------ Shared Memory Status --------\n' +
          `segments allocated ${usage.usedIds}\n` +
          `pages allocated ${usage.shmTot}\n` +
          `pages resident  ${usage.shmRss}\n` +
          `pages swapped   ${usage.shmSwp}\n` +
          `Swap performance: ${usage.swapAttempts} attempts\t ${usage.swapSuccesses} successes\n`
        );
      }
      case 'creator':
        out = '------ Shared Memory Segment Creators/Owners --------\n';
        out += header([
          ['shmid', 10],
          ['perms', 10],
          ['cuid', 10],
          ['cgid', 10],
          ['uid', 10],
          ['gid', 10],
        ]);
        break;
      case 'time':
        out = '------ Shared Memory Attach/Detach/Change Times --------\n';
        out += header([
          ['shmid', 10],
          ['owner', 10],
          ['attached', 20],
          ['detached', 20],
          ['changed', 20],
        ]);
        break;
      case 'pid':
        out = '------ Shared Memory Creator/Last-op PIDs --------\n';
        out += header([
          ['shmid', 10],
          ['owner', 10],
          ['cpid', 10],
          ['lpid', 10],
        ]);
        break;
      case 'default':
        out = '------ Shared Memory Segments --------\n';
        out += header([
          ['key', 10],
          ['shmid', 10],
          ['owner', 10],
          ['perms', 10],
          [unit === 'human' ? 'size' : 'bytes', 10],
          ['nattch', 10],
          ['status', 12],
        ]);
        break;
    }
    for (const { id, ds } of ipcsRows(ns)) {
      const p = ds.perm;
      switch (format) {
        case 'creator':
          out += this.perms(id, ds.perm);
          break;
        case 'time':
          out += `${this.idOwner(id, p.uid, 10)} ${shortTime(ds.atime, this.tz)} ${shortTime(ds.dtime, this.tz)} ${shortTime(ds.ctime, this.tz)}\n`;
          break;
        case 'pid':
          out += `${this.idOwner(id, p.uid, 10)} ${padEnd(u32(ds.cpid), 10)} ${padEnd(u32(ds.lpid), 10)}\n`;
          break;
        default: {
          const bytes = unit === 'human' ? size('human', undefined, ds.segsz, '    ', 6) : size(unit, undefined, ds.segsz, '', -10);
          const dest = (p.mode & SHM_DEST) !== 0 ? 'dest' : ' ';
          const locked = (p.mode & SHM_LOCKED) !== 0 ? 'locked' : ' ';
          out += `${hexKey(p.key)} ${this.idOwner(id, p.uid, 10)} ${padEnd((p.mode & 0o777).toString(8), 10)} ${bytes} ${padEnd(ds.nattch, 10)} ${padEnd(dest, 6)} ${padEnd(locked, 6)}\n`;
        }
      }
    }
    return out;
  }

  /** The -t and -p rows of queues and sets: "%-8d %-10.10s" (or "%-8d %-10u"). */
  private narrowIdOwner(id: number, uid: number): string {
    return this.idOwner(id, uid, 8);
  }

  /** The message queue section (do_msg). */
  msg(ns: IpcNamespace, format: IpcsFormat, unit: IpcsUnit): string {
    let out: string;
    switch (format) {
      case 'limits': {
        // /proc/sys/kernel/msgmni, msgmnb (read as ints) and msgmax (a u64).
        const { info } = ns.msg.info(false);
        const u = unit === 'default' ? 'bytes' : unit;
        return (
          '------ Messages Limits --------\n' +
          `max queues system wide = ${i32(info.msgmni)}\n` +
          size(u, 'max size of message', BigInt.asUintN(64, BigInt(info.msgmax)), '\n', 0) +
          size(u, 'default max size of queue', BigInt.asUintN(64, BigInt(info.msgmnb | 0)), '\n', 0)
        );
      }
      case 'summary': {
        // MSG_INFO: msgpool is the number of queues, msgmap of messages, msgtql of bytes.
        const { info } = ns.msg.info(true);
        return (
          '------ Messages Status --------\n' +
          `allocated queues = ${i32(info.msgpool)}\n` +
          `used headers = ${i32(info.msgmap)}\n` +
          size(unit, 'used space', BigInt.asUintN(64, BigInt(info.msgtql | 0)), unit === 'default' ? ' bytes\n' : '\n', 0)
        );
      }
      case 'creator':
        out = '------ Message Queues Creators/Owners --------\n';
        out += header([
          ['msqid', 10],
          ['perms', 10],
          ['cuid', 10],
          ['cgid', 10],
          ['uid', 10],
          ['gid', 10],
        ]);
        break;
      case 'time':
        out = '------ Message Queues Send/Recv/Change Times --------\n';
        out += header([
          ['msqid', 8],
          ['owner', 10],
          ['send', 20],
          ['recv', 20],
          ['change', 20],
        ]);
        break;
      case 'pid':
        out = '------ Message Queues PIDs --------\n';
        out += header([
          ['msqid', 10],
          ['owner', 10],
          ['lspid', 10],
          ['lrpid', 10],
        ]);
        break;
      case 'default':
        out = '------ Message Queues --------\n';
        out += header([
          ['key', 10],
          ['msqid', 10],
          ['owner', 10],
          ['perms', 10],
          [unit === 'human' ? 'size' : 'used-bytes', 12],
          ['messages', 12],
        ]);
        break;
    }
    for (const { id, ds } of msgRows(ns)) {
      const p = ds.perm;
      switch (format) {
        case 'creator':
          out += this.perms(id, p);
          break;
        case 'time':
          out += `${this.narrowIdOwner(id, p.uid)} ${shortTime(ds.stime, this.tz)} ${shortTime(ds.rtime, this.tz)} ${shortTime(ds.ctime, this.tz)}\n`;
          break;
        case 'pid':
          out += `${this.narrowIdOwner(id, p.uid)}  ${padStart(i32(ds.lspid), 5)}     ${padStart(i32(ds.lrpid), 5)}\n`;
          break;
        default: {
          const cbytes = BigInt(ds.cbytes);
          const used = unit === 'human' ? size('human', undefined, cbytes, '      ', 6) : size(unit, undefined, cbytes, '', -12);
          out += `${hexKey(p.key)} ${this.idOwner(id, p.uid, 10)} ${padEnd((p.mode & 0o777).toString(8), 10)} ${used} ${padEnd(ds.qnum, 12)}\n`;
        }
      }
    }
    return out;
  }

  /** The semaphore section (do_sem). */
  sem(ns: IpcNamespace, format: IpcsFormat): string {
    let out: string;
    switch (format) {
      case 'limits': {
        // /proc/sys/kernel/sem's four ints; SEMVMX is util-linux's own constant.
        const { info } = ns.sem.info(SEM_INFO);
        return (
          '------ Semaphore Limits --------\n' +
          `max number of arrays = ${i32(info.semmni)}\n` +
          `max semaphores per array = ${i32(info.semmsl)}\n` +
          `max semaphores system wide = ${i32(info.semmns)}\n` +
          `max ops per semop call = ${i32(info.semopm)}\n` +
          `semaphore max value = ${SEMVMX}\n`
        );
      }
      case 'summary': {
        // SEM_INFO: semusz is the number of sets, semaem of semaphores.
        const { info } = ns.sem.info(SEM_INFO);
        return `------ Semaphore Status --------\nused arrays = ${i32(info.semusz)}\nallocated semaphores = ${i32(info.semaem)}\n`;
      }
      case 'creator':
        out = '------ Semaphore Arrays Creators/Owners --------\n';
        out += header([
          ['semid', 10],
          ['perms', 10],
          ['cuid', 10],
          ['cgid', 10],
          ['uid', 10],
          ['gid', 10],
        ]);
        break;
      case 'time':
        // The two time headers are cut to 24 bytes and padded to 26, as ipcs's "%-26.24s" does.
        out = '------ Semaphore Operation/Change Times --------\n';
        out += header([
          ['semid', 8],
          ['owner', 10],
          ['last-op', 26],
          ['last-changed', 26],
        ]);
        break;
      case 'pid':
        // ipcs prints nothing at all for semaphores with -p: no title, no rows.
        return '';
      case 'default':
        out = '------ Semaphore Arrays --------\n';
        out += header([
          ['key', 10],
          ['semid', 10],
          ['owner', 10],
          ['perms', 10],
          ['nsems', 10],
        ]);
        break;
    }
    for (const { id, ds } of semRows(ns)) {
      const p = ds.perm;
      switch (format) {
        case 'creator':
          out += this.perms(id, p);
          break;
        case 'time':
          // Two spaces before the first time, as ipcs prints them.
          out += `${this.narrowIdOwner(id, p.uid)}  ${longTime(ds.otime, this.tz, true)} ${longTime(ds.ctime, this.tz, true)}\n`;
          break;
        default:
          out += `${hexKey(p.key)} ${this.idOwner(id, p.uid, 10)} ${padEnd((p.mode & 0o777).toString(8), 10)} ${padEnd(ds.nsems, 10)}\n`;
      }
    }
    return out;
  }

  /**
   * `ipcs -m -i ID`. The segment whose id is `id`; for a negative id, ipcs
   * shows the first segment under the id it was given. Undefined when there
   * is none (ipcs then warns on stderr).
   */
  shmDetails(ns: IpcNamespace, id: number, unit: IpcsUnit): string | undefined {
    const rows = ipcsRows(ns);
    const row = id < 0 ? rows[0] : rows.find((r) => r.id === id);
    if (row === undefined) return undefined;
    const { ds } = row;
    const p = ds.perm;
    return (
      `\nShared memory Segment shmid=${i32(id)}\n` +
      `uid=${u32(p.uid)}\tgid=${u32(p.gid)}\tcuid=${u32(p.cuid)}\tcgid=${u32(p.cgid)}\n` +
      `mode=${altOctal(p.mode)}\taccess_perms=${altOctal(p.mode & 0o777)}\n` +
      size(unit, unit === 'human' ? 'size=' : 'bytes=', ds.segsz, '\t', 0) +
      `lpid=${u32(ds.lpid)}\tcpid=${u32(ds.cpid)}\tnattch=${ds.nattch}\n` +
      `att_time=${longTime(ds.atime, this.tz, true)}\n` +
      `det_time=${longTime(ds.dtime, this.tz, true)}\n` +
      `change_time=${longTime(ds.ctime, this.tz, false)}\n` +
      '\n'
    );
  }
  /**
   * `ipcs -q -i ID`. For a negative id ipcs shows the first queue under the
   * id it was given, and msg_qbytes as 0 (it asks IPC_STAT only for an id
   * it was given). Undefined when there is none.
   */
  msgDetails(ns: IpcNamespace, id: number, unit: IpcsUnit): string | undefined {
    const rows = msgRows(ns);
    const row = id < 0 ? rows[0] : rows.find((r) => r.id === id);
    if (row === undefined) return undefined;
    const { ds } = row;
    const p = ds.perm;
    const human = unit === 'human';
    return (
      `\nMessage Queue msqid=${i32(id)}\n` +
      `uid=${u32(p.uid)}\tgid=${u32(p.gid)}\tcuid=${u32(p.cuid)}\tcgid=${u32(p.cgid)}\tmode=${altOctal(p.mode)}\n` +
      size(unit, human ? 'csize=' : 'cbytes=', BigInt(ds.cbytes), '\t', 0) +
      size(unit, human ? 'qsize=' : 'qbytes=', id < 0 ? 0n : ds.qbytes, '\t', 0) +
      `qnum=${ds.qnum}\tlspid=${i32(ds.lspid)}\tlrpid=${i32(ds.lrpid)}\n` +
      `send_time=${longTime(ds.stime, this.tz, true)}\n` +
      `rcv_time=${longTime(ds.rtime, this.tz, true)}\n` +
      `change_time=${longTime(ds.ctime, this.tz, true)}\n` +
      '\n'
    );
  }

  /**
   * `ipcs -s -i ID`: the set, then each semaphore's value, ncount, zcount
   * and last pid. Undefined when there is no such set. A negative id with
   * any set present is 'crash': util-linux 2.38.1 then reads the first
   * set's semaphores from an array it never filled and dies of SIGSEGV
   * before its buffered output reaches a file or pipe.
   */
  semDetails(ns: IpcNamespace, id: number): string | 'crash' | undefined {
    if (id < 0) return semRows(ns).length > 0 ? 'crash' : undefined;
    const row = semRows(ns).find((r) => r.id === id);
    const sems = row === undefined ? undefined : semaphoresOf(ns, id);
    if (row === undefined || sems === undefined) return undefined;
    const { ds } = row;
    const p = ds.perm;
    let out =
      `\nSemaphore Array semid=${i32(id)}\n` +
      `uid=${u32(p.uid)}\t gid=${u32(p.gid)}\t cuid=${u32(p.cuid)}\t cgid=${u32(p.cgid)}\n` +
      `mode=${altOctal(p.mode)}, access_perms=${altOctal(p.mode & 0o777)}\n` +
      `nsems = ${ds.nsems}\n` +
      `otime = ${longTime(ds.otime, this.tz, true)}\n` +
      `ctime = ${longTime(ds.ctime, this.tz, false)}\n` +
      header([
        ['semnum', 10],
        ['value', 10],
        ['ncount', 10],
        ['zcount', 10],
        ['pid', 10],
      ]);
    sems.forEach((e, i) => {
      out += `${padEnd(i, 10)} ${padEnd(i32(e.value), 10)} ${padEnd(i32(e.ncount), 10)} ${padEnd(i32(e.zcount), 10)} ${padEnd(i32(e.pid), 10)}\n`;
    });
    return `${out}\n`;
  }
}

/**
 * What `ipcs OPTIONS` prints for namespace `ns`: stdout and stderr. ipcs
 * exits 0 in every case this can produce (an id that names nothing is only
 * a warning). Names come from `users` (default: none, so ids print as
 * numbers); times print in `tz` (default: the runtime's local zone, as
 * ipcs uses the TZ of its environment).
 */
export function runIpcs(ns: IpcNamespace, opts: IpcsOptions, users: UserDatabase = NUMERIC_IDS, tz: IpcsTimeZone = 'local'): IpcsOutput {
  if (opts.action === 'help') return { stdout: formatIpcsHelp(), stderr: '' };
  if (opts.action === 'version') return { stdout: `ipcs from util-linux ${UTIL_LINUX_VERSION} (as modelled by ipc-sentry)\n`, stderr: '' };
  const pr = new Printer(users, tz);
  const { resources: r, format, unit } = opts;
  if (opts.id !== undefined) {
    const details = r.shm ? pr.shmDetails(ns, opts.id, unit) : r.msg ? pr.msgDetails(ns, opts.id, unit) : pr.semDetails(ns, opts.id);
    if (details === 'crash') return { stdout: '', stderr: IPCS_SEM_CRASH };
    return details !== undefined ? { stdout: details, stderr: '' } : { stdout: '', stderr: `ipcs: id ${opts.id} not found\n` };
  }
  let out = '\n';
  if (r.msg) out += `${pr.msg(ns, format, unit)}\n`;
  if (r.shm) out += `${pr.shm(ns, format, unit)}\n`;
  if (r.sem) out += `${pr.sem(ns, format)}\n`;
  return { stdout: out, stderr: '' };
}

/** runIpcs's stdout: the report `ipcs OPTIONS` prints for `ns`. */
export function formatIpcsReport(ns: IpcNamespace, opts: IpcsOptions, users?: UserDatabase, tz?: IpcsTimeZone): string {
  return runIpcs(ns, opts, users, tz).stdout;
}

/** `ipcs --help`, with `program` where util-linux prints its program name. */
export function formatIpcsHelp(program = 'ipcs'): string {
  return [
    '',
    'Usage:',
    ` ${program} [resource-option...] [output-option]`,
    ` ${program} -m|-q|-s -i <id>`,
    '',
    'Show information on IPC facilities.',
    '',
    'Options:',
    ' -i, --id <id>  print details on resource identified by <id>',
    ' -h, --help     display this help',
    ' -V, --version  display version',
    '',
    'Resource options:',
    ' -m, --shmems      shared memory segments',
    ' -q, --queues      message queues',
    ' -s, --semaphores  semaphores',
    ' -a, --all         all (default)',
    '',
    'Output options:',
    ' -t, --time        show attach, detach and change times',
    ' -p, --pid         show PIDs of creator and last operator',
    ' -c, --creator     show creator and owner',
    ' -l, --limits      show resource limits',
    ' -u, --summary     show status summary',
    '     --human       show sizes in human-readable format',
    ' -b, --bytes       show sizes in bytes',
    '',
    'For more details see ipcs(1).',
    '',
  ].join('\n');
}
