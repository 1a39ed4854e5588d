/*
 * proxy.c - the PROXY protocol layer (see proxy.h).
 *
 * A balancer that speaks it (HAProxy's `send-proxy` / `send-proxy-v2`)
 * opens each connection with a header naming the client it is relaying
 * for.  The header is read before anything else, a TLS ClientHello
 * included, since the balancer sends it before the client's first byte.
 * Only a peer in the listener's "proxy_from" ranges may send one: from
 * anyone else a header would let a client write whatever address it likes
 * into the logs and into what modules trust, so such a connection is
 * closed at once.  So is one whose header is malformed, too long, or
 * missing (the first bytes are not one); one that never completes it is
 * closed by the head timeout, the phase it is in until then.
 *
 * A header split across reads is gathered in a buffer taken only then
 * (a balancer's header almost always arrives whole, with the request
 * behind it).  Once it is complete, the protocol on top is opened with
 * this layer as its transport, and the bytes that followed the header go
 * to it.  From then on the layer forwards: batches are the connection's
 * own (nothing is copied), and the transport's fields the protocol writes
 * (phase, epoch) and reads (unsent) are carried across at every call, as
 * tls.c does.  Only `peer` answers differently: with the client the
 * header named, unless it named none (v2 LOCAL, v1 UNKNOWN: the
 * balancer's own health checks, for which the specification says to use
 * the connection's addresses; a UNIX or unspecified family).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bytes.h"
#include "listen.h"
#include "log.h"
#include "proxy.h"
#include "proxy_header.h"

#define ADDR_TEXT 56 /* "[" IPv6 "]:" port, with room */

typedef struct proxy {
  hw__transport t;       /* what the protocol on top sees */
  hw__transport *lower;  /* the connection */
  const hw__proto *inner;
  void *inner_env;
  void *inner_state;     /* after this state, once the header is read */
  char *buf;             /* a header split across reads, so far */
  uint8_t *tlv;          /* version 2's TLVs (a copy), or NULL */
  uint16_t have;         /* bytes in `buf` */
  uint16_t tlv_len;
  uint8_t version;
  unsigned local : 1;
  unsigned dead : 1;     /* refused: what comes is dropped */
  unsigned drain_due : 1; /* a graceful stop came mid-header */
  char client[ADDR_TEXT]; /* the header's addresses as text, or "" */
  char server[ADDR_TEXT];
  char socket_peer[ADDR_TEXT];
} proxy;

#define INNER_AT ((sizeof(proxy) + 15) & ~(size_t)15)

static const hw__transport_ops proxy_ops;

/* ---- carrying the transport's fields across --------------------------------- */

static void pull(proxy *s) { s->t.unsent = s->lower->unsent; }

static void push(proxy *s) {
  s->lower->phase = s->t.phase;
  s->lower->epoch = s->t.epoch;
}

static void call(proxy *s, void (*fn)(void *)) {
  pull(s);
  fn(s->inner_state);
  push(s);
}

/* ---- the header --------------------------------------------------------------- */

/* One line per refused connection, from a bucket of LOG_BURST lines per
 * worker refilled at one a second: a scanner reaching the port, or a
 * client that skips the balancer, would otherwise fill the log.  The next
 * line logged says how many were held back. */
#define LOG_BURST 20
static void log_refusal(const proxy *s, const char *why) {
  static uint64_t at_ms; /* when the bucket was last filled up to now */
  static unsigned tokens = LOG_BURST, held;
  uint64_t now = uv_hrtime() / 1000000;
  uint64_t add = (now - at_ms) / 1000;
  if (add > 0) {
    tokens = add >= LOG_BURST || tokens + add >= LOG_BURST
                 ? LOG_BURST
                 : tokens + (unsigned)add;
    at_ms = now;
  }
  if (tokens == 0) {
    held++;
    return;
  }
  tokens--;
  if (held > 0)
    hw__log(HW_LOG_WARN, "PROXY protocol: connection from %s closed: %s "
            "(%u refusals before it not logged)",
            s->socket_peer[0] != '\0' ? s->socket_peer : "an unknown peer",
            why, held);
  else
    hw__log(HW_LOG_WARN, "PROXY protocol: connection from %s closed: %s",
            s->socket_peer[0] != '\0' ? s->socket_peer : "an unknown peer",
            why);
  held = 0;
}

/* `why` NULL: closed without a log line. */
static void refuse(proxy *s, const char *why) {
  if (why != NULL)
    log_refusal(s, why);
  s->dead = 1;
  free(s->buf);
  s->buf = NULL;
  s->lower->ops->close(s->lower, HW__CLOSE_NOW);
}

static void text_of(const struct sockaddr_storage *ss, char *out) {
  if (ss->ss_family == AF_UNSPEC ||
      hw__listen_format((const struct sockaddr *)ss, out, ADDR_TEXT) <= 0)
    out[0] = '\0';
}

/* The header is read: keep what it said, open the protocol on top.
 * Returns 0, or -1 when out of memory (refused). */
static int accept_header(proxy *s, const hw__proxy_header *h) {
  s->version = (uint8_t)h->version;
  s->local = h->local != 0;
  text_of(&h->src, s->client);
  text_of(&h->dst, s->server);
  if (h->tlv_len > 0) {
    if ((s->tlv = malloc(h->tlv_len)) == NULL) {
      refuse(s, "out of memory");
      return -1;
    }
    memcpy(s->tlv, h->tlv, h->tlv_len);
    s->tlv_len = (uint16_t)h->tlv_len;
  }
  free(s->buf);
  s->buf = NULL;
  s->have = 0;
  /* The protocol's phase and timer start afresh, as on a new connection. */
  s->t.phase = s->lower->phase;
  s->t.epoch = (uint8_t)(s->lower->epoch + 1);
  s->inner_state = (char *)s + INNER_AT;
  pull(s);
  s->inner->open(s->inner_state, &s->t, s->inner_env);
  push(s);
  if (s->drain_due)
    call(s, s->inner->drain);
  return 0;
}

/* Why a header was refused, for the log: too long, none at all (the bytes
 * stray from both versions' signatures before either is whole: a client
 * that is not a balancer, or a balancer not set to send one), or a
 * malformed one. */
static const char *why_not(int r, const char *p, size_t len) {
  if (r == UV_E2BIG)
    return "a PROXY protocol header too long (v1: 107 bytes, v2: 4096)";
  if (!hw__proxy_header_signed(p, len))
    return "no PROXY protocol header (the first bytes cannot begin one)";
  return "a malformed PROXY protocol header";
}

/* Bytes before the header's end: gathered, parsed.  Returns how many of
 * `data` the header took, or `len` + 1 when the connection was refused
 * (all taken, nothing for the protocol). */
static size_t read_header(proxy *s, const char *data, size_t len) {
  hw__proxy_header h;
  size_t before = s->have, n;
  int r;

  if (s->buf == NULL) {
    if ((r = hw__proxy_header_parse(data, len, &h)) > 0)
      return accept_header(s, &h) == 0 ? (size_t)r : len + 1;
    if (r < 0) {
      refuse(s, why_not(r, data, len));
      return len + 1;
    }
    if ((s->buf = malloc(HW__PROXY_HEADER_MAX)) == NULL) {
      refuse(s, "out of memory");
      return len + 1;
    }
  }
  n = len < HW__PROXY_HEADER_MAX - before ? len : HW__PROXY_HEADER_MAX - before;
  memcpy(s->buf + before, data, n);
  r = hw__proxy_header_parse(s->buf, before + n, &h);
  if (r < 0) {
    refuse(s, why_not(r, s->buf, before + n));
    return len + 1;
  }
  if (r == 0) { /* (then all of `data` fitted: see HW__PROXY_HEADER_MAX) */
    s->have = (uint16_t)(before + n);
    return len;
  }
  /* `h` points into `buf`, which accept_header frees after copying. */
  return accept_header(s, &h) == 0 ? (size_t)r - before : len + 1;
}

/* ---- the protocol the connection drives ------------------------------------- */

static void p_open(void *p, hw__transport *t, void *e) {
  proxy *s = p;
  const hw__proxy_env *env = e;
  s->t.ops = &proxy_ops;
  s->lower = t;
  s->inner = env->inner;
  s->inner_env = env->inner_env;
  t->phase = HW__PHASE_HEAD; /* the header is due at once */
  t->epoch++;
  if (t->ops->peer(t, s->socket_peer, sizeof(s->socket_peer)) <= 0)
    s->socket_peer[0] = '\0';
  if (!hw__cidr_match_text(env->from, env->nfrom, s->socket_peer))
    refuse(s, "not in the listener's proxy_from");
}

static size_t p_data(void *p, const char *data, size_t len) {
  proxy *s = p;
  size_t head = 0, taken;

  if (s->dead)
    return len;
  if (s->inner_state == NULL) {
    if ((head = read_header(s, data, len)) > len)
      return len;
    if (head == len)
      return len;
  }
  pull(s);
  taken = s->inner->data(s->inner_state, data + head, len - head);
  push(s);
  return head + taken;
}

static void p_eof(void *p) {
  proxy *s = p;
  if (s->inner_state != NULL)
    call(s, s->inner->eof);
  else if (!s->dead) /* (silently before a byte: a TCP health check) */
    refuse(s, s->have > 0 ? "the connection ended inside the header" : NULL);
}

static void p_timeout(void *p) {
  proxy *s = p;
  if (s->inner_state != NULL)
    call(s, s->inner->timeout);
  else if (!s->dead)
    refuse(s, "no complete header within timeouts_ms.head");
}

static void p_writable(void *p) {
  proxy *s = p;
  if (s->inner_state != NULL)
    call(s, s->inner->writable);
}

/* A graceful stop before the header is complete: the header and a request
 * may be on their way (a balancer sends them at once), so the protocol is
 * told as soon as it opens.  A connection that has sent nothing is idle
 * as far as HTTP goes: the connection's idle timer, short while draining,
 * ends it with a FIN, as HTTP/1.1 leaves a connection before its first
 * request; half a header keeps the head timeout. */
static void p_drain(void *p) {
  proxy *s = p;
  if (s->inner_state != NULL) {
    call(s, s->inner->drain);
    return;
  }
  s->drain_due = 1;
  if (s->have == 0 && !s->dead) {
    s->lower->phase = HW__PHASE_IDLE;
    s->lower->epoch++;
  }
}

static void p_close(void *p) {
  proxy *s = p;
  if (s->inner_state != NULL) {
    pull(s);
    s->inner->close(s->inner_state);
    s->inner_state = NULL; /* (its memory is the connection's) */
  }
  free(s->buf);
  free(s->tlv);
  s->buf = NULL;
  s->tlv = NULL;
}

/* ---- the transport the protocol on top writes with ------------------------- */

static proxy *proxy_of(hw__transport *t) {
  return hw__bytes_container_of(t, proxy, t);
}

/* The connection's batch (the layer keeps none: `t.batch` stays NULL, so
 * that every batch asked for is the connection's current one). */
static hw__batch *t_batch(hw__transport *t) {
  return hw__transport_batch(proxy_of(t)->lower);
}

static void t_flush(hw__transport *t) {
  proxy *s = proxy_of(t);
  push(s);
  s->lower->ops->flush(s->lower);
  pull(s);
}

static void t_resume(hw__transport *t) {
  proxy *s = proxy_of(t);
  push(s);
  s->lower->ops->resume(s->lower);
  pull(s);
}

static void t_close(hw__transport *t, int how) {
  proxy *s = proxy_of(t);
  push(s);
  s->lower->ops->close(s->lower, how);
}

static int copy_text(const char *text, char *buf, size_t len) {
  size_t n = strlen(text);
  if (n >= len)
    return HW_EINVAL;
  memcpy(buf, text, n + 1);
  return (int)n;
}

static int t_peer(hw__transport *t, char *buf, size_t len) {
  proxy *s = proxy_of(t);
  if (s->client[0] != '\0')
    return copy_text(s->client, buf, len);
  return s->lower->ops->peer(s->lower, buf, len);
}

static int t_proxy(hw__transport *t, hw__transport_proxy *out) {
  proxy *s = proxy_of(t);
  out->client = s->client;
  out->server = s->server;
  out->socket_peer = s->socket_peer;
  out->tlv = s->tlv;
  out->tlv_len = s->tlv_len;
  out->version = s->version;
  out->local = s->local;
  return 0;
}

static const hw__transport_ops proxy_ops = {
    .batch = t_batch,
    .flush = t_flush,
    .resume = t_resume,
    .close = t_close,
    .peer = t_peer,
    .tls = NULL,
    .proxy = t_proxy,
    .files = 1, /* the batches are the connection's, which sends files */
};

void hw__proxy_env_set(hw__proxy_env *env, const hw__proto *inner,
                       void *inner_env, const hw__cidr *from, size_t nfrom) {
  env->proto = (hw__proto){
      .size = INNER_AT + inner->size,
      .open = p_open,
      .data = p_data,
      .eof = p_eof,
      .timeout = p_timeout,
      .writable = p_writable,
      .drain = p_drain,
      .close = p_close,
  };
  env->inner = inner;
  env->inner_env = inner_env;
  env->from = from;
  env->nfrom = nfrom;
}
