/**
 * `ipc-sentry ipcs`: util-linux 2.38's options and layouts, byte for byte.
 *
 * Part one checks each layout against fixed text for a namespace built in
 * the model. Part two is differential: a small C program builds the same
 * segments natively in a fresh IPC namespace (unshare --ipc) and runs the
 * real ipcs there with each option set; the model, given the same pids and
 * clock readings, must print the same bytes on stdout and on stderr. It is
 * skipped (never passed) without root, gcc, unshare or util-linux 2.38's
 * ipcs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, SHM_LOCK } from '../../src/abi/constants.js';
import { SETVAL } from '../../src/abi/sem.js';
import type { IpcsOptions, UserDatabase } from '../../src/cli/ipcs.js';
import {
  IPCS_DEFAULTS,
  IPCS_SEM_CRASH,
  formatIpcsHelp,
  formatIpcsReport,
  humanSize,
  parseIdFile,
  parseIpcsArgs,
  runIpcs,
  userDatabaseOf,
} from '../../src/cli/ipcs.js';
import { sysvipcText } from '../../src/kernel/proc_sysvipc.js';
import { readUserDatabase } from '../../src/cli/userdb.js';
import type { IpcNamespace } from '../../src/kernel/ipc_namespace.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { SysResult } from '../../src/kernel/pending.js';
import { isPending } from '../../src/kernel/pending.js';
import { ok } from '../support/either.js';
import { ENV, whyRealIpcsUnavailable } from './real_ipcs.js';

const FIXED = 1_700_000_000; // Tue Nov 14 22:13:20 2023 UTC

const USERS: UserDatabase = userDatabaseOf(
  new Map([
    [0, 'root'],
    [1000, 'alice'],
    [1001, 'bartholomew-long'],
  ]),
  new Map([
    [0, 'root'],
    [100, 'users'],
  ]),
);

/** Parsed options, failing the test on a usage error. */
function opts(...argv: string[]): IpcsOptions {
  return ok(parseIpcsArgs(argv));
}

/**
 * alice (pid 1000) makes 0x5eed and attaches it, bob (1001) a private
 * 1536-byte segment, root (1002) a locked 1 MiB - 1 segment it attaches,
 * touches, detaches 40 days later and gives to uid 4242, and a 1-byte
 * segment with key -1 and mode 0; then alice removes 0x5eed while attached.
 */
function modelNamespace(): IpcNamespace {
  let now = FIXED;
  const k = new Kernel({ clock: () => now });
  const alice = k.spawn({ uid: 1000, gid: 100 });
  const bob = k.spawn({ uid: 1001, gid: 100 });
  const root = k.spawn();
  const a = ok(alice.shmget(0x5eed, 4096, IPC_CREAT | 0o640));
  ok(bob.shmget(IPC_PRIVATE, 1536, 0o600));
  const c = ok(root.shmget(0x7fffffff, 1048575, IPC_CREAT | 0o666));
  ok(root.shmget(-1, 1, IPC_CREAT | 0));
  now = FIXED + 60;
  ok(alice.write(ok(alice.shmat(a, 0, 0)), new Uint8Array([1])));
  ok(root.shmctl(c, SHM_LOCK));
  const at = ok(root.shmat(c, 0, 0));
  ok(root.fill(at, 3 * 4096, 7));
  now = FIXED + 40 * 86400 + 3723;
  ok(root.shmdt(at));
  ok(root.shmctl(c, IPC_SET, { uid: 4242, gid: 4343, mode: 0o664 }));
  ok(alice.shmctl(a, IPC_RMID));
  return root.ipcNamespace;
}

const text = (...lines: string[]): string => lines.map((l) => `${l}\n`).join('');

describe('ipcs layouts for a model namespace', () => {
  const ns = modelNamespace();
  const report = (...argv: string[]): string => formatIpcsReport(ns, opts(...argv), USERS, 'utc');

  it('plain ipcs: queues and semaphores empty, the segments in index order', () => {
    expect(report()).toBe(
      text(
        '',
        '------ Message Queues --------',
        'key        msqid      owner      perms      used-bytes   messages    ',
        '',
        '------ Shared Memory Segments --------',
        'key        shmid      owner      perms      bytes      nattch     status      ',
        '0x00000000 0          alice      640        4096       1          dest         ',
        '0x00000000 1          bartholome 600        1536       0                       ',
        '0x7fffffff 2          4242       664        1048575    0                 locked',
        '0xffffffff 3          root       0          1          0                       ',
        '',
        '------ Semaphore Arrays --------',
        'key        semid      owner      perms      nsems     ',
        '',
      ),
    );
    expect(report('-a')).toBe(report());
    expect(report('-q', '-m', '-s', '-b')).toBe(report());
  });

  it('-m, -s and -q pick sections', () => {
    expect(report('-m')).toBe(
      text(
        '',
        '------ Shared Memory Segments --------',
        'key        shmid      owner      perms      bytes      nattch     status      ',
        '0x00000000 0          alice      640        4096       1          dest         ',
        '0x00000000 1          bartholome 600        1536       0                       ',
        '0x7fffffff 2          4242       664        1048575    0                 locked',
        '0xffffffff 3          root       0          1          0                       ',
        '',
      ),
    );
    expect(report('-s')).toBe(text('', '------ Semaphore Arrays --------', 'key        semid      owner      perms      nsems     ', ''));
    expect(report('-q')).toBe(text('', '------ Message Queues --------', 'key        msqid      owner      perms      used-bytes   messages    ', ''));
  });

  it('-m --human: sizes in util-linux human form, right-aligned', () => {
    expect(report('-m', '--human')).toBe(
      text(
        '',
        '------ Shared Memory Segments --------',
        'key        shmid      owner      perms      size       nattch     status      ',
        '0x00000000 0          alice      640            4K     1          dest         ',
        '0x00000000 1          bartholome 600          1.5K     0                       ',
        '0x7fffffff 2          4242       664         1024K     0                 locked',
        '0xffffffff 3          root       0              1B     0                       ',
        '',
      ),
    );
  });

  it('-t: attach, detach and change times, "Not set" for never', () => {
    expect(report('-t')).toBe(
      text(
        '',
        '------ Message Queues Send/Recv/Change Times --------',
        'msqid    owner      send                 recv                 change              ',
        '',
        '------ Shared Memory Attach/Detach/Change Times --------',
        'shmid      owner      attached             detached             changed             ',
        '0          alice      Nov 14 22:14:20      Not set              Nov 14 22:13:20     ',
        '1          bartholome Not set              Not set              Nov 14 22:13:20     ',
        '2          4242       Nov 14 22:14:20      Dec 24 23:15:23      Dec 24 23:15:23     ',
        '3          root       Not set              Not set              Nov 14 22:13:20     ',
        '',
        '------ Semaphore Operation/Change Times --------',
        'semid    owner      last-op                    last-changed              ',
        '',
      ),
    );
  });

  it('-t in the local time zone follows TZ', () => {
    const saved = process.env['TZ'];
    process.env['TZ'] = 'Asia/Kolkata';
    try {
      const lines = formatIpcsReport(ns, opts('-m', '-t'), USERS, 'local').split('\n');
      expect(lines[3]).toBe('0          alice      Nov 15 03:44:20      Not set              Nov 15 03:43:20     ');
    } finally {
      if (saved === undefined) delete process.env['TZ'];
      else process.env['TZ'] = saved;
    }
  });

  it('-c: creator and owner, names uncut', () => {
    expect(report('-c')).toBe(
      text(
        '',
        '------ Message Queues Creators/Owners --------',
        'msqid      perms      cuid       cgid       uid        gid       ',
        '',
        '------ Shared Memory Segment Creators/Owners --------',
        'shmid      perms      cuid       cgid       uid        gid       ',
        '0          640        alice      users      alice      users     ',
        '1          600        bartholomew-long users      bartholomew-long users     ',
        '2          664        root       root       4242       4343      ',
        '3          0          root       root       root       root      ',
        '',
        '------ Semaphore Arrays Creators/Owners --------',
        'semid      perms      cuid       cgid       uid        gid       ',
        '',
      ),
    );
  });

  it('-p: creator and last-operator pids; semaphores print nothing at all', () => {
    expect(report('-p')).toBe(
      text(
        '',
        '------ Message Queues PIDs --------',
        'msqid      owner      lspid      lrpid     ',
        '',
        '------ Shared Memory Creator/Last-op PIDs --------',
        'shmid      owner      cpid       lpid      ',
        '0          alice      1000       1000      ',
        '1          bartholome 1001       0         ',
        '2          4242       1002       1002      ',
        '3          root       1002       0         ',
        '',
        '',
      ),
    );
  });

  it('-u: the SHM_INFO summary, and empty queue and semaphore summaries', () => {
    expect(report('-u')).toBe(
      text(
        '',
        '------ Messages Status --------',
        'allocated queues = 0',
        'used headers = 0',
        'used space = 0 bytes',
        '',
        '------ Shared Memory Status --------',
        'segments allocated 4',
        'pages allocated 259',
        'pages resident  4',
        'pages swapped   0',
        'Swap performance: 0 attempts\t 0 successes',
        '',
        '------ Semaphore Status --------',
        'used arrays = 0',
        'allocated semaphores = 0',
        '',
      ),
    );
    expect(report('-q', '-u', '-b')).toBe(
      text('', '------ Messages Status --------', 'allocated queues = 0', 'used headers = 0', 'used space (bytes) = 0', ''),
    );
    expect(report('-q', '-u', '--human')).toBe(text('', '------ Messages Status --------', 'allocated queues = 0', 'used headers = 0', 'used space = 0B', ''));
  });

  it('-l: the limits of a new namespace, saturating where shmall * page size passes 64 bits', () => {
    expect(report('-l')).toBe(
      text(
        '',
        '------ Messages Limits --------',
        'max queues system wide = 32000',
        'max size of message (bytes) = 8192',
        'default max size of queue (bytes) = 16384',
        '',
        '------ Shared Memory Limits --------',
        'max number of segments = 4096',
        'max seg size (kbytes) = 18014398509465599',
        'max total shared memory (kbytes) = 18446744073709551612',
        'min seg size (bytes) = 1',
        '',
        '------ Semaphore Limits --------',
        'max number of arrays = 32000',
        'max semaphores per array = 32000',
        'max semaphores system wide = 1024000000',
        'max ops per semop call = 500',
        'semaphore max value = 32767',
        '',
      ),
    );
    expect(report('-m', '-l', '-b')).toBe(
      text(
        '',
        '------ Shared Memory Limits --------',
        'max number of segments = 4096',
        'max seg size (bytes) = 18446744073692774399',
        'max total shared memory (bytes) = 18446744073709547520',
        'min seg size (bytes) = 1',
        '',
      ),
    );
    expect(report('-m', '-q', '-l', '--human')).toBe(
      text(
        '',
        '------ Messages Limits --------',
        'max queues system wide = 32000',
        'max size of message = 8K',
        'default max size of queue = 16K',
        '',
        '------ Shared Memory Limits --------',
        'max number of segments = 4096',
        'max seg size = 16E',
        'max total shared memory = 16E',
        'min seg size = 1B',
        '',
      ),
    );
  });

  it('-l reads the namespace limits', () => {
    const k = new Kernel();
    const ns = k.initialIpcNamespace;
    ok(k.writeSysctl(ns, 'shmmni', 1000n));
    ok(k.writeSysctl(ns, 'shmall', 12345n));
    ok(k.writeSysctl(ns, 'shmmax', 1048583n));
    expect(formatIpcsReport(ns, opts('-m', '-l'))).toBe(
      text(
        '',
        '------ Shared Memory Limits --------',
        'max number of segments = 1000',
        'max seg size (kbytes) = 1024',
        'max total shared memory (kbytes) = 49380',
        'min seg size (bytes) = 1',
        '',
      ),
    );
    expect(formatIpcsReport(ns, opts('-m', '-l', '--human'))).toBe(
      text(
        '',
        '------ Shared Memory Limits --------',
        'max number of segments = 1000',
        'max seg size = 1M',
        'max total shared memory = 48.2M',
        'min seg size = 1B',
        '',
      ),
    );
  });

  it('-i ID: one segment in detail; a removed one shows SHM_DEST in its mode', () => {
    expect(report('-m', '-i', '0')).toBe(
      text(
        '',
        'Shared memory Segment shmid=0',
        'uid=1000\tgid=100\tcuid=1000\tcgid=100',
        'mode=01640\taccess_perms=0640',
        'bytes=4096\tlpid=1000\tcpid=1000\tnattch=1',
        'att_time=Tue Nov 14 22:14:20 2023  ',
        'det_time=Not set                   ',
        'change_time=Tue Nov 14 22:13:20 2023  ',
        '',
      ),
    );
    expect(report('--shmems', '--id=2', '--bytes')).toBe(
      text(
        '',
        'Shared memory Segment shmid=2',
        'uid=4242\tgid=4343\tcuid=0\tcgid=0',
        'mode=02664\taccess_perms=0664',
        'bytes=1048575\tlpid=1002\tcpid=1002\tnattch=0',
        'att_time=Tue Nov 14 22:14:20 2023  ',
        'det_time=Sun Dec 24 23:15:23 2023  ',
        'change_time=Sun Dec 24 23:15:23 2023  ',
        '',
      ),
    );
    expect(report('-mi1', '--human').split('\n').slice(3, 5)).toEqual(['mode=0600\taccess_perms=0600', 'size=1.5K\tlpid=0\tcpid=1001\tnattch=0']);
    expect(report('-m', '-i', '3').split('\n')[3]).toBe('mode=0\taccess_perms=0');
  });

  it('-i of a missing id warns on stderr only; a negative id shows the first segment under that id', () => {
    expect(runIpcs(ns, opts('-m', '-i', '7'), USERS, 'utc')).toEqual({ stdout: '', stderr: 'ipcs: id 7 not found\n' });
    expect(runIpcs(ns, opts('-q', '-i', '0'), USERS, 'utc')).toEqual({ stdout: '', stderr: 'ipcs: id 0 not found\n' });
    expect(runIpcs(ns, opts('-s', '-i', '0'), USERS, 'utc')).toEqual({ stdout: '', stderr: 'ipcs: id 0 not found\n' });
    expect(report('-m', '-i', '-1')).toBe(report('-m', '-i', '0').replace('shmid=0', 'shmid=-1'));
    const empty = new Kernel().initialIpcNamespace;
    expect(runIpcs(empty, opts('-m', '-i', '-1'))).toEqual({ stdout: '', stderr: 'ipcs: id -1 not found\n' });
  });

  it('without a user database every id prints as a number', () => {
    const lines = formatIpcsReport(ns, opts('-m', '-c'), undefined, 'utc').split('\n');
    expect(lines[3]).toBe('0          640        1000       100        1000       100       ');
    expect(formatIpcsReport(ns, opts('-m'), undefined, 'utc').split('\n')[3]).toBe(
      '0x00000000 0          1000       640        4096       1          dest         ',
    );
  });

  it('cuts owner names to 10 bytes and pads by bytes, not characters', () => {
    const k = new Kernel({ clock: () => FIXED });
    const p = k.spawn({ uid: 7, gid: 7 });
    ok(p.shmget(1, 1, IPC_CREAT | 0o600));
    const names = userDatabaseOf(new Map([[7, 'ééééééé']]), new Map([[7, 'grü']]));
    expect(formatIpcsReport(p.ipcNamespace, opts('-m'), names).split('\n')[3]).toBe(
      '0x00000001 0          ééééé 600        1          0                       ',
    );
    expect(formatIpcsReport(p.ipcNamespace, opts('-m', '-c'), names).split('\n')[3]).toBe('0          600        ééééééé grü       ééééééé grü      ');
  });

  it("--help prints util-linux's text, and -V a version line", () => {
    const help = runIpcs(new Kernel().initialIpcNamespace, opts('--help'));
    expect(help.stdout).toBe(formatIpcsHelp());
    expect(help.stdout.startsWith('\nUsage:\n ipcs [resource-option...] [output-option]\n ipcs -m|-q|-s -i <id>\n')).toBe(true);
    expect(help.stdout.endsWith('\nFor more details see ipcs(1).\n')).toBe(true);
    expect(runIpcs(new Kernel().initialIpcNamespace, opts('-V')).stdout).toMatch(/^ipcs from util-linux 2\.38\.1/);
  });
});

describe('parseIpcsArgs', () => {
  it('resolves resources, the last output option and the last unit', () => {
    expect(opts()).toEqual(IPCS_DEFAULTS);
    expect(opts('-m')).toEqual({ resources: { msg: false, shm: true, sem: false }, format: 'default', unit: 'default' });
    expect(opts('-mt', '-c', '--human', '-b', 'file.scn')).toEqual({
      resources: { msg: false, shm: true, sem: false },
      format: 'creator',
      unit: 'bytes',
      file: 'file.scn',
    });
    expect(opts('f.scn', '--lim', '-s')).toMatchObject({ resources: { msg: false, shm: false, sem: true }, format: 'limits', file: 'f.scn' });
    expect(opts('-m', '-i', '-1')).toMatchObject({ id: -1 });
    expect(opts('-mi', ' +7')).toMatchObject({ id: 7 });
    expect(opts('--', '-m')).toEqual({ ...IPCS_DEFAULTS, file: '-m' });
  });

  it('stops at -h or -V, as ipcs exits there', () => {
    expect(opts('-i', '5', '-h')).toMatchObject({ action: 'help' });
    expect(opts('-mh', '--bogus')).toMatchObject({ action: 'help' });
    expect(opts('--vers')).toMatchObject({ action: 'version' });
  });

  it('refuses what ipcs refuses, in its words', () => {
    const left = (...argv: string[]): string | undefined => {
      const r = parseIpcsArgs(argv);
      return E.isLeft(r) ? r.left : undefined;
    };
    expect(left('-x')).toBe("invalid option -- 'x'");
    expect(left('--foo=1')).toBe("unrecognized option '--foo=1'");
    expect(left('-i')).toBe("option requires an argument -- 'i'");
    expect(left('--id')).toBe("option '--id' requires an argument");
    expect(left('-i', 'abc')).toBe("failed to parse id argument: 'abc'");
    expect(left('-m', '-i', '2147483648')).toBe("failed to parse id argument: '2147483648': Numerical result out of range");
    expect(left('-i', '5')).toBe('when using an ID, a single resource must be specified');
    expect(left('--h')).toBe("option '--h' is ambiguous; possibilities: '--human' '--help'");
    expect(left('--hum=3')).toBe("option '--human' doesn't allow an argument");
    expect(left('a.scn', 'b.scn')).toBe('ipcs takes at most one FILE, not 2');
  });
});

/**
 * Semaphore sets and queues: alice (pid 1000) makes set 0x5e4a of two and
 * sets semaphore 0 to 3, root (1002) a private set of one; alice makes
 * queue 0x4d5347, root a private queue. A minute later root waits for
 * semaphore 1 to go down and bob (1001) waits for semaphore 0 to be zero,
 * and bob sends a 5-byte and a 2000-byte message; an hour later root
 * receives the first and gives its queue to uid 4242 with qbytes 1000.
 */
function semMsgNamespace(): IpcNamespace {
  let now = FIXED;
  const k = new Kernel({ clock: () => now });
  const alice = k.spawn({ uid: 1000, gid: 100 });
  const bob = k.spawn({ uid: 1001, gid: 100 });
  const root = k.spawn();
  const s0 = ok(alice.semget(0x5e4a, 2, IPC_CREAT | 0o660));
  ok(alice.semctl(s0, 0, SETVAL, 3));
  ok(root.semget(IPC_PRIVATE, 1, 0o600));
  const q0 = ok(alice.msgget(0x4d5347, IPC_CREAT | 0o666));
  const q1 = ok(root.msgget(IPC_PRIVATE, 0o600));
  now = FIXED + 60;
  expect(isPending(root.semop(s0, [{ semNum: 1, semOp: -1, semFlg: 0 }]))).toBe(true);
  expect(isPending(bob.semop(s0, [{ semNum: 0, semOp: 0, semFlg: 0 }]))).toBe(true);
  atOnce(bob.msgsnd(q0, 1, new TextEncoder().encode('hello'), 0));
  atOnce(bob.msgsnd(q0, 2, new Uint8Array(2000), 0));
  now = FIXED + 3723;
  atOnce(root.msgrcv(q0, 64, 0, 0));
  ok(root.msgctl(q1, IPC_SET, { uid: 4242, gid: 4343, mode: 0o640, qbytes: 1000 }));
  return root.ipcNamespace;
}

describe('ipcs layouts for semaphore sets and message queues', () => {
  const ns = semMsgNamespace();
  const report = (...argv: string[]): string => formatIpcsReport(ns, opts(...argv), USERS, 'utc');

  it('plain ipcs lists the queues and the sets', () => {
    expect(report('-q', '-s')).toBe(
      text(
        '',
        '------ Message Queues --------',
        'key        msqid      owner      perms      used-bytes   messages    ',
        '0x004d5347 0          alice      666        2000         1           ',
        '0x00000000 1          4242       640        0            0           ',
        '',
        '------ Semaphore Arrays --------',
        'key        semid      owner      perms      nsems     ',
        '0x00005e4a 0          alice      660        2         ',
        '0x00000000 1          root       600        1         ',
        '',
      ),
    );
    expect(report('-q', '-s', '-b')).toBe(report('-q', '-s'));
  });

  it('every output option', () => {
    expect(report('-s', '-q', '-t')).toBe(
      text(
        '',
        '------ Message Queues Send/Recv/Change Times --------',
        'msqid    owner      send                 recv                 change              ',
        '0        alice      Nov 14 22:14:20      Nov 14 23:15:23      Nov 14 22:13:20     ',
        '1        4242       Not set              Not set              Nov 14 23:15:23     ',
        '',
        '------ Semaphore Operation/Change Times --------',
        'semid    owner      last-op                    last-changed              ',
        '0        alice       Not set                    Tue Nov 14 22:13:20 2023  ',
        '1        root        Not set                    Tue Nov 14 22:13:20 2023  ',
        '',
      ),
    );
    expect(report('-s', '-q', '-c')).toBe(
      text(
        '',
        '------ Message Queues Creators/Owners --------',
        'msqid      perms      cuid       cgid       uid        gid       ',
        '0          666        alice      users      alice      users     ',
        '1          640        root       root       4242       4343      ',
        '',
        '------ Semaphore Arrays Creators/Owners --------',
        'semid      perms      cuid       cgid       uid        gid       ',
        '0          660        alice      users      alice      users     ',
        '1          600        root       root       root       root      ',
        '',
      ),
    );
    expect(report('-s', '-q', '-p')).toBe(
      text(
        '',
        '------ Message Queues PIDs --------',
        'msqid      owner      lspid      lrpid     ',
        '0        alice        1001      1002',
        '1        4242            0         0',
        '',
        '',
      ),
    );
    expect(report('-s', '-q', '-u')).toBe(
      text(
        '',
        '------ Messages Status --------',
        'allocated queues = 2',
        'used headers = 1',
        'used space = 2000 bytes',
        '',
        '------ Semaphore Status --------',
        'used arrays = 2',
        'allocated semaphores = 3',
        '',
      ),
    );
    expect(report('-s', '-q', '-l')).toBe(
      text(
        '',
        '------ Messages Limits --------',
        'max queues system wide = 32000',
        'max size of message (bytes) = 8192',
        'default max size of queue (bytes) = 16384',
        '',
        '------ Semaphore Limits --------',
        'max number of arrays = 32000',
        'max semaphores per array = 32000',
        'max semaphores system wide = 1024000000',
        'max ops per semop call = 500',
        'semaphore max value = 32767',
        '',
      ),
    );
    expect(report('-q', '--human')).toBe(
      text(
        '',
        '------ Message Queues --------',
        'key        msqid      owner      perms      size         messages    ',
        '0x004d5347 0          alice      666            2K       1           ',
        '0x00000000 1          4242       640            0B       0           ',
        '',
      ),
    );
    expect(report('-s', '-i', '0')).toBe(
      text(
        '',
        'Semaphore Array semid=0',
        'uid=1000\t gid=100\t cuid=1000\t cgid=100',
        'mode=0660, access_perms=0660',
        'nsems = 2',
        'otime = Not set                   ',
        'ctime = Tue Nov 14 22:13:20 2023  ',
        'semnum     value      ncount     zcount     pid       ',
        '0          3          0          1          1000      ',
        '1          0          1          0          0         ',
        '',
      ),
    );
    expect(report('-q', '-i', '0')).toBe(
      text(
        '',
        'Message Queue msqid=0',
        'uid=1000\tgid=100\tcuid=1000\tcgid=100\tmode=0666',
        'cbytes=2000\tqbytes=16384\tqnum=1\tlspid=1001\tlrpid=1002',
        'send_time=Tue Nov 14 22:14:20 2023  ',
        'rcv_time=Tue Nov 14 23:15:23 2023  ',
        'change_time=Tue Nov 14 22:13:20 2023  ',
        '',
      ),
    );
    expect(report('-q', '-i', '1', '--human')).toBe(
      text(
        '',
        'Message Queue msqid=1',
        'uid=4242\tgid=4343\tcuid=0\tcgid=0\tmode=0640',
        'csize=0B\tqsize=1000B\tqnum=0\tlspid=0\tlrpid=0',
        'send_time=Not set                   ',
        'rcv_time=Not set                   ',
        'change_time=Tue Nov 14 23:15:23 2023  ',
        '',
      ),
    );
    expect(report('-q', '-i', '-1')).toBe(
      text(
        '',
        'Message Queue msqid=-1',
        'uid=1000\tgid=100\tcuid=1000\tcgid=100\tmode=0666',
        'cbytes=2000\tqbytes=0\tqnum=1\tlspid=1001\tlrpid=1002',
        'send_time=Tue Nov 14 22:14:20 2023  ',
        'rcv_time=Tue Nov 14 23:15:23 2023  ',
        'change_time=Tue Nov 14 22:13:20 2023  ',
        '',
      ),
    );
  });

  it('-l reads kernel.sem and the msg sysctls of the namespace', () => {
    const k = new Kernel();
    const ns = k.initialIpcNamespace;
    ok(k.writeSysctl(ns, 'sem', [250n, 64000n, 32n, 128n]));
    ok(k.writeSysctl(ns, 'msgmni', 100n));
    ok(k.writeSysctl(ns, 'msgmax', 4000n));
    ok(k.writeSysctl(ns, 'msgmnb', 20000n));
    expect(formatIpcsReport(ns, opts('-q', '-s', '-l', '--human'))).toBe(
      text(
        '',
        '------ Messages Limits --------',
        'max queues system wide = 100',
        'max size of message = 3.9K',
        'default max size of queue = 19.5K',
        '',
        '------ Semaphore Limits --------',
        'max number of arrays = 128',
        'max semaphores per array = 250',
        'max semaphores system wide = 64000',
        'max ops per semop call = 32',
        'semaphore max value = 32767',
        '',
      ),
    );
  });

  it('-s -i of a missing or negative id', () => {
    expect(runIpcs(ns, opts('-s', '-i', '5'), USERS, 'utc')).toEqual({ stdout: '', stderr: 'ipcs: id 5 not found\n' });
    expect(runIpcs(ns, opts('-q', '-i', '5'), USERS, 'utc')).toEqual({ stdout: '', stderr: 'ipcs: id 5 not found\n' });
    // util-linux 2.38.1 dies of SIGSEGV here; the model says so on stderr.
    expect(runIpcs(ns, opts('-s', '-i', '-1'), USERS, 'utc')).toEqual({ stdout: '', stderr: IPCS_SEM_CRASH });
    const empty = new Kernel().initialIpcNamespace;
    expect(runIpcs(empty, opts('-s', '-i', '-1'))).toEqual({ stdout: '', stderr: 'ipcs: id -1 not found\n' });
    expect(runIpcs(empty, opts('-q', '-i', '-1'))).toEqual({ stdout: '', stderr: 'ipcs: id -1 not found\n' });
  });
});

describe('humanSize and the user database files', () => {
  it('rounds to one decimal as util-linux does, carrying into the integer part', () => {
    expect([0n, 1n, 1023n, 1024n, 1536n, 1048575n, 1572865n, 50565120n, 2n ** 64n - 1n].map(humanSize)).toEqual([
      '0B',
      '1B',
      '1023B',
      '1K',
      '1.5K',
      '1024K',
      '1.5M',
      '48.2M',
      '16E',
    ]);
  });

  it('parses passwd and group text: the first entry of an id wins, comments and bad lines are skipped', () => {
    const m = parseIdFile('# comment\nroot:x:0:0::/root:/bin/sh\n\nbad:x:zz:1\ntoor:x:0:0::/:/bin/sh\n  daemon:x:1:1::/:/bin/false\n');
    expect([...m]).toEqual([
      [0, 'root'],
      [1, 'daemon'],
    ]);
  });

  it('reads /etc/passwd and /etc/group, and knows nobody when they cannot be read', () => {
    const none = readUserDatabase('/nonexistent/passwd', '/nonexistent/group');
    expect(none.userName(0)).toBeUndefined();
    expect(none.groupName(0)).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'ipcs-userdb-'));
    try {
      writeFileSync(join(dir, 'passwd'), 'alice:x:1000:100::/home/alice:/bin/sh\n');
      writeFileSync(join(dir, 'group'), 'users:x:100:\n');
      const db = readUserDatabase(join(dir, 'passwd'), join(dir, 'group'));
      expect([db.userName(1000), db.groupName(100), db.userName(100)]).toEqual(['alice', 'users', undefined]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// Differential: the real ipcs in a fresh IPC namespace.

const unavailable = whyRealIpcsUnavailable(false);

/**
 * Builds the scenario natively. argv: OUTDIR, then ipcs argument groups
 * separated by ";", where "@N" stands for the id of the N-th segment made.
 * Each group's stdout, stderr and exit status go to OUTDIR/N.out, .err, .rc.
 * ipcs is started with posix_spawn (vfork semantics), so starting it copies
 * no attachment (a fork would, and would move atime, lpid and nattch).
 * Each phase runs within one second of the clock; exit 75 means it did
 * not, and the run should be repeated.
 */
const C_SOURCE = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what) { perror(what); exit(1); }

static int get(key_t key, size_t size, int flags) {
  int id = shmget(key, size, flags);
  if (id < 0) die("shmget");
  return id;
}

static char *att(int id) {
  void *p = shmat(id, NULL, 0);
  if (p == (void *)-1) die("shmat");
  return p;
}

static void ctl(int id, int cmd) {
  if (shmctl(id, cmd, NULL) < 0) die("shmctl");
}

static void owner(int id, uid_t uid, gid_t gid, int mode) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) < 0) die("IPC_STAT");
  ds.shm_perm.uid = uid;
  ds.shm_perm.gid = gid;
  ds.shm_perm.mode = mode;
  if (shmctl(id, IPC_SET, &ds) < 0) die("IPC_SET");
}

union semun { int val; struct semid_ds *buf; unsigned short *array; };

static int sget(key_t key, int nsems, int flags) {
  int id = semget(key, nsems, flags);
  if (id < 0) die("semget");
  return id;
}

static void sop(int id, int num, int op) {
  struct sembuf b = { (unsigned short)num, (short)op, 0 };
  if (semop(id, &b, 1) < 0) die("semop");
}

static void setval(int id, int num, int value) {
  union semun a;
  a.val = value;
  if (semctl(id, num, SETVAL, a) < 0) die("SETVAL");
}

static void sowner(int id, uid_t uid, gid_t gid, int mode) {
  struct semid_ds ds;
  union semun a;
  a.buf = &ds;
  if (semctl(id, 0, IPC_STAT, a) < 0) die("sem IPC_STAT");
  ds.sem_perm.uid = uid;
  ds.sem_perm.gid = gid;
  ds.sem_perm.mode = mode;
  if (semctl(id, 0, IPC_SET, a) < 0) die("sem IPC_SET");
}

static int mget(key_t key, int flags) {
  int id = msgget(key, flags);
  if (id < 0) die("msgget");
  return id;
}

static void msend(int id, long type, size_t len) {
  static struct { long mtype; char text[4096]; } m;
  m.mtype = type;
  memset(m.text, 'x', len);
  if (msgsnd(id, &m, len, 0) < 0) die("msgsnd");
}

static void mowner(int id, uid_t uid, gid_t gid, int mode, unsigned long qbytes) {
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) < 0) die("msg IPC_STAT");
  ds.msg_perm.uid = uid;
  ds.msg_perm.gid = gid;
  ds.msg_perm.mode = mode;
  ds.msg_qbytes = qbytes;
  if (msgctl(id, IPC_SET, &ds) < 0) die("msg IPC_SET");
}

/* Copies /proc/sysvipc/NAME, as this namespace shows it, to DIR/sysvipc.NAME. */
static void save_proc(const char *dir, const char *name) {
  char from[80], to[512], buf[65536];
  snprintf(from, sizeof from, "/proc/sysvipc/%s", name);
  snprintf(to, sizeof to, "%s/sysvipc.%s", dir, name);
  FILE *in = fopen(from, "r"), *out = fopen(to, "w");
  if (in == NULL || out == NULL) die(from);
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  if (fclose(out) != 0) die(to);
}

static void sysctl(const char *name, const char *value) {
  char path[80];
  snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
  FILE *f = fopen(path, "w");
  if (f == NULL || fputs(value, f) < 0 || fclose(f) != 0) die(path);
}

/* Sleeps into the next second of CLOCK_REALTIME (past a tick, so the coarse clock has moved too), and returns it. */
static time_t next_second(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct timespec wait = { 0, 1000000000L - now.tv_nsec + 20000000L };
  if (wait.tv_nsec >= 1000000000L) { wait.tv_sec = 1; wait.tv_nsec -= 1000000000L; }
  nanosleep(&wait, NULL);
  return time(NULL);
}

static void run(const char *dir, int n, char **args) {
  char out[512], err[512], rc[512];
  snprintf(out, sizeof out, "%s/%d.out", dir, n);
  snprintf(err, sizeof err, "%s/%d.err", dir, n);
  snprintf(rc, sizeof rc, "%s/%d.rc", dir, n);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  if (posix_spawnp(&pid, "ipcs", &fa, NULL, args, environ) != 0) die("posix_spawnp ipcs");
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid");
  FILE *f = fopen(rc, "w");
  if (f == NULL) die(rc);
  fprintf(f, "%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  fclose(f);
}

int main(int argc, char **argv) {
  int fds[2];
  if (argc < 2 || pipe(fds) < 0) die("usage or pipe");
  /* The second process exists before any attachment, so it inherits none. */
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    int id[2];
    close(fds[1]);
    if (read(fds[0], id, sizeof id) != sizeof id) _exit(2);
    char *p = att(id[0]);
    p[4096] = 1;
    if (shmdt(p) < 0) _exit(3);
    static struct { long mtype; char text[64]; } m;
    if (msgrcv(id[1], &m, sizeof m.text, 0, IPC_NOWAIT) != 5) _exit(4);
    _exit(0);
  }
  close(fds[0]);
  sysctl("shmmni", "1000");
  sysctl("shmall", "12345");
  sysctl("shmmax", "1048583");
  sysctl("sem", "250 64000 32 128");
  sysctl("msgmni", "100");
  sysctl("msgmax", "4000");
  sysctl("msgmnb", "20000");

  int ids[16], n = 0, sids[8], ns = 0, qids[8], nq = 0;
  time_t t1 = next_second();
  int a = ids[n++] = get(0x5eed, 100, IPC_CREAT | 0644);
  int b = ids[n++] = get(IPC_PRIVATE, 3 * 4096 + 1, 0600);
  int c = ids[n++] = get(0x1234abcd, 65536, IPC_CREAT | 0660);
  int d = ids[n++] = get((key_t)0xfedcba98, 8192, IPC_CREAT | 0640);
  int e = ids[n++] = get(0x77, 1, IPC_CREAT | 0);
  att(a)[0] = 1;
  memset(att(c), 1, 2 * 4096);
  ctl(c, SHM_LOCK);
  owner(b, 65534, 65534, 0600);
  owner(c, 997, 997, 0660);
  owner(d, 12345, 54321, 0640);
  int s0 = sids[ns++] = sget(0x5e4a, 3, IPC_CREAT | 0640);
  setval(s0, 1, 5);
  sop(s0, 0, 2);
  sop(s0, 2, 1);
  int s1 = sids[ns++] = sget(IPC_PRIVATE, 1, 0600);
  int s2 = sids[ns++] = sget(0x7777, 2, IPC_CREAT | 0666);
  sowner(s2, 12345, 54321, 0604);
  int q0 = qids[nq++] = mget(0x4d5347, IPC_CREAT | 0640);
  msend(q0, 1, 5);
  msend(q0, 2, 100);
  qids[nq++] = mget(IPC_PRIVATE, 0600);
  int q2 = qids[nq++] = mget(0x1000, IPC_CREAT | 0666);
  mowner(q2, 65534, 65534, 0620, 2000);
  if (time(NULL) != t1) return 75;

  time_t t2 = next_second();
  int to_child[2] = { b, q0 };
  if (write(fds[1], to_child, sizeof to_child) != sizeof to_child) die("write");
  int status;
  if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child");
  att(a);
  ctl(a, IPC_RMID);
  ids[n++] = get(0x5eed, 200, IPC_CREAT | 0666);
  ctl(e, IPC_RMID);
  ids[n++] = get(0x99, 2 * 4096, IPC_CREAT | 0644);
  ids[n++] = get(0x100, 1536, IPC_CREAT | 0600);
  ids[n++] = get(0x101, 1048575, IPC_CREAT | 0600);
  sop(s2, 1, 3);
  if (semctl(s1, 0, IPC_RMID) < 0) die("sem IPC_RMID");
  sids[ns++] = sget(0x5e4b, 4, IPC_CREAT | 0600);
  msend(q2, 7, 1500);
  if (time(NULL) != t2) return 75;

  save_proc(argv[1], "shm");
  save_proc(argv[1], "sem");
  save_proc(argv[1], "msg");
  printf("%d %d %lld %lld %d %d %d", (int)getpid(), (int)child, (long long)t1, (long long)t2, n, ns, nq);
  for (int i = 0; i < n; i++) printf(" %d", ids[i]);
  for (int i = 0; i < ns; i++) printf(" %d", sids[i]);
  for (int i = 0; i < nq; i++) printf(" %d", qids[i]);
  printf("\n");
  fflush(stdout);

  static char idtext[64][16];
  char *args[64];
  int na = 0, group = 0, nid = 0;
  args[na++] = "ipcs";
  for (int i = 2; i <= argc; i++) {
    if (i == argc || strcmp(argv[i], ";") == 0) {
      args[na] = NULL;
      run(argv[1], group++, args);
      na = 1;
    } else if (argv[i][0] == '@') {
      const char *k = argv[i] + 1;
      int *from = *k == 's' ? sids : *k == 'q' ? qids : ids;
      if (*k == 's' || *k == 'q') k++;
      snprintf(idtext[nid], sizeof idtext[nid], "%d", from[atoi(k)]);
      args[na++] = idtext[nid++];
    } else {
      args[na++] = argv[i];
    }
  }
  return 0;
}
`;

/** What the native run reports: its pids, the second of each phase, and the segment, set and queue ids in creation order. */
interface NativeRun {
  readonly pid: number;
  readonly child: number;
  readonly t1: number;
  readonly t2: number;
  readonly ids: readonly number[];
  readonly semIds: readonly number[];
  readonly msgIds: readonly number[];
}

/** The ids a group's "@N", "@sN" and "@qN" stand for. */
interface IdLists {
  readonly ids: readonly number[];
  readonly semIds: readonly number[];
  readonly msgIds: readonly number[];
}

/** A call that must finish at once (IPC_NOWAIT, or nothing to wait for). */
function atOnce<T>(r: SysResult<T>): T {
  if (isPending(r)) throw new Error('expected the call to finish at once, not to wait');
  return ok(r);
}

/** The same scenario in the model, with the native run's pids and clock seconds. */
function modelOf(run: NativeRun): { ns: IpcNamespace } & IdLists {
  let clock = run.t1;
  const pids = [run.pid, run.child];
  const k = new Kernel({ clock: () => clock, allocatePid: () => pids.shift() ?? 999_999 });
  const parent = k.spawn();
  const child = k.spawn();
  const ns = parent.ipcNamespace;
  ok(k.writeSysctl(ns, 'shmmni', 1000n));
  ok(k.writeSysctl(ns, 'shmall', 12345n));
  ok(k.writeSysctl(ns, 'shmmax', 1048583n));
  ok(k.writeSysctl(ns, 'sem', [250n, 64000n, 32n, 128n]));
  ok(k.writeSysctl(ns, 'msgmni', 100n));
  ok(k.writeSysctl(ns, 'msgmax', 4000n));
  ok(k.writeSysctl(ns, 'msgmnb', 20000n));
  const ids: number[] = [];
  const semIds: number[] = [];
  const msgIds: number[] = [];
  const sget = (key: number, nsems: number, flags: number): number => {
    const id = ok(parent.semget(key, nsems, flags));
    semIds.push(id);
    return id;
  };
  const sop = (id: number, semNum: number, semOp: number): number => atOnce(parent.semop(id, [{ semNum, semOp, semFlg: 0 }]));
  const mget = (key: number, flags: number): number => {
    const id = ok(parent.msgget(key, flags));
    msgIds.push(id);
    return id;
  };
  const msend = (id: number, mtype: number, len: number): number => atOnce(parent.msgsnd(id, mtype, new Uint8Array(len).fill(0x78), 0));
  const get = (key: number, size: number, flags: number): number => {
    const id = ok(parent.shmget(key | 0, size, flags));
    ids.push(id);
    return id;
  };
  const a = get(0x5eed, 100, IPC_CREAT | 0o644);
  const b = get(IPC_PRIVATE, 3 * 4096 + 1, 0o600);
  const c = get(0x1234abcd, 65536, IPC_CREAT | 0o660);
  const d = get(0xfedcba98, 8192, IPC_CREAT | 0o640);
  const e = get(0x77, 1, IPC_CREAT | 0);
  ok(parent.write(ok(parent.shmat(a, 0, 0)), new Uint8Array([1])));
  ok(parent.fill(ok(parent.shmat(c, 0, 0)), 2 * 4096, 1));
  ok(parent.shmctl(c, SHM_LOCK));
  ok(parent.shmctl(b, IPC_SET, { uid: 65534, gid: 65534, mode: 0o600 }));
  ok(parent.shmctl(c, IPC_SET, { uid: 997, gid: 997, mode: 0o660 }));
  ok(parent.shmctl(d, IPC_SET, { uid: 12345, gid: 54321, mode: 0o640 }));
  const s0 = sget(0x5e4a, 3, IPC_CREAT | 0o640);
  ok(parent.semctl(s0, 1, SETVAL, 5));
  sop(s0, 0, 2);
  sop(s0, 2, 1);
  const s1 = sget(IPC_PRIVATE, 1, 0o600);
  const s2 = sget(0x7777, 2, IPC_CREAT | 0o666);
  ok(parent.semctl(s2, 0, IPC_SET, { uid: 12345, gid: 54321, mode: 0o604 }));
  const q0 = mget(0x4d5347, IPC_CREAT | 0o640);
  msend(q0, 1, 5);
  msend(q0, 2, 100);
  mget(IPC_PRIVATE, 0o600);
  const q2 = mget(0x1000, IPC_CREAT | 0o666);
  ok(parent.msgctl(q2, IPC_SET, { uid: 65534, gid: 65534, mode: 0o620, qbytes: 2000 }));

  clock = run.t2;
  const at = ok(child.shmat(b, 0, 0));
  ok(child.write(at + 4096, new Uint8Array([1])));
  ok(child.shmdt(at));
  expect(atOnce(child.msgrcv(q0, 64, 0, IPC_NOWAIT)).text.length).toBe(5);
  ok(child.exit());
  ok(parent.shmat(a, 0, 0));
  ok(parent.shmctl(a, IPC_RMID));
  get(0x5eed, 200, IPC_CREAT | 0o666);
  ok(parent.shmctl(e, IPC_RMID));
  get(0x99, 2 * 4096, IPC_CREAT | 0o644);
  get(0x100, 1536, IPC_CREAT | 0o600);
  get(0x101, 1048575, IPC_CREAT | 0o600);
  sop(s2, 1, 3);
  ok(parent.semctl(s1, 0, IPC_RMID));
  sget(0x5e4b, 4, IPC_CREAT | 0o600);
  msend(q2, 7, 1500);
  return { ns, ids, semIds, msgIds };
}

/** Option sets run both ways; "@N" is the id of the N-th segment made. */
const GROUPS: readonly string[][] = [
  [],
  ['-a'],
  ['-m'],
  ['-q'],
  ['-s'],
  ['-b'],
  ['-m', '--human'],
  ['-t'],
  ['-m', '-t'],
  ['-c'],
  ['-p'],
  ['-a', '-p'],
  ['-u'],
  ['-u', '-b'],
  ['-u', '--human'],
  ['-l'],
  ['-l', '-b'],
  ['-l', '--human'],
  ['-m', '-l', '--human'],
  ['--shmems', '--creator'],
  ['-mt'],
  ['-m', '-i', '@0'],
  ['-m', '-i', '@1'],
  ['-m', '-i', '@2', '--human'],
  ['-m', '-i', '@3', '-b'],
  ['-m', '-i', '@6'],
  ['-m', '-i', '@7', '--human'],
  ['-m', '-i', '@8', '--human'],
  ['-m', '--id', '@5'],
  ['--shmems', '--id=1', '--human'],
  ['-m', '-i', '-1'],
  ['-m', '-i', '999'],
  ['-q', '-i', '0'],
  ['-s', '-i', '0'],
  ['-s', '-t'],
  ['-q', '-t'],
  ['-s', '-c'],
  ['-q', '-c'],
  ['-q', '-p'],
  ['-s', '-p'],
  ['-q', '--human'],
  ['-q', '-b'],
  ['-s', '-u'],
  ['-q', '-u'],
  ['-q', '-u', '-b'],
  ['-q', '-u', '--human'],
  ['-s', '-l'],
  ['-q', '-l'],
  ['-q', '-l', '-b'],
  ['-q', '-l', '--human'],
  ['-s', '-q', '-t'],
  ['--semaphores', '--queues', '--human'],
  ['-s', '-i', '@s0'],
  ['-s', '-i', '@s1'],
  ['-s', '-i', '@s2'],
  ['-s', '-i', '@s3'],
  ['--semaphores', '--id', '@s0'],
  ['-s', '-i', '-1'],
  ['-s', '-i', '999'],
  ['-q', '-i', '@q0'],
  ['-q', '-i', '@q1', '-b'],
  ['-q', '-i', '@q2', '--human'],
  ['-q', '-i', '@q2', '-b'],
  ['-q', '-i', '-1'],
  ['-q', '-i', '-1', '--human'],
  ['-q', '-i', '999'],
];

/** A group's arguments with "@N", "@sN" and "@qN" replaced by the ids they stand for. */
function withIds(group: readonly string[], lists: IdLists): string[] {
  return group.map((a) =>
    a.replace(/@([sq]?)(\d+)/, (_, kind: string, i: string) => String((kind === 's' ? lists.semIds : kind === 'q' ? lists.msgIds : lists.ids)[Number(i)])),
  );
}

describe.skipIf(unavailable !== undefined)(`the real ipcs in a fresh IPC namespace${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, () => {
  let dir = '';
  let prog = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ipcs-diff-'));
    writeFileSync(join(dir, 'ipcs_state.c'), C_SOURCE);
    prog = join(dir, 'ipcs_state');
    const cc = spawnSync('gcc', ['-O1', '-Wall', '-Werror', '-o', prog, join(dir, 'ipcs_state.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the real ipcs with `argv` in an empty fresh namespace. */
  const realEmpty = (argv: readonly string[]) => spawnSync('unshare', ['--ipc', 'ipcs', ...argv], { encoding: 'utf8', env: ENV });

  it('an empty namespace: every option set prints the same bytes', () => {
    const empty = new Kernel().initialIpcNamespace;
    for (const argv of GROUPS.filter((g) => !g.some((a) => a.includes('@')))) {
      const real = realEmpty(argv);
      const model = runIpcs(empty, opts(...argv), readUserDatabase(), 'utc');
      expect({ argv, status: real.status, stdout: real.stdout, stderr: real.stderr }).toEqual({ argv, status: 0, stdout: model.stdout, stderr: model.stderr });
    }
  });

  it('segments, sets and queues made natively and in the model print the same bytes for every option set, and the same /proc/sysvipc', () => {
    const out = join(dir, 'out');
    const args = [out, ...GROUPS.flatMap((g, i) => (i === 0 ? g : [';', ...g]))];
    let native: ReturnType<typeof spawnSync> | undefined;
    for (let attempt = 0; attempt < 4; attempt += 1) {
      rmSync(out, { recursive: true, force: true });
      spawnSync('mkdir', ['-p', out]);
      native = spawnSync('unshare', ['--ipc', prog, ...args], { encoding: 'utf8', env: ENV });
      if (native.status !== 75) break;
    }
    expect(native?.status, String(native?.stderr)).toBe(0);
    const [pid, child, t1, t2, nShm, nSem, nMsg, ...rest] = String(native!.stdout).trim().split(' ').map(Number) as number[];
    const run: NativeRun = {
      pid: pid!,
      child: child!,
      t1: t1!,
      t2: t2!,
      ids: rest.slice(0, nShm),
      semIds: rest.slice(nShm, nShm! + nSem!),
      msgIds: rest.slice(nShm! + nSem!, nShm! + nSem! + nMsg!),
    };
    const model = modelOf(run);
    expect({ ids: model.ids, semIds: model.semIds, msgIds: model.msgIds }).toEqual({ ids: run.ids, semIds: run.semIds, msgIds: run.msgIds });
    for (const file of ['shm', 'sem', 'msg'] as const) {
      expect({ file, text: sysvipcText(model.ns, file) }).toEqual({ file, text: readFileSync(join(out, `sysvipc.${file}`), 'utf8') });
    }
    const users = readUserDatabase();
    GROUPS.forEach((group, n) => {
      const real = {
        status: Number(readFileSync(join(out, `${n}.rc`), 'utf8')),
        stdout: readFileSync(join(out, `${n}.out`), 'utf8'),
        stderr: readFileSync(join(out, `${n}.err`), 'utf8'),
      };
      const argv = withIds(group, run);
      const mine = runIpcs(model.ns, opts(...withIds(group, model)), users, 'utc');
      if (mine.stderr === IPCS_SEM_CRASH) {
        // util-linux 2.38.1 dies of SIGSEGV here; its buffered stdout is lost.
        expect({ argv, ...real }).toEqual({ argv, status: 139, stdout: '', stderr: '' });
        expect(mine.stdout).toBe('');
      } else {
        expect({ argv, ...real }).toEqual({ argv, status: 0, ...mine });
      }
    });
  });

  it('usage errors: the real ipcs prints "ipcs: " and the same message; help is the same text', () => {
    const cases: string[][] = [
      ['-x'],
      ['--foo'],
      ['--foo=1'],
      ['-mx'],
      ['-i'],
      ['--id'],
      ['-i', 'abc'],
      ['-i', ''],
      ['-m', '-i', '99999999999'],
      ['-m', '-i', '2147483648'],
      ['-m', '-i', '7x'],
      ['-i', '5'],
      ['-a', '-i', '5'],
      ['-m', '-s', '-i', '0'],
      ['--h'],
      ['--human=3'],
      ['--shm=1'],
      ['--i'],
      ['-i', 'abc', '-h'],
      ['-h', '-x'],
      ['-mh'],
      ['--help'],
      ['--he'],
    ];
    for (const argv of cases) {
      const real = realEmpty(argv);
      const parsed = parseIpcsArgs(argv);
      if (real.status === 0) {
        expect({ argv, parsed: E.isRight(parsed) && parsed.right.action, stdout: real.stdout }).toEqual({ argv, parsed: 'help', stdout: formatIpcsHelp() });
      } else {
        expect({ argv, status: real.status, first: real.stderr.split('\n')[0] }).toEqual({
          argv,
          status: 1,
          first: `ipcs: ${E.isLeft(parsed) ? parsed.left : '(accepted)'}`,
        });
      }
    }
  });
});
