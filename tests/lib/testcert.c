/*
 * testcert.c - certificates and in-memory TLS clients for the TLS unit
 * tests (see testcert.h).
 */
#include "autoconf.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "portable.h"
#include "testcert.h"

EVP_PKEY *tc_key(int rsa) {
  return rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
}

X509 *tc_cert(EVP_PKEY *key, const char *cn, const char *sans, long from_s,
              long to_s) {
  static long serial = 1;
  X509 *x = X509_new();
  X509_NAME *n;
  if (x == NULL)
    return NULL;
  n = X509_get_subject_name(x);
  if (!X509_set_version(x, 2) ||
      !ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) ||
      X509_gmtime_adj(X509_getm_notBefore(x), from_s) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(x), to_s) == NULL ||
      !X509_set_pubkey(x, key) ||
      !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                  (const unsigned char *)cn, -1, -1, 0) ||
      !X509_set_issuer_name(x, n))
    goto fail;
  if (sans != NULL) {
    char value[1024];
    size_t o = 0;
    X509_EXTENSION *ext;
    X509V3_CTX v3;
    /* "a,b" -> "DNS:a,DNS:b" */
    for (const char *p = sans; *p != '\0' && o + 8 < sizeof(value);) {
      const char *comma = strchr(p, ',');
      size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
      o += (size_t)snprintf(value + o, sizeof(value) - o, "%sDNS:%.*s",
                            o > 0 ? "," : "", (int)len, p);
      p += len + (comma != NULL);
    }
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, value);
    if (ext == NULL || !X509_add_ext(x, ext, -1)) {
      X509_EXTENSION_free(ext);
      goto fail;
    }
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, key, EVP_sha256()) <= 0)
    goto fail;
  return x;
fail:
  X509_free(x);
  return NULL;
}

int tc_write_cert(const char *path, X509 *x) {
  FILE *f = fopen(path, "w");
  int ok_ = f != NULL && PEM_write_X509(f, x) == 1;
  if (f != NULL && fclose(f) != 0)
    ok_ = 0;
  return ok_ ? 0 : -1;
}

int tc_write_key(const char *path, EVP_PKEY *key, int mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  int ok_ = f != NULL && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
                                              NULL) == 1;
  if (f == NULL && fd >= 0)
    close(fd);
  if (f != NULL && fclose(f) != 0)
    ok_ = 0;
  /* chmod after writing: the umask does not apply to it. */
  if (ok_ && chmod(path, (mode_t)mode) != 0)
    ok_ = 0;
  return ok_ ? 0 : -1;
}

int tc_write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  int ok_ = f != NULL && fputs(text, f) >= 0;
  if (f != NULL && fclose(f) != 0)
    ok_ = 0;
  return ok_ ? 0 : -1;
}

const char *tc_tmpdir(const char *prefix) {
  static char dir[256];
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof(dir), "%s/%s.XXXXXX", t != NULL && *t ? t : hwt_tmp(),
           prefix);
  return hwt_mkdtemp(dir);
}

void tc_rmdir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[512];
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

/* ---- the client ---------------------------------------------------------- */

static int client_index = -1;

static void on_info(const SSL *ssl, int where, int ret) {
  tc_client *c = SSL_get_ex_data(ssl, client_index);
  if (c == NULL || !(where & SSL_CB_ALERT))
    return;
  if (where & SSL_CB_READ)
    c->alert_got = ret & 0xff;
  else
    c->alert_sent = ret & 0xff;
}

int tc_client_new(tc_client *c, int min, int max, const char *alpn,
                  const char *sni) {
  memset(c, 0, sizeof(*c));
  c->alert_got = c->alert_sent = -1;
  if (client_index < 0)
    client_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  c->ctx = SSL_CTX_new(TLS_client_method());
  if (c->ctx == NULL)
    return -1;
  /* The certificates are self-signed: nothing is verified. */
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
  if ((min != 0 && !SSL_CTX_set_min_proto_version(c->ctx, min)) ||
      (max != 0 && !SSL_CTX_set_max_proto_version(c->ctx, max)))
    return -1;
  SSL_CTX_set_info_callback(c->ctx, on_info);
  if (alpn != NULL) {
    unsigned char wire[256];
    size_t o = 0;
    for (const char *p = alpn; *p != '\0';) {
      const char *comma = strchr(p, ',');
      size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
      if (o + 1 + len > sizeof(wire))
        return -1;
      wire[o++] = (unsigned char)len;
      memcpy(wire + o, p, len);
      o += len;
      p += len + (comma != NULL);
    }
    if (SSL_CTX_set_alpn_protos(c->ctx, wire, (unsigned)o) != 0)
      return -1;
  }
  c->ssl = SSL_new(c->ctx);
  c->in = BIO_new(BIO_s_mem());
  c->out = BIO_new(BIO_s_mem());
  if (c->ssl == NULL || c->in == NULL || c->out == NULL) {
    BIO_free(c->in);
    BIO_free(c->out);
    c->in = c->out = NULL;
    return -1;
  }
  /* An empty memory BIO says "retry", not "end of file". */
  BIO_set_mem_eof_return(c->in, -1);
  SSL_set_bio(c->ssl, c->in, c->out);
  SSL_set_ex_data(c->ssl, client_index, c);
  SSL_set_connect_state(c->ssl);
  if (sni != NULL && !SSL_set_tlsext_host_name(c->ssl, sni))
    return -1;
  return 0;
}

void tc_client_free(tc_client *c) {
  SSL_free(c->ssl); /* and its BIOs */
  SSL_CTX_free(c->ctx);
  memset(c, 0, sizeof(*c));
}

char *tc_client_take(tc_client *c, size_t *len) {
  char *data;
  long n = BIO_get_mem_data(c->out, &data);
  char *copy;
  *len = 0;
  if (n <= 0 || (copy = malloc((size_t)n)) == NULL)
    return NULL;
  memcpy(copy, data, (size_t)n);
  BIO_reset(c->out);
  *len = (size_t)n;
  return copy;
}

void tc_client_give(tc_client *c, const char *data, size_t len) {
  if (len > 0)
    BIO_write(c->in, data, (int)len);
}

static int print_error(const char *text, size_t len, void *u) {
  (void)u;
  printf("# openssl: %.*s", (int)len, text); /* (TAP: a comment) */
  fflush(stdout);
  return 1;
}

void tc_diag_errors(void) { ERR_print_errors_cb(print_error, NULL); }
