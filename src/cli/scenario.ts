/**
 * Loading scenario files for the CLI (a bad file means nothing runs, exit 2)
 * and `ipc-sentry ipcs`.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Program } from '../scenario/parse/ast.js';
import { loadScenario, runOnEmulator } from '../scenario/host.js';
import { formatParseError } from '../scenario/parse/parse.js';
import { Kernel } from '../kernel/kernel.js';
import type { IpcsArgs } from './ipcs.js';
import { IPCS_SYNOPSIS, parseIpcsArgs, runIpcs } from './ipcs.js';
import { readUserDatabase } from './userdb.js';

/** Parses every file first: a bad file means nothing runs. */
export function loadAll(files: readonly string[]): Array<[string, Program]> | undefined {
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
