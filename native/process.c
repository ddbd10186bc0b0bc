/*
 * A scenario process: one real Linux process that waits on its mailbox slot,
 * runs the statement it is given as its own system call, and answers. `fork`
 * forks this very process, so the child really inherits the attachments,
 * credentials, limits and namespace, and its private copy of the address table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "oracle.h"

/* Linux's default RLIMIT_MEMLOCK (8 MiB), which every scenario process starts with. */
#define DEFAULT_MEMLOCK ((rlim_t)8 << 20)

/* Where the hang-up pipe's read end lives once the process has tidied its descriptors. */
#define HANGUP_FD 3

/* An idle process looks at the hang-up pipe this often, so it outlives a dead coordinator briefly. */
#define IDLE_CHECK_MS 250

static const struct process_env *env;
static int hangup_fd;
static uint64_t *addr_slots; /* this process's @N values; fork copies them with the address space */
static int *fd_slots;        /* this process's %N descriptors, copied the same way */
static int given_all_caps;   /* created with CAPS -1 (fork keeps it, like the capabilities) */
static uint64_t page_size;

static sigjmp_buf fault_jump;
static volatile sig_atomic_t in_access;

static void internal(struct result *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof r->message, fmt, ap);
  va_end(ap);
  r->outcome = OUT_INTERNAL;
}

/* Records the outcome of a system call that returns -1 and sets errno on failure. */
static void syscall_result(struct result *r, long rc) {
  if (rc == -1) {
    r->outcome = OUT_ERRNO;
    r->error = errno;
  } else {
    r->outcome = OUT_OK;
    r->ret = rc;
  }
}

/*
 * A fault inside a scenario access jumps back to access_range; anywhere else
 * it is a bug in the oracle, so the default action (death) takes over and the
 * coordinator reports the helper's loss.
 */
static void on_fault(int sig) {
  if (!in_access) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  in_access = 0;
  siglongjmp(fault_jump, sig);
}

enum access_kind { ACCESS_WRITE, ACCESS_FILL, ACCESS_READ };

/*
 * Moves bytes page by page, going forward from `addr`, so a fault stops at the
 * first unmapped or protected page and leaves the pages before it written, as
 * the scenario language specifies. Returns 0 or the signal that stopped it.
 */
static int access_range(uint64_t addr, uint64_t len, enum access_kind kind, const uint8_t *src,
                        uint8_t *dst, uint8_t byte) {
  int sig = sigsetjmp(fault_jump, 1);
  if (sig != 0) return sig;
  in_access = 1;
  for (uint64_t done = 0; done < len;) {
    uint64_t at = addr + done;
    uint64_t n = page_size - (at & (page_size - 1));
    if (n > len - done) n = len - done;
    void *p = (void *)(uintptr_t)at;
    switch (kind) {
    case ACCESS_WRITE: memcpy(p, src + done, n); break;
    case ACCESS_FILL: memset(p, byte, n); break;
    case ACCESS_READ: memcpy(dst + done, p, n); break;
    }
    done += n;
  }
  in_access = 0;
  return 0;
}

static void access_result(struct result *r, int sig) {
  r->outcome = sig == 0 ? OUT_OK : OUT_SIGNAL;
  r->error = sig;
}

static uint64_t resolve(const struct addr_expr *a) {
  if (a->slot < 0) return a->value;
  uint64_t base = addr_slots[a->slot];
  return a->negative ? base - a->value : base + a->value; /* unsigned: modulo 2^64 */
}

static uint64_t caps_of_mask(int mask) {
  uint64_t caps = 0;
  if (mask & ORACLE_CAP_IPC_OWNER) caps |= (uint64_t)1 << CAP_IPC_OWNER;
  if (mask & ORACLE_CAP_IPC_LOCK) caps |= (uint64_t)1 << CAP_IPC_LOCK;
  if (mask & ORACLE_CAP_SYS_ADMIN) caps |= (uint64_t)1 << CAP_SYS_ADMIN;
  if (mask & ORACLE_CAP_SYS_RESOURCE) caps |= (uint64_t)1 << CAP_SYS_RESOURCE;
  return caps;
}

/* Tidies the descriptors inherited from the coordinator, keeping only the hang-up pipe. */
static int tidy_descriptors(struct result *r) {
  int hang = fcntl(env->hangup_fd, F_DUPFD, 10);
  int devnull = open("/dev/null", O_RDWR);
  if (hang < 0 || devnull < 0) {
    internal(r, "cannot set up descriptors: %s", strerror(errno));
    return -1;
  }
  /* stdout belongs to the coordinator; a process writing there would corrupt the results. */
  for (int fd = 0; fd <= 2; fd++) dup2(devnull, fd);
  if (dup2(hang, HANGUP_FD) < 0 || close_range(HANGUP_FD + 1, ~0U, 0) != 0) {
    internal(r, "cannot set up descriptors: %s", strerror(errno));
    return -1;
  }
  hangup_fd = HANGUP_FD;
  return 0;
}

static int open_sysvipc(struct result *r);
static void open_msgmnb(void);

/*
 * Turns the coordinator's root child into the process `proc` describes: enter
 * its namespace, take Linux's default memlock limit, then drop to the given
 * credentials, keeping exactly the listed capabilities.
 */
static void become(const struct stmt *st, struct result *r) {
  if (setns(env->ns_fds[st->ns], CLONE_NEWIPC) != 0) {
    internal(r, "setns: %s", strerror(errno));
    return;
  }
  if (tidy_descriptors(r) != 0) return;
  if (env->prog->uses_sysvipc && open_sysvipc(r) != 0) return;
  open_msgmnb();
  /*
   * A program with file statements runs inside the oracle's private tmpfs
   * root: every scenario path then means the same thing here as in the
   * emulator, and nothing outside that root can be touched.
   */
  if (env->fs_root != NULL && (chroot(env->fs_root) != 0 || chdir("/") != 0)) {
    internal(r, "cannot enter the scenario root %s: %s", env->fs_root, strerror(errno));
    return;
  }
  umask(022);
  /* Set while still privileged: lowering is always allowed, but raising needs CAP_SYS_RESOURCE. */
  struct rlimit memlock = {DEFAULT_MEMLOCK, DEFAULT_MEMLOCK};
  struct rlimit fsize = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_MEMLOCK, &memlock) != 0 || setrlimit(RLIMIT_FSIZE, &fsize) != 0) {
    internal(r, "setrlimit: %s", strerror(errno));
    return;
  }
  /* As LTP's tests do: a write past RLIMIT_FSIZE is then EFBIG, never a signal. Fork keeps it. */
  signal(SIGXFSZ, SIG_IGN);
  /* Without KEEPCAPS, leaving uid 0 would clear the permitted set before capset could keep the listed caps. */
  if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0 || setgroups(st->ngroups, st->groups) != 0 ||
      setresgid(st->gid, st->gid, st->gid) != 0 || setresuid(st->uid, st->uid, st->uid) != 0) {
    internal(r, "cannot take uid %u gid %u: %s", st->uid, st->gid, strerror(errno));
    return;
  }
  uint64_t caps = st->caps == ORACLE_CAPS_ALL ? env->caps_all : caps_of_mask(st->caps);
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {0};
  for (int i = 0; i < 2; i++) data[i].effective = data[i].permitted = (uint32_t)(caps >> (32 * i));
  if (syscall(SYS_capset, &header, data) != 0) {
    internal(r, "capset: %s", strerror(errno));
    return;
  }
  given_all_caps = st->caps == ORACLE_CAPS_ALL;
  r->outcome = OUT_OK;
  r->pid = getpid();
}

static void do_rlimit(const struct stmt *st, struct result *r) {
  struct rlimit lim;
  if (getrlimit(st->resource, &lim) != 0) {
    internal(r, "getrlimit: %s", strerror(errno));
    return;
  }
  lim.rlim_cur = st->size;
  if (lim.rlim_cur > lim.rlim_max) {
    /*
     * The scenario language lets a process with CAP_SYS_RESOURCE go above the
     * hard limit, so the hard limit rises with it; without the capability the
     * kernel itself answers EPERM. If this machine withholds the capability
     * from "all", the kernel's answer would not be the scenario's.
     */
    if (given_all_caps && !(env->caps_all & (uint64_t)1 << CAP_SYS_RESOURCE)) {
      snprintf(r->message, sizeof r->message,
               "this machine withholds CAP_SYS_RESOURCE, which decides raising an rlimit above its hard limit");
      r->outcome = OUT_UNAVAILABLE;
      return;
    }
    lim.rlim_max = lim.rlim_cur;
  }
  syscall_result(r, setrlimit(st->resource, &lim));
}

static void do_shmctl(const struct stmt *st, int32_t id, struct result *r) {
  /* Big enough for any command's structure: a numeric command gets this, zeroed. */
  union {
    struct shmid_ds ds;
    struct shminfo info;
    struct shm_info shm_info;
    unsigned char any[512];
  } buf;
  memset(&buf, 0, sizeof buf);
  if (st->named && st->flags == IPC_SET) {
    buf.ds.shm_perm.uid = st->set_uid;
    buf.ds.shm_perm.gid = st->set_gid;
    buf.ds.shm_perm.mode = st->set_mode;
  }
  /* The raw syscall, so the kernel sees exactly this cmd and buffer, whatever a libc wrapper would add. */
  syscall_result(r, syscall(SYS_shmctl, id, st->flags, &buf));
  if (r->outcome != OUT_OK || !st->named) return;
  switch (st->flags) {
  case IPC_STAT: case SHM_STAT: case SHM_STAT_ANY:
    r->payload = PAYLOAD_DS;
    r->u.ds = buf.ds;
    break;
  case IPC_INFO:
    r->payload = PAYLOAD_INFO;
    r->u.info = buf.info;
    break;
  case SHM_INFO:
    r->payload = PAYLOAD_SHM_INFO;
    r->u.shm_info = buf.shm_info;
    break;
  default:
    break;
  }
}

/* Version 2: semaphores and message queues. */

/*
 * The calls that can block (semop, semtimedop, msgsnd, msgrcv) may still be
 * sleeping when the coordinator has moved on to other processes' statements,
 * so they never write the mailbox themselves: the result goes to `kept`, a
 * received message's text to `kept_data`, and the coordinator asks for them
 * with a STMT_COLLECT request once it sees the call has returned.
 */
static struct result kept;
static uint8_t *kept_data;

/*
 * A safety net, not a rule: a call still sleeping this long after it started
 * outlived any run (the runner gives the oracle 60 s), so its coordinator is
 * gone; SIGALRM's default action ends the process instead of leaving it
 * asleep for ever. The coordinator's own 5 s limits catch hangs in a run.
 */
#define ORPHAN_GUARD_SECONDS 90

static int can_block(enum op op) {
  return op == OP_SEMOP || op == OP_MSGSND || op == OP_MSGRCV;
}

/* The slot this process answers in (a fork's child changes it), for the signal handler. */
static volatile sig_atomic_t my_index;

/* `interrupt`: the handler only counts; returning from it ends a sleeping call with EINTR. */
static void on_interrupt(int sig) {
  (void)sig;
  atomic_fetch_add(&env->box->slots[my_index].signals, 1);
}

static void do_semop(const struct stmt *st, int32_t id, struct result *r) {
  if (st->timeout_ms < 0) {
    syscall_result(r, syscall(SYS_semop, id, st->sops, st->nsops));
  } else {
    struct timespec ts = {.tv_sec = st->timeout_ms / 1000, .tv_nsec = (st->timeout_ms % 1000) * 1000000};
    syscall_result(r, syscall(SYS_semtimedop, id, st->sops, st->nsops, &ts));
  }
}

/*
 * SETALL's values, copied to end right where an inaccessible page begins:
 * when the set has more semaphores than the statement lists, the kernel's
 * copy_from_user runs into that page and semctl fails with EFAULT (after
 * the permission check, before ERANGE), as the emulator answers, instead of
 * reading whatever follows in the heap. *map and *maplen are for munmap;
 * NULL when the mapping cannot be made.
 */
static unsigned short *guarded_setall(const struct stmt *st, void **map, size_t *maplen) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t bytes = st->nsops * sizeof(unsigned short);
  size_t data = (bytes + page - 1) / page * page;
  uint8_t *m = mmap(NULL, data + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return NULL;
  if (mprotect(m + data, page, PROT_NONE) != 0) {
    munmap(m, data + page);
    return NULL;
  }
  *map = m;
  *maplen = data + page;
  memcpy(m + data - bytes, st->vals, bytes);
  return (unsigned short *)(void *)(m + data - bytes);
}

/*
 * The scenario language's rule for SETALL: the statement lists exactly as
 * many values as the set has semaphores. The size comes from SEM_STAT_ANY,
 * which checks no permission, at the id's slot in the kernel's table (the
 * low 15 bits); that slot holds the statement's set only when SEM_STAT_ANY
 * answers with the very same id. An id that names no set is left to the
 * call (EINVAL or EIDRM is then the answer). Returns 1, with `r` an
 * OUT_SCENARIO carrying the set's size in ret, when the count is wrong.
 */
static int setall_count_wrong(const struct stmt *st, int32_t id, struct result *r) {
  struct semid_ds ds;
  memset(&ds, 0, sizeof ds);
  long got = syscall(SYS_semctl, (int)((uint32_t)id & 0x7fff), 0, SEM_STAT_ANY, &ds);
  if (got < 0 || got != id || ds.sem_nsems == st->nsops) return 0;
  r->outcome = OUT_SCENARIO;
  r->ret = (int64_t)ds.sem_nsems;
  snprintf(r->message, sizeof r->message, "SETALL lists %zu values for a set of %lu semaphores", st->nsops,
           (unsigned long)ds.sem_nsems);
  return 1;
}

static void do_semctl(const struct stmt *st, int32_t id, struct result *r) {
  void *setall_map = NULL;
  size_t setall_len = 0;
  union {
    struct semid_ds ds;
    struct seminfo info;
    unsigned char any[512];
  } buf;
  memset(&buf, 0, sizeof buf);
  /* union semun travels by value: an int for SETVAL, a pointer otherwise; a numeric command gets 0. */
  unsigned long arg = 0;
  if (st->named) {
    switch (st->flags) {
    case SETVAL:
      arg = (unsigned long)(unsigned int)st->setval;
      break;
    case SETALL: {
      if (setall_count_wrong(st, id, r)) return;
      /* Still guarded: where SEM_STAT_ANY cannot answer (a kernel before 4.17, an LSM refusing it) a short list reaches the kernel. */
      unsigned short *vals = guarded_setall(st, &setall_map, &setall_len);
      if (vals == NULL) {
        internal(r, "cannot map SETALL's %zu values: %s", st->nsops, strerror(errno));
        return;
      }
      arg = (unsigned long)(uintptr_t)vals;
      break;
    }
    case GETALL:
      arg = (unsigned long)(uintptr_t)env->box->data;
      break;
    case IPC_SET:
      buf.ds.sem_perm.uid = st->set_uid;
      buf.ds.sem_perm.gid = st->set_gid;
      buf.ds.sem_perm.mode = st->set_mode;
      arg = (unsigned long)(uintptr_t)&buf;
      break;
    default:
      arg = (unsigned long)(uintptr_t)&buf;
      break;
    }
  }
  syscall_result(r, syscall(SYS_semctl, id, st->semnum, st->flags, arg));
  if (setall_map != NULL) munmap(setall_map, setall_len);
  if (r->outcome != OUT_OK || !st->named) return;
  switch (st->flags) {
  case IPC_STAT: case SEM_STAT: case SEM_STAT_ANY:
    r->payload = PAYLOAD_SEM_DS;
    r->u.sem_ds = buf.ds;
    break;
  case IPC_INFO: case SEM_INFO:
    r->payload = PAYLOAD_SEMINFO;
    r->u.seminfo = buf.info;
    break;
  case GETALL: {
    /* GETALL and IPC_STAT need the same read permission, so this cannot fail where GETALL did not. */
    struct semid_ds ds;
    if (syscall(SYS_semctl, id, 0, IPC_STAT, &ds) < 0) {
      internal(r, "IPC_STAT after GETALL: %s", strerror(errno));
      return;
    }
    r->payload = PAYLOAD_VALS;
    r->datalen = ds.sem_nsems;
    break;
  }
  default:
    break;
  }
}

/* Reads an int from /proc/sys/kernel/NAME of this process's IPC namespace; -1 if it cannot. */
/*
 * kernel.msgmnb of the process's IPC namespace, opened before the process
 * chroots into the scenario root (which has no /proc) and kept on a high
 * descriptor, so the scenario's own descriptors are numbered as before.
 */
static int msgmnb_fd = -1;

static void open_msgmnb(void) {
  int fd = open("/proc/sys/kernel/msgmnb", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  msgmnb_fd = fcntl(fd, F_DUPFD_CLOEXEC, 900);
  close(fd);
}

/* The namespace's kernel.msgmnb now (a sysctl file is formatted afresh at each read from offset 0), or -1. */
static long read_msgmnb(void) {
  char text[64];
  if (msgmnb_fd < 0) return -1;
  ssize_t n = pread(msgmnb_fd, text, sizeof text - 1, 0);
  if (n <= 0) return -1;
  text[n] = '\0';
  return strtol(text, NULL, 10);
}

static void do_msgctl(const struct stmt *st, int32_t id, struct result *r) {
  union {
    struct msqid_ds ds;
    struct msginfo info;
    unsigned char any[512];
  } buf;
  memset(&buf, 0, sizeof buf);
  if (st->named && st->flags == IPC_SET) {
    buf.ds.msg_perm.uid = st->set_uid;
    buf.ds.msg_perm.gid = st->set_gid;
    buf.ds.msg_perm.mode = st->set_mode;
    buf.ds.msg_qbytes = st->set_qbytes;
    /*
     * Raising qbytes above msgmnb is what CAP_SYS_RESOURCE decides; a machine
     * that withholds it from "all" would give another answer than the scenario's.
     * msgctl_down holds qbytes as an int and compares it, as an unsigned int,
     * with msgmnb: only the low 32 bits decide whether the capability matters.
     */
    long mnb = read_msgmnb();
    if (given_all_caps && !(env->caps_all & (uint64_t)1 << CAP_SYS_RESOURCE) && (mnb < 0 || (uint32_t)st->set_qbytes > (uint64_t)mnb)) {
      snprintf(r->message, sizeof r->message,
               "this machine withholds CAP_SYS_RESOURCE, which decides raising a queue's qbytes above kernel.msgmnb");
      r->outcome = OUT_UNAVAILABLE;
      return;
    }
  }
  syscall_result(r, syscall(SYS_msgctl, id, st->flags, st->named ? (void *)&buf : (void *)&buf));
  if (r->outcome != OUT_OK || !st->named) return;
  switch (st->flags) {
  case IPC_STAT: case MSG_STAT: case MSG_STAT_ANY:
    r->payload = PAYLOAD_MSQ_DS;
    r->u.msq_ds = buf.ds;
    break;
  case IPC_INFO: case MSG_INFO:
    r->payload = PAYLOAD_MSGINFO;
    r->u.msginfo = buf.info;
    break;
  default:
    break;
  }
}

static void do_msgsnd(const struct stmt *st, int32_t id, struct result *r) {
  size_t text = st->msgsz > 0 ? (size_t)st->msgsz : 0;
  uint8_t *buf = calloc(1, sizeof(long) + text);
  if (buf == NULL) {
    internal(r, "cannot allocate a %zu-byte message", text);
    return;
  }
  long mtype = (long)st->mtype;
  memcpy(buf, &mtype, sizeof mtype);
  if (!st->zeros && text > 0) memcpy(buf + sizeof(long), st->bytes, text);
  syscall_result(r, syscall(SYS_msgsnd, id, buf, (size_t)st->msgsz, st->flags));
  free(buf);
}

/* Receives into this process's own buffer (kept_data): the mailbox's data area may be in use meanwhile. */
static void do_msgrcv(const struct stmt *st, int32_t id, struct result *r) {
  size_t room = st->msgsz > 0 ? (size_t)st->msgsz : 0;
  free(kept_data);
  kept_data = malloc(sizeof(long) + room);
  if (kept_data == NULL) {
    internal(r, "cannot allocate a %zu-byte receive buffer", room);
    return;
  }
  uint8_t *buf = kept_data;
  syscall_result(r, syscall(SYS_msgrcv, id, buf, (size_t)st->msgsz, (long)st->mtype, st->flags));
  if (r->outcome != OUT_OK) return;
  long mtype;
  memcpy(&mtype, buf, sizeof mtype);
  memmove(buf, buf + sizeof(long), (size_t)r->ret);
  r->payload = PAYLOAD_MSG;
  r->u.mtype = mtype;
  r->datalen = (uint64_t)r->ret;
}

static int fd_of(const struct fd_expr *f) {
  return f->slot < 0 ? f->literal : fd_slots[f->slot];
}

/*
 * write(2) until the whole buffer is out, as coreutils' iwrite does: a short
 * write is retried, and the retry's error (or ENOSPC for a write of 0) ends it.
 * Returns the bytes written; *err is set when it stopped early.
 */
static uint64_t iwrite(int fd, const uint8_t *buf, uint64_t n, int *err) {
  uint64_t done = 0;
  *err = 0;
  while (done < n) {
    ssize_t w = write(fd, buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      *err = errno;
      break;
    }
    if (w == 0) {
      *err = ENOSPC;
      break;
    }
    done += (uint64_t)w;
  }
  return done;
}

/* dd if=/dev/zero of=PATH bs=N count=N, with coreutils' copy loop (see src/scenario/dd.ts). */
static void do_dd(const struct stmt *st, struct result *r) {
  struct dd_result *d = &r->u.dd;
  r->outcome = OUT_OK;
  r->payload = PAYLOAD_DD;
  int fd = open(st->path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) {
    d->failed_call = 1;
    d->err = errno;
    return;
  }
  /* Reading /dev/zero always fills the block, so the block is a zeroed buffer. */
  uint8_t *block = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) {
    close(fd);
    internal(r, "cannot map a %llu-byte block: %s", (unsigned long long)st->size, strerror(errno));
    return;
  }
  for (uint64_t i = 0; i < st->count; i++) {
    d->in_full++;
    int err;
    uint64_t w = iwrite(fd, block, st->size, &err);
    d->bytes += w;
    if (err != 0) {
      d->failed_call = 2;
      d->err = err;
      break;
    }
    d->out_full++;
  }
  munmap(block, st->size);
  close(fd);
}

static void do_fwrite(const struct stmt *st, struct result *r) {
  const uint8_t *buf = st->bytes;
  void *zeros = NULL;
  if (st->zeros && st->size > 0) {
    zeros = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zeros == MAP_FAILED) {
      internal(r, "cannot map %llu zero bytes: %s", (unsigned long long)st->size, strerror(errno));
      return;
    }
    buf = zeros;
  }
  int fd = fd_of(&st->fd);
  syscall_result(r, st->has_offset ? pwrite(fd, buf, st->size, (off_t)st->offset) : write(fd, buf, st->size));
  if (zeros != NULL) munmap(zeros, st->size);
}

/* The file-system statements; returns 0 when `st` is none of them. */
static int execute_fs(const struct stmt *st, struct result *r) {
  long rc;
  switch (st->op) {
  case OP_OPEN:
    rc = open(st->path, st->flags, (mode_t)st->mode);
    syscall_result(r, rc);
    if (r->outcome == OUT_OK && st->bind_fd >= 0) fd_slots[st->bind_fd] = (int)rc;
    return 1;
  case OP_CLOSE:
    syscall_result(r, close(fd_of(&st->fd)));
    return 1;
  case OP_FWRITE:
    do_fwrite(st, r);
    return 1;
  case OP_FREAD:
    syscall_result(r, st->has_offset ? pread(fd_of(&st->fd), env->box->data, st->size, (off_t)st->offset)
                                     : read(fd_of(&st->fd), env->box->data, st->size));
    if (r->outcome == OUT_OK) {
      r->payload = PAYLOAD_DATA;
      r->datalen = (uint64_t)r->ret;
    }
    return 1;
  case OP_UNLINK:
    syscall_result(r, unlink(st->path));
    return 1;
  case OP_RMDIR:
    syscall_result(r, rmdir(st->path));
    return 1;
  case OP_MKDIR:
    syscall_result(r, mkdir(st->path, (mode_t)st->mode));
    return 1;
  case OP_STATFS:
    syscall_result(r, statfs(st->path, &r->u.fs));
    if (r->outcome == OUT_OK) r->payload = PAYLOAD_STATFS;
    return 1;
  case OP_STAT:
    syscall_result(r, stat(st->path, &r->u.st));
    if (r->outcome == OUT_OK) r->payload = PAYLOAD_STAT;
    return 1;
  case OP_FTRUNCATE:
    syscall_result(r, ftruncate(fd_of(&st->fd), (off_t)st->offset));
    return 1;
  case OP_FALLOCATE:
    syscall_result(r, fallocate(fd_of(&st->fd), st->mode, (off_t)st->offset, (off_t)st->size));
    return 1;
  case OP_MMAP: {
    void *at = mmap((void *)(uintptr_t)resolve(&st->addr), st->size, st->mode, st->flags, fd_of(&st->fd), (off_t)st->offset);
    if (at == MAP_FAILED) {
      r->outcome = OUT_ERRNO;
      r->error = errno;
    } else {
      r->outcome = OUT_OK;
      if (st->bind_addr >= 0) addr_slots[st->bind_addr] = (uint64_t)(uintptr_t)at;
    }
    return 1;
  }
  case OP_DD:
    do_dd(st, r);
    return 1;
  default:
    return 0;
  }
}

/*
 * The object path of a POSIX shared memory name, as glibc 2.38's
 * __shm_get_name makes it (the oracle does not call the system's glibc,
 * whose older versions answer some names differently; the emulator follows
 * 2.38 too): leading slashes dropped, an empty rest or one holding '/' is
 * EINVAL, a rest too long for glibc's buffer ENAMETOOLONG. Returns 0 or the errno.
 */
#define SHM_DIR "/dev/shm/"
static int shm_path(const char *name, char *out, size_t outlen) {
  while (*name == '/') name++;
  size_t n = strlen(name);
  if (n == 0 || strchr(name, '/') != NULL) return EINVAL;
  /* glibc's buffer holds sizeof SHM_DIR + 4 + NAME_MAX bytes: the directory, the name and its NUL. */
  if (sizeof SHM_DIR - 1 + n + 1 > sizeof SHM_DIR + 4 + 255) return ENAMETOOLONG;
  snprintf(out, outlen, "%s%s", SHM_DIR, name);
  return 0;
}

/* shm_open(3): open(2) with O_NOFOLLOW and O_CLOEXEC added; the kernel's EISDIR is glibc's EINVAL. */
static void do_shm_open(const struct stmt *st, struct result *r) {
  char path[sizeof SHM_DIR + 4 + 256];
  int err = shm_path(st->name, path, sizeof path);
  if (err != 0) {
    r->outcome = OUT_ERRNO;
    r->error = err;
    return;
  }
  int fd = open(path, st->flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)st->mode);
  if (fd < 0 && errno == EISDIR) errno = EINVAL;
  syscall_result(r, fd);
  if (r->outcome == OUT_OK && st->bind_fd >= 0) fd_slots[st->bind_fd] = fd;
}

/* shm_unlink(3): unlink(2) of the path; a bad name is ENOENT, the sticky directory's EPERM is EACCES. */
static void do_shm_unlink(const struct stmt *st, struct result *r) {
  char path[sizeof SHM_DIR + 4 + 256];
  if (shm_path(st->name, path, sizeof path) != 0) {
    r->outcome = OUT_ERRNO;
    r->error = ENOENT;
    return;
  }
  int rc = unlink(path);
  if (rc < 0 && errno == EPERM) errno = EACCES;
  syscall_result(r, rc);
}

/* The /proc/sysvipc files, opened in the process's IPC namespace before it chroots (the file shows its opener's namespace). */
static int sysvipc_fds[3] = {-1, -1, -1};

static int open_sysvipc(struct result *r) {
  static const char *const paths[] = {"/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg"};
  for (int i = 0; i < 3; i++) {
    sysvipc_fds[i] = open(paths[i], O_RDONLY);
    if (sysvipc_fds[i] < 0) {
      internal(r, "cannot open %s: %s", paths[i], strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* Reads a /proc/sysvipc file from its start into the data area. */
static void do_sysvipc(const struct stmt *st, struct result *r) {
  int fd = sysvipc_fds[st->sysvipc];
  if (lseek(fd, 0, SEEK_SET) != 0) {
    internal(r, "lseek /proc/sysvipc: %s", strerror(errno));
    return;
  }
  uint64_t done = 0;
  for (;;) {
    ssize_t n = read(fd, env->box->data + done, ORACLE_MAX_ACCESS - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      internal(r, "read /proc/sysvipc: %s", strerror(errno));
      return;
    }
    if (n == 0) break;
    done += (uint64_t)n;
    if (done == ORACLE_MAX_ACCESS) {
      internal(r, "/proc/sysvipc holds more than the data area");
      return;
    }
  }
  r->outcome = OUT_OK;
  r->payload = PAYLOAD_TEXT;
  r->datalen = done;
}

/* The POSIX statements and those beside them; returns 0 when `st` is none of them. */
static int execute_posix(const struct stmt *st, struct result *r) {
  long rc;
  switch (st->op) {
  case OP_SHM_OPEN:
    do_shm_open(st, r);
    return 1;
  case OP_SHM_UNLINK:
    do_shm_unlink(st, r);
    return 1;
  case OP_MEMFD_CREATE:
    rc = syscall(SYS_memfd_create, st->name, (unsigned int)st->flags);
    syscall_result(r, rc);
    if (r->outcome == OUT_OK && st->bind_fd >= 0) fd_slots[st->bind_fd] = (int)rc;
    return 1;
  case OP_FCNTL:
    /* The raw call: glibc's wrapper would read a pointer or an int by command. */
    syscall_result(r, syscall(SYS_fcntl, fd_of(&st->fd), (int)st->flags, (long)st->arg));
    return 1;
  case OP_FSTAT:
    syscall_result(r, fstat(fd_of(&st->fd), &r->u.st));
    if (r->outcome == OUT_OK) r->payload = PAYLOAD_STAT;
    return 1;
  case OP_CMPADDR:
    r->outcome = OUT_OK;
    r->ret = resolve(&st->addr) == resolve(&st->addr2) ? 0 : 1;
    return 1;
  case OP_SYSVIPC:
    do_sysvipc(st, r);
    return 1;
  case OP_MSYNC:
    syscall_result(r, syscall(SYS_msync, (void *)(uintptr_t)resolve(&st->addr), (size_t)st->size, (int)st->flags));
    return 1;
  case OP_MADVISE:
    syscall_result(r, syscall(SYS_madvise, (void *)(uintptr_t)resolve(&st->addr), (size_t)st->size, (int)st->flags));
    return 1;
  case OP_MLOCK:
    if (st->has_flags)
      syscall_result(r, syscall(SYS_mlock2, (void *)(uintptr_t)resolve(&st->addr), (size_t)st->size, (int)st->flags));
    else
      syscall_result(r, syscall(SYS_mlock, (void *)(uintptr_t)resolve(&st->addr), (size_t)st->size));
    return 1;
  case OP_MUNLOCK:
    syscall_result(r, syscall(SYS_munlock, (void *)(uintptr_t)resolve(&st->addr), (size_t)st->size));
    return 1;
  case OP_MINCORE: {
    /* One byte a page, into the data area (LEN is at most 16 MiB, so the vector fits). */
    uint64_t pages = (st->size + page_size - 1) / page_size;
    syscall_result(r, syscall(SYS_mincore, (void *)(uintptr_t)resolve(&st->addr), (size_t)st->size, env->box->data));
    if (r->outcome == OUT_OK) {
      r->payload = PAYLOAD_DATA;
      r->datalen = pages;
    }
    return 1;
  }
  case OP_LSEEK:
    syscall_result(r, lseek(fd_of(&st->fd), (off_t)st->offset, (int)st->flags));
    return 1;
  case OP_UMASK:
    r->outcome = OUT_OK;
    r->ret = umask((mode_t)st->set_mode);
    return 1;
  case OP_FTOK:
    /* glibc's ftok: stat(2), then the key from proj_id's low byte, st_dev and st_ino; -1 with stat's errno. */
    syscall_result(r, ftok(st->path, (int)st->arg));
    return 1;
  default:
    return 0;
  }
}

/* A get call's key: the literal, or the ftok key the coordinator read from KEY's slot into `id`. */
static key_t get_key(const struct stmt *st, int32_t id) {
  return st->key_from_id ? (key_t)id : (key_t)st->key;
}

static void execute(const struct stmt *st, int32_t id, struct result *r) {
  if (execute_fs(st, r)) return;
  if (execute_posix(st, r)) return;
  uint64_t addr = resolve(&st->addr);
  long rc;
  switch (st->op) {
  case OP_PROC:
    become(st, r);
    return;
  case OP_RLIMIT:
    do_rlimit(st, r);
    return;
  case OP_SHMGET:
    syscall_result(r, syscall(SYS_shmget, get_key(st, id), (size_t)st->size, (int)st->flags));
    return;
  case OP_SHMAT:
    /* A success may be address 0 (root mapping page 0); only -1 with errno is a failure. */
    rc = syscall(SYS_shmat, (int)id, (void *)(uintptr_t)addr, (int)st->flags);
    syscall_result(r, rc);
    if (r->outcome == OUT_OK && st->bind_addr >= 0) addr_slots[st->bind_addr] = (uint64_t)rc;
    return;
  case OP_SHMDT:
    syscall_result(r, syscall(SYS_shmdt, (void *)(uintptr_t)addr));
    return;
  case OP_SHMCTL:
    do_shmctl(st, id, r);
    return;
  case OP_SEMGET:
    syscall_result(r, syscall(SYS_semget, get_key(st, id), (int)st->semnum, (int)st->flags));
    return;
  case OP_SEMOP:
    do_semop(st, id, r);
    return;
  case OP_SEMCTL:
    do_semctl(st, id, r);
    return;
  case OP_MSGGET:
    syscall_result(r, syscall(SYS_msgget, get_key(st, id), (int)st->flags));
    return;
  case OP_MSGSND:
    do_msgsnd(st, id, r);
    return;
  case OP_MSGRCV:
    do_msgrcv(st, id, r);
    return;
  case OP_MSGCTL:
    do_msgctl(st, id, r);
    return;
  case OP_MUNMAP:
    syscall_result(r, syscall(SYS_munmap, (void *)(uintptr_t)addr, (size_t)st->size));
    return;
  case OP_MPROTECT:
    syscall_result(r, syscall(SYS_mprotect, (void *)(uintptr_t)addr, (size_t)st->size, (int)st->flags));
    return;
  case OP_WRITE:
    access_result(r, access_range(addr, st->size, ACCESS_WRITE, st->bytes, NULL, 0));
    return;
  case OP_FILL:
    access_result(r, access_range(addr, st->size, ACCESS_FILL, NULL, NULL, st->fill_byte));
    return;
  case OP_READ:
    access_result(r, access_range(addr, st->size, ACCESS_READ, NULL, env->box->data, 0));
    if (r->outcome == OUT_OK) {
      r->payload = PAYLOAD_DATA;
      r->datalen = st->size;
    }
    return;
  default:
    break;
  }
  internal(r, "statement cannot run in a process");
}

/* Waits for a request other than `seen`; exits quietly once the coordinator is gone. */
static uint32_t next_request(struct slot *s, uint32_t seen) {
  for (;;) {
    uint32_t req = atomic_load(&s->req);
    if (req != seen) return req;
    futex_wait_ms(&s->req, seen, IDLE_CHECK_MS);
    struct pollfd hang = {.fd = hangup_fd, .events = POLLIN};
    if (poll(&hang, 1, 0) > 0) _exit(0);
  }
}

_Noreturn void process_main(const struct process_env *e, int index) {
  env = e;
  hangup_fd = e->hangup_fd;
  page_size = (uint64_t)sysconf(_SC_PAGESIZE);
  addr_slots = malloc((size_t)(e->prog->naddr + 1) * sizeof *addr_slots);
  if (addr_slots == NULL) _exit(1); /* the coordinator sees the death and reports it */
  for (int i = 0; i < e->prog->naddr; i++) addr_slots[i] = UINT64_MAX; /* (void *)-1: never bound */
  fd_slots = malloc((size_t)(e->prog->nfd + 1) * sizeof *fd_slots);
  if (fd_slots == NULL) _exit(1);
  for (int i = 0; i < e->prog->nfd; i++) fd_slots[i] = -1; /* what a C program holds after a failed open */
  struct sigaction fault = {.sa_handler = on_fault};
  sigemptyset(&fault.sa_mask);
  sigaction(SIGSEGV, &fault, NULL);
  sigaction(SIGBUS, &fault, NULL);
  my_index = index;
  /* No SA_RESTART: a call sleeping when the signal comes ends with EINTR, as `interrupt` specifies. */
  struct sigaction intr = {.sa_handler = on_interrupt};
  sigemptyset(&intr.sa_mask);
  sigaction(INTERRUPT_SIGNAL, &intr, NULL);

  uint32_t seen = 0;
  for (;;) {
    struct slot *s = &env->box->slots[index];
    uint32_t req = next_request(s, seen);
    seen = req;
    if (s->stmt == STMT_SHUTDOWN) _exit(0);
    struct result *r = &s->res;
    if (s->stmt == STMT_COLLECT) {
      *r = kept;
      if (kept.payload == PAYLOAD_MSG && kept.datalen > 0) memcpy(env->box->data, kept_data, kept.datalen);
      atomic_store(&s->resp, req);
      futex_wake_all(&s->resp);
      continue;
    }
    const struct stmt *st = &env->prog->stmts[s->stmt];
    memset(r, 0, sizeof *r);
    if (st->op == OP_EXIT) _exit(0); /* the coordinator waits for the exit itself, not an answer */
    if (st->op == OP_FORK) {
      pid_t pid = fork();
      if (pid == 0) {
        /* The child serves its own, never used, slot: its first request will be number 1. */
        index = st->child;
        my_index = index;
        seen = 0;
        continue;
      }
      if (pid < 0)
        internal(r, "fork: %s", strerror(errno));
      else {
        r->outcome = OUT_OK;
        r->pid = pid;
      }
    } else if (can_block(st->op)) {
      /* The answer only says the call has returned; STMT_COLLECT fetches what it returned. */
      memset(&kept, 0, sizeof kept);
      alarm(ORPHAN_GUARD_SECONDS);
      execute(st, s->id, &kept);
      alarm(0);
    } else {
      execute(st, s->id, r);
    }
    atomic_store(&s->resp, req);
    futex_wake_all(&s->resp);
  }
}
