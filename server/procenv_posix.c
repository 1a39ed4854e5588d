/*
 * procenv_posix.c - limits and environment on POSIX (see procenv.h):
 * getrlimit/setrlimit(RLIMIT_NOFILE) and unsetenv.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

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

const char *hw__procenv_exec_path(char *buf, size_t len) {
  size_t n = len;
  /* In the child uv_spawn forks, /proc/self/exe is the binary the server
   * runs, even when `make install` has since replaced (unlinked) the file:
   * workers and preflights then run the server's own code, not a newer
   * binary's, until a restart. */
  if (access("/proc/self/exe", X_OK) == 0)
    return "/proc/self/exe";
  if (uv_exepath(buf, &n) != 0)
    return NULL;
  return buf;
}

void hw__procenv_init(void) {}
