/*
 * The native oracle of ipc-sentry: runs a scenario program (docs/oracle-protocol.md)
 * on the real kernel and prints one raw JSON result per statement.
 *
 * This process is the coordinator. It moves into a fresh IPC namespace, makes
 * one more per extra namespace the program names, and starts one real process
 * per `proc` (and, through that process's own fork, per `fork`). Every
 * statement runs inside its process: the coordinator posts the statement's
 * index to the process's mailbox slot, waits for the answer, and prints it, so
 * statements run one at a time in program order. Only `sysctl` runs here,
 * after a setns into the target namespace, because the kernel serves the IPC
 * sysctls of whichever namespace the writer is in.
 *
 * Exit status: 0 when the program ran, 3 when it cannot run on this machine,
 * 4 on an internal failure (a process died, a malformed program line). Results
 * already printed stay valid; nothing is printed for the failing statement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "oracle.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* How long a dying oracle waits for each killed process. */
#define KILL_WAIT_MS 2000

/* How often a coordinator waiting for an answer checks that the process is still alive. */
#define LIVENESS_CHECK_MS 100

/* Address space kept inaccessible between the oracle's mappings and the scenario's. */
#define GUARD_BYTES ((size_t)1 << 30)

/*
 * How long a process may take to return from its call or be seen asleep in
 * it, and to run an `interrupt` handler: a safety net for hangs, far above
 * what a healthy machine needs.
 */
#define SETTLE_LIMIT_NS (5LL * 1000000000LL)

/* The first and the longest pause between two looks at a process in its call. */
#define POLL_FIRST_NS 20000L
#define POLL_MAX_NS 1000000L

struct proc_state {
  int pidfd; /* -1 once the process has exited */
  pid_t pid;
  uint32_t requests;
  int blocked;         /* index of the statement whose call blocked, or -1 */
  int returned;        /* that call has returned; its result waits for a STMT_COLLECT */
  long sysno;          /* the system call it sleeps in */
  int64_t deadline_ns; /* a timed call's deadline on CLOCK_MONOTONIC; 0 for none */
  uint32_t signals;    /* `interrupt` signals sent */
};

static struct program prog;
static struct mailbox box;
static struct proc_state *procs;
static int32_t *num_slots;
static int *ns_fds;
static struct process_env penv;

/*
 * The scenario's "/" when the program uses files: a directory made under
 * /tmp, with an unlimited tmpfs mounted on it in the oracle's private mount
 * namespace (so none of the program's mounts is visible to, or propagates
 * to, the rest of the machine). Processes chroot into it; the coordinator
 * prefixes it to host-side paths, which the runner keeps free of "..".
 */
static char fs_root[64];
static int fs_root_made;

/* Detaches the root's mounts and removes its directory; safe to call twice. */
static void remove_fs_root(void) {
  if (!fs_root_made) return;
  fs_root_made = 0;
  umount2(fs_root, MNT_DETACH);
  rmdir(fs_root);
}

/* Kills every process and waits until each is gone, so none outlives the oracle. */
static void kill_processes(void) {
  if (procs == NULL) return;
  for (int i = 0; i < prog.nprocs; i++)
    if (procs[i].pidfd >= 0) syscall(SYS_pidfd_send_signal, procs[i].pidfd, SIGKILL, NULL, 0);
  for (int i = 0; i < prog.nprocs; i++) {
    struct pollfd pfd = {.fd = procs[i].pidfd, .events = POLLIN};
    if (procs[i].pidfd >= 0) poll(&pfd, 1, KILL_WAIT_MS);
  }
}

_Noreturn void die(int status, const struct stmt *st, const char *fmt, ...) {
  char reason[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  kill_processes();
  remove_fs_root();
  if (st != NULL)
    fprintf(stderr, "oracle: program line %u (scenario line %s): %s\n", st->textline, st->line, reason);
  else
    fprintf(stderr, "oracle: %s\n", reason);
  exit(status);
}

static char *read_all(int fd, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL) die(EXIT_INTERNAL, NULL, "out of memory reading %s", fd == STDIN_FILENO ? "the program" : "a file");
    ssize_t got = read(fd, buf + n, cap - n - 1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) die(EXIT_INTERNAL, NULL, "read: %s", strerror(errno));
    if (got == 0) break;
    n += (size_t)got;
    if (n + 1 == cap) buf = realloc(buf, cap *= 2);
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static const char *cap_name(int bit) {
  switch (bit) {
  case ORACLE_CAP_IPC_OWNER: return "CAP_IPC_OWNER";
  case ORACLE_CAP_IPC_LOCK: return "CAP_IPC_LOCK";
  case ORACLE_CAP_SYS_ADMIN: return "CAP_SYS_ADMIN";
  default: return "CAP_SYS_RESOURCE";
  }
}

static void prepare_fs_root(void) {
  if (unshare(CLONE_NEWNS) != 0)
    die(EXIT_UNAVAILABLE, NULL, "cannot create a mount namespace (unshare: %s)", strerror(errno));
  /* Nothing mounted from here on may reach the machine's own namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    die(EXIT_UNAVAILABLE, NULL, "cannot make the mount namespace private: %s", strerror(errno));
  snprintf(fs_root, sizeof fs_root, "/tmp/ipc-sentry-root-XXXXXX");
  if (mkdtemp(fs_root) == NULL) die(EXIT_UNAVAILABLE, NULL, "cannot make a directory under /tmp: %s", strerror(errno));
  fs_root_made = 1;
  /* The emulator's "/" is a tmpfs without size or inode limits, mode 0755: so is this one. */
  if (mount("tmpfs", fs_root, "tmpfs", 0, "mode=0755,size=0,nr_inodes=0") != 0)
    die(EXIT_UNAVAILABLE, NULL, "cannot mount a tmpfs: %s", strerror(errno));
  penv.fs_root = fs_root;
}

/* The host-side path of scenario path `p`. */
static void host_path(char *out, size_t len, const char *p, const struct stmt *st) {
  if ((size_t)snprintf(out, len, "%s%s", fs_root, p) >= len) die(EXIT_INTERNAL, st, "path too long");
}

/* tmpfs mount, mount --bind and host mkdir, run as the oracle itself (root, every capability). */
static int host_statement(const struct stmt *st) {
  char target[4200], source[4200], data[128];
  host_path(target, sizeof target, st->path, st);
  switch (st->op) {
  case OP_TMPFS: {
    int n = snprintf(data, sizeof data, "size=%llu", (unsigned long long)st->size);
    if (st->nr_inodes >= 0) n += snprintf(data + n, sizeof data - (size_t)n, ",nr_inodes=%lld", (long long)st->nr_inodes);
    if (st->mode >= 0) snprintf(data + n, sizeof data - (size_t)n, ",mode=%o", (unsigned)st->mode);
    return mount("tmpfs", target, "tmpfs", 0, data) == 0 ? 0 : errno;
  }
  case OP_BIND:
    host_path(source, sizeof source, st->path2, st);
    if (mount(source, target, NULL, MS_BIND, NULL) != 0) return errno;
    if (st->mode && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) return errno;
    return 0;
  case OP_HMKDIR:
    /* mkdir -p: each missing directory 0755; an existing non-directory is EEXIST. */
    for (char *slash = target + strlen(fs_root) + 1;; slash++) {
      char saved = *slash;
      if (saved != '/' && saved != '\0') continue;
      *slash = '\0';
      struct stat sb;
      int err = mkdir(target, 0755) == 0 ? 0 : errno;
      if (err == EEXIST && (stat(target, &sb) != 0 || !S_ISDIR(sb.st_mode))) return EEXIST;
      if (err != 0 && err != EEXIST) return err;
      *slash = saved;
      if (saved == '\0') return 0;
    }
  default:
    die(EXIT_INTERNAL, st, "not a host statement");
  }
}

/*
 * Checks that this machine lets the oracle do what the program needs, before
 * anything runs: root, every capability the program hands out, and a fresh IPC
 * namespace for each one the program names.
 */
static void prepare_machine(void) {
  if (geteuid() != 0)
    die(EXIT_UNAVAILABLE, NULL, "the native oracle must run as root (it creates processes with any uid)");
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &header, data) != 0)
    die(EXIT_UNAVAILABLE, NULL, "capget: %s", strerror(errno));
  /* "All capabilities" is what this process holds; a container's bounding set may lack some. */
  penv.caps_all = (uint64_t)data[1].permitted << 32 | data[0].permitted;
  const int kernel_caps[] = {CAP_IPC_OWNER, CAP_IPC_LOCK, CAP_SYS_ADMIN, CAP_SYS_RESOURCE};
  for (int i = 0; i < 4; i++)
    if ((prog.caps_used & 1 << i) && !(penv.caps_all & (uint64_t)1 << kernel_caps[i]))
      die(EXIT_UNAVAILABLE, NULL, "this machine withholds %s, which the program gives to a process",
          cap_name(1 << i));

  ns_fds = calloc((size_t)prog.nns, sizeof *ns_fds);
  if (ns_fds == NULL) die(EXIT_INTERNAL, NULL, "out of memory");
  for (int i = 0; i < prog.nns; i++) {
    if (unshare(CLONE_NEWIPC) != 0)
      die(EXIT_UNAVAILABLE, NULL, "cannot create an IPC namespace (unshare: %s)", strerror(errno));
    /* The open descriptor keeps the namespace alive until this process exits. */
    ns_fds[i] = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
    if (ns_fds[i] < 0) die(EXIT_UNAVAILABLE, NULL, "cannot open /proc/self/ns/ipc: %s", strerror(errno));
  }
  if (setns(ns_fds[0], CLONE_NEWIPC) != 0) die(EXIT_INTERNAL, NULL, "setns: %s", strerror(errno));
  if (prog.uses_fs) prepare_fs_root();
}

/*
 * The kernel places an attachment without an address at the highest free gap
 * below mmap_base, which in a fresh process is a hole between the libraries or
 * right below the oracle's own mappings (the mailbox). An access past a
 * scenario attachment would then land in the oracle's memory instead of
 * faulting as in the bare address space the scenario language assumes. So the
 * oracle maps an inaccessible guard below all of its mappings and plugs every
 * hole above it: attachments then go right below the guard, with nothing but
 * the guard above them. The area between the last mapping and the stack is left
 * alone, as the stack grows into it.
 *
 * The guard is itself a mapping, though: mprotect, mlock, munlock, msync and
 * mincore of a range running off the end of the first attachment would find
 * it there and succeed, where the bare address space has a hole (ENOMEM). So
 * the guard grows down, like a stack: the kernel then keeps stack_guard_gap
 * (1 MiB by default) free below it when it picks an address, and a range past
 * the end of the highest attachment meets a real hole. A fault in that hole
 * cannot grow the guard either: the attachment below it is accessible and too
 * close, or else the grown guard would pass RLIMIT_STACK, which is kept below
 * the guard's size here.
 */
static void fence_address_space(void) {
  struct rlimit stack;
  if (getrlimit(RLIMIT_STACK, &stack) == 0 && (stack.rlim_cur == RLIM_INFINITY || stack.rlim_cur >= GUARD_BYTES)) {
    stack.rlim_cur = (rlim_t)8 << 20;
    if (setrlimit(RLIMIT_STACK, &stack) != 0)
      die(EXIT_INTERNAL, NULL, "cannot bound RLIMIT_STACK: %s", strerror(errno));
  }
  uint8_t *guard =
      mmap(NULL, GUARD_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_GROWSDOWN, -1, 0);
  if (guard == MAP_FAILED) die(EXIT_INTERNAL, NULL, "cannot map the guard: %s", strerror(errno));
  /* Read the whole map first: plugging holes while reading would move the file under the reader. */
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(EXIT_UNAVAILABLE, NULL, "cannot read /proc/self/maps: %s", strerror(errno));
  size_t len;
  char *maps = read_all(fd, &len);
  close(fd);
  uintptr_t prev_end = (uintptr_t)guard + GUARD_BYTES;
  for (char *line = maps; line != NULL && *line != '\0';) {
    char *next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start > (uintptr_t)guard &&
        strstr(line, "[stack]") == NULL && strstr(line, "[vsyscall]") == NULL) {
      if (start > prev_end &&
          mmap((void *)prev_end, start - prev_end, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED)
        die(EXIT_INTERNAL, NULL, "cannot plug the hole at %#lx: %s", (unsigned long)prev_end, strerror(errno));
      prev_end = end;
    }
    line = next;
  }
  free(maps);

  /*
   * The highest address left for the scenario is the guard's start less the
   * kernel's gap. Found with a probe (the gap is a boot option), it is then
   * made a multiple of 1 GiB by moving the guard down, so that a huge-page
   * mapping placed first takes the very top and a later small one lands right
   * below it, as in a bare address space; the room the move frees above the
   * guard is plugged like the other holes.
   */
  void *probe = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (probe == MAP_FAILED) die(EXIT_INTERNAL, NULL, "cannot probe below the guard: %s", strerror(errno));
  munmap(probe, 4096);
  uintptr_t top = (uintptr_t)probe + 4096;
  uintptr_t skew = top & (GUARD_BYTES - 1);
  /* Only a probe right below the guard (within any plausible gap) says where the scenario's mappings go. */
  if (skew == 0 || top > (uintptr_t)guard || (uintptr_t)guard - top > ((uintptr_t)1 << 28)) return;
  uint8_t *old = guard;
  munmap(old, GUARD_BYTES);
  guard = mmap(old - skew, GUARD_BYTES, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0);
  if (guard == MAP_FAILED) {
    /* Something sits below: keep the guard where it was, unaligned. */
    guard = mmap(old, GUARD_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE,
                 -1, 0);
    if (guard == MAP_FAILED) die(EXIT_INTERNAL, NULL, "cannot map the guard again: %s", strerror(errno));
    return;
  }
  if (mmap(guard + GUARD_BYTES, skew, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1,
           0) == MAP_FAILED)
    die(EXIT_INTERNAL, NULL, "cannot plug above the moved guard: %s", strerror(errno));
}

/* The mailbox is mapped before any fork, so every process, however deep, shares it. */
static void prepare_mailbox(void) {
  size_t slots = (size_t)(prog.nprocs > 0 ? prog.nprocs : 1) * sizeof(struct slot);
  slots = (slots + 4095) & ~(size_t)4095;
  uint8_t *area = mmap(NULL, slots + ORACLE_MAX_ACCESS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) die(EXIT_INTERNAL, NULL, "cannot map the mailbox: %s", strerror(errno));
  box.slots = (struct slot *)area;
  box.data = area + slots;

  int hangup[2];
  if (pipe(hangup) != 0) die(EXIT_INTERNAL, NULL, "pipe: %s", strerror(errno));
  penv.prog = &prog;
  penv.box = &box;
  penv.ns_fds = ns_fds;
  penv.hangup_fd = hangup[0];
  /* hangup[1] stays open here only (the processes close it), so its EOF means this process is gone. */

  procs = calloc((size_t)prog.nprocs + 1, sizeof *procs);
  num_slots = malloc(((size_t)prog.nnum + 1) * sizeof *num_slots);
  if (procs == NULL || num_slots == NULL) die(EXIT_INTERNAL, NULL, "out of memory");
  for (int i = 0; i < prog.nprocs; i++) {
    procs[i].pidfd = -1;
    procs[i].blocked = -1;
  }
  for (int i = 0; i < prog.nnum; i++) num_slots[i] = -1; /* what a C program holds after a failed call */

  fence_address_space();

  /*
   * Nobody waits for exit statuses: exits are observed through pidfds, so let
   * the kernel reap. Orphans (a fork child whose parent exited) come back here
   * rather than to init, and are reaped the same way.
   */
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  sigaction(SIGCHLD, &ignore, NULL);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0) die(EXIT_INTERNAL, NULL, "prctl: %s", strerror(errno));
}

static void post(int p, uint32_t index, int32_t id) {
  struct slot *s = &box.slots[p];
  s->stmt = index;
  s->id = id;
  atomic_store(&s->req, ++procs[p].requests);
  futex_wake_all(&s->req);
}

static int exited(int pidfd) {
  struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
  return poll(&pfd, 1, 0) > 0;
}

/* Waits for process p's answer to its latest request and checks what it says. */
static struct result *await(int p, const struct stmt *st) {
  struct slot *s = &box.slots[p];
  uint32_t want = procs[p].requests;
  for (;;) {
    uint32_t resp = atomic_load(&s->resp);
    if (resp == want) break;
    futex_wait_ms(&s->resp, resp, LIVENESS_CHECK_MS);
    if (atomic_load(&s->resp) != want && exited(procs[p].pidfd))
      die(EXIT_INTERNAL, st, "process %d died unexpectedly", p);
  }
  struct result *r = &s->res;
  if (r->outcome == OUT_INTERNAL) die(EXIT_INTERNAL, st, "process %d: %s", p, r->message);
  if (r->outcome == OUT_UNAVAILABLE) die(EXIT_UNAVAILABLE, st, "%s", r->message);
  if (r->outcome == OUT_SCENARIO) {
    /* The runner cannot tell this stop from the results alone: the stop line says what the process found. */
    print_stop(st, r);
    die(EXIT_SCENARIO, st, "%s", r->message);
  }
  return r;
}

static void started(int p, pid_t pid, const struct stmt *st) {
  procs[p].pid = pid;
  procs[p].pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (procs[p].pidfd < 0) die(EXIT_INTERNAL, st, "pidfd_open of process %d: %s", p, strerror(errno));
}

static void wait_exit(int p, const struct stmt *st) {
  struct pollfd pfd = {.fd = procs[p].pidfd, .events = POLLIN};
  while (poll(&pfd, 1, -1) < 0)
    if (errno != EINTR) die(EXIT_INTERNAL, st, "poll: %s", strerror(errno));
  close(procs[p].pidfd);
  procs[p].pidfd = -1;
}

/* Writes a sysctl from inside namespace ns, as root with every capability. */
static int write_sysctl(const struct stmt *st) {
  char path[64];
  snprintf(path, sizeof path, "/proc/sys/kernel/%s", st->sysctl_name);
  if (setns(ns_fds[st->ns], CLONE_NEWIPC) != 0) die(EXIT_INTERNAL, st, "setns: %s", strerror(errno));
  int err = 0;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  size_t len = strlen(st->sysctl_value);
  if (fd < 0) {
    err = errno;
  } else {
    ssize_t put = write(fd, st->sysctl_value, len);
    if (put < 0) err = errno;
    else if ((size_t)put != len) die(EXIT_INTERNAL, st, "short write to %s", path);
    close(fd);
  }
  if (setns(ns_fds[0], CLONE_NEWIPC) != 0) die(EXIT_INTERNAL, st, "setns: %s", strerror(errno));
  return err;
}

/* Blocking calls (docs/scenario-language.md, Blocking calls). */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pause_ns(long ns) {
  struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Reads a small /proc file of process p into buf; 0 on success. */
static int read_proc(int p, const char *name, char *buf, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)procs[p].pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  return 0;
}

/* The system call /proc/PID/syscall says process p sleeps in; -1 when it runs or is not in one. */
static long sleeping_syscall(int p) {
  char text[256];
  if (read_proc(p, "syscall", text, sizeof text) != 0) return -1;
  char *end;
  long nr = strtol(text, &end, 10);
  return end == text ? -1 : nr;
}

/*
 * Whether process p sleeps in its blocked call: state S in /proc/PID/stat
 * (an interruptible sleep, as every IPC wait is) while /proc/PID/syscall
 * names that call, both before and after the state is read.
 */
static int asleep_in_call(int p) {
  if (sleeping_syscall(p) != procs[p].sysno) return 0;
  char stat[512];
  if (read_proc(p, "stat", stat, sizeof stat) != 0) return 0;
  /* "PID (COMM) STATE ...": COMM may hold anything, so the state follows the last ')'. */
  char *close_paren = strrchr(stat, ')');
  if (close_paren == NULL || close_paren[1] != ' ' || close_paren[2] != 'S') return 0;
  return sleeping_syscall(p) == procs[p].sysno;
}

/* Whether process p has answered its latest request (for a call that can block: it has returned). */
static int answered(int p) {
  return atomic_load(&box.slots[p].resp) == procs[p].requests;
}

/*
 * Waits until process p's call has returned (1) or, when `asleep_ok`, until
 * p is seen asleep in it (0). Never a guess with a fixed delay: it looks
 * again and again, with short pauses, and gives up only after `limit_ns`,
 * which no healthy run reaches.
 */
static int settle(int p, const struct stmt *st, int asleep_ok, int64_t limit_ns) {
  int64_t until = now_ns() + limit_ns;
  long pause = POLL_FIRST_NS;
  for (;;) {
    if (answered(p)) return 1;
    if (asleep_ok && asleep_in_call(p)) return answered(p);
    if (exited(procs[p].pidfd)) die(EXIT_INTERNAL, st, "process %d died unexpectedly", p);
    if (now_ns() > until)
      die(EXIT_INTERNAL, st, "process %d neither returned from its %s call nor slept in it in time", p, asleep_ok ? "" : "timed or interrupted");
    pause_ns(pause);
    if (pause < POLL_MAX_NS) pause *= 2;
  }
}

/*
 * After every statement: each blocked call has either returned or is asleep
 * in its system call again, so whatever the statement woke has finished
 * before the next statement runs.
 */
static void settle_all(const struct stmt *st) {
  for (int p = 0; p < prog.nprocs; p++)
    if (procs[p].blocked >= 0 && !procs[p].returned && procs[p].pidfd >= 0) procs[p].returned = settle(p, st, 1, SETTLE_LIMIT_NS);
}

/* Fetches the result a process keeps for its call that can block (see process.c). */
static struct result *collect(int p, const struct stmt *st) {
  post(p, STMT_COLLECT, 0);
  return await(p, st);
}

/* Runs semop, semtimedop, msgsnd or msgrcv: its result if it returns at once, else `blocked`. */
static void run_blocking(size_t index, const struct stmt *st, int32_t id) {
  int p = st->proc;
  int timed = st->op == OP_SEMOP && st->timeout_ms >= 0;
  procs[p].sysno = st->op == OP_SEMOP ? (timed ? SYS_semtimedop : SYS_semop) : st->op == OP_MSGSND ? SYS_msgsnd : SYS_msgrcv;
  int64_t start = now_ns();
  post(p, (uint32_t)index, id);
  /* A zero timeout is for a call that completes at once, so it is never reported blocked. */
  if (settle(p, st, !(timed && st->timeout_ms == 0), SETTLE_LIMIT_NS)) {
    print_result(st, collect(p, st), box.data);
    return;
  }
  procs[p].blocked = (int)index;
  procs[p].returned = 0;
  procs[p].deadline_ns = timed ? start + st->timeout_ms * 1000000LL : 0;
  print_blocked(st);
}

/*
 * `wait`: a timed call still sleeping is waited for (its timeout is real
 * time here); then the call's result, printed as its statement would print
 * it but on this line, or `blocked` when an untimed call still sleeps.
 */
static void run_wait(const struct stmt *st) {
  int p = st->proc;
  if (procs[p].blocked < 0) die(EXIT_SCENARIO, st, "process %d has no blocked call to wait for", p);
  if (!procs[p].returned) {
    if (procs[p].deadline_ns > 0) {
      int64_t left = procs[p].deadline_ns - now_ns();
      procs[p].returned = settle(p, st, 0, (left > 0 ? left : 0) + SETTLE_LIMIT_NS);
    } else {
      procs[p].returned = settle(p, st, 1, SETTLE_LIMIT_NS);
    }
  }
  if (!procs[p].returned) {
    print_blocked(st);
    return;
  }
  struct stmt shown = prog.stmts[procs[p].blocked];
  shown.line = st->line;
  procs[p].blocked = -1;
  print_result(&shown, collect(p, st), box.data);
}

/* `interrupt`: the signal, then the handler's run; a sleeping call has then ended with EINTR. */
static void run_interrupt(const struct stmt *st) {
  int p = st->proc;
  uint32_t want = ++procs[p].signals;
  if (syscall(SYS_pidfd_send_signal, procs[p].pidfd, INTERRUPT_SIGNAL, NULL, 0) != 0)
    die(EXIT_INTERNAL, st, "pidfd_send_signal: %s", strerror(errno));
  int64_t until = now_ns() + SETTLE_LIMIT_NS;
  while (atomic_load(&box.slots[p].signals) != want) {
    if (exited(procs[p].pidfd)) die(EXIT_INTERNAL, st, "process %d died unexpectedly", p);
    if (now_ns() > until) die(EXIT_INTERNAL, st, "process %d did not run its signal handler in time", p);
    pause_ns(POLL_FIRST_NS);
  }
  if (procs[p].blocked >= 0 && !procs[p].returned) procs[p].returned = settle(p, st, 0, SETTLE_LIMIT_NS);
  print_ok(st);
}

/* `sleep MS`: real time passes. */
static void run_sleep(const struct stmt *st) {
  struct timespec ts = {.tv_sec = st->timeout_ms / 1000, .tv_nsec = (st->timeout_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  print_ok(st);
}

static void run(size_t index) {
  const struct stmt *st = &prog.stmts[index];
  int32_t id = st->id.slot >= 0 ? num_slots[st->id.slot] : st->id.literal;
  struct result *r;
  switch (st->op) {
  case OP_SYSCTL: {
    int err = write_sysctl(st);
    if (err != 0)
      print_errno(st, err);
    else
      print_ok(st);
    return;
  }
  case OP_TMPFS: case OP_BIND: case OP_HMKDIR: {
    int err = host_statement(st);
    if (err != 0)
      print_errno(st, err);
    else
      print_ok(st);
    return;
  }
  case OP_PROC: {
    /* Posted before the fork: the new process finds its set-up request waiting. */
    post(st->proc, (uint32_t)index, id);
    pid_t pid = fork();
    if (pid < 0) die(EXIT_INTERNAL, st, "fork: %s", strerror(errno));
    if (pid == 0) process_main(&penv, st->proc);
    started(st->proc, pid, st);
    r = await(st->proc, st);
    break;
  }
  case OP_EXIT:
    /* A process asleep in its call cannot read a request: it is killed, and the kernel's exit does the rest. */
    if (procs[st->proc].blocked >= 0 && !procs[st->proc].returned)
      syscall(SYS_pidfd_send_signal, procs[st->proc].pidfd, SIGKILL, NULL, 0);
    else
      post(st->proc, (uint32_t)index, id);
    procs[st->proc].blocked = -1;
    wait_exit(st->proc, st);
    print_ok(st);
    return;
  case OP_SLEEP:
    run_sleep(st);
    return;
  case OP_WAIT:
    run_wait(st);
    return;
  case OP_INTERRUPT:
    run_interrupt(st);
    return;
  default:
    /* The runner stops a file here first; this keeps a blocked process from being handed a request it cannot read. */
    if (procs[st->proc].blocked >= 0)
      die(EXIT_SCENARIO, st, "process %d is blocked in a call: only wait, interrupt and exit may name it", st->proc);
    if (st->op == OP_SEMOP || st->op == OP_MSGSND || st->op == OP_MSGRCV) {
      run_blocking(index, st, id);
      return;
    }
    post(st->proc, (uint32_t)index, id);
    r = await(st->proc, st);
    if (st->op == OP_FORK && r->outcome == OUT_OK) started(st->child, r->pid, st);
    break;
  }
  if (r->outcome == OUT_OK && st->bind_num >= 0) num_slots[st->bind_num] = (int32_t)r->ret;
  print_result(st, r, box.data);
}

/*
 * Removes every segment left in the program's namespaces, once its processes
 * have exited (so none is attached, and IPC_RMID destroys each at once).
 * The namespaces would destroy them anyway, but the kernel frees a dead IPC
 * namespace later, from a workqueue, and until then the SHM_LOCKed pages of
 * its segments stay charged to their users' RLIMIT_MEMLOCK accounting, which
 * is system-wide: the next oracle run, as the same uid, would see a
 * leftover of this one. Destroying them here uncharges them before the
 * oracle exits.
 */
static void remove_segments(void) {
  for (int i = 0; i < prog.nns; i++) {
    if (setns(ns_fds[i], CLONE_NEWIPC) != 0) die(EXIT_INTERNAL, NULL, "setns: %s", strerror(errno));
    struct shm_info info;
    int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
    for (int idx = 0; idx <= max; idx++) {
      struct shmid_ds ds;
      int id = shmctl(idx, SHM_STAT_ANY, &ds);
      if (id >= 0) shmctl(id, IPC_RMID, NULL);
    }
  }
}

int main(void) {
  size_t len;
  char *text = read_all(STDIN_FILENO, &len);
  if (strlen(text) != len) die(EXIT_INTERNAL, NULL, "the program text contains a NUL byte");
  char err[512];
  if (parse_program(text, &prog, err, sizeof err) != 0) die(EXIT_INTERNAL, NULL, "%s", err);
  prepare_machine();
  prepare_mailbox();
  for (size_t i = 0; i < prog.count; i++) {
    run(i);
    settle_all(&prog.stmts[i]);
  }
  /* Every process exits before the oracle does; then the segments go, and the namespaces with the oracle. */
  for (int p = 0; p < prog.nprocs; p++) {
    if (procs[p].pidfd < 0) continue;
    if (procs[p].blocked >= 0 && !procs[p].returned)
      syscall(SYS_pidfd_send_signal, procs[p].pidfd, SIGKILL, NULL, 0);
    else
      post(p, STMT_SHUTDOWN, 0);
  }
  for (int p = 0; p < prog.nprocs; p++)
    if (procs[p].pidfd >= 0) wait_exit(p, NULL);
  remove_segments();
  remove_fs_root();
  return 0;
}
