/*
 * fuzz_request.c - libFuzzer target for the request path: the bytes a client
 * sends go through http.c's pre-scanner and http-parser, the router and the
 * shipped modules (hello, echo, delay), exactly as conn.c drives them during
 * a read, but without sockets (as in tests/unit/test_http.c).
 *
 * Input format: the first byte says how the rest is cut into reads, the rest
 * is what the client sends.
 *
 *   byte 0, bits 0-1: 0 = one read, 1 = one byte per read,
 *                     2, 3 = reads of pseudo-random sizes (seeded by byte 0)
 *           bit 2:    the client closes after sending (as on_read's UV_EOF)
 *           bit 3:    no flush between reads (responses pile up, so the
 *                     pipeline limit pauses the parser)
 *
 * What conn.c does around the parser is mirrored: after each read the
 * answered requests at the head of the queue are "written" (their response
 * head serialised, then freed), a parser paused by back-pressure is resumed
 * once the queue has drained, and at the end the connection is closed the
 * way hw__conn_close does it (deferred requests are orphaned, so their module
 * is told).  Every request is freed, so LeakSanitizer sees no leak, and the
 * generation must end with no request pinned.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef HW_FUZZ_MODULES_DIR
#define HW_FUZZ_MODULES_DIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hw__worker w;
static hw__buf out; /* where response heads are serialised */
static int debug;  /* HW_FUZZ_DEBUG=1: print each response's status line */

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_request: invariant failed: %s (%s:%d)\n", #cond,   \
              __FILE__, __LINE__);                                             \
      abort();                                                                 \
    }                                                                          \
  } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *mdir = getenv("HW_FUZZ_MODULES_DIR");
  char json[4096], path[1200], err[2048];
  hw__config *cfg;
  hw__generation *gen;

  (void)argc;
  (void)argv;
  if (mdir == NULL || mdir[0] == '\0')
    mdir = HW_FUZZ_MODULES_DIR;
  hw__log_set_level(HW_LOG_ERROR);
  debug = getenv("HW_FUZZ_DEBUG") != NULL;
  snprintf(path, sizeof(path), "%s/fuzz-routes.json", mdir);
  /* Small limits, so that the fuzzer reaches 413, 414 and 431 quickly. */
  snprintf(json, sizeof(json),
           "{\"modules_dir\": \"%s\","
           " \"limits\": {\"body\": 2048, \"request_line\": 256,"
           "              \"header_bytes\": 1024, \"headers\": 16},"
           " \"routes\": ["
           "  {\"prefix\": \"/hello\", \"module\": \"hello.so\"},"
           "  {\"prefix\": \"/\", \"module\": \"hello.so\","
           "   \"config\": {\"body\": \"root\", \"content_type\": \"text/x\"}},"
           "  {\"prefix\": \"/echo\", \"module\": \"echo.so\", \"config\": {}},"
           "  {\"prefix\": \"/echo/deep/er\", \"module\": \"echo.so\"},"
           "  {\"prefix\": \"/delay\", \"module\": \"delay.so\","
           "   \"config\": {\"ms\": 0}}]}",
           mdir);
  if (hw__config_parse(json, strlen(json), path, &cfg, err, sizeof(err)) != 0 ||
      hw__generation_build(cfg, 1, &gen, err, sizeof(err)) != 0) {
    fprintf(stderr,
            "fuzz_request: cannot build the generation: %s\n"
            "(set HW_FUZZ_MODULES_DIR to the directory of the fuzz build's "
            "hello.so, echo.so and delay.so)\n",
            err);
    exit(2);
  }
  if (hw__worker_init(&w, uv_default_loop(), gen) != 0) {
    fprintf(stderr, "fuzz_request: cannot initialise the worker\n");
    exit(2);
  }
  return 0;
}

/* The connection's handle is a real TCP handle of the loop that was never
 * opened (its descriptor is -1), so that what conn.c writes directly, such
 * as "100 Continue", fails the way a write to a broken connection does. */
static hw__conn *conn_new(void) {
  hw__conn *c = calloc(1, sizeof(*c));
  CHECK(c != NULL);
  CHECK(uv_tcp_init(w.loop, &c->tcp) == 0);
  c->w = &w;
  c->in_read = 1; /* as during a read: nothing is written to a socket */
  hw__http_init(&c->parser, c);
  return c;
}

static unsigned queue_len(const hw__conn *c) {
  unsigned n = 0;
  for (const hw_request *r = c->qhead; r != NULL; r = r->next)
    n++;
  return n;
}

/* conn.c's flush: the answered requests at the head of the queue go out in
 * request order (here: their head is serialised), then are freed. */
static void flush(hw__conn *c) {
  CHECK(queue_len(c) == c->nqueued);
  while (c->qhead != NULL && c->qhead->state == HW__REQ_DONE) {
    hw_request *req = c->qhead;
    int keep = req->keep_alive && !req->close_after;
    c->qhead = req->next;
    if (c->qhead == NULL)
      c->qtail = NULL;
    c->nqueued--;
    req->next = NULL;

    out.len = 0;
    CHECK(req->res.status >= 100 && req->res.status <= 999);
    CHECK(hw__http_write_head(req, keep, &out) == 0);
    CHECK(out.len >= 4 && memcmp(out.data, "HTTP/1.1 ", 9) == 0);
    CHECK(memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
    if (debug)
      fprintf(stderr, "response: %.*s (%zu body bytes)%s\n",
              (int)(strchr(out.data, '\r') - out.data), out.data,
              req->res.body_len, keep ? "" : ", then close");
    CHECK(req->res.body.len <= req->res.body_len);
    if (req->is_head)
      CHECK(req->res.body.len == 0);
    {
      /* batch_add: copied body and referenced parts, in order. */
      size_t at = 0, total = 0;
      for (size_t i = 0; i < req->res.nrefs; i++) {
        CHECK(req->res.refs[i].at >= at && req->res.refs[i].at <= req->res.body.len);
        total += req->res.refs[i].len;
        at = req->res.refs[i].at;
      }
      total += req->res.body.len;
      if (!req->is_head)
        CHECK(total == req->res.body_len);
    }
    hw__request_free(req);
    if (!keep) {
      c->no_more = 1;
      break;
    }
  }
}

/* Lets deferred requests (delay with ms=0) complete, as the loop would
 * between reads. */
static void run_loop(const hw__conn *c) {
  for (int i = 0; i < 3; i++) {
    int running = 0;
    for (const hw_request *r = c->qhead; r != NULL; r = r->next)
      running |= r->state == HW__REQ_RUNNING;
    if (!running)
      return;
    uv_run(w.loop, UV_RUN_NOWAIT);
  }
}

static void on_conn_closed(uv_handle_t *h) {
  free(hw__container_of(h, hw__conn, tcp));
}

/* hw__conn_close, less the worker's list of connections. */
static void conn_close(hw__conn *c) {
  hw_request *r;
  c->closing = 1;
  c->no_more = 1;
  if (c->cur != NULL) {
    hw__request_free(c->cur);
    c->cur = NULL;
  }
  r = c->qhead;
  c->qhead = c->qtail = NULL;
  c->nqueued = 0;
  while (r != NULL) {
    hw_request *next = r->next;
    r->next = NULL;
    hw__request_orphan(r);
    r = next;
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  /* That close, and the delay module's timers: let their callbacks run. */
  uv_run(w.loop, UV_RUN_NOWAIT);
}

/* A small deterministic generator for the read sizes. */
static uint32_t next_rand(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in;
  size_t len, off = 0;
  unsigned mode, eof, noflush;
  uint32_t seed;
  hw__conn *c;

  if (size < 1)
    return 0;
  mode = data[0] & 3;
  eof = (data[0] >> 2) & 1;
  noflush = (data[0] >> 3) & 1;
  seed = 0x9e3779b9u ^ ((uint32_t)data[0] * 0x01000193u);
  in = (const char *)data + 1;
  len = size - 1;

  c = conn_new();
  while (off < len && !c->no_more) {
    size_t piece, n;
    int failed;

    switch (mode) {
    case 0: piece = len - off; break;
    case 1: piece = 1; break;
    default: piece = 1 + next_rand(&seed) % (mode == 2 ? 8 : 97); break;
    }
    if (piece > len - off)
      piece = len - off;

    n = hw__http_feed(&c->parser, in + off, piece, &failed);
    CHECK(n <= piece);
    off += n;
    if (failed) {
      /* conn.c's parse(): a failed parse ends the connection, with its
       * error response queued last. */
      c->no_more = 1;
      CHECK(c->qtail != NULL && c->qtail->state == HW__REQ_DONE &&
            c->qtail->res.status >= 400);
    }
    if (n < piece && !c->no_more) {
      /* Paused by back-pressure: only past the pipeline limit. */
      CHECK(hw__conn_congested(c));
      c->paused = 1;
    }
    run_loop(c);
    if (!noflush || c->paused)
      flush(c);
    if (c->paused) {
      /* maybe_resume: once the queue is under the limit again. */
      if (hw__conn_congested(c))
        break; /* a deferred request holds the queue: the client waits */
      c->paused = 0;
      hw__http_unpause(&c->parser);
    }
  }
  if (eof && !c->no_more) {
    /* on_read's UV_EOF: the parser is told, and a request still being read
     * will never complete. */
    hw__http_eof(&c->parser);
    if (c->cur != NULL) {
      hw__request_free(c->cur);
      c->cur = NULL;
    }
    run_loop(c);
    flush(c);
  }
  conn_close(c);
  /* Every request unpinned its generation. */
  CHECK(w.gen->live == 0 && w.gen->reqs == NULL);
  return 0;
}
