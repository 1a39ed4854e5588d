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

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define READ_BUFFER_SIZE (64 * 1024)
#define STOP_GRACE_MS 2000

hw__worker *hw__current;

void hw__worker_update_date(hw__worker *w) {
  static const char days[] = "SunMonTueWedThuFriSat";
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  time_t now = time(NULL);
  struct tm tm;
  char *o = w->host_lines;

  gmtime_r(&now, &tm);
  /* IMF-fixdate (RFC 9110 section 5.6.7), written by hand so that its
   * length is fixed whatever the locale:
   * "Sun, 06 Nov 1994 08:49:37 GMT". */
  memcpy(o, "Server: haywire\r\nDate: ", 23);
  o += 23;
  memcpy(o, days + 3 * (tm.tm_wday % 7), 3);
  o[3] = ',';
  o[4] = ' ';
  o[5] = (char)('0' + tm.tm_mday / 10);
  o[6] = (char)('0' + tm.tm_mday % 10);
  o[7] = ' ';
  memcpy(o + 8, months + 3 * (tm.tm_mon % 12), 3);
  o[11] = ' ';
  {
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000;
    o[12] = (char)('0' + year / 1000);
    o[13] = (char)('0' + year / 100 % 10);
    o[14] = (char)('0' + year / 10 % 10);
    o[15] = (char)('0' + year % 10);
  }
  o[16] = ' ';
  o[17] = (char)('0' + tm.tm_hour / 10);
  o[18] = (char)('0' + tm.tm_hour % 10);
  o[19] = ':';
  o[20] = (char)('0' + tm.tm_min / 10);
  o[21] = (char)('0' + tm.tm_min % 10);
  o[22] = ':';
  /* tm_sec can be 60 for a leap second, which IMF-fixdate allows. */
  o[23] = (char)('0' + tm.tm_sec / 10);
  o[24] = (char)('0' + tm.tm_sec % 10);
  memcpy(o + 25, " GMT\r\n", 6);
}

static void on_date_timer(uv_timer_t *t) {
  hw__worker_update_date(hw__container_of(t, hw__worker, date_timer));
}

static void on_sweep_timer(uv_timer_t *t) {
  hw__conn_sweep(hw__container_of(t, hw__worker, sweep_timer));
}

/* The connection limit: the configured one, but never more than the
 * descriptors this process may open, less a margin for everything else
 * (listeners, module files, the preflight's pipes). */
static size_t connection_limit(const hw__config *cfg) {
  struct rlimit rl;
  size_t max = cfg->limit_connections;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    size_t fit = rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 64 : 64;
    if (fit < max)
      max = fit;
  }
  return max > 0 ? max : 1;
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
  w->max_conns = connection_limit(gen->config);
  hw__worker_update_date(w);
  uv_timer_init(loop, &w->date_timer);
  uv_timer_start(&w->date_timer, on_date_timer, 1000, 1000);
  uv_timer_init(loop, &w->sweep_timer);
  uv_timer_start(&w->sweep_timer, on_sweep_timer, HW__SWEEP_MS, HW__SWEEP_MS);
  /* The clocks must not keep the loop alive on their own. */
  uv_unref((uv_handle_t *)&w->date_timer);
  uv_unref((uv_handle_t *)&w->sweep_timer);
  hw__current = w;
  return 0;
}

static void on_connection(uv_stream_t *server, int status) {
  hw__worker *w = server->data;
  if (status < 0) {
    hw__log(HW_LOG_WARN, "accept: %s", uv_strerror(status));
    return;
  }
  /* At the limit, the connection is left unaccepted: libuv then stops
   * watching this listener, and later connections wait in the kernel's
   * backlog until one closes (hw__worker_conn_closed). */
  if (w->nconns >= w->max_conns) {
    if (!w->accept_paused)
      hw__log(HW_LOG_WARN,
              "%zu connections: the limit; new ones wait in the backlog",
              w->nconns);
    w->accept_paused = 1;
    return;
  }
  hw__conn_accept(w, server);
}

void hw__worker_conn_closed(hw__worker *w) {
  if (!w->accept_paused || w->nconns >= w->max_conns || w->stopping)
    return;
  w->accept_paused = 0;
  /* Each paused listener holds one accepted socket; taking it restarts
   * libuv's watching of that listener. */
  for (size_t i = 0; i < w->nlisteners; i++) {
    uv_tcp_t *l = &w->listeners[i];
    if (l->accepted_fd != -1 && !uv_is_closing((uv_handle_t *)l))
      hw__conn_accept(w, (uv_stream_t *)l);
  }
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
      r = uv_listen((uv_stream_t *)l, (int)cfg->limit_backlog, on_connection);
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
  close_handle((uv_handle_t *)&w->sweep_timer);
  close_handle((uv_handle_t *)&w->sig_int);
  close_handle((uv_handle_t *)&w->sig_term);
  close_handle((uv_handle_t *)&w->sig_quit);
}

static void on_stop_timer(uv_timer_t *t) {
  hw__worker *w = hw__container_of(t, hw__worker, stop_timer);
  uint64_t now = uv_now(w->loop);

  /* Graceful: connections finish what they have, bounded by the drain
   * timeout; then whatever is left is closed. */
  if (w->stopping == HW__STOP_DRAIN) {
    if (w->nconns > 0 && now < w->stop_deadline)
      return;
    if (w->nconns > 0)
      hw__log(HW_LOG_WARN, "drain timeout: closing %zu connection(s)",
              w->nconns);
    while (w->conns != NULL)
      hw__conn_close(w->conns);
    w->stopping = HW__STOP_NOW;
    w->stop_deadline = now + STOP_GRACE_MS;
  }
  /* Closing a connection aborts its deferred requests; their modules are
   * told and finish them, which is what this waits for. */
  if (live_requests(w) == 0 || now >= w->stop_deadline)
    finish_stop(w);
}

void hw__worker_stop(hw__worker *w, int graceful, const char *why) {
  if (w->stopping)
    return;
  hw__log(HW_LOG_INFO, "%s: %s", why,
          graceful ? "finishing requests, then shutting down"
                   : "shutting down");
  w->reload.stopping = 1;
  for (size_t i = 0; i < w->nlisteners; i++)
    close_handle((uv_handle_t *)&w->listeners[i]);
  if (w->ctl.loop != NULL)
    close_handle((uv_handle_t *)&w->ctl);
  if (graceful) {
    hw__conn *c = w->conns;
    w->stopping = HW__STOP_DRAIN;
    w->stop_deadline = uv_now(w->loop) + w->gen->config->drain_ms;
    while (c != NULL) {
      hw__conn *next = c->next;
      hw__conn_drain(c); /* may close it, unlinking it from the list */
      c = next;
    }
  } else {
    w->stopping = HW__STOP_NOW;
    while (w->conns != NULL)
      hw__conn_close(w->conns);
    w->stop_deadline = uv_now(w->loop) + STOP_GRACE_MS;
  }
  uv_timer_start(&w->stop_timer, on_stop_timer, 0, 10);
}

static void on_signal(uv_signal_t *s, int signum) {
  hw__worker *w = s->data;
  /* SIGINT is the impatient one; SIGTERM and SIGQUIT let requests finish. */
  hw__worker_stop(w, signum != SIGINT,
                  signum == SIGINT    ? "SIGINT"
                  : signum == SIGQUIT ? "SIGQUIT"
                                      : "SIGTERM");
}

int hw__worker_run(hw__worker *w) {
  uv_timer_init(w->loop, &w->stop_timer);
  uv_signal_init(w->loop, &w->sig_int);
  uv_signal_init(w->loop, &w->sig_term);
  uv_signal_init(w->loop, &w->sig_quit);
  w->sig_int.data = w->sig_term.data = w->sig_quit.data = w;
  uv_signal_start(&w->sig_int, on_signal, SIGINT);
  uv_signal_start(&w->sig_term, on_signal, SIGTERM);
  uv_signal_start(&w->sig_quit, on_signal, SIGQUIT);
  hw__reload_start(w);
  hw__signals_block(0); /* the handlers are in place */
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
  hw__buf_free(&w->ctl_in);
  if (w->slot != NULL) {
    munmap((void *)w->slot, sizeof(hw__slot_state));
    w->slot = NULL;
  }
  if (hw__current == w)
    hw__current = NULL;
}

void hw__signals_block(int block) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGQUIT);
  sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* ---- under a master ---------------------------------------------------- */

int hw__worker_listen_fds(hw__worker *w, const int *fds, size_t n, char *err,
                          size_t err_len) {
  int r;

  w->listeners = calloc(n ? n : 1, sizeof(*w->listeners));
  if (w->listeners == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    uv_tcp_t *l = &w->listeners[i];
    uv_tcp_init(w->loop, l);
    l->data = w;
    w->nlisteners++;
    /* The master bound and listened; listen() again only sets the backlog
     * and lets libuv watch the socket. */
    r = uv_tcp_open(l, fds[i]);
    if (r == 0)
      r = uv_listen((uv_stream_t *)l, (int)w->gen->config->limit_backlog,
                    on_connection);
    if (r != 0) {
      snprintf(err, err_len, "cannot listen on inherited socket %d: %s",
               fds[i], uv_strerror(r));
      return r;
    }
  }
  return 0;
}

static void ctl_send(hw__worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ctl_written(uv_write_t *req, int status) { free(req); }

static void ctl_send(hw__worker *w, const char *fmt, ...) {
  uv_write_t *req;
  char *msg;
  uv_buf_t buf;
  va_list ap;
  int n;

  if (w->ctl.loop == NULL || uv_is_closing((uv_handle_t *)&w->ctl))
    return;
  req = malloc(sizeof(*req) + 4200);
  if (req == NULL)
    return;
  msg = (char *)(req + 1);
  va_start(ap, fmt);
  n = vsnprintf(msg, 4096, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  if (n > 4095)
    n = 4095;
  /* One message is one line: a newline inside would split it. */
  for (int i = 0; i < n; i++)
    if (msg[i] == '\n')
      msg[i] = ' ';
  msg[n++] = '\n';
  buf = uv_buf_init(msg, (unsigned)n);
  if (uv_write(req, (uv_stream_t *)&w->ctl, &buf, 1, ctl_written) != 0)
    free(req);
}

/* "reload <id> <snapshot>": build that generation from the master's
 * snapshot (its modules are the master's private copies) and answer. */
static void ctl_reload(hw__worker *w, unsigned id, const char *path) {
  char err[4096];
  hw__config *cfg;
  uint64_t t0 = uv_hrtime();

  if (hw__config_load(path, &cfg, err, sizeof(err)) != 0 ||
      hw__worker_swap(w, cfg, id, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "generation %u failed here: %s", id, err);
    ctl_send(w, "failed %u %s", id, err);
    return;
  }
  hw__log(HW_LOG_INFO, "generation %u active (%zu routes) in %.1f ms", id,
          w->gen->nroutes, (double)(uv_hrtime() - t0) / 1e6);
  ctl_send(w, "reloaded %u", id);
}

static void ctl_line(void *arg, char *line) {
  hw__worker *w = arg;
  unsigned id;
  int off = 0;

  if (sscanf(line, "reload %u %n", &id, &off) == 1 && off > 0)
    ctl_reload(w, id, line + off);
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

int hw__worker_attach(hw__worker *w, int fd, const char *slot_file) {
  int r;

  if (slot_file != NULL) {
    int sfd = open(slot_file, O_RDWR | O_CLOEXEC);
    if (sfd >= 0) {
      void *p = mmap(NULL, sizeof(hw__slot_state), PROT_READ | PROT_WRITE,
                     MAP_SHARED, sfd, 0);
      close(sfd);
      if (p != MAP_FAILED)
        w->slot = p;
    }
  }
  uv_pipe_init(w->loop, &w->ctl, 0);
  w->ctl.data = w;
  if ((r = uv_pipe_open(&w->ctl, fd)) != 0)
    return r;
  /* The control channel alone must not keep the worker alive at exit. */
  uv_unref((uv_handle_t *)&w->ctl);
  uv_read_start((uv_stream_t *)&w->ctl, hw__line_alloc, ctl_read);
  ctl_send(w, "ready %u", w->gen->id);
  return 0;
}

void hw__worker_note_dispatch(hw__worker *w, const hw__route *rt) {
  hw__slot_state *s = w->slot;
  if (rt != w->slot_route) {
    snprintf(s->prefix, sizeof(s->prefix), "%s", rt->prefix);
    s->gen = rt->gen->id;
    w->slot_route = rt;
  }
}
