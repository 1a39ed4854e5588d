/*
 * tls.h - TLS as a layer between a connection and its protocol (tls.c):
 * to the connection below it, a protocol (hw__proto) fed ciphertext; to
 * the protocol above it (HTTP/1.1), a transport (hw__transport) that takes
 * plaintext batches.  Neither changes: the worker names hw__tls_proto for
 * a TLS listener (its env's copy of it, sized for the protocol on top too),
 * with an env that names the protocol on top.
 */
#ifndef HW_TLS_H
#define HW_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "tls_ctx.h"
#include "transport.h"

/** What a TLS listener's connections share (one per listener in a
 *  worker). */
typedef struct hw__tls_env {
  hw__tls_ctx *ctx;         /* the serving generation's (a reference) */
  const hw__proto *inner;   /* the protocol on top (HTTP/1.1) */
  hw__proto proto;          /* what the listener accepts with: the layer,
                               with room for the protocol's state after its
                               own (set by hw__tls_env_init) */
  void *inner_env;          /* its env */
  hw__batch_pool batches;   /* the plaintext batches the protocol fills */
  char *plain;              /* one record's plaintext, decrypted into */
  int port;                 /* the listener's port (for a redirect) */
  struct hw__metrics_slot *metrics; /* where handshakes are counted, or
                                       NULL (set by the owner) */
} hw__tls_env;

/** Sets up `env` for `inner` (borrowed) with `inner_env`, on `port`.
 *  Returns 0 or UV_ENOMEM. */
int hw__tls_env_init(hw__tls_env *env, const hw__proto *inner,
                     void *inner_env, int port);
/** The contexts new handshakes use from now on (a reference is taken; the
 *  previous one is dropped, and lives on in the connections using it). */
void hw__tls_env_set(hw__tls_env *env, hw__tls_ctx *ctx);
/** Frees what `env` holds (after its connections are gone). */
void hw__tls_env_destroy(hw__tls_env *env);

/** The layer's functions, for a TLS listener; its `env` is a hw__tls_env.
 *  Its `size` is the layer's state alone: a connection is accepted with
 *  the env's `proto`, whose size has room for the protocol's state too. */
extern const hw__proto hw__tls_proto;

#endif /* HW_TLS_H */
