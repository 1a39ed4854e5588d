/*
 * test_h1_parser.c - unit tests of the HTTP/1.1 parser (server/h1_parser.c,
 * with the scanner h1_scan.c and the head checks h1_head.c): bytes in,
 * events out, with a recording set of callbacks and no connection, request
 * object or module.  Each case is also fed byte by byte and cut in two at
 * every byte: the verdict must not depend on where reads split it.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1_parser.h"
#include "method.h"
#include "tap.h"

#define MAXMSG 8

/* What the parser reported. */
typedef struct rec {
  hw__message msg[MAXMSG];
  int nmsg; /* begun */
  int nhead, ndone;
  int keep[MAXMSG];
  hw__h1_head head[MAXMSG];
  hw__buf body[MAXMSG];
  int head_status; /* what the head callback answers */
  int stop;        /* what the done callback answers */
} rec;

static hw__message *on_begin(void *ctx) {
  rec *r = ctx;
  hw__message *m;
  if (r->nmsg == MAXMSG)
    return NULL;
  m = &r->msg[r->nmsg++];
  memset(m, 0, offsetof(hw__message, head));
  m->head.len = 0;
  m->nfields = 0;
  return m;
}

static int on_head(void *ctx, hw__message *m, const hw__h1_head *h,
                   int keep_alive) {
  rec *r = ctx;
  (void)m;
  r->head[r->nhead] = *h;
  r->keep[r->nhead++] = keep_alive;
  return r->head_status;
}

static int on_body(void *ctx, const char *data, size_t len) {
  rec *r = ctx;
  hw__buf_append(&r->body[r->nmsg - 1], data, len);
  return 0;
}

static int on_done(void *ctx) {
  rec *r = ctx;
  r->ndone++;
  return r->stop;
}

static const hw__h1_parser_cb cb = {on_begin, on_head, on_body, on_done};

static hw__h1_limits limits = {8192, 16384, 100};

static void rec_init(rec *r) {
  memset(r, 0, sizeof(*r));
}

static void rec_free(rec *r) {
  for (int i = 0; i < MAXMSG; i++) {
    hw__buf_free(&r->msg[i].head);
    free(r->msg[i].fields);
    hw__buf_free(&r->body[i]);
  }
}

/* The message being read: begun and not done. */
static hw__message *current(rec *r) {
  return r->nmsg > r->ndone ? &r->msg[r->nmsg - 1] : NULL;
}

/* What became of some bytes: the status the parse ended with (0: none),
 * how many messages completed, and how many bytes were taken. */
typedef struct outcome {
  int status, ndone;
  size_t used;
} outcome;

/* Feeds `n` bytes: whole (step 0), `step` bytes at a time, or in two pieces
 * cut at `cut` (step SIZE_MAX). */
static outcome drive(rec *r, const char *s, size_t n, size_t step, size_t cut) {
  hw__h1_parser ps;
  outcome o = {0, 0, 0};
  size_t off = 0;

  hw__h1_parser_init(&ps);
  while (off < n && o.status == 0) {
    size_t len = n - off, used;
    if (step == SIZE_MAX)
      len = off < cut ? cut - off : n - off;
    else if (step != 0 && len > step)
      len = step;
    used = hw__h1_parser_feed(&ps, &limits, current(r), s + off, len, &cb, r,
                              &o.status);
    off += used;
    if (used < len && o.status == 0)
      break; /* stopped by `done` */
  }
  o.ndone = r->ndone;
  o.used = off;
  return o;
}

#define NEXT "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"

/* A request and the status the parse ends with (0: accepted). */
typedef struct scase {
  const char *name;
  const char *req;
  int status;
} scase;

static const scase strict_cases[] = {
    /* the request line: method SP request-target SP HTTP-version CRLF */
    {"plain GET", "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"empty lines before the request line",
     "\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"two spaces after the method", "GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"two spaces after the target", "GET /hello  HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"tab after the method", "GET\t/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"space after the version", "GET /hello HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
    {"bare LF after the request line", "GET /hello HTTP/1.1\nHost: x\r\n\r\n",
     400},
    {"CR without LF after the request line",
     "GET /hello HTTP/1.1\rHost: x\r\n\r\n", 400},
    {"lower-case http", "GET /hello http/1.1\r\nHost: x\r\n\r\n", 400},
    {"two-digit minor version", "GET /hello HTTP/1.10\r\nHost: x\r\n\r\n", 400},
    {"malformed version", "GET /hello HTTP/9.Z\r\nHost: x\r\n\r\n", 400},
    {"HTTP/0.9 request", "GET /hello\r\n\r\n", 400},
    {"NUL in the target", "GET /he\001lo HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"non-ASCII in the target", "GET /h\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
    {"HTTP/0.9 with a version", "GET /hello HTTP/0.9\r\nHost: x\r\n\r\n", 505},
    {"HTTP/1.2 is answered as 1.1", "GET /hello HTTP/1.2\r\nHost: x\r\n\r\n",
     0},
    /* methods: any token reaches the modules (hello answers every one) */
    {"unknown method", "FOO /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"lower-case method", "get /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"prefix of a method", "GE /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"QUERY",
     "QUERY /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     "\r\nab",
     0},
    {"a long unknown method",
     "LONGER-THAN-ANY-METHOD /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"method with a non-token byte", "G(T /hello HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
     405},
    {"M-SEARCH is one of http-parser's methods",
     "M-SEARCH /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    /* Host */
    {"HTTP/1.1 without Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
    {"two Host fields", "GET /hello HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
     400},
    {"two Host fields in HTTP/1.0",
     "GET /hello HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n", 400},
    {"HTTP/1.0 without Host",
     "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0},
    {"Host with userinfo", "GET /hello HTTP/1.1\r\nHost: u@x\r\n\r\n", 400},
    {"Host with a port", "GET /hello HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0},
    {"empty Host", "GET /hello HTTP/1.1\r\nHost:\r\n\r\n", 0},
    {"Host with an empty port", "GET /hello HTTP/1.1\r\nHost: x:\r\n\r\n", 0},
    {"Host IPv4 and port",
     "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 0},
    {"Host with pct-encoding and sub-delims",
     "GET /hello HTTP/1.1\r\nHost: a%41_b!$&'()*+,;=.example\r\n\r\n", 0},
    {"Host IPvFuture", "GET /hello HTTP/1.1\r\nHost: [v1.fe:x]\r\n\r\n", 0},
    {"Host port not digits",
     "GET /hello HTTP/1.1\r\nHost: example.com:abc\r\n\r\n", 400},
    {"Host port with a letter after it",
     "GET /hello HTTP/1.1\r\nHost: x:80x\r\n\r\n", 400},
    {"Host of a port alone with a letter",
     "GET /hello HTTP/1.1\r\nHost: :80x\r\n\r\n", 400},
    {"Host with a second colon", "GET /hello HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
     400},
    {"Host unbalanced IP-literal", "GET /hello HTTP/1.1\r\nHost: [::1\r\n\r\n",
     400},
    {"Host IP-literal that is not IPv6",
     "GET /hello HTTP/1.1\r\nHost: [1.2.3.4]\r\n\r\n", 400},
    {"Host IP-literal with a bad digit",
     "GET /hello HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400},
    {"Host IP-literal followed by more",
     "GET /hello HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
    {"Host bracket inside a name", "GET /hello HTTP/1.1\r\nHost: a[b]\r\n\r\n",
     400},
    {"Host truncated pct-encoding", "GET /hello HTTP/1.1\r\nHost: ex%4\r\n\r\n",
     400},
    {"Host with a slash", "GET /hello HTTP/1.1\r\nHost: x/y\r\n\r\n", 400},
    /* field lines */
    {"space before the colon", "GET /hello HTTP/1.1\r\nHost : x\r\n\r\n", 400},
    {"tab before the colon", "GET /hello HTTP/1.1\r\nHost\t: x\r\n\r\n", 400},
    {"obsolete line folding",
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
    {"whitespace before the first field",
     "GET /hello HTTP/1.1\r\n Host: x\r\n\r\n", 400},
    {"empty field name", "GET /hello HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400},
    {"NUL in a name", "GET /hello HTTP/1.1\r\nHost: x\r\nX\000: v\r\n\r\n",
     400},
    {"bare CR in a value",
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
    {"bare LF after a value",
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\nX-B: b\r\n\r\n", 400},
    {"control character in a value",
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\001b\r\n\r\n", 400},
    {"DEL in a value", "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\177\r\n\r\n",
     400},
    {"CR CR LF ending the head", "GET /hello HTTP/1.1\r\nHost: x\r\n\r\r\n",
     400},
    {"tab and obs-text in a value",
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\tb \xff\r\n\r\n", 0},
    /* Content-Length and Transfer-Encoding */
    {"Content-Length",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 0},
    {"Content-Length with OWS",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length:\t 3\t \r\n\r\nabc", 0},
    {"Content-Length with TE",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400},
    {"TE with Content-Length",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     "Content-Length: 3\r\n\r\n0\r\n\r\n",
     400},
    {"two different Content-Length",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     "Content-Length: 4\r\n\r\nabcd",
     400},
    {"Content-Length list of different values",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd", 400},
    {"Content-Length with a sign",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400},
    {"Content-Length in hex",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", 400},
    {"Content-Length with a space inside",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\nabc", 400},
    {"empty Content-Length",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400},
    {"Content-Length overflow",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: "
     "184467440737095516160\r\n\r\n",
     400},
    {"TE gzip without chunked",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
    {"TE with an unknown coding and no chunked",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: pigeons\r\n\r\n",
     400},
    {"TE unknown coding before chunked",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: pigeons, chunked\r\n"
     "\r\n0\r\n\r\n",
     501},
    {"TE chunked not last",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, "
     "gzip\r\n\r\n",
     400},
    {"TE chunked twice in one field",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n"
     "\r\n0\r\n\r\n",
     400},
    {"TE chunked in two fields",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400},
    {"TE gzip then chunked",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
     "transfer-encoding: CHUNKED\t\r\n\r\n0\r\n\r\n",
     501},
    {"TE deflate, chunked",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: deflate, chunked"
     "\r\n\r\n0\r\n\r\n",
     501},
    {"TE leading empty list element",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked"
     "\r\n\r\n0\r\n\r\n",
     400},
    {"TE chunked with a trailing empty element",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,"
     "\r\n\r\n0\r\n\r\n",
     400},
    {"TE in HTTP/1.0",
     "POST /a/x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
    {"empty TE", "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n",
     400},
    /* chunked framing */
    {"chunks with extensions and a trailer",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3;a=1;b\r\nabc\r\n2 ; q=\"x \\\" y\"\r\nde\r\n000\r\nX-T: 1\r\n\r\n",
     0},
    {"bad chunk size",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "zz\r\nabc\r\n0\r\n\r\n",
     400},
    {"chunk size overflow",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "10000000000000000\r\nabc\r\n0\r\n\r\n",
     400},
    {"chunk size of 17 digits",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "00000000000000003\r\nabc\r\n0\r\n\r\n",
     400},
    {"chunk size of 16 digits",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0000000000000003\r\nabc\r\n0\r\n\r\n",
     0},
    {"space after the chunk size",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3 \r\nabc\r\n0\r\n\r\n",
     400},
    {"empty chunk extension",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3;\r\nabc\r\n0\r\n\r\n",
     400},
    {"control character in a chunk extension",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3;a=\001\r\nabc\r\n0\r\n\r\n",
     400},
    {"chunk data not followed by CRLF",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabcXX0\r\n\r\n",
     400},
    {"bare LF after a chunk size",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\nabc\r\n0\r\n\r\n",
     400},
    {"obs-fold in a trailer",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\nX-T: 1\r\n 2\r\n\r\n",
     400},
    /* targets */
    {"absolute-form", "GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"absolute-form with userinfo",
     "GET http://u:p@x/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"absolute-form with an empty host",
     "GET http:///hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"asterisk-form with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"asterisk and more", "OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"encoded path", "GET /h%65llo HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"dot segments", "GET /a/../x/./../hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"encoded dot segments", "GET /a/%2e%2E/hello HTTP/1.1\r\nHost: x\r\n\r\n",
     0},
    {"climbing above the root",
     "GET /a/../../hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"encoded climb above the root",
     "GET /%2e%2e/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"%00 in the path", "GET /hello%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"invalid escape", "GET /hello%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"truncated escape", "GET /hello%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"escape in the query is not decoded",
     "GET /hello?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"every reserved character of RFC 3986",
     "GET /hello/:@!$&'()*+,;=[]-._~?/?:@ HTTP/1.1\r\nHost: x\r\n\r\n", 0},
    {"a fragment", "GET /hello#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"a fragment after the query",
     "GET /hello?q=1#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"a backslash in the path", "GET /hello\\x HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"a brace in the path", "GET /hello{x} HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"a quote in the query", "GET /hello?\"x\" HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"a vertical bar in the query",
     "GET /hello?q=| HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"a caret, a backquote, angle brackets",
     "GET /hello?^`<> HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"a fragment in an absolute-form authority",
     "GET http://x#/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"absolute-form with a bad port",
     "GET http://x:8o/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"absolute-form with an IPv6 authority",
     "GET http://[::1]:80/hello HTTP/1.1\r\nHost: x\r\n\r\n", 0},
};

#define NCASES (sizeof(strict_cases) / sizeof(strict_cases[0]))

static const scase *find(const char *name) {
  for (size_t i = 0; i < NCASES; i++)
    if (strcmp(strict_cases[i].name, name) == 0)
      return &strict_cases[i];
  return NULL;
}

static size_t case_len(const scase *sc) {
  /* The one case holding a NUL is measured to the end of its head. */
  if (strcmp(sc->name, "NUL in a name") == 0)
    return sizeof("GET /hello HTTP/1.1\r\nHost: x\r\nX\000: v\r\n\r\n") - 1;
  return strlen(sc->req);
}

/* Each case, with a good request pipelined after it: an accepted one
 * completes and so does the next; a refused one ends the parse with its
 * status, and nothing after it is parsed. */
static void test_cases(void) {
  char buf[1024];
  for (size_t i = 0; i < NCASES; i++) {
    const scase *sc = &strict_cases[i];
    size_t n = case_len(sc);
    rec r;
    outcome o;
    rec_init(&r);
    memcpy(buf, sc->req, n);
    memcpy(buf + n, NEXT, sizeof(NEXT) - 1);
    o = drive(&r, buf, n + sizeof(NEXT) - 1, 0, 0);
    if (sc->status != 0)
      ok(o.status == sc->status && o.ndone == 0,
         "%s: %d, the next request unread", sc->name, sc->status);
    else
      ok(o.status == 0 && o.ndone == 2, "%s: accepted, then the next",
         sc->name);
    if ((sc->status != 0 && (o.status != sc->status || o.ndone != 0)) ||
        (sc->status == 0 && (o.status != 0 || o.ndone != 2)))
      diag("got status %d, %d done", o.status, o.ndone);
    rec_free(&r);
  }
}

/* The same verdict however the bytes are split. */
static void test_splits(void) {
  static const char *const names[] = {
      "plain GET",
      "two spaces after the method",
      "bare LF after the request line",
      "HTTP/2.0",
      "unknown method",
      "a long unknown method",
      "space before the colon",
      "obsolete line folding",
      "TE gzip then chunked",
      "chunks with extensions and a trailer",
      "chunk data not followed by CRLF",
      "TE with an unknown coding and no chunked",
      "Host unbalanced IP-literal",
      "a fragment after the query",
      "dot segments",
      "OPTIONS *",
      "Content-Length with OWS",
      "chunk size of 17 digits"};
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    const scase *sc = find(names[k]);
    size_t n;
    int bad = 0;
    outcome whole, o;
    rec r;

    if (sc == NULL) {
      ok(0, "split case %s exists", names[k]);
      continue;
    }
    n = case_len(sc);
    rec_init(&r);
    whole = drive(&r, sc->req, n, 0, 0);
    rec_free(&r);
    rec_init(&r);
    o = drive(&r, sc->req, n, 1, 0);
    rec_free(&r);
    bad |= o.status != whole.status || o.ndone != whole.ndone;
    for (size_t cut = 1; cut < n; cut++) {
      rec_init(&r);
      o = drive(&r, sc->req, n, SIZE_MAX, cut);
      rec_free(&r);
      if (o.status != whole.status || o.ndone != whole.ndone) {
        if (!bad)
          diag("cut at %zu: status %d, %d done", cut, o.status, o.ndone);
        bad = 1;
      }
    }
    ok(whole.status == sc->status && !bad, "%s: %d however the bytes are split",
       sc->name, sc->status);
  }
}

/* Limits, counted as the bytes arrive. */
static void test_limits(void) {
  hw__h1_limits keep = limits;
  /* "GET /hello HTTP/1.1" is 19 bytes; "Host" + "x" + "X-A" + " aaaa" 13. */
  const char *req = "GET /hello HTTP/1.1\r\nHost:x\r\nX-A: aaaa\r\n\r\n";
  outcome o;
  rec r;

#define RUN(s, n, step) (rec_free(&r), rec_init(&r), drive(&r, s, n, step, 0))
  rec_init(&r);
  limits.request_line = 19;
  o = RUN(req, strlen(req), 0);
  ok(o.status == 0 && o.ndone == 1, "request line at the limit: accepted");
  limits.request_line = 18;
  o = RUN(req, strlen(req), 0);
  is_int(o.status, 414, "request line over the limit: 414");
  o = RUN("GET /hello HTTP", 15, 0);
  ok(o.status == 0 && o.ndone == 0, "request line at 15 of 18 bytes: waiting");
  limits.request_line = 12;
  o = RUN("GET /hello HTTP", 15, 0);
  is_int(o.status, 414, "request line over the limit before it ends: 414");
  o = RUN(req, strlen(req), 1);
  is_int(o.status, 414, "request line over the limit, byte by byte: 414");
  limits = keep;

  limits.header_bytes = 13;
  o = RUN(req, strlen(req), 0);
  ok(o.status == 0 && o.ndone == 1, "header bytes at the limit: accepted");
  limits.header_bytes = 12;
  o = RUN(req, strlen(req), 0);
  is_int(o.status, 431, "header bytes over the limit: 431");
  o = RUN(req, strlen(req), 1);
  is_int(o.status, 431, "header bytes over the limit, byte by byte: 431");
  limits.header_bytes = 4;
  o = RUN("GET /hello HTTP/1.1\r\nHost:xxxxxxxx", 34, 0);
  is_int(o.status, 431, "header bytes over the limit before the line ends");
  limits = keep;

  /* Chunk extensions use what the header section left: "Host: x" and
   * "Transfer-Encoding: chunked" count 6 + 25 bytes. */
  limits.header_bytes = 36;
  {
    const char *ext5 = "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n1;eeeee\r\nz\r\n0\r\n\r\n";
    const char *ext6 = "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n1;eeeeee\r\nz\r\n0\r\n\r\n";
    o = RUN(ext5, strlen(ext5), 0);
    ok(o.status == 0 && o.ndone == 1,
       "chunk extensions within the header budget: accepted");
    o = RUN(ext6, strlen(ext6), 0);
    is_int(o.status, 413, "chunk extensions over the header budget: 413");
    o = RUN(ext6, strlen(ext6), 1);
    is_int(o.status, 413, "the same, byte by byte: 413");
  }
  limits = keep;

  limits.headers = 2;
  o = RUN(req, strlen(req), 0);
  ok(o.status == 0 && o.ndone == 1, "header fields at the limit: accepted");
  limits.headers = 1;
  o = RUN(req, strlen(req), 0);
  is_int(o.status, 431, "one header field over the limit: 431");
  limits = keep;
  rec_free(&r);
#undef RUN
}

static int span_is(const hw__message *m, hw__span s, const char *want) {
  return s.len == strlen(want) &&
         memcmp(m->head.data + s.off, want, s.len) == 0;
}

static const hw__field *field(const hw__message *m, uint32_t i) {
  return i < m->nfields ? &m->fields[i] : NULL;
}

/* What a message holds once its head is complete. */
static void test_messages(void) {
  rec r;
  outcome o;
  const hw__message *m;
  const char *in =
      "GET /a/b/./x/../%69nfo?q=%41 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /a/b/info HTTP/1.1\r\nHost:  b.example:80 \r\nX-A: v \t \r\n\r\n"
      "GET http://h.example:81?x HTTP/1.1\r\nHost: other\r\n\r\n"
      "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nz\r\n2;e=1\r\nyy\r\n0\r\nX-Trailer: t\r\n\r\n"
      "QUERY /q HTTP/1.0\r\n\r\n"
      "HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

  rec_init(&r);
  o = drive(&r, in, strlen(in), 0, 0);
  ok(o.status == 0 && o.ndone == 6, "six messages");
  m = &r.msg[0];
  ok(span_is(m, m->target, "/a/b/./x/../%69nfo?q=%41"),
     "the target is as sent");
  ok(span_is(m, m->path, "/a/b/info"), "the path is decoded and normalised");
  ok(span_is(m, m->query, "q=%41"), "the query is not decoded");
  ok(m->method_name != NULL && strcmp(m->method_name, "GET") == 0 &&
         m->method_id == HW__METHOD_GET && m->version == 11 && r.keep[0],
     "GET, HTTP/1.1, persistent");
  ok(span_is(m, m->host, "x"), "the host is the Host field");
  m = &r.msg[1];
  ok(m->path.off == m->target.off && m->path.len == 9,
     "a plain path is not copied");
  ok(span_is(m, m->host, "b.example:80"), "the host without its OWS");
  ok(field(m, 1) != NULL && span_is(m, field(m, 1)->name, "X-A") &&
         span_is(m, field(m, 1)->value, "v"),
     "OWS around a value is not part of it");
  m = &r.msg[2];
  ok(span_is(m, m->path, "/") && span_is(m, m->query, "x"),
     "absolute-form with an empty path has the path /");
  ok(span_is(m, m->host, "h.example:81"),
     "absolute-form: the host is the target's authority");
  ok(field(m, 0) != NULL && span_is(m, field(m, 0)->value, "other"),
     "absolute-form: the Host field stays as received");
  m = &r.msg[3];
  ok(r.head[3].chunked && r.body[3].len == 3 &&
         memcmp(r.body[3].data, "zyy", 3) == 0,
     "a chunked body, without its framing");
  ok(m->nfields == 2, "trailer fields are not among the fields");
  m = &r.msg[4];
  ok(m->method_name == NULL && m->method_id == HW__METHOD_OTHER &&
         span_is(m, m->method, "QUERY") && m->version == 10 && !r.keep[4],
     "an unlisted method is kept as sent; HTTP/1.0 is not persistent");
  ok(m->host.len == 0, "no Host, no host");
  m = &r.msg[5];
  ok(m->is_head && !r.keep[5], "HEAD; Connection: close");
  rec_free(&r);

  /* A method split across reads keeps its bytes. */
  rec_init(&r);
  o = drive(&r, "BREWING /pot HTTP/1.1\r\nHost: x\r\n\r\n", 34, 1, 0);
  ok(o.ndone == 1 && span_is(&r.msg[0], r.msg[0].method, "BREWING") &&
         span_is(&r.msg[0], r.msg[0].target, "/pot"),
     "an unlisted method read byte by byte");
  rec_free(&r);

  /* CONNECT: 405 from the checks (its target is an authority). */
  rec_init(&r);
  o = drive(&r, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 40, 0, 0);
  is_int(o.status, 405, "CONNECT: 405");
  rec_free(&r);
}

/* The callbacks steer the parse. */
static void test_callbacks(void) {
  const char *two = NEXT NEXT;
  rec r;
  outcome o;
  hw__h1_parser ps;
  int status;
  size_t used;

  /* `done` asking to stop: the parse stops right after the message, and
   * the next call goes on from there. */
  rec_init(&r);
  r.stop = 1;
  hw__h1_parser_init(&ps);
  used = hw__h1_parser_feed(&ps, &limits, NULL, two, strlen(two), &cb, &r,
                            &status);
  ok(status == 0 && r.ndone == 1 && used == strlen(NEXT),
     "done() stops the parse after its message");
  used += hw__h1_parser_feed(&ps, &limits, NULL, two + used, strlen(two) - used,
                             &cb, &r, &status);
  ok(status == 0 && r.ndone == 2 && used == strlen(two),
     "and the next call parses the next");
  rec_free(&r);

  /* `head` refusing: the parse ends with its status. */
  rec_init(&r);
  r.head_status = 413;
  o = drive(&r, two, strlen(two), 0, 0);
  ok(o.status == 413 && o.ndone == 0, "head() refusing ends the parse");
  rec_free(&r);

  /* `begin` without memory: 500. */
  rec_init(&r);
  r.nmsg = MAXMSG;
  o = drive(&r, two, strlen(two), 0, 0);
  is_int(o.status, 500, "begin() without a message: 500");
  r.nmsg = 0;
  rec_free(&r);
}

int main(void) {
  test_cases();
  test_splits();
  test_limits();
  test_messages();
  test_callbacks();
  return done_testing();
}
