/*
 * chars.c - the character class table of HTTP syntax (see chars.h).  Each
 * byte's entry is the union of the HW__C_* classes it belongs to, as RFC
 * 9110 (tokens, field values, quoted strings) and RFC 3986 (URIs, hosts)
 * define them; tests/unit/test_chars.c rebuilds the table from those
 * definitions and compares.
 */
#include "autoconf.h"

#include "chars.h"

/* clang-format off */
const uint8_t hw__chars_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    20, 55, 4, 21, 55, 87, 55, 55, 54, 54, 55, 55, 54, 55, 119, 22,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 22, 54, 20, 54, 20, 150,
    22, 63, 63, 63, 63, 63, 63, 55, 55, 55, 55, 55, 55, 55, 55, 55,
    55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 22, 4, 22, 21, 55,
    21, 63, 63, 63, 63, 63, 63, 55, 55, 55, 55, 55, 55, 55, 55, 55,
    55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 20, 21, 20, 55, 0,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
};
/* clang-format on */

static unsigned char lower(unsigned char c) {
  return (unsigned char)(c - 'A') < 26u ? (unsigned char)(c | 0x20) : c;
}

int hw__chars_name_eq(const char *a, const char *b, size_t n) {
  /* Names usually match as they are; only a difference is looked at
   * again without case. */
  if (memcmp(a, b, n) == 0)
    return 1;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
      return 0;
  return 1;
}
