/*
 * test_tickets.c - unit tests of the shared TLS session-ticket keys
 * (server/tickets.c), with real OpenSSL: handshakes in memory (a client
 * SSL and a server SSL over a BIO pair, the server with an ECDSA P-256
 * certificate made here) where a ticket one server context issued resumes
 * on another context (another worker) through the same callback, for TLS
 * 1.2 and 1.3; the ring over rotations (an older key resumes and a fresh
 * ticket follows, a key three rotations old does not); a forked process
 * that attaches read-only through the descriptor and sees the maker's
 * rotation; no region at all; a sequence left odd by a writer that died
 * (given up on in bounded time); the rotation timer; the errors.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/wait.h> /* test_worker's child */
#endif
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "os.h" /* hw__os_pages_map: the region mapped again */
#include "portable.h"
#include "tap.h"
#include "tickets.h"

static EVP_PKEY *pkey;
static X509 *cert;

/* What the callback answered last, through the wrapper the servers use. */
static int last_enc = -9, last_dec = -9, ndec;

static int wrapped_cb(SSL *s, unsigned char name[16], unsigned char iv[16],
                      EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc) {
  int rc = hw__tickets_cb(s, name, iv, ctx, hctx, enc);
  if (enc) {
    last_enc = rc;
  } else {
    last_dec = rc;
    ndec++;
  }
  return rc;
}

static void reset_cb(void) {
  last_enc = last_dec = -9;
  ndec = 0;
}

/* A self-signed ECDSA P-256 certificate for "localhost". */
static int make_cert(void) {
  X509_NAME *n;

  pkey = EVP_EC_gen("P-256");
  cert = X509_new();
  if (pkey == NULL || cert == NULL)
    return -1;
  n = X509_get_subject_name(cert);
  if (!X509_set_version(cert, 2) ||
      !ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) ||
      X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(cert), 3600) == NULL ||
      !X509_set_pubkey(cert, pkey) ||
      !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                  (const unsigned char *)"localhost", -1, -1,
                                  0) ||
      !X509_set_issuer_name(cert, n) || X509_sign(cert, pkey, EVP_sha256()) <= 0)
    return -1;
  return 0;
}

/* A server context as a worker would make one: tickets from the shared
 * keys, no session cache of its own (so a resumption is a ticket's). */
static SSL_CTX *server_ctx(int version) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, version) ||
      !SSL_CTX_set_max_proto_version(ctx, version) ||
      SSL_CTX_use_certificate(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
      !SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"haywire",
                                      7) ||
      !SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, wrapped_cb)) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_timeout(ctx, HW__TICKETS_LIFETIME_S);
  return ctx;
}

static SSL_CTX *client_ctx(int version) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, version) ||
      !SSL_CTX_set_max_proto_version(ctx, version)) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

/* One connection's outcome. */
typedef struct conn {
  int ok;            /* handshake done, and a message read after it */
  int reused;        /* both sides say the session was resumed */
  SSL_SESSION *sess; /* the client's session after it (owned), or NULL */
} conn;

static int print_error(const char *text, size_t len, void *u) {
  (void)u;
  diag("openssl: %.*s", (int)len, text);
  return 1;
}

static int progress(SSL *ssl, int r) {
  int e = SSL_get_error(ssl, r);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* A handshake between a client of `cctx` (offering `resume`, if any) and
 * a server of `sctx`, then a message from the server, which the client
 * reads after the tickets TLS 1.3 sends once the handshake is over. */
static conn connect_once(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *resume) {
  conn out = {0, 0, NULL};
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  BIO *cb = NULL, *sb = NULL;
  int cdone = 0, sdone = 0, got = 0;
  char buf[16];

  if (c == NULL || s == NULL || !BIO_new_bio_pair(&cb, 0, &sb, 0))
    goto end;
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  if (resume != NULL && !SSL_set_session(c, resume))
    goto end;
  for (int i = 0; i < 64 && !(cdone && sdone); i++) {
    int r = 0;
    if (!cdone && (r = SSL_do_handshake(c)) != 1 && !progress(c, r))
      goto end;
    cdone = cdone || r == 1;
    if (!sdone && (r = SSL_do_handshake(s)) != 1 && !progress(s, r))
      goto end;
    sdone = sdone || r == 1;
  }
  if (!cdone || !sdone || SSL_write(s, "ping", 4) != 4)
    goto end;
  for (int i = 0; i < 16 && got != 4; i++) {
    int r = SSL_read(c, buf, sizeof(buf));
    if (r > 0)
      got = r;
    else if (!progress(c, r))
      goto end;
  }
  out.ok = got == 4 && memcmp(buf, "ping", 4) == 0;
  out.reused = SSL_session_reused(c) && SSL_session_reused(s);
  /* A connection freed without close_notify makes its session not
   * resumable (ssl_clear_bad_session): each side says goodbye. */
  SSL_shutdown(c);
  SSL_shutdown(s);
  out.sess = SSL_get1_session(c);
end:
  if (!out.ok)
    ERR_print_errors_cb(print_error, NULL);
  SSL_free(c);
  SSL_free(s);
  return out;
}

/* The key name a session's ticket carries (its first 16 bytes). */
static int ticket_name(const SSL_SESSION *sess, unsigned char name[16]) {
  const unsigned char *t = NULL;
  size_t len = 0;
  if (sess == NULL || !SSL_SESSION_has_ticket(sess))
    return 0;
  SSL_SESSION_get0_ticket(sess, &t, &len);
  if (t == NULL || len < 16)
    return 0;
  memcpy(name, t, 16);
  return 1;
}

static int current_is(const SSL_SESSION *sess) {
  unsigned char a[16], b[16];
  return ticket_name(sess, a) && hw__tickets_current(b, NULL) == 0 &&
         memcmp(a, b, 16) == 0;
}

/* (1) and (2): a ticket from one context resumes on another; over the
 * rotations of the ring. */
static void test_resume(int version, const char *v) {
  SSL_CTX *a = server_ctx(version), *b = server_ctx(version);
  SSL_CTX *cl = client_ctx(version);
  unsigned char n1[16], n2[16];
  conn c1, c;

  ok(a != NULL && b != NULL && cl != NULL, "%s: contexts", v);
  if (a == NULL || b == NULL || cl == NULL)
    return;
  reset_cb();
  c1 = connect_once(a, cl, NULL);
  ok(c1.ok && !c1.reused, "%s: a first handshake, full", v);
  is_int(last_enc, 1, "the callback made a ticket");
  ok(current_is(c1.sess), "%s: the ticket is named for the current key", v);
  ticket_name(c1.sess, n1);

  reset_cb();
  c = connect_once(b, cl, c1.sess);
  ok(c.ok && c.reused, "%s: it resumes on another server context", v);
  is_int(last_dec, 1, "found under the current key: 1");
  SSL_SESSION_free(c.sess);

  hw__tickets_rotate();
  reset_cb();
  c = connect_once(b, cl, c1.sess);
  ok(c.ok && c.reused, "%s: after a rotation the old ticket resumes", v);
  is_int(last_dec, 2, "found under an older key: 2 (renew)");
  is_int(last_enc, 1, "and a fresh ticket was made");
  ok(current_is(c.sess) && ticket_name(c.sess, n2) && memcmp(n1, n2, 16),
     "%s: the client holds a ticket under the new current key", v);

  hw__tickets_rotate();
  hw__tickets_rotate();
  {
    conn old, fresh;
    reset_cb();
    old = connect_once(b, cl, c1.sess);
    ok(old.ok && !old.reused && ndec == 1 && last_dec == 0,
       "%s: three rotations on, its key is gone: a full handshake", v);
    reset_cb();
    fresh = connect_once(a, cl, c.sess);
    ok(fresh.ok && fresh.reused && last_dec == 2,
       "%s: the renewed ticket (two rotations old) still resumes", v);
    SSL_SESSION_free(old.sess);
    SSL_SESSION_free(fresh.sess);
  }
  SSL_SESSION_free(c.sess);
  SSL_SESSION_free(c1.sess);
  SSL_CTX_free(a);
  SSL_CTX_free(b);
  SSL_CTX_free(cl);
}

/* What the child (a worker) reports through the pipe. */
typedef struct report {
  int attach, fd_after, current, ok, reused, dec;
  unsigned char name[16];
  uint64_t rotations;
} report;

#ifndef _WIN32
static void child(int ready, int go, int back, SSL_SESSION *sess) {
  report r;
  int fd = dup(hw__tickets_fd());
  char byte = 0;
  SSL_CTX *sctx, *cl;
  conn c;

  memset(&r, 0, sizeof(r));
  hw__tickets_close(); /* the maker's state, inherited by fork */
  r.attach = hw__tickets_attach(fd);
  r.fd_after = hw__tickets_fd();
  if (write(ready, "r", 1) != 1 || read(go, &byte, 1) != 1)
    _exit(2);
  hw__tickets_rotate(); /* a worker's: nothing (its mapping is read-only) */
  r.current = hw__tickets_current(r.name, &r.rotations);
  sctx = server_ctx(TLS1_3_VERSION);
  cl = client_ctx(TLS1_3_VERSION);
  reset_cb();
  c = connect_once(sctx, cl, sess);
  r.ok = c.ok;
  r.reused = c.reused;
  r.dec = last_dec;
  if (write(back, &r, sizeof(r)) != (ssize_t)sizeof(r))
    _exit(3);
  _exit(0);
}

#endif

/* (3): a forked process attached read-only sees the maker's rotation. */
static void test_worker(void) {
#ifdef _WIN32
  /* The worker must be another process that inherited the descriptor: a
   * child of fork(), which Windows has not.  The maker's ticket and its
   * rotation stay, for the tests after this one count on them. */
  SSL_CTX *a = server_ctx(TLS1_3_VERSION), *cl = client_ctx(TLS1_3_VERSION);
  conn c = connect_once(a, cl, NULL);
  ok(c.ok && c.sess != NULL, "worker: a ticket from the maker's process");
  hw__tickets_rotate();
  skip(10, "no fork() on Windows: a worker process attached to the region");
  SSL_SESSION_free(c.sess);
  SSL_CTX_free(a);
  SSL_CTX_free(cl);
}
#else
  SSL_CTX *a = server_ctx(TLS1_3_VERSION), *cl = client_ctx(TLS1_3_VERSION);
  int p_ready[2], p_go[2], p_back[2], status = -1;
  unsigned char name[16];
  uint64_t rotations = 0;
  report r;
  conn c;
  char byte;
  pid_t pid;

  memset(&r, 0, sizeof(r));
  c = connect_once(a, cl, NULL);
  ok(c.ok && c.sess != NULL, "worker: a ticket from the maker's process");
  if (pipe(p_ready) != 0 || pipe(p_go) != 0 || pipe(p_back) != 0 ||
      (pid = fork()) < 0) {
    ok(0, "pipes and fork");
    return;
  }
  if (pid == 0)
    child(p_ready[1], p_go[0], p_back[1], c.sess);
  ok(read(p_ready[0], &byte, 1) == 1, "the child attached");
  hw__tickets_rotate();
  ok(write(p_go[1], "g", 1) == 1, "the maker rotated");
  ok(read(p_back[0], &r, sizeof(r)) == (ssize_t)sizeof(r), "its report");
  ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0,
     "the child exited 0");
  is_int(r.attach, 0, "worker: attached read-only through the descriptor");
  is_int(r.fd_after, -1, "worker: the descriptor was closed, none kept");
  is_int(r.current, 0, "worker: reads the ring");
  ok(hw__tickets_current(name, &rotations) == 0 &&
         memcmp(name, r.name, 16) == 0,
     "worker: sees the maker's new current key (its name)");
  ok(r.rotations == rotations, "worker: and its count of rotations (%llu)",
     (unsigned long long)r.rotations);
  ok(r.ok && r.reused && r.dec == 2,
     "worker: resumes the maker's ticket, now under an older key");
  for (int i = 0; i < 2; i++) {
    close(p_ready[i]);
    close(p_go[i]);
    close(p_back[i]);
  }
  SSL_SESSION_free(c.sess);
  SSL_CTX_free(a);
  SSL_CTX_free(cl);
}
#endif

static void direct_calls(int *enc, int *dec) {
  unsigned char name[16] = {0}, iv[16] = {0};
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *hctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;

  *enc = *dec = -9;
  if (ctx != NULL && hctx != NULL) {
    *enc = hw__tickets_cb(NULL, name, iv, ctx, hctx, 1);
    EVP_CIPHER_CTX_reset(ctx);
    *dec = hw__tickets_cb(NULL, name, iv, ctx, hctx, 0);
  }
  EVP_MAC_CTX_free(hctx);
  EVP_MAC_free(mac);
  EVP_CIPHER_CTX_free(ctx);
}

/* (4): a process without a region issues no tickets and resumes none. */
static void test_no_region(int version, const char *v, SSL_SESSION *old) {
  SSL_CTX *a = server_ctx(version), *cl = client_ctx(version);
  unsigned char name[16];
  conn c;
  int enc, dec;

  direct_calls(&enc, &dec);
  ok(enc == 0 && dec == 0, "%s no region: the callback answers 0 (%d, %d)",
     v, enc, dec);
  is_int(hw__tickets_current(name, NULL), UV_ENOENT, "no current key");
  reset_cb();
  c = connect_once(a, cl, NULL);
  ok(c.ok && !c.reused && last_enc == 0,
     "%s no region: a handshake, and no ticket made", v);
  ok(!ticket_name(c.sess, name), "%s no region: the client got no ticket", v);
  SSL_SESSION_free(c.sess);
  if (old != NULL) {
    reset_cb();
    c = connect_once(a, cl, old);
    ok(c.ok && !c.reused && last_dec == 0,
       "%s no region: a ticket offered is not resumed", v);
    SSL_SESSION_free(c.sess);
  }
  SSL_CTX_free(a);
  SSL_CTX_free(cl);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* (5): a sequence left odd (the maker died writing) is given up on. */
static void test_dead_writer(void) {
  SSL_CTX *a = server_ctx(TLS1_3_VERSION), *cl = client_ctx(TLS1_3_VERSION);
  hw__tickets_region *w = NULL;
  void *p = NULL;
  unsigned char name[16];
  double t0, first, second;
  int enc, dec;
  conn good, c;

  good = connect_once(a, cl, NULL);
  ok(good.ok && good.sess != NULL, "dead writer: a ticket first");
  /* Another process's writable mapping, as the maker's is. */
  ok(hw__os_pages_map(hw__tickets_fd(), 4096, 1, &p) == 0,
     "dead writer: the region mapped again, writable");
  if (p == NULL)
    return;
  w = p;
  __atomic_fetch_add(&w->seq, 1, __ATOMIC_RELEASE); /* odd, and never even */
  t0 = now_s();
  direct_calls(&enc, &dec);
  first = now_s() - t0;
  ok(enc == 0 && dec == 0, "dead writer: no ticket, no key (%d, %d)", enc,
     dec);
  ok(first < 1.0, "dead writer: given up on in %.1f ms", first * 1000);
  /* (The fastest of three: one call could lose the processor.) */
  second = first;
  for (int i = 0; i < 3; i++) {
    double t;
    t0 = now_s();
    direct_calls(&enc, &dec);
    t = now_s() - t0;
    second = t < second ? t : second;
  }
  ok(enc == 0 && dec == 0 && second < first,
     "dead writer: then at once (%.3f ms)", second * 1000);
  is_int(hw__tickets_current(name, NULL), UV_EAGAIN,
         "dead writer: the ring cannot be read");
  reset_cb();
  c = connect_once(a, cl, good.sess);
  ok(c.ok && !c.reused && last_dec == 0,
     "dead writer: a full handshake instead of a resumption");
  SSL_SESSION_free(c.sess);

  __atomic_fetch_add(&w->seq, 1, __ATOMIC_RELEASE); /* a writer again */
  reset_cb();
  c = connect_once(a, cl, good.sess);
  ok(c.ok && c.reused && last_dec == 1,
     "dead writer: once the sequence is even, tickets resume again");
  SSL_SESSION_free(c.sess);
  hw__os_pages_unmap(p, 4096);
  SSL_SESSION_free(good.sess);
  SSL_CTX_free(a);
  SSL_CTX_free(cl);
}

/* Watches the rotations: stops the loop after three, or after 5 s. */
static uint64_t watch_from, watch_start;

static void on_watch(uv_timer_t *t) {
  unsigned char name[16];
  uint64_t n = 0;
  hw__tickets_current(name, &n);
  if (n >= watch_from + 3 || uv_now(t->loop) - watch_start > 5000)
    uv_timer_stop(t);
}

/* The rotation timer: unref'd, rotating each period, stopped by close. */
static void test_timer(void) {
  uv_loop_t loop;
  uv_timer_t stop;
  unsigned char name[16];
  uint64_t before = 0, after = 0;

  uv_loop_init(&loop);
  is_int(hw__tickets_start(&loop, 0), UV_EINVAL, "timer: a period of 0");
  hw__tickets_current(name, &before);
  is_int(hw__tickets_start(&loop, 10), 0, "timer: started, every 10 ms");
  is_int(hw__tickets_start(&loop, 10), UV_EBUSY, "timer: once");
  ok(!uv_loop_alive(&loop), "timer: it keeps no loop alive");
  uv_timer_init(&loop, &stop);
  watch_from = before;
  watch_start = uv_now(&loop);
  uv_timer_start(&stop, on_watch, 5, 5);
  uv_run(&loop, UV_RUN_DEFAULT);
  hw__tickets_current(name, &after);
  ok(after >= before + 3, "timer: rotated %llu times in %llu ms",
     (unsigned long long)(after - before),
     (unsigned long long)(uv_now(&loop) - watch_start));
  hw__tickets_stop();
  uv_close((uv_handle_t *)&stop, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  is_int(hw__tickets_start(&loop, 10), 0, "timer: starts again once closed");
  hw__tickets_stop();
  is_int(hw__tickets_start(&loop, 10), UV_EBUSY, "timer: not while closing");
  uv_run(&loop, UV_RUN_DEFAULT);
  is_int(uv_loop_close(&loop), 0, "timer: the loop closes, nothing left");
}

static void test_errors(void) {
  int fds[2], fd;

  is_int(hw__tickets_create(), UV_EBUSY, "a second region is refused");
  is_int(hw__tickets_attach(dup(hw__tickets_fd())), UV_EBUSY,
         "a maker does not attach too");
  hw__tickets_close();
  is_int(hw__tickets_fd(), -1, "closed: no descriptor");
  ok(hwt_pipe(fds) == 0, "a pipe");
  is_int(hw__tickets_attach(fds[0]), UV_EINVAL, "a pipe is no region");
  close(fds[1]);
  fd = hwt_zero_file("not-tickets", 4096);
  ok(fd >= 0, "a page of zeros");
  is_int(hw__tickets_attach(fd), UV_EINVAL, "a page without the magic");
  ok(!hwt_fd_open(fd),
     "attach closed the descriptor it was given");
  hw__tickets_rotate(); /* no region: nothing */
}

int main(void) {
  SSL_CTX *a, *cl;
  conn c12, c13;

  ok(make_cert() == 0, "an ECDSA P-256 certificate");
  is_int(hw__tickets_fd(), -1, "no region yet");
  is_int(hw__tickets_create(), 0, "the maker's region");
  ok(hw__tickets_fd() >= 0, "shared by a descriptor");
  test_resume(TLS1_3_VERSION, "TLS 1.3");
  test_resume(TLS1_2_VERSION, "TLS 1.2");
  test_worker();
  test_dead_writer();
  test_timer();
  /* Tickets made while there were keys, offered when there are none. */
  a = server_ctx(TLS1_2_VERSION);
  cl = client_ctx(TLS1_2_VERSION);
  c12 = connect_once(a, cl, NULL);
  SSL_CTX_free(a);
  SSL_CTX_free(cl);
  a = server_ctx(TLS1_3_VERSION);
  cl = client_ctx(TLS1_3_VERSION);
  c13 = connect_once(a, cl, NULL);
  SSL_CTX_free(a);
  SSL_CTX_free(cl);
  test_errors();
  test_no_region(TLS1_3_VERSION, "TLS 1.3", c13.sess);
  test_no_region(TLS1_2_VERSION, "TLS 1.2", c12.sess);
  SSL_SESSION_free(c12.sess);
  SSL_SESSION_free(c13.sess);
  hw__tickets_close();
  X509_free(cert);
  EVP_PKEY_free(pkey);
  return done_testing();
}
