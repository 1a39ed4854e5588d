/*
 * memtransport.c - a transport in memory (see memtransport.h).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "memtransport.h"
#include "os.h" /* hw__os_memmem: msvcrt has no memmem */

static mt_conn *of(hw__transport *t) {
  return hw__bytes_container_of(t, mt_conn, t);
}

static void write_batch(mt_conn *c) {
  hw__batch *b = c->t.batch;
  if (b == NULL)
    return;
  c->t.batch = NULL;
  for (size_t i = 0; i < b->nsegs; i++) {
    const hw__seg *s = &b->segs[i];
    hw__buf_append(&c->wire, s->base != NULL ? s->base : b->out.data + s->off,
                   s->len);
  }
  hw__batch_give(&c->pool, b); /* the write is done */
}

static void feed(mt_conn *c, const char *data, size_t len, int keep);

/* After a call into the protocol, as conn.c's after(). */
static void after(mt_conn *c) {
  while (!c->gone) {
    if (c->close_wanted) {
      int how = c->close_wanted - 1;
      c->close_wanted = 0;
      write_batch(c);
      c->closed = 1 + how;
      mt_close(c);
      return;
    }
    write_batch(c);
    if (!c->resume_wanted)
      return;
    c->resume_wanted = 0;
    if (c->paused) {
      size_t n = c->pending.len - c->pending_off;
      c->paused = 0;
      feed(c, c->pending.data + c->pending_off, n, 0);
    }
  }
}

static void feed(mt_conn *c, const char *data, size_t len, int from_read) {
  size_t n;
  c->in_call = 1;
  n = c->proto->data(c->state, data, len);
  c->in_call = 0;
  if (from_read) {
    if (n < len) {
      c->pending.len = 0;
      c->pending_off = 0;
      hw__buf_append(&c->pending, data + n, len - n);
      c->paused = 1;
    }
  } else if (n < len) {
    c->pending_off += n;
    c->paused = 1;
  } else {
    c->pending.len = 0;
    c->pending_off = 0;
  }
}

static hw__batch *t_batch(hw__transport *t) {
  mt_conn *c = of(t);
  if (c->t.batch == NULL && !c->gone)
    c->t.batch = hw__batch_take(&c->pool, c);
  return c->t.batch;
}

static void t_flush(hw__transport *t) {
  mt_conn *c = of(t);
  if (!c->in_call)
    after(c);
}

static void t_resume(hw__transport *t) {
  mt_conn *c = of(t);
  c->resume_wanted = 1;
  if (!c->in_call)
    after(c);
}

static void t_close(hw__transport *t, int how) {
  mt_conn *c = of(t);
  if (c->close_wanted == 0 || how == HW__CLOSE_NOW)
    c->close_wanted = how + 1;
  if (!c->in_call)
    after(c);
}

static int t_peer(hw__transport *t, char *buf, size_t len) {
  (void)t;
  if (len < 15)
    return HW_EINVAL;
  memcpy(buf, "127.0.0.1:4242", 15);
  return 14;
}

/* No file regions in batches: the core reads them (as under TLS). */
static const hw__transport_ops ops = {t_batch, t_flush, t_resume, t_close,
                                      t_peer,  NULL,    NULL, 0};

mt_conn *mt_open(const hw__proto *proto, void *env) {
  mt_conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->state = calloc(1, proto->size);
  if (c->state == NULL) {
    free(c);
    return NULL;
  }
  c->proto = proto;
  c->t.ops = &ops;
  proto->open(c->state, &c->t, env);
  return c;
}

size_t mt_read(mt_conn *c, const char *data, size_t len) {
  size_t before;
  if (c->gone || c->paused)
    return 0;
  before = c->pending.len;
  (void)before;
  feed(c, data, len, 1);
  after(c);
  return c->paused ? len - (c->pending.len - c->pending_off) : len;
}

void mt_eof(mt_conn *c) {
  if (c->gone)
    return;
  c->in_call = 1;
  c->proto->eof(c->state);
  c->in_call = 0;
  after(c);
}

void mt_timeout(mt_conn *c) {
  if (c->gone)
    return;
  c->in_call = 1;
  c->proto->timeout(c->state);
  c->in_call = 0;
  after(c);
}

void mt_drain(mt_conn *c) {
  if (c->gone)
    return;
  c->in_call = 1;
  c->proto->drain(c->state);
  c->in_call = 0;
  after(c);
}

void mt_close(mt_conn *c) {
  if (c->gone)
    return;
  c->gone = 1;
  if (c->t.batch != NULL) {
    hw__batch_give(&c->pool, c->t.batch);
    c->t.batch = NULL;
  }
  c->proto->close(c->state);
}

void mt_free(mt_conn *c) {
  mt_close(c);
  hw__batch_pool_drain(&c->pool);
  hw__buf_free(&c->wire);
  hw__buf_free(&c->pending);
  free(c->state);
  free(c);
}

int mt_statuses(const mt_conn *c, size_t *pos, int *out, int max, int head) {
  int n = 0;
  size_t p = *pos;
  while (n < max && p + 12 <= c->wire.len) {
    const char *w = c->wire.data + p, *end;
    size_t hlen, body = 0;
    int status;
    if (memcmp(w, "HTTP/1.1 ", 9) != 0)
      break;
    end = hw__os_memmem(w, c->wire.len - p, "\r\n\r\n", 4);
    if (end == NULL)
      break;
    hlen = (size_t)(end - w) + 4;
    status = atoi(w + 9);
    {
      const char *cl = hw__os_memmem(w, hlen, "\r\nContent-Length: ", 18);
      if (cl != NULL && !head)
        body = (size_t)strtoul(cl + 18, NULL, 10);
      if (!head &&
          hw__os_memmem(w, hlen, "\r\nTransfer-Encoding: chunked", 28)) {
        /* Chunks up to the last one (no trailers), or stop if cut. */
        size_t q = p + hlen, size;
        do {
          const char *line = c->wire.data + q, *eol;
          eol = q < c->wire.len
                    ? hw__os_memmem(line, c->wire.len - q, "\r\n", 2)
                    : NULL;
          if (eol == NULL)
            goto out;
          size = (size_t)strtoul(line, NULL, 16);
          q += (size_t)(eol - line) + 2 + size + 2;
          if (q > c->wire.len)
            goto out;
        } while (size != 0);
        body = q - (p + hlen);
      }
    }
    if (p + hlen + body > c->wire.len)
      break;
    out[n++] = status;
    p += hlen + body;
  }
out:
  *pos = p;
  return n;
}
