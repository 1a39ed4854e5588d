/*
 * test_host.c - unit tests of the function table modules call
 * (server/host.c): what a module reads of a request (method, target, path,
 * query, fields as received) and the checks on what it adds to a response
 * (field names and values, the host's own fields, calls once the response
 * is complete), the prepared fields of ABI 1.1 included.  A request is
 * made by the core and its head read by the HTTP/1 parser; no connection.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1_parser.h"
#include "host.h"
#include "request.h"
#include "tap.h"

static hw_request *req;

static hw__message *on_begin(void *ctx) {
  return &req->msg;
}
static int on_head(void *ctx, hw__message *m, const hw__h1_head *h, int k) {
  return 0;
}
static int on_body(void *ctx, const char *d, size_t n) {
  return 0;
}
static int on_done(void *ctx) {
  return 1;
}
static const hw__h1_parser_cb cb = {on_begin, on_head, on_body, on_done};

static void no_ready(hw_request *r) {
  (void)r;
}
static void no_cancel(hw_request *r) {
  (void)r;
}
static int no_peer(const hw_request *r, char *b, size_t n) {
  return -1;
}
static size_t no_unsent(const hw_request *r) {
  (void)r;
  return 0;
}
static const hw__request_sink sink = {no_ready, no_cancel, no_peer, no_ready,
                                      no_unsent, NULL, NULL, NULL};

static int str_is(hw_str s, const char *want) {
  return s.len == strlen(want) && memcmp(s.data, want, s.len) == 0;
}

/* A request whose head is `head`, as a module sees it inside handle(). */
static hw_request *parsed(hw__request_core *core, const char *head) {
  hw__h1_parser ps;
  hw__h1_limits lim = {8192, 16384, 100};
  int status;
  req = hw__request_new(core, &sink, core);
  hw__h1_parser_init(&ps);
  hw__h1_parser_feed(&ps, &lim, NULL, head, strlen(head), &cb, NULL, &status);
  req->state = HW__REQ_RUNNING;
  return req;
}

static void test_reading(hw__request_core *core) {
  hw_request *r = parsed(core, "GET /a/b/./info?x=1&y HTTP/1.1\r\nHost: x\r\n"
                               "X-Test: one\r\nx-test: two\r\n\r\n");
  hw_str v, n;
  ok(str_is(hw__host.method(r), "GET"), "method");
  ok(str_is(hw__host.target(r), "/a/b/./info?x=1&y"), "target as sent");
  ok(str_is(hw__host.path(r), "/a/b/info"), "path normalised");
  ok(str_is(hw__host.query(r), "x=1&y"), "query");
  ok(hw__host.version(r) == 11, "version 11");
  is_int((long long)hw__host.header_count(r), 3, "three fields");
  ok(hw__host.header(r, "X-TEST", 6, &v) == 0 && str_is(v, "one"),
     "lookup is case-insensitive and finds the first");
  ok(hw__host.header_at(r, 2, &n, &v) == 0 && str_is(n, "x-test") &&
         str_is(v, "two"),
     "header_at keeps order and spelling");
  ok(hw__host.header_at(r, 3, &n, &v) == HW_ENOENT, "header_at past the end");
  ok(hw__host.header(r, "missing", 7, &v) == HW_ENOENT, "a missing field");
  ok(hw__host.header(r, "X^TEST", 6, &v) == HW_ENOENT,
     "only letters fold in a lookup");
  ok(str_is(hw__host.body(r), "") && hw__host.aborted(r) == 0,
     "no body; not aborted");
  ok(hw__host.peer(r, (char[64]){0}, 64) < 0, "peer() asks the protocol");
  r->state = HW__REQ_DONE;
  hw__request_free(r);

  r = parsed(core, "BREW /pot HTTP/1.0\r\n\r\n");
  ok(str_is(hw__host.method(r), "BREW") && hw__host.version(r) == 10,
     "an unlisted method as sent; HTTP/1.0");
  ok(str_is(hw__host.host(r), ""), "host(): empty without Host (HTTP/1.0)");
  r->state = HW__REQ_DONE;
  hw__request_free(r);
}

/* host() (ABI 1.2) is the request's host as RFC 9112 section 3.2.2 says:
 * an absolute-form target's authority wins over the Host field. */
static void test_host_of(hw__request_core *core) {
  static const struct {
    const char *head, *want, *name;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: b.example\r\n\r\n", "b.example",
       "the Host field"},
      {"GET / HTTP/1.1\r\nHost: B.Example:8080\r\n\r\n", "B.Example:8080",
       "the Host field as sent, port included"},
      {"GET http://a.example:8080/x?q HTTP/1.1\r\nHost: b.example\r\n\r\n",
       "a.example:8080", "an absolute-form target's authority"},
      {"GET http://[::1]:81/ HTTP/1.1\r\nHost: x\r\n\r\n", "[::1]:81",
       "an IPv6 literal authority"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    hw_request *r = parsed(core, cases[i].head);
    hw_str h = hw__host.host(r);
    ok(str_is(h, cases[i].want), "host(): %s", cases[i].name);
    r->state = HW__REQ_DONE;
    hw__request_free(r);
  }
  ok(HW_HOST_HAS(&hw__host, conf_error) && hw__host.abi_minor == HW_ABI_MINOR &&
         HW_HOST_HAS(&hw__host, metrics) && hw__host.metrics != NULL,
     "the host table has the ABI 1.2 and 1.4 members");
  ok(HW_HOST_HAS(&hw__host, body_pause) && hw__host.timer_start &&
         hw__host.timer_stop && hw__host.queue_work && hw__host.stream &&
         hw__host.on_writable && hw__host.write_file && hw__host.body_stream &&
         hw__host.body_pause,
     "the host table has the ABI 1.3 members");
}

static void test_fields(hw__request_core *core) {
  static const char want[] = "X-Ok: a\tb\r\nCache-Control: no-store\r\n";
  hw_request *r = parsed(core, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  hw_header *hp = NULL, *bad = NULL;

  r->res.headers.len = 0;
  is_int(hw__host.add_header(&r->res, "X-Ok", 4, "a\tb", 3), 0,
         "add_header: a valid field (HTAB is allowed in a value)");
  is_int(hw__host.add_header(&r->res, "Bad Name", 8, "v", 1), HW_EINVAL,
         "add_header: a name that is not a token");
  is_int(hw__host.add_header(&r->res, "", 0, "v", 1), HW_EINVAL,
         "add_header: an empty name");
  is_int(hw__host.add_header(&r->res, "content-length", 14, "1", 1), HW_EINVAL,
         "add_header: a field of the host's");
  is_int(hw__host.add_header(&r->res, "Connection", 10, "x", 1), HW_EINVAL,
         "add_header: Connection is the host's");
  is_int(hw__host.add_header(&r->res, "X-Split", 7, "a\r\nX-Evil: 1", 12),
         HW_EINVAL, "add_header: CR LF in a value");
  is_int(hw__host.add_header(&r->res, "X-Mid", 5, "abc\rdefgh", 9), HW_EINVAL,
         "add_header: a CR inside a value of 8 to 16 bytes");
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
  is_int(hw__host.set_status(&r->res, 99), HW_EINVAL,
         "set_status: an interim status is the host's");
  is_int(hw__host.set_status(&r->res, 418), 0, "set_status: 418");
  is_int(hw__host.write(&r->res, "ab", 2), 0, "write");
  ok(r->res.body_len == 2 && r->res.body.len == 2, "the body is copied");
  r->state = HW__REQ_DONE;
  is_int(hw__host.add_prepared(&r->res, hp), HW_ESTATE,
         "add_prepared once the response is complete");
  is_int(hw__host.add_header(&r->res, "X-Late", 6, "v", 1), HW_ESTATE,
         "add_header once the response is complete");
  is_int(hw__host.write(&r->res, "c", 1), HW_ESTATE,
         "write once the response is complete");
  is_int(hw__host.finish(&r->res), HW_ESTATE,
         "finish on a response that is not deferred");
  hw__host.header_free(hp);
  hw__host.header_free(NULL);
  ok(HW_HOST_HAS(&hw__host, header_free) && hw__host.abi_minor >= 1,
     "the host table has the ABI 1.1 members");
  hw__request_free(r);

  r = parsed(core, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  hw__host.write(&r->res, "Hello", 5);
  ok(r->res.body.len == 0 && r->res.body_len == 5,
     "HEAD: the body is counted, not kept");
  r->state = HW__REQ_DONE;
  hw__request_free(r);
}

int main(void) {
  hw__request_core core;
  hw__generation gen;
  hw__config cfg;

  memset(&gen, 0, sizeof(gen));
  memset(&cfg, 0, sizeof(cfg));
  cfg.limit_body = 1024;
  gen.config = &cfg;
  hw__request_core_init(&core, &gen);
  test_reading(&core);
  test_fields(&core);
  test_host_of(&core);
  hw__request_core_destroy(&core);
  return done_testing();
}
