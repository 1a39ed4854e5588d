/*
 * test_h2_response.c - unit tests of the HEADERS field list of an HTTP/2
 * response (server/h2_response.c) alone: a status, the module's lines and
 * a length in, nghttp2's name-value pairs out.  Checked: ":status" first,
 * the module's names lower-cased with their values (leading whitespace
 * gone, the last line without its CRLF too), the connection-specific
 * fields of RFC 9113 section 8.2.2 dropped in any case (and names of the
 * same lengths kept), content-length only for a known length (0 and the
 * largest included), server and date last, and a head reused for the next
 * response with nothing of the last one left.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1_response.h"
#include "h2_response.h"
#include "tap.h"

/* The pairs as "name=value|name=value|...". */
static const char *flat(const hw__h2_head *h) {
  static char out[8192];
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < h->n && o < sizeof(out) - 1; i++) {
    const nghttp2_nv *nv = &h->nv[i];
    o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s=%.*s",
                          i ? "|" : "", (int)nv->namelen,
                          (const char *)nv->name, (int)nv->valuelen,
                          (const char *)nv->value);
  }
  return out;
}

/* The value of pair `name`, or NULL. */
static const char *value(const hw__h2_head *h, const char *name) {
  static char v[256];
  for (size_t i = 0; i < h->n; i++)
    if (h->nv[i].namelen == strlen(name) &&
        memcmp(h->nv[i].name, name, h->nv[i].namelen) == 0) {
      snprintf(v, sizeof(v), "%.*s", (int)h->nv[i].valuelen,
               (const char *)h->nv[i].value);
      return v;
    }
  return NULL;
}

static int head(hw__h2_head *h, int status, const char *fields,
                int64_t length) {
  return hw__h2_response_head(h, status, fields,
                              fields != NULL ? strlen(fields) : 0, length);
}

int main(void) {
  hw__h2_head h = {0};
  char date[30], want[256];
  int r;

  hw__h1_response_update_date();
  memcpy(date, hw__h1_response_date(), 29);
  date[29] = '\0';

  r = head(&h, 200, "Content-Type: text/plain\r\nX-A: 1\r\n", 13);
  is_int(r, 0, "a head is made");
  snprintf(want, sizeof(want),
           ":status=200|content-type=text/plain|x-a=1|content-length=13|"
           "server=haywire|date=%s",
           date);
  is_str(flat(&h), want,
         ":status, the module's fields lower-cased, content-length, server, "
         "date");
  ok(strlen(value(&h, "date")) == 29 && strstr(date, " GMT") != NULL,
     "the date is the cached IMF-fixdate");
  ok(h.nv[0].flags == NGHTTP2_NV_FLAG_NONE, "pairs have no flags");

  head(&h, 404, "Connection: close\r\nKEEP-ALIVE: timeout=5\r\n"
                "transfer-encoding: chunked\r\nUpGrade: h2c\r\n"
                "Proxy-Connection: keep-alive\r\nTE: trailers\r\n"
                "X-Keep: 1\r\n",
       -1);
  snprintf(want, sizeof(want), ":status=404|x-keep=1|server=haywire|date=%s",
           date);
  is_str(flat(&h), want,
         "Connection, Keep-Alive, Transfer-Encoding, Upgrade, "
         "Proxy-Connection and TE dropped, in any case; no length: no "
         "content-length");

  head(&h, 200, "Tf: 1\r\nUpgradz: 2\r\nConnectioN2: 3\r\nKeep-Alivf: 4\r\n"
                "Proxy-Connectiom: 5\r\nTransfer-Encodinh: 6\r\nT: 7\r\n",
       0);
  snprintf(want, sizeof(want),
           ":status=200|tf=1|upgradz=2|connection2=3|keep-alivf=4|"
           "proxy-connectiom=5|transfer-encodinh=6|t=7|content-length=0|"
           "server=haywire|date=%s",
           date);
  is_str(flat(&h), want,
         "names of the same lengths are kept; a length of 0 is sent");

  head(&h, 599, "X-Sp: \t  v w\r\nX-Empty: \r\nX-Last: z", INT64_MAX);
  is_str(value(&h, ":status"), "599", "any three-digit status");
  is_str(value(&h, "x-sp"), "v w", "leading whitespace is not the value's");
  is_str(value(&h, "x-empty"), "", "an empty value");
  is_str(value(&h, "x-last"), "z", "the last line without its CRLF");
  is_str(value(&h, "content-length"), "9223372036854775807",
         "the largest length, whole");

  head(&h, 304, NULL, -1);
  snprintf(want, sizeof(want), ":status=304|server=haywire|date=%s", date);
  is_str(flat(&h), want, "no fields, and nothing of the last head left");

  {
    /* Many fields: the pairs grow, and the names written before stay
     * where they were (their buffer is reserved once). */
    char fields[100 * 24];
    size_t o = 0;
    int good = 1;
    for (int i = 0; i < 100; i++)
      o += (size_t)snprintf(fields + o, sizeof(fields) - o,
                            "X-Field-%03d: v%d\r\n", i, i);
    is_int(head(&h, 200, fields, 12345), 0, "a head with 100 fields");
    is_int((long long)h.n, 104, "104 pairs");
    for (int i = 0; i < 100 && good; i++) {
      char n[16], v[8];
      snprintf(n, sizeof(n), "x-field-%03d", i);
      snprintf(v, sizeof(v), "v%d", i);
      good = h.nv[i + 1].namelen == strlen(n) &&
             memcmp(h.nv[i + 1].name, n, strlen(n)) == 0 &&
             h.nv[i + 1].valuelen == strlen(v) &&
             memcmp(h.nv[i + 1].value, v, strlen(v)) == 0;
    }
    ok(good, "each name lower-cased, each value its own, in order");
    is_str(value(&h, "content-length"), "12345", "then the length");
    ok(h.nv[1].value >= (const uint8_t *)fields &&
           h.nv[1].value < (const uint8_t *)fields + o,
       "values are borrowed from the module's lines, not copied");
  }

  hw__h2_response_free(&h);
  ok(h.nv == NULL && h.n == 0 && h.bytes.data == NULL, "freed");
  hw__h2_response_free(&h);
  ok(1, "freeing twice is harmless");
  return done_testing();
}
