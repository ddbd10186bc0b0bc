/**
 * Loading scenario files for the CLI (a bad file means nothing runs, exit 2)
 * and `ipc-sentry ipcs`.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Program } from '../scenario/parse/ast.js';
import type { LoadOptions } from '../scenario/host.js';
import { describeLineStop, loadScenario, tryOnEmulator } from '../scenario/host.js';
import { formatParseError } from '../scenario/parse/parse.js';
import { Kernel } from '../kernel/kernel.js';
import type { IpcsArgs } from './ipcs.js';
import { IPCS_SYNOPSIS, parseIpcsArgs, runIpcs } from './ipcs.js';
import { takeMaxInput } from './limits.js';
import { readUserDatabase } from './userdb.js';

/** Parses every file first: a bad file means nothing runs. */
export function loadAll(files: readonly string[], options: LoadOptions = {}): Array<[string, Program]> | undefined {
  const loaded: Array<[string, Program]> = [];
  let bad = false;
  for (const f of files) {
    const p = loadScenario(f, options);
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
 * (default: printed with IPCS_SYNOPSIS; exit 2). Besides util-linux's
 * options it takes ipc-sentry's --max-input. Exits 0 as ipcs does, 2 when
 * FILE cannot be read or parsed, 3 when this machine cannot back the
 * emulator's memory for it.
 */
export function ipcsCommand(args: readonly string[] | IpcsArgs, usageError?: (message: string) => number): number {
  let opts: IpcsArgs;
  let limits: LoadOptions = {};
  if ('resources' in args) {
    opts = args;
  } else {
    // --max-input is ipc-sentry's, not util-linux's: take it out before ipcs's own parser.
    const taken = takeMaxInput(args);
    const parsed = E.isLeft(taken) ? taken : parseIpcsArgs(taken.right.rest);
    if (E.isRight(taken)) limits = { maxInputBytes: taken.right.maxInputBytes };
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
  const loaded = loadAll([opts.file], limits);
  if (loaded === undefined) return 2;
  const program = loaded[0]![1];
  const ran = tryOnEmulator(program);
  if (E.isLeft(ran)) {
    const { text, status } = describeLineStop('emulated', opts.file, ran.left);
    process.stderr.write(text);
    return status;
  }
  const { emulated } = ran.right;
  for (const [i, ns] of emulated.namespaces.entries()) {
    if (emulated.namespaces.length > 1) process.stdout.write(`\n# IPC namespace ${program.nsNames[i]}`);
    const out = runIpcs(ns, opts, users);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
  }
  return 0;
}
