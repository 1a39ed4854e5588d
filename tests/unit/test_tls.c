/*
 * test_tls.c - unit tests of the TLS layer (server/tls.c) between a fake
 * connection below it and a fake protocol above it, with a real OpenSSL
 * client whose bytes the test carries by hand: what the client sends is
 * handed to the layer's data (the env's proto) as a read, and what the layer batched on
 * the connection is given to the client.
 *
 * The connection below ("lower") behaves as conn.c does: it takes a batch
 * before a read, keeps what the layer did not take and feeds it again when
 * the layer resumes (not reading meanwhile), writes the batch after every
 * call, and records a close and calls the layer's close.  The protocol
 * above ("inner") records what it is given and can be told to take only N
 * bytes a call, to answer each call with bytes of its batch, or to close.
 *
 * Cases: a handshake then a request and a response, and what the
 * transport says of the session; a handshake fed one byte per read;
 * back-pressure (a pipelined burst the protocol takes a little at a time:
 * a short count, plaintext kept, every byte once and in order after its
 * resumes, and the end of the stream after them); responses over 16 KiB
 * and of many small pieces; a close after the write (close_notify) and an
 * immediate one; bytes that are not TLS; plain HTTP (400, a redirect,
 * close); the client's close_notify as the end of the stream, once; a
 * handshake cut short; the head phase until the handshake is done;
 * timeouts, drain and writable; resumption by ticket and the handshake
 * counts; a new context for new connections only; a renegotiation; a
 * deferred answer whose write fails, closing the connection inside the
 * protocol's own flush (its state must outlive that call: a use after free
 * under AddressSanitizer before the state lived in the layer's).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "metrics.h"
#include "os.h" /* hw__os_memmem */
#include "tap.h"
#include "testcert.h"
#include "tickets.h"
#include "tls.h"
#include "tls_ctx.h"

/* ---- the connection below --------------------------------------------- */

typedef struct lower {
  hw__transport t;
  const hw__proto *proto; /* the layer, as the env gives it */
  hw__batch_pool pool;
  hw__buf wire;       /* every byte the layer handed over, in order */
  size_t given;       /* of `wire`, what the client was given */
  hw__buf pending;    /* input the layer did not take (or that came while
                         it was paused: still in the socket) */
  size_t pending_off;
  int paused, resume_wanted, close_wanted, in_call, gone;
  int closed;         /* 1 + how the layer closed, once it did */
  int shorts;         /* reads the layer took less of */
  int resumes;        /* times the layer called resume */
  int flushes;
  int head_always;    /* the phase was HEAD after every call (until reset) */
  int fail_writes;    /* a write fails: closed at once, as conn.c does */
  void *state;        /* the layer's */
} lower;

static lower *lower_of(hw__transport *t) {
  return hw__bytes_container_of(t, lower, t);
}

static void gone(lower *l);

static void write_batch(lower *l) {
  hw__batch *b = l->t.batch;
  if (b == NULL)
    return;
  l->t.batch = NULL;
  if (l->fail_writes && hw__batch_size(b) > 0) {
    hw__batch_give(&l->pool, b);
    l->closed = 1 + HW__CLOSE_NOW;
    gone(l);
    return;
  }
  for (size_t i = 0; i < b->nsegs; i++) {
    const hw__seg *s = &b->segs[i];
    hw__buf_append(&l->wire, s->base != NULL ? s->base : b->out.data + s->off,
                   s->len);
  }
  hw__batch_give(&l->pool, b);
}

static void gone(lower *l) {
  if (l->gone)
    return;
  l->gone = 1;
  if (l->t.batch != NULL) {
    hw__batch_give(&l->pool, l->t.batch);
    l->t.batch = NULL;
  }
  l->proto->close(l->state);
}

static void feed(lower *l, const char *data, size_t len, int from_read);
static int inner_opened(void);

/* After every call into the layer, as conn.c's after(). */
static void after(lower *l) {
  for (;;) {
    if (l->gone)
      return;
    if (l->close_wanted != 0) {
      int how = l->close_wanted - 1;
      l->close_wanted = 0;
      if (how == HW__CLOSE_AFTER_WRITE)
        write_batch(l);
      l->closed = 1 + how;
      gone(l);
      return;
    }
    write_batch(l);
    if (l->gone)
      return;
    if (!l->resume_wanted)
      break;
    l->resume_wanted = 0;
    if (l->paused) {
      l->paused = 0;
      if (l->pending.len > l->pending_off)
        feed(l, l->pending.data + l->pending_off,
             l->pending.len - l->pending_off, 0);
    }
  }
  if (l->t.phase != HW__PHASE_HEAD && !inner_opened())
    l->head_always = 0;
}

static void feed(lower *l, const char *data, size_t len, int from_read) {
  size_t n;
  if (l->t.batch == NULL)
    l->t.batch = hw__batch_take(&l->pool, l);
  l->in_call = 1;
  n = l->proto->data(l->state, data, len);
  l->in_call = 0;
  if (l->gone)
    return;
  if (n < len)
    l->shorts++;
  if (from_read) {
    if (n < len) {
      l->pending.len = 0;
      l->pending_off = 0;
      hw__buf_append(&l->pending, data + n, len - n);
      l->paused = 1;
    }
  } else if (n < len) {
    l->pending_off += n;
    l->paused = 1;
  } else {
    l->pending.len = 0;
    l->pending_off = 0;
  }
}

static hw__batch *t_batch(hw__transport *t) {
  lower *l = lower_of(t);
  if (l->t.batch == NULL && !l->gone)
    l->t.batch = hw__batch_take(&l->pool, l);
  return l->t.batch;
}

static void t_flush(hw__transport *t) {
  lower *l = lower_of(t);
  l->flushes++;
  if (!l->in_call)
    after(l);
}

static void t_resume(hw__transport *t) {
  lower *l = lower_of(t);
  l->resumes++;
  l->resume_wanted = 1;
  if (!l->in_call)
    after(l);
}

static void t_close(hw__transport *t, int how) {
  lower *l = lower_of(t);
  if (l->close_wanted == 0 || how == HW__CLOSE_NOW)
    l->close_wanted = how + 1;
  if (!l->in_call)
    after(l);
}

static int t_peer(hw__transport *t, char *buf, size_t len) {
  (void)t;
  if (len < 15)
    return UV_EINVAL;
  memcpy(buf, "127.0.0.1:4242", 15);
  return 14;
}

static const hw__transport_ops lower_ops = {
    .batch = t_batch,
    .flush = t_flush,
    .resume = t_resume,
    .close = t_close,
    .peer = t_peer,
    .tls = NULL,
    .files = 1, /* a socket could: the layer must say it cannot */
};

static lower *lw_open(hw__tls_env *env) {
  lower *l = calloc(1, sizeof(*l));
  if (l == NULL || (l->state = calloc(1, env->proto.size)) == NULL) {
    free(l);
    return NULL;
  }
  l->proto = &env->proto;
  l->t.ops = &lower_ops;
  l->head_always = 1;
  l->proto->open(l->state, &l->t, env);
  return l;
}

/* Bytes from the socket: to the layer, or kept while it is paused. */
static void lw_read(lower *l, const char *data, size_t len) {
  if (l->gone || len == 0)
    return;
  if (l->paused) {
    hw__buf_append(&l->pending, data, len);
    return;
  }
  feed(l, data, len, 1);
  after(l);
}

static void lw_tell(lower *l, void (*fn)(void *)) {
  if (l->gone)
    return;
  l->in_call = 1;
  fn(l->state);
  l->in_call = 0;
  after(l);
}

static void lw_eof(lower *l) { lw_tell(l, l->proto->eof); }

static void lw_free(lower *l) {
  if (l == NULL)
    return;
  gone(l);
  hw__batch_pool_drain(&l->pool);
  hw__buf_free(&l->wire);
  hw__buf_free(&l->pending);
  free(l->state);
  free(l);
}

/* ---- the protocol above -------------------------------------------------- */

typedef struct inner {
  hw__transport *t;
} inner;

static struct rec {
  /* what happened */
  int opens, closes, eofs, timeouts, writables, drains;
  hw__buf got;        /* every byte given, in order */
  void *self;         /* the open stream's state */
  size_t got_at_eof;  /* got.len when the end came */
  int open_env_ok;    /* open was given the inner env */
  uint32_t unsent_seen;
  hw__transport *t;   /* the open stream's transport */
  /* what to do */
  size_t limit;       /* take at most this a call (0: all) */
  int none;           /* take nothing */
  const char *reply;  /* batched on every data call */
  int close_on_data;  /* 1 + how: close on every data call */
} rec;

static int inner_env_token;

static int inner_opened(void) { return rec.opens > 0; }

static void rec_reset(void) {
  hw__buf_free(&rec.got);
  memset(&rec, 0, sizeof(rec));
}

static void in_open(void *p, hw__transport *t, void *env) {
  inner *s = p;
  s->t = t;
  rec.t = t;
  rec.self = s;
  rec.opens++;
  rec.open_env_ok = env == &inner_env_token;
  t->phase = HW__PHASE_IDLE;
}

/* Writes `n` bytes into the protocol's batch: copied, or referenced. */
static int in_write(hw__transport *t, const char *p, size_t n, int ref) {
  hw__batch *b = hw__transport_batch(t);
  size_t off;
  if (b == NULL)
    return -1;
  if (ref)
    return hw__batch_seg(b, p, 0, n);
  off = b->out.len;
  if (hw__buf_append(&b->out, p, n) != 0)
    return -1;
  return hw__batch_seg(b, NULL, off, n);
}

static size_t in_data(void *p, const char *data, size_t len) {
  inner *s = p;
  size_t k = len;
  if (rec.none)
    k = 0;
  else if (rec.limit != 0 && k > rec.limit)
    k = rec.limit;
  hw__buf_append(&rec.got, data, k);
  if (rec.reply != NULL)
    in_write(s->t, rec.reply, strlen(rec.reply), 0);
  if (rec.close_on_data)
    s->t->ops->close(s->t, rec.close_on_data - 1);
  return k;
}

static void in_eof(void *p) {
  rec.eofs++;
  rec.got_at_eof = rec.got.len;
}
static void in_timeout(void *p) { rec.timeouts++; }
static void in_writable(void *p) {
  inner *s = p;
  rec.writables++;
  rec.unsent_seen = s->t->unsent;
}
static void in_drain(void *p) { rec.drains++; }
static void in_close(void *p) {
  rec.closes++;
  rec.t = NULL;
}

static const hw__proto inner_proto = {
    .size = sizeof(inner),
    .open = in_open,
    .data = in_data,
    .eof = in_eof,
    .timeout = in_timeout,
    .writable = in_writable,
    .drain = in_drain,
    .close = in_close,
};

/* ---- the client, and carrying bytes ------------------------------------------ */

static const char *dir;
static char crt_a[512], key_a[512], crt_b[512], key_b[512];
static X509 *cert_a, *cert_b;

typedef struct tlink {
  tc_client c;
  lower *l;
} tlink;

/* What the client sent, to the layer as one read (or a byte a read). */
static size_t to_server(tlink *k, int bytewise) {
  size_t n;
  char *data = tc_client_take(&k->c, &n);
  if (bytewise)
    for (size_t i = 0; i < n; i++)
      lw_read(k->l, data + i, 1);
  else
    lw_read(k->l, data, n);
  free(data);
  return n;
}

/* What the layer wrote, to the client. */
static size_t to_client(tlink *k) {
  size_t n = k->l->wire.len - k->l->given;
  tc_client_give(&k->c, k->l->wire.data + k->l->given, n);
  k->l->given = k->l->wire.len;
  return n;
}

static int link_open(tlink *k, hw__tls_env *env, int max, const char *alpn,
                     const char *sni) {
  memset(k, 0, sizeof(*k));
  if (tc_client_new(&k->c, 0, max, alpn, sni) != 0 ||
      (k->l = lw_open(env)) == NULL) {
    tc_diag_errors();
    return -1;
  }
  return 0;
}

static void link_close(tlink *k) {
  lw_free(k->l);
  tc_client_free(&k->c);
  k->l = NULL;
}

/* The handshake, until the layer has opened the protocol; 0 or -1. */
static int link_handshake(tlink *k, int bytewise) {
  int done = 0;
  for (int i = 0; i < 32 && !(done && rec.opens > 0) && !k->l->gone; i++) {
    int r = SSL_do_handshake(k->c.ssl);
    if (r == 1)
      done = 1;
    else if (SSL_get_error(k->c.ssl, r) != SSL_ERROR_WANT_READ)
      break;
    to_server(k, bytewise);
    to_client(k);
  }
  ERR_clear_error();
  return done && rec.opens == 1 ? 0 : -1;
}

static int link_connect(tlink *k, hw__tls_env *env, int max, const char *alpn,
                        const char *sni) {
  if (link_open(k, env, max, alpn, sni) != 0)
    return -1;
  return link_handshake(k, 0);
}

/* What the client reads now (appended to `out`); returns the last
 * SSL_get_error (SSL_ERROR_WANT_READ: more may come). */
static int client_read(tlink *k, hw__buf *out) {
  char buf[4096];
  to_client(k);
  for (;;) {
    int n = SSL_read(k->c.ssl, buf, sizeof(buf));
    if (n <= 0) {
      int e = SSL_get_error(k->c.ssl, n);
      ERR_clear_error();
      return e;
    }
    hw__buf_append(out, buf, (size_t)n);
  }
}

static int client_write(tlink *k, const char *p, size_t n) {
  return SSL_write(k->c.ssl, p, (int)n) == (int)n ? 0 : -1;
}

/* ---- the env --------------------------------------------------------------- */

static hw__tls_ctx *ctx_400, *ctx_redirect, *ctx_close, *ctx_b;
static hw__metrics_slot *slot;

static int make_ctx(const char *crt, const char *key, int plain,
                    hw__tls_ctx **out) {
  hw__config_cert cc = {.cert = (char *)crt, .key = (char *)key};
  char *alpn[] = {"http/1.1"};
  hw__config_tls tls;
  char err[512];
  memset(&tls, 0, sizeof(tls));
  tls.certs = &cc;
  tls.ncerts = 1;
  tls.protocols = HW__TLS_V12 | HW__TLS_V13;
  tls.alpn = alpn;
  tls.nalpn = 1;
  tls.tickets = 1;
  tls.plain_http = plain;
  if (hw__tls_ctx_build(&tls, "listen[0]", out, err, sizeof(err)) != 0) {
    diag("%s", err);
    return -1;
  }
  return 0;
}

static int setup(void) {
  EVP_PKEY *ka, *kb;
  if ((dir = tc_tmpdir("hw-tls")) == NULL)
    return -1;
  snprintf(crt_a, sizeof(crt_a), "%s/a.crt", dir);
  snprintf(key_a, sizeof(key_a), "%s/a.key", dir);
  snprintf(crt_b, sizeof(crt_b), "%s/b.crt", dir);
  snprintf(key_b, sizeof(key_b), "%s/b.key", dir);
  ka = tc_key(0);
  kb = tc_key(0);
  cert_a = ka ? tc_cert(ka, "a.example", "a.example", 0, 3600) : NULL;
  cert_b = kb ? tc_cert(kb, "b.example", "b.example", 0, 3600) : NULL;
  if (cert_a == NULL || cert_b == NULL || tc_write_cert(crt_a, cert_a) ||
      tc_write_key(key_a, ka, 0600) || tc_write_cert(crt_b, cert_b) ||
      tc_write_key(key_b, kb, 0600)) {
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    return -1;
  }
  EVP_PKEY_free(ka);
  EVP_PKEY_free(kb);
  if (make_ctx(crt_a, key_a, HW__PLAIN_400, &ctx_400) != 0 ||
      make_ctx(crt_a, key_a, HW__PLAIN_REDIRECT, &ctx_redirect) != 0 ||
      make_ctx(crt_a, key_a, HW__PLAIN_CLOSE, &ctx_close) != 0 ||
      make_ctx(crt_b, key_b, HW__PLAIN_400, &ctx_b) != 0)
    return -1;
  slot = calloc(1, sizeof(*slot));
  return slot != NULL ? 0 : -1;
}

/* An env as the worker's accept_on makes one: init, then the serving
 * generation's contexts, then the slot the handshakes are counted in. */
static int env_open(hw__tls_env *env, hw__tls_ctx *ctx, int port) {
  if (hw__tls_env_init(env, &inner_proto, &inner_env_token, port) != 0)
    return -1;
  env->metrics = slot;
  hw__tls_env_set(env, ctx);
  return 0;
}

/* A fresh record, env and link for the next case (`handshake`: connected
 * through the handshake, else only opened); one failed check if not. */
static int fresh(tlink *k, hw__tls_env *env, int handshake) {
  rec_reset();
  if (env_open(env, ctx_400, 8443) != 0 ||
      (handshake ? link_connect(k, env, 0, NULL, NULL)
                 : link_open(k, env, 0, NULL, NULL)) != 0) {
    ok(0, "set up");
    return -1;
  }
  return 0;
}

static uint64_t counted(int kind) {
  return atomic_load(&slot->handshakes[kind]);
}

static int wire_has(lower *l, const char *s) {
  return l->wire.len >= strlen(s) &&
         hw__os_memmem(l->wire.data, l->wire.len, s, strlen(s)) != NULL;
}

static int got_is(const hw__buf *b, const char *p, size_t n) {
  return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

/* ---- the cases ------------------------------------------------------------------ */

static void test_roundtrip(void) {
  static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
  hw__tls_env env;
  hw__transport_tls info;
  hw__buf out = {0};
  char peer[64];
  tlink k;
  uint64_t full = counted(HW__HANDSHAKE_FULL);
  int r;

  rec_reset();
  if (env_open(&env, ctx_400, 8443) != 0 ||
      link_open(&k, &env, 0, "http/1.1", "a.example") != 0) {
    ok(0, "set up");
    return;
  }
  is_int(k.l->t.phase, HW__PHASE_HEAD, "open: the connection is in the head phase");
  ok(rec.opens == 0, "open: the protocol is not opened before the handshake");
  r = link_handshake(&k, 0);
  ok(r == 0, "a full handshake opens the protocol");
  ok(rec.open_env_ok, "the protocol is opened with its env");
  ok(k.l->head_always, "the head phase held on the connection until then");
  is_int(k.l->t.phase, HW__PHASE_IDLE,
         "after it, the connection's phase is the protocol's");
  is_int(counted(HW__HANDSHAKE_FULL) - full, 1, "one full handshake counted");
  if (r != 0) {
    link_close(&k);
    hw__tls_env_destroy(&env);
    return;
  }
  ok(rec.t->ops->files == 0 && k.l->t.ops->files == 1,
     "the protocol may not batch file regions (the connection could)");
  r = rec.t->ops->peer(rec.t, peer, sizeof(peer));
  ok(r == 14 && strcmp(peer, "127.0.0.1:4242") == 0,
     "peer() is the connection's");
  memset(&info, 0, sizeof(info));
  r = rec.t->ops->tls(rec.t, &info);
  ok(r == 0 && info.version != NULL && strcmp(info.version, "TLSv1.3") == 0 &&
         info.cipher != NULL && info.cipher[0] != '\0' &&
         strcmp(info.sni, "a.example") == 0 &&
         strcmp(info.alpn, "http/1.1") == 0 && info.resumed == 0,
     "tls(): TLSv1.3, a cipher, the SNI, the ALPN, not resumed");

  rec.reply = resp;
  client_write(&k, req, sizeof(req) - 1);
  to_server(&k, 0);
  ok(got_is(&rec.got, req, sizeof(req) - 1),
     "the request reaches the protocol as it was sent");
  r = client_read(&k, &out);
  ok(r == SSL_ERROR_WANT_READ && got_is(&out, resp, sizeof(resp) - 1),
     "the response batched during the call reaches the client");

  /* Written outside any call, then flushed. */
  rec.reply = NULL;
  out.len = 0;
  in_write(rec.t, "later", 5, 0);
  in_write(rec.t, "+ref", 4, 1);
  rec.t->ops->flush(rec.t);
  client_read(&k, &out);
  ok(got_is(&out, "later+ref", 9),
     "bytes written outside a call reach the client on flush");
  ok(k.l->flushes > 0, "and the layer flushed the connection");
  ok(!k.l->closed && rec.closes == 0, "the connection stays open");

  link_close(&k);
  is_int(rec.closes, 1, "the connection gone: the protocol's close, once");
  hw__buf_free(&out);
  hw__tls_env_destroy(&env);
}

/* Every byte the client sends, handshake and request, one read each. */
static void test_bytewise(void) {
  static const char req[] = "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n";
  hw__tls_env env;
  hw__buf out = {0};
  tlink k;
  size_t hello;
  char *first;
  int r;

  if (fresh(&k, &env, 0) != 0)
    return;
  SSL_do_handshake(k.c.ssl);
  first = tc_client_take(&k.c, &hello);
  for (size_t i = 0; i < hello; i++)
    lw_read(k.l, first + i, 1);
  free(first);
  ok(hello > 100 && k.l->shorts == 0,
     "a ClientHello of %zu bytes, one byte a read: every byte taken", hello);
  ok(k.l->wire.len > 0 && rec.opens == 0 && !k.l->closed,
     "the server's flight is written once the hello is whole");
  to_client(&k);
  r = link_handshake(&k, 1);
  ok(r == 0, "the handshake completes, the client's Finished byte by byte");
  ok(k.l->head_always, "in the head phase until then");
  rec.reply = "ok";
  client_write(&k, req, sizeof(req) - 1);
  to_server(&k, 1);
  ok(got_is(&rec.got, req, sizeof(req) - 1),
     "a request record byte by byte arrives whole");
  client_read(&k, &out);
  ok(got_is(&out, "ok", 2), "and is answered");
  link_close(&k);
  hw__buf_free(&out);
  hw__tls_env_destroy(&env);
}

static void fill(char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (char)('a' + (i * 7 + seed + i / 251) % 26);
}

/* Resumes the protocol until it has `want` bytes (or nothing changes). */
static int resume_until(size_t want, int *rounds) {
  *rounds = 0;
  while (rec.got.len < want && rec.t != NULL && *rounds < 10000) {
    size_t before = rec.got.len;
    (*rounds)++;
    rec.t->ops->resume(rec.t);
    if (rec.got.len == before && rec.limit != 0)
      break;
  }
  return rec.got.len == want;
}

static void test_backpressure(void) {
  enum { A = 40000, B = 10000, C = 700 };
  char *burst = malloc(A + B + C);
  hw__tls_env env;
  tlink k;
  int rounds, r;

  rec_reset();
  if (burst == NULL || env_open(&env, ctx_400, 8443) != 0 ||
      link_connect(&k, &env, 0, NULL, NULL) != 0) {
    ok(0, "set up");
    free(burst);
    return;
  }
  fill(burst, A + B + C, 3);
  /* Three writes: records of 16384, 16384, 7232, 10000 and 700 bytes,
   * carried in one read. */
  client_write(&k, burst, A);
  client_write(&k, burst + A, B);
  client_write(&k, burst + A + B, C);
  rec.limit = 1000;
  to_server(&k, 0);
  is_int(rec.got.len, 1000, "a burst: the protocol took its 1000 bytes");
  ok(k.l->shorts == 1 && k.l->paused,
     "the layer gave the connection a short count (the ciphertext it did not "
     "read), and the connection stopped");
  {
    /* More bytes from the client wait in the socket meanwhile. */
    client_write(&k, "tail", 4);
    to_server(&k, 0);
    is_int(rec.got.len, 1000, "nothing more reaches the protocol until it resumes");
  }
  r = resume_until(A + B + C + 4, &rounds);
  ok(r, "after %d resumes every byte arrived", rounds);
  ok(rec.got.len >= A + B + C &&
         memcmp(rec.got.data, burst, A + B + C) == 0 &&
         memcmp(rec.got.data + A + B + C, "tail", 4) == 0,
     "exactly once, in order");
  ok(!k.l->paused && k.l->resumes > 0,
     "the connection was resumed and reads again");
  ok(!k.l->closed, "the connection stays open");

  /* Nothing taken at all, then everything at once. */
  rec.got.len = 0;
  rec.limit = 0;
  rec.none = 1;
  client_write(&k, burst, A);
  to_server(&k, 0);
  ok(rec.got.len == 0 && k.l->paused,
     "a protocol that takes nothing: the connection waits");
  rec.none = 0;
  r = resume_until(A, &rounds);
  ok(r && memcmp(rec.got.data, burst, A) == 0,
     "one resume and the whole burst arrives, in order");

  link_close(&k);
  hw__tls_env_destroy(&env);
  free(burst);
}

/* One record with several requests in it, the protocol taking one at a
 * time, and the stream ending behind them: the end comes after them. */
static void test_backpressure_eof(void) {
  static const char three[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
  hw__tls_env env;
  tlink k;
  int rounds;

  /* (a) close_notify behind the record */
  if (fresh(&k, &env, 1) != 0)
    return;
  client_write(&k, three, sizeof(three) - 1);
  SSL_shutdown(k.c.ssl);
  rec.limit = 28;
  to_server(&k, 0);
  ok(rec.got.len == 28 && rec.eofs == 0,
     "one record of three requests: the first taken, no end yet");
  resume_until(sizeof(three) - 1, &rounds);
  ok(got_is(&rec.got, three, sizeof(three) - 1),
     "after resumes: the three requests, in order");
  ok(rec.eofs == 1 && rec.got_at_eof == sizeof(three) - 1,
     "the client's close_notify: the end of the stream, after them (%d, at "
     "%zu)", rec.eofs, rec.got_at_eof);
  link_close(&k);
  hw__tls_env_destroy(&env);

  /* (b) the connection's end of file behind the record: the layer read
   * all the ciphertext, so the connection kept reading and saw it */
  if (fresh(&k, &env, 1) != 0)
    return;
  client_write(&k, three, sizeof(three) - 1);
  rec.limit = 28;
  to_server(&k, 0);
  ok(rec.got.len == 28 && !k.l->paused,
     "the record read whole: the connection reads on");
  lw_eof(k.l);
  ok(rec.eofs == 0, "its end of file waits behind the plaintext kept");
  resume_until(sizeof(three) - 1, &rounds);
  ok(got_is(&rec.got, three, sizeof(three) - 1),
     "after resumes: the three requests, in order");
  ok(rec.eofs == 1 && rec.got_at_eof == sizeof(three) - 1,
     "then the end of the stream, once (%d, at %zu)", rec.eofs,
     rec.got_at_eof);
  link_close(&k);
  hw__tls_env_destroy(&env);

  /* (c) the record read whole, then another read while the protocol
   * still has plaintext to take: refused (a short count), then fed */
  if (fresh(&k, &env, 1) != 0)
    return;
  client_write(&k, three, sizeof(three) - 1);
  rec.limit = 28;
  to_server(&k, 0);
  client_write(&k, "GET /4 HTTP/1.1\r\nHost: a\r\n\r\n", 28);
  to_server(&k, 0);
  ok(rec.got.len == 28 && k.l->paused && k.l->shorts == 1,
     "a read while plaintext is kept: none of it taken");
  resume_until(sizeof(three) - 1 + 28, &rounds);
  ok(rec.got.len == sizeof(three) - 1 + 28 &&
         memcmp(rec.got.data, three, sizeof(three) - 1) == 0 &&
         memcmp(rec.got.data + sizeof(three) - 1, "GET /4", 6) == 0,
     "after resumes: the four requests, in order");
  link_close(&k);
  hw__tls_env_destroy(&env);

  /* (d) gone while plaintext is kept (nothing leaks: ASan) */
  if (fresh(&k, &env, 1) != 0)
    return;
  client_write(&k, three, sizeof(three) - 1);
  rec.limit = 28;
  to_server(&k, 0);
  lw_eof(k.l);
  link_close(&k);
  ok(rec.closes == 1 && rec.eofs == 0,
     "the connection gone while plaintext and its end wait: the protocol "
     "closed, not told an end it never reached");
  hw__tls_env_destroy(&env);
}

static void test_large(void) {
  enum { BIG = 100000, PIECES = 5000, PIECE = 13 };
  char *big = malloc(BIG), *small = malloc(PIECES * PIECE);
  hw__tls_env env;
  hw__buf out = {0};
  tlink k;
  size_t before;

  rec_reset();
  if (big == NULL || small == NULL || env_open(&env, ctx_400, 8443) != 0 ||
      link_connect(&k, &env, 0, NULL, NULL) != 0) {
    ok(0, "set up");
    free(big);
    free(small);
    return;
  }
  fill(big, BIG, 5);
  fill(small, PIECES * PIECE, 11);

  in_write(rec.t, big, BIG, 0);
  rec.t->ops->flush(rec.t);
  client_read(&k, &out);
  ok(got_is(&out, big, BIG), "a 100000-byte response arrives intact");

  out.len = 0;
  before = k.l->wire.len;
  /* Referenced and copied pieces in turn (copied ones that follow each
   * other would merge into one segment). */
  for (size_t i = 0; i < PIECES; i++)
    in_write(rec.t, small + i * PIECE, PIECE, (int)(i % 2));
  rec.t->ops->flush(rec.t);
  client_read(&k, &out);
  ok(got_is(&out, small, PIECES * PIECE),
     "5000 pieces of 13 bytes arrive intact, in order");
  ok(k.l->wire.len - before < PIECES * PIECE + 5 * 64,
     "gathered into few records (%zu bytes of ciphertext for %d)",
     k.l->wire.len - before, PIECES * PIECE);

  /* A big response batched within the call that brought its request. */
  out.len = 0;
  {
    char *copy = malloc(BIG + 1);
    memcpy(copy, big, BIG);
    copy[BIG] = '\0';
    rec.reply = copy;
    client_write(&k, "x", 1);
    to_server(&k, 0);
    rec.reply = NULL;
    client_read(&k, &out);
    ok(got_is(&out, big, BIG), "and one batched during a call");
    free(copy);
  }
  link_close(&k);
  hw__buf_free(&out);
  hw__tls_env_destroy(&env);
  free(big);
  free(small);
}

static void test_close(void) {
  hw__tls_env env;
  hw__buf out = {0};
  tlink k;
  int e;

  /* After the write, from outside a call. */
  if (fresh(&k, &env, 1) != 0)
    return;
  in_write(rec.t, "bye", 3, 0);
  rec.t->ops->close(rec.t, HW__CLOSE_AFTER_WRITE);
  is_int(k.l->closed, 1 + HW__CLOSE_AFTER_WRITE,
         "close AFTER_WRITE: the connection is closed after its write");
  is_int(rec.closes, 1, "and the protocol's close ran");
  e = client_read(&k, &out);
  ok(got_is(&out, "bye", 3), "what was written before goes first");
  is_int(e, SSL_ERROR_ZERO_RETURN, "then close_notify (SSL_ERROR_ZERO_RETURN)");
  link_close(&k);
  hw__tls_env_destroy(&env);

  /* After the write, asked during a data call. */
  rec_reset();
  out.len = 0;
  if (env_open(&env, ctx_400, 8443) != 0 ||
      link_connect(&k, &env, 0, NULL, NULL) != 0) {
    ok(0, "set up");
    return;
  }
  rec.reply = "last";
  rec.close_on_data = 1 + HW__CLOSE_AFTER_WRITE;
  client_write(&k, "GET", 3);
  to_server(&k, 0);
  is_int(k.l->closed, 1 + HW__CLOSE_AFTER_WRITE,
         "close AFTER_WRITE during a call: closed when the call returns");
  e = client_read(&k, &out);
  ok(got_is(&out, "last", 4) && e == SSL_ERROR_ZERO_RETURN,
     "the answer, then close_notify");
  link_close(&k);
  hw__tls_env_destroy(&env);

  /* At once. */
  rec_reset();
  out.len = 0;
  if (env_open(&env, ctx_400, 8443) != 0 ||
      link_connect(&k, &env, 0, NULL, NULL) != 0) {
    ok(0, "set up");
    return;
  }
  {
    size_t before = k.l->wire.len;
    in_write(rec.t, "dropped", 7, 0);
    rec.t->ops->close(rec.t, HW__CLOSE_NOW);
    is_int(k.l->closed, 1 + HW__CLOSE_NOW, "close NOW: closed at once");
    ok(k.l->wire.len == before, "nothing more is written");
    is_int(rec.closes, 1, "the protocol's close ran");
  }
  link_close(&k);
  hw__buf_free(&out);
  hw__tls_env_destroy(&env);
}

static void not_tls(const char *bytes, size_t n, const char *name) {
  hw__tls_env env;
  lower *l;
  uint64_t failed = counted(HW__HANDSHAKE_FAILED);
  char t[256];

  rec_reset();
  if (env_open(&env, ctx_400, 8443) != 0 || (l = lw_open(&env)) == NULL) {
    ok(0, "set up");
    return;
  }
  lw_read(l, bytes, n);
  snprintf(t, sizeof(t), "%s: the handshake fails, the connection closed "
           "after its write", name);
  is_int(l->closed, 1 + HW__CLOSE_AFTER_WRITE, t);
  snprintf(t, sizeof(t), "%s: an alert record was written first", name);
  ok(l->wire.len >= 7 && l->wire.data[0] == 0x15, "%s", t);
  snprintf(t, sizeof(t), "%s: the protocol never opened, a failure counted",
           name);
  ok(rec.opens == 0 && counted(HW__HANDSHAKE_FAILED) - failed == 1, "%s", t);
  lw_free(l);
  hw__tls_env_destroy(&env);
}

static void test_garbage(void) {
  char rec1[5 + 32];
  memcpy(rec1, "\x16\x03\x01\x00\x20", 5);
  memset(rec1 + 5, 'j', 32);
  not_tls(rec1, sizeof(rec1), "a handshake record of junk");
  not_tls("\x16\x03\x01junk junk junk junk junk", 27,
          "0x16 0x03 0x01 then junk");
  not_tls("\x17\x03\x03\x00\x05hello", 10, "application data first");
}

/* A plain request on the TLS port; what the connection got. */
static lower *plain(hw__tls_env *env, hw__tls_ctx *ctx, int port,
                    const char *req1, const char *req2) {
  lower *l;
  rec_reset();
  if (env_open(env, ctx, port) != 0 || (l = lw_open(env)) == NULL)
    return NULL;
  lw_read(l, req1, strlen(req1));
  if (req2 != NULL)
    lw_read(l, req2, strlen(req2));
  hw__buf_append(&l->wire, "", 1); /* a C string, for the checks */
  l->wire.len--;
  return l;
}

static void plain_case(hw__tls_ctx *ctx, int port, const char *req1,
                       const char *req2, const char *status,
                       const char *location, const char *name) {
  hw__tls_env env;
  lower *l = plain(&env, ctx, port, req1, req2);
  char t[256];
  if (l == NULL) {
    ok(0, "%s: set up", name);
    return;
  }
  snprintf(t, sizeof(t), "%s: %s", name, status);
  if (!ok(l->wire.data != NULL &&
              strncmp(l->wire.data, status, strlen(status)) == 0,
          "%s", t))
    diag("wrote: %.200s", l->wire.data ? l->wire.data : "(nothing)");
  if (location != NULL) {
    char want[512];
    snprintf(want, sizeof(want), "\r\nLocation: %s\r\n", location);
    snprintf(t, sizeof(t), "%s: Location %s", name, location);
    ok(wire_has(l, want), "%s", t);
    if (!wire_has(l, want))
      diag("wrote: %s", l->wire.data ? l->wire.data : "(nothing)");
  }
  snprintf(t, sizeof(t), "%s: closed after the write, no protocol", name);
  ok(l->closed == 1 + HW__CLOSE_AFTER_WRITE && rec.opens == 0, "%s", t);
  lw_free(l);
  hw__tls_env_destroy(&env);
}

static void test_plain(void) {
  static const char get[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  hw__tls_env env;
  lower *l;

  plain_case(ctx_400, 8443, get, NULL, "HTTP/1.1 400 ", NULL,
             "plain HTTP, plain_http 400");
  l = plain(&env, ctx_400, 8443, get, NULL);
  ok(l != NULL && wire_has(l, "Connection: close\r\n") &&
         wire_has(l, "\r\n\r\nThis port speaks HTTPS"),
     "plain_http 400: in plain text, with a body that says why");
  lw_free(l);
  hw__tls_env_destroy(&env);

  plain_case(ctx_redirect, 8443, get, NULL, "HTTP/1.1 308 ",
             "https://a:8443/", "plain_http redirect");
  plain_case(ctx_redirect, 443, get, NULL, "HTTP/1.1 308 ", "https://a/",
             "plain_http redirect on port 443");
  plain_case(ctx_redirect, 8443,
             "GET /x/y?z=1 HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", NULL,
             "HTTP/1.1 308 ", "https://a.example:8443/x/y?z=1",
             "redirect: the target kept, the Host's port replaced");
  plain_case(ctx_redirect, 8443,
             "GET / HTTP/1.1\r\nUser-Agent: t\r\nhost:  [::1]:80 \r\n\r\n",
             NULL, "HTTP/1.1 308 ", "https://[::1]:8443/",
             "redirect: an IPv6 Host");
  plain_case(ctx_redirect, 8443, "GET / HTTP/1.1\r\nHo", "st: a\r\n\r\n",
             "HTTP/1.1 308 ", "https://a:8443/",
             "redirect: a head in two reads");
  plain_case(ctx_redirect, 8443, "GET http://a/p HTTP/1.1\r\nHost: a\r\n\r\n",
             NULL, "HTTP/1.1 308 ", "https://a:8443/",
             "redirect: an absolute-form target goes to /");
  plain_case(ctx_redirect, 8443, "GET / HTTP/1.1\r\nX: y\r\n\r\n", NULL,
             "HTTP/1.1 400 ", NULL, "redirect: no Host, a 400");
  plain_case(ctx_redirect, 8443, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", NULL,
             "HTTP/1.1 400 ", NULL, "redirect: a bad Host, a 400");
  plain_case(ctx_redirect, 8443, "GET / HTTP/1.1\r\nHost: :8443\r\n\r\n",
             NULL, "HTTP/1.1 400 ", NULL,
             "redirect: a Host with a port and no name, a 400 (no "
             "https://:8443/)");
  plain_case(ctx_redirect, 8443,
             "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: abc", NULL,
             "HTTP/1.1 400 ", NULL,
             "redirect: a Host after the head does not count (a 400)");
  plain_case(ctx_redirect, 8443,
             "GET / HTTP/1.1\r\n\r\nHost: evil.example\r\n\r\n", NULL,
             "HTTP/1.1 400 ", NULL,
             "redirect: a Host line after the empty line is not the head's "
             "(a 400, not a 308 to it)");
  plain_case(ctx_redirect, 8443, "GET / HTTP/1.1\r\n\r\nHost: evil", NULL,
             "HTTP/1.1 400 ", NULL,
             "redirect: a Host in the body does not count (a 400)");

  {
    uint64_t failed = counted(HW__HANDSHAKE_FAILED);
    l = plain(&env, ctx_redirect, 8443, "GET / HTTP/1.1\r\nHost: a\r\n",
              NULL);
    ok(l != NULL && l->wire.len == 0 && !l->closed,
       "redirect: an unfinished head waits");
    lw_eof(l);
    ok(l->closed == 1 + HW__CLOSE_NOW && l->wire.len == 0,
       "redirect: the client leaves before its head is whole: closed");
    is_int(counted(HW__HANDSHAKE_FAILED) - failed, 1,
           "redirect: one failed handshake counted for it, not two");
    lw_free(l);
    hw__tls_env_destroy(&env);

    failed = counted(HW__HANDSHAKE_FAILED);
    l = plain(&env, ctx_redirect, 8443, "GET / HTTP/1.1\r\n", NULL);
    lw_tell(l, l->proto->timeout);
    ok(l->closed == 1 + HW__CLOSE_NOW &&
           counted(HW__HANDSHAKE_FAILED) - failed == 1,
       "redirect: the head timeout on an unfinished head: closed, counted "
       "once");
    lw_free(l);
    hw__tls_env_destroy(&env);
  }

  {
    char *huge = malloc(9000);
    memcpy(huge, "GET /", 5);
    memset(huge + 5, 'a', 9000 - 6);
    huge[9000 - 1] = '\0';
    plain_case(ctx_redirect, 8443, huge, NULL, "HTTP/1.1 400 ", NULL,
               "redirect: a head past 8 KiB, a 400");
    free(huge);
  }

  l = plain(&env, ctx_close, 8443, get, NULL);
  ok(l != NULL && l->closed == 1 + HW__CLOSE_NOW && l->wire.len == 0 &&
         rec.opens == 0,
     "plain_http close: closed at once, nothing written");
  lw_free(l);
  hw__tls_env_destroy(&env);
}

static void test_peer_close(void) {
  hw__tls_env env;
  hw__buf out = {0};
  tlink k;

  if (fresh(&k, &env, 1) != 0)
    return;
  client_write(&k, "req", 3);
  SSL_shutdown(k.c.ssl);
  to_server(&k, 0);
  ok(got_is(&rec.got, "req", 3) && rec.eofs == 1,
     "the client's close_notify reaches the protocol as its end, after the "
     "data");
  ok(!k.l->closed, "the protocol decides when to close");
  client_write(&k, "more", 4); /* (refused by the client after shutdown) */
  lw_eof(k.l);
  is_int(rec.eofs, 1,
         "the connection's end of file after close_notify: no second end");
  in_write(rec.t, "answer", 6, 0);
  rec.t->ops->close(rec.t, HW__CLOSE_AFTER_WRITE);
  ok(client_read(&k, &out) == SSL_ERROR_ZERO_RETURN &&
         got_is(&out, "answer", 6),
     "the answer still goes out, then the server's close_notify");
  link_close(&k);
  hw__buf_free(&out);
  hw__tls_env_destroy(&env);
}

static void test_truncated(void) {
  hw__tls_env env;
  tlink k;
  size_t n;
  char *hello;
  uint64_t failed = counted(HW__HANDSHAKE_FAILED);

  if (fresh(&k, &env, 0) != 0)
    return;
  SSL_do_handshake(k.c.ssl);
  hello = tc_client_take(&k.c, &n);
  lw_read(k.l, hello, n / 2);
  free(hello);
  ok(!k.l->closed && k.l->wire.len == 0 && k.l->t.phase == HW__PHASE_HEAD,
     "half a ClientHello: waiting, in the head phase");
  lw_eof(k.l);
  is_int(k.l->closed, 1 + HW__CLOSE_NOW,
         "then the end of file: closed at once");
  ok(rec.opens == 0 && rec.closes == 0, "the protocol was never opened");
  is_int(counted(HW__HANDSHAKE_FAILED) - failed, 1, "a failed handshake counted");
  link_close(&k);
  hw__tls_env_destroy(&env);

  /* An end of file before any byte: not a handshake at all. */
  rec_reset();
  failed = counted(HW__HANDSHAKE_FAILED);
  if (env_open(&env, ctx_400, 8443) != 0 ||
      link_open(&k, &env, 0, NULL, NULL) != 0) {
    ok(0, "set up");
    return;
  }
  lw_eof(k.l);
  ok(k.l->closed == 1 + HW__CLOSE_NOW &&
         counted(HW__HANDSHAKE_FAILED) == failed,
     "an end of file before any byte: closed, no handshake counted");
  link_close(&k);
  hw__tls_env_destroy(&env);
}

static void test_timers(void) {
  hw__tls_env env;
  tlink k;
  size_t n;
  char *hello;

  /* The head timeout during the handshake, and drain before it. */
  if (fresh(&k, &env, 0) != 0)
    return;
  SSL_do_handshake(k.c.ssl);
  hello = tc_client_take(&k.c, &n);
  lw_read(k.l, hello, n);
  free(hello);
  is_int(k.l->t.phase, HW__PHASE_HEAD,
         "the hello answered, the handshake not done: still the head phase");
  lw_tell(k.l, k.l->proto->timeout);
  ok(k.l->closed == 1 + HW__CLOSE_NOW && rec.opens == 0 && rec.timeouts == 0,
     "the head timeout during the handshake: closed at once");
  link_close(&k);
  hw__tls_env_destroy(&env);

  if (fresh(&k, &env, 0) != 0)
    return;
  lw_tell(k.l, k.l->proto->drain);
  ok(k.l->closed == 1 + HW__CLOSE_NOW && rec.drains == 0,
     "drain before the handshake: closed at once");
  link_close(&k);
  hw__tls_env_destroy(&env);

  /* After it, each reaches the protocol; phases pass down. */
  if (fresh(&k, &env, 1) != 0)
    return;
  lw_tell(k.l, k.l->proto->timeout);
  lw_tell(k.l, k.l->proto->drain);
  ok(rec.timeouts == 1 && rec.drains == 1 && !k.l->closed,
     "after the handshake: timeout and drain reach the protocol");
  k.l->t.unsent = 70000;
  lw_tell(k.l, k.l->proto->writable);
  ok(rec.writables == 1 && rec.unsent_seen == 70000,
     "writable reaches it, with the connection's unsent count");
  rec.t->phase = HW__PHASE_BODY;
  rec.t->epoch++;
  rec.t->ops->flush(rec.t);
  ok(k.l->t.phase == HW__PHASE_BODY && k.l->t.epoch == rec.t->epoch,
     "the protocol's phase and epoch pass to the connection");
  link_close(&k);
  hw__tls_env_destroy(&env);
}

/* A deferred answer (outside any call of the layer's) whose write fails:
 * the connection closes at once, inside the protocol's flush, and the
 * protocol's close runs there; its code goes on when the flush returns, as
 * h1's ready() does (settle after flush), so its state must still be
 * there (AddressSanitizer says if it is not). */
static void test_deferred_write_fails(void) {
  hw__tls_env env;
  tlink k;
  hw__transport *t;
  inner *s;

  if (fresh(&k, &env, 1) != 0)
    return;
  t = rec.t;
  s = rec.self;
  k.l->fail_writes = 1;
  in_write(t, "late answer", 11, 0);
  t->ops->flush(t);
  ok(k.l->closed == 1 + HW__CLOSE_NOW && rec.closes == 1,
     "a deferred answer whose write fails: closed inside the flush");
  ok(s->t == t, "the protocol's state outlives its close until its call "
                "returns");
  link_close(&k);
  hw__tls_env_destroy(&env);
}

static void test_resumption(void) {
  hw__tls_env env;
  hw__transport_tls info;
  hw__buf out = {0};
  SSL_SESSION *sess = NULL;
  tlink k;
  uint64_t full, resumed;
  int r;

  if (hw__tickets_create() != 0) {
    ok(0, "a ticket-key region");
    return;
  }
  full = counted(HW__HANDSHAKE_FULL);
  resumed = counted(HW__HANDSHAKE_RESUMED);
  rec_reset();
  if (env_open(&env, ctx_400, 8443) != 0 ||
      link_connect(&k, &env, 0, NULL, NULL) != 0) {
    ok(0, "set up");
    hw__tickets_close();
    return;
  }
  in_write(rec.t, "x", 1, 0);
  rec.t->ops->flush(rec.t);
  client_read(&k, &out); /* the tickets, then "x" */
  sess = SSL_get1_session(k.c.ssl);
  ok(sess != NULL && SSL_SESSION_has_ticket(sess),
     "TLS 1.3 through the layer: the client got a ticket");
  /* (A client SSL freed without its close_notify marks its session not
   * resumable.) */
  SSL_shutdown(k.c.ssl);
  link_close(&k);

  rec_reset();
  r = link_open(&k, &env, 0, NULL, NULL);
  if (r == 0 && sess != NULL)
    SSL_set_session(k.c.ssl, sess);
  r = r == 0 ? link_handshake(&k, 0) : -1;
  memset(&info, 0, sizeof(info));
  ok(r == 0 && SSL_session_reused(k.c.ssl) &&
         rec.t->ops->tls(rec.t, &info) == 0 && info.resumed == 1,
     "a second connection resumes with it (tls() says so)");
  is_int(counted(HW__HANDSHAKE_FULL) - full, 1, "one full handshake counted");
  is_int(counted(HW__HANDSHAKE_RESUMED) - resumed, 1,
         "one resumed handshake counted");
  link_close(&k);
  SSL_SESSION_free(sess);
  hw__buf_free(&out);
  hw__tls_env_destroy(&env);
  hw__tickets_close();
}

/* A new generation's contexts serve new handshakes; a connection begun
 * before keeps its own. */
static void test_env_set(void) {
  hw__tls_env env;
  hw__tls_ctx *old = NULL;
  tlink k1, k2;
  int r1, r2;
  rec_reset();
  if (make_ctx(crt_a, key_a, HW__PLAIN_400, &old) != 0 ||
      env_open(&env, old, 8443) != 0 ||
      link_open(&k1, &env, 0, NULL, NULL) != 0) {
    ok(0, "set up");
    return;
  }
  /* The old contexts' last reference is the connection's. */
  hw__tls_ctx_unref(old);
  hw__tls_env_set(&env, ctx_b);
  r1 = link_handshake(&k1, 0);
  rec_reset();
  r2 = link_connect(&k2, &env, 0, NULL, NULL);
  ok(r1 == 0 && X509_cmp(SSL_get0_peer_certificate(k1.c.ssl), cert_a) == 0,
     "a connection opened before the new contexts keeps its certificate");
  ok(r2 == 0 && X509_cmp(SSL_get0_peer_certificate(k2.c.ssl), cert_b) == 0,
     "a new one gets the new contexts' certificate");
  link_close(&k1);
  link_close(&k2);
  hw__tls_env_destroy(&env);
}

static void test_renegotiation(void) {
  hw__tls_env env;
  tlink k;
  char buf[64];
  int done = 0;
  rec_reset();
  if (env_open(&env, ctx_400, 8443) != 0 ||
      link_connect(&k, &env, TLS1_2_VERSION, NULL, NULL) != 0) {
    ok(0, "set up");
    return;
  }
  ok(SSL_renegotiate(k.c.ssl) == 1, "a TLS 1.2 client asks to renegotiate");
  for (int i = 0; i < 8 && !k.l->gone; i++) {
    int r = SSL_do_handshake(k.c.ssl);
    if (r == 1 && !SSL_renegotiate_pending(k.c.ssl))
      done = 1;
    SSL_read(k.c.ssl, buf, sizeof(buf));
    to_server(&k, 0);
    to_client(&k);
  }
  ERR_clear_error();
  ok(!done, "the renegotiation does not succeed");
  ok(k.c.alert_got == SSL_AD_NO_RENEGOTIATION || k.l->closed,
     "the server refuses it (alert %d, closed %d)", k.c.alert_got,
     k.l->closed);
  link_close(&k);
  hw__tls_env_destroy(&env);
}

/* The client's Finished and its first request in one read; a key update
 * the client asks for; a handshake refused by ALPN. */
static void test_flights(void) {
  static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  hw__tls_env env;
  hw__buf out = {0};
  tlink k;
  int done = 0;
  uint64_t failed;

  if (fresh(&k, &env, 0) != 0)
    return;
  for (int i = 0; i < 8 && !done; i++) {
    done = SSL_do_handshake(k.c.ssl) == 1;
    if (!done) {
      to_server(&k, 0);
      to_client(&k);
    }
  }
  ok(done && rec.opens == 0, "TLS 1.3: the client is done before the server");
  rec.reply = "answered";
  client_write(&k, req, sizeof(req) - 1);
  to_server(&k, 0); /* Finished and the request */
  ok(rec.opens == 1 && got_is(&rec.got, req, sizeof(req) - 1),
     "Finished and a request in one read: the protocol opened and given it");
  client_read(&k, &out);
  ok(got_is(&out, "answered", 8), "and its answer reaches the client");

  out.len = 0;
  rec.got.len = 0;
  ok(SSL_key_update(k.c.ssl, SSL_KEY_UPDATE_REQUESTED) == 1,
     "the client updates its keys and asks the server to");
  client_write(&k, "after", 5);
  to_server(&k, 0);
  client_read(&k, &out);
  ok(got_is(&rec.got, "after", 5) && got_is(&out, "answered", 8) &&
         !k.l->closed,
     "a key update: read, answered under the new keys");
  link_close(&k);
  hw__tls_env_destroy(&env);

  rec_reset();
  failed = counted(HW__HANDSHAKE_FAILED);
  if (env_open(&env, ctx_400, 8443) != 0 ||
      link_open(&k, &env, 0, "h2", NULL) != 0) {
    ok(0, "set up");
    return;
  }
  link_handshake(&k, 0);
  to_client(&k); /* the alert */
  SSL_do_handshake(k.c.ssl);
  ERR_clear_error();
  ok(k.l->closed == 1 + HW__CLOSE_AFTER_WRITE && rec.opens == 0,
     "ALPN h2 alone: refused, the connection closed after the alert");
  is_int(k.c.alert_got, SSL_AD_NO_APPLICATION_PROTOCOL,
         "ALPN h2 alone: the client got no_application_protocol");
  is_int(counted(HW__HANDSHAKE_FAILED) - failed, 1, "a failure counted");
  link_close(&k);
  hw__buf_free(&out);
  hw__tls_env_destroy(&env);
}

int main(void) {
  if (setup() != 0) {
    ok(0, "certificates and contexts made");
    tc_diag_errors();
    return done_testing();
  }
  test_roundtrip();
  test_bytewise();
  test_backpressure();
  test_backpressure_eof();
  test_large();
  test_close();
  test_flights();
  test_garbage();
  test_plain();
  test_peer_close();
  test_truncated();
  test_timers();
  test_deferred_write_fails();
  test_resumption();
  test_env_set();
  test_renegotiation();
  rec_reset();
  hw__tls_ctx_unref(ctx_400);
  hw__tls_ctx_unref(ctx_redirect);
  hw__tls_ctx_unref(ctx_close);
  hw__tls_ctx_unref(ctx_b);
  X509_free(cert_a);
  X509_free(cert_b);
  free(slot);
  tc_rmdir(dir);
  return done_testing();
}
