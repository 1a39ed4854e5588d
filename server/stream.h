/*
 * stream.h - streamed responses and streamed request bodies (stream.c, ABI
 * 1.3), on the request core.  A streamed response keeps its pieces in the
 * response (copied bytes, references, file regions, in order) until its
 * protocol takes them; this unit counts what waits, says when a write is
 * congested, reads file regions on the thread pool in bounded pieces when
 * their turn comes, and schedules the module's writable callback when the
 * output drains.  A streamed body hands the pieces the protocol reads to
 * the module's callback, or keeps them while the module holds it back.
 */
#ifndef HW_STREAM_H
#define HW_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "haywire.h"
#include "request.h"

/* ---- the host's side (host.c) ---- */

/** stream(): the head is final; `length` or -1. */
int hw__stream_begin(hw_request *req, int64_t length);
/** A piece for a streamed response: copied (`free_cb` NULL and `copy`
 *  set), or by reference (then `free_cb(arg)` runs once in any case).
 *  Returns 0, HW_CONGESTED or a negative error. */
int hw__stream_write(hw_request *req, const void *data, size_t len, int copy,
                     hw_free_cb free_cb, void *arg);
/** A file region (the descriptor is dup'ed). */
int hw__stream_write_file(hw_request *req, int fd, uint64_t off,
                          uint64_t len);
/** on_writable(). */
int hw__stream_on_writable(hw_request *req, hw_writable_cb cb, void *arg);
/** body_stream(): the module takes the body; what arrived is delivered. */
int hw__stream_body_take(hw_request *req, hw_body_cb cb, void *arg);
/** body_pause(). */
int hw__stream_body_pause(hw_request *req, int pause);

/* ---- the protocol's side ---- */

/** A piece of a streamed response as its protocol takes it: `len` bytes
 *  at `data`, borrowed for the call unless `by_ref`; then borrowed until
 *  the protocol calls hw__stream_release(free_cb, arg), once, when
 *  `free_cb` is not NULL (static data has none).  Or, when `fd` is not -1,
 *  a file region (`len` bytes of `fd` from `off`, taken only by a protocol
 *  that sends files itself): the descriptor is the protocol's, to close
 *  once the region is sent or dropped. */
typedef struct hw__stream_piece {
  const char *data;
  size_t len;
  int by_ref;
  hw_free_cb free_cb;
  void *arg;
  int fd;
  uint64_t off;
} hw__stream_piece;

/** How a protocol receives a streamed response's pieces. */
typedef void (*hw__stream_emit)(void *ctx, const hw__stream_piece *p);
/** Bytes that can be taken now: up to an unread file region, or, when the
 *  protocol sends files itself (`files`), all of them. */
size_t hw__stream_takeable(const hw_request *req, int files);
/** Hands the protocol every piece it can take now, in order (file regions
 *  as they are when `files`). */
void hw__stream_take(hw_request *req, hw__stream_emit emit, void *ctx,
                     int files);
/** Lets a referenced piece go once it is written or dropped. */
void hw__stream_release(hw_free_cb free_cb, void *arg);
/** Non-zero once the response is over: complete and every piece taken. */
int hw__stream_over(const hw_request *req);
/** Non-zero if the response ended short of its declared length or cannot
 *  complete: its connection must be cut after what was sent. */
int hw__stream_cut(const hw_request *req);
/** The protocol's output drained (or it took pieces): a congested writer is
 *  told it may write, and the next file piece is read. */
void hw__stream_drained(hw_request *req);

/** Body bytes of a streamed body: delivered, or kept while held.
 *  Returns 0, or 413 past the route's limit, or 500. */
int hw__stream_body(hw_request *req, const char *data, size_t len);
/** The streamed body is complete. */
void hw__stream_body_end(hw_request *req);
/** Non-zero while the module holds the body back: the protocol reads no
 *  more until it is let go (the sink's push says so). */
static inline int hw__stream_body_held(const hw_request *req) {
  return req->body_paused;
}

#endif /* HW_STREAM_H */
