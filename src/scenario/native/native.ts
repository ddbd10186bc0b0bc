/**
 * The native backend's Node edge: builds native/*.c with the system gcc, runs
 * the oracle on a program text (docs/oracle-protocol.md) and turns its JSON
 * Lines into RawResults, checking every line rather than trusting it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { isErrnoName } from '../../abi/errno.js';
import type { RawDd, RawDs, RawInfo, RawMsginfo, RawMsqDs, RawResult, RawSemDs, RawSeminfo, RawShmInfo, RawStat, RawStatfs } from '../result/raw.js';
import { MSGINFO_KEYS, SEMINFO_KEYS } from '../result/raw.js';

/** The native backend cannot run on this machine; `reason` is one line for a person. */
export interface NativeUnavailable {
  readonly kind: 'unavailable';
  readonly reason: string;
}

/** The oracle ran but broke (a helper died, a malformed line, a bad result); never a kernel answer. */
export interface NativeFailure {
  readonly kind: 'failure';
  readonly message: string;
}

const CFLAGS = ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror'];

/** The oracle's exit status for "cannot run on this machine". */
const EXIT_UNAVAILABLE = 3;

/**
 * The oracle's exit status for a run-time scenario error (a statement naming
 * a process whose call is blocked, or a wait on one with none; a SETALL
 * whose count is not its set's size): the results before it stand, and the
 * runner names the line, deciding the blocking rules from the results
 * (result/blocking.ts) and SETALL's from the oracle's stop line.
 */
const EXIT_SCENARIO = 2;

/**
 * What the oracle says when it stops a run at a statement whose rule the
 * runner cannot check from the results alone: a SETALL whose list is not
 * as long as the set, whose size (SEM_STAT_ANY's sem_nsems) it gives.
 */
export interface OracleStop {
  readonly nsems: number;
}

/**
 * The raw results of an oracle run, one per statement answered; `stop` is
 * set when the oracle stopped (exit status 2) with a stop line for the
 * statement after the last answer.
 */
export type OracleResults = RawResult[] & { readonly stop?: OracleStop };

const RUN_TIMEOUT_MS = 60_000;

/** A read result holds at most 16 MiB as hex, plus the other lines; stay well above it. */
const MAX_OUTPUT_BYTES = 256 << 20;

/** The repository root: the nearest ancestor holding native/oracle.c (from src/scenario/native/, dist/scenario/native/ or the bundled dist/cli.js). */
function findRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'native', 'oracle.c'))) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

function build(): E.Either<string, string> {
  if (process.platform !== 'linux') return E.left(`the native oracle needs Linux (this is ${process.platform})`);
  const root = findRoot();
  if (root === undefined) return E.left('native/oracle.c not found next to the ipc-sentry sources');
  const nativeDir = join(root, 'native');
  const names = readdirSync(nativeDir)
    .filter((n) => n.endsWith('.c') || n.endsWith('.h'))
    .sort();
  // The flags are part of the key: a binary built with other flags is another binary.
  const hash = createHash('sha256').update(CFLAGS.join(' '));
  for (const n of names) hash.update(`\0${n}\0`).update(readFileSync(join(nativeDir, n)));
  const dir = join(cacheRoot(), `oracle-${hash.digest('hex')}`);
  const binary = join(dir, 'oracle');
  if (existsSync(binary)) return E.right(binary);

  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return E.left(`cannot make the oracle's build cache ${dir}: ${(e as Error).message} (set XDG_CACHE_HOME to a writable directory)`);
  }
  // Concurrent test workers each build under their own name; rename makes the winner atomic.
  const temp = join(dir, `oracle.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const sources = names.filter((n) => n.endsWith('.c')).map((n) => join(nativeDir, n));
  const gcc = spawnSync('gcc', [...CFLAGS, '-o', temp, ...sources], { encoding: 'utf8' });
  if (gcc.error !== undefined) {
    const code = (gcc.error as NodeJS.ErrnoException).code;
    return E.left(code === 'ENOENT' ? 'no C compiler: gcc is not installed' : `cannot run gcc: ${gcc.error.message}`);
  }
  if (gcc.status !== 0) {
    rmSync(temp, { force: true });
    return E.left(`gcc cannot build native/oracle.c: ${firstLine(gcc.stderr)}`);
  }
  renameSync(temp, binary);
  return E.right(binary);
}

/**
 * Where built oracles are kept: $XDG_CACHE_HOME/ipc-sentry, else
 * ~/.cache/ipc-sentry, as the XDG base directory rules say; never inside the
 * package, which may belong to root. Without a home, a per-user directory
 * under the system's temporary directory.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'ipc-sentry');
  const home = env['HOME'] ?? homedir();
  if (home !== '' && isAbsolute(home) && existsSync(home)) return join(home, '.cache', 'ipc-sentry');
  return join(tmpdir(), `ipc-sentry-${process.getuid?.() ?? 'user'}`);
}

let built: E.Either<string, string> | undefined;

/**
 * Builds the oracle if its sources changed (cached under cacheRoot(), keyed
 * by their sha256) and returns the
 * binary's path, or one line saying why the native backend cannot run here.
 */
export function ensureOracle(): E.Either<string, string> {
  built ??= build();
  return built;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

class BadLine extends Error {}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decimal(v: Json | undefined, what: string): bigint {
  if (typeof v !== 'string' || !/^-?(0|[1-9][0-9]*)$/.test(v)) throw new BadLine(`${what} is not a decimal string`);
  return BigInt(v);
}

/** A decimal field that must fit a JavaScript number exactly. */
function small(v: Json | undefined, what: string): number {
  const b = decimal(v, what);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) throw new BadLine(`${what} is too large`);
  return Number(b);
}

/** The object's fields, after checking it has exactly `keys`. */
function record(v: Json | undefined, keys: readonly string[], what: string): { [key: string]: Json } {
  if (!isObject(v)) throw new BadLine(`${what} is not an object`);
  const got = Object.keys(v).sort().join(',');
  if (got !== [...keys].sort().join(',')) throw new BadLine(`${what} has fields ${got}`);
  return v;
}

const DS_NUMBER_KEYS = ['key', 'uid', 'gid', 'cuid', 'cgid', 'mode', 'seq', 'atime', 'dtime', 'ctime', 'cpid', 'lpid', 'nattch'] as const;
const INFO_KEYS = ['shmmax', 'shmmin', 'shmmni', 'shmseg', 'shmall'] as const;
const SHM_INFO_KEYS = ['used_ids', 'shm_tot', 'shm_rss', 'shm_swp', 'swap_attempts', 'swap_successes'] as const;

function toDs(v: Json | undefined): RawDs {
  const o = record(v, [...DS_NUMBER_KEYS, 'segsz'], 'ds');
  const n = (k: (typeof DS_NUMBER_KEYS)[number]): number => small(o[k], `ds.${k}`);
  return {
    key: n('key'),
    uid: n('uid'),
    gid: n('gid'),
    cuid: n('cuid'),
    cgid: n('cgid'),
    mode: n('mode'),
    seq: n('seq'),
    segsz: decimal(o['segsz'], 'ds.segsz'),
    atime: n('atime'),
    dtime: n('dtime'),
    ctime: n('ctime'),
    cpid: n('cpid'),
    lpid: n('lpid'),
    nattch: n('nattch'),
  };
}

function toInfo(v: Json | undefined): RawInfo {
  const o = record(v, INFO_KEYS, 'info');
  const b = (k: (typeof INFO_KEYS)[number]): bigint => decimal(o[k], `info.${k}`);
  return { shmmax: b('shmmax'), shmmin: b('shmmin'), shmmni: b('shmmni'), shmseg: b('shmseg'), shmall: b('shmall') };
}

function toShmInfo(v: Json | undefined): RawShmInfo {
  const o = record(v, SHM_INFO_KEYS, 'shm_info');
  const b = (k: (typeof SHM_INFO_KEYS)[number]): bigint => decimal(o[k], `shm_info.${k}`);
  return {
    used_ids: b('used_ids'),
    shm_tot: b('shm_tot'),
    shm_rss: b('shm_rss'),
    shm_swp: b('shm_swp'),
    swap_attempts: b('swap_attempts'),
    swap_successes: b('swap_successes'),
  };
}

const PERM_KEYS = ['key', 'uid', 'gid', 'cuid', 'cgid', 'mode', 'seq'] as const;

/** The ipc_perm fields of a sem_ds or msq_ds line, in PERM_KEYS order. */
function permOf(n: (k: string) => number): { key: number; uid: number; gid: number; cuid: number; cgid: number; mode: number; seq: number } {
  return { key: n('key'), uid: n('uid'), gid: n('gid'), cuid: n('cuid'), cgid: n('cgid'), mode: n('mode'), seq: n('seq') };
}

function toSemDs(v: Json | undefined): RawSemDs {
  const o = record(v, [...PERM_KEYS, 'nsems', 'otime', 'ctime'], 'sem_ds');
  const n = (k: string): number => small(o[k], `sem_ds.${k}`);
  return {
    ...permOf(n),
    nsems: n('nsems'),
    otime: n('otime'),
    ctime: n('ctime'),
  };
}

function toMsqDs(v: Json | undefined): RawMsqDs {
  const o = record(v, [...PERM_KEYS, 'stime', 'rtime', 'ctime', 'cbytes', 'qnum', 'qbytes', 'lspid', 'lrpid'], 'msq_ds');
  const n = (k: string): number => small(o[k], `msq_ds.${k}`);
  const b = (k: string): bigint => decimal(o[k], `msq_ds.${k}`);
  return {
    ...permOf(n),
    stime: n('stime'),
    rtime: n('rtime'),
    ctime: n('ctime'),
    cbytes: b('cbytes'),
    qnum: b('qnum'),
    qbytes: b('qbytes'),
    lspid: n('lspid'),
    lrpid: n('lrpid'),
  };
}

function toInfoOf<K extends string>(v: Json | undefined, keys: readonly K[], what: string): { readonly [P in K]: bigint } {
  const o = record(v, keys, what);
  return Object.fromEntries(keys.map((k) => [k, decimal(o[k], `${what}.${k}`)])) as { readonly [P in K]: bigint };
}

function toVals(v: Json | undefined): number[] {
  if (!Array.isArray(v)) throw new BadLine('vals is not an array');
  return v.map((x, i) => small(x, `vals[${i}]`));
}

const STATFS_KEYS = ['bsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree'] as const;

function toStatfs(v: Json | undefined): RawStatfs {
  const o = record(v, STATFS_KEYS, 'statfs');
  const b = (k: (typeof STATFS_KEYS)[number]): bigint => decimal(o[k], `statfs.${k}`);
  return { bsize: b('bsize'), blocks: b('blocks'), bfree: b('bfree'), bavail: b('bavail'), files: b('files'), ffree: b('ffree') };
}

function toStat(v: Json | undefined): RawStat {
  const o = record(v, ['mode', 'nlink', 'uid', 'gid', 'size', 'blocks'], 'stat');
  return {
    mode: small(o['mode'], 'stat.mode'),
    nlink: decimal(o['nlink'], 'stat.nlink'),
    uid: small(o['uid'], 'stat.uid'),
    gid: small(o['gid'], 'stat.gid'),
    size: decimal(o['size'], 'stat.size'),
    blocks: decimal(o['blocks'], 'stat.blocks'),
  };
}

const DD_KEYS = ['in_full', 'in_partial', 'out_full', 'out_partial', 'bytes'] as const;

function toDd(v: Json | undefined): RawDd {
  const failed = isObject(v) && 'call' in v;
  const o = record(v, failed ? [...DD_KEYS, 'call', 'errno'] : DD_KEYS, 'dd');
  const b = (k: (typeof DD_KEYS)[number]): bigint => decimal(o[k], `dd.${k}`);
  const counts = { inFull: b('in_full'), inPartial: b('in_partial'), outFull: b('out_full'), outPartial: b('out_partial'), bytes: b('bytes') };
  if (!failed) return counts;
  const call = o['call'];
  const errno = o['errno'];
  if (call !== 'open' && call !== 'write') throw new BadLine(`dd.call is ${JSON.stringify(call)}`);
  if (typeof errno !== 'string' || !isErrnoName(errno)) throw new BadLine(`unknown errno ${JSON.stringify(errno)}`);
  return { ...counts, failed: { call, errno } };
}

function toBytes(v: Json | undefined): Uint8Array {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-f]*$/.test(v)) throw new BadLine('data is not lowercase hex');
  return Uint8Array.from(Buffer.from(v, 'hex'));
}

const OK_KEYS = new Set([
  'line',
  'ok',
  'ret',
  'pid',
  'ds',
  'info',
  'shm_info',
  'data',
  'statfs',
  'stat',
  'dd',
  'sem_ds',
  'msq_ds',
  'seminfo',
  'msginfo',
  'vals',
  'mtype',
  'text',
]);

/** One stdout line as a RawResult, for the statement whose scenario line is `line`. */
function toResult(text: string, line: string): RawResult {
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    throw new BadLine('not JSON');
  }
  if (!isObject(parsed)) throw new BadLine('not a JSON object');
  if (parsed['line'] !== line) throw new BadLine(`answers line ${JSON.stringify(parsed['line'])}`);
  const { ok } = parsed;
  if (ok === false && 'blocked' in parsed) {
    const o = record(parsed, ['line', 'ok', 'blocked'], 'a blocked call');
    if (o['blocked'] !== true) throw new BadLine('"blocked" is not true');
    return { ok: false, blocked: true };
  }
  if (ok === false) {
    const o = record(parsed, ['line', 'ok', 'errno' in parsed ? 'errno' : 'signal'], 'a failure');
    if ('errno' in o) {
      const name = o['errno'];
      if (typeof name !== 'string' || !isErrnoName(name)) throw new BadLine(`unknown errno ${JSON.stringify(name)}`);
      return { ok: false, errno: name };
    }
    const sig = o['signal'];
    if (sig !== 'SIGSEGV' && sig !== 'SIGBUS') throw new BadLine(`unknown signal ${JSON.stringify(sig)}`);
    return { ok: false, signal: sig };
  }
  if (ok !== true) throw new BadLine('"ok" is not a boolean');
  for (const k of Object.keys(parsed)) if (!OK_KEYS.has(k)) throw new BadLine(`unexpected field "${k}"`);
  return {
    ok: true,
    ...('ret' in parsed && { ret: decimal(parsed['ret'], 'ret') }),
    ...('pid' in parsed && { pid: small(parsed['pid'], 'pid') }),
    ...('ds' in parsed && { ds: toDs(parsed['ds']) }),
    ...('info' in parsed && { info: toInfo(parsed['info']) }),
    ...('shm_info' in parsed && { shmInfo: toShmInfo(parsed['shm_info']) }),
    ...('sem_ds' in parsed && { semDs: toSemDs(parsed['sem_ds']) }),
    ...('msq_ds' in parsed && { msqDs: toMsqDs(parsed['msq_ds']) }),
    ...('seminfo' in parsed && { seminfo: toInfoOf(parsed['seminfo'], SEMINFO_KEYS, 'seminfo') as RawSeminfo }),
    ...('msginfo' in parsed && { msginfo: toInfoOf(parsed['msginfo'], MSGINFO_KEYS, 'msginfo') as RawMsginfo }),
    ...('vals' in parsed && { vals: toVals(parsed['vals']) }),
    ...('mtype' in parsed && { mtype: decimal(parsed['mtype'], 'mtype') }),
    ...('data' in parsed && { data: toBytes(parsed['data']) }),
    ...('text' in parsed && { text: toBytes(parsed['text']) }),
    ...('statfs' in parsed && { statfs: toStatfs(parsed['statfs']) }),
    ...('stat' in parsed && { stat: toStat(parsed['stat']) }),
    ...('dd' in parsed && { dd: toDd(parsed['dd']) }),
  };
}

/** A stop line (`{"line":…,"stop":"setall","nsems":…}`) for the statement whose scenario line is `line`. */
function toStop(parsed: { [key: string]: Json }, line: string): OracleStop {
  const o = record(parsed, ['line', 'stop', 'nsems'], 'a stop line');
  if (o['line'] !== line) throw new BadLine(`stops at line ${JSON.stringify(o['line'])}`);
  if (o['stop'] !== 'setall') throw new BadLine(`unknown stop ${JSON.stringify(o['stop'])}`);
  const nsems = small(o['nsems'], 'nsems');
  // semget's nsems is an int up to kernel.sem's semmsl, which nothing caps below INT_MAX (a set of 70000 is fine).
  if (nsems < 1 || nsems > 0x7fffffff) throw new BadLine('nsems is out of range');
  return { nsems };
}

/** What the oracle's exit says, unless it ended well: status 3 is "cannot run here", any other end a failure. */
function exitProblem(status: number | null, signal: NodeJS.Signals | null, stderr: string): NativeUnavailable | NativeFailure | undefined {
  if (status === EXIT_UNAVAILABLE) return { kind: 'unavailable', reason: firstLine(stderr) };
  if (status === 0 || status === EXIT_SCENARIO) return undefined;
  const how = status === null ? `was killed by ${signal ?? 'a signal'}` : `exited with status ${status}`;
  return { kind: 'failure', message: `the oracle ${how}: ${stderr.trim()}` };
}

function failure(message: string): E.Either<NativeFailure, never> {
  return E.left({ kind: 'failure', message });
}

/**
 * Runs `programText` (the protocol's program text) on the real kernel: one raw
 * result per statement, in order; fewer when a run-time scenario error
 * stopped the oracle (the caller finds the line with result/blocking.ts, or
 * from the `stop` the oracle gave for a SETALL). Left NativeUnavailable when this machine
 * cannot run the oracle (or cannot run this program: exit status 3); Left
 * NativeFailure for anything the oracle did not answer properly.
 */
export function runOracle(programText: string): E.Either<NativeUnavailable | NativeFailure, OracleResults> {
  const oracle = ensureOracle();
  if (E.isLeft(oracle)) return E.left({ kind: 'unavailable', reason: oracle.left });
  const run = spawnSync(oracle.right, [], {
    input: programText,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: MAX_OUTPUT_BYTES,
  });
  if (run.error !== undefined) return failure(`the oracle did not finish: ${run.error.message}`);
  const ended = exitProblem(run.status, run.signal, run.stderr);
  if (ended !== undefined) return E.left(ended);
  const out = run.stdout.split('\n');
  if (out.pop() !== '') return failure("the oracle's output does not end with a newline");
  const reader = new ResultReader(programText);
  for (const text of out) {
    const r = reader.take(text);
    if (E.isLeft(r)) return r;
  }
  return reader.end(run.status);
}

/** Checks the oracle's output lines one at a time against the program it was given. */
class ResultReader {
  /** Each statement's scenario line number is its first token; the oracle echoes it. */
  private readonly lines: string[];
  readonly results: RawResult[] = [];
  /** What the stop line said, once read: nothing may follow it. */
  private stop: OracleStop | undefined;

  constructor(programText: string) {
    this.lines = programText
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split(' ')[0] ?? '');
  }

  /** Reads one output line: a statement's result, or the stop line (then undefined: no result to report). */
  take(text: string): E.Either<NativeFailure, RawResult | undefined> {
    const i = this.results.length;
    if (this.stop !== undefined) return failure('the oracle printed a line after its stop line');
    if (i >= this.lines.length) return failure(`the oracle answered more statements than the ${this.lines.length} it was given`);
    const line = this.lines[i] ?? '';
    try {
      if (/^\{"line":"[^"]*","stop":/.test(text)) {
        this.stop = toStop(JSON.parse(text) as { [key: string]: Json }, line);
        return E.right(undefined);
      }
      const raw = toResult(text, line);
      this.results.push(raw);
      return E.right(raw);
    } catch (e) {
      if (!(e instanceof BadLine) && !(e instanceof SyntaxError)) throw e;
      return failure(`malformed result for scenario line ${line}: ${e.message}: ${text.slice(0, 200)}`);
    }
  }

  /** The results once the oracle has exited with `status` (0 or EXIT_SCENARIO: exitProblem let it through). */
  end(status: number | null): E.Either<NativeFailure, OracleResults> {
    if (status === EXIT_SCENARIO) return E.right(this.stop === undefined ? this.results : Object.assign(this.results, { stop: this.stop }));
    if (this.stop !== undefined) return failure('the oracle printed a stop line but did not exit with status 2');
    if (this.results.length !== this.lines.length) return failure(`the oracle answered ${this.results.length} statements out of ${this.lines.length}`);
    return E.right(this.results);
  }
}

/**
 * runOracle, reporting each statement's raw result through `onResult` as soon
 * as the oracle prints it (a killed run has shown everything it finished).
 */
export function streamOracle(
  programText: string,
  onResult: (raw: RawResult, index: number) => void,
): Promise<E.Either<NativeUnavailable | NativeFailure, OracleResults>> {
  const oracle = ensureOracle();
  if (E.isLeft(oracle)) return Promise.resolve(E.left({ kind: 'unavailable', reason: oracle.left }));
  return new Promise((resolve) => {
    const child = spawn(oracle.right, [], { stdio: ['pipe', 'pipe', 'pipe'], timeout: RUN_TIMEOUT_MS });
    const reader = new ResultReader(programText);
    let bad: NativeFailure | undefined;
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0 && bad === undefined; nl = pending.indexOf('\n')) {
        const text = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const r = reader.take(text);
        if (E.isLeft(r)) {
          bad = r.left;
          child.kill('SIGKILL');
        } else if (r.right !== undefined) onResult(r.right, reader.results.length - 1);
      }
    });
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 65536) stderr += chunk;
    });
    child.on('error', (err) => {
      bad ??= { kind: 'failure', message: `the oracle did not finish: ${err.message}` };
    });
    child.stdin.on('error', () => {
      // The oracle exits early (status 3) without reading everything; its status says why.
    });
    child.stdin.end(programText);
    child.on('close', (status, signal) => {
      if (bad !== undefined) return resolve(E.left(bad));
      const ended = exitProblem(status, signal, stderr);
      if (ended !== undefined) return resolve(E.left(ended));
      if (pending !== '') return resolve(failure("the oracle's output does not end with a newline"));
      resolve(reader.end(status));
    });
  });
}

let probed: E.Either<string, true> | undefined;

/**
 * Whether the native backend works here: builds the oracle if needed and runs
 * a one-statement program. Left gives the reason, for tests to print when they skip.
 */
export function nativeAvailable(): E.Either<string, true> {
  probed ??= ((): E.Either<string, true> => {
    const run = runOracle('1 proc 0 0 0 0 -1 0\n');
    if (E.isRight(run)) return E.right(true);
    return E.left(run.left.kind === 'unavailable' ? run.left.reason : run.left.message);
  })();
  return probed;
}
