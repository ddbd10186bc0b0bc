/**
 * `ipc-sentry run`, `diff` and `ipcs`: scenario files on the command line.
 * Exit statuses follow SCENARIO.md: 0 ran, 1 an expectation failed (with
 * --check) or the backends differ (diff), 2 a file cannot be parsed (nothing
 * runs), 3 the native backend cannot run here, 4 the native backend failed
 * internally.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Program } from '../scenario/ast.js';
import type { BackendName } from '../scenario/host.js';
import { loadScenario, runOn, runOnEmulator } from '../scenario/host.js';
import { canonical } from '../scenario/normalize.js';
import type { OutputLine } from '../scenario/normalize.js';
import { formatParseError } from '../scenario/parse.js';
import { Kernel } from '../kernel/kernel.js';
import type { IpcsArgs } from './ipcs.js';
import { IPCS_SYNOPSIS, parseIpcsArgs, runIpcs } from './ipcs.js';
import { readUserDatabase } from './userdb.js';

/** Parses every file first: a bad file means nothing runs. */
function loadAll(files: readonly string[]): Array<[string, Program]> | undefined {
  const loaded: Array<[string, Program]> = [];
  let bad = false;
  for (const f of files) {
    const p = loadScenario(f);
    if (E.isLeft(p)) {
      bad = true;
      for (const e of p.left) process.stderr.write(`${formatParseError(e)}\n`);
    } else {
      loaded.push([f, p.right]);
    }
  }
  return bad ? undefined : loaded;
}

/** `run FILE... [--backend emulated|native] [--check]` */
export function runCommand(files: readonly string[], backend: BackendName, check: boolean): number {
  const loaded = loadAll(files);
  if (loaded === undefined) return 2;
  let status = 0;
  for (const [file, program] of loaded) {
    const r = runOn(backend, program);
    if (E.isLeft(r)) {
      const text = r.left.kind === 'unavailable' ? r.left.reason : r.left.message;
      process.stderr.write(`ipc-sentry: ${backend} backend ${r.left.kind === 'unavailable' ? 'cannot run here' : 'failed'}: ${text.trim()}\n`);
      return r.left.kind === 'unavailable' ? 3 : 4;
    }
    for (const line of r.right.lines) process.stdout.write(`${JSON.stringify(line)}\n`);
    if (check) {
      for (const f of r.right.failures) {
        process.stderr.write(`${file}:${f.line}: expectation failed: wanted ${f.wanted}, got ${f.got}\n`);
        status = 1;
      }
    }
  }
  return status;
}

/** Two output lines are the same when they are equal as parsed JSON, field by field. */
function sameLine(a: OutputLine | undefined, b: OutputLine | undefined): boolean {
  return canonical(a) === canonical(b);
}

/** `diff FILE...`: runs each file on both backends and shows every statement where they disagree. */
export function diffCommand(files: readonly string[]): number {
  const loaded = loadAll(files);
  if (loaded === undefined) return 2;
  let differ = false;
  for (const [file, program] of loaded) {
    const emulated = runOn('emulated', program);
    const native = runOn('native', program);
    if (E.isLeft(native)) {
      process.stderr.write(`ipc-sentry: native backend ${native.left.kind === 'unavailable' ? 'cannot run here' : 'failed'}: ${(native.left.kind === 'unavailable' ? native.left.reason : native.left.message).trim()}\n`);
      return native.left.kind === 'unavailable' ? 3 : 4;
    }
    if (E.isLeft(emulated)) return 4;
    const a = emulated.right.lines;
    const b = native.right.lines;
    let same = 0;
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if (sameLine(a[i], b[i])) {
        same += 1;
        continue;
      }
      differ = true;
      process.stdout.write(`${file}:${a[i]?.['line'] ?? b[i]?.['line']}: backends differ\n  emulated: ${JSON.stringify(a[i])}\n  native:   ${JSON.stringify(b[i])}\n`);
    }
    process.stdout.write(`${file}: ${same} of ${program.statements.length} statements agree\n`);
  }
  return differ ? 1 : 0;
}

/**
 * `ipcs [OPTIONS] [FILE]`: runs the scenario FILE on the emulator (no FILE:
 * a fresh machine) and prints what util-linux's `ipcs OPTIONS` prints for
 * each of its IPC namespaces, with names from /etc/passwd and /etc/group
 * and times in the local time zone. `args` is the raw argument list (after
 * `ipcs`) or its parseIpcsArgs result; a usage error goes to `usageError`
 * (default: printed with IPCS_SYNOPSIS; exit 2). Exits 0 as ipcs does, 2
 * when FILE cannot be parsed.
 */
export function ipcsCommand(args: readonly string[] | IpcsArgs, usageError?: (message: string) => number): number {
  let opts: IpcsArgs;
  if ('resources' in args) {
    opts = args;
  } else {
    const parsed = parseIpcsArgs(args);
    if (E.isLeft(parsed)) {
      if (usageError !== undefined) return usageError(parsed.left);
      process.stderr.write(`ipc-sentry: ${parsed.left}\nusage: ${IPCS_SYNOPSIS}\nRun 'ipc-sentry help ipcs' for more.\n`);
      return 2;
    }
    opts = parsed.right;
  }
  const users = readUserDatabase();
  if (opts.action !== undefined || opts.file === undefined) {
    const out = runIpcs(new Kernel().initialIpcNamespace, opts, users);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return 0;
  }
  const loaded = loadAll([opts.file]);
  if (loaded === undefined) return 2;
  const program = loaded[0]![1];
  const { emulated } = runOnEmulator(program);
  for (const [i, ns] of emulated.namespaces.entries()) {
    if (emulated.namespaces.length > 1) process.stdout.write(`\n# IPC namespace ${program.nsNames[i]}`);
    const out = runIpcs(ns, opts, users);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
  }
  return 0;
}
