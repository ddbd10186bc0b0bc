/**
 * /proc/sysvipc/{shm,sem,msg} of a model namespace. Part one checks fixed
 * text; part two builds the same objects natively in a fresh IPC namespace
 * (unshare --ipc) with a small C program, which copies the three files as
 * that namespace shows them (/proc/sysvipc follows the reader's IPC
 * namespace, so the program reads its own), and compares them byte for
 * byte. Part two is skipped (never passed) without Linux, root, gcc,
 * unshare or /proc/sysvipc.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, SHM_LOCK } from '../../src/abi/constants.js';
import { SYSVIPC_HEADERS, sysvipcMsg, sysvipcSem, sysvipcShm, sysvipcText } from '../../src/kernel/proc_sysvipc.js';
import type { IpcNamespace } from '../../src/kernel/ipc_namespace.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { SysResult } from '../../src/kernel/pending.js';
import { isPending } from '../../src/kernel/pending.js';
import { ok } from '../support/either.js';

const FIXED = 1_700_000_000;

/** A call that must finish at once. */
function atOnce<T>(r: SysResult<T>): T {
  if (isPending(r)) throw new Error('expected the call to finish at once, not to wait');
  return ok(r);
}

const text = (...lines: string[]): string => lines.map((l) => `${l}\n`).join('');

/**
 * One process (pid `pid`) at second `t`: segment 0x5eed of 10000 bytes,
 * attached with two pages written; a locked segment with key -5; a private
 * one-byte segment, attached, then removed (SHM_DEST); set 0x11 of five
 * with semaphore 3 raised by 4; set -7 of one; queue 0x22 given messages of
 * 10, 20 and 30 bytes, the first received again; a private queue given to
 * uid 1234, gid 5678. The C program below does the same.
 */
function modelOf(pid: number, t: number): IpcNamespace {
  const pids = [pid];
  const k = new Kernel({ clock: () => t, allocatePid: () => pids.shift() ?? 999_999 });
  const p = k.spawn();
  const a = ok(p.shmget(0x5eed, 10000, IPC_CREAT | 0o640));
  const at = ok(p.shmat(a, 0, 0));
  ok(p.write(at, new Uint8Array([1])));
  ok(p.write(at + 4096, new Uint8Array([1])));
  const b = ok(p.shmget(-5, 4096, IPC_CREAT | 0o600));
  ok(p.shmctl(b, SHM_LOCK));
  const c = ok(p.shmget(IPC_PRIVATE, 1, 0o600));
  ok(p.shmat(c, 0, 0));
  ok(p.shmctl(c, IPC_RMID));
  const s0 = ok(p.semget(0x11, 5, IPC_CREAT | 0o644));
  atOnce(p.semop(s0, [{ semNum: 3, semOp: 4, semFlg: 0 }]));
  ok(p.semget(-7, 1, IPC_CREAT | 0o600));
  const q0 = ok(p.msgget(0x22, IPC_CREAT | 0o666));
  for (const len of [10, 20, 30]) atOnce(p.msgsnd(q0, 1, new Uint8Array(len).fill(0x61), 0));
  atOnce(p.msgrcv(q0, 64, 0, IPC_NOWAIT));
  const q1 = ok(p.msgget(IPC_PRIVATE, 0o600));
  ok(p.msgctl(q1, IPC_SET, { uid: 1234, gid: 5678, mode: 0o600, qbytes: 16384 }));
  return p.ipcNamespace;
}

describe('/proc/sysvipc of a model namespace', () => {
  it('an empty namespace shows the header lines only', () => {
    const ns = new Kernel().initialIpcNamespace;
    expect([sysvipcShm(ns), sysvipcSem(ns), sysvipcMsg(ns)]).toEqual([SYSVIPC_HEADERS.shm, SYSVIPC_HEADERS.sem, SYSVIPC_HEADERS.msg]);
  });

  it('one line per object: signed keys, full modes in octal, rss in bytes, pids and times', () => {
    const ns = modelOf(4321, FIXED);
    expect(sysvipcText(ns, 'shm')).toBe(
      text(
        '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap',
        '     24301          0   640                 10000  4321  4321      1     0     0     0     0 1700000000          0 1700000000                  8192                     0',
        '        -5          1  2600                  4096  4321     0      0     0     0     0     0          0          0 1700000000                     0                     0',
        '         0          2  1600                     1  4321  4321      1     0     0     0     0 1700000000          0 1700000000                     0                     0',
      ),
    );
    expect(sysvipcText(ns, 'sem')).toBe(
      text(
        '       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime',
        '        17          0   644          5     0     0     0     0 1700000000 1700000000',
        '        -7          1   600          1     0     0     0     0          0 1700000000',
      ),
    );
    expect(sysvipcText(ns, 'msg')).toBe(
      text(
        '       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime',
        '        34          0   666          50          2  4321  4321     0     0     0     0 1700000000 1700000000 1700000000',
        '         0          1   600           0          0     0     0  1234  5678     0     0          0          0 1700000000',
      ),
    );
  });
});

// ---------------------------------------------------------------------------
// Differential: the real files in a fresh IPC namespace.

function whyUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/proc/sysvipc/shm')) return 'no /proc/sysvipc';
  if (spawnSync('gcc', ['--version']).status !== 0) return 'no gcc';
  if (spawnSync('unshare', ['--ipc', 'true']).status !== 0) return 'unshare --ipc fails';
  return undefined;
}

const unavailable = whyUnavailable();

/**
 * Builds modelOf's objects natively within one second of the clock (exit
 * 75: it did not; run again), copies /proc/sysvipc/{shm,sem,msg} to
 * OUTDIR/{shm,sem,msg}, and prints its pid and that second.
 */
const C_SOURCE = String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }
static int chk(int r, const char *what) { if (r < 0) die(what); return r; }

static void copy(const char *dir, const char *name) {
  char from[64], to[512], buf[65536];
  snprintf(from, sizeof from, "/proc/sysvipc/%s", name);
  snprintf(to, sizeof to, "%s/%s", dir, name);
  FILE *in = fopen(from, "r"), *out = fopen(to, "w");
  if (in == NULL || out == NULL) die(from);
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  if (fclose(out) != 0) die(to);
}

int main(int argc, char **argv) {
  if (argc != 2) die("usage");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct timespec wait = { 0, 1000000000L - ts.tv_nsec + 20000000L };
  if (wait.tv_nsec >= 1000000000L) { wait.tv_sec = 1; wait.tv_nsec -= 1000000000L; }
  nanosleep(&wait, NULL);
  time_t t = time(NULL);

  int a = chk(shmget(0x5eed, 10000, IPC_CREAT | 0640), "shmget a");
  char *pa = shmat(a, NULL, 0);
  if (pa == (void *)-1) die("shmat a");
  pa[0] = 1;
  pa[4096] = 1;
  int b = chk(shmget(-5, 4096, IPC_CREAT | 0600), "shmget b");
  chk(shmctl(b, SHM_LOCK, NULL), "SHM_LOCK");
  int c = chk(shmget(IPC_PRIVATE, 1, 0600), "shmget c");
  if (shmat(c, NULL, 0) == (void *)-1) die("shmat c");
  chk(shmctl(c, IPC_RMID, NULL), "shm IPC_RMID");

  int s0 = chk(semget(0x11, 5, IPC_CREAT | 0644), "semget s0");
  struct sembuf op = { 3, 4, 0 };
  chk(semop(s0, &op, 1), "semop");
  chk(semget(-7, 1, IPC_CREAT | 0600), "semget s1");

  int q0 = chk(msgget(0x22, IPC_CREAT | 0666), "msgget q0");
  static struct { long mtype; char text[64]; } m;
  m.mtype = 1;
  memset(m.text, 'a', sizeof m.text);
  for (int len = 10; len <= 30; len += 10) chk(msgsnd(q0, &m, len, 0), "msgsnd");
  chk((int)msgrcv(q0, &m, sizeof m.text, 0, IPC_NOWAIT), "msgrcv");
  int q1 = chk(msgget(IPC_PRIVATE, 0600), "msgget q1");
  struct msqid_ds ds;
  chk(msgctl(q1, IPC_STAT, &ds), "msg IPC_STAT");
  ds.msg_perm.uid = 1234;
  ds.msg_perm.gid = 5678;
  ds.msg_perm.mode = 0600;
  ds.msg_qbytes = 16384;
  chk(msgctl(q1, IPC_SET, &ds), "msg IPC_SET");
  if (time(NULL) != t) return 75;

  copy(argv[1], "shm");
  copy(argv[1], "sem");
  copy(argv[1], "msg");
  printf("%d %lld\n", (int)getpid(), (long long)t);
  return 0;
}
`;

describe.skipIf(unavailable !== undefined)(
  `the real /proc/sysvipc in a fresh IPC namespace${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    let dir = '';
    let prog = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sysvipc-diff-'));
      writeFileSync(join(dir, 'sysvipc_state.c'), C_SOURCE);
      prog = join(dir, 'sysvipc_state');
      const cc = spawnSync('gcc', ['-O1', '-Wall', '-Werror', '-o', prog, join(dir, 'sysvipc_state.c')], { encoding: 'utf8' });
      if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
    });
    afterAll(() => {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('an empty namespace: the three header lines', () => {
      const real = spawnSync('unshare', ['--ipc', 'cat', '/proc/sysvipc/shm', '/proc/sysvipc/sem', '/proc/sysvipc/msg'], { encoding: 'utf8' });
      expect(real.status).toBe(0);
      const ns = new Kernel().initialIpcNamespace;
      expect(real.stdout).toBe(sysvipcShm(ns) + sysvipcSem(ns) + sysvipcMsg(ns));
    });

    it('segments, sets and queues made natively and in the model show the same lines', () => {
      let native: ReturnType<typeof spawnSync> | undefined;
      for (let attempt = 0; attempt < 4; attempt += 1) {
        native = spawnSync('unshare', ['--ipc', prog, dir], { encoding: 'utf8' });
        if (native.status !== 75) break;
      }
      expect(native?.status, String(native?.stderr)).toBe(0);
      const [pid, t] = String(native!.stdout).trim().split(' ').map(Number) as [number, number];
      const ns = modelOf(pid, t);
      for (const file of ['shm', 'sem', 'msg'] as const) {
        expect({ file, text: sysvipcText(ns, file) }).toEqual({ file, text: readFileSync(join(dir, file), 'utf8') });
      }
    });
  },
);
