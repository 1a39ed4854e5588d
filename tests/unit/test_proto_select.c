/*
 * test_proto_select.c - unit tests of the protocol chooser
 * (server/proto_select.c) with two fake protocols in the places of
 * HTTP/1.1 and HTTP/2 that record every call (opens, bytes, ends) and can
 * take only a few bytes a call, over a fake transport whose `tls` says
 * what ALPN chose.
 *
 * What a transport hands the chooser is handed as conn.c hands it: what
 * was not taken is fed again, so "every byte exactly once, in order" is
 * what the protocol chosen records.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_select.h"
#include "tap.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* ---- the fake protocols ------------------------------------------------ */

typedef struct rec {
  int opens, eofs, timeouts, writables, drains, closes;
  hw__buf got;   /* every byte taken, in order */
  size_t take;   /* at most this many a call (0: all) ... */
  size_t whole;  /* ... once this many were taken (before, all) */
  int calls;     /* data calls */
  void *state;   /* where its state was put */
  hw__transport *t;
} rec;

static rec h1r, h2r;

typedef struct fake {
  rec *r;
  char pad[40]; /* a state of some size, written over */
} fake;

static void f_open(void *p, hw__transport *t, void *env) {
  fake *f = p;
  f->r = env;
  memset(f->pad, 0x5a, sizeof(f->pad));
  f->r->opens++;
  f->r->state = p;
  f->r->t = t;
}

static size_t f_data(void *p, const char *data, size_t len) {
  fake *f = p;
  size_t n = f->r->got.len >= f->r->whole && f->r->take != 0 &&
                     f->r->take < len
                 ? f->r->take
                 : len;
  f->r->calls++;
  hw__buf_append(&f->r->got, data, n);
  return n;
}

static void f_eof(void *p) { ((fake *)p)->r->eofs++; }
static void f_timeout(void *p) { ((fake *)p)->r->timeouts++; }
static void f_writable(void *p) { ((fake *)p)->r->writables++; }
static void f_drain(void *p) { ((fake *)p)->r->drains++; }
static void f_close(void *p) { ((fake *)p)->r->closes++; }

static const hw__proto fake_h1 = {sizeof(fake), f_open,     f_data,  f_eof,
                                  f_timeout,    f_writable, f_drain, f_close};
/* HTTP/2's state is the larger: the chooser makes room for either. */
static const hw__proto fake_h2 = {sizeof(fake) + 100, f_open,     f_data,
                                  f_eof,              f_timeout,  f_writable,
                                  f_drain,            f_close};

/* ---- the fake transport ------------------------------------------------ */

static const char *alpn; /* what its tls says ALPN chose; NULL: not TLS */

static int t_tls(hw__transport *t, hw__transport_tls *out) {
  (void)t;
  if (alpn == NULL)
    return UV_ENOTSUP;
  memset(out, 0, sizeof(*out));
  out->version = "TLSv1.3";
  out->cipher = "TLS_AES_128_GCM_SHA256";
  out->sni = "";
  out->alpn = alpn;
  return 0;
}

static const hw__transport_ops plain_ops = {NULL, NULL, NULL, NULL,
                                            NULL, NULL, NULL, 0};
static const hw__transport_ops tls_ops = {NULL, NULL, NULL, NULL,
                                          NULL, t_tls, NULL, 0};

typedef struct conn {
  hw__transport t;
  void *state;
  hw__proto_select_env env;
} conn;

static void reset(rec *r) {
  hw__buf_free(&r->got);
  memset(r, 0, sizeof(*r));
}

static conn *open_conn(int prior_knowledge, int tls) {
  conn *c = calloc(1, sizeof(*c));
  reset(&h1r);
  reset(&h2r);
  hw__proto_select_init(&c->env, &fake_h1, &h1r, &fake_h2, &h2r,
                        prior_knowledge);
  c->t.ops = tls ? &tls_ops : &plain_ops;
  c->t.phase = HW__PHASE_HEAD;
  c->state = calloc(1, c->env.proto.size);
  c->env.proto.open(c->state, &c->t, &c->env);
  return c;
}

/* One read of `len` bytes, fed again from where the protocol stopped, as
 * conn.c feeds what it kept (bounded: a protocol that takes nothing stops
 * it).  Returns the bytes taken. */
static size_t put(conn *c, const char *data, size_t len) {
  size_t off = 0;
  for (int i = 0; i < 1000 && off < len; i++) {
    size_t n = c->env.proto.data(c->state, data + off, len - off);
    if (n > len - off) {
      diag("data took %zu of %zu", n, len - off);
      return len + 1;
    }
    if (n == 0)
      break;
    off += n;
  }
  return off;
}

static size_t put_s(conn *c, const char *s) { return put(c, s, strlen(s)); }

static void close_conn(conn *c) {
  c->env.proto.close(c->state);
  free(c->state);
  free(c);
}

/* What `r` took is exactly `want`. */
static int got(const rec *r, const char *want, size_t len) {
  return r->got.len == len && (len == 0 || memcmp(r->got.data, want, len) == 0);
}

/* ---- the tests --------------------------------------------------------- */

static void test_preface(void) {
  conn *c = open_conn(1, 0);
  size_t taken = 0;
  int early = 0;

  ok(h1r.opens == 0 && h2r.opens == 0 && c->t.phase == HW__PHASE_IDLE,
     "prior knowledge: nothing chosen at open, idle as HTTP/1.1 waits");
  for (size_t i = 0; i < 24; i++) {
    taken += put(c, preface + i, 1);
    if (i < 23 && (h1r.opens || h2r.opens))
      early = 1;
  }
  ok(!early, "the preface a byte at a time: nothing chosen before its end");
  ok(taken == 24 && h2r.opens == 1 && h1r.opens == 0,
     "then HTTP/2, every byte taken");
  ok(got(&h2r, preface, 24), "HTTP/2 gets all 24 bytes of the preface");
  ok(h2r.t == &c->t && (char *)h2r.state > (char *)c->state &&
         (char *)h2r.state + fake_h2.size <=
             (char *)c->state + c->env.proto.size,
     "its state lives inside the chooser's, on the same transport");
  put_s(c, "frames");
  ok(got(&h2r, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nframes", 30),
     "what follows goes to it");
  c->env.proto.writable(c->state);
  c->env.proto.timeout(c->state);
  c->env.proto.eof(c->state);
  c->env.proto.drain(c->state);
  ok(h2r.writables == 1 && h2r.timeouts == 1 && h2r.eofs == 1 &&
         h2r.drains == 1 && h1r.opens == 0,
     "and every other call");
  close_conn(c);
  ok(h2r.closes == 1 && h1r.closes == 0, "and the close, once");

  /* The preface and the frames after it in one read, taken a few bytes a
   * call by HTTP/2. */
  c = open_conn(1, 0);
  h2r.whole = 24;
  h2r.take = 5;
  {
    char in[64];
    memcpy(in, preface, 24);
    memcpy(in + 24, "SETTINGS+HEADERS", 16);
    ok(put(c, in, 40) == 40 && got(&h2r, in, 40),
       "preface and frames in one read, taken piecemeal: every byte once");
  }
  close_conn(c);

  /* HTTP/2 taking less of the preface itself has refused the connection:
   * the read counts as taken, and nothing more is passed. */
  c = open_conn(1, 0);
  h2r.take = 5;
  {
    char in[64];
    memcpy(in, preface, 24);
    memcpy(in + 24, "SETTINGS+HEADERS", 16);
    ok(c->env.proto.data(c->state, in, 40) == 40 && got(&h2r, in, 5) &&
           h2r.calls == 1,
       "HTTP/2 refusing the preface: the read is dropped");
  }
  close_conn(c);
}

static void test_http1(void) {
  static const char *const cases[][3] = {
      /* the reads, and what HTTP/1.1 must get */
      {"PRI ", "GET / HTTP/1.1\r\n", "PRI GET / HTTP/1.1\r\n"},
      {"POST /", NULL, "POST /"},
      {"P", "UT /x HTTP/1.1\r\n\r\n", "PUT /x HTTP/1.1\r\n\r\n"},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r", "X", "PRI * HTTP/2.0\r\n\r\nSM\r\n\rX"},
      {"PRI * HTTP/1.1\r\n", NULL, "PRI * HTTP/1.1\r\n"},
      {"\r\n", "GET", "\r\nGET"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    conn *c = open_conn(1, 0);
    size_t want = strlen(cases[i][0]) +
                  (cases[i][1] != NULL ? strlen(cases[i][1]) : 0);
    size_t n = put_s(c, cases[i][0]);
    if (cases[i][1] != NULL)
      n += put_s(c, cases[i][1]);
    ok(n == want && h1r.opens == 1 && h2r.opens == 0 &&
           got(&h1r, cases[i][2], strlen(cases[i][2])),
       "\"%s\" then \"%s\": HTTP/1.1, every byte once, in order",
       cases[i][0], cases[i][1] != NULL ? cases[i][1] : "");
    close_conn(c);
    ok(h1r.closes == 1, "closed once");
  }

  /* HTTP/1.1 takes the matched bytes, then three bytes a call of the
   * rest, fed again where it stopped. */
  {
    conn *c = open_conn(1, 0);
    size_t n;
    h1r.whole = 5;
    h1r.take = 3;
    n = put_s(c, "PRI *");
    n += put_s(c, " HTTP/1.1\r\nHost: x\r\n\r\n");
    ok(n == 27 && got(&h1r, "PRI * HTTP/1.1\r\nHost: x\r\n\r\n", 27),
       "taken a little at a time: every byte once, in order");
    close_conn(c);
  }
  /* A byte by byte mismatch late in the preface. */
  {
    conn *c = open_conn(1, 0);
    char in[24];
    memcpy(in, preface, 24);
    in[20] = 'X';
    for (size_t i = 0; i < 24; i++)
      put(c, in + i, 1);
    ok(h1r.opens == 1 && h2r.opens == 0 && got(&h1r, in, 24),
       "a mismatch at byte 21, one byte a read: HTTP/1.1 gets all 24");
    close_conn(c);
  }
}

static void test_open(void) {
  conn *c;

  alpn = "h2";
  c = open_conn(0, 1);
  ok(h2r.opens == 1 && h1r.opens == 0,
     "ALPN chose h2: HTTP/2 at open, before any byte");
  put_s(c, "GET / HTTP/1.1\r\n");
  ok(got(&h2r, "GET / HTTP/1.1\r\n", 16),
     "and it gets the bytes, whatever they are");
  close_conn(c);
  c = open_conn(1, 1);
  ok(h2r.opens == 1 && h1r.opens == 0, "also with prior knowledge");
  close_conn(c);

  alpn = "http/1.1";
  c = open_conn(0, 1);
  ok(h1r.opens == 1 && h2r.opens == 0, "ALPN chose http/1.1: HTTP/1.1");
  close_conn(c);
  alpn = "";
  c = open_conn(0, 1);
  ok(h1r.opens == 1 && h2r.opens == 0, "no ALPN over TLS: HTTP/1.1");
  put_s(c, preface);
  ok(h2r.opens == 0 && got(&h1r, preface, 24),
     "and the preface then is HTTP/1.1's to refuse");
  close_conn(c);
  alpn = "h2c";
  c = open_conn(0, 1);
  ok(h1r.opens == 1 && h2r.opens == 0, "another protocol's name: HTTP/1.1");
  close_conn(c);
  alpn = NULL;

  c = open_conn(0, 0);
  ok(h1r.opens == 1 && h2r.opens == 0,
     "plain TCP without prior knowledge: HTTP/1.1 at open");
  put_s(c, preface);
  ok(got(&h1r, preface, 24), "the preface is HTTP/1.1's");
  close_conn(c);
}

static void test_before_any_byte(void) {
  conn *c = open_conn(1, 0);
  c->env.proto.eof(c->state);
  ok(h1r.opens == 1 && h1r.eofs == 1 && h2r.opens == 0,
     "the end of the stream before any byte: HTTP/1.1's");
  close_conn(c);
  c = open_conn(1, 0);
  c->env.proto.drain(c->state);
  ok(h1r.opens == 1 && h1r.drains == 1 && h2r.opens == 0,
     "a drain before any byte: HTTP/1.1's");
  close_conn(c);
  c = open_conn(1, 0);
  c->env.proto.timeout(c->state);
  ok(h1r.opens == 1 && h1r.timeouts == 1 && h2r.opens == 0,
     "a timeout before any byte: HTTP/1.1's");
  close_conn(c);
  c = open_conn(1, 0);
  c->env.proto.writable(c->state);
  close_conn(c);
  ok(h1r.opens == 0 && h2r.opens == 0 && h1r.writables == 0 &&
         h1r.closes == 0 && h2r.closes == 0,
     "writable, then the close, before any byte: no protocol is opened");
}

int main(void) {
  hw__proto_select_env env;
  hw__proto_select_init(&env, &fake_h1, &h1r, &fake_h2, &h2r, 1);
  ok(env.proto.size >= fake_h2.size + sizeof(void *),
     "the chooser's state has room for the larger protocol's");
  test_preface();
  test_http1();
  test_open();
  test_before_any_byte();
  reset(&h1r);
  reset(&h2r);
  return done_testing();
}
