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

#include "h2_env.h"
#include "transport.h"

/** What the env calls of this unit (nghttp2's callbacks, the clocks),
 *  given to hw__h2_env_init. */
extern const hw__h2_env_hooks hw__h2_hooks;

/** The protocol; its `env` is a hw__h2_env (h2_env.h).  It expects the client
 *  connection preface as its first bytes (RFC 9113 section 3.4). */
extern const hw__proto hw__h2_proto;

#endif /* HW_H2_H */
