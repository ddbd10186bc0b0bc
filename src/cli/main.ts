#!/usr/bin/env node
/**
 * The ipc-sentry command line: the Node-only edge of the project.
 */
import { runDemo } from './demo.js';
import { diffCommand, ipcsCommand, runCommand } from './scenario.js';
import { transcriptCommand } from './transcript.js';

const USAGE = `usage: ipc-sentry <command> [options]

commands:
  host-channel [FILE] [--json]
                            the default: an iSulad container shares a 32 MiB tmpfs with the host
                            (examples/host-channel.scn): dd fills it and fails with ENOSPC exactly
                            as documented, then the host and the container exchange a message
                            through a file both map; printed as a terminal session (--json: the
                            scenario's JSON lines)
  demo                      two processes share a System V segment, step by step
  run FILE... [--backend emulated|native] [--check]
                            run scenario files and print one JSON line per statement;
                            --check exits 1 when an expectation fails, naming FILE:LINE
  diff FILE...              run each file on the emulator and on the real kernel and show
                            every statement where the two disagree (exit 1 if any do)
  ipcs [FILE]               run FILE on the emulator, then list its segments like ipcs -m
  help [COMMAND]            this text

exit status: 0 ran, 1 expectation failed or backends differ, 2 a file cannot be parsed
(nothing runs), 3 the native backend cannot run on this machine, 4 internal failure.

examples:
  ipc-sentry
  ipc-sentry run examples/tmpfs-short-write-enospc.scn --backend native --check
  ipc-sentry run examples/shmget-order.scn --check
  ipc-sentry run examples/shmget-order.scn --backend native
  ipc-sentry diff examples/*.scn
  ipc-sentry ipcs examples/rmid-attached.scn
`;

function main(argv: readonly string[]): number {
  const [cmd = 'host-channel', ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (cmd) {
    case 'demo':
      return runDemo();
    case 'host-channel': {
      const json = rest.includes('--json');
      const args = rest.filter((a) => a !== '--json');
      const bad = args.find((a) => a.startsWith('-'));
      if (bad !== undefined) return usageError(`unknown option ${bad}`);
      if (args.length > 1) return usageError('host-channel takes at most one FILE');
      return transcriptCommand(args[0], json);
    }
    case 'run': {
      let backend: 'emulated' | 'native' = 'emulated';
      let check = false;
      const files: string[] = [];
      for (let i = 0; i < rest.length; i += 1) {
        const a = rest[i]!;
        if (a === '--check') check = true;
        else if (a === '--backend') {
          const b = rest[(i += 1)];
          if (b !== 'emulated' && b !== 'native') return usageError(`--backend takes emulated or native, not ${b ?? 'nothing'}`);
          backend = b;
        } else if (a.startsWith('--backend=')) {
          const b = a.slice('--backend='.length);
          if (b !== 'emulated' && b !== 'native') return usageError(`--backend takes emulated or native, not ${b}`);
          backend = b;
        } else if (a.startsWith('-')) return usageError(`unknown option ${a}`);
        else files.push(a);
      }
      if (files.length === 0) return usageError('run needs at least one FILE');
      return runCommand(files, backend, check);
    }
    case 'diff': {
      const bad = rest.find((a) => a.startsWith('-'));
      if (bad !== undefined) return usageError(`unknown option ${bad}`);
      if (rest.length === 0) return usageError('diff needs at least one FILE');
      return diffCommand(rest);
    }
    case 'ipcs':
      if (rest.length > 1) return usageError('ipcs takes at most one FILE');
      return ipcsCommand(rest[0]);
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      return usageError(`unknown command "${cmd}"`);
  }
}

function usageError(message: string): number {
  process.stderr.write(`ipc-sentry: ${message}\n\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
