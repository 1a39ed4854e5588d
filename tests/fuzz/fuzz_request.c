/*
 * fuzz_request.c - libFuzzer target for the request path: the bytes a client
 * sends go to the HTTP/1 protocol unit (h1.c: the scanner, http-parser, the
 * head checks), the request core, the router and the shipped modules
 * (hello, echo, delay; echo also on a route that streams bodies, which it
 * answers at the head), over the in-memory transport of the unit tests
 * (tests/lib/memtransport.c), which hands bytes over and takes batches back
 * exactly as conn.c does, without sockets.
 *
 * Input format: the first byte says how the rest is cut into reads, the rest
 * is what the client sends.
 *
 *   byte 0, bits 0-1: 0 = one read, 1 = one byte per read,
 *                     2, 3 = reads of pseudo-random sizes (seeded by byte 0)
 *           bit 2:    the client ends its side after sending
 *           bit 3:    a timer runs out at the end (the phase's timeout)
 *           bit 4:    the server drains (graceful shutdown) at the end
 *
 * Invariants checked after every input: what was written is a sequence of
 * well-formed responses (status line, Server and Date, the blank line, a
 * body of the Content-Length said, or none for 1xx, 204 and 304); every
 * request is freed (LeakSanitizer sees no leak) and the generation ends
 * with no request pinned.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "generation.h"
#include "h1.h"
#include "host.h"
#include "log.h"
#include "memtransport.h"
#include "request.h"

#ifndef HW_FUZZ_MODULES_DIR
#define HW_FUZZ_MODULES_DIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hw__request_core core;
static hw__h1_env env;
static int debug; /* HW_FUZZ_DEBUG=1: print each response's status line */

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
           "   \"config\": {\"ms\": 0}},"
           "  {\"prefix\": \"/up\", \"module\": \"echo.so\","
           "   \"body\": \"stream\", \"body_limit\": 4096}]}",
           mdir);
  hw__module_serve_on(uv_default_loop());
  if (hw__config_parse(json, strlen(json), path, &cfg, err, sizeof(err)) != 0 ||
      hw__generation_build(cfg, 1, &hw__host, &gen, err, sizeof(err)) != 0) {
    fprintf(stderr,
            "fuzz_request: cannot build the generation: %s\n"
            "(set HW_FUZZ_MODULES_DIR to the directory of the fuzz build's "
            "hello.so, echo.so and delay.so)\n",
            err);
    exit(2);
  }
  hw__request_core_init(&core, gen);
  hw__h1_env_init(&env, &core);
  return 0;
}

/* Lets deferred requests (delay with ms=0) complete, as the loop would
 * between reads. */
static void run_loop(void) {
  for (int i = 0; i < 3 && core.gen->live > 0; i++)
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
}

/* Every byte written is part of a well-formed response. */
static void check_wire(const mt_conn *c) {
  size_t p = 0;
  while (p < c->wire.len) {
    const char *w = c->wire.data + p, *end, *cl;
    size_t left = c->wire.len - p, hlen, body = 0;
    int status;
    CHECK(left >= 12 && memcmp(w, "HTTP/1.1 ", 9) == 0);
    end = memmem(w, left, "\r\n\r\n", 4);
    CHECK(end != NULL);
    hlen = (size_t)(end - w) + 4;
    status = atoi(w + 9);
    CHECK(status >= 100 && status <= 999);
    if (debug)
      fprintf(stderr, "response: %.*s\n", (int)(strchr(w, '\r') - w), w);
    if (status >= 200) {
      CHECK(memmem(w, hlen, "\r\nServer: haywire\r\nDate: ", 25) != NULL);
      cl = memmem(w, hlen, "\r\nContent-Length: ", 18);
      CHECK((cl != NULL) == (status != 204 && status != 304));
      /* An answer to HEAD carries a length and no body: it is recognised
       * by what follows (another response, or nothing), since no body
       * these modules send begins like a response. */
      if (cl != NULL) {
        body = (size_t)strtoul(cl + 18, NULL, 10);
        if (p + hlen == c->wire.len || (c->wire.len - p - hlen >= 9 &&
                                        memcmp(w + hlen, "HTTP/1.1 ", 9) == 0))
          body = 0;
        CHECK(p + hlen + body <= c->wire.len);
      }
    }
    p += hlen + body;
  }
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
  unsigned mode, eof, timeout, drain;
  uint32_t seed;
  mt_conn *c;

  if (size < 1)
    return 0;
  mode = data[0] & 3;
  eof = (data[0] >> 2) & 1;
  timeout = (data[0] >> 3) & 1;
  drain = (data[0] >> 4) & 1;
  seed = 0x9e3779b9u ^ ((uint32_t)data[0] * 0x01000193u);
  in = (const char *)data + 1;
  len = size - 1;

  c = mt_open(&hw__h1_proto, &env);
  CHECK(c != NULL);
  while (off < len && !c->closed) {
    size_t piece, n;
    switch (mode) {
    case 0: piece = len - off; break;
    case 1: piece = 1; break;
    default: piece = 1 + next_rand(&seed) % (mode == 2 ? 8 : 97); break;
    }
    if (piece > len - off)
      piece = len - off;
    if (c->paused) {
      /* Back-pressure: the unit took less; deferred answers drain the
       * queue, and then it takes the rest itself. */
      run_loop();
      if (c->paused)
        break; /* the client waits */
      continue;
    }
    n = mt_read(c, in + off, piece);
    CHECK(n <= piece);
    off += piece; /* what it did not take is kept by the transport */
    run_loop();
  }
  if (eof)
    mt_eof(c);
  if (timeout)
    mt_timeout(c);
  if (drain)
    mt_drain(c);
  run_loop();
  check_wire(c);
  mt_free(c);
  /* Deferred requests whose client went away are finished by their
   * module; then none is pinned. */
  run_loop();
  CHECK(core.gen->live == 0 && core.gen->reqs == NULL);
  return 0;
}
