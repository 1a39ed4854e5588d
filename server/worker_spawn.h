/*
 * worker_spawn.h - starting one worker process (worker_spawn.c): the
 * command line a master gives it and what it inherits (its control pipe
 * on fd 3, an IPC pipe on Windows; its slot's listening sockets on fds 4..
 * on POSIX, where Windows leaves those empty and sends the sockets over
 * the pipe; the shared regions after them), so that master.c keeps to
 * supervising.
 */
#ifndef HW_WORKER_SPAWN_H
#define HW_WORKER_SPAWN_H

#include <stddef.h>
#include <uv.h>

/** What one worker is started with (all borrowed). */
typedef struct hw__worker_spawn {
  int id;               /* its slot, 1-based */
  unsigned gen;         /* the generation it starts on */
  const char *snapshot; /* that generation's config snapshot */
  const char *slot_file; /* its shared state page */
  const uv_os_sock_t *fds; /* its listening sockets, one per address */
  size_t nfds;
  int metrics_fd, tickets_fd; /* -1: none */
  uv_exit_cb exit_cb;
} hw__worker_spawn;

/** Initialises `ctl` on `loop` (the control pipe, for the caller to read)
 *  and starts the worker as `proc`.  0, or an error code: then the caller
 *  closes those of the two handles that were initialised (given zeroed,
 *  those have a loop). */
int hw__worker_spawn_start(uv_loop_t *loop, uv_process_t *proc, uv_pipe_t *ctl,
                           const hw__worker_spawn *a);

#endif /* HW_WORKER_SPAWN_H */
