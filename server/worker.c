/*
 * worker.c - a worker: one loop, its listeners, connections, request core
 * and generations (see worker.h).
 *
 * Shutdown closes the listeners and then lets every connection finish (or
 * closes them, which aborts deferred requests: their modules are told),
 * then waits a bounded time for the last request before finalising the
 * modules, so that no module is finalised while it still holds a request.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "h1.h"
#include "h2.h"
#include "os.h"
#include "proto_select.h"
#include "h1_response.h"
#include "host.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "process.h"
#include "procenv.h"
#include "tickets.h"
#include "upgrade.h"
#include "stack.h"
#include "work.h"
#include "worker.h"

#define STOP_GRACE_MS 2000

/* What the counters say of this worker: the generation it serves and how
 * many retired ones it still holds. */
static void publish(hw__worker *w) {
  hw__metrics_slot *m = w->core.metrics;
  size_t n = 0;

  if (m == NULL)
    return;
  for (const hw__generation *g = w->drain.retired; g != NULL; g = g->next)
    n++;
  hw__metrics_set(&m->generation, w->gen->id);
  hw__metrics_set(&m->draining, n);
}

/* Milliseconds to just past the next wall-clock second: the Date field
 * changes with the second rather than up to a second after it (a file
 * written this second would otherwise have a Last-Modified later than the
 * Date, which RFC 9110 section 8.8.2.1 forbids). */
static uint64_t to_next_second(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)(1000 - ts.tv_nsec / 1000000) + 1;
}

static void on_date_timer(uv_timer_t *t) {
  hw__h1_response_update_date();
  publish(t->data);
  uv_timer_start(t, on_date_timer, to_next_second(), 0);
}

/* The connection limit: the configured one, but never more than the
 * descriptors this process may open, less a margin for everything else
 * (listeners, module files, the preflight's pipes). */
static size_t connection_limit(const hw__config *cfg) {
  uint64_t nofile = hw__procenv_nofile(); /* 0: no such limit */
  size_t max = cfg->limit_connections;
  if (nofile != 0) {
    size_t fit = nofile > 128 ? (size_t)nofile - 64 : 64;
    if (fit < max)
      max = fit;
  }
  return max > 0 ? max : 1;
}

static void on_conn_closed(hw__conn_set *s);

/* Points a generation (before it serves) at the files its requests are
 * logged to: its own for requests no route answered or that were refused
 * before routing, each route's (the top level's unless it names another,
 * none for "access_log": false).  A path is opened the first time a
 * generation names it and kept open for the worker's life: a reload that
 * names a path again finds it open, and one the config no longer names
 * costs a descriptor until the worker ends. */
static void attach_logs(hw__worker *w, hw__generation *g) {
  const hw__config *cfg = g->config;
  int any = 0;

  g->access_log = NULL;
  if (cfg->access_log.mode == HW__ALOG_ON)
    g->access_log = hw__access_log_open(&w->alog, cfg->access_log.path,
                                        cfg->access_log.json);
  any |= g->access_log != NULL;
  for (size_t i = 0; i < g->nroutes; i++) {
    const hw__config_alog *a = &cfg->routes[i].access_log;
    hw__access_file *f = g->access_log;
    if (a->mode == HW__ALOG_OFF)
      f = NULL;
    else if (a->mode == HW__ALOG_ON)
      f = hw__access_log_open(&w->alog, a->path, a->json);
    g->routes[i].access_log = f;
    any |= f != NULL;
  }
  /* Requests are timed and logged from now on (a generation without a
   * log still checks, per request, where its lines go: nowhere). */
  if (any)
    w->core.access_log = &w->alog;
}

/* Points a generation's routes (before it serves) at their series in this
 * worker's counters: a prefix a past generation had keeps its series. */
static void attach_metrics(hw__worker *w, hw__generation *g) {
  hw__metrics_slot *m = w->core.metrics;

  for (size_t i = 0; i < g->nroutes; i++)
    g->routes[i].metrics =
        m != NULL ? hw__metrics_series_for(m, g->routes[i].prefix,
                                           g->routes[i].prefix_len)
                  : NULL;
}

int hw__worker_init(hw__worker *w, uv_loop_t *loop, hw__generation *gen) {
  hw__reloader rl = w->reload; /* set up by the caller before the build */
  int id = w->id;
  char *upgrade_record = w->upgrade_record;
  int r;

  memset(w, 0, sizeof(*w));
  w->reload = rl;
  w->id = id;
  w->upgrade_record = upgrade_record;
  w->loop = loop;
  w->gen = gen;
  /* libuv sizes its pool when the process first queues work: now. */
  hw__work_configure(gen->config->thread_pool);
  hw__request_core_init(&w->core, gen);
#ifndef HW_NO_METRICS
  w->core.metrics = hw__metrics_mine();
#endif
  hw__access_log_init(&w->alog, loop, id);
  attach_logs(w, gen);
  attach_metrics(w, gen);
  hw__h1_env_init(&w->h1, &w->core);
  if ((r = hw__h2_env_init(&w->h2, &w->core, loop, &hw__h2_hooks)) != 0)
    return r;
  /* Plain listeners with "http2" take its preface; over TLS, ALPN says. */
  hw__proto_select_init(&w->sel_plain, &hw__h1_proto, &w->h1, &hw__h2_proto,
                        &w->h2, 1);
  hw__proto_select_init(&w->sel_tls, &hw__h1_proto, &w->h1, &hw__h2_proto,
                        &w->h2, 0);
  w->stack = (hw__stack){.h1 = &hw__h1_proto,
                         .h1_env = &w->h1,
                         .sel_plain = &w->sel_plain.proto,
                         .sel_plain_env = &w->sel_plain,
                         .sel_tls = &w->sel_tls.proto,
                         .sel_tls_env = &w->sel_tls,
                         .metrics = w->core.metrics};
  if ((r = hw__conn_set_init(&w->conns, loop, gen->config)) != 0)
    return r;
  w->conns.on_closed = on_conn_closed;
  w->conns.owner = w;
  w->conns.metrics = w->core.metrics;
  hw__drain_init(&w->drain, loop, &w->core);
  w->drain.drain_ms = gen->config->drain_ms;
  w->max_conns = connection_limit(gen->config);
  hw__module_serve_on(loop);
  hw__h1_response_update_date();
  uv_timer_init(loop, &w->date_timer);
  w->date_timer.data = w;
  uv_timer_start(&w->date_timer, on_date_timer, to_next_second(), 0);
  publish(w);
  /* The clock must not keep the loop alive on its own. */
  uv_unref((uv_handle_t *)&w->date_timer);
  uv_timer_init(loop, &w->stop_timer);
  return 0;
}

/* ---- accepting ---------------------------------------------------------- */

static void free_handle(uv_handle_t *h) { free(h); }

/* Takes the next connection from `server` and closes it (it cannot be
 * served; left in the backlog, it would stop libuv watching the
 * listener). */
static void refuse(hw__worker *w, uv_stream_t *server) {
  uv_tcp_t *c = malloc(sizeof(*c));
  if (c == NULL)
    return;
  uv_tcp_init(w->loop, c);
  uv_accept(server, (uv_stream_t *)c);
  uv_close((uv_handle_t *)c, free_handle);
}

/* Accepts on listener `server` with what it speaks now (stack.c). */
static void accept_on(hw__worker *w, uv_stream_t *server) {
  size_t i = (size_t)((uv_tcp_t *)server - w->listeners);
  void *env = NULL;
  const hw__proto *p =
      hw__stack_choose(&w->stack, w->gen, i, (uv_tcp_t *)server, &env);
  if (p == NULL)
    refuse(w, server);
  else
    hw__conn_accept(&w->conns, server, p, env);
}

static void on_connection(uv_stream_t *server, int status) {
  hw__worker *w = server->data;
  if (status < 0) {
    hw__log(HW_LOG_WARN, "accept: %s", uv_strerror(status));
    return;
  }
  /* At the limit, the connection is left unaccepted: libuv then stops
   * watching this listener, and later connections wait in the kernel's
   * backlog until one closes (on_conn_closed). */
  if (w->conns.n >= w->max_conns) {
    if (!w->accept_paused) {
      hw__log(HW_LOG_WARN,
              "%zu connections: the limit; new ones wait in the backlog",
              w->conns.n);
      if (w->core.metrics != NULL)
        hw__metrics_add(&w->core.metrics->paused, 1);
    }
    w->accept_paused = 1;
    w->held[(uv_tcp_t *)server - w->listeners] = 1;
    return;
  }
  accept_on(w, server);
}

static void on_conn_closed(hw__conn_set *s) {
  hw__worker *w = s->owner;
  if (!w->accept_paused || s->n >= w->max_conns || w->stopping)
    return;
  w->accept_paused = 0;
  /* Each paused listener holds one accepted socket; taking it restarts
   * libuv's watching of that listener. */
  for (size_t i = 0; i < w->nlisteners; i++) {
    uv_tcp_t *l = &w->listeners[i];
    if (w->held[i] && !uv_is_closing((uv_handle_t *)l)) {
      w->held[i] = 0;
      accept_on(w, (uv_stream_t *)l);
    }
  }
}

/* Listens on an open socket, or (HW__LISTEN_NONE) on the one the master
 * handed over with a control message; the listener is the worker's. */
static int listen_on(hw__worker *w, uv_os_sock_t fd, char *err,
                     size_t err_len) {
  uv_tcp_t *l = &w->listeners[w->nlisteners];
  int r;

  if (fd != HW__LISTEN_NONE)
    uv_tcp_init(w->loop, l);
  w->nlisteners++;
  /* listen() again on a bound socket only sets the backlog, and lets
   * libuv watch it. */
  r = fd != HW__LISTEN_NONE ? uv_tcp_open(l, fd) : hw__listen_take(&w->ctl, l);
  l->data = w;
  if (r == 0)
    r = uv_listen((uv_stream_t *)l, (int)w->gen->config->limit_backlog,
                  on_connection);
  if (r != 0)
    snprintf(err, err_len, "cannot listen on socket %d: %s", (int)fd,
             uv_strerror(r));
  return r;
}

int hw__worker_listen(hw__worker *w, char *err, size_t err_len) {
  const hw__config *cfg = w->gen->config;
  char why[512];
  int r;

  w->listeners = calloc(cfg->nlisten ? cfg->nlisten : 1, sizeof(*w->listeners));
  w->held = calloc(cfg->nlisten ? cfg->nlisten : 1, 1);
  if (w->listeners == NULL || w->held == NULL || hw__stack_init(&w->stack, cfg->nlisten) != 0)
    return UV_ENOMEM;
  for (size_t i = 0; i < cfg->nlisten; i++) {
    char text[96];
    uv_os_sock_t fd;
    /* One process: the address is its alone (no SO_REUSEPORT group). */
    if ((r = hw__listen_open(&cfg->listen[i], -1, (int)cfg->limit_backlog, 0,
                             &fd, why, sizeof(why))) != 0) {
      snprintf(err, err_len, "%s: listen[%zu]: %s", cfg->path, i, why);
      return r;
    }
    if ((r = listen_on(w, fd, err, err_len)) != 0) {
      hw__listen_close(fd);
      return r;
    }
    hw__listen_bound(fd, text, sizeof(text));
    hw__log(HW_LOG_INFO, "listening on %s", text);
  }
  return 0;
}

int hw__worker_listen_fds(hw__worker *w, const int *fds, size_t n, char *err,
                          size_t err_len) {
  int r;
  w->listeners = calloc(n ? n : 1, sizeof(*w->listeners));
  w->held = calloc(n ? n : 1, 1);
  if (w->listeners == NULL || w->held == NULL || hw__stack_init(&w->stack, n) != 0)
    return UV_ENOMEM;
  for (size_t i = 0; i < n && !hw__listen_shared(); i++) /* see ctl_listen */
    if ((r = listen_on(w, (uv_os_sock_t)fds[i], err, err_len)) != 0)
      return r;
  return 0;
}

/* ---- stopping ----------------------------------------------------------- */

static void close_handle(uv_handle_t *h) {
  if (h->loop != NULL && !uv_is_closing(h))
    uv_close(h, NULL);
}

static size_t live_requests(const hw__worker *w) {
  return w->gen->live + hw__drain_live(&w->drain);
}

/* Module work queued or running, after cancelling what has not started. */
static size_t work_out(hw__worker *w) {
  size_t n = 0;
  hw__work_cancel_generation(w->gen);
  n += w->gen->work;
  for (hw__generation *g = w->drain.retired; g != NULL; g = g->next) {
    hw__work_cancel_generation(g);
    n += g->work;
  }
  return n;
}

static void finish_stop(hw__worker *w) {
  if (live_requests(w) != 0)
    hw__log(HW_LOG_WARN, "stopping with %zu request(s) still held by modules",
            live_requests(w));
  /* The modules stay loaded until the loop has ended: fini may have closed
   * handles whose close callbacks are module code. */
  hw__generation_fini(w->gen);
  /* Closing the signal handles below restores the default actions: a late
   * SIGUSR1 (a logrotate) would end the process mid-exit. */
  hw__process_block_signals(1);
  hw__drain_stop(&w->drain);
  hw__conn_set_stop(&w->conns);
  hw__request_core_stop(&w->core);
  hw__h2_env_stop(&w->h2);
  hw__access_log_stop(&w->alog); /* (destroy writes what comes after) */
  uv_timer_stop(&w->stop_timer);
  close_handle((uv_handle_t *)&w->stop_timer);
  close_handle((uv_handle_t *)&w->date_timer);
  hw__tickets_stop(); /* a single process rotates its own keys */
  hw__signals_close(w->sig);
  w->sig = NULL;
  hw__reload_close(&w->reload);
}

static void on_stop_timer(uv_timer_t *t) {
  hw__worker *w = hw__bytes_container_of(t, hw__worker, stop_timer);
  uint64_t now = uv_now(w->loop);

  /* Graceful: connections finish what they have, bounded by the drain
   * timeout; then whatever is left is closed. */
  if (w->stopping == HW__WORKER_DRAINING) {
    if (w->conns.n > 0 && now < w->stop_deadline)
      return;
    if (w->conns.n > 0)
      hw__log(HW_LOG_WARN, "drain timeout: closing %zu connection(s)",
              w->conns.n);
    hw__conn_close_all(&w->conns);
    w->stopping = HW__WORKER_STOPPING;
    w->stop_deadline = now + STOP_GRACE_MS;
  }
  /* Closing a connection aborts its deferred requests; their modules are
   * told and finish them, which is what this waits for. */
  if (live_requests(w) != 0 && now < w->stop_deadline)
    return;
  /* Module work that has not started never will; work on a thread cannot
   * be stopped, and its module must stay initialised until its done
   * callback has run: fini waits for it, up to timeouts_ms.drain more.
   * Work that never returns would keep the loop alive for ever: past that,
   * the process ends without finalising its modules, and says why. */
  if (work_out(w) != 0) {
    if (now < w->stop_deadline + w->gen->config->drain_ms)
      return;
    hw__log(HW_LOG_ERROR,
            "stopping: %zu module work item(s) still on the thread pool "
            "%llu ms after the stop; exiting without finalising the modules",
            work_out(w), (unsigned long long)w->gen->config->drain_ms);
    hw__access_log_flush(&w->alog);
    _exit(1);
  }
  finish_stop(w);
}

void hw__worker_stop(hw__worker *w, int graceful, const char *why) {
  if (w->stopping)
    return;
  hw__log(HW_LOG_INFO, "%s: %s", why,
          graceful == HW__WORKER_STOP_SOFT
              ? "not accepting; finishing requests, keep-alive connections "
                "close after their next response or keep-alive timeout"
          : graceful ? "finishing requests, then shutting down"
                     : "shutting down");
  w->reload.stopping = 1;
  if (w->id == 0) /* a single process: the service's stop */
    hw__notify_stopping();
  for (size_t i = 0; i < w->nlisteners; i++)
    close_handle((uv_handle_t *)&w->listeners[i]);
  close_handle((uv_handle_t *)&w->ctl);
  if (graceful) {
    w->stopping = HW__WORKER_DRAINING;
    w->stop_deadline = uv_now(w->loop) + w->gen->config->drain_ms;
    w->h1.soft_drain = graceful == HW__WORKER_STOP_SOFT;
    hw__conn_drain_all(&w->conns, graceful == HW__WORKER_STOP_SOFT
                                      ? HW__CONN_DRAIN_SOFT
                                      : HW__CONN_DRAIN_HARD);
  } else {
    w->stopping = HW__WORKER_STOPPING;
    hw__conn_close_all(&w->conns);
    w->stop_deadline = uv_now(w->loop) + STOP_GRACE_MS;
  }
  uv_timer_start(&w->stop_timer, on_stop_timer, 0, 10);
}

/* SIGUSR1 (haywire -s reopen, or the master passing it on): the access
 * log files logrotate has renamed are flushed and opened anew.  stderr
 * belongs to whoever started the server and is not reopened. */
static void on_reopen(hw__worker *w) {
  size_t n = hw__access_log_reopen(&w->alog);
  hw__log(HW_LOG_INFO, "%s: %zu access log file(s) reopened",
          hw__signals_cmd_name(HW__SIGNALS_REOPEN), n);
}

static void on_notice_over(uv_timer_t *t) {
  hw__worker *w = hw__bytes_container_of(t, hw__worker, stop_timer);
  hw__worker_stop(w, 1, "drain notice over");
}

static void on_command(void *arg, int cmd) {
  hw__worker *w = arg;
  const hw__config *cfg = w->gen->config;

  if (cmd == HW__SIGNALS_REOPEN) {
    on_reopen(w);
    return;
  }
  if (cmd == HW__SIGNALS_UPGRADE) { /* it needs a master: refused */
    hw__upgrade_refuse(w->upgrade_record);
    return;
  }
  if (cmd == HW__SIGNALS_RELOAD) { /* a single process's */
    hw__reload_request(&w->reload);
    return;
  }

  /* SIGTERM with timeouts_ms.drain_notice: first the notice (the health
   * route answers 503, everything else is served, connections are still
   * accepted) so that a balancer takes this instance out; then the stop.
   * A second SIGTERM changes nothing; SIGQUIT or SIGINT cut it short
   * (a master sends none of them once it is stopping). */
  if (cmd == HW__SIGNALS_TERM && !w->stopping && cfg->drain_notice_ms > 0) {
    if (w->core.notice)
      return;
    w->core.notice = 1;
    hw__log(HW_LOG_INFO, "%s: drain notice: %s answers 503 for %llu ms, "
            "then finishing requests", hw__signals_cmd_name(cmd),
            cfg->health_route,
            (unsigned long long)cfg->drain_notice_ms);
    uv_timer_start(&w->stop_timer, on_notice_over, cfg->drain_notice_ms, 0);
    return;
  }
  /* SIGINT is the impatient one; SIGTERM and SIGQUIT let requests finish. */
  hw__worker_stop(w, cmd != HW__SIGNALS_STOP, hw__signals_cmd_name(cmd));
}

/* ---- generations -------------------------------------------------------- */

int hw__worker_swap(hw__worker *w, hw__config *cfg, unsigned id, char *err,
                    size_t err_len) {
  hw__generation *g, *old = w->gen;
  int r = hw__generation_build(cfg, id, &hw__host, &g, err, err_len);

  if (r != 0)
    return r; /* the build has already unloaded what it loaded */
  attach_logs(w, g);
  attach_metrics(w, g);
  /* The swap: requests routed from now on use the new generation; those
   * already routed keep the one they pinned. */
  if (g->config->thread_pool != old->config->thread_pool)
    hw__log(HW_LOG_WARN,
            "thread_pool %u takes effect when the server restarts "
            "(%u threads now)",
            g->config->thread_pool,
            old->config->thread_pool);
  w->gen = g;
  hw__request_core_set_generation(&w->core, g);
  hw__h1_env_update(&w->h1);
  hw__h2_env_update(&w->h2);
  hw__conn_set_config(&w->conns, g->config);
  w->drain.drain_ms = g->config->drain_ms;
  hw__drain_retire(&w->drain, old);
  publish(w);
  return 0;
}

/* A single process applies a checked reload itself. */
static void single_checked(hw__reloader *rl, hw__config *cfg, unsigned id) {
  hw__worker *w = rl->owner;
  char err[4096];

  if (hw__worker_swap(w, cfg, id, err, sizeof(err)) != 0) {
    /* The preflight passed, so this is rare: the module behaves differently
     * in the server than in the checker. */
    hw__reload_finished(rl, 0, err);
    return;
  }
  hw__log(HW_LOG_INFO,
          "reload: generation %u active (%zu routes, %zu modules) in %.1f ms",
          id, w->gen->nroutes, w->gen->nmodules,
          (double)(uv_hrtime() - rl->started) / 1e6);
  hw__reload_finished(rl, 1, NULL);
}

/* A retired generation of a single process is gone: so are its copies. */
static void on_released(hw__drain *d, unsigned id) {
  hw__worker *w = d->owner;
  hw__reload_unstage(&w->reload, id);
}

int hw__worker_run(hw__worker *w) {
  hw__reloader *rl = &w->reload;

  char err[512];
  int r = 0;

  if (w->sig == NULL)
    w->sig = hw__signals_new(w->loop, on_command, w);
  if (w->sig == NULL)
    return 1;
  hw__signals_watch(w->sig, HW__SIGNALS_BIT(HW__SIGNALS_REOPEN) |
                                HW__SIGNALS_BIT(HW__SIGNALS_STOP) |
                                HW__SIGNALS_BIT(HW__SIGNALS_TERM) |
                                HW__SIGNALS_BIT(HW__SIGNALS_QUIT));
  rl->loop = w->loop;
  rl->last_id = w->gen->id;
  /* A worker under a master is reloaded by it; a single process listens
   * for SIGHUP itself, and keeps the addresses in force beyond
   * generation 1's config, which a reload frees. */
  if (rl->run_dir != NULL) {
    rl->owner = w;
    rl->on_checked = single_checked;
    if (hw__reload_keep_listen(rl, w->gen->config) != 0)
      hw__log(HW_LOG_WARN, "out of memory: reloads cannot keep \"listen\"");
    w->drain.owner = w;
    w->drain.released = on_released;
    /* SIGHUP reloads it (hw__reload_request), SIGUSR2 is refused. */
    hw__signals_watch(w->sig, HW__SIGNALS_BIT(HW__SIGNALS_RELOAD) |
                                  HW__SIGNALS_BIT(HW__SIGNALS_UPGRADE));
    if ((r = hw__signals_serve(w->sig, err, sizeof(err))) != 0) {
      hw__log(HW_LOG_ERROR, "%s", err);
      hw__worker_stop(w, HW__WORKER_STOP_NOW, "no command channel");
    }
  }
  hw__process_block_signals(0); /* the handlers are in place */
  uv_run(w->loop, UV_RUN_DEFAULT);
  return r != 0;
}

int hw__worker_abandon(hw__worker *w) {
  for (size_t i = 0; i < w->nlisteners; i++)
    close_handle((uv_handle_t *)&w->listeners[i]);
  close_handle((uv_handle_t *)&w->ctl);
  hw__generation_fini(w->gen);
  hw__drain_stop(&w->drain);
  hw__conn_set_stop(&w->conns);
  hw__request_core_stop(&w->core);
  hw__h2_env_stop(&w->h2);
  hw__access_log_stop(&w->alog);
  close_handle((uv_handle_t *)&w->date_timer);
  hw__tickets_stop();
  close_handle((uv_handle_t *)&w->stop_timer);
  uv_run(w->loop, UV_RUN_DEFAULT);
  hw__worker_destroy(w); /* unloads the modules */
  uv_loop_close(w->loop);
  return 1;
}

void hw__worker_destroy(hw__worker *w) {
  hw__drain_destroy(&w->drain);
  if (w->gen != NULL) {
    unsigned id = w->gen->id;
    hw__generation_free(w->gen);
    w->gen = NULL;
    hw__reload_unstage(&w->reload, id);
  }
  hw__reload_destroy(&w->reload);
  free(w->upgrade_record);
  w->upgrade_record = NULL;
  hw__request_core_destroy(&w->core);
  hw__access_log_destroy(&w->alog); /* the last lines */
  hw__conn_set_destroy(&w->conns);
  hw__h2_env_destroy(&w->h2);
  hw__stack_destroy(&w->stack);
  free(w->listeners);
  w->listeners = NULL;
  free(w->held);
  w->held = NULL;
  hw__buf_free(&w->ctl_in);
  if (w->note != NULL) {
    hw__module_note_attach(NULL);
    hw__module_note_close(w->note);
    w->note = NULL;
  }
  hw__module_serve_on(NULL);
}

/* ---- under a master ------------------------------------------------------ */

/* "reload <id> <snapshot>": build that generation from the master's
 * snapshot (its modules are the master's private copies) and answer. */
static void ctl_reload(hw__worker *w, unsigned id, const char *path) {
  char err[4096];
  hw__config *cfg;
  uint64_t t0 = uv_hrtime();

  if (hw__config_load(path, &cfg, err, sizeof(err)) != 0 ||
      hw__worker_swap(w, cfg, id, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "generation %u failed here: %s", id, err);
    hw__control_send((uv_stream_t *)&w->ctl, HW__CONTROL_FAILED, id, err);
    return;
  }
  hw__log(HW_LOG_INFO, "generation %u active (%zu routes) in %.1f ms", id,
          w->gen->nroutes, (double)(uv_hrtime() - t0) / 1e6);
  hw__control_send((uv_stream_t *)&w->ctl, HW__CONTROL_RELOADED, id, NULL);
}

/* The command a control message stands for (0: none). */
static int command_of(int kind) {
  switch (kind) {
  case HW__CONTROL_STOP: return HW__SIGNALS_STOP;
  case HW__CONTROL_QUIT: return HW__SIGNALS_QUIT;
  case HW__CONTROL_TERM: return HW__SIGNALS_TERM;
  case HW__CONTROL_REOPEN: return HW__SIGNALS_REOPEN;
  default: return 0;
  }
}

/* "listen <i>" (where sockets are shared, hw__listen_shared): the socket
 * of address i travels with the message, and they come in order, right
 * after the start.  A worker without its sockets would serve nothing. */
static void ctl_listen(hw__worker *w, unsigned i) {
  char err[256] = "a listening socket out of order";
  if ((i != w->nlisteners || i >= w->gen->config->nlisten ||
       listen_on(w, HW__LISTEN_NONE, err, sizeof(err)) != 0) &&
      !w->stopping) {
    hw__log(HW_LOG_ERROR, "listen[%u]: %s", i, err);
    hw__worker_stop(w, HW__WORKER_STOP_NOW, "no listening socket");
  }
}

static void ctl_line(void *arg, char *line) {
  hw__worker *w = arg;
  hw__control_msg msg;

  if (hw__control_parse(line, &msg) != 0)
    msg.kind = -1;
  if (msg.kind == HW__CONTROL_RELOAD)
    ctl_reload(w, msg.id, msg.text);
  else if (msg.kind == HW__CONTROL_LISTEN)
    ctl_listen(w, msg.id);
  else if (msg.kind == HW__CONTROL_HANDOVER)
    hw__worker_stop(w, HW__WORKER_STOP_SOFT, "another master serves");
  else if (command_of(msg.kind) != 0) /* Windows: no signals */
    hw__signals_take(w->sig, command_of(msg.kind));
  else
    hw__log(HW_LOG_WARN, "unknown message from the master: %.80s", line);
}

static void ctl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  hw__worker *w = s->data;

  if (n < 0) {
    /* The master is gone: nobody supervises this worker any more, so it
     * finishes what it has and exits rather than linger. */
    hw__worker_stop(w, 1, "master gone");
    return;
  }
  hw__buf_lines(&w->ctl_in, buf->base, (size_t)n, ctl_line, w);
}

int hw__worker_attach(hw__worker *w, int fd, const char *note_file) {
  int r;

  if (note_file != NULL) {
    hw__module_note *p = hw__module_note_open(note_file);
    if (p != NULL) {
      w->note = p;
      hw__module_note_attach(p);
    }
  }
  /* An IPC pipe where the listening sockets come over it. */
  uv_pipe_init(w->loop, &w->ctl, hw__listen_shared());
  w->ctl.data = w;
  if ((r = uv_pipe_open(&w->ctl, fd)) != 0)
    return r;
  /* The control pipe alone must not keep the worker alive at exit. */
  uv_unref((uv_handle_t *)&w->ctl);
  uv_read_start((uv_stream_t *)&w->ctl, hw__buf_line_alloc, ctl_read);
  hw__control_send((uv_stream_t *)&w->ctl, HW__CONTROL_READY, w->gen->id, NULL);
  return 0;
}
