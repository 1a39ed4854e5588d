/*
 * fuzz_tls.c - libFuzzer target for the TLS layer (server/tls.c): the input
 * is what a client sends to a TLS listener, handed to the layer (the env's proto) as
 * reads by a connection made in memory on the model of conn.c, with the
 * real HTTP/1.1 unit (h1.c, the request core and the shipped modules, as in
 * fuzz_request.c) or a fake protocol above the layer.
 *
 * Input format: three control bytes, then the bytes the client sends.
 *
 *   byte 0, bits 0-1: the reads: 0 = one, 1 = one byte each, 2 = 1-16
 *                     bytes each, 3 = 1-1500 bytes each (pseudo-random)
 *           bit 2:    the client ends its side after its last byte
 *           bit 3:    the timer of the connection's state runs out at the
 *                     end (a handshake or a head that took too long)
 *           bit 4:    the server drains (graceful shutdown) at the end
 *           bits 5-6: plain_http: 0 "400", 1 "redirect", 2 "close",
 *                     3 "redirect" on port 443
 *           bit 7:    a slow client: every write leaves the connection's
 *                     output over HW__TRANSPORT_MAX_UNSENT until the next
 *                     turn of the loop (then `writable`)
 *   byte 1, bits 0-1: the protocol above: 0, 1 = HTTP/1.1; 2 = a fake that
 *                     takes everything; 3 = a fake that takes a few bytes
 *                     a call (0 to twice the size byte 2 says) and resumes
 *                     on the next turn, so that the layer keeps plaintext:
 *                     the input then runs twice, taken whole and taken
 *                     piecemeal, and the fake must be given the same
 *                     plaintext both times
 *           bits 2-3: the fake's answer to each call: none, an echo of
 *                     what it took, 20 KB by reference, or 40 small
 *                     pieces (copied and by reference)
 *           bits 4-6: the write (1-7) the socket fails (a reset), or none
 *           bit 7:    the fake closes once it has taken the number of
 *                     bytes byte 2 says (after its write, or at once)
 *   byte 2:           seeds the read sizes and the fake's takes; bits 0-1
 *                     its mean take (4, 64, 512, 8192 bytes), bits 2-5 the
 *                     bytes before it closes (2^n), bit 6 how it closes,
 *                     bit 7: the fake stays open at the end of the stream
 *                     (so that what the client sends after its
 *                     close_notify still arrives)
 *
 * Random bytes rarely make a ClientHello, and a handshake never completes
 * from bytes made without the server's answers.  So the server is made
 * deterministic: OpenSSL's random generator is replaced (RAND_METHOD) by a
 * counter-based one, reset at start-up and before every input, and the
 * certificate (an ECDSA P-256 key made with it, fixed dates) is made once,
 * in LLVMFuzzerInitialize.  A given ClientHello then always gets the same
 * ServerHello, key share and signature, and a client's whole session
 * recorded against this target replays: HW_FUZZ_TLS_SESSIONS=DIR makes such
 * sessions (full handshakes in TLS 1.2 and 1.3, resumption by ticket, a
 * HelloRetryRequest, KeyUpdate, a refused renegotiation, requests and
 * bodies of every size, close_notify) with OpenSSL's client in memory,
 * checks that each replays, writes them as seeds and exits; tests/fuzz/run
 * does that before fuzzing.  (Their tickets expire after an hour, and they
 * depend on this OpenSSL's exact use of its generator: they are remade for
 * every run, not committed.)
 *
 * The connection below ("lower") does what conn.c does: it takes a batch
 * before a read, lends the read's bytes for the call only (a buffer freed
 * after it), keeps what the layer did not take and stops reading until it
 * resumes, writes the batch after every call, stops reading while its
 * output is over the bound and says `writable` when it drains, finishes
 * (FIN) on a close after the write and still tells the layer `drain` and
 * `writable` then, as conn.c does, and closes at once (the layer's `close`)
 * on a close now, a failed write or its state's timer.
 *
 * Invariants (abort(), a finding): every byte the layer hands the
 * connection is written, once, when the call that batched it returns (no
 * batch left holding bytes between turns; batches are freed once written,
 * so a stale one is a use after free; the wire is whole TLS records, or
 * one well-formed plain answer whose Location is an https URL with a host
 * and no control character);
 * nothing is written after the connection finished or closed; until the
 * handshake is done the phase is HEAD; the protocol above is opened once
 * and closed once, gets no byte after its end of stream or after it asked
 * to close, and gets the same plaintext however it takes it; no request is
 * left pinned to the generation; no leak (LeakSanitizer).
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: see above */
#include "autoconf.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <uv.h>

#include "bytes.h"
#include "config.h"
#include "generation.h"
#include "h1.h"
#include "host.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "testcert.h"
#include "tickets.h"
#include "tls.h"
#include "tls_ctx.h"

#ifndef HW_FUZZ_MODULES_DIR
#define HW_FUZZ_MODULES_DIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_tls: invariant failed: %s (%s:%d)\n", #cond,       \
              __FILE__, __LINE__);                                             \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#define MAX_UNSENT HW__TRANSPORT_MAX_UNSENT
#define READ_MAX 65536     /* conn.c's read buffer */
#define SETTLE_TURNS 20000 /* turns of the loop at the end, at most */
#define HEADER 3           /* the control bytes */

static int debug; /* HW_FUZZ_DEBUG=1: say what became of each input */

/* ---- a deterministic generator for OpenSSL ------------------------------ */

/* Two streams: the server's (the layer's OpenSSL), reset before every
 * input, and, while sessions are recorded, the client's, so that the
 * client's use of it does not move the server's. */
enum { RNG_SERVER, RNG_CLIENT };
#define RNG_INIT 0x686177697265ull /* start-up: the key, the ticket keys */
#define RNG_CONN 0x746c732d636f6eull

static uint64_t rng_state[2];
static int rng_who = RNG_SERVER;

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int rng_bytes(unsigned char *buf, int num) {
  for (int i = 0; i < num; i += 8) {
    uint64_t v = splitmix(&rng_state[rng_who]);
    memcpy(buf + i, &v, num - i < 8 ? (size_t)(num - i) : 8);
  }
  return 1;
}
static int rng_seed(const void *buf, int num) {
  return 1;
}
static int rng_add(const void *buf, int num, double entropy) {
  return 1;
}
static int rng_status(void) {
  return 1;
}

static RAND_METHOD rng_method = {rng_seed, rng_bytes, NULL,
                                 rng_add,  rng_bytes, rng_status};

/* ---- what one input asks for, and what happened ------------------------- */

enum { IN_H1 = 0, IN_FAKE = 2, IN_FAKE_LIMITED = 3 };

static struct run {
  /* byte 0 */
  unsigned split, eof, timer, drain, plain, slow;
  /* byte 1 */
  unsigned inner, reply, break_at, closes;
  /* byte 2 */
  size_t take_mean, close_after;
  int close_how, stays;
  uint32_t seed;
  uint32_t order; /* the order of events in a turn of the loop */
  int greedy;     /* this pass, the fake takes everything */
  /* what happened */
  hw__buf got; /* the plaintext given to the protocol above */
  int opens, eofs, closes_seen;
  int closed_itself; /* the fake asked to close */
  int broke;         /* a write failed (when depends on the takes) */
  int settled;       /* nothing was left waiting at the end */
  struct inner *cur; /* the open protocol's state */
} R;

/* A small deterministic generator for the read sizes and the takes. */
static uint32_t next_rand(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* ---- the protocol above: HTTP/1.1, or a fake ---------------------------- */

static hw__request_core core;
static hw__h1_env h1_env;

typedef struct inner {
  hw__transport *t;
  int eof, closing, paused, gone;
  size_t taken;
  uint32_t rnd;
  alignas(max_align_t) unsigned char h1[]; /* h1's state, with IN_H1 */
} inner;

static hw__proto inner_proto; /* its size is set at start-up */
static int inner_env_token;

static char big[20000]; /* the fake's answer by reference */

static int is_h1(void) {
  return R.inner < IN_FAKE;
}

/* Writes `n` bytes into the batch: copied, or by reference. */
static void fk_write(hw__transport *t, const char *p, size_t n, int ref) {
  hw__batch *b = hw__transport_batch(t);
  size_t off;
  if (b == NULL || n == 0)
    return;
  if (ref) {
    hw__batch_seg(b, p, 0, n);
    return;
  }
  off = b->out.len;
  if (hw__buf_append(&b->out, p, n) == 0)
    hw__batch_seg(b, NULL, off, n);
}

static void fk_reply(inner *in, const char *d, size_t k) {
  switch (R.reply) {
  case 1: fk_write(in->t, d, k, 0); break;
  case 2:
    if (k > 0)
      fk_write(in->t, big, sizeof(big), 1);
    break;
  case 3:
    for (int i = 0; k > 0 && i < 40; i++)
      fk_write(in->t, big + i * 7, (i & 1) ? 5 : 3, i & 1);
    break;
  default: break;
  }
}

static void in_open(void *p, hw__transport *t, void *env) {
  inner *in = p;
  CHECK(env == &inner_env_token);
  CHECK(R.opens == 0);
  R.opens++;
  R.cur = in;
  in->t = t;
  in->rnd = R.seed ^ 0x5bd1e995u;
  if (is_h1()) {
    hw__h1_proto.open(in->h1, t, &h1_env);
  } else {
    hw__transport_tls info;
    char peer[64];
    CHECK(t->ops->tls != NULL && t->ops->tls(t, &info) == 0);
    CHECK(info.version != NULL && info.cipher != NULL && info.sni != NULL &&
          info.alpn != NULL);
    CHECK(t->ops->peer(t, peer, sizeof(peer)) > 0);
    CHECK(t->ops->files == 0);
    t->phase = HW__PHASE_IDLE;
  }
}

static size_t in_data(void *p, const char *data, size_t len) {
  inner *in = p;
  size_t k = len;
  CHECK(!in->gone && !in->eof && len > 0);
  if (is_h1()) {
    k = hw__h1_proto.data(in->h1, data, len);
    CHECK(k <= len);
    hw__buf_append(&R.got, data, k);
    return k;
  }
  CHECK(!in->closing); /* nothing after it asked to close */
  if (in->t->unsent > MAX_UNSENT)
    k = 0; /* back-pressure: until `writable` */
  else if (!R.greedy && R.inner == IN_FAKE_LIMITED) {
    uint32_t r = next_rand(&in->rnd);
    k = (r & 7) == 0 ? 0 : 1 + r % (2 * R.take_mean);
    if (k > len)
      k = len;
  }
  hw__buf_append(&R.got, data, k);
  in->taken += k;
  /* A head in progress or none, so that the timer means either. */
  in->t->phase = (in->taken & 1) ? HW__PHASE_HEAD : HW__PHASE_IDLE;
  in->t->epoch++;
  fk_reply(in, data, k);
  if (R.reply == 3)
    in->t->ops->flush(in->t); /* inside a call: nothing to do yet */
  if (R.closes && in->taken >= R.close_after) {
    in->closing = 1;
    R.closed_itself = 1;
    in->t->ops->close(in->t, R.close_how);
    return k;
  }
  if (k < len)
    in->paused = 1;
  return k;
}

static void in_eof(void *p) {
  inner *in = p;
  CHECK(!in->gone && !in->eof); /* once */
  in->eof = 1;
  R.eofs++;
  if (is_h1()) {
    hw__h1_proto.eof(in->h1);
  } else if (!in->closing && !R.stays) {
    in->closing = 1;
    fk_write(in->t, "bye\n", 4, 0);
    in->t->ops->close(in->t, HW__CLOSE_AFTER_WRITE);
  }
}

static void in_timeout(void *p) {
  inner *in = p;
  CHECK(!in->gone);
  if (is_h1()) {
    hw__h1_proto.timeout(in->h1);
  } else if (!in->closing) {
    in->closing = 1;
    in->t->ops->close(in->t, HW__CLOSE_NOW);
  }
}

/* The fake takes input again (its resume, outside any call of the
 * transport's, or inside `writable`). */
static void fk_resume(inner *in) {
  if (!in->paused || in->closing || in->gone)
    return;
  in->paused = 0;
  in->t->ops->resume(in->t);
}

static void in_writable(void *p) {
  inner *in = p;
  CHECK(!in->gone);
  if (is_h1())
    hw__h1_proto.writable(in->h1);
  else
    fk_resume(in);
}

static void in_drain(void *p) {
  inner *in = p;
  CHECK(!in->gone);
  if (is_h1()) {
    hw__h1_proto.drain(in->h1);
  } else if (!in->closing) {
    in->closing = 1;
    in->t->ops->close(in->t, HW__CLOSE_AFTER_WRITE);
  }
}

static void in_close(void *p) {
  inner *in = p;
  CHECK(!in->gone); /* once */
  in->gone = 1;
  R.closes_seen++;
  R.cur = NULL;
  if (is_h1())
    hw__h1_proto.close(in->h1);
}

/* ---- the connection below ------------------------------------------------ */

typedef struct lower {
  hw__transport t;
  hw__batch_pool pool;
  hw__buf wire; /* every byte written, in order */
  hw__buf sock; /* what the client sent and was not read yet */
  size_t sock_off;
  int sock_eof;  /* the client ended its side, after `sock` */
  char *pending; /* read, and not taken by the layer */
  size_t pending_off, pending_len;
  int paused, resume_wanted, close_wanted, in_call;
  int eof;      /* the client's end was read */
  int finished; /* closed after the write: the FIN is out */
  int gone;     /* closed: the layer's close has run */
  unsigned writes;
  void *state; /* the layer's */
} lower;

static hw__tls_env env;

static lower *lower_of(hw__transport *t) {
  return hw__bytes_container_of(t, lower, t);
}

static void lw_after(lower *l);

/* A batch is freed once written: a layer that kept a pointer to one would
 * write into freed memory. */
static void lw_give(lower *l, hw__batch *b) {
  hw__batch_give(&l->pool, b);
  hw__batch_pool_drain(&l->pool);
}

static int batch_holds(const hw__batch *b) {
  return b != NULL && hw__batch_size(b) > 0;
}

/* conn_close: the batch is dropped, the layer's close runs. */
static void lw_close(lower *l) {
  if (l->gone)
    return;
  l->gone = 1;
  CHECK(!(l->finished && batch_holds(l->t.batch))); /* after the FIN */
  if (l->t.batch != NULL) {
    lw_give(l, l->t.batch);
    l->t.batch = NULL;
  }
  l->in_call = 1;
  env.proto.close(l->state);
  l->in_call = 0;
  free(l->pending);
  l->pending = NULL;
}

/* flush: the batch is written (or the write fails: a reset). */
static void lw_flush(lower *l) {
  hw__batch *b = l->t.batch;
  size_t n;
  if (b == NULL || l->gone)
    return;
  l->t.batch = NULL;
  if (b->nsegs == 0) {
    lw_give(l, b);
    return;
  }
  CHECK(!l->finished); /* nothing is written after the FIN */
  CHECK(b->nfiles == 0);
  if (++l->writes == R.break_at) {
    R.broke = 1;
    lw_give(l, b);
    lw_close(l);
    return;
  }
  n = 0;
  for (size_t i = 0; i < b->nsegs; i++) {
    const hw__seg *s = &b->segs[i];
    hw__buf_append(&l->wire, s->base != NULL ? s->base : b->out.data + s->off,
                   s->len);
    n += s->len;
  }
  lw_give(l, b);
  if (R.slow) /* queued behind a client that reads slowly */
    hw__transport_unsent(&l->t, n + MAX_UNSENT, 1);
}

static void lw_feed(lower *l, const char *data, size_t len, int from_read) {
  size_t n;
  if (l->t.batch == NULL)
    l->t.batch = hw__batch_take(&l->pool, l);
  l->in_call = 1;
  n = env.proto.data(l->state, data, len);
  l->in_call = 0;
  CHECK(n <= len);
  if (l->gone)
    return;
  if (!from_read) {
    if (n < len) {
      l->pending_off += n;
      l->paused = 1;
    } else {
      free(l->pending);
      l->pending = NULL;
    }
    return;
  }
  if (n < len) {
    l->pending = malloc(len - n);
    CHECK(l->pending != NULL);
    memcpy(l->pending, data + n, len - n);
    l->pending_off = 0;
    l->pending_len = len - n;
    l->paused = 1;
  }
}

static void lw_resume(lower *l) {
  l->resume_wanted = 0;
  if (!l->paused)
    return;
  l->paused = 0;
  if (l->pending != NULL)
    lw_feed(l, l->pending + l->pending_off, l->pending_len - l->pending_off, 0);
}

/* finish: the batch, then the FIN; reading stops. */
static void lw_finish(lower *l) {
  if (l->finished || l->gone)
    return;
  lw_flush(l);
  if (!l->gone)
    l->finished = 1;
}

static void lw_after(lower *l) {
  for (;;) {
    if (l->gone)
      return;
    if (l->close_wanted != 0) {
      int how = l->close_wanted - 1;
      l->close_wanted = 0;
      if (how == HW__CLOSE_NOW)
        lw_close(l);
      else
        lw_finish(l);
      return;
    }
    lw_flush(l);
    if (l->gone || !l->resume_wanted)
      break;
    lw_resume(l);
  }
  /* Until the handshake is done, the head timeout applies. */
  if (!l->gone && !l->finished && R.opens == 0)
    CHECK(l->t.phase == HW__PHASE_HEAD);
}

static void lw_tell(lower *l, void (*fn)(void *)) {
  if (l->gone)
    return;
  l->in_call = 1;
  fn(l->state);
  l->in_call = 0;
  lw_after(l);
}

static hw__batch *t_batch(hw__transport *t) {
  lower *l = lower_of(t);
  if (l->t.batch == NULL && !l->gone)
    l->t.batch = hw__batch_take(&l->pool, l);
  return l->t.batch;
}

static void t_flush(hw__transport *t) {
  lower *l = lower_of(t);
  if (!l->in_call)
    lw_after(l);
}

static void t_resume(hw__transport *t) {
  lower *l = lower_of(t);
  l->resume_wanted = 1;
  if (!l->in_call)
    lw_after(l);
}

static void t_close(hw__transport *t, int how) {
  lower *l = lower_of(t);
  CHECK(how == HW__CLOSE_AFTER_WRITE || how == HW__CLOSE_NOW);
  if (l->close_wanted == 0 || how == HW__CLOSE_NOW)
    l->close_wanted = how + 1;
  if (!l->in_call)
    lw_after(l);
}

static int t_peer(hw__transport *t, char *buf, size_t len) {
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

static lower *lw_open(void) {
  lower *l = calloc(1, sizeof(*l));
  CHECK(l != NULL);
  l->state = calloc(1, env.proto.size);
  CHECK(l->state != NULL);
  l->t.ops = &lower_ops;
  /* The server's generator starts again with each connection. */
  rng_state[RNG_SERVER] = RNG_CONN;
  env.proto.open(l->state, &l->t, &env);
  CHECK(l->t.phase == HW__PHASE_HEAD);
  return l;
}

static void lw_free(lower *l) {
  lw_close(l);
  hw__batch_pool_drain(&l->pool);
  hw__buf_free(&l->wire);
  hw__buf_free(&l->sock);
  free(l->state);
  free(l);
}

static int lw_reading(const lower *l) {
  return !l->gone && !l->finished && !l->paused && !l->eof &&
         l->t.unsent <= MAX_UNSENT;
}

/* Reads while the connection reads: what the client sent (a read gets
 * what is there, up to the read buffer), then its end. */
static void lw_pump(lower *l) {
  while (lw_reading(l)) {
    if (l->sock_off < l->sock.len) {
      size_t n = l->sock.len - l->sock_off;
      char *buf;
      if (n > READ_MAX)
        n = READ_MAX;
      /* The read buffer is the worker's, reused by the next read: the
       * bytes are lent for the call only. */
      buf = malloc(n);
      CHECK(buf != NULL);
      memcpy(buf, l->sock.data + l->sock_off, n);
      l->sock_off += n;
      lw_feed(l, buf, n, 1);
      free(buf);
      lw_after(l);
    } else if (l->sock_eof) {
      l->eof = 1;
      lw_tell(l, env.proto.eof);
    } else {
      break;
    }
  }
}

/* The client sends `n` bytes. */
static void lw_send(lower *l, const char *p, size_t n) {
  if (!l->gone && !l->finished)
    hw__buf_append(&l->sock, p, n);
}

/* The writes queued behind a slow client complete. */
static void lw_written(lower *l) {
  int was_full = l->t.unsent > MAX_UNSENT;
  if (l->t.unsent == 0)
    return;
  l->t.unsent = 0;
  if (l->gone)
    return;
  if (was_full) {
    l->in_call = 1;
    env.proto.writable(l->state);
    l->in_call = 0;
  }
  lw_after(l);
}

/* The timer of the connection's state runs out (conn.c's sweep). */
static void lw_timer(lower *l) {
  if (l->gone)
    return;
  if (l->finished || l->t.unsent > 0) { /* lingering, or a write stuck */
    lw_close(l);
    return;
  }
  switch (l->t.phase) {
  case HW__PHASE_HEAD:
  case HW__PHASE_BODY: lw_tell(l, env.proto.timeout); break;
  case HW__PHASE_IDLE: lw_close(l); break;
  default: break;
  }
}

/* ---- the loop -------------------------------------------------------------
 */

/* Lets deferred requests (delay with ms=0) complete, as the loop would. */
static void run_loop(void) {
  for (int i = 0; i < 3 && core.gen->live > 0; i++)
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
}

/* Between reads, whatever anyone was waiting for, in an order that
 * varies (a read or the end of the stream may come before the protocol
 * resumes); then, between turns, nothing the layer handed over is left
 * unwritten. */
static void turn(lower *l) {
  uint32_t order = next_rand(&R.order);
  if (order & 1)
    lw_pump(l);
  if (is_h1())
    run_loop();
  if (order & 2)
    lw_pump(l);
  lw_written(l);
  if (R.cur != NULL && !is_h1())
    fk_resume(R.cur);
  lw_pump(l);
  CHECK(l->gone || l->finished || !batch_holds(l->t.batch));
}

/* Anything still waiting that a turn could move. */
static int waiting(const lower *l) {
  if (l->gone)
    return 0;
  return l->paused || l->t.unsent > 0 ||
         (R.cur != NULL && !is_h1() && R.cur->paused && !R.cur->closing) ||
         (lw_reading(l) && (l->sock_off < l->sock.len || l->sock_eof)) ||
         (is_h1() && core.gen->live > 0);
}

static void settle(lower *l) {
  for (int i = 0; i < SETTLE_TURNS && waiting(l); i++)
    turn(l);
}

/* ---- the wire ----------------------------------------------------------- */

/* A plain answer: one response, 400 or 308, with its whole body. */
static void check_plain(const lower *l) {
  const char *w = l->wire.data, *end, *cl, *loc;
  size_t n = l->wire.len, head;
  int status;
  CHECK(R.plain != 2); /* "close" answers nothing */
  CHECK(n > 12 && memcmp(w, "HTTP/1.1 ", 9) == 0);
  end = memmem(w, n, "\r\n\r\n", 4);
  CHECK(end != NULL);
  head = (size_t)(end - w) + 4;
  status = atoi(w + 9);
  CHECK(status == 400 || (status == 308 && R.plain != 0));
  cl = memmem(w, head, "\r\nContent-Length: ", 18);
  CHECK(cl != NULL);
  CHECK(head + strtoul(cl + 18, NULL, 10) == n);
  loc = memmem(w, head, "\r\nLocation: ", 12);
  CHECK((loc != NULL) == (status == 308));
  if (loc != NULL) {
    const char *v = loc + 12, *e = memmem(v, (size_t)(end + 2 - v), "\r\n", 2);
    CHECK(e != NULL && e - v > 8 && memcmp(v, "https://", 8) == 0);
    /* RFC 9110 section 4.2.2: no "https" URI with an empty host. */
    CHECK(v[8] != ':' && v[8] != '/');
    for (const char *q = v; q < e; q++)
      CHECK(*q > 0x20 && *q < 0x7f); /* nothing that could end the line */
    if (R.plain == 1)
      CHECK(memmem(v, (size_t)(e - v), ":8443", 5) != NULL);
  }
}

/* Every byte the layer wrote: whole TLS records, or a plain answer. */
static void check_wire(const lower *l, int letter) {
  const unsigned char *w = (const unsigned char *)l->wire.data;
  size_t n = l->wire.len, p = 0;
  if (n == 0)
    return;
  if (letter && w[0] == 'H') {
    if (debug)
      fprintf(stderr, "fuzz_tls: answered %.*s\n",
              (int)(strstr(l->wire.data, "\r\n\r\n") - l->wire.data),
              l->wire.data);
    check_plain(l);
    return;
  }
  while (p < n) {
    size_t len;
    if (debug)
      fprintf(stderr, "fuzz_tls: record at %zu: %02x %02x%02x %zu\n", p, w[p],
              n - p > 2 ? w[p + 1] : 0, n - p > 2 ? w[p + 2] : 0,
              n - p > 4 ? (size_t)w[p + 3] << 8 | w[p + 4] : 0);
    CHECK(n - p >= 5);
    /* (The version is OpenSSL's to choose: an alert may echo whatever
     * the client's hello said.) */
    CHECK(w[p] >= 20 && w[p] <= 23);
    len = (size_t)w[p + 3] << 8 | w[p + 4];
    CHECK(len <= 16384 + 2048);
    CHECK(p + 5 + len <= n);
    p += 5 + len;
  }
}

/* ---- one input -------------------------------------------------------------
 */

static hw__tls_ctx *ctx[3]; /* by plain_http: 400, redirect, close */
static hw__metrics_slot *slot;

static void set_up(const uint8_t *h) {
  static const size_t means[4] = {4, 64, 512, 8192};
  hw__buf got = R.got;
  memset(&R, 0, sizeof(R));
  got.len = 0;
  R.got = got;
  R.split = h[0] & 3;
  R.eof = (h[0] >> 2) & 1;
  R.timer = (h[0] >> 3) & 1;
  R.drain = (h[0] >> 4) & 1;
  R.plain = (h[0] >> 5) & 3;
  R.slow = (h[0] >> 7) & 1;
  R.inner = h[1] & 3;
  R.reply = (h[1] >> 2) & 3;
  R.break_at = (h[1] >> 4) & 7;
  R.closes = (h[1] >> 7) & 1;
  R.take_mean = means[h[2] & 3];
  R.close_after = (size_t)1 << ((h[2] >> 2) & 15);
  R.close_how = (h[2] >> 6) & 1;
  R.stays = (h[2] >> 7) & 1;
  R.seed = 0x9e3779b9u ^ ((uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2]);
  if (R.seed == 0)
    R.seed = 1;
  hw__tls_env_set(&env, ctx[R.plain == 3 ? 1 : R.plain]);
  env.port = R.plain == 3 ? 443 : 8443;
}

/* One pass over the client's bytes: the reads, the end, teardown. */
static void one_pass(const char *in, size_t len) {
  uint32_t seed = R.seed;
  size_t off = 0;
  lower *l;

  R.order = R.seed * 2654435761u | 1;
  R.got.len = 0;
  R.opens = R.eofs = R.closes_seen = R.closed_itself = R.settled = 0;
  R.broke = 0;
  l = lw_open();
  while (off < len && !l->gone && !l->finished) {
    size_t piece;
    switch (R.split) {
    case 0: piece = len - off; break;
    case 1: piece = 1; break;
    default: piece = 1 + next_rand(&seed) % (R.split == 2 ? 16 : 1500); break;
    }
    if (piece > len - off)
      piece = len - off;
    lw_send(l, in + off, piece);
    off += piece;
    turn(l);
  }
  if (R.eof)
    l->sock_eof = 1;
  settle(l);
  R.settled = !waiting(l) && off == len;
  if (R.timer) {
    lw_timer(l);
    settle(l);
  }
  if (R.drain && !l->gone) {
    lw_tell(l, env.proto.drain);
    settle(l);
  }
  CHECK(l->gone || l->finished || !batch_holds(l->t.batch));
  lw_close(l); /* the client went away, or the linger ended */
  CHECK(R.opens == R.closes_seen);
  check_wire(l, len > 0 && in[0] >= 'A' && in[0] <= 'Z');
  if (debug)
    fprintf(stderr,
            "fuzz_tls: %zu bytes sent, %zu written in %u writes, %s, "
            "%zu bytes of plaintext given%s%s%s\n",
            len, l->wire.len, l->writes,
            R.opens ? "handshake done" : "no handshake", R.got.len,
            R.eofs ? ", end of stream" : "",
            R.closed_itself ? ", closed by the protocol" : "",
            l->finished ? ", finished" : ", closed");
  lw_free(l);
  if (is_h1()) {
    /* Deferred requests whose client went away are finished by their
     * module; then none is pinned. */
    run_loop();
    CHECK(core.gen->live == 0 && core.gen->reqs == NULL);
  }
}

static void run_input(const uint8_t *data, size_t size) {
  uint8_t h[HEADER] = {0};
  const char *in;
  size_t len;

  memcpy(h, data, size < HEADER ? size : HEADER);
  in = (const char *)data + (size < HEADER ? size : HEADER);
  len = size - (size < HEADER ? size : HEADER);
  set_up(h);
  if (R.inner == IN_FAKE_LIMITED) {
    /* The plaintext taken whole, then taken piecemeal: the same. */
    hw__buf whole = {0};
    int whole_settled, whole_closed;
    R.greedy = 1;
    one_pass(in, len);
    whole_settled = R.settled;
    whole_closed = R.closed_itself || R.broke;
    hw__buf_append(&whole, R.got.data, R.got.len);
    R.greedy = 0;
    one_pass(in, len);
    if (whole_settled && R.settled) {
      size_t n = whole.len < R.got.len ? whole.len : R.got.len;
      CHECK(n == 0 || memcmp(whole.data, R.got.data, n) == 0);
      /* Unless an end came at a point that depends on the takes (the
       * fake's own close, or the nth write failing). */
      if (!whole_closed && !R.closed_itself && !R.broke)
        CHECK(whole.len == R.got.len);
    }
    hw__buf_free(&whole);
  } else {
    one_pass(in, len);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  run_input(data, size);
  return 0;
}

/* ---- sessions: a real client's bytes, recorded -----------------------------
 */

typedef struct session {
  const char *name;
  int version;        /* the client's highest (0: TLS 1.3) */
  const char *alpn;   /* NULL: none */
  const char *sni;    /* NULL: none */
  const char *groups; /* NULL: OpenSSL's */
  const char *ciphers;
  const char *suites;
  int resume;         /* resumes the previous session's ticket */
  int notify;         /* ends with close_notify */
  int keyupdate;      /* a KeyUpdate between the requests */
  int reneg;          /* asks for a renegotiation after them (TLS 1.2) */
  int junk;           /* a record again after close_notify */
  size_t bytewise;    /* the first request in records of this many bytes */
  const char *req[4]; /* what it sends, one write each */
  size_t body;        /* then a body of this many bytes, in 1000-byte
                         writes */
  uint8_t headers[3][HEADER]; /* the control bytes of each seed written */
} session;

#define GET(p) "GET " p " HTTP/1.1\r\nHost: fuzz.example\r\n\r\n"
#define GET5                                                                   \
  GET("/hello") GET("/echo/a") GET("/delay/a") GET("/hello") GET("/up")
#define GET40 GET5 GET5 GET5 GET5 GET5 GET5 GET5 GET5

static const session sessions[] = {
    {.name = "tls13-get",
     .alpn = "http/1.1",
     .sni = "fuzz.example",
     .notify = 1,
     .req = {GET("/hello")},
     .headers = {{0x02, 0x00, 0x00}, {0x03, 0x07, 0x41}}},
    {.name = "tls12-get",
     .version = TLS1_2_VERSION,
     .alpn = "http/1.1",
     .sni = "fuzz.example",
     .notify = 1,
     .req = {GET("/hello")},
     .headers = {{0x00, 0x00, 0x00}, {0x03, 0x07, 0x41}}},
    {.name = "tls13-pipeline",
     .alpn = "h2,http/1.1",
     .req = {GET40, GET("/delay/b") GET("/echo/b")},
     .headers = {{0x02, 0x00, 0x00}, {0x86, 0x00, 0x00}, {0x03, 0x0b, 0x06}}},
    {.name = "tls13-post",
     .notify = 1,
     .req = {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1500\r\n\r\n"},
     .body = 1500,
     .headers = {{0x03, 0x00, 0x00}, {0x03, 0x07, 0x01}}},
    {.name = "tls13-upload",
     .alpn = "http/1.1",
     .req = {"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n"},
     .body = 4000,
     .headers = {{0x02, 0x00, 0x00}, {0x83, 0x00, 0x00}, {0x06, 0x03, 0x00}}},
    {.name = "tls13-too-large",
     .req = {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n"},
     .body = 70000,
     .headers = {{0x00, 0x00, 0x00}, {0x03, 0x0f, 0x82}, {0x03, 0xdb, 0x3e}}},
    {.name = "tls13-delay",
     .req = {GET("/delay/a") GET("/delay/b?ms=0"),
             "GET /delay/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
     .headers = {{0x02, 0x20, 0x00}, {0x02, 0x30, 0x00}, {0x86, 0x40, 0x00}}},
    {.name = "tls13-bytewise",
     .sni = "fuzz.example",
     .notify = 1,
     .bytewise = 1,
     .req = {GET("/echo/bytes"), GET("/hello")},
     .headers = {{0x03, 0x00, 0x00}, {0x03, 0x07, 0x00}}},
    {.name = "tls13-keyupdate",
     .notify = 1,
     .keyupdate = 1,
     .req = {GET("/hello"), GET("/echo/after-keyupdate")},
     .headers = {{0x02, 0x00, 0x00}, {0x03, 0x07, 0x01}}},
    {.name = "tls12-reneg",
     .version = TLS1_2_VERSION,
     .reneg = 1,
     .req = {GET("/hello")},
     .headers = {{0x02, 0x00, 0x00}, {0x03, 0x03, 0x00}}},
    {.name = "tls13-hrr",
     .sni = "fuzz.example",
     .groups = "P-521:P-256",
     .notify = 1,
     .req = {GET("/hello")},
     .headers = {{0x02, 0x00, 0x00}, {0x03, 0x07, 0x00}}},
    {.name = "tls13-ticket",
     .alpn = "http/1.1",
     .sni = "fuzz.example",
     .notify = 1,
     .req = {GET("/hello")},
     .headers = {{0x02, 0x00, 0x00}}},
    {.name = "tls13-resumed",
     .alpn = "http/1.1",
     .sni = "fuzz.example",
     .resume = 1,
     .notify = 1,
     .req = {GET("/echo/resumed")},
     .headers = {{0x02, 0x00, 0x00}, {0x03, 0x07, 0x00}}},
    {.name = "tls12-ticket",
     .version = TLS1_2_VERSION,
     .notify = 1,
     .req = {GET("/hello")},
     .headers = {{0x02, 0x00, 0x00}}},
    {.name = "tls12-resumed",
     .version = TLS1_2_VERSION,
     .resume = 1,
     .notify = 1,
     .req = {GET("/echo/resumed")},
     .headers = {{0x02, 0x00, 0x00}, {0x03, 0x07, 0x00}}},
    {.name = "tls12-chacha",
     .version = TLS1_2_VERSION,
     .groups = "P-384:P-256",
     .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305",
     .notify = 1,
     .req = {GET("/hello")},
     .headers = {{0x02, 0x00, 0x00}, {0x03, 0x07, 0x00}}},
    {.name = "tls13-aes256",
     .groups = "P-256",
     .suites = "TLS_AES_256_GCM_SHA384",
     .req = {GET("/hello")},
     .headers = {{0x06, 0x00, 0x00}}},
    {.name = "tls13-after-notify",
     .notify = 1,
     .junk = 1,
     .req = {GET("/hello")},
     .headers = {{0x02, 0x00, 0x00}, {0x02, 0x02, 0x80}, {0x01, 0x02, 0x80}}},
    {.name = "tls13-notify-deferred",
     .notify = 1,
     .junk = 1,
     .req = {GET("/delay/a") GET("/hello")},
     .headers = {{0x00, 0x00, 0x00}, {0x02, 0x00, 0x00}, {0x06, 0x03, 0x00}}},
    {.name = "tls13-half-head",
     .req = {GET("/hello") "GET /echo HTTP/1.1\r\nHost: x\r\n"},
     .headers = {{0x08, 0x00, 0x00}, {0x1a, 0x00, 0x00}, {0x0b, 0x03, 0x00}}},
    {.name = "tls13-half-body",
     .req = {"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n"},
     .body = 1000,
     .headers = {{0x08, 0x00, 0x00}, {0x14, 0x00, 0x00}, {0x84, 0x00, 0x00}}},
};

typedef struct gen {
  tc_client c;
  lower *l;
  size_t given;  /* of the wire, what the client was given */
  hw__buf sent;  /* every byte the client sent */
  hw__buf plain; /* the plaintext it wrote */
} gen;

/* What the client wrote, to the layer; what the layer wrote, to it. */
static void gen_carry(gen *g) {
  size_t n;
  char *data;
  rng_who = RNG_CLIENT;
  data = tc_client_take(&g->c, &n);
  rng_who = RNG_SERVER;
  if (data != NULL) {
    hw__buf_append(&g->sent, data, n);
    lw_send(g->l, data, n);
    free(data);
  }
  for (int i = 0; i < 64 && waiting(g->l); i++)
    turn(g->l);
  turn(g->l);
  rng_who = RNG_CLIENT;
  tc_client_give(&g->c, g->l->wire.data + g->given, g->l->wire.len - g->given);
  rng_who = RNG_SERVER;
  g->given = g->l->wire.len;
}

/* The client reads what came (tickets, answers); its last error. */
static int gen_read(gen *g) {
  char buf[4096];
  int r, e;
  rng_who = RNG_CLIENT;
  while ((r = SSL_read(g->c.ssl, buf, sizeof(buf))) > 0)
    ;
  e = SSL_get_error(g->c.ssl, r);
  ERR_clear_error();
  rng_who = RNG_SERVER;
  return e;
}

static int gen_write(gen *g, const char *p, size_t n) {
  int r;
  rng_who = RNG_CLIENT;
  r = SSL_write(g->c.ssl, p, (int)n);
  ERR_clear_error();
  rng_who = RNG_SERVER;
  if (r != (int)n)
    return -1;
  hw__buf_append(&g->plain, p, n);
  gen_carry(g);
  return 0;
}

/* One session recorded; 0, or -1 when the client could not do it. */
static int gen_session(gen *g, const session *s, SSL_SESSION **ticket) {
  int done = 0;
  rng_who = RNG_CLIENT;
  rng_state[RNG_CLIENT] = RNG_CONN ^ (uint64_t)(s - sessions + 1);
  if (tc_client_new(&g->c, 0, s->version, s->alpn, s->sni) != 0 ||
      (s->groups != NULL && SSL_set1_groups_list(g->c.ssl, s->groups) != 1) ||
      (s->ciphers != NULL && SSL_set_cipher_list(g->c.ssl, s->ciphers) != 1) ||
      (s->suites != NULL && SSL_set_ciphersuites(g->c.ssl, s->suites) != 1) ||
      (s->resume &&
       (*ticket == NULL || SSL_set_session(g->c.ssl, *ticket) != 1))) {
    rng_who = RNG_SERVER;
    return -1;
  }
  rng_who = RNG_SERVER;
  g->l = lw_open();
  for (int i = 0; i < 16 && !done && !g->l->gone; i++) {
    int r;
    rng_who = RNG_CLIENT;
    r = SSL_do_handshake(g->c.ssl);
    if (r == 1)
      done = 1;
    else if (SSL_get_error(g->c.ssl, r) != SSL_ERROR_WANT_READ)
      i = 16;
    ERR_clear_error();
    rng_who = RNG_SERVER;
    gen_carry(g);
  }
  if (!done || R.opens != 1) {
    fprintf(stderr, "fuzz_tls: session %s: no handshake (alerts %d %d)\n",
            s->name, g->c.alert_got, g->c.alert_sent);
    tc_diag_errors();
    return -1;
  }
  if (s->resume && !SSL_session_reused(g->c.ssl)) {
    fprintf(stderr, "fuzz_tls: session %s: not resumed\n", s->name);
    return -1;
  }
  for (int i = 0; i < 4 && s->req[i] != NULL; i++) {
    const char *p = s->req[i];
    size_t n = strlen(p), step = i == 0 && s->bytewise ? s->bytewise : n;
    if (i > 0 && s->keyupdate) {
      rng_who = RNG_CLIENT;
      SSL_key_update(g->c.ssl, SSL_KEY_UPDATE_REQUESTED);
      rng_who = RNG_SERVER;
    }
    for (size_t o = 0; o < n; o += step)
      if (gen_write(g, p + o, n - o < step ? n - o : step) != 0)
        return -1;
    gen_read(g);
  }
  for (size_t o = 0; o < s->body; o += 1000) {
    char chunk[1000];
    size_t k = s->body - o < sizeof(chunk) ? s->body - o : sizeof(chunk);
    for (size_t j = 0; j < k; j++)
      chunk[j] = (char)('a' + (o + j) % 26);
    if (gen_write(g, chunk, k) != 0)
      return -1;
  }
  if (s->reneg) { /* the renegotiation's ClientHello, refused */
    rng_who = RNG_CLIENT;
    SSL_renegotiate(g->c.ssl);
    SSL_do_handshake(g->c.ssl);
    ERR_clear_error();
    rng_who = RNG_SERVER;
    gen_carry(g);
  }
  gen_read(g);
  if (s->notify) {
    size_t before = g->sent.len;
    rng_who = RNG_CLIENT;
    SSL_shutdown(g->c.ssl);
    ERR_clear_error();
    rng_who = RNG_SERVER;
    gen_carry(g);
    if (s->junk) { /* the record before close_notify, again */
      size_t last = 0;
      for (size_t p = 0; p + 5 <= before;) {
        size_t rl = 5 + ((size_t)(unsigned char)g->sent.data[p + 3] << 8 |
                         (unsigned char)g->sent.data[p + 4]);
        last = p;
        p += rl;
      }
      char *copy = malloc(before - last);
      CHECK(copy != NULL);
      memcpy(copy, g->sent.data + last, before - last);
      hw__buf_append(&g->sent, copy, before - last);
      free(copy);
    }
  }
  if (ticket != NULL) {
    SSL_SESSION_free(*ticket);
    *ticket = SSL_get1_session(g->c.ssl);
  }
  return 0;
}

static void gen_free(gen *g) {
  if (g->l != NULL)
    lw_free(g->l);
  g->l = NULL;
  tc_client_free(&g->c);
  hw__buf_free(&g->sent);
  hw__buf_free(&g->plain);
}

static int write_seed(const char *dir, const char *name, int v,
                      const uint8_t *h, const hw__buf *b) {
  char path[1024];
  FILE *f;
  int ok;
  snprintf(path, sizeof(path), "%s/session-%s-%d", dir, name, v);
  if ((f = fopen(path, "wb")) == NULL)
    return -1;
  ok = fwrite(h, 1, HEADER, f) == HEADER &&
       fwrite(b->data, 1, b->len, f) == b->len;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* Records every session, checks that each replays (the handshake
 * completes and the fake is given exactly the plaintext the client wrote),
 * and writes the replaying ones into `dir`.  Returns how many failed. */
static int make_sessions(const char *dir) {
  SSL_SESSION *ticket = NULL;
  int failed = 0, written = 0;
  static const uint8_t check_header[HEADER] = {0x00, 0x02, 0x00};

  for (size_t i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++) {
    const session *s = &sessions[i];
    gen g;
    uint8_t *seed;
    int ok;

    memset(&g, 0, sizeof(g));
    set_up(check_header);
    ok = gen_session(&g, s, &ticket) == 0;
    if (g.l != NULL)
      lw_free(g.l);
    g.l = NULL;
    if (ok) { /* the replay, as the fuzzer will run it */
      seed = malloc(HEADER + g.sent.len);
      CHECK(seed != NULL);
      memcpy(seed, check_header, HEADER);
      memcpy(seed + HEADER, g.sent.data, g.sent.len);
      run_input(seed, HEADER + g.sent.len);
      free(seed);
      ok = R.opens == 1 && R.got.len == g.plain.len &&
           memcmp(R.got.data, g.plain.data, g.plain.len) == 0;
    }
    if (!ok) {
      fprintf(stderr, "fuzz_tls: session %s does not replay\n", s->name);
      failed++;
    }
    for (int v = 0; ok && v < 3; v++) {
      if (v > 0 && memcmp(s->headers[v], "\0\0\0", HEADER) == 0)
        break;
      if (write_seed(dir, s->name, v, s->headers[v], &g.sent) != 0) {
        fprintf(stderr, "fuzz_tls: cannot write into %s\n", dir);
        failed++;
        break;
      }
      written++;
    }
    gen_free(&g);
  }
  SSL_SESSION_free(ticket);
  fprintf(stderr, "fuzz_tls: %d session seeds written into %s, %d failed\n",
          written, dir, failed);
  return failed;
}

/* ---- start-up --------------------------------------------------------------
 */

/* The certificate, made once with the fixed generator and fixed dates, so
 * that it is the same in every run. */
static int make_ctxs(void) {
  static const int plains[3] = {HW__PLAIN_400, HW__PLAIN_REDIRECT,
                                HW__PLAIN_CLOSE};
  const char *dir = tc_tmpdir("hw-fuzz-tls");
  char crt[512], key[512], err[512];
  EVP_PKEY *k;
  X509 *x = NULL;
  int r = -1;

  if (dir == NULL)
    return -1;
  snprintf(crt, sizeof(crt), "%s/fuzz.crt", dir);
  snprintf(key, sizeof(key), "%s/fuzz.key", dir);
  k = tc_key(0);
  if (k != NULL)
    x = tc_cert(k, "fuzz.example", "fuzz.example,*.fuzz.example", 0, 3600);
  if (x != NULL &&
      ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20200101000000Z") &&
      ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "20991231235959Z") &&
      X509_sign(x, k, EVP_sha256()) > 0 && tc_write_cert(crt, x) == 0 &&
      tc_write_key(key, k, 0600) == 0) {
    hw__config_cert cc = {.cert = crt, .key = key};
    char *alpn[] = {"http/1.1"};
    hw__config_tls tls;
    memset(&tls, 0, sizeof(tls));
    tls.certs = &cc;
    tls.ncerts = 1;
    tls.protocols = HW__TLS_V12 | HW__TLS_V13;
    tls.alpn = alpn;
    tls.nalpn = 1;
    tls.tickets = 1;
    r = 0;
    for (int i = 0; r == 0 && i < 3; i++) {
      tls.plain_http = plains[i];
      if ((r = hw__tls_ctx_build(&tls, "listen[0]", &ctx[i], err,
                                 sizeof(err))) != 0)
        fprintf(stderr, "fuzz_tls: %s\n", err);
    }
  }
  X509_free(x);
  EVP_PKEY_free(k);
  tc_rmdir(dir);
  return r;
}

static int make_core(void) {
  const char *mdir = getenv("HW_FUZZ_MODULES_DIR");
  char json[4096], path[1200], err[2048];
  hw__config *cfg;
  hw__generation *gen;

  if (mdir == NULL || mdir[0] == '\0')
    mdir = HW_FUZZ_MODULES_DIR;
  snprintf(path, sizeof(path), "%s/fuzz-routes.json", mdir);
  /* fuzz_request's routes and limits. */
  snprintf(json, sizeof(json),
           "{\"modules_dir\": \"%s\","
           " \"limits\": {\"body\": 2048, \"request_line\": 256,"
           "              \"header_bytes\": 1024, \"headers\": 16},"
           " \"routes\": ["
           "  {\"prefix\": \"/hello\", \"module\": \"hello.so\"},"
           "  {\"prefix\": \"/\", \"module\": \"hello.so\","
           "   \"config\": {\"body\": \"root\", \"content_type\": \"text/x\"}},"
           "  {\"prefix\": \"/echo\", \"module\": \"echo.so\", \"config\": {}},"
           "  {\"prefix\": \"/delay\", \"module\": \"delay.so\","
           "   \"config\": {\"ms\": 0}},"
           "  {\"prefix\": \"/up\", \"module\": \"echo.so\","
           "   \"body\": \"stream\", \"body_limit\": 4096}]}",
           mdir);
  hw__module_serve_on(uv_default_loop());
  if (hw__config_parse(json, strlen(json), path, &cfg, err, sizeof(err)) != 0 ||
      hw__generation_build(cfg, 1, &hw__host, &gen, err, sizeof(err)) != 0) {
    fprintf(stderr,
            "fuzz_tls: cannot build the generation: %s\n"
            "(set HW_FUZZ_MODULES_DIR to the directory of the fuzz build's "
            "hello.so, echo.so and delay.so)\n",
            err);
    return -1;
  }
  hw__request_core_init(&core, gen);
  hw__h1_env_init(&h1_env, &core);
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *sessions_dir = getenv("HW_FUZZ_TLS_SESSIONS");

  (void)argc;
  (void)argv;
  hw__log_set_level(HW_LOG_ERROR);
  debug = getenv("HW_FUZZ_DEBUG") != NULL;
  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (char)('A' + i % 26);
  rng_state[RNG_SERVER] = RNG_INIT;
  if (RAND_set_rand_method(&rng_method) != 1) {
    fprintf(stderr, "fuzz_tls: cannot replace OpenSSL's generator\n");
    exit(2);
  }
  inner_proto = (hw__proto){
      .size = sizeof(inner) + hw__h1_proto.size,
      .open = in_open,
      .data = in_data,
      .eof = in_eof,
      .timeout = in_timeout,
      .writable = in_writable,
      .drain = in_drain,
      .close = in_close,
  };
  if (make_core() != 0)
    exit(2);
  if (make_ctxs() != 0 || hw__tickets_create() != 0 ||
      (slot = calloc(1, sizeof(*slot))) == NULL ||
      hw__tls_env_init(&env, &inner_proto, &inner_env_token, 8443) != 0) {
    fprintf(stderr, "fuzz_tls: cannot set up the TLS contexts\n");
    ERR_print_errors_fp(stderr);
    exit(2);
  }
  env.metrics = slot;
  if (sessions_dir != NULL && sessions_dir[0] != '\0')
    exit(make_sessions(sessions_dir) == 0 ? 0 : 1);
  return 0;
}
