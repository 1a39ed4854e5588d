/*
 * master.h - the master process (master.c): it owns the listening sockets,
 * supervises the worker processes and drives reloads; it never loads
 * module code.
 */
#ifndef HW_MASTER_H
#define HW_MASTER_H

#include "config.h"

/**
 * Runs the master: binds the sockets, starts `nworkers` workers on a checked
 * first generation built from `cfg` (owned), supervises them, and drives
 * reloads until SIGTERM/SIGQUIT (graceful) or SIGINT.  `run_dir_parent`
 * and `pid_file` (borrowed) may be NULL.  Returns the exit code.
 */
int hw__master_run(hw__config *cfg, int nworkers, const char *run_dir_parent,
                   const char *pid_file);

#endif /* HW_MASTER_H */
