/*
 * master.h - the master process (master.c): it owns the listening sockets,
 * supervises the worker processes and drives reloads; it never loads
 * module code.
 */
#ifndef HW_MASTER_H
#define HW_MASTER_H

#include "config.h"

/** What the master is started with (all borrowed for its life). */
typedef struct hw__master_opts {
  const char *run_dir_parent; /* NULL: $TMPDIR or /tmp */
  const char *pid_file;       /* NULL: none */
  /* A binary upgrade: the absolute path of this binary as started and the
   * original command line (what a successor is started with); and, in a
   * master started by an upgrade, the sockets its predecessor handed over
   * (HAYWIRE_LISTEN_FDS, or NULL) and the pipe to it (-1: none). */
  const char *exe;
  char *const *argv;
  const char *inherited_fds;
  int upgrade_fd;
} hw__master_opts;

/**
 * Runs the master: binds (or adopts) the sockets, starts `nworkers` workers
 * on a checked first generation built from `cfg` (owned), supervises them,
 * and drives reloads and upgrades until SIGTERM/SIGQUIT (graceful) or
 * SIGINT.  Returns the exit code.
 */
int hw__master_run(hw__config *cfg, int nworkers, const hw__master_opts *o);

#endif /* HW_MASTER_H */
