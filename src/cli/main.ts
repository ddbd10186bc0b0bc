#!/usr/bin/env node
/**
 * The ipc-sentry command line. Node-only edge of the project.
 */
import { runDemo } from './demo.js';

const USAGE = `usage: ipc-sentry <command>

commands:
  demo        two processes share a System V segment, step by step (the default)
  --help      this text

examples:
  ipc-sentry demo
  npm start
`;

function main(argv: readonly string[]): number {
  const [cmd = 'demo'] = argv;
  switch (cmd) {
    case 'demo':
      return runDemo();
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`ipc-sentry: unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
