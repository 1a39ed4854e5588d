/*
 * check.h - the configuration check (check.c): everything start-up would
 * do with a config (open its access logs, load every module, each route's
 * init, then fini), in a child process, so that a module that crashes
 * costs one line naming its route and file, never the process that asked.  `haywire -t`, the reload
 * preflight (which runs `haywire -t`) and the single-process start-up use
 * it.
 */
#ifndef HW_CHECK_H
#define HW_CHECK_H

#include <stddef.h>

#include "config.h"

/**
 * Checks the config at `path` (with `listen`, when `nlisten` > 0, in place
 * of its own list; both borrowed).  Returns 0, or 1 with one line in `err`:
 * the reason the build failed, or which route's init or fini crashed, with
 * what signal.
 */
int hw__check_config(const char *path, const hw__config_listen *listen,
                     size_t nlisten, char *err, size_t err_len);

#endif /* HW_CHECK_H */
