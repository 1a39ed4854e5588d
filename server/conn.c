/*
 * conn.c - client connections over TCP (see conn.h): the transport of
 * transport.h over a libuv TCP handle.
 *
 * Reading: every connection reads into the worker's one shared buffer and
 * hands the bytes to its protocol at once, so an idle keep-alive connection
 * holds no read buffer at all.  When the protocol takes fewer bytes than it
 * was given (its queue of requests is full, or it ends the connection), the
 * rest is copied aside and reading stops until the protocol asks for it
 * again; the set-aside bytes are then consumed in place, so a long pipeline
 * costs one copy however often it pauses.
 *
 * Writing: what the protocol puts in a batch during a call (all the
 * responses a read produced) leaves with one write when the call returns.
 * The write is tried synchronously first (uv_try_write); only what the
 * kernel does not take is queued.  A batch with a file region, and any
 * behind it, goes to the file writer (sendfile.c) instead.  Past
 * HW__TRANSPORT_MAX_UNSENT bytes unsent (see hw__transport_unsent),
 * reading stops, so a client that pipelines without reading cannot grow
 * the server's memory.
 *
 * Timers: a connection is in one state at a time (conn_states.h):
 * lingering, writing, shutting down, or the phase its protocol says it is
 * in (idle, reading a head, reading a body, busy).  Each state has its
 * timeout (conn_states.c says how long) and what happens when it passes
 * (the table `expire` here).  One pass over the worker's
 * connections every HW__CONN_SWEEP_MS applies them, so timers cost nothing
 * per request and fire up to that much late; each connection keeps only
 * the time its state began.
 *
 * Closing: a protocol ends a connection after its last response (a FIN once
 * the output is written, then a lingering read that drops what the client
 * still sends, RFC 9112 section 9.6, so that it reads the response instead
 * of a reset) or at once, even as it opens (a layer refusing a peer).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "conn_states.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "rate.h"
#include "sendfile.h"

#define READ_BUFFER_SIZE (64 * 1024)
#define MAX_IOV 64

/* Input the protocol did not take, copied aside: `len` bytes from `off`. */
typedef struct pending {
  uint32_t off, len;
  char data[];
} pending;

/* One connection.  An idle keep-alive connection holds only this (and its
 * protocol's state after it), so every field counts: the set it belongs to
 * is the TCP handle's `data`. */
struct hw__conn {
  uv_tcp_t tcp;
  hw__transport t; /* what the protocol sees */
  hw__conn *prev, *next;
  const hw__proto *proto;
  pending *pending;
  uint32_t mark; /* loop time (ms) the current state began */
  hw__rate rate; /* limits.body_min_rate: the body's clock */
  uint16_t nwriting;    /* batches whose write is outstanding */
  uint8_t seen_phase, seen_epoch; /* the protocol's, when last looked at */
  unsigned close_wanted : 2; /* the protocol asked to close during a call:
                                1 + enum hw__close */
  unsigned reading : 1;
  unsigned in_proto : 1; /* inside a call into the protocol */
  unsigned paused : 1;   /* the protocol took less: input set aside */
  unsigned resume_wanted : 1;
  unsigned eof : 1;
  unsigned closing : 1;
  unsigned shutting : 1;    /* our FIN is queued */
  unsigned lingering : 1;   /* FIN sent: discarding input a while */
  unsigned finish_due : 1;  /* the FIN waits for the file writer */
  unsigned sf_drained : 1;  /* its output fell under the bound: tell */
  uint8_t peer_len;         /* the client's address, once asked for */
  char *peer;               /* (allocated then: idle, it costs a pointer) */
  hw__sendfile *sf;         /* writes file regions, once there was one */
  uint64_t state[];         /* the protocol's, proto->size bytes */
};

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void finish(hw__conn *c);
static void set_reading(hw__conn *c, int on);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void after(hw__conn *c, int progress);
static void conn_close(hw__conn *c);

static hw__conn *conn_of(hw__transport *t) {
  return hw__bytes_container_of(t, hw__conn, t);
}

static hw__conn_set *set_of(const hw__conn *c) { return c->tcp.data; }

static uint32_t now_ms(const hw__conn *c) {
  return (uint32_t)uv_now(set_of(c)->loop);
}

/* One of the protocol's notifications, marked as inside it (see after).
 * Not named tell: mingw's io.h declares a tell of its own. */
static void tell_proto(hw__conn *c, void (*fn)(void *p)) {
  c->in_proto = 1;
  fn(c->state);
  c->in_proto = 0;
}

/* ---- writing ----------------------------------------------------------- */

static void on_write(uv_write_t *wr, int status) {
  hw__batch *b = hw__bytes_container_of(wr, hw__batch, req);
  hw__conn *c = b->owner;
  int was_full = c->t.unsent > HW__TRANSPORT_MAX_UNSENT;

  c->nwriting--;
  hw__transport_unsent(&c->t, b->queued, -1);
  c->mark = now_ms(c);
  hw__batch_give(&set_of(c)->batches, b); /* releases what it held */
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (was_full && c->t.unsent <= HW__TRANSPORT_MAX_UNSENT) {
    tell_proto(c, c->proto->writable);
  }
  if (c->sf != NULL && c->nwriting == 0) /* what waited behind this write */
    hw__sendfile_push(c->sf, NULL, 1);
  after(c, 0);
}

/* The file writer's bytes out (the client's time starts again). */
static void sf_sent(void *owner, size_t n) {
  hw__conn *c = owner;
  c->mark = now_ms(c);
  if (c->t.unsent > HW__TRANSPORT_MAX_UNSENT)
    c->sf_drained = c->t.unsent - n <= HW__TRANSPORT_MAX_UNSENT;
  hw__transport_unsent(&c->t, n, -1);
}

/* A batch of its is out, or failed, or a file came up short (a FIN then). */
static void sf_done(void *owner, hw__batch *b, int status) {
  hw__conn *c = owner;
  hw__batch_give(&set_of(c)->batches, b);
  if (status < 0 && status != HW__SENDFILE_SHORT)
    conn_close(c); /* (nothing when it is closing already) */
  else if (c->sf_drained && !c->closing)
    c->sf_drained = 0, tell_proto(c, c->proto->writable);
  if (c->closing || c->shutting)
    return;
  c->finish_due |= status != 0;
  if (c->finish_due && !hw__sendfile_busy(c->sf))
    c->finish_due = 0, finish(c);
  else if (status == 0)
    after(c, 0);
}

static const hw__sendfile_cb sf_cb = {sf_sent, sf_done};

/* A batch with a file region, or behind one: the file writer's, in order. */
static void ordered(hw__conn *c, hw__batch *b) {
  uv_os_fd_t fd;
  if (c->sf == NULL &&
      (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 ||
       (c->sf = hw__sendfile_new(set_of(c)->loop, (uv_os_sock_t)fd, &sf_cb,
                                 c)) == NULL)) {
    hw__batch_give(&set_of(c)->batches, b);
    conn_close(c);
  } else {
    c->mark = now_ms(c);
    hw__transport_unsent(&c->t, hw__batch_size(b), 1);
    hw__sendfile_push(c->sf, b, c->nwriting == 0);
  }
}

/* Writes the protocol's batch: what the kernel takes now, the rest queued. */
static void flush(hw__conn *c) {
  hw__batch *b = c->t.batch;
  uv_buf_t stack[MAX_IOV], *iov = stack;
  size_t niov, total = 0, skip = 0, first = 0;
  int r;

  if (b == NULL || c->closing)
    return;
  c->t.batch = NULL;
  if ((niov = b->nsegs) == 0) {
    hw__batch_give(&set_of(c)->batches, b);
    return;
  }
  if (b->nfiles > 0 || (c->sf != NULL && (hw__sendfile_busy(c->sf) ||
                                          hw__sendfile_failed(c->sf)))) {
    ordered(c, b);
    return;
  }
  if (niov > MAX_IOV && (iov = malloc(niov * sizeof(*iov))) == NULL) {
    hw__batch_give(&set_of(c)->batches, b);
    conn_close(c);
    return;
  }
  total = hw__batch_iov(b, iov);
  /* To the kernel now, unless writes still queued must go first. */
  if (c->nwriting == 0) {
    r = uv_try_write((uv_stream_t *)&c->tcp, iov, (unsigned)niov);
    if (r < 0 && r != UV_EAGAIN)
      goto broken;
    skip = r > 0 ? (size_t)r : 0;
  }
  c->mark = now_ms(c); /* an answer: the client's time starts again */
  if (skip == total) {
    if (iov != stack)
      free(iov);
    hw__batch_give(&set_of(c)->batches, b);
    return;
  }
  b->queued = total - skip;
  while (skip >= iov[first].len) {
    skip -= iov[first].len;
    first++;
  }
  iov[first].base += skip;
  iov[first].len -= skip;
  if (uv_write(&b->req, (uv_stream_t *)&c->tcp, iov + first,
               (unsigned)(niov - first), on_write) != 0)
    goto broken;
  if (iov != stack)
    free(iov);
  c->nwriting++;
  hw__transport_unsent(&c->t, b->queued, 1);
  return;

broken:
  if (iov != stack)
    free(iov);
  hw__batch_give(&set_of(c)->batches, b);
  conn_close(c);
}

/* ---- closing ----------------------------------------------------------- */

static void on_close(uv_handle_t *h) {
  free(hw__bytes_container_of(h, hw__conn, tcp));
}

static void conn_close(hw__conn *c) {
  hw__conn_set *s = set_of(c);

  if (c->closing)
    return;
  c->closing = 1;
  if (c->t.batch != NULL) {
    hw__batch_give(&s->batches, c->t.batch);
    c->t.batch = NULL;
  }
  if (c->sf != NULL) {
    hw__sendfile_close(c->sf, &s->batches);
    c->sf = NULL;
  }
  /* The protocol lets go of its requests; batches still being written are
   * cancelled by libuv, and release theirs before on_close runs. */
  tell_proto(c, c->proto->close);
  free(c->pending);
  c->pending = NULL;
  free(c->peer);
  c->peer = NULL;
  c->peer_len = 0;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    s->list = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  s->n--;
  if (s->on_closed != NULL)
    s->on_closed(s);
  uv_close((uv_handle_t *)&c->tcp, on_close);
}

/* Lingering: whatever the client still sends is read and dropped, until it
 * closes its side or the linger time (a timer state) runs out. */
static void linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread < 0)
    conn_close(hw__bytes_container_of(s, hw__conn, tcp));
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  hw__conn *c = req->data;
  free(req);
  if (c->closing)
    return;
  /* Closing a socket with unread input makes the kernel send a reset,
   * which can destroy the response before the client has read it: linger
   * instead (RFC 9112 section 9.6). */
  if (status == 0 && !c->eof) {
    c->lingering = 1;
    c->mark = now_ms(c);
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, linger_read) == 0) {
      c->reading = 1;
      return;
    }
  }
  conn_close(c);
}

/* Ends a connection once its output is written: the FIN goes out after the
 * queued bytes, so the client reads the whole answer before the end. */
static void finish(hw__conn *c) {
  uv_shutdown_t *req;
  if (c->closing || c->shutting)
    return;
  flush(c);
  if (c->closing)
    return;
  if (c->sf != NULL && hw__sendfile_busy(c->sf)) {
    c->finish_due = 1; /* after the file writer's last batch */
    set_reading(c, 0);
    return;
  }
  req = malloc(sizeof(*req));
  if (req != NULL) {
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) == 0) {
      c->shutting = 1;
      if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
      }
      return;
    }
    free(req);
  }
  conn_close(c);
}

/* ---- reading ----------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  hw__conn *c = hw__bytes_container_of(h, hw__conn, tcp);
  /* Handed over before on_read returns: one buffer serves every connection. */
  buf->base = set_of(c)->rbuf;
  buf->len = set_of(c)->rbuf_size;
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

/* Hands bytes to the protocol; what it does not take is kept aside (the
 * read buffer is shared) when they came from a read. */
static void feed(hw__conn *c, const char *data, size_t len, int from_read) {
  size_t n;

  /* Bytes that arrive are usually answered: the batch is ready before the
   * protocol asks (flush gives an unused one back). */
  if (c->t.batch == NULL)
    c->t.batch = hw__batch_take(&set_of(c)->batches, c);
  c->in_proto = 1;
  n = c->proto->data(c->state, data, len);
  c->in_proto = 0;
  if (c->closing)
    return;
  if (!from_read) {
    /* The bytes set aside: consumed in place. */
    if (n < len) {
      c->pending->off += (uint32_t)n;
      c->pending->len -= (uint32_t)n;
      c->paused = 1;
    } else {
      free(c->pending);
      c->pending = NULL;
    }
    return;
  }
  if (n < len) {
    c->pending = malloc(sizeof(*c->pending) + (len - n));
    if (c->pending == NULL) {
      conn_close(c);
      return;
    }
    memcpy(c->pending->data, data + n, len - n);
    c->pending->off = 0;
    c->pending->len = (uint32_t)(len - n);
    c->paused = 1;
  }
}

/* The protocol wants its input again: the bytes set aside first. */
static void resume(hw__conn *c) {
  c->resume_wanted = 0;
  if (!c->paused)
    return;
  c->paused = 0;
  if (c->pending != NULL)
    feed(c, c->pending->data + c->pending->off, c->pending->len, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  hw__conn *c = hw__bytes_container_of(s, hw__conn, tcp);

  if (nread > 0) {
    if (c->t.phase == HW__PHASE_BODY)
      hw__rate_read(&c->rate, (size_t)nread);
    feed(c, buf->base, (size_t)nread, 1);
    after(c, 1);
    return;
  }
  if (nread == 0)
    return; /* EAGAIN */
  if (nread == UV_EOF) {
    c->eof = 1;
    set_reading(c, 0);
    tell_proto(c, c->proto->eof);
    after(c, 0);
    return;
  }
  conn_close(c);
}

/* After every call into the protocol: do what it asked for meanwhile, write
 * what it batched, note when its phase changed (and, for a body, that bytes
 * arrived: progress, for the body idle timer), and read while it takes
 * input and the output is under its bound. */
static void after(hw__conn *c, int progress) {
  for (;;) {
    if (c->closing)
      return;
    if (c->close_wanted != 0) {
      int how = c->close_wanted - 1;
      c->close_wanted = 0;
      if (how == HW__CLOSE_NOW)
        conn_close(c);
      else
        finish(c);
      return;
    }
    /* What the call batched goes before the protocol reads on, so that
     * its next round sees how much output is still unsent. */
    flush(c);
    if (c->closing || !c->resume_wanted)
      break;
    resume(c);
  }
  if (c->closing)
    return;
  if (c->t.phase != c->seen_phase || c->t.epoch != c->seen_epoch) {
    /* A state began: its timer starts now.  (A request that came and went
     * within the call leaves the phase idle: the write marked the time.)
     * A body's minimum rate is judged on that body alone. */
    if (c->t.phase != c->seen_phase || c->t.phase == HW__PHASE_HEAD ||
        c->t.phase == HW__PHASE_BODY)
      c->mark = now_ms(c);
    if (c->t.phase == HW__PHASE_BODY)
      hw__rate_reset(&c->rate);
    c->seen_phase = c->t.phase;
    c->seen_epoch = c->t.epoch;
  } else if (progress && c->t.phase == HW__PHASE_BODY) {
    c->mark = now_ms(c);
  }
  {
    unsigned want = !c->paused && !c->eof && !c->finish_due &&
                    c->t.unsent <= HW__TRANSPORT_MAX_UNSENT;
    if (want != c->reading)
      set_reading(c, (int)want);
  }
}

/* ---- the transport ----------------------------------------------------- */

static hw__batch *t_batch(hw__transport *t) {
  hw__conn *c = conn_of(t);
  if (c->t.batch == NULL && !c->closing)
    c->t.batch = hw__batch_take(&set_of(c)->batches, c);
  return c->t.batch;
}

static void t_flush(hw__transport *t) {
  hw__conn *c = conn_of(t);
  if (c->in_proto)
    return; /* written when the call returns */
  after(c, 0);
}

static void t_resume(hw__transport *t) {
  hw__conn *c = conn_of(t);
  c->resume_wanted = 1;
  if (!c->in_proto)
    after(c, 0);
}

static void t_close(hw__transport *t, int how) {
  hw__conn *c = conn_of(t);
  if (c->close_wanted == 0 || how == HW__CLOSE_NOW)
    c->close_wanted = (unsigned)(how + 1) & 3;
  if (!c->in_proto)
    after(c, 0);
}

/* The address is asked for once per connection (the access log wants it
 * with every request): a system call the first time only. */
static int t_peer(hw__transport *t, char *buf, size_t len) {
  hw__conn *c = conn_of(t);
  char text[64];
  int r;

  if (c->closing)
    return UV_ENOTCONN;
  if (c->peer_len == 0) {
    if ((r = hw__listen_peer(&c->tcp, text, sizeof(text))) <= 0)
      return r < 0 ? r : HW_EINVAL;
    if ((c->peer = malloc((size_t)r)) == NULL)
      return UV_ENOMEM;
    memcpy(c->peer, text, (size_t)r);
    c->peer_len = (uint8_t)r;
  }
  if (c->peer_len >= len)
    return HW_EINVAL;
  memcpy(buf, c->peer, c->peer_len);
  buf[c->peer_len] = '\0';
  return c->peer_len;
}

static const hw__transport_ops tcp_ops = {
    .batch = t_batch,
    .flush = t_flush,
    .resume = t_resume,
    .close = t_close,
    .peer = t_peer,
    .files = 1,
};

/* ---- timers ------------------------------------------------------------ */

/* The protocol's request took too long: it answers (408) and ends. */
static void expire_protocol(hw__conn *c) {
  tell_proto(c, c->proto->timeout);
  after(c, 0);
}

/* Idle: closed silently; while shutting down, with a FIN. */
static void expire_idle(hw__conn *c) {
  if (set_of(c)->draining)
    finish(c);
  else
    conn_close(c);
}

/* What happens when a state's time has passed (conn_states says when). */
static void (*const expire[HW__CONN_NSTATES])(hw__conn *c) = {
    [HW__CONN_IDLE] = expire_idle,       [HW__CONN_HEAD] = expire_protocol,
    [HW__CONN_BODY] = expire_protocol,   [HW__CONN_WRITE] = conn_close,
    [HW__CONN_LINGER] = conn_close,
};

static unsigned state_of(const hw__conn *c) {
  if (c->lingering)
    return HW__CONN_LINGER;
  if (c->nwriting > 0 || (c->sf != NULL && hw__sendfile_busy(c->sf)))
    return HW__CONN_WRITE;
  if (c->shutting)
    return HW__CONN_SHUTDOWN;
  return c->t.phase;
}

static void sweep(uv_timer_t *timer) {
  hw__conn_set *s = hw__bytes_container_of(timer, hw__conn_set, sweep);
  const hw__config *cfg = s->cfg;
  uint32_t now = (uint32_t)uv_now(s->loop), elapsed = now - s->swept;
  uint64_t conns[HW__CONNS_STATES] = {0};
  hw__conn *c, *next;

  s->swept = now;
  for (c = s->list; c != NULL; c = next) {
    unsigned st = state_of(c);
    const hw__conn_states_names *d = &hw__conn_states_names_of[st];
    int kind = -1;
    next = c->next;
    if (now - c->mark >= hw__conn_states_timeout(st, s->draining, cfg))
      kind = d->kind;
    else if (st == HW__CONN_BODY &&
             hw__rate_slow(&c->rate, elapsed, cfg->limit_body_min_rate,
                           c->reading && !c->paused))
      kind = HW__TIMEOUT_BODY_RATE;
    if (kind < 0) {
      conns[d->gauge]++;
      continue;
    }
    if (s->metrics != NULL && hw__conn_states_counted(st, s->draining))
      hw__metrics_add(&s->metrics->timeouts[kind], 1);
    expire[st](c);
  }
  /* The gauges: once a sweep, not at each change of a connection's state. */
  for (int g = 0; s->metrics != NULL && g < HW__CONNS_STATES; g++)
    hw__metrics_set(&s->metrics->conns[g], conns[g]);
}

/* ---- the set ----------------------------------------------------------- */

int hw__conn_set_init(hw__conn_set *s, uv_loop_t *loop, const hw__config *cfg) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->cfg = cfg;
  s->rbuf_size = READ_BUFFER_SIZE;
  s->rbuf = malloc(s->rbuf_size);
  if (s->rbuf == NULL)
    return UV_ENOMEM;
  uv_timer_init(loop, &s->sweep);
  s->swept = (uint32_t)uv_now(loop);
  uv_timer_start(&s->sweep, sweep, HW__CONN_SWEEP_MS, HW__CONN_SWEEP_MS);
  uv_unref((uv_handle_t *)&s->sweep); /* the clock alone keeps no loop */
  return 0;
}

void hw__conn_accept(hw__conn_set *s, uv_stream_t *server,
                     const hw__proto *proto, void *env) {
  hw__conn *c = calloc(1, sizeof(*c) + proto->size);

  if (c == NULL) {
    hw__log(HW_LOG_ERROR, "out of memory accepting a connection");
    return;
  }
  c->proto = proto;
  c->t.ops = &tcp_ops;
  uv_tcp_init(s->loop, &c->tcp);
  c->tcp.data = s;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_close); /* not in the list yet */
    return;
  }
  /* Responses are written whole; Nagle would only delay the last segment
   * of each batch behind the client's delayed ACK. */
  uv_tcp_nodelay(&c->tcp, 1);
  if (s->metrics != NULL)
    hw__metrics_add(&s->metrics->accepted, 1);
  c->in_proto = 1; /* (a close asked for as it opens waits: see below) */
  proto->open(c->state, &c->t, env);
  c->in_proto = 0;
  c->seen_phase = c->t.phase;
  c->seen_epoch = c->t.epoch;
  c->mark = now_ms(c);
  c->next = s->list;
  if (s->list != NULL)
    s->list->prev = c;
  s->list = c;
  s->n++;
  set_reading(c, 1);
  if (c->close_wanted != 0)
    after(c, 0);
}

void hw__conn_drain_all(hw__conn_set *s, int how) {
  hw__conn *c, *next;
  s->draining = how;
  for (c = s->list; c != NULL; c = next) {
    next = c->next;
    c->mark = now_ms(c);
    tell_proto(c, c->proto->drain);
    after(c, 0); /* may close it, unlinking it from the list */
  }
}

void hw__conn_close_all(hw__conn_set *s) {
  while (s->list != NULL)
    conn_close(s->list);
}

void hw__conn_set_stop(hw__conn_set *s) {
  if (s->sweep.loop == NULL)
    return; /* never set up */
  uv_timer_stop(&s->sweep);
  if (!uv_is_closing((uv_handle_t *)&s->sweep))
    uv_close((uv_handle_t *)&s->sweep, NULL);
}

void hw__conn_set_destroy(hw__conn_set *s) {
  hw__batch_pool_drain(&s->batches);
  free(s->rbuf);
  s->rbuf = NULL;
}
