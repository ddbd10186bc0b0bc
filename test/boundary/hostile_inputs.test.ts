/**
 * Hostile and careless values at the public API that api.property.test.ts
 * does not draw: buffers that are detached, shrunk, shared, or Uint8Array
 * subclasses and Proxies that lie about what they hold; option objects and
 * structs whose getters answer differently on each read or throw. Linux
 * copies user memory once, at the call, and faults (EFAULT) on memory it
 * cannot read: each call here must use the values it checked, refuse with
 * an errno (or, where the project throws for a JavaScript type error, a
 * TypeError naming the method), and leave nothing half-changed.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  ContainerEngine,
  GETALL,
  GETNCNT,
  IPC_CREAT,
  IPC_NOWAIT,
  IPC_PRIVATE,
  IPC_SET,
  IPC_STAT,
  Kernel,
  MAP_ANONYMOUS,
  MAP_SHARED,
  O_CREAT,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  SETALL,
  checkpoint,
  isPending,
  restore,
  restoreWithEngine,
} from '../../src/index.js';
import type { Process, SysError, SysResult } from '../../src/index.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { spawnWorker } from '../../src/node/worker.js';
import { errno, ok } from '../support/either.js';

function world(): { k: Kernel; p: Process; fd: number; q: number; addr: number } {
  const k = new Kernel({ memTotalBytes: 64 << 20 });
  const p = k.spawn();
  ok(p.mkdir('/tmp', 0o777));
  const fd = ok(p.open('/tmp/f', O_CREAT | O_RDWR, 0o644));
  const q = ok(p.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
  const addr = ok(p.mmap(-1, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, 0, 0));
  return { k, p, fd, q, addr };
}

/** A Uint8Array whose buffer has been transferred away (detached). */
function detached(): Uint8Array {
  const ab = new ArrayBuffer(8);
  const v = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return v;
}

/** A view of a resizable buffer that has shrunk below it (out of bounds: it reads as empty). */
function shrunk(): Uint8Array {
  // The resizable constructor and resize, which this project's lib typings (ES2022) do not declare.
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
  const rab = new Resizable(8, { maxByteLength: 16 });
  const v = new Uint8Array(rab, 4, 4);
  rab.resize(2);
  return v;
}

/** Uint8Array subclasses that lie about, or throw on, what they hold. */
class LongLiar extends Uint8Array {
  override get length(): number {
    return 100_000;
  }
}
class ShortLiar extends Uint8Array {
  override get length(): number {
    return 0;
  }
}
class LengthThrows extends Uint8Array {
  override get length(): number {
    throw new Error('length getter');
  }
}
class SpeciesThrows extends Uint8Array {
  static get [Symbol.species](): never {
    throw new Error('species getter');
  }
}

/** `base` with `key` answering `first` on the first read and `later` on every read after it. */
function changing<T extends object>(base: T, key: string, first: unknown, later: unknown): T {
  let reads = 0;
  Object.defineProperty(base, key, { enumerable: true, get: () => (reads++ === 0 ? first : later) });
  return base;
}

/** `base` with `key` a getter that throws. */
function throwing<T extends object>(base: T, key: string): T {
  Object.defineProperty(base, key, {
    enumerable: true,
    get: () => {
      throw new Error(`${key} getter`);
    },
  });
  return base;
}

const sound = (k: Kernel): void => expect(checkInvariants(k)).toEqual(E.right(undefined));

/** The result of a call that must not sleep (IPC_NOWAIT). */
function now<T>(r: SysResult<T>): E.Either<SysError, T> {
  if (isPending(r)) throw new Error('the call slept');
  return r;
}

describe('buffers that hold nothing: detached, or a view a resizable buffer shrank past', () => {
  for (const [name, make] of [
    ['detached', detached],
    ['shrunk', shrunk],
  ] as const) {
    it(`${name}: every call that takes bytes treats it as empty, as its length says, and none throws (msgsnd threw a TypeError)`, () => {
      const { k, p, fd, q, addr } = world();
      expect(ok(now(p.msgsnd(q, 1, make(), IPC_NOWAIT)))).toBe(0);
      expect(ok(now(p.msgrcv(q, 64, 0, IPC_NOWAIT))).text).toEqual(new Uint8Array(0));
      expect(ok(p.writeFd(fd, make()))).toBe(0);
      expect(ok(p.pwrite(fd, make(), 0))).toBe(0);
      expect(E.isRight(p.write(addr, make()))).toBe(true);
      expect(E.isRight(p.readInto(addr, make()))).toBe(true);
      expect(ok(p.fstat(fd)).size).toBe(0);
      const r = restore(make());
      expect(E.isLeft(r) && r.left.where).toBe('header');
      sound(k);
    });
  }

  it('a traced call takes one without throwing (the trace copied its bytes with slice, which throws on a detached buffer)', () => {
    const { k, p, fd, q, addr } = world();
    const shown: unknown[] = [];
    const off = k.onTrace((e) => {
      if (e.kind === 'syscall') shown.push(e.args[1]);
    });
    expect(ok(p.writeFd(fd, detached()))).toBe(0);
    expect(ok(p.pwrite(fd, detached(), 0))).toBe(0);
    expect(ok(now(p.msgsnd(q, 1, detached(), IPC_NOWAIT)))).toBe(0);
    expect(E.isRight(p.write(addr, detached()))).toBe(true);
    off();
    expect(shown.slice(0, 2)).toEqual([
      { kind: 'bytes', bytes: new Uint8Array(0), length: 0 },
      { kind: 'bytes', bytes: new Uint8Array(0), length: 0 },
    ]);
    sound(k);
  });
});

describe('Uint8Array subclasses and look-alikes', () => {
  const subclasses = [
    ['a length getter that says more', LongLiar],
    ['a length getter that says nothing', ShortLiar],
    ['a length getter that throws', LengthThrows],
    ['a species getter that throws', SpeciesThrows],
  ] as const;
  for (const [what, C] of subclasses) {
    it(`${what}: each call copies exactly the bytes the array holds, and none throws`, () => {
      const { k, p, fd, q, addr } = world();
      const mk = (): Uint8Array => new C([5, 6, 7, 8]);
      // Before: pwrite grew the file by a page and then threw from inside the copy (LongLiar), write repeated the bytes across 8 KiB.
      expect(ok(p.pwrite(fd, mk(), 0))).toBe(4);
      expect(ok(p.writeFd(fd, mk()))).toBe(4);
      expect(ok(p.fstat(fd)).size).toBe(4);
      expect(Array.from(ok(p.pread(fd, 16, 0)))).toEqual([5, 6, 7, 8]);
      expect(E.isRight(p.write(addr, mk()))).toBe(true);
      expect(Array.from(ok(p.read(addr, 6)))).toEqual([5, 6, 7, 8, 0, 0]);
      const into = new C(4);
      expect(E.isRight(p.readInto(addr + 1, into))).toBe(true);
      expect(Array.from(new Uint8Array(into.buffer))).toEqual([6, 7, 8, 0]);
      expect(ok(now(p.msgsnd(q, 1, mk(), IPC_NOWAIT)))).toBe(0);
      expect(Array.from(ok(now(p.msgrcv(q, 200_000, 0, IPC_NOWAIT))).text)).toEqual([5, 6, 7, 8]);
      sound(k);
    });
  }

  it('a Proxy of a Uint8Array, or an object that only inherits from Uint8Array.prototype, is no buffer: EFAULT, or the TypeError naming the method', () => {
    const { k, p, fd, q, addr } = world();
    for (const fake of [new Proxy(new Uint8Array([1, 2]), {}), Object.create(Uint8Array.prototype) as Uint8Array]) {
      expect(errno(p.writeFd(fd, fake))).toBe('EFAULT');
      expect(errno(p.pwrite(fd, fake, 0))).toBe('EFAULT');
      expect(errno(now(p.msgsnd(q, 1, fake, IPC_NOWAIT)))).toBe('EFAULT');
      expect(() => p.write(addr, fake)).toThrow(/Process\.write: bytes must be a Uint8Array/);
      expect(() => p.readInto(addr, fake)).toThrow(/Process\.readInto: dst must be a Uint8Array/);
      const r = restore(fake);
      expect(E.isLeft(r) && r.left.message).toBe('image: is not a Uint8Array');
    }
    expect(ok(p.fstat(fd)).size).toBe(0);
    expect(errno(now(p.msgrcv(q, 64, 0, IPC_NOWAIT)))).toBe('ENOMSG');
    sound(k);
  });

  it('restore reads the bytes an image subclass holds, whatever its getters say (it threw, or called the image damaged)', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    ok(k.spawn().shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const image = ok(checkpoint(k));
    for (const C of [LongLiar, ShortLiar, LengthThrows, SpeciesThrows]) {
      const copy = new C(image.length);
      copy.set(image);
      expect(E.isRight(restore(copy))).toBe(true);
      expect(E.isRight(restoreWithEngine(copy))).toBe(true);
    }
  });
});

describe('bytes are copied once, at the call (verified, no change needed)', () => {
  it('a Node Buffer or a SharedArrayBuffer view reused after pwrite, write and msgsnd changes nothing the kernel holds', () => {
    const { k, p, fd, q, addr } = world();
    const buf = Buffer.from('hello');
    ok(p.pwrite(fd, buf, 0));
    ok(p.write(addr, buf));
    ok(now(p.msgsnd(q, 1, buf, IPC_NOWAIT)));
    const shared = new Uint8Array(new SharedArrayBuffer(4)).fill(7);
    ok(now(p.msgsnd(q, 2, shared, IPC_NOWAIT)));
    buf.fill(0x41);
    shared.fill(9);
    expect(Buffer.from(ok(p.pread(fd, 5, 0))).toString()).toBe('hello');
    expect(Buffer.from(ok(p.read(addr, 5))).toString()).toBe('hello');
    expect(Buffer.from(ok(now(p.msgrcv(q, 64, 1, IPC_NOWAIT))).text).toString()).toBe('hello');
    expect(Array.from(ok(now(p.msgrcv(q, 64, 2, IPC_NOWAIT))).text)).toEqual([7, 7, 7, 7]);
    // And a restored kernel owns its pages: the image can be reused.
    const image = ok(checkpoint(k));
    const back = ok(restore(image));
    image.fill(0);
    expect(Buffer.from(ok((back.processes()[0] as Process).read(addr, 5))).toString()).toBe('hello');
  });
});

describe('structs read once: a getter that changes its answer cannot slip a value past the checks', () => {
  it('shmctl IPC_SET stores the mode it checked (it stored a later read: a string became mode 0)', () => {
    const { k, p } = world();
    const id = ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    ok(p.shmctl(id, IPC_SET, changing({ uid: 0, gid: 0 } as { uid: number; gid: number; mode: number }, 'mode', 0o640, 'zz')));
    const st = ok(p.shmctl(id, IPC_STAT));
    expect((st.ds?.perm.mode ?? 0) & 0o777).toBe(0o640);
    sound(k);
  });

  it('msgctl IPC_SET stores the qbytes it checked (a later read threw a SyntaxError from BigInt)', () => {
    const { k, p, q } = world();
    ok(p.msgctl(q, IPC_SET, changing({ uid: 0, gid: 0, mode: 0o600 } as { uid: number; gid: number; mode: number; qbytes: number }, 'qbytes', 100, 'x')));
    const st = ok(p.msgctl(q, IPC_STAT));
    expect(BigInt(st.ds?.qbytes ?? -1)).toBe(100n);
    sound(k);
  });

  it('semctl IPC_SET and SETALL use the values they checked (later reads threw, or stored 70000.5 & 0xffff)', () => {
    const { k, p } = world();
    const id = ok(p.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600));
    ok(p.semctl(id, 0, IPC_SET, changing({ uid: 0, gid: 0 } as { uid: number; gid: number; mode: number }, 'mode', 0o640, Symbol('s'))));
    const st = ok(p.semctl(id, 0, IPC_STAT));
    expect((st.ds?.perm.mode ?? 0) & 0o777).toBe(0o640);
    const later: unknown[] = [
      70000.5,
      Symbol('s'),
      {
        valueOf(): number {
          throw new Error('valueOf');
        },
      },
    ];
    for (const bad of later) {
      ok(p.semctl(id, 0, SETALL, changing([1, 2], '0', 3, bad)));
      expect(ok(p.semctl(id, 0, GETALL)).values).toEqual([3, 2]);
    }
    sound(k);
  });

  it('a semtimedop timeout read again after the call slept threw and left a waiter no call owned; now the copy sets the deadline', () => {
    const { k, p } = world();
    const id = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    let reads = 0;
    const timeout = {
      nsec: 0,
      get sec(): number {
        reads += 1;
        return (reads <= 3 ? 1 : Symbol('late')) as number;
      },
    };
    const r = p.semtimedop(id, [{ semNum: 0, semOp: -1, semFlg: 0 }], timeout);
    expect(reads).toBe(1);
    expect(ok(p.semctl(id, 0, GETNCNT)).ret).toBe(1);
    sound(k);
    k.advanceTime(1001);
    expect('state' in r && r.state).toBe('settled');
    expect(ok(p.semctl(id, 0, GETNCNT)).ret).toBe(0);
    sound(k);
  });

  it('restore uses the options it checked (a clock, pid allocator or limit read again could be anything, and threw)', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    ok(k.spawn().shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const image = ok(checkpoint(k));
    const cases: ReadonlyArray<readonly [string, unknown, unknown]> = [
      ['clock', () => 0, 5],
      ['allocatePid', undefined, 7],
      ['maxFrames', 100_000, Symbol('s')],
      ['maxMemTotalBytes', 64 << 20, Symbol('s')],
    ];
    for (const [key, first, later] of cases) {
      const back = restoreWithEngine(image, changing({}, key, first, later));
      const kernel = ok(back).kernel;
      expect(E.isRight(kernel.spawn().shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600))).toBe(true);
      sound(kernel);
    }
  });
});

describe('option objects read once', () => {
  it('mount flags: the mount keeps the booleans checked (it kept a later "yes", and the checkpoint would not restore)', () => {
    const { k, p } = world();
    ok(p.mkdir('/mnt', 0o755));
    ok(p.mkdir('/view', 0o755));
    const sb = ok(k.newTmpfs({}));
    const m = ok(p.mountTmpfs(sb, '/mnt', changing({}, 'readonly', false, 'yes')));
    expect(m.flags.readonly).toBe(false);
    const view = ok(p.bindMount('/mnt', '/view', changing({}, 'noexec', true, Symbol('s'))));
    expect(view.flags.noexec).toBe(true);
    expect(errno(p.mountTmpfs(sb, '/view', throwing({}, 'nodev')))).toBe('EFAULT');
    sound(k);
    expect(E.isRight(restore(ok(checkpoint(k))))).toBe(true);
  });

  it('ContainerEngine.create and run use the options they checked (a host channel read again as 5 threw from its parser)', () => {
    const k = new Kernel({ memTotalBytes: 64 << 20 });
    const engine = new ContainerEngine(k);
    expect(engine.create('c1', changing({}, 'hostChannel', '/hc:/hc:rw:4M', 5)).exitStatus).toBe(0);
    expect(engine.run('c2', changing({}, 'memoryLimit', 8n << 20n, 'x')).exitStatus).toBe(0);
    expect(engine.rm('c2', changing({}, 'force', true, 'no')).exitStatus).toBe(0);
    expect(engine.names()).toEqual(['c1']);
    sound(k);
  });
});

describe('structs whose fields cannot be read: EFAULT naming the field, nothing changed', () => {
  it('IPC_SET buffers, SETALL arrays, semop arrays and timeouts with a getter that throws', () => {
    const { k, p, q } = world();
    const shmid = ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const semid = ok(p.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600));
    const refusals: ReadonlyArray<readonly [string, () => E.Either<{ errno: string; message: string }, unknown>]> = [
      ['set.mode', () => p.shmctl(shmid, IPC_SET, throwing({ uid: 0, gid: 0 } as { uid: number; gid: number; mode: number }, 'mode'))],
      [
        'set.qbytes',
        () => p.msgctl(q, IPC_SET, throwing({ uid: 0, gid: 0, mode: 0o600 } as { uid: number; gid: number; mode: number; qbytes: number }, 'qbytes')),
      ],
      ['arg.uid', () => p.semctl(semid, 0, IPC_SET, throwing({ gid: 0, mode: 0o600 } as { uid: number; gid: number; mode: number }, 'uid'))],
      ['arg.1', () => p.semctl(semid, 0, SETALL, throwing([4, 5], '1'))],
      [
        'sops.0',
        () =>
          p.semtimedop(
            semid,
            throwing(
              [
                { semNum: 0, semOp: 1, semFlg: 0 },
                { semNum: 1, semOp: 1, semFlg: 0 },
              ],
              '0',
            ),
          ) as E.Either<{ errno: string; message: string }, unknown>,
      ],
      [
        'sops[1].semOp',
        () =>
          p.semop(semid, [
            { semNum: 0, semOp: 1, semFlg: 0 },
            throwing({ semNum: 1, semFlg: 0 } as { semNum: number; semOp: number; semFlg: number }, 'semOp'),
          ]) as E.Either<{ errno: string; message: string }, unknown>,
      ],
      [
        'timeout.nsec',
        () =>
          p.semtimedop(semid, [{ semNum: 0, semOp: -1, semFlg: 0 }], throwing({ sec: 0 } as { sec: number; nsec: number }, 'nsec')) as E.Either<
            { errno: string; message: string },
            unknown
          >,
      ],
    ];
    for (const [field, call] of refusals) {
      const r = call();
      expect(errno(r)).toBe('EFAULT');
      expect(E.isLeft(r) && r.left.message).toBe(`${field} could not be read`);
    }
    expect(ok(p.semctl(semid, 0, GETALL)).values).toEqual([0, 0]);
    expect(ok(p.semctl(semid, 0, GETNCNT)).ret).toBe(0);
    const st = ok(p.shmctl(shmid, IPC_STAT));
    expect((st.ds?.perm.mode ?? 0) & 0o777).toBe(0o600);
    sound(k);
  });
});

describe("a worker's Task with the same buffers", () => {
  it('a detached buffer, a Node Buffer, a subclass that lies and a Proxy: no throw but the TypeError naming the method, and each message holds exactly its bytes', async () => {
    const { k, p, q, addr } = world();
    const thread = spawnWorker(k, p, new URL('./programs/hostile_buffers.ts', import.meta.url), [q, addr]);
    if (E.isLeft(thread)) throw new Error(`spawnWorker: ${thread.left.message}`);
    const exit = await thread.right.done;
    expect(exit.error).toBeUndefined();
    const { calls, received } = exit.result as { calls: { what: string; outcome: string }[]; received: string[] };
    const byWhat = Object.fromEntries(calls.map((c) => [c.what, c.outcome]));
    // Before: msgsnd of a detached buffer threw from the mailbox's copy, a Node Buffer went as its toJSON
    // object and was refused with EFAULT, and the subclass sent 3000 bytes, mostly whatever the mailbox held.
    expect(byWhat).toEqual({
      'msgsnd detached': 'right',
      'write detached': 'right',
      'readInto detached': 'right',
      'msgsnd Buffer': 'right',
      'write Buffer': 'right',
      'readInto Buffer': 'right',
      'msgsnd Liar': 'right',
      'write Liar': 'right',
      'readInto Liar': 'right',
      'msgsnd Proxy': 'left EFAULT',
      'write Proxy': 'threw TypeError: Task.write: bytes must be a Uint8Array, not an object',
      'readInto Proxy': 'threw TypeError: Task.readInto: dst must be a Uint8Array, not an object',
    });
    expect(received).toEqual(['0:', '3:1,2,3', '3:4,5,6']);
    sound(k);
  });
});
