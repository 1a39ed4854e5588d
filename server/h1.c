/*
 * h1.c - the HTTP/1.1 protocol unit (see h1.h).
 *
 * Every complete request in a read is parsed and dispatched before anything
 * is written; then the responses that are ready, in request order, go into
 * the transport's batch, which leaves with one write when the read's call
 * returns.  A response that is ready early waits behind an earlier request
 * that was deferred, so clients always get answers in the order they asked
 * (RFC 9112 section 9.3.2).  Past HW__H1_MAX_QUEUED waiting requests, or
 * HW__TRANSPORT_MAX_UNSENT bytes unsent, the unit stops taking input until
 * its queue drains.
 *
 * Every refusal (a status the parser or a check returned, a timeout) is
 * answered in its turn with Connection: close, and nothing after it is
 * read, because after a framing error the rest of the stream cannot be
 * trusted (RFC 9112 section 9.3); then the transport closes after the
 * answer.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include "h1.h"
#include "h1_parser.h"
#include "h1_response.h"
#include "h1_stream.h"
#include "method.h"
#include "request.h"
#include "status.h"
#include "stream.h"

/* A stream waits for the transport's writable call, which comes when its
 * output drains under this bound. */
_Static_assert(HW__REQUEST_STREAM_BOUND == HW__TRANSPORT_MAX_UNSENT,
               "a congested stream must be woken by the transport");

/* The request's protocol bits (hw_request.proto_bits; h1_stream.h has the
 * streamed response's). */
#define KEEP HW__H1_BIT_KEEP /* the connection persists after it (a host error
                            clears it) */

/* One connection's state. */
typedef struct h1 {
  hw__transport *t;
  const hw__h1_env *env;
  hw__h1_parser parser;
  hw_request *cur;           /* being parsed */
  hw_request *qhead, *qtail; /* parsed, in request order */
  uint16_t nqueued;
  unsigned in_data : 1;       /* inside data(): the transport writes after */
  unsigned no_more : 1;       /* nothing more is parsed */
  unsigned stopped : 1;       /* took less input than it was given */
  unsigned eof : 1;           /* the client ended its side */
  unsigned draining : 1;      /* the server shuts down gracefully */
  unsigned served : 1;        /* has answered a request */
  unsigned continue_owed : 1; /* a 100 Continue waits for earlier answers */
  unsigned ending : 1;        /* asked the transport to close */
  unsigned gone : 1;          /* the connection is closed */
  /* (bytes, not bits: they are tested and set on every response) */
  uint8_t cur_queued; /* `cur` was dispatched at its head (a streamed
                         body): it is in the queue too */
  uint8_t writing;    /* inside write_ready */
  uint8_t again;      /* ... and something became ready meanwhile */
} h1;

/* The methods a module can be asked for, as the host tells clients in
 * Allow (RFC 9110 section 10.2.1). */
static const char allow_line[] =
    "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n";
static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void ready(hw_request *req);
static void cancel(hw_request *req);
static int peer(const hw_request *req, char *buf, size_t len);
static size_t unsent(const hw_request *req);
static int sends_files(const hw_request *req);
static int tls_of(const hw_request *req, hw__transport_tls *out);

static int proxy_of(const hw_request *req, hw__transport_proxy *out);
static const hw__request_sink sink = {ready,  cancel,      peer,   ready,
                                      unsent, sends_files, tls_of, proxy_of};

/* A streamed body its module holds back: nothing more is read. */
static int body_held(const h1 *h) {
  return h->cur_queued && hw__stream_body_held(h->cur);
}

/* The request being read is no longer read. */
static void cur_done(h1 *h) {
  h->cur = NULL;
  h->cur_queued = 0;
}

static int congested(const h1 *h) {
  return h->no_more || h->nqueued > HW__H1_MAX_QUEUED ||
         h->t->unsent > HW__TRANSPORT_MAX_UNSENT ||
         (h->cur_queued && body_held(h));
}

static void enqueue(h1 *h, hw_request *req, int at_head) {
  /* A draining connection finishes the request it was reading (all of its
   * body, when its module was called at the head), and takes no other. */
  if (h->draining && !at_head)
    h->no_more = 1;
  req->next = NULL;
  if (h->qtail != NULL)
    h->qtail->next = req;
  else
    h->qhead = req;
  h->qtail = req;
  h->nqueued++;
}

/* Ends parsing with a host-made error response, queued in order behind
 * those already dispatched; nothing after it is read. */
static void fail(h1 *h, int status) {
  hw_request *req = h->cur;
  cur_done(h);
  h->no_more = 1;
  if (req != NULL && req->state >= HW__REQ_RUNNING) {
    /* Its module has it (a streamed body): no answer of the host's can
     * take its place, so the connection ends, which tells the module. */
    h->ending = 1;
    h->t->ops->close(h->t, HW__CLOSE_NOW);
    return;
  }
  if (req == NULL) {
    if ((req = hw__request_new(h->env->core, &sink, h)) == NULL)
      return;
    hw__request_begins(req);
  }
  req->proto_bits = 0; /* the connection ends after it */
  /* 405 says which methods there are (RFC 9110 section 15.5.6). */
  hw__request_respond(req, status, status == 405 ? allow_line : NULL,
                      status == 405 ? sizeof(allow_line) - 1 : 0, 1);
  enqueue(h, req, 0);
}

/* The phase the transport times: reading a head or a body, waiting for
 * modules (or for a 100 Continue to be owed no more), or idle. */
static void set_phase(h1 *h) {
  uint8_t phase = HW__PHASE_IDLE;
  if (h->cur != NULL)
    phase = h->cur->state == HW__REQ_HEAD       ? HW__PHASE_HEAD
            : h->continue_owed || body_held(h) ? HW__PHASE_BUSY
                                                : HW__PHASE_BODY;
  else if (h->qhead != NULL)
    phase = HW__PHASE_BUSY;
  h->t->phase = phase;
}

/* ---- writing responses -------------------------------------------------- */

static void release_request(void *arg, void (*fn)(void *)) {
  (void)fn;
  hw__request_free(arg);
}

/* Serialises one response into the batch: the head and copied body go into
 * the batch's buffer, referenced body parts stay where the module put them.
 * Copied bytes that follow each other make one segment, so the usual
 * response (no references) adds one. */
static inline __attribute__((always_inline, flatten)) int
serialize(hw__batch *b, hw_request *req, int keep) {
  struct hw_response *res = &req->res;
  size_t start = b->out.len, at = 0;
  hw__h1_response r = {res->status,      res->body_len,     keep,
                       req->msg.version, res->headers.data, res->headers.len,
                       HW__H1_LENGTH};

  if (hw__h1_response_head(&b->out, &r) != 0)
    return HW_ENOMEM;
  if (!req->msg.is_head && hw__status_has_body(res->status)) {
    res->body_sent = res->body_len;
    /* The copied body is NULL when everything was written by reference:
     * no pointer arithmetic on it then (C11 6.5.6). */
    for (size_t i = 0; i < res->nrefs; i++) {
      hw__ref *ref = &res->refs[i];
      if ((ref->at > at &&
           hw__buf_append(&b->out, res->body.data + at, ref->at - at) != 0) ||
          hw__batch_seg(b, NULL, start, b->out.len - start) != 0 ||
          hw__batch_seg(b, ref->data, 0, ref->len) != 0)
        return HW_ENOMEM;
      at = ref->at;
      start = b->out.len;
    }
    if (res->body.len > at &&
        hw__buf_append(&b->out, res->body.data + at, res->body.len - at) != 0)
      return HW_ENOMEM;
  }
  return hw__batch_seg(b, NULL, start, b->out.len - start);
}

/* Takes the request at the head of the queue off it. */
static void pop(h1 *h, hw_request *req) {
  h->qhead = req->next;
  if (h->qhead == NULL)
    h->qtail = NULL;
  h->nqueued--;
  h->served = 1;
  req->next = NULL;
  if (h->cur_queued && req == h->cur) {
    /* Answered before its body was all read: the rest is not read. */
    cur_done(h);
    h->no_more = 1;
  }
}

/* The connection ends after the response just written: nothing more is
 * read, and the requests behind it will get no answer (their modules are
 * told); settle then closes once the output is written.  Module code runs
 * from here: the caller has set `writing`. */
static void drop_rest(h1 *h) {
  hw_request *r = h->qhead;
  h->no_more = 1;
  h->qhead = h->qtail = NULL;
  h->nqueued = 0;
  if (h->cur != NULL && !h->cur_queued)
    hw__request_free(h->cur); /* (a queued one is orphaned below) */
  cur_done(h);
  while (r != NULL) {
    hw_request *next = r->next;
    r->next = NULL;
    hw__request_orphan(r);
    r = next;
  }
}

/* The head of the queue is a streamed response: what it has goes out (an
 * owed 100 Continue first, never after its head).  Returns 1 to go on with
 * the queue, 0 to stop (it is not over, or the connection ends after it),
 * -1 when out of memory. */
static __attribute__((noinline)) int stream_ready(h1 *h, hw__batch *b,
                                                 hw_request *req, int keep) {
  int owed = h->continue_owed && req == h->cur &&
             !(req->proto_bits & HW__H1_BIT_HEAD_OUT);
  int r, ends;

  if (owed) {
    h->continue_owed = 0;
    h->t->epoch++; /* the body the client waited to send: its clocks start */
  }
  r = hw__h1_stream_write(b, req, keep, owed ? continue_line : NULL,
                          owed ? sizeof(continue_line) - 1 : 0,
                          h->t->ops->files);
  if (r < 0)
    return -1;
  /* A head that says the connection ends: no other request is taken (but
   * a body its module is reading is read to its end). */
  if (!(req->proto_bits & KEEP) && !(h->cur_queued && req == h->cur))
    h->no_more = 1;
  if (r == HW__H1_STREAM_GOES_ON) {
    h->writing = 1; /* (a file read that cannot start cuts the response) */
    hw__stream_drained(req);
    h->writing = 0;
    return 0;
  }
  ends = r == HW__H1_STREAM_CUT || !(req->proto_bits & KEEP);
  req->sent = r != HW__H1_STREAM_CUT;
  pop(h, req);
  /* Its pieces are all in batches now; a module that still holds it
   * (it could not complete) is told it has gone, and may make another
   * response of this connection ready meanwhile: noted, not entered. */
  h->writing = 1;
  if (req->state == HW__REQ_RUNNING)
    hw__request_orphan(req);
  else
    hw__request_free(req);
  if (ends)
    drop_rest(h);
  h->writing = 0;
  /* Answers already complete behind it still go (a later request may
   * have said close, or the server drains: no_more is set, nothing more
   * is read), unless the connection ends here. */
  return !ends;
}

/* Moves the answered requests at the head of the queue into the batch, in
 * order (a streamed one holds those behind it until it is over); then a
 * 100 Continue that was owed to the request being read, if nothing is owed
 * before it any more.  Returns -1 when out of memory (the connection is
 * closed).  Where module code can run from here (a request let go with
 * its callbacks), `writing` is set around it: a response of this
 * connection that becomes ready meanwhile is noted (`again`) and the queue
 * looked at once more, never entered twice. */
static inline __attribute__((always_inline)) int write_queue(h1 *h);

/* flatten: everything a response passes through here (its head, the
 * batch, freeing its request) is inlined into this one function, whatever
 * the inliner would decide for each call: bench/instructions measures the
 * difference (docs/performance.md). */
static __attribute__((flatten)) int write_ready(h1 *h) {
  int r = write_queue(h);
  while (r == 0 && h->again && !h->ending) {
    h->again = 0;
    r = write_queue(h);
  }
  return r;
}

static inline __attribute__((always_inline)) int write_queue(h1 *h) {
  hw__batch *b = NULL;

  while (h->qhead != NULL &&
         (h->qhead->state == HW__REQ_DONE ||
          (h->qhead->res.streaming && h->qhead->deferred))) {
    hw_request *req = h->qhead;
    /* While the server drains for shutdown, the last response a
     * connection will get says so. */
    int keep = req->proto_bits & KEEP;
    if ((h->draining && h->no_more && req->next == NULL && h->cur == NULL) ||
        (h->cur_queued && req == h->cur))
      keep = 0;
    if (b == NULL && (b = hw__transport_batch(h->t)) == NULL)
      goto broken;
    if (req->res.streaming) {
      int r = stream_ready(h, b, req, keep);
      if (r < 0)
        goto broken;
      if (r == 0)
        break;
      continue;
    }
    pop(h, req);
    if (serialize(b, req, keep) != 0) {
      h->writing = 1;
      hw__request_free(req);
      h->writing = 0;
      goto broken;
    }
    req->sent = 1;
    /* A response whose bytes are all copied into the batch needs nothing
     * of its request any more: the request goes back to the pool now,
     * while its memory is still in the cache, rather than after the
     * write.  Referenced parts keep theirs until they are written. */
    if (req->res.nrefs == 0)
      hw__request_free(req);
    else if (hw__batch_hold(b, release_request, req, NULL) != 0) {
      hw__request_free(req);
      goto broken;
    }
    if (!keep) {
      h->no_more = 1;
      break;
    }
  }
  if (h->continue_owed && h->cur != NULL && h->qhead == h->cur &&
      (h->cur->proto_bits & HW__H1_BIT_HEAD_OUT))
    h->continue_owed = 0; /* its final answer has begun: too late */
  if (h->continue_owed && h->cur != NULL &&
      (h->qhead == NULL || h->qhead == h->cur)) {
    if (b == NULL && (b = hw__transport_batch(h->t)) == NULL)
      goto broken;
    h->continue_owed = 0;
    h->t->epoch++; /* the body the client waited to send: its clocks start */
    if (hw__buf_append(&b->out, continue_line, sizeof(continue_line) - 1) ||
        hw__batch_seg(b, NULL, b->out.len - (sizeof(continue_line) - 1),
                      sizeof(continue_line) - 1) != 0)
      goto broken;
  }
  return 0;

broken:
  h->ending = 1;
  h->t->ops->close(h->t, HW__CLOSE_NOW);
  return -1;
}

/* After the queue changed: the phase, then whether the connection is done
 * (every answer out, nothing more to read) or may take input again. */
static void settle(h1 *h) {
  if (h->gone || h->ending)
    return;
  set_phase(h);
  if ((h->no_more || h->eof) && h->qhead == NULL && h->cur == NULL) {
    h->ending = 1;
    h->t->ops->close(h->t, HW__CLOSE_AFTER_WRITE);
    return;
  }
  if (h->stopped && !congested(h)) {
    h->stopped = 0;
    h->t->ops->resume(h->t);
  }
}

/* ---- the parser's events ------------------------------------------------ */

static hw__message *on_begin(void *ctx) {
  h1 *h = ctx;
  hw_request *req = hw__request_new(h->env->core, &sink, h);
  if (req == NULL)
    return NULL;
  hw__request_begins(req);
  h->cur = req;
  h->t->epoch++; /* a head begins: its timer starts now */
  return &req->msg;
}

/* Expect: 100-continue (RFC 9110 section 10.1.1).  The interim answer goes
 * out only once the request is routed and its declared size fits, so that
 * a client about to send a body to the wrong place hears the final status
 * first and sends nothing; then the connection ends, since the body it may
 * still send would be read as a request.  It must not overtake the final
 * answers still owed to earlier requests: until they are written it is
 * owed.  Any other expectation cannot be met: 417. */
static __attribute__((noinline)) int expect(h1 *h, hw_request *req,
                                            const hw__h1_head *hh) {
  const hw__field *f = hh->expect;
  const char *v = req->msg.head.data + f->value.off;
  int has_body = hh->chunked || (hh->has_length && hh->content_length > 0);

  if (f->value.len != 12 || strncasecmp(v, "100-continue", 12) != 0)
    return 417;
  if (!has_body || req->msg.version < 11)
    return 0;
  if (req->route == NULL && !req->msg.asterisk)
    return hw__method_standard(req->msg.method_id) ? 404 : 501;
  h->continue_owed = 1; /* written by write_ready when nothing is owed */
  if (h->qhead == NULL)
    write_ready(h);
  return 0;
}

/* flatten: routing is inlined here, as it was while HTTP/1.1 was its only
 * caller (bench/instructions). */
static __attribute__((flatten)) int on_head(void *ctx, hw__message *m,
                                            const hw__h1_head *hh,
                                            int keep_alive) {
  h1 *h = ctx;
  hw_request *req = h->cur;

  int r;

  if (keep_alive)
    req->proto_bits |= KEEP;
  hw__request_route(req);
  /* A declared body larger than the limit (its route's) is refused before
   * a byte of it is read. */
  if (hh->has_length && hh->content_length > hw__request_body_limit(req))
    return 413;
  if (hh->expect != NULL && (r = expect(h, req, hh)) != 0)
    return r;
  if (req->body_stream) {
    /* Its module takes the body as it comes: it is called now, and the
     * request waits its turn in the queue while its body is read. */
    h->cur_queued = 1;
    enqueue(h, req, 1);
    hw__request_dispatch(req);
  }
  return 0;
}

static int on_body(void *ctx, const char *data, size_t len) {
  h1 *h = ctx;
  /* A client that sends its body has stopped waiting for 100 Continue. */
  h->continue_owed = 0;
  if (h->cur_queued)
    return hw__stream_body(h->cur, data, len);
  return hw__request_body(h->cur, data, len);
}

static int on_done(void *ctx) {
  h1 *h = ctx;
  hw_request *req = h->cur;

  cur_done(h);
  h->continue_owed = 0;
  if (req->state >= HW__REQ_RUNNING) {
    hw__stream_body_end(req); /* dispatched at its head */
    if (!(req->proto_bits & KEEP) || h->draining)
      h->no_more = 1;
    return congested(h);
  }
  enqueue(h, req, 0);
  if (req->msg.asterisk) {
    /* "OPTIONS *" asks about the server as a whole (RFC 9110 section
     * 9.3.7): the host answers, with the methods it lets through. */
    hw__request_respond(req, 200, allow_line, sizeof(allow_line) - 1, 0);
  } else {
    hw__request_dispatch(req); /* complete or deferred: ready() follows */
  }
  if (!(req->proto_bits & KEEP))
    h->no_more = 1;
  /* Parsing stops after a request that ends the connection, and past the
   * pipeline limit until the queue drains. */
  return congested(h);
}

static const hw__h1_parser_cb parser_cb = {on_begin, on_head, on_body, on_done};

/* ---- the request core's sink -------------------------------------------- */

/* A response became complete.  Inside data() the transport writes what the
 * read produced when the call returns; otherwise (a deferred answer) it
 * goes now. */
static void ready(hw_request *req) {
  h1 *h = req->owner;
  if (h->in_data)
    return;
  if (h->writing) {
    h->again = 1; /* the queue is being written: it looks again */
    return;
  }
  if (write_ready(h) != 0)
    return;
  set_phase(h); /* before the flush, which notes it for the timers */
  h->t->ops->flush(h->t);
  settle(h);
}

/* The core gives up on the request: so does the connection. */
static void cancel(hw_request *req) {
  h1 *h = req->owner;
  h->ending = 1;
  h->t->ops->close(h->t, HW__CLOSE_NOW);
}

static int peer(const hw_request *req, char *buf, size_t len) {
  const h1 *h = req->owner;
  return h->t->ops->peer(h->t, buf, len);
}

/* Only the response at the head of the queue has bytes in the transport. */
static size_t unsent(const hw_request *req) {
  const h1 *h = req->owner;
  return req == h->qhead ? h->t->unsent : 0;
}

/* Its connection's TLS session, when it has one. */
static int tls_of(const hw_request *req, hw__transport_tls *out) {
  const h1 *h = req->owner;
  return h->t->ops->tls != NULL ? h->t->ops->tls(h->t, out) : UV_ENOTSUP;
}

/* What the PROXY header its connection began with said. */
static int proxy_of(const hw_request *req, hw__transport_proxy *out) {
  return hw__transport_proxy_of(((const h1 *)req->owner)->t, out);
}

/* Whether its transport sends file regions from the file. */
static int sends_files(const hw_request *req) {
  const h1 *h = req->owner;
  return h->t->ops->files;
}

/* ---- the transport's calls ---------------------------------------------- */

static void h1_open(void *p, hw__transport *t, void *env) {
  h1 *h = p;
  h->t = t;
  h->env = env;
  hw__h1_parser_init(&h->parser);
  t->phase = HW__PHASE_IDLE;
}

static size_t h1_data(void *p, const char *data, size_t len) {
  h1 *h = p;
  size_t n;
  int status;

  if (h->no_more || h->gone)
    return 0; /* the rest is not read */
  if (body_held(h)) {
    h->stopped = 1; /* until the module lets its body flow again */
    return 0;
  }
  h->in_data = 1;
  n = hw__h1_parser_feed(&h->parser, &h->env->limits,
                         h->cur ? &h->cur->msg : NULL, data, len, &parser_cb, h,
                         &status);
  if (status != 0)
    fail(h, status);
  h->in_data = 0;
  if (write_ready(h) != 0)
    return len;
  if (n < len && !h->no_more)
    h->stopped = 1;
  settle(h);
  return n;
}

static void h1_eof(void *p) {
  h1 *h = p;
  h->eof = 1;
  if (h->cur_queued) {
    /* A body its module is reading will never end: the connection does,
     * which tells the module. */
    cur_done(h);
    h->ending = 1;
    h->t->ops->close(h->t, HW__CLOSE_NOW);
    return;
  }
  if (h->cur != NULL) {
    /* The client stopped mid-request: nobody will complete it. */
    hw__request_free(h->cur);
    cur_done(h);
  }
  /* Modules answering later may want to know (the client may only have
   * half-closed, so their answers are still written if they can be).  One
   * that answers from its callback makes its response ready while this
   * walks the queue: noted, and written after. */
  h->writing = 1;
  for (hw_request *r = h->qhead; r != NULL; r = r->next)
    hw__request_hangup(r);
  h->writing = 0;
  if (h->again) {
    h->again = 0;
    if (write_ready(h) != 0)
      return;
  }
  settle(h);
}

/* The head or body took too long: 408 in its turn, and the end. */
static void h1_timeout(void *p) {
  h1 *h = p;
  if (h->cur == NULL)
    return;
  fail(h, 408);
  if (write_ready(h) == 0)
    settle(h);
}

static void h1_writable(void *p) {
  h1 *h = p;
  if (h->qhead != NULL && h->qhead->res.streaming)
    hw__stream_drained(h->qhead);
  settle(h);
}

static void h1_drain(void *p) {
  h1 *h = p;
  h->draining = 1;
  if (h->qhead == NULL && h->cur == NULL) {
    /* An idle keep-alive connection ends with a FIN, not a close: a
     * request the client is sending right now then meets a clean end of
     * stream, which clients retry, rather than a reset.  A connection that
     * has not sent its first request yet may have it in flight: it stays
     * open a moment (the transport's idle timer, short while draining,
     * ends it) and the request is answered.  In the soft drain (another
     * master serves the sockets now) an idle one stays until its
     * keep-alive timeout: its next request is answered with Connection:
     * close, so a client never meets the end of a connection it had just
     * sent a request on. */
    if (h->served && !h->env->soft_drain) {
      h->ending = 1;
      h->t->ops->close(h->t, HW__CLOSE_AFTER_WRITE);
    }
    return;
  }
  if (h->cur == NULL)
    h->no_more = 1;
  /* A response that was the last one before draining began may already be
   * out: then there is nothing more to say and the connection ends. */
  settle(h);
}

static void h1_close(void *p) {
  h1 *h = p;
  hw_request *r = h->qhead;

  h->gone = 1;
  h->no_more = 1;
  if (h->cur != NULL && !h->cur_queued)
    hw__request_free(h->cur); /* (a queued one is orphaned below) */
  cur_done(h);
  /* Requests still queued are either answered (and now unsendable) or
   * deferred; a deferred one stays alive until its module finishes it. */
  h->qhead = h->qtail = NULL;
  h->nqueued = 0;
  while (r != NULL) {
    hw_request *next = r->next;
    r->next = NULL;
    hw__request_orphan(r);
    r = next;
  }
}

const hw__proto hw__h1_proto = {
    .size = sizeof(h1),
    .open = h1_open,
    .data = h1_data,
    .eof = h1_eof,
    .timeout = h1_timeout,
    .writable = h1_writable,
    .drain = h1_drain,
    .close = h1_close,
};

static uint32_t clamp32(size_t v) {
  return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void hw__h1_env_init(hw__h1_env *env, hw__request_core *core) {
  env->core = core;
  hw__h1_env_update(env);
}

void hw__h1_env_update(hw__h1_env *env) {
  const hw__config *cfg = hw__request_core_config(env->core);
  env->limits.request_line = clamp32(cfg->limit_request_line);
  env->limits.header_bytes = clamp32(cfg->limit_header_bytes);
  env->limits.headers = clamp32(cfg->limit_headers);
}
