/*
 * fuzz_h2.c - libFuzzer target for the HTTP/2 unit (server/h2.c with
 * h2_streams.c, h2_response.c and h2_env.c): the bytes a client sends go
 * to hw__h2_proto over the connection in memory modelled on conn.c
 * (tests/lib/conntransport.c), with the request core and a small
 * generation behind it: hello, echo (also on a route taking bodies as a
 * stream), delay (0 ms) and streammod.so (streamed responses and bodies,
 * bounded: tests/fuzz/streammod.c), and small limits (a 2 KiB body, a
 * 1 KiB header list, 16 fields), so that 413 and 431 are near.
 *
 * Input format: a control byte, then what the client sends.
 *
 *   byte 0, bits 0-1: the reads: 0 = one, 1 = one byte each, 2 = 1-16
 *                     bytes each, 3 = 1-1500 bytes each (pseudo-random,
 *                     seeded by byte 0 and the length)
 *           bit 2:    the client ends its side after its last byte
 *           bit 3:    the input begins with its own connection preface
 *                     (else the 24 bytes are sent first)
 *           bit 4:    the server drains (graceful shutdown) after the
 *                     first half of the input
 *           bit 5:    a slow client: what is written stays unsent until
 *                     the next turn (then `writable` when it had passed
 *                     the bound)
 *           bit 6:    the clocks: after every read the env's sweep runs,
 *                     each time a second later than the last (body_idle,
 *                     write and head timeouts, and the unanswered PING of
 *                     a drain, come within the input)
 *           bit 7:    the transport's timer runs out at the end
 *
 * Between reads the loop turns a few times (deferred answers, streamed
 * pieces from 0 ms timers, the env's output turn).
 *
 * Invariants (abort(), a finding), on what the server writes, read as
 * frames with an HPACK decoder of its own: the first frame is SETTINGS;
 * only frames a server may send (no PUSH_PROMISE, no PRIORITY), each of
 * the size its type has, on stream 0 or on a client's (odd) stream as its
 * type requires; a header block is whole (CONTINUATION follows on its
 * stream until END_HEADERS), decodes, and is a response: ":status" of
 * three digits first, no other pseudo-header, lower-case names, none of
 * RFC 9113 section 8.2.2's connection-specific fields, server and date;
 * one final response a stream; DATA only after it and before its end; a
 * body that ends with END_STREAM on DATA is as long as its content-length
 * says; no response on a stream above the last id of a final GOAWAY.  The
 * transport is never called after the unit's close; once the connection
 * is gone (and the loop turned), no request is left pinned to the
 * generation; no leak (LeakSanitizer).
 *
 * HW_FUZZ_H2_SEEDS=DIR fuzz_h2 writes seeds made with libnghttp2's client
 * session (requests of every kind the unit handles: see record()) into
 * DIR and exits; tests/fuzz/run does that before fuzzing and adds them to
 * the committed corpus (tests/fuzz/corpus/h2, made the same way).
 * HW_FUZZ_DEBUG=1 prints the frames the server wrote.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "config.h"
#include "conntransport.h"
#include "generation.h"
#include "h2.h"
#include "h2_env.h"
#include "host.h"
#include "log.h"
#include "request.h"

#ifndef HW_FUZZ_MODULES_DIR
#define HW_FUZZ_MODULES_DIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hw__request_core core;
static hw__h2_env env;
static uv_timer_t alive; /* the connections' sockets, which keep a loop
                            alive (the env's handles do not) */
static int debug;

static void never(uv_timer_t *t) { (void)t; }

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_h2: invariant failed: %s (%s:%d)\n", #cond,        \
              __FILE__, __LINE__);                                             \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* ---- what the server writes, read as frames ----------------------------- */

#define MAX_TRACKED 4096

typedef struct sstate {
  int32_t id;
  uint8_t final;   /* a final response's HEADERS came */
  uint8_t ended;   /* END_STREAM or RST_STREAM */
  uint8_t dataend; /* ended by END_STREAM on DATA */
  int64_t length;  /* its content-length, or -1 */
  uint64_t data;   /* DATA bytes */
} sstate;

typedef struct wire {
  hw__buf raw; /* short of a whole frame */
  nghttp2_hd_inflater *inf;
  int frames;
  int32_t goaway_last; /* the lowest last id of a final GOAWAY */
  int32_t cont;        /* a header block waits for CONTINUATION on it */
  int cont_end;        /* ... and its HEADERS frame ended the stream */
  hw__buf block;       /* ... that block so far */
  sstate s[MAX_TRACKED];
  int ns;
} wire;

static sstate *st_of(wire *w, int32_t id) {
  for (int i = w->ns - 1; i >= 0; i--)
    if (w->s[i].id == id)
      return &w->s[i];
  if (w->ns == MAX_TRACKED)
    return NULL;
  w->s[w->ns] = (sstate){id, 0, 0, 0, -1, 0};
  return &w->s[w->ns++];
}

static uint32_t be(const uint8_t *p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

static int name_is(const nghttp2_nv *nv, const char *s) {
  return nv->namelen == strlen(s) && memcmp(nv->name, s, nv->namelen) == 0;
}

/* A whole header block on stream `id`: a response. */
static void response(wire *w, int32_t id, int end_stream) {
  sstate *st = st_of(w, id);
  const uint8_t *in = (const uint8_t *)w->block.data;
  size_t left = w->block.len;
  int n = 0, status = 0, server = 0, date = 0;

  CHECK(st == NULL || (!st->final && !st->ended));
  CHECK(id <= w->goaway_last);
  for (;;) {
    nghttp2_nv nv;
    int fl = 0;
    ssize_t r = nghttp2_hd_inflate_hd2(w->inf, &nv, &fl, in, left, 1);
    CHECK(r >= 0);
    in += r;
    left -= (size_t)r;
    if (fl & NGHTTP2_HD_INFLATE_EMIT) {
      if (n++ == 0) {
        CHECK(name_is(&nv, ":status") && nv.valuelen == 3);
        for (int i = 0; i < 3; i++)
          CHECK(nv.value[i] >= '0' && nv.value[i] <= '9');
        status = atoi((const char *)nv.value);
        CHECK(status >= 100 && status <= 599);
        if (debug)
          fprintf(stderr, "  :status %d on %d\n", status, id);
        continue;
      }
      CHECK(nv.namelen > 0 && nv.name[0] != ':');
      for (size_t i = 0; i < nv.namelen; i++)
        CHECK(!(nv.name[i] >= 'A' && nv.name[i] <= 'Z'));
      CHECK(!name_is(&nv, "connection") && !name_is(&nv, "keep-alive") &&
            !name_is(&nv, "proxy-connection") &&
            !name_is(&nv, "transfer-encoding") && !name_is(&nv, "upgrade") &&
            !name_is(&nv, "te"));
      server |= name_is(&nv, "server") && nv.valuelen == 7 &&
                memcmp(nv.value, "haywire", 7) == 0;
      date |= name_is(&nv, "date") && nv.valuelen == 29;
      if (name_is(&nv, "content-length") && st != NULL) {
        CHECK(nv.valuelen > 0 && nv.valuelen < 20);
        st->length = strtoll((const char *)nv.value, NULL, 10);
      }
    }
    if (fl & NGHTTP2_HD_INFLATE_FINAL)
      break;
    CHECK(left > 0 || r > 0);
  }
  nghttp2_hd_inflate_end_headers(w->inf);
  CHECK(n > 0);
  if (status >= 200) {
    CHECK(server && date);
    if (st != NULL) {
      st->final = 1;
      st->ended |= end_stream;
    }
  } else {
    CHECK(!end_stream);
  }
}

static void frame(wire *w, const uint8_t *h) {
  uint32_t len = be(h, 3);
  uint8_t type = h[3], flags = h[4];
  int32_t id = (int32_t)(be(h + 5, 4) & 0x7fffffffu);
  const uint8_t *p = h + 9;
  sstate *st;

  if (debug)
    fprintf(stderr, "frame type %u flags %02x stream %d length %u\n", type,
            flags, id, len);
  CHECK(w->frames++ > 0 || (type == NGHTTP2_SETTINGS && !(flags & 1)));
  CHECK(w->cont == 0 || (type == NGHTTP2_CONTINUATION && id == w->cont));
  switch (type) {
  case NGHTTP2_DATA:
    CHECK(id % 2 == 1);
    st = st_of(w, id);
    CHECK(st == NULL || (st->final && !st->ended));
    if (st != NULL) {
      uint32_t pad = (flags & NGHTTP2_FLAG_PADDED) ? p[0] + 1u : 0;
      CHECK(pad <= len);
      st->data += len - pad;
      if (flags & NGHTTP2_FLAG_END_STREAM) {
        st->ended = st->dataend = 1;
        CHECK(st->length < 0 || (uint64_t)st->length == st->data);
      }
    }
    break;
  case NGHTTP2_HEADERS:
  case NGHTTP2_CONTINUATION:
    CHECK(id % 2 == 1);
    CHECK(type == NGHTTP2_HEADERS ? w->cont == 0 : w->cont == id);
    if (type == NGHTTP2_HEADERS) {
      CHECK(!(flags & (NGHTTP2_FLAG_PADDED | NGHTTP2_FLAG_PRIORITY)));
      w->block.len = 0;
      w->cont_end = (flags & NGHTTP2_FLAG_END_STREAM) != 0;
    }
    hw__buf_append(&w->block, p, len);
    if (flags & NGHTTP2_FLAG_END_HEADERS) {
      w->cont = 0;
      response(w, id, w->cont_end); /* (END_STREAM is the HEADERS frame's) */
    } else {
      w->cont = id;
    }
    break;
  case NGHTTP2_RST_STREAM:
    CHECK(len == 4 && id % 2 == 1);
    if ((st = st_of(w, id)) != NULL)
      st->ended = 1;
    break;
  case NGHTTP2_SETTINGS:
    CHECK(id == 0 && len % 6 == 0 && (!(flags & 1) || len == 0));
    break;
  case NGHTTP2_PING: CHECK(id == 0 && len == 8); break;
  case NGHTTP2_GOAWAY: {
    int32_t last;
    CHECK(id == 0 && len >= 8);
    last = (int32_t)(be(p, 4) & 0x7fffffffu);
    if (last < w->goaway_last)
      w->goaway_last = last;
    break;
  }
  case NGHTTP2_WINDOW_UPDATE: CHECK(len == 4); break;
  default: CHECK(!"a frame a server does not send");
  }
}

static void scan(wire *w, const char *data, size_t len) {
  size_t at = 0;
  hw__buf_append(&w->raw, data, len);
  while (w->raw.len - at >= 9) {
    const uint8_t *h = (const uint8_t *)w->raw.data + at;
    uint32_t flen = be(h, 3);
    if (w->raw.len - at < 9 + (size_t)flen)
      break;
    frame(w, h);
    at += 9 + flen;
  }
  memmove(w->raw.data, w->raw.data + at, w->raw.len - at);
  w->raw.len -= at;
}

/* What the server wrote since the last look goes to the reader. */
static void take(wire *w, ct_conn *c) {
  if (c->out.len > 0) {
    scan(w, c->out.data, c->out.len);
    c->out.len = 0;
  }
}

/* ---- the run ------------------------------------------------------------ */

static void run_loop(void) {
  for (int i = 0; i < 3; i++)
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
}

static uint32_t next_rand(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* The env's sweep, `ahead` ms after the loop's time. */
static void sweep(uint64_t ahead) {
  uint64_t now;
  uv_update_time(uv_default_loop());
  now = uv_now(uv_default_loop()) + ahead;
  for (hw__h2_env_node *n = env.conns, *next; n != NULL; n = next) {
    next = n->next;
    env.hooks->sweep(n, now, 1000);
  }
}

static void step(wire *w, ct_conn *c, int slow) {
  take(w, c);
  run_loop();
  take(w, c);
  if (slow) {
    ct_let_go(c); /* the next turn: the client read it */
    take(w, c);
    ct_read(c);
    take(w, c);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static wire w;
  unsigned ctl, mode;
  uint32_t seed;
  hw__buf in = {0};
  size_t off = 0;
  int drained = 0, slow;
  uint64_t ahead = 0;
  ct_conn *c;

  if (size < 1)
    return 0;
  ctl = data[0];
  mode = ctl & 3;
  slow = (ctl >> 5) & 1;
  seed = 0x9e3779b9u ^ (ctl * 0x01000193u) ^ (uint32_t)size;
  if (!(ctl & 8))
    hw__buf_append(&in, preface, 24);
  hw__buf_append(&in, data + 1, size - 1);

  w.raw.len = 0;
  w.block.len = 0;
  w.frames = 0;
  w.goaway_last = INT32_MAX;
  w.cont = 0;
  w.ns = 0;
  if (w.inf != NULL)
    nghttp2_hd_inflate_del(w.inf);
  CHECK(nghttp2_hd_inflate_new(&w.inf) == 0);

  c = ct_open(&hw__h2_proto, &env);
  CHECK(c != NULL);
  c->hold = slow;
  while (off < in.len && !c->gone) {
    size_t piece;
    switch (mode) {
    case 0: piece = in.len - off; break;
    case 1: piece = 1; break;
    default: piece = 1 + next_rand(&seed) % (mode == 2 ? 16 : 1500); break;
    }
    if (piece > in.len - off)
      piece = in.len - off;
    ct_send(c, in.data + off, piece);
    off += piece;
    ct_read(c);
    step(&w, c, slow);
    if (ctl & 64) {
      ahead += 1000;
      sweep(ahead);
      step(&w, c, slow);
    }
    if ((ctl & 16) && !drained && off >= in.len / 2) {
      drained = 1;
      ct_drain(c);
      step(&w, c, slow);
    }
  }
  for (int i = 0; i < 4 && !c->gone && c->inbox.len > 0; i++) {
    ct_let_go(c); /* what is still in the socket, once output drains */
    ct_read(c);
    step(&w, c, slow);
  }
  if (ctl & 4) {
    ct_eof(c);
    step(&w, c, slow);
  }
  if (ctl & 128) {
    ct_timeout(c);
    step(&w, c, slow);
  }
  ct_let_go(c);
  take(&w, c);
  CHECK(c->late == 0);
  ct_free(c);
  hw__buf_free(&in);
  /* Requests whose client went away are finished by their modules, which
   * hear of it from the loop. */
  for (int i = 0; i < 10 && core.gen->live > 0; i++)
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
  CHECK(core.gen->live == 0 && core.gen->reqs == NULL);
  CHECK(env.conns == NULL);
  return 0;
}

/* ---- seeds: what libnghttp2's client sends ----------------------------- */

typedef struct rec {
  nghttp2_session *ng;
  hw__buf out;
} rec;

static ssize_t rec_body(nghttp2_session *ng, int32_t id, uint8_t *buf,
                        size_t len, uint32_t *flags, nghttp2_data_source *src,
                        void *u) {
  size_t *left = src->ptr;
  size_t n = *left < len ? *left : len;
  (void)ng, (void)id, (void)u;
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)('a' + i % 26);
  *left -= n;
  if (*left == 0)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static ssize_t rec_pad(nghttp2_session *ng, const nghttp2_frame *f,
                       size_t max, void *u) {
  (void)ng, (void)u;
  return f->hd.length + 7 <= max ? (ssize_t)f->hd.length + 7
                                 : (ssize_t)f->hd.length;
}

static void rec_open(rec *r, int padded, uint32_t window) {
  nghttp2_session_callbacks *cbs;
  nghttp2_settings_entry iv[2] = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
  nghttp2_session_callbacks_new(&cbs);
  if (padded)
    nghttp2_session_callbacks_set_select_padding_callback(cbs, rec_pad);
  nghttp2_session_client_new(&r->ng, cbs, r);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(r->ng, NGHTTP2_FLAG_NONE, iv, 2);
  r->out = (hw__buf){0};
}

static void rec_flush(rec *r) {
  const uint8_t *p;
  ssize_t n;
  while ((n = nghttp2_session_mem_send(r->ng, &p)) > 0)
    hw__buf_append(&r->out, p, (size_t)n);
}

/* Submits a request: `fields` "name", "value" pairs ending with NULL; a
 * body of `*body` bytes when `body` is not NULL. */
static int32_t rec_req(rec *r, const char *method, const char *path,
                       const char *const *fields, size_t *body) {
  nghttp2_nv nv[40];
  size_t n = 0;
  nghttp2_data_provider dp = {.source.ptr = body, .read_callback = rec_body};
#define NV(a, b)                                                               \
  nv[n++] = (nghttp2_nv){(uint8_t *)(a), (uint8_t *)(b), strlen(a), strlen(b), \
                         NGHTTP2_NV_FLAG_NONE}
  NV(":method", method);
  if (path != NULL) {
    NV(":scheme", "http");
    NV(":path", path);
  }
  NV(":authority", "x.example");
  for (size_t i = 0; fields != NULL && fields[i] != NULL && n < 40; i += 2)
    NV(fields[i], fields[i + 1]);
#undef NV
  return nghttp2_submit_request(r->ng, NULL, nv, n, body ? &dp : NULL, NULL);
}

static void rec_write(const char *dir, const char *name, unsigned ctl,
                      rec *r) {
  char path[1024];
  FILE *f;
  unsigned char c = (unsigned char)(ctl | 8); /* its own preface */
  rec_flush(r);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  if ((f = fopen(path, "wb")) == NULL) {
    fprintf(stderr, "fuzz_h2: cannot write %s\n", path);
    exit(2);
  }
  fwrite(&c, 1, 1, f);
  fwrite(r->out.data, 1, r->out.len, f);
  fclose(f);
  nghttp2_session_del(r->ng);
  hw__buf_free(&r->out);
}

static void record(const char *dir) {
  static char big[3000];
  static const char *const cookies[] = {"cookie", "a=1", "cookie", "b=2",
                                        "x-a", "1", NULL};
  static const char *const host[] = {"host", "x.example", NULL};
  static const char *const other[] = {"host", "other.example", NULL};
  static const char *const cl[] = {"content-length", "10", NULL};
  static const char *const cl_big[] = {"content-length", "5000", NULL};
  const char *bigf[] = {"x-big", big, NULL};
  const char *many[40];
  char names[18][8];
  size_t b1, b2, b3;
  uint8_t opaque[8] = "pingpong";
  rec r;
  int files = 0;

  memset(big, 'v', sizeof(big) - 1);
  for (int i = 0; i < 18; i++) {
    snprintf(names[i], sizeof(names[i]), "x-%d", i);
    many[2 * i] = names[i];
    many[2 * i + 1] = "v";
  }
  many[36] = NULL;

  rec_open(&r, 0, 65535);
  rec_req(&r, "GET", "/hello", NULL, NULL);
  rec_write(dir, "get", 0, &r), files++;

  rec_open(&r, 0, 65535);
  rec_req(&r, "GET", "/hello", NULL, NULL);
  rec_req(&r, "HEAD", "/hello", NULL, NULL);
  rec_req(&r, "GET", "/echo/a/../b?q=1", cookies, NULL);
  rec_req(&r, "GET", "/delay/x", NULL, NULL);
  rec_req(&r, "GET", "/nope", NULL, NULL);
  rec_req(&r, "OPTIONS", "*", NULL, NULL);
  rec_req(&r, "CONNECT", NULL, NULL, NULL);
  rec_req(&r, "BREW", "/echo", NULL, NULL);
  rec_req(&r, "GET", "/echo", host, NULL);
  rec_req(&r, "GET", "/echo", other, NULL);
  rec_write(dir, "many-requests", 0, &r), files++;

  rec_open(&r, 0, 65535);
  b1 = 10, b2 = 5000, b3 = 300;
  rec_req(&r, "POST", "/echo", cl, &b1);
  rec_req(&r, "POST", "/echo", cl_big, &b2);
  rec_req(&r, "PUT", "/up/x", NULL, &b3);
  rec_write(dir, "bodies", 2, &r), files++;

  rec_open(&r, 1, 65535);
  b1 = 3000, b2 = 100;
  rec_req(&r, "POST", "/fs/echo", NULL, &b1);
  rec_req(&r, "POST", "/fs/echo", cl, &b2);
  rec_write(dir, "streamed-body-padded", 3, &r), files++;

  rec_open(&r, 0, 65535);
  rec_req(&r, "GET", "/f/stream?n=8&k=9000&len=1", NULL, NULL);
  rec_req(&r, "GET", "/f/stream?n=3&k=100&t=1", NULL, NULL);
  rec_req(&r, "GET", "/f/stream?n=2&k=10&len=2", NULL, NULL);
  rec_req(&r, "GET", "/f/hop", NULL, NULL);
  rec_write(dir, "streamed", 32, &r), files++;

  /* Windows wide open: output past the transport's bound in one go (the
   * env's output turn), to a client that reads, and one that does not. */
  rec_open(&r, 0, 1 << 22);
  nghttp2_session_set_local_window_size(r.ng, NGHTTP2_FLAG_NONE, 0, 1 << 22);
  rec_req(&r, "GET", "/f/stream?n=20&k=20000&len=1", NULL, NULL);
  rec_req(&r, "GET", "/f/stream?n=64&k=5000&t=1", NULL, NULL);
  rec_req(&r, "GET", "/hello", NULL, NULL);
  rec_write(dir, "wide-window", 0, &r), files++;
  rec_open(&r, 0, 1 << 22);
  nghttp2_session_set_local_window_size(r.ng, NGHTTP2_FLAG_NONE, 0, 1 << 22);
  rec_req(&r, "GET", "/f/stream?n=20&k=20000&len=1", NULL, NULL);
  rec_req(&r, "GET", "/hello", NULL, NULL);
  rec_write(dir, "wide-window-slow", 32, &r), files++;

  rec_open(&r, 0, 0);
  rec_req(&r, "GET", "/f/stream?n=2&k=1000&len=1", NULL, NULL);
  rec_flush(&r);
  nghttp2_submit_window_update(r.ng, NGHTTP2_FLAG_NONE, 1, 1500);
  rec_write(dir, "zero-window", 64, &r), files++;

  rec_open(&r, 0, 65535);
  rec_req(&r, "GET", "/hello", bigf, NULL);
  rec_req(&r, "GET", "/hello", many, NULL);
  rec_write(dir, "431", 0, &r), files++;

  rec_open(&r, 0, 65535);
  {
    int32_t id = rec_req(&r, "GET", "/delay/x", NULL, NULL);
    rec_flush(&r);
    nghttp2_submit_rst_stream(r.ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    nghttp2_submit_ping(r.ng, NGHTTP2_FLAG_NONE, opaque);
    nghttp2_submit_ping(r.ng, NGHTTP2_FLAG_ACK, (const uint8_t *)"hwdrain");
    nghttp2_submit_priority(r.ng, NGHTTP2_FLAG_NONE, 3,
                            &(nghttp2_priority_spec){1, 200, 0});
    rec_req(&r, "GET", "/hello", NULL, NULL);
    nghttp2_submit_goaway(r.ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL,
                          0);
  }
  rec_write(dir, "control-frames", 16, &r), files++;

  rec_open(&r, 0, 65535);
  {
    /* A body, then trailers. */
    int32_t id;
    nghttp2_nv trn = {(uint8_t *)"x-trailer", (uint8_t *)"1", 9, 1,
                      NGHTTP2_NV_FLAG_NONE};
    b1 = 20;
    id = rec_req(&r, "POST", "/echo", NULL, NULL);
    rec_flush(&r);
    nghttp2_submit_data(r.ng, NGHTTP2_FLAG_NONE, id,
                        &(nghttp2_data_provider){.source.ptr = &b1,
                                                 .read_callback = rec_body});
    rec_flush(&r);
    nghttp2_submit_trailer(r.ng, id, &trn, 1);
  }
  rec_write(dir, "trailers", 1, &r), files++;

  rec_open(&r, 0, 65535);
  for (int i = 0; i < 40; i++)
    rec_req(&r, "GET", i % 3 ? "/hello" : "/delay/y", NULL, NULL);
  rec_write(dir, "forty-streams", 4, &r), files++;

  fprintf(stderr, "fuzz_h2: %d seeds written to %s\n", files, dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *mdir = getenv("HW_FUZZ_MODULES_DIR");
  const char *seeds = getenv("HW_FUZZ_H2_SEEDS");
  char json[4096], path[1200], err[2048];
  hw__config *cfg;
  hw__generation *gen;

  (void)argc;
  (void)argv;
  if (seeds != NULL && seeds[0] != '\0') {
    record(seeds);
    exit(0);
  }
  if (mdir == NULL || mdir[0] == '\0')
    mdir = HW_FUZZ_MODULES_DIR;
  hw__log_set_level(HW_LOG_ERROR);
  debug = getenv("HW_FUZZ_DEBUG") != NULL;
  snprintf(path, sizeof(path), "%s/fuzz-routes.json", mdir);
  snprintf(json, sizeof(json),
           "{\"modules_dir\": \"%s\","
           " \"limits\": {\"body\": 2048, \"header_bytes\": 1024,"
           "              \"headers\": 16},"
           " \"timeouts_ms\": {\"head\": 3000, \"body_idle\": 2000,"
           "                   \"write\": 2000},"
           " \"routes\": ["
           "  {\"prefix\": \"/hello\", \"module\": \"hello.so\"},"
           "  {\"prefix\": \"/\", \"module\": \"hello.so\","
           "   \"config\": {\"body\": \"root\"}},"
           "  {\"prefix\": \"/echo\", \"module\": \"echo.so\"},"
           "  {\"prefix\": \"/delay\", \"module\": \"delay.so\","
           "   \"config\": {\"ms\": 0}},"
           "  {\"prefix\": \"/up\", \"module\": \"echo.so\","
           "   \"body\": \"stream\", \"body_limit\": 4096},"
           "  {\"prefix\": \"/f\", \"module\": \"streammod.so\"},"
           "  {\"prefix\": \"/fs\", \"module\": \"streammod.so\","
           "   \"body\": \"stream\", \"body_limit\": 100000}]}",
           mdir);
  hw__module_serve_on(uv_default_loop());
  if (hw__config_parse(json, strlen(json), path, &cfg, err, sizeof(err)) != 0 ||
      hw__generation_build(cfg, 1, &hw__host, &gen, err, sizeof(err)) != 0) {
    fprintf(stderr,
            "fuzz_h2: cannot build the generation: %s\n"
            "(set HW_FUZZ_MODULES_DIR to the directory of the fuzz build's "
            "modules)\n",
            err);
    exit(2);
  }
  hw__request_core_init(&core, gen);
  if (hw__h2_env_init(&env, &core, uv_default_loop(), &hw__h2_hooks) != 0) {
    fprintf(stderr, "fuzz_h2: no memory for the env\n");
    exit(2);
  }
  uv_timer_init(uv_default_loop(), &alive);
  uv_timer_start(&alive, never, 24 * 3600 * 1000, 0);
  return 0;
}
