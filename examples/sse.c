/*
 * sse.c - an example module: Server-Sent Events from a host timer (ABI
 * 1.3).  Each client of the route gets a streamed text/event-stream
 * response with one event every `interval_ms`:
 *
 *   id: 3
 *   data: tick 3
 *
 * until `events` have been sent (0: until the client leaves).  A client
 * that reads too slowly does not make the server buffer without bound:
 * when a write says HW_CONGESTED, ticks are skipped until the host says
 * the output has drained (on_writable).  The route config is
 *   {"interval_ms": 1000, "events": 0}
 * read with the config accessors.  It links nothing but libc.  Build it
 * against the installed SDK with
 *   cc -O2 -shared -fPIC $(pkg-config --cflags haywire) -Wl,-z,defs -o sse.so sse.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

typedef struct sse_route {
  const hw_host *host;
  int64_t interval_ms;
  int64_t events;
} sse_route;

/* One client's stream, in its request's scratch memory. */
typedef struct sse_client {
  const sse_route *rt;
  hw_response *res;
  int64_t timer;
  uint64_t sent;
  int waiting; /* congested: skip ticks until writable */
  int over;
} sse_client;

static void end(sse_client *c) {
  const hw_host *host = c->rt->host;
  if (c->over)
    return;
  c->over = 1;
  host->timer_stop(c->timer);
  host->finish(c->res);
}

static void on_tick(int64_t timer, void *arg) {
  sse_client *c = arg;
  const hw_host *host = c->rt->host;
  char ev[96];
  int n, r;

  (void)timer;
  if (c->waiting)
    return; /* the client is behind: this tick is dropped */
  n = snprintf(ev, sizeof(ev), "id: %llu\ndata: tick %llu\n\n",
               (unsigned long long)c->sent, (unsigned long long)c->sent);
  r = host->write(c->res, ev, (size_t)n);
  if (r < 0) {
    end(c); /* the client has gone */
    return;
  }
  c->waiting = r == HW_CONGESTED;
  if (++c->sent == (uint64_t)c->rt->events)
    end(c);
}

static void on_writable(hw_response *res, void *arg) {
  sse_client *c = arg;
  (void)res;
  c->waiting = 0;
}

/* The client left (or half-closed, which an event stream's client does
 * not do but to leave): stop. */
static void on_abort(hw_request *req, void *arg) {
  (void)req;
  end(arg);
}

static int sse_init(const hw_host *host, const char *config,
                    size_t config_len, void **state, char *err,
                    size_t err_len) {
  static const char *const keys[] = {"interval_ms", "events", NULL};
  const hw_conf *conf;
  sse_route *rt;
  int r;

  (void)config_len;
  if (!HW_HOST_HAS(host, on_writable)) {
    snprintf(err, err_len, "sse: needs a server with ABI 1.3");
    return -1;
  }
  rt = calloc(1, sizeof(*rt));
  if (rt == NULL) {
    snprintf(err, err_len, "sse: out of memory");
    return -1;
  }
  rt->host = host;
  rt->interval_ms = 1000;
  conf = host->config(config);
  r = host->conf_keys(conf, keys, err, err_len);
  if (r == 0 && (r = host->conf_int(conf, "interval_ms", &rt->interval_ms,
                                    err, err_len)) == HW_ENOENT)
    r = 0;
  if (r == 0 && (rt->interval_ms < 1 || rt->interval_ms > 3600000))
    r = host->conf_error(conf, "interval_ms", "must be from 1 to 3600000",
                         err, err_len);
  if (r == 0 &&
      (r = host->conf_int(conf, "events", &rt->events, err, err_len)) ==
          HW_ENOENT)
    r = 0;
  if (r == 0 && rt->events < 0)
    r = host->conf_error(conf, "events", "must be 0 (no end) or more", err,
                         err_len);
  if (r != 0) {
    free(rt);
    return -1;
  }
  *state = rt;
  return 0;
}

static hw_handle_result sse_handle(void *state, hw_request *req,
                                   hw_response *res) {
  sse_route *rt = state;
  const hw_host *host = rt->host;
  sse_client *c = host->alloc(req, sizeof(*c));

  if (c == NULL)
    return HW_ERROR;
  memset(c, 0, sizeof(*c));
  c->rt = rt;
  c->res = res;
  /* An event stream is not cached, and its size is not known. */
  if (host->add_header(res, "Content-Type", 12, "text/event-stream", 17) ||
      host->add_header(res, "Cache-Control", 13, "no-cache", 8) ||
      host->stream(res, -1) != 0 || host->on_writable(res, on_writable, c))
    return HW_ERROR;
  /* A comment line first, so that the client sees the stream open. */
  if (host->write(res, ": hello\n\n", 9) < 0)
    return HW_ERROR;
  c->timer = host->timer_start((uint64_t)rt->interval_ms,
                               (uint64_t)rt->interval_ms, on_tick, c);
  if (c->timer <= 0)
    return HW_ERROR;
  host->on_abort(req, on_abort, c);
  return HW_DEFERRED;
}

static void sse_fini(void *state) { free(state); }

HW_MODULE_DEFINE("sse", "1.0", sse_init, sse_handle, sse_fini);
