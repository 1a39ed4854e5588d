/*
 * h2_response.c - the header fields of an HTTP/2 response (see
 * h2_response.h).
 *
 * The module's fields arrive as the host checked them for HTTP/1.1: lines
 * of "Name: value\r\n" with token names in any case.  HTTP/2 wants names
 * in lower case (RFC 9113 section 8.2.1: a field name with an upper-case
 * letter makes the message malformed) and forbids the fields that only
 * mean something to one HTTP/1.1 connection (section 8.2.2): a module
 * written for HTTP/1.1 that sets Connection or Keep-Alive must not break
 * its HTTP/2 clients, so those are dropped here.  Framing is HTTP/2's own
 * (DATA frames and END_STREAM), so Transfer-Encoding goes too, and the
 * length, when the core knows it, is sent as content-length, as HTTP/1.1
 * sends it.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "chars.h"
#include "h1_response.h"
#include "h2_response.h"
#include "haywire.h"

/* The connection-specific fields of RFC 9113 section 8.2.2 (and
 * Proxy-Connection, which some HTTP/1.1 software still sends). */
static int hop_by_hop(const char *n, size_t len) {
  switch (len) {
  case 2: return hw__chars_name_eq(n, "te", 2);
  case 7: return hw__chars_name_eq(n, "upgrade", 7);
  case 10:
    return hw__chars_name_eq(n, "connection", 10) ||
           hw__chars_name_eq(n, "keep-alive", 10);
  case 16: return hw__chars_name_eq(n, "proxy-connection", 16);
  case 17: return hw__chars_name_eq(n, "transfer-encoding", 17);
  default: return 0;
  }
}

/* One pair (nghttp2 copies both when the head is submitted). */
static int add(hw__h2_head *h, const char *name, size_t nlen,
               const char *value, size_t vlen) {
  nghttp2_nv *nv;
  if (h->n == h->cap &&
      hw__buf_array_room((void **)&h->nv, &h->cap, h->n, sizeof(*h->nv), 16))
    return HW_ENOMEM;
  nv = &h->nv[h->n++];
  nv->name = (uint8_t *)name;
  nv->namelen = nlen;
  nv->value = (uint8_t *)value;
  nv->valuelen = vlen;
  nv->flags = NGHTTP2_NV_FLAG_NONE;
  return 0;
}

int hw__h2_response_head(hw__h2_head *h, int status, const char *fields,
                         size_t len, int64_t length) {
  /* (A response without fields has none: `fields` may be NULL.) */
  const char *p = fields, *end = len > 0 ? fields + len : fields;
  char *o;
  uint64_t v64 = (uint64_t)length;
  size_t nd = 1;

  h->n = 0;
  h->bytes.len = 0;
  /* Room for everything written here at once, so that the pairs can point
   * into `bytes` as it fills: the status, the names (never longer than
   * the lines), the length's digits. */
  if (hw__buf_reserve(&h->bytes, 3 + len + 20) != 0)
    return HW_ENOMEM;
  o = h->bytes.data;
  o[0] = (char)('0' + status / 100 % 10);
  o[1] = (char)('0' + status / 10 % 10);
  o[2] = (char)('0' + status % 10);
  h->bytes.len = 3;
  if (add(h, ":status", 7, o, 3) != 0)
    return HW_ENOMEM;
  while (p < end) {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    const char *eol, *v;
    if (colon == NULL)
      break;
    eol = memchr(colon, '\r', (size_t)(end - colon));
    if (eol == NULL)
      eol = end;
    v = colon + 1;
    while (v < eol && (*v == ' ' || *v == '\t'))
      v++;
    if (!hop_by_hop(p, (size_t)(colon - p))) {
      char *n = h->bytes.data + h->bytes.len;
      size_t nlen = (size_t)(colon - p);
      for (size_t i = 0; i < nlen; i++)
        n[i] = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] | 0x20) : p[i];
      h->bytes.len += nlen;
      if (add(h, n, nlen, v, (size_t)(eol - v)) != 0)
        return HW_ENOMEM;
    }
    p = end - eol >= 2 ? eol + 2 : end;
  }
  if (length >= 0) {
    while (v64 / 10 > 0 && nd < 20)
      v64 /= 10, nd++;
    o = h->bytes.data + h->bytes.len;
    v64 = (uint64_t)length;
    for (size_t i = nd; i > 0; i--, v64 /= 10)
      o[i - 1] = (char)('0' + v64 % 10);
    h->bytes.len += nd;
    if (add(h, "content-length", 14, o, nd) != 0)
      return HW_ENOMEM;
  }
  if (add(h, "server", 6, "haywire", 7) != 0 ||
      add(h, "date", 4, hw__h1_response_date(), 29) != 0)
    return HW_ENOMEM;
  return 0;
}

void hw__h2_response_free(hw__h2_head *h) {
  free(h->nv);
  hw__buf_free(&h->bytes);
  *h = (hw__h2_head){0};
}
