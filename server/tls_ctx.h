/*
 * tls_ctx.h - a TLS listener's contexts for one generation (tls_ctx.c):
 * an OpenSSL context per certificate, the names each certificate serves
 * (from its subjectAltName) for choosing by SNI, the ALPN list, and what a
 * plain HTTP request gets.  Built with the generation (a missing file or a
 * key that does not match its certificate fails the build, so `haywire -t`
 * and a reload report it); a connection holds a reference for its life, so
 * a reload's new certificates serve new handshakes while existing
 * connections keep theirs.
 */
#ifndef HW_TLS_CTX_H
#define HW_TLS_CTX_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config_listen.h"

typedef struct hw__tls_ctx hw__tls_ctx;

/**
 * Builds the contexts of `tls` (borrowed for the call), named `key`
 * ("listen[0]") in messages: reads every certificate chain and key, checks
 * that each key matches its certificate, applies protocols and ciphers.
 * An expired (or not yet valid) certificate, one with no DNS name, and a
 * key file readable by others are warnings (logged).  Returns 0 with
 * `*out` holding one reference, or a negative code with one line naming
 * the file or key in `err` (never a key's contents).
 */
int hw__tls_ctx_build(const hw__config_tls *tls, const char *key,
                      hw__tls_ctx **out, char *err, size_t err_len);
/** Takes a reference. */
void hw__tls_ctx_ref(hw__tls_ctx *c);
/** Drops a reference; the last frees the contexts (an SSL object made
 *  from them keeps its own OpenSSL reference). */
void hw__tls_ctx_unref(hw__tls_ctx *c);
/** A new server-side SSL object on the default certificate (SNI may
 *  switch it during the handshake), or NULL when out of memory. */
SSL *hw__tls_ctx_ssl(hw__tls_ctx *c);
/** What a plain HTTP request on this listener gets (enum hw__plain_http). */
int hw__tls_ctx_plain_http(const hw__tls_ctx *c);

#endif /* HW_TLS_CTX_H */
