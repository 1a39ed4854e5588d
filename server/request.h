/*
 * request.h - the request core (request.c): requests and their responses,
 * routing, the call into the module, generation pinning and completion,
 * protocol-neutral.  A protocol unit (h1.c; later HTTP/2) creates a request
 * when a message begins, fills its message (message.h), asks the core to
 * route it when the head is whole, hands it the body, and dispatches it when
 * the message is complete.  The core answers through the sink the protocol
 * gave with the request: the response is ready (its head, body pieces and
 * end are in `res`), or the core cancels the request.  The core never calls
 * a protocol's functions by name, nor a connection's.
 */
#ifndef HW_REQUEST_H
#define HW_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "access_log.h"
#include "buf.h"
#include "config.h"
#include "generation.h"
#include "haywire.h"
#include "message.h"
#include "method.h"
#include "metrics.h"
#include "transport.h"

/** Where a request is in its life. */
enum hw__req_state {
  HW__REQ_HEAD = 0, /* head being read */
  HW__REQ_BODY,     /* routed, body arriving */
  HW__REQ_RUNNING,  /* handed to a module, deferred */
  HW__REQ_DONE      /* response complete, waiting its turn or being written */
};

/** A body part a module gave by reference (write_ref), or a region of a
 *  file (write_file: `data` NULL, `fd` the host's descriptor). */
typedef struct hw__ref {
  const void *data;
  size_t len;
  size_t at; /* offset in the copied body where the reference goes */
  hw_free_cb free_cb;
  void *arg;
  int fd;        /* a file region's, else -1 */
  uint64_t foff; /* where in the file the region begins */
} hw__ref;

/** Output a streamed response may have waiting (its own pieces and what its
 *  protocol has not sent) before a write reports HW_CONGESTED.  The same as
 *  the transport's bound (transport.h), past which it says when it drains:
 *  that is what wakes a congested stream. */
#define HW__REQUEST_STREAM_BOUND (64 * 1024)

/* The request and its response come from a per-worker pool.  Everything
 * before `declared` in hw_response, and so before `res.declared` in
 * hw_request, belongs to one request and is zeroed when the object returns
 * to the pool (the message clears its own); the stream fields are set when
 * a response streams; what follows is memory kept for the next request. */
struct hw_response {
  int status;
  size_t nrefs;
  size_t body_len; /* copied + referenced */
  /* a streamed response (ABI 1.3, stream.c): */
  unsigned streaming : 1; /* stream() was called: the head is final, and the
                             stream fields below are set */
  unsigned congested : 1; /* a write said HW_CONGESTED: writable is owed */
  unsigned broken : 1;    /* it cannot complete (a file came up short) */
  unsigned reading : 1;   /* a file region is being read */
  uint64_t body_sent;     /* set by its protocol as it takes a response
                             that does not stream: the body bytes it
                             sends (none for HEAD, 204, 304) */
  /* not cleared between requests (set by stream(), read while streaming,
   * so that a request that does not stream pays nothing for them): */
  int64_t declared;       /* its length, or -1 */
  uint64_t written;       /* body bytes given so far */
  size_t pending;         /* bytes given and not yet taken by the protocol */
  size_t pending_file;    /* bytes of file regions not yet read */
  hw_writable_cb writable_cb;
  void *writable_arg;
  /* kept across requests: */
  hw__buf headers; /* "Name: value\r\n" lines added by the module */
  hw__buf body;    /* copied body bytes */
  hw__ref *refs;   /* write_ref segments, in order */
  size_t refs_cap;
};

typedef struct hw__request_sink hw__request_sink;
typedef struct hw__request_core hw__request_core;

struct hw_request {
  hw_request *next;          /* the protocol's queue, or the free list */
  hw_request *gprev, *gnext; /* the generation's list of its requests */
  hw__request_core *core;
  const hw__request_sink *sink; /* how the core reaches the protocol */
  void *owner;                  /* the protocol's (its connection or stream);
                                   NULL once the client has gone */
  hw__generation *gen;          /* pinned from route match to free */
  hw__route *route;             /* NULL: no route */
  size_t match_len;
  enum hw__req_state state;
  uint8_t proto_bits; /* the protocol unit's own flags */
  unsigned deferred : 1;
  unsigned aborted : 1;
  unsigned in_handle : 1;      /* inside the module's handle() */
  unsigned finished_early : 1; /* finish() called inside handle() */
  unsigned free_wanted : 1;    /* freed while held: goes when let go */
  unsigned due : 1;            /* a callback of its is scheduled: */
  unsigned abort_due : 1;      /* ... on_abort's (else writable's) */
  unsigned hung_up : 1;        /* the client's FIN was reported */
  unsigned body_stream : 1;    /* the route takes bodies as a stream */
  unsigned body_paused : 1;    /* the module holds its body back */
  unsigned body_ended : 1;     /* the body's end was delivered */
  unsigned body_complete : 1;  /* ... it has arrived */
  unsigned sent : 1;           /* its protocol has taken all of its response
                                  (else, when it goes, its client went away) */
  unsigned timed : 1;          /* `started` and `remote` are set */
  unsigned health : 1;         /* for the health route: the core answers */
  uint16_t holds;              /* work or file reads in flight */
  unsigned cancelled_gen;      /* the generation that cancelled it while
                                  its module held it (its route is gone
                                  with it), or 0 */
  struct hw__metrics_series *series; /* where it is counted: its route's
                                        (set when routed), or NULL */
  void *scratch;               /* list of alloc() blocks */
  hw_abort_cb abort_cb;
  void *abort_arg;
  hw_request *due_next; /* the core's list of writable callbacks (set
                           with `due`, meaningful while it is) */
  /* a streamed body (set by hw__request_route when the route streams,
   * so that other requests pay nothing for them): */
  hw_body_cb body_cb; /* its receiver, once the module took it */
  void *body_arg;
  uint64_t body_seen; /* its bytes so far */
  struct hw_response res; /* its per-request part must stay last */
  /* kept across requests: */
  hw__buf body;    /* the request body, whole */
  hw__message msg; /* the head (clears its own per-request part) */
  uint64_t ticks; /* the counters' clock at its first byte (metrics.h) */
  /* for the access log, set when `timed` is (so that a request pays
   * nothing for them while the log is off): */
  uint64_t started; /* uv_hrtime() of its first byte */
  uint8_t remote_len;
  char remote[64]; /* the client's address as the sink's peer says it
                      ("[v6]:port" is 47 at most, a zone more) */
  const char *tls_version; /* its TLS session's (static), or NULL */
  const char *tls_alpn;    /* (static) */
  uint8_t sni_len;
  char sni[255]; /* the name its client asked for (RFC 6066 bounds a DNS
                    name to 253 bytes): the connection may be gone when
                    the line is written */
};

/** How the core reaches a request's protocol unit: given with each request
 *  by the protocol that creates it, borrowed for the request's life. */
struct hw__request_sink {
  /** The response is complete: status, fields and body are in req->res
   *  (the protocol writes it in its turn).  Not called when
   *  hw__request_dispatch returns non-zero (complete on return). */
  void (*ready)(hw_request *req);
  /** The core gives up on the request (a retired generation's drain
   *  deadline passed): the protocol ends the request's stream, which
   *  orphans it. */
  void (*cancel)(hw_request *req);
  /** Writes the client's address ("ip:port", "[ip]:port") into `buf`;
   *  returns its length or a negative error. */
  int (*peer)(const hw_request *req, char *buf, size_t len);
  /** A streamed response has new pieces (or can no longer complete), or a
   *  streamed body may flow again: the protocol takes what it can now. */
  void (*push)(hw_request *req);
  /** Bytes of the request's response the protocol holds unsent. */
  size_t (*unsent)(const hw_request *req);
  /** Non-zero if the protocol sends the file regions of a streamed
   *  response itself (from the file to the socket: sendfile), so the core
   *  does not read them; may be NULL (it does not). */
  int (*files)(const hw_request *req);
  /** Fills `out` and returns 0 when the request came over TLS (see
   *  hw__transport_tls); may be NULL (it never does). */
  int (*tls)(const hw_request *req, hw__transport_tls *out);
  /** Fills `out` and returns 0 when the request's connection began with a
   *  PROXY protocol header (see hw__transport_proxy); may be NULL. */
  int (*proxy)(const hw_request *req, hw__transport_proxy *out);
};

/** Whether the request's protocol sends file regions itself (and the
 *  client is still there). */
static inline int hw__request_sends_files(const hw_request *req) {
  return req->owner != NULL && req->sink->files != NULL &&
         req->sink->files(req);
}

/** The request core of one worker: the generation new requests are routed
 *  with, and the pool of request objects. */
struct hw__request_core {
  hw__generation *gen;
  size_t limit_body; /* the current generation's limits.body */
  hw_request *free_reqs;
  unsigned nfree;
  hw_request *due, *due_tail; /* writable callbacks to run */
  uv_idle_t *idle;            /* runs them, outside any other call */
  int stopped;                /* the loop is ending: no more of them */
  hw__access_log *access_log; /* the worker's, once a generation names a
                                 log (then each request is timed and
                                 logged where its route says), else NULL */
  struct hw__metrics_slot *metrics; /* the worker's counters (metrics.c),
                                       or NULL: then nothing counts */
  int notice;                 /* the drain notice is on: it answers 503 */
};

/** Sets up a core serving generation `gen` (borrowed; the caller owns it). */
void hw__request_core_init(hw__request_core *core, hw__generation *gen);
/** Routes new requests with `gen` from now on (a reload's swap). */
void hw__request_core_set_generation(hw__request_core *core,
                                     hw__generation *gen);
/** The configuration of the current generation. */
static inline const hw__config *
hw__request_core_config(const hw__request_core *core) {
  return core->gen->config;
}
/** Closes the core's handle (before the loop's last run). */
void hw__request_core_stop(hw__request_core *core);
/** Frees the pooled request objects. */
void hw__request_core_destroy(hw__request_core *core);

/** The request's first byte is here (its protocol says so when a message
 *  begins): the start of the duration the counters take.  Inline, and
 *  apart from hw__request_new, so that creating a request stays small
 *  enough to be inlined into the protocol. */
static inline void hw__request_begins(hw_request *req) {
#ifndef HW_NO_METRICS
  req->ticks = hw__metrics_ticks(); /* cheaper than asking if it counts */
#else
  (void)req;
#endif
}

/** A request object for a message that begins, from the pool (or NULL:
 *  no memory).  The core's until freed with hw__request_free. */
hw_request *hw__request_new(hw__request_core *core,
                            const hw__request_sink *sink, void *owner);
/** The head is whole: pins the current generation and matches the route. */
void hw__request_route(hw_request *req);
/** The largest body the request may have: its route's "body_limit", else
 *  limits.body. */
static inline size_t hw__request_body_limit(const hw_request *req) {
  if (req->route != NULL && req->route->body_limit != 0)
    return req->route->body_limit;
  return req->core->limit_body;
}
/** Appends body bytes (copied); 0, 413 past the body limit, or 500. */
int hw__request_body(hw_request *req, const char *data, size_t len);
/** The message is complete: calls the module (falling through on a
 *  decline; 404, or 501 for a method outside RFC 9110 section 9.3, when
 *  nothing answers).  Returns non-zero when the response is complete on
 *  return; else the module deferred it, and the sink's `ready` follows. */
int hw__request_dispatch(hw_request *req);
/** Answers with a host-made response: `status`, the lines in `fields`
 *  ("Name: value\r\n", copied; may be NULL), and, when `text` is set, the
 *  short text body "<status> <reason>\n".  The request is then DONE. */
void hw__request_respond(hw_request *req, int status, const char *fields,
                         size_t fields_len, int text);
/** The module finished a deferred request (host->finish). */
int hw__request_finish(hw_request *req);
/** The client has gone: a deferred request is aborted (its module is told)
 *  and lives on until the module finishes it; any other is freed. */
void hw__request_orphan(hw_request *req);
/** Runs free callbacks, unpins the generation, returns it to the pool;
 *  a request still held (work in flight) goes when it is let go.  With the
 *  access log on, a request whose head was read (or that was refused) is
 *  logged then: with its status when its protocol took all of its
 *  response (`sent`), else with 499. */
void hw__request_free(hw_request *req);
/** Keeps the request valid until the matching unhold (queued work, a file
 *  read), even if it is freed meanwhile. */
void hw__request_hold(hw_request *req);
void hw__request_unhold(hw_request *req);
/** The client ended its side: a deferred or streaming request's module is
 *  told through its on_abort callback (advisory; the request goes on). */
void hw__request_hangup(hw_request *req);
/** Schedules the module's writable callback of a streamed response, to run
 *  from the loop outside any other call. */
void hw__request_due(hw_request *req);
/** Cancels every request pinned to `g` through its sink, then unpins those
 *  still pinned, so that the generation can go. */
void hw__request_cancel_generation(hw__generation *g);
/** The client's address (see the sink's `peer`); UV_ENOTCONN once it has
 *  gone. */
int hw__request_peer(const hw_request *req, char *buf, size_t len);
/** The request's TLS session (see hw__transport_tls): 0, or UV_ENOTSUP
 *  over plain TCP, UV_ENOTCONN once its client has gone. */
int hw__request_tls(const hw_request *req, hw__transport_tls *out);
/** What the PROXY header of the request's connection said: 0, or
 *  UV_ENOTSUP when there was none, UV_ENOTCONN once its client has gone. */
int hw__request_proxy(const hw_request *req, hw__transport_proxy *out);
/** Resets the response (for a decline or an error). */
void hw__request_reset_response(hw_request *req);
/** Appends a body piece at the end of the copied bytes: a reference
 *  {data NULL, len 0, no callback, fd -1} the caller fills, or NULL when
 *  out of memory. */
hw__ref *hw__request_ref(struct hw_response *res);
/** Drops the response's body pieces (their free callbacks run). */
void hw__request_reset_body(hw_request *req);

/** Whether a request being routed is a GET or HEAD of exactly the path
 *  health_route names: then the core answers it, ahead of every route (one
 *  length compare is what every other request pays). */
static inline int hw__request_health(hw_request *req,
                                     const hw__generation *g) {
  const hw__message *m = &req->msg;
  const hw__config *cfg = g->config;
  if (m->path.len != g->health_len || cfg->health_route == NULL ||
      (m->method_id != HW__METHOD_GET && m->method_id != HW__METHOD_HEAD) ||
      memcmp(m->head.data + m->path.off, cfg->health_route, m->path.len) != 0)
    return 0;
  req->health = 1;
  return 1;
}

/** The health route's answer: 200, or 503 while the drain notice is on (the
 *  balancer takes the instance out before it stops).  Returns 1. */
static inline int hw__request_health_answer(hw_request *req) {
  hw__request_respond(req, req->core->notice ? 503 : 200,
                      "Cache-Control: no-store\r\n", 25, 1);
  return 1;
}

#endif /* HW_REQUEST_H */
