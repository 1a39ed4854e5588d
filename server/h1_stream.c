/*
 * h1_stream.c - a streamed response on HTTP/1.1 (see h1_stream.h).  Each
 * take of the core's pieces becomes one chunk ("<hex size>", the pieces,
 * CRLF: RFC 9112 section 7.1): copied pieces are copied into the batch,
 * referenced ones (a module's write_ref, a piece of a file read on the
 * pool) stay where they are, their release held by the batch until it is
 * written.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "h1_response.h"
#include "h1_stream.h"
#include "status.h"
#include "stream.h"

static void release_piece(void *arg, void (*fn)(void *)) {
  hw__stream_release(fn, arg);
}

typedef struct emit_ctx {
  hw__batch *b;
  int failed;
} emit_ctx;

static void close_file(void *arg, void (*fn)(void *)) {
  (void)fn;
  close((int)(intptr_t)arg);
}

/* A piece of a streamed response goes into the batch: copied, by reference
 * with its release held until the batch is written, or a file region with
 * its descriptor closed then. */
static void emit(void *ctx, const hw__stream_piece *p) {
  emit_ctx *e = ctx;
  hw__batch *b = e->b;
  size_t start = b->out.len;

  if (p->fd >= 0) {
    if (hw__batch_hold(b, close_file, (void *)(intptr_t)p->fd, NULL) != 0) {
      close(p->fd);
      e->failed = 1;
    } else if (hw__batch_file(b, p->fd, p->off, p->len) != 0) {
      e->failed = 1;
    }
  } else if (p->by_ref) {
    if (p->free_cb != NULL &&
        hw__batch_hold(b, release_piece, p->arg, p->free_cb)) {
      hw__stream_release(p->free_cb, p->arg);
      e->failed = 1;
    } else if (hw__batch_seg(b, p->data, 0, p->len) != 0) {
      e->failed = 1;
    }
  } else if (hw__buf_append(&b->out, p->data, p->len) != 0 ||
             hw__batch_seg(b, NULL, start, p->len) != 0) {
    e->failed = 1;
  }
}

/* Appends copied bytes to the batch. */
static int put(hw__batch *b, const char *data, size_t len) {
  size_t start = b->out.len;
  if (hw__buf_append(&b->out, data, len) != 0)
    return HW_ENOMEM;
  return hw__batch_seg(b, NULL, start, len);
}

/* The head, framed (see h1_stream.h). */
static int head(hw__batch *b, hw_request *req, int keep) {
  struct hw_response *res = &req->res;
  hw__h1_response r = {res->status,       (uint64_t)res->declared,
                       keep,              req->msg.version,
                       res->headers.data, res->headers.len,
                       HW__H1_LENGTH};
  size_t start = b->out.len;

  if (res->declared < 0 && hw__status_has_body(res->status)) {
    if (req->msg.version >= 11) {
      r.framing = HW__H1_CHUNKED;
      req->proto_bits |= HW__H1_BIT_CHUNKED;
    } else {
      r.framing = HW__H1_CLOSE;
      r.keep_alive = 0;
    }
  }
  /* Once the head says the connection ends, it does. */
  if (!r.keep_alive)
    req->proto_bits &= (uint8_t)~HW__H1_BIT_KEEP;
  if (hw__h1_response_stream_head(&b->out, &r) != 0 ||
      hw__batch_seg(b, NULL, start, b->out.len - start) != 0)
    return HW_ENOMEM;
  req->proto_bits |= HW__H1_BIT_HEAD_OUT;
  return 0;
}

int hw__h1_stream_write(hw__batch *b, hw_request *req, int keep,
                        const char *interim, size_t interim_len, int files) {
  struct hw_response *res = &req->res;
  int body = !req->msg.is_head && hw__status_has_body(res->status);
  emit_ctx e = {b, 0};

  if (!(req->proto_bits & HW__H1_BIT_HEAD_OUT)) {
    if (interim != NULL && put(b, interim, interim_len) != 0)
      return HW_ENOMEM;
    if (head(b, req, keep) != 0)
      return HW_ENOMEM;
  }
  if (body) {
    size_t n = hw__stream_takeable(req, files);
    if (n > 0 && (req->proto_bits & HW__H1_BIT_CHUNKED)) {
      char line[24];
      int len = snprintf(line, sizeof(line), "%zx\r\n", n);
      if (put(b, line, (size_t)len) != 0)
        return HW_ENOMEM;
    }
    hw__stream_take(req, emit, &e, files);
    if (e.failed || (n > 0 && (req->proto_bits & HW__H1_BIT_CHUNKED) &&
                     put(b, "\r\n", 2) != 0))
      return HW_ENOMEM;
  } else {
    hw__stream_take(req, emit, &e, files); /* nothing to send: let it go */
  }
  if (!hw__stream_over(req))
    return HW__H1_STREAM_GOES_ON;
  if (hw__stream_cut(req))
    return HW__H1_STREAM_CUT;
  if (body && (req->proto_bits & HW__H1_BIT_CHUNKED) &&
      put(b, "0\r\n\r\n", 5) != 0)
    return HW_ENOMEM;
  return HW__H1_STREAM_OVER;
}

