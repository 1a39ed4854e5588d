/*
 * conntransport.c - a transport in memory modelled on conn.c (see
 * conntransport.h).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "conntransport.h"

static ct_conn *of(hw__transport *t) {
  return hw__bytes_container_of(t, ct_conn, t);
}

static void gone(ct_conn *c) {
  if (c->gone)
    return;
  c->gone = 1;
  if (c->t.batch != NULL) {
    hw__batch_give(&c->pool, c->t.batch);
    c->t.batch = NULL;
  }
  c->proto->close(c->state);
}

static void write_batch(ct_conn *c) {
  hw__batch *b = c->t.batch;
  size_t size;
  if (b == NULL)
    return;
  c->t.batch = NULL;
  size = hw__batch_size(b);
  if (size > 0) {
    hw__buf *to = c->hold ? &c->queued : &c->out;
    c->batches++;
    if (size > c->max_batch)
      c->max_batch = size;
    for (size_t i = 0; i < b->nsegs; i++) {
      const hw__seg *s = &b->segs[i];
      hw__buf_append(to, s->base != NULL ? s->base : b->out.data + s->off,
                     s->len);
    }
    if (c->hold)
      hw__transport_unsent(&c->t, size, 1);
  }
  hw__batch_give(&c->pool, b); /* its releases run */
}

static void feed(ct_conn *c, const char *data, size_t len, int from_read);

/* After every call into the protocol, as conn.c's after(). */
static void after(ct_conn *c) {
  for (;;) {
    if (c->gone)
      return;
    if (c->close_wanted != 0) {
      int how = c->close_wanted - 1;
      c->close_wanted = 0;
      if (how == HW__CLOSE_AFTER_WRITE)
        write_batch(c);
      c->closed = 1 + how;
      gone(c);
      return;
    }
    write_batch(c);
    if (!c->resume_wanted)
      return;
    c->resume_wanted = 0;
    if (c->paused) {
      c->paused = 0;
      if (c->pending.len > c->pending_at)
        feed(c, c->pending.data + c->pending_at, c->pending.len - c->pending_at,
             0);
    }
  }
}

static void feed(ct_conn *c, const char *data, size_t len, int from_read) {
  size_t n;
  if (c->t.batch == NULL)
    c->t.batch = hw__batch_take(&c->pool, c);
  c->in_call = 1;
  n = c->proto->data(c->state, data, len);
  c->in_call = 0;
  if (n > len)
    n = len;
  if (c->gone)
    return;
  if (from_read) {
    if (n < len) {
      c->pending.len = 0;
      c->pending_at = 0;
      hw__buf_append(&c->pending, data + n, len - n);
      c->paused = 1;
    }
  } else if (n < len) {
    c->pending_at += n;
    c->paused = 1;
  } else {
    c->pending.len = 0;
    c->pending_at = 0;
  }
}

void ct_send(ct_conn *c, const void *data, size_t len) {
  if (!c->gone && !c->fin)
    hw__buf_append(&c->inbox, data, len);
}

/* (Not "tell": mingw's io.h, which uv.h brings in, declares one.) */
static void call_proto(ct_conn *c, void (*fn)(void *p));

int ct_read(ct_conn *c) {
  int moved = 0;
  while (!c->gone && !c->paused && c->inbox.len > 0 &&
         c->t.unsent <= HW__TRANSPORT_MAX_UNSENT) {
    size_t n =
        c->piece != 0 && c->piece < c->inbox.len ? c->piece : c->inbox.len;
    /* Lent for the call only, as conn.c's shared read buffer. */
    char *copy = malloc(n);
    if (copy == NULL)
      return moved;
    memcpy(copy, c->inbox.data, n);
    memmove(c->inbox.data, c->inbox.data + n, c->inbox.len - n);
    c->inbox.len -= n;
    feed(c, copy, n, 1);
    after(c);
    free(copy);
    moved = 1;
  }
  /* The FIN, once what came before it is read. */
  if (c->fin && !c->eof && !c->gone && !c->paused && c->inbox.len == 0 &&
      c->t.unsent <= HW__TRANSPORT_MAX_UNSENT) {
    c->eof = 1;
    call_proto(c, c->proto->eof);
    moved = 1;
  }
  return moved;
}

/* A call into the protocol other than data, then what it asked for. */
static void call_proto(ct_conn *c, void (*fn)(void *p)) {
  if (c->gone)
    return;
  c->in_call = 1;
  fn(c->state);
  c->in_call = 0;
  after(c);
}

void ct_eof(ct_conn *c) {
  c->fin = 1;
  ct_read(c);
}

void ct_timeout(ct_conn *c) { call_proto(c, c->proto->timeout); }

void ct_drain(ct_conn *c) { call_proto(c, c->proto->drain); }

void ct_let_go(ct_conn *c) {
  int was_full = c->t.unsent > HW__TRANSPORT_MAX_UNSENT;
  hw__buf_append(&c->out, c->queued.data, c->queued.len);
  hw__transport_unsent(&c->t, c->queued.len, -1);
  c->queued.len = 0;
  if (was_full && c->t.unsent <= HW__TRANSPORT_MAX_UNSENT && !c->gone) {
    c->writables++;
    call_proto(c, c->proto->writable);
  }
}

void ct_close(ct_conn *c) {
  if (c->gone)
    return;
  c->closed = 1 + HW__CLOSE_NOW;
  gone(c);
}

static hw__batch *t_batch(hw__transport *t) {
  ct_conn *c = of(t);
  if (c->gone) {
    c->late++;
    return NULL;
  }
  if (c->t.batch == NULL)
    c->t.batch = hw__batch_take(&c->pool, c);
  return c->t.batch;
}

static void t_flush(hw__transport *t) {
  ct_conn *c = of(t);
  if (c->gone)
    c->late++;
  else if (!c->in_call)
    after(c);
}

static void t_resume(hw__transport *t) {
  ct_conn *c = of(t);
  if (c->gone) {
    c->late++;
    return;
  }
  c->resumes++;
  c->resume_wanted = 1;
  if (!c->in_call)
    after(c);
}

static void t_close(hw__transport *t, int how) {
  ct_conn *c = of(t);
  if (c->gone) {
    c->late++;
    return;
  }
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

/* Plain TCP; no file regions in batches (the core reads them). */
static const hw__transport_ops ops = {t_batch, t_flush, t_resume, t_close,
                                      t_peer,  NULL,    NULL, 0};

ct_conn *ct_open(const hw__proto *proto, void *env) {
  ct_conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  if ((c->state = calloc(1, proto->size)) == NULL) {
    free(c);
    return NULL;
  }
  c->proto = proto;
  c->t.ops = &ops;
  c->in_call = 1;
  proto->open(c->state, &c->t, env);
  c->in_call = 0;
  after(c);
  return c;
}

void ct_free(ct_conn *c) {
  ct_close(c);
  hw__batch_pool_drain(&c->pool);
  hw__buf_free(&c->out);
  hw__buf_free(&c->queued);
  hw__buf_free(&c->inbox);
  hw__buf_free(&c->pending);
  free(c->state);
  free(c);
}
