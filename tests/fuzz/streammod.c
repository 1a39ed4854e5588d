/*
 * streammod.c - a module for the HTTP/2 fuzzer (fuzz_h2.c): streamed
 * responses and streamed request bodies (ABI 1.3), every size and count
 * bounded and every wait a host timer of 0 ms, so that whatever path the
 * fuzzer makes up, an input ends in a few turns of the loop, and a client
 * that goes away ends it at once (on_abort finishes).  By the path after
 * the route's prefix:
 *
 *   /stream?n=N&k=K&len=L&t=T   N pieces (at most 64) of K bytes (at most
 *                               20000) of a pattern; L=1 declares their
 *                               length, L=2 declares one byte more (the
 *                               response is cut); T=1 writes one piece per
 *                               timer tick, else as many as are not
 *                               congested, then on writable
 *   /echo                       (a "body": "stream" route) the body
 *                               written back as it comes, the body paused
 *                               after every other piece for a tick
 *   /hop                        fields HTTP/2 must not send, and a name
 *                               in mixed case
 *   anything else               declined
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "haywire.h"

static const hw_host *H;

typedef struct job {
  hw_request *req;
  hw_response *res;
  uint64_t left, k, pieces;
  int64_t timer;
  int by_timer, done;
} job;

static const char pattern[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

static uint64_t arg(hw_request *req, const char *name, uint64_t max) {
  hw_str q = H->query(req);
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < q.len; i++)
    if ((i == 0 || q.data[i - 1] == '&') && memcmp(q.data + i, name, nl) == 0 &&
        q.data[i + nl] == '=') {
      uint64_t v = 0;
      for (size_t j = i + nl + 1; j < q.len && q.data[j] >= '0' &&
                                  q.data[j] <= '9' && v <= max;
           j++)
        v = v * 10 + (uint64_t)(q.data[j] - '0');
      return v < max ? v : max;
    }
  return 0;
}

static void end(job *j) {
  if (j->done)
    return;
  j->done = 1;
  if (j->timer > 0)
    H->timer_stop(j->timer);
  j->timer = 0;
  H->finish(j->res);
}

static void on_abort(hw_request *req, void *arg) {
  (void)req;
  end(arg);
}

/* One piece of K bytes; a negative result means the client has gone. */
static int piece(job *j) {
  char buf[20000];
  for (uint64_t i = 0; i < j->k; i++)
    buf[i] = pattern[(j->pieces + i) % 64];
  j->pieces++;
  j->left--;
  return H->write(j->res, buf, (size_t)j->k);
}

static void more(hw_response *res, void *arg);

static void tick(int64_t t, void *arg) {
  job *j = arg;
  (void)t;
  j->timer = 0;
  if (j->done)
    return;
  if (j->left > 0 && piece(j) < 0) {
    end(j);
    return;
  }
  if (j->left == 0)
    end(j);
  else if ((j->timer = H->timer_start(0, 0, tick, j)) <= 0)
    end(j);
}

static void more(hw_response *res, void *arg) {
  job *j = arg;
  (void)res;
  while (j->left > 0 && !j->done) {
    int r = piece(j);
    if (r < 0) {
      end(j);
      return;
    }
    if (r == HW_CONGESTED && j->left > 0)
      return; /* on writable */
  }
  end(j);
}

static hw_handle_result do_stream(hw_request *req, hw_response *res) {
  uint64_t n = arg(req, "n", 64), len = arg(req, "len", 2);
  job *j = H->alloc(req, sizeof(*j));
  if (j == NULL)
    return HW_ERROR;
  memset(j, 0, sizeof(*j));
  j->req = req;
  j->res = res;
  j->left = n;
  j->k = arg(req, "k", 20000);
  j->by_timer = arg(req, "t", 1) == 1;
  if (j->k == 0)
    j->k = 1;
  H->add_header(res, "Content-Type", 12, "application/octet-stream", 24);
  if (H->stream(res, len == 0 ? -1 : (int64_t)(n * j->k + (len == 2))) != 0)
    return HW_ERROR;
  H->on_abort(req, on_abort, j);
  if (n == 0)
    return HW_HANDLED;
  if (j->by_timer) {
    if ((j->timer = H->timer_start(0, 0, tick, j)) <= 0)
      return HW_ERROR;
  } else if (H->on_writable(res, more, j) != 0) {
    return HW_ERROR;
  } else {
    more(res, j);
  }
  return HW_DEFERRED;
}

/* ---- /echo: a streamed body written back ---- */

static void resume_body(int64_t t, void *arg) {
  job *j = arg;
  (void)t;
  j->timer = 0;
  if (!j->done)
    H->body_pause(j->req, 0);
}

static void echo_piece(hw_request *req, void *arg, hw_str p, int last) {
  job *j = arg;
  if (j->done)
    return;
  if (p.len > 0 && H->write(j->res, p.data, p.len) < 0) {
    end(j);
    return;
  }
  if (last) {
    end(j);
    return;
  }
  if (++j->pieces % 2 == 0 && j->timer == 0) {
    H->body_pause(req, 1);
    if ((j->timer = H->timer_start(0, 0, resume_body, j)) <= 0)
      H->body_pause(req, 0);
  }
}

static hw_handle_result do_echo(hw_request *req, hw_response *res) {
  job *j = H->alloc(req, sizeof(*j));
  if (j == NULL)
    return HW_ERROR;
  memset(j, 0, sizeof(*j));
  j->req = req;
  j->res = res;
  if (H->body_stream(req, echo_piece, j) != 0 || H->stream(res, -1) != 0)
    return HW_ERROR;
  H->on_abort(req, on_abort, j);
  return HW_DEFERRED;
}

static hw_handle_result do_hop(hw_response *res) {
  static const char *const f[] = {"Keep-Alive", "timeout=5", "Upgrade", "h2c",
                                  "Proxy-Connection", "close", "TE",
                                  "trailers", "X-Mixed-Case", "Yes"};
  for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i += 2)
    H->add_header(res, f[i], strlen(f[i]), f[i + 1], strlen(f[i + 1]));
  return H->write(res, "hop", 3) == 0 ? HW_HANDLED : HW_ERROR;
}

static int sm_init(const hw_host *host, const char *config, size_t config_len,
                   void **state, char *err, size_t err_len) {
  (void)config, (void)config_len;
  if (!HW_HOST_HAS(host, body_pause)) {
    snprintf(err, err_len, "streammod: needs ABI 1.3");
    return -1;
  }
  H = host;
  *state = NULL;
  return 0;
}

static int is(hw_str s, const char *lit) {
  return s.len == strlen(lit) && memcmp(s.data, lit, s.len) == 0;
}

static hw_handle_result sm_handle(void *state, hw_request *req,
                                  hw_response *res) {
  hw_str rest = H->rest(req);
  (void)state;
  if (is(rest, "/stream"))
    return do_stream(req, res);
  if (is(rest, "/echo"))
    return do_echo(req, res);
  if (is(rest, "/hop"))
    return do_hop(res);
  return HW_DECLINED;
}

HW_MODULE_DEFINE("streammod", "1.0", sm_init, sm_handle, NULL);
