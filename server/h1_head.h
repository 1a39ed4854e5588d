/*
 * h1_head.h - the checks an HTTP/1.1 request head passes once it is whole
 * (h1_head.c): Host (one, well-formed), the body's framing (Content-Length
 * and Transfer-Encoding, agreeing with http-parser), CONNECT, the
 * request-target (target.c) and Expect.  Pure functions over a message: the
 * HTTP/1 parser calls them when the head is complete.
 */
#ifndef HW_H1_HEAD_H
#define HW_H1_HEAD_H

#include <stdint.h>

#include "message.h"

/** What http-parser made of the head's framing, and what the checks make
 *  of it. */
typedef struct hw__h1_head {
  /* in, from http-parser: */
  unsigned minor;          /* HTTP/1.minor */
  unsigned hp_chunked : 1; /* it saw Transfer-Encoding: chunked */
  unsigned hp_length : 1;  /* it saw a Content-Length */
  uint64_t hp_content_length;
  /* out: */
  unsigned chunked : 1;    /* the body is chunked */
  unsigned has_length : 1; /* the body has a Content-Length */
  uint64_t content_length;
  const hw__field *expect; /* the first Expect field (in the message) */
} hw__h1_head;

/**
 * Checks the head in `m` (whose method and version are set) with what
 * http-parser concluded in `h`; trims the whitespace around field values,
 * parses the target (target.c) and sets the request's host.  Returns 0 or
 * the status of the error response: 400, 405 (CONNECT), 501 (a transfer
 * coding before chunked) or 500.
 */
int hw__h1_head_check(hw__message *m, hw__h1_head *h);

#endif /* HW_H1_HEAD_H */
