/*
 * cidr.c - address ranges and matching (see cidr.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cidr.h"
#include "os.h"

static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int hw__cidr_parse(const char *text, hw__cidr *out, char *why,
                   size_t why_len) {
  char host[64];
  const char *slash = strchr(text, '/');
  size_t hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
  unsigned long bits;
  char *end;
  int max;

  memset(out, 0, sizeof(*out));
  if (hlen == 0 || hlen >= sizeof(host)) {
    snprintf(why, why_len, "\"%s\": expected ADDRESS or ADDRESS/BITS", text);
    return UV_EINVAL;
  }
  memcpy(host, text, hlen);
  host[hlen] = '\0';
  if (inet_pton(AF_INET, host, out->addr + 12) == 1) {
    memcpy(out->addr, mapped, sizeof(mapped));
    out->v4 = 1;
    max = 32;
  } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
    max = 128;
  } else {
    snprintf(why, why_len, "\"%s\": not a numeric IPv4 or IPv6 address",
             text);
    return UV_EINVAL;
  }
  bits = (unsigned long)max;
  if (slash != NULL) {
    bits = strtoul(slash + 1, &end, 10);
    if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
        bits > (unsigned long)max) {
      snprintf(why, why_len, "\"%s\": prefix length must be 0-%d", text,
               max);
      return UV_EINVAL;
    }
  }
  out->bits = (uint8_t)(bits + (out->v4 ? 96 : 0));
  /* Bits past the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8), as
   * routers read such a range. */
  for (unsigned i = out->bits; i < 128; i++)
    out->addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
  return 0;
}

void hw__cidr_format(const hw__cidr *c, char *buf, size_t len) {
  char a[INET6_ADDRSTRLEN];
  if (c->v4)
    inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
  else
    inet_ntop(AF_INET6, c->addr, a, sizeof(a));
  snprintf(buf, len, "%s/%u", a, c->v4 ? c->bits - 96u : c->bits);
}

static int in_range(const hw__cidr *c, const uint8_t a[16]) {
  unsigned whole = c->bits / 8, rest = c->bits % 8;
  if (memcmp(c->addr, a, whole) != 0)
    return 0;
  return rest == 0 ||
         ((c->addr[whole] ^ a[whole]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* 1 if the address `a` (IPv6, or IPv4 mapped) lies in one of the ranges. */
static int match_bytes(const hw__cidr *list, size_t n, const uint8_t a[16]) {
  for (size_t i = 0; i < n; i++)
    if (in_range(&list[i], a))
      return 1;
  return 0;
}

int hw__cidr_match(const hw__cidr *list, size_t n, const struct sockaddr *sa) {
  uint8_t a[16];
  if (sa->sa_family == AF_INET) {
    memcpy(a, mapped, sizeof(mapped));
    memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
  } else {
    return 0;
  }
  return match_bytes(list, n, a);
}

int hw__cidr_match_text(const hw__cidr *list, size_t n, const char *text) {
  char host[64];
  const char *colon = strrchr(text, ':');
  size_t hlen;
  struct in_addr v4;
  struct in6_addr v6;
  uint8_t a[16];

  if (colon == NULL)
    return 0;
  hlen = (size_t)(colon - text);
  if (text[0] == '[' && hlen >= 2 && text[hlen - 1] == ']')
    text++, hlen -= 2;
  if (hlen >= sizeof(host))
    return 0;
  memcpy(host, text, hlen);
  host[hlen] = '\0';
  /* Parsed into the address types themselves and copied as bytes: written
   * through a sockaddr_storage cast and read back through a sockaddr, the
   * address is invisible to a compiler that follows the aliasing rules
   * (mingw-gcc -O2 matched nothing). */
  if (inet_pton(AF_INET, host, &v4) == 1) {
    memcpy(a, mapped, sizeof(mapped));
    memcpy(a + 12, &v4, 4);
  } else if (inet_pton(AF_INET6, host, &v6) == 1) {
    memcpy(a, &v6, 16);
  } else {
    return 0;
  }
  return match_bytes(list, n, a);
}
