/**
 * Checkpoint and restore of containers with their /dev/shm and --ipc mode:
 * the restored engine binds the same tmpfs, joins the same namespaces, and
 * a damaged ipcMode, shmSize or shmPath is refused naming that field.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, PAGE_SIZE } from '../../src/abi/constants.js';
import { O_CREAT, O_RDONLY, O_WRONLY } from '../../src/abi/fs.js';
import { checkpoint, restoreWithEngine } from '../../src/checkpoint/index.js';
import type { RestoredMachine } from '../../src/checkpoint/index.js';
import { ContainerEngine } from '../../src/hostchannel/engine.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { errno, ok } from '../support/either.js';

const KEY = 0x5eed;

interface ContainerJson {
  name: string;
  ipcMode?: string | null;
  shmSize?: string;
  shmPath?: string | null;
}
type MetaJson = { engine: { containers: ContainerJson[] } };

function exec(engine: ContainerEngine, name: string): Process {
  const p = engine.exec(name);
  if (E.isLeft(p)) throw new Error(`exec ${name}: ${p.left.stderr.join('; ')}`);
  return p.right;
}

function writeText(p: Process, path: string, s: string): void {
  const fd = ok(p.open(path, O_CREAT | O_WRONLY, 0o644));
  ok(p.writeFd(fd, new TextEncoder().encode(s)));
  ok(p.close(fd));
}

function readText(p: Process, path: string): string {
  const fd = ok(p.open(path, O_RDONLY));
  return new TextDecoder().decode(ok(p.readFd(fd, 64)));
}

/** A donor with a 1 MiB /dev/shm and SysV objects, a joiner, a host-mode, a none and a created-only container. */
function machineWithModes(): { kernel: Kernel; engine: ContainerEngine } {
  const kernel = new Kernel({ memTotalBytes: 1 << 28 });
  const engine = new ContainerEngine(kernel);
  const host = kernel.spawn();
  ok(host.mkdir('/dev', 0o755));
  ok(host.mkdir('/dev/shm', 0o1777));
  for (const [name, options] of [
    ['web', { shmSize: '1M' }],
    ['j1', { ipc: 'container:web' }],
    ['h1', { ipc: 'host', shmSize: '2M' }],
    ['n1', { ipc: 'none' }],
  ] as const) {
    expect(engine.run(name, options).exitStatus).toBe(0);
  }
  expect(engine.create('later', { ipc: 'container:web', shmSize: '0' }).exitStatus).toBe(0);
  const donor = exec(engine, 'web');
  ok(donor.shmget(KEY, PAGE_SIZE, IPC_CREAT | 0o600));
  ok(donor.msgget(KEY, IPC_CREAT | 0o600));
  writeText(donor, '/dev/shm/note', 'kept in shm');
  return { kernel, engine };
}

function image(kernel: Kernel, engine: ContainerEngine): Uint8Array {
  const img = checkpoint(kernel, { engine });
  if (E.isLeft(img)) throw new Error(img.left.message);
  return img.right;
}

function restored(img: Uint8Array): RestoredMachine & { engine: ContainerEngine } {
  const m = restoreWithEngine(img);
  if (E.isLeft(m)) throw new Error(m.left.message);
  if (m.right.engine === undefined) throw new Error('no engine came back');
  return m.right as RestoredMachine & { engine: ContainerEngine };
}

describe('checkpoint of containers with /dev/shm and --ipc modes', () => {
  it('brings back each ipc mode and shm size, and the same shared namespace and tmpfs', () => {
    const { kernel, engine } = machineWithModes();
    const { kernel: k, engine: e } = restored(image(kernel, engine));
    for (const name of engine.names()) expect(e.inspect(name)).toEqual(engine.inspect(name));
    expect(e.inspect('h1')).toMatchObject({ ipcMode: 'host', shmSize: 2097152n });
    const donor = exec(e, 'web');
    const joiner = exec(e, 'j1');
    expect(joiner.ipcNamespace).toBe(donor.ipcNamespace);
    expect([errno(joiner.shmget(KEY, 0, 0)), errno(joiner.msgget(KEY, 0))]).toEqual(['ok', 'ok']);
    expect(readText(joiner, '/dev/shm/note')).toBe('kept in shm');
    expect(ok(joiner.statfs('/dev/shm')).blocks).toBe(256);
    expect(exec(e, 'h1').ipcNamespace).toBe(k.initialIpcNamespace);
    expect(E.isLeft(exec(e, 'n1').stat('/dev/shm'))).toBe(true);
    // The created-only joiner starts into the donor's namespace on the restored machine.
    expect(e.start('later').exitStatus).toBe(0);
    expect(errno(exec(e, 'later').shmget(KEY, 0, 0))).toBe('ok');
  });

  it('is byte-identical when re-imaged', () => {
    const { kernel, engine } = machineWithModes();
    const img = image(kernel, engine);
    const { kernel: k, engine: e } = restored(img);
    expect(Buffer.compare(Buffer.from(image(k, e)), Buffer.from(img))).toBe(0);
  });

  it('rm of the restored donor unmounts its tmpfs, and the joiner keeps the files', () => {
    const { kernel, engine } = machineWithModes();
    const { kernel: k, engine: e } = restored(image(kernel, engine));
    expect(e.rm('web', { force: true }).exitStatus).toBe(0);
    expect(k.initialMountNamespace.mounts().map((m) => m.mountpoint)).not.toContain('/var/lib/isulad/engines/lcr/web/mounts/shm');
    expect(readText(exec(e, 'j1'), '/dev/shm/note')).toBe('kept in shm');
  });
});

describe('restore of damaged /dev/shm fields', () => {
  const { kernel, engine } = machineWithModes();
  const opened = openImage(image(kernel, engine));
  const meta = opened.meta as MetaJson;
  const at = (name: string) => meta.engine.containers.findIndex((c) => c.name === name);

  function refusal(edit: (m: MetaJson) => void): { where: string; message: string } {
    const r = restoreWithEngine(reseal(opened, edited<MetaJson>(meta, edit)));
    if (E.isRight(r)) throw new Error('the damaged image was restored');
    return r.left;
  }

  it('saves the three fields of every container', () => {
    expect(meta.engine.containers.find((c) => c.name === 'web')).toMatchObject({
      ipcMode: null,
      shmSize: '1048576',
      shmPath: '/var/lib/isulad/engines/lcr/web/mounts/shm',
    });
    expect(meta.engine.containers.find((c) => c.name === 'n1')).toMatchObject({ ipcMode: 'none', shmPath: null });
  });

  it.each([
    ['an --ipc value no container can be created with', 'web', 'ipcMode', 'private'],
    ['an --ipc value of another type', 'web', 'ipcMode', 7],
    ['a shm size of 0', 'web', 'shmSize', '0'],
    ['a shm size past INT64_MAX', 'web', 'shmSize', '9223372036854775808'],
    ['a shm size that is no number', 'web', 'shmSize', 'big'],
    ["another container's shm path for a shareable one", 'web', 'shmPath', '/var/lib/isulad/engines/lcr/n1/mounts/shm'],
    ['a shm path for a none container', 'n1', 'shmPath', '/dev/shm'],
    ['a host container without the host /dev/shm', 'h1', 'shmPath', null],
    ['an unclean shm path for a joiner', 'j1', 'shmPath', '/var//lib/x'],
  ] as const)('refuses %s, naming the field', (_what, name, field, value) => {
    const i = at(name);
    const r = refusal((m) => {
      (m.engine.containers[i] as unknown as Record<string, unknown>)[field] = value;
    });
    expect(r.where).toMatch(new RegExp(`engine\\.containers\\[${i}\\]\\.${field}`));
  });

  it('refuses one of the three fields without the others', () => {
    const i = at('web');
    const r = refusal((m) => {
      delete m.engine.containers[i]!.shmSize;
    });
    expect(r.where).toContain(`engine.containers[${i}]`);
    expect(r.message).toMatch(/together/);
  });

  it('restores an image from before the fields as containers without a /dev/shm of their own', () => {
    const i = at('n1');
    const m = restoreWithEngine(
      reseal(
        opened,
        edited<MetaJson>(meta, (x) => {
          const c = x.engine.containers[i]!;
          delete c.ipcMode;
          delete c.shmSize;
          delete c.shmPath;
        }),
      ),
    );
    if (E.isLeft(m)) throw new Error(m.left.message);
    expect(m.right.engine?.inspect('n1')).toMatchObject({ shmSize: 67108864n });
    expect(m.right.engine?.inspect('n1')?.ipcMode).toBeUndefined();
  });
});
