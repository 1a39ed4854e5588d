/*
 * config_listen.h - one entry of routes.json's "listen" (config_listen.c):
 * a "HOST:PORT" string (plain TCP, HTTP/1.1), or an object with an
 * "address", a "tls" object (certificates, protocols, ciphers, ALPN,
 * session tickets, what a plain-HTTP request on the port gets) and
 * "http2", "proxy_protocol" with "proxy_from", read into an hw__config_listen and an hw__config_tls and
 * written back as JSON.
 */
#ifndef HW_CONFIG_LISTEN_H
#define HW_CONFIG_LISTEN_H

#include <stddef.h>

#include "cidr.h"
#include "listen.h"

struct json_t; /* jansson's, seen only by the config units */

/** The protocol versions a TLS listener offers (bits). */
enum { HW__TLS_V12 = 1, HW__TLS_V13 = 2 };

/** What a plain HTTP request sent to a TLS port gets ("plain_http"). */
enum hw__plain_http {
  HW__PLAIN_400 = 0,  /* "400": a 400 in plain text, then close (nginx) */
  HW__PLAIN_REDIRECT, /* "redirect": 308 to the https:// URL, then close */
  HW__PLAIN_CLOSE     /* "close": closed without an answer */
};

/** One certificate chain and its private key (absolute paths; after
 *  staging, the generation's private copies of the user's files). */
typedef struct hw__config_cert {
  char *cert;
  char *key;
  char *cert_source; /* after staging: the user's files (for messages) */
  char *key_source;
} hw__config_cert;

/** A listener's "tls"; `ncerts` 0 is a plain listener, which may still
 *  have `http2` (so a plain listener's hw__config_tls is not all zero). */
typedef struct hw__config_tls {
  hw__config_cert *certs; /* the first is the default (no SNI, no match) */
  size_t ncerts;
  unsigned protocols;     /* HW__TLS_V12 | HW__TLS_V13 */
  char *ciphers;          /* TLS 1.2's list; NULL: Mozilla intermediate */
  char *ciphersuites;     /* TLS 1.3's; NULL: OpenSSL's default */
  char **alpn;            /* in the server's order of preference */
  size_t nalpn;
  int tickets;            /* "session_tickets" */
  int server_order;       /* "prefer_server_ciphers" */
  int plain_http;         /* enum hw__plain_http */
  int http2;              /* the listener speaks HTTP/2 too: by prior
                             knowledge over plain TCP ("http2": true),
                             when ALPN chooses "h2" over TLS (set exactly
                             when `alpn` has "h2") */
  int proxy;              /* "proxy_protocol": connections begin with a
                             PROXY header (before TLS) */
  hw__cidr *proxy_from;   /* who may send one (set when `proxy` is) */
  size_t nproxy_from;
} hw__config_tls;

/**
 * Reads listen entry `v`, named `key` ("listen[2]") in messages, into `*l`
 * and `*tls` (zeroed first; the caller frees `*tls` with
 * hw__config_listen_free even on failure).  Relative certificate and key
 * paths are taken from `base`, the config file's directory ending in '/'.
 * Returns 0, UV_ENOMEM, or UV_EINVAL with "<key>...: <reason>" in `err`.
 */
int hw__config_listen_parse(struct json_t *v, const char *key, const char *base,
                            hw__config_listen *l, hw__config_tls *tls,
                            char *err, size_t err_len);
/** The entry as JSON (a new reference; NULL when out of memory): the
 *  address as written, "http2": true when set, and the "tls" object with
 *  absolute paths; a plain HTTP/1.1 listener as the address string. */
struct json_t *hw__config_listen_json(const hw__config_listen *l,
                               const hw__config_tls *tls);
/** How a JSON value's type is named in messages ("an object"). */
const char *hw__config_listen_type(const struct json_t *v);
/** Frees what `*tls` holds and zeroes it (a plain listener again). */
void hw__config_listen_free(hw__config_tls *tls);
/** Copies `src` into `*dst` (zeroed first).  0 or UV_ENOMEM. */
int hw__config_listen_copy(hw__config_tls *dst, const hw__config_tls *src);

#endif /* HW_CONFIG_LISTEN_H */
