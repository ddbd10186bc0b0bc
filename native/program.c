/*
 * The program text of docs/oracle-protocol.md, parsed in full before anything
 * runs, so a malformed line stops the oracle before it touches the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "oracle.h"

/* Slot numbers above this are surely a broken program, not a big scenario. */
#define MAX_SLOT 1000000

struct parser {
  struct program *prog;
  struct stmt *st;
  char **tok;
  size_t ntok;
  char *err;
  size_t errlen;
  unsigned char *alive; /* per process index started so far */
};

static int fail(struct parser *p, const char *fmt, ...) {
  char reason[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  snprintf(p->err, p->errlen, "program line %u (scenario line %s): %s", p->st->textline,
           p->st->line != NULL ? p->st->line : "?", reason);
  return -1;
}

/* Decimal digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out) {
  if (*s == '\0') return -1;
  uint64_t v = 0;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return -1;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Any integer from -2^63 to 2^64-1, as its 64-bit two's complement pattern. */
static int parse_wide(const char *s, uint64_t *out) {
  if (*s != '-') return parse_u64(s, out);
  uint64_t mag;
  if (parse_u64(s + 1, &mag) != 0 || mag > (uint64_t)1 << 63) return -1;
  *out = (uint64_t)0 - mag;
  return 0;
}

static int parse_range(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  uint64_t w;
  if (parse_wide(s, &w) != 0) return -1;
  int negative = *s == '-';
  if (!negative && w > (uint64_t)INT64_MAX) return -1;
  int64_t v = (int64_t)w;
  if (v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int parse_i32(const char *s, int32_t *out) {
  int64_t v;
  if (parse_range(s, INT32_MIN, INT32_MAX, &v) != 0) return -1;
  *out = (int32_t)v;
  return 0;
}

static int parse_u32(const char *s, uint32_t *out) {
  int64_t v;
  if (parse_range(s, 0, UINT32_MAX, &v) != 0) return -1;
  *out = (uint32_t)v;
  return 0;
}

/* `#N` or `@N`: the slot number after the sigil. */
static int parse_slot(const char *s, char sigil, int *out) {
  int64_t v;
  if (s[0] != sigil || parse_range(s + 1, 0, MAX_SLOT, &v) != 0) return -1;
  *out = (int)v;
  return 0;
}

static int want(struct parser *p, size_t n) {
  if (p->ntok != n) return fail(p, "%s takes %zu operands, got %zu", p->tok[1], n - 2, p->ntok - 2);
  return 0;
}

/* P of a statement that runs in an existing process. */
static int live_proc(struct parser *p, const char *s, int *out) {
  int64_t v;
  if (parse_range(s, 0, p->prog->nprocs - 1, &v) != 0 || !p->alive[v])
    return fail(p, "'%s' is not a running process", s);
  *out = (int)v;
  return 0;
}

/* The index a statement gives its new process: the next one. */
static int new_proc(struct parser *p, const char *s, int *out) {
  int64_t v;
  if (parse_range(s, 0, INT32_MAX, &v) != 0 || v != p->prog->nprocs)
    return fail(p, "new process '%s' should be number %d", s, p->prog->nprocs);
  p->alive[v] = 1;
  p->prog->nprocs++;
  *out = (int)v;
  return 0;
}

/* Namespaces are numbered in order of first use, so a new one is the next number. */
static int namespace(struct parser *p, const char *s, int *out) {
  int64_t v;
  if (parse_range(s, 0, p->prog->nns, &v) != 0)
    return fail(p, "namespace '%s' skips a number (%d known)", s, p->prog->nns);
  if (v == p->prog->nns) p->prog->nns++;
  *out = (int)v;
  return 0;
}

static void note_num(struct parser *p, int slot) {
  if (slot >= p->prog->nnum) p->prog->nnum = slot + 1;
}

static void note_addr(struct parser *p, int slot) {
  if (slot >= p->prog->naddr) p->prog->naddr = slot + 1;
}

static int parse_id(struct parser *p, const char *s, struct id_expr *out) {
  uint64_t w;
  if (s[0] == '#') {
    if (parse_slot(s, '#', &out->slot) != 0) return fail(p, "bad id operand '%s'", s);
    note_num(p, out->slot);
    return 0;
  }
  if (parse_wide(s, &w) != 0) return fail(p, "bad id operand '%s'", s);
  out->slot = -1;
  out->literal = (int32_t)(uint32_t)w; /* truncated as a C cast to int would */
  return 0;
}

/*
 * A get call's KEY: a key_t literal, or `#N`, a numeric slot an ftok bound,
 * which the coordinator resolves like an ID (the get calls have no ID).
 */
static int parse_key(struct parser *p, const char *s) {
  if (s[0] == '#') {
    p->st->key_from_id = 1;
    return parse_id(p, s, &p->st->id);
  }
  if (parse_i32(s, &p->st->key) != 0) return fail(p, "bad KEY '%s'", s);
  return 0;
}

static int parse_addr(struct parser *p, char *s, struct addr_expr *out) {
  out->negative = 0;
  out->value = 0;
  if (s[0] != '@') {
    out->slot = -1;
    if (parse_u64(s, &out->value) != 0) return fail(p, "bad address '%s'", s);
    return 0;
  }
  char *sign = strpbrk(s, "+-");
  if (sign != NULL) {
    out->negative = *sign == '-';
    if (parse_u64(sign + 1, &out->value) != 0) return fail(p, "bad address offset in '%s'", s);
    *sign = '\0';
  }
  if (parse_slot(s, '@', &out->slot) != 0) return fail(p, "bad address slot '%s'", s);
  note_addr(p, out->slot);
  return 0;
}

static int parse_bind(struct parser *p, const char *s, char sigil, int *out) {
  *out = -1;
  if (strcmp(s, "-") == 0) return 0;
  if (parse_slot(s, sigil, out) != 0) return fail(p, "bad binding '%s' (want %c<n> or -)", s, sigil);
  if (sigil == '#')
    note_num(p, *out);
  else
    note_addr(p, *out);
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes lowercase hex in place: the bytes land at the start of the token. */
static int parse_hex(struct parser *p, char *s) {
  if (strcmp(s, "-") == 0) {
    p->st->bytes = (const uint8_t *)s;
    p->st->size = 0;
    return 0;
  }
  size_t n = strlen(s);
  if (n % 2 != 0) return fail(p, "hex data has an odd length");
  if (n / 2 > ORACLE_MAX_ACCESS) return fail(p, "write of %zu bytes exceeds 16 MiB", n / 2);
  uint8_t *out = (uint8_t *)s;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0) return fail(p, "bad hex digit near offset %zu", i);
    out[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  p->st->bytes = out;
  p->st->size = n / 2;
  return 0;
}

static void note_fd(struct parser *p, int slot) {
  if (slot >= p->prog->nfd) p->prog->nfd = slot + 1;
}

/* Decodes a hex path in place into a NUL-terminated string; a path may not be empty or hold NUL. */
static int parse_path(struct parser *p, char *s, const char **out) {
  size_t n = strlen(s);
  if (n == 0 || n % 2 != 0) return fail(p, "bad path hex '%s'", s);
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return fail(p, "bad path hex near offset %zu", i);
    s[i / 2] = (char)(hi << 4 | lo);
  }
  s[n / 2] = '\0';
  if (s[0] != '/') return fail(p, "path '%s' is not absolute", s);
  *out = s;
  p->prog->uses_fs = 1;
  return 0;
}

/* `%N` (a descriptor slot) or a literal int. */
static int parse_fd(struct parser *p, const char *s, struct fd_expr *out) {
  int64_t v;
  if (s[0] == '%') {
    if (parse_range(s + 1, 0, MAX_SLOT, &v) != 0) return fail(p, "bad descriptor slot '%s'", s);
    out->slot = (int)v;
    note_fd(p, out->slot);
    return 0;
  }
  if (parse_range(s, INT32_MIN, INT32_MAX, &v) != 0) return fail(p, "bad descriptor '%s'", s);
  out->slot = -1;
  out->literal = (int)v;
  return 0;
}

static int parse_i64(const char *s, int64_t *out) {
  return parse_range(s, INT64_MIN, INT64_MAX, out);
}

static int parse_tmpfs(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int64_t v;
  if (want(p, 6) != 0 || parse_path(p, t[2], &st->path) != 0) return -1;
  if (parse_u64(t[3], &st->size) != 0) return fail(p, "bad SIZE '%s'", t[3]);
  st->nr_inodes = -1;
  if (strcmp(t[4], "-") != 0 && parse_range(t[4], 0, INT64_MAX, &st->nr_inodes) != 0)
    return fail(p, "bad NR_INODES '%s'", t[4]);
  st->mode = -1;
  if (strcmp(t[5], "-") != 0) {
    if (parse_range(t[5], 0, 07777, &v) != 0) return fail(p, "bad MODE '%s'", t[5]);
    st->mode = (int)v;
  }
  return 0;
}

static int parse_bind_mount(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 5) != 0 || parse_path(p, t[2], &st->path2) != 0 || parse_path(p, t[3], &st->path) != 0) return -1;
  if (strcmp(t[4], "0") != 0 && strcmp(t[4], "1") != 0) return fail(p, "RO must be 0 or 1");
  st->mode = t[4][0] == '1';
  return 0;
}

static int parse_hmkdir(struct parser *p) {
  if (want(p, 3) != 0) return -1;
  return parse_path(p, p->tok[2], &p->st->path);
}

static int parse_open(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int64_t v;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_path(p, t[3], &st->path) != 0) return -1;
  if (parse_i32(t[4], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[4]);
  if (parse_range(t[5], 0, 07777, &v) != 0) return fail(p, "bad MODE '%s'", t[5]);
  st->mode = (int)v;
  if (strcmp(t[6], "-") != 0) {
    if (t[6][0] != '%' || parse_range(t[6] + 1, 0, MAX_SLOT, &v) != 0) return fail(p, "bad binding '%s' (want %%<n> or -)", t[6]);
    st->bind_fd = (int)v;
    note_fd(p, st->bind_fd);
  }
  return 0;
}

static int parse_close(struct parser *p) {
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  return parse_fd(p, p->tok[3], &p->st->fd);
}

static int parse_fwrite(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_fd(p, t[3], &st->fd) != 0) return -1;
  if (t[4][0] == 'z') {
    st->zeros = 1;
    if (parse_u64(t[4] + 1, &st->size) != 0 || st->size > ORACLE_MAX_ZERO_WRITE) return fail(p, "bad zero count '%s'", t[4]);
  } else if (parse_hex(p, t[4]) != 0) {
    return -1;
  }
  if (strcmp(t[5], "-") != 0) {
    st->has_offset = 1;
    if (parse_i64(t[5], &st->offset) != 0) return fail(p, "bad OFFSET '%s'", t[5]);
  }
  p->prog->uses_fs = 1;
  return 0;
}

static int parse_fread(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_fd(p, t[3], &st->fd) != 0) return -1;
  if (parse_u64(t[4], &st->size) != 0 || st->size > ORACLE_MAX_ACCESS) return fail(p, "bad LEN '%s' (at most 16 MiB)", t[4]);
  if (strcmp(t[5], "-") != 0) {
    st->has_offset = 1;
    if (parse_i64(t[5], &st->offset) != 0) return fail(p, "bad OFFSET '%s'", t[5]);
  }
  p->prog->uses_fs = 1;
  return 0;
}

/* unlink, rmdir, statfs, stat: P PATH. */
static int parse_path_stmt(struct parser *p) {
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  return parse_path(p, p->tok[3], &p->st->path);
}

static int parse_mkdir(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int64_t v;
  if (want(p, 5) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_path(p, t[3], &st->path) != 0) return -1;
  if (parse_range(t[4], 0, 07777, &v) != 0) return fail(p, "bad MODE '%s'", t[4]);
  st->mode = (int)v;
  return 0;
}

static int parse_ftruncate(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 5) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_fd(p, t[3], &st->fd) != 0) return -1;
  if (parse_i64(t[4], &st->offset) != 0) return fail(p, "bad LEN '%s'", t[4]);
  p->prog->uses_fs = 1;
  return 0;
}

static int parse_fallocate(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int64_t v;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_fd(p, t[3], &st->fd) != 0) return -1;
  if (parse_range(t[4], INT32_MIN, INT32_MAX, &v) != 0) return fail(p, "bad MODE '%s'", t[4]);
  st->mode = (int)v;
  int64_t len;
  if (parse_i64(t[5], &st->offset) != 0 || parse_i64(t[6], &len) != 0) return fail(p, "bad OFFSET or LEN");
  st->size = (uint64_t)len;
  p->prog->uses_fs = 1;
  return 0;
}

/* mmap P FD LEN PROT FLAGS OFFSET BIND [ADDR]: ADDR (the hint, or MAP_FIXED's address) only when the scenario gave one. */
static int parse_mmap(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (p->ntok == 10) {
    if (parse_addr(p, t[9], &st->addr) != 0) return -1;
    p->ntok = 9;
  } else {
    st->addr.slot = -1;
    st->addr.value = 0;
  }
  if (want(p, 9) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_fd(p, t[3], &st->fd) != 0) return -1;
  if (parse_u64(t[4], &st->size) != 0) return fail(p, "bad LEN '%s'", t[4]);
  int32_t prot;
  if (parse_i32(t[5], &prot) != 0 || parse_i32(t[6], &st->flags) != 0) return fail(p, "bad PROT or FLAGS");
  st->mode = prot;
  if (parse_i64(t[7], &st->offset) != 0) return fail(p, "bad OFFSET '%s'", t[7]);
  /* An anonymous mapping needs no file: only a file mapping asks for the scenario root. */
  if (!(st->flags & MAP_ANONYMOUS)) p->prog->uses_fs = 1;
  return parse_bind(p, t[8], '@', &st->bind_addr);
}

static int parse_dd(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_path(p, t[3], &st->path) != 0) return -1;
  if (parse_u64(t[4], &st->size) != 0 || st->size == 0 || st->size > ORACLE_MAX_DD_BS) return fail(p, "bad BS '%s'", t[4]);
  if (parse_u64(t[5], &st->count) != 0 || st->count > (uint64_t)INT64_MAX) return fail(p, "bad COUNT '%s'", t[5]);
  return 0;
}

/* `x` and the lowercase hex of a name's bytes, decoded in place into a C string; the name may be empty but holds no NUL. */
static int parse_name(struct parser *p, char *s, const char **out) {
  size_t n = strlen(s);
  if (s[0] != 'x' || (n - 1) % 2 != 0) return fail(p, "bad name '%s' (want x and hex)", s);
  for (size_t i = 1; i < n; i += 2) {
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return fail(p, "bad name hex near offset %zu", i);
    s[(i - 1) / 2] = (char)(hi << 4 | lo);
  }
  s[(n - 1) / 2] = '\0';
  *out = s;
  return 0;
}

/* A descriptor binding: `%N` or `-`. */
static int parse_bind_fd(struct parser *p, const char *s, int *out) {
  int64_t v;
  *out = -1;
  if (strcmp(s, "-") == 0) return 0;
  if (s[0] != '%' || parse_range(s + 1, 0, MAX_SLOT, &v) != 0) return fail(p, "bad binding '%s' (want %%<n> or -)", s);
  *out = (int)v;
  note_fd(p, *out);
  return 0;
}

/* shm_open P NAME FLAGS MODE BIND */
static int parse_shm_open(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int64_t v;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_name(p, t[3], &st->name) != 0) return -1;
  if (parse_i32(t[4], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[4]);
  if (parse_range(t[5], 0, 07777, &v) != 0) return fail(p, "bad MODE '%s'", t[5]);
  st->mode = (int)v;
  p->prog->uses_fs = 1; /* /dev/shm is the scenario root's, never the machine's */
  return parse_bind_fd(p, t[6], &st->bind_fd);
}

/* shm_unlink P NAME */
static int parse_shm_unlink(struct parser *p) {
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  p->prog->uses_fs = 1;
  return parse_name(p, p->tok[3], &p->st->name);
}

/* memfd_create P NAME FLAGS BIND */
static int parse_memfd_create(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_name(p, t[3], &st->name) != 0) return -1;
  if (parse_i32(t[4], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[4]);
  return parse_bind_fd(p, t[5], &st->bind_fd);
}

/* fcntl P FD CMD ARG */
static int parse_fcntl(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_fd(p, t[3], &st->fd) != 0) return -1;
  if (parse_i32(t[4], &st->flags) != 0 || parse_i32(t[5], &st->arg) != 0) return fail(p, "bad CMD or ARG");
  return 0;
}

/* fstat P FD */
static int parse_fstat(struct parser *p) {
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  return parse_fd(p, p->tok[3], &p->st->fd);
}

/* cmpaddr P ADDR ADDR */
static int parse_cmpaddr(struct parser *p) {
  struct stmt *st = p->st;
  if (want(p, 5) != 0 || live_proc(p, p->tok[2], &st->proc) != 0 || parse_addr(p, p->tok[3], &st->addr) != 0) return -1;
  st->addr2.slot = -1;
  return parse_addr(p, p->tok[4], &st->addr2);
}

/* sysvipc P shm|sem|msg */
static int parse_sysvipc(struct parser *p) {
  static const char *const files[] = {"shm", "sem", "msg"};
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  for (int i = 0; i < 3; i++) {
    if (strcmp(p->tok[3], files[i]) != 0) continue;
    p->st->sysvipc = i;
    p->prog->uses_sysvipc = 1;
    return 0;
  }
  return fail(p, "bad FILE '%s' (want shm, sem or msg)", p->tok[3]);
}

/* msync/madvise P ADDR LEN FLAGS, mlock P ADDR LEN FLAGS|-, munlock/mincore P ADDR LEN. */
static int parse_range_op(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int three = st->op == OP_MSYNC || st->op == OP_MADVISE || st->op == OP_MLOCK;
  if (want(p, three ? 6 : 5) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_addr(p, t[3], &st->addr) != 0) return -1;
  if (parse_u64(t[4], &st->size) != 0) return fail(p, "bad LEN '%s'", t[4]);
  if (st->op == OP_MINCORE && st->size > ORACLE_MAX_ACCESS) return fail(p, "mincore of more than 16 MiB");
  if (!three) return 0;
  if (st->op == OP_MLOCK && strcmp(t[5], "-") == 0) return 0;
  st->has_flags = 1;
  if (parse_i32(t[5], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[5]);
  return 0;
}

/* lseek P FD OFFSET WHENCE */
static int parse_lseek(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_fd(p, t[3], &st->fd) != 0) return -1;
  if (parse_i64(t[4], &st->offset) != 0 || parse_i32(t[5], &st->flags) != 0) return fail(p, "bad OFFSET or WHENCE");
  return 0;
}

/* umask P MASK */
static int parse_umask(struct parser *p) {
  uint32_t mask;
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  if (parse_u32(p->tok[3], &mask) != 0) return fail(p, "bad MASK '%s'", p->tok[3]);
  p->st->set_mode = mask;
  return 0;
}

static const char *const sysctl_names[] = {"shmmax", "shmall", "shmmni", "shm_rmid_forced", "shm_next_id",
                                           "sem", "msgmax", "msgmnb", "msgmni", "sem_next_id", "msg_next_id"};

/* Version 2: semget P KEY NSEMS FLAGS BIND. */
/* ftok P PATH PROJ BIND */
static int parse_ftok(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_path(p, t[3], &st->path) != 0) return -1;
  if (parse_i32(t[4], &st->arg) != 0) return fail(p, "bad PROJ '%s'", t[4]);
  return parse_bind(p, t[5], '#', &st->bind_num);
}

static int parse_semget(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0) return -1;
  if (parse_key(p, t[3]) != 0) return -1;
  if (parse_i32(t[4], &st->semnum) != 0 || parse_i32(t[5], &st->flags) != 0) return fail(p, "bad NSEMS or FLAGS");
  return parse_bind(p, t[6], '#', &st->bind_num);
}

/* semop P ID TIMEOUT N [SEMNUM OP FLG]...; TIMEOUT is - for semop. */
static int parse_semop(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  uint64_t n;
  if (p->ntok < 6 || live_proc(p, t[2], &st->proc) != 0 || parse_id(p, t[3], &st->id) != 0) return -1;
  st->timeout_ms = -1;
  if (strcmp(t[4], "-") != 0 && parse_range(t[4], 0, INT64_MAX / 1000000, &st->timeout_ms) != 0)
    return fail(p, "bad TIMEOUT '%s'", t[4]);
  if (parse_u64(t[5], &n) != 0 || n > p->ntok || p->ntok != 6 + 3 * n) return fail(p, "semop wants P ID TIMEOUT N and N triples");
  st->nsops = (size_t)n;
  st->sops = calloc(n + 1, sizeof *st->sops);
  if (st->sops == NULL) return fail(p, "out of memory");
  for (size_t i = 0; i < n; i++) {
    int64_t num, op, flg;
    if (parse_range(t[6 + 3 * i], 0, 65535, &num) != 0 || parse_range(t[7 + 3 * i], -32768, 32767, &op) != 0 ||
        parse_range(t[8 + 3 * i], -32768, 32767, &flg) != 0)
      return fail(p, "bad sembuf %zu", i);
    st->sops[i].sem_num = (unsigned short)num;
    st->sops[i].sem_op = (short)op;
    st->sops[i].sem_flg = (short)flg;
  }
  return 0;
}

/* semctl P ID SEMNUM CMD NAMED BIND [UID GID MODE | VAL | N V...]. */
static int parse_semctl(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (p->ntok < 8 || live_proc(p, t[2], &st->proc) != 0 || parse_id(p, t[3], &st->id) != 0) return -1;
  if (parse_i32(t[4], &st->semnum) != 0 || parse_i32(t[5], &st->flags) != 0) return fail(p, "bad SEMNUM or CMD");
  if (strcmp(t[6], "0") != 0 && strcmp(t[6], "1") != 0) return fail(p, "NAMED must be 0 or 1");
  st->named = t[6][0] == '1';
  if (parse_bind(p, t[7], '#', &st->bind_num) != 0) return -1;
  size_t extra = p->ntok - 8;
  if (st->named && st->flags == IPC_SET) {
    uint64_t mode;
    if (extra != 3 || parse_u32(t[8], &st->set_uid) != 0 || parse_u32(t[9], &st->set_gid) != 0 || parse_wide(t[10], &mode) != 0)
      return fail(p, "IPC_SET wants UID GID MODE");
    st->set_mode = (uint32_t)mode;
  } else if (st->named && st->flags == SETVAL) {
    if (extra != 1 || parse_i32(t[8], &st->setval) != 0) return fail(p, "SETVAL wants VAL");
  } else if (st->named && st->flags == SETALL) {
    uint64_t n;
    if (extra < 1 || parse_u64(t[8], &n) != 0 || extra != 1 + n) return fail(p, "SETALL wants N and N values");
    st->nsops = (size_t)n;
    st->vals = calloc(n + 1, sizeof *st->vals);
    if (st->vals == NULL) return fail(p, "out of memory");
    for (size_t i = 0; i < n; i++) {
      int64_t v;
      if (parse_range(t[9 + i], 0, 65535, &v) != 0) return fail(p, "bad SETALL value '%s'", t[9 + i]);
      st->vals[i] = (unsigned short)v;
    }
  } else if (extra != 0) {
    return fail(p, "only IPC_SET, SETVAL and SETALL take more operands");
  }
  return 0;
}

/* msgget P KEY FLAGS BIND. */
static int parse_msgget(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0) return -1;
  if (parse_key(p, t[3]) != 0) return -1;
  if (parse_i32(t[4], &st->flags) != 0) return fail(p, "bad FLAGS");
  return parse_bind(p, t[5], '#', &st->bind_num);
}

/* msgsnd P ID MTYPE DATA FLAGS; DATA is hex, - or zN (N may be negative). */
static int parse_msgsnd(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_id(p, t[3], &st->id) != 0) return -1;
  if (parse_range(t[4], INT64_MIN, INT64_MAX, &st->mtype) != 0) return fail(p, "bad MTYPE '%s'", t[4]);
  if (t[5][0] == 'z') {
    st->zeros = 1;
    if (parse_range(t[5] + 1, INT64_MIN, (int64_t)ORACLE_MAX_ACCESS, &st->msgsz) != 0) return fail(p, "bad zero count '%s'", t[5]);
  } else {
    if (parse_hex(p, t[5]) != 0) return -1;
    st->msgsz = (int64_t)st->size;
  }
  if (parse_i32(t[6], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[6]);
  return 0;
}

/* msgrcv P ID MAXSIZE MSGTYP FLAGS. */
static int parse_msgrcv(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_id(p, t[3], &st->id) != 0) return -1;
  if (parse_range(t[4], INT64_MIN, (int64_t)ORACLE_MAX_ACCESS, &st->msgsz) != 0) return fail(p, "bad MAXSIZE '%s'", t[4]);
  if (parse_range(t[5], INT64_MIN, INT64_MAX, &st->mtype) != 0) return fail(p, "bad MSGTYP '%s'", t[5]);
  if (parse_i32(t[6], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[6]);
  return 0;
}

/* msgctl P ID CMD NAMED BIND [UID GID MODE QBYTES]. */
static int parse_msgctl(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (p->ntok != 7 && p->ntok != 11) return fail(p, "msgctl wants P ID CMD NAMED BIND [UID GID MODE QBYTES]");
  if (live_proc(p, t[2], &st->proc) != 0 || parse_id(p, t[3], &st->id) != 0) return -1;
  if (parse_i32(t[4], &st->flags) != 0) return fail(p, "bad CMD '%s'", t[4]);
  if (strcmp(t[5], "0") != 0 && strcmp(t[5], "1") != 0) return fail(p, "NAMED must be 0 or 1");
  st->named = t[5][0] == '1';
  if (parse_bind(p, t[6], '#', &st->bind_num) != 0) return -1;
  int is_set = st->named && st->flags == IPC_SET;
  if (is_set != (p->ntok == 11)) return fail(p, "UID GID MODE QBYTES go with a named IPC_SET, and only there");
  if (is_set) {
    uint64_t mode;
    if (parse_u32(t[7], &st->set_uid) != 0 || parse_u32(t[8], &st->set_gid) != 0 || parse_wide(t[9], &mode) != 0 ||
        parse_u64(t[10], &st->set_qbytes) != 0)
      return fail(p, "bad IPC_SET operands");
    st->set_mode = (uint32_t)mode;
  }
  return 0;
}

static int parse_proc(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  uint64_t ngroups;
  if (p->ntok < 6 || parse_u64(t[5], &ngroups) != 0 || ngroups > 65536 || p->ntok != 8 + ngroups)
    return fail(p, "proc wants P UID GID NGROUPS [G...] CAPS NS");
  if (parse_u32(t[3], &st->uid) != 0 || parse_u32(t[4], &st->gid) != 0 ||
      st->uid == (uid_t)-1 || st->gid == (gid_t)-1)
    return fail(p, "bad uid or gid (4294967295 cannot be a credential)");
  st->ngroups = (size_t)ngroups;
  st->groups = calloc(st->ngroups + 1, sizeof *st->groups);
  if (st->groups == NULL) return fail(p, "out of memory");
  for (size_t i = 0; i < st->ngroups; i++)
    if (parse_u32(t[6 + i], &st->groups[i]) != 0 || st->groups[i] == (gid_t)-1)
      return fail(p, "bad supplementary group '%s'", t[6 + i]);
  int64_t caps;
  if (parse_range(t[6 + ngroups], -1, 15, &caps) != 0) return fail(p, "bad CAPS '%s'", t[6 + ngroups]);
  st->caps = (int)caps;
  if (caps != ORACLE_CAPS_ALL) p->prog->caps_used |= st->caps;
  if (namespace(p, t[7 + ngroups], &st->ns) != 0) return -1;
  return new_proc(p, t[2], &st->proc);
}

static int parse_shmctl(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (p->ntok != 7 && p->ntok != 10) return fail(p, "shmctl wants P ID CMD NAMED BIND [UID GID MODE]");
  if (live_proc(p, t[2], &st->proc) != 0 || parse_id(p, t[3], &st->id) != 0) return -1;
  if (parse_i32(t[4], &st->flags) != 0) return fail(p, "bad CMD '%s'", t[4]);
  if (strcmp(t[5], "0") != 0 && strcmp(t[5], "1") != 0) return fail(p, "NAMED must be 0 or 1");
  st->named = t[5][0] == '1';
  if (parse_bind(p, t[6], '#', &st->bind_num) != 0) return -1;
  int is_set = st->named && st->flags == IPC_SET;
  if (is_set != (p->ntok == 10)) return fail(p, "UID GID MODE go with a named IPC_SET, and only there");
  if (st->named) {
    switch (st->flags) {
    case IPC_RMID: case IPC_SET: case IPC_STAT: case IPC_INFO: case SHM_LOCK: case SHM_UNLOCK:
    case SHM_STAT: case SHM_INFO: case SHM_STAT_ANY:
      break;
    default:
      return fail(p, "command %d has no name", st->flags);
    }
  }
  if (is_set) {
    uint64_t mode;
    if (parse_u32(t[7], &st->set_uid) != 0 || parse_u32(t[8], &st->set_gid) != 0)
      return fail(p, "bad IPC_SET uid or gid");
    if (parse_wide(t[9], &mode) != 0) return fail(p, "bad IPC_SET mode '%s'", t[9]);
    st->set_mode = (uint32_t)mode; /* the mode_t field takes what the scenario wrote, truncated */
  }
  return 0;
}

static int parse_fork(struct parser *p) {
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  return new_proc(p, p->tok[3], &p->st->child);
}

static int parse_exit(struct parser *p) {
  if (want(p, 3) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  p->alive[p->st->proc] = 0;
  return 0;
}

/* wait P and interrupt P. */
static int parse_proc_only(struct parser *p) {
  return want(p, 3) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0 ? -1 : 0;
}

/* sleep MS: at most 10 s, as the runner allows. */
static int parse_sleep(struct parser *p) {
  if (want(p, 3) != 0) return -1;
  if (parse_range(p->tok[2], 0, 10000, &p->st->timeout_ms) != 0) return fail(p, "bad MS '%s'", p->tok[2]);
  return 0;
}

static int parse_sysctl(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 5) != 0 || namespace(p, t[2], &st->ns) != 0) return -1;
  for (size_t i = 0; i < sizeof sysctl_names / sizeof *sysctl_names; i++)
    if (strcmp(t[3], sysctl_names[i]) == 0) st->sysctl_name = sysctl_names[i];
  if (st->sysctl_name == NULL) return fail(p, "unknown sysctl '%s'", t[3]);
  st->sysctl_value = t[4];
  /* kernel.sem's four numbers come joined by commas (tokens hold no blanks). */
  if (strcmp(st->sysctl_name, "sem") == 0)
    for (char *c = t[4]; *c != '\0'; c++)
      if (*c == ',') *c = ' ';
  return 0;
}

/* `rlimit P VALUE` sets RLIMIT_MEMLOCK (the original form); `rlimit P fsize VALUE` RLIMIT_FSIZE. */
static int parse_rlimit(struct parser *p) {
  size_t v = 3;
  p->st->resource = RLIMIT_MEMLOCK;
  if (p->ntok == 5) {
    if (strcmp(p->tok[3], "fsize") != 0) return fail(p, "unknown rlimit resource '%s'", p->tok[3]);
    p->st->resource = RLIMIT_FSIZE;
    v = 4;
  } else if (want(p, 4) != 0) {
    return -1;
  }
  if (live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  if (parse_u64(p->tok[v], &p->st->size) != 0) return fail(p, "bad rlimit value '%s'", p->tok[v]);
  return 0;
}

static int parse_shmget(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0) return -1;
  if (parse_key(p, t[3]) != 0) return -1;
  if (parse_u64(t[4], &st->size) != 0) return fail(p, "bad SIZE '%s'", t[4]);
  if (parse_i32(t[5], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[5]);
  return parse_bind(p, t[6], '#', &st->bind_num);
}

static int parse_shmat(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 7) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_id(p, t[3], &st->id) != 0 ||
      parse_addr(p, t[4], &st->addr) != 0)
    return -1;
  if (parse_i32(t[5], &st->flags) != 0) return fail(p, "bad FLAGS '%s'", t[5]);
  return parse_bind(p, t[6], '@', &st->bind_addr);
}

static int parse_shmdt(struct parser *p) {
  if (want(p, 4) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0) return -1;
  return parse_addr(p, p->tok[3], &p->st->addr);
}

/* munmap P ADDR LEN and mprotect P ADDR LEN PROT. */
static int parse_unmap_protect(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int is_munmap = st->op == OP_MUNMAP;
  if (want(p, is_munmap ? 5 : 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_addr(p, t[3], &st->addr) != 0)
    return -1;
  if (parse_u64(t[4], &st->size) != 0) return fail(p, "bad LEN '%s'", t[4]);
  if (!is_munmap && parse_i32(t[5], &st->flags) != 0) return fail(p, "bad PROT '%s'", t[5]);
  return 0;
}

static int parse_write(struct parser *p) {
  if (want(p, 5) != 0 || live_proc(p, p->tok[2], &p->st->proc) != 0 || parse_addr(p, p->tok[3], &p->st->addr) != 0)
    return -1;
  return parse_hex(p, p->tok[4]);
}

static int parse_fill(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  int64_t v;
  if (want(p, 6) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_addr(p, t[3], &st->addr) != 0) return -1;
  if (parse_u64(t[4], &st->size) != 0) return fail(p, "bad LEN '%s'", t[4]);
  if (parse_range(t[5], 0, 255, &v) != 0) return fail(p, "bad BYTE '%s'", t[5]);
  st->fill_byte = (uint8_t)v;
  return 0;
}

static int parse_read(struct parser *p) {
  struct stmt *st = p->st;
  char **t = p->tok;
  if (want(p, 5) != 0 || live_proc(p, t[2], &st->proc) != 0 || parse_addr(p, t[3], &st->addr) != 0) return -1;
  if (parse_u64(t[4], &st->size) != 0 || st->size > ORACLE_MAX_ACCESS) return fail(p, "bad LEN '%s' (at most 16 MiB)", t[4]);
  return 0;
}

const char *const op_words[OP_COUNT] = {
#define OP_WORD(name, word) [OP_##name] = word,
    ORACLE_STATEMENTS(OP_WORD)
#undef OP_WORD
};

/* Each statement's operand parser, indexed by op. */
static int (*const parsers[OP_COUNT])(struct parser *) = {
    [OP_PROC] = parse_proc,
    [OP_FORK] = parse_fork,
    [OP_EXIT] = parse_exit,
    [OP_SYSCTL] = parse_sysctl,
    [OP_RLIMIT] = parse_rlimit,
    [OP_SHMGET] = parse_shmget,
    [OP_SHMAT] = parse_shmat,
    [OP_SHMDT] = parse_shmdt,
    [OP_SHMCTL] = parse_shmctl,
    [OP_MUNMAP] = parse_unmap_protect,
    [OP_MPROTECT] = parse_unmap_protect,
    [OP_WRITE] = parse_write,
    [OP_FILL] = parse_fill,
    [OP_READ] = parse_read,
    [OP_SEMGET] = parse_semget,
    [OP_SEMOP] = parse_semop,
    [OP_SEMCTL] = parse_semctl,
    [OP_MSGGET] = parse_msgget,
    [OP_MSGSND] = parse_msgsnd,
    [OP_MSGRCV] = parse_msgrcv,
    [OP_MSGCTL] = parse_msgctl,
    [OP_WAIT] = parse_proc_only,
    [OP_INTERRUPT] = parse_proc_only,
    [OP_SLEEP] = parse_sleep,
    [OP_TMPFS] = parse_tmpfs,
    [OP_BIND] = parse_bind_mount,
    [OP_HMKDIR] = parse_hmkdir,
    [OP_OPEN] = parse_open,
    [OP_CLOSE] = parse_close,
    [OP_FWRITE] = parse_fwrite,
    [OP_FREAD] = parse_fread,
    [OP_UNLINK] = parse_path_stmt,
    [OP_MKDIR] = parse_mkdir,
    [OP_RMDIR] = parse_path_stmt,
    [OP_STATFS] = parse_path_stmt,
    [OP_STAT] = parse_path_stmt,
    [OP_FTRUNCATE] = parse_ftruncate,
    [OP_FALLOCATE] = parse_fallocate,
    [OP_MMAP] = parse_mmap,
    [OP_DD] = parse_dd,
    [OP_SHM_OPEN] = parse_shm_open,
    [OP_SHM_UNLINK] = parse_shm_unlink,
    [OP_MEMFD_CREATE] = parse_memfd_create,
    [OP_FCNTL] = parse_fcntl,
    [OP_FSTAT] = parse_fstat,
    [OP_CMPADDR] = parse_cmpaddr,
    [OP_SYSVIPC] = parse_sysvipc,
    [OP_MSYNC] = parse_range_op,
    [OP_MADVISE] = parse_range_op,
    [OP_MLOCK] = parse_range_op,
    [OP_MUNLOCK] = parse_range_op,
    [OP_MINCORE] = parse_range_op,
    [OP_LSEEK] = parse_lseek,
    [OP_UMASK] = parse_umask,
    [OP_FTOK] = parse_ftok,
};

static int parse_stmt(struct parser *p) {
  struct stmt *st = p->st;
  st->bind_num = st->bind_addr = st->bind_fd = -1;
  st->id.slot = st->addr.slot = st->addr2.slot = st->fd.slot = -1;
  for (int op = 0; op < OP_COUNT; op++) {
    if (strcmp(p->tok[1], op_words[op]) != 0) continue;
    st->op = (enum op)op;
    return parsers[op](p);
  }
  return fail(p, "unknown operation '%s'", p->tok[1]);
}

int parse_program(char *text, struct program *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->nns = 1; /* the default namespace always exists */
  size_t lines = 1, maxtok = 1;
  for (const char *c = text; *c != '\0'; c++) {
    lines += *c == '\n';
    maxtok += *c == ' ';
  }
  out->stmts = calloc(lines, sizeof *out->stmts);
  char **tok = calloc(maxtok, sizeof *tok);
  unsigned char *alive = calloc(lines, 1); /* each statement starts at most one process */
  if (out->stmts == NULL || tok == NULL || alive == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  struct parser p = {.prog = out, .tok = tok, .err = err, .errlen = errlen, .alive = alive};
  unsigned textline = 0;
  char *next = text;
  while (next != NULL && *next != '\0') {
    char *s = next;
    textline++;
    next = strchr(s, '\n');
    if (next != NULL) *next++ = '\0';
    if (*s == '\0') continue; /* blank lines, the final newline among them */
    struct stmt *st = &out->stmts[out->count++];
    st->textline = textline;
    p.st = st;
    p.ntok = 0;
    for (char *c = s;; c++) {
      char *end = strchr(c, ' ');
      if (end != NULL) *end = '\0';
      if (*c == '\0') return fail(&p, "empty token (tokens are separated by single spaces)");
      tok[p.ntok++] = c;
      if (end == NULL) break;
      c = end;
    }
    if (p.ntok < 2) return fail(&p, "a statement needs a line number and an operation");
    uint64_t lineno;
    if (parse_u64(tok[0], &lineno) != 0) return fail(&p, "bad line number '%s'", tok[0]);
    st->line = tok[0];
    if (parse_stmt(&p) != 0) return -1;
  }
  free(tok);
  free(alive);
  return 0;
}
