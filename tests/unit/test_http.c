/*
 * test_http.c - unit tests of http.c and request.c without sockets: bytes are
 * fed to a connection's parser the way conn.c does during a read (with
 * flushing held back), and the queue of requests it builds is inspected.
 * Routes are served by the behave and hello fixture modules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

static hw__worker w;
static char cfgpath[600];

static hw__conn *conn_new(void) {
  hw__conn *c = calloc(1, sizeof(*c));
  c->w = &w;
  c->in_read = 1; /* as during a read: nothing is written */
  hw__http_init(&c->parser, c);
  return c;
}

static void conn_free(hw__conn *c) {
  while (c->qhead != NULL) {
    hw_request *r = c->qhead;
    c->qhead = r->next;
    hw__request_free(r);
  }
  if (c->cur != NULL)
    hw__request_free(c->cur);
  free(c);
}

static size_t feed(hw__conn *c, const char *s, int *failed) {
  return hw__http_feed(&c->parser, s, strlen(s), failed);
}

static hw_request *nth(hw__conn *c, unsigned n) {
  hw_request *r = c->qhead;
  while (r != NULL && n-- > 0)
    r = r->next;
  return r;
}

static int str_is(hw_str s, const char *want) {
  return s.len == strlen(want) && memcmp(s.data, want, s.len) == 0;
}

static int body_is(hw_request *r, const char *want) {
  return r != NULL && r->res.body.len == strlen(want) &&
         memcmp(r->res.body.data, want, r->res.body.len) == 0;
}

static void head_of(hw_request *r, int keep, char *out, size_t len) {
  hw__buf b = {0};
  hw__http_write_head(r, keep, &b);
  snprintf(out, len, "%.*s", (int)b.len, b.data);
  hw__buf_free(&b);
}

/* ---- strict parsing ---------------------------------------------------- */

static hw__generation *the_gen;

#define NEXT "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"

/* What a connection made of a request: the status of the first queued
 * response (0: none), how many were queued, whether the parse failed and
 * whether the connection takes no more. */
typedef struct outcome {
  int status, nqueued, failed, no_more, close_after;
} outcome;

/* Feeds `n` bytes to a new connection: whole (step 0), `step` bytes at a
 * time, or in two pieces cut at `cut` (step SIZE_MAX). */
static outcome drive(const char *s, size_t n, size_t step, size_t cut) {
  hw__conn *c = conn_new();
  outcome o = {0, 0, 0, 0, 0};
  size_t off = 0;
  int failed = 0;

  while (off < n && !failed && !c->no_more) {
    size_t len = n - off, used;
    if (step == SIZE_MAX)
      len = off < cut ? cut - off : n - off;
    else if (step != 0 && len > step)
      len = step;
    used = hw__http_feed(&c->parser, s + off, len, &failed);
    if (used < len && !failed && !c->no_more)
      break; /* paused: not expected here */
    off += len;
  }
  o.failed = failed;
  o.nqueued = (int)c->nqueued;
  o.no_more = c->no_more;
  if (c->qhead != NULL) {
    o.status = c->qhead->res.status;
    o.close_after = c->qhead->close_after;
  }
  conn_free(c);
  return o;
}

typedef struct strict_case {
  const char *name;
  const char *req;
  int status;
} strict_case;

static const strict_case strict_cases[] = {
    /* the request line: method SP request-target SP HTTP-version CRLF */
    {"plain GET", "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"empty lines before the request line",
     "\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"two spaces after the method", "GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"two spaces after the target", "GET /hello  HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"tab after the method", "GET\t/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"space after the version", "GET /hello HTTP/1.1 \r\nHost: x\r\n\r\n",
     400},
    {"bare LF after the request line", "GET /hello HTTP/1.1\nHost: x\r\n\r\n",
     400},
    {"CR without LF after the request line",
     "GET /hello HTTP/1.1\rHost: x\r\n\r\n", 400},
    {"lower-case http", "GET /hello http/1.1\r\nHost: x\r\n\r\n", 400},
    {"two-digit minor version", "GET /hello HTTP/1.10\r\nHost: x\r\n\r\n",
     400},
    {"malformed version", "GET /hello HTTP/9.Z\r\nHost: x\r\n\r\n", 400},
    {"HTTP/0.9 request", "GET /hello\r\n\r\n", 400},
    {"NUL in the target", "GET /he\001lo HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"non-ASCII in the target", "GET /h\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
    {"HTTP/0.9 with a version", "GET /hello HTTP/0.9\r\nHost: x\r\n\r\n",
     505},
    {"HTTP/1.2 is answered as 1.1", "GET /hello HTTP/1.2\r\nHost: x\r\n\r\n",
     200},
    /* methods: any token reaches the modules (hello answers every one) */
    {"unknown method", "FOO /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"lower-case method", "get /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"prefix of a method", "GE /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"QUERY", "QUERY /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     "\r\nab", 200},
    {"a long unknown method",
     "LONGER-THAN-ANY-METHOD /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"method with a non-token byte", "G(T /hello HTTP/1.1\r\nHost: x\r\n\r\n",
     400},
    {"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
     405},
    {"M-SEARCH is one of http-parser's methods",
     "M-SEARCH /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    /* Host */
    {"HTTP/1.1 without Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
    {"two Host fields", "GET /hello HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
     400},
    {"two Host fields in HTTP/1.0",
     "GET /hello HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n", 400},
    {"HTTP/1.0 without Host",
     "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200},
    {"Host with userinfo", "GET /hello HTTP/1.1\r\nHost: u@x\r\n\r\n", 400},
    {"Host with a port", "GET /hello HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 200},
    {"empty Host", "GET /hello HTTP/1.1\r\nHost:\r\n\r\n", 200},
    {"Host with an empty port", "GET /hello HTTP/1.1\r\nHost: x:\r\n\r\n",
     200},
    {"Host IPv4 and port",
     "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 200},
    {"Host with pct-encoding and sub-delims",
     "GET /hello HTTP/1.1\r\nHost: a%41_b!$&'()*+,;=.example\r\n\r\n", 200},
    {"Host IPvFuture", "GET /hello HTTP/1.1\r\nHost: [v1.fe:x]\r\n\r\n",
     200},
    {"Host port not digits",
     "GET /hello HTTP/1.1\r\nHost: example.com:abc\r\n\r\n", 400},
    {"Host port with a letter after it",
     "GET /hello HTTP/1.1\r\nHost: x:80x\r\n\r\n", 400},
    {"Host of a port alone with a letter",
     "GET /hello HTTP/1.1\r\nHost: :80x\r\n\r\n", 400},
    {"Host with a second colon", "GET /hello HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
     400},
    {"Host unbalanced IP-literal",
     "GET /hello HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
    {"Host IP-literal that is not IPv6",
     "GET /hello HTTP/1.1\r\nHost: [1.2.3.4]\r\n\r\n", 400},
    {"Host IP-literal with a bad digit",
     "GET /hello HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400},
    {"Host IP-literal followed by more",
     "GET /hello HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
    {"Host bracket inside a name",
     "GET /hello HTTP/1.1\r\nHost: a[b]\r\n\r\n", 400},
    {"Host truncated pct-encoding",
     "GET /hello HTTP/1.1\r\nHost: ex%4\r\n\r\n", 400},
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
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\tb \xff\r\n\r\n", 200},
    /* Content-Length and Transfer-Encoding */
    {"Content-Length",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 200},
    {"Content-Length with OWS",
     "POST /a/x HTTP/1.1\r\nHost: x\r\nContent-Length:\t 3\t \r\n\r\nabc", 200},
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
     200},
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
     200},
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
    {"absolute-form", "GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"absolute-form with userinfo",
     "GET http://u:p@x/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"absolute-form with an empty host",
     "GET http:///hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"asterisk-form with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"asterisk and more", "OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"encoded path", "GET /h%65llo HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"dot segments", "GET /a/../x/./../hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"encoded dot segments", "GET /a/%2e%2E/hello HTTP/1.1\r\nHost: x\r\n\r\n",
     200},
    {"climbing above the root",
     "GET /a/../../hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"encoded climb above the root",
     "GET /%2e%2e/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"%00 in the path", "GET /hello%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"invalid escape", "GET /hello%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"truncated escape", "GET /hello%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"escape in the query is not decoded",
     "GET /hello?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"every reserved character of RFC 3986",
     "GET /hello/:@!$&'()*+,;=[]-._~?/?:@ HTTP/1.1\r\nHost: x\r\n\r\n", 200},
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
     "GET http://[::1]:80/hello HTTP/1.1\r\nHost: x\r\n\r\n", 200},
};

/* Requests the server answers itself with an error status but whose
 * framing is sound: the connection goes on with the next request. */
static const strict_case kept_cases[] = {
    {"GET with no route", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    {"unknown method with no route", "FOO /nope HTTP/1.1\r\nHost: x\r\n\r\n",
     501},
    {"PATCH (not in RFC 9110 section 9.3) with no route",
     "PATCH /nope HTTP/1.1\r\nHost: x\r\n\r\n", 501},
    {"DELETE with no route", "DELETE /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    {"unknown method that every route declines",
     "FOO /a/decline HTTP/1.1\r\nHost: x\r\n\r\n", 501},
};

#define NSTRICT (sizeof(strict_cases) / sizeof(strict_cases[0]))

static void test_kept(void) {
  char buf[1024];

  for (size_t i = 0; i < sizeof(kept_cases) / sizeof(kept_cases[0]); i++) {
    const strict_case *sc = &kept_cases[i];
    size_t n = strlen(sc->req);
    outcome o;

    memcpy(buf, sc->req, n);
    memcpy(buf + n, NEXT, sizeof(NEXT) - 1);
    o = drive(buf, n + sizeof(NEXT) - 1, 0, 0);
    ok(o.status == sc->status && o.nqueued == 2 && !o.failed &&
           !o.close_after,
       "%s: %d, then the next request", sc->name, sc->status);
    if (o.status != sc->status || o.nqueued != 2)
      diag("got status %d, %d queued, failed %d", o.status, o.nqueued,
           o.failed);
  }
}

static void test_strict(void) {
  char buf[1024];

  for (size_t i = 0; i < NSTRICT; i++) {
    const strict_case *sc = &strict_cases[i];
    size_t n = strlen(sc->req);
    outcome o;

    /* The one case holding a NUL is measured to the end of its head. */
    if (strcmp(sc->name, "NUL in a name") == 0)
      n = sizeof("GET /hello HTTP/1.1\r\nHost: x\r\nX\000: v\r\n\r\n") - 1;
    /* A good request must not hide the one after it, and after an error
     * nothing more is parsed. */
    memcpy(buf, sc->req, n);
    memcpy(buf + n, NEXT, sizeof(NEXT) - 1);
    o = drive(buf, n + sizeof(NEXT) - 1, 0, 0);
    if (sc->status >= 400) {
      ok(o.status == sc->status && o.nqueued == 1 && o.failed && o.no_more &&
             o.close_after,
         "%s: %d, close, the next request unread", sc->name, sc->status);
      if (o.status != sc->status || o.nqueued != 1)
        diag("got status %d, %d queued, failed %d", o.status, o.nqueued,
             o.failed);
    } else {
      ok(o.status == sc->status && o.nqueued == 2 && !o.failed,
         "%s: %d, then the next request", sc->name, sc->status);
      if (o.status != sc->status || o.nqueued != 2)
        diag("got status %d, %d queued, failed %d", o.status, o.nqueued,
             o.failed);
    }
  }
}

/* The same verdict however the bytes are split: one at a time, and in two
 * pieces cut at every byte. */
static void test_splits(void) {
  static const char *const names[] = {
      "plain GET",
      "two spaces after the method",
      "bare LF after the request line",
      "HTTP/2.0",
      "unknown method",
      "space before the colon",
      "obsolete line folding",
      "TE gzip then chunked",
      "chunks with extensions and a trailer",
      "chunk data not followed by CRLF",
      "TE with an unknown coding and no chunked",
      "a long unknown method",
      "Host unbalanced IP-literal",
      "a fragment after the query",
      "dot segments",
      "OPTIONS *",
      "Content-Length with OWS",
      "chunk size of 17 digits"};
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    const strict_case *sc = NULL;
    size_t n;
    int bad = 0;
    outcome whole, o;

    for (size_t i = 0; i < NSTRICT; i++)
      if (strcmp(strict_cases[i].name, names[k]) == 0)
        sc = &strict_cases[i];
    if (sc == NULL) {
      ok(0, "split case %s exists", names[k]);
      continue;
    }
    n = strlen(sc->req);
    whole = drive(sc->req, n, 0, 0);
    o = drive(sc->req, n, 1, 0);
    bad |= o.status != whole.status || o.nqueued != whole.nqueued;
    for (size_t cut = 1; cut < n; cut++) {
      o = drive(sc->req, n, SIZE_MAX, cut);
      if (o.status != whole.status || o.nqueued != whole.nqueued) {
        if (!bad)
          diag("cut at %zu: status %d, %d queued", cut, o.status, o.nqueued);
        bad = 1;
      }
    }
    ok(whole.status == sc->status && !bad,
       "%s: %d however the bytes are split", sc->name, sc->status);
  }
}

/* Limits from config, read as the bytes arrive. */
static void test_limits(void) {
  hw__config *cfg = the_gen->config;
  size_t line = cfg->limit_request_line, hb = cfg->limit_header_bytes,
         nh = cfg->limit_headers;
  /* "GET /hello HTTP/1.1" is 19 bytes; "Host" + "x" + "X-A" + " aaaa" 13. */
  const char *req = "GET /hello HTTP/1.1\r\nHost:x\r\nX-A: aaaa\r\n\r\n";
  outcome o;

  cfg->limit_request_line = 19;
  o = drive(req, strlen(req), 0, 0);
  is_int(o.status, 200, "request line at the limit: 200");
  cfg->limit_request_line = 18;
  o = drive(req, strlen(req), 0, 0);
  is_int(o.status, 414, "request line over the limit: 414");
  o = drive("GET /hello HTTP", 15, 0, 0);
  is_int(o.status, 0, "request line at 15 of 18 bytes: waiting");
  cfg->limit_request_line = 12;
  o = drive("GET /hello HTTP", 15, 0, 0);
  ok(o.status == 414 && o.failed,
     "request line over the limit before it ends: 414");
  o = drive(req, strlen(req), 1, 0);
  is_int(o.status, 414, "request line over the limit, byte by byte: 414");
  cfg->limit_request_line = line;

  cfg->limit_header_bytes = 13;
  o = drive(req, strlen(req), 0, 0);
  is_int(o.status, 200, "header bytes at the limit: 200");
  cfg->limit_header_bytes = 12;
  o = drive(req, strlen(req), 0, 0);
  is_int(o.status, 431, "header bytes over the limit: 431");
  o = drive(req, strlen(req), 1, 0);
  is_int(o.status, 431, "header bytes over the limit, byte by byte: 431");
  cfg->limit_header_bytes = 4;
  o = drive("GET /hello HTTP/1.1\r\nHost:xxxxxxxx", 34, 0, 0);
  ok(o.status == 431 && o.failed,
     "header bytes over the limit before the line ends: 431");
  cfg->limit_header_bytes = hb;

  /* Chunk extensions use what the header section left: "Host: x" and
   * "Transfer-Encoding: chunked" count 6 + 25 bytes. */
  cfg->limit_header_bytes = 36;
  {
    const char *ext5 = "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n1;eeeee\r\nz\r\n0\r\n\r\n";
    const char *ext6 = "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n1;eeeeee\r\nz\r\n0\r\n\r\n";
    o = drive(ext5, strlen(ext5), 0, 0);
    is_int(o.status, 200, "chunk extensions within the header budget: 200");
    o = drive(ext6, strlen(ext6), 0, 0);
    is_int(o.status, 413, "chunk extensions over the header budget: 413");
    o = drive(ext6, strlen(ext6), 1, 0);
    is_int(o.status, 413, "the same, byte by byte: 413");
  }
  cfg->limit_header_bytes = hb;

  cfg->limit_headers = 2;
  o = drive(req, strlen(req), 0, 0);
  is_int(o.status, 200, "header fields at the limit: 200");
  cfg->limit_headers = 1;
  o = drive(req, strlen(req), 0, 0);
  is_int(o.status, 431, "one header field over the limit: 431");
  cfg->limit_headers = nh;
}

/* What modules see of targets, paths and fields. */
static void test_views(void) {
  hw__conn *c = conn_new();
  hw_request *r;
  hw_str v;
  int failed;

  feed(c,
       "GET /a/b/./x/../%69nfo?q=%41 HTTP/1.1\r\nHost: x\r\n\r\n"
       "GET /a/b/info HTTP/1.1\r\nHost: x\r\nX-A: v \t \r\n\r\n"
       "GET http://h?x HTTP/1.1\r\nHost: x\r\n\r\n"
       "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "1\r\nz\r\n0\r\nX-Trailer: t\r\n\r\n",
       &failed);
  ok(!failed && c->nqueued == 4, "four requests");
  r = nth(c, 0);
  ok(r != NULL && str_is(hw__host.target(r), "/a/b/./x/../%69nfo?q=%41"),
     "target is the raw target");
  ok(r != NULL && str_is(hw__host.path(r), "/a/b/info"),
     "path is decoded and normalised");
  ok(r != NULL && str_is(hw__host.query(r), "q=%41"), "query is not decoded");
  ok(body_is(r, "prefix=/a/b rest=/info query=q=%41 version=11"),
     "routed by the normalised path");
  r = nth(c, 1);
  ok(r != NULL && r->path.off == r->target.off && r->path.len == 9,
     "a plain path is not copied");
  ok(r != NULL && hw__host.header(r, "x-a", 3, &v) == 0 && str_is(v, "v"),
     "OWS around a value is not part of it");
  r = nth(c, 2);
  ok(r != NULL && str_is(hw__host.path(r), "/") &&
         str_is(hw__host.query(r), "x"),
     "absolute-form with an empty path has the path /");
  r = nth(c, 3);
  ok(r != NULL && r->res.status == 200 &&
         hw__host.header(r, "x-trailer", 9, &v) == HW_ENOENT &&
         hw__host.header_count(r) == 2,
     "trailer fields are not merged into the header fields");
  conn_free(c);

  /* Any method token reaches the module as sent, also when a read splits
   * it; the request's host is the authority of an absolute-form target,
   * else the Host field, which stays as received. */
  c = conn_new();
  feed(c, "FOO /a/b/info HTTP/1.1\r\nHost: b.example\r\n\r\n"
          "GET http://a.example:81/a/b/info HTTP/1.1\r\nHost: b.example\r\n"
          "\r\n"
          "QU",
       &failed);
  feed(c, "ERY /a/b/info HTTP/1.0\r\n\r\n", &failed);
  r = nth(c, 0);
  ok(r != NULL && str_is(hw__host.method(r), "FOO") &&
         body_is(r, "prefix=/a/b rest=/info query= version=11"),
     "an unknown method is routed and handed over as sent");
  ok(r != NULL && r->host.len == 9 &&
         memcmp(r->head.data + r->host.off, "b.example", 9) == 0,
     "origin-form: the host is the Host field");
  r = nth(c, 1);
  ok(r != NULL && r->host.len == 12 &&
         memcmp(r->head.data + r->host.off, "a.example:81", 12) == 0,
     "absolute-form: the host is the target's authority");
  ok(r != NULL && hw__host.header(r, "Host", 4, &v) == 0 &&
         str_is(v, "b.example"),
     "absolute-form: header(\"Host\") is the field as received");
  r = nth(c, 2);
  ok(r != NULL && str_is(hw__host.method(r), "QUERY") && r->host.len == 0,
     "a method split across reads keeps its bytes; no Host, no host");
  conn_free(c);

  /* HTTP/1.2 is HTTP/1.1 to modules. */
  c = conn_new();
  feed(c, "GET /a/b/info HTTP/1.2\r\nHost: x\r\n\r\n", &failed);
  ok(body_is(nth(c, 0), "prefix=/a/b rest=/info query= version=11"),
     "HTTP/1.2 is served as HTTP/1.1");
  conn_free(c);

  /* CONNECT gets 405 with Allow. */
  c = conn_new();
  feed(c, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", &failed);
  r = nth(c, 0);
  if (r != NULL) {
    char head[1024];
    head_of(r, 0, head, sizeof(head));
    contains(head, "\r\nAllow: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n",
             "405 to CONNECT has Allow");
  } else {
    ok(0, "405 to CONNECT has Allow");
  }
  conn_free(c);
}

int main(void) {
  const char *bdir = getenv("HW_BUILDDIR");
  char json[2048], err[1024], head[1024];
  hw__config *cfg;
  hw__generation *gen;
  hw__conn *c;
  hw_request *r;
  hw_str v, n;
  int failed;
  size_t used;

  if (bdir == NULL)
    bdir = ".";
  snprintf(cfgpath, sizeof(cfgpath), "%s/tests/routes.json", bdir);
  snprintf(json, sizeof(json),
           "{\"modules_dir\":\"%s/tests/fixtures\",\"limits\":{\"body\":64},"
           "\"routes\":["
           "{\"prefix\":\"/hello\",\"module\":\"%s/modules/hello.so\"},"
           "{\"prefix\":\"/a\",\"module\":\"behave.so\",\"config\":{\"name\":\"A\"}},"
           "{\"prefix\":\"/a/b\",\"module\":\"behave.so\",\"config\":{\"name\":\"B\"}}]}",
           bdir, bdir);
  if (hw__config_parse(json, strlen(json), cfgpath, &cfg, err, sizeof(err)) !=
          0 ||
      hw__generation_build(cfg, 1, &gen, err, sizeof(err)) != 0) {
    printf("1..0 # SKIP cannot build the test generation: %s\n", err);
    return 0;
  }
  hw__worker_init(&w, uv_default_loop(), gen);

  /* Two pipelined requests in one read: both parsed, routed, answered. */
  c = conn_new();
  used = feed(c,
              "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /a/b/info?x=1&y HTTP/1.1\r\nHost: x\r\nX-Test: one\r\n"
              "x-test: two\r\n\r\n",
              &failed);
  ok(!failed, "pipelined requests parse");
  is_int(c->nqueued, 2, "two requests queued");
  r = nth(c, 0);
  ok(r != NULL && r->state == HW__REQ_DONE && r->res.status == 200,
     "first answered 200");
  ok(body_is(r, "Hello, World!"), "first answered by hello");
  r = nth(c, 1);
  ok(r != NULL && r->state == HW__REQ_DONE, "second answered");
  ok(body_is(r, "prefix=/a/b rest=/info query=x=1&y version=11"),
     "second routed to /a/b with rest and query");
  ok(str_is(hw__host.method(r), "GET"), "method");
  ok(str_is(hw__host.target(r), "/a/b/info?x=1&y"), "raw target");
  ok(str_is(hw__host.path(r), "/a/b/info"), "path without query");
  is_int((long long)hw__host.header_count(r), 3, "three header fields");
  ok(hw__host.header(r, "X-TEST", 6, &v) == 0 && str_is(v, "one"),
     "header lookup is case-insensitive and finds the first");
  ok(hw__host.header_at(r, 2, &n, &v) == 0 && str_is(n, "x-test") &&
         str_is(v, "two"),
     "header_at keeps order and spelling");
  ok(hw__host.header_at(r, 3, &n, &v) == HW_ENOENT, "header_at past the end");
  ok(hw__host.header(r, "missing", 7, &v) == HW_ENOENT, "missing header");
  ok(r->keep_alive, "HTTP/1.1 is persistent by default");
  conn_free(c);

  /* The same bytes one at a time: requests split across reads anywhere. */
  {
    const char *s = "POST /a/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                    "chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
                    "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    int bad = 0;
    c = conn_new();
    for (size_t i = 0; s[i] != '\0'; i++) {
      hw__http_feed(&c->parser, s + i, 1, &failed);
      bad |= failed;
    }
    ok(!bad, "byte-at-a-time parse");
    is_int(c->nqueued, 2, "both requests queued");
    r = nth(c, 0);
    ok(r != NULL && r->body.len == 7 && memcmp(r->body.data, "abcdefg", 7) == 0,
       "chunked body delivered whole");
    ok(r != NULL && str_is(hw__host.body(r), "abcdefg"), "host body()");
    ok(body_is(nth(c, 1), "Hello, World!"), "request after it answered");
    conn_free(c);
  }

  /* Absolute-form and asterisk-form targets. */
  c = conn_new();
  feed(c, "GET http://example.com/a/b/info?q HTTP/1.1\r\nHost: x\r\n\r\n"
          "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
       &failed);
  ok(body_is(nth(c, 0), "prefix=/a/b rest=/info query=q version=11"),
     "absolute-form routed by its path");
  r = nth(c, 1);
  ok(r != NULL && r->res.status == 200 && r->route == NULL,
     "OPTIONS * is answered by the host: 200");
  head_of(r, 1, head, sizeof(head));
  contains(head, "\r\nAllow: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n",
           "OPTIONS * lists the methods in Allow");
  contains(head, "\r\nContent-Length: 0\r\n", "OPTIONS * has no body");
  conn_free(c);

  /* Declines fall through to the next shorter prefix, then 404. */
  c = conn_new();
  feed(c, "GET /a/b/decline HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /a/decline HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /a/error HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /ax HTTP/1.1\r\nHost: x\r\n\r\n",
       &failed);
  r = nth(c, 0);
  ok(r != NULL && r->res.status == 200 && r->route != NULL &&
         r->route->prefix_len == 2,
     "/a/b declined, /a answered");
  ok(body_is(r, "behave"), "and its output is /a's alone");
  is_int(nth(c, 1) ? nth(c, 1)->res.status : 0, 404, "no shorter route: 404");
  is_int(nth(c, 2) ? nth(c, 2)->res.status : 0, 500, "module error: 500");
  is_int(nth(c, 3) ? nth(c, 3)->res.status : 0, 404, "/ax is not under /a");
  conn_free(c);

  /* Keep-alive rules: 1.0 closes unless asked, Connection: close honoured,
   * and nothing after a closing request is parsed. */
  c = conn_new();
  used = feed(c,
              "GET /hello HTTP/1.0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
              &failed);
  r = nth(c, 0);
  ok(r != NULL && !r->keep_alive, "HTTP/1.0 is not persistent");
  is_int(c->nqueued, 1, "nothing parsed after it");
  ok(c->no_more, "connection takes no more requests");
  ok(used < strlen("GET /hello HTTP/1.0\r\n\r\nGET /hello HTTP/1.1\r\nHost: "
                   "x\r\n\r\n"),
     "the rest of the read is left");
  head_of(r, 0, head, sizeof(head));
  contains(head, "Connection: close\r\n", "its response says close");
  conn_free(c);

  c = conn_new();
  feed(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &failed);
  r = nth(c, 0);
  ok(r != NULL && r->keep_alive, "HTTP/1.0 keep-alive is persistent");
  head_of(r, 1, head, sizeof(head));
  contains(head, "Connection: keep-alive\r\n", "and its response says so");
  conn_free(c);

  c = conn_new();
  feed(c, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
          "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
       &failed);
  ok(nth(c, 0) != NULL && !nth(c, 0)->keep_alive, "Connection: close honoured");
  is_int(c->nqueued, 1, "nothing parsed after Connection: close");
  conn_free(c);

  /* Response header fields: the checks add_header makes, shared by the
   * prepared fields of ABI 1.1. */
  c = conn_new();
  feed(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &failed);
  r = nth(c, 0);
  ok(r != NULL, "a request to build a response on");
  if (r != NULL) {
    static const char want[] = "X-Ok: a\tb\r\nCache-Control: no-store\r\n";
    hw_header *hp = NULL, *bad = NULL;
    r->state = HW__REQ_RUNNING; /* as inside handle() */
    r->res.headers.len = 0;
    is_int(hw__host.add_header(&r->res, "X-Ok", 4, "a\tb", 3), 0,
           "add_header: a valid field (HTAB is allowed in a value)");
    is_int(hw__host.add_header(&r->res, "Bad Name", 8, "v", 1), HW_EINVAL,
           "add_header: a name that is not a token");
    is_int(hw__host.add_header(&r->res, "", 0, "v", 1), HW_EINVAL,
           "add_header: an empty name");
    is_int(hw__host.add_header(&r->res, "content-length", 14, "1", 1),
           HW_EINVAL, "add_header: a field of the host's");
    is_int(hw__host.add_header(&r->res, "X-Split", 7, "a\r\nX-Evil: 1", 12),
           HW_EINVAL, "add_header: CR LF in a value");
    is_int(hw__host.add_header(&r->res, "X-Mid", 5, "abc\rdefgh", 9),
           HW_EINVAL, "add_header: a CR inside a value of 8 to 16 bytes");
    is_int(hw__host.add_header(&r->res, "X-Long", 6, "0123456789abcdef\n", 17),
           HW_EINVAL, "add_header: LF at the end of a long value");
    is_int(hw__host.header_prepare("Cache-Control", 13, "no-store", 8, &hp), 0,
           "header_prepare: a valid field");
    bad = hp;
    is_int(hw__host.header_prepare("Server", 6, "x", 1, &bad), HW_EINVAL,
           "header_prepare: a field of the host's");
    ok(bad == NULL, "header_prepare: *out is NULL after a failure");
    is_int(hw__host.header_prepare("X-A", 3, "a\0b", 3, &bad), HW_EINVAL,
           "header_prepare: NUL in a value");
    is_int(hw__host.header_prepare("X(A)", 4, "v", 1, &bad), HW_EINVAL,
           "header_prepare: a name that is not a token");
    is_int(hw__host.add_prepared(&r->res, hp), 0, "add_prepared");
    ok(r->res.headers.len == sizeof(want) - 1 &&
           memcmp(r->res.headers.data, want, sizeof(want) - 1) == 0,
       "only the valid fields were added, in order");
    r->state = HW__REQ_DONE;
    is_int(hw__host.add_prepared(&r->res, hp), HW_ESTATE,
           "add_prepared once the response is complete");
    is_int(hw__host.add_header(&r->res, "X-Late", 6, "v", 1), HW_ESTATE,
           "add_header once the response is complete");
    hw__host.header_free(hp);
    hw__host.header_free(NULL);
    ok(HW_HOST_HAS(&hw__host, header_free) && hw__host.abi_minor >= 1,
       "the host table has the ABI 1.1 members");
  }
  conn_free(c);

  /* The response head. */
  c = conn_new();
  feed(c, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n", &failed);
  r = nth(c, 0);
  ok(r != NULL && r->is_head && r->res.body.len == 0 && r->res.body_len == 13,
     "HEAD: body counted, not kept");
  head_of(r, 1, head, sizeof(head));
  ok(strncmp(head, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line");
  contains(head, "\r\nServer: haywire\r\n", "Server header");
  contains(head, "\r\nDate: ", "Date header");
  contains(head, " GMT\r\n", "Date in GMT");
  contains(head, "\r\nContent-Length: 13\r\n", "Content-Length of the GET body");
  contains(head, "\r\nContent-Type: text/plain\r\n", "module header");
  ok(strstr(head, "Connection:") == NULL, "no Connection header for 1.1 keep-alive");
  ok(strlen(head) > 4 && strcmp(head + strlen(head) - 4, "\r\n\r\n") == 0,
     "head ends with a blank line");
  r->res.status = 204;
  head_of(r, 1, head, sizeof(head));
  ok(strstr(head, "Content-Length") == NULL, "204 has no Content-Length");
  conn_free(c);

  /* Bodies over the limit (64 bytes here): declared or streamed. */
  c = conn_new();
  feed(c, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n", &failed);
  r = nth(c, 0);
  is_int(r ? r->res.status : 0, 413, "declared body over the limit: 413");
  ok(r != NULL && r->close_after && c->no_more, "and the connection ends");
  conn_free(c);
  c = conn_new();
  feed(c, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n", &failed);
  ok(c->cur != NULL && c->nqueued == 0, "body at the limit is being read");
  {
    char body[65];
    memset(body, 'z', 64);
    body[64] = '\0';
    feed(c, body, &failed);
  }
  is_int(nth(c, 0) ? nth(c, 0)->res.status : 0, 200, "body at the limit: 200");
  conn_free(c);
  c = conn_new();
  feed(c,
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "40\r\n0123456789012345678901234567890123456789012345678901234567890123"
       "\r\n1\r\nX\r\n0\r\n\r\n",
       &failed);
  is_int(nth(c, 0) ? nth(c, 0)->res.status : 0, 413,
         "chunked body over the limit: 413");
  conn_free(c);

  /* Malformed input: 400 and the end of the connection. */
  c = conn_new();
  feed(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", &failed);
  ok(failed, "garbage fails the parse");
  is_int(c->nqueued, 2, "the good request and the error are queued");
  is_int(nth(c, 1) ? nth(c, 1)->res.status : 0, 400, "garbage: 400");
  ok(nth(c, 1) != NULL && nth(c, 1)->close_after, "400 closes");
  conn_free(c);
  c = conn_new();
  feed(c, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", &failed);
  is_int(nth(c, 0) ? nth(c, 0)->res.status : 0, 400, "bad header line: 400");
  conn_free(c);

  /* Back-pressure: the parser pauses once too many requests wait. */
  {
    static const char one[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    const size_t len1 = sizeof(one) - 1;
    hw__buf many = {0};
    for (int i = 0; i < 100; i++)
      hw__buf_append(&many, one, len1);
    c = conn_new();
    used = hw__http_feed(&c->parser, many.data, many.len, &failed);
    ok(!failed, "100 pipelined requests parse");
    is_int(c->nqueued, HW__MAX_QUEUED + 1, "parsing paused past the limit");
    is_int((long long)used, (HW__MAX_QUEUED + 1) * len1, "the rest is left");
    hw__http_unpause(&c->parser);
    while (c->qhead != NULL) {
      r = c->qhead;
      c->qhead = r->next;
      c->nqueued--;
      hw__request_free(r);
    }
    c->qtail = NULL;
    used += hw__http_feed(&c->parser, many.data + used, many.len - used,
                          &failed);
    is_int(c->nqueued, HW__MAX_QUEUED + 1, "resumes and pauses again");
    conn_free(c);
    hw__buf_free(&many);
  }

  the_gen = gen;
  test_strict();
  test_kept();
  test_splits();
  test_limits();
  test_views();

  /* The generation counts the requests pinned to it. */
  is_int((long long)gen->live, 0, "every request unpinned its generation");

  uv_close((uv_handle_t *)&w.date_timer, NULL);
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);
  hw__worker_destroy(&w);
  uv_loop_close(uv_default_loop());
  return done_testing();
}
