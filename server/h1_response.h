/*
 * h1_response.h - the head of an HTTP/1.1 response (h1_response.c): the
 * status line, the host's own fields (Server and Date, cached and rewritten
 * once a second; Content-Length; Connection when needed), the fields a
 * module added, and the blank line.
 */
#ifndef HW_H1_RESPONSE_H
#define HW_H1_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/** What a response head says, besides the module's own fields. */
typedef struct hw__h1_response {
  int status;         /* three digits */
  uint64_t body_len;  /* the Content-Length (sent unless 1xx, 204, 304) */
  int keep_alive;     /* else "Connection: close" */
  int version;        /* the request's: 10 adds "Connection: keep-alive" */
  const char *fields; /* "Name: value\r\n" lines (borrowed), or NULL */
  size_t fields_len;
  int framing;        /* enum hw__h1_framing */
} hw__h1_response;

/** How a response's body is delimited (RFC 9112 section 6.3). */
enum hw__h1_framing {
  HW__H1_LENGTH = 0, /* Content-Length: body_len */
  HW__H1_CHUNKED,    /* Transfer-Encoding: chunked (a streamed response) */
  HW__H1_CLOSE       /* by closing the connection (HTTP/1.0, unknown size) */
};

/** Appends the head of a length-delimited response to `out` (`framing` is
 *  not read).  Returns 0 or HW_ENOMEM. */
int hw__h1_response_head(hw__buf *out, const hw__h1_response *r);
/** The same, framed as `r->framing` says, for a streamed response (kept
 *  apart from the per-response path, which inlines the one above). */
int hw__h1_response_stream_head(hw__buf *out, const hw__h1_response *r);

/** Rewrites the cached Date line from the clock (the worker calls it once a
 *  second; the first head written before any call rewrites it too). */
void hw__h1_response_update_date(void);

/** The cached date (IMF-fixdate, 29 characters, not NUL-terminated), for
 *  a protocol that writes its Date field another way (HTTP/2). */
const char *hw__h1_response_date(void);

#endif /* HW_H1_RESPONSE_H */
