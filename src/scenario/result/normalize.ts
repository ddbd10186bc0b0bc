/**
 * Turns raw results into the scenario output lines of docs/scenario-language.md (ids as
 * the variable names that hold them, pids as process names, times as 0 or
 * "t", modes as octal strings, big integers as decimal strings), and checks
 * each statement's expectation against its printed line.
 */
import type { ExpectValue, Expectation, FieldCheck, Program, Statement } from '../parse/ast.js';
import type { Op, StatementKind } from '../parse/table.js';
import { isHostSide, kindOf } from '../parse/table.js';
import { utf8Decode } from '../parse/utf8.js';
import type { Mechanism, OutputLine, Printed, Printing, RawSuccess } from './printed.js';
import { num } from './printed.js';
import { BlockedCalls, isBlocked } from './blocking.js';
import type { RawResult } from './raw.js';
import { MSGINFO_KEYS, SEMINFO_KEYS } from './raw.js';

export type { OutputLine, Printed } from './printed.js';

/** An expectation that did not hold. */
export interface ExpectationFailure {
  readonly line: number;
  readonly wanted: string;
  readonly got: string;
}

/** The output of a whole run. */
export interface NormalizedRun {
  readonly lines: OutputLine[];
  readonly failures: ExpectationFailure[];
}

/**
 * An output line (or any printed value) as JSON with object keys sorted, so
 * two lines compare equal exactly when they agree field by field, whatever
 * their key order.
 */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Normalizes a run's raw results and checks its expectations. */
export function normalize(program: Program, raws: readonly RawResult[]): NormalizedRun {
  const n = incrementalNormalizer(program);
  raws.forEach((raw) => n.push(raw));
  if (raws.length < program.statements.length) throw new Error(`no raw result for line ${program.statements[raws.length]!.line}`);
  return n.run;
}

/** A normalizer fed one raw result at a time, in statement order; `run` holds what was pushed so far. */
export interface IncrementalNormalizer {
  push(raw: RawResult): { readonly line: OutputLine; readonly failure?: ExpectationFailure };
  readonly run: NormalizedRun;
}

/** Normalizes results as they arrive (the CLI prints each line when its statement finishes). */
export function incrementalNormalizer(program: Program): IncrementalNormalizer {
  const n = new Normalizer(program);
  const run: NormalizedRun = { lines: [], failures: [] };
  return {
    run,
    push(raw) {
      const s = program.statements[run.lines.length];
      if (s === undefined) throw new Error('more raw results than statements');
      const out = n.line(s, raw);
      run.lines.push(out.line);
      if (out.failure !== undefined) run.failures.push(out.failure);
      return out;
    },
  };
}

/** One id-variable binding: which slot, which value, in which namespace. */
interface IdBinding {
  readonly slot: number;
  readonly mech: Mechanism;
  readonly value: bigint;
  readonly ns: number;
}

class Normalizer {
  private readonly pidNames = new Map<number, string>();
  private readonly nums = new Map<number, bigint>();
  /** Id bindings, most recent last. */
  private readonly idBindings: IdBinding[] = [];
  /** ftok keys by value, each with the name it first printed as. */
  private readonly keyNames = new Map<bigint, string>();
  /** The blocked calls so far: `wait` prints its call's result as that call would. */
  private readonly blocked: BlockedCalls;

  /** The context every success's printer writes into, reset per line (one object for the run, not five closures a statement). */
  private readonly printing: LinePrinting;

  constructor(readonly program: Program) {
    this.blocked = new BlockedCalls(program);
    this.printing = new LinePrinting(this);
  }

  line(s: Statement, raw: RawResult): { line: OutputLine; failure?: ExpectationFailure } {
    const out: Record<string, Printed> = { line: s.line };
    // `wait` prints the result of the call it collects, as that call's statement would.
    const call = s.op === 'wait' ? this.blocked.of(s.proc) : undefined;
    if (s.op === 'wait' && call === undefined) throw new Error(`line ${s.line}: wait without a blocked call reached the normalizer`);
    const shown = call !== undefined && !isBlocked(raw) ? call : s;
    const kind = kindOf(shown);
    // The process that runs the statement (a fork's parent); none for the host.
    const actor = s.op === 'fork' ? s.parent : isHostSide(s) ? undefined : s.proc;
    if (actor !== undefined) out['proc'] = this.program.procNames[actor]!;
    out['op'] = kind.label?.(shown) ?? shown.op;
    const cmd = kind.cmd?.(shown);
    if (cmd !== undefined) out['cmd'] = cmd;
    if (call !== undefined) out['of'] = call.line;
    if (isBlocked(raw)) {
      out['blocked'] = true;
    } else {
      out['ok'] = raw.ok;
      if (raw.ok) {
        const ns = s.op === 'sysctl' ? s.ns : actor === undefined ? 0 : this.program.procNs[actor]!;
        this.success(shown, kind, raw, out, ns);
      } else if ('errno' in raw) {
        out['errno'] = raw.errno;
      } else {
        out['signal'] = raw.signal;
      }
    }
    this.blocked.record(s, raw);
    const failure = s.expect === undefined ? undefined : this.check(s, s.expect, raw, out);
    if (failure !== undefined) out['expect'] = `FAILED: wanted ${s.expect!.text}`;
    return failure === undefined ? { line: out } : { line: out, failure };
  }

  private success(s: Statement, kind: StatementKind<Op>, raw: RawSuccess, out: Record<string, Printed>, ns: number): void {
    const printing = this.printing;
    printing.begin(out, ns, raw.exit, raw.stderr);
    kind.printOk?.(s, raw, printing);
    const { exit, stderr } = printing;
    if (exit !== undefined) out['exit'] = exit;
    if (raw.ds !== undefined) {
      const d = raw.ds;
      out['ds'] = {
        key: this.keyName(BigInt(d.key)),
        uid: num(d.uid),
        gid: num(d.gid),
        cuid: num(d.cuid),
        cgid: num(d.cgid),
        mode: `0${d.mode.toString(8)}`,
        seq: d.seq,
        size: num(d.segsz),
        atime: d.atime === 0 ? 0 : 't',
        dtime: d.dtime === 0 ? 0 : 't',
        ctime: d.ctime === 0 ? 0 : 't',
        cpid: this.pidName(d.cpid),
        lpid: this.pidName(d.lpid),
        nattch: num(d.nattch),
      };
    }
    if (raw.info !== undefined) {
      const i = raw.info;
      out['info'] = { shmmax: num(i.shmmax), shmmin: num(i.shmmin), shmmni: num(i.shmmni), shmseg: num(i.shmseg), shmall: num(i.shmall) };
    }
    if (raw.shmInfo !== undefined) {
      const u = raw.shmInfo;
      out['shm_info'] = {
        used_ids: num(u.used_ids),
        shm_tot: num(u.shm_tot),
        shm_rss: num(u.shm_rss),
        shm_swp: num(u.shm_swp),
        swap_attempts: num(u.swap_attempts),
        swap_successes: num(u.swap_successes),
      };
    }
    if (raw.semDs !== undefined) {
      const d = raw.semDs;
      out['ds'] = {
        ...this.perm(d),
        nsems: d.nsems,
        otime: d.otime === 0 ? 0 : 't',
        ctime: d.ctime === 0 ? 0 : 't',
      };
    }
    if (raw.msqDs !== undefined) {
      const d = raw.msqDs;
      out['ds'] = {
        ...this.perm(d),
        stime: d.stime === 0 ? 0 : 't',
        rtime: d.rtime === 0 ? 0 : 't',
        ctime: d.ctime === 0 ? 0 : 't',
        cbytes: num(d.cbytes),
        qnum: num(d.qnum),
        qbytes: num(d.qbytes),
        lspid: this.pidName(d.lspid),
        lrpid: this.pidName(d.lrpid),
      };
    }
    if (raw.seminfo !== undefined) {
      const i = raw.seminfo;
      out['seminfo'] = Object.fromEntries(SEMINFO_KEYS.map((k) => [k, num(i[k])]));
    }
    if (raw.msginfo !== undefined) {
      const i = raw.msginfo;
      out['msginfo'] = Object.fromEntries(MSGINFO_KEYS.map((k) => [k, num(i[k])]));
    }
    if (raw.vals !== undefined) out['vals'] = [...raw.vals];
    if (raw.mtype !== undefined) out['mtype'] = num(raw.mtype);
    if (raw.statfs !== undefined) {
      const f = raw.statfs;
      out['statfs'] = {
        f_bsize: num(f.bsize),
        f_blocks: num(f.blocks),
        f_bfree: num(f.bfree),
        f_bavail: num(f.bavail),
        f_files: num(f.files),
        f_ffree: num(f.ffree),
      };
    }
    if (raw.stat !== undefined) {
      const t = raw.stat;
      out['stat'] = {
        st_mode: `0${t.mode.toString(8)}`,
        st_nlink: num(t.nlink),
        st_uid: t.uid,
        st_gid: t.gid,
        st_size: num(t.size),
        st_blocks: num(t.blocks),
      };
    }
    if (raw.memcg !== undefined) {
      const m = raw.memcg;
      out['memcg'] = { usage: num(m.usage), limit: num(m.limit), failcnt: num(m.failcnt) };
    }
    if (raw.data !== undefined) out['data'] = hex(raw.data);
    if (stderr !== undefined) out['stderr'] = [...stderr];
  }

  /** ret for a call returning an id: the variable it binds, else the latest id variable of that value in the namespace, else the number. */
  idResult(bind: number | undefined, ret: bigint, ns: number, mech: Mechanism, out: Record<string, Printed>): void {
    if (bind !== undefined) {
      this.nums.set(bind, ret);
      this.idBindings.push({ slot: bind, mech, value: ret, ns });
      out['ret'] = this.program.numVars[bind]!;
    } else {
      out['ret'] = this.idName(ret, ns, mech);
    }
    out['raw'] = num(ret);
  }

  /** The latest id variable of `mech` that still holds `id` in namespace `ns`, else the number. */
  idName(id: bigint, ns: number, mech: Mechanism): Printed {
    for (let i = this.idBindings.length - 1; i >= 0; i -= 1) {
      const b = this.idBindings[i]!;
      if (b.value === id && b.ns === ns && b.mech === mech && this.nums.get(b.slot) === id) return this.program.numVars[b.slot]!;
    }
    return num(id);
  }

  /** Records numeric slot `slot`'s value, for later checks by name. */
  setNum(slot: number, value: bigint): void {
    this.nums.set(slot, value);
  }

  /** ftok's ret: the name `key` first printed as, or `name` for a key not seen before. */
  keyResult(key: bigint, name: string, out: Record<string, Printed>): void {
    let known = this.keyNames.get(key);
    if (known === undefined) {
      known = name;
      this.keyNames.set(key, name);
    }
    out['ret'] = known;
  }

  /** A key as ds and sysvipc rows print it: an ftok key's name, 0 as IPC_PRIVATE, else the number. */
  keyName(key: bigint): Printed {
    if (key === 0n) return 'IPC_PRIVATE';
    return this.keyNames.get(key) ?? num(key);
  }

  /** From here on `pid` prints as process `proc`'s name. */
  namePid(pid: number, proc: number): void {
    this.pidNames.set(pid, this.program.procNames[proc]!);
  }

  /** The ipc_perm part of a ds, as every mechanism prints it. */
  private perm(d: { key: number; uid: number; gid: number; cuid: number; cgid: number; mode: number; seq: number }): Record<string, Printed> {
    return {
      key: this.keyName(BigInt(d.key)),
      uid: num(d.uid),
      gid: num(d.gid),
      cuid: num(d.cuid),
      cgid: num(d.cgid),
      mode: `0${d.mode.toString(8)}`,
      seq: d.seq,
    };
  }

  pidName(pid: number): Printed {
    return pid === 0 ? 0 : (this.pidNames.get(pid) ?? pid);
  }

  private check(s: Statement, want: Expectation, raw: RawResult, out: Record<string, Printed>): ExpectationFailure | undefined {
    const outcome = raw.ok ? 'ok' : 'errno' in raw ? raw.errno : 'signal' in raw ? raw.signal : 'blocks';
    const fail = (got: string): ExpectationFailure => ({ line: s.line, wanted: want.text, got });
    switch (want.kind) {
      case 'errno':
        return outcome === want.errno ? undefined : fail(outcome);
      case 'signal':
        return outcome === want.signal ? undefined : fail(outcome);
      case 'blocks':
        return outcome === 'blocks' ? undefined : fail(outcome);
      case 'ok': {
        if (!raw.ok) return fail(outcome);
        for (const c of want.checks) {
          const printed = fieldOf(out, c);
          if (!this.matches(printed, c.value)) return fail(`${c.field}=${gotText(printed, c.value)}`);
        }
        return undefined;
      }
    }
  }

  private matches(printed: Printed | undefined, want: ExpectValue): boolean {
    if (printed === undefined) return false;
    switch (want.kind) {
      case 'number':
        return numericValue(printed) === want.value;
      case 'string':
        // stderr prints as an array of lines; a string matches them joined by newlines.
        if (Array.isArray(printed)) return printed.join('\n') === utf8Decode(want.bytes);
        return printed === hex(want.bytes);
      case 'list':
        return Array.isArray(printed) && printed.length === want.values.length && printed.every((v, i) => numericValue(v) === want.values[i]);
      case 'name': {
        if (printed === want.name) return true;
        if (want.numSlot === undefined) return false;
        const v = this.nums.get(want.numSlot);
        return v !== undefined && numericValue(printed) === v;
      }
    }
  }
}

/** The Printing a Normalizer hands each success's printer: the line being built and its namespace, set by begin. */
class LinePrinting implements Printing {
  readonly program: Program;
  out: Record<string, Printed> = {};
  exit: number | undefined = undefined;
  stderr: readonly string[] | undefined = undefined;
  private ns = 0;

  constructor(private readonly n: Normalizer) {
    this.program = n.program;
  }

  begin(out: Record<string, Printed>, ns: number, exit: number | undefined, stderr: readonly string[] | undefined): void {
    this.out = out;
    this.ns = ns;
    this.exit = exit;
    this.stderr = stderr;
  }

  idResult(bind: number | undefined, ret: bigint, mech?: Mechanism): void {
    this.n.idResult(bind, ret, this.ns, mech ?? 'shm', this.out);
  }

  idName(id: bigint, mech: Mechanism): Printed {
    return this.n.idName(id, this.ns, mech);
  }

  pidName(pid: number): Printed {
    return this.n.pidName(pid);
  }

  keyResult(key: bigint, name: string): void {
    this.n.keyResult(key, name, this.out);
  }

  keyName(key: bigint): Printed {
    return this.n.keyName(key);
  }

  setNum(slot: number, value: bigint): void {
    this.n.setNum(slot, value);
  }

  namePid(pid: number, proc: number): void {
    this.n.namePid(pid, proc);
  }
}

/**
 * A value that failed a check, written as the check was: a string check
 * (data="hi\x00") gets the bytes back as a string literal, not the hex the
 * output line carries.
 */
function gotText(printed: Printed | undefined, want: ExpectValue): string {
  if (printed === undefined) return '(absent)';
  if (want.kind === 'string' && typeof printed === 'string' && /^(?:[0-9a-f]{2})*$/.test(printed)) {
    let text = '';
    for (let i = 0; i < printed.length; i += 2) {
      const b = parseInt(printed.slice(i, i + 2), 16);
      text +=
        b === 0x22 || b === 0x5c ? `\\${String.fromCharCode(b)}` : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    }
    return `"${text}"`;
  }
  return JSON.stringify(printed);
}

/** The printed value a check refers to. */
function fieldOf(out: Record<string, Printed>, c: FieldCheck): Printed | undefined {
  if (c.group === 'line') return out[c.field];
  const group = out[c.group];
  if (group === undefined || typeof group !== 'object' || Array.isArray(group)) return undefined;
  return (group as { readonly [k: string]: Printed })[c.field];
}

/** The number a printed value stands for: numbers, decimal strings, octal modes, IPC_PRIVATE. */
function numericValue(p: Printed): bigint | undefined {
  if (typeof p === 'number') return BigInt(p);
  if (typeof p !== 'string') return undefined;
  if (p === 'IPC_PRIVATE') return 0n;
  if (/^0[0-7]*$/.test(p)) return BigInt(`0o${p.slice(1) || '0'}`);
  if (/^-?[0-9]+$/.test(p)) return BigInt(p);
  return undefined;
}
