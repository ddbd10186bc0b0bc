/**
 * How the CLI's output ends. A reader that goes away (`ipc-sentry run F |
 * head -1`) ends the process quietly with status 141, as a program killed by
 * SIGPIPE reads to the shell; Node would otherwise print an unhandled 'error'
 * event. Lines are written as they are produced, so whatever finished before
 * an interruption has been shown.
 */

/** The status a shell reports for a process killed by SIGPIPE (128 + 13). */
export const EXIT_BROKEN_PIPE = 141;

export function installOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE);
      throw err;
    });
  }
}
