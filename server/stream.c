/*
 * stream.c - streamed responses and streamed request bodies (see
 * stream.h).
 *
 * A streamed response keeps the same pieces as a whole one (copied bytes in
 * `res->body`, references and file regions in `res->refs`, each reference
 * at its offset in the copied bytes) but its protocol takes them as they
 * come rather than at the end; what was taken leaves the response.  A
 * protocol whose transport sends files itself (plain TCP: sendfile, see
 * sendfile.c) takes a file region as it is, descriptor and all.  For one
 * that cannot (a TLS layer would not), the region is read here, only when
 * it is first in line and the output is under its bound: one piece of at
 * most FILE_PIECE bytes at a time, by pread on the thread pool (a file read
 * on the loop would block it), so a file of any size holds one piece of
 * memory.  No mmap: a file truncated under a mapping raises SIGBUS; a short
 * pread instead cuts the response.
 *
 * Congestion: a write to a streamed response reports HW_CONGESTED when what
 * waits (pieces not yet taken, plus what the protocol holds unsent for it)
 * passes HW__REQUEST_STREAM_BOUND; the module's writable callback is
 * scheduled once it is back under the bound.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"
#include "os.h"
#include "status.h"
#include "stream.h"

#define FILE_PIECE (64 * 1024)

/* ---- responses ---------------------------------------------------------- */

static int has_body(const hw_request *req) {
  return !req->msg.is_head && hw__status_has_body(req->res.status);
}

/* What the protocol holds unsent for the request. */
static size_t unsent(const hw_request *req) {
  return req->owner != NULL ? req->sink->unsent(req) : 0;
}

/* What waits to be sent: pieces not yet taken (file regions not yet read
 * included, so that a writer of many regions is told to wait too) and what
 * the protocol holds. */
static size_t waiting(const hw_request *req) {
  return req->res.pending + req->res.pending_file + unsent(req);
}

/* The protocol takes what it can, unless the module is inside handle():
 * then the whole first part goes when handle returns. */
static void push(hw_request *req) {
  if (!req->in_handle && req->owner != NULL)
    req->sink->push(req);
}

static int after_write(hw_request *req) {
  push(req);
  if (waiting(req) > HW__REQUEST_STREAM_BOUND) {
    req->res.congested = 1;
    return HW_CONGESTED;
  }
  return 0;
}

int hw__stream_begin(hw_request *req, int64_t length) {
  struct hw_response *res = &req->res;
  if (req->state != HW__REQ_RUNNING || req->finished_early || res->streaming)
    return HW_ESTATE;
  if (length < -1)
    return HW_EINVAL;
  /* Bytes written before stream() are the body's first bytes. */
  if (length >= 0 && res->body_len > (uint64_t)length)
    return HW_EINVAL;
  res->streaming = 1;
  res->writable_cb = NULL;
  res->writable_arg = NULL;
  res->declared = length;
  res->written = res->body_len;
  res->pending = has_body(req) ? res->body_len : 0;
  res->pending_file = 0;
  if (!has_body(req)) {
    /* HEAD, 204, 304: what was written only counted. */
    hw__request_reset_body(req);
  }
  push(req);
  return 0;
}

/* Checks a write to a streamed response; returns 0 or the error. */
static int writable(hw_request *req, uint64_t len) {
  struct hw_response *res = &req->res;
  if (req->state != HW__REQ_RUNNING || req->finished_early || req->aborted ||
      res->broken)
    return HW_ESTATE;
  if (res->declared >= 0 && len > (uint64_t)res->declared - res->written)
    return HW_EINVAL; /* past the Content-Length it sent */
  return 0;
}

int hw__stream_write(hw_request *req, const void *data, size_t len, int copy,
                     hw_free_cb free_cb, void *arg) {
  struct hw_response *res = &req->res;
  int r = writable(req, len);
  hw__ref *ref;

  if (r == 0 && len > 0 && has_body(req)) {
    if (copy) {
      if (hw__buf_append(&res->body, data, len) != 0)
        r = HW_ENOMEM;
    } else if ((ref = hw__request_ref(res)) == NULL) {
      r = HW_ENOMEM;
    } else {
      ref->data = data;
      ref->len = len;
      ref->free_cb = free_cb;
      ref->arg = arg;
      free_cb = NULL; /* the response's now */
    }
    if (r == 0)
      res->pending += len;
  }
  if (free_cb != NULL)
    hw__module_call_free_cb(free_cb, arg);
  if (r != 0)
    return r;
  res->written += len;
  return after_write(req);
}

static void pump(hw_request *req);

int hw__stream_write_file(hw_request *req, int fd, uint64_t off,
                          uint64_t len) {
  struct hw_response *res = &req->res;
  int r = writable(req, len), own;
  hw__ref *ref;

  if (r != 0)
    return r;
  if (fd < 0 || off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off ||
      len > SIZE_MAX)
    return HW_EINVAL;
  if (len == 0 || !has_body(req)) {
    res->written += len;
    return 0;
  }
  own = hw__os_dup_cloexec(fd);
  if (own < 0)
    return own == -EBADF ? HW_EINVAL : HW_ENOMEM;
  if ((ref = hw__request_ref(res)) == NULL) {
    close(own);
    return HW_ENOMEM;
  }
  ref->len = (size_t)len;
  ref->fd = own;
  ref->foff = off;
  res->written += len;
  res->pending_file += (size_t)len;
  r = after_write(req);
  pump(req);
  return r;
}

int hw__stream_on_writable(hw_request *req, hw_writable_cb cb, void *arg) {
  if (!req->res.streaming || req->state != HW__REQ_RUNNING)
    return HW_ESTATE;
  req->res.writable_cb = cb;
  req->res.writable_arg = arg;
  return 0;
}

size_t hw__stream_takeable(const hw_request *req, int files) {
  const struct hw_response *res = &req->res;
  size_t n = 0, at = 0;
  for (size_t i = 0; i < res->nrefs; i++) {
    const hw__ref *r = &res->refs[i];
    n += r->at - at;
    at = r->at;
    if (r->fd >= 0 && !files)
      return n;
    n += r->len;
  }
  return n + (res->body.len - at);
}

void hw__stream_take(hw_request *req, hw__stream_emit emit, void *ctx,
                     int files) {
  struct hw_response *res = &req->res;
  size_t at = 0, i, taken = 0;
  hw__stream_piece p;

  for (i = 0; i < res->nrefs; i++) {
    hw__ref *r = &res->refs[i];
    if (r->at > at) {
      p = (hw__stream_piece){res->body.data + at, r->at - at, 0, NULL, NULL,
                             -1, 0};
      emit(ctx, &p);
      taken += r->at - at;
      at = r->at;
    }
    if (r->fd >= 0 && !files)
      break; /* read when its turn comes (pump) */
    p = (hw__stream_piece){r->data, r->len, 1, r->free_cb, r->arg, r->fd,
                           r->foff};
    emit(ctx, &p);
    if (r->fd >= 0)
      res->pending_file -= r->len < res->pending_file ? r->len
                                                      : res->pending_file;
    else
      taken += r->len;
  }
  if (i == res->nrefs) {
    if (res->body.len > at) {
      p = (hw__stream_piece){res->body.data + at, res->body.len - at, 0, NULL,
                             NULL, -1, 0};
      emit(ctx, &p);
    }
    taken += res->body.len - at;
    res->body.len = 0;
    res->nrefs = 0;
  } else {
    /* A file region is first in line now: what follows it moves up (a
     * response that never held copied bytes has no buffer to move). */
    if (res->body.len > at)
      memmove(res->body.data, res->body.data + at, res->body.len - at);
    res->body.len -= at;
    memmove(res->refs, res->refs + i, (res->nrefs - i) * sizeof(*res->refs));
    res->nrefs -= i;
    for (i = 0; i < res->nrefs; i++)
      res->refs[i].at -= at;
  }
  res->pending -= taken < res->pending ? taken : res->pending;
}

void hw__stream_release(hw_free_cb free_cb, void *arg) {
  hw__module_call_free_cb(free_cb, arg);
}

int hw__stream_over(const hw_request *req) {
  return req->res.broken ||
         (req->state == HW__REQ_DONE && req->res.nrefs == 0 &&
          req->res.body.len == 0);
}

int hw__stream_cut(const hw_request *req) {
  const struct hw_response *res = &req->res;
  return res->broken || (res->declared >= 0 && has_body(req) &&
                         res->written < (uint64_t)res->declared);
}

void hw__stream_drained(hw_request *req) {
  struct hw_response *res = &req->res;
  if (res->congested && waiting(req) <= HW__REQUEST_STREAM_BOUND) {
    res->congested = 0;
    if (res->writable_cb != NULL)
      hw__request_due(req);
  }
  pump(req);
}

/* ---- file regions ------------------------------------------------------- */

typedef struct file_read {
  uv_work_t w;
  hw_request *req;
  int fd;
  uint64_t off;
  size_t want;
  ssize_t got;
  char *buf;
} file_read;

static void read_piece(uv_work_t *w) {
  file_read *f = hw__bytes_container_of(w, file_read, w);
  size_t got = 0;
  while (got < f->want) {
    ssize_t n = hw__os_pread(f->fd, f->buf + got, f->want - got, f->off + got);
    if (n <= 0)
      break; /* an error, or the end of a file that was truncated */
    got += (size_t)n;
  }
  f->got = (ssize_t)got;
}

/* The response cannot complete: what is left of it is dropped, and its
 * protocol cuts the connection after what was taken. */
static void cut(hw_request *req) {
  req->res.broken = 1;
  hw__request_reset_body(req);
  req->res.pending = 0;
  req->res.pending_file = 0;
  push(req);
}

static void piece_read(uv_work_t *w, int status) {
  file_read *f = hw__bytes_container_of(w, file_read, w);
  hw_request *req = f->req;
  struct hw_response *res = &req->res;
  hw__ref *ref;

  res->reading = 0;
  if (req->free_wanted || req->aborted || res->broken || !res->streaming ||
      res->nrefs == 0 || res->refs[0].fd != f->fd ||
      res->refs[0].foff != f->off) {
    free(f->buf); /* the response is gone, or was reset */
  } else if (status != 0 || f->got != (ssize_t)f->want ||
             hw__buf_array_room((void **)&res->refs, &res->refs_cap,
                                res->nrefs, sizeof(*res->refs), 4) != 0) {
    free(f->buf);
    cut(req);
  } else {
    /* The bytes read go in front of what is left of the region. */
    memmove(res->refs + 1, res->refs, res->nrefs * sizeof(*res->refs));
    res->nrefs++;
    ref = &res->refs[0];
    ref->data = f->buf;
    ref->len = f->want;
    ref->at = 0;
    ref->free_cb = free;
    ref->arg = f->buf;
    ref->fd = -1;
    ref->foff = 0;
    ref = &res->refs[1];
    ref->foff += f->want;
    ref->len -= f->want;
    if (ref->len == 0) {
      close(ref->fd);
      memmove(res->refs + 1, res->refs + 2,
              (res->nrefs - 2) * sizeof(*res->refs));
      res->nrefs--;
    }
    res->pending += f->want;
    res->pending_file -= f->want < res->pending_file ? f->want
                                                     : res->pending_file;
    push(req);
  }
  free(f);
  hw__request_unhold(req);
}

/* Reads the next piece of the file region first in line, unless the output
 * is past its bound: the transport says when it drains back under it (the
 * same bound, HW__TRANSPORT_MAX_UNSENT), and that calls this again.  Only
 * the transport's bytes count here: what waits behind the region cannot
 * leave before it. */
static void pump(hw_request *req) {
  struct hw_response *res = &req->res;
  hw__ref *ref = res->nrefs > 0 ? &res->refs[0] : NULL;
  file_read *f;

  /* Not inside handle(): a response can still be reset there.  Not when
   * the protocol sends file regions itself (sendfile). */
  if (ref == NULL || ref->fd < 0 || ref->at != 0 || res->reading ||
      hw__request_sends_files(req) ||
      req->in_handle || res->broken || req->aborted ||
      unsent(req) > HW__REQUEST_STREAM_BOUND)
    return;
  f = calloc(1, sizeof(*f));
  if (f == NULL || (f->buf = malloc(FILE_PIECE)) == NULL) {
    free(f);
    cut(req);
    return;
  }
  f->req = req;
  f->fd = ref->fd;
  f->off = ref->foff;
  f->want = ref->len < FILE_PIECE ? ref->len : FILE_PIECE;
  if (uv_queue_work(hw__module_current_loop(), &f->w, read_piece,
                    piece_read) != 0) {
    free(f->buf);
    free(f);
    cut(req);
    return;
  }
  res->reading = 1;
  hw__request_hold(req);
}

/* ---- streamed request bodies --------------------------------------------- */

/* A piece for the module, while it still handles the request: once it has
 * finished, its callback's argument may be gone. */
static void deliver(hw_request *req, const char *data, size_t len, int end) {
  hw_str piece = {len > 0 ? data : "", len};
  if (end)
    req->body_ended = 1;
  if (req->body_cb != NULL && req->route != NULL &&
      req->state == HW__REQ_RUNNING && !req->finished_early)
    hw__module_call_body(&req->route->site, req->body_cb, req, req->body_arg,
                         piece, end);
}

int hw__stream_body(hw_request *req, const char *data, size_t len) {
  if (req->body_seen + len > hw__request_body_limit(req))
    return 413;
  req->body_seen += len;
  if (req->body_cb == NULL && !req->body_paused)
    return 0; /* nobody reads it: dropped */
  if (req->body_paused || req->body.len > 0)
    return hw__buf_append(&req->body, data, len) != 0 ? 500 : 0;
  deliver(req, data, len, 0);
  return 0;
}

void hw__stream_body_end(hw_request *req) {
  req->body_complete = 1;
  if (!req->body_paused && req->body.len == 0 && req->body_cb != NULL)
    deliver(req, NULL, 0, 1);
}

int hw__stream_body_take(hw_request *req, hw_body_cb cb, void *arg) {
  if (!req->body_stream || !req->in_handle || req->body_cb != NULL)
    return HW_ESTATE;
  req->body_cb = cb;
  req->body_arg = arg;
  return 0;
}

int hw__stream_body_pause(hw_request *req, int pause) {
  if (!req->body_stream || req->body_cb == NULL || req->body_ended)
    return HW_ESTATE;
  if (pause) {
    req->body_paused = 1;
    return 0;
  }
  if (!req->body_paused)
    return 0;
  req->body_paused = 0;
  /* The module may finish the request from its callback, which would free
   * it (and the bytes kept) under this call: it is held until the end. */
  hw__request_hold(req);
  /* What arrived while it was held goes first, as one piece. */
  if (req->body.len > 0) {
    size_t n = req->body.len;
    req->body.len = 0;
    deliver(req, req->body.data, n, 0);
  }
  if (!req->body_paused && req->body_complete && !req->body_ended)
    deliver(req, NULL, 0, 1);
  if (!req->body_paused && req->owner != NULL && !req->body_ended)
    req->sink->push(req); /* the protocol reads on */
  hw__request_unhold(req);
  return 0;
}
