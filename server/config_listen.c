/*
 * config_listen.c - one entry of routes.json's "listen" (see
 * config_listen.h): a string is a plain TCP address; an object has an
 * "address" and may have a "tls" object and "http2" (whether the
 * listener speaks HTTP/2 too: by prior knowledge over plain TCP, when
 * ALPN chooses "h2" over TLS) and "proxy_protocol" with "proxy_from"
 * (connections begin with a balancer's PROXY header, taken only from
 * those address ranges: an entry that asks for the header must say whose,
 * since anyone else could write any client address into it).  config.c
 * reads the rest of the
 * file and calls this for each entry; like it, this unit checks shapes and
 * values strictly and names the key in every message
 * ("listen[1].tls.certificates[0].key: must be a string").  Whether the
 * files exist and a key matches its certificate is checked when the TLS
 * contexts are built (tls_ctx.c), which reads them.
 *
 * The defaults are Mozilla's "intermediate" profile: TLS 1.2 and 1.3, the
 * ECDHE AEAD suites for 1.2 (plus DHE for old clients), OpenSSL's 1.3
 * suites, the client's order of preference.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "config_listen.h"

#define MAX_CERTS 64
#define MAX_ALPN 8
#define MAX_PROXY_FROM 256

const char *hw__config_listen_type(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "unknown";
}

/* A string value with no NUL inside, or NULL. */
static const char *text_of(const json_t *v) {
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      strlen(json_string_value(v)) != json_string_length(v))
    return NULL;
  return json_string_value(v);
}

static char *file_path(const char *base, const char *name) {
  size_t a = strlen(base), b = strlen(name);
  char *p;
  if (hw__os_path_absolute(name))
    return strdup(name);
  if ((p = malloc(a + b + 1)) == NULL)
    return NULL;
  memcpy(p, base, a);
  memcpy(p + a, name, b + 1);
  return p;
}

/* "certificates": [{"cert": "...", "key": "..."}, ...] */
static int parse_certs(json_t *v, const char *key, const char *base,
                       hw__config_tls *tls, char *err, size_t err_len) {
  size_t n = json_array_size(v);
  if (!json_is_array(v) || n == 0 || n > MAX_CERTS) {
    snprintf(err, err_len,
             "%s.tls.certificates: must be an array of 1 to %d "
             "{\"cert\": FILE, \"key\": FILE} objects",
             key, MAX_CERTS);
    return UV_EINVAL;
  }
  if ((tls->certs = calloc(n, sizeof(*tls->certs))) == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i), *x;
    const char *k, *cert = NULL, *pkey = NULL;
    tls->ncerts = i + 1;
    if (!json_is_object(e)) {
      snprintf(err, err_len,
               "%s.tls.certificates[%zu]: must be an object, not %s", key, i,
               hw__config_listen_type(e));
      return UV_EINVAL;
    }
    json_object_foreach(e, k, x) {
      const char **slot = strcmp(k, "cert") == 0  ? &cert
                          : strcmp(k, "key") == 0 ? &pkey
                                                  : NULL;
      if (slot == NULL) {
        snprintf(err, err_len,
                 "%s.tls.certificates[%zu].%s: unknown key (cert, key)", key,
                 i, k);
        return UV_EINVAL;
      }
      if ((*slot = text_of(x)) == NULL) {
        snprintf(err, err_len,
                 "%s.tls.certificates[%zu].%s: must be a non-empty string "
                 "(a PEM file)",
                 key, i, k);
        return UV_EINVAL;
      }
    }
    if (cert == NULL || pkey == NULL) {
      snprintf(err, err_len, "%s.tls.certificates[%zu]: \"%s\" is missing",
               key, i, cert == NULL ? "cert" : "key");
      return UV_EINVAL;
    }
    tls->certs[i].cert = file_path(base, cert);
    tls->certs[i].key = file_path(base, pkey);
    if (tls->certs[i].cert == NULL || tls->certs[i].key == NULL)
      return UV_ENOMEM;
  }
  return 0;
}

/* "protocols": ["TLSv1.2", "TLSv1.3"] (older versions are refused: they
 * are deprecated by RFC 8996). */
static int parse_protocols(json_t *v, const char *key, hw__config_tls *tls,
                           char *err, size_t err_len) {
  size_t i;
  json_t *e;
  tls->protocols = 0;
  if (!json_is_array(v) || json_array_size(v) == 0)
    goto bad;
  json_array_foreach(v, i, e) {
    const char *p = text_of(e);
    if (p != NULL && strcmp(p, "TLSv1.2") == 0)
      tls->protocols |= HW__TLS_V12;
    else if (p != NULL && strcmp(p, "TLSv1.3") == 0)
      tls->protocols |= HW__TLS_V13;
    else if (p != NULL && strncmp(p, "TLSv1", 5) == 0) {
      snprintf(err, err_len,
               "%s.tls.protocols[%zu]: %s is not offered (RFC 8996 "
               "deprecates TLS 1.0 and 1.1): use TLSv1.2 and TLSv1.3",
               key, i, p);
      return UV_EINVAL;
    } else
      goto bad;
  }
  return 0;
bad:
  snprintf(err, err_len,
           "%s.tls.protocols: must be a non-empty array of \"TLSv1.2\", "
           "\"TLSv1.3\"",
           key);
  return UV_EINVAL;
}

/* "alpn": the application protocols, in the server's order of preference
 * (RFC 7301): those this server speaks, "h2" (RFC 9113 section 3.2) and
 * "http/1.1". */
static int parse_alpn(json_t *v, const char *key, hw__config_tls *tls,
                      char *err, size_t err_len) {
  size_t i, n = json_array_size(v);
  json_t *e;
  if (!json_is_array(v) || n == 0 || n > MAX_ALPN) {
    snprintf(err, err_len,
             "%s.tls.alpn: must be a non-empty array of protocol names "
             "(\"h2\", \"http/1.1\")",
             key);
    return UV_EINVAL;
  }
  if ((tls->alpn = calloc(n, sizeof(*tls->alpn))) == NULL)
    return UV_ENOMEM;
  json_array_foreach(v, i, e) {
    const char *p = text_of(e);
    if (p == NULL || (strcmp(p, "http/1.1") != 0 && strcmp(p, "h2") != 0)) {
      snprintf(err, err_len,
               "%s.tls.alpn[%zu]: %s%s%s is not a protocol this server "
               "speaks (\"h2\", \"http/1.1\")",
               key, i, p ? "\"" : "", p ? p : hw__config_listen_type(e),
               p ? "\"" : "");
      return UV_EINVAL;
    }
    for (size_t j = 0; j < tls->nalpn; j++)
      if (strcmp(tls->alpn[j], p) == 0) {
        snprintf(err, err_len, "%s.tls.alpn[%zu]: \"%s\" is named twice", key,
                 i, p);
        return UV_EINVAL;
      }
    if ((tls->alpn[tls->nalpn] = strdup(p)) == NULL)
      return UV_ENOMEM;
    tls->nalpn++;
  }
  return 0;
}

static int parse_string(json_t *v, const char *key, const char *name,
                        const char *what, char **out, char *err,
                        size_t err_len) {
  const char *p = text_of(v);
  if (p == NULL) {
    snprintf(err, err_len, "%s.tls.%s: must be a non-empty string (%s)", key,
             name, what);
    return UV_EINVAL;
  }
  free(*out);
  return (*out = strdup(p)) == NULL ? UV_ENOMEM : 0;
}

/* Without "alpn": HTTP/1.1, and first HTTP/2 when "http2" is true (a
 * client that offers both gets h2). */
static int default_alpn(hw__config_tls *tls, int http2) {
  static const char *const both[] = {"h2", "http/1.1"};
  const char *const *names = http2 ? both : both + 1;
  size_t n = http2 ? 2 : 1;
  if ((tls->alpn = calloc(n, sizeof(*tls->alpn))) == NULL)
    return UV_ENOMEM;
  for (; tls->nalpn < n; tls->nalpn++)
    if ((tls->alpn[tls->nalpn] = strdup(names[tls->nalpn])) == NULL)
      return UV_ENOMEM;
  return 0;
}

/* The listener's "tls"; `http2` is the entry's "http2": 1, 0, or -1 when
 * absent. */
static int parse_tls(json_t *v, const char *key, const char *base, int http2,
                     hw__config_tls *tls, char *err, size_t err_len) {
  const char *k;
  json_t *x, *certs = NULL, *alpn = NULL;
  int r = 0;

  if (!json_is_object(v)) {
    snprintf(err, err_len, "%s.tls: must be an object, not %s", key,
             hw__config_listen_type(v));
    return UV_EINVAL;
  }
  tls->protocols = HW__TLS_V12 | HW__TLS_V13;
  tls->tickets = 1;
  tls->plain_http = HW__PLAIN_400;
  json_object_foreach(v, k, x) {
    if (strcmp(k, "certificates") == 0) {
      certs = x;
    } else if (strcmp(k, "protocols") == 0) {
      r = parse_protocols(x, key, tls, err, err_len);
    } else if (strcmp(k, "ciphers") == 0) {
      r = parse_string(x, key, k, "an OpenSSL cipher list for TLS 1.2",
                       &tls->ciphers, err, err_len);
    } else if (strcmp(k, "ciphersuites") == 0) {
      r = parse_string(x, key, k, "OpenSSL's TLS 1.3 suites, ':'-separated",
                       &tls->ciphersuites, err, err_len);
    } else if (strcmp(k, "alpn") == 0) {
      alpn = x;
    } else if (strcmp(k, "session_tickets") == 0 ||
               strcmp(k, "prefer_server_ciphers") == 0) {
      if (!json_is_boolean(x)) {
        snprintf(err, err_len, "%s.tls.%s: must be true or false", key, k);
        return UV_EINVAL;
      }
      *(k[0] == 's' ? &tls->tickets : &tls->server_order) = json_is_true(x);
    } else if (strcmp(k, "plain_http") == 0) {
      const char *p = text_of(x);
      if (p != NULL && strcmp(p, "400") == 0)
        tls->plain_http = HW__PLAIN_400;
      else if (p != NULL && strcmp(p, "redirect") == 0)
        tls->plain_http = HW__PLAIN_REDIRECT;
      else if (p != NULL && strcmp(p, "close") == 0)
        tls->plain_http = HW__PLAIN_CLOSE;
      else {
        snprintf(err, err_len,
                 "%s.tls.plain_http: must be \"400\", \"redirect\" or "
                 "\"close\"",
                 key);
        return UV_EINVAL;
      }
    } else {
      snprintf(err, err_len,
               "%s.tls.%s: unknown key (certificates, protocols, ciphers, "
               "ciphersuites, alpn, session_tickets, prefer_server_ciphers, "
               "plain_http)",
               key, k);
      return UV_EINVAL;
    }
    if (r != 0)
      return r;
  }
  r = alpn != NULL ? parse_alpn(alpn, key, tls, err, err_len)
                   : default_alpn(tls, http2 == 1);
  if (r != 0)
    return r;
  /* Over TLS, HTTP/2 is what ALPN may choose: "h2" offered is the flag,
   * and an "http2" that says otherwise is a mistake, not a preference. */
  for (size_t i = 0; i < tls->nalpn; i++)
    tls->http2 |= strcmp(tls->alpn[i], "h2") == 0;
  if (http2 == 1 && !tls->http2) {
    snprintf(err, err_len,
             "%s.http2: true, but %s.tls.alpn does not offer \"h2\" (add "
             "it, or leave alpn out for [\"h2\", \"http/1.1\"])",
             key, key);
    return UV_EINVAL;
  }
  if (http2 == 0 && tls->http2) {
    snprintf(err, err_len,
             "%s.http2: false, but %s.tls.alpn offers \"h2\" (HTTP/2)", key,
             key);
    return UV_EINVAL;
  }
  if (certs == NULL) {
    snprintf(err, err_len,
             "%s.tls.certificates: missing (at least one {\"cert\": FILE, "
             "\"key\": FILE})",
             key);
    return UV_EINVAL;
  }
  return parse_certs(certs, key, base, tls, err, err_len);
}

/* "proxy_from": a non-empty array of "ADDRESS[/BITS]". */
static int parse_proxy_from(json_t *v, const char *key, hw__config_tls *tls,
                            char *err, size_t err_len) {
  size_t i, n = json_is_array(v) ? json_array_size(v) : 0;
  json_t *x;
  char why[160];

  if (n == 0 || n > MAX_PROXY_FROM) {
    snprintf(err, err_len,
             "%s.proxy_from: must be an array of 1 to %d address ranges "
             "(\"10.0.0.0/8\", \"::1\"), the balancers that may send a "
             "PROXY header",
             key, MAX_PROXY_FROM);
    return UV_EINVAL;
  }
  if ((tls->proxy_from = calloc(n, sizeof(*tls->proxy_from))) == NULL)
    return UV_ENOMEM;
  json_array_foreach(v, i, x) {
    if (!json_is_string(x)) {
      snprintf(err, err_len, "%s.proxy_from[%zu]: must be a string, not %s",
               key, i, hw__config_listen_type(x));
      return UV_EINVAL;
    }
    if (hw__cidr_parse(json_string_value(x), &tls->proxy_from[i], why,
                       sizeof(why)) != 0) {
      snprintf(err, err_len, "%s.proxy_from[%zu]: %s", key, i, why);
      return UV_EINVAL;
    }
    tls->nproxy_from++;
  }
  return 0;
}

/* "proxy_protocol" and "proxy_from" go together. */
static int parse_proxy(json_t *pp, json_t *from, const char *key,
                       hw__config_tls *tls, char *err, size_t err_len) {
  if (pp != NULL && !json_is_boolean(pp)) {
    snprintf(err, err_len, "%s.proxy_protocol: must be true or false, not %s",
             key, hw__config_listen_type(pp));
    return UV_EINVAL;
  }
  tls->proxy = pp != NULL && json_is_true(pp);
  if (tls->proxy && from == NULL) {
    snprintf(err, err_len,
             "%s.proxy_from: missing: with proxy_protocol, name the "
             "balancers that may send the header (e.g. [\"127.0.0.1/32\"])",
             key);
    return UV_EINVAL;
  }
  if (!tls->proxy && from != NULL) {
    snprintf(err, err_len,
             "%s.proxy_from: only with \"proxy_protocol\": true", key);
    return UV_EINVAL;
  }
  return tls->proxy ? parse_proxy_from(from, key, tls, err, err_len) : 0;
}

int hw__config_listen_parse(json_t *v, const char *key, const char *base,
                            hw__config_listen *l, hw__config_tls *tls,
                            char *err, size_t err_len) {
  const char *k, *addr = NULL;
  json_t *x, *t = NULL, *pp = NULL, *from = NULL;
  char why[160];
  int http2 = -1; /* "http2" absent */
  int r;

  memset(tls, 0, sizeof(*tls));
  if (json_is_string(v)) {
    addr = json_string_value(v);
  } else if (json_is_object(v)) {
    json_object_foreach(v, k, x) {
      if (strcmp(k, "address") == 0 && json_is_string(x)) {
        addr = json_string_value(x);
      } else if (strcmp(k, "address") == 0) {
        snprintf(err, err_len, "%s.address: must be a string, not %s", key,
                 hw__config_listen_type(x));
        return UV_EINVAL;
      } else if (strcmp(k, "tls") == 0) {
        t = x;
      } else if (strcmp(k, "http2") == 0 && json_is_boolean(x)) {
        http2 = json_is_true(x);
      } else if (strcmp(k, "http2") == 0) {
        snprintf(err, err_len, "%s.http2: must be true or false, not %s", key,
                 hw__config_listen_type(x));
        return UV_EINVAL;
      } else if (strcmp(k, "proxy_protocol") == 0) {
        pp = x;
      } else if (strcmp(k, "proxy_from") == 0) {
        from = x;
      } else {
        snprintf(err, err_len,
                 "%s.%s: unknown key (address, tls, http2, proxy_protocol, "
                 "proxy_from)",
                 key, k);
        return UV_EINVAL;
      }
    }
    if (addr == NULL) {
      snprintf(err, err_len, "%s.address: missing (\"HOST:PORT\")", key);
      return UV_EINVAL;
    }
  } else {
    snprintf(err, err_len,
             "%s: must be a \"HOST:PORT\" string or an object with "
             "\"address\" (and \"tls\", \"http2\"), not %s",
             key, hw__config_listen_type(v));
    return UV_EINVAL;
  }
  if (hw__listen_parse(addr, l, why, sizeof(why)) != 0) {
    snprintf(err, err_len, "%s%s: %s", key, json_is_object(v) ? ".address" : "",
             why);
    return UV_EINVAL;
  }
  /* A plain listener's flag: the connection preface of HTTP/2 with prior
   * knowledge (RFC 9113 section 3.3) is accepted besides HTTP/1.1. */
  if (t == NULL)
    tls->http2 = http2 == 1;
  else if ((r = parse_tls(t, key, base, http2, tls, err, err_len)) != 0)
    return r;
  return parse_proxy(pp, from, key, tls, err, err_len);
}

static json_t *strings(char *const *s, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++)
    if (json_array_append_new(a, json_string(s[i])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

/* The entry `e` (consumed) with "proxy_protocol" and "proxy_from" when
 * the listener takes the header; NULL when out of memory. */
static json_t *with_proxy(json_t *e, const hw__config_tls *tls) {
  char text[64];
  json_t *a;
  if (e == NULL || !tls->proxy)
    return e;
  if ((a = json_array()) == NULL ||
      json_object_set_new(e, "proxy_protocol", json_true()) != 0 ||
      json_object_set_new(e, "proxy_from", a) != 0) {
    json_decref(e);
    return NULL;
  }
  for (size_t i = 0; i < tls->nproxy_from; i++) {
    hw__cidr_format(&tls->proxy_from[i], text, sizeof(text));
    if (json_array_append_new(a, json_string(text)) != 0) {
      json_decref(e);
      return NULL;
    }
  }
  return e;
}

json_t *hw__config_listen_json(const hw__config_listen *l,
                               const hw__config_tls *tls) {
  static const char *const plain[] = {"400", "redirect", "close"};
  json_t *e, *t, *certs, *protos;
  int bad;

  /* A plain listener is written as a string unless it has "http2" or
   * "proxy_protocol" (ncerts 0 says no TLS, not HTTP/1.1 only). */
  if (tls != NULL && tls->ncerts == 0 && (tls->http2 || tls->proxy))
    return with_proxy(json_pack("{s:s,s:b}", "address", l->text, "http2",
                                tls->http2),
                      tls);
  if (tls == NULL || tls->ncerts == 0)
    return json_string(l->text);
  e = json_object(), t = json_object(), certs = json_array(),
  protos = json_array();
  bad = e == NULL || t == NULL || certs == NULL || protos == NULL;
  for (size_t i = 0; !bad && i < tls->ncerts; i++)
    bad |= json_array_append_new(certs, json_pack("{s:s,s:s}", "cert",
                                                  tls->certs[i].cert, "key",
                                                  tls->certs[i].key));
  if (!bad && (tls->protocols & HW__TLS_V12))
    bad |= json_array_append_new(protos, json_string("TLSv1.2"));
  if (!bad && (tls->protocols & HW__TLS_V13))
    bad |= json_array_append_new(protos, json_string("TLSv1.3"));
  if (!bad) {
    bad |= json_object_set_new(e, "address", json_string(l->text));
    if (tls->http2)
      bad |= json_object_set_new(e, "http2", json_true());
    bad |= json_object_set(t, "certificates", certs);
    bad |= json_object_set(t, "protocols", protos);
    if (tls->ciphers != NULL)
      bad |= json_object_set_new(t, "ciphers", json_string(tls->ciphers));
    if (tls->ciphersuites != NULL)
      bad |= json_object_set_new(t, "ciphersuites",
                                 json_string(tls->ciphersuites));
    bad |= json_object_set_new(t, "alpn", strings(tls->alpn, tls->nalpn));
    bad |= json_object_set_new(t, "session_tickets",
                               json_boolean(tls->tickets));
    bad |= json_object_set_new(t, "prefer_server_ciphers",
                               json_boolean(tls->server_order));
    bad |= json_object_set_new(t, "plain_http",
                               json_string(plain[tls->plain_http]));
    bad |= json_object_set(e, "tls", t);
  }
  json_decref(certs);
  json_decref(protos);
  json_decref(t);
  if (bad) {
    json_decref(e);
    return NULL;
  }
  return with_proxy(e, tls);
}

void hw__config_listen_free(hw__config_tls *tls) {
  for (size_t i = 0; i < tls->ncerts; i++) {
    free(tls->certs[i].cert);
    free(tls->certs[i].key);
    free(tls->certs[i].cert_source);
    free(tls->certs[i].key_source);
  }
  for (size_t i = 0; i < tls->nalpn; i++)
    free(tls->alpn[i]);
  free(tls->certs);
  free(tls->alpn);
  free(tls->ciphers);
  free(tls->ciphersuites);
  free(tls->proxy_from);
  memset(tls, 0, sizeof(*tls));
}

static char *dup_or_null(const char *s, int *bad) {
  char *d = s != NULL ? strdup(s) : NULL;
  *bad |= s != NULL && d == NULL;
  return d;
}

int hw__config_listen_copy(hw__config_tls *dst, const hw__config_tls *src) {
  int bad = 0;
  *dst = *src;
  dst->certs = NULL, dst->alpn = NULL, dst->ncerts = 0, dst->nalpn = 0;
  dst->proxy_from = NULL, dst->nproxy_from = 0;
  if (src->nproxy_from > 0) {
    if ((dst->proxy_from = malloc(src->nproxy_from *
                                  sizeof(*dst->proxy_from))) == NULL)
      bad = 1;
    else
      memcpy(dst->proxy_from, src->proxy_from,
             src->nproxy_from * sizeof(*dst->proxy_from));
    dst->nproxy_from = bad ? 0 : src->nproxy_from;
  }
  dst->ciphers = dup_or_null(src->ciphers, &bad);
  dst->ciphersuites = dup_or_null(src->ciphersuites, &bad);
  if (src->ncerts > 0 &&
      (dst->certs = calloc(src->ncerts, sizeof(*dst->certs))) == NULL)
    bad = 1;
  for (size_t i = 0; !bad && i < src->ncerts; i++, dst->ncerts++) {
    /* (The user's files: a copy of a generation's is removed with it.) */
    const hw__config_cert *c = &src->certs[i];
    dst->certs[i].cert =
        dup_or_null(c->cert_source ? c->cert_source : c->cert, &bad);
    dst->certs[i].key =
        dup_or_null(c->key_source ? c->key_source : c->key, &bad);
  }
  if (!bad && src->nalpn > 0 &&
      (dst->alpn = calloc(src->nalpn, sizeof(*dst->alpn))) == NULL)
    bad = 1;
  for (size_t i = 0; !bad && i < src->nalpn; i++, dst->nalpn++)
    dst->alpn[i] = dup_or_null(src->alpn[i], &bad);
  if (bad) {
    hw__config_listen_free(dst);
    return UV_ENOMEM;
  }
  return 0;
}
