/*
 * procenv_posix.c - limits and environment on POSIX (see procenv.h):
 * getrlimit/setrlimit(RLIMIT_NOFILE) and unsetenv.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <sys/resource.h>

#include "procenv.h"

int hw__procenv_raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      return -1;
  }
  return 0;
}

uint64_t hw__procenv_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return 0;
  return (uint64_t)rl.rlim_cur;
}

void hw__procenv_unset(const char *name) { unsetenv(name); }
