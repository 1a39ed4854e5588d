/*
 * worker.c - the worker: one libuv loop, its listening sockets, the cached
 * Date header, and a clean shutdown on SIGINT or SIGTERM.
 *
 * Shutdown closes the listeners and every connection first, which aborts
 * deferred requests (their modules are told), then waits a bounded time for
 * the generation's last request before finalising the modules, so that no
 * module is finalised while it still holds a request.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define READ_BUFFER_SIZE (64 * 1024)
#define LISTEN_BACKLOG 4096
#define STOP_GRACE_MS 2000

hw__worker *hw__current;

void hw__worker_update_date(hw__worker *w) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  /* IMF-fixdate (RFC 9110 section 5.6.7); strftime's %a and %b are the
   * English names because the server never calls setlocale. */
  w->date_len = strftime(w->date_line, sizeof(w->date_line),
                         "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

static void on_date_timer(uv_timer_t *t) {
  hw__worker_update_date(hw__container_of(t, hw__worker, date_timer));
}

int hw__worker_init(hw__worker *w, uv_loop_t *loop, hw__generation *gen) {
  hw__reloader rl = w->reload; /* set up by the caller before the build */
  memset(w, 0, sizeof(*w));
  w->reload = rl;
  w->loop = loop;
  w->gen = gen;
  w->limit_body = gen->config->limit_body;
  w->rbuf_size = READ_BUFFER_SIZE;
  w->rbuf = malloc(w->rbuf_size);
  if (w->rbuf == NULL)
    return UV_ENOMEM;
  hw__worker_update_date(w);
  uv_timer_init(loop, &w->date_timer);
  uv_timer_start(&w->date_timer, on_date_timer, 1000, 1000);
  /* The clock must not keep the loop alive on its own. */
  uv_unref((uv_handle_t *)&w->date_timer);
  hw__current = w;
  return 0;
}

static void on_connection(uv_stream_t *server, int status) {
  hw__worker *w = server->data;
  if (status < 0) {
    hw__log(HW_LOG_WARN, "accept: %s", uv_strerror(status));
    return;
  }
  hw__conn_accept(w, server);
}

static void addr_text(const struct sockaddr_storage *ss, char *buf,
                      size_t len) {
  char ip[64];
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(a, ip, sizeof(ip));
    snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    uv_ip4_name(a, ip, sizeof(ip));
    snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
  }
}

int hw__worker_listen(hw__worker *w, char *err, size_t err_len) {
  const hw__config *cfg = w->gen->config;
  int r;

  w->listeners = calloc(cfg->nlisten, sizeof(*w->listeners));
  if (w->listeners == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < cfg->nlisten; i++) {
    uv_tcp_t *l = &w->listeners[i];
    const struct sockaddr *sa = (const struct sockaddr *)&cfg->listen[i].addr;
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    char text[96];

    uv_tcp_init(w->loop, l);
    l->data = w;
    w->nlisteners++;
    /* An IPv6 socket takes only IPv6, so "[::]:80" and "0.0.0.0:80" can be
     * listed side by side. */
    r = uv_tcp_bind(l, sa, sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (r == 0)
      r = uv_listen((uv_stream_t *)l, LISTEN_BACKLOG, on_connection);
    if (r != 0) {
      snprintf(err, err_len, "%s: listen[%zu]: cannot listen on %s: %s",
               cfg->path, i, cfg->listen[i].text, uv_strerror(r));
      return r;
    }
    uv_tcp_getsockname(l, (struct sockaddr *)&bound, &blen);
    addr_text(&bound, text, sizeof(text));
    hw__log(HW_LOG_INFO, "listening on %s", text);
  }
  return 0;
}

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static size_t live_requests(const hw__worker *w) {
  size_t n = w->gen->live;
  for (const hw__generation *g = w->reload.retired; g != NULL; g = g->next)
    n += g->live;
  return n;
}

static void finish_stop(hw__worker *w) {
  if (w->gen != NULL) {
    if (live_requests(w) != 0)
      hw__log(HW_LOG_WARN,
              "stopping with %zu request(s) still held by modules",
              live_requests(w));
    /* The modules stay loaded until the loop has ended: fini may have
     * closed handles whose close callbacks are module code. */
    hw__generation_fini(w->gen);
  }
  hw__reload_stop(w);
  uv_timer_stop(&w->stop_timer);
  close_handle((uv_handle_t *)&w->stop_timer);
  close_handle((uv_handle_t *)&w->date_timer);
  close_handle((uv_handle_t *)&w->sig_int);
  close_handle((uv_handle_t *)&w->sig_term);
}

static void on_stop_timer(uv_timer_t *t) {
  hw__worker *w = hw__container_of(t, hw__worker, stop_timer);
  if (live_requests(w) == 0 || uv_now(w->loop) >= w->stop_deadline)
    finish_stop(w);
}

static void begin_stop(hw__worker *w, const char *why) {
  if (w->stopping)
    return;
  w->stopping = 1;
  hw__log(HW_LOG_INFO, "%s: shutting down", why);
  for (size_t i = 0; i < w->nlisteners; i++)
    close_handle((uv_handle_t *)&w->listeners[i]);
  /* Closing a connection aborts its deferred requests; their modules are
   * told and finish them, which is what the stop timer waits for. */
  while (w->conns != NULL)
    hw__conn_close(w->conns);
  w->stop_deadline = uv_now(w->loop) + STOP_GRACE_MS;
  uv_timer_start(&w->stop_timer, on_stop_timer, 0, 10);
}

static void on_signal(uv_signal_t *s, int signum) {
  hw__worker *w = s->data;
  begin_stop(w, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

int hw__worker_run(hw__worker *w) {
  uv_timer_init(w->loop, &w->stop_timer);
  uv_signal_init(w->loop, &w->sig_int);
  uv_signal_init(w->loop, &w->sig_term);
  w->sig_int.data = w->sig_term.data = w;
  uv_signal_start(&w->sig_int, on_signal, SIGINT);
  uv_signal_start(&w->sig_term, on_signal, SIGTERM);
  hw__reload_start(w);
  uv_run(w->loop, UV_RUN_DEFAULT);
  return 0;
}

void hw__worker_destroy(hw__worker *w) {
  hw__reload_destroy(w); /* every generation, and the run directory */
  hw__request_pool_drain(w);
  hw__wbatch_pool_drain(w);
  free(w->listeners);
  w->listeners = NULL;
  free(w->rbuf);
  w->rbuf = NULL;
  if (hw__current == w)
    hw__current = NULL;
}
