/*
 * target.h - the request-target and the host (target.c): splitting the
 * target into path and query, checking its bytes against RFC 3986,
 * percent-decoding the path and removing its dot segments, and the grammar
 * of a host (uri-host [ ":" port ]).  Protocol-neutral: HTTP/1's
 * request-target and Host, and HTTP/2's :path and :authority, obey the
 * same rules.
 */
#ifndef HW_TARGET_H
#define HW_TARGET_H

#include <stdint.h>

#include "chars.h"
#include "message.h"

/**
 * Parses `m->target` (a span of `m->head`): sets `m->path` (percent-decoded
 * and normalised, appended to `m->head` when that changed it), `m->query`
 * (as sent), `m->asterisk` for "*", and for an absolute-form target
 * ("http://a.example/x") `m->host` to its authority.  Returns 0, 400 for a
 * target that is not one of the forms of RFC 9112 section 3.2 or holds a
 * byte RFC 3986 does not allow (or `#`), or 500 when memory runs out.
 */
int hw__target_parse(hw__message *m);

/** Non-zero if the `n` bytes at `s` are uri-host [ ":" port ] (RFC 9110
 *  section 7.2, RFC 3986 section 3.2.2), or empty: the rest of the grammar,
 *  for what hw__target_host_ok's fast path does not take. */
int hw__target_host_rest(const char *s, uint32_t n);

/** Non-zero if the `n` bytes at `s` are uri-host [ ":" port ] (RFC 9110
 *  section 7.2, RFC 3986 section 3.2.2), or empty.  Every request has a
 *  host, and the usual one is a name of unreserved characters with perhaps
 *  a port: that is judged inline, a pct-encoded byte or an IP-literal by
 *  the rest of the grammar. */
static inline int hw__target_host_ok(const char *s, uint32_t n) {
  const unsigned char *v = (const unsigned char *)s;
  uint32_t i = 0;
  while (i + 4 <= n && (hw__chars_class[v[i]] & hw__chars_class[v[i + 1]] &
                        hw__chars_class[v[i + 2]] & hw__chars_class[v[i + 3]] &
                        HW__C_REGNAME))
    i += 4;
  while (i < n && (hw__chars_class[v[i]] & HW__C_REGNAME))
    i++;
  if (i == n)
    return 1;
  if (v[i] != ':')
    return hw__target_host_rest(s, n);
  for (i++; i < n; i++)
    if (v[i] < '0' || v[i] > '9')
      return 0;
  return 1;
}

#endif /* HW_TARGET_H */
