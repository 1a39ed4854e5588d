/*
 * fuzz_proxy.c - libFuzzer target for the PROXY protocol: the input is what
 * a balancer (or anyone on a PROXY listener) sends first.
 *
 * hw__proxy_header_parse must refuse it, ask for more, or take a header,
 * and what it says must hold together: a header's length is within the
 * input and the same when only its own bytes are given, every shorter
 * prefix asks for more, its TLVs lie inside it and every type can be
 * looked up in them; only an input shorter than the longest header may
 * ask for more.  Then the same bytes go through the layer (proxy.c), cut
 * into reads whose sizes the input's first byte chooses, between a fake
 * connection and a fake protocol: what reaches the protocol is exactly
 * what follows the header, and a refused input never opens it.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "proxy_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_proxy: invariant failed: %s (%s:%d)\n", #cond,    \
              __FILE__, __LINE__);                                             \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* ---- the fake connection and protocol ---------------------------------- */

typedef struct lower {
  hw__transport t;
  int closed;
} lower;

static hw__batch *l_batch(hw__transport *t) {
  (void)t;
  return NULL;
}
static void l_flush(hw__transport *t) { (void)t; }
static void l_resume(hw__transport *t) { (void)t; }
static void l_close(hw__transport *t, int how) {
  (void)how;
  ((lower *)t)->closed = 1;
}
static int l_peer(hw__transport *t, char *buf, size_t len) {
  (void)t;
  if (len < 16)
    return -1;
  memcpy(buf, "127.0.0.1:40000", 16);
  return 15;
}
static const hw__transport_ops lower_ops = {
    .batch = l_batch, .flush = l_flush, .resume = l_resume,
    .close = l_close, .peer = l_peer,   .files = 1};

typedef struct top {
  hw__transport *t;
  uint8_t *got;
  size_t got_len, cap;
  int opened;
} top;

static top *opened;

static void i_open(void *p, hw__transport *t, void *env) {
  top *s = p;
  (void)env;
  s->t = t;
  s->opened = 1;
  opened = s;
}
static size_t i_data(void *p, const char *d, size_t n) {
  top *s = p;
  if (s->got_len + n > s->cap) {
    s->cap = (s->got_len + n) * 2;
    s->got = realloc(s->got, s->cap);
    CHECK(s->got != NULL);
  }
  memcpy(s->got + s->got_len, d, n);
  s->got_len += n;
  return n;
}
static void i_none(void *p) { (void)p; }
static void i_close(void *p) {
  top *s = p;
  free(s->got);
  s->got = NULL;
}
static const hw__proto top_proto = {sizeof(top), i_open, i_data, i_none,
                                    i_none,      i_none, i_none, i_close};

/* ---- the target --------------------------------------------------------- */

static void check_parse(const uint8_t *data, size_t size, int *len) {
  hw__proxy_header h, h2;
  const uint8_t *v;
  size_t vlen;
  int r = hw__proxy_header_parse((const char *)data, size, &h);

  *len = r;
  CHECK(r <= (int)size);
  if (r == 0) {
    CHECK(size < HW__PROXY_HEADER_MAX);
    return;
  }
  if (r < 0) {
    CHECK(r == UV_EPROTO || r == UV_E2BIG);
    return;
  }
  CHECK(h.version == 1 || h.version == 2);
  CHECK(h.tlv == NULL ||
        (h.tlv >= data && h.tlv + h.tlv_len <= data + (size_t)r));
  CHECK(hw__proxy_header_parse((const char *)data, (size_t)r, &h2) == r);
  CHECK(h2.version == h.version && h2.local == h.local &&
        h2.tlv_len == h.tlv_len);
  for (size_t cut = 0; cut < (size_t)r; cut += 1 + (size_t)r / 16)
    CHECK(hw__proxy_header_parse((const char *)data, cut, &h2) == 0);
  for (unsigned type = 0; type < 256; type++)
    if (hw__proxy_header_tlv(h.tlv, h.tlv_len, type, &v, &vlen) == 0)
      CHECK(v >= h.tlv && v + vlen <= h.tlv + h.tlv_len);
}

static void check_layer(const uint8_t *data, size_t size, int len) {
  lower low = {.t = {.ops = &lower_ops}};
  hw__cidr from;
  hw__proxy_env env;
  char why[64];
  void *state;
  size_t step = size > 0 ? (size_t)data[0] % 32 + 1 : 1, at = 0;

  hw__cidr_parse("127.0.0.0/8", &from, why, sizeof(why));
  hw__proxy_env_set(&env, &top_proto, NULL, &from, 1);
  state = calloc(1, env.proto.size);
  CHECK(state != NULL);
  opened = NULL;
  env.proto.open(state, &low.t, &env);
  while (at < size) {
    size_t n = size - at < step ? size - at : step;
    size_t k = env.proto.data(state, (const char *)data + at, n);
    CHECK(k == n); /* the fake protocol takes everything */
    at += n;
  }
  if (len > 0) {
    CHECK(opened != NULL && !low.closed);
    CHECK(opened->got_len == size - (size_t)len);
    CHECK(opened->got_len == 0 ||
          memcmp(opened->got, data + len, opened->got_len) == 0);
  } else {
    CHECK(opened == NULL);
    CHECK(low.closed == (len < 0));
  }
  env.proto.close(state);
  free(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int len;
  check_parse(data, size, &len);
  check_layer(data, size, len);
  return 0;
}
