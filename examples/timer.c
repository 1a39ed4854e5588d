/*
 * timer.c - an example module: deferred answers ended by a host timer
 * (ABI 1.3) or by another request - a long poll.
 *
 *   GET  <prefix>/CHANNEL?ms=N  waits.  The next POST to the same channel
 *                               answers it (200, the POST's body and
 *                               Content-Type); if none comes within N ms,
 *                               its timer answers 204 No Content ("nothing
 *                               happened, ask again").  HEAD waits as GET.
 *   POST <prefix>/CHANNEL       answers every request waiting on CHANNEL,
 *                               then itself: 200 "woke K\n".
 *
 * CHANNEL is the rest of the path ("" for the prefix itself).  N defaults
 * to the route's "default_ms" and may not exceed "max_ms" (400 otherwise):
 *   {"default_ms": 30000, "max_ms": 120000}
 *
 * Each waiting request ends in exactly one of three ways - its timer
 * fires, a POST wakes it, or its client leaves - and whichever comes first
 * must undo the others: take the request off the waiting list, stop its
 * timer, and finish it exactly once (`done` below is the one place that
 * does it).  The route's fini, and its abort when a reload gives up on the
 * requests still deferred, end the ones left with 503.
 *
 * Like every route state, the waiting list is per worker process: with
 * "workers" above 1 a POST wakes only the waiters its own worker holds, so
 * this runs with "workers": 0 or 1 (a real one would publish through
 * something all workers see).  It links nothing but libc: the timers are
 * the host's, stopped with the route's generation, so none can call into
 * an unloaded module.
 *
 * Build it out of tree against an installed Haywire:
 *   cc -O2 -shared -fPIC $(pkg-config --cflags haywire) -Wl,-z,defs -o timer.so timer.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

typedef struct waiter waiter;

typedef struct poll_route {
  const hw_host *host;
  int64_t default_ms, max_ms;
  waiter *head; /* the requests waiting, newest first */
} poll_route;

/* One waiting request, in the request's scratch memory (host->alloc): it
 * lives as long as the request, that is until `done` finishes it, and
 * nothing refers to it after that. */
struct waiter {
  waiter *prev, *next;
  poll_route *rt;
  hw_response *res;
  hw_str channel; /* the request's rest: borrowed, valid until finish */
  int64_t timer;
};

/*
 * Ends one wait: off the list, timer stopped, answered, finished - in that
 * order, so that once `finish` has freed the request (and `w` with it) no
 * timer, list or callback of ours can reach it.  `type` may be NULL (no
 * Content-Type).  The answer is best effort: if the client has gone the
 * host drops it, and finish is owed all the same.
 */
static void done(waiter *w, int status, const hw_header *type, hw_str body) {
  const hw_host *host = w->rt->host;
  hw_response *res = w->res;

  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    w->rt->head = w->next;
  if (w->next != NULL)
    w->next->prev = w->prev;
  /* HW_ESTATE when it is the timer that fired (a one-shot timer is over
   * once its callback has begun): harmless. */
  host->timer_stop(w->timer);
  host->set_status(res, status);
  if (type != NULL)
    host->add_prepared(res, type);
  if (body.len > 0)
    host->write(res, body.data, body.len);
  host->finish(res); /* w is gone from here on */
}

static const hw_str no_body = {"", 0};

static void on_timeout(int64_t timer, void *arg) {
  (void)timer;
  done(arg, 204, NULL, no_body);
}

/*
 * The client ended its side of the connection.  It may have gone, or only
 * half-closed and still be reading (host->aborted tells them apart); 204
 * is a right answer in both cases - nothing happened yet - so the wait
 * ends now either way, instead of holding a request for a client that is
 * probably gone until its timer runs out.
 */
static void on_leave(hw_request *req, void *arg) {
  (void)req;
  done(arg, 204, NULL, no_body);
}

/* Ends every wait with 503: the route is going (fini) or the host gives
 * up on its deferred requests (abort, after a reload's drain deadline). */
static void end_all(poll_route *rt) {
  static const hw_str gone = {"timer: the route is going away\n", 31};
  while (rt->head != NULL)
    done(rt->head, 503, NULL, gone);
}

/* Reads an optional integer in [lo, hi]; 0, or -1 with the reason in
 * err. */
static int conf_range(const hw_host *host, const hw_conf *conf, const char *key,
                      int64_t lo, int64_t hi, int64_t *out, char *err,
                      size_t err_len) {
  char what[64];
  int r = host->conf_int(conf, key, out, err, err_len);
  if (r == HW_ENOENT)
    return 0;
  if (r != 0)
    return -1;
  if (*out < lo || *out > hi) {
    snprintf(what, sizeof(what), "must be from %lld to %lld", (long long)lo,
             (long long)hi);
    host->conf_error(conf, key, what, err, err_len);
    return -1;
  }
  return 0;
}

static int timer_init(const hw_host *host, const char *config,
                      size_t config_len, void **state, char *err,
                      size_t err_len) {
  static const char *const keys[] = {"default_ms", "max_ms", NULL};
  int64_t default_ms = 30000, max_ms = 120000;
  const hw_conf *conf;
  poll_route *rt;

  (void)config_len;
  if (!HW_HOST_HAS(host, timer_stop)) {
    snprintf(err, err_len, "timer: needs a server with ABI 1.3 (timers)");
    return -1;
  }
  conf = host->config(config);
  if (host->conf_keys(conf, keys, err, err_len) != 0 ||
      conf_range(host, conf, "max_ms", 0, 3600000, &max_ms, err, err_len) !=
          0 ||
      conf_range(host, conf, "default_ms", 0, max_ms, &default_ms, err,
                 err_len) != 0)
    return -1;
  rt = calloc(1, sizeof(*rt));
  if (rt == NULL) {
    snprintf(err, err_len, "timer: out of memory");
    return -1;
  }
  rt->host = host;
  rt->default_ms = default_ms;
  rt->max_ms = max_ms;
  /* No timer starts here: init may run in a checker process (haywire -t)
   * that never serves. */
  *state = rt;
  return 0;
}

/* The value of ms=N in the query: 1 and *ms, 0 when absent, -1 when it is
 * not a decimal integer up to `max`. */
static int query_ms(hw_str q, int64_t max, int64_t *ms) {
  const char *p = q.data, *end = q.data + q.len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp != NULL ? amp : end;
    if (stop - p >= 3 && memcmp(p, "ms=", 3) == 0) {
      int64_t v = 0;
      if (stop - p == 3)
        return -1;
      for (p += 3; p < stop; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) > max)
          return -1;
      }
      *ms = v;
      return 1;
    }
    p = amp != NULL ? amp + 1 : end;
  }
  return 0;
}

static hw_handle_result reply(const hw_host *host, hw_response *res, int status,
                              const char *text, size_t len) {
  if (host->set_status(res, status) != 0 ||
      host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0 ||
      host->write(res, text, len) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static int is_method(hw_str m, const char *name) {
  return m.len == strlen(name) && memcmp(m.data, name, m.len) == 0;
}

static hw_handle_result wait_for(poll_route *rt, hw_request *req,
                                 hw_response *res) {
  static const char bad[] = "timer: ms must be an integer up to max_ms\n";
  const hw_host *host = rt->host;
  int64_t ms = rt->default_ms;
  waiter *w;

  if (query_ms(host->query(req), rt->max_ms, &ms) < 0)
    return reply(host, res, 400, bad, sizeof(bad) - 1);
  w = host->alloc(req, sizeof(*w));
  if (w == NULL)
    return HW_ERROR;
  memset(w, 0, sizeof(*w));
  w->rt = rt;
  w->res = res;
  w->channel = host->rest(req);
  w->timer = host->timer_start((uint64_t)ms, 0, on_timeout, w);
  if (w->timer <= 0)
    return HW_ERROR; /* nothing to undo: the waiter is not listed yet */
  w->next = rt->head;
  if (rt->head != NULL)
    rt->head->prev = w;
  rt->head = w;
  host->on_abort(req, on_leave, w);
  /* From here the request is ours until `done` finishes it. */
  return HW_DEFERRED;
}

static hw_handle_result wake(poll_route *rt, hw_request *req,
                             hw_response *res) {
  const hw_host *host = rt->host;
  hw_str channel = host->rest(req), body = host->body(req), type;
  hw_header *field = NULL;
  unsigned long woken = 0;
  char line[48];
  waiter *w, *next;
  int n;

  /* Every waiter gets the same Content-Type: check it once (ABI 1.1), so
   * that adding it to each answer costs one copy and cannot fail on the
   * value; an unusable one is the POST's mistake, said before anyone is
   * woken. */
  if (host->header(req, "Content-Type", 12, &type) != 0)
    type = (hw_str){"application/octet-stream", 24};
  if (host->header_prepare("Content-Type", 12, type.data, type.len, &field) !=
      0) {
    static const char bad[] = "timer: unusable Content-Type\n";
    return reply(host, res, 400, bad, sizeof(bad) - 1);
  }
  for (w = rt->head; w != NULL; w = next) {
    next = w->next; /* done() frees w */
    if (w->channel.len == channel.len &&
        (channel.len == 0 ||
         memcmp(w->channel.data, channel.data, channel.len) == 0)) {
      done(w, 200, field, body);
      woken++;
    }
  }
  host->header_free(field); /* the answers kept their own copies */
  n = snprintf(line, sizeof(line), "woke %lu\n", woken);
  return reply(host, res, 200, line, (size_t)n);
}

static hw_handle_result timer_handle(void *state, hw_request *req,
                                     hw_response *res) {
  poll_route *rt = state;
  const hw_host *host = rt->host;
  hw_str method = host->method(req);

  if (is_method(method, "GET") || is_method(method, "HEAD"))
    return wait_for(rt, req, res);
  if (is_method(method, "POST"))
    return wake(rt, req, res);
  if (host->add_header(res, "Allow", 5, "GET, HEAD, POST", 15) != 0)
    return HW_ERROR;
  return reply(host, res, 405, "timer: method not allowed\n", 26);
}

static void timer_abort(void *state) {
  end_all(state);
}

/* At shutdown requests may still wait: each is finished, its timer
 * stopped, before the state they point to goes. */
static void timer_fini(void *state) {
  end_all(state);
  free(state);
}

HW_MODULE_DEFINE_ALL("timer", "1.0", timer_init, timer_handle, timer_fini,
                     timer_abort);
