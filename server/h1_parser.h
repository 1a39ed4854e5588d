/*
 * h1_parser.h - the HTTP/1.1 request parser (h1_parser.c): bytes in, events
 * out.  It runs the strict scanner (h1_scan.c) and http-parser over the
 * same bytes, checks each whole head (h1_head.c), and reports to its
 * caller through the callbacks the caller passes with the bytes: a message
 * begins, its head is complete, body bytes (without chunked framing), the
 * message is complete; an error ends the parse with the status to answer.
 * It knows no connection and no request object: what it fills is a
 * message (message.h) the caller hands it.  The only unit that includes
 * http_parser.h.
 */
#ifndef HW_H1_PARSER_H
#define HW_H1_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "h1_head.h"
#include "h1_scan.h"
#include "message.h"

/** The parser's state, embedded in each connection's protocol state.  The
 *  zero value is not valid: use hw__h1_parser_init. */
typedef struct hw__h1_parser {
  uint64_t hp[4]; /* http-parser's state (h1_parser.c checks the size) */
  hw__h1_scan scan;
} hw__h1_parser;

/** How the parser reports to its caller; each gets the caller's `ctx`. */
typedef struct hw__h1_parser_cb {
  /** A message begins (its first byte has arrived): returns the message
   *  to record its head in, empty (the caller's, borrowed until `done`),
   *  or NULL when there is no memory (the parse ends with 500). */
  hw__message *(*begin)(void *ctx);
  /** The head is whole and has passed the checks: the message holds its
   *  method, version, target, path, query, host and fields; `h` says how
   *  its body is framed and where Expect is; `keep_alive` whether the
   *  connection persists after it (RFC 9112 section 9.3).  Returns 0 to
   *  go on, or the status to refuse the request with (the parse ends). */
  int (*head)(void *ctx, hw__message *m, const hw__h1_head *h, int keep_alive);
  /** Body bytes, with any chunked framing removed (borrowed for the
   *  call).  Returns 0, or the status to refuse the request with. */
  int (*body)(void *ctx, const char *data, size_t len);
  /** The message is complete.  Returns non-zero to stop the parse right
   *  after it (back-pressure, or the connection ends with it): the next
   *  call to hw__h1_parser_feed goes on from the byte after it. */
  int (*done)(void *ctx);
} hw__h1_parser_cb;

/** Prepares `ps` for a new connection. */
void hw__h1_parser_init(hw__h1_parser *ps);

/**
 * Parses up to `len` bytes (borrowed for the call).  `m` is the message
 * whose head is being read, if one has begun (the one `begin` returned),
 * else NULL.  Returns the number of bytes taken: all of them, or fewer
 * when `done` asked to stop, or when the request is refused: then
 * `*status` is set to the status to answer, and the caller feeds this
 * parser nothing more (the stream's framing can no longer be trusted).
 * `*status` is 0 otherwise.  The end of the stream needs no call: no
 * request is delimited by it (RFC 9112 section 6.3).
 */
size_t hw__h1_parser_feed(hw__h1_parser *ps, const hw__h1_limits *lim,
                          hw__message *m, const char *data, size_t len,
                          const hw__h1_parser_cb *cb, void *ctx, int *status);

#endif /* HW_H1_PARSER_H */
