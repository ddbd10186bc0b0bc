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

static void print_data(const uint8_t *data, uint64_t len) {
  static const char digits[] = "0123456789abcdef";
  char chunk[8192];
  size_t n = 0;
  fputs(",\"data\":\"", stdout);
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
    print_data(data, r->datalen);
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
  case PAYLOAD_NONE:
    break;
  }
  end();
}

