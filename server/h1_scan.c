/*
 * h1_scan.c - the strict scanner of HTTP/1.1 requests (see h1_scan.h).
 *
 * Debian builds http-parser 2.9.4 non-strict, and non-strict http-parser
 * accepts much that RFC 9112 forbids: bare LF line ends, whitespace before
 * the colon of a field, obsolete line folding, control characters in field
 * values, several spaces in the request line, HTTP/0.9 request lines, chunk
 * data not followed by CRLF.  Some of these let two servers disagree about
 * where a message ends (request smuggling), so they are not a matter of
 * taste: this scanner reads the same bytes just before http-parser does and
 * refuses them.  What needs a whole field value (Host, Content-Length,
 * Transfer-Encoding, the target) is checked once the head is complete
 * (h1_head.c, target.c).
 *
 * The machine is split by part of the message: the start and the method,
 * the rest of the request line, the field lines (also of a trailer
 * section), and the chunked framing.  Each part runs from one state to the
 * next without coming back to its switch, which only resumes a part that
 * a read cut.  Limits are counted as bytes arrive, so that a client cannot
 * make the server buffer a long line before it is refused.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "chars.h"
#include "h1_scan.h"
#include "method.h"

#define S(x) HW__H1S_##x
#define IS(ch, cls) hw__chars_is((unsigned char)(ch), (cls))

/* The scanner's own flags. */
#define F_TRAILERS 1 /* the field states are reading a trailer section */
#define F_M_CL 2     /* the field name so far begins "content-length" */
#define F_M_TE 4     /* the field name so far begins "transfer-encoding" */
#define F_TAB_FIX 8  /* in a Content-Length or Transfer-Encoding value */

/* One call's worth of input and results. */
typedef struct ctx {
  hw__h1_scan *st;
  const hw__h1_limits *lim;
  const unsigned char *d, *end;
  int *ev, *status;
  size_t *mstart;
  hw__message *m; /* NULL: nothing is recorded */
  uint32_t base;
  int stop; /* an event or an error ends this call */
} ctx;

/* The offset in m->head of the byte at `q`. */
#define POS(q) (c->base + (uint32_t)((q)-c->d))
/* Ends the call with an error status at `q`. */
#define FAIL(code)                                                             \
  do {                                                                         \
    *c->status = (code);                                                       \
    c->stop = 1;                                                               \
    return q;                                                                  \
  } while (0)
/* Saves the state when the input ends in it. */
#define NEED(at)                                                               \
  do {                                                                         \
    if (q == c->end) {                                                         \
      st->state = (at);                                                        \
      return q;                                                                \
    }                                                                          \
  } while (0)
/* Ends the call at an event, the byte at `q` included. */
#define EVENT(e)                                                               \
  do {                                                                         \
    *c->ev = (e);                                                              \
    c->stop = 1;                                                               \
    return q + 1;                                                              \
  } while (0)

/*
 * Word-at-a-time skipping of the long runs, eight bytes per step: the bytes
 * of a target or a field value are tested for the few that end or spoil the
 * run, and only a word holding one goes byte by byte.
 */

/* Returns the first byte at or after `p` that cannot be part of a field
 * value, other than HTAB (normally the CR that ends it), or `end`. */
static const unsigned char *skip_value(const unsigned char *p,
                                       const unsigned char *end) {
  for (;;) {
    while (end - p >= 8) {
      uint64_t mk = hw__bytes_low_or_del(hw__bytes_load64(p), 0x20);
      if (mk != 0) {
        p += hw__bytes_first(mk);
        goto flagged;
      }
      p += 8;
    }
    while (p < end && IS(*p, HW__C_FIELD) && *p != '\t')
      p++;
    if (p == end)
      return p;
  flagged:
    if (*p != '\t')
      return p;
    p++;
  }
}

/* Returns the first byte at or after `p` that is not visible ASCII, or
 * `end`.  (Which visible bytes a target may hold is judged once it is
 * whole, by target.c.) */
static const unsigned char *skip_target(const unsigned char *p,
                                        const unsigned char *end) {
  while (end - p >= 8) {
    uint64_t v = hw__bytes_load64(p),
             mk = hw__bytes_low_or_del(v, 0x21) | (v & HW__HIGHS);
    if (mk != 0)
      return p + hw__bytes_first(mk);
    p += 8;
  }
  while (p < end && 0x20 < *p && *p < 0x7F)
    p++;
  return p;
}

/* The common methods followed by their space, recognised at once (at least
 * 8 bytes must be readable at `q`); -1 for any other. */
static int quick_method(const unsigned char *q) {
  switch (q[0]) {
  case 'G': return memcmp(q, "GET ", 4) == 0 ? HW__METHOD_GET : -1;
  case 'H': return memcmp(q, "HEAD ", 5) == 0 ? HW__METHOD_HEAD : -1;
  case 'P':
    if (memcmp(q, "POST ", 5) == 0)
      return HW__METHOD_POST;
    return memcmp(q, "PUT ", 4) == 0 ? HW__METHOD_PUT : -1;
  case 'D': return memcmp(q, "DELETE ", 7) == 0 ? HW__METHOD_DELETE : -1;
  case 'O': return memcmp(q, "OPTIONS ", 8) == 0 ? HW__METHOD_OPTIONS : -1;
  default: return -1;
  }
}

size_t hw__h1_scan_quick_start(hw__h1_scan *st, const hw__h1_limits *lim,
                               const char *q) {
  int m = quick_method((const unsigned char *)q);
  uint32_t budget = lim->request_line;
  if (m < 0 || budget <= hw__method_len[m])
    return 0;
  st->budget = budget - hw__method_len[m] - 1u;
  st->n = (uint64_t)m;
  st->state = S(TARGET0);
  return hw__method_len[m] + 1u;
}

int hw__h1_scan_in_trailers(const hw__h1_scan *st) {
  return (st->flags & F_TRAILERS) != 0;
}

/* Adds a field line to the message; 0 or -1 (no memory). */
static int new_field(hw__message *m, uint32_t name_off) {
  hw__field *f;
  if (m->nfields == m->fields_cap &&
      hw__buf_array_room((void **)&m->fields, &m->fields_cap, m->nfields,
                         sizeof(*m->fields), 16) != 0)
    return -1;
  f = &m->fields[m->nfields++];
  f->name.off = name_off;
  f->name.len = 0;
  f->value.off = name_off;
  f->value.len = 0;
  return 0;
}

/* ---- the start and the method ----------------------------------------- */

static const unsigned char *scan_method(ctx *c, const unsigned char *q) {
  hw__h1_scan *st = c->st;
  size_t n;

  while (q < c->end) {
    unsigned char ch = *q;
    switch ((enum hw__h1_scan_state)st->state) {
    case S(START):
      /* A server SHOULD ignore at least one empty line received before the
       * request-line (RFC 9112 section 2.2); a bare LF there is recognised
       * as a line end, as that section allows. */
      if (ch == '\r') {
        st->state = S(START_LF);
        break;
      }
      if (ch == '\n')
        break;
      if (!IS(ch, HW__C_TCHAR))
        FAIL(400);
      *c->mstart = (size_t)(q - c->d);
      if (c->end - q >= 8 &&
          (n = hw__h1_scan_quick_start(st, c->lim, (const char *)q)) != 0) {
        q += n - 1;
        EVENT(S(EV_METHOD));
      }
      st->budget = c->lim->request_line;
      st->state = S(METHOD);
      st->idx = 0;
      st->n = ((uint64_t)1 << HW__METHOD_COUNT) - 1;
      continue; /* the byte is read again as the method's first */
    case S(START_LF):
      if (ch != '\n')
        FAIL(400);
      st->state = S(START);
      break;
    case S(METHOD):
      if (st->budget == 0)
        FAIL(414);
      st->budget--;
      if (ch == ' ') {
        /* method SP request-target SP HTTP-version (RFC 9112 section 3):
         * a method is a case-sensitive token, listed (method.h) or not. */
        uint64_t mk = st->n;
        int found = -1;
        while (mk != 0) {
          int i = __builtin_ctzll(mk);
          mk &= mk - 1;
          if (hw__method_len[i] == st->idx)
            found = i;
        }
        st->n = found < 0 ? HW__METHOD_OTHER : (uint64_t)found;
        st->state = S(TARGET0);
        EVENT(S(EV_METHOD));
      }
      if (!IS(ch, HW__C_TCHAR))
        FAIL(400);
      {
        uint64_t mk = st->n, keep = 0;
        while (mk != 0) {
          int i = __builtin_ctzll(mk);
          mk &= mk - 1;
          if (st->idx < hw__method_len[i] &&
              hw__method_name_sp[i][st->idx] == (char)ch)
            keep |= (uint64_t)1 << i;
        }
        st->n = keep;
        if (st->idx < UINT8_MAX)
          st->idx++;
      }
      break;
    default: return q; /* (not reached: the caller picks by state) */
    }
    q++;
  }
  return q;
}

/* ---- the rest of the request line ------------------------------------- */

#define BUDGET()                                                               \
  do {                                                                         \
    if (st->budget == 0)                                                       \
      FAIL(414);                                                               \
    st->budget--;                                                              \
  } while (0)

static const unsigned char *scan_line(ctx *c, const unsigned char *q) {
  hw__h1_scan *st = c->st;
  const unsigned char *r;
  size_t n;

  switch ((enum hw__h1_scan_state)st->state) {
  case S(TARGET0):
  case S(TARGET):
    if (st->state == S(TARGET0) && c->m != NULL)
      c->m->target.off = POS(q);
    /* A server that receives a request-target longer than any it wishes
     * to parse MUST respond with 414 (RFC 9112 section 3). */
    r = skip_target(q, c->end);
    n = (size_t)(r - q);
    if (n > st->budget) {
      q += st->budget;
      FAIL(414);
    }
    st->budget -= (uint32_t)n;
    if (n > 0)
      st->state = S(TARGET);
    q = r;
    if (q == c->end)
      return q;
    /* Exactly one SP separates the parts of the request line, and a line
     * that ends after the target is an HTTP/0.9 request, which is not
     * HTTP/1.1 (RFC 9112 section 3 and Appendix C.1). */
    if (*q != ' ' || st->state == S(TARGET0))
      FAIL(400);
    BUDGET();
    if (c->m != NULL)
      c->m->target.len = POS(q) - c->m->target.off;
    q++;
    st->idx = 0;
    /* fall through */
  case S(VERSION):
    /* HTTP-version = HTTP-name "/" DIGIT "." DIGIT, and HTTP-name is
     * case-sensitive (RFC 9112 section 2.3).  The usual "HTTP/1.1" CRLF
     * is taken in one step. */
    if (st->idx == 0 && c->end - q >= 10 && st->budget >= 8 &&
        memcmp(q, "HTTP/1.", 7) == 0 && q[7] >= '0' && q[7] <= '9' &&
        q[8] == '\r' && q[9] == '\n') {
      st->budget -= 8;
      q += 10;
      goto line_done;
    }
    for (; st->idx < 5; st->idx++, q++) {
      NEED(S(VERSION));
      BUDGET();
      if (*q != (unsigned char)"HTTP/"[st->idx])
        FAIL(400);
    }
    /* fall through */
  case S(MAJOR):
    NEED(S(MAJOR));
    BUDGET();
    if (*q < '0' || *q > '9')
      FAIL(400);
    st->idx = *q++; /* the major version, judged once the version is whole */
    /* fall through */
  case S(DOT):
    NEED(S(DOT));
    BUDGET();
    if (*q++ != '.')
      FAIL(400);
    /* fall through */
  case S(MINOR):
    NEED(S(MINOR));
    BUDGET();
    if (*q < '0' || *q > '9')
      FAIL(400);
    /* Another major version is another protocol, which this server does
     * not speak (RFC 9110 sections 2.5 and 15.6.6): 505 as soon as a
     * well-formed version says so. */
    if (st->idx != '1')
      FAIL(505);
    q++;
    /* fall through */
  case S(LINE_CR):
    /* Anything between the version and CRLF, and a bare LF, make an
     * invalid request line (RFC 9112 sections 2.2 and 3). */
    NEED(S(LINE_CR));
    if (*q++ != '\r')
      FAIL(400);
    /* fall through */
  case S(LINE_LF):
    NEED(S(LINE_LF));
    if (*q++ != '\n')
      FAIL(400);
  line_done:
    st->budget = c->lim->header_bytes;
    st->fields = c->lim->headers;
    st->state = S(FIELD0);
    return q;
  default: return q;
  }
}

/* ---- field lines (of the header section or a trailer section) --------- */

static const unsigned char *scan_fields(ctx *c, const unsigned char *q) {
  hw__h1_scan *st = c->st;
  hw__message *m = (st->flags & F_TRAILERS) ? NULL : c->m;
  const unsigned char *r;
  size_t n;

  switch ((enum hw__h1_scan_state)st->state) {
  case S(FIELD0):
  field0:
    NEED(S(FIELD0));
    if (*q == '\r') {
      q++;
      goto end_lf;
    }
    /* A field line that begins with whitespace is obsolete line folding,
     * or whitespace before the first field: either is rejected (RFC 9112
     * sections 2.2 and 5.2).  A field name is a non-empty token (RFC 9110
     * section 5.1). */
    if (!IS(*q, HW__C_TCHAR))
      FAIL(400);
    /* Too many fields, or too many bytes of them, get 431 (RFC 6585
     * section 5), counted as they arrive. */
    if (st->fields == 0)
      FAIL(431);
    st->fields--;
    if (m != NULL && new_field(m, POS(q)) != 0)
      FAIL(500);
    st->idx = 0;
    st->flags &= (uint8_t)~F_TAB_FIX;
    if ((*q | 0x20) == 'c')
      st->flags |= F_M_CL;
    else if ((*q | 0x20) == 't')
      st->flags |= F_M_TE;
    /* fall through */
  case S(NAME):
    r = q;
    /* Content-Length and Transfer-Encoding are recognised as their names
     * arrive (see S(VALUE)); any other name is passed over at once. */
    while (r < c->end && (st->flags & (F_M_CL | F_M_TE)) &&
           IS(*r, HW__C_TCHAR)) {
      unsigned char lc = (unsigned char)(*r | 0x20);
      if (st->idx >= 14 || "content-length"[st->idx] != lc)
        st->flags &= (uint8_t)~F_M_CL;
      if (st->idx >= 17 || "transfer-encoding"[st->idx] != lc)
        st->flags &= (uint8_t)~F_M_TE;
      st->idx++;
      r++;
    }
    while (c->end - r >= 4 && IS(r[0], HW__C_TCHAR) && IS(r[1], HW__C_TCHAR) &&
           IS(r[2], HW__C_TCHAR) && IS(r[3], HW__C_TCHAR))
      r += 4;
    while (r < c->end && IS(*r, HW__C_TCHAR))
      r++;
    n = (size_t)(r - q);
    if (n > st->budget) {
      q += st->budget;
      FAIL(431);
    }
    st->budget -= (uint32_t)n;
    q = r;
    NEED(S(NAME));
    /* No whitespace is allowed between the field name and the colon (RFC
     * 9112 section 5.1: such a request MUST get 400). */
    if (*q != ':')
      FAIL(400);
    if (m != NULL) {
      hw__field *f = &m->fields[m->nfields - 1];
      f->name.len = POS(q) - f->name.off;
      f->value.off = POS(q) + 1;
    }
    if (((st->flags & F_M_CL) && st->idx == 14) ||
        ((st->flags & F_M_TE) && st->idx == 17))
      st->flags |= F_TAB_FIX;
    st->flags &= (uint8_t) ~(F_M_CL | F_M_TE);
    q++;
    /* fall through */
  case S(VALUE):
    r = q;
    if (st->flags & F_TAB_FIX) {
      while (r < c->end && IS(*r, HW__C_FIELD) && *r != '\t')
        r++;
    } else {
      r = skip_value(r, c->end);
    }
    n = (size_t)(r - q);
    if (n > st->budget) {
      q += st->budget;
      FAIL(431);
    }
    st->budget -= (uint32_t)n;
    q = r;
    NEED(S(VALUE));
    if (*q == '\t') {
      /* Only in a Content-Length or Transfer-Encoding value: http-parser
       * refuses an HTAB after those values although OWS may be SP or HTAB
       * (RFC 9110 section 5.6.3), so the caller gives it an SP for this
       * byte. */
      if (st->budget == 0)
        FAIL(431);
      st->budget--;
      st->state = S(VALUE);
      EVENT(S(EV_TAB));
    }
    /* A field value is visible characters, obs-text, SP and HTAB; NUL, a
     * CR not followed by LF, a bare LF and other controls are invalid (RFC
     * 9110 section 5.5, RFC 9112 section 2.2). */
    if (*q != '\r')
      FAIL(400);
    if (m != NULL) {
      hw__field *f = &m->fields[m->nfields - 1];
      f->value.len = POS(q) - f->value.off;
    }
    q++;
    /* fall through */
  case S(VALUE_LF):
    NEED(S(VALUE_LF));
    if (*q++ != '\n')
      FAIL(400);
    goto field0;
  case S(END_LF):
  end_lf:
    NEED(S(END_LF));
    if (*q != '\n')
      FAIL(400);
    if (st->flags & F_TRAILERS) {
      st->flags &= (uint8_t)~F_TRAILERS;
      st->state = S(DONE);
    } else {
      /* The parser switches to the chunk states if needed. */
      st->state = S(BODY);
    }
    EVENT(S(EV_HEAD));
  default: return q;
  }
}

/* ---- chunked framing --------------------------------------------------- */

/* One byte of chunk extensions: the server reads and drops them, and they
 * share what is left of the header_bytes budget, so that a client cannot
 * keep a request alive with endless ones (the limit Node.js set for
 * CVE-2024-22019); too many get 413. */
#define EXT_BYTE()                                                             \
  do {                                                                         \
    if (ch != '\r') {                                                          \
      if (st->budget == 0)                                                     \
        FAIL(413);                                                             \
      st->budget--;                                                            \
    }                                                                          \
  } while (0)

/*
 * The chunked coding (RFC 9112 section 7.1): chunk-size [ chunk-ext ] CRLF
 * chunk-data CRLF, then last-chunk, trailer section and CRLF.  http-parser,
 * non-strict, takes any byte after chunk data for its CRLF and anything up
 * to the CR as an extension, so the framing is checked here in full.
 */
static const unsigned char *scan_chunked(ctx *c, const unsigned char *q) {
  hw__h1_scan *st = c->st;

  for (; q < c->end; q++) {
    unsigned char ch = *q;
    switch ((enum hw__h1_scan_state)st->state) {
    case S(CSIZE0):
      if (!IS(ch, HW__C_HEX))
        FAIL(400);
      st->n = (uint64_t)hw__chars_hexval(ch);
      st->idx = 1;
      st->state = S(CSIZE);
      break;
    case S(CSIZE):
      if (IS(ch, HW__C_HEX)) {
        /* More than 16 digits overflow, or are a stream of zeros. */
        if (++st->idx > 16 || st->n > (UINT64_MAX >> 4))
          FAIL(400);
        st->n = (st->n << 4) | (uint64_t)hw__chars_hexval(ch);
      } else if (ch == ';') {
        st->state = S(CEXT0);
      } else if (ch == ' ' || ch == '\t') {
        st->state = S(CSIZE_WS);
      } else if (ch == '\r') {
        st->state = S(CSIZE_LF);
      } else {
        FAIL(400);
      }
      break;
    case S(CSIZE_WS):
    case S(CEXT_NAME_WS):
    case S(CEXT_VAL_WS):
      /* chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS
       * chunk-ext-val ] ): whitespace may come before ";" or "=", never
       * before the CRLF. */
      EXT_BYTE();
      if (ch == ' ' || ch == '\t')
        break;
      if (ch == ';')
        st->state = S(CEXT0);
      else if (ch == '=' && st->state == S(CEXT_NAME_WS))
        st->state = S(CEXT_VAL0);
      else
        FAIL(400);
      break;
    case S(CEXT0):
      EXT_BYTE();
      if (ch == ' ' || ch == '\t')
        break;
      if (!IS(ch, HW__C_TCHAR))
        FAIL(400);
      st->state = S(CEXT_NAME);
      break;
    case S(CEXT_NAME):
    case S(CEXT_TOKEN):
      EXT_BYTE();
      if (IS(ch, HW__C_TCHAR))
        break;
      if (ch == ';')
        st->state = S(CEXT0);
      else if (ch == '\r')
        st->state = S(CSIZE_LF);
      else if (ch == ' ' || ch == '\t')
        st->state =
            st->state == S(CEXT_NAME) ? S(CEXT_NAME_WS) : S(CEXT_VAL_WS);
      else if (ch == '=' && st->state == S(CEXT_NAME))
        st->state = S(CEXT_VAL0);
      else
        FAIL(400);
      break;
    case S(CEXT_VAL0):
      EXT_BYTE();
      if (ch == ' ' || ch == '\t')
        break;
      if (ch == '"')
        st->state = S(CEXT_QUOTED);
      else if (IS(ch, HW__C_TCHAR))
        st->state = S(CEXT_TOKEN);
      else
        FAIL(400);
      break;
    case S(CEXT_QUOTED):
      EXT_BYTE();
      if (ch == '"')
        st->state = S(CEXT_QEND);
      else if (ch == '\\')
        st->state = S(CEXT_QESC);
      else if (!IS(ch, HW__C_QDTEXT))
        FAIL(400);
      break;
    case S(CEXT_QESC):
      /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
      EXT_BYTE();
      if (!IS(ch, HW__C_FIELD))
        FAIL(400);
      st->state = S(CEXT_QUOTED);
      break;
    case S(CEXT_QEND):
      EXT_BYTE();
      if (ch == ';')
        st->state = S(CEXT0);
      else if (ch == '\r')
        st->state = S(CSIZE_LF);
      else if (ch == ' ' || ch == '\t')
        st->state = S(CEXT_VAL_WS);
      else
        FAIL(400);
      break;
    case S(CSIZE_LF):
      if (ch != '\n')
        FAIL(400);
      if (st->n == 0) {
        /* The last chunk: a trailer section follows, read like the header
         * section and counted against what is left of its limits. */
        st->flags |= F_TRAILERS;
        st->state = S(FIELD0);
        return q + 1;
      }
      st->state = S(CDATA);
      break;
    case S(CDATA): {
      size_t n = (size_t)(c->end - q);
      if ((uint64_t)n > st->n)
        n = (size_t)st->n;
      st->n -= n;
      q += n;
      if (st->n == 0)
        st->state = S(CDATA_CR);
      q--; /* the loop's step */
      break;
    }
    case S(CDATA_CR):
      if (ch != '\r')
        FAIL(400);
      st->state = S(CDATA_LF);
      break;
    case S(CDATA_LF):
      if (ch != '\n')
        FAIL(400);
      st->state = S(CSIZE0);
      break;
    default: return q;
    }
  }
  return q;
}

size_t hw__h1_scan_run(hw__h1_scan *st, const hw__h1_limits *lim,
                       const char *data, size_t len, int *ev, int *status,
                       size_t *mstart, hw__message *m, uint32_t base) {
  const unsigned char *d = (const unsigned char *)data;
  ctx c = {st, lim, d, d + len, ev, status, mstart, m, base, 0};
  const unsigned char *q = c.d;

  while (q < c.end && !c.stop) {
    switch ((enum hw__h1_scan_state)st->state) {
    case S(START):
    case S(START_LF):
    case S(METHOD): q = scan_method(&c, q); break;
    case S(TARGET0):
    case S(TARGET):
    case S(VERSION):
    case S(MAJOR):
    case S(DOT):
    case S(MINOR):
    case S(LINE_CR):
    case S(LINE_LF): q = scan_line(&c, q); break;
    case S(FIELD0):
    case S(NAME):
    case S(VALUE):
    case S(VALUE_LF):
    case S(END_LF): q = scan_fields(&c, q); break;
    case S(BODY):
    case S(DONE): return (size_t)(q - c.d);
    default: q = scan_chunked(&c, q); break;
    }
  }
  return (size_t)(q - c.d);
}
