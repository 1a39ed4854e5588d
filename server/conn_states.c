/*
 * conn_states.c - the connection timers' policy (see conn_states.h): one
 * place says how long each state of a connection may last, including the
 * two ways a graceful stop treats idle keep-alive connections, and what
 * the counters (nginx's stub_status set) call each state.
 */
#include "autoconf.h"

#include "conn_states.h"
#include "metrics.h"

const hw__conn_states_names hw__conn_states_names_of[HW__CONN_NSTATES] = {
    [HW__CONN_IDLE] = {HW__TIMEOUT_KEEPALIVE, HW__CONNS_WAITING},
    [HW__CONN_HEAD] = {HW__TIMEOUT_HEAD, HW__CONNS_READING},
    [HW__CONN_BODY] = {HW__TIMEOUT_BODY, HW__CONNS_READING},
    [HW__CONN_BUSY] = {0, HW__CONNS_WRITING},
    [HW__CONN_WRITE] = {HW__TIMEOUT_WRITE, HW__CONNS_WRITING},
    [HW__CONN_SHUTDOWN] = {0, HW__CONNS_WRITING},
    [HW__CONN_LINGER] = {HW__TIMEOUT_LINGER, HW__CONNS_WRITING},
};

uint64_t hw__conn_states_timeout(unsigned st, int draining,
                                 const hw__config *cfg) {
  switch (st) {
  case HW__CONN_IDLE:
    /* The hard drain ends idle connections at the next sweep; the soft
     * one gives each its keep-alive time, as if nothing were stopping. */
    return draining == HW__CONN_DRAIN_HARD ? HW__CONN_SWEEP_MS
                                           : cfg->timeout_keepalive_ms;
  case HW__CONN_HEAD:
    return cfg->timeout_head_ms;
  case HW__CONN_BODY:
    return cfg->timeout_body_idle_ms;
  case HW__CONN_WRITE: /* a client that does not read */
    return cfg->timeout_write_ms;
  case HW__CONN_LINGER:
    return HW__CONN_LINGER_MS;
  default: /* modules are working; a FIN waits for the writes */
    return UINT64_MAX;
  }
}

int hw__conn_states_counted(unsigned st, int draining) {
  return !(st == HW__CONN_IDLE && draining == HW__CONN_DRAIN_HARD);
}
