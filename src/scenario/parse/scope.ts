/**
 * The parser's name tables: which processes are running, which namespaces and
 * variables exist, and which address names each process has bound. The
 * parser walks statements in order and asks the scope at each one, so every
 * "unknown", "not bound yet" and "used as both" error is decided statically,
 * exactly as the statement order decides it at run time.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { LineError, Token } from './lexer.js';
import { NAME } from './literals.js';

/**
 * The kinds of variable: numbers and keys are global, addresses and
 * descriptors belong to a process. A key (from ftok) lives in a numeric slot
 * but is a kind of its own: its value differs between backends, so it may
 * only be passed as a KEY, never as an id or checked as a number.
 */
export type VarKind = 'num' | 'addr' | 'fd' | 'key';

const KIND_TEXT: Readonly<Record<VarKind, string>> = { num: 'a number', addr: 'an address', fd: 'a file descriptor', key: 'an ftok key' };

interface ProcEntry {
  readonly index: number;
  readonly ns: number;
  /** Address slots bound in this process, by its own shmat or inherited at fork. */
  readonly addrs: Set<number>;
  /** Descriptor slots bound in this process, by its own open or inherited at fork. */
  readonly fds: Set<number>;
  /** The line of its `exit`, once it has exited. */
  exitLine?: number;
}

interface VarEntry {
  readonly kind: VarKind;
  readonly slot: number;
  /** The line of its first binding, quoted when the other kind is asked for. */
  readonly line: number;
}

/** Name resolution state while parsing one scenario. */
export class Scope {
  readonly procNames: string[] = [];
  readonly procNs: number[] = [];
  readonly nsNames: string[] = ['default'];
  readonly numVars: string[] = [];
  readonly addrVars: string[] = [];
  readonly fdVars: string[] = [];
  private readonly procs = new Map<string, ProcEntry>();
  private readonly vars = new Map<string, VarEntry>();

  /** `reserved`: the set-up words; they start statements, so they can never name a process. */
  constructor(private readonly reserved: ReadonlySet<string>) {}

  /** True when `name` has been started (it may have exited since). */
  isProcess(name: string): boolean {
    return this.procs.has(name);
  }

  /** The namespace index of `name`, creating it on first use. */
  namespace(name: string): number {
    const i = this.nsNames.indexOf(name);
    if (i >= 0) return i;
    this.nsNames.push(name);
    return this.nsNames.length - 1;
  }

  /** Checks that `tok` may name a new process, without starting it. */
  checkNewProcess(tok: Token): Either<LineError, string> {
    if (!NAME.test(tok.text)) return E.left({ col: tok.col, message: `expected a process name, got ${tok.text}` });
    if (this.reserved.has(tok.text)) return E.left({ col: tok.col, message: `${tok.text} cannot name a process` });
    if (this.procs.has(tok.text)) return E.left({ col: tok.col, message: `process ${tok.text} is already started` });
    return E.right(tok.text);
  }

  /** Starts process `name` in namespace `ns`, inheriting `addrs` and `fds` (a fork's parent's tables). */
  startProcess(name: string, ns: number, addrs: ReadonlySet<number> = new Set(), fds: ReadonlySet<number> = new Set()): number {
    const index = this.procNames.length;
    this.procNames.push(name);
    this.procNs.push(ns);
    this.procs.set(name, { index, ns, addrs: new Set(addrs), fds: new Set(fds) });
    return index;
  }

  /** Resolves `tok` to a process that has started and not exited. */
  running(tok: Token): Either<LineError, number> {
    const p = this.procs.get(tok.text);
    if (p === undefined) {
      const message = NAME.test(tok.text) ? `unknown process ${tok.text}` : `expected a process name, got ${tok.text}`;
      return E.left({ col: tok.col, message });
    }
    if (p.exitLine !== undefined) return E.left({ col: tok.col, message: `process ${tok.text} exited at line ${p.exitLine}` });
    return E.right(p.index);
  }

  /** The entry of a process the caller has already resolved to `index`. */
  private entry(index: number): ProcEntry {
    return this.procs.get(this.procNames[index] as string) as ProcEntry;
  }

  /** Namespace of process `index`. */
  nsOf(index: number): number {
    return this.entry(index).ns;
  }

  /** Process `index`'s bound address slots; startProcess copies them into a fork's child. */
  addrsOf(index: number): ReadonlySet<number> {
    return this.entry(index).addrs;
  }

  /** Process `index`'s bound descriptor slots; startProcess copies them into a fork's child. */
  fdsOf(index: number): ReadonlySet<number> {
    return this.entry(index).fds;
  }

  /** True when `name` is a descriptor variable bound in process `proc`: the statement is then a file call. */
  isFdIn(name: string, proc: number): boolean {
    const v = this.vars.get(name);
    return v?.kind === 'fd' && this.entry(proc).fds.has(v.slot);
  }

  /** Resolves a descriptor variable bound in process `proc` (by its open or a forking ancestor's). */
  fd(name: string, col: number, proc: number): Either<LineError, number> {
    const v = this.vars.get(name);
    if (v !== undefined && v.kind !== 'fd') {
      return E.left({ col, message: `${name} holds ${KIND_TEXT[v.kind]} (bound at line ${v.line}), not a file descriptor` });
    }
    if (v === undefined || !this.entry(proc).fds.has(v.slot)) {
      return E.left({ col, message: `file descriptor ${name} is not bound in process ${this.procNames[proc]}` });
    }
    return E.right(v.slot);
  }

  /** Marks process `index` as exited at `line`. */
  exit(index: number, line: number): void {
    this.entry(index).exitLine = line;
  }

  /** Resolves a numeric variable that some earlier statement bound. */
  numeric(name: string, col: number): Either<LineError, number> {
    const v = this.vars.get(name);
    if (v === undefined) return E.left({ col, message: `${name} is used before any statement binds it` });
    if (v.kind !== 'num') return E.left({ col, message: `${name} holds ${KIND_TEXT[v.kind]} (bound at line ${v.line}), not a number` });
    return E.right(v.slot);
  }

  /** The numeric slot of key variable `name` if an ftok bound it, else undefined (the token is then a literal key). */
  keySlot(name: string): number | undefined {
    const v = this.vars.get(name);
    return v?.kind === 'key' ? v.slot : undefined;
  }

  /** The slot of numeric variable `name` if one is bound, for expectation values. */
  boundNumeric(name: string): number | undefined {
    const v = this.vars.get(name);
    return v?.kind === 'num' ? v.slot : undefined;
  }

  /** Resolves an address variable bound in process `proc` (by it or by a forking ancestor). */
  address(name: string, col: number, proc: number): Either<LineError, number> {
    const v = this.vars.get(name);
    if (v !== undefined && v.kind !== 'addr') return E.left({ col, message: `${name} holds ${KIND_TEXT[v.kind]} (bound at line ${v.line}), not an address` });
    if (v === undefined || !this.entry(proc).addrs.has(v.slot)) {
      return E.left({ col, message: `address ${name} is not bound in process ${this.procNames[proc]}` });
    }
    return E.right(v.slot);
  }

  /**
   * Binds `tok` as a variable of `kind` at `line`; an address is bound in
   * process `proc` only. A name keeps its slot when bound again.
   */
  bind(tok: Token, kind: VarKind, proc: number, line: number): Either<LineError, number> {
    if (!NAME.test(tok.text)) return E.left({ col: tok.col, message: `expected a variable name, got ${tok.text}` });
    let v = this.vars.get(tok.text);
    if (v !== undefined && v.kind !== kind) {
      const message = `${tok.text} already holds ${KIND_TEXT[v.kind]} (bound at line ${v.line}); a variable holds one kind only`;
      return E.left({ col: tok.col, message });
    }
    if (v === undefined) {
      const table = kind === 'num' || kind === 'key' ? this.numVars : kind === 'addr' ? this.addrVars : this.fdVars;
      table.push(tok.text);
      v = { kind, slot: table.length - 1, line };
      this.vars.set(tok.text, v);
    }
    if (kind === 'addr') this.entry(proc).addrs.add(v.slot);
    if (kind === 'fd') this.entry(proc).fds.add(v.slot);
    return E.right(v.slot);
  }
}
