/*
 * test_tls_ctx.c - unit tests of a TLS listener's contexts
 * (server/tls_ctx.c) and of the listen entry that configures them
 * (server/config_listen.c), with real OpenSSL.  Keys and certificates
 * (EC P-256 and RSA, subjectAltName DNS names with a wildcard, one expired,
 * one not yet valid) are made here and written as PEM files into a
 * temporary directory.  hw__tls_ctx_build: a good pair and several; a
 * missing certificate or key file, the key of another certificate, files
 * that are not PEM, cipher lists with nothing in them, each refused with
 * one line naming the key and the file; warnings (expired, not yet valid,
 * no DNS name, a key every user may read) logged, not fatal.  Handshakes
 * in memory (a client SSL and an SSL from hw__tls_ctx_ssl, over memory
 * BIOs): SNI choosing a certificate by its exact or wildcard name, or the
 * first; ALPN; the protocol versions; a renegotiation and a ClientHello
 * offering only compression refused.  Then config_listen: the defaults,
 * relative paths, the errors, the JSON written back and a copy.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <uv.h>

#include "config_listen.h"
#include "log.h"
#include "tap.h"
#include "testcert.h"
#include "tls_ctx.h"

static const char *dir;
static char path_a_crt[512], path_a_key[512], path_b_crt[512],
    path_b_key[512], path_w_crt[512], path_w_key[512], path_old_crt[512],
    path_old_key[512], path_new_crt[512], path_new_key[512],
    path_nodns_crt[512], path_nodns_key[512], path_open_key[512],
    path_notpem[512], path_missing[512], path_log[512];
static X509 *cert_a, *cert_b, *cert_w;

/* ---- helpers ------------------------------------------------------------- */

static void join(char *out, const char *name) {
  snprintf(out, 512, "%s/%s", dir, name);
}

/* A pair of files, made here. */
static int make_pair(const char *crt, const char *key, int rsa, const char *cn,
                     const char *sans, long from_s, long to_s, int key_mode,
                     X509 **keep) {
  EVP_PKEY *k = tc_key(rsa);
  X509 *x = k != NULL ? tc_cert(k, cn, sans, from_s, to_s) : NULL;
  int r = x != NULL && tc_write_cert(crt, x) == 0 &&
                  tc_write_key(key, k, key_mode) == 0
              ? 0
              : -1;
  if (keep != NULL && r == 0)
    *keep = x;
  else
    X509_free(x);
  EVP_PKEY_free(k);
  return r;
}

static int setup_files(void) {
  if ((dir = tc_tmpdir("hw-tlsctx")) == NULL)
    return -1;
  join(path_a_crt, "a.crt"), join(path_a_key, "a.key");
  join(path_b_crt, "b.crt"), join(path_b_key, "b.key");
  join(path_w_crt, "w.crt"), join(path_w_key, "w.key");
  join(path_old_crt, "old.crt"), join(path_old_key, "old.key");
  join(path_new_crt, "new.crt"), join(path_new_key, "new.key");
  join(path_nodns_crt, "nodns.crt"), join(path_nodns_key, "nodns.key");
  join(path_open_key, "open.key");
  join(path_notpem, "notpem.txt");
  join(path_missing, "missing.pem");
  join(path_log, "stderr.log");
  if (make_pair(path_a_crt, path_a_key, 0, "a.example", "a.example", 0, 3600,
                0600, &cert_a) != 0 ||
      make_pair(path_b_crt, path_b_key, 1, "b.example",
                "b.example,other.example", 0, 3600, 0600, &cert_b) != 0 ||
      make_pair(path_w_crt, path_w_key, 0, "wild", "*.wild.example", 0, 3600,
                0600, &cert_w) != 0 ||
      make_pair(path_old_crt, path_old_key, 0, "old.example", "old.example",
                -7200, -3600, 0600, NULL) != 0 ||
      make_pair(path_new_crt, path_new_key, 0, "new.example", "new.example",
                86400, 2 * 86400, 0600, NULL) != 0 ||
      make_pair(path_nodns_crt, path_nodns_key, 0, "nodns", NULL, 0, 3600,
                0600, NULL) != 0 ||
      tc_write_text(path_notpem, "this is not PEM\n") != 0)
    return -1;
  /* A copy of a.key that every user may read. */
  {
    FILE *in = fopen(path_a_key, "r");
    char buf[4096];
    size_t n = in != NULL ? fread(buf, 1, sizeof(buf) - 1, in) : 0;
    if (in != NULL)
      fclose(in);
    buf[n] = '\0';
    if (n == 0 || tc_write_text(path_open_key, buf) != 0 ||
        chmod(path_open_key, 0644) != 0)
      return -1;
  }
  return 0;
}

/* stderr into a file while `capture` runs, as the log writes it. */
static int saved_stderr = -1;

static void capture_begin(void) {
  int fd = open(path_log, O_RDWR | O_CREAT | O_TRUNC, 0600);
  fflush(stderr);
  saved_stderr = dup(STDERR_FILENO);
  if (fd >= 0) {
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
}

static const char *capture_end(void) {
  static char text[8192];
  FILE *f;
  size_t n = 0;
  fflush(stderr);
  if (saved_stderr >= 0) {
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
  }
  if ((f = fopen(path_log, "r")) != NULL) {
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
  }
  text[n] = '\0';
  return text;
}

typedef struct pair {
  const char *cert, *key;
} pair;

/* The "tls" of listen[0]: `pairs`, the other fields as given. */
typedef struct opts {
  unsigned protocols; /* 0: both */
  const char *ciphers, *ciphersuites;
  int tickets;
  int plain_http;
} opts;

static int build(const pair *pairs, size_t n, const opts *o, hw__tls_ctx **out,
                 char *err, size_t err_len) {
  hw__config_cert certs[8];
  char *alpn[] = {"http/1.1"};
  hw__config_tls tls;
  memset(&tls, 0, sizeof(tls));
  memset(certs, 0, sizeof(certs));
  for (size_t i = 0; i < n; i++) {
    certs[i].cert = (char *)pairs[i].cert;
    certs[i].key = (char *)pairs[i].key;
  }
  tls.certs = certs;
  tls.ncerts = n;
  tls.protocols = o != NULL && o->protocols ? o->protocols
                                            : HW__TLS_V12 | HW__TLS_V13;
  tls.ciphers = o != NULL ? (char *)o->ciphers : NULL;
  tls.ciphersuites = o != NULL ? (char *)o->ciphersuites : NULL;
  tls.alpn = alpn;
  tls.nalpn = 1;
  tls.tickets = o != NULL ? o->tickets : 1;
  tls.plain_http = o != NULL ? o->plain_http : HW__PLAIN_400;
  err[0] = '\0';
  return hw__tls_ctx_build(&tls, "listen[0]", out, err, err_len);
}

/* ---- building ----------------------------------------------------------------- */

static void good(const char *name, const pair *pairs, size_t n) {
  hw__tls_ctx *c = NULL;
  char err[512], t[256];
  const char *logged;
  int r;
  capture_begin();
  r = build(pairs, n, NULL, &c, err, sizeof(err));
  logged = capture_end();
  snprintf(t, sizeof(t), "%s: built", name);
  ok(r == 0 && c != NULL, "%s", t);
  if (r != 0)
    diag("error: %s", err);
  snprintf(t, sizeof(t), "%s: no warning", name);
  is_str(logged, "", t);
  hw__tls_ctx_unref(c);
}

/* Refused, with one line naming `where` and the file `file`. */
static void bad(const char *name, const pair *pairs, size_t n, const opts *o,
                const char *where, const char *file) {
  hw__tls_ctx *c = (hw__tls_ctx *)&c; /* not NULL: set by the call */
  char err[1024], t[256];
  int r = build(pairs, n, o, &c, err, sizeof(err));
  snprintf(t, sizeof(t), "%s: refused (UV_EINVAL), no context", name);
  ok(r == UV_EINVAL && c == NULL, "%s", t);
  snprintf(t, sizeof(t), "%s: names %s", name, where);
  contains(err, where, t);
  if (file != NULL) {
    snprintf(t, sizeof(t), "%s: names the file (or the value)", name);
    contains(err, file, t);
  }
  snprintf(t, sizeof(t), "%s: one line", name);
  ok(err[0] != '\0' && strchr(err, '\n') == NULL, "%s", t);
  if (r == 0)
    hw__tls_ctx_unref(c);
  ERR_clear_error();
}

/* Built, with a warning naming each of `frag1`, `frag2`. */
static void warned(const char *name, const pair *pairs, size_t n,
                   const char *frag1, const char *frag2) {
  hw__tls_ctx *c = NULL;
  char err[512], t[256];
  const char *logged;
  int r;
  capture_begin();
  r = build(pairs, n, NULL, &c, err, sizeof(err));
  logged = capture_end();
  snprintf(t, sizeof(t), "%s: built all the same", name);
  ok(r == 0 && c != NULL, "%s", t);
  if (r != 0)
    diag("error: %s", err);
  snprintf(t, sizeof(t), "%s: a warning", name);
  contains(logged, "[warn]", t);
  snprintf(t, sizeof(t), "%s: says \"%s\"", name, frag1);
  contains(logged, frag1, t);
  snprintf(t, sizeof(t), "%s: says \"%s\"", name, frag2);
  contains(logged, frag2, t);
  hw__tls_ctx_unref(c);
}

static void test_build(void) {
  pair a = {path_a_crt, path_a_key}, b = {path_b_crt, path_b_key},
       w = {path_w_crt, path_w_key};
  pair three[] = {a, b, w};
  opts nope = {0, "NOPE", NULL, 1, 0}, nope13 = {0, NULL, "NOPE", 1, 0};

  good("an EC pair", &a, 1);
  good("an RSA pair", &b, 1);
  good("three pairs", three, 3);

  {
    pair p[] = {{path_missing, path_a_key}};
    bad("a missing certificate file", p, 1, NULL,
        "listen[0].tls.certificates[0].cert", path_missing);
  }
  {
    pair p[] = {a, {path_b_crt, path_missing}};
    bad("a missing key file (the second pair)", p, 2, NULL,
        "listen[0].tls.certificates[1].key", path_missing);
  }
  {
    pair p[] = {{path_a_crt, path_w_key}};
    bad("the key of another certificate (same type)", p, 1, NULL,
        "listen[0].tls.certificates[0].key", path_w_key);
  }
  {
    pair p[] = {{path_a_crt, path_b_key}};
    bad("the key of another certificate (RSA key, EC certificate)", p, 1,
        NULL, "listen[0].tls.certificates[0].key", path_b_key);
  }
  {
    pair p[] = {{path_notpem, path_a_key}};
    bad("a certificate file that is not PEM", p, 1, NULL,
        "listen[0].tls.certificates[0].cert", path_notpem);
  }
  {
    pair p[] = {{path_a_crt, path_notpem}};
    bad("a key file that is not PEM", p, 1, NULL,
        "listen[0].tls.certificates[0].key", path_notpem);
  }
  {
    pair p[] = {{path_a_key, path_a_crt}};
    bad("certificate and key swapped", p, 1, NULL,
        "listen[0].tls.certificates[0].cert", path_a_key);
  }
  {
    pair p[] = {{dir, path_a_key}};
    bad("a directory as the certificate", p, 1, NULL,
        "listen[0].tls.certificates[0].cert", dir);
  }
  bad("\"ciphers\": \"NOPE\"", &a, 1, &nope, "listen[0].tls.ciphers", "NOPE");
  bad("\"ciphersuites\": \"NOPE\"", &a, 1, &nope13,
      "listen[0].tls.ciphersuites", "NOPE");

  /* Not the key's contents in any message. */
  {
    pair p[] = {{path_a_crt, path_b_key}};
    hw__tls_ctx *c = NULL;
    char err[1024];
    build(p, 1, NULL, &c, err, sizeof(err));
    ok(strstr(err, "PRIVATE KEY") == NULL && strstr(err, "-----") == NULL,
       "a refused key: its contents are not in the message");
    hw__tls_ctx_unref(c);
  }

  {
    pair p[] = {{path_old_crt, path_old_key}};
    warned("an expired certificate", p, 1, "has expired", path_old_crt);
  }
  {
    pair p[] = {{path_new_crt, path_new_key}};
    warned("a certificate not valid yet", p, 1, "not valid yet",
           path_new_crt);
  }
  {
#ifdef _WIN32
    skip(3, "no mode bits to tell a key every user may read on Windows "
            "(its access is an ACL's)");
#else
    pair p[] = {{path_a_crt, path_open_key}};
    warned("a key every user may read", p, 1, path_open_key, "chmod o-r");
#endif
  }
  {
    pair p[] = {a, {path_nodns_crt, path_nodns_key}};
    warned("a second certificate with no DNS name", p, 2,
           "listen[0].tls.certificates[1]", "no DNS name");
  }
  {
    pair p[] = {{path_old_crt, path_old_key}};
    hw__tls_ctx *c = NULL;
    char err[512];
    capture_begin();
    build(p, 1, NULL, &c, err, sizeof(err));
    contains(capture_end(), "listen[0].tls.certificates[0]",
             "the warning names the key");
    hw__tls_ctx_unref(c);
  }
  {
    hw__tls_ctx *c = NULL;
    char err[256];
    opts o = {0, NULL, NULL, 1, HW__PLAIN_REDIRECT};
    build(&a, 1, &o, &c, err, sizeof(err));
    ok(c != NULL && hw__tls_ctx_plain_http(c) == HW__PLAIN_REDIRECT,
       "plain_http is the config's");
    hw__tls_ctx_unref(c);
  }
}

/* ---- handshakes ------------------------------------------------------------ */

typedef struct server {
  SSL *ssl;
  BIO *in, *out;
  int alert_sent;
  int starts, dones; /* handshakes begun and done */
} server;

static int server_index = -1;

static void server_info(const SSL *ssl, int where, int ret) {
  server *s = SSL_get_ex_data(ssl, server_index);
  if (s == NULL)
    return;
  if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE))
    s->alert_sent = ret & 0xff;
  if (where & SSL_CB_HANDSHAKE_START)
    s->starts++;
  if (where & SSL_CB_HANDSHAKE_DONE)
    s->dones++;
}

static int server_new(server *s, hw__tls_ctx *c) {
  memset(s, 0, sizeof(*s));
  s->alert_sent = -1;
  if (server_index < 0)
    server_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  s->ssl = hw__tls_ctx_ssl(c);
  s->in = BIO_new(BIO_s_mem());
  s->out = BIO_new(BIO_s_mem());
  if (s->ssl == NULL || s->in == NULL || s->out == NULL)
    return -1;
  BIO_set_mem_eof_return(s->in, -1);
  SSL_set_bio(s->ssl, s->in, s->out);
  SSL_set_ex_data(s->ssl, server_index, s);
  SSL_set_info_callback(s->ssl, server_info);
  SSL_set_accept_state(s->ssl);
  return 0;
}

static void server_free(server *s) {
  SSL_free(s->ssl);
  memset(s, 0, sizeof(*s));
}

/* Moves bytes between the two; returns how many moved. */
static size_t shuttle(tc_client *c, server *s) {
  size_t moved = 0, n;
  char *data = tc_client_take(c, &n);
  if (n > 0)
    BIO_write(s->in, data, (int)n);
  free(data);
  moved += n;
  {
    char *p;
    long m = BIO_get_mem_data(s->out, &p);
    if (m > 0) {
      tc_client_give(c, p, (size_t)m);
      BIO_reset(s->out);
      moved += (size_t)m;
    }
  }
  return moved;
}

static int fatal(SSL *ssl, int r) {
  int e = SSL_get_error(ssl, r);
  return e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
}

/* Runs both handshakes until both are done or nothing moves; 1 when both
 * are done. */
static int handshake(tc_client *c, server *s) {
  int cdone = 0, sdone = 0, cfail = 0, sfail = 0;
  for (int i = 0; i < 64; i++) {
    int r;
    if (!cdone && !cfail) {
      r = SSL_do_handshake(c->ssl);
      cdone = r == 1;
      cfail = r != 1 && fatal(c->ssl, r);
    }
    if (!sdone && !sfail) {
      r = SSL_do_handshake(s->ssl);
      sdone = r == 1;
      sfail = r != 1 && fatal(s->ssl, r);
    }
    if (shuttle(c, s) == 0 && (cdone || cfail) && (sdone || sfail))
      break;
  }
  ERR_clear_error();
  return cdone && sdone;
}

/* A handshake of a client offering `alpn` and `sni` with a server of `ctx`;
 * `*peer` is the certificate the client got (a reference, or NULL). */
static int connect_to(hw__tls_ctx *ctx, int min, int max, const char *alpn,
                      const char *sni, tc_client *c, server *s) {
  if (tc_client_new(c, min, max, alpn, sni) != 0 || server_new(s, ctx) != 0) {
    tc_diag_errors();
    return -1;
  }
  return handshake(c, s) ? 0 : -1;
}

static void sni_case(hw__tls_ctx *ctx, const char *sni, X509 *want,
                     const char *name) {
  tc_client c;
  server s;
  int r = connect_to(ctx, 0, 0, NULL, sni, &c, &s);
  X509 *got = r == 0 ? SSL_get0_peer_certificate(c.ssl) : NULL;
  ok(r == 0 && got != NULL && X509_cmp(got, want) == 0, "%s", name);
  tc_client_free(&c);
  server_free(&s);
}

static void test_sni(void) {
  pair three[] = {{path_a_crt, path_a_key},
                  {path_b_crt, path_b_key},
                  {path_w_crt, path_w_key}};
  hw__tls_ctx *ctx = NULL;
  char err[512];
  if (build(three, 3, NULL, &ctx, err, sizeof(err)) != 0) {
    ok(0, "three pairs: %s", err);
    return;
  }
  sni_case(ctx, "b.example", cert_b,
           "SNI b.example: the certificate whose subjectAltName has it");
  sni_case(ctx, "other.example", cert_b,
           "SNI other.example: the same certificate's second name");
  sni_case(ctx, "B.Example", cert_b, "SNI in another case: the same");
  sni_case(ctx, "x.wild.example", cert_w,
           "SNI x.wild.example: the certificate of *.wild.example");
  sni_case(ctx, "a.b.wild.example", cert_a,
           "SNI a.b.wild.example: a wildcard covers one label only (the "
           "first)");
  sni_case(ctx, "wild.example", cert_a,
           "SNI wild.example: not covered by *.wild.example (the first)");
  sni_case(ctx, "a.example", cert_a, "SNI a.example: the first");
  sni_case(ctx, "unknown.example", cert_a,
           "SNI unknown.example: no match, the first");
  sni_case(ctx, NULL, cert_a, "no SNI: the first");
  {
    tc_client c;
    server s;
    int r = connect_to(ctx, 0, 0, NULL, "b.example", &c, &s);
    const char *name = SSL_get_servername(s.ssl, TLSEXT_NAMETYPE_host_name);
    ok(r == 0 && name != NULL && strcmp(name, "b.example") == 0,
       "the server's session has the name the client asked for");
    tc_client_free(&c);
    server_free(&s);
  }
  {
    /* The SSL keeps its own reference to its context. */
    tc_client c;
    server s;
    int r;
    hw__tls_ctx_ref(ctx);
    r = connect_to(ctx, 0, 0, NULL, "b.example", &c, &s);
    hw__tls_ctx_unref(ctx);
    ok(r == 0, "a reference taken and dropped leaves the contexts usable");
    tc_client_free(&c);
    server_free(&s);
  }
  hw__tls_ctx_unref(ctx);
}

static void test_alpn_versions(void) {
  pair a = {path_a_crt, path_a_key};
  hw__tls_ctx *ctx = NULL, *only13 = NULL, *only12 = NULL;
  char err[512];
  opts o13 = {HW__TLS_V13, NULL, NULL, 1, 0}, o12 = {HW__TLS_V12, NULL, NULL, 1, 0};
  tc_client c;
  server s;
  const unsigned char *sel;
  unsigned len;
  int r;

  if (build(&a, 1, NULL, &ctx, err, sizeof(err)) != 0 ||
      build(&a, 1, &o13, &only13, err, sizeof(err)) != 0 ||
      build(&a, 1, &o12, &only12, err, sizeof(err)) != 0) {
    ok(0, "contexts: %s", err);
    hw__tls_ctx_unref(ctx);
    hw__tls_ctx_unref(only13);
    hw__tls_ctx_unref(only12);
    return;
  }

  r = connect_to(ctx, 0, 0, "h2,http/1.1", NULL, &c, &s);
  SSL_get0_alpn_selected(c.ssl, &sel, &len);
  ok(r == 0 && len == 8 && memcmp(sel, "http/1.1", 8) == 0,
     "ALPN h2,http/1.1: http/1.1 chosen");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(ctx, 0, 0, "h2", NULL, &c, &s);
  ok(r != 0, "ALPN h2 alone: the handshake fails");
  is_int(c.alert_got, SSL_AD_NO_APPLICATION_PROTOCOL,
         "ALPN h2 alone: the client gets no_application_protocol");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(ctx, 0, 0, NULL, NULL, &c, &s);
  SSL_get0_alpn_selected(c.ssl, &sel, &len);
  ok(r == 0 && len == 0, "no ALPN offered: a handshake, no protocol chosen");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(ctx, 0, 0, NULL, NULL, &c, &s);
  ok(r == 0 && SSL_version(s.ssl) == TLS1_3_VERSION,
     "both versions offered: TLS 1.3 chosen");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(ctx, 0, TLS1_2_VERSION, NULL, NULL, &c, &s);
  ok(r == 0 && SSL_version(s.ssl) == TLS1_2_VERSION,
     "a TLS 1.2 client: served by default");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(only13, 0, TLS1_2_VERSION, NULL, NULL, &c, &s);
  ok(r != 0, "protocols [TLSv1.3]: a TLS 1.2-only client is refused");
  is_int(c.alert_got, SSL_AD_PROTOCOL_VERSION,
         "protocols [TLSv1.3]: with protocol_version");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(only13, 0, 0, NULL, NULL, &c, &s);
  ok(r == 0 && SSL_version(s.ssl) == TLS1_3_VERSION,
     "protocols [TLSv1.3]: a client of both gets TLS 1.3");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(only12, TLS1_3_VERSION, 0, NULL, NULL, &c, &s);
  ok(r != 0, "protocols [TLSv1.2]: a TLS 1.3-only client is refused");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(only12, 0, 0, NULL, NULL, &c, &s);
  ok(r == 0 && SSL_version(s.ssl) == TLS1_2_VERSION,
     "protocols [TLSv1.2]: a client of both gets TLS 1.2");
  tc_client_free(&c);
  server_free(&s);

  r = connect_to(ctx, 0, TLS1_1_VERSION, NULL, NULL, &c, &s);
  ok(r != 0, "a TLS 1.1-only client is refused");
  tc_client_free(&c);
  server_free(&s);

  hw__tls_ctx_unref(ctx);
  hw__tls_ctx_unref(only13);
  hw__tls_ctx_unref(only12);
}

/* A TLS 1.2 client asks for a renegotiation: refused, and no second
 * handshake happens on the server. */
static void test_renegotiation(void) {
  pair a = {path_a_crt, path_a_key};
  hw__tls_ctx *ctx = NULL;
  char err[512], buf[64];
  unsigned char fin1[64], fin2[64];
  size_t fin1_len, fin2_len;
  tc_client c;
  server s;
  int r, done = 0;

  if (build(&a, 1, NULL, &ctx, err, sizeof(err)) != 0) {
    ok(0, "context: %s", err);
    return;
  }
  r = connect_to(ctx, 0, TLS1_2_VERSION, NULL, NULL, &c, &s);
  ok(r == 0 && s.dones == 1, "TLS 1.2: one handshake");
  fin1_len = SSL_get_finished(s.ssl, fin1, sizeof(fin1));
  ok(SSL_renegotiate(c.ssl) == 1, "the client asks to renegotiate");
  for (int i = 0; i < 16; i++) {
    int rc = SSL_do_handshake(c.ssl);
    if (rc == 1 && !SSL_renegotiate_pending(c.ssl))
      done = 1;
    SSL_read(s.ssl, buf, sizeof(buf));
    SSL_read(c.ssl, buf, sizeof(buf));
    if (shuttle(&c, &s) == 0)
      break;
  }
  ERR_clear_error();
  ok(!done, "the renegotiation does not complete on the client");
  /* (OpenSSL reports the refusal as a handshake "done": its Finished
   * messages say whether one took place.) */
  fin2_len = SSL_get_finished(s.ssl, fin2, sizeof(fin2));
  ok(fin1_len > 0 && fin1_len == fin2_len && memcmp(fin1, fin2, fin1_len) == 0,
     "the server did no second handshake (its Finished is the first one's)");
  ok(s.alert_sent == SSL_AD_NO_RENEGOTIATION ||
         s.alert_sent == SSL_AD_HANDSHAKE_FAILURE ||
         s.alert_sent == SSL_AD_UNEXPECTED_MESSAGE,
     "the server answered with an alert (%d)", s.alert_sent);
  tc_client_free(&c);
  server_free(&s);
  hw__tls_ctx_unref(ctx);
}

/* The client's first flight with its compression methods made `method`
 * alone (the list is one byte long in what OpenSSL sends). */
static void compression_case(hw__tls_ctx *ctx, int max, const char *name) {
  tc_client c;
  server s;
  char *hello;
  size_t n, p;
  int r, failed = 0;
  if (tc_client_new(&c, 0, max, NULL, NULL) != 0 || server_new(&s, ctx) != 0) {
    ok(0, "%s: set up", name);
    return;
  }
  SSL_do_handshake(c.ssl);
  hello = tc_client_take(&c, &n);
  /* record (5), handshake header (4), version (2), random (32) */
  p = 5 + 4 + 2 + 32;
  if (hello != NULL && p < n)
    p += 1 + (unsigned char)hello[p]; /* session id */
  if (hello != NULL && p + 2 < n)
    p += 2 + (((size_t)(unsigned char)hello[p] << 8) |
              (unsigned char)hello[p + 1]); /* cipher suites */
  if (hello == NULL || p + 1 >= n || hello[p] != 1 || hello[p + 1] != 0) {
    ok(0, "%s: found the compression methods", name);
    free(hello);
    tc_client_free(&c);
    server_free(&s);
    return;
  }
  hello[p + 1] = 1; /* DEFLATE (RFC 3749), and no null method */
  BIO_write(s.in, hello, (int)n);
  free(hello);
  r = SSL_do_handshake(s.ssl);
  failed = r != 1 && fatal(s.ssl, r);
  ERR_clear_error();
  ok(failed, "%s: the handshake fails", name);
  ok(s.alert_sent >= 0, "%s: with an alert (%d)", name, s.alert_sent);
  tc_client_free(&c);
  server_free(&s);
}

static void test_compression(void) {
  pair a = {path_a_crt, path_a_key};
  hw__tls_ctx *ctx = NULL;
  char err[512];
  if (build(&a, 1, NULL, &ctx, err, sizeof(err)) != 0) {
    ok(0, "context: %s", err);
    return;
  }
  compression_case(ctx, TLS1_2_VERSION,
                   "a TLS 1.2 ClientHello offering only DEFLATE compression");
  compression_case(ctx, 0,
                   "a TLS 1.3 ClientHello offering only DEFLATE compression");
  {
    tc_client c;
    server s;
    int r = connect_to(ctx, 0, TLS1_2_VERSION, NULL, NULL, &c, &s);
    ok(r == 0 && SSL_get_current_compression(s.ssl) == NULL,
       "an ordinary TLS 1.2 session: no compression");
    tc_client_free(&c);
    server_free(&s);
  }
  hw__tls_ctx_unref(ctx);
}

/* Session tickets off: a TLS 1.3 client gets no ticket. */
static void test_tickets_off(void) {
  pair a = {path_a_crt, path_a_key};
  hw__tls_ctx *ctx = NULL;
  char err[512], buf[16];
  opts off = {0, NULL, NULL, 0, 0};
  tc_client c;
  server s;
  SSL_SESSION *sess;
  int r;
  if (build(&a, 1, &off, &ctx, err, sizeof(err)) != 0) {
    ok(0, "context: %s", err);
    return;
  }
  r = connect_to(ctx, 0, 0, NULL, NULL, &c, &s);
  SSL_write(s.ssl, "x", 1);
  shuttle(&c, &s);
  SSL_read(c.ssl, buf, sizeof(buf)); /* after the tickets, if any */
  sess = SSL_get1_session(c.ssl);
  ok(r == 0 && sess != NULL && !SSL_SESSION_has_ticket(sess),
     "session_tickets false: a TLS 1.3 client gets no ticket");
  SSL_SESSION_free(sess);
  tc_client_free(&c);
  server_free(&s);
  hw__tls_ctx_unref(ctx);
  ERR_clear_error();
}

/* ---- config_listen --------------------------------------------------------- */

static int parse(const char *json, hw__config_listen *l, hw__config_tls *tls,
                 char *err, size_t err_len) {
  json_error_t je;
  json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
  int r;
  err[0] = '\0';
  if (v == NULL) {
    snprintf(err, err_len, "test JSON: %s", je.text);
    return -1;
  }
  r = hw__config_listen_parse(v, "listen[0]", "/etc/hw/", l, tls, err,
                              err_len);
  json_decref(v);
  return r;
}

static void parse_bad(const char *json, const char *frag, const char *name) {
  hw__config_listen l;
  hw__config_tls tls;
  char err[512], t[256];
  int r = parse(json, &l, &tls, err, sizeof(err));
  snprintf(t, sizeof(t), "%s: refused", name);
  ok(r == UV_EINVAL, "%s", t);
  snprintf(t, sizeof(t), "%s: says \"%s\"", name, frag);
  contains(err, frag, t);
  hw__config_listen_free(&tls);
}

static int same_tls(const hw__config_tls *a, const hw__config_tls *b) {
  if (a->ncerts != b->ncerts || a->protocols != b->protocols ||
      a->nalpn != b->nalpn || a->tickets != b->tickets ||
      a->plain_http != b->plain_http ||
      (a->ciphers == NULL) != (b->ciphers == NULL) ||
      (a->ciphers != NULL && strcmp(a->ciphers, b->ciphers) != 0) ||
      (a->ciphersuites == NULL) != (b->ciphersuites == NULL) ||
      (a->ciphersuites != NULL &&
       strcmp(a->ciphersuites, b->ciphersuites) != 0))
    return 0;
  for (size_t i = 0; i < a->ncerts; i++)
    if (strcmp(a->certs[i].cert, b->certs[i].cert) != 0 ||
        strcmp(a->certs[i].key, b->certs[i].key) != 0)
      return 0;
  for (size_t i = 0; i < a->nalpn; i++)
    if (strcmp(a->alpn[i], b->alpn[i]) != 0)
      return 0;
  return 1;
}

static void test_config_listen(void) {
  hw__config_listen l;
  hw__config_tls tls, again, copy;
  char err[512];
  int r;

  r = parse("\"127.0.0.1:8080\"", &l, &tls, err, sizeof(err));
  ok(r == 0 && tls.ncerts == 0, "a string: a plain listener");
  hw__config_listen_free(&tls);

  r = parse("{\"address\": \"127.0.0.1:8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"c.pem\", \"key\": \"/k/k.pem\"}]}}",
            &l, &tls, err, sizeof(err));
  ok(r == 0 && tls.ncerts == 1, "an object with tls: accepted");
  if (r != 0)
    diag("error: %s", err);
  is_str(tls.ncerts ? tls.certs[0].cert : NULL, "/etc/hw/c.pem",
         "a relative certificate path is the config's directory's");
  is_str(tls.ncerts ? tls.certs[0].key : NULL, "/k/k.pem",
         "an absolute key path is kept");
  ok(tls.protocols == (HW__TLS_V12 | HW__TLS_V13) && tls.tickets == 1 &&
         tls.plain_http == HW__PLAIN_400 && tls.ciphers == NULL &&
         tls.ciphersuites == NULL && tls.nalpn == 1 &&
         strcmp(tls.alpn[0], "http/1.1") == 0,
     "the defaults: TLS 1.2 and 1.3, tickets, plain_http 400, ALPN "
     "http/1.1, OpenSSL's suites");
  hw__config_listen_free(&tls);

  r = parse("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a.pem\", \"key\": \"a.key\"}, {\"cert\": "
            "\"b.pem\", \"key\": \"b.key\"}], \"protocols\": [\"TLSv1.3\"], "
            "\"ciphers\": \"ECDHE-RSA-AES128-GCM-SHA256\", \"ciphersuites\": "
            "\"TLS_AES_128_GCM_SHA256\", \"alpn\": [\"http/1.1\"], "
            "\"session_tickets\": false, \"plain_http\": \"redirect\"}}",
            &l, &tls, err, sizeof(err));
  ok(r == 0 && tls.ncerts == 2 && tls.protocols == HW__TLS_V13 &&
         tls.tickets == 0 && tls.plain_http == HW__PLAIN_REDIRECT &&
         tls.ciphers != NULL && tls.ciphersuites != NULL,
     "every key given: read");
  if (r != 0)
    diag("error: %s", err);
  if (r == 0) {
    json_t *j = hw__config_listen_json(&l, &tls);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    int r2 = text != NULL ? parse(text, &l, &again, err, sizeof(err)) : -1;
    ok(r2 == 0 && same_tls(&tls, &again),
       "written back as JSON and read again: the same");
    if (r2 != 0)
      diag("%s: %s", text ? text : "(no JSON)", err);
    free(text);
    json_decref(j);
    hw__config_listen_free(&again);
    ok(hw__config_listen_copy(&copy, &tls) == 0 && same_tls(&tls, &copy) &&
           copy.certs != tls.certs,
       "a copy: the same, in memory of its own");
    hw__config_listen_free(&copy);
    /* Staged (a generation's private copies): a copy names the user's. */
    tls.certs[1].cert_source = strdup("/user/b.pem");
    tls.certs[1].key_source = strdup("/user/b.key");
    ok(hw__config_listen_copy(&copy, &tls) == 0 &&
           strcmp(copy.certs[0].cert, tls.certs[0].cert) == 0 &&
           strcmp(copy.certs[1].cert, "/user/b.pem") == 0 &&
           strcmp(copy.certs[1].key, "/user/b.key") == 0 &&
           copy.certs[1].cert_source == NULL,
       "a copy of staged files names the user's files");
    hw__config_listen_free(&copy);
  }
  hw__config_listen_free(&tls);
  ok(tls.ncerts == 0 && tls.certs == NULL, "freed: a plain listener again");

  parse_bad("{\"address\": \"8443\", \"tls\": {}}",
            "listen[0].tls.certificates: missing", "no certificates");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": []}}",
            "listen[0].tls.certificates: must be", "an empty certificates");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\"}]}}",
            "listen[0].tls.certificates[0]: \"key\" is missing", "no key");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\", \"pass\": \"x\"}]}}",
            "listen[0].tls.certificates[0].pass: unknown key",
            "an unknown key in a pair");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"\"}]}}",
            "listen[0].tls.certificates[0].key: must be a non-empty string",
            "an empty key path");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"protocols\": "
            "[\"TLSv1.1\"]}}",
            "listen[0].tls.protocols[0]: TLSv1.1 is not offered",
            "TLSv1.1");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"protocols\": []}}",
            "listen[0].tls.protocols: must be", "no protocols");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"alpn\": [\"h3\"]}}",
            "listen[0].tls.alpn[0]: \"h3\" is not a protocol",
            "ALPN h3 (not spoken)");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"alpn\": [\"http/1.1\", "
            "\"http/1.1\"]}}",
            "listen[0].tls.alpn[1]: \"http/1.1\" is named twice",
            "ALPN named twice");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"plain_http\": \"301\"}}",
            "listen[0].tls.plain_http: must be", "plain_http 301");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"session_tickets\": 1}}",
            "listen[0].tls.session_tickets: must be true or false",
            "session_tickets 1");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"ciphers\": \"\"}}",
            "listen[0].tls.ciphers: must be a non-empty string",
            "an empty ciphers");
  parse_bad("{\"address\": \"8443\", \"tls\": {\"certificates\": "
            "[{\"cert\": \"a\", \"key\": \"b\"}], \"ocsp\": true}}",
            "listen[0].tls.ocsp: unknown key", "an unknown tls key");
  parse_bad("{\"address\": \"8443\", \"tls\": []}",
            "listen[0].tls: must be an object, not an array",
            "tls an array");
  parse_bad("{\"tls\": {}}", "listen[0].address: missing", "no address");
  parse_bad("{\"address\": 8443}",
            "listen[0].address: must be a string, not an integer",
            "an integer address");
  parse_bad("{\"address\": \"8443\", \"tcp\": {}}",
            "listen[0].tcp: unknown key", "an unknown listen key");
  parse_bad("[1]", "listen[0]: must be a \"HOST:PORT\" string or an object",
            "an array");
}

int main(void) {
  hw__log_set_level(HW_LOG_INFO);
  if (setup_files() != 0) {
    ok(0, "certificates and keys made in a temporary directory");
    tc_diag_errors();
    return done_testing();
  }
  test_build();
  test_sni();
  test_alpn_versions();
  test_renegotiation();
  test_compression();
  test_tickets_off();
  test_config_listen();
  X509_free(cert_a);
  X509_free(cert_b);
  X509_free(cert_w);
  tc_rmdir(dir);
  return done_testing();
}
