#!/usr/bin/env node
/**
 * The ipc-sentry command line: the Node-only edge of the project. Each
 * command declares its options once; the same declaration parses arguments,
 * refuses unknown ones (exit 2 with a usage line) and prints its help.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDemo } from './demo.js';
import { installOutput } from './output.js';
import * as E from 'fp-ts/lib/Either.js';
import { MAX_INPUT_HELP, NATIVE_BUDGET_HELP, parseByteCount } from './limits.js';
import type { RunLimits } from './run.js';
import { diffCommand, runCommand } from './run.js';
import { ipcsCommand } from './scenario.js';
import { transcriptCommand } from './transcript.js';
import { parseTraceOption } from './trace.js';

/**
 * A command's option: a flag, one that takes a value (`--backend native`,
 * `--backend=native`), or one whose value is optional and comes only after
 * `=` (`--trace`, `--trace=json`; parsed as '' when absent).
 */
interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  readonly value?: string;
  readonly optionalValue?: string;
  readonly help: string;
}

/** What a command's run gets: the option values by long name (flags map to 'true') and the operands. */
interface Parsed {
  readonly options: ReadonlyMap<string, string>;
  readonly operands: readonly string[];
}

interface Command {
  readonly name: string;
  readonly synopsis: string;
  readonly summary: string;
  readonly details?: string;
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
  /** Commands that parse their own options (ipcs, with util-linux's). */
  readonly raw?: (args: readonly string[]) => number | Promise<number>;
  readonly run?: (p: Parsed) => number | Promise<number>;
}

const MAX_INPUT: OptionSpec = { long: 'max-input', value: 'BYTES', help: MAX_INPUT_HELP };
const NATIVE_BUDGET: OptionSpec = { long: 'native-budget', value: 'BYTES', help: NATIVE_BUDGET_HELP };

/** The --max-input and --native-budget a command was given (defaults where absent), or exit 2 after a usage error. */
function runLimits(command: string, p: Parsed): RunLimits | number {
  const limits: { maxInputBytes?: number; nativeBudgetBytes?: number } = {};
  for (const [option, key] of [
    ['max-input', 'maxInputBytes'],
    ['native-budget', 'nativeBudgetBytes'],
  ] as const) {
    const text = p.options.get(option);
    if (text === undefined) continue;
    const n = parseByteCount(option, text);
    if (E.isLeft(n)) return usageError(command, n.left);
    limits[key] = n.right;
  }
  return limits;
}

const COMMANDS: readonly Command[] = [
  {
    name: 'host-channel',
    synopsis: 'ipc-sentry [host-channel] [--json] [FILE]',
    summary: 'the default demo: an iSulad container shares a 32 MiB tmpfs with the host',
    details:
      'Runs FILE (default: the packaged examples/host-channel.scn) on the emulator and prints it as a\n' +
      "terminal session: dd fills the container's --host-channel tmpfs and fails with ENOSPC as iSulad's\n" +
      'documentation shows, then the host and the container exchange a message through a file both map.',
    options: [{ long: 'json', help: "print the scenario's JSON lines instead of the session" }, MAX_INPUT],
    examples: ['ipc-sentry', 'ipc-sentry host-channel --json'],
    run: (p) => {
      if (p.operands.length > 1) return usageError('host-channel', 'host-channel takes at most one FILE');
      const limits = runLimits('host-channel', p);
      return typeof limits === 'number' ? limits : transcriptCommand(p.operands[0], p.options.has('json'), limits);
    },
  },
  {
    name: 'demo',
    synopsis: 'ipc-sentry demo',
    summary: 'two processes share a System V segment, step by step',
    options: [],
    examples: ['ipc-sentry demo'],
    run: (p) => (p.operands.length > 0 ? usageError('demo', `demo takes no operands (got ${p.operands[0]})`) : runDemo()),
  },
  {
    name: 'run',
    synopsis: 'ipc-sentry run [--backend emulated|native] [--check] [--trace[=PATH|json]] [--max-input BYTES] [--native-budget BYTES] FILE...',
    summary: 'run scenario files and print one JSON line per statement as it finishes',
    details:
      'With --check, exit 1 when an expectation fails, naming FILE:LINE on stderr. A file larger than\n' +
      '--max-input is refused (exit 2). Exit 3 naming FILE:LINE when this machine cannot back the\n' +
      "emulator's memory at that statement, or when a native run could make the kernel hold more than\n" +
      '--native-budget (tmpfs data and touched shared memory, counted before anything runs).\n' +
      "With --trace, the emulator's kernel prints each syscall as strace does, with the scenario's process\n" +
      'names (U shmat(0, NULL, 0) = -1 EACCES (Permission denied)), faults, page frames, wake-ups and container steps,\n' +
      'on stderr; --trace=json prints them as JSON Lines on stderr, --trace=PATH writes the lines to PATH.',
    options: [
      { long: 'backend', short: 'b', value: 'NAME', help: "emulated (default) or native: the machine's own kernel through the C oracle" },
      { long: 'check', help: 'exit 1 when an expectation (=> ...) does not hold' },
      { long: 'trace', optionalValue: 'PATH|json', help: 'print the kernel trace, strace-style, on stderr (emulated backend)' },
      MAX_INPUT,
      NATIVE_BUDGET,
    ],
    examples: [
      'ipc-sentry run examples/shmget-lookup-order.scn --check',
      'ipc-sentry run --backend native examples/tmpfs-short-write-enospc.scn',
      'ipc-sentry run --trace examples/shmat-permissions.scn',
    ],
    run: (p) => {
      const backend = p.options.get('backend') ?? 'emulated';
      if (backend !== 'emulated' && backend !== 'native') return usageError('run', `--backend takes emulated or native, not ${backend}`);
      if (p.operands.length === 0) return usageError('run', 'run needs at least one FILE');
      const traceOption = p.options.get('trace');
      if (traceOption !== undefined && backend !== 'emulated') return usageError('run', '--trace traces the emulated backend only');
      const trace = traceOption === undefined ? undefined : parseTraceOption(traceOption);
      if (trace !== undefined && E.isLeft(trace)) return usageError('run', trace.left);
      const limits = runLimits('run', p);
      return typeof limits === 'number' ? limits : runCommand(p.operands, backend, p.options.has('check'), limits, trace?.right);
    },
  },
  {
    name: 'diff',
    synopsis: 'ipc-sentry diff [--max-input BYTES] [--native-budget BYTES] FILE...',
    summary: 'run each file on the emulator and on the real kernel; show where they disagree',
    details:
      'Exit 1 if any statement differs. Files that use emulated-only statements (isula, memcg, meminfo,\n' +
      'checkpoint, restore) are skipped with a note; exit 3 means the native backend cannot run here\n' +
      '(or cannot run a file within --native-budget, or the emulator ran out of memory: FILE:LINE says where).',
    options: [MAX_INPUT, NATIVE_BUDGET],
    examples: ['ipc-sentry diff examples/*.scn', 'ipc-sentry diff --native-budget 4G big.scn'],
    run: (p) => {
      if (p.operands.length === 0) return usageError('diff', 'diff needs at least one FILE');
      const limits = runLimits('diff', p);
      return typeof limits === 'number' ? limits : diffCommand(p.operands, limits);
    },
  },
  {
    name: 'ipcs',
    synopsis: 'ipc-sentry ipcs [-m|-s|-q|-a] [-i ID] [-l|-u|-c|-p|-t] [-b] [--human] [--max-input BYTES] [FILE]',
    summary: "run FILE on the emulator, then show its IPC namespace as util-linux's ipcs does",
    options: [],
    examples: ['ipc-sentry ipcs examples/rmid-attached-life-cycle.scn', 'ipc-sentry ipcs -m -t examples/shmctl-ipc-stat.scn', 'ipc-sentry ipcs -l'],
    raw: (args) => ipcsCommand(args, (message) => usageError('ipcs', message)),
  },
  {
    name: 'help',
    synopsis: 'ipc-sentry help [COMMAND]',
    summary: "this text, or one command's",
    options: [],
    examples: ['ipc-sentry help run'],
    run: (p) => {
      if (p.operands.length === 0) {
        process.stdout.write(usage());
        return 0;
      }
      const c = COMMANDS.find((x) => x.name === p.operands[0]);
      if (c === undefined) return usageError(undefined, `no command "${p.operands[0]}"`);
      process.stdout.write(commandHelp(c));
      return 0;
    },
  },
];

const EXIT_STATUS =
  'exit status: 0 ran, 1 an expectation failed or the backends differ, 2 bad usage or a file that\n' +
  'cannot be parsed (nothing runs), or a run-time scenario error at FILE:LINE:COL (the lines before\n' +
  'it printed), 3 the native backend cannot run here (or a limit of this machine\n' +
  'met at FILE:LINE: the native budget, host memory for the emulator), 4 internal failure.\n';

function usage(): string {
  const lines = ['usage: ipc-sentry [COMMAND] [OPTIONS] [FILE...]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(14)}${c.summary}`);
  lines.push('', "Run 'ipc-sentry help COMMAND' or 'ipc-sentry COMMAND --help' for a command's options.", '');
  lines.push('options: -h, --help  this text;  -V, --version  print the version', '', EXIT_STATUS.trimEnd(), '', 'examples:');
  for (const c of COMMANDS) for (const e of c.examples) lines.push(`  ${e}`);
  return `${lines.join('\n')}\n`;
}

function commandHelp(c: Command): string {
  const lines = [`usage: ${c.synopsis}`, '', `${c.summary}.`];
  if (c.details !== undefined) lines.push('', c.details);
  if (c.options.length > 0) {
    lines.push('', 'options:');
    for (const o of c.options) {
      const value = o.value !== undefined ? ` ${o.value}` : o.optionalValue !== undefined ? `[=${o.optionalValue}]` : '';
      const names = `${o.short !== undefined ? `-${o.short}, ` : ''}--${o.long}${value}`;
      lines.push(`  ${names.padEnd(24)}${o.help}`);
    }
  }
  if (c.name === 'ipcs') lines.push('', ipcsOptionsHelp());
  lines.push('  -h, --help'.padEnd(26) + 'this text', '', EXIT_STATUS.trimEnd(), '', 'examples:');
  for (const e of c.examples) lines.push(`  ${e}`);
  return `${lines.join('\n')}\n`;
}

function ipcsOptionsHelp(): string {
  return [
    'resources:  -m shared memory, -q message queues, -s semaphores, -a all (the default)',
    'output:     -i, --id ID  one object;  -l, --limits;  -u, --summary;  -c, --creator;',
    '            -p, --pid;  -t, --time;  -b, --bytes and --human (with -l)',
    `input:      --max-input BYTES  ${MAX_INPUT_HELP}`,
  ].join('\n');
}

/** Parses `args` against `c.options`; a string is the usage error to report. */
function parseArgs(c: Command, args: readonly string[]): Parsed | string {
  const options = new Map<string, string>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      operands.push(a);
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq >= 0 ? a.slice(0, eq) : a;
    const spec = c.options.find((o) => name === `--${o.long}` || (o.short !== undefined && name === `-${o.short}`));
    if (spec === undefined) return `unknown option ${name}`;
    if (spec.optionalValue !== undefined) {
      const value = eq >= 0 ? a.slice(eq + 1) : '';
      if (eq >= 0 && value === '') return `option --${spec.long}= needs a ${spec.optionalValue}`;
      options.set(spec.long, value);
      continue;
    }
    if (spec.value === undefined) {
      if (eq >= 0) return `option --${spec.long} takes no value`;
      options.set(spec.long, 'true');
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : args[(i += 1)];
    if (value === undefined) return `option --${spec.long} needs a ${spec.value}`;
    options.set(spec.long, value);
  }
  return { options, operands };
}

/** Prints `message` and the command's usage line to stderr; returns exit status 2. */
export function usageError(command: string | undefined, message: string): number {
  const c = COMMANDS.find((x) => x.name === command);
  const synopsis = c?.synopsis ?? 'ipc-sentry [COMMAND] [OPTIONS] [FILE...]';
  const more = c === undefined ? "'ipc-sentry --help'" : `'ipc-sentry help ${c.name}'`;
  process.stderr.write(`ipc-sentry: ${message}\nusage: ${synopsis}\nRun ${more} for more.\n`);
  return 2;
}

function version(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', join('..', '..')]) {
    try {
      const pkg = JSON.parse(readFileSync(join(here, up, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'ipc-sentry' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here; try the next place (dist/cli.js and src/cli/main.ts sit at different depths).
    }
  }
  return 'unknown';
}

async function main(argv: readonly string[]): Promise<number> {
  const first = argv[0];
  if (first === '--version' || first === '-V') {
    process.stdout.write(`ipc-sentry ${version()}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  const named = COMMANDS.find((c) => c.name === first);
  if (named === undefined && first !== undefined && !first.startsWith('-') && !first.includes('.') && !first.includes('/')) {
    return usageError(undefined, `unknown command "${first}"`);
  }
  // No command (or a file or an option first) means the default, host-channel.
  const command = named ?? COMMANDS[0]!;
  const args = named === undefined ? argv : argv.slice(1);
  // A command with its own option parser (ipcs, as util-linux's) answers -h itself.
  if (command.raw !== undefined) return command.raw(args);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const parsed = parseArgs(command, args);
  if (typeof parsed === 'string') return usageError(command.name, parsed);
  return command.run!(parsed);
}

installOutput();
process.exitCode = await main(process.argv.slice(2));
