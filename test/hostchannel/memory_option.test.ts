/**
 * `-m` / `--memory` as the isula client reads it: command_convert_membytes
 * while the command line is parsed, so a value it cannot read stops
 * `isula create` and `isula run` alike with EINVALIDARGS (125) and the
 * line `Invalid value "VALUE" for flag --memory` (the long name, even for
 * `-m`), before anything else is looked at. Also through the scenario
 * language, where the value is taken as typed.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { ContainerEngine, ENGINE_MESSAGES, MIN_MEMORY_LIMIT } from '../../src/hostchannel/engine.js';
import { convertMembytes, OPTION_ERROR_EXIT_STATUS } from '../../src/hostchannel/size.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { runEmulated } from '../../src/scenario/emulated/emulated.js';
import { parseScenario } from '../../src/scenario/parse/parse.js';

const refused = (value: string) => ({ exitStatus: 125, stderr: [`Invalid value "${value}" for flag --memory`] });
const engine = () => new ContainerEngine(new Kernel({ memTotalBytes: 1 << 30 }));

describe('convertMembytes', () => {
  it('names the option by its long name, and reads sizes as util_parse_byte_size_string does', () => {
    expect(convertMembytes('16M', 'memory')).toEqual(E.right(16n << 20n));
    expect(convertMembytes('0', 'memory')).toEqual(E.right(0n));
    expect(convertMembytes('1.5k', 'memory')).toEqual(E.right(1536n));
    expect(convertMembytes('9223372036854775807', 'memory')).toEqual(E.right(2n ** 63n - 1n));
    expect(convertMembytes('8191P', 'memory')).toEqual(E.right(8191n << 50n));
    expect(convertMembytes('1x', 'memory')).toEqual(E.left('Invalid value "1x" for flag --memory'));
    expect(convertMembytes('1x', 'shm-size')).toEqual(E.left('Invalid value "1x" for flag --shm-size'));
    expect(OPTION_ERROR_EXIT_STATUS).toBe(125);
  });
});

describe('isula create and run with -m', () => {
  it.each(['', '-1', '-10.0GiB', '+1', ' 1', '1 ', '1E', '8192P', '9223372036854775808', '0x10', '08', '1.', '1..5', '1.5.5', '10.12a3PIb', '1234.0a9', 'M'])(
    'refuses %j with exit 125 from both commands, and no container exists',
    (value) => {
      const e = engine();
      expect(e.create('c1', { memory: value })).toEqual(refused(value));
      expect(e.run('c1', { memory: value })).toEqual(refused(value));
      expect(e.names()).toEqual([]);
    },
  );

  it('refuses it while reading the command line: before the host channel, the name and the --ipc mode', () => {
    const e = engine();
    expect(e.create('c1', { memory: 'x', hostChannel: 'relative:/a::' })).toEqual(refused('x'));
    expect(e.create('-bad', { memory: 'x' })).toEqual(refused('x'));
    expect(e.create('c1', { memory: 'x', ipc: 'container:nobody' })).toEqual(refused('x'));
  });

  it('a value out of range given as a number is refused in the same words and with the same status', () => {
    const e = engine();
    expect(e.create('c1', { memoryLimit: 2n ** 63n })).toEqual(refused('9223372036854775808'));
    expect(e.create('c1', { memoryLimit: -1n })).toEqual(refused('-1'));
  });

  it('takes what it reads as the cgroup limit; the text wins over memoryLimit', () => {
    const e = engine();
    expect(e.run('c1', { memory: '4m' })).toEqual({ exitStatus: 0, stderr: [] });
    expect(e.inspect('c1')?.memoryLimit).toBe(4n << 20n);
    expect(e.run('c2', { memory: '4.5M', memoryLimit: 1n << 30n })).toEqual({ exitStatus: 0, stderr: [] });
    expect(e.inspect('c2')?.memoryLimit).toBe(4608n << 10n);
    expect(e.run('c3', { memory: '0' })).toEqual({ exitStatus: 0, stderr: [] });
    expect(e.inspect('c3')?.memoryLimit).toBe(0n);
  });

  it('the daemon refuses a limit above 0 and below 4 MiB: create exits 1, run 125, and nothing is left', () => {
    const e = engine();
    const minimum = { stderr: ['Error response from daemon: Minimum memory limit allowed is 4MB'] };
    expect(MIN_MEMORY_LIMIT).toBe(4194304n);
    expect(ENGINE_MESSAGES.memoryBelowMinimum).toBe(minimum.stderr[0]);
    expect(e.create('c1', { memory: '4194303' })).toEqual({ exitStatus: 1, ...minimum });
    expect(e.run('c1', { memory: '0.5M' })).toEqual({ exitStatus: 125, ...minimum });
    expect(e.create('c1', { memory: '1' })).toEqual({ exitStatus: 1, ...minimum });
    expect(e.names()).toEqual([]);
    // The client's checks come first: a bad channel spec, then the daemon's name checks.
    expect(e.create('c1', { memory: '1K', hostChannel: '/a:/b' })).toEqual({ exitStatus: 1, stderr: ['Bad host channel format: /a:/b'] });
    expect(e.create('-bad', { memory: '1K' }).stderr[0]).toMatch(/^Error response from daemon: Invalid container name/);
    expect(e.create('c1', { memory: '4M' }).exitStatus).toBe(0);
    expect(e.create('c1', { memory: '1K' }).stderr[0]).toMatch(/^Error response from daemon: Conflict/);
    // A number given through the API skips the floor, so that tests can build cgroups of a few pages.
    expect(e.create('c2', { memoryLimit: 8192n }).exitStatus).toBe(0);
  });
});

describe('-m in a scenario', () => {
  it('prints the client line and status 125 for a value isula cannot read', () => {
    const text = [
      'isula create -m 1.2.3M c1',
      'isula run --memory=-1 c1',
      'isula create -m=64Q c1',
      'isula create -m "" c1',
      'isula run -m 8M c1',
      'memcg c1',
      '',
    ].join('\n');
    const parsed = parseScenario(text, 'm.scn');
    if (E.isLeft(parsed)) throw new Error(JSON.stringify(parsed.left));
    const results = runEmulated(parsed.right).results.map((r) => (r.ok ? { exit: r.exit, stderr: r.stderr, memcg: r.memcg } : r));
    expect(results.slice(0, 4)).toEqual([
      { exit: 125, stderr: ['Invalid value "1.2.3M" for flag --memory'], memcg: undefined },
      { exit: 125, stderr: ['Invalid value "-1" for flag --memory'], memcg: undefined },
      { exit: 125, stderr: ['Invalid value "64Q" for flag --memory'], memcg: undefined },
      { exit: 125, stderr: ['Invalid value "" for flag --memory'], memcg: undefined },
    ]);
    expect(results[4]).toMatchObject({ exit: 0, stderr: [] });
    expect(results[5]).toMatchObject({ memcg: { limit: 8n << 20n } });
  });
});
