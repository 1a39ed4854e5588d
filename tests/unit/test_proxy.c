/*
 * test_proxy.c - unit tests of proxy.c, the PROXY protocol layer, between
 * a fake connection below and a fake protocol on top: the header is taken
 * whole or byte by byte and what follows reaches the protocol exactly,
 * counts returned say what was taken, a peer outside proxy_from and bad
 * headers close the connection, the end of input, the head timeout and a
 * graceful stop before the header do what they should, and once open the
 * layer forwards (batches, flushes, phase, unsent) and answers `peer` and
 * `proxy` from the header.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "proxy.h"
#include "tap.h"

/* ---- a fake connection ------------------------------------------------- */

typedef struct lower {
  hw__transport t;
  char peer[64];
  int closes, close_how, flushes, resumes, batches;
} lower;

static hw__batch *const SENTINEL = (hw__batch *)&SENTINEL;

static hw__batch *l_batch(hw__transport *t) {
  ((lower *)t)->batches++;
  return SENTINEL;
}
static void l_flush(hw__transport *t) { ((lower *)t)->flushes++; }
static void l_resume(hw__transport *t) { ((lower *)t)->resumes++; }
static void l_close(hw__transport *t, int how) {
  ((lower *)t)->closes++;
  ((lower *)t)->close_how = how;
}
static int l_peer(hw__transport *t, char *buf, size_t len) {
  size_t n = strlen(((lower *)t)->peer);
  if (n == 0 || n >= len)
    return UV_ENOTCONN;
  memcpy(buf, ((lower *)t)->peer, n + 1);
  return (int)n;
}
static const hw__transport_ops lower_ops = {
    .batch = l_batch, .flush = l_flush, .resume = l_resume,
    .close = l_close, .peer = l_peer,   .files = 1};

/* ---- a fake protocol on top -------------------------------------------- */

typedef struct top {
  hw__transport *t;
  char got[4096];
  size_t got_len;
  size_t take; /* at most this many per call (0: all) */
  uint32_t unsent_seen;
  int opens, eofs, timeouts, writables, drains, closes;
} top;

static top *last; /* the state the layer made for the fake protocol */

static void i_open(void *p, hw__transport *t, void *env) {
  top *s = p;
  (void)env;
  s->t = t;
  s->opens++;
  s->take = last != NULL ? last->take : 0;
  t->phase = HW__PHASE_IDLE;
  last = s;
}
static size_t i_data(void *p, const char *d, size_t n) {
  top *s = p;
  size_t k = s->take != 0 && s->take < n ? s->take : n;
  memcpy(s->got + s->got_len, d, k);
  s->got_len += k;
  s->unsent_seen = s->t->unsent;
  return k;
}
static void i_eof(void *p) { ((top *)p)->eofs++; }
static void i_timeout(void *p) { ((top *)p)->timeouts++; }
static void i_writable(void *p) { ((top *)p)->writables++; }
static void i_drain(void *p) { ((top *)p)->drains++; }
static void i_close(void *p) { ((top *)p)->closes++; }
static const hw__proto top_proto = {sizeof(top), i_open,     i_data,
                                    i_eof,       i_timeout,  i_writable,
                                    i_drain,     i_close};

/* ---- a connection through the layer ------------------------------------ */

typedef struct conn {
  lower low;
  hw__proxy_env env;
  void *state;
  hw__cidr from[2];
} conn;

static conn *open_conn(const char *peer, const char *from) {
  conn *c = calloc(1, sizeof(*c));
  char why[128];
  hw__cidr_parse(from, &c->from[0], why, sizeof(why));
  c->low.t.ops = &lower_ops;
  snprintf(c->low.peer, sizeof(c->low.peer), "%s", peer);
  hw__proxy_env_set(&c->env, &top_proto, NULL, c->from, 1);
  c->state = calloc(1, c->env.proto.size);
  last = NULL;
  c->env.proto.open(c->state, &c->low.t, &c->env);
  return c;
}

static size_t feed(conn *c, const char *d, size_t n) {
  return c->env.proto.data(c->state, d, n);
}

static void close_conn(conn *c) {
  c->env.proto.close(c->state);
  free(c->state);
  free(c);
}

static const char v1[] = "PROXY TCP4 192.0.2.7 198.51.100.1 5555 443\r\n";
#define V1_LEN (sizeof(v1) - 1)

int main(void) {
  conn *c;
  char buf[256];
  hw__transport_proxy info;
  size_t r;

  /* Whole header and a request in one read. */
  c = open_conn("127.0.0.1:40000", "127.0.0.0/8");
  ok(c->low.closes == 0, "a peer in proxy_from is kept");
  is_int(c->low.t.phase, HW__PHASE_HEAD, "the header is awaited in HEAD");
  snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", v1);
  c->low.t.unsent = 1234;
  r = feed(c, buf, strlen(buf));
  is_int(r, strlen(buf), "header and request: all taken");
  ok(last != NULL && last->opens == 1, "the protocol on top opened once");
  ok(last != NULL && last->got_len == 16 &&
         memcmp(last->got, "GET / HTTP/1.1\r\n", 16) == 0,
     "it got exactly the bytes after the header");
  is_int(last->unsent_seen, 1234, "it saw the connection's unsent count");
  is_int(c->low.t.phase, HW__PHASE_IDLE, "its phase reached the connection");
  ok(last->t->ops->peer(last->t, buf, sizeof(buf)) == 14 &&
         strcmp(buf, "192.0.2.7:5555") == 0,
     "peer(): the client the header named");
  ok(last->t->ops->peer(last->t, buf, 10) < 0, "peer(): too small a buffer");
  ok(last->t->ops->proxy(last->t, &info) == 0 && info.version == 1 &&
         !info.local && strcmp(info.client, "192.0.2.7:5555") == 0 &&
         strcmp(info.server, "198.51.100.1:443") == 0 &&
         strcmp(info.socket_peer, "127.0.0.1:40000") == 0 &&
         info.tlv == NULL,
     "proxy(): version, client, server, the socket's peer");
  ok(hw__transport_batch(last->t) == SENTINEL && c->low.batches == 1,
     "batches are the connection's");
  last->t->ops->flush(last->t);
  last->t->ops->resume(last->t);
  ok(c->low.flushes == 1 && c->low.resumes == 1, "flush and resume forwarded");
  last->take = 2;
  is_int(feed(c, "abcde", 5), 2, "after the header: the protocol's count");
  c->env.proto.eof(c->state);
  c->env.proto.timeout(c->state);
  c->env.proto.writable(c->state);
  c->env.proto.drain(c->state);
  ok(last->eofs == 1 && last->timeouts == 1 && last->writables == 1 &&
         last->drains == 1,
     "eof, timeout, writable, drain reach the protocol");
  last->t->ops->close(last->t, HW__CLOSE_AFTER_WRITE);
  ok(c->low.closes == 1 && c->low.close_how == HW__CLOSE_AFTER_WRITE,
     "close forwarded with its kind");
  close_conn(c);

  /* Byte by byte, then a protocol that takes less. */
  c = open_conn("127.0.0.1:40001", "127.0.0.1");
  {
    int each = 1;
    for (size_t i = 0; i + 1 < V1_LEN; i++)
      each &= feed(c, v1 + i, 1) == 1 && last == NULL;
    ok(each, "a header byte by byte: each taken, nothing opened yet");
  }
  snprintf(buf, sizeof(buf), "\nGET");
  last = NULL;
  {
    /* the fake protocol copies `take` from `last` at open */
    static top proto_hint;
    proto_hint.take = 1;
    last = &proto_hint;
    /* (open_conn already ran: the hint is read when the header ends) */
    r = feed(c, buf, 4);
  }
  is_int(r, 2, "the header's last byte, and the one byte the protocol took");
  ok(last->got_len == 1 && last->got[0] == 'G', "it got what followed");
  ok(c->low.closes == 0, "still open");
  close_conn(c);

  /* Refusals. */
  c = open_conn("10.0.0.1:5", "127.0.0.0/8");
  ok(c->low.closes == 1 && c->low.close_how == HW__CLOSE_NOW,
     "a peer outside proxy_from: closed at once");
  is_int(feed(c, v1, V1_LEN), V1_LEN, "and what it sends is dropped");
  ok(last == NULL, "nothing opened for it");
  close_conn(c);
  c = open_conn("", "127.0.0.0/8");
  ok(c->low.closes == 1, "a peer whose address is unknown: closed");
  close_conn(c);

  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  is_int(feed(c, "GET / HTTP/1.1\r\n", 16), 16, "no header: all dropped");
  ok(c->low.closes == 1 && c->low.close_how == HW__CLOSE_NOW && last == NULL,
     "no header (a plain request): closed at once");
  close_conn(c);

  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  is_int(feed(c, "PROXY TCP4 1.2.3.4", 18), 18, "half a header taken");
  ok(c->low.closes == 0, "half a header: waiting");
  feed(c, " 5.6.7.8 1 70000\r\n", 18);
  ok(c->low.closes == 1 && last == NULL, "a malformed header: closed");
  close_conn(c);

  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  {
    char big[20] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff";
    feed(c, big, 16);
  }
  ok(c->low.closes == 1 && last == NULL, "an oversized v2 header: closed");
  close_conn(c);

  /* The end, the timer and a graceful stop before the header ends. */
  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  feed(c, "PROXY ", 6);
  c->env.proto.eof(c->state);
  ok(c->low.closes == 1 && last == NULL, "end of input mid-header: closed");
  close_conn(c);
  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  feed(c, "PROXY ", 6);
  c->env.proto.timeout(c->state);
  ok(c->low.closes == 1, "the head timeout mid-header: closed");
  close_conn(c);
  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  {
    uint8_t epoch = c->low.t.epoch;
    c->env.proto.drain(c->state);
    ok(c->low.closes == 0 && c->low.t.phase == HW__PHASE_IDLE &&
           c->low.t.epoch != epoch,
       "a graceful stop before any byte: idle (the connection's drain "
       "timer ends it), not closed");
  }
  feed(c, v1, V1_LEN);
  ok(last != NULL && last->opens == 1 && last->drains == 1,
     "a header that comes then: the protocol opens, told to stop");
  close_conn(c);
  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  c->env.proto.eof(c->state);
  ok(c->low.closes == 1 && c->low.close_how == HW__CLOSE_NOW,
     "end of input before any byte (a TCP health check): closed");
  close_conn(c);
  c = open_conn("127.0.0.1:1", "127.0.0.0/8");
  feed(c, v1, 10);
  c->env.proto.drain(c->state);
  ok(c->low.closes == 0, "a graceful stop mid-header: waits for it");
  feed(c, v1 + 10, V1_LEN - 10);
  ok(last != NULL && last->opens == 1 && last->drains == 1,
     "then the protocol opens and is told to stop at once");
  close_conn(c);

  /* v2 LOCAL: the socket's own addresses; TLVs kept. */
  c = open_conn("[::1]:7", "::1");
  {
    static const char local[16] = "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
    is_int(feed(c, local, 16), 16, "v2 LOCAL taken");
  }
  ok(last != NULL && last->t->ops->peer(last->t, buf, sizeof(buf)) > 0 &&
         strcmp(buf, "[::1]:7") == 0,
     "LOCAL: peer() is the socket's");
  ok(last->t->ops->proxy(last->t, &info) == 0 && info.local &&
         info.version == 2 && info.client[0] == '\0',
     "LOCAL: proxy() says local, no client");
  close_conn(c);
  c = open_conn("127.0.0.1:7", "127.0.0.1");
  {
    unsigned char h[40] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
                           0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 19,
                           203,  0,    113,  9,    127,  0,    0,    1,
                           0x00, 0x50, 0x1f, 0x90, 0xE2, 0x00, 0x04, 'a',
                           'b',  'c',  'd'};
    is_int(feed(c, (const char *)h, 35), 35, "v2 with a TLV taken");
  }
  ok(last != NULL && last->t->ops->proxy(last->t, &info) == 0 &&
         info.tlv_len == 7 && memcmp(info.tlv, "\xE2\x00\x04" "abcd", 7) == 0 &&
         strcmp(info.client, "203.0.113.9:80") == 0 &&
         strcmp(info.server, "127.0.0.1:8080") == 0,
     "v2: the TLVs kept (a copy), the addresses as text");
  {
    top *t = last;
    c->env.proto.close(c->state);
    is_int(t->closes, 1, "close reaches the protocol on top once");
    free(c->state);
    free(c);
  }
  return done_testing();
}
