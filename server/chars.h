/*
 * chars.h - the character classes of HTTP syntax (chars.c), one table for
 * every unit that judges bytes: tokens and field values of requests (the
 * HTTP/1 scanner and head checks), URIs and hosts (the target unit), and
 * the names of response fields (the host functions).  Also the two ways
 * field names are compared without regard to case.
 */
#ifndef HW_CHARS_H
#define HW_CHARS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"

#define HW__C_TCHAR 1 /* token (RFC 9110 section 5.6.2) */
#define HW__C_URI                                                              \
  2                     /* what a request-target may contain: the characters   \
                           of RFC 3986 (unreserved, reserved, '%'), less '#' */
#define HW__C_FIELD 4   /* field-vchar, SP or HTAB (RFC 9110 section 5.5) */
#define HW__C_HEX 8     /* HEXDIG */
#define HW__C_QDTEXT 16 /* qdtext (RFC 9110 section 5.6.4) */
#define HW__C_REGNAME                                                          \
  32                    /* unreserved or sub-delims: reg-name less its         \
                           pct-encoded (RFC 3986 section 3.2.2) */
#define HW__C_PCTDOT 64 /* '%' or '.': a path that may need normalising */
#define HW__C_QMARK 128 /* '?': the end of a path */

/** The classes (HW__C_*) of each byte; read-only, the server's. */
extern const uint8_t hw__chars_class[256];

/** Non-zero if `ch` is in any of the classes `cls`. */
static inline unsigned hw__chars_is(unsigned char ch, unsigned cls) {
  return hw__chars_class[ch] & cls;
}

/** The value of a HEXDIG. */
static inline int hw__chars_hexval(unsigned char ch) {
  return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/** Non-zero if the `n` bytes at `s` are a token (n > 0).  A valid name is
 *  the rule, so the bytes' classes are combined without a branch each:
 *  the usual name of 8 to 16 bytes as two overlapping runs of eight. */
static inline int hw__chars_is_token(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  const uint8_t *k = hw__chars_class;
  unsigned all;
  size_t i = 0;
  if (n >= 8 && n <= 16) {
    const unsigned char *t = u + n - 8;
    all = k[u[0]] & k[u[1]] & k[u[2]] & k[u[3]] & k[u[4]] & k[u[5]] & k[u[6]] &
          k[u[7]] & k[t[0]] & k[t[1]] & k[t[2]] & k[t[3]] & k[t[4]] & k[t[5]] &
          k[t[6]] & k[t[7]];
    return (all & HW__C_TCHAR) != 0;
  }
  all = n > 0 ? HW__C_TCHAR : 0;
  for (; i + 4 <= n; i += 4)
    all &= k[u[i]] & k[u[i + 1]] & k[u[i + 2]] & k[u[i + 3]];
  for (; i < n; i++)
    all &= k[u[i]];
  return (all & HW__C_TCHAR) != 0;
}

/** Compares a token `name` with a lower-case name `lower` of the same
 *  length `n` (at least 4), a word at a time: setting bit 5 lower-cases a
 *  letter and changes no other byte a token can match here. */
static inline int hw__chars_name_is(const char *name, const char *lower,
                                    size_t n) {
  size_t i = 0;
  if (n < 8) {
    uint32_t a, b, c, d;
    memcpy(&a, name, 4);
    memcpy(&b, lower, 4);
    memcpy(&c, name + n - 4, 4);
    memcpy(&d, lower + n - 4, 4);
    return (((a | 0x20202020u) ^ b) | ((c | 0x20202020u) ^ d)) == 0;
  }
  for (;;) {
    uint64_t a, b;
    memcpy(&a, name + i, 8);
    memcpy(&b, lower + i, 8);
    if (((a | HW__ONES * 0x20) ^ b) != 0)
      return 0;
    if (i + 8 == n)
      return 1;
    i = i + 16 <= n ? i + 8 : n - 8;
  }
}

/** Compares two names of length `n` without regard to ASCII case (either
 *  may hold any bytes). */
int hw__chars_name_eq(const char *a, const char *b, size_t n);

#endif /* HW_CHARS_H */
