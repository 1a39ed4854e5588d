/*
 * h1.h - the HTTP/1.1 protocol unit (h1.c): one connection's requests over
 * a transport, as a hw__proto (transport.h).  It feeds the bytes to the
 * parser (h1_parser.c), turns each message into a request of the core
 * (request.c), keeps the requests in order and writes their responses in
 * that order (pipelining, RFC 9112 section 9.3.2), and decides what HTTP/1
 * decides: 100 Continue, OPTIONS *, the error answers, keep-alive and
 * close, when to stop taking input.
 */
#ifndef HW_H1_H
#define HW_H1_H

#include "h1_scan.h"
#include "request.h"
#include "transport.h"

/** Requests a connection may have waiting for their turn before it stops
 *  taking input (back-pressure). */
#define HW__H1_MAX_QUEUED 32

/** What the connections of a worker share: the request core they create
 *  requests in, and its current limits (the worker's, borrowed by every
 *  connection; hw__h1_env_update after the core's generation changed). */
typedef struct hw__h1_env {
  hw__request_core *core;
  hw__h1_limits limits;
  int soft_drain; /* a graceful stop keeps idle connections for their next
                     request (set by the worker before it drains) */
} hw__h1_env;

/** Sets up `env` for `core`. */
void hw__h1_env_init(hw__h1_env *env, hw__request_core *core);
/** Reads the limits of the core's current generation again. */
void hw__h1_env_update(hw__h1_env *env);

/** The protocol, for a listener; its `env` is a hw__h1_env. */
extern const hw__proto hw__h1_proto;

#endif /* HW_H1_H */
