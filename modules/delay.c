/*
 * delay.c - a Haywire module that answers late.  Each request is deferred
 * (HW_DEFERRED) and finished by a host timer (ABI 1.3) after `ms`
 * milliseconds with 200 text/plain and the request path as the body.  The
 * delay comes from the route config {"ms": N} (default 0) and can be
 * overridden per request with the query parameter ms=N; N is an integer
 * from 0 to 600000.  It exists to exercise the host's deferred-request
 * machinery: pipelining behind a slow answer, clients that go away while
 * waiting, reloads and shutdown.  It links no libuv: the timers are the
 * host's, which stops any left running when the route's generation ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

#define MAX_MS 600000
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct delay_ctx delay_ctx;

typedef struct delay_state {
  const hw_host *host;
  uint64_t default_ms;
  delay_ctx *pending; /* requests still deferred, so fini/abort find them */
} delay_state;

/* One deferred request, in the request's scratch memory (host->alloc): it
 * lives exactly as long as the request, and the timer that points to it
 * is stopped before the request is finished. */
struct delay_ctx {
  int64_t timer;
  const hw_host *host;
  hw_request *req; /* NULL once finished: never touch them again */
  hw_response *res;
  delay_state *st;
  delay_ctx *prev, *next;
};

static const char cancelled_body[] = "delay: cancelled\n";

/*
 * Takes `ctx` off the pending list and stops its timer, leaving only the
 * response to finish.  Doing this before host->finish means no callback of
 * ours can reach the request afterwards, whatever finish does.
 */
static hw_response *detach(delay_ctx *ctx) {
  hw_response *res = ctx->res;
  delay_state *st = ctx->st;

  if (ctx->prev != NULL)
    ctx->prev->next = ctx->next;
  else
    st->pending = ctx->next;
  if (ctx->next != NULL)
    ctx->next->prev = ctx->prev;
  ctx->prev = ctx->next = NULL;
  /* A one-shot timer that has fired is over already (HW_ESTATE). */
  ctx->host->timer_stop(ctx->timer);
  ctx->st = NULL;
  ctx->req = NULL;
  ctx->res = NULL;
  return res;
}

static void on_timer(int64_t timer, void *arg) {
  delay_ctx *ctx = arg;
  const hw_host *host = ctx->host;
  hw_str path = host->path(ctx->req);
  hw_response *res = detach(ctx);

  (void)timer;
  /* `path` stays valid until finish; `ctx` too (request scratch). */
  if (host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0 ||
      host->write(res, path.data, path.len) != 0)
    host->set_status(res, 500);
  host->finish(res);
}

/*
 * The client went away: there is no point in waiting, and finishing now
 * lets the host free the request at once instead of when the timer fires.
 * Nothing is written because the host discards the answer anyway.  A FIN
 * alone (the client may only have half-closed) changes nothing: the answer
 * is still written when it is due, and a later close is heard again.
 */
static void on_abort(hw_request *req, void *arg) {
  delay_ctx *ctx = arg;
  const hw_host *host = ctx->host;

  if (!host->aborted(req)) {
    host->on_abort(req, on_abort, ctx);
    return;
  }
  host->finish(detach(ctx));
}

/*
 * Finishes every pending request with 503: used when the route is going
 * away (fini) or the host gives up on deferred requests (abort).  The host
 * may override or drop the answer; what matters is that each request is
 * finished exactly once and its timer closed.
 */
static void finish_all(delay_state *st) {
  while (st->pending != NULL) {
    const hw_host *host = st->pending->host;
    hw_response *res = detach(st->pending);

    host->set_status(res, 503);
    host->add_header(res, "Content-Type", 12, "text/plain", 10);
    host->write(res, cancelled_body, sizeof(cancelled_body) - 1);
    host->finish(res);
  }
}

/*
 * Parses a decimal integer in 0..MAX_MS from [p, end) exactly (no sign,
 * fraction or exponent).  Returns 0 and sets `*ms`, or -1.
 */
static int parse_ms(const char *p, const char *end, uint64_t *ms) {
  uint64_t v = 0;

  if (p >= end)
    return -1;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    v = v * 10 + (uint64_t)(*p - '0');
    if (v > MAX_MS)
      return -1;
  }
  *ms = v;
  return 0;
}

/*
 * Looks for ms=N among the &-separated pairs of the query.  Returns 1 and
 * sets `*ms` when found and valid, 0 when absent, -1 when malformed.  The
 * first ms wins; other keys are ignored so the query can carry cache
 * busters and the like.
 */
static int query_ms(hw_str query, uint64_t *ms) {
  const char *p = query.data, *end = p + query.len;

  if (query.len == 0)
    return 0;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pair_end = amp != NULL ? amp : end;

    if (pair_end - p >= 3 && memcmp(p, "ms=", 3) == 0)
      return parse_ms(p + 3, pair_end, ms) == 0 ? 1 : -1;
    if (pair_end - p == 2 && memcmp(p, "ms", 2) == 0)
      return -1;
    p = amp != NULL ? amp + 1 : end;
  }
  return 0;
}

static int delay_init(const hw_host *host, const char *config,
                      size_t config_len, void **state, char *err,
                      size_t err_len) {
  static const char *const keys[] = {"ms", NULL};
  int64_t ms = 0;
  delay_state *st;

  (void)config_len;
  if (!HW_HOST_HAS(host, timer_stop)) {
    snprintf(err, err_len, "delay: needs a server with ABI 1.3 (timers)");
    return -1;
  }
  /* {"ms": N}, read with the accessors of ABI 1.2, which name the route
   * and key in a complaint. */
  {
    const hw_conf *conf = host->config(config);
    int r = host->conf_keys(conf, keys, err, err_len);
    if (r == 0)
      r = host->conf_int(conf, "ms", &ms, err, err_len);
    if (r == 0 && (ms < 0 || ms > MAX_MS))
      r = host->conf_error(conf, "ms", "must be from 0 to " STR(MAX_MS), err,
                           err_len);
    if (r != 0 && r != HW_ENOENT)
      return -1;
  }
  st = calloc(1, sizeof(*st));
  if (st == NULL) {
    snprintf(err, err_len, "delay: out of memory");
    return -1;
  }
  st->host = host;
  st->default_ms = (uint64_t)ms;
  /* No timer is started here: init may run in a checker process. */
  *state = st;
  return 0;
}

static hw_handle_result delay_handle(void *state, hw_request *req,
                                     hw_response *res) {
  static const char bad_ms[] =
      "delay: ms must be an integer from 0 to 600000\n";
  delay_state *st = state;
  const hw_host *host = st->host;
  uint64_t ms = st->default_ms;
  delay_ctx *ctx;

  /* A malformed override is the client's mistake: say so with 400. */
  if (query_ms(host->query(req), &ms) < 0) {
    if (host->set_status(res, 400) != 0 ||
        host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0 ||
        host->write(res, bad_ms, sizeof(bad_ms) - 1) != 0)
      return HW_ERROR;
    return HW_HANDLED;
  }

  ctx = host->alloc(req, sizeof(*ctx));
  if (ctx == NULL)
    return HW_ERROR;
  memset(ctx, 0, sizeof(*ctx));
  ctx->timer = host->timer_start(ms, 0, on_timer, ctx);
  if (ctx->timer <= 0)
    return HW_ERROR;
  ctx->host = host;
  ctx->req = req;
  ctx->res = res;
  ctx->st = st;
  ctx->next = st->pending;
  if (st->pending != NULL)
    st->pending->prev = ctx;
  st->pending = ctx;
  host->on_abort(req, on_abort, ctx);
  return HW_DEFERRED;
}

/*
 * The host gives up on deferred requests (a reload's drain deadline): finish
 * them all now rather than keep the old generation alive for their timers.
 */
static void delay_abort(void *state) { finish_all(state); }

/*
 * Called with requests possibly still deferred (at shutdown).  They are
 * finished and their timers stopped.
 */
static void delay_fini(void *state) {
  delay_state *st = state;

  finish_all(st);
  free(st);
}

HW_MODULE_DEFINE_ALL("delay", "1.0", delay_init, delay_handle, delay_fini,
                     delay_abort);
