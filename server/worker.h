/*
 * worker.h - a worker (worker.c): one process, one libuv loop.  It owns the
 * listening sockets and accepts on them, the connections (conn.c) with the
 * HTTP/1 protocol on each (h1.c), the request core (request.c) and the
 * generation it routes with, the retired generations draining (drain.c),
 * the cached Date, its access log files (reopened on SIGUSR1), and a
 * clean stop on SIGINT, SIGTERM or SIGQUIT.  Under a
 * master it also answers the control pipe (control.c); as a single process
 * it reloads itself on SIGHUP (reload.c).
 */
#ifndef HW_WORKER_H
#define HW_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "access_log.h"
#include "buf.h"
#include "conn.h"
#include "drain.h"
#include "signals.h"
#include "generation.h"
#include "h1.h"
#include "h2.h"
#include "proto_select.h"
#include "module.h"
#include "reload.h"
#include "request.h"
#include "stack.h"

enum { HW__WORKER_RUNNING = 0, HW__WORKER_DRAINING, HW__WORKER_STOPPING };

typedef struct hw__worker {
  uv_loop_t *loop;
  hw__generation *gen;   /* the current generation (the worker's) */
  hw__request_core core; /* routes new requests with `gen` */
  hw__h1_env h1;         /* what its HTTP/1 connections share */
  hw__h2_env h2;         /* ... and its HTTP/2 ones */
  hw__proto_select_env sel_plain; /* HTTP/2 by its preface or HTTP/1.1 */
  hw__proto_select_env sel_tls;   /* HTTP/2 by ALPN or HTTP/1.1 */
  hw__conn_set conns;
  hw__drain drain;     /* retired generations */
  hw__reloader reload; /* a single process's own reloads (run_dir set
                          by the caller before hw__worker_init) */
  hw__access_log alog; /* its access log files (kept open for its life,
                          once a generation names them) */
  uv_timer_t date_timer;
  size_t max_conns;
  int accept_paused;
  uv_tcp_t *listeners;
  unsigned char *held; /* per listener: a connection left unaccepted at
                          the limit (libuv watches it again once taken) */
  hw__stack stack; /* what each listener's connections speak */
  size_t nlisteners;
  hw__signals *sig; /* the commands it takes (signals.h) */
  char *upgrade_record; /* a single process: where a refused SIGUSR2 is
                           recorded (set by the caller; freed here) */
  uv_timer_t stop_timer;
  int stopping; /* HW__WORKER_* */
  uint64_t stop_deadline;
  /* Under a master: */
  int id;        /* worker slot number (0: single process) */
  uv_pipe_t ctl; /* control pipe to the master */
  hw__buf ctl_in;
  hw__module_note *note; /* shared with the master: what is running */
} hw__worker;

/** Initialises a worker around `loop` with generation `gen` (owned from
 *  now on; no sockets yet).  Returns 0 or UV_ENOMEM. */
int hw__worker_init(hw__worker *w, uv_loop_t *loop, hw__generation *gen);
/** Opens and listens on every address of the generation's config (the
 *  single-process mode). */
int hw__worker_listen(hw__worker *w, char *err, size_t err_len);
/** Listens on sockets inherited from the master (already bound). */
int hw__worker_listen_fds(hw__worker *w, const int *fds, size_t n, char *err,
                          size_t err_len);
/** Opens the control pipe to the master on `fd`, maps the note page at
 *  `note_file` (may be NULL) and says "ready". */
int hw__worker_attach(hw__worker *w, int fd, const char *note_file);
/** Runs until a stop command (SIGINT/SIGTERM/SIGQUIT, signals.h), then
 *  shuts down cleanly.  0, or 1 when a single process cannot own its
 *  command channel (logged; it stops at once). */
int hw__worker_run(hw__worker *w);
/* How a worker stops (hw__worker_stop's `graceful`). */
enum { HW__WORKER_STOP_NOW = 0, HW__WORKER_STOP_GRACEFUL = 1,
       HW__WORKER_STOP_SOFT = 2 };

/** Stops the worker: at once (HW__WORKER_STOP_NOW), gracefully (requests
 *  finish, bounded by the drain timeout; idle keep-alive connections end
 *  now) or softly (HW__WORKER_STOP_SOFT, when another master serves the
 *  same sockets: as gracefully, but an idle keep-alive connection is kept
 *  until its keep-alive timeout and its next request is answered with
 *  Connection: close). */
void hw__worker_stop(hw__worker *w, int graceful, const char *why);
/** Builds generation `id` from `cfg` (owned), swaps it in and retires the
 *  old one.  Returns 0 or an error with a message in `err`. */
int hw__worker_swap(hw__worker *w, hw__config *cfg, unsigned id, char *err,
                    size_t err_len);
/** Gives up on a worker whose start failed after hw__worker_init: closes
 *  what it opened, finalises and frees.  Returns 1 (the exit status). */
int hw__worker_abandon(hw__worker *w);
/** Frees what hw__worker_init allocated (after the loop has stopped). */
void hw__worker_destroy(hw__worker *w);

#endif /* HW_WORKER_H */
