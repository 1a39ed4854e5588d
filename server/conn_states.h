/*
 * conn_states.h - the states a connection's timers know (conn_states.c):
 * how long each may last, under the configuration in force and while a
 * graceful stop drains the connections (hard or soft), and what the
 * counters call each state and its timeout.  Policy only: conn.c keeps the
 * clock, finds each connection's state and does what expiry means.
 */
#ifndef HW_CONN_STATES_H
#define HW_CONN_STATES_H

#include <stdint.h>

#include "config.h"

#define HW__CONN_SWEEP_MS 500 /* timers are checked this often */
#define HW__CONN_LINGER_MS                                                     \
  1500 /* lingering close, plus the sweep's                                    \
          granularity: at most 2 s */

/* How a graceful stop treats idle keep-alive connections: the hard drain
 * ends them at once; the soft drain (another master serves the same
 * sockets) keeps each until its keep-alive timeout, so that a request a
 * client sends meanwhile is answered (with Connection: close) rather than
 * met by the end of the connection. */
enum { HW__CONN_DRAIN_HARD = 1, HW__CONN_DRAIN_SOFT = 2 };

/* The states; the first four are the protocol's phases (enum hw__phase). */
enum { HW__CONN_IDLE = 0, HW__CONN_HEAD, HW__CONN_BODY, HW__CONN_BUSY,
       HW__CONN_WRITE, HW__CONN_SHUTDOWN, HW__CONN_LINGER, HW__CONN_NSTATES };

/** What the counters call a state (enum hw__metrics_conns) and its
 *  timeout (enum hw__metrics_timeout). */
typedef struct hw__conn_states_names {
  uint8_t kind;
  uint8_t gauge;
} hw__conn_states_names;

extern const hw__conn_states_names hw__conn_states_names_of[HW__CONN_NSTATES];

/** How long state `st` may last under `cfg`, while `draining` (0 or
 *  HW__CONN_DRAIN_*); UINT64_MAX: for ever. */
uint64_t hw__conn_states_timeout(unsigned st, int draining,
                                 const hw__config *cfg);
/** Whether the end of state `st` counts as a timeout (an idle connection a
 *  hard drain ends is none). */
int hw__conn_states_counted(unsigned st, int draining);

#endif /* HW_CONN_STATES_H */
