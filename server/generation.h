/*
 * generation.h - one complete, immutable configuration (generation.c): the
 * config, the loaded modules, one module state per route and the router.
 * Requests pin the generation they were routed with (request.c keeps the
 * list below), so a reload can build a new one beside the current one and
 * retire the old one only when its last request is done (drain.c).
 */
#ifndef HW_GENERATION_H
#define HW_GENERATION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "haywire.h"
#include "module.h"
#include "router.h"

typedef struct hw__generation hw__generation;

/** One route: a module instance with its own state. */
typedef struct hw__route {
  const char *prefix; /* owned by the generation's config */
  size_t prefix_len;
  hw__module *module;
  void *state;
  int inited;
  hw__generation *gen;
  hw__module_site site; /* for the calls into its module */
  int body_stream;      /* "body": "stream": the module reads it */
  size_t body_limit;    /* "body_limit", or 0: limits.body */
  struct hw__metrics_series *metrics; /* where its requests are counted
                                         (set by the worker), or NULL */
  struct hw__access_file *access_log; /* where its requests are logged
                                         (set by the worker), or NULL */
  uint64_t failed_at;   /* uv_hrtime() of the last failure reported */
  unsigned failures_unreported; /* since then */
} hw__route;

enum hw__gen_state {
  HW__GEN_ACTIVE = 0, /* serving new requests */
  HW__GEN_DRAINING,   /* retired: waiting for its last request */
  HW__GEN_FINISHED    /* fini done: waiting to unload its modules */
};

struct hw__generation {
  unsigned id;
  enum hw__gen_state state;
  hw__generation *next; /* a worker's list of retired generations */
  hw_request *reqs;     /* every request pinned to it (request.c) */
  size_t live;          /* how many */
  size_t work;          /* module work queued or running (work.c): the
                           generation is not finalised before it is 0 */
  uint64_t retired_at;  /* loop time (ms) it was retired */
  uint64_t fini_tick;   /* reaper tick of its fini */
  int unload_warned;
  hw__config *config;
  size_t health_len;    /* config's health_route's length (0: none), where
                           routing reads it for every request */
  hw__router *router;
  hw__route *routes;
  size_t nroutes;
  hw__module **modules; /* distinct shared objects */
  size_t nmodules;
  struct hw__access_file *access_log; /* where requests no route answered
                                         are logged (set by the worker) */
  struct hw__tls_ctx **tls; /* per listen entry: its TLS contexts, or NULL
                               for plain TCP (references) */
};

/**
 * Builds a generation: loads every module and calls every route's init,
 * handing it `host` (the function table; borrowed for the generation's
 * life).  Takes ownership of `cfg` (freed on failure too).  On failure
 * everything built so far is finalised and unloaded and `err` holds one
 * line.
 */
int hw__generation_build(hw__config *cfg, unsigned id, const hw_host *host,
                         hw__generation **out, char *err, size_t err_len);
/** Calls each route's fini (once; later calls do nothing). */
void hw__generation_fini(hw__generation *g);
/** Calls each route's abort, for a module that has one (the drain deadline
 *  passed with requests still held). */
void hw__generation_abort(hw__generation *g);
/**
 * Calls every fini still due, unloads the modules and frees.  A module's
 * fini may close libuv handles whose close callbacks are module code, so on
 * a running loop call hw__generation_fini first and free only after the
 * loop has run those callbacks.
 */
void hw__generation_free(hw__generation *g);

#endif /* HW_GENERATION_H */
