/*
 * h2_env.h - what the HTTP/2 connections of a worker share (h2_env.c): the
 * request core, the current generation's settings (hw__h2_env_update after
 * a reload), nghttp2's callback and option tables, the pooled stream
 * states, one timer that sweeps every connection's streams once a second
 * (so that an idle connection holds no timer of its own), and one idle
 * handle that gives a connection whose output filled a batch its next
 * batch on the loop's next turn.
 */
#ifndef HW_H2_ENV_H
#define HW_H2_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "h2_response.h"
#include "h2_streams.h"
#include "request.h"

struct nghttp2_session_callbacks;
struct nghttp2_option;

/** A connection's place in the env's list (in the protocol's state). */
typedef struct hw__h2_env_node {
  struct hw__h2_env_node *prev, *next;
  struct hw__h2_env_node *due_next; /* the list of output due */
  unsigned due;                     /* its output is due (hw__h2_env_due) */
} hw__h2_env_node;

/** What the protocol unit (h2.c) gives the env to call: so that the env
 *  calls nothing by name above it. */
typedef struct hw__h2_hooks {
  /** Sets nghttp2's callbacks in the table. */
  void (*callbacks)(struct nghttp2_session_callbacks *cbs);
  /** Keeps a connection's clocks at `now` (ms), `elapsed` ms after the
   *  last time; the connection may unlink itself meanwhile. */
  void (*sweep)(hw__h2_env_node *conn, uint64_t now, uint32_t elapsed);
  /** The connection's output is due (hw__h2_env_due): called from the
   *  loop, outside any call of its transport; it may unlink itself, or
   *  ask again. */
  void (*output)(hw__h2_env_node *conn);
} hw__h2_env_hooks;

typedef struct hw__h2_env {
  const hw__h2_env_hooks *hooks;
  hw__request_core *core;
  uv_loop_t *loop;
  struct nghttp2_session_callbacks *cbs;
  struct nghttp2_option *opt;
  uv_timer_t *sweep;      /* runs while there are connections */
  uint64_t swept;         /* ms: its last run */
  hw__h2_env_node *conns; /* the connections */
  uv_idle_t *idle;        /* runs while some connection's output is due */
  hw__h2_env_node *due;   /* ... those connections */
  hw__h2_pool pool;       /* stream states kept for reuse */
  hw__h2_head head;       /* a response head being submitted */
  /* the settings of the current generation (config.h's http2 keys, and the
   * limits and timeouts a stream shares with an HTTP/1.1 request): */
  uint32_t max_streams, window, max_frame, max_header_list, max_headers;
  hw__h2_clocks clocks;
} hw__h2_env;

/** Sets up `env` for `core` on `loop`, for the protocol whose `hooks`
 *  they are (h2.h's).  Returns 0 or UV_ENOMEM (then hw__h2_env_stop and
 *  hw__h2_env_destroy still apply). */
int hw__h2_env_init(hw__h2_env *env, hw__request_core *core, uv_loop_t *loop,
                    const hw__h2_env_hooks *hooks);
/** Reads the settings of the core's current generation again (new
 *  connections announce them; open ones keep theirs). */
void hw__h2_env_update(hw__h2_env *env);
/** A connection opens: it is swept from now on (the timer runs while
 *  there is one). */
void hw__h2_env_link(hw__h2_env *env, hw__h2_env_node *node);
/** The connection is gone. */
void hw__h2_env_unlink(hw__h2_env *env, hw__h2_env_node *node);
/** The connection's output stopped at a full batch while its transport was
 *  under its bound, so no `writable` will come: the hooks' `output` is
 *  called for it on the loop's next turn, once the batch is written (once
 *  however often it is asked before). */
void hw__h2_env_due(hw__h2_env *env, hw__h2_env_node *node);
/** Closes the env's handles (before the loop's last run). */
void hw__h2_env_stop(hw__h2_env *env);
/** Frees what `env` holds (after its connections are gone). */
void hw__h2_env_destroy(hw__h2_env *env);

#endif /* HW_H2_ENV_H */
