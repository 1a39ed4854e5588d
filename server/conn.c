/*
 * conn.c - one client connection: reading, the pipeline queue, writing and
 * back-pressure.
 *
 * Every complete request in a read is parsed and dispatched before anything
 * is written; then the responses that are ready, in request order, go out in
 * one write.  A response that is ready early waits behind an earlier request
 * that was deferred, so clients always get answers in the order they asked
 * (RFC 9112 section 9.3.2).  Writes are tried synchronously first
 * (uv_try_write); only what the kernel does not take is queued, which is the
 * only time a write request is allocated.
 *
 * Reads go into the worker's single shared buffer, so an idle keep-alive
 * connection holds no read buffer at all.  A connection stops reading while
 * it has more than HW__MAX_QUEUED requests waiting or more than
 * HW__MAX_UNSENT bytes unsent, so a client that pipelines without reading
 * cannot grow the server's memory; the unparsed rest of the last read is set
 * aside and parsed when the queue drains.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A batch of responses written together.  It keeps the requests whose
 * responses reference their module's memory (write_ref): those are freed,
 * running their free callbacks, once the write is done; the others are
 * freed as soon as their bytes are copied in. */
typedef struct seg {
  const char *base; /* external data, or NULL for out.data + off */
  size_t off;
  size_t len;
} seg;

struct hw__wbatch {
  uv_write_t req;
  hw__wbatch *next; /* the worker's pool */
  hw__conn *c;
  hw_request *reqs;
  hw_request **reqs_tail;
  hw__buf out;
  seg *segs;
  size_t nsegs, segs_cap;
};

#define BATCH_POOL_MAX 256
#define BATCH_KEEP (64 * 1024)
#define MAX_IOV 64

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void flush(hw__conn *c);
static void send_continue(hw__conn *c);

/* ---- batches ---------------------------------------------------------- */

static hw__wbatch *batch_new(hw__conn *c) {
  hw__worker *w = c->w;
  hw__wbatch *b = w->free_batches;
  if (b != NULL) {
    w->free_batches = b->next;
    w->nfree_batches--;
  } else if ((b = calloc(1, sizeof(*b))) == NULL) {
    return NULL;
  }
  b->c = c;
  b->reqs = NULL;
  b->reqs_tail = &b->reqs;
  b->out.len = 0;
  b->nsegs = 0;
  return b;
}

static void batch_free(hw__worker *w, hw__wbatch *b) {
  hw_request *r = b->reqs;
  while (r != NULL) {
    hw_request *next = r->next;
    hw__request_free(r);
    r = next;
  }
  b->reqs = NULL;
  if (w->nfree_batches >= BATCH_POOL_MAX) {
    hw__buf_free(&b->out);
    free(b->segs);
    free(b);
    return;
  }
  hw__buf_reset(&b->out, BATCH_KEEP);
  b->next = w->free_batches;
  w->free_batches = b;
  w->nfree_batches++;
}

void hw__wbatch_pool_drain(hw__worker *w) {
  while (w->free_batches != NULL) {
    hw__wbatch *b = w->free_batches;
    w->free_batches = b->next;
    hw__buf_free(&b->out);
    free(b->segs);
    free(b);
  }
  w->nfree_batches = 0;
}

static int batch_seg(hw__wbatch *b, const char *base, size_t off, size_t len) {
  if (len == 0)
    return 0;
  /* Copied bytes that follow copied bytes extend the same segment. */
  if (base == NULL && b->nsegs > 0 && b->segs[b->nsegs - 1].base == NULL) {
    seg *last = &b->segs[b->nsegs - 1];
    if (last->off + last->len == off) {
      last->len += len;
      return 0;
    }
  }
  if (b->nsegs == b->segs_cap) {
    size_t cap = b->segs_cap ? b->segs_cap * 2 : 4;
    seg *n = realloc(b->segs, cap * sizeof(*n));
    if (n == NULL)
      return HW_ENOMEM;
    b->segs = n;
    b->segs_cap = cap;
  }
  b->segs[b->nsegs].base = base;
  b->segs[b->nsegs].off = off;
  b->segs[b->nsegs].len = len;
  b->nsegs++;
  return 0;
}

/* Serialises one response into the batch: the head and copied body go into
 * the batch's buffer, referenced body parts stay where the module put them.
 * Copied bytes that follow each other make one segment, so the usual
 * response (no references) adds one. */
static int batch_add(hw__wbatch *b, hw_request *req, int keep_alive) {
  struct hw_response *res = &req->res;
  size_t start = b->out.len, at = 0;

  if (hw__http_write_head(req, keep_alive, &b->out) != 0)
    return HW_ENOMEM;
  if (!req->is_head && hw__http_status_has_body(res->status)) {
    for (size_t i = 0; i < res->nrefs; i++) {
      hw__ref *ref = &res->refs[i];
      if (hw__buf_append(&b->out, res->body.data + at, ref->at - at) != 0 ||
          batch_seg(b, NULL, start, b->out.len - start) != 0 ||
          batch_seg(b, ref->data, 0, ref->len) != 0)
        return HW_ENOMEM;
      at = ref->at;
      start = b->out.len;
    }
    if (hw__buf_append(&b->out, res->body.data + at, res->body.len - at) != 0)
      return HW_ENOMEM;
  }
  return batch_seg(b, NULL, start, b->out.len - start);
}

/* ---- closing ---------------------------------------------------------- */

static void on_close(uv_handle_t *h) {
  hw__conn *c = hw__container_of(h, hw__conn, tcp);
  free(c);
}

void hw__conn_close(hw__conn *c) {
  hw__worker *w = c->w;
  hw_request *r;

  if (c->closing)
    return;
  c->closing = 1;
  c->no_more = 1;
  if (c->cur != NULL) {
    hw__request_free(c->cur);
    c->cur = NULL;
  }
  /* Requests still queued are either answered (and now unsendable) or
   * deferred; a deferred one stays alive until its module finishes it. */
  r = c->qhead;
  c->qhead = c->qtail = NULL;
  c->nqueued = 0;
  while (r != NULL) {
    hw_request *next = r->next;
    r->next = NULL;
    hw__request_orphan(r);
    r = next;
  }
  free(c->pending);
  c->pending = NULL;
  c->pending_off = c->pending_len = 0;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    w->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  w->nconns--;
  hw__worker_conn_closed(w);
  /* Write batches still in flight are cancelled by libuv, and their
   * callbacks run before on_close frees the connection. */
  uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void linger_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  hw__conn *c = hw__container_of(h, hw__conn, tcp);
  buf->base = c->w->rbuf;
  buf->len = c->w->rbuf_size;
}

/* Lingering: whatever the client still sends is read and dropped, until it
 * closes its side or the linger time (checked by the sweep) runs out. */
static void linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread < 0)
    hw__conn_close(hw__container_of(s, hw__conn, tcp));
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  hw__conn *c = req->data;
  free(req);
  if (c->closing)
    return;
  /* Closing a socket with unread input makes the kernel send a reset,
   * which can destroy the response before the client has read it.  So the
   * connection lingers (RFC 9112 section 9.6): our FIN is out, and what
   * the client still sends is discarded for a short while. */
  if (status == 0 && !c->eof) {
    c->lingering = 1;
    c->mark = (uint32_t)uv_now(c->w->loop);
    if (uv_read_start((uv_stream_t *)&c->tcp, linger_alloc, linger_read) ==
        0) {
      c->reading = 1;
      return;
    }
  }
  hw__conn_close(c);
}

/* Ends a connection whose last response has been handed to the kernel: the
 * FIN goes out after the queued bytes, so the client reads the whole answer
 * before it sees the end of the stream. */
static void finish_connection(hw__conn *c) {
  uv_shutdown_t *req;
  if (c->closing || c->shutting)
    return;
  req = malloc(sizeof(*req));
  if (req != NULL) {
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) == 0) {
      c->shutting = 1;
      c->no_more = 1;
      if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
      }
      return;
    }
    free(req);
  }
  hw__conn_close(c);
}

/* ---- reading and back-pressure ---------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  hw__conn *c = hw__container_of(h, hw__conn, tcp);
  hw__worker *w = c->w;
  /* Reads are parsed to completion inside on_read, so one buffer serves
   * every connection of the worker. */
  buf->base = w->rbuf;
  buf->len = w->rbuf_size;
}

static void set_reading(hw__conn *c, int on) {
  if (c->closing || c->shutting || (int)c->reading == on)
    return;
  if (on) {
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) == 0)
      c->reading = 1;
  } else {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* Parses `len` bytes and returns how many the parser took: fewer when it
 * paused for back-pressure or after a request that ends the connection. */
static size_t parse(hw__conn *c, const char *data, size_t len) {
  size_t n;
  int failed;

  if (c->no_more || len == 0)
    return len;
  n = hw__http_feed(&c->parser, data, len, &failed);
  if (failed)
    c->no_more = 1;
  return n;
}

/* Parses a fresh read; what the parser leaves because it paused for
 * back-pressure is copied aside (the read buffer is shared). */
static void parse_read(hw__conn *c, const char *data, size_t len) {
  size_t n = parse(c, data, len);
  if (n < len && !c->no_more) {
    c->pending = malloc(len - n);
    if (c->pending == NULL) {
      c->no_more = 1;
      return;
    }
    memcpy(c->pending, data + n, len - n);
    c->pending_off = 0;
    c->pending_len = (uint32_t)(len - n);
    c->paused = 1;
  }
}

/* Called whenever the queue or the unsent output shrinks: resumes the
 * paused parser on the bytes set aside, then reading, once the connection
 * is under its limits.  The set-aside buffer is consumed in place, so a
 * long pipeline costs one copy however often it pauses. */
static void maybe_resume(hw__conn *c) {
  while (!c->closing && c->paused && !hw__conn_congested(c)) {
    size_t n;
    c->paused = 0;
    hw__http_unpause(&c->parser);
    c->in_read = 1;
    n = parse(c, c->pending + c->pending_off, c->pending_len);
    c->in_read = 0;
    if (c->closing)
      break;
    if (n < c->pending_len && !c->no_more) {
      c->pending_off += (uint32_t)n;
      c->pending_len -= (uint32_t)n;
      c->paused = 1;
    } else {
      free(c->pending);
      c->pending = NULL;
      c->pending_off = c->pending_len = 0;
    }
    flush(c);
  }
  if (c->closing || c->shutting)
    return;
  set_reading(c, !c->paused && !c->no_more && !c->eof &&
                     !hw__conn_congested(c));
  /* The answers a 100 Continue had to wait for are out. */
  if (c->continue_owed && c->qhead == NULL && c->nwriting == 0 &&
      c->cur != NULL)
    send_continue(c);
  /* A client that half-closed gets the connection closed once every
   * response it asked for has gone out. */
  if ((c->eof || c->no_more) && c->qhead == NULL && c->cur == NULL &&
      c->nwriting == 0 && !c->paused)
    finish_connection(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  hw__conn *c = hw__container_of(s, hw__conn, tcp);

  if (nread > 0) {
    c->in_read = 1;
    parse_read(c, buf->base, (size_t)nread);
    c->in_read = 0;
    /* A body that keeps arriving is progress; a head is not (a client
     * sending its head a byte at a time must still finish in time). */
    if (c->cur != NULL && c->cur->state == HW__REQ_BODY)
      c->mark = (uint32_t)uv_now(c->w->loop);
    flush(c);
    if (!c->closing)
      maybe_resume(c);
    return;
  }
  if (nread == 0)
    return; /* EAGAIN */
  if (nread == UV_EOF) {
    c->eof = 1;
    c->in_read = 1;
    hw__http_eof(&c->parser);
    c->in_read = 0;
    if (c->cur != NULL) {
      /* The client stopped mid-request: nobody will complete it. */
      hw__request_free(c->cur);
      c->cur = NULL;
    }
    flush(c);
    if (!c->closing)
      maybe_resume(c);
    return;
  }
  hw__conn_close(c);
}

/* ---- writing ---------------------------------------------------------- */

static void on_write(uv_write_t *wr, int status) {
  hw__wbatch *b = hw__container_of(wr, hw__wbatch, req);
  hw__conn *c = b->c;

  c->nwriting--;
  c->mark = (uint32_t)uv_now(c->w->loop);
  batch_free(c->w, b);
  if (c->closing)
    return;
  if (status < 0) {
    hw__conn_close(c);
    return;
  }
  maybe_resume(c);
}

static void flush(hw__conn *c) {
  hw__wbatch *b;
  uv_buf_t iov[MAX_IOV];
  size_t niov = 0, total = 0, skip;
  int r;

  if (c->in_read || c->closing || c->qhead == NULL ||
      c->qhead->state != HW__REQ_DONE)
    return;
  b = batch_new(c);
  if (b == NULL) {
    hw__conn_close(c);
    return;
  }
  while (c->qhead != NULL && c->qhead->state == HW__REQ_DONE) {
    hw_request *req = c->qhead;
    /* While the worker drains for shutdown, the last response a
     * connection will get says so. */
    int last = c->draining && c->no_more && req->next == NULL && c->cur == NULL;
    int keep = req->keep_alive && !req->close_after && !last;
    c->qhead = req->next;
    if (c->qhead == NULL)
      c->qtail = NULL;
    c->nqueued--;
    c->served = 1;
    req->next = NULL;
    if (batch_add(b, req, keep) != 0) {
      hw__request_free(req);
      batch_free(c->w, b);
      hw__conn_close(c);
      return;
    }
    /* A response whose bytes are all copied into the batch needs nothing
     * of its request any more: the request goes back to the pool now,
     * while its memory is still in the cache, rather than after the write,
     * whose trip through the kernel's network stack evicts it.  Referenced
     * parts keep theirs until they are written. */
    if (req->res.nrefs == 0) {
      hw__request_free(req);
    } else {
      *b->reqs_tail = req;
      b->reqs_tail = &req->next;
    }
    if (!keep) {
      c->no_more = 1;
      break;
    }
    if (b->nsegs >= MAX_IOV - 2)
      break; /* rare: many referenced parts; the rest goes next time */
  }
  for (size_t i = 0; i < b->nsegs; i++) {
    seg *s = &b->segs[i];
    iov[niov].base = (char *)(s->base != NULL ? s->base : b->out.data + s->off);
    iov[niov].len = s->len;
    total += s->len;
    niov++;
  }

  /* Try to hand everything to the kernel now; queue only what it leaves. */
  skip = 0;
  if (c->nwriting == 0 && total > 0) {
    r = uv_try_write((uv_stream_t *)&c->tcp, iov, (unsigned)niov);
    if (r < 0 && r != UV_EAGAIN) {
      batch_free(c->w, b);
      hw__conn_close(c);
      return;
    }
    skip = r > 0 ? (size_t)r : 0;
  }
  c->mark = (uint32_t)uv_now(c->w->loop); /* an answer: idle from now */
  if (skip == total) {
    batch_free(c->w, b);
    if (c->qhead != NULL && c->qhead->state == HW__REQ_DONE)
      flush(c); /* the iovec limit split the batch */
    return;
  }
  {
    size_t first = 0;
    while (skip >= iov[first].len) {
      skip -= iov[first].len;
      first++;
    }
    iov[first].base += skip;
    iov[first].len -= skip;
    r = uv_write(&b->req, (uv_stream_t *)&c->tcp, iov + first,
                 (unsigned)(niov - first), on_write);
    if (r != 0) {
      batch_free(c->w, b);
      hw__conn_close(c);
      return;
    }
    c->nwriting++;
  }
}

void hw__conn_response_ready(hw__conn *c) {
  if (c->in_read)
    return; /* the read that produced it flushes once at its end */
  flush(c);
  if (!c->closing)
    maybe_resume(c);
}

/* ---- requests --------------------------------------------------------- */

hw_request *hw__conn_begin_request(hw__conn *c) {
  hw_request *req = hw__request_new(c->w, c);
  c->cur = req;
  c->mark = (uint32_t)uv_now(c->w->loop); /* the head's time starts */
  return req;
}

void hw__conn_enqueue(hw__conn *c, hw_request *req) {
  /* A draining connection finishes the request it was reading, and takes
   * no other. */
  if (c->draining)
    c->no_more = 1;
  req->next = NULL;
  if (c->qtail != NULL)
    c->qtail->next = req;
  else
    c->qhead = req;
  c->qtail = req;
  c->nqueued++;
}

void hw__conn_drain(hw__conn *c) {
  if (c->closing)
    return;
  c->draining = 1;
  c->mark = (uint32_t)uv_now(c->w->loop);
  if (c->qhead == NULL && c->cur == NULL && c->nwriting == 0) {
    /* An idle keep-alive connection ends with a FIN, not a close: a
     * request the client is sending right now then meets a clean end of
     * stream, which clients retry, rather than a reset.  A connection that
     * has not sent its first request yet may have it in flight: it stays
     * open a moment (the sweep ends it) and the request is answered. */
    if (c->served)
      finish_connection(c);
    return;
  }
  if (c->cur == NULL) {
    c->no_more = 1;
    set_reading(c, 0);
  }
  /* A response that was the last one before draining began may already be
   * out: then there is nothing more to say and the connection ends. */
  maybe_resume(c);
}

/* ---- interim responses ------------------------------------------------ */

static void on_continue_written(uv_write_t *wr, int status) {
  hw__conn *c = wr->data;
  free(wr);
  c->nwriting--;
  if (c->closing)
    return;
  if (status < 0)
    hw__conn_close(c);
  else
    maybe_resume(c);
}

/* Writes "100 Continue" (nothing else is queued or in flight). */
static void send_continue(hw__conn *c) {
  static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);
  uv_write_t *wr;
  int r;

  c->continue_owed = 0;
  c->mark = (uint32_t)uv_now(c->w->loop); /* the body's time starts now */
  r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (r == (int)b.len || (r < 0 && r != UV_EAGAIN))
    return; /* sent, or a broken connection that the next write reports */
  if (r > 0) {
    b.base += r;
    b.len -= (size_t)r;
  }
  wr = malloc(sizeof(*wr));
  if (wr == NULL)
    return;
  wr->data = c;
  if (uv_write(wr, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) != 0) {
    free(wr);
    return;
  }
  c->nwriting++;
}

void hw__conn_continue(hw__conn *c) {
  if (c->closing)
    return;
  /* An interim response must not overtake the final ones still owed to
   * earlier requests (RFC 9110 section 10.1.1): it is owed until they are
   * written, and meanwhile the body's minimum rate is not applied, since
   * the client may be waiting for it. */
  if (c->qhead != NULL || c->nwriting > 0) {
    c->continue_owed = 1;
    return;
  }
  send_continue(c);
}

/* ---- timeouts ---------------------------------------------------------- */

/* The request being read took too long: answer 408 in its turn, and end
 * the connection. */
static void time_out_request(hw__conn *c) {
  hw_request *req = c->cur;
  c->cur = NULL;
  req->keep_alive = 0;
  req->close_after = 1;
  hw__request_respond_error(req, 408);
  hw__conn_enqueue(c, req);
  c->no_more = 1;
  set_reading(c, 0);
  flush(c);
  if (!c->closing)
    maybe_resume(c);
}

/* limits.body_min_rate: a body that trickles in (a byte every few seconds
 * never trips timeouts_ms.body_idle) holds a connection for as long as the
 * client likes.  The rate is judged over windows of RATE_WINDOW_MS of
 * reading time, the first one free (a client may start slowly), and the
 * clock runs only while the server reads this body: not while its own
 * back-pressure has stopped reading, nor while a 100 Continue the client
 * may be waiting for is still owed.  Looked at on each sweep, so the
 * reading time is counted to the sweep's granularity. */
#define RATE_WINDOW_MS 5000

static int body_too_slow(hw__conn *c, hw_request *req, uint32_t now,
                         size_t rate) {
  uint32_t elapsed;
  int slow;

  if (rate == 0)
    return 0;
  if (!req->rate_on) {
    req->rate_on = 1;
    req->rate_mark = now;
    return 0;
  }
  elapsed = now - req->rate_mark;
  req->rate_mark = now;
  if (!c->reading || c->paused || c->continue_owed)
    return 0;
  req->rate_ms += elapsed;
  if (req->rate_ms < RATE_WINDOW_MS)
    return 0;
  slow = req->rate_graced &&
         req->rate_bytes * 1000 < (uint64_t)rate * req->rate_ms;
  req->rate_graced = 1;
  req->rate_ms = 0;
  req->rate_bytes = 0;
  return slow;
}

void hw__conn_sweep(hw__worker *w) {
  const hw__config *cfg = w->gen->config;
  uint32_t now = (uint32_t)uv_now(w->loop);
  hw__conn *c, *next;

  /* One pass over the connections a few times a second costs nothing per
   * request; each connection only keeps the time its phase began. */
  for (c = w->conns; c != NULL; c = next) {
    uint32_t age = now - c->mark;
    next = c->next;
    if (c->lingering) {
      if (age >= HW__LINGER_MS)
        hw__conn_close(c);
    } else if (c->nwriting > 0) {
      if (age >= cfg->timeout_write_ms)
        hw__conn_close(c); /* a client that does not read */
    } else if (c->cur != NULL && !c->continue_owed) {
      /* (While a 100 Continue is owed, the client may be waiting for it:
       * its body's time starts when it is sent.) */
      hw_request *req = c->cur;
      if ((req->state == HW__REQ_HEAD && age >= cfg->timeout_head_ms) ||
          (req->state == HW__REQ_BODY &&
           (age >= cfg->timeout_body_idle_ms ||
            body_too_slow(c, req, now, cfg->limit_body_min_rate))))
        time_out_request(c);
    } else if (c->qhead == NULL && !c->paused && !c->shutting) {
      if (c->draining && age >= HW__SWEEP_MS)
        finish_connection(c); /* shutting down: nothing came */
      else if (age >= cfg->timeout_keepalive_ms)
        hw__conn_close(c); /* idle keep-alive: close silently */
    }
  }
}

/* ---- accepting -------------------------------------------------------- */

void hw__conn_accept(hw__worker *w, uv_stream_t *server) {
  hw__conn *c = calloc(1, sizeof(*c));
  int r;

  if (c == NULL) {
    hw__log(HW_LOG_ERROR, "out of memory accepting a connection");
    return;
  }
  c->w = w;
  uv_tcp_init(w->loop, &c->tcp);
  r = uv_accept(server, (uv_stream_t *)&c->tcp);
  if (r != 0) {
    /* Not yet in the worker's list: close it without hw__conn_close. */
    uv_close((uv_handle_t *)&c->tcp, on_close);
    return;
  }
  /* Responses are written whole; Nagle would only delay the last segment of
   * each batch behind the client's delayed ACK. */
  uv_tcp_nodelay(&c->tcp, 1);
  hw__http_init(&c->parser, c);
  c->mark = (uint32_t)uv_now(w->loop);
  c->next = w->conns;
  if (w->conns != NULL)
    w->conns->prev = c;
  w->conns = c;
  w->nconns++;
  set_reading(c, 1);
}
