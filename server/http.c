/*
 * http.c - HTTP/1.1 framing: turns bytes into requests with http-parser and
 * writes response heads.  This is the only unit that includes http_parser.h,
 * so the parser can be replaced without touching the rest of the server.
 *
 * The bytes live in the worker's one shared read buffer, which is reused
 * for the next read of any connection, so a request keeps copies: the head
 * from its target to the blank line, copied one piece per read as the
 * pre-scanner (below) passes over it and notes where the target and each
 * field lie, and the body, which http-parser's on_body callback hands over
 * with the chunked framing removed.  A request is routed when its head is
 * complete (so a reload cannot change the route of a request whose body is
 * still arriving) and dispatched when its message is complete.
 *
 * Debian builds http-parser 2.9.4 non-strict, and non-strict http-parser
 * accepts much that RFC 9112 forbids: bare LF line ends, whitespace before
 * the colon of a field, obsolete line folding, control characters in field
 * values, several spaces in the request line, HTTP/0.9 request lines, chunk
 * data not followed by CRLF.  Some of these let two servers disagree about
 * where a message ends (request smuggling), so they are not a matter of
 * taste.  The callbacks only see URL, field names and values, so the shape
 * of the lines is checked by a small pre-scanner here that reads the same
 * bytes just before http-parser does: a state machine over the request line,
 * the field lines and chunked framing, which keeps its state across reads
 * because a request can be split at any byte.  It allocates nothing and
 * skips over body bytes without looking at them.  What needs a whole field
 * value (Host, Content-Length, Transfer-Encoding, the target) is checked
 * when the head is complete, from the copies the request already holds.
 *
 * Every refusal ends the connection after its answer (fail_request).  The
 * choices where the RFCs leave room: a method token http-parser does not
 * know gets 501 (http-parser knows only its fixed list, and the pre-scanner
 * checks the whole token first, so a split read cannot turn it into 400);
 * CONNECT gets 405, since the host routes paths and proxies nothing;
 * HTTP/1.x with x >= 2 is served as HTTP/1.1; another major version gets
 * 505; a Content-Length repeated with the same value is still refused
 * (http-parser refuses any repeat).  Limits come from the config's
 * "limits" (request_line, header_bytes, headers) of the current
 * generation, read when a request line or a header section begins.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include <http_parser.h>

#include "internal.h"

/* ---- the parser state ------------------------------------------------- */

/* What the pre-scanner is reading. */
enum scan_state {
  S_START = 0, /* before a request line (empty lines are skipped) */
  S_START_LF,  /* after a CR there */
  S_METHOD,    /* the method: held back from http-parser until known */
  S_TARGET0,   /* the first byte of the request-target */
  S_TARGET,
  S_VERSION, /* "HTTP/", `idx` bytes of it so far */
  S_MAJOR,
  S_DOT,
  S_MINOR,
  S_LINE_CR, /* the request line's CR */
  S_LINE_LF,
  S_FIELD0, /* the start of a field line, or the CRLF ending the section */
  S_NAME,
  S_VALUE,
  S_VALUE_LF,
  S_END_LF, /* the LF of the blank line that ends the section */
  S_BODY,   /* a Content-Length body (or none): http-parser frames it alone */
  S_CSIZE0, /* chunked body: the first digit of a chunk size */
  S_CSIZE,
  S_CSIZE_WS,
  S_CEXT0, /* after ";": whitespace, then an extension name */
  S_CEXT_NAME,
  S_CEXT_NAME_WS,
  S_CEXT_VAL0, /* after "=": whitespace, then a token or quoted-string */
  S_CEXT_TOKEN,
  S_CEXT_VAL_WS,
  S_CEXT_QUOTED,
  S_CEXT_QESC,
  S_CEXT_QEND,
  S_CSIZE_LF,
  S_CDATA,
  S_CDATA_CR,
  S_CDATA_LF,
  S_DONE /* the message is framed: waiting for http-parser to complete it */
};

/* What made the pre-scanner stop before the end of its input. */
enum { EV_NONE = 0, EV_METHOD, EV_HEAD, EV_TAB };

#define ST_MSG_DONE 1 /* on_message_complete paused the parser */
#define ST_TRAILERS 2 /* the field states are reading a trailer section */
#define ST_M_CL 4     /* the field name so far begins "content-length" */
#define ST_M_TE 8     /* the field name so far begins "transfer-encoding" */
#define ST_TAB_FIX 16 /* in a Content-Length or Transfer-Encoding value */

typedef struct http_state {
  http_parser p;
  /* S_METHOD: the methods (bits by enum http_method) whose names begin
   * with the bytes read so far.  Chunk states: the chunk size, then the
   * data bytes of the chunk still to come. */
  uint64_t n;
  uint32_t budget; /* request-line bytes left, then header-section bytes */
  uint32_t fields; /* field lines left */
  uint8_t scan;    /* enum scan_state */
  uint8_t idx;     /* bytes of the method, of "HTTP/" or of a field name
                      so far; or the major version digit */
  uint8_t flags;   /* ST_* */
} http_state;

_Static_assert(sizeof(http_state) <= sizeof(hw__http_parser_storage),
               "hw__http_parser_storage is too small for the parser state");

static http_state *state_of(http_parser *p) {
  return (http_state *)p;
}
static hw__conn *conn_of(http_parser *p) {
  return p->data;
}

/* http-parser's methods, with the space that follows a method in the
 * request line, so that a method and its space go to it in one call. */
static const char *const method_sp[] = {
#define XX(num, name, string) #string " ",
    HTTP_METHOD_MAP(XX)
#undef XX
};
static const char *const method_str[] = {
#define XX(num, name, string) #string,
    HTTP_METHOD_MAP(XX)
#undef XX
};
static const uint8_t method_len[] = {
#define XX(num, name, string) sizeof(#string) - 1,
    HTTP_METHOD_MAP(XX)
#undef XX
};
#define NMETHODS (sizeof(method_len) / sizeof(method_len[0]))
_Static_assert(NMETHODS < 64, "one bit per method, and METHOD_OTHER");
/* A method token that is not among http-parser's: it is given the stand-in
 * below, and the token itself is kept in the request. */
#define METHOD_OTHER NMETHODS
static const char stand_in[] = "GET ";
/* The methods of RFC 9110 section 9.3, one bit each by http-parser's
 * numbering: a request none of them that no route answers gets 501. */
#define STD_METHODS                                                            \
  ((1ull << HTTP_GET) | (1ull << HTTP_HEAD) | (1ull << HTTP_POST) |            \
   (1ull << HTTP_PUT) | (1ull << HTTP_DELETE) | (1ull << HTTP_CONNECT) |       \
   (1ull << HTTP_OPTIONS) | (1ull << HTTP_TRACE))

/* ---- character classes ------------------------------------------------ */

#define C_TCHAR 1   /* token (RFC 9110 section 5.6.2) */
#define C_URI 2     /* what a request-target may contain: the characters of
                       RFC 3986 (unreserved, reserved, '%'), less '#' */
#define C_FIELD 4   /* field-vchar, SP or HTAB (RFC 9110 section 5.5) */
#define C_HEX 8     /* HEXDIG */
#define C_QDTEXT 16 /* qdtext (RFC 9110 section 5.6.4) */
#define C_REGNAME 32 /* unreserved or sub-delims: reg-name less its
                        pct-encoded (RFC 3986 section 3.2.2) */
#define C_PCTDOT 64 /* '%' or '.': a path that may need normalising */
#define C_QMARK 128 /* '?': the end of a path */

/* clang-format off */
static const uint8_t cclass[256] = {
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

#define IS(ch, cls) (cclass[(unsigned char)(ch)] & (cls))

static int hexval(unsigned char ch) {
  return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/*
 * Word-at-a-time skipping of the long runs, eight bytes per step: the bytes
 * of a target or a field value are tested for the few that end or spoil the
 * run, and only a word holding one goes byte by byte.
 */
/* Non-zero if a byte of `v` is below `n` (n <= 128) or is DEL; bytes with
 * the high bit set do not count. */
static uint64_t low_or_del(uint64_t v, unsigned n) {
  return hw__bytes_below(v, n) | hw__bytes_below(v ^ (HW__ONES * 0x7F), 1);
}

/* The index of the first byte a mask of low_or_del() flags: the lowest
 * flag is always a true one (a borrow only runs upwards from it). */
#define FIRST_FLAGGED(m) ((size_t)__builtin_ctzll(m) >> 3)

/* Returns the first byte at or after `p` that cannot be part of a field
 * value, other than HTAB (normally the CR that ends it), or `end`. */
static const unsigned char *skip_value(const unsigned char *p,
                                       const unsigned char *end) {
  for (;;) {
    while (end - p >= 8) {
      uint64_t m = low_or_del(hw__load64(p), 0x20);
      if (m != 0) {
        p += FIRST_FLAGGED(m);
        goto flagged;
      }
      p += 8;
    }
    while (p < end && IS(*p, C_FIELD) && *p != '\t')
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
 * `end`. */
static const unsigned char *skip_target(const unsigned char *p,
                                        const unsigned char *end) {
  while (end - p >= 8) {
    uint64_t v = hw__load64(p), m = low_or_del(v, 0x21) | (v & HW__HIGHS);
    if (m != 0)
      return p + FIRST_FLAGGED(m);
    p += 8;
  }
  while (p < end && *p > 0x20 && *p < 0x7F)
    p++;
  return p;
}

/* The common methods followed by their space, recognised at once (at least
 * 8 bytes must be readable at `q`); -1 for any other. */
static int quick_method(const unsigned char *q) {
  switch (q[0]) {
  case 'G': return memcmp(q, "GET ", 4) == 0 ? HTTP_GET : -1;
  case 'H': return memcmp(q, "HEAD ", 5) == 0 ? HTTP_HEAD : -1;
  case 'P':
    if (memcmp(q, "POST ", 5) == 0)
      return HTTP_POST;
    return memcmp(q, "PUT ", 4) == 0 ? HTTP_PUT : -1;
  case 'D': return memcmp(q, "DELETE ", 7) == 0 ? HTTP_DELETE : -1;
  case 'O': return memcmp(q, "OPTIONS ", 8) == 0 ? HTTP_OPTIONS : -1;
  default: return -1;
  }
}

static uint32_t clamp32(size_t v) {
  return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* The usual start of a request line, a common method and its space (at
 * least 8 bytes must be readable at `q`): sets the state past them and
 * returns their length, or returns 0 for anything else. */
static size_t quick_start(http_state *st, const hw__config *cfg,
                          const unsigned char *q) {
  int m = quick_method(q);
  uint32_t budget = clamp32(cfg->limit_request_line);
  if (m < 0 || budget <= method_len[m])
    return 0;
  st->budget = budget - method_len[m] - 1u;
  st->n = (uint64_t)m;
  st->scan = S_TARGET0;
  return method_len[m] + 1u;
}

/* ---- the pre-scanner -------------------------------------------------- */

/* Adds a field line to the request; 0 or -1 (no memory). */
static int new_field(hw_request *req, uint32_t name_off) {
  hw__hdr *h;
  if (req->nhdrs == req->hdrs_cap) {
    uint32_t cap = req->hdrs_cap ? req->hdrs_cap * 2 : 16;
    hw__hdr *n = realloc(req->hdrs, cap * sizeof(*n));
    if (n == NULL)
      return -1;
    req->hdrs = n;
    req->hdrs_cap = cap;
  }
  h = &req->hdrs[req->nhdrs++];
  h->name.off = name_off;
  h->name.len = 0;
  h->value.off = name_off;
  h->value.len = 0;
  return 0;
}

/*
 * Reads up to `len` bytes in the state kept in `st`.  Returns how many it
 * took: all of them, or fewer when it stopped at an event (`*ev`: the end
 * of the method, or of a header or trailer section, the byte that ended it
 * included) or at an error (`*status` set to the response status).  When a
 * method begins in these bytes, `*mstart` is set to its offset.
 *
 * With a request `req`, the head's bytes are being copied into req->head,
 * the first of these at offset `base`, and the scanner notes there where
 * the target, each field name and each field value lie (a value from just
 * after its colon to its CR: check_head trims the whitespace around it).
 * Recording them here, where every byte passes anyway, spares http-parser
 * three callbacks per field and a copy of each piece.
 */
static size_t scan(http_state *st, const hw__config *cfg, const char *data,
                   size_t len, int *ev, int *status, size_t *mstart,
                   hw_request *req, uint32_t base) {
  const unsigned char *d = (const unsigned char *)data, *end = d + len;
  const unsigned char *q = d, *r;
  size_t n;

  /* The offset in req->head of the byte at `q`. */
#define POS() (base + (uint32_t)(q - d))

#define FAIL(code)                                                             \
  do {                                                                         \
    *status = (code);                                                          \
    return (size_t)(q - d);                                                    \
  } while (0)
  /* Saves the state when the input ends in it. */
#define NEED(state)                                                            \
  do {                                                                         \
    if (q == end) {                                                            \
      st->scan = (state);                                                      \
      return len;                                                              \
    }                                                                          \
  } while (0)
  /* One byte of chunk extensions: the server reads and drops them, and
   * they share what is left of the header_bytes budget, so that a client
   * cannot keep a request alive with endless ones (the limit Node.js set
   * for CVE-2024-22019); too many get 413. */
#define EXT_BYTE()                                                             \
  do {                                                                         \
    if (ch != '\r') {                                                          \
      if (st->budget == 0)                                                     \
        FAIL(413);                                                             \
      st->budget--;                                                            \
    }                                                                          \
  } while (0)
  /* One byte of the request line. */
#define BUDGET()                                                               \
  do {                                                                         \
    if (st->budget == 0)                                                       \
      FAIL(414);                                                               \
    st->budget--;                                                              \
  } while (0)

  while (q < end) {
    unsigned char ch = *q;

    switch ((enum scan_state)st->scan) {
    case S_START:
      /* A server SHOULD ignore at least one empty line received before the
       * request-line (RFC 9112 section 2.2); a bare LF there is recognised
       * as a line end, as that section allows. */
      if (ch == '\r') {
        st->scan = S_START_LF;
        break;
      }
      if (ch == '\n')
        break;
      if (!IS(ch, C_TCHAR))
        FAIL(400);
      *mstart = (size_t)(q - d);
      if (end - q >= 8 && (n = quick_start(st, cfg, q)) != 0) {
        *ev = EV_METHOD;
        return (size_t)(q + n - d);
      }
      st->budget = clamp32(cfg->limit_request_line);
      st->scan = S_METHOD;
      st->idx = 0;
      st->n = ((uint64_t)1 << NMETHODS) - 1;
      continue; /* the byte is read again as the method's first */
    case S_START_LF:
      if (ch != '\n')
        FAIL(400);
      st->scan = S_START;
      break;

    case S_METHOD:
      if (st->budget == 0)
        FAIL(414);
      st->budget--;
      if (ch == ' ') {
        /* method SP request-target SP HTTP-version (RFC 9112 section 3):
         * a method is a case-sensitive token.  One of http-parser's is
         * passed to it as it is; any other is passed as METHOD_OTHER and
         * http-parser is given a stand-in, since a method does not change
         * how an HTTP/1.1 request is framed (RFC 9112 section 6.3): modules
         * decide what a method they do not know gets. */
        uint64_t m = st->n;
        int found = -1;
        while (m != 0) {
          int i = __builtin_ctzll(m);
          m &= m - 1;
          if (method_len[i] == st->idx)
            found = i;
        }
        st->n = found < 0 ? METHOD_OTHER : (uint64_t)found;
        st->scan = S_TARGET0;
        *ev = EV_METHOD;
        return (size_t)(q + 1 - d);
      }
      if (!IS(ch, C_TCHAR))
        FAIL(400);
      {
        uint64_t m = st->n, keep = 0;
        while (m != 0) {
          int i = __builtin_ctzll(m);
          m &= m - 1;
          if (st->idx < method_len[i] && method_sp[i][st->idx] == (char)ch)
            keep |= (uint64_t)1 << i;
        }
        st->n = keep;
        if (st->idx < UINT8_MAX)
          st->idx++;
      }
      break;

    case S_TARGET0:
    case S_TARGET:
      if (st->scan == S_TARGET0 && req != NULL)
        req->target.off = POS();
      /* The request line is limited as it arrives, so that a client cannot
       * make the server buffer a long target before it is refused (RFC
       * 9112 section 3: a server that receives a request-target longer
       * than any it wishes to parse MUST respond with 414). */
      r = skip_target(q, end);
      n = (size_t)(r - q);
      if (n > st->budget) {
        q += st->budget;
        FAIL(414);
      }
      st->budget -= (uint32_t)n;
      if (n > 0)
        st->scan = S_TARGET;
      q = r;
      if (q == end)
        return len;
      /* Exactly one SP separates the parts of the request line, and a line
       * that ends after the target is an HTTP/0.9 request, which is not
       * HTTP/1.1 (RFC 9112 section 3 and Appendix C.1). */
      if (*q != ' ' || st->scan == S_TARGET0)
        FAIL(400);
      if (st->budget == 0)
        FAIL(414);
      st->budget--;
      if (req != NULL)
        req->target.len = POS() - req->target.off;
      q++;
      st->idx = 0;
      goto version;

    case S_VERSION:
    version:
      /* HTTP-version = HTTP-name "/" DIGIT "." DIGIT, and HTTP-name is
       * case-sensitive (RFC 9112 section 2.3).  The usual "HTTP/1.1" CRLF
       * is taken in one step. */
      if (st->idx == 0 && end - q >= 10 && st->budget >= 8 &&
          memcmp(q, "HTTP/1.", 7) == 0 && q[7] >= '0' && q[7] <= '9' &&
          q[8] == '\r' && q[9] == '\n') {
        st->budget -= 8;
        q += 10;
        goto line_done;
      }
      for (; st->idx < 5; st->idx++, q++) {
        NEED(S_VERSION);
        BUDGET();
        if (*q != (unsigned char)"HTTP/"[st->idx])
          FAIL(400);
      }
      /* fall through */
    case S_MAJOR:
      NEED(S_MAJOR);
      BUDGET();
      if (*q < '0' || *q > '9')
        FAIL(400);
      st->idx = *q++; /* the major version, judged once the version is whole */
      /* fall through */
    case S_DOT:
      NEED(S_DOT);
      BUDGET();
      if (*q++ != '.')
        FAIL(400);
      /* fall through */
    case S_MINOR:
      NEED(S_MINOR);
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
    case S_LINE_CR:
      /* Anything between the version and CRLF, and a bare LF, make an
       * invalid request line (RFC 9112 sections 2.2 and 3). */
      NEED(S_LINE_CR);
      if (*q++ != '\r')
        FAIL(400);
      /* fall through */
    case S_LINE_LF:
      NEED(S_LINE_LF);
      if (*q++ != '\n')
        FAIL(400);
    line_done:
      st->budget = clamp32(cfg->limit_header_bytes);
      st->fields = clamp32(cfg->limit_headers);
      /* fall through */

    /* The field lines go from one state to the next without coming back
     * to the switch, which only resumes a line that a read cut. */
    case S_FIELD0:
    field0:
      NEED(S_FIELD0);
      if (*q == '\r') {
        q++;
        goto end_lf;
      }
      /* A field line that begins with whitespace is obsolete line folding,
       * or whitespace before the first field: either is rejected (RFC 9112
       * sections 2.2 and 5.2).  A field name is a non-empty token (RFC 9110
       * section 5.1). */
      if (!IS(*q, C_TCHAR))
        FAIL(400);
      /* Too many fields, or too many bytes of them, get 431 (RFC 6585
       * section 5), counted as they arrive. */
      if (st->fields == 0)
        FAIL(431);
      st->fields--;
      if (req != NULL && !(st->flags & ST_TRAILERS) &&
          new_field(req, POS()) != 0)
        FAIL(500);
      st->idx = 0;
      st->flags &= (uint8_t)~ST_TAB_FIX;
      if ((*q | 0x20) == 'c')
        st->flags |= ST_M_CL;
      else if ((*q | 0x20) == 't')
        st->flags |= ST_M_TE;
      /* fall through */
    case S_NAME:
      r = q;
      /* Content-Length and Transfer-Encoding are recognised as their names
       * arrive (see S_VALUE); any other name is passed over at once. */
      while (r < end && (st->flags & (ST_M_CL | ST_M_TE)) && IS(*r, C_TCHAR)) {
        unsigned char lc = (unsigned char)(*r | 0x20);
        if (st->idx >= 14 || "content-length"[st->idx] != lc)
          st->flags &= (uint8_t)~ST_M_CL;
        if (st->idx >= 17 || "transfer-encoding"[st->idx] != lc)
          st->flags &= (uint8_t)~ST_M_TE;
        st->idx++;
        r++;
      }
      while (end - r >= 4 && IS(r[0], C_TCHAR) && IS(r[1], C_TCHAR) &&
             IS(r[2], C_TCHAR) && IS(r[3], C_TCHAR))
        r += 4;
      while (r < end && IS(*r, C_TCHAR))
        r++;
      n = (size_t)(r - q);
      if (n > st->budget) {
        q += st->budget;
        FAIL(431);
      }
      st->budget -= (uint32_t)n;
      q = r;
      NEED(S_NAME);
      /* No whitespace is allowed between the field name and the colon
       * (RFC 9112 section 5.1: such a request MUST get 400). */
      if (*q != ':')
        FAIL(400);
      if (req != NULL && !(st->flags & ST_TRAILERS)) {
        hw__hdr *h = &req->hdrs[req->nhdrs - 1];
        h->name.len = POS() - h->name.off;
        h->value.off = POS() + 1;
      }
      if (((st->flags & ST_M_CL) && st->idx == 14) ||
          ((st->flags & ST_M_TE) && st->idx == 17))
        st->flags |= ST_TAB_FIX;
      st->flags &= (uint8_t) ~(ST_M_CL | ST_M_TE);
      q++;
      /* fall through */
    case S_VALUE:
      r = q;
      if (st->flags & ST_TAB_FIX) {
        while (r < end && IS(*r, C_FIELD) && *r != '\t')
          r++;
      } else {
        r = skip_value(r, end);
      }
      n = (size_t)(r - q);
      if (n > st->budget) {
        q += st->budget;
        FAIL(431);
      }
      st->budget -= (uint32_t)n;
      q = r;
      NEED(S_VALUE);
      if (*q == '\t') {
        /* Only in a Content-Length or Transfer-Encoding value: http-parser
         * refuses an HTAB after those values although OWS may be SP or
         * HTAB (RFC 9110 section 5.6.3), so the caller gives it an SP for
         * this byte. */
        if (st->budget == 0)
          FAIL(431);
        st->budget--;
        st->scan = S_VALUE;
        *ev = EV_TAB;
        return (size_t)(q + 1 - d);
      }
      /* A field value is visible characters, obs-text, SP and HTAB; NUL, a
       * CR not followed by LF, a bare LF and other controls are invalid
       * (RFC 9110 section 5.5, RFC 9112 section 2.2). */
      if (*q != '\r')
        FAIL(400);
      if (req != NULL && !(st->flags & ST_TRAILERS)) {
        hw__hdr *h = &req->hdrs[req->nhdrs - 1];
        h->value.len = POS() - h->value.off;
      }
      q++;
      /* fall through */
    case S_VALUE_LF:
      NEED(S_VALUE_LF);
      if (*q++ != '\n')
        FAIL(400);
      goto field0;
    case S_END_LF:
    end_lf:
      NEED(S_END_LF);
      if (*q != '\n')
        FAIL(400);
      if (st->flags & ST_TRAILERS) {
        st->flags &= (uint8_t)~ST_TRAILERS;
        st->scan = S_DONE;
      } else {
        /* on_headers_complete switches to the chunk states if needed. */
        st->scan = S_BODY;
      }
      *ev = EV_HEAD;
      return (size_t)(q + 1 - d);

    case S_BODY:
    case S_DONE: return (size_t)(q - d);

    /* The chunked coding (RFC 9112 section 7.1): chunk-size [ chunk-ext ]
     * CRLF chunk-data CRLF, then last-chunk, trailer section and CRLF.
     * http-parser, non-strict, takes any byte after chunk data for its CRLF
     * and anything up to the CR as an extension, so the framing is checked
     * here in full. */
    case S_CSIZE0:
      if (!IS(ch, C_HEX))
        FAIL(400);
      st->n = (uint64_t)hexval(ch);
      st->idx = 1;
      st->scan = S_CSIZE;
      break;
    case S_CSIZE:
      if (IS(ch, C_HEX)) {
        /* More than 16 digits overflow, or are a stream of zeros. */
        if (++st->idx > 16 || st->n > (UINT64_MAX >> 4))
          FAIL(400);
        st->n = (st->n << 4) | (uint64_t)hexval(ch);
      } else if (ch == ';') {
        st->scan = S_CEXT0;
      } else if (ch == ' ' || ch == '\t') {
        st->scan = S_CSIZE_WS;
      } else if (ch == '\r') {
        st->scan = S_CSIZE_LF;
      } else {
        FAIL(400);
      }
      break;
    case S_CSIZE_WS:
    case S_CEXT_NAME_WS:
    case S_CEXT_VAL_WS:
      /* chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS
       * chunk-ext-val ] ): whitespace may come before ";" or "=", never
       * before the CRLF. */
      EXT_BYTE();
      if (ch == ' ' || ch == '\t')
        break;
      if (ch == ';')
        st->scan = S_CEXT0;
      else if (ch == '=' && st->scan == S_CEXT_NAME_WS)
        st->scan = S_CEXT_VAL0;
      else
        FAIL(400);
      break;
    case S_CEXT0:
      EXT_BYTE();
      if (ch == ' ' || ch == '\t')
        break;
      if (!IS(ch, C_TCHAR))
        FAIL(400);
      st->scan = S_CEXT_NAME;
      break;
    case S_CEXT_NAME:
    case S_CEXT_TOKEN:
      EXT_BYTE();
      if (IS(ch, C_TCHAR))
        break;
      if (ch == ';')
        st->scan = S_CEXT0;
      else if (ch == '\r')
        st->scan = S_CSIZE_LF;
      else if (ch == ' ' || ch == '\t')
        st->scan = st->scan == S_CEXT_NAME ? S_CEXT_NAME_WS : S_CEXT_VAL_WS;
      else if (ch == '=' && st->scan == S_CEXT_NAME)
        st->scan = S_CEXT_VAL0;
      else
        FAIL(400);
      break;
    case S_CEXT_VAL0:
      EXT_BYTE();
      if (ch == ' ' || ch == '\t')
        break;
      if (ch == '"')
        st->scan = S_CEXT_QUOTED;
      else if (IS(ch, C_TCHAR))
        st->scan = S_CEXT_TOKEN;
      else
        FAIL(400);
      break;
    case S_CEXT_QUOTED:
      EXT_BYTE();
      if (ch == '"')
        st->scan = S_CEXT_QEND;
      else if (ch == '\\')
        st->scan = S_CEXT_QESC;
      else if (!IS(ch, C_QDTEXT))
        FAIL(400);
      break;
    case S_CEXT_QESC:
      /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
      EXT_BYTE();
      if (!IS(ch, C_FIELD))
        FAIL(400);
      st->scan = S_CEXT_QUOTED;
      break;
    case S_CEXT_QEND:
      EXT_BYTE();
      if (ch == ';')
        st->scan = S_CEXT0;
      else if (ch == '\r')
        st->scan = S_CSIZE_LF;
      else if (ch == ' ' || ch == '\t')
        st->scan = S_CEXT_VAL_WS;
      else
        FAIL(400);
      break;
    case S_CSIZE_LF:
      if (ch != '\n')
        FAIL(400);
      if (st->n == 0) {
        /* The last chunk: a trailer section follows, read like the header
         * section and counted against what is left of its limits. */
        st->flags |= ST_TRAILERS;
        st->scan = S_FIELD0;
      } else {
        st->scan = S_CDATA;
      }
      break;
    case S_CDATA: {
      n = (size_t)(end - q);
      if ((uint64_t)n > st->n)
        n = (size_t)st->n;
      st->n -= n;
      q += n;
      if (st->n == 0)
        st->scan = S_CDATA_CR;
      continue;
    }
    case S_CDATA_CR:
      if (ch != '\r')
        FAIL(400);
      st->scan = S_CDATA_LF;
      break;
    case S_CDATA_LF:
      if (ch != '\n')
        FAIL(400);
      st->scan = S_CSIZE0;
      break;
    }
    q++;
  }
  return len;
#undef FAIL
#undef NEED
#undef BUDGET
#undef EXT_BYTE
#undef POS
}

/* ---- requests --------------------------------------------------------- */

/* Ends parsing of this connection with a host-made error response.  The
 * request (the one being parsed, or a new one if none) is queued in order
 * behind those already dispatched, and nothing after it is read, because
 * after a framing error the rest of the stream cannot be trusted (RFC 9112
 * section 9.3 requires closing a connection whose framing is lost). */
static hw_request *fail_request(hw__conn *c, int status) {
  hw_request *req = c->cur;
  if (req == NULL)
    req = hw__conn_begin_request(c);
  c->cur = NULL;
  if (req == NULL) {
    c->no_more = 1;
    return NULL;
  }
  req->close_after = 1;
  req->keep_alive = 0;
  hw__request_respond_error(req, status);
  hw__conn_enqueue(c, req);
  c->no_more = 1;
  return req;
}

/* The methods a module can be asked for, as the host tells clients in
 * Allow (RFC 9110 section 10.2.1). */
static const char allow_line[] =
    "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n";

static int on_message_begin(http_parser *p) {
  hw__conn *c = conn_of(p);
  /* hw__http_feed has usually begun it with the method's first byte. */
  if (c->cur != NULL)
    return 0;
  return hw__conn_begin_request(c) != NULL ? 0 : -1;
}

/* Splits the target into path and query.  Origin-form ("/a/b?q") is the
 * common case; absolute-form ("http://host/a?q", RFC 9112 section 3.2.2) is
 * routed by its path; asterisk-form ("*") has the path "*" and matches no
 * route.  Returns the length of the scheme and authority of an
 * absolute-form target ("http://host"), 0 for the other forms, or -1 when
 * the target holds a byte RFC 3986 does not allow in a URI: the scanner
 * has let through only visible ASCII, and of that a request-target may not
 * hold '"', '<', '>', '\\', '^', '`', '{', '|', '}', nor '#', since a
 * fragment is never sent (RFC 9112 section 3.2, RFC 3986 sections 2 and
 * 3.5). */
static int32_t split_target(hw_request *req, int *plain) {
  const unsigned char *t =
      (const unsigned char *)req->head.data + req->target.off;
  uint32_t n = req->target.len, start = 0, end;
  unsigned all = C_URI;

  if (n > 0 && t[0] != '/' && !(n == 1 && t[0] == '*')) {
    const unsigned char *scheme = memchr(t, ':', n);
    if (scheme != NULL && (uint32_t)(scheme - t) + 3 <= n && scheme[1] == '/' &&
        scheme[2] == '/') {
      start = (uint32_t)(scheme + 3 - t);
      while (start < n && t[start] != '/' && t[start] != '?')
        all &= cclass[t[start++]];
      for (uint32_t i = 0; i < (uint32_t)(scheme + 3 - t); i++)
        all &= cclass[t[i]];
    }
  }
  /* The path ends at '?'; on the way, a '%' or a "/." means it has to be
   * normalised (normalise_path).  Most paths have neither, so runs of four
   * bytes without one are passed over first, their classes combined
   * without a branch per byte. */
  *plain = 1;
  end = start;
  while (end + 4 <= n) {
    unsigned a = cclass[t[end]], b = cclass[t[end + 1]],
             c = cclass[t[end + 2]], d = cclass[t[end + 3]];
    if ((a | b | c | d) & (C_PCTDOT | C_QMARK))
      break;
    all &= a & b & c & d;
    end += 4;
  }
  for (; end < n; end++) {
    unsigned k = cclass[t[end]];
    all &= k;
    if (!(k & (C_PCTDOT | C_QMARK)))
      continue;
    if (k & C_QMARK)
      break;
    if (t[end] == '%' || (end > start && t[end - 1] == '/'))
      *plain = 0;
  }
  req->path.off = req->target.off + start;
  req->path.len = end - start;
  req->query.off = req->target.off + end;
  req->query.len = 0;
  if (end < n) {
    /* The query: everything after the '?' (RFC 3986 section 3.4). */
    for (uint32_t i = end + 1; i < n; i++)
      all &= cclass[t[i]];
    req->query.off = req->target.off + end + 1;
    req->query.len = n - end - 1;
  }
  return all ? (int32_t)start : -1;
}

/*
 * The path used for routing, and given to modules as host->path, is
 * percent-decoded and has its dot segments removed (RFC 3986 sections 2.1,
 * 5.2.4 and 6.2.2), so that "/a/%2e%2e/b", "/a/../b" and "/b" reach the same
 * route: a prefix check on the raw target could otherwise be walked around.
 * "%00" (a NUL would cut the path short for C code), an invalid escape and a
 * ".." that would climb above the root make the target invalid (400).  The
 * common path with neither '%' nor "/." is left as it is; otherwise the
 * result is appended to the head buffer and the path span moved onto it.
 */
static int normalise_path(hw_request *req, int plain) {
  const char *s = req->head.data + req->path.off;
  uint32_t n = req->path.len, i, o = 0;
  char *out;

  if (n == 0) {
    /* An absolute-form target with an empty path means "/" (RFC 9112
     * section 3.2.2, RFC 9110 section 4.2.3). */
    if (req->head.len + 1 > UINT32_MAX / 2 ||
        hw__buf_append(&req->head, "/", 1) != 0)
      return 500;
    req->path.off = (uint32_t)req->head.len - 1;
    req->path.len = 1;
    return 0;
  }
  if (plain)
    return 0;
  if (req->head.len + n > UINT32_MAX / 2 || hw__buf_reserve(&req->head, n) != 0)
    return 500;
  s = req->head.data + req->path.off; /* the buffer may have moved */
  out = req->head.data + req->head.len;

  /* Decode into the free space at the end of the head buffer... */
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '%') {
      if (i + 2 >= n)
        return 400;
      if (!IS(s[i + 1], C_HEX) || !IS(s[i + 2], C_HEX))
        return 400;
      ch = (unsigned char)(hexval((unsigned char)s[i + 1]) << 4 |
                           hexval((unsigned char)s[i + 2]));
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
  req->path.off = (uint32_t)req->head.len;
  req->path.len = o;
  req->head.len += o;
  return 0;
}

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
 * skipped here, but a value that begins with one is refused later all the
 * same: http-parser does not see "chunked" after a leading comma, and
 * normalising a framing field would give the two parsers two views of the
 * body's length (RFC 9110 section 5.6.1.2 asks recipients to ignore empty
 * elements; this server is stricter on purpose). */
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
    while (i < n && IS(v[i], C_TCHAR))
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

/* Non-zero if the `n` bytes at `v` are an IP-literal's inside, between the
 * brackets: IPv6address or IPvFuture (RFC 3986 section 3.2.2). */
static __attribute__((noinline)) int ip_literal_ok(const unsigned char *v,
                                                    uint32_t n) {
  char text[INET6_ADDRSTRLEN];
  unsigned char addr[16];
  uint32_t i;

  if (n > 0 && (v[0] | 0x20) == 'v') {
    /* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
    for (i = 1; i < n && IS(v[i], C_HEX); i++)
      ;
    if (i == 1 || i + 1 >= n || v[i] != '.')
      return 0;
    for (i++; i < n; i++)
      if (!IS(v[i], C_REGNAME) && v[i] != ':')
        return 0;
    return 1;
  }
  if (n == 0 || n >= sizeof(text))
    return 0;
  memcpy(text, v, n);
  text[n] = '\0';
  return inet_pton(AF_INET6, text, addr) == 1;
}

/* Non-zero if the `n` bytes at `v` are uri-host [ ":" port ] (RFC 9110
 * section 7.2, RFC 3986 section 3.2.2): an IP-literal in brackets, or a
 * reg-name (which covers IPv4address) of unreserved, sub-delims and
 * pct-encoded bytes; then optionally a colon and a port of digits only.
 * Userinfo ('@') is not allowed.  An empty value is: it is what a client
 * sends when the target URI has no authority (RFC 9112 section 3.2). */
static int host_ok(const char *s, uint32_t n) {
  const unsigned char *v = (const unsigned char *)s;
  uint32_t i = 0;

  if (n > 0 && v[0] == '[') {
    /* Rare, and kept out of line: it needs a copy for inet_pton. */
    const unsigned char *close = memchr(v, ']', n);
    if (close == NULL || !ip_literal_ok(v + 1, (uint32_t)(close - v) - 1))
      return 0;
    i = (uint32_t)(close - v) + 1;
  } else {
    /* Every request has a Host, and a valid one is the rule: runs of four
     * reg-name bytes are passed over with their classes combined. */
    for (;;) {
      while (i + 4 <= n && (cclass[v[i]] & cclass[v[i + 1]] &
                            cclass[v[i + 2]] & cclass[v[i + 3]] & C_REGNAME))
        i += 4;
      while (i < n && IS(v[i], C_REGNAME))
        i++;
      if (i == n || v[i] != '%')
        break;
      /* pct-encoded = "%" HEXDIG HEXDIG */
      if (i + 2 >= n || !IS(v[i + 1], C_HEX) || !IS(v[i + 2], C_HEX))
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

/* Compares a field name (a token, at least 4 bytes long) with a lower-case
 * name of the same length, a word at a time: setting bit 5 lower-cases a
 * letter and changes no other byte a token can match here. */
static int name_is(const char *name, const char *lower, uint32_t n) {
  uint32_t i = 0;
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

/*
 * Checks what needs whole field values, once the head is complete.
 * Returns 0, or the status of the error response.  Sets `*chunked` when
 * the body is chunked, and `*exp` to the first Expect field (or NULL).
 */
static int check_head(http_parser *p, hw_request *req, unsigned method,
                      int *chunked, const hw__hdr **exp) {
  const char *h = req->head.data;
  uint32_t nhost = 0;
  hw__span host = {0, 0};
  int have_cl = 0, bad_cl = 0;
  uint64_t cl = 0;
  te_info te = {0, 0, 0, 0, 0};
  int32_t auth;
  int plain;
  const char *t;

  for (uint32_t i = 0; i < req->nhdrs; i++) {
    hw__hdr *f = &req->hdrs[i];
    const char *name = h + f->name.off;
    uint32_t off = f->value.off, len = f->value.len;
    /* OWS around a value is not part of it (RFC 9112 section 5.1). */
    while (len > 0 && (h[off] == ' ' || h[off] == '\t')) {
      off++;
      len--;
    }
    while (len > 0 && (h[off + len - 1] == ' ' || h[off + len - 1] == '\t'))
      len--;
    f->value.off = off;
    f->value.len = len;
    switch (f->name.len) {
    case 6:
      if (*exp == NULL && name_is(name, "expect", 6))
        *exp = f;
      break;
    case 4:
      if (name_is(name, "host", 4)) {
        nhost++;
        host = f->value;
      }
      break;
    case 14:
      if (name_is(name, "content-length", 14) &&
          parse_content_length(h + f->value.off, f->value.len, &have_cl, &cl) !=
              0)
        bad_cl = 1;
      break;
    case 17:
      if (name_is(name, "transfer-encoding", 17))
        parse_te(h + f->value.off, f->value.len, &te);
      break;
    default: break;
    }
  }

  /* A server MUST respond with 400 to an HTTP/1.1 request without Host, or
   * to any request with more than one Host or an invalid one (RFC 9112
   * section 3.2). */
  if (nhost > 1 || (nhost == 0 && p->http_minor >= 1) ||
      (nhost == 1 && !host_ok(h + host.off, host.len)))
    return 400;
  if (bad_cl)
    return 400;
  if (te.seen) {
    /* Transfer-Encoding with Content-Length is a smuggling attempt or a
     * broken intermediary: 400 and close (RFC 9112 section 6.1); so is
     * Transfer-Encoding in HTTP/1.0, which had no such thing. */
    if (have_cl || p->http_minor == 0 || te.bad || te.chunked > 1)
      return 400;
    /* If chunked is not the final coding the length of the body cannot be
     * known: 400 (RFC 9112 section 6.3); that comes before the 501 for a
     * coding the server does not understand (RFC 9112 section 6.1). */
    if (!te.last_chunked)
      return 400;
    /* A coding applied before chunked is one the server would have to
     * decode, and it decodes none: 501 (RFC 9112 section 6.1), so that a
     * module never receives a body that is still encoded. */
    if (te.other)
      return 501;
    /* http-parser must have come to the same framing. */
    if (!(p->flags & F_CHUNKED))
      return 400;
    *chunked = 1;
  } else if (have_cl) {
    if (!(p->flags & F_CONTENTLENGTH) || p->content_length != cl)
      return 400;
  } else if (p->flags & (F_CHUNKED | F_CONTENTLENGTH)) {
    return 400;
  }
  /* CONNECT asks a proxy for a tunnel (RFC 9110 section 9.3.6) and its
   * target is an authority, not a path to route: a well-formed one gets
   * 405 with Allow, and the connection ends, because what a client sends
   * after a CONNECT may already be tunnel data. */
  if (method == HTTP_CONNECT)
    return 405;

  auth = split_target(req, &plain);
  if (auth < 0)
    return 400;
  t = h + req->target.off;
  if (t[0] == '*') {
    /* The asterisk-form is "*" alone, and only for a server-wide OPTIONS
     * (RFC 9112 section 3.2.4). */
    if (req->target.len != 1 || method != HTTP_OPTIONS)
      return 400;
  } else if (auth > 0) {
    /* An http(s) URI with an empty host is invalid, and userinfo in one
     * is treated as an error (RFC 9110 sections 4.2.1 and 4.2.4); what is
     * left must be uri-host [ ":" port ].  This authority, not the Host
     * field, is the request's host (RFC 9112 section 3.2.2). */
    const char *a = (const char *)memchr(t, ':', req->target.len) + 3;
    uint32_t alen = (uint32_t)auth - (uint32_t)(a - t);
    if (alen == 0 || memchr(a, '@', alen) != NULL || !host_ok(a, alen))
      return 400;
    req->host.off = (uint32_t)(a - h);
    req->host.len = alen;
    return normalise_path(req, plain);
  } else if (t[0] != '/') {
    return 400;
  }
  if (nhost == 1)
    req->host = host;
  return t[0] == '*' ? 0 : normalise_path(req, plain);
}

static int is_asterisk(const hw_request *req) {
  return req->target.len == 1 && req->head.data[req->target.off] == '*';
}

/* Expect: 100-continue (RFC 9110 section 10.1.1).  The interim answer
 * goes out only once the request is routed and its declared size fits, so
 * that a client about to send a large body to the wrong place hears the
 * final status first and sends nothing; then the connection ends, since
 * the body it may still send would be read as a request.  Any other
 * expectation cannot be met: 417. */
static int expect(hw__conn *c, hw_request *req, const hw__hdr *f,
                  int has_body) {
  const char *v = req->head.data + f->value.off;

  if (f->value.len != 12 || strncasecmp(v, "100-continue", 12) != 0) {
    fail_request(c, 417);
    return -1;
  }
  if (!has_body || req->version < 11)
    return 0;
  if (req->route == NULL && !is_asterisk(req)) {
    fail_request(c, req->std_method ? 404 : 501);
    return -1;
  }
  hw__conn_continue(c);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  hw__conn *c = conn_of(p);
  http_state *st = state_of(p);
  hw_request *req = c->cur;
  const hw__hdr *exp = NULL;
  int chunked = 0, status;
  unsigned m = (unsigned)st->n; /* the method, as the pre-scanner read it */

  if (m != METHOD_OTHER) {
    req->method_name = method_str[m];
    req->method_len = method_len[m];
  }
  req->std_method = (STD_METHODS >> m) & 1;
  /* HTTP/1.x with x >= 2 is answered as HTTP/1.1, the highest minor
   * version this server implements (RFC 9110 section 2.5); the pre-scanner
   * has made sure the major version is 1. */
  req->version = p->http_minor >= 1 ? 11 : 10;
  /* Persistence (RFC 9112 section 9.3): HTTP/1.1 unless "close" is among
   * the connection options, HTTP/1.0 only with "keep-alive".  This is what
   * http_should_keep_alive() answers for a request, read straight from the
   * flags http-parser has set. */
  req->keep_alive = req->version == 11 ? !(p->flags & F_CONNECTION_CLOSE)
                                       : (p->flags & F_CONNECTION_KEEP_ALIVE) != 0;
  req->is_head = m == HTTP_HEAD;
  status = check_head(p, req, m, &chunked, &exp);
  if (status != 0) {
    req = fail_request(c, status);
    if (req != NULL && status == 405)
      hw__buf_append(&req->res.headers, allow_line, sizeof(allow_line) - 1);
    return -1;
  }
  /* A declared body larger than the limit is refused before a byte of it
   * is buffered. */
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->w->limit_body) {
    fail_request(c, 413);
    return -1;
  }
  if (chunked) {
    st->scan = S_CSIZE0;
    st->n = 0;
  }
  req->state = HW__REQ_BODY;
  if (!is_asterisk(req))
    hw__request_route(req);
  if (exp == NULL)
    return 0;
  return expect(c, req, exp,
                (p->flags & F_CONTENTLENGTH) ? p->content_length > 0 : chunked);
}

static int on_body(http_parser *p, const char *at, size_t len) {
  hw__conn *c = conn_of(p);
  hw_request *req = c->cur;
  /* Chunked bodies have no declared size: the limit is checked as they
   * stream in. */
  if (req->body.len + len > c->w->limit_body) {
    fail_request(c, 413);
    return -1;
  }
  if (hw__buf_append(&req->body, at, len) != 0) {
    fail_request(c, 500);
    return -1;
  }
  req->rate_bytes += len;
  /* A client that sends its body has stopped waiting for 100 Continue. */
  c->continue_owed = 0;
  return 0;
}

/* "OPTIONS *" asks about the server as a whole (RFC 9110 section 9.3.7):
 * the host answers it, with the methods it lets through to modules. */
static void answer_options(hw__conn *c, hw_request *req) {
  hw__response_reset(&req->res);
  req->res.status = 200;
  hw__buf_append(&req->res.headers, allow_line, sizeof(allow_line) - 1);
  req->state = HW__REQ_DONE;
  hw__conn_response_ready(c);
}

static int on_message_complete(http_parser *p) {
  hw__conn *c = conn_of(p);
  http_state *st = state_of(p);
  hw_request *req = c->cur;

  c->cur = NULL;
  c->continue_owed = 0;
  hw__conn_enqueue(c, req);
  if (is_asterisk(req))
    answer_options(c, req);
  else
    hw__request_dispatch(req);
  if (!req->keep_alive)
    c->no_more = 1;
  /* The parser stops after every message, so that the pre-scanner starts
   * the next one on the same byte; hw__http_feed decides whether to go on
   * (it does not after a request that ends the connection, or past the
   * pipeline limit until the queue drains).  Pausing costs less than
   * letting http-parser run on to the end of its input, even when the
   * message ends there.  An upgrade is not taken: the server never answers
   * 101, so the connection goes on in HTTP/1.1 (RFC 9110 section 7.8). */
  p->upgrade = 0;
  st->scan = S_START;
  st->flags |= ST_MSG_DONE;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void hw__http_init(hw__http_parser_storage *s, hw__conn *c) {
  http_state *st = (http_state *)s;
  memset(st, 0, sizeof(*st));
  http_parser_init(&st->p, HTTP_REQUEST);
  st->p.data = c;
  st->scan = S_START;
}

/* The status for an error http-parser found in bytes the pre-scanner had
 * let through. */
static int parser_status(enum http_errno e) {
  switch (e) {
  case HPE_HEADER_OVERFLOW: return 431;
  case HPE_INVALID_METHOD: /* the pre-scanner answers unknown methods */
    return 501;
  default: return 400;
  }
}

size_t hw__http_feed(hw__http_parser_storage *s, const char *data, size_t len,
                     int *failed) {
  http_state *st = (http_state *)s;
  http_parser *p = &st->p;
  hw__conn *c = p->data;
  size_t off = 0, from = SIZE_MAX;
  enum http_errno e;
  int status = 0;

  *failed = 0;
  /* Paused by back-pressure: the caller resumes with hw__http_unpause. */
  if (HTTP_PARSER_ERRNO(p) != HPE_OK)
    return 0;
  while (off < len) {
    size_t run, n, mstart = SIZE_MAX, start;
    int ev = EV_NONE;

    if (st->scan == S_DONE) {
      /* The pre-scanner framed a message that http-parser did not end:
       * they disagree, so the framing cannot be trusted. */
      status = 400;
      goto fail;
    }
    if (st->scan == S_BODY) {
      run = len - off;
    } else if (st->scan <= S_METHOD) {
      /* Empty lines and the method are not given to http-parser as they
       * arrive: the method goes to it whole once the pre-scanner knows it
       * is one of its methods, with what follows when it is all in these
       * bytes (the usual case), else from its table.  A request that
       * begins with a common method is recognised here without a call to
       * the pre-scanner. */
      const hw__config *cfg = c->w->gen->config;
      size_t begin = off;
      int entry = st->scan, slow = 0;
      if (st->scan == S_START && len - off >= 8 &&
          (run = quick_start(st, cfg, (const unsigned char *)data + off)) !=
              0) {
        ev = EV_METHOD;
        mstart = off;
      } else {
        slow = 1;
        run = scan(st, cfg, data + off, len - off, &ev, &status, &mstart,
                   NULL, 0);
        if (mstart != SIZE_MAX)
          mstart += off;
      }
      off += run;
      if (status != 0)
        goto fail;
      /* The request exists from its first byte, so that the connection
       * counts as being in the middle of a head (for its timeout). */
      if (st->scan != S_START && st->scan != S_START_LF && c->cur == NULL &&
          hw__conn_begin_request(c) == NULL) {
        status = 500;
        goto fail;
      }
      /* A method read byte by byte may be one http-parser does not know,
       * which reaches modules as it was sent: its bytes are kept at the
       * start of the head until it is known. */
      if (slow && (mstart != SIZE_MAX || entry == S_METHOD)) {
        size_t m0 = mstart != SIZE_MAX ? mstart : begin;
        size_t m1 = ev == EV_METHOD ? off - 1 : off;
        if (m1 > m0 &&
            hw__buf_append(&c->cur->head, data + m0, m1 - m0) != 0) {
          status = 500;
          goto fail;
        }
      }
      if (ev == EV_METHOD) {
        unsigned i = (unsigned)st->n;
        if (i == METHOD_OTHER) {
          c->cur->method.off = 0;
          c->cur->method.len = (uint32_t)c->cur->head.len;
          http_parser_execute(p, &settings, stand_in, sizeof(stand_in) - 1);
        } else {
          c->cur->head.len = 0; /* the name comes from the table */
          if (mstart != SIZE_MAX)
            from = mstart;
          else
            http_parser_execute(p, &settings, method_sp[i],
                                method_len[i] + 1u);
        }
        if (off == len && from != SIZE_MAX) {
          http_parser_execute(p, &settings, data + from, off - from);
          from = SIZE_MAX;
        }
        if (HTTP_PARSER_ERRNO(p) != HPE_OK)
          goto parser_error;
      }
      continue;
    } else {
      /* From the target to the blank line, the head's bytes are copied
       * into the request as they are scanned (the read buffer is shared),
       * one piece per read. */
      hw_request *req = st->scan >= S_TARGET0 && st->scan <= S_END_LF &&
                                !(st->flags & ST_TRAILERS)
                            ? c->cur
                            : NULL;
      if (req != NULL && req->head.len + (len - off) > UINT32_MAX / 2) {
        status = 431;
        goto fail;
      }
      run = scan(st, c->w->gen->config, data + off, len - off, &ev, &status,
                 &mstart, req, req != NULL ? (uint32_t)req->head.len : 0);
      if (req != NULL && hw__buf_append(&req->head, data + off, run) != 0 &&
          status == 0)
        status = 500;
      if (status != 0) {
        off += run;
        goto fail;
      }
    }
    if (run == 0) {
      status = 400; /* cannot happen: the pre-scanner always moves on */
      goto fail;
    }
    /* The bytes from the method on, if it was held back in this read. */
    start = from != SIZE_MAX ? from : off;
    run += off - start;
    from = SIZE_MAX;
    if (ev == EV_TAB) {
      /* (http-parser takes a call with no bytes for the end of input.) */
      n = run > 1 ? http_parser_execute(p, &settings, data + start, run - 1)
                  : 0;
      if (n == run - 1 && HTTP_PARSER_ERRNO(p) == HPE_OK)
        n += http_parser_execute(p, &settings, " ", 1);
    } else {
      n = http_parser_execute(p, &settings, data + start, run);
    }
    off = start + n;
    e = HTTP_PARSER_ERRNO(p);
    if (e == HPE_PAUSED && (st->flags & ST_MSG_DONE)) {
      st->flags &= (uint8_t)~ST_MSG_DONE;
      /* After a request that ends the connection nothing more is read
       * (c->no_more); past the pipeline limit parsing waits until the queue
       * drains, and the caller resumes it. */
      if (hw__conn_congested(c) || c->no_more)
        return off;
      http_parser_pause(p, 0);
      continue;
    }
    if (e != HPE_OK)
      goto parser_error;
    if (n < run) {
      /* http-parser stopped without a reason it tells: do not guess. */
      status = 400;
      goto fail;
    }
  }
  return off;

parser_error:
  *failed = 1;
  /* A callback that failed has already queued its own response. */
  if (!c->no_more)
    fail_request(c, parser_status(HTTP_PARSER_ERRNO(p)));
  return off;

fail:
  *failed = 1;
  fail_request(c, status);
  return off;
}

void hw__http_unpause(hw__http_parser_storage *s) {
  http_parser *p = &((http_state *)s)->p;
  /* http-parser asserts when asked to resume a parser in an error state. */
  if (HTTP_PARSER_ERRNO(p) == HPE_PAUSED)
    http_parser_pause(p, 0);
}

void hw__http_eof(hw__http_parser_storage *s) {
  http_parser *p = &((http_state *)s)->p;
  if (HTTP_PARSER_ERRNO(p) == HPE_OK)
    http_parser_execute(p, &settings, NULL, 0);
}

/* The reason phrases of the statuses the host and modules commonly send,
 * with their lengths. */
static const char *reason_of(int status, size_t *len) {
#define R(text)                                                                \
  do {                                                                         \
    *len = sizeof(text) - 1;                                                   \
    return text;                                                               \
  } while (0)
  switch (status) {
  case 100: R("Continue");
  case 101: R("Switching Protocols");
  case 200: R("OK");
  case 201: R("Created");
  case 202: R("Accepted");
  case 204: R("No Content");
  case 206: R("Partial Content");
  case 301: R("Moved Permanently");
  case 302: R("Found");
  case 303: R("See Other");
  case 304: R("Not Modified");
  case 307: R("Temporary Redirect");
  case 308: R("Permanent Redirect");
  case 400: R("Bad Request");
  case 401: R("Unauthorized");
  case 403: R("Forbidden");
  case 404: R("Not Found");
  case 405: R("Method Not Allowed");
  case 408: R("Request Timeout");
  case 409: R("Conflict");
  case 411: R("Length Required");
  case 413: R("Content Too Large");
  case 414: R("URI Too Long");
  case 415: R("Unsupported Media Type");
  case 417: R("Expectation Failed");
  case 429: R("Too Many Requests");
  case 431: R("Request Header Fields Too Large");
  case 500: R("Internal Server Error");
  case 501: R("Not Implemented");
  case 502: R("Bad Gateway");
  case 503: R("Service Unavailable");
  case 504: R("Gateway Timeout");
  case 505: R("HTTP Version Not Supported");
  default: R("");
  }
#undef R
}

const char *hw__http_reason(int status) {
  size_t len;
  return reason_of(status, &len);
}

/* Writes `v` in decimal at `p`; returns the number of digits.  Bodies are
 * mostly short, so one and two digits are written directly. */
static inline size_t put_uint(char *p, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  if (v < 10) {
    p[0] = (char)('0' + v);
    return 1;
  }
  if (v < 100) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return 2;
  }
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++)
    p[i] = tmp[n - 1 - i];
  return n;
}

#define PUT(lit)                                                               \
  do {                                                                         \
    memcpy(o, lit, sizeof(lit) - 1);                                           \
    o += sizeof(lit) - 1;                                                      \
  } while (0)

int hw__http_write_head(const hw_request *req, int keep_alive, hw__buf *out) {
  const struct hw_response *res = &req->res;
  int status = res->status;
  /* The fixed part is bounded: status line (the longest reason phrase is
   * under 40 bytes), Server and Date, Content-Length, Connection and the
   * final CRLF, plus the module's headers. */
  size_t max = 16 + 24 + 40 + HW__HOST_LINES_LEN + 40 + 26 +
               res->headers.len + 2;
  size_t rlen;
  const char *reason;
  char *o;

  if (hw__buf_reserve(out, max) != 0)
    return HW_ENOMEM;
  o = out->data + out->len;
  /* The server's own version is sent whatever the request's (RFC 9110
   * section 2.5); framing below follows the request's version.  The host
   * and modules only set three-digit statuses (RFC 9110 section 15). */
  if (status == 200) {
    PUT("HTTP/1.1 200 OK\r\n");
  } else {
    reason = reason_of(status, &rlen);
    PUT("HTTP/1.1 ");
    o += put_uint(o, (uint64_t)(unsigned)status);
    *o++ = ' ';
    memcpy(o, reason, rlen);
    o += rlen;
    PUT("\r\n");
  }
  /* Server and Date, of fixed length, rewritten once a second. */
  memcpy(o, req->w->host_lines, HW__HOST_LINES_LEN);
  o += HW__HOST_LINES_LEN;
  /* 204 and 304 responses carry no body and here no Content-Length (RFC
   * 9110 sections 8.6, 15.3.5 and 15.4.5); every other response is
   * length-delimited. */
  if (hw__http_status_has_body(status)) {
    PUT("Content-Length: ");
    o += put_uint(o, res->body_len);
    PUT("\r\n");
  }
  if (!keep_alive)
    PUT("Connection: close\r\n");
  else if (req->version < 11)
    PUT("Connection: keep-alive\r\n");
  if (res->headers.len > 0) {
    hw__copy(o, res->headers.data, res->headers.len);
    o += res->headers.len;
  }
  PUT("\r\n");
  out->len = (size_t)(o - out->data);
  return 0;
}
