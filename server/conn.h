/*
 * conn.h - client connections over TCP (conn.c): accepting, reading into
 * the worker's one read buffer, writing batches, back-pressure, timers and
 * closing.  A connection knows no HTTP: it is the transport (transport.h)
 * of the protocol the worker named for its listener, which it feeds bytes
 * and whose batches it writes.
 */
#ifndef HW_CONN_H
#define HW_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "batch.h"
#include "config.h"
#include "conn_states.h"
#include "transport.h"

typedef struct hw__conn hw__conn;
typedef struct hw__conn_set hw__conn_set;

/** A worker's connections, and what they share. */
struct hw__conn_set {
  uv_loop_t *loop;
  const hw__config *cfg; /* the current generation's: timeouts, limits */
  hw__conn *list;        /* every open connection */
  size_t n;
  char *rbuf; /* the one read buffer every connection reads into */
  size_t rbuf_size;
  hw__batch_pool batches;
  uv_timer_t sweep; /* the timers: one pass over the connections */
  uint32_t swept;   /* loop time (ms) of the last pass */
  int draining;     /* shutting down gracefully: HW__CONN_DRAIN_* */
  struct hw__metrics_slot *metrics; /* the worker's counters, or NULL: the
                                       connections accepted, each kind of
                                       timeout, and the states each sweep
                                       finds (set by the owner) */
  /** Called when a connection has closed (set by the owner; may be NULL):
   *  the worker resumes accepting if the limit had paused it. */
  void (*on_closed)(hw__conn_set *s);
  void *owner;
};

/** Sets up an empty set on `loop`, timed by `cfg` (borrowed; replace it
 *  with hw__conn_set_config on a reload).  Returns 0 or UV_ENOMEM. */
int hw__conn_set_init(hw__conn_set *s, uv_loop_t *loop, const hw__config *cfg);
/** The configuration whose timeouts and limits apply from now on. */
static inline void hw__conn_set_config(hw__conn_set *s,
                                       const hw__config *cfg) {
  s->cfg = cfg;
}
/** Accepts a connection from `server` and opens `proto` on it, with `env`
 *  (borrowed; given to the protocol's open). */
void hw__conn_accept(hw__conn_set *s, uv_stream_t *server,
                     const hw__proto *proto, void *env);
/** Graceful shutdown: every connection finishes what it has begun (its
 *  protocol is told); idle ones end now (HW__CONN_DRAIN_HARD) or when
 *  their keep-alive timeout passes, counted from now (HW__CONN_DRAIN_SOFT). */
void hw__conn_drain_all(hw__conn_set *s, int how);
/** Closes every connection at once. */
void hw__conn_close_all(hw__conn_set *s);
/** Stops the timers and closes their handle (before the loop's last run). */
void hw__conn_set_stop(hw__conn_set *s);
/** Frees what the set holds (after the loop has ended). */
void hw__conn_set_destroy(hw__conn_set *s);

#endif /* HW_CONN_H */
