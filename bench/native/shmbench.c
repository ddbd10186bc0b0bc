/*
 * The native side of `npm run bench`: times one System V shm operation on the
 * real kernel and prints one JSON line.
 *
 *   shmbench TEST OPS SAMPLES [PARAM]
 *   shmbench TEST OPS serve [PARAM]
 *
 * The process first moves into a fresh IPC namespace (unshare(CLONE_NEWIPC)),
 * so every segment it makes disappears with it and the machine's namespace
 * is never touched. One untimed warm-up sample runs first; then SAMPLES
 * timed samples of OPS operations each (CLOCK_MONOTONIC). The output is
 *
 *   {"test":"...","param":P,"ops":N,"rates":[r1,...],"median":m}
 *
 * where each rate is operations per second (bytes per second for the copy
 * tests, pages per second for first-touch).
 *
 * With `serve` in place of SAMPLES it sets up and warms up, prints
 * {"ready":true}, and then for each line read from stdin runs an untimed
 * sample and a timed one, printing {"rate":r}, until end of input. The bench
 * alternates these samples with ipc-sentry's without starting a process
 * per sample (a fork write-protects the parent's memory, which would slow
 * ipc-sentry's next sample).
 *
 * Tests (PARAM in brackets):
 *   get-rmid             shmget(IPC_PRIVATE, 4 KiB) + IPC_RMID pairs
 *   attach-detach [N]    shmat + shmdt pairs on one 4 KiB segment, with N
 *                        other attachments of it held meanwhile (default 0)
 *   mprotect-split [N]   mprotect(PROT_READ) of one page of a fresh attachment
 *                        per call (one split each), with N other attachments
 *                        held meanwhile (default 0)
 *   ipc-stat             shmctl(IPC_STAT)
 *   key-lookup [N]       shmget(existing key, 0, 0), cycling over N keyed
 *                        segments (default 1)
 *   first-touch [MiB]    one byte written into each page of a fresh segment
 *                        (default 64 MiB; OPS is ignored, a sample is one segment)
 *   copy-in [MiB]        memcpy from a private buffer into an attached,
 *                        touched segment, OPS times per sample
 *   copy-out [MiB]       the same, out of the segment
 *   futex-pingpong       round trips between two processes through a futex
 *                        word in a shared segment (FUTEX_WAIT/FUTEX_WAKE)
 *   atomic-add           atomic increments of one word of a shared segment
 *                        by two processes at once; the rate counts both.
 *                        Both start at a barrier after the fork, and the
 *                        time runs from the barrier until both are done
 *   fresh-kernel         what a property test's example does on a fresh
 *                        kernel, in a forked child: unshare(CLONE_NEWIPC),
 *                        shmget(IPC_PRIVATE, 4 KiB), shmat, a one-byte
 *                        write, IPC_RMID, exit; the parent waits for it
 *   semop                semop(-1) + semop(+1) pairs on a semaphore at 1
 *                        (one set of one semaphore; never waits)
 *   sem-getval [N]       semctl(GETVAL), cycling over N sets of one
 *                        semaphore (default 1); raises kernel.sem's SEMMNI
 *                        in the fresh namespace if it is below N
 *   msg-pair             msgsnd + msgrcv pairs of an 8-byte message of
 *                        type 1 on one queue
 *   sem-pingpong         round trips between two processes through a set of
 *                        two semaphores: one waits on 0 and posts 1, the
 *                        other waits on 1 and posts 0
 *   msg-pingpong         round trips between two processes through two
 *                        queues: one sends on 0 and receives from 1, the
 *                        other receives from 0 and sends on 1 (8 bytes, type 1)
 *
 * Exit status: 0 on success, 3 when the machine cannot run it (no IPC
 * namespace), 4 when an operation fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define EXIT_UNAVAILABLE 3
#define EXIT_FAILED 4
#define PAGE 4096L
#define KEY_BASE 0x5e000000

static void fail(const char *what) {
  fprintf(stderr, "shmbench: %s: %s\n", what, strerror(errno));
  exit(EXIT_FAILED);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Keeps the compiler from dropping a loop whose result nobody reads. */
static volatile long sink;

/* State shared by the tests. */
static long param;
static size_t bytes;
static int seg_id = -1;
static int big_id = -1;
static char *seg_addr;
static char *private_buf;
static int nkeys;
static int sem_id = -1;
static int *sem_ids;
static int msq_ids[2] = {-1, -1};

/* A message as msgsnd and msgrcv take it: the type, then 8 bytes of text. */
struct msg8 {
  long mtype;
  char text[8];
};

static int must_shmget(key_t key, size_t size, int flags) {
  int id = shmget(key, size, flags);
  if (id < 0) fail("shmget");
  return id;
}

static char *must_shmat(int id) {
  void *a = shmat(id, NULL, 0);
  if (a == (void *)-1) fail("shmat");
  return a;
}

static long futex_wait(atomic_int *w, int v) { return syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0); }
static long futex_wake(atomic_int *w) { return syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }

static void must_semop(int id, unsigned short num, short op) {
  struct sembuf sb = {.sem_num = num, .sem_op = op, .sem_flg = 0};
  if (semop(id, &sb, 1) != 0) fail("semop");
}

static void must_msgsnd(int q, struct msg8 *m) {
  if (msgsnd(q, m, sizeof m->text, 0) != 0) fail("msgsnd");
}

static void must_msgrcv(int q, struct msg8 *m) {
  if (msgrcv(q, m, sizeof m->text, 1, 0) != (ssize_t)sizeof m->text) fail("msgrcv");
}

/* The two-process tests. */
enum two_process { FUTEX_PINGPONG, ATOMIC_ADD, SEM_PINGPONG, MSG_PINGPONG };

/*
 * A child forked per sample runs one side, the parent the other, and the
 * sample ends when both are done. futex-pingpong: the parent sets the word
 * at seg_addr to 1 and waits for 0, the child waits for 1 and sets 0.
 * atomic-add: both add 1, ops times. sem-pingpong: the parent waits on
 * semaphore 0 (at 1 to begin with) and posts 1, the child waits on 1 and
 * posts 0. msg-pingpong: the parent sends on queue 0 and receives from
 * queue 1, the child receives from 0 and sends on 1.
 */
static double two_process_sample(enum two_process kind, long ops) {
  atomic_int *w = (atomic_int *)seg_addr;
  struct msg8 m = {.mtype = 1, .text = "pingpong"};
  if (kind == FUTEX_PINGPONG || kind == ATOMIC_ADD) atomic_store(w, 0);
  if (kind == SEM_PINGPONG) {
    unsigned short init[2] = {1, 0};
    if (semctl(sem_id, 0, SETALL, init) != 0) fail("semctl(SETALL)");
  }
  /*
   * atomic-add: a start barrier (the word at w + 32), so both sides add at
   * once from the first increment and the fork is not timed; without it the
   * parent ran most of its increments before the child was scheduled.
   */
  if (kind == ATOMIC_ADD) atomic_store(w + 32, 0);
  double t0 = now_s();
  pid_t child = fork();
  if (child < 0) fail("fork");
  if (child == 0) {
    if (kind == ATOMIC_ADD) {
      atomic_store(w + 32, 1);
      while (atomic_load(w + 32) != 2) {
      }
    }
    for (long i = 0; i < ops; i++) {
      switch (kind) {
        case FUTEX_PINGPONG:
          while (atomic_load(w) != 1) futex_wait(w, 0);
          atomic_store(w, 0);
          futex_wake(w);
          break;
        case ATOMIC_ADD:
          atomic_fetch_add(w + 16, 1);
          break;
        case SEM_PINGPONG:
          must_semop(sem_id, 1, -1);
          must_semop(sem_id, 0, 1);
          break;
        case MSG_PINGPONG:
          must_msgrcv(msq_ids[0], &m);
          must_msgsnd(msq_ids[1], &m);
          break;
      }
    }
    _exit(0);
  }
  if (kind == ATOMIC_ADD) {
    while (atomic_load(w + 32) != 1) {
    }
    t0 = now_s();
    atomic_store(w + 32, 2);
  }
  for (long i = 0; i < ops; i++) {
    switch (kind) {
      case FUTEX_PINGPONG:
        atomic_store(w, 1);
        futex_wake(w);
        while (atomic_load(w) == 1) futex_wait(w, 1);
        break;
      case ATOMIC_ADD:
        atomic_fetch_add(w + 16, 1);
        break;
      case SEM_PINGPONG:
        must_semop(sem_id, 0, -1);
        must_semop(sem_id, 1, 1);
        break;
      case MSG_PINGPONG:
        must_msgsnd(msq_ids[0], &m);
        must_msgrcv(msq_ids[1], &m);
        break;
    }
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("the child side");
  double t1 = now_s();
  return (double)(kind == ATOMIC_ADD ? 2 * ops : ops) / (t1 - t0);
}

/* dd-channel: a private tmpfs like a 64 MiB host channel, and real coreutils dd into it. */
static char channel_dir[] = "/tmp/shmbench-channel-XXXXXX";
static char channel_file[sizeof channel_dir + 16];

static void mount_channel(void) {
  if (unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
  if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("making / private");
  if (mkdtemp(channel_dir) == NULL) fail("mkdtemp");
  if (mount("tmpfs", channel_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=67108864") != 0) fail("mount tmpfs");
  snprintf(channel_file, sizeof channel_file, "%s/test.file", channel_dir);
}

static void unmount_channel(void) {
  umount2(channel_dir, MNT_DETACH);
  rmdir(channel_dir);
}

/* Runs `dd if=/dev/zero of=FILE bs=1024 count=32768` and returns bytes per second, exec included. */
static double dd_sample(void) {
  char of[sizeof channel_file + 3];
  snprintf(of, sizeof of, "of=%s", channel_file);
  double t0 = now_s();
  pid_t child = fork();
  if (child < 0) fail("fork");
  if (child == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    execlp("dd", "dd", "if=/dev/zero", of, "bs=1024", "count=32768", (char *)NULL);
    _exit(127);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("dd");
  double t1 = now_s();
  if (unlink(channel_file) != 0) fail("unlink");
  return 32768.0 * 1024.0 / (t1 - t0);
}

/*
 * fresh-kernel: one forked child per operation, which moves into a new IPC
 * namespace, makes a 4 KiB segment, attaches it, writes one byte, removes
 * it and exits; the parent waits for it. Children per second.
 */
static double fresh_kernel_sample(long ops) {
  double t0 = now_s();
  for (long i = 0; i < ops; i++) {
    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
      if (unshare(CLONE_NEWIPC) != 0) _exit(10);
      int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
      if (id < 0) _exit(11);
      char *a = shmat(id, NULL, 0);
      if (a == (char *)-1) _exit(12);
      *(volatile char *)a = 1;
      if (shmctl(id, IPC_RMID, NULL) != 0) _exit(13);
      _exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("a fresh-kernel child");
  }
  double t1 = now_s();
  return (double)ops / (t1 - t0);
}

/* One sample of `ops` operations of `test`; returns its rate per second. */
static double sample(const char *test, long ops) {
  double t0, t1;
  if (strcmp(test, "get-rmid") == 0) {
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
      if (id < 0) fail("shmget");
      if (shmctl(id, IPC_RMID, NULL) != 0) fail("shmctl(IPC_RMID)");
    }
    t1 = now_s();
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "attach-detach") == 0) {
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      void *a = shmat(seg_id, NULL, 0);
      if (a == (void *)-1) fail("shmat");
      if (shmdt(a) != 0) fail("shmdt");
    }
    t1 = now_s();
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "mprotect-split") == 0) {
    if (big_id < 0) big_id = must_shmget(IPC_PRIVATE, (size_t)(ops + 1) * PAGE, IPC_CREAT | 0600);
    char *a = must_shmat(big_id);
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      if (mprotect(a + i * PAGE, PAGE, PROT_READ) != 0) fail("mprotect");
    }
    t1 = now_s();
    if (shmdt(a) != 0) fail("shmdt");
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "ipc-stat") == 0) {
    struct shmid_ds ds;
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      if (shmctl(seg_id, IPC_STAT, &ds) != 0) fail("shmctl(IPC_STAT)");
      sink += (long)ds.shm_nattch;
    }
    t1 = now_s();
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "key-lookup") == 0) {
    int k = 0;
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      int id = shmget(KEY_BASE + k, 0, 0);
      if (id < 0) fail("shmget(existing key)");
      sink += id;
      if (++k == nkeys) k = 0;
    }
    t1 = now_s();
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "first-touch") == 0) {
    int id = must_shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
    char *a = must_shmat(id);
    long pages = (long)(bytes / PAGE);
    t0 = now_s();
    for (long p = 0; p < pages; p++) ((volatile char *)a)[p * PAGE] = 1;
    t1 = now_s();
    if (shmdt(a) != 0) fail("shmdt");
    if (shmctl(id, IPC_RMID, NULL) != 0) fail("shmctl(IPC_RMID)");
    return (double)pages / (t1 - t0);
  }
  if (strcmp(test, "copy-in") == 0 || strcmp(test, "copy-out") == 0) {
    int in = test[5] == 'i';
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      if (in) {
        memcpy(seg_addr, private_buf, bytes);
      } else {
        memcpy(private_buf, seg_addr, bytes);
      }
      /* The copy is observable through the segment (or the buffer): read one byte back. */
      sink += in ? seg_addr[i % bytes] : private_buf[i % bytes];
    }
    t1 = now_s();
    return (double)ops * (double)bytes / (t1 - t0);
  }
  if (strcmp(test, "semop") == 0) {
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      must_semop(sem_id, 0, -1);
      must_semop(sem_id, 0, 1);
    }
    t1 = now_s();
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "sem-getval") == 0) {
    int k = 0;
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      int v = semctl(sem_ids[k], 0, GETVAL);
      if (v < 0) fail("semctl(GETVAL)");
      sink += v;
      if (++k == nkeys) k = 0;
    }
    t1 = now_s();
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "msg-pair") == 0) {
    struct msg8 m = {.mtype = 1, .text = "msg-pair"};
    t0 = now_s();
    for (long i = 0; i < ops; i++) {
      must_msgsnd(msq_ids[0], &m);
      must_msgrcv(msq_ids[0], &m);
      sink += m.text[i % 8];
    }
    t1 = now_s();
    return (double)ops / (t1 - t0);
  }
  if (strcmp(test, "futex-pingpong") == 0) return two_process_sample(FUTEX_PINGPONG, ops);
  if (strcmp(test, "atomic-add") == 0) return two_process_sample(ATOMIC_ADD, ops);
  if (strcmp(test, "sem-pingpong") == 0) return two_process_sample(SEM_PINGPONG, ops);
  if (strcmp(test, "msg-pingpong") == 0) return two_process_sample(MSG_PINGPONG, ops);
  if (strcmp(test, "dd-channel") == 0) return dd_sample();
  if (strcmp(test, "fresh-kernel") == 0) return fresh_kernel_sample(ops);
  fprintf(stderr, "shmbench: unknown test %s\n", test);
  exit(EXIT_FAILED);
}

/*
 * Raises SEMMNI (kernel.sem's fourth field) of this process's IPC namespace,
 * the fresh one, when it allows fewer than `nsets` sets. (Linux 3.19 and
 * later start every namespace at 32000.)
 */
static void raise_semmni(int nsets) {
  long msl, mns, opm, mni;
  FILE *f = fopen("/proc/sys/kernel/sem", "r");
  if (f == NULL) fail("opening /proc/sys/kernel/sem");
  if (fscanf(f, "%ld %ld %ld %ld", &msl, &mns, &opm, &mni) != 4) fail("reading /proc/sys/kernel/sem");
  fclose(f);
  if (mni >= nsets) return;
  f = fopen("/proc/sys/kernel/sem", "w");
  if (f == NULL) fail("opening /proc/sys/kernel/sem to write");
  if (fprintf(f, "%ld %ld %ld %d\n", msl, mns, opm, nsets) < 0 || fclose(f) != 0) fail("writing /proc/sys/kernel/sem");
}

/* Builds what `test` needs before its samples run (untimed). */
static void setup(const char *test) {
  if (strcmp(test, "attach-detach") == 0 || strcmp(test, "ipc-stat") == 0 || strcmp(test, "mprotect-split") == 0) {
    seg_id = must_shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
    for (long i = 0; i < param; i++) must_shmat(seg_id);
  } else if (strcmp(test, "key-lookup") == 0) {
    nkeys = param > 0 ? (int)param : 1;
    for (int k = 0; k < nkeys; k++) must_shmget(KEY_BASE + k, PAGE, IPC_CREAT | IPC_EXCL | 0600);
  } else if (strcmp(test, "first-touch") == 0) {
    bytes = (size_t)(param > 0 ? param : 64) << 20;
  } else if (strcmp(test, "futex-pingpong") == 0 || strcmp(test, "atomic-add") == 0) {
    seg_id = must_shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
    seg_addr = must_shmat(seg_id);
  } else if (strcmp(test, "semop") == 0) {
    sem_id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (sem_id < 0) fail("semget");
    if (semctl(sem_id, 0, SETVAL, 1) != 0) fail("semctl(SETVAL)");
  } else if (strcmp(test, "sem-getval") == 0) {
    nkeys = param > 0 ? (int)param : 1;
    raise_semmni(nkeys);
    sem_ids = calloc((size_t)nkeys, sizeof *sem_ids);
    if (sem_ids == NULL) fail("calloc");
    for (int k = 0; k < nkeys; k++) {
      sem_ids[k] = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
      if (sem_ids[k] < 0) fail("semget");
    }
  } else if (strcmp(test, "sem-pingpong") == 0) {
    sem_id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (sem_id < 0) fail("semget");
  } else if (strcmp(test, "msg-pair") == 0 || strcmp(test, "msg-pingpong") == 0) {
    for (int i = 0; i < 2; i++) {
      msq_ids[i] = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
      if (msq_ids[i] < 0) fail("msgget");
    }
  } else if (strcmp(test, "dd-channel") == 0) {
    mount_channel();
    atexit(unmount_channel);
  } else if (strcmp(test, "copy-in") == 0 || strcmp(test, "copy-out") == 0) {
    bytes = (size_t)(param > 0 ? param : 64) << 20;
    seg_id = must_shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
    seg_addr = must_shmat(seg_id);
    private_buf = malloc(bytes);
    if (private_buf == NULL) fail("malloc");
    /* Both sides are touched first: the copy rows time copying, not faults. */
    memset(seg_addr, 0x11, bytes);
    memset(private_buf, 0x22, bytes);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: shmbench TEST OPS SAMPLES|serve [PARAM]\n");
    return EXIT_FAILED;
  }
  const char *test = argv[1];
  long ops = strtol(argv[2], NULL, 10);
  int serve = strcmp(argv[3], "serve") == 0;
  int samples = serve ? 1 : (int)strtol(argv[3], NULL, 10);
  param = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
  if (ops <= 0 || samples <= 0 || samples > 1000 || param < 0) {
    fprintf(stderr, "shmbench: OPS and SAMPLES must be positive\n");
    return EXIT_FAILED;
  }
  if (unshare(CLONE_NEWIPC) != 0) {
    fprintf(stderr, "shmbench: cannot create an IPC namespace (unshare: %s)\n", strerror(errno));
    return EXIT_UNAVAILABLE;
  }
  setup(test);
  sample(test, ops); /* warm-up */
  if (serve) {
    printf("{\"ready\":true}\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
      sample(test, ops); /* untimed: the process idled since the last request */
      printf("{\"rate\":%.6g}\n", sample(test, ops));
      fflush(stdout);
    }
    return 0;
  }
  double *rates = calloc((size_t)samples, sizeof *rates);
  if (rates == NULL) fail("calloc");
  for (int s = 0; s < samples; s++) rates[s] = sample(test, ops);
  printf("{\"test\":\"%s\",\"param\":%ld,\"ops\":%ld,\"rates\":[", test, param, ops);
  for (int s = 0; s < samples; s++) printf("%s%.6g", s > 0 ? "," : "", rates[s]);
  qsort(rates, (size_t)samples, sizeof *rates, cmp_double);
  double median = samples % 2 == 1 ? rates[samples / 2] : (rates[samples / 2 - 1] + rates[samples / 2]) / 2;
  printf("],\"median\":%.6g}\n", median);
  /* The namespace dies with this process and takes every segment with it. */
  return 0;
}
