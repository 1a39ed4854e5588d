/*
 * test_chars.c - unit tests of the tables of HTTP syntax: the character
 * classes (server/chars.c), rebuilt here from their RFC definitions and
 * compared byte by byte; the name comparisons and the token check; the
 * status reasons (server/status.c) and the method tables
 * (server/method.c), which are generated from one list each.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "chars.h"
#include "method.h"
#include "status.h"
#include "tap.h"

static int in(const char *set, int c) {
  return c != 0 && c < 128 && strchr(set, c) != NULL;
}

#define ALPHA "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"

/* Each class from its definition. */
static unsigned expected(int c) {
  const char *tchar = "!#$%&'*+-.^_`|~" DIGIT ALPHA; /* RFC 9110 5.6.2 */
  const char *unreserved = ALPHA DIGIT "-._~";       /* RFC 3986 2.3 */
  const char *sub_delims = "!$&'()*+,;=";            /* RFC 3986 2.2 */
  const char *gen_delims_but_hash = ":/?[]@";
  unsigned k = 0;
  int vchar = c >= 0x21 && c <= 0x7E, obs_text = c >= 0x80;

  if (in(tchar, c))
    k |= HW__C_TCHAR;
  if (in(unreserved, c) || in(sub_delims, c) || in(gen_delims_but_hash, c) ||
      c == '%')
    k |= HW__C_URI;
  if (vchar || obs_text || c == ' ' || c == '\t') /* RFC 9110 5.5 */
    k |= HW__C_FIELD;
  if (in(DIGIT "ABCDEFabcdef", c))
    k |= HW__C_HEX;
  /* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (5.6.4) */
  if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
      (c >= 0x5D && c <= 0x7E) || obs_text)
    k |= HW__C_QDTEXT;
  if (in(unreserved, c) || in(sub_delims, c))
    k |= HW__C_REGNAME;
  if (c == '%' || c == '.')
    k |= HW__C_PCTDOT;
  if (c == '?')
    k |= HW__C_QMARK;
  return k;
}

static void test_classes(void) {
  int bad = 0;
  for (int c = 0; c < 256; c++)
    if (hw__chars_class[c] != expected(c)) {
      if (bad++ < 5)
        diag("byte 0x%02x: table %u, definition %u", c, hw__chars_class[c],
             expected(c));
    }
  ok(bad == 0, "every byte's classes are those of its RFC definitions");
}

static void test_names(void) {
  ok(hw__chars_name_is("Content-Length", "content-length", 14),
     "name_is: mixed case matches");
  ok(hw__chars_name_is("HOST", "host", 4), "name_is: four bytes");
  ok(!hw__chars_name_is("Content-Lengtx", "content-length", 14),
     "name_is: the last byte counts");
  ok(!hw__chars_name_is("Xontent-Length", "content-length", 14),
     "name_is: the first byte counts");
  ok(hw__chars_name_is("Transfer-Encoding", "transfer-encoding", 17),
     "name_is: seventeen bytes (three words)");
  ok(hw__chars_name_eq("X-Test", "x-TEST", 6), "name_eq: any case");
  ok(!hw__chars_name_eq("X^A", "X~A", 3),
     "name_eq: ^ and ~ differ (only letters fold)");
  ok(!hw__chars_name_eq("X-A", "X_A", 3), "name_eq: - and _ differ");
  ok(hw__chars_is_token("X-Ok", 4), "is_token: a token");
  ok(hw__chars_is_token("Cache-Control", 13), "is_token: 13 bytes");
  ok(!hw__chars_is_token("Bad Name", 8), "is_token: a space");
  ok(!hw__chars_is_token("X(A)", 4), "is_token: a delimiter");
  ok(!hw__chars_is_token("0123456789abcde\"", 16), "is_token: last of 16");
  ok(!hw__chars_is_token("", 0), "is_token: empty");
}

static void test_statuses(void) {
  size_t n;
  const char *r = hw__status_reason(200, &n);
  ok(n == 2 && memcmp(r, "OK", 2) == 0, "200 OK");
  r = hw__status_reason(431, &n);
  ok(n == strlen("Request Header Fields Too Large") &&
         strcmp(r, "Request Header Fields Too Large") == 0,
     "431 and its length");
  r = hw__status_reason(413, &n);
  ok(strcmp(r, "Content Too Large") == 0, "413 as RFC 9110 names it");
  r = hw__status_reason(299, &n);
  ok(n == 0 && r[0] == '\0', "an unlisted status has an empty reason");
  ok(!hw__status_has_body(204) && !hw__status_has_body(304) &&
         !hw__status_has_body(100) && hw__status_has_body(200) &&
         hw__status_has_body(404),
     "which statuses carry a body");
}

static void test_methods(void) {
  int bad = 0;
  for (unsigned i = 0; i < HW__METHOD_COUNT; i++) {
    size_t len = strlen(hw__method_name[i]);
    if (hw__method_len[i] != len ||
        strncmp(hw__method_name_sp[i], hw__method_name[i], len) != 0 ||
        strcmp(hw__method_name_sp[i] + len, " ") != 0)
      bad++;
  }
  ok(bad == 0, "names, lengths and names with their space agree");
  ok(strcmp(hw__method_name[HW__METHOD_MSEARCH], "M-SEARCH") == 0,
     "M-SEARCH is spelled with its hyphen");
  {
    static const char *const std[] = {"GET",    "HEAD",    "POST",    "PUT",
                                      "DELETE", "CONNECT", "OPTIONS", "TRACE"};
    int nstd = 0, wrong = 0;
    for (unsigned i = 0; i < HW__METHOD_COUNT; i++) {
      int listed = 0;
      for (size_t j = 0; j < 8; j++)
        listed |= strcmp(hw__method_name[i], std[j]) == 0;
      nstd += hw__method_standard(i);
      wrong += listed != hw__method_standard(i);
    }
    ok(nstd == 8 && wrong == 0 && !hw__method_standard(HW__METHOD_OTHER),
       "the standard methods are RFC 9110 section 9.3's eight");
  }
}

int main(void) {
  test_classes();
  test_names();
  test_statuses();
  test_methods();
  return done_testing();
}
