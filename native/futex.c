/*
 * Futex waits and wakes on mailbox words. The mailbox is a MAP_SHARED mapping
 * seen by several processes, so these are the shared (not FUTEX_PRIVATE) ops.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "oracle.h"

void futex_wait_ms(_Atomic uint32_t *word, uint32_t expected, int ms) {
  struct timespec timeout = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  /* EAGAIN (the word already changed), EINTR and ETIMEDOUT all send the caller back to its check. */
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, &timeout, NULL, 0);
}

void futex_wake_all(_Atomic uint32_t *word) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}
