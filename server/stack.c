/*
 * stack.c - the protocols of each listener's new connections (see
 * stack.h).
 *
 * The choice is made at every accept from the serving generation, so that
 * a reload that turns TLS, HTTP/2 or the PROXY header on or off for a
 * listener applies to the next connection; one already open keeps the
 * stack, and the TLS contexts, it began with (each connection holds what
 * it needs).  A TLS env is set up at its listener's first TLS connection
 * (the listener's port is asked for then: a plain HTTP request's redirect
 * names it).
 */
#include "autoconf.h"

#include <stdlib.h>

#include "log.h"
#include "os.h"
#include "proxy.h"
#include "stack.h"
#include "tls.h"

int hw__stack_init(hw__stack *s, size_t n) {
  s->n = n;
  s->proxy = NULL;
  s->tls = calloc(n ? n : 1, sizeof(*s->tls));
  return s->tls != NULL ? 0 : UV_ENOMEM;
}

/* The port a listener is bound to, or 0. */
static int port_of(uv_tcp_t *listener) {
  struct sockaddr_storage sa;
  int len = sizeof(sa);
  if (uv_tcp_getsockname(listener, (struct sockaddr *)&sa, &len) != 0)
    return 0;
  return ntohs(sa.ss_family == AF_INET6
                   ? ((struct sockaddr_in6 *)&sa)->sin6_port
                   : ((struct sockaddr_in *)&sa)->sin_port);
}

/* TLS for listener `i` with contexts `ctx` (new handshakes take the
 * newest; a connection keeps the ones it began with). */
static const hw__proto *tls_of(hw__stack *s, size_t i, hw__tls_ctx *ctx,
                               uv_tcp_t *listener, void **env) {
  hw__tls_env *e = &s->tls[i];
  if (!e->ready &&
      hw__tls_env_init(e, s->sel_tls, s->sel_tls_env, port_of(listener)) !=
          0) {
    hw__log(HW_LOG_ERROR, "out of memory setting up TLS: a connection "
                          "refused");
    hw__tls_env_destroy(e);
    return NULL;
  }
  e->metrics = s->metrics;
  if (e->ctx != ctx)
    hw__tls_env_set(e, ctx);
  *env = e;
  return &e->proto;
}

const hw__proto *hw__stack_choose(hw__stack *s, const hw__generation *gen,
                                  size_t i, uv_tcp_t *listener, void **env) {
  const hw__config_tls *lc =
      i < gen->config->nlisten ? &gen->config->tls[i] : NULL;
  hw__tls_ctx *ctx = gen->tls != NULL && lc != NULL ? gen->tls[i] : NULL;
  const hw__proto *p;
  hw__proxy_env *pe;

  if (i >= s->n)
    return NULL;
  if (ctx != NULL) {
    if ((p = tls_of(s, i, ctx, listener, env)) == NULL)
      return NULL;
  } else {
    if (s->tls[i].ready && s->tls[i].ctx != NULL) /* a reload made it plain */
      hw__tls_env_set(&s->tls[i], NULL);
    p = lc != NULL && lc->http2 ? s->sel_plain : s->h1;
    *env = lc != NULL && lc->http2 ? s->sel_plain_env : s->h1_env;
  }
  if (lc == NULL || !lc->proxy)
    return p;
  /* The header comes before all of them, a TLS handshake included. */
  if (s->proxy == NULL &&
      (s->proxy = calloc(s->n, sizeof(*s->proxy))) == NULL) {
    hw__log(HW_LOG_ERROR, "out of memory: a connection refused");
    return NULL;
  }
  pe = &s->proxy[i];
  hw__proxy_env_set(pe, p, *env, lc->proxy_from, lc->nproxy_from);
  *env = pe;
  return &pe->proto;
}

void hw__stack_destroy(hw__stack *s) {
  for (size_t i = 0; s->tls != NULL && i < s->n; i++)
    if (s->tls[i].ready)
      hw__tls_env_destroy(&s->tls[i]);
  free(s->tls);
  free(s->proxy);
  s->tls = NULL;
  s->proxy = NULL;
}
