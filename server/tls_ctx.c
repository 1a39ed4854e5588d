/*
 * tls_ctx.c - a TLS listener's OpenSSL contexts for one generation (see
 * tls_ctx.h).
 *
 * One SSL_CTX per certificate, all made alike: TLS 1.2 and 1.3 (or what
 * "protocols" says), the client's cipher preference (Mozilla's
 * "intermediate" profile), no compression (CRIME), no renegotiation (RFC
 * 9113 forbids it under HTTP/2 and nothing here needs it), no 0-RTT data
 * (replayable, RFC 8446 section 8), OpenSSL's buffers released while a
 * connection is idle, and session tickets sealed with the keys the master
 * hands every worker (tickets.c), with the server-side session cache off:
 * a cache per worker would miss when SO_REUSEPORT sends the client to
 * another worker, and TLS 1.3 resumes by tickets anyway.
 *
 * SNI (RFC 6066 section 3): the ClientHello's name is looked up among the
 * DNS names of each certificate's subjectAltName (RFC 6125: not the common
 * name), exactly, then as a wildcard "*.example.com" covering one label;
 * no match (or no name) keeps the first certificate.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "log.h"
#include "os.h"
#include "tickets.h"
#include "tls_ctx.h"

/* Mozilla's intermediate TLS 1.2 suites (forward secret, AEAD only). */
#define INTERMEDIATE_CIPHERS                                                   \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                 \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                 \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                 \
  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"                       \
  "DHE-RSA-CHACHA20-POLY1305"
#define GROUPS "X25519:P-256:P-384"

typedef struct name {
  char *name;      /* lower case; "*.example.com" keeps its "*." */
  size_t ctx;      /* the certificate's index */
} name;

struct hw__tls_ctx {
  unsigned refs;
  SSL_CTX **ctx;   /* one per certificate (or RSA and ECDSA pair of one
                      name set); [0] is the default */
  int *types;      /* each one's first key type (EVP_PKEY_RSA...) */
  uint8_t *twins;  /* it has a second certificate, of the other type */
  size_t nctx;
  name *names;
  size_t nnames;
  unsigned char alpn[64]; /* the server's protocols, in ALPN's wire form */
  unsigned alpn_len;
  int plain_http;
};

/* OpenSSL's reason for the last failure, and the queue cleared. */
static const char *ssl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
  ERR_clear_error();
  return r != NULL ? r : "unknown error";
}

static int servername(SSL *ssl, int *alert, void *arg) {
  hw__tls_ctx *c = arg;
  const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const char *dot;
  size_t i;

  if (sni == NULL || c->nctx < 2)
    return SSL_TLSEXT_ERR_OK;
  for (i = 0; i < c->nnames; i++)
    if (strcasecmp(c->names[i].name, sni) == 0)
      break;
  if (i == c->nnames && (dot = strchr(sni, '.')) != NULL && dot != sni)
    for (i = 0; i < c->nnames; i++)
      if (c->names[i].name[0] == '*' &&
          strcasecmp(c->names[i].name + 1, dot) == 0)
        break;
  if (i < c->nnames && c->names[i].ctx != 0)
    SSL_set_SSL_CTX(ssl, c->ctx[c->names[i].ctx]);
  return SSL_TLSEXT_ERR_OK;
}

/* RFC 7301 section 3.2: the server's preference among the client's
 * protocols; none in common is the fatal no_application_protocol alert. */
static int alpn_select(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
  hw__tls_ctx *c = arg;
  unsigned char *o;
  if (SSL_select_next_proto(&o, outlen, c->alpn, c->alpn_len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = o;
  return SSL_TLSEXT_ERR_OK;
}

/* The DNS names of `x`'s subjectAltName, for SNI. */
static int add_names(hw__tls_ctx *c, X509 *x, size_t ctx) {
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  int n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0, added = 0;
  for (int i = 0; i < n; i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    const unsigned char *s;
    int len;
    name *grown;
    if (g->type != GEN_DNS)
      continue;
    s = ASN1_STRING_get0_data(g->d.dNSName);
    len = ASN1_STRING_length(g->d.dNSName);
    if (len <= 0 || memchr(s, '\0', (size_t)len) != NULL)
      continue;
    grown = realloc(c->names, (c->nnames + 1) * sizeof(*grown));
    if (grown == NULL)
      break;
    c->names = grown;
    if ((grown[c->nnames].name = hw__os_strndup((const char *)s, (size_t)len)) ==
        NULL)
      break;
    grown[c->nnames++].ctx = ctx;
    added++;
  }
  GENERAL_NAMES_free(gens);
  return added;
}

/* The warnings a certificate and its key file may draw. */
static void warn_cert(const char *key, size_t i, const hw__config_cert *cc,
                      X509 *x, int names) {
  if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
    hw__log(HW_LOG_WARN, "%s.tls.certificates[%zu]: %s has expired", key, i,
            cc->cert);
  else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
    hw__log(HW_LOG_WARN, "%s.tls.certificates[%zu]: %s is not valid yet", key,
            i, cc->cert);
  if (names == 0 && i > 0)
    hw__log(HW_LOG_WARN,
            "%s.tls.certificates[%zu]: %s has no DNS name in its "
            "subjectAltName: no SNI name chooses it",
            key, i, cc->cert);
  if (hw__os_world_readable(cc->key))
    hw__log(HW_LOG_WARN,
            "%s.tls.certificates[%zu]: the private key %s is readable by "
            "every user (chmod o-r)",
            key, i, cc->key);
}

/* A file the user named that cannot be read: said as the system says it. */
static int unreadable(const char *file, char *err, size_t err_len,
                      const char *key, size_t i, const char *what) {
  FILE *f = fopen(file, "r");
  if (f != NULL) {
    fclose(f);
    return 0;
  }
  snprintf(err, err_len, "%s.tls.certificates[%zu].%s: %s: %s", key, i, what,
           file, strerror(errno));
  return UV_EINVAL;
}

static SSL_CTX *make_ctx(hw__tls_ctx *c, const hw__config_tls *tls,
                         const char *key, char *err, size_t err_len) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  static const unsigned char sid[] = "haywire";
  if (ctx == NULL) {
    snprintf(err, err_len, "%s.tls: cannot make a TLS context: %s", key,
             ssl_reason());
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, (tls->protocols & HW__TLS_V12)
                                         ? TLS1_2_VERSION
                                         : TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, (tls->protocols & HW__TLS_V13)
                                         ? TLS1_3_VERSION
                                         : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               (tls->tickets ? 0 : SSL_OP_NO_TICKET));
  /* The client's order (Mozilla's intermediate: every suite offered is
   * strong, and a client without AES hardware puts ChaCha20 first), or
   * the server's, which still lets such a client have ChaCha20. */
  if (tls->server_order)
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_PRIORITIZE_CHACHA);
  else
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_max_early_data(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
  SSL_CTX_set_timeout(ctx, HW__TICKETS_LIFETIME_S);
  if (tls->tickets)
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, hw__tickets_cb);
  else
    SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_dh_auto(ctx, 1);
  SSL_CTX_set_tlsext_servername_callback(ctx, servername);
  SSL_CTX_set_tlsext_servername_arg(ctx, c);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, c);
  if (SSL_CTX_set1_groups_list(ctx, GROUPS) != 1) {
    snprintf(err, err_len, "%s.tls: cannot set the groups %s: %s", key,
             GROUPS, ssl_reason());
  } else if (SSL_CTX_set_cipher_list(ctx, tls->ciphers ? tls->ciphers
                                                       : INTERMEDIATE_CIPHERS) !=
             1) {
    snprintf(err, err_len, "%s.tls.ciphers: no cipher in \"%s\": %s", key,
             tls->ciphers ? tls->ciphers : INTERMEDIATE_CIPHERS, ssl_reason());
  } else if (tls->ciphersuites != NULL &&
             SSL_CTX_set_ciphersuites(ctx, tls->ciphersuites) != 1) {
    snprintf(err, err_len, "%s.tls.ciphersuites: no suite in \"%s\": %s", key,
             tls->ciphersuites, ssl_reason());
  } else {
    return ctx;
  }
  SSL_CTX_free(ctx);
  return NULL;
}

/* The certificate at the head of `file`, or NULL. */
static X509 *read_cert(const char *file) {
  FILE *f = fopen(file, "r");
  X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
  if (f != NULL)
    fclose(f);
  return x;
}

/* Whether `x` has exactly the DNS names context `j` serves. */
static int same_names(const hw__tls_ctx *c, size_t j, X509 *x) {
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  int n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0, dns = 0, found = 0;
  size_t have = 0;
  for (size_t k = 0; k < c->nnames; k++)
    have += c->names[k].ctx == j;
  for (int i = 0; i < n; i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    if (g->type != GEN_DNS)
      continue;
    dns++;
    for (size_t k = 0; k < c->nnames; k++)
      if (c->names[k].ctx == j &&
          (size_t)ASN1_STRING_length(g->d.dNSName) ==
              strlen(c->names[k].name) &&
          strncasecmp((const char *)ASN1_STRING_get0_data(g->d.dNSName),
                      c->names[k].name, strlen(c->names[k].name)) == 0) {
        found++;
        break;
      }
  }
  GENERAL_NAMES_free(gens);
  return dns > 0 && found == dns && have == (size_t)dns;
}

/* Certificate `i`.  One for the same names as an earlier one but with a
 * key of another type (RSA beside ECDSA, as nginx allows) joins that
 * one's context, and OpenSSL serves each client the one its signature
 * algorithms take; any other has a context of its own, for SNI. */
static int load_cert(hw__tls_ctx *c, const hw__config_tls *tls,
                     const char *key, size_t i, char *err, size_t err_len) {
  const hw__config_cert *cc = &tls->certs[i];
  X509 *x;
  SSL_CTX *ctx = NULL;
  size_t j;
  int type, joined, r = UV_EINVAL;

  if (unreadable(cc->cert, err, err_len, key, i, "cert") != 0 ||
      unreadable(cc->key, err, err_len, key, i, "key") != 0)
    return UV_EINVAL;
  ERR_clear_error();
  if ((x = read_cert(cc->cert)) == NULL) {
    snprintf(err, err_len,
             "%s.tls.certificates[%zu].cert: %s: not a PEM certificate "
             "chain: %s",
             key, i, cc->cert, ssl_reason());
    return UV_EINVAL;
  }
  if (X509_get0_pubkey(x) == NULL) { /* a key type OpenSSL cannot read */
    snprintf(err, err_len,
             "%s.tls.certificates[%zu].cert: %s: its public key is of a type "
             "this OpenSSL cannot use: %s",
             key, i, cc->cert, ssl_reason());
    X509_free(x);
    return UV_EINVAL;
  }
  type = EVP_PKEY_get_base_id(X509_get0_pubkey(x));
  for (j = 0; j < c->nctx; j++)
    if (c->types[j] != type && c->twins[j] == 0 && same_names(c, j, x))
      break;
  if ((joined = j < c->nctx)) {
    ctx = c->ctx[j];
    c->twins[j] = 1;
  } else if ((ctx = make_ctx(c, tls, key, err, err_len)) != NULL) {
    c->types[c->nctx] = type;
    c->ctx[c->nctx++] = ctx;
  } else {
    goto done;
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cc->cert) != 1) {
    snprintf(err, err_len,
             "%s.tls.certificates[%zu].cert: %s: not a PEM certificate "
             "chain: %s",
             key, i, cc->cert, ssl_reason());
  } else if (SSL_CTX_use_PrivateKey_file(ctx, cc->key, SSL_FILETYPE_PEM) !=
             1) {
    /* OpenSSL's reason says "key values mismatch" when the key is a good
     * one of another certificate. */
    snprintf(err, err_len,
             "%s.tls.certificates[%zu].key: %s: not the private key of %s "
             "(or not a PEM key): %s",
             key, i, cc->key, cc->cert, ssl_reason());
  } else if (SSL_CTX_check_private_key(ctx) != 1) {
    snprintf(err, err_len,
             "%s.tls.certificates[%zu].key: %s does not match the "
             "certificate %s",
             key, i, cc->key, cc->cert);
    ERR_clear_error();
  } else {
    warn_cert(key, i, cc, x, joined ? 1 : add_names(c, x, j));
    r = 0;
  }
done:
  X509_free(x);
  return r;
}

int hw__tls_ctx_build(const hw__config_tls *tls, const char *key,
                      hw__tls_ctx **out, char *err, size_t err_len) {
  hw__tls_ctx *c = calloc(1, sizeof(*c));
  int r = 0;

  *out = NULL;
  if (c == NULL || (c->ctx = calloc(tls->ncerts, sizeof(*c->ctx))) == NULL ||
      (c->types = calloc(tls->ncerts, sizeof(*c->types))) == NULL ||
      (c->twins = calloc(tls->ncerts, 1)) == NULL) {
    if (c != NULL)
      free(c->ctx), free(c->types);
    free(c);
    snprintf(err, err_len, "%s.tls: out of memory", key);
    return UV_ENOMEM;
  }
  c->refs = 1;
  c->plain_http = tls->plain_http;
  for (size_t i = 0; i < tls->nalpn; i++) {
    size_t n = strlen(tls->alpn[i]);
    if (n > 255 || c->alpn_len + 1 + n > sizeof(c->alpn))
      break; /* (the config allows only known, short names) */
    c->alpn[c->alpn_len++] = (unsigned char)n;
    memcpy(c->alpn + c->alpn_len, tls->alpn[i], n);
    c->alpn_len += (unsigned)n;
  }
  for (size_t i = 0; r == 0 && i < tls->ncerts; i++)
    r = load_cert(c, tls, key, i, err, err_len);
  if (r != 0) {
    hw__tls_ctx_unref(c);
    return r;
  }
  *out = c;
  return 0;
}

void hw__tls_ctx_ref(hw__tls_ctx *c) { c->refs++; }

void hw__tls_ctx_unref(hw__tls_ctx *c) {
  if (c == NULL || --c->refs > 0)
    return;
  for (size_t i = 0; i < c->nctx; i++)
    SSL_CTX_free(c->ctx[i]);
  for (size_t i = 0; i < c->nnames; i++)
    free(c->names[i].name);
  free(c->names);
  free(c->ctx);
  free(c->types);
  free(c->twins);
  free(c);
}

SSL *hw__tls_ctx_ssl(hw__tls_ctx *c) { return SSL_new(c->ctx[0]); }

int hw__tls_ctx_plain_http(const hw__tls_ctx *c) { return c->plain_http; }
