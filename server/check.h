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

/* ---- between check.c and its platform halves (check_posix.c,
 * check_win32.c), which define hw__check_config ---------------------------- */

struct hw__module_note;

/** In the child: builds and finalises the config at `path` (with `listen`,
 *  as above), writes the verdict to descriptor `fd` ("+", or "-" and the
 *  reason) and exits 0 or 1; never returns. */
void hw__check_child(int fd, const char *path, const hw__config_listen *listen,
                     size_t nlisten);

/** In the parent, once the child is gone: `err` holds the `got` bytes it
 *  wrote (NUL-terminated; `err_len` its room), `how` says how it died
 *  ("crashed with signal 11 (SIGSEGV)") or is NULL when it exited with
 *  `status`, and `note` is the page it kept.  0 for a pass, else 1 with
 *  the one line in `err`. */
int hw__check_judge(const char *path, const struct hw__module_note *note,
                    const char *how, int status, char *err, size_t got,
                    size_t err_len);

#endif /* HW_CHECK_H */
