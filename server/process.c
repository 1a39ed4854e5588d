/*
 * process.c - what the server's processes share (see process.h).
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "process.h"

void hw__process_block_signals(int block) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

const char *hw__process_signame(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGKILL: return "SIGKILL";
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGQUIT: return "SIGQUIT";
  case SIGHUP: return "SIGHUP";
  case SIGPIPE: return "SIGPIPE";
  case SIGUSR1: return "SIGUSR1";
  case SIGUSR2: return "SIGUSR2";
  default: return "unknown signal";
  }
}

const char *hw__process_exec_path(char *buf, size_t len) {
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

