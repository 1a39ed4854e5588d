/*
 * stack.h - which protocols a new connection on each listener gets
 * (stack.c): HTTP/1.1 alone; HTTP/2 or HTTP/1.1 by the first bytes (a
 * plain listener with "http2"); TLS with HTTP/2 or HTTP/1.1 on top as
 * ALPN says (a listener the serving generation gives TLS contexts); each
 * under the PROXY protocol's layer when the listener takes the header.
 * It keeps what one listener's connections share at each level (a TLS
 * env, a PROXY env) for the worker's life.
 */
#ifndef HW_STACK_H
#define HW_STACK_H

#include <stddef.h>
#include <uv.h>

#include "generation.h"
#include "transport.h"

struct hw__tls_env;
struct hw__proxy_env;
struct hw__metrics_slot;

/** One worker's stacks. */
typedef struct hw__stack {
  const hw__proto *h1;        /* HTTP/1.1 alone, and its env */
  void *h1_env;
  const hw__proto *sel_plain; /* HTTP/2 by its preface, or HTTP/1.1 */
  void *sel_plain_env;
  const hw__proto *sel_tls;   /* HTTP/2 by ALPN, or HTTP/1.1 (over TLS) */
  void *sel_tls_env;
  struct hw__metrics_slot *metrics; /* TLS handshakes are counted here,
                                       or NULL (set by the owner) */
  struct hw__tls_env *tls;     /* per listener (each set up at its
                                  first TLS connection) */
  struct hw__proxy_env *proxy; /* per listener (all taken at the first
                                  connection with a PROXY header) */
  size_t n;
} hw__stack;

/** Sets up `s` for `n` listeners (the protocols are the caller's to
 *  fill in).  Returns 0 or UV_ENOMEM. */
int hw__stack_init(hw__stack *s, size_t n);
/**
 * What a connection accepted now on listener `i` (the uv handle
 * `listener`, for its port) speaks, by what generation `gen` says of the
 * listener; the env to open it with goes in `*env`.  NULL when out of
 * memory (logged): the connection is to be refused.
 */
const hw__proto *hw__stack_choose(hw__stack *s, const hw__generation *gen,
                                  size_t i, uv_tcp_t *listener, void **env);
/** Frees what `s` holds (after its connections are gone). */
void hw__stack_destroy(hw__stack *s);

#endif /* HW_STACK_H */
