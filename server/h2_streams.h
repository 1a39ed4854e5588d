/*
 * h2_streams.h - one HTTP/2 connection's streams (h2_streams.c): each
 * stream's state and its pool, the header fields nghttp2 decoded turned
 * into the request's message (message.h: pseudo-header fields as the
 * method, target and host, Cookie crumbs joined, the limits of a head
 * counted), and a response's body read out in the pieces nghttp2 frames.
 * It knows no session: h2.c drives nghttp2 and calls this unit with what
 * nghttp2 reported.
 */
#ifndef HW_H2_STREAMS_H
#define HW_H2_STREAMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "rate.h"
#include "request.h"

struct h2; /* the connection (h2.c's) */

/** One stream. */
typedef struct hw__h2_stream {
  struct hw__h2_stream *prev, *next; /* the connection's, or the pool */
  struct h2 *conn;
  hw_request *req; /* NULL once let go */
  int32_t id;
  int refused;         /* the status to answer instead of routing, or 0 */
  uint64_t born, mark; /* ms: opened, last progress (body in, data out) */
  uint64_t stalled_at; /* ms: output found stalled at a zero window, or 0 */
  uint64_t length;     /* its content-length, when has_length */
  uint32_t held;       /* body bytes not given back to the window yet */
  uint32_t list_bytes; /* the header list so far (RFC 9113 section 6.5.2) */
  hw__rate rate;       /* limits.body_min_rate's clock */
  unsigned has_length : 1;
  unsigned authority : 1; /* :authority was sent */
  unsigned submitted : 1; /* its response's HEADERS went to nghttp2 */
  unsigned sent : 1;      /* ... and the whole response */
  unsigned ended : 1;     /* the request is complete (END_STREAM) */
  unsigned stop_body : 1; /* answered before its body ended: reset after */
  unsigned deferred_data : 1; /* nghttp2 waits for more of a stream */
  unsigned expect : 1;    /* Expect: 100-continue */
  /* a response's body as nghttp2 reads it: */
  size_t ref, at, ref_at; /* the next reference, the next copied byte, the
                             next byte in that reference */
  hw__buf out;            /* a streamed response's pieces, taken */
  size_t out_at;
  hw__buf cookies; /* its head's Cookie crumbs, joined (the stream's own:
                      one connection's header block may arrive over
                      several reads, with other connections' between) */
} hw__h2_stream;

/** Stream states kept for reuse (one per worker). */
typedef struct hw__h2_pool {
  hw__h2_stream *free;
  unsigned n;
} hw__h2_pool;

/** A connection's open streams. */
typedef struct hw__h2_streams {
  hw__h2_stream *first;
  unsigned n;
  hw__h2_pool *pool;
  uint64_t glitch_at; /* ms: the reset bucket's last refill */
  uint32_t glitches;  /* resets its client may still make or provoke */
} hw__h2_streams;

/** A stream opens: a zeroed state (its memory kept from the pool), or
 *  NULL when out of memory. */
hw__h2_stream *hw__h2_streams_new(hw__h2_streams *ss, int32_t id);
/** The stream is over (its request let go first). */
void hw__h2_streams_free(hw__h2_streams *ss, hw__h2_stream *s);
/** The connection is gone: every request is let go (orphaned, so that a
 *  module holding one is told) and every stream freed. */
void hw__h2_streams_close_all(hw__h2_streams *ss);
/** Every open stream's request is told (module code may run; the caller
 *  keeps streams from closing meanwhile): with `hangup`, that its client
 *  ended its side (hw__request_hangup); else, a streamed response's, that
 *  output drained (hw__stream_drained). */
void hw__h2_streams_each(hw__h2_streams *ss, int hangup);
/** One more stream reset before its response was done, at `now` (ms):
 *  non-zero once a bucket of `burst`, refilled at 33 a second (nghttp2's
 *  rate for a client's own resets, CVE-2023-44487), is empty: the client
 *  has reset, or made the server reset (CVE-2025-8671), too many. */
int hw__h2_streams_glitch(hw__h2_streams *ss, uint64_t now, uint32_t burst);
/** Frees the pooled states. */
void hw__h2_streams_pool_drain(hw__h2_pool *pool);

/** A header field of the request's HEADERS (lower-case name, checked by
 *  nghttp2 against RFC 9113 section 8.2): recorded in its message, Cookie
 *  crumbs in the stream's `cookies`; past `max_list` bytes (counted as
 *  SETTINGS_MAX_HEADER_LIST_SIZE counts) or `max_fields` fields the stream
 *  is refused with 431. */
void hw__h2_streams_field(hw__h2_stream *s, const char *name, size_t nlen,
                          const char *value, size_t vlen, uint32_t max_list,
                          uint32_t max_fields);
/** Body bytes of the stream's request (borrowed for the call): copied, or
 *  handed to its module; `*consumed` is how many the window may take
 *  back now (not those a module holds back: `held` counts them).
 *  Returns 0 or the status to refuse the request with. */
int hw__h2_streams_data(hw__h2_stream *s, const char *data, size_t len,
                        size_t *consumed);
/** The head is whole: the joined Cookie, the method, the target (checked
 *  and normalised as HTTP/1.1's), the host (:authority, else Host).
 *  Returns 0 or the status to refuse the request with. */
int hw__h2_streams_message(hw__h2_stream *s);

/** The limits a stream's clocks keep (timeouts_ms and limits.body_min_rate,
 *  as an HTTP/1.1 connection keeps them). */
typedef struct hw__h2_clocks {
  uint64_t head_ms, body_idle_ms, write_ms, keepalive_ms;
  size_t body_min_rate;
} hw__h2_clocks;

/** What a stream's clocks say. */
enum hw__h2_clock {
  HW__H2_CLOCK_OK = 0,
  HW__H2_CLOCK_HEAD,   /* its header block has taken longer than head_ms */
  HW__H2_CLOCK_BODY,   /* its body stopped (body_idle_ms) or trickles */
  HW__H2_CLOCK_STALLED /* its output waited write_ms for a window */
};

/** Reads the stream's clocks at `now` (ms), `elapsed` ms after the last
 *  time; `window` is the smaller of the stream's and the connection's
 *  send windows.  Returns an enum hw__h2_clock. */
int hw__h2_streams_clock(hw__h2_stream *s, uint64_t now, uint32_t elapsed,
                         const hw__h2_clocks *lim, int32_t window);

/** What hw__h2_streams_body returns besides a count. */
enum { HW__H2_BODY_LATER = -1, HW__H2_BODY_CUT = -2 };

/** The response body's next bytes for a DATA frame: copies up to `len`
 *  into `buf` and returns how many, setting `*eof` with the last (the
 *  request is then `sent`); or HW__H2_BODY_LATER when a streamed response
 *  has nothing yet (`deferred_data` is set), HW__H2_BODY_CUT when it
 *  cannot complete. */
ssize_t hw__h2_streams_body(hw__h2_stream *s, char *buf, size_t len, int *eof);

/** Copies up to `len` of the response body's next bytes into `buf` (a
 *  streamed response's pieces are taken from the core first); returns how
 *  many. */
size_t hw__h2_streams_read(hw__h2_stream *s, char *buf, size_t len);
/** Non-zero if more of the body can be read now. */
int hw__h2_streams_more(hw__h2_stream *s);
/** Bytes taken from a streamed response and not read by nghttp2 yet. */
static inline size_t hw__h2_streams_unsent(const hw__h2_stream *s) {
  return s->out.len - s->out_at;
}

#endif /* HW_H2_STREAMS_H */
