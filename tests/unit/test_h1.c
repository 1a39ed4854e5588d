/*
 * test_h1.c - unit tests of the HTTP/1.1 protocol unit (server/h1.c) over
 * an in-memory transport (tests/lib/memtransport.c), with the request core
 * and real modules: hello.so, the behave fixture on /a and /a/b, echo.so,
 * delay.so, and the stream fixture (ABI 1.3) on /s and /up.  Bytes go in as reads; what is checked is what the unit
 * writes (the responses, in order) and when it ends the connection.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1.h"
#include "h1_response.h"
#include "host.h"
#include "memtransport.h"
#include "portable.h"
#include "request.h"
#include "tap.h"

static hw__request_core core;
static hw__h1_env env;

static mt_conn *open_conn(void) {
  return mt_open(&hw__h1_proto, &env);
}

static size_t put(mt_conn *c, const char *s) {
  return mt_read(c, s, strlen(s));
}

/* Lets deferred answers (delay.so's timers) come, as the loop would. */
static void run_loop(int ms) {
  uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
  do
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
  while (uv_hrtime() < end);
}

/* The statuses of the responses written so far, as "200 404 ...". */
static const char *statuses(mt_conn *c, int head) {
  static char out[512];
  int st[64], n;
  size_t pos = 0, o = 0;
  n = mt_statuses(c, &pos, st, 64, head);
  out[0] = '\0';
  for (int i = 0; i < n && o + 8 < sizeof(out); i++)
    o +=
        (size_t)snprintf(out + o, sizeof(out) - o, "%s%d", i ? " " : "", st[i]);
  if (pos != c->wire.len)
    snprintf(out + o, sizeof(out) - o, " +%zu bytes", c->wire.len - pos);
  return out;
}

static int wire_has(mt_conn *c, const char *s) {
  hw__buf_append(&c->wire, "", 1);
  c->wire.len--;
  return strstr(c->wire.data, s) != NULL;
}

static void test_pipelining(void) {
  mt_conn *c = open_conn();
  size_t n = put(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /a/b/info?x=1&y HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(n > 0 && strcmp(statuses(c, 0), "200 200 404") == 0,
     "three pipelined requests, answered in order");
  ok(wire_has(c, "Hello, World!") &&
         wire_has(c, "prefix=/a/b rest=/info query=x=1&y version=11"),
     "by hello and by /a/b, with prefix, rest and query");
  ok(!c->closed, "the connection stays open");
  mt_free(c);

  /* A deferred answer holds the ones behind it. */
  c = open_conn();
  put(c, "GET /delay/x?ms=30 HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(c->wire.len == 0, "a ready answer waits behind a deferred one");
  run_loop(80);
  ok(strcmp(statuses(c, 0), "200 200") == 0 && wire_has(c, "/delay/x"),
     "then both leave, in request order");
  mt_free(c);

  /* Byte by byte: a chunked body, then another request. */
  c = open_conn();
  {
    const char *s = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                    "chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
                    "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t i = 0; s[i] != '\0'; i++)
      mt_read(c, s + i, 1);
  }
  ok(strcmp(statuses(c, 0), "200 200") == 0 &&
         wire_has(c, "\"body\":\"abcdefg\""),
     "byte by byte: a chunked body delivered whole, then the next");
  mt_free(c);
}

static void test_routing(void) {
  mt_conn *c = open_conn();
  put(c, "GET /a/b/decline HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /a/decline HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /a/error HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /ax HTTP/1.1\r\nHost: x\r\n\r\n"
         "FOO /nope HTTP/1.1\r\nHost: x\r\n\r\n"
         "PATCH /a/decline HTTP/1.1\r\nHost: x\r\n\r\n"
         "FOO /a/b/info HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /a/status/204 HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /a/peer HTTP/1.1\r\nHost: x\r\n\r\n");
  is_str(statuses(c, 0), "200 404 500 404 501 501 200 204 200",
         "decline falls through, then 404; error 500; segments; 501 for "
         "an unknown or non-RFC 9110 method nothing answers; 204");
  ok(wire_has(c, "X-Behave: A\r\n") && !wire_has(c, "declined but written") &&
         !wire_has(c, "failed but written"),
     "what a declining or failing module wrote is discarded");
  ok(wire_has(c, "127.0.0.1:4242"), "peer() asks the transport");
  ok(!c->closed, "none of these ends the connection");
  mt_free(c);

  c = open_conn();
  put(c, "GET http://example.com/a/b/info?q HTTP/1.1\r\nHost: x\r\n\r\n"
         "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(strcmp(statuses(c, 0), "200 200") == 0 &&
         wire_has(c, "prefix=/a/b rest=/info query=q version=11"),
     "absolute-form is routed by its path");
  ok(wire_has(c, "\r\nAllow: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n") &&
         wire_has(c, "\r\nContent-Length: 0\r\n"),
     "OPTIONS * is answered by the host: Allow, no body");
  mt_free(c);

  c = open_conn();
  put(c, "BREW /echo/pot?q HTTP/1.1\r\nHost: b.example\r\nX-A: 1\r\n\r\n");
  ok(wire_has(c, "\"method\":\"BREW\"") &&
         wire_has(c, "\"path\":\"/echo/pot\"") && wire_has(c, "\"x-a\":\"1\""),
     "a module sees an unknown method, the path and the fields");
  mt_free(c);
}

static void test_persistence(void) {
  mt_conn *c = open_conn();
  size_t n;
  const char *two = "GET /hello HTTP/1.0\r\n\r\nGET /hello HTTP/1.1\r\nHost: "
                    "x\r\n\r\n";

  n = put(c, two);
  ok(strcmp(statuses(c, 0), "200") == 0 && n < strlen(two),
     "HTTP/1.0: one answer, the rest unread");
  ok(wire_has(c, "Connection: close\r\n") &&
         c->closed == 1 + HW__CLOSE_AFTER_WRITE,
     "it says close, and the connection ends after it");
  mt_free(c);

  c = open_conn();
  put(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ok(wire_has(c, "Connection: keep-alive\r\n") && !c->closed,
     "HTTP/1.0 keep-alive persists, and says so");
  mt_free(c);

  c = open_conn();
  put(c, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(strcmp(statuses(c, 0), "200") == 0 && c->closed,
     "Connection: close is honoured; nothing after it is parsed");
  mt_free(c);

  c = open_conn();
  put(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  mt_eof(c);
  ok(c->closed == 1 + HW__CLOSE_AFTER_WRITE, "the client's FIN: the end, "
                                             "once every answer is out");
  mt_free(c);
}

static void test_heads(void) {
  mt_conn *c = open_conn();
  put(c, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: "
         "x\r\n\r\n");
  ok(strncmp(c->wire.data, "HTTP/1.1 200 OK\r\n", 17) == 0, "the status line");
  ok(wire_has(c, "\r\nServer: haywire\r\n") && wire_has(c, " GMT\r\n"),
     "Server and Date");
  ok(wire_has(c, "\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\n"
                 "HTTP/1.1 200 OK"),
     "HEAD: the GET answer's Content-Length and no body");
  ok(!wire_has(c, "Connection:"), "no Connection field for 1.1 keep-alive");
  mt_free(c);

  c = open_conn();
  put(c, "GET /a/status/204 HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(!wire_has(c, "Content-Length"), "204 has no Content-Length");
  mt_free(c);

  c = open_conn();
  put(c, "GET /a/ref HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(strcmp(statuses(c, 0), "200") == 0, "write_ref parts are written");
  mt_free(c);
}

static void test_refusals(void) {
  mt_conn *c = open_conn();
  put(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(strcmp(statuses(c, 0), "200 400") == 0 &&
         c->closed == 1 + HW__CLOSE_AFTER_WRITE,
     "garbage after a good request: 400, then the end");
  ok(wire_has(c, "HTTP/1.1 400 Bad Request\r\n") &&
         wire_has(c, "Connection: close\r\n") &&
         wire_has(c, "400 Bad Request\n"),
     "with Connection: close and a short text");
  mt_free(c);

  c = open_conn();
  put(c, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n");
  ok(strcmp(statuses(c, 0), "405") == 0 &&
         wire_has(c, "\r\nAllow: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n"),
     "CONNECT: 405 with Allow");
  mt_free(c);

  /* Bodies over limits.body (64 here): declared, or as they stream in. */
  c = open_conn();
  put(c, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n");
  ok(strcmp(statuses(c, 0), "413") == 0 && c->closed,
     "a declared body over the limit: 413 before any of it");
  mt_free(c);
  c = open_conn();
  put(c, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n");
  ok(c->wire.len == 0, "a body at the limit is being read");
  {
    char body[65];
    memset(body, 'z', 64);
    body[64] = '\0';
    put(c, body);
  }
  is_str(statuses(c, 0), "200", "a body at the limit: 200");
  mt_free(c);
  c = open_conn();
  put(c, "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "40\r\n0123456789012345678901234567890123456789012345678901234567890"
         "123\r\n1\r\nX\r\n0\r\n\r\n");
  is_str(statuses(c, 0), "413", "a chunked body over the limit: 413");
  mt_free(c);
}

static void test_timeouts_and_drain(void) {
  mt_conn *c = open_conn();
  put(c, "GET /hello HTTP/1.1\r\nHost:");
  ok(c->t.phase == HW__PHASE_HEAD, "a head arriving: the head phase");
  mt_timeout(c);
  ok(strcmp(statuses(c, 0), "408") == 0 && c->closed,
     "the head's time runs out: 408, then the end");
  mt_free(c);

  c = open_conn();
  put(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
  ok(c->t.phase == HW__PHASE_BODY, "a body arriving: the body phase");
  mt_timeout(c);
  is_str(statuses(c, 0), "408", "the body's time runs out: 408");
  mt_free(c);

  /* Draining: an idle connection that has answered ends; one with an
   * answer owed ends after it, saying so. */
  c = open_conn();
  put(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(c->t.phase == HW__PHASE_IDLE, "answered: idle");
  mt_drain(c);
  ok(c->closed == 1 + HW__CLOSE_AFTER_WRITE, "drained when idle: the end");
  mt_free(c);
  c = open_conn();
  put(c, "GET /delay/x?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(c->t.phase == HW__PHASE_BUSY, "a deferred answer: busy");
  mt_drain(c);
  ok(!c->closed, "drained with an answer owed: not yet");
  run_loop(60);
  ok(strcmp(statuses(c, 0), "200") == 0 && wire_has(c, "Connection: close") &&
         c->closed,
     "then the answer says close, and the connection ends");
  mt_free(c);

  /* Gone with a deferred request: it is orphaned, and freed when its
   * module finishes. */
  c = open_conn();
  put(c, "GET /delay/x?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n");
  mt_free(c);
  run_loop(60);
  is_int((long long)core.gen->live, 0,
         "an orphaned request ends with its "
         "module's answer");
}

static void test_continue(void) {
  mt_conn *c = open_conn();
  put(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
         "Expect: 100-continue\r\n\r\n");
  ok(strcmp(c->wire.data, "HTTP/1.1 100 Continue\r\n\r\n") == 0 ||
         (c->wire.len == 25 &&
          memcmp(c->wire.data, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0),
     "100 Continue at once when nothing is owed before it");
  put(c, "hi");
  ok(wire_has(c, "\"body\":\"hi\""), "then the body is read");
  mt_free(c);

  c = open_conn();
  put(c, "GET /delay/x?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n"
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
         "Expect: 100-continue\r\n\r\n");
  ok(c->wire.len == 0 && c->t.phase == HW__PHASE_BUSY,
     "owed behind a deferred answer: nothing yet, and no body clock");
  run_loop(60);
  ok(wire_has(c, "/delay/x") && wire_has(c, "HTTP/1.1 100 Continue\r\n\r\n") &&
         strstr(c->wire.data, "/delay/x") <
             strstr(c->wire.data, "HTTP/1.1 100 Continue"),
     "the 100 Continue follows the answer it waited for");
  ok(c->t.phase == HW__PHASE_BODY, "and the body's clock starts");
  mt_free(c);

  c = open_conn();
  put(c, "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
         "Expect: 100-continue\r\n\r\n");
  ok(strcmp(statuses(c, 0), "404") == 0 && c->closed,
     "no route: the final 404 at once, and the end");
  mt_free(c);
  c = open_conn();
  put(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
         "Expect: magic\r\n\r\n");
  is_str(statuses(c, 0), "417", "another expectation: 417");
  mt_free(c);
}

/* Back-pressure: past HW__H1_MAX_QUEUED waiting requests the unit takes no
 * more input, and takes the rest when the queue drains. */
static void test_backpressure(void) {
  static const char one[] = "GET /delay/x?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n";
  hw__buf many = {0};
  mt_conn *c = open_conn();
  size_t used;
  int st[64];
  size_t pos = 0;

  for (int i = 0; i < 40; i++)
    hw__buf_append(&many, one, sizeof(one) - 1);
  used = mt_read(c, many.data, many.len);
  is_int((long long)used,
         (HW__H1_MAX_QUEUED + 1) * (long long)(sizeof(one) - 1),
         "input stops past the pipeline limit");
  run_loop(100);
  ok(mt_statuses(c, &pos, st, 64, 0) == 40 && !c->paused,
     "and the rest is taken as the queue drains: 40 answers");
  mt_free(c);
  hw__buf_free(&many);
}

/* ABI 1.3 through the stream fixture on /s and /up (a streamed body). */
static void test_streams(void) {
  mt_conn *c = open_conn();
  size_t pos = 0;
  int st[8];

  put(c, "GET /s/ticks?n=2&ms=5 HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(wire_has(c, "Transfer-Encoding: chunked\r\n") && !wire_has(c, "Hello"),
     "a streamed response of unknown length is chunked, and holds the next");
  run_loop(60);
  ok(wire_has(c, "\r\n\r\n7\r\ntick 0\n\r\n7\r\ntick 1\n\r\n0\r\n\r\nHTTP/1.1 "
                 "200 OK"),
     "one chunk per write, the last chunk, then the pipelined answer");
  ok(mt_statuses(c, &pos, st, 8, 0) == 2 && !c->closed,
     "two responses, the connection persists");
  mt_free(c);

  c = open_conn();
  put(c, "GET /s/ticks?n=1&ms=5 HTTP/1.0\r\n\r\n");
  run_loop(30);
  ok(wire_has(c, "Connection: close\r\n") && !wire_has(c, "chunked") &&
         wire_has(c, "\r\n\r\ntick 0\n") && c->closed,
     "HTTP/1.0: delimited by the end of the connection");
  mt_free(c);

  c = open_conn();
  put(c, "HEAD /s/ticks?n=1&ms=5 HTTP/1.1\r\nHost: x\r\n\r\n");
  run_loop(30);
  ok(wire_has(c, "chunked") && !wire_has(c, "tick"),
     "HEAD: the head only");
  mt_free(c);

  c = open_conn();
  put(c, "GET /s/short HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(wire_has(c, "Content-Length: 10\r\n") && !wire_has(c, "Hello") &&
         c->closed,
     "ending short of the declared length cuts the connection");
  mt_free(c);

  c = open_conn();
  put(c, "GET /s/ticks?n=100&ms=5 HTTP/1.1\r\nHost: x\r\n\r\n");
  run_loop(20);
  mt_close(c); /* the client leaves mid-stream: the module is told */
  mt_free(c);
  run_loop(5); /* (from the loop, not inside the close) */
  c = open_conn();
  put(c, "GET /s/hangup HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(c->wire.len == 0, "a deferred request waits");
  mt_eof(c);
  run_loop(5);
  ok(wire_has(c, "bye\n") && c->closed,
     "a FIN runs on_abort; the answer made then is still written");
  mt_free(c);
  c = open_conn();
  put(c, "GET /s/stats HTTP/1.1\r\nHost: x\r\n\r\n");
  ok(wire_has(c, "aborted=1 ") && wire_has(c, "hangups=1"),
     "the stream left mid-way was aborted once");
  mt_free(c);
}

static void test_streamed_body(void) {
  static const char head[] = "POST /up/upload?ms=5 HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 300\r\n\r\n";
  char body[100];
  mt_conn *c = open_conn();
  size_t n;

  memset(body, 'a', sizeof(body));
  n = put(c, head);
  n += mt_read(c, body, 100); /* piece 1 */
  n += mt_read(c, body, 100); /* piece 2: the module holds the body */
  ok(n == sizeof(head) - 1 + 200, "the head and two pieces are taken");
  n = mt_read(c, body, 100);
  ok(n == 0 && c->paused, "a held body is not read");
  run_loop(30);
  ok(!c->paused && wire_has(c, "bytes=300 "),
     "let go, it flows; the module saw 300 bytes past limits.body (64)");
  mt_free(c);

  c = open_conn();
  put(c, "POST /up/upload HTTP/1.1\r\nHost: x\r\nContent-Length: "
         "2000000\r\n\r\n");
  ok(strcmp(statuses(c, 0), "413") == 0,
     "a declared body past the route's body_limit: 413");
  mt_free(c);

  c = open_conn();
  put(c, "POST /up/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
         "\r\nabc");
  mt_eof(c); /* the body never ends: the connection does */
  ok(c->closed != 0, "a streamed body cut short ends the connection");
  mt_free(c);
}

int main(void) {
  const char *bdir = getenv("HW_BUILDDIR");
  char json[2048], err[1024], path[600];
  hw__config *cfg;
  hw__generation *gen;

  if (bdir == NULL)
    bdir = ".";
  snprintf(path, sizeof(path), "%s/tests/routes.json", bdir);
  snprintf(
      json, sizeof(json),
      "{\"modules_dir\":\"%s/tests/fixtures\",\"limits\":{\"body\":64},"
      "\"routes\":["
      "{\"prefix\":\"/hello\",\"module\":\"%s/modules/hello" HWT_MODULE_EXT
      "\"},"
      "{\"prefix\":\"/echo\",\"module\":\"%s/modules/echo" HWT_MODULE_EXT "\"},"
      "{\"prefix\":\"/delay\",\"module\":\"%s/modules/delay" HWT_MODULE_EXT
      "\"},"
      "{\"prefix\":\"/"
      "a\",\"module\":\"behave" HWT_MODULE_EXT
      "\",\"config\":{\"name\":\"A\"}},"
      "{\"prefix\":\"/a/"
      "b\",\"module\":\"behave" HWT_MODULE_EXT
      "\",\"config\":{\"name\":\"B\"}},"
      "{\"prefix\":\"/s\",\"module\":\"stream" HWT_MODULE_EXT "\"},"
      "{\"prefix\":\"/up\",\"module\":\"stream" HWT_MODULE_EXT "\",\"body\":"
      "\"stream\",\"body_limit\":1000000}]}",
      bdir, bdir, bdir, bdir);
  hw__module_serve_on(uv_default_loop());
  if (hw__config_parse(json, strlen(json), path, &cfg, err, sizeof(err)) != 0 ||
      hw__generation_build(cfg, 1, &hw__host, &gen, err, sizeof(err)) != 0) {
    printf("1..0 # SKIP cannot build the test generation: %s\n", err);
    return 0;
  }
  hw__request_core_init(&core, gen);
  hw__h1_env_init(&env, &core);

  test_pipelining();
  test_routing();
  test_persistence();
  test_heads();
  test_refusals();
  test_timeouts_and_drain();
  test_continue();
  test_backpressure();
  test_streams();
  test_streamed_body();
  run_loop(20);
  is_int((long long)gen->live, 0, "every request unpinned its generation");

  hw__generation_fini(gen);
  hw__request_core_stop(&core);
  uv_run(uv_default_loop(), UV_RUN_NOWAIT);
  hw__request_core_destroy(&core);
  hw__generation_free(gen);
  uv_loop_close(uv_default_loop());
  return done_testing();
}
