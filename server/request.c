/*
 * request.c - the request core (see request.h).  A request is created when
 * its head begins, routed when the head is complete (so a reload cannot
 * change the route of a request whose body is still arriving), dispatched
 * when the message is complete, and freed once its response has been
 * written (or discarded) and every free callback given with it has run.
 *
 * Request objects come from a per-worker pool and keep their buffers when
 * they return to it, so that in steady state serving a request allocates
 * nothing.  A deferred request whose client goes away is "orphaned": it loses
 * its protocol owner but stays valid until the module finishes it, because
 * the module may still hold pointers into it.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chars.h"
#include "log.h"
#include "metrics.h"
#include "method.h"
#include "request.h"
#include "router.h"
#include "status.h"

/* Buffers larger than these are released when a request returns to the pool,
 * so one large request does not pin memory forever. */
#define KEEP_HEAD (8 * 1024)
#define KEEP_BODY (16 * 1024)
#define KEEP_RESP (16 * 1024)
#define KEEP_FIELDS 64
#define POOL_MAX 1024

/* ---- the core ---------------------------------------------------------- */

void hw__request_core_init(hw__request_core *core, hw__generation *gen) {
  memset(core, 0, sizeof(*core));
  hw__request_core_set_generation(core, gen);
}

void hw__request_core_set_generation(hw__request_core *core,
                                     hw__generation *gen) {
  core->gen = gen;
  core->limit_body = gen != NULL ? gen->config->limit_body : 0;
}

static void release(hw_request *req) {
  hw__buf_free(&req->msg.head);
  hw__buf_free(&req->body);
  hw__buf_free(&req->res.headers);
  hw__buf_free(&req->res.body);
  free(req->res.refs);
  free(req->msg.fields);
  free(req);
}

void hw__request_core_destroy(hw__request_core *core) {
  while (core->free_reqs != NULL) {
    hw_request *req = core->free_reqs;
    core->free_reqs = req->next;
    release(req);
  }
  core->nfree = 0;
}

/* ---- the access log ---------------------------------------------------- */

/* Taken when a request begins, only while the access log is on: its start,
 * and its client's address (after the client has gone it cannot be asked). */
static __attribute__((noinline)) void time_request(hw_request *req) {
  int n = req->sink->peer(req, req->remote, sizeof(req->remote));
  hw__transport_tls t;
  req->started = uv_hrtime();
  req->remote_len = n > 0 ? (uint8_t)n : 0;
  req->timed = 1;
  req->tls_version = req->tls_alpn = NULL;
  if (req->sink->tls != NULL && req->sink->tls(req, &t) == 0) {
    size_t sn = strlen(t.sni);
    req->tls_version = t.version;
    req->tls_alpn = t.alpn;
    req->sni_len = (uint8_t)(sn < sizeof(req->sni) ? sn : sizeof(req->sni));
    memcpy(req->sni, t.sni, req->sni_len);
  }
}

/* What its client got: the status, and the body's bytes.  The client went
 * away (499) when its protocol never took the whole response, or when it
 * closed its side while a deferred answer was still being made (nginx's
 * 499 for a client that gave up waiting).  A stream whose head was out
 * keeps its status, with the bytes it had given. */
static inline int outcome(const hw_request *req, uint64_t *body) {
  const struct hw_response *res = &req->res;

  if (__builtin_expect(res->streaming, 0)) {
    *body = !req->msg.is_head && hw__status_has_body(res->status)
                ? res->written
                : 0;
    return res->status;
  }
  if (!req->sent || req->hung_up) {
    *body = 0;
    return 499;
  }
  *body = res->body_sent;
  return res->status;
}

/* The body's bytes as received. */
static inline uint64_t body_bytes(const hw_request *req) {
  return req->body_stream ? req->body_seen : req->body.len;
}

/* ---- the counters ------------------------------------------------------ */
#ifndef HW_NO_METRICS

/* Counts a request that is over in its route's series (none: the slot's
 * series for requests that matched no route).  Without counters no route
 * has a series, and the slot is NULL. */
static inline void count_request(hw_request *req) {
  hw__metrics_series *s = req->series;
  uint64_t out;
  int status;

  if (__builtin_expect(s == NULL, 0)) {
    if (req->core->metrics == NULL)
      return;
    s = &req->core->metrics->series[HW__METRICS_NO_ROUTE];
  }
  status = outcome(req, &out);
  hw__metrics_request(s, (unsigned)status,
                      hw__metrics_ns(hw__metrics_ticks() - req->ticks),
                      body_bytes(req), out);
}
#endif

/* A span of the head, or nothing when it does not lie in it (a refused
 * request's head may be half read). */
static hw__access_text span_text(const hw__message *m, hw__span s) {
  hw__access_text t = {NULL, 0};
  if (s.len > 0 && (size_t)s.off + s.len <= m->head.len)
    t = (hw__access_text){m->head.data + s.off, s.len};
  return t;
}

/* The value of the field `lower` (a lower-case name), or nothing. */
static hw__access_text field_text(const hw__message *m, const char *lower,
                                  size_t n) {
  for (uint32_t i = 0; i < m->nfields; i++) {
    const hw__field *f = &m->fields[i];
    if (f->name.len == n && (size_t)f->name.off + n <= m->head.len &&
        hw__chars_name_is(m->head.data + f->name.off, lower, n)) {
      hw__access_text t = span_text(m, f->value);
      if (t.data == NULL)
        t.data = ""; /* present, empty */
      return t;
    }
  }
  return (hw__access_text){NULL, 0};
}

/* The client's address without its port ("[::1]:80" is "::1"). */
static hw__access_text remote_text(const hw_request *req) {
  const char *p = req->remote;
  size_t n = req->remote_len;
  if (!req->timed || n == 0)
    return (hw__access_text){NULL, 0};
  while (n > 0 && p[n - 1] != ':')
    n--;
  if (n > 0)
    n--;
  if (n >= 2 && p[0] == '[' && p[n - 1] == ']')
    return (hw__access_text){p + 1, n - 2};
  return (hw__access_text){p, n};
}

/* The bytes of its head as received: the message keeps them from the
 * target on (the method too when it is not a listed one), and after them a
 * normalised copy of the path when one was made. */
static uint64_t head_bytes(const hw__message *m) {
  size_t end = m->head.len;
  if (m->path.off >= m->target.off + m->target.len && m->path.off < end)
    end = m->path.off;
  return end + (m->method_name != NULL ? m->method_len + 1 : 0);
}

static __attribute__((noinline)) void log_request(hw_request *req,
                                                  uint64_t end) {
  const hw__message *m = &req->msg;
  const hw__generation *g = req->gen != NULL ? req->gen : req->core->gen;
  /* A request its generation cancelled (the drain deadline) while a file
   * read or work held it outlives that generation: its route and module
   * are freed by now. */
  const hw__route *rt = req->cancelled_gen != 0 ? NULL : req->route;
  hw__access_file *f = rt != NULL ? rt->access_log : g->access_log;
  hw__access_record r;

  if (f == NULL)
    return; /* its route says access_log: false */
  memset(&r, 0, sizeof(r));
  r.end = end;
  r.start = req->timed ? req->started : r.end;
  r.remote = remote_text(req);
  r.host = span_text(m, m->host);
  r.method = m->method_name != NULL
                 ? (hw__access_text){m->method_name, m->method_len}
                 : span_text(m, m->method);
  r.target = span_text(m, m->target);
  r.referer = field_text(m, "referer", 7);
  r.user_agent = field_text(m, "user-agent", 10);
  r.version = m->version;
  r.status = outcome(req, &r.body_bytes);
  r.request_bytes = head_bytes(m) + body_bytes(req);
  if (rt != NULL) {
    r.route = rt->prefix;
    r.module = rt->module->desc->name;
  }
  r.generation = req->cancelled_gen != 0 ? req->cancelled_gen : g->id;
  if (req->timed && req->tls_version != NULL) {
    r.tls = req->tls_version;
    r.alpn = req->tls_alpn;
    r.sni = (hw__access_text){req->sni, req->sni_len};
  }
  hw__access_log_write(req->core->access_log, f, &r);
}

/* ---- life cycle -------------------------------------------------------- */

hw_request *hw__request_new(hw__request_core *core,
                            const hw__request_sink *sink, void *owner) {
  hw_request *req = core->free_reqs;
  if (req != NULL) {
    core->free_reqs = req->next;
    core->nfree--;
  } else {
    req = calloc(1, sizeof(*req));
    if (req == NULL)
      return NULL;
  }
  req->next = NULL;
  req->core = core;
  req->sink = sink;
  req->owner = owner;
  req->msg.version = 11;
  req->res.status = 200;
  if (__builtin_expect(core->access_log != NULL, 0))
    time_request(req);
  return req;
}

void hw__request_hold(hw_request *req) {
  req->holds++;
}

void hw__request_unhold(hw_request *req) {
  if (--req->holds == 0 && req->free_wanted) {
    req->free_wanted = 0;
    hw__request_free(req);
  }
}

/* ---- writable callbacks ------------------------------------------------ */

/* A streamed response's writable callback, and the callback that tells a
 * module its client has gone, run from the loop, never from inside the
 * call that caused them: that call may be the module's own write (whose
 * output found the connection broken), or the protocol in the middle of
 * its queue; a module that finished its request from the callback would
 * free what the call it is still in refers to. */
static void on_idle(uv_idle_t *idle) {
  hw__request_core *core = idle->data;
  size_t n = 0;

  /* As many as are due now; those a callback schedules wait for the next
   * turn.  Each is taken off the list before its callback, which may free
   * others (they leave the list as they go). */
  for (hw_request *r = core->due; r != NULL; r = r->due_next)
    n++;
  while (n-- > 0 && core->due != NULL) {
    hw_request *req = core->due;
    hw_writable_cb cb = req->res.writable_cb;
    core->due = req->due_next;
    if (core->due == NULL)
      core->due_tail = NULL;
    req->due = 0;
    req->due_next = NULL;
    if (req->abort_due) {
      /* (Told once; what it was waiting to write no longer matters.) */
      hw_abort_cb acb = req->abort_cb;
      req->abort_due = 0;
      req->abort_cb = NULL;
      if (acb != NULL && req->state == HW__REQ_RUNNING && req->route != NULL)
        hw__module_call_abort_cb(&req->route->site, acb, req,
                                 req->abort_arg);
      continue; /* it may be gone now */
    }
    if (!req->res.streaming || cb == NULL || req->state != HW__REQ_RUNNING ||
        req->aborted || req->route == NULL)
      continue;
    /* Once per HW_CONGESTED: a later write says it again if need be. */
    hw__module_call_writable(&req->route->site, cb, &req->res,
                             req->res.writable_arg);
  }
  if (core->due == NULL)
    uv_idle_stop(idle);
}

void hw__request_due(hw_request *req) {
  hw__request_core *core = req->core;
  if (req->due || core->stopped)
    return;
  if (core->idle == NULL) {
    core->idle = malloc(sizeof(*core->idle));
    if (core->idle == NULL)
      return;
    uv_idle_init(hw__module_current_loop(), core->idle);
    core->idle->data = core;
  }
  req->due = 1;
  req->due_next = NULL;
  if (core->due_tail != NULL)
    core->due_tail->due_next = req;
  else
    core->due = req;
  core->due_tail = req;
  uv_idle_start(core->idle, on_idle);
}

static void free_handle(uv_handle_t *h) {
  free(h);
}

void hw__request_core_stop(hw__request_core *core) {
  if (core->idle != NULL)
    uv_close((uv_handle_t *)core->idle, free_handle);
  core->idle = NULL;
  core->stopped = 1;
}

static void run_free_callbacks(struct hw_response *res) {
  for (size_t i = 0; i < res->nrefs; i++) {
    if (res->refs[i].free_cb != NULL)
      hw__module_call_free_cb(res->refs[i].free_cb, res->refs[i].arg);
    if (res->refs[i].fd >= 0)
      close(res->refs[i].fd); /* a file region's own descriptor */
  }
  res->nrefs = 0;
}

hw__ref *hw__request_ref(struct hw_response *res) {
  hw__ref *ref;
  if (hw__buf_array_room((void **)&res->refs, &res->refs_cap, res->nrefs,
                         sizeof(*res->refs), 4) != 0)
    return NULL;
  ref = &res->refs[res->nrefs++];
  memset(ref, 0, sizeof(*ref));
  ref->at = res->body.len;
  ref->fd = -1;
  return ref;
}

void hw__request_reset_body(hw_request *req) {
  struct hw_response *res = &req->res;
  run_free_callbacks(res);
  res->body.len = 0;
  res->body_len = 0;
}

void hw__request_reset_response(hw_request *req) {
  struct hw_response *res = &req->res;
  hw__request_reset_body(req);
  res->status = 200;
  res->headers.len = 0;
  res->streaming = res->congested = res->broken = 0;
}

static void free_scratch(hw_request *req) {
  void *p = req->scratch;
  while (p != NULL) {
    void *next = *(void **)p;
    free(p);
    p = next;
  }
  req->scratch = NULL;
}

static void unpin(hw_request *req) {
  hw__generation *g = req->gen;
  if (g == NULL)
    return;
  if (req->gprev != NULL)
    req->gprev->gnext = req->gnext;
  else
    g->reqs = req->gnext;
  if (req->gnext != NULL)
    req->gnext->gprev = req->gprev;
  req->gprev = req->gnext = NULL;
  req->gen = NULL;
  g->live--;
}

/* Takes the request off the core's list of writable callbacks. */
static void undue(hw_request *req) {
  hw__request_core *core = req->core;
  hw_request **pp = &core->due, *prev = NULL;
  while (*pp != NULL && *pp != req) {
    prev = *pp;
    pp = &(*pp)->due_next;
  }
  if (*pp == req) {
    *pp = req->due_next;
    if (core->due_tail == req)
      core->due_tail = prev;
  }
  req->due = 0;
  req->due_next = NULL;
}

void hw__request_free(hw_request *req) {
  hw__request_core *core = req->core;

  /* Work or a file read still refers to it: it goes when they are done. */
  if (req->holds > 0) {
    req->free_wanted = 1;
    req->owner = NULL;
    return;
  }
  /* A request whose head never ended was no request: a connection that
   * closed between requests, or mid-head without an answer. */
  if (req->state != HW__REQ_HEAD) {
#ifndef HW_NO_METRICS
    count_request(req);
#endif
    if (__builtin_expect(core->access_log != NULL, 0))
      log_request(req, uv_hrtime());
  }
  if (req->due)
    undue(req);
  if (req->res.nrefs != 0)
    run_free_callbacks(&req->res);
  free_scratch(req);
  unpin(req);
  if (core->nfree >= POOL_MAX) {
    release(req);
    return;
  }
  /* Clear everything but the reusable memory, which sits at the end. */
  memset(req, 0, offsetof(hw_request, res.declared));
  memset(&req->msg, 0, offsetof(hw__message, head));
  hw__buf_reset(&req->msg.head, KEEP_HEAD);
  hw__buf_reset(&req->body, KEEP_BODY);
  hw__buf_reset(&req->res.headers, KEEP_RESP);
  hw__buf_reset(&req->res.body, KEEP_RESP);
  if (req->msg.fields_cap > KEEP_FIELDS) {
    free(req->msg.fields);
    req->msg.fields = NULL;
    req->msg.fields_cap = 0;
  }
  req->core = core;
  req->next = core->free_reqs;
  core->free_reqs = req;
  core->nfree++;
}

void hw__request_route(hw_request *req) {
  hw__generation *g = req->core->gen;
  const hw__message *m = &req->msg;

  /* The request pins the generation it was routed with until it is freed,
   * so a reload never pulls a module out from under it; the generation
   * lists its requests so that a drain deadline can find them. */
  req->state = HW__REQ_BODY;
  req->gen = g;
  req->gprev = NULL;
  req->gnext = g->reqs;
  if (g->reqs != NULL)
    g->reqs->gprev = req;
  g->reqs = req;
  g->live++;
  if (!m->asterisk && !hw__request_health(req, g))
    req->route = hw__router_match(g->router, m->head.data + m->path.off,
                                  m->path.len, SIZE_MAX, &req->match_len);
  if (req->route == NULL)
    return;
  req->series = req->route->metrics;
  /* The first route's body mode is the request's (its module is called as
   * soon as the head is read). */
  if (req->route->body_stream) {
    req->body_stream = 1;
    req->body_cb = NULL;
    req->body_arg = NULL;
    req->body_seen = 0;
  }
}

int hw__request_body(hw_request *req, const char *data, size_t len) {
  /* A body without a declared size (chunked) is limited as it arrives. */
  if (req->body.len + len > hw__request_body_limit(req))
    return 413;
  if (hw__buf_append(&req->body, data, len) != 0)
    return 500;
  return 0;
}

void hw__request_respond(hw_request *req, int status, const char *fields,
                         size_t fields_len, int text) {
  size_t rlen;
  const char *reason = hw__status_reason(status, &rlen);
  char body[96];
  int n = text ? snprintf(body, sizeof(body), "%d %.*s\n", status, (int)rlen,
                          reason)
               : 0;

  hw__request_reset_response(req);
  req->res.status = status;
  if (n > 0)
    hw__buf_append(&req->res.headers, "Content-Type: text/plain\r\n", 26);
  if (fields != NULL)
    hw__buf_append(&req->res.headers, fields, fields_len);
  if (n > 0 && !req->msg.is_head)
    hw__buf_append(&req->res.body, body, (size_t)n);
  req->res.body_len = n > 0 ? (size_t)n : 0;
  req->state = HW__REQ_DONE;
}

/* The response is complete: its protocol writes it, or, when the client
 * has gone, nobody will. */
static void done(hw_request *req) {
  req->state = HW__REQ_DONE;
  if (req->owner != NULL)
    req->sink->ready(req);
  else
    hw__request_free(req);
}

/* Not a result a module returns: a decline refused (see dispatch). */
#define HW__DECLINED_WITH_WORK (-1000)

/* A module's handle() failed (HW_ERROR) or returned what is no
 * hw_handle_result: the client gets 500, and the log says which route and
 * module, at most once a second per route (a failing route under load
 * would otherwise write a line per request), with how many were not
 * reported in between. */
static void report_failure(hw__route *rt, int r) {
  uint64_t now = uv_hrtime();
  const char *file = strrchr(rt->module->path, '/');
  char what[64], more[64] = "";

  if (rt->failed_at != 0 && now - rt->failed_at < 1000000000u) {
    rt->failures_unreported++;
    return;
  }
  if (rt->failures_unreported > 0)
    snprintf(more, sizeof(more), " (and %u more since the last report)",
             rt->failures_unreported);
  if (r == HW_ERROR)
    snprintf(what, sizeof(what), "returned HW_ERROR");
  else if (r == HW__DECLINED_WITH_WORK)
    snprintf(what, sizeof(what), "declined with work queued");
  else
    snprintf(what, sizeof(what), "returned %d, which is no hw_handle_result",
             r);
  hw__log(HW_LOG_ERROR,
          "route %s (routes[%u], module \"%s\", %s): handle %s: answered "
          "500%s",
          rt->prefix, rt->site.route,
          rt->module->desc->name != NULL ? rt->module->desc->name : "?",
          file != NULL ? file + 1 : rt->module->path, what, more);
  rt->failed_at = now;
  rt->failures_unreported = 0;
}

int hw__request_dispatch(hw_request *req) {
  hw__route *rt = req->route;

  req->state = HW__REQ_RUNNING;
  while (rt != NULL) {
    hw_handle_result r;

    req->in_handle = 1;
    r = hw__module_handle(rt->module, &rt->site, rt->state, req, &req->res);
    req->in_handle = 0;
    switch (r) {
    case HW_HANDLED: req->state = HW__REQ_DONE; return 1;
    case HW_DEFERRED:
      if (req->finished_early) {
        req->state = HW__REQ_DONE;
        return 1;
      }
      req->deferred = 1;
      return 0;
    case HW_DECLINED:
      /* Work the declining module queued would answer for the next
       * route: the request is its, an error. */
      if (req->holds > 0) {
        report_failure(rt, HW__DECLINED_WITH_WORK);
        hw__request_respond(req, 500, NULL, 0, 1);
        return 1;
      }
      /* Fall through to the next shorter prefix of the same generation
       * (a finish() the declining module made counts for nothing, nor do
       * the callbacks it gave). */
      req->finished_early = 0;
      req->abort_cb = NULL;
      if (req->body_stream) {
        req->body_cb = NULL;
        req->body_paused = 0;
      }
      hw__request_reset_response(req);
      rt = hw__router_match(req->gen->router,
                            req->msg.head.data + req->msg.path.off,
                            req->msg.path.len, req->match_len, &req->match_len);
      req->route = rt;
      req->series = rt != NULL ? rt->metrics : NULL;
      continue;
    case HW_ERROR:
    default:
      report_failure(rt, r);
      hw__request_respond(req, 500, NULL, 0, 1);
      return 1;
    }
  }
  if (req->health) /* no route was asked: the core answers health_route */
    return hw__request_health_answer(req);
  /* Nothing answered: 404, or 501 for a method outside RFC 9110's set,
   * which no route here implements (RFC 9110 section 15.6.2). */
  hw__request_respond(req, hw__method_standard(req->msg.method_id) ? 404 : 501,
                      NULL, 0, 1);
  return 1;
}

int hw__request_finish(hw_request *req) {
  if (req->state != HW__REQ_RUNNING)
    return HW_ESTATE;
  if (req->in_handle) {
    /* finish() before handle() returned HW_DEFERRED: the module answered
     * synchronously after all; dispatch completes it on return.  The
     * response is over: a second finish, or a write, is refused. */
    if (req->finished_early)
      return HW_ESTATE;
    req->finished_early = 1;
    return 0;
  }
  if (!req->deferred)
    return HW_ESTATE;
  req->abort_cb = NULL;
  done(req);
  return 0;
}

/* Tells the module its client has gone (or is going), once, from the loop
 * (see on_idle); synchronously only once the loop is ending. */
static void tell_abort(hw_request *req) {
  hw_abort_cb cb = req->abort_cb;
  if (cb == NULL)
    return;
  if (!req->core->stopped) {
    req->abort_due = 1;
    hw__request_due(req);
    if (req->due)
      return;
    req->abort_due = 0; /* no memory for the handle: at once, then */
  }
  req->abort_cb = NULL;
  hw__module_call_abort_cb(&req->route->site, cb, req, req->abort_arg);
}

void hw__request_orphan(hw_request *req) {
  req->owner = NULL;
  req->aborted = 1;
  if (req->state == HW__REQ_RUNNING && req->deferred) {
    tell_abort(req);
    return; /* freed when the module calls finish */
  }
  hw__request_free(req);
}

void hw__request_hangup(hw_request *req) {
  /* A module built before ABI 1.3 was promised on_abort only when its
   * client had gone. */
  if (req->state != HW__REQ_RUNNING || !req->deferred || req->hung_up ||
      req->route == NULL || req->route->module->desc->abi_minor < 3)
    return;
  req->hung_up = 1;
  tell_abort(req);
}

void hw__request_cancel_generation(hw__generation *g) {
  while (g->reqs != NULL) {
    hw_request *req = g->reqs;
    if (req->owner != NULL)
      req->sink->cancel(req); /* orphans (or frees) it */
    if (g->reqs == req) {
      /* Still held by its module: the generation goes anyway. */
      req->cancelled_gen = g->id;
      unpin(req);
    }
  }
}

int hw__request_peer(const hw_request *req, char *buf, size_t len) {
  if (req->owner == NULL)
    return UV_ENOTCONN;
  return req->sink->peer(req, buf, len);
}

int hw__request_tls(const hw_request *req, hw__transport_tls *out) {
  if (req->owner == NULL)
    return UV_ENOTCONN;
  return req->sink->tls != NULL ? req->sink->tls(req, out) : UV_ENOTSUP;
}

int hw__request_proxy(const hw_request *req, hw__transport_proxy *out) {
  if (req->owner == NULL)
    return UV_ENOTCONN;
  return req->sink->proxy != NULL ? req->sink->proxy(req, out) : UV_ENOTSUP;
}
