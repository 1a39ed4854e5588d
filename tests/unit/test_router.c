/*
 * test_router.c - unit tests of router.c: longest prefix on whole segments,
 * fall-through to shorter prefixes, and tables of many routes.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "router.h"
#include "tap.h"

static const char *match(const hw__router *r, const char *path, size_t max,
                         size_t *len) {
  size_t dummy;
  return hw__router_match(r, path, strlen(path), max, len ? len : &dummy);
}

static void matches(const hw__router *r, const char *path, const char *want) {
  char name[4200];
  snprintf(name, sizeof(name), "%s -> %s", path, want ? want : "no route");
  is_str(match(r, path, SIZE_MAX, NULL), want, name);
}
#define MATCHES(r, path, want) matches((r), (path), (want))

int main(void) {
  hw__router *r = hw__router_new();
  size_t len = 0;
  char (*keys)[32];

  ok(r != NULL, "router created");
  is_int(hw__router_add(r, "/hello", 6, "/hello"), 0, "add /hello");
  is_int(hw__router_add(r, "/a", 2, "/a"), 0, "add /a");
  is_int(hw__router_add(r, "/a/b", 4, "/a/b"), 0, "add /a/b");
  is_int(hw__router_add(r, "/a", 2, "again"), UV_EEXIST, "duplicate refused");
  is_int(hw__router_add(r, "a", 1, "x"), UV_EINVAL, "no leading slash refused");
  is_int(hw__router_add(r, "/x/", 3, "x"), UV_EINVAL, "trailing slash refused");
  is_int(hw__router_add(r, "", 0, "x"), UV_EINVAL, "empty prefix refused");

  /* Whole-segment matching. */
  MATCHES(r, "/hello", "/hello");
  MATCHES(r, "/hello/", "/hello");
  MATCHES(r, "/hello/x/y", "/hello");
  MATCHES(r, "/hellox", NULL);
  MATCHES(r, "/hell", NULL);
  MATCHES(r, "/", NULL);
  MATCHES(r, "", NULL);
  MATCHES(r, "hello", NULL);

  /* Longest prefix wins. */
  MATCHES(r, "/a/b/c", "/a/b");
  MATCHES(r, "/a/b", "/a/b");
  MATCHES(r, "/a/bc", "/a");
  MATCHES(r, "/a", "/a");
  MATCHES(r, "/ab", NULL);

  /* Fall-through after a decline: ask for something shorter. */
  ok(match(r, "/a/b/c", SIZE_MAX, &len) != NULL && len == 4,
     "first match has length 4");
  is_str(match(r, "/a/b/c", len, &len), "/a", "next shorter is /a");
  is_int((long long)len, 2, "its length is 2");
  ok(match(r, "/a/b/c", len, &len) == NULL, "nothing shorter without a root");

  /* A root route catches everything, and is the last fall-through. */
  is_int(hw__router_add(r, "/", 1, "/"), 0, "add /");
  MATCHES(r, "/", "/");
  MATCHES(r, "/hellox", "/");
  MATCHES(r, "/zzz/y", "/");
  ok(match(r, "/a/b", 2, &len) != NULL && len == 1, "root after /a");
  ok(match(r, "/a/b", 1, &len) == NULL, "nothing after the root");

  /* Paths deeper than the table's longest prefix, and very deep paths. */
  {
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
      memcpy(deep + n, "/a", 2);
      n += 2;
    }
    deep[n] = '\0';
    is_str(match(r, deep, SIZE_MAX, NULL), "/a", "500-segment path matches /a");
  }
  hw__router_free(r);

  /* A large table: 1,000 routes, every one found, neighbours not confused. */
  r = hw__router_new();
  keys = calloc(1000, sizeof(*keys));
  {
    int added = 0, found = 0, near_miss = 0;
    for (int i = 0; i < 1000; i++) {
      snprintf(keys[i], sizeof(keys[i]), "/r%d/s%d", i, i % 7);
      if (hw__router_add(r, keys[i], strlen(keys[i]), keys[i]) == 0)
        added++;
    }
    is_int(added, 1000, "1000 routes added");
    for (int i = 0; i < 1000; i++) {
      char p[64];
      snprintf(p, sizeof(p), "%s/leaf?q", keys[i]);
      /* The caller cuts the query; here it is part of the last segment. */
      if (match(r, p, SIZE_MAX, NULL) == keys[i])
        found++;
      snprintf(p, sizeof(p), "/r%d/s%dx", i, i % 7);
      if (match(r, p, SIZE_MAX, NULL) == NULL)
        near_miss++;
    }
    is_int(found, 1000, "every route found under its prefix");
    is_int(near_miss, 1000, "no route matches a longer segment");
  }
  hw__router_free(r);
  free(keys);
  return done_testing();
}
