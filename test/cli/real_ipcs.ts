/**
 * What the tests that compare `ipc-sentry ipcs` with the real util-linux
 * ipcs need of the machine, and the environment they run it in.
 */
import { spawnSync } from 'node:child_process';

/** The real ipcs's environment: the C locale and UTC, so dates and digits print alike. */
export const ENV = { ...process.env, LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };

/**
 * Why the real ipcs cannot be the reference here, or undefined when it can:
 * Linux, root, util-linux 2.38's ipcs, gcc, and `unshare --ipc` (with
 * `pid`, also a PID namespace of its own with /proc mounted).
 */
export function whyRealIpcsUnavailable(pid: boolean): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  const version = spawnSync('ipcs', ['-V'], { encoding: 'utf8', env: ENV });
  if (version.status !== 0) return 'no ipcs';
  if (!/util-linux 2\.38(\.|$|\s)/.test(version.stdout)) return `ipcs is not util-linux 2.38 (${version.stdout.trim()})`;
  if (spawnSync('gcc', ['--version']).status !== 0) return 'no gcc';
  const unshare = pid ? ['--ipc', '--pid', '--fork', '--mount-proc', 'true'] : ['--ipc', 'true'];
  if (spawnSync('unshare', unshare).status !== 0) return `unshare ${pid ? '--ipc --pid' : '--ipc'} fails`;
  return undefined;
}
