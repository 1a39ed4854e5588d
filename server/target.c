/*
 * target.c - the request-target and the host (see target.h).
 *
 * The path used for routing, and given to modules as host->path, is
 * percent-decoded and has its dot segments removed (RFC 3986 sections 2.1,
 * 5.2.4 and 6.2.2), so that "/a/%2e%2e/b", "/a/../b" and "/b" reach the same
 * route: a prefix check on the raw target could otherwise be walked around.
 * "%00" (a NUL would cut the path short for C code), an invalid escape and a
 * ".." that would climb above the root make the target invalid (400).  The
 * common path with neither '%' nor "/." is left as it is; otherwise the
 * result is appended to the head buffer and the path span moved onto it.
 */
#include "autoconf.h"

#include <string.h>

#include "chars.h"
#include "os.h"
#include "target.h"

#define IS(ch, cls) hw__chars_is((unsigned char)(ch), (cls))

/* Splits the target into path and query.  Origin-form ("/a/b?q") is the
 * common case; absolute-form ("http://host/a?q", RFC 9112 section 3.2.2) is
 * routed by its path; asterisk-form ("*") has the path "*" and matches no
 * route.  Returns the length of the scheme and authority of an
 * absolute-form target ("http://host"), 0 for the other forms, or -1 when
 * the target holds a byte RFC 3986 does not allow in a URI: the scanner
 * has let through only visible ASCII, and of that a request-target may not
 * hold '"', '<', '>', '\\', '^', '`', '{', '|', '}', nor '#', since a
 * fragment is never sent (RFC 9112 section 3.2, RFC 3986 sections 2 and
 * 3.5).  Sets `*plain` when the path needs no normalising. */
static int32_t split(hw__message *m, int *plain) {
  const uint8_t *k = hw__chars_class;
  const unsigned char *t = (const unsigned char *)m->head.data + m->target.off;
  uint32_t n = m->target.len, start = 0, end;
  unsigned all = HW__C_URI;

  if (n > 0 && t[0] != '/' && !(n == 1 && t[0] == '*')) {
    const unsigned char *scheme = memchr(t, ':', n);
    if (scheme != NULL && (uint32_t)(scheme - t) + 3 <= n && scheme[1] == '/' &&
        scheme[2] == '/') {
      start = (uint32_t)(scheme + 3 - t);
      while (start < n && t[start] != '/' && t[start] != '?')
        all &= k[t[start++]];
      for (uint32_t i = 0; i < (uint32_t)(scheme + 3 - t); i++)
        all &= k[t[i]];
    }
  }
  /* The path ends at '?'; on the way, a '%' or a "/." means it has to be
   * normalised.  Most paths have neither, so runs of four bytes without
   * one are passed over first, their classes combined without a branch per
   * byte. */
  *plain = 1;
  end = start;
  while (end + 4 <= n) {
    unsigned a = k[t[end]], b = k[t[end + 1]], c = k[t[end + 2]],
             d = k[t[end + 3]];
    if ((a | b | c | d) & (HW__C_PCTDOT | HW__C_QMARK))
      break;
    all &= a & b & c & d;
    end += 4;
  }
  for (; end < n; end++) {
    unsigned c = k[t[end]];
    all &= c;
    if (!(c & (HW__C_PCTDOT | HW__C_QMARK)))
      continue;
    if (c & HW__C_QMARK)
      break;
    if (t[end] == '%' || (end > start && t[end - 1] == '/'))
      *plain = 0;
  }
  m->path.off = m->target.off + start;
  m->path.len = end - start;
  m->query.off = m->target.off + end;
  m->query.len = 0;
  if (end < n) {
    /* The query: everything after the '?' (RFC 3986 section 3.4). */
    for (uint32_t i = end + 1; i < n; i++)
      all &= k[t[i]];
    m->query.off = m->target.off + end + 1;
    m->query.len = n - end - 1;
  }
  return all ? (int32_t)start : -1;
}

/* Decodes and removes dot segments from the path (see the top); 0, 400 or
 * 500. */
static int normalise_path(hw__message *m, int plain) {
  const char *s = m->head.data + m->path.off;
  uint32_t n = m->path.len, i, o = 0;
  char *out;

  if (n == 0) {
    /* An absolute-form target with an empty path means "/" (RFC 9112
     * section 3.2.2, RFC 9110 section 4.2.3). */
    if (m->head.len + 1 > UINT32_MAX / 2 ||
        hw__buf_append(&m->head, "/", 1) != 0)
      return 500;
    m->path.off = (uint32_t)m->head.len - 1;
    m->path.len = 1;
    return 0;
  }
  if (plain)
    return 0;
  if (m->head.len + n > UINT32_MAX / 2 || hw__buf_reserve(&m->head, n) != 0)
    return 500;
  s = m->head.data + m->path.off; /* the buffer may have moved */
  out = m->head.data + m->head.len;

  /* Decode into the free space at the end of the head buffer... */
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '%') {
      if (i + 2 >= n)
        return 400;
      if (!IS(s[i + 1], HW__C_HEX) || !IS(s[i + 2], HW__C_HEX))
        return 400;
      ch = (unsigned char)(hw__chars_hexval((unsigned char)s[i + 1]) << 4 |
                           hw__chars_hexval((unsigned char)s[i + 2]));
      if (ch == 0)
        return 400;
      i += 2;
    }
    out[o++] = (char)ch;
  }
  /* ...then remove the dot segments in place: the output never gets ahead
   * of the input. */
  if (o == 0 || out[0] != '/')
    return 400;
  {
    uint32_t r = 0, w = 0, dlen = o;
    while (r < dlen) {
      uint32_t seg = r + 1, e = seg; /* out[r] is '/' */
      int last;
      while (e < dlen && out[e] != '/')
        e++;
      last = e == dlen;
      if (e - seg == 1 && out[seg] == '.') {
        if (last)
          out[w++] = '/';
      } else if (e - seg == 2 && out[seg] == '.' && out[seg + 1] == '.') {
        if (w == 0)
          return 400;
        while (w > 0 && out[w - 1] != '/')
          w--;
        w--; /* the '/' that began the removed segment */
        if (last)
          out[w++] = '/';
      } else {
        memmove(out + w, out + r, e - r);
        w += e - r;
      }
      r = e;
    }
    o = w;
  }
  m->path.off = (uint32_t)m->head.len;
  m->path.len = o;
  m->head.len += o;
  return 0;
}

int hw__target_parse(hw__message *m) {
  int plain;
  int32_t auth = split(m, &plain);
  const char *t = m->head.data + m->target.off;

  if (auth < 0)
    return 400;
  if (t[0] == '*') {
    /* The asterisk-form is "*" alone (RFC 9112 section 3.2.4). */
    if (m->target.len != 1)
      return 400;
    m->asterisk = 1;
    return 0;
  }
  if (auth > 0) {
    /* An http(s) URI with an empty host is invalid, and userinfo in one
     * is treated as an error (RFC 9110 sections 4.2.1 and 4.2.4); what is
     * left must be uri-host [ ":" port ].  This authority, not the Host
     * field, is the request's host (RFC 9112 section 3.2.2). */
    const char *a = (const char *)memchr(t, ':', m->target.len) + 3;
    uint32_t alen = (uint32_t)auth - (uint32_t)(a - t);
    if (alen == 0 || memchr(a, '@', alen) != NULL ||
        !hw__target_host_ok(a, alen))
      return 400;
    m->host.off = (uint32_t)(a - m->head.data);
    m->host.len = alen;
  } else if (t[0] != '/') {
    return 400;
  }
  return normalise_path(m, plain);
}

/* Non-zero if the `n` bytes at `v` are an IP-literal's inside, between the
 * brackets: IPv6address or IPvFuture (RFC 3986 section 3.2.2).  Rare, and
 * kept out of line: it needs a copy for inet_pton. */
static __attribute__((noinline)) int ip_literal_ok(const unsigned char *v,
                                                   uint32_t n) {
  char text[INET6_ADDRSTRLEN];
  unsigned char addr[16];
  uint32_t i;

  if (n > 0 && (v[0] | 0x20) == 'v') {
    /* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
    for (i = 1; i < n && IS(v[i], HW__C_HEX); i++)
      ;
    if (i == 1 || i + 1 >= n || v[i] != '.')
      return 0;
    for (i++; i < n; i++)
      if (!IS(v[i], HW__C_REGNAME) && v[i] != ':')
        return 0;
    return 1;
  }
  if (n == 0 || n >= sizeof(text))
    return 0;
  memcpy(text, v, n);
  text[n] = '\0';
  return inet_pton(AF_INET6, text, addr) == 1;
}

/* uri-host is an IP-literal in brackets, or a reg-name (which covers
 * IPv4address) of unreserved, sub-delims and pct-encoded bytes; then
 * optionally a colon and a port of digits only.  Userinfo ('@') is not
 * allowed.  An empty value is: it is what a client sends when the target
 * URI has no authority (RFC 9112 section 3.2). */
int hw__target_host_rest(const char *s, uint32_t n) {
  const uint8_t *k = hw__chars_class;
  const unsigned char *v = (const unsigned char *)s;
  uint32_t i = 0;

  if (n > 0 && v[0] == '[') {
    const unsigned char *close = memchr(v, ']', n);
    if (close == NULL || !ip_literal_ok(v + 1, (uint32_t)(close - v) - 1))
      return 0;
    i = (uint32_t)(close - v) + 1;
  } else {
    /* Every request has a Host, and a valid one is the rule: runs of four
     * reg-name bytes are passed over with their classes combined. */
    for (;;) {
      while (i + 4 <= n && (k[v[i]] & k[v[i + 1]] & k[v[i + 2]] & k[v[i + 3]] &
                            HW__C_REGNAME))
        i += 4;
      while (i < n && (k[v[i]] & HW__C_REGNAME))
        i++;
      if (i == n || v[i] != '%')
        break;
      /* pct-encoded = "%" HEXDIG HEXDIG */
      if (i + 2 >= n || !IS(v[i + 1], HW__C_HEX) || !IS(v[i + 2], HW__C_HEX))
        return 0;
      i += 3;
    }
  }
  if (i == n)
    return 1;
  if (v[i] != ':')
    return 0;
  for (i++; i < n; i++)
    if (v[i] < '0' || v[i] > '9')
      return 0;
  return 1;
}
