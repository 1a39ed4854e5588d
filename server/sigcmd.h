/*
 * sigcmd.h - `haywire -s reload|stop|quit|reopen|upgrade` (sigcmd.c): finds the
 * running server through its pid file, signals it, and waits for what the
 * signal asked (a reload's outcome, the process's exit), as `nginx -s` does.
 */
#ifndef HW_SIGCMD_H
#define HW_SIGCMD_H

#include <stdint.h>

/** 1 if `word` is one -s knows. */
int hw__sigcmd_known(const char *word);
/**
 * Signals the server named by `pid_file` and waits at most `wait_ms` for the
 * result; reports on stdout/stderr.  Returns the process exit code: 0 done,
 * 1 failed (no server, stale or foreign pid file, failed reload, timeout).
 */
int hw__sigcmd_run(const char *word, const char *pid_file, uint64_t wait_ms);

#endif /* HW_SIGCMD_H */
