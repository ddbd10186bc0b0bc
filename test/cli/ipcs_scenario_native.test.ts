/**
 * `ipc-sentry ipcs` against the real util-linux ipcs, driven from scenario
 * text rather than the kernel API: the -l limits after the sysctls a
 * scenario writes (shmmax and shmall up to 2^64-1, whose products saturate;
 * the msg and sem limits at their edges), and every option set on a
 * namespace holding segments, sets and queues of several owners, with
 * semaphore values and waiters, queued messages, a locked segment and a
 * removed one still attached.
 *
 * The native side runs in a fresh IPC namespace, and for the objects also
 * in a fresh PID namespace whose next pid is 1000, so that its processes
 * get the pids the emulator gives (1000, 1001, ...); only the times differ,
 * and both sides' times are replaced by placeholders of the same width.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpcsOptions } from '../../src/cli/ipcs.js';
import { IPCS_SEM_CRASH, parseIpcsArgs, runIpcs } from '../../src/cli/ipcs.js';
import { readUserDatabase } from '../../src/cli/userdb.js';
import type { IpcNamespace } from '../../src/kernel/ipc_namespace.js';
import { runEmulated } from '../../src/scenario/emulated/emulated.js';
import { parseScenario } from '../../src/scenario/parse/parse.js';
import { ENV, whyRealIpcsUnavailable } from './real_ipcs.js';

const unavailable = whyRealIpcsUnavailable(true);

/** The options of an ipcs command line; a usage error fails the test. */
function opts(argv: readonly string[]): IpcsOptions {
  const parsed = parseIpcsArgs(argv);
  if (E.isLeft(parsed)) throw new Error(parsed.left);
  return parsed.right;
}

/** The namespaces after running scenario `text` on the emulator. */
function emulate(text: string): readonly IpcNamespace[] {
  const parsed = parseScenario(text, 'ipcs.scn');
  if (E.isLeft(parsed)) throw new Error(JSON.stringify(parsed.left));
  return runEmulated(parsed.right).namespaces;
}

/** What our ipcs prints for `argv`, as "stdout|stderr|status" text comparable with the shell's. */
function ours(ns: IpcNamespace, argv: readonly string[]): string {
  const out = runIpcs(ns, opts(argv), readUserDatabase(), 'utc');
  if (out.stderr === IPCS_SEM_CRASH) return 'rc=139\n';
  return `${out.stdout}${out.stderr}rc=0\n`;
}

/** A shell line that runs ipcs with `argv` and prints what `ours` prints. */
const shellIpcs = (argv: readonly string[]): string => `ipcs ${argv.join(' ')} 2>&1; echo rc=$?`;

/** ctime's two forms become fixed placeholders of the same width. */
function withoutTimes(text: string): string {
  return text
    .replace(/(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}/g, 'WWW MMM DD HH:MM:SS YYYY')
    .replace(/[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d/g, 'MMM DD HH:MM:SS');
}

describe.skipIf(unavailable !== undefined)(
  `ipcs -l after a scenario's sysctls, against the real ipcs${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    const U64_MAX = '18446744073709551615';
    /** Sysctl sets the kernel accepts; each is written in a fresh namespace on both sides. */
    const SETS: ReadonlyArray<Readonly<Record<string, string>>> = [
      {},
      { shmmax: U64_MAX, shmall: U64_MAX },
      { shmmax: '18446744073709551614', shmall: '18446744073709551614' },
      { shmall: '4503599627370495' },
      { shmall: '4503599627370496' },
      { shmall: '4503599627370497' },
      { shmmax: '9223372036854775808', shmall: '9223372036854775807' },
      { shmmax: '4294967295', shmall: '4294967295', shmmni: '32768' },
      { shmmax: '0', shmall: '0', shmmni: '0' },
      { shmmax: '1', shmall: '1' },
      { shmmax: '1023', shmall: '3' },
      { shmmax: '1536', shmall: '1048575' },
      { msgmax: '0', msgmnb: '0', msgmni: '0' },
      { msgmax: '2147483647', msgmnb: '2147483647', msgmni: '32768' },
      { msgmax: '1048576', msgmnb: '1536' },
      { sem: '0 0 0 0' },
      { sem: '32000 2147483647 1000 32000' },
      { sem: '-1 -1 -1 0' },
      { sem: '1 2 3 4' },
      { sem: '65536 5 6 7' },
    ];
    const GROUPS: readonly string[][] = [['-l'], ['-l', '-b'], ['-l', '--human'], ['-m', '-l', '-b'], ['-q', '-l', '--human'], ['-s', '-l']];

    for (const set of SETS) {
      it(`${JSON.stringify(set)}: every -l option set prints the same bytes`, () => {
        const scenario = Object.entries(set)
          .map(([k, v]) => (k === 'sem' ? `sysctl kernel.sem="${v}"\n` : `sysctl kernel.${k}=${v}\n`))
          .join('');
        const [ns] = emulate(scenario);
        const writes = Object.entries(set).map(([k, v]) => `printf '%s' '${v}' > /proc/sys/kernel/${k} || exit 9`);
        const script = [...writes, ...GROUPS.map((g) => `echo '=== ${g.join(' ')}'; ${shellIpcs(g)}`)].join('\n');
        const real = spawnSync('unshare', ['--ipc', 'sh', '-c', script], { encoding: 'utf8', env: ENV, cwd: tmpdir() });
        expect(real.status, real.stderr).toBe(0);
        expect(real.stdout).toBe(GROUPS.map((g) => `=== ${g.join(' ')}\n${ours(ns!, g)}`).join(''));
      });
    }
  },
);

/**
 * The objects both ways. Processes: A (root), U (uid and gid 998; the
 * passwd entry, if any, has a name longer than ipcs's 10 columns), V (uid
 * 12345, gid 54321: no names), W and X (root, left waiting on a semaphore).
 */
const SCENARIO = `proc A
proc U uid=998 gid=998
proc V uid=12345 gid=54321
proc W
proc X
A shmget 0x1234 4096 IPC_CREAT|0640 -> m1
U shmget 0x2345 100000 IPC_CREAT|0600 -> m2
V shmget IPC_PRIVATE 1 IPC_CREAT|0777 -> m3
A shmat m1 0 0 -> a1
A shmget 0x3456 2097152 IPC_CREAT|0600 -> m4
A shmat m4 0 0 -> a4
A shmctl m4 IPC_RMID
A shmctl m1 SHM_LOCK
A semget 0x5555 3 IPC_CREAT|0666 -> s1
A semctl s1 0 SETALL 5,0,32767
U semget IPC_PRIVATE 1 IPC_CREAT|0600 -> s2
U semop s2 0:+2
A msgget 0x7777 IPC_CREAT|0622 -> q1
A msgsnd q1 1 "hello" 0
A msgsnd q1 2 bytes=3000 0
V msgget IPC_PRIVATE 0600 -> q2
V msgsnd q2 5 bytes=1048 0
U msgget 0x8888 IPC_CREAT|0644 -> q3
U msgsnd q3 1 "x" 0
A msgrcv q3 10 0 0
A fill a4 8192 7
A fill a1 10 1
W semop s1 1:-1 => blocks
X semop s1 0:0 => blocks
`;

/**
 * The same, natively: main() is A; U, V, W and X are children made in that
 * order, each doing its steps when told through a pipe. argv[1] is a shell
 * script run at the end with posix_spawn (which copies no attachment). It
 * prints the five pids first.
 */
const C_SOURCE = String.raw`
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static void die(const char *what) { perror(what); exit(1); }
struct msgbuf_ { long type; char text[4096]; };

static void sop(int id, int num, int op) {
  struct sembuf b = { (unsigned short)num, (short)op, 0 };
  semop(id, &b, 1);
}

static void snd(int q, long type, const char *text, size_t len) {
  struct msgbuf_ m; m.type = type;
  if (text != NULL) memcpy(m.text, text, len); else memset(m.text, 0, len);
  if (msgsnd(q, &m, len, 0) != 0) die("msgsnd");
}

static void step(int n) {
  switch (n) {
  case 1: if (shmget(0x2345, 100000, IPC_CREAT | 0600) < 0) die("m2"); break;
  case 2: if (shmget(IPC_PRIVATE, 1, IPC_CREAT | 0777) < 0) die("m3"); break;
  case 3: { int s = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600); if (s < 0) die("s2"); sop(s, 0, 2); } break;
  case 4: { int q = msgget(IPC_PRIVATE, 0600); if (q < 0) die("q2"); snd(q, 5, NULL, 1048); } break;
  case 5: { int q = msgget(0x8888, IPC_CREAT | 0644); if (q < 0) die("q3"); snd(q, 1, "x", 1); } break;
  case 6: sop(semget(0x5555, 0, 0), 1, -1); break;
  case 7: sop(semget(0x5555, 0, 0), 0, 0); break;
  }
}

struct child { int pid, cmd, ack; };

static struct child start(int uid, int gid) {
  int c[2], a[2];
  if (pipe(c) != 0 || pipe(a) != 0) die("pipe");
  int pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) die("setresuid");
    int n;
    while (read(c[0], &n, sizeof n) == sizeof n) {
      step(n);
      if (write(a[1], &n, sizeof n) != sizeof n) die("ack");
    }
    _exit(0);
  }
  struct child ch = { pid, c[1], a[0] };
  return ch;
}

static void on(struct child *ch, int n, int wait_ack) {
  int r;
  if (write(ch->cmd, &n, sizeof n) != sizeof n) die("cmd");
  if (wait_ack && read(ch->ack, &r, sizeof r) != sizeof r) die("wait");
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  struct child U = start(998, 998), V = start(12345, 54321), W = start(0, 0), X = start(0, 0);
  int m1 = shmget(0x1234, 4096, IPC_CREAT | 0640);
  if (m1 < 0) die("m1");
  on(&U, 1, 1);
  on(&V, 2, 1);
  char *a1 = shmat(m1, NULL, 0);
  if (a1 == (void *)-1) die("shmat m1");
  int m4 = shmget(0x3456, 2097152, IPC_CREAT | 0600);
  if (m4 < 0) die("m4");
  char *a4 = shmat(m4, NULL, 0);
  if (a4 == (void *)-1) die("shmat m4");
  if (shmctl(m4, IPC_RMID, NULL) != 0 || shmctl(m1, SHM_LOCK, NULL) != 0) die("shmctl");
  int s1 = semget(0x5555, 3, IPC_CREAT | 0666);
  if (s1 < 0) die("s1");
  unsigned short vals[3] = { 5, 0, 32767 };
  if (semctl(s1, 0, SETALL, vals) != 0) die("SETALL");
  on(&U, 3, 1);
  int q1 = msgget(0x7777, IPC_CREAT | 0622);
  if (q1 < 0) die("q1");
  snd(q1, 1, "hello", 5);
  snd(q1, 2, NULL, 3000);
  on(&V, 4, 1);
  on(&U, 5, 1);
  struct msgbuf_ m;
  if (msgrcv(msgget(0x8888, 0), &m, 10, 0, 0) != 1) die("msgrcv");
  memset(a4, 7, 8192);
  memset(a1, 1, 10);
  on(&W, 6, 0);
  usleep(200000);
  on(&X, 7, 0);
  usleep(200000);
  printf("%d %d %d %d %d\n", getpid(), U.pid, V.pid, W.pid, X.pid);
  fflush(stdout);
  pid_t sh;
  char *shargv[] = { "sh", argv[1], NULL };
  if (posix_spawn(&sh, "/bin/sh", NULL, NULL, shargv, environ) != 0) die("posix_spawn");
  int status;
  if (waitpid(sh, &status, 0) < 0) die("waitpid");
  return 0;
}
`;

describe.skipIf(unavailable !== undefined)(
  `ipcs on a scenario's objects, against the real ipcs${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ipcs-scn-'));
      writeFileSync(join(dir, 'objects.c'), C_SOURCE);
      const cc = spawnSync('gcc', ['-O1', '-Wall', '-Werror', '-o', join(dir, 'objects'), join(dir, 'objects.c')], { encoding: 'utf8' });
      if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
    });
    afterAll(() => {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('every resource, output option and unit, and -i of each object, print the same bytes', () => {
      const groups: string[][] = [];
      for (const r of [[], ['-m'], ['-q'], ['-s'], ['-a'], ['-m', '-q'], ['-s', '-q'], ['-m', '-s']]) {
        for (const f of [[], ['-t'], ['-p'], ['-c'], ['-l'], ['-u']]) {
          for (const u of [[], ['-b'], ['--human']]) groups.push([...r, ...f, ...u]);
        }
      }
      for (const u of [[], ['-b'], ['--human'], ['-t']]) {
        for (const i of ['0', '1', '2', '3', '-1', '99']) groups.push(['-m', '-i', i, ...u]);
        for (const i of ['0', '1', '-1', '5']) groups.push(['-s', '-i', i, ...u]);
        for (const i of ['0', '1', '2', '-1', '7']) groups.push(['-q', '-i', i, ...u]);
      }
      groups.push(['-l', '-u'], ['-u', '-l'], ['-t', '-c'], ['-c', '-p', '-t'], ['-b', '--human'], ['--human', '-b'], ['-asmq'], ['--shm', '--time']);

      const [ns] = emulate(SCENARIO);
      const mine = groups.map((g) => `=== ${g.join(' ')}\n${ours(ns!, g)}`).join('');

      writeFileSync(join(dir, 'report.sh'), groups.map((g) => `echo '=== ${g.join(' ')}'; ${shellIpcs(g)}`).join('\n'));
      const real = spawnSync(
        'unshare',
        [
          '--ipc',
          '--pid',
          '--fork',
          '--mount-proc',
          'sh',
          '-c',
          `echo 999 > /proc/sys/kernel/ns_last_pid && ${join(dir, 'objects')} ${join(dir, 'report.sh')}`,
        ],
        { encoding: 'utf8', env: ENV, cwd: tmpdir() },
      );
      expect(real.status, real.stderr).toBe(0);
      // The shell reports the ipcs that util-linux 2.38.1 crashes in (-s -i with a negative id) on stdout.
      const [pids, ...report] = real.stdout.replace(/^Segmentation fault\n/gm, '').split('\n');
      // The shell is pid 1 of the new PID namespace; objects (A) and its children take 1000 on, as in the emulator.
      expect(pids).toBe('1000 1001 1002 1003 1004');
      expect(withoutTimes(report.join('\n'))).toBe(withoutTimes(mine));
    });
  },
);
