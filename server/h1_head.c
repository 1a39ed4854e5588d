/*
 * h1_head.c - the checks of a whole HTTP/1.1 request head (see h1_head.h).
 *
 * The scanner has already checked the shape of every line; what needs a
 * whole field value is judged here, from the spans the scanner recorded:
 * one Host of the right grammar (RFC 9112 section 3.2), a Content-Length
 * that is a number (or a list of the same number), a Transfer-Encoding that
 * ends in chunked, never both, and the same framing as http-parser found,
 * since two parsers that disagree about where a body ends are how requests
 * are smuggled.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include "chars.h"
#include "h1_head.h"
#include "method.h"
#include "target.h"

/* Parses a Content-Length value: a list of one or more identical decimal
 * numbers.  Returns 0 and sets `*out`, or -1. */
static int parse_content_length(const char *v, uint32_t n, int *have,
                                uint64_t *out) {
  uint32_t i = 0;
  for (;;) {
    uint64_t x = 0;
    uint32_t digits = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
      i++;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++) {
      if (x > (UINT64_MAX - 9) / 10)
        return -1;
      x = x * 10 + (uint64_t)(v[i] - '0');
    }
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
      i++;
    /* Content-Length = 1*DIGIT; a list of several fields or values is
     * only acceptable when they are all the same number (RFC 9110 section
     * 8.6, RFC 9112 section 6.3). */
    if (digits == 0 || (*have && x != *out))
      return -1;
    *have = 1;
    *out = x;
    if (i == n)
      return 0;
    if (v[i] != ',')
      return -1;
    i++;
  }
}

typedef struct te_info {
  int seen, chunked, last_chunked, other, bad;
} te_info;

/* Reads one Transfer-Encoding field value into `te`: a comma-separated list
 * of codings, each a token with optional parameters.  Empty elements are
 * skipped here, but a value that begins with one is refused all the same
 * (hw__h1_head_check): http-parser does not see "chunked" after a leading
 * comma, and normalising a framing field would give the two parsers two
 * views of the body's length (RFC 9110 section 5.6.1.2 asks recipients to
 * ignore empty elements; this server is stricter on purpose). */
static void parse_te(const char *v, uint32_t n, te_info *te) {
  uint32_t i = 0;
  te->seen = 1;
  while (i < n) {
    uint32_t s, e;
    int params = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    if (i == n)
      break;
    s = i;
    while (i < n && hw__chars_is((unsigned char)v[i], HW__C_TCHAR))
      i++;
    e = i;
    if (e == s) {
      te->bad = 1;
      return;
    }
    while (i < n && v[i] != ',') {
      /* Parameters: only their shape matters, as the server decodes no
       * coding that takes one. */
      if (v[i] == ';')
        params = 1;
      else if (!params && v[i] != ' ' && v[i] != '\t') {
        te->bad = 1;
        return;
      }
      i++;
    }
    if (e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0) {
      /* chunked takes no parameters, and applying it twice is an error
       * (RFC 9112 section 6.1). */
      if (params)
        te->bad = 1;
      te->chunked++;
      te->last_chunked = 1;
    } else {
      /* Any other coding (gzip, deflate, ...): the server decodes none, and
       * a module is never handed a body that is still encoded. */
      te->other = 1;
      te->last_chunked = 0;
    }
  }
}

/* The body's framing from Content-Length and Transfer-Encoding; 0 or the
 * status. */
static int check_framing(hw__h1_head *h, int have_cl, uint64_t cl,
                         const te_info *te) {
  if (te->seen) {
    /* Transfer-Encoding with Content-Length is a smuggling attempt or a
     * broken intermediary: 400 and close (RFC 9112 section 6.1); so is
     * Transfer-Encoding in HTTP/1.0, which had no such thing. */
    if (have_cl || h->minor == 0 || te->bad || te->chunked > 1)
      return 400;
    /* If chunked is not the final coding the length of the body cannot be
     * known: 400 (RFC 9112 section 6.3). */
    if (!te->last_chunked)
      return 400;
    /* A coding applied before chunked is one the server would have to
     * decode, and it decodes none: 501 (RFC 9112 section 6.1). */
    if (te->other)
      return 501;
    /* http-parser must have come to the same framing. */
    if (!h->hp_chunked)
      return 400;
    h->chunked = 1;
  } else if (have_cl) {
    if (!h->hp_length || h->hp_content_length != cl)
      return 400;
    h->has_length = 1;
    h->content_length = cl;
  } else if (h->hp_chunked || h->hp_length) {
    return 400;
  }
  return 0;
}

/* flatten: the target's parse is inlined here, as it was while this was
 * its only caller (HTTP/2's h2_streams.c is the other now): every request
 * passes through it (bench/instructions, docs/performance.md). */
__attribute__((flatten)) int hw__h1_head_check(hw__message *m, hw__h1_head *h) {
  const char *b = m->head.data;
  uint32_t nhost = 0;
  hw__span host = {0, 0};
  int have_cl = 0, bad_cl = 0, status;
  uint64_t cl = 0;
  te_info te = {0, 0, 0, 0, 0};

  for (uint32_t i = 0; i < m->nfields; i++) {
    hw__field *f = &m->fields[i];
    const char *name = b + f->name.off;
    uint32_t off = f->value.off, len = f->value.len;
    /* OWS around a value is not part of it (RFC 9112 section 5.1). */
    while (len > 0 && (b[off] == ' ' || b[off] == '\t')) {
      off++;
      len--;
    }
    while (len > 0 && (b[off + len - 1] == ' ' || b[off + len - 1] == '\t'))
      len--;
    f->value.off = off;
    f->value.len = len;
    switch (f->name.len) {
    case 6:
      if (h->expect == NULL && hw__chars_name_is(name, "expect", 6))
        h->expect = f;
      break;
    case 4:
      if (hw__chars_name_is(name, "host", 4)) {
        nhost++;
        host = f->value;
      }
      break;
    case 14:
      if (hw__chars_name_is(name, "content-length", 14) &&
          parse_content_length(b + off, len, &have_cl, &cl) != 0)
        bad_cl = 1;
      break;
    case 17:
      if (hw__chars_name_is(name, "transfer-encoding", 17))
        parse_te(b + off, len, &te);
      break;
    default: break;
    }
  }

  /* A server MUST respond with 400 to an HTTP/1.1 request without Host, or
   * to any request with more than one Host or an invalid one (RFC 9112
   * section 3.2). */
  if (nhost > 1 || (nhost == 0 && h->minor >= 1) ||
      (nhost == 1 && !hw__target_host_ok(b + host.off, host.len)))
    return 400;
  if (bad_cl)
    return 400;
  if ((status = check_framing(h, have_cl, cl, &te)) != 0)
    return status;
  /* CONNECT asks a proxy for a tunnel (RFC 9110 section 9.3.6) and its
   * target is an authority, not a path to route: a well-formed one gets
   * 405 with Allow, and the connection ends, because what a client sends
   * after a CONNECT may already be tunnel data. */
  if (m->method_id == HW__METHOD_CONNECT)
    return 405;
  if (nhost == 1)
    m->host = host; /* unless an absolute-form target names another */
  if ((status = hw__target_parse(m)) != 0)
    return status;
  /* The asterisk-form is only for a server-wide OPTIONS (RFC 9112 section
   * 3.2.4). */
  if (m->asterisk && m->method_id != HW__METHOD_OPTIONS)
    return 400;
  return 0;
}
