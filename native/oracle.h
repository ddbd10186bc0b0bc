/*
 * The native oracle of ipc-sentry: shared declarations.
 *
 * The coordinator (oracle.c) parses the whole program (program.c) before it
 * starts any process, so every process it forks, and every child those fork,
 * holds its own copy of the parsed program. A command therefore only names a
 * statement by index; the process (process.c) reads the arguments from its
 * copy and answers through the mailbox, a MAP_SHARED anonymous mapping made
 * before the first fork.
 */
#ifndef IPC_SENTRY_ORACLE_H
#define IPC_SENTRY_ORACLE_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

/* glibc headers older than 2.28 lack it; the kernel has had it since 4.17. */
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

/* write and read move at most this many bytes (docs/oracle-protocol.md). */
#define ORACLE_MAX_ACCESS ((uint64_t)16 << 20)

/* CAPS bits of the protocol. */
#define ORACLE_CAP_IPC_OWNER 1
#define ORACLE_CAP_IPC_LOCK 2
#define ORACLE_CAP_SYS_ADMIN 4
#define ORACLE_CAP_SYS_RESOURCE 8
#define ORACLE_CAPS_ALL (-1)

/*
 * Every statement of the protocol, once: its name in these sources and its
 * word in the program text. The enum, the word lookup (program.c) and the
 * tables of parsers and runners indexed by it all follow this list.
 */
#define ORACLE_STATEMENTS(X)                                                   \
  X(PROC, "proc")                                                              \
  X(FORK, "fork")                                                              \
  X(EXIT, "exit")                                                              \
  X(SYSCTL, "sysctl")                                                          \
  X(RLIMIT, "rlimit")                                                          \
  X(SHMGET, "shmget")                                                          \
  X(SHMAT, "shmat")                                                            \
  X(SHMDT, "shmdt")                                                            \
  X(SHMCTL, "shmctl")                                                          \
  X(MUNMAP, "munmap")                                                          \
  X(MPROTECT, "mprotect")                                                      \
  X(WRITE, "write")                                                            \
  X(FILL, "fill")                                                              \
  X(READ, "read")                                                              \
  /* Version 2: System V semaphores and message queues. */                    \
  X(SEMGET, "semget")                                                          \
  X(SEMOP, "semop")   /* semop, or semtimedop with a timeout */                \
  X(SEMCTL, "semctl")                                                          \
  X(MSGGET, "msgget")                                                          \
  X(MSGSND, "msgsnd")                                                          \
  X(MSGRCV, "msgrcv")                                                          \
  X(MSGCTL, "msgctl")                                                          \
  /* Blocking calls: collect a blocked call's result, signal, let time pass. */ \
  X(WAIT, "wait")                                                              \
  X(INTERRUPT, "interrupt")                                                    \
  X(SLEEP, "sleep")   /* coordinator: nanosleep */                             \
  /* The file-system extension (docs/scenario-extensions.md). */               \
  X(TMPFS, "tmpfs")   /* coordinator: mount a tmpfs under the scenario root */ \
  X(BIND, "bind")     /* coordinator: bind mount, optionally read-only */      \
  X(HMKDIR, "hmkdir") /* coordinator: mkdir -p */                              \
  X(OPEN, "open")                                                              \
  X(CLOSE, "close")                                                            \
  X(FWRITE, "fwrite")                                                          \
  X(FREAD, "fread")                                                            \
  X(UNLINK, "unlink")                                                          \
  X(MKDIR, "mkdir")                                                            \
  X(RMDIR, "rmdir")                                                            \
  X(STATFS, "statfs")                                                          \
  X(STAT, "stat")                                                              \
  X(FTRUNCATE, "ftruncate")                                                    \
  X(FALLOCATE, "fallocate")                                                    \
  X(MMAP, "mmap")                                                              \
  X(DD, "dd")                                                                  \
  /* POSIX shared memory, memfd, seals and what test suites need beside. */   \
  X(SHM_OPEN, "shm_open")                                                      \
  X(SHM_UNLINK, "shm_unlink")                                                  \
  X(MEMFD_CREATE, "memfd_create")                                              \
  X(FCNTL, "fcntl")                                                            \
  X(FSTAT, "fstat")                                                            \
  X(CMPADDR, "cmpaddr")                                                        \
  X(SYSVIPC, "sysvipc")                                                        \
  X(MSYNC, "msync")                                                            \
  X(MADVISE, "madvise")                                                        \
  X(MLOCK, "mlock")   /* mlock, or mlock2 with FLAGS */                        \
  X(MUNLOCK, "munlock")                                                        \
  X(MINCORE, "mincore")                                                        \
  X(LSEEK, "lseek")                                                            \
  X(UMASK, "umask")                                                            \
  X(FTOK, "ftok")

enum op {
#define ORACLE_OP_ENUM(name, word) OP_##name,
  ORACLE_STATEMENTS(ORACLE_OP_ENUM)
#undef ORACLE_OP_ENUM
  OP_COUNT
};

/* Each statement's word in the program text, indexed by op. */
extern const char *const op_words[OP_COUNT];

/* `write FD bytes=N` and dd's block size stay below these. */
#define ORACLE_MAX_ZERO_WRITE ((uint64_t)256 << 20)
#define ORACLE_MAX_DD_BS ((uint64_t)64 << 20)

/* An FD operand: a descriptor slot of the process, or a literal. */
struct fd_expr {
  int slot; /* -1 for a literal */
  int literal;
};

/* An ADDR operand: a literal, or an address slot of the process plus or minus an offset. */
struct addr_expr {
  int slot; /* -1 for a literal */
  int negative;
  uint64_t value; /* the literal, or the offset */
};

/* An ID operand: a numeric slot, resolved by the coordinator, or a literal. */
struct id_expr {
  int slot; /* -1 for a literal */
  int32_t literal;
};

/* One parsed statement. Fields not used by `op` are zero. */
struct stmt {
  const char *line;  /* the scenario line number, as written */
  unsigned textline; /* 1-based line of the program text */
  enum op op;
  int proc;  /* P; the parent for fork */
  int child; /* fork: the new process */
  int ns;    /* proc, sysctl */
  uid_t uid; /* proc */
  gid_t gid;
  size_t ngroups;
  gid_t *groups;
  int caps;
  const char *sysctl_name; /* sysctl */
  const char *sysctl_value;
  int32_t key;        /* shmget */
  uint64_t size;      /* shmget size; rlimit value; munmap/mprotect/fill/read length */
  int32_t flags;      /* shmget/shmat flags, mprotect prot, shmctl cmd */
  struct id_expr id;  /* shmat, shmctl */
  struct addr_expr addr;
  int bind_num;  /* #N bound on success, or -1 */
  int bind_addr; /* @N bound on success, or -1 */
  int named;     /* shmctl: CMD was written as a name */
  uint32_t set_uid, set_gid, set_mode; /* shmctl IPC_SET */
  const uint8_t *bytes; /* write: the decoded bytes */
  uint8_t fill_byte;
  /* The file-system extension. */
  const char *path;   /* decoded; the target for bind */
  const char *path2;  /* bind: the source */
  struct fd_expr fd;
  int bind_fd;        /* %N bound by open, or -1 */
  int mode;           /* open/mkdir mode, fallocate mode, tmpfs mode (-1: default), bind: read-only */
  int zeros;          /* fwrite: `size` zero bytes instead of `bytes` */
  int has_offset;     /* fwrite, fread: pwrite or pread at `offset` */
  int64_t offset;     /* pwrite, fallocate, mmap offset; ftruncate length */
  int64_t nr_inodes;  /* tmpfs: -1 for the default */
  uint64_t count;     /* dd */
  /* Version 2. */
  int32_t semnum;          /* semget nsems; semctl semnum */
  size_t nsops;            /* semop; semctl SETALL: the number of values */
  struct sembuf *sops;     /* semop */
  int64_t timeout_ms;      /* semop: -1 for semop, else semtimedop's relative timeout; sleep: MS */
  int32_t setval;          /* semctl SETVAL */
  unsigned short *vals;    /* semctl SETALL */
  int64_t mtype;           /* msgsnd mtype, msgrcv msgtyp */
  int64_t msgsz;           /* msgsnd bytes=N (may be negative), msgrcv MAXSIZE */
  uint64_t set_qbytes;     /* msgctl IPC_SET */
  /* POSIX shared memory and the calls beside it. */
  const char *name;        /* shm_open, shm_unlink, memfd_create: decoded, NUL-terminated (may be empty) */
  struct addr_expr addr2;  /* cmpaddr: the second address */
  int32_t arg;             /* fcntl: the int argument */
  int sysvipc;             /* sysvipc: 0 shm, 1 sem, 2 msg */
  int has_flags;           /* mlock: FLAGS given (mlock2) */
  int resource;            /* rlimit: RLIMIT_MEMLOCK or RLIMIT_FSIZE */
  int key_from_id;         /* shmget, semget, msgget: KEY was #N (an ftok key), resolved into `id` */
};

struct program {
  struct stmt *stmts;
  size_t count;
  int nprocs;    /* processes started by proc or fork */
  int nns;       /* namespaces named, default included */
  int nnum;      /* numeric slots */
  int naddr;     /* address slots */
  int nfd;       /* descriptor slots */
  int caps_used; /* union of every CAPS mask other than -1 */
  int uses_fs;   /* some statement touches files: run under a private tmpfs root */
  int uses_sysvipc; /* some statement reads /proc/sysvipc: each process opens the files before it chroots */
};

/*
 * Parses the program in `text` (modified in place: tokens are cut out and hex is
 * decoded where it lies). On failure returns -1 and writes a message naming the
 * program line to `err`.
 */
int parse_program(char *text, struct program *out, char *err, size_t errlen);

/* What a process reports for one command. */
enum outcome {
  OUT_OK,
  OUT_ERRNO,
  OUT_SIGNAL,
  OUT_INTERNAL,    /* the process could not carry the statement out: exit 4 */
  OUT_UNAVAILABLE, /* this machine cannot reproduce the statement: exit 3 */
  OUT_SCENARIO,    /* the statement breaks a run-time rule of the language (a SETALL whose count is not
                      the set's size; ret holds that size): a stop line, then exit 2 */
};

enum payload {
  PAYLOAD_NONE,
  PAYLOAD_DS,
  PAYLOAD_INFO,
  PAYLOAD_SHM_INFO,
  PAYLOAD_DATA,
  PAYLOAD_STATFS,
  PAYLOAD_STAT,
  PAYLOAD_DD,
  PAYLOAD_SEM_DS,
  PAYLOAD_SEMINFO,
  PAYLOAD_VALS, /* GETALL: datalen unsigned shorts in the mailbox's data area */
  PAYLOAD_MSQ_DS,
  PAYLOAD_MSGINFO,
  PAYLOAD_MSG, /* msgrcv: mtype, and datalen text bytes in the data area */
  PAYLOAD_TEXT, /* sysvipc: datalen bytes of the file's text in the data area */
};

/* What one dd run did (coreutils' counters), and what stopped it. */
struct dd_result {
  uint64_t in_full, in_partial, out_full, out_partial, bytes;
  int failed_call; /* 0 none, 1 open, 2 write */
  int err;
};

struct result {
  enum outcome outcome;
  int error;  /* errno for OUT_ERRNO, signal number for OUT_SIGNAL */
  int64_t ret;
  pid_t pid;  /* fork: the child */
  enum payload payload;
  union {
    struct shmid_ds ds;
    struct shminfo info;
    struct shm_info shm_info;
    struct statfs fs;
    struct stat st;
    struct dd_result dd;
    struct semid_ds sem_ds;
    struct seminfo seminfo;
    struct msqid_ds msq_ds;
    struct msginfo msginfo;
    int64_t mtype;
  } u;
  uint64_t datalen; /* PAYLOAD_DATA: bytes in the mailbox's data area */
  char message[256];
};

/*
 * One process's mailbox slot. The coordinator writes `stmt` and `id`, then
 * bumps `req`; the process answers in `res`, then sets `resp` to the same
 * number. Both counters are futex words.
 */
/* A request that is no statement: the program has ended, so the process exits. */
#define STMT_SHUTDOWN UINT32_MAX
/*
 * A request that is no statement: copy the result of the call that can block
 * (semop, msgsnd, msgrcv), which the process keeps to itself when the call
 * returns, into `res` (and a message's text into the data area).
 */
#define STMT_COLLECT (UINT32_MAX - 1)

struct slot {
  _Atomic uint32_t req;
  _Atomic uint32_t resp;
  uint32_t stmt;
  int32_t id; /* the resolved ID operand */
  /* How many `interrupt` signals the process's handler has run: the coordinator waits for each. */
  _Atomic uint32_t signals;
  struct result res;
};

/* The signal `interrupt` sends; its handler is installed without SA_RESTART. */
#define INTERRUPT_SIGNAL SIGUSR1

struct mailbox {
  uint8_t *data; /* ORACLE_MAX_ACCESS bytes for read results */
  struct slot *slots;
};

/* What a process inherits from the coordinator when it is created. */
struct process_env {
  const struct program *prog;
  struct mailbox *box;
  const int *ns_fds; /* one per namespace */
  int hangup_fd;     /* read end of a pipe only the coordinator can write: EOF means it died */
  uint64_t caps_all; /* the capability set `-1` stands for */
  const char *fs_root; /* the private tmpfs every process chroots into, or NULL */
};

/*
 * Runs process `index` until it is told to exit: the body of a process made by
 * `proc` (in the coordinator's child) and of one made by `fork`. Never returns.
 */
_Noreturn void process_main(const struct process_env *env, int index);

/*
 * Coordinator only: exit status for a run-time scenario error (a statement
 * names a process whose call is blocked, or waits on one with none), for
 * "cannot run on this machine" and for an internal failure.
 */
#define EXIT_SCENARIO 2
#define EXIT_UNAVAILABLE 3
#define EXIT_INTERNAL 4

/*
 * Coordinator only: ends the run with one line on stderr naming the statement
 * (if any) and no result for it, after killing every scenario process.
 */
_Noreturn void die(int status, const struct stmt *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Coordinator only: print one result line. */
void print_ok(const struct stmt *st);
void print_errno(const struct stmt *st, int err);
/* A call that blocked, or a `wait` whose call still sleeps. */
void print_blocked(const struct stmt *st);
/* Coordinator only: the line saying why a run-time scenario error stops the run at `st` (OUT_SCENARIO). */
void print_stop(const struct stmt *st, const struct result *r);
/* Prints a process's answer; `data` is the mailbox's data area, for a read. */
void print_result(const struct stmt *st, const struct result *r, const uint8_t *data);

/* futex helpers on mailbox words (shared between processes, so not FUTEX_PRIVATE). */
void futex_wait_ms(_Atomic uint32_t *word, uint32_t expected, int ms);
void futex_wake_all(_Atomic uint32_t *word);

#endif
