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

#include "buf.h"
#include "config.h"
#include "generation.h"
#include "haywire.h"
#include "message.h"

/** Where a request is in its life. */
enum hw__req_state {
  HW__REQ_HEAD = 0, /* head being read */
  HW__REQ_BODY,     /* routed, body arriving */
  HW__REQ_RUNNING,  /* handed to a module, deferred */
  HW__REQ_DONE      /* response complete, waiting its turn or being written */
};

/** A body part a module gave by reference (write_ref). */
typedef struct hw__ref {
  const void *data;
  size_t len;
  size_t at; /* offset in the copied body where the reference goes */
  hw_free_cb free_cb;
  void *arg;
} hw__ref;

/* The request and its response come from a per-worker pool.  Everything
 * before `headers` in hw_response, and so before `res.headers` in
 * hw_request, belongs to one request and is zeroed when the object returns
 * to the pool (the message clears its own); what follows is memory kept
 * for the next request. */
struct hw_response {
  int status;
  size_t nrefs;
  size_t body_len; /* copied + referenced */
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
  void *scratch;               /* list of alloc() blocks */
  hw_abort_cb abort_cb;
  void *abort_arg;
  struct hw_response res; /* its per-request part must stay last */
  /* kept across requests: */
  hw__buf body;    /* the request body, whole */
  hw__message msg; /* the head (clears its own per-request part) */
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
};

/** The request core of one worker: the generation new requests are routed
 *  with, and the pool of request objects. */
struct hw__request_core {
  hw__generation *gen;
  size_t limit_body; /* the current generation's limits.body */
  hw_request *free_reqs;
  unsigned nfree;
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
/** Frees the pooled request objects. */
void hw__request_core_destroy(hw__request_core *core);

/** A request object for a message that begins, from the pool (or NULL:
 *  no memory).  The core's until freed with hw__request_free. */
hw_request *hw__request_new(hw__request_core *core,
                            const hw__request_sink *sink, void *owner);
/** The head is whole: pins the current generation and matches the route. */
void hw__request_route(hw_request *req);
/** Appends body bytes (copied); 0, 413 past limits.body, or 500. */
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
/** Runs free callbacks, unpins the generation, returns it to the pool. */
void hw__request_free(hw_request *req);
/** Cancels every request pinned to `g` through its sink, then unpins those
 *  still pinned, so that the generation can go. */
void hw__request_cancel_generation(hw__generation *g);
/** The client's address (see the sink's `peer`); UV_ENOTCONN once it has
 *  gone. */
int hw__request_peer(const hw_request *req, char *buf, size_t len);
/** Resets the response (for a decline or an error). */
void hw__request_reset_response(hw_request *req);

#endif /* HW_REQUEST_H */
