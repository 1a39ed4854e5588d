/*
 * h2.h - the HTTP/2 protocol unit (h2.c): one connection's streams over a
 * transport, as a hw__proto (transport.h), with libnghttp2 doing the
 * framing, HPACK and flow control (RFC 9113, RFC 7541).  Each stream is a
 * request of the same core HTTP/1.1 uses (request.c): routed, handed to
 * its module, answered at once or later, streamed either way; the unit
 * maps the stream's header fields to a message (message.h) and the core's
 * response to HEADERS and DATA frames, and supplies what nghttp2 leaves
 * to the server: I/O through the transport, limits, timers per stream,
 * and the two-step GOAWAY of a graceful stop (RFC 9113 section 6.8).
 */
#ifndef HW_H2_H
#define HW_H2_H

#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "h2_response.h"
#include "h2_streams.h"
#include "request.h"
#include "transport.h"

struct nghttp2_session_callbacks;
struct nghttp2_option;

/** What the HTTP/2 connections of a worker share: the request core, the
 *  current generation's settings (hw__h2_env_update after a reload), the
 *  nghttp2 callback and option tables, and one timer that sweeps every
 *  connection's streams once a second (so an idle connection holds no
 *  timer of its own). */
typedef struct hw__h2_env {
  hw__request_core *core;
  uv_loop_t *loop;
  struct nghttp2_session_callbacks *cbs;
  struct nghttp2_option *opt;
  uv_timer_t *sweep; /* runs while there are connections */
  uint64_t swept;    /* ms: its last run */
  struct h2 *conns;  /* the connections (h2.c's) */
  hw__h2_pool pool;  /* stream states kept for reuse */
  hw__h2_head head;  /* a response head being submitted */
  hw__buf cookies;   /* a head's Cookie crumbs, joined */
  /* the settings of the current generation (config.h's http2 keys, the
   * limits and timeouts a stream shares with an HTTP/1.1 request): */
  uint32_t max_streams, window, max_frame, max_header_list, max_headers;
  uint64_t head_ms, body_idle_ms, write_ms;
  size_t body_min_rate;
} hw__h2_env;

/** Sets up `env` for `core` on `loop`.  Returns 0 or UV_ENOMEM. */
int hw__h2_env_init(hw__h2_env *env, hw__request_core *core, uv_loop_t *loop);
/** Reads the settings of the core's current generation again (new
 *  connections announce them; open ones keep theirs). */
void hw__h2_env_update(hw__h2_env *env);
/** Closes the env's timer (before the loop's last run; its connections are
 *  gone). */
void hw__h2_env_stop(hw__h2_env *env);
/** Frees what `env` holds (after the loop has run the timer's close). */
void hw__h2_env_destroy(hw__h2_env *env);

/** The protocol; its `env` is a hw__h2_env.  It expects the client
 *  connection preface as its first bytes (RFC 9113 section 3.4). */
extern const hw__proto hw__h2_proto;

#endif /* HW_H2_H */
