/*
 * testcert.h - certificates and in-memory TLS clients for the unit tests
 * of the TLS units (test_tls_ctx.c, test_tls.c): keys and self-signed
 * certificates made with OpenSSL (a subjectAltName of DNS names, a chosen
 * validity), written as PEM files into a temporary directory, and a client
 * SSL over two memory BIOs whose bytes the test carries by hand.
 */
#ifndef HW_TESTCERT_H
#define HW_TESTCERT_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/** An EC P-256 key (`rsa` 0) or an RSA 2048 key; NULL on failure. */
EVP_PKEY *tc_key(int rsa);
/** A self-signed certificate for `key` with common name `cn`, the DNS
 *  names of `sans` ("a.example,*.b.example"; NULL: no subjectAltName),
 *  valid from now + `from_s` to now + `to_s` seconds; NULL on failure. */
X509 *tc_cert(EVP_PKEY *key, const char *cn, const char *sans, long from_s,
              long to_s);
/** Writes `x` as PEM to `path`; 0 or -1. */
int tc_write_cert(const char *path, X509 *x);
/** Writes `key` as PEM to `path` with permissions `mode`; 0 or -1. */
int tc_write_key(const char *path, EVP_PKEY *key, int mode);
/** Writes `text` to `path`; 0 or -1. */
int tc_write_text(const char *path, const char *text);
/** A new temporary directory (its path, static); NULL on failure. */
const char *tc_tmpdir(const char *prefix);
/** Removes the files of `dir` and `dir` (one level). */
void tc_rmdir(const char *dir);

/** A client: an SSL in connect state over two memory BIOs.  `in` is what
 *  the server sent (the test writes into it), `out` what the client sends
 *  (the test reads from it). */
typedef struct tc_client {
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *in, *out;
  int alert_got;  /* the last alert received (its description), or -1 */
  int alert_sent; /* the last alert sent, or -1 */
} tc_client;

/** Makes a client offering versions `min`..`max` (0: OpenSSL's), the ALPN
 *  protocols `alpn` ("h2,http/1.1"; NULL: none) and the server name `sni`
 *  (NULL: none).  0 or -1. */
int tc_client_new(tc_client *c, int min, int max, const char *alpn,
                  const char *sni);
void tc_client_free(tc_client *c);
/** What the client sent since the last call (malloc'd, `*len` bytes; the
 *  caller frees it), or NULL with `*len` 0 when nothing. */
char *tc_client_take(tc_client *c, size_t *len);
/** Gives the client bytes the server sent. */
void tc_client_give(tc_client *c, const char *data, size_t len);

/** OpenSSL's error queue as diagnostics, and cleared. */
void tc_diag_errors(void);

#endif /* HW_TESTCERT_H */
