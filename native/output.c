/*
 * Raw results as JSON Lines on stdout (docs/oracle-protocol.md): one line per
 * statement, flushed at once, every integer a JSON string of its decimal value
 * so that 64-bit values survive JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "oracle.h"

static void begin(const struct stmt *st, int ok) {
  printf("{\"line\":\"%s\",\"ok\":%s", st->line, ok ? "true" : "false");
}

static void end(void) {
  fputs("}\n", stdout);
  if (fflush(stdout) != 0) die(EXIT_INTERNAL, NULL, "cannot write results: %s", strerror(errno));
}

void print_ok(const struct stmt *st) {
  begin(st, 1);
  end();
}

void print_blocked(const struct stmt *st) {
  begin(st, 0);
  fputs(",\"blocked\":true", stdout);
  end();
}

void print_stop(const struct stmt *st, const struct result *r) {
  printf("{\"line\":\"%s\",\"stop\":\"setall\",\"nsems\":\"%lld\"", st->line, (long long)r->ret);
  end();
}

void print_errno(const struct stmt *st, int err) {
  const char *name = strerrorname_np(err);
  if (name == NULL) die(EXIT_INTERNAL, st, "errno %d has no name", err);
  begin(st, 0);
  printf(",\"errno\":\"%s\"", name);
  end();
}

static void print_ds(const struct shmid_ds *ds) {
  const struct ipc_perm *pm = &ds->shm_perm;
  printf(",\"ds\":{\"key\":\"%d\",\"uid\":\"%u\",\"gid\":\"%u\",\"cuid\":\"%u\",\"cgid\":\"%u\","
         "\"mode\":\"%u\",\"seq\":\"%u\",\"segsz\":\"%zu\",\"atime\":\"%lld\",\"dtime\":\"%lld\","
         "\"ctime\":\"%lld\",\"cpid\":\"%d\",\"lpid\":\"%d\",\"nattch\":\"%lu\"}",
         (int)pm->__key, pm->uid, pm->gid, pm->cuid, pm->cgid, (unsigned)pm->mode, (unsigned)pm->__seq,
         ds->shm_segsz, (long long)ds->shm_atime, (long long)ds->shm_dtime, (long long)ds->shm_ctime,
         (int)ds->shm_cpid, (int)ds->shm_lpid, (unsigned long)ds->shm_nattch);
}

/* `,"KEY":"HEX"`: bytes as lowercase hex. */
static void print_hex(const char *key, const uint8_t *data, uint64_t len) {
  static const char digits[] = "0123456789abcdef";
  char chunk[8192];
  size_t n = 0;
  printf(",\"%s\":\"", key);
  for (uint64_t i = 0; i < len; i++) {
    chunk[n++] = digits[data[i] >> 4];
    chunk[n++] = digits[data[i] & 15];
    if (n == sizeof chunk) {
      fwrite(chunk, 1, n, stdout);
      n = 0;
    }
  }
  fwrite(chunk, 1, n, stdout);
  fputc('"', stdout);
}

void print_result(const struct stmt *st, const struct result *r, const uint8_t *data) {
  if (r->outcome == OUT_ERRNO) {
    print_errno(st, r->error);
    return;
  }
  if (r->outcome == OUT_SIGNAL) {
    if (r->error != SIGSEGV && r->error != SIGBUS) die(EXIT_INTERNAL, st, "unexpected signal %d", r->error);
    begin(st, 0);
    printf(",\"signal\":\"%s\"", r->error == SIGSEGV ? "SIGSEGV" : "SIGBUS");
    end();
    return;
  }
  begin(st, 1);
  switch (st->op) {
  case OP_PROC: case OP_FORK:
    printf(",\"pid\":\"%d\"", (int)r->pid);
    break;
  case OP_SHMGET: case OP_SHMCTL: case OP_SHMDT: case OP_MUNMAP: case OP_MPROTECT:
  case OP_OPEN: case OP_CLOSE: case OP_FWRITE: case OP_FREAD: case OP_UNLINK: case OP_MKDIR: case OP_RMDIR:
  case OP_STATFS: case OP_STAT: case OP_FTRUNCATE: case OP_FALLOCATE:
  case OP_SEMGET: case OP_SEMOP: case OP_SEMCTL: case OP_MSGGET: case OP_MSGSND: case OP_MSGRCV: case OP_MSGCTL:
  case OP_SHM_OPEN: case OP_SHM_UNLINK: case OP_MEMFD_CREATE: case OP_FCNTL: case OP_FSTAT: case OP_CMPADDR:
  case OP_MSYNC: case OP_MADVISE: case OP_MLOCK: case OP_MUNLOCK: case OP_MINCORE: case OP_LSEEK: case OP_UMASK: case OP_FTOK:
    printf(",\"ret\":\"%lld\"", (long long)r->ret);
    break;
  default:
    break;
  }
  switch (r->payload) {
  case PAYLOAD_DS:
    print_ds(&r->u.ds);
    break;
  case PAYLOAD_INFO:
    printf(",\"info\":{\"shmmax\":\"%lu\",\"shmmin\":\"%lu\",\"shmmni\":\"%lu\",\"shmseg\":\"%lu\",\"shmall\":\"%lu\"}",
           r->u.info.shmmax, r->u.info.shmmin, r->u.info.shmmni, r->u.info.shmseg, r->u.info.shmall);
    break;
  case PAYLOAD_SHM_INFO:
    printf(",\"shm_info\":{\"used_ids\":\"%d\",\"shm_tot\":\"%lu\",\"shm_rss\":\"%lu\",\"shm_swp\":\"%lu\","
           "\"swap_attempts\":\"%lu\",\"swap_successes\":\"%lu\"}",
           r->u.shm_info.used_ids, r->u.shm_info.shm_tot, r->u.shm_info.shm_rss, r->u.shm_info.shm_swp,
           r->u.shm_info.swap_attempts, r->u.shm_info.swap_successes);
    break;
  case PAYLOAD_DATA:
    print_hex("data", data, r->datalen);
    break;
  case PAYLOAD_STATFS:
    printf(",\"statfs\":{\"bsize\":\"%lld\",\"blocks\":\"%llu\",\"bfree\":\"%llu\",\"bavail\":\"%llu\","
           "\"files\":\"%llu\",\"ffree\":\"%llu\"}",
           (long long)r->u.fs.f_bsize, (unsigned long long)r->u.fs.f_blocks, (unsigned long long)r->u.fs.f_bfree,
           (unsigned long long)r->u.fs.f_bavail, (unsigned long long)r->u.fs.f_files,
           (unsigned long long)r->u.fs.f_ffree);
    break;
  case PAYLOAD_STAT:
    printf(",\"stat\":{\"mode\":\"%u\",\"nlink\":\"%llu\",\"uid\":\"%u\",\"gid\":\"%u\",\"size\":\"%lld\","
           "\"blocks\":\"%lld\"}",
           (unsigned)r->u.st.st_mode, (unsigned long long)r->u.st.st_nlink, (unsigned)r->u.st.st_uid,
           (unsigned)r->u.st.st_gid, (long long)r->u.st.st_size, (long long)r->u.st.st_blocks);
    break;
  case PAYLOAD_DD: {
    const struct dd_result *d = &r->u.dd;
    printf(",\"dd\":{\"in_full\":\"%llu\",\"in_partial\":\"%llu\",\"out_full\":\"%llu\",\"out_partial\":\"%llu\","
           "\"bytes\":\"%llu\"",
           (unsigned long long)d->in_full, (unsigned long long)d->in_partial, (unsigned long long)d->out_full,
           (unsigned long long)d->out_partial, (unsigned long long)d->bytes);
    if (d->failed_call != 0) {
      const char *name = strerrorname_np(d->err);
      if (name == NULL) die(EXIT_INTERNAL, st, "errno %d has no name", d->err);
      printf(",\"call\":\"%s\",\"errno\":\"%s\"", d->failed_call == 1 ? "open" : "write", name);
    }
    fputc('}', stdout);
    break;
  }
  case PAYLOAD_SEM_DS: {
    const struct semid_ds *d = &r->u.sem_ds;
    const struct ipc_perm *pm = &d->sem_perm;
    printf(",\"sem_ds\":{\"key\":\"%d\",\"uid\":\"%u\",\"gid\":\"%u\",\"cuid\":\"%u\",\"cgid\":\"%u\","
           "\"mode\":\"%u\",\"seq\":\"%u\",\"nsems\":\"%lu\",\"otime\":\"%lld\",\"ctime\":\"%lld\"}",
           (int)pm->__key, pm->uid, pm->gid, pm->cuid, pm->cgid, (unsigned)pm->mode, (unsigned)pm->__seq,
           (unsigned long)d->sem_nsems, (long long)d->sem_otime, (long long)d->sem_ctime);
    break;
  }
  case PAYLOAD_MSQ_DS: {
    const struct msqid_ds *d = &r->u.msq_ds;
    const struct ipc_perm *pm = &d->msg_perm;
    printf(",\"msq_ds\":{\"key\":\"%d\",\"uid\":\"%u\",\"gid\":\"%u\",\"cuid\":\"%u\",\"cgid\":\"%u\","
           "\"mode\":\"%u\",\"seq\":\"%u\",\"stime\":\"%lld\",\"rtime\":\"%lld\",\"ctime\":\"%lld\","
           "\"cbytes\":\"%lu\",\"qnum\":\"%lu\",\"qbytes\":\"%lu\",\"lspid\":\"%d\",\"lrpid\":\"%d\"}",
           (int)pm->__key, pm->uid, pm->gid, pm->cuid, pm->cgid, (unsigned)pm->mode, (unsigned)pm->__seq,
           (long long)d->msg_stime, (long long)d->msg_rtime, (long long)d->msg_ctime, (unsigned long)d->__msg_cbytes,
           (unsigned long)d->msg_qnum, (unsigned long)d->msg_qbytes, (int)d->msg_lspid, (int)d->msg_lrpid);
    break;
  }
  case PAYLOAD_SEMINFO: {
    const struct seminfo *i = &r->u.seminfo;
    printf(",\"seminfo\":{\"semmap\":\"%d\",\"semmni\":\"%d\",\"semmns\":\"%d\",\"semmnu\":\"%d\","
           "\"semmsl\":\"%d\",\"semopm\":\"%d\",\"semume\":\"%d\",\"semusz\":\"%d\",\"semvmx\":\"%d\","
           "\"semaem\":\"%d\"}",
           i->semmap, i->semmni, i->semmns, i->semmnu, i->semmsl, i->semopm, i->semume, i->semusz, i->semvmx, i->semaem);
    break;
  }
  case PAYLOAD_MSGINFO: {
    const struct msginfo *i = &r->u.msginfo;
    printf(",\"msginfo\":{\"msgpool\":\"%d\",\"msgmap\":\"%d\",\"msgmax\":\"%d\",\"msgmnb\":\"%d\","
           "\"msgmni\":\"%d\",\"msgssz\":\"%d\",\"msgtql\":\"%d\",\"msgseg\":\"%u\"}",
           i->msgpool, i->msgmap, i->msgmax, i->msgmnb, i->msgmni, i->msgssz, i->msgtql, (unsigned)i->msgseg);
    break;
  }
  case PAYLOAD_VALS: {
    const unsigned short *v = (const unsigned short *)data;
    fputs(",\"vals\":[", stdout);
    for (uint64_t i = 0; i < r->datalen; i++) printf("%s\"%u\"", i == 0 ? "" : ",", (unsigned)v[i]);
    fputc(']', stdout);
    break;
  }
  case PAYLOAD_MSG:
    printf(",\"mtype\":\"%lld\"", (long long)r->u.mtype);
    print_hex("data", data, r->datalen);
    break;
  case PAYLOAD_TEXT:
    print_hex("text", data, r->datalen);
    break;
  case PAYLOAD_NONE:
    break;
  }
  end();
}

