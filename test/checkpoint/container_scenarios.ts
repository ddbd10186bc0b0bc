/**
 * A fast-check arbitrary of scenario texts built around host-channel
 * containers (the differential fuzzer's generator has no isula statements,
 * since the native oracle cannot run them): two containers created, run,
 * stopped, restarted and removed at random, processes exec'd into them that
 * write, read and dd into the channel (some past a small -m limit, so OOM
 * kills happen), and a host process that writes, stats and unlinks there.
 *
 * fast-check draws abstract commands (a kind and two choice numbers);
 * `render` turns each into a statement the parser accepts at that point, or
 * into nothing when it cannot apply (a seventh exec, a write before open),
 * so shrinking keeps every script valid.
 */
import fc from 'fast-check';

const CONTAINERS = 2;
const MAX_EXECS = 6;

/** Each kind of command with its weight: enough runs and execs that processes in running containers do the writing. */
const KINDS = {
  run: 4,
  create: 1,
  start: 2,
  stop: 2,
  restart: 1,
  rm: 1,
  exec: 4,
  open: 4,
  write: 4,
  read: 2,
  cdd: 2,
  hdd: 1,
  hstat: 2,
  memcg: 2,
  unlink: 1,
} as const;
type Kind = keyof typeof KINDS;

type Command = readonly [Kind, number, number];

const commandArb: fc.Arbitrary<Command> = fc.tuple(
  fc.oneof(...Object.entries(KINDS).map(([kind, weight]) => ({ arbitrary: fc.constant(kind as Kind), weight }))),
  fc.nat({ max: 11 }),
  fc.nat({ max: 11 }),
);

/** The scenario text of `commands`. */
function render(commands: readonly Command[]): string {
  const lines = ['proc H'];
  const execs: { container: number; opened: boolean }[] = [];
  for (const [kind, a, b] of commands) {
    const c = `c${a % CONTAINERS}`;
    const chan = `/chan${a % CONTAINERS}`;
    const options = `${b % 2 === 1 ? '--rm ' : ''}${b % 3 === 0 ? '-m 32K ' : ''}--host-channel ${chan}:/ipc::64K`;
    // A process for the command: open picks among those without a descriptor, write and read among those with one.
    const candidates = execs
      .map((e, index) => ({ index, ...e }))
      .filter((e) => (kind === 'open' ? !e.opened : kind === 'write' || kind === 'read' ? e.opened : true));
    const proc = candidates.length === 0 ? undefined : candidates[b % candidates.length];
    switch (kind) {
      case 'run':
      case 'create':
        lines.push(`isula ${kind} ${options} ${c}`);
        break;
      case 'start':
      case 'stop':
      case 'restart':
        lines.push(`isula ${kind} ${c}`);
        break;
      case 'rm':
        lines.push(`isula rm ${b % 2 === 0 ? '-f ' : ''}${c}`);
        break;
      case 'exec':
        if (execs.length < MAX_EXECS) {
          lines.push(`proc P${execs.length} container=${c}`);
          execs.push({ container: a % CONTAINERS, opened: false });
        }
        break;
      case 'open':
        if (proc !== undefined) {
          lines.push(`P${proc.index} open /ipc/f${a % 2} O_RDWR|O_CREAT -> d${proc.index}`);
          execs[proc.index]!.opened = true;
        }
        break;
      case 'write':
        if (proc !== undefined) lines.push(`P${proc.index} write d${proc.index} "w${a}"`);
        break;
      case 'read':
        if (proc !== undefined) lines.push(`P${proc.index} read d${proc.index} 8`);
        break;
      case 'cdd':
        if (proc !== undefined) lines.push(`P${proc.index} dd if=/dev/zero of=/ipc/big bs=8K count=${1 + (a % 6)}`);
        break;
      case 'hdd':
        lines.push(`H dd if=/dev/zero of=${chan}/host bs=4K count=${1 + (b % 4)}`);
        break;
      case 'hstat':
        lines.push(b % 2 === 0 ? `H stat ${chan}/f${b % 4 === 0 ? 0 : 1}` : `H statfs ${chan}`);
        break;
      case 'memcg':
        lines.push(`memcg ${c}`);
        break;
      case 'unlink':
        lines.push(`H unlink ${chan}/${b % 2 === 0 ? 'big' : 'f0'}`);
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Scenario texts around containers, valid by construction. */
export const containerScenarioArb: fc.Arbitrary<string> = fc.array(commandArb, { minLength: 1, maxLength: 40, size: 'max' }).map(render);
