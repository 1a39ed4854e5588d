/*
 * router.c - maps a request path to the route with the longest matching
 * prefix, where prefixes match whole path segments only ("/api" matches
 * "/api" and "/api/x", never "/apix").
 *
 * Every prefix is stored in one open-addressing hash table.  A lookup hashes
 * the path once, left to right, remembering the running hash at each '/'
 * boundary; the candidates are then the whole path and each boundary, longest
 * first, each one probe into the table.  The cost therefore depends on the
 * number of segments in the path and not on the number of routes: a table of
 * 1,000 routes costs the same per request as one of 3.  A module that declines
 * simply asks again for a match shorter than the one it was given.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "router.h"

/* Paths deeper than this are still matched, but only their first
 * MAX_DEPTH boundaries are candidates; prefixes are limited to match. */
#define MAX_DEPTH 64

typedef struct slot {
  uint64_t hash;
  const char *key; /* NULL: empty */
  size_t len;
  void *value;
} slot;

struct hw__router {
  slot *slots;
  size_t mask;   /* capacity - 1, capacity a power of two */
  size_t count;
  size_t max_len; /* the longest prefix: longer candidates cannot match */
};

/* FNV-1a: simple, incremental (the running value at each boundary is the
 * hash of that prefix) and good enough for short keys. */
#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_step(uint64_t h, unsigned char c) {
  return (h ^ c) * FNV_PRIME;
}

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = FNV_OFFSET;
  for (size_t i = 0; i < n; i++)
    h = fnv_step(h, (unsigned char)s[i]);
  return h;
}

hw__router *hw__router_new(void) {
  hw__router *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->slots = calloc(16, sizeof(slot));
  if (r->slots == NULL) {
    free(r);
    return NULL;
  }
  r->mask = 15;
  return r;
}

void hw__router_free(hw__router *r) {
  if (r == NULL)
    return;
  free(r->slots);
  free(r);
}

/* memcmp(a, b, n) == 0 for the short keys of a route table: from 4 to 16
 * bytes are compared as two overlapping words, without a call. */
static int same(const char *a, const char *b, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t x, y, u, v;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    memcpy(&u, a + n - 8, 8);
    memcpy(&v, b + n - 8, 8);
    return ((x ^ y) | (u ^ v)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t x, y, u, v;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    memcpy(&u, a + n - 4, 4);
    memcpy(&v, b + n - 4, 4);
    return ((x ^ y) | (u ^ v)) == 0;
  }
  return memcmp(a, b, n) == 0;
}

static slot *find(const hw__router *r, const char *key, size_t len,
                  uint64_t h) {
  size_t i = (size_t)h & r->mask;
  for (;;) {
    slot *s = &r->slots[i];
    if (s->key == NULL ||
        (s->hash == h && s->len == len && same(s->key, key, len)))
      return s;
    i = (i + 1) & r->mask;
  }
}

static int grow(hw__router *r) {
  size_t cap = (r->mask + 1) * 2;
  slot *old = r->slots;
  size_t oldcap = r->mask + 1;
  slot *n = calloc(cap, sizeof(slot));
  if (n == NULL)
    return UV_ENOMEM;
  r->slots = n;
  r->mask = cap - 1;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].key != NULL)
      *find(r, old[i].key, old[i].len, old[i].hash) = old[i];
  free(old);
  return 0;
}

int hw__router_add(hw__router *r, const char *prefix, size_t len,
                   void *value) {
  size_t depth = 0;
  uint64_t h;
  slot *s;

  if (len == 0 || prefix[0] != '/' || (len > 1 && prefix[len - 1] == '/'))
    return UV_EINVAL;
  for (size_t i = 1; i < len; i++)
    if (prefix[i] == '/' && ++depth >= MAX_DEPTH)
      return UV_EINVAL;
  /* Keep the load factor under 1/2 so probes stay short. */
  if ((r->count + 1) * 2 > r->mask + 1 && grow(r) != 0)
    return UV_ENOMEM;
  h = fnv(prefix, len);
  s = find(r, prefix, len, h);
  if (s->key != NULL)
    return UV_EEXIST;
  s->hash = h;
  s->key = prefix;
  s->len = len;
  s->value = value;
  r->count++;
  if (len > r->max_len)
    r->max_len = len;
  return 0;
}

static void *probe(const hw__router *r, const char *key, size_t len,
                   uint64_t h) {
  slot *s = find(r, key, len, h);
  return s->key != NULL ? s->value : NULL;
}

void *hw__router_match(const hw__router *r, const char *path, size_t len,
                       size_t max_len, size_t *match_len) {
  size_t ends[MAX_DEPTH];
  uint64_t hashes[MAX_DEPTH];
  size_t n = 0, scan;
  uint64_t h = FNV_OFFSET;
  void *v;

  if (r->count == 0 || len == 0 || path[0] != '/')
    return NULL;
  /* Nothing longer than the longest prefix can match, so the scan stops
   * there; this also bounds the work for very long paths. */
  scan = len < r->max_len + 1 ? len : r->max_len + 1;
  h = fnv_step(h, '/');
  for (size_t i = 1; i < scan; i++) {
    if (path[i] == '/' && n < MAX_DEPTH) {
      ends[n] = i;
      hashes[n] = h;
      n++;
    }
    h = fnv_step(h, (unsigned char)path[i]);
  }
  /* The whole path is a candidate when it fits (a trailing '/' never
   * matches, since no prefix ends with one). */
  if (len < max_len && len <= r->max_len && (v = probe(r, path, len, h))) {
    *match_len = len;
    return v;
  }
  while (n-- > 0) {
    if (ends[n] >= max_len)
      continue;
    if ((v = probe(r, path, ends[n], hashes[n])) != NULL) {
      *match_len = ends[n];
      return v;
    }
  }
  /* The root route "/" matches every path. */
  if (1 < max_len && (v = probe(r, "/", 1, fnv("/", 1))) != NULL) {
    *match_len = 1;
    return v;
  }
  return NULL;
}
