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
  ok(nth(c, 1) != NULL && nth(c, 1)->res.status == 404,
     "asterisk-form matches no route");
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

  /* The generation counts the requests pinned to it. */
  is_int((long long)gen->live, 0, "every request unpinned its generation");

  uv_close((uv_handle_t *)&w.date_timer, NULL);
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);
  hw__worker_destroy(&w);
  uv_loop_close(uv_default_loop());
  return done_testing();
}
