/*
 * tls.c - TLS between a connection and its protocol (see tls.h), with
 * OpenSSL driven through a BIO of our own instead of a socket: the
 * connection (conn.c) keeps doing all the I/O with libuv, and OpenSSL only
 * turns bytes into bytes.
 *
 * In: the ciphertext a read brought is lent to the BIO for the call
 * (nothing is copied before OpenSSL reads it); each SSL_read gives one
 * record's plaintext, which goes to the protocol at once.  When the
 * protocol takes less (its queue is full), the rest of that record is kept
 * here and the ciphertext OpenSSL has not read yet is handed back to the
 * connection (a short count), which keeps it and stops reading until the
 * protocol resumes, as it would without TLS.  When no ciphertext was left
 * over, the connection reads on: an end of file it meets waits here until
 * the protocol has taken the plaintext kept.
 *
 * Out: the protocol fills plaintext batches (from a pool of this
 * listener's); when its call returns, or when it flushes, the batch's
 * bytes are sealed into records of up to 16 KiB (small pieces gathered so
 * that a response's head and body share one record) and the BIO appends
 * the records to the connection's batch, which leaves with the
 * connection's one write.  Plaintext batches are released as soon as they
 * are sealed, and the protocol sees the connection's unsent count as its
 * own, so back-pressure works unchanged.  Batches never carry file regions
 * here (`files` is 0): the protocol reads files into memory instead.
 *
 * The protocol's state lives in the layer's own allocation, after the
 * layer's (the env's `proto` has room for both): the connection frees it
 * when it frees its own, never while a call is under way.  A protocol may
 * end up closed inside one of its own calls to the transport (its flush
 * or close from a deferred answer reaches the connection, whose write
 * fails and which closes at once), and its code goes on after that call
 * returns, as it does over a plain connection.
 *
 * Timers: until the handshake is done the connection is in the head phase,
 * so a client that never finishes its handshake is closed by the head
 * timeout; then the protocol's phase is the connection's.
 *
 * A plain HTTP request on a TLS port (its first byte a letter where a TLS
 * record begins with 22) gets what the listener's "plain_http" says: a 400
 * in plain text (as nginx does), a 308 to the https URL, or a close.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <uv.h>

#include "buf.h"
#include "bytes.h"
#include "metrics.h"
#include "tls.h"
#include "tls_plain.h"

#define RECORD 16384     /* a TLS record's most plaintext (RFC 8446 5.1) */

typedef struct tls {
  hw__transport t;        /* what the protocol on top sees */
  hw__transport *lower;   /* the connection */
  hw__tls_env *env;
  hw__tls_ctx *ctx;       /* a reference, for the connection's life */
  SSL *ssl;
  const char *in;         /* ciphertext lent to the BIO for this call */
  size_t in_len;
  char *kept;             /* plaintext the protocol did not take yet */
  uint32_t kept_off, kept_len;
  void *inner;            /* the protocol's state (after this one, in the
                             connection's memory), from the handshake on */
  unsigned close_wanted : 2; /* 1 + enum hw__close, asked during a call */
  unsigned handshaken : 1;
  unsigned in_inner : 1;  /* inside a call into the protocol */
  unsigned paused : 1;    /* the protocol took less: `kept` waits */
  unsigned resume_wanted : 1;
  unsigned closing : 1;   /* ending: input is dropped */
  unsigned sniffed : 1;   /* the first byte was looked at */
  unsigned plain : 1;     /* a plain HTTP request, read for a redirect */
  unsigned dead : 1;      /* could not be set up: closed at the first call */
  unsigned peer_done : 1; /* the client's close_notify came */
  unsigned fatal : 1;     /* OpenSSL failed: no close_notify may follow */
  unsigned drain_due : 1; /* a graceful stop came during the handshake */
  unsigned eof_due : 1;   /* the connection's end of file, told the
                             protocol once `kept` is taken */
} tls;

/* Where the protocol's state begins in the connection's memory. */
#define INNER_AT ((sizeof(tls) + 15) & ~(size_t)15)

/* ---- the BIO: ciphertext in from the call, out to the connection ------- */

static BIO_METHOD *bio_method;

static int bio_read(BIO *b, char *out, int outl) {
  tls *s = BIO_get_data(b);
  size_t n = s->in_len < (size_t)outl ? s->in_len : (size_t)outl;
  BIO_clear_retry_flags(b);
  if (n == 0) {
    BIO_set_retry_read(b); /* "want read": the next read brings more */
    return -1;
  }
  memcpy(out, s->in, n);
  s->in += n;
  s->in_len -= n;
  return (int)n;
}

static int bio_write(BIO *b, const char *data, int len) {
  tls *s = BIO_get_data(b);
  hw__batch *out = hw__transport_batch(s->lower);
  size_t off;
  BIO_clear_retry_flags(b);
  if (out == NULL)
    return -1;
  off = out->out.len;
  if (hw__buf_append(&out->out, data, (size_t)len) != 0 ||
      hw__batch_seg(out, NULL, off, (size_t)len) != 0)
    return -1;
  return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  return cmd == BIO_CTRL_FLUSH; /* nothing is buffered here */
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static int make_bio_method(void) {
  if (bio_method != NULL)
    return 0;
  bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                            "haywire connection");
  if (bio_method == NULL || !BIO_meth_set_read(bio_method, bio_read) ||
      !BIO_meth_set_write(bio_method, bio_write) ||
      !BIO_meth_set_ctrl(bio_method, bio_ctrl) ||
      !BIO_meth_set_create(bio_method, bio_create))
    return UV_ENOMEM;
  return 0;
}

/* ---- the env ------------------------------------------------------------ */

static const hw__proto tls_proto;

int hw__tls_env_init(hw__tls_env *env, const hw__proto *inner,
                     void *inner_env, int port) {
  memset(env, 0, sizeof(*env));
  env->proto = tls_proto;
  env->proto.size = INNER_AT + inner->size;
  env->inner = inner;
  env->inner_env = inner_env;
  env->port = port;
  if (make_bio_method() != 0)
    return UV_ENOMEM;
  env->ready = 1;
  return 0;
}

void hw__tls_env_set(hw__tls_env *env, hw__tls_ctx *ctx) {
  if (ctx != NULL)
    hw__tls_ctx_ref(ctx);
  hw__tls_ctx_unref(env->ctx);
  env->ctx = ctx;
}

void hw__tls_env_destroy(hw__tls_env *env) {
  hw__tls_ctx_unref(env->ctx);
  env->ctx = NULL;
  hw__batch_pool_drain(&env->batches);
  env->ready = 0;
}

/* ---- sealing the protocol's output --------------------------------------- */

/* The connection's view, for the protocol and for the timers. */
static void sync_lower(tls *s) {
  s->t.unsent = s->lower->unsent;
  if (s->handshaken) {
    s->lower->phase = s->t.phase;
    s->lower->epoch = s->t.epoch;
  } else {
    s->lower->phase = HW__PHASE_HEAD;
  }
}

static int seal(tls *s, const char *p, size_t n) {
  ERR_clear_error();
  return SSL_write(s->ssl, p, (int)n) > 0 ? 0 : -1;
}

/* Seals the protocol's batch into the connection's; 0 or -1 (the session
 * is broken). */
static int seal_batch(tls *s) {
  hw__batch *b = s->t.batch;
  char stage[RECORD]; /* (on the stack: a call may nest in another's) */
  size_t staged = 0;
  int r = 0;

  if (b == NULL)
    return 0;
  s->t.batch = NULL;
  for (size_t i = 0; r == 0 && s->handshaken && i < b->nsegs; i++) {
    const hw__seg *g = &b->segs[i];
    const char *p = g->base != NULL ? g->base : b->out.data + g->off;
    size_t n = g->len;
    while (r == 0 && n > 0) {
      size_t k;
      if (staged == 0 && n >= RECORD) { /* a whole record: no copy */
        r = seal(s, p, RECORD);
        p += RECORD, n -= RECORD;
        continue;
      }
      k = RECORD - staged < n ? RECORD - staged : n;
      memcpy(stage + staged, p, k);
      staged += k, p += k, n -= k;
      if (staged == RECORD)
        r = seal(s, stage, staged), staged = 0;
    }
  }
  if (r == 0 && staged > 0)
    r = seal(s, stage, staged);
  hw__batch_give(&s->env->batches, b); /* the plaintext is sealed: released */
  return r;
}

/* Ends the stream: after what was written, with a close_notify alert
 * (RFC 8446 section 6.1), or at once. */
static void end(tls *s, int how) {
  if (s->closing) {
    if (how == HW__CLOSE_NOW)
      s->lower->ops->close(s->lower, how);
    return;
  }
  s->closing = 1;
  if (how == HW__CLOSE_AFTER_WRITE && seal_batch(s) == 0 && s->handshaken &&
      !s->fatal) {
    ERR_clear_error();
    SSL_shutdown(s->ssl);
    ERR_clear_error();
  }
  sync_lower(s);
  s->lower->ops->close(s->lower, how);
}

/* After a call into the protocol: what it asked for meanwhile, then its
 * output sealed (the connection writes it when its own call returns). */
static void settle(tls *s);

/* ---- feeding the protocol -------------------------------------------------- */

static void inner_call(tls *s, void (*fn)(void *)) {
  s->in_inner = 1;
  fn(s->inner);
  s->in_inner = 0;
}

/* Plaintext to the protocol; what it does not take is kept (a copy, or
 * what is left of `kept` when it came from there). */
static void feed(tls *s, const char *p, size_t n, int from_kept) {
  size_t k;
  s->in_inner = 1;
  k = s->env->inner->data(s->inner, p, n);
  s->in_inner = 0;
  if (from_kept) {
    s->kept_off += (uint32_t)k;
    s->kept_len -= (uint32_t)k;
    if (s->kept_len == 0)
      free(s->kept), s->kept = NULL;
  } else if (k < n && !s->closing) {
    if ((s->kept = malloc(n - k)) == NULL) {
      end(s, HW__CLOSE_NOW);
      return;
    }
    memcpy(s->kept, p + k, n - k);
    s->kept_off = 0;
    s->kept_len = (uint32_t)(n - k);
  }
  if (s->kept != NULL)
    s->paused = 1;
}

/* Decrypts what the call brought, a record at a time, while the protocol
 * takes it. */
static void read_records(tls *s) {
  /* On the stack, not shared: the protocol may, while it parses these
   * bytes, run module code that makes another connection read (a
   * deferred answer there resumes it). */
  char plain[RECORD];
  while (!s->paused && !s->closing && !s->peer_done && s->close_wanted == 0) {
    int n, e;
    ERR_clear_error();
    n = SSL_read(s->ssl, plain, RECORD);
    if (n > 0) {
      feed(s, plain, (size_t)n, 0);
      continue;
    }
    e = SSL_get_error(s->ssl, n);
    if (e == SSL_ERROR_WANT_READ)
      break;
    if (e == SSL_ERROR_ZERO_RETURN) { /* the client's close_notify */
      s->peer_done = 1;
      inner_call(s, s->env->inner->eof);
      break;
    }
    /* A bad record, a renegotiation refused: an alert is batched. */
    ERR_clear_error();
    s->fatal = 1;
    s->close_wanted = 1 + HW__CLOSE_AFTER_WRITE;
  }
}

static const hw__transport_ops tls_ops;

static void count(tls *s, int how) {
  if (s->env->metrics != NULL)
    hw__metrics_add(&s->env->metrics->handshakes[how], 1);
}

static void handshake(tls *s) {
  int r, e;
  ERR_clear_error();
  r = SSL_do_handshake(s->ssl);
  if (r == 1) {
    s->handshaken = 1;
    count(s, SSL_session_reused(s->ssl) ? HW__HANDSHAKE_RESUMED
                                        : HW__HANDSHAKE_FULL);
    s->inner = (char *)s + INNER_AT; /* (zeroed with the connection) */
    s->in_inner = 1;
    s->env->inner->open(s->inner, &s->t, s->env->inner_env);
    s->in_inner = 0;
    if (s->drain_due) /* it answers what is on its way, then ends */
      inner_call(s, s->env->inner->drain);
    return;
  }
  e = SSL_get_error(s->ssl, r);
  if (e == SSL_ERROR_WANT_READ)
    return;
  /* Not TLS, a version or suite we do not offer, a bad record: OpenSSL
   * batched its alert, which goes out before the FIN. */
  ERR_clear_error();
  s->fatal = 1;
  end(s, HW__CLOSE_AFTER_WRITE);
}

/* ---- plain HTTP on a TLS port ------------------------------------------------ */

/* Writes a plain answer (tls_plain.c's) and ends the connection. */
static void plain_send(tls *s, const char *answer, size_t n) {
  hw__batch *b = hw__transport_batch(s->lower);
  if (b != NULL && n > 0) {
    size_t off = b->out.len;
    if (hw__buf_append(&b->out, answer, n) == 0)
      hw__batch_seg(b, NULL, off, n);
  }
  s->closing = 1;
  s->lower->ops->close(s->lower, HW__CLOSE_AFTER_WRITE);
}

/* Takes a plain request's bytes until its head is whole (for a redirect,
 * which needs its Host and target). */
static size_t plain_more(tls *s, const char *data, size_t len) {
  char answer[HW__TLS_PLAIN_ANSWER];
  char *grown;
  size_t have = s->kept_len, n = len, r;
  if (n > HW__TLS_PLAIN_HEAD - have)
    n = HW__TLS_PLAIN_HEAD - have;
  if ((grown = realloc(s->kept, have + n + 1)) == NULL) {
    end(s, HW__CLOSE_NOW);
    return len;
  }
  s->kept = grown;
  memcpy(s->kept + have, data, n);
  s->kept_len = (uint32_t)(have + n);
  r = hw__tls_plain_answer(s->kept, s->kept_len, 1, s->env->port, answer,
                           sizeof(answer));
  if (r > 0)
    plain_send(s, answer, r);
  return len;
}

static int plain_request(tls *s, const char *data, size_t len) {
  int mode = hw__tls_ctx_plain_http(s->ctx);
  char answer[HW__TLS_PLAIN_ANSWER];
  if (!(data[0] >= 'A' && data[0] <= 'Z'))
    return 0; /* not HTTP: OpenSSL says what it is */
  if (mode == HW__PLAIN_CLOSE) {
    end(s, HW__CLOSE_NOW);
  } else if (mode == HW__PLAIN_REDIRECT) {
    s->plain = 1;
    plain_more(s, data, len);
  } else {
    plain_send(s, answer,
               hw__tls_plain_answer(data, len, 0, s->env->port, answer,
                                    sizeof(answer)));
  }
  return 1;
}

/* ---- the protocol the connection drives --------------------------------- */

static void tls_open(void *p, hw__transport *lower, void *envp) {
  tls *s = p;
  hw__tls_env *env = envp;
  BIO *bio;

  s->lower = lower;
  s->env = env;
  s->t.ops = &tls_ops;
  s->ctx = env->ctx;
  hw__tls_ctx_ref(s->ctx);
  lower->phase = HW__PHASE_HEAD; /* the handshake: the head timeout */
  s->ssl = hw__tls_ctx_ssl(s->ctx);
  bio = s->ssl != NULL ? BIO_new(bio_method) : NULL;
  if (bio == NULL) {
    s->dead = 1; /* (the connection is not ready to be closed yet) */
    return;
  }
  BIO_set_data(bio, s);
  SSL_set_bio(s->ssl, bio, bio);
  SSL_set_accept_state(s->ssl);
}

static size_t tls_data(void *p, const char *data, size_t len) {
  tls *s = p;
  size_t taken;

  if (s->dead) {
    end(s, HW__CLOSE_NOW);
    return len;
  }
  if (s->plain && !s->closing)
    return plain_more(s, data, len);
  if (s->closing || s->peer_done)
    return len; /* ending, or after the client's last record: dropped */
  if (s->paused)
    return 0;
  sync_lower(s);
  if (!s->sniffed) {
    s->sniffed = 1;
    if (plain_request(s, data, len))
      return len;
  }
  s->in = data;
  s->in_len = len;
  if (!s->handshaken)
    handshake(s);
  if (s->handshaken)
    read_records(s);
  /* (What follows the client's close_notify is dropped, not kept.) */
  taken = s->closing || s->peer_done ? len : len - s->in_len;
  s->in = NULL;
  s->in_len = 0;
  settle(s);
  return taken;
}

static void tls_eof(void *p) {
  tls *s = p;
  if (s->inner == NULL) {
    end(s, HW__CLOSE_NOW);
    return;
  }
  /* Not before the plaintext it has yet to take (the connection read on,
   * having no ciphertext left over), and not again after close_notify. */
  if (!s->closing && !s->peer_done && s->kept != NULL)
    s->eof_due = 1;
  else if (!s->closing && !s->peer_done)
    inner_call(s, s->env->inner->eof);
  settle(s);
}

static void tls_timeout(void *p) {
  tls *s = p;
  if (s->inner == NULL) { /* the handshake took longer than a head may */
    end(s, HW__CLOSE_NOW);
    return;
  }
  inner_call(s, s->env->inner->timeout);
  settle(s);
}

static void tls_writable(void *p) {
  tls *s = p;
  sync_lower(s);
  if (s->inner != NULL)
    inner_call(s, s->env->inner->writable);
  settle(s);
}

static void tls_drain(void *p) {
  tls *s = p;
  if (s->inner == NULL) {
    /* A handshake may carry a request on its way, which HTTP/1.1 would
     * answer: drained once it is done (the head timeout bounds it); a
     * connection that sent nothing yet is as an idle one. */
    if (s->sniffed)
      s->drain_due = 1;
    else
      end(s, HW__CLOSE_NOW);
    return;
  }
  inner_call(s, s->env->inner->drain);
  settle(s);
}

static void tls_close(void *p) {
  tls *s = p;
  /* A handshake that began (bytes came) and never ended, however it
   * ended: an alert, not TLS at all, the client gone, the head timeout. */
  if (!s->handshaken && s->sniffed)
    count(s, HW__HANDSHAKE_FAILED);
  if (s->inner != NULL) {
    s->closing = 1;
    inner_call(s, s->env->inner->close);
    s->inner = NULL; /* (its memory is the connection's) */
  }
  if (s->t.batch != NULL) {
    hw__batch_give(&s->env->batches, s->t.batch);
    s->t.batch = NULL;
  }
  SSL_free(s->ssl); /* frees the BIO */
  s->ssl = NULL;
  hw__tls_ctx_unref(s->ctx);
  s->ctx = NULL;
  free(s->kept);
  s->kept = NULL;
}

static const hw__proto tls_proto = {
    .size = sizeof(tls), /* (the env's copy adds the protocol on top) */
    .open = tls_open,
    .data = tls_data,
    .eof = tls_eof,
    .timeout = tls_timeout,
    .writable = tls_writable,
    .drain = tls_drain,
    .close = tls_close,
};

/* ---- the transport the protocol writes with ------------------------------ */

static tls *tls_of(hw__transport *t) {
  return hw__bytes_container_of(t, tls, t);
}

/* The protocol wants its input again: the plaintext kept, then the
 * connection's ciphertext (which it feeds through tls_data). */
static void resume(tls *s) {
  s->resume_wanted = 0;
  if (!s->paused || s->closing)
    return;
  s->paused = 0;
  if (s->kept != NULL)
    feed(s, s->kept + s->kept_off, s->kept_len, 1);
  if (s->paused || s->closing)
    return;
  if (s->eof_due) { /* the connection ended: nothing more to read */
    s->eof_due = 0;
    inner_call(s, s->env->inner->eof);
    return;
  }
  s->lower->ops->resume(s->lower);
}

static void settle(tls *s) {
  while (s->resume_wanted && s->close_wanted == 0 && !s->closing)
    resume(s);
  if (s->close_wanted != 0) {
    int how = s->close_wanted - 1;
    s->close_wanted = 0;
    end(s, how);
  } else if (s->closing && s->t.batch != NULL) {
    /* The stream ended under the protocol (an alert, a broken session):
     * what it still writes goes nowhere, and it goes on until the
     * connection closes it, as it would over a connection reset. */
    hw__batch_give(&s->env->batches, s->t.batch);
    s->t.batch = NULL;
  } else if (!s->closing && seal_batch(s) != 0) {
    s->fatal = 1;
    end(s, HW__CLOSE_NOW);
  }
  sync_lower(s);
}

static hw__batch *t_batch(hw__transport *t) {
  tls *s = tls_of(t);
  if (s->t.batch == NULL)
    s->t.batch = hw__batch_take(&s->env->batches, s);
  return s->t.batch;
}

static void t_flush(hw__transport *t) {
  tls *s = tls_of(t);
  if (s->in_inner)
    return; /* sealed when the call returns */
  settle(s);
  s->lower->ops->flush(s->lower);
  sync_lower(s); /* what the write left unsent */
}

static void t_resume(hw__transport *t) {
  tls *s = tls_of(t);
  s->resume_wanted = 1;
  if (s->in_inner)
    return;
  settle(s);
  s->lower->ops->flush(s->lower);
  sync_lower(s);
}

static void t_close(hw__transport *t, int how) {
  tls *s = tls_of(t);
  if (s->close_wanted == 0 || how == HW__CLOSE_NOW)
    s->close_wanted = (unsigned)(how + 1) & 3;
  if (!s->in_inner)
    settle(s);
}

static int t_peer(hw__transport *t, char *buf, size_t len) {
  tls *s = tls_of(t);
  return s->lower->ops->peer(s->lower, buf, len);
}

/* The session, as modules and the access log see it.  ALPN's choice is
 * one of the listener's names, which are static strings here. */
static int t_tls(hw__transport *t, hw__transport_tls *out) {
  tls *s = tls_of(t);
  const unsigned char *a;
  unsigned alen;
  const char *sni;
  if (s->ssl == NULL || !s->handshaken)
    return UV_ENOTCONN;
  SSL_get0_alpn_selected(s->ssl, &a, &alen);
  sni = SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name);
  out->version = SSL_get_version(s->ssl);
  out->cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(s->ssl));
  out->sni = sni != NULL ? sni : "";
  out->alpn = alen == 8 && memcmp(a, "http/1.1", 8) == 0 ? "http/1.1"
              : alen == 2 && memcmp(a, "h2", 2) == 0    ? "h2"
                                                       : "";
  out->resumed = SSL_session_reused(s->ssl);
  return 0;
}

/* A PROXY header came before the handshake: the layer below knows. */
static int t_proxy(hw__transport *t, hw__transport_proxy *out) {
  return hw__transport_proxy_of(tls_of(t)->lower, out);
}

static const hw__transport_ops tls_ops = {
    .batch = t_batch,
    .flush = t_flush,
    .resume = t_resume,
    .close = t_close,
    .peer = t_peer,
    .tls = t_tls,
    .proxy = t_proxy,
    .files = 0,
};
