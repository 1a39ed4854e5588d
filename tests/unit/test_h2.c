/*
 * test_h2.c - unit tests of the HTTP/2 protocol unit (server/h2.c, with
 * h2_streams.c, h2_response.c and h2_env.c) between a fake connection
 * below it and libnghttp2's client session above it, so that the test
 * speaks real HTTP/2: what the client session serialises is handed to the
 * unit as reads, and what the unit batched is given to the client session.
 *
 * The connection below is tests/lib/conntransport.c, modelled on conn.c:
 * a batch taken before each read, what the unit did not take fed again
 * when it resumes, the batch written after every call and on a flush
 * outside one, no reading while more than HW__TRANSPORT_MAX_UNSENT is
 * unsent, `writable` only when the unsent count falls below the bound
 * (a write the kernel takes at once brings none), a close after the write
 * or now.  It can hold what is written unsent (a client that does not
 * read) until the test lets it go.
 *
 * Behind the unit are the request core and real modules (hello.so,
 * echo.so, delay.so, the behave fixture built for ABI 1.6 on /a and for
 * ABI 1.2 on /old, the stream fixture on /s and, taking bodies as a
 * stream, on /up), and, for comparison, the HTTP/1.1 unit over the
 * in-memory transport of test_h1 (tests/lib/memtransport.c).  The stream
 * clocks are driven by calling the env's sweep hook with a time ahead of
 * the loop's.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "h1.h"
#include "h2.h"
#include "h2_env.h"
#include "host.h"
#include "conntransport.h"
#include "memtransport.h"
#include "portable.h"
#include "request.h"
#include "tap.h"

static hw__request_core core;
static hw__h2_env env;
static hw__h1_env h1env;
/* Stands for the connections' sockets, which keep a worker's loop alive
 * (the env's handles do not): without it uv_run would return at once. */
static uv_timer_t alive;

static void never(uv_timer_t *t) { (void)t; }

/* The limits and timeouts of the test generation (see main). */
#define BODY_LIMIT 64
#define HEADER_BYTES 2048
#define MAX_HEADERS 20
#define HEAD_MS 2000
#define BODY_IDLE_MS 3000
#define WRITE_MS 4000

/* ---- the client (libnghttp2's client session) -------------------------- */

#define MAXR 160

typedef struct body {
  const char *data;
  size_t len, at, stop; /* sends up to `stop`, then waits (deferred) */
} body;

typedef struct rsp {
  int32_t id;
  int status;
  hw__buf head; /* "name: value\n" lines, as received */
  hw__buf body;
  int data_frames, ended, closed, order, upper;
  uint32_t code; /* the stream's close code */
} rsp;

typedef struct cl {
  nghttp2_session *ng;
  ct_conn *f;
  rsp r[MAXR];
  body b[MAXR];
  int nr, nb, closes;
  int goaways; /* as the server's bytes say (the client session may not
                 report a GOAWAY once it has nothing left to do) */
  int32_t goaway_last[4];
  uint32_t goaway_code[4];
  hw__buf raw; /* the server's bytes short of a whole frame */
  int pings, acks, rsts, headers_frames;
  int deaf; /* reads nothing of what the server wrote */
} cl;

static rsp *rsp_of(cl *c, int32_t id) {
  for (int i = 0; i < c->nr; i++)
    if (c->r[i].id == id)
      return &c->r[i];
  if (c->nr == MAXR)
    return &c->r[MAXR - 1];
  c->r[c->nr].id = id;
  return &c->r[c->nr++];
}

static int on_begin(nghttp2_session *ng, const nghttp2_frame *f, void *u) {
  (void)ng;
  rsp_of(u, f->hd.stream_id);
  return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f,
                     const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen, uint8_t flags, void *u) {
  rsp *r = rsp_of(u, f->hd.stream_id);
  (void)ng, (void)flags;
  for (size_t i = 0; i < nlen; i++)
    if (name[i] >= 'A' && name[i] <= 'Z')
      r->upper = 1;
  if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
    r->status = atoi((const char *)value);
    return 0;
  }
  hw__buf_append(&r->head, name, nlen);
  hw__buf_append(&r->head, ": ", 2);
  hw__buf_append(&r->head, value, vlen);
  hw__buf_append(&r->head, "\n", 2);
  r->head.len--; /* NUL-terminated */
  return 0;
}

static int on_chunk(nghttp2_session *ng, uint8_t flags, int32_t id,
                    const uint8_t *data, size_t len, void *u) {
  rsp *r = rsp_of(u, id);
  (void)ng, (void)flags;
  hw__buf_append(&r->body, data, len);
  hw__buf_append(&r->body, "", 1);
  r->body.len--;
  return 0;
}

static int on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *u) {
  cl *c = u;
  (void)ng;
  switch (f->hd.type) {
  case NGHTTP2_DATA:
    rsp_of(c, f->hd.stream_id)->data_frames++;
    /* fall through */
  case NGHTTP2_HEADERS:
    if (f->hd.type == NGHTTP2_HEADERS)
      c->headers_frames++;
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
      rsp_of(c, f->hd.stream_id)->ended = 1;
    break;
  case NGHTTP2_PING:
    if (f->hd.flags & NGHTTP2_FLAG_ACK)
      c->acks++;
    else
      c->pings++;
    break;
  case NGHTTP2_RST_STREAM: c->rsts++; break;
  default: break;
  }
  return 0;
}

static int on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *u) {
  cl *c = u;
  rsp *r = rsp_of(c, id);
  (void)ng;
  r->closed = 1;
  r->code = code;
  r->order = ++c->closes;
  return 0;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf,
                         size_t len, uint32_t *flags, nghttp2_data_source *src,
                         void *u) {
  body *b = src->ptr;
  size_t n = b->stop - b->at;
  (void)ng, (void)id, (void)u;
  if (n > len)
    n = len;
  memcpy(buf, b->data + b->at, n);
  b->at += n;
  if (b->at == b->len)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  else if (n == 0)
    return NGHTTP2_ERR_DEFERRED;
  return (ssize_t)n;
}

/* A client on a new connection; `window` its initial stream window (and,
 * when larger than the default, its connection window too), or -1 for
 * the default; `piece` the size of each read the unit is given. */
static cl *cl_open(int32_t window, size_t piece, int auto_ping_ack) {
  cl *c = calloc(1, sizeof(*c));
  nghttp2_session_callbacks *cbs;
  nghttp2_option *opt;
  nghttp2_settings_entry iv[1] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0}};
  size_t niv = 0;

  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_ping_ack(opt, !auto_ping_ack);
  nghttp2_session_client_new2(&c->ng, cbs, c, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (window >= 0) {
    iv[0].value = (uint32_t)window;
    niv = 1;
  }
  nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, niv);
  if (window > 65535)
    nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
                                          window);
  c->f = ct_open(&hw__h2_proto, &env);
  c->f->piece = piece;
  return c;
}

/* Calls a connection's unit made of its transport after its close. */
static int late;

static void cl_free(cl *c) {
  if (c->f != NULL) {
    ct_close(c->f);
    late += c->f->late;
    ct_free(c->f);
  }
  nghttp2_session_del(c->ng);
  hw__buf_free(&c->raw);
  for (int i = 0; i < MAXR; i++) {
    hw__buf_free(&c->r[i].head);
    hw__buf_free(&c->r[i].body);
  }
  free(c);
}

/* What the client session has to send goes into the socket, and the
 * connection reads it. */
static int cl_send(cl *c) {
  const uint8_t *p;
  ssize_t n;
  int moved = 0;
  while ((n = nghttp2_session_mem_send(c->ng, &p)) > 0) {
    ct_send(c->f, p, (size_t)n);
    moved = 1;
  }
  return ct_read(c->f) | moved;
}

static uint32_t be32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 |
         u[3];
}

/* The GOAWAY frames in what the server wrote. */
static void scan_frames(cl *c, const char *p, size_t len) {
  size_t at = 0;
  hw__buf_append(&c->raw, p, len);
  while (c->raw.len - at >= 9) {
    const char *h = c->raw.data + at;
    size_t flen = be32(h) >> 8;
    if (c->raw.len - at < 9 + flen)
      break;
    if (h[3] == NGHTTP2_GOAWAY && flen >= 8) {
      if (c->goaways < 4) {
        c->goaway_last[c->goaways] = (int32_t)(be32(h + 9) & 0x7fffffffu);
        c->goaway_code[c->goaways] = be32(h + 13);
      }
      c->goaways++;
    }
    at += 9 + flen;
  }
  memmove(c->raw.data, c->raw.data + at, c->raw.len - at);
  c->raw.len -= at;
}

/* What the server wrote goes to the client session. */
static int cl_recv(cl *c) {
  ct_conn *f = c->f;
  ssize_t n;
  if (c->deaf || f->out.len == 0)
    return 0;
  scan_frames(c, f->out.data, f->out.len);
  n = nghttp2_session_mem_recv(c->ng, (const uint8_t *)f->out.data,
                               f->out.len);
  if (n < 0)
    diag("the client session refused the server's bytes: %s",
         nghttp2_strerror((int)n));
  f->out.len = 0;
  return 1;
}

/* Both ways until nothing moves (bounded). */
static void cl_exchange(cl *c) {
  for (int i = 0; i < 10000; i++)
    if (!(cl_send(c) | cl_recv(c)))
      return;
}

/* Exchanges and runs the loop until `cond` holds or `ms` pass. */
#define UNTIL(c, cond, ms)                                                     \
  do {                                                                         \
    uint64_t end_ = uv_hrtime() + (uint64_t)(ms) * 1000000u;                   \
    for (;;) {                                                                 \
      cl_exchange(c);                                                          \
      if ((cond) || uv_hrtime() > end_)                                        \
        break;                                                                 \
      uv_run(uv_default_loop(), UV_RUN_NOWAIT);                                \
      hwt_usleep(200);                                                         \
    }                                                                          \
  } while (0)

/* Submits a request: `path` NULL for CONNECT (no :scheme, no :path),
 * `authority` NULL for none, `fields` pairs ending with NULL, and a body
 * of which `stop` bytes go at once (the rest when the test says). */
static int32_t cl_req(cl *c, const char *method, const char *path,
                      const char *authority, const char *const *fields,
                      const char *data, size_t len, size_t stop) {
  nghttp2_nv nv[64];
  size_t n = 0;
  nghttp2_data_provider dp;
  const char *names[64], *values[64];
  size_t k = 0;

  names[k] = ":method", values[k++] = method;
  if (path != NULL) {
    names[k] = ":scheme", values[k++] = "http";
    names[k] = ":path", values[k++] = path;
  }
  if (authority != NULL)
    names[k] = ":authority", values[k++] = authority;
  for (size_t i = 0; fields != NULL && fields[i] != NULL && k < 64; i += 2)
    names[k] = fields[i], values[k++] = fields[i + 1];
  for (n = 0; n < k; n++)
    nv[n] = (nghttp2_nv){(uint8_t *)names[n], (uint8_t *)values[n],
                         strlen(names[n]), strlen(values[n]),
                         NGHTTP2_NV_FLAG_NONE};
  if (data != NULL) {
    body *b = &c->b[c->nb++];
    *b = (body){data, len, 0, stop};
    dp.source.ptr = b;
    dp.read_callback = read_body;
  }
  return nghttp2_submit_request(c->ng, NULL, nv, n, data ? &dp : NULL, NULL);
}

static int32_t cl_get(cl *c, const char *path) {
  return cl_req(c, "GET", path, "x.example", NULL, NULL, 0, 0);
}

/* One request on its own, answered at once or within `ms`. */
static rsp *cl_fetch(cl *c, const char *path, int ms) {
  int32_t id = cl_get(c, path);
  rsp *r = rsp_of(c, id);
  UNTIL(c, r->closed, ms);
  return r;
}

/* The value of field `name` in a response, or NULL. */
static const char *hdr(const rsp *r, const char *name) {
  static char v[512];
  size_t nl = strlen(name);
  const char *p = r->head.data, *end = p + r->head.len;
  while (p != NULL && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL)
      break;
    if ((size_t)(eol - p) > nl + 1 && memcmp(p, name, nl) == 0 &&
        p[nl] == ':') {
      size_t vl = (size_t)(eol - p) - nl - 2;
      if (vl >= sizeof(v))
        vl = sizeof(v) - 1;
      memcpy(v, p + nl + 2, vl);
      v[vl] = '\0';
      return v;
    }
    p = eol + 1;
  }
  return NULL;
}

/* A request refused: 400, or reset by nghttp2 as malformed (RFC 9113
 * section 8.1.1). */
static int refused(const rsp *r) {
  return r->closed &&
         (r->status == 400 || (r->status == 0 && r->code == NGHTTP2_PROTOCOL_ERROR));
}

static const char *body_of(const rsp *r) {
  return r->body.data != NULL ? r->body.data : "";
}

/* Runs every connection's clocks as the env's timer would, `ms` ahead of
 * the loop's time. */
static void sweep_ahead(uint64_t ms) {
  uint64_t now;
  uv_update_time(uv_default_loop());
  now = uv_now(uv_default_loop()) + ms;
  for (hw__h2_env_node *n = env.conns, *next; n != NULL; n = next) {
    next = n->next;
    env.hooks->sweep(n, now, (uint32_t)ms);
  }
}

/* Runs the loop until no request is left from earlier tests (an orphaned
 * request's module hears of it from the loop). */
static void settle(void) {
  uint64_t end = uv_hrtime() + 500 * 1000000u;
  while (core.gen->live > 0 && uv_hrtime() < end) {
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
    hwt_usleep(200);
  }
}

/* The counters of the stream fixture: the number after "name=". */
static long stat_of(const char *name) {
  cl *c = cl_open(-1, 0, 1);
  rsp *r = cl_fetch(c, "/s/stats", 200);
  const char *p = strstr(body_of(r), name);
  long v = p != NULL ? strtol(p + strlen(name) + 1, NULL, 10) : -1;
  cl_free(c);
  return v;
}

/* ---- the tests -------------------------------------------------------- */

static void test_get(void) {
  cl *c = cl_open(-1, 0, 1);
  rsp *r = cl_fetch(c, "/hello", 200);
  const char *date;

  is_int(r->status, 200, "GET /hello: 200");
  is_str(body_of(r), "Hello, World!", "with hello's body");
  is_str(hdr(r, "content-length"), "13", "content-length");
  is_str(hdr(r, "content-type"), "text/plain", "the module's field");
  is_str(hdr(r, "server"), "haywire", "server");
  date = hdr(r, "date");
  ok(date != NULL && strlen(date) == 29 && strstr(date, " GMT") != NULL,
     "date, an IMF-fixdate");
  ok(!r->upper && r->code == NGHTTP2_NO_ERROR && r->ended,
     "every name lower-case, the stream ended cleanly");
  ok(!c->f->closed, "the connection stays open");
  /* The sweep keeps an HTTP/2 connection's clocks, the keep-alive one
   * included (it ends an idle connection with a GOAWAY). */
  is_int(c->f->t.phase, HW__PHASE_BUSY, "its clocks are the sweep's");

  /* HEAD: the length, no body. */
  {
    int32_t id = cl_req(c, "HEAD", "/hello", "x.example", NULL, NULL, 0, 0);
    r = rsp_of(c, id);
    UNTIL(c, r->closed, 200);
    ok(r->status == 200 && r->body.len == 0 && r->data_frames == 0 &&
           hdr(r, "content-length") != NULL &&
           strcmp(hdr(r, "content-length"), "13") == 0,
       "HEAD: content-length 13, no DATA");
  }
  r = cl_fetch(c, "/a/status/204", 200);
  ok(r->status == 204 && hdr(r, "content-length") == NULL,
     "204: no content-length");
  r = cl_fetch(c, "/nope", 200);
  is_int(r->status, 404, "no route: 404");
  r = cl_fetch(c, "/a/peer", 200);
  is_str(body_of(r), "127.0.0.1:4242", "peer() asks the transport");
  cl_free(c);
}

/* The status and path a route sees over HTTP/1.1 for `target` (echo's
 * "path"), as "200 /echo/x". */
static void h1_path(const char *target, char *out, size_t cap) {
  char req[512];
  mt_conn *m = mt_open(&hw__h1_proto, &h1env);
  const char *p, *q;
  snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
  mt_read(m, req, strlen(req));
  hw__buf_append(&m->wire, "", 1);
  p = strstr(m->wire.data, "\"path\":\"");
  q = p != NULL ? strchr(p + 8, '"') : NULL;
  snprintf(out, cap, "%d %.*s",
           m->wire.len > 12 ? atoi(m->wire.data + 9) : 0,
           q != NULL ? (int)(q - p - 8) : 0, q != NULL ? p + 8 : "");
  mt_free(m);
}

static void test_message(void) {
  static const char *const targets[] = {
      "/echo/a/../b/%7Ex?q=1", "/echo/./c//d/", "/echo/%41%2Fz",
      "/echo/x/y/../../w?a&b", "/echo/../../etc", "/echo/%00"};
  cl *c = cl_open(-1, 0, 1);
  rsp *r;

  r = cl_fetch(c, "/a/info?x=1&y", 200);
  is_str(body_of(r), "prefix=/a rest=/info query=x=1&y version=20",
         "prefix, rest and query; version() 20 for a module of ABI 1.6");
  r = cl_fetch(c, "/old/info?z", 200);
  is_str(body_of(r), "prefix=/old rest=/info query=z version=11",
         "version() 11 for a module built for ABI 1.2");
  for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
    char want[256], got[256];
    const char *p, *q;
    h1_path(targets[i], want, sizeof(want));
    r = cl_fetch(c, targets[i], 200);
    p = strstr(body_of(r), "\"path\":\"");
    q = p != NULL ? strchr(p + 8, '"') : NULL;
    snprintf(got, sizeof(got), "%d %.*s", r->status,
             q != NULL ? (int)(q - p - 8) : 0, q != NULL ? p + 8 : "");
    ok(strcmp(got, want) == 0, "%s: as over HTTP/1.1 (%s)", targets[i],
       want);
    if (strcmp(got, want) != 0)
      diag("over HTTP/2: %s", got);
  }
  r = cl_fetch(c, "/echo/q?a=1&b=%20", 200);
  contains(body_of(r), "\"method\":\"GET\"", "the method");
  contains(body_of(r), "\"query\":\"a=1&b=%20\"", "the query, as sent");

  {
    static const char *const f[] = {"cookie", "a=1", "x-one", "1",
                                    "cookie", "b=2", "cookie", "c=3",
                                    NULL};
    int32_t id = cl_req(c, "GET", "/echo/c", "x.example", f, NULL, 0, 0);
    r = rsp_of(c, id);
    UNTIL(c, r->closed, 200);
    contains(body_of(r), "\"cookie\":\"a=1; b=2; c=3\"",
             "Cookie crumbs joined with \"; \"");
    contains(body_of(r), "\"x-one\":\"1\"", "the other fields");
  }
  {
    int32_t id = cl_req(c, "BREW", "/echo/pot", "x.example", NULL, NULL, 0, 0);
    r = rsp_of(c, id);
    UNTIL(c, r->closed, 200);
    contains(body_of(r), "\"method\":\"BREW\"", "an unknown method");
  }

  /* The authority. */
  r = cl_fetch(c, "/a/host", 200);
  is_str(body_of(r), "x.example", ":authority is the host");
  {
    static const char *const host[] = {"host", "h.example:81", NULL};
    static const char *const other[] = {"host", "b.example", NULL};
    static const char *const same[] = {"host", "x.example", NULL};
    int32_t a = cl_req(c, "GET", "/a/host", NULL, host, NULL, 0, 0);
    int32_t b = cl_req(c, "GET", "/a/host", "x.example", other, NULL, 0, 0);
    int32_t d = cl_req(c, "GET", "/a/host", "x.example", same, NULL, 0, 0);
    int32_t e = cl_req(c, "GET", "/a/host", NULL, NULL, NULL, 0, 0);
    int32_t g = cl_req(c, "GET", "/a/host", "bad host", NULL, NULL, 0, 0);
    UNTIL(c, rsp_of(c, g)->closed, 300);
    ok(rsp_of(c, a)->status == 200 &&
           strcmp(body_of(rsp_of(c, a)), "h.example:81") == 0,
       "no :authority: Host is the host");
    is_int(rsp_of(c, b)->status, 400, "Host and :authority differ: 400");
    ok(rsp_of(c, d)->status == 200 &&
           strcmp(body_of(rsp_of(c, d)), "x.example") == 0,
       "the same in both: 200");
    /* (nghttp2 refuses these two itself, with RST_STREAM) */
    ok(refused(rsp_of(c, e)), "neither: refused");
    ok(refused(rsp_of(c, g)), "an authority that is no host: refused");
  }
  {
    /* :path is origin-form or "*" (RFC 9113 section 8.3.1): a URI there
     * must not name another host than :authority. */
    int32_t a = cl_req(c, "GET", "http://evil.example/a/host", "x.example",
                       NULL, NULL, 0, 0);
    int32_t b = cl_req(c, "GET", "a/host", "x.example", NULL, NULL, 0, 0);
    UNTIL(c, rsp_of(c, b)->closed, 300);
    ok(refused(rsp_of(c, a)), "an absolute :path: refused");
    ok(refused(rsp_of(c, b)), "a :path without its slash: refused");
  }
  ok(!c->f->closed, "none of these ends the connection");
  cl_free(c);
}

/* Two connections of the env whose header blocks are cut across reads:
 * what one connection's HEADERS carried must not leak into the other's. */
static void test_interleaved_heads(void) {
  cl *a = cl_open(-1, 0, 1), *b = cl_open(-1, 0, 1);
  static char filler[600];
  const char *fa[] = {"cookie", "a=1", "x-filler", filler, "cookie", "c=3",
                      NULL};
  static const char *const fb[] = {"cookie", "b=2", NULL};
  int32_t ia, ib;
  const uint8_t *p;
  ssize_t n;
  hw__buf wire = {0};

  memset(filler, 'f', sizeof(filler) - 1);
  cl_exchange(a);
  cl_exchange(b);
  ia = cl_req(a, "GET", "/echo/a", "x.example", fa, NULL, 0, 0);
  ib = cl_req(b, "GET", "/echo/b", "x.example", fb, NULL, 0, 0);
  /* A's HEADERS frame, its first half (the first crumb and part of the
   * filler), then all of B's request, then the rest of A's. */
  while ((n = nghttp2_session_mem_send(a->ng, &p)) > 0)
    hw__buf_append(&wire, p, (size_t)n);
  ct_send(a->f, wire.data, wire.len / 2);
  ct_read(a->f);
  cl_exchange(b);
  ct_send(a->f, wire.data + wire.len / 2, wire.len - wire.len / 2);
  UNTIL(a, rsp_of(a, ia)->closed, 200);
  UNTIL(b, rsp_of(b, ib)->closed, 200);
  contains(body_of(rsp_of(b, ib)), "\"cookie\":\"b=2\"",
           "the connection in between has its own Cookie");
  contains(body_of(rsp_of(a, ia)), "\"cookie\":\"a=1; c=3\"",
           "a header block cut across reads keeps its Cookie crumbs");
  hw__buf_free(&wire);
  cl_free(a);
  cl_free(b);
}

static void test_bodies(void) {
  cl *c = cl_open(-1, 0, 1);
  static char big[200000];
  static const char *const cl5[] = {"content-length", "5", NULL};
  static const char *const cl100[] = {"content-length", "100", NULL};
  static const char *const huge[] = {"content-length", "2000000", NULL};
  int32_t id;
  rsp *r;

  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (char)('a' + i % 26);
  id = cl_req(c, "POST", "/echo", "x.example", cl5, "hello", 5, 5);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  ok(r->status == 200 && strstr(body_of(r), "\"body\":\"hello\"") != NULL,
     "a POST body, declared, copied for the module");
  id = cl_req(c, "PUT", "/echo", "x.example", NULL, "abc", 3, 3);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  ok(r->status == 200 && strstr(body_of(r), "\"body\":\"abc\"") != NULL,
     "undeclared: the same");

  /* A body the module reads as a stream, pausing it every other piece:
   * 300 bytes past limits.body, then more than the stream's window. */
  id = cl_req(c, "POST", "/up/upload?ms=1", "x.example", NULL, big, 300, 300);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 500);
  ok(r->status == 200 && strstr(body_of(r), "bytes=300 ") != NULL,
     "a streamed body past limits.body (its route's limit applies)");
  id = cl_req(c, "POST", "/up/upload?ms=1", "x.example", NULL, big,
              sizeof(big), sizeof(big));
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 3000);
  ok(r->status == 200 && strstr(body_of(r), "bytes=200000 ") != NULL,
     "a streamed body larger than its window, held and let go: whole");

  /* Past the limit (64): declared, then not. */
  id = cl_req(c, "POST", "/echo", "x.example", cl100, big, 100, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  ok(r->status == 413 && strstr(body_of(r), "413") != NULL,
     "a declared body past the limit: 413, before any of it");
  id = cl_req(c, "POST", "/echo", "x.example", NULL, big, 100, 100);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  is_int(r->status, 413, "an undeclared one, as it arrives: 413");
  id = cl_req(c, "POST", "/up/upload", "x.example", huge, big, 10, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  is_int(r->status, 413, "past a route's body_limit: 413");
  r = cl_fetch(c, "/hello", 200);
  ok(r->status == 200 && !c->f->closed, "and the connection goes on");
  cl_free(c);
}

static void test_limits(void) {
  cl *c = cl_open(-1, 0, 1);
  static char value[HEADER_BYTES + 100];
  const char *f[] = {"x-big", value, NULL};
  const char *many[2 * (MAX_HEADERS + 2) + 1];
  char names[MAX_HEADERS + 1][8];
  int32_t id;
  rsp *r;

  memset(value, 'v', sizeof(value) - 1);
  id = cl_req(c, "GET", "/hello", "x.example", f, NULL, 0, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  is_int(r->status, 431, "a header list past max_header_list_size: 431");
  r = cl_fetch(c, "/hello", 200);
  ok(r->status == 200 && !c->f->closed, "and the connection goes on");

  for (int i = 0; i <= MAX_HEADERS; i++) {
    snprintf(names[i], sizeof(names[i]), "x-%d", i);
    many[2 * i] = names[i];
    many[2 * i + 1] = "v";
  }
  many[2 * MAX_HEADERS] = NULL;
  id = cl_req(c, "GET", "/hello", "x.example", many, NULL, 0, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  is_int(r->status, 200, "limits.headers fields: 200");
  many[2 * MAX_HEADERS] = names[MAX_HEADERS];
  many[2 * MAX_HEADERS + 2] = NULL;
  id = cl_req(c, "GET", "/hello", "x.example", many, NULL, 0, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  is_int(r->status, 431, "one more: 431");
  r = cl_fetch(c, "/hello", 200);
  ok(r->status == 200 && !c->f->closed, "and the connection goes on");
  cl_free(c);
}

static void test_deferred(void) {
  cl *c = cl_open(-1, 0, 1);
  int32_t a, b, d;
  rsp *r;

  a = cl_get(c, "/delay/x?ms=20");
  cl_exchange(c);
  r = rsp_of(c, a);
  ok(r->status == 0 && c->f->t.phase == HW__PHASE_BUSY,
     "a deferred answer: nothing yet, busy");
  UNTIL(c, r->closed, 500);
  ok(r->status == 200 && strcmp(body_of(r), "/delay/x") == 0,
     "then it comes (a flush outside the transport's calls)");

  /* Streams are independent: answered as they are ready. */
  a = cl_get(c, "/delay/a?ms=60");
  b = cl_get(c, "/delay/b?ms=10");
  d = cl_get(c, "/hello");
  UNTIL(c, rsp_of(c, a)->closed, 1000);
  ok(rsp_of(c, d)->order < rsp_of(c, b)->order &&
         rsp_of(c, b)->order < rsp_of(c, a)->order,
     "interleaved streams answered out of order: the ready one first");
  ok(strcmp(body_of(rsp_of(c, a)), "/delay/a") == 0 &&
         strcmp(body_of(rsp_of(c, b)), "/delay/b") == 0,
     "each with its own body");
  cl_free(c);
}

static void test_streamed(void) {
  cl *c = cl_open(1 << 24, 0, 1);
  long before = stat_of("writable");
  rsp *r;

  r = cl_fetch(c, "/s/ticks?n=3&ms=5", 500);
  ok(r->status == 200 && strcmp(body_of(r), "tick 0\ntick 1\ntick 2\n") == 0,
     "a streamed response, whole");
  ok(r->data_frames >= 3 && hdr(r, "content-length") == NULL,
     "in pieces as they were written, of no declared length");
  r = cl_fetch(c, "/s/big?n=300000&chunk=16384&len=1", 3000);
  ok(r->status == 200 && r->body.len == 300000 &&
         strcmp(hdr(r, "content-length"), "300000") == 0,
     "300000 bytes written until CONGESTED, then on writable: whole");
  ok(stat_of("writable") > before + 1, "its writable callback ran");
  r = cl_fetch(c, "/s/short", 300);
  ok(r->closed && r->code != NGHTTP2_NO_ERROR && r->body.len == 5,
     "a response short of its declared length: what it has, then a reset");
  r = cl_fetch(c, "/hello", 200);
  ok(r->status == 200 && !c->f->closed, "and the connection goes on");
  cl_free(c);
}

/* Output larger than the transport's bound, to a client that reads at
 * once: all of it comes, without waiting for the sweep. */
static void test_large(void) {
  cl *c = cl_open(1 << 24, 0, 1);
  static char big[200000];
  static const char *const len[] = {"content-length", "200000", NULL};
  int32_t id;
  rsp *r;

  memset(big, 'b', sizeof(big));
  r = cl_fetch(c, "/s/big?n=300000&len=1&greedy=1", 500);
  ok(r->closed && r->body.len == 300000,
     "300000 bytes written at once: all of them come (got %zu)", r->body.len);
  id = cl_req(c, "POST", "/big", "x.example", len, big, sizeof(big),
              sizeof(big));
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 500);
  ok(r->status == 200 && r->body.len > 200000,
     "a response of 200 kB that does not stream: whole (got %zu)",
     r->body.len);
  ok(c->f->max_batch <= HW__TRANSPORT_MAX_UNSENT + 16384 + 100,
     "no batch much past the bound (%zu)", c->f->max_batch);
  cl_free(c);

  /* The default window (65,535 for the stream and the connection): the
   * rest goes as the client's WINDOW_UPDATEs come. */
  c = cl_open(-1, 0, 1);
  r = cl_fetch(c, "/s/big?n=200000&len=1&greedy=1", 500);
  ok(r->closed && r->body.len == 200000 && r->code == NGHTTP2_NO_ERROR,
     "through the default window too (got %zu)", r->body.len);
  cl_free(c);
}

/* A client that does not read: output stops past the bound, input too,
 * and both go on when the transport drains. */
static void test_bound(void) {
  cl *c = cl_open(1 << 24, 0, 1);
  int32_t id, h;
  size_t written;
  rsp *r;

  cl_exchange(c);
  c->f->hold = 1;
  id = cl_get(c, "/s/big?n=400000&len=1&greedy=1");
  UNTIL(c, 0, 30);
  ok(c->f->t.unsent > HW__TRANSPORT_MAX_UNSENT &&
         c->f->t.unsent < HW__TRANSPORT_MAX_UNSENT + 2 * 16384 + 200,
     "output stops just past the bound (%u unsent)", (unsigned)c->f->t.unsent);
  written = c->f->t.unsent;
  h = cl_get(c, "/hello");
  UNTIL(c, 0, 20);
  ok(c->f->t.unsent == written && c->f->inbox.len > 0,
     "nothing more is written, and nothing read, while it waits");
  for (int i = 0; i < 100 && !rsp_of(c, id)->closed; i++) {
    ct_let_go(c->f);
    UNTIL(c, rsp_of(c, id)->closed, 5);
  }
  r = rsp_of(c, id);
  ok(r->closed && r->body.len == 400000 && c->f->writables > 1,
     "it goes on each time the transport drains: whole (%zu, %d writables)",
     r->body.len, c->f->writables);
  c->f->hold = 0;
  ct_let_go(c->f);
  UNTIL(c, rsp_of(c, h)->closed, 100);
  ok(rsp_of(c, h)->status == 200 && c->f->inbox.len == 0,
     "and the request that waited is read and answered");
  cl_free(c);
}

static void test_clocks(void) {
  cl *c = cl_open(0, 0, 1);
  static const char *const cl10[] = {"content-length", "10", NULL};
  int32_t id;
  rsp *r;

  /* A zero window: the response's HEADERS go, its DATA cannot. */
  id = cl_get(c, "/hello");
  r = rsp_of(c, id);
  UNTIL(c, r->status != 0, 200);
  ok(r->status == 200 && r->body.len == 0 && !r->closed,
     "SETTINGS_INITIAL_WINDOW_SIZE 0: the head, no data");
  sweep_ahead(1000);
  sweep_ahead(1000 + WRITE_MS - 500);
  cl_exchange(c);
  ok(!r->closed, "stalled less than timeouts_ms.write: waiting");
  sweep_ahead(1000 + WRITE_MS);
  cl_exchange(c);
  ok(r->closed && r->code == NGHTTP2_CANCEL,
     "stalled timeouts_ms.write: the stream is reset");
  ok(!c->f->closed, "the connection stays");
  cl_free(c);

  /* A body that stops. */
  c = cl_open(-1, 0, 1);
  id = cl_req(c, "POST", "/echo", "x.example", cl10, "0123456789", 10, 2);
  r = rsp_of(c, id);
  UNTIL(c, 0, 20);
  ok(r->status == 0, "a body arriving: no answer yet");
  sweep_ahead(BODY_IDLE_MS - 500);
  cl_exchange(c);
  ok(r->status == 0, "within body_idle: still waiting");
  sweep_ahead(BODY_IDLE_MS + 100);
  UNTIL(c, r->closed, 100);
  ok(r->status == 408 && strstr(body_of(r), "408") != NULL,
     "its body stopped for timeouts_ms.body_idle: 408");
  r = cl_fetch(c, "/hello", 200);
  ok(r->status == 200 && !c->f->closed, "and the connection goes on");
  cl_free(c);

  /* A streamed body that stops: its module has it, the stream is reset. */
  c = cl_open(-1, 0, 1);
  id = cl_req(c, "POST", "/up/upload", "x.example", cl10, "0123456789", 10,
              2);
  r = rsp_of(c, id);
  UNTIL(c, 0, 20);
  sweep_ahead(BODY_IDLE_MS + 100);
  UNTIL(c, r->closed, 100);
  ok(r->closed && r->code == NGHTTP2_CANCEL && r->status == 0,
     "a streamed body that stops: reset (its module is told)");
  cl_free(c);

  /* A header block that never ends: the connection ends. */
  c = cl_open(-1, 0, 1);
  cl_exchange(c);
  {
    const uint8_t *p;
    ssize_t n;
    hw__buf wire = {0};
    cl_get(c, "/hello");
    while ((n = nghttp2_session_mem_send(c->ng, &p)) > 0)
      hw__buf_append(&wire, p, (size_t)n);
    ct_send(c->f, wire.data, wire.len - 3);
    ct_read(c->f);
    hw__buf_free(&wire);
  }
  sweep_ahead(HEAD_MS - 500);
  ok(!c->f->closed, "a head arriving, within timeouts_ms.head");
  sweep_ahead(HEAD_MS + 100);
  is_int(c->f->closed, 1 + HW__CLOSE_NOW,
         "past timeouts_ms.head: the connection is closed");
  cl_free(c);
}

static void test_reset(void) {
  long hangups;
  size_t live;
  cl *c;
  int32_t id;
  rsp *r;

  settle();
  hangups = stat_of("hangups");
  live = core.gen->live;
  c = cl_open(-1, 0, 1);
  id = cl_get(c, "/s/hangup");
  r = rsp_of(c, id);

  UNTIL(c, 0, 20);
  ok(r->status == 0 && core.gen->live == live + 1, "a deferred request");
  nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  UNTIL(c, core.gen->live == live, 200);
  ok(r->closed && r->status == 0, "RST_STREAM from the client");
  is_int(stat_of("hangups"), hangups + 1, "its on_abort ran");
  is_int(core.gen->live, live, "and the request ended");
  r = cl_fetch(c, "/hello", 200);
  ok(r->status == 200, "the connection goes on");

  /* Gone with a deferred request: orphaned, freed when its module ends. */
  cl_get(c, "/delay/x?ms=10");
  UNTIL(c, 0, 5);
  cl_free(c);
  c = cl_open(-1, 0, 1);
  UNTIL(c, core.gen->live == live, 200);
  is_int(core.gen->live, live, "a connection gone with a deferred request: "
                               "it ends when its module finishes");
  cl_free(c);
}

static void test_host_answers(void) {
  cl *c = cl_open(-1, 0, 1);
  int32_t id;
  rsp *r;

  r = cl_fetch(c, "/a/hop", 200);
  ok(r->status == 200 && !r->upper && r->code == NGHTTP2_NO_ERROR,
     "a module's hop-by-hop fields: the client takes the response");
  ok(hdr(r, "keep-alive") == NULL && hdr(r, "upgrade") == NULL &&
         hdr(r, "proxy-connection") == NULL && hdr(r, "te") == NULL &&
         hdr(r, "connection") == NULL && hdr(r, "transfer-encoding") == NULL,
     "Connection, Keep-Alive, Transfer-Encoding, Upgrade, "
     "Proxy-Connection, TE: none is sent");
  is_str(hdr(r, "x-mixed-case"), "Yes", "a mixed-case name, lower-cased");
  is_str(body_of(r), "refused: Connection Transfer-Encoding",
         "(the host refused two of them itself)");

  id = cl_req(c, "OPTIONS", "*", "x.example", NULL, NULL, 0, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  ok(r->status == 200 &&
         strcmp(hdr(r, "allow"), "GET, HEAD, POST, PUT, DELETE, OPTIONS") ==
             0 &&
         r->body.len == 0,
     "OPTIONS *: Allow, no body");
  id = cl_req(c, "GET", "*", "x.example", NULL, NULL, 0, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  ok(refused(r), "\"*\" for another method: refused");
  id = cl_req(c, "CONNECT", NULL, "x.example:443", NULL, NULL, 0, 0);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 200);
  ok(r->status == 405 && hdr(r, "allow") != NULL, "CONNECT: 405 with Allow");
  r = cl_fetch(c, "/hello", 200);
  ok(r->status == 200 && !c->f->closed, "and the connection goes on");
  cl_free(c);
}

static void test_drain(void) {
  cl *c = cl_open(-1, 0, 0);
  int32_t id;
  rsp *r;

  r = cl_fetch(c, "/hello", 200);
  id = cl_get(c, "/delay/d?ms=40");
  UNTIL(c, 0, 10);
  ct_drain(c->f);
  cl_recv(c);
  ok(c->goaways == 1 && c->goaway_last[0] == INT32_MAX &&
         c->goaway_code[0] == NGHTTP2_NO_ERROR && c->pings == 1,
     "drain: GOAWAY with 2^31-1, and a PING");
  ok(!c->f->closed, "the connection stays");
  nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_ACK, (const uint8_t *)"hwdrain");
  cl_exchange(c);
  ok(c->goaways == 2 && c->goaway_last[1] == id, "after the PING's answer: "
                                                 "GOAWAY with the last stream "
                                                 "id (%d)",
     c->goaway_last[1]);
  ok(!c->f->closed && !rsp_of(c, id)->closed, "the stream in flight goes on");
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 500);
  ok(r->status == 200 && strcmp(body_of(r), "/delay/d") == 0,
     "and is answered");
  UNTIL(c, c->f->closed, 100);
  is_int(c->f->closed, 1 + HW__CLOSE_AFTER_WRITE,
         "then the transport is asked to close after the write");
  cl_free(c);

  /* A PING that is not answered: the last GOAWAY a second later. */
  c = cl_open(-1, 0, 0);
  r = cl_fetch(c, "/hello", 200);
  ct_drain(c->f);
  cl_exchange(c);
  ok(c->goaways == 1 && !c->f->closed, "drain, the PING unanswered");
  sweep_ahead(1100);

  cl_exchange(c);
  ok(c->goaways == 2 && c->goaway_last[1] == 1 && c->f->closed,
     "the sweep sends the last GOAWAY, and the idle connection ends");
  cl_free(c);

  /* The client's FIN: what is owed is written, then the end. */
  c = cl_open(-1, 0, 1);
  id = cl_get(c, "/delay/e?ms=20");
  cl_exchange(c);
  ct_eof(c->f);
  cl_exchange(c);
  ok(!c->f->closed && c->goaways == 1, "the client's FIN: a GOAWAY, the "
                                       "stream in flight goes on");
  UNTIL(c, c->f->closed, 500);
  ok(rsp_of(c, id)->status == 200 && c->f->closed == 1 + HW__CLOSE_AFTER_WRITE,
     "answered, then the end");
  cl_free(c);

  /* ... and a deferred request's module is told (on_abort), as over
   * HTTP/1.1. */
  {
    long hangups = stat_of("hangups");
    c = cl_open(-1, 0, 1);
    id = cl_get(c, "/s/hangup");
    cl_exchange(c);
    ct_eof(c->f);
    UNTIL(c, stat_of("hangups") > hangups, 200);
    is_int(stat_of("hangups"), hangups + 1,
           "the client's FIN: a deferred request's on_abort runs");
    cl_free(c);
  }
}

static void test_reads(void) {
  /* One byte per read, the preface included. */
  cl *c = cl_open(-1, 1, 1);
  static const char *const cl5[] = {"content-length", "5", NULL};
  int32_t id;
  rsp *r = cl_fetch(c, "/hello", 300);

  is_int(r->status, 200, "one byte per read: answered");
  id = cl_req(c, "POST", "/echo", "x.example", cl5, "hello", 5, 5);
  r = rsp_of(c, id);
  UNTIL(c, r->closed, 300);
  ok(r->status == 200 && strstr(body_of(r), "\"body\":\"hello\"") != NULL,
     "a body one byte per read");
  cl_free(c);

  /* Not HTTP/2: a connection error (RFC 9113 section 3.4): the GOAWAY
   * with PROTOCOL_ERROR goes (after the server's SETTINGS), then the end. */
  {
    ct_conn *f = ct_open(&hw__h2_proto, &env);
    static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const unsigned char *o;
    ct_send(f, junk, sizeof(junk) - 1);
    ct_read(f);
    o = f->out.len >= 17
            ? (const unsigned char *)f->out.data + f->out.len - 17
            : NULL;
    ok(f->closed != 0 && o != NULL && o[3] == NGHTTP2_GOAWAY &&
           o[16] == NGHTTP2_PROTOCOL_ERROR,
       "a bad preface: GOAWAY(PROTOCOL_ERROR), and the connection ends");
    ct_free(f);
  }
  /* A flood of PINGs from a client that reads none of the answers:
   * reading stops once they pass the bound. */
  c = cl_open(-1, 0, 1);
  cl_exchange(c);
  c->deaf = 1;
  c->f->hold = 1;
  for (int i = 0; i < 6000; i++) {
    nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, NULL);
    cl_send(c);
  }
  ok(!c->f->closed && c->f->inbox.len > 0 &&
         c->f->t.unsent <= HW__TRANSPORT_MAX_UNSENT + 100,
     "a PING flood whose answers are not read: reading stops at the bound "
     "(%u unsent)",
     (unsigned)c->f->t.unsent);
  cl_free(c);
}

int main(void) {
  const char *bdir = getenv("HW_BUILDDIR");
  char json[4096], err[1024], path[600];
  hw__config *cfg;
  hw__generation *gen;

  if (bdir == NULL)
    bdir = ".";
  snprintf(path, sizeof(path), "%s/tests/routes.json", bdir);
  snprintf(
      json, sizeof(json),
      "{\"modules_dir\":\"%s/tests/fixtures\","
      "\"limits\":{\"body\":%d,\"header_bytes\":%d,\"headers\":%d,"
      "\"body_min_rate\":0},"
      "\"timeouts_ms\":{\"head\":%d,\"body_idle\":%d,\"write\":%d},"
      "\"routes\":["
      "{\"prefix\":\"/hello\",\"module\":\"%s/modules/hello" HWT_MODULE_EXT
      "\"},"
      "{\"prefix\":\"/echo\",\"module\":\"%s/modules/echo" HWT_MODULE_EXT "\"},"
      "{\"prefix\":\"/big\",\"module\":\"%s/modules/echo" HWT_MODULE_EXT "\","
      "\"body_limit\":1000000},"
      "{\"prefix\":\"/delay\",\"module\":\"%s/modules/delay" HWT_MODULE_EXT
      "\"},"
      "{\"prefix\":\"/a\",\"module\":\"behave" HWT_MODULE_EXT "\","
      "\"config\":{\"name\":\"A\"}},"
      "{\"prefix\":\"/old\",\"module\":\"abi12" HWT_MODULE_EXT "\","
      "\"config\":{\"name\":\"OLD\"}},"
      "{\"prefix\":\"/s\",\"module\":\"stream" HWT_MODULE_EXT "\"},"
      "{\"prefix\":\"/up\",\"module\":\"stream" HWT_MODULE_EXT "\",\"body\":"
      "\"stream\",\"body_limit\":1000000}]}",
      bdir, BODY_LIMIT, HEADER_BYTES, MAX_HEADERS, HEAD_MS, BODY_IDLE_MS,
      WRITE_MS, bdir, bdir, bdir, bdir);
  hw__module_serve_on(uv_default_loop());
  if (hw__config_parse(json, strlen(json), path, &cfg, err, sizeof(err)) != 0 ||
      hw__generation_build(cfg, 1, &hw__host, &gen, err, sizeof(err)) != 0) {
    printf("1..0 # SKIP cannot build the test generation: %s\n", err);
    return 0;
  }
  hw__request_core_init(&core, gen);
  hw__h1_env_init(&h1env, &core);
  if (hw__h2_env_init(&env, &core, uv_default_loop(), &hw__h2_hooks) != 0) {
    printf("1..0 # SKIP no memory for the env\n");
    return 0;
  }
  uv_timer_init(uv_default_loop(), &alive);
  uv_timer_start(&alive, never, 3600 * 1000, 0);

  {
    /* HW_H2_ONLY=name,name... runs those groups (chasing a failure). */
    static const struct {
      const char *name;
      void (*fn)(void);
    } groups[] = {{"get", test_get},
                  {"message", test_message},
                  {"interleaved", test_interleaved_heads},
                  {"bodies", test_bodies},
                  {"limits", test_limits},
                  {"deferred", test_deferred},
                  {"streamed", test_streamed},
                  {"large", test_large},
                  {"bound", test_bound},
                  {"clocks", test_clocks},
                  {"reset", test_reset},
                  {"host", test_host_answers},
                  {"drain", test_drain},
                  {"reads", test_reads}};
    const char *only = getenv("HW_H2_ONLY");
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
      if (only == NULL || strstr(only, groups[i].name) != NULL)
        groups[i].fn();
  }
  {
    cl *c = cl_open(-1, 0, 1);
    UNTIL(c, gen->live == 0, 300);
    cl_free(c);
  }
  is_int((long long)gen->live, 0, "every request unpinned its generation");
  ok(env.conns == NULL, "every connection left the env");
  is_int(late, 0, "no transport was called after its close");

  hw__generation_fini(gen);
  uv_close((uv_handle_t *)&alive, NULL);
  hw__h2_env_stop(&env);
  hw__request_core_stop(&core);
  uv_run(uv_default_loop(), UV_RUN_NOWAIT);
  hw__h2_env_destroy(&env);
  hw__request_core_destroy(&core);
  hw__generation_free(gen);
  uv_loop_close(uv_default_loop());
  return done_testing();
}
