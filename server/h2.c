/*
 * h2.c - the HTTP/2 protocol unit (see h2.h).
 *
 * nghttp2 parses what the client sends (mem_recv) and reports frames and
 * header fields through callbacks; this unit turns each stream into a
 * request of the core and each response into HEADERS and DATA, which
 * nghttp2 serialises (mem_send) into the transport's batch.  Like HTTP/1.1,
 * everything a read produced leaves with one write when the transport's
 * call returns; an answer that comes later is written when it comes.
 *
 * Streams are independent (RFC 9113 section 5): a response goes as soon as
 * it is ready, whatever the others do.  Flow control is nghttp2's, but the
 * window a request body uses is given back only as its bytes are taken, so
 * a module that holds a body back stops that stream's client, not the
 * connection.  Output stops past the transport's bound until it drains.
 * Each stream has HTTP/1.1's clocks, kept by the env's one timer
 * (h2_env.c): an idle connection costs no timer.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "h2.h"
#include "h2_env.h"
#include "h2_mem.h"
#include "h2_response.h"
#include "h2_streams.h"
#include "bytes.h"
#include "rate.h"
#include "request.h"
#include "status.h"
#include "stream.h"

/* One connection's state. */
typedef struct h2 {
  hw__transport *t;
  hw__h2_env *env;
  nghttp2_session *ng;
  hw__h2_streams streams;
  hw__h2_env_node node;   /* in the env's list (its sweep) */
  hw__h2_mem mem;         /* the session's allocator */
  uint64_t goaway_at;     /* ms: the shutdown notice went */
  uint64_t idle_at;       /* ms: its last stream closed, or 0 */
  uint32_t max_list, max_fields; /* the head limits its SETTINGS said */
  unsigned in_recv : 1;   /* inside nghttp2 (mem_recv, mem_send) */
  unsigned in_data : 1;   /* inside data(): the transport writes after */
  unsigned stopped : 1;   /* took less input than it was given */
  unsigned blocked : 1;   /* output waits for the transport to drain */
  unsigned again : 1;     /* output became due while in nghttp2 */
  unsigned draining : 1;  /* the shutdown notice went */
  unsigned last_sent : 1; /* the final GOAWAY went */
  unsigned ending : 1;    /* asked the transport to close */
  unsigned gone : 1;      /* the connection is closed */
  unsigned trimmed : 1;   /* idle, its session's pages given back */
} h2;

/* The methods a module can be asked for (RFC 9110 section 10.2.1). */
static const char allow_line[] =
    "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n";

/* The PING whose answer says a shutdown notice has had its round trip. */
static const uint8_t drain_ping[8] = {'h', 'w', 'd', 'r', 'a', 'i', 'n', 0};

static uint64_t now_ms(const h2 *c) { return uv_now(c->env->loop); }

/* ---- output --------------------------------------------------------------- */

static void fatal(h2 *c) {
  if (c->ending || c->gone)
    return;
  c->ending = 1;
  c->t->ops->close(c->t, HW__CLOSE_NOW);
}

/* What nghttp2 has to send goes into the transport's batch, up to the
 * transport's bound (the rest when it drains, or, when the batch alone
 * reached it, on the env's next turn); then, when nothing is left to read
 * or write (a GOAWAY was sent or received and the streams are done), the
 * connection ends.  Inside nghttp2 only a note is made. */
static void pump(h2 *c) {
  hw__batch *b = NULL;

  if (c->gone || c->ending)
    return;
  if (c->in_recv) {
    c->again = 1;
    return;
  }
  c->blocked = c->t->unsent > HW__TRANSPORT_MAX_UNSENT;
  c->in_recv = 1;
  while (!c->blocked) {
    const uint8_t *p;
    ssize_t n;
    if (b != NULL && c->t->unsent + b->out.len > HW__TRANSPORT_MAX_UNSENT) {
      if (!(c->blocked = c->t->unsent > HW__TRANSPORT_MAX_UNSENT))
        hw__h2_env_due(c->env, &c->node);
      break;
    }
    n = nghttp2_session_mem_send(c->ng, &p);
    if (n <= 0) {
      if (n < 0)
        goto broken;
      if (!c->again)
        break;
      c->again = 0; /* a callback made more output due */
      continue;
    }
    if ((b == NULL && (b = hw__transport_batch(c->t)) == NULL) ||
        hw__buf_append(&b->out, p, (size_t)n) != 0 ||
        hw__batch_seg(b, NULL, b->out.len - (size_t)n, (size_t)n) != 0)
      goto broken;
  }
  c->in_recv = 0;
  if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng)) {
    c->ending = 1;
    c->t->ops->close(c->t, HW__CLOSE_AFTER_WRITE);
  }
  return;
broken:
  c->in_recv = 0;
  fatal(c);
}

/* The GOAWAY naming the last stream taken (RFC 9113 section 6.8); once
 * those are done, the connection ends (pump). */
static void last_goaway(h2 *c) {
  c->last_sent = 1;
  if (nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(c->ng),
                            NGHTTP2_NO_ERROR, NULL, 0) != 0)
    fatal(c);
}

/* Output made outside a transport's call goes now. */
static void pump_flush(h2 *c) {
  pump(c);
  if (!c->in_data && !c->gone && !c->ending && !c->in_recv)
    c->t->ops->flush(c->t);
}

/* Once the preface is in, the sweep keeps every clock (the transport's
 * phase is BUSY): each stream's, and the keep-alive timeout of a
 * connection with none, which it ends with a GOAWAY (RFC 9113 section
 * 9.1) rather than the silent close of an idle HTTP/1.1 connection. */
static void set_phase(h2 *c) {
  if (c->streams.n > 0)
    c->idle_at = 0, c->trimmed = 0;
  else if (c->idle_at == 0)
    c->idle_at = now_ms(c);
}

/* ---- responses ------------------------------------------------------------ */

/* nghttp2 asks for a response's next bytes (up to `len`, copied into its
 * frame): from the response itself, or from a streamed one's pieces. */
static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf,
                         size_t len, uint32_t *flags, nghttp2_data_source *src,
                         void *user) {
  hw__h2_stream *s = src->ptr;
  int eof = 0;
  ssize_t n = hw__h2_streams_body(s, (char *)buf, len, &eof);
  (void)ng, (void)id, (void)user;
  if (n > 0)
    s->mark = now_ms(s->conn);
  if (eof)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (n == HW__H2_BODY_LATER)
    return NGHTTP2_ERR_DEFERRED; /* resumed when the core pushes more */
  /* A response that cannot complete is cut: RST_STREAM. */
  return n < 0 ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : n;
}

/* The response's HEADERS (and the DATA to follow) go to nghttp2. */
static void submit(h2 *c, hw__h2_stream *s) {
  hw_request *req = s->req;
  struct hw_response *res = &req->res;
  int body = !req->msg.is_head && hw__status_has_body(res->status);
  int64_t len = !hw__status_has_body(res->status) ? -1
                : res->streaming                  ? res->declared
                                                  : (int64_t)res->body_len;
  nghttp2_data_provider dp = {.source.ptr = s, .read_callback = read_body};

  s->submitted = 1;
  if (hw__h2_response_head(&c->env->head, res->status, res->headers.data,
                           res->headers.len, len) != 0 ||
      nghttp2_submit_response(c->ng, s->id, c->env->head.nv, c->env->head.n,
                              body ? &dp : NULL) != 0) {
    nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id,
                              NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (!res->streaming)
    res->body_sent = body ? res->body_len : 0;
  if (!body) {
    req->sent = 1;
    s->sent = 1;
  }
  /* A response that went before its request's body was all read ends
   * the stream: the client is told to stop sending (RFC 9113 section
   * 8.1), once the response is out (nghttp2 sends the reset after it). */
  if (!s->ended && req->state == HW__REQ_DONE)
    s->stop_body = 1;
}

/* A response is ready: its head goes now, or, for a streamed one, its
 * head once stream() was called (its pieces as they come). */
static void start(h2 *c, hw__h2_stream *s) {
  hw_request *req = s->req;
  if (!s->submitted &&
      (req->state == HW__REQ_DONE || (req->res.streaming && req->deferred)))
    submit(c, s);
  else if (s->submitted && s->deferred_data) {
    s->deferred_data = 0;
    nghttp2_session_resume_data(c->ng, s->id);
  }
}

/* ---- the request core's sink ---------------------------------------------- */

/* The window a held body used goes back once its module lets it flow, or
 * has answered, or the stream is gone (else the connection's shrinks). */
static void give_back(h2 *c, hw__h2_stream *s) {
  if (s->held > 0)
    nghttp2_session_consume(c->ng, s->id, s->held);
  s->held = 0;
}

/* A response is complete, a streamed one has pieces, or a held body flows
 * again: what can go, goes. */
static void ready(hw_request *req) {
  hw__h2_stream *s = req->owner;
  h2 *c = s->conn;
  if (c->gone || c->ending)
    return;
  if (!hw__stream_body_held(req) || req->state == HW__REQ_DONE)
    give_back(c, s);
  start(c, s);
  pump_flush(c);
}

/* The core gives up on the request (a retired generation's deadline): its
 * stream is reset and the request orphaned. */
static void cancel(hw_request *req) {
  hw__h2_stream *s = req->owner;
  h2 *c = s->conn;
  s->req = NULL;
  if (!c->gone)
    nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
  hw__request_orphan(req);
  pump_flush(c);
}

#define T_OF(req) (((const hw__h2_stream *)(req)->owner)->conn->t)
static int peer(const hw_request *req, char *buf, size_t len) {
  return T_OF(req)->ops->peer(T_OF(req), buf, len);
}

/* What the stream took and nghttp2 has not framed, and what waits in the
 * (shared) transport: a stream is congested when its connection is. */
static size_t unsent(const hw_request *req) {
  const hw__h2_stream *s = req->owner;
  return hw__h2_streams_unsent(s) + s->conn->t->unsent;
}

static int tls_of(const hw_request *req, hw__transport_tls *out) {
  hw__transport *t = T_OF(req);
  return t->ops->tls != NULL ? t->ops->tls(t, out) : UV_ENOTSUP;
}

static int proxy_of(const hw_request *req, hw__transport_proxy *out) {
  return hw__transport_proxy_of(T_OF(req), out);
}

static const hw__request_sink sink = {ready,  cancel, peer,   ready,
                                      unsent, NULL,   tls_of, proxy_of};

/* ---- requests ------------------------------------------------------------- */

/* The request's message is complete (or refused: `refused` is the status
 * to answer): its module is called, or, when it was called at the head for
 * a streamed body, the body ends. */
static void complete(h2 *c, hw__h2_stream *s) {
  hw_request *req = s->req;
  if (req == NULL || (s->refused && s->submitted))
    return;
  if (req->state >= HW__REQ_RUNNING && !s->refused) {
    hw__stream_body_end(req);
    return;
  }
  if (s->refused) /* with its short text; 405 with Allow (RFC 9110 15.5.6) */
    hw__request_respond(req, s->refused, s->refused == 405 ? allow_line : NULL,
                        s->refused == 405 ? sizeof(allow_line) - 1 : 0, 1);
  else if (req->msg.asterisk) /* OPTIONS * (RFC 9110 section 9.3.7) */
    hw__request_respond(req, 200, allow_line, sizeof(allow_line) - 1, 0);
  else if (!hw__request_dispatch(req) && !req->res.streaming)
    return; /* deferred: ready() follows */
  if (s->req == req)
    start(c, s);
}

/* The head is whole (the HEADERS frame and its CONTINUATIONs): the message
 * is checked and routed; a streamed body's module is called now. */
static void head_done(h2 *c, hw__h2_stream *s, int end_stream) {
  hw_request *req = s->req;
  int status = s->refused;

  if (status == 0)
    status = hw__h2_streams_message(s);
  if (status == 0) {
    hw__request_route(req);
    if (s->has_length && s->length > hw__request_body_limit(req))
      status = 413;
  }
  if (status != 0) {
    /* Refused: answered at once, the body (if any) is not read. */
    s->refused = status;
    s->ended = end_stream;
    complete(c, s);
    return;
  }
  /* A client waiting to send its body hears that it may, now that its
   * request is routed and its size fits (RFC 9110 section 10.1.1). */
  if (s->expect && !end_stream)
    nghttp2_submit_headers(c->ng, NGHTTP2_FLAG_NONE, s->id, NULL,
                           &(nghttp2_nv){(uint8_t *)":status", (uint8_t *)"100",
                                         7, 3, NGHTTP2_NV_FLAG_NONE},
                           1, NULL);
  if (end_stream) {
    s->ended = 1;
    complete(c, s);
  } else if (req->body_stream) {
    hw__request_dispatch(req);
    if (s->req == req)
      start(c, s);
  }
}

/* ---- nghttp2's callbacks -------------------------------------------------- */

#define stream_of nghttp2_session_get_stream_user_data

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f,
                            void *user) {
  h2 *c = user;
  hw__h2_stream *s;
  hw_request *req;
  /* No priorities (RFC 9113 section 5.3.2 deprecates the tree; RFC 9218's
   * field is not acted on): streams share the connection in turn. */
  static const nghttp2_extpri flat = {NGHTTP2_EXTPRI_DEFAULT_URGENCY, 0};

  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  if ((s = hw__h2_streams_new(&c->streams, f->hd.stream_id)) == NULL)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  s->conn = c; /* (the core may ask for the peer at once: access log) */
  if ((req = hw__request_new(c->env->core, &sink, s)) == NULL) {
    hw__h2_streams_free(&c->streams, s);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  hw__request_begins(req);
  s->req = req;
  s->mark = s->born = now_ms(c);
  req->msg.version = 20;
  nghttp2_session_set_stream_user_data(ng, s->id, s);
  nghttp2_session_change_extpri_stream_priority(ng, s->id, &flat, 1);
  set_phase(c);
  return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f,
                     const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen, uint8_t flags, void *user) {
  h2 *c = user;
  hw__h2_stream *s = stream_of(ng, f->hd.stream_id);
  (void)flags;
  if (s == NULL || s->req == NULL || f->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0; /* trailers are not kept */
  hw__h2_streams_field(s, (const char *)name, nlen, (const char *)value, vlen,
                       c->max_list, c->max_fields);
  return 0;
}

static int on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *user) {
  h2 *c = user;
  hw__h2_stream *s;
  int end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

  switch (f->hd.type) {
  case NGHTTP2_HEADERS:
    if ((s = stream_of(ng, f->hd.stream_id)) == NULL || s->req == NULL)
      return 0;
    if (f->headers.cat == NGHTTP2_HCAT_REQUEST)
      head_done(c, s, end);
    else if (end && !s->ended) /* trailers end the body */
      s->ended = 1, complete(c, s);
    return 0;
  case NGHTTP2_DATA:
    if (end && (s = stream_of(ng, f->hd.stream_id)) != NULL && !s->ended &&
        s->req != NULL)
      s->ended = 1, complete(c, s);
    return 0;
  case NGHTTP2_PING:
    /* The client has answered the PING sent with the shutdown notice: it
     * has seen the notice, so the last stream id can be final. */
    if ((f->hd.flags & NGHTTP2_FLAG_ACK) && c->draining && !c->last_sent &&
        memcmp(f->ping.opaque_data, drain_ping, 8) == 0) {
      last_goaway(c);
    }
    return 0;
  default:
    return 0;
  }
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
                   const uint8_t *data, size_t len, void *user) {
  h2 *c = user;
  hw__h2_stream *s = stream_of(ng, id);
  hw_request *req;
  int status;
  (void)flags;

  if (s == NULL || (req = s->req) == NULL || s->refused ||
      req->state == HW__REQ_DONE) {
    nghttp2_session_consume(ng, id, len); /* not read: the window goes on */
    if (s != NULL)
      give_back(c, s);
    return 0;
  }
  s->mark = now_ms(c);
  status = hw__h2_streams_data(s, (const char *)data, len, &len);
  if (len > 0)
    nghttp2_session_consume(ng, id, len);
  if (status != 0) {
    if (req->state >= HW__REQ_RUNNING) {
      /* Its module has it: no answer of the host's can take its place. */
      nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      return 0;
    }
    s->refused = status;
    complete(c, s);
  }
  return 0;
}

/* A response that went before its request's body ended has gone out
 * whole: the client is told to stop sending the body (RFC 9113 section
 * 8.1). */
static int on_sent(nghttp2_session *ng, const nghttp2_frame *f, void *user) {
  hw__h2_stream *s;
  (void)user;
  if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      (s = stream_of(ng, f->hd.stream_id)) != NULL && s->stop_body &&
      !s->ended) {
    s->stop_body = 0;
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

/* The stream is over (both sides ended, or it was reset): its request is
 * let go; one its module still holds is told its client has gone. */
static int on_close(nghttp2_session *ng, int32_t id, uint32_t code,
                    void *user) {
  h2 *c = user;
  hw__h2_stream *s = stream_of(ng, id);
  hw_request *req;
  (void)code;
  if (s == NULL)
    return 0;
  nghttp2_session_set_stream_user_data(ng, id, NULL);
  give_back(c, s); /* (the connection's window, the stream being gone) */
  /* A request whose response did not complete was reset by either side:
   * a client that makes many (resetting them itself, or provoking the
   * server's resets, CVE-2025-8671) ends its connection. */
  if (s->req != NULL && !s->sent &&
      hw__h2_streams_glitch(&c->streams, now_ms(c), 2 * c->env->max_streams))
    nghttp2_session_terminate_session(ng, NGHTTP2_ENHANCE_YOUR_CALM);
  if ((req = s->req) != NULL) {
    s->req = NULL;
    if (req->state == HW__REQ_RUNNING)
      hw__request_orphan(req);
    else
      hw__request_free(req);
  }
  hw__h2_streams_free(&c->streams, s);
  set_phase(c);
  return 0;
}

/* ---- the transport's calls ------------------------------------------------ */

static void h2_open(void *p, hw__transport *t, void *envp) {
  h2 *c = p;
  hw__h2_env *env = envp;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, env->max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, env->window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, env->max_frame},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, env->max_header_list},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1}};

  c->t = t;
  c->env = env;
  c->streams.pool = &env->pool;
  t->phase = HW__PHASE_HEAD; /* the preface and SETTINGS are due */
  t->epoch++;
  c->idle_at = now_ms(c);
  c->max_list = env->max_header_list; /* its SETTINGS' (a reload's are */
  c->max_fields = env->max_headers;   /* for new connections) */
  hw__h2_mem_init(&c->mem);
  if (nghttp2_session_server_new3(&c->ng, env->cbs, c, env->opt,
                                  &c->mem.mem) != 0) {
    c->ng = NULL;
    fatal(c);
    return;
  }
  hw__h2_env_link(env, &c->node);
  /* The connection's window (RFC 9113 section 6.9.2: 65,535 until a
   * WINDOW_UPDATE) is opened wide: each stream's own window bounds its
   * body in flight, so concurrent uploads do not queue behind another. */
  if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv,
                              sizeof(iv) / sizeof(iv[0])) != 0 ||
      nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
                                            16 << 20) != 0)
    fatal(c);
}

static size_t h2_data(void *p, const char *data, size_t len) {
  h2 *c = p;
  ssize_t n;

  if (c->gone || c->ending)
    return len;
  if (c->t->unsent > HW__TRANSPORT_MAX_UNSENT) {
    c->stopped = 1; /* the client reads nothing: it gets no more said */
    return 0;
  }
  c->in_data = 1;
  c->in_recv = 1;
  n = nghttp2_session_mem_recv(c->ng, (const uint8_t *)data, len);
  c->in_recv = 0;
  if (n < 0) {
    /* A connection error (a bad frame or preface, too many CONTINUATION
     * frames): the GOAWAY nghttp2 owes goes out, then the connection ends;
     * a client flooding acknowledgements it does not read is cut. */
    nghttp2_session_terminate_session(c->ng, NGHTTP2_PROTOCOL_ERROR);
    if (n != NGHTTP2_ERR_FLOODED)
      pump(c);
    c->in_data = 0;
    if (n == NGHTTP2_ERR_FLOODED)
      fatal(c);
    if (!c->ending && !c->gone) {
      c->ending = 1;
      c->t->ops->close(c->t, HW__CLOSE_AFTER_WRITE);
    }
    return len;
  }
  c->t->phase = HW__PHASE_BUSY;
  pump(c);
  set_phase(c);
  c->in_data = 0;
  return len;
}

static void h2_eof(void *p) {
  h2 *c = p;
  /* The client sends nothing more: what is owed is still written (the
   * sweep ends a stream whose body now never comes), then the end. */
  if (c->gone || c->ending)
    return;
  c->draining = 1;
  last_goaway(c);
  /* Modules answering later may want to know, as over HTTP/1.1 (what
   * their callbacks make is written after the walk). */
  c->in_recv = 1;
  hw__h2_streams_each(&c->streams, 1);
  c->in_recv = 0;
  pump_flush(c);
}

static void h2_timeout(void *p) { fatal(p); } /* the preface took too long */

static void h2_writable(void *p) {
  h2 *c = p;
  if (c->gone || c->ending)
    return;
  /* Streamed responses may go on (congested writers, file pieces); what
   * that makes is written after the walk (no stream closes during it). */
  c->in_recv = 1;
  hw__h2_streams_each(&c->streams, 0);
  c->in_recv = 0;
  pump_flush(c);
  if (c->stopped && !c->blocked) {
    c->stopped = 0;
    c->t->ops->resume(c->t);
  }
}

/* A graceful stop, in two steps (RFC 9113 section 6.8): a GOAWAY with the
 * largest stream id says no new streams should begin, a PING measures the
 * round trip, and then the GOAWAY with the last stream id taken (the
 * sweep sends it after a second if the PING is not answered). */
static void h2_drain(void *p) {
  h2 *c = p;
  if (c->gone || c->ending || c->draining)
    return;
  c->draining = 1;
  c->goaway_at = now_ms(c);
  if (nghttp2_submit_shutdown_notice(c->ng) != 0 ||
      nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, drain_ping) != 0)
    fatal(c);
  pump_flush(c);
}

static void h2_close(void *p) {
  h2 *c = p;
  c->gone = 1;
  /* Every stream's request is let go (modules holding one are told). */
  hw__h2_streams_close_all(&c->streams);
  if (c->ng != NULL) {
    nghttp2_session_del(c->ng);
    c->ng = NULL;
    hw__h2_env_unlink(c->env, &c->node);
  }
}

const hw__proto hw__h2_proto = {
    .size = sizeof(h2),
    .open = h2_open,
    .data = h2_data,
    .eof = h2_eof,
    .timeout = h2_timeout,
    .writable = h2_writable,
    .drain = h2_drain,
    .close = h2_close,
};

/* ---- the clocks ---------------------------------------------------------- */

/* A stream whose request body stopped or trickles gets 408 (or, when its
 * module has it, a reset), as an HTTP/1.1 connection would. */
static void body_timeout(h2 *c, hw__h2_stream *s) {
  hw_request *req = s->req;
  if (req->state >= HW__REQ_RUNNING) {
    s->req = NULL;
    nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    hw__request_orphan(req);
    return;
  }
  s->refused = 408;
  complete(c, s);
}

/* One connection's clocks, `elapsed` ms after the last sweep. */
static void sweep_conn(h2 *c, uint64_t now, uint32_t elapsed) {
  const hw__h2_env *env = c->env;

  if (!c->draining && c->idle_at != 0 &&
      now - c->idle_at >= env->clocks.keepalive_ms) {
    c->draining = 1; /* idle: one GOAWAY, then the end */
    last_goaway(c);
  }
  /* Idle a while: the session's large blocks give their pages back (an
   * idle HTTP/2 connection then costs about what nginx's does). */
  if (c->idle_at != 0 && now - c->idle_at >= 1000 && !c->trimmed &&
      !nghttp2_session_want_write(c->ng))
    c->trimmed = 1, hw__h2_mem_trim(&c->mem);
  if (c->draining && !c->last_sent && now - c->goaway_at >= 1000)
    last_goaway(c); /* the PING went unanswered */
  for (hw__h2_stream *s = c->streams.first, *next; s != NULL; s = next) {
    int32_t w = 1;
    next = s->next;
    if (s->req != NULL && s->submitted && !s->sent) {
      w = nghttp2_session_get_stream_remote_window_size(c->ng, s->id);
      if (nghttp2_session_get_remote_window_size(c->ng) < w)
        w = nghttp2_session_get_remote_window_size(c->ng);
    }
    switch (hw__h2_streams_clock(s, now, elapsed, &env->clocks, w)) {
    case HW__H2_CLOCK_HEAD:
      /* A header block that never ends holds the connection's HPACK
       * state: only the connection can end it. */
      fatal(c);
      return;
    case HW__H2_CLOCK_BODY: body_timeout(c, s); break;
    case HW__H2_CLOCK_STALLED: /* its output is given no window: it ends */
      nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id,
                                NGHTTP2_CANCEL);
      break;
    default: break;
    }
  }
  pump_flush(c);
}

static void sweep(hw__h2_env_node *node, uint64_t now, uint32_t elapsed) {
  h2 *c = hw__bytes_container_of(node, h2, node);
  if (!c->gone && !c->ending)
    sweep_conn(c, now, elapsed);
}

static void output(hw__h2_env_node *node) { /* its full batch went out */
  pump_flush(hw__bytes_container_of(node, h2, node));
}

static void callbacks(nghttp2_session_callbacks *cbs) {
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
                                                          on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_sent);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
}

const hw__h2_env_hooks hw__h2_hooks = {callbacks, sweep, output};
