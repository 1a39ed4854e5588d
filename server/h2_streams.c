/*
 * h2_streams.c - one HTTP/2 connection's streams (see h2_streams.h).
 *
 * HTTP/2 has no request line: the method, target and authority arrive as
 * pseudo-header fields (RFC 9113 section 8.3.1), in HPACK-decoded pieces
 * that nghttp2 hands over one field at a time.  They are copied into the
 * message's buffer as they come, with spans, so the core and the host
 * read an HTTP/2 request exactly as an HTTP/1.1 one; the target then
 * passes the same checks and normalisation (target.c), so that a route
 * sees the same path whichever protocol brought it.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "chars.h"
#include "h2_streams.h"
#include "method.h"
#include "stream.h"
#include "target.h"

/* Pooled stream states beyond this many are freed. */
#define POOL_MAX 256
/* A pooled state's Cookie buffer past this is freed. */
#define COOKIES_KEEP 4096

hw__h2_stream *hw__h2_streams_new(hw__h2_streams *ss, int32_t id) {
  hw__h2_stream *s = ss->pool->free;
  hw__buf out = {0}, cookies = {0};
  if (s != NULL) {
    ss->pool->free = s->next;
    ss->pool->n--;
    out = s->out;
    cookies = s->cookies;
  } else if ((s = malloc(sizeof(*s))) == NULL) {
    return NULL;
  }
  memset(s, 0, sizeof(*s));
  s->out = out;
  s->out.len = 0;
  s->cookies = cookies;
  s->cookies.len = 0;
  s->id = id;
  s->next = ss->first;
  if (s->next != NULL)
    s->next->prev = s;
  ss->first = s;
  ss->n++;
  return s;
}

void hw__h2_streams_free(hw__h2_streams *ss, hw__h2_stream *s) {
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    ss->first = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  ss->n--;
  if (ss->pool->n >= POOL_MAX) {
    hw__buf_free(&s->out);
    hw__buf_free(&s->cookies);
    free(s);
    return;
  }
  hw__buf_reset(&s->out, 64 * 1024);
  hw__buf_reset(&s->cookies, COOKIES_KEEP);
  s->prev = NULL;
  s->next = ss->pool->free;
  ss->pool->free = s;
  ss->pool->n++;
}

void hw__h2_streams_close_all(hw__h2_streams *ss) {
  while (ss->first != NULL) {
    hw__h2_stream *s = ss->first;
    hw_request *req = s->req;
    if (req != NULL) {
      s->req = NULL;
      if (req->state == HW__REQ_RUNNING)
        hw__request_orphan(req);
      else
        hw__request_free(req);
    }
    hw__h2_streams_free(ss, s);
  }
}

void hw__h2_streams_each(hw__h2_streams *ss, int hangup) {
  for (hw__h2_stream *s = ss->first; s != NULL; s = s->next)
    if (s->req != NULL && hangup)
      hw__request_hangup(s->req);
    else if (s->req != NULL && s->req->res.streaming)
      hw__stream_drained(s->req);
}

int hw__h2_streams_glitch(hw__h2_streams *ss, uint64_t now, uint32_t burst) {
  uint64_t add;
  if (ss->glitch_at == 0) /* the first: the bucket starts full */
    ss->glitches = burst, ss->glitch_at = now;
  if (ss->glitches > burst) /* (a reload lowered it) */
    ss->glitches = burst;
  add = (now - ss->glitch_at) * 33 / 1000;
  if (add > 0) {
    ss->glitches = add >= burst - ss->glitches ? burst
                                                : ss->glitches + (uint32_t)add;
    ss->glitch_at = now;
  }
  if (ss->glitches == 0)
    return 1;
  ss->glitches--;
  return 0;
}

void hw__h2_streams_pool_drain(hw__h2_pool *pool) {
  while (pool->free != NULL) {
    hw__h2_stream *s = pool->free;
    pool->free = s->next;
    hw__buf_free(&s->out);
    hw__buf_free(&s->cookies);
    free(s);
  }
  pool->n = 0;
}

/* ---- the request's head --------------------------------------------------- */

/* Appends `len` bytes to the message's buffer; their span, or a span of
 * length 0 at offset UINT32_MAX when out of memory. */
static hw__span put(hw__message *m, const char *p, size_t len) {
  hw__span sp = {(uint32_t)m->head.len, (uint32_t)len};
  if (hw__buf_append(&m->head, p, len) != 0)
    return (hw__span){UINT32_MAX, 0};
  return sp;
}

static int add_field(hw__message *m, const char *name, size_t nlen,
                     const char *value, size_t vlen) {
  hw__field *f;
  if (m->nfields == m->fields_cap &&
      hw__buf_array_room((void **)&m->fields, &m->fields_cap, m->nfields,
                         sizeof(*m->fields), 16) != 0)
    return 500;
  f = &m->fields[m->nfields];
  f->name = put(m, name, nlen);
  f->value = put(m, value, vlen);
  if (f->name.off == UINT32_MAX || f->value.off == UINT32_MAX)
    return 500;
  m->nfields++;
  return 0;
}

static void method(hw__message *m, const char *v, size_t len) {
  for (unsigned i = 0; i < HW__METHOD_COUNT; i++)
    if (hw__method_len[i] == len && memcmp(hw__method_name[i], v, len) == 0) {
      m->method_name = hw__method_name[i];
      m->method_len = hw__method_len[i];
      m->method_id = (uint8_t)i;
      m->is_head = i == HW__METHOD_HEAD;
      return;
    }
  m->method = put(m, v, len);
  m->method_len = (uint32_t)len;
  m->method_id = HW__METHOD_OTHER;
}

static int digits(const char *v, size_t len, uint64_t *out) {
  uint64_t n = 0;
  if (len == 0 || len > 19)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (v[i] < '0' || v[i] > '9')
      return -1;
    n = n * 10 + (uint64_t)(v[i] - '0');
  }
  *out = n;
  return 0;
}

void hw__h2_streams_field(hw__h2_stream *s, const char *name, size_t nlen,
                          const char *value, size_t vlen, uint32_t max_list,
                          uint32_t max_fields) {
  hw__message *m = &s->req->msg;
  hw__buf *cookies = &s->cookies;
  uint64_t list = (uint64_t)s->list_bytes + nlen + vlen + 32;

  if (s->refused)
    return; /* (the rest is decoded by nghttp2 and dropped) */
  /* RFC 9113 section 6.5.2 counts 32 bytes more per field. */
  s->list_bytes = list > UINT32_MAX ? UINT32_MAX : (uint32_t)list;
  if (list > max_list || (name[0] != ':' && m->nfields >= max_fields)) {
    s->refused = 431;
    return;
  }
  if (name[0] == ':') {
    if (nlen == 7 && memcmp(name, ":method", 7) == 0)
      method(m, value, vlen);
    else if (nlen == 5 && memcmp(name, ":path", 5) == 0)
      m->target = put(m, value, vlen);
    else if (nlen == 10 && memcmp(name, ":authority", 10) == 0) {
      m->host = put(m, value, vlen);
      s->authority = 1;
    }
    return; /* :scheme says nothing the server acts on */
  }
  /* Cookie may come in crumbs, one field each (RFC 9113 section 8.2.3),
   * which are joined with "; " into the one field a module expects. */
  if (nlen == 6 && memcmp(name, "cookie", 6) == 0) {
    if ((cookies->len > 0 && hw__buf_append(cookies, "; ", 2) != 0) ||
        hw__buf_append(cookies, value, vlen) != 0)
      s->refused = 500;
    return;
  }
  if (nlen == 6 && memcmp(name, "expect", 6) == 0)
    s->expect = vlen == 12 && hw__chars_name_eq(value, "100-continue", 12);
  if (nlen == 14 && memcmp(name, "content-length", 14) == 0) {
    /* nghttp2 has checked it against the DATA that follows. */
    s->has_length = digits(value, vlen, &s->length) == 0;
  }
  if (add_field(m, name, nlen, value, vlen) != 0)
    s->refused = 500;
}

int hw__h2_streams_message(hw__h2_stream *s) {
  hw__message *m = &s->req->msg;
  const hw__buf *cookies = &s->cookies;
  int status;

  if (cookies->len > 0 && (status = add_field(m, "cookie", 6, cookies->data,
                                              cookies->len)) != 0)
    return status;
  if (m->target.off == UINT32_MAX || m->host.off == UINT32_MAX ||
      m->method.off == UINT32_MAX)
    return 500;
  /* CONNECT asks for a tunnel (RFC 9113 section 8.5), which this server
   * does not make: 405 with Allow, as over HTTP/1.1. */
  if (m->method_id == HW__METHOD_CONNECT)
    return 405;
  if (m->target.len == 0 || m->method_len == 0)
    return 400;
  /* :authority is the host; without it, Host (RFC 9113 section 8.3.1), and
   * a Host that names another authority makes the request malformed. */
  for (uint32_t i = 0; i < m->nfields; i++) {
    const hw__field *f = &m->fields[i];
    if (f->name.len == 4 && memcmp(m->head.data + f->name.off, "host", 4) == 0) {
      if (!s->authority) {
        m->host = f->value;
        s->authority = 1;
      } else if (f->value.len != m->host.len ||
                 memcmp(m->head.data + f->value.off, m->head.data + m->host.off,
                        m->host.len) != 0) {
        return 400;
      }
    }
  }
  if (!hw__target_host_ok(m->head.data + m->host.off, m->host.len))
    return 400;
  if ((status = hw__target_parse(m)) != 0)
    return status;
  /* "*" is only for a server-wide OPTIONS (RFC 9113 section 8.3.1). */
  if (m->asterisk && m->method_id != HW__METHOD_OPTIONS)
    return 400;
  return 0;
}

int hw__h2_streams_data(hw__h2_stream *s, const char *data, size_t len,
                        size_t *consumed) {
  hw_request *req = s->req;
  int status;
  hw__rate_read(&s->rate, len);
  *consumed = len;
  if (req->state < HW__REQ_RUNNING)
    return hw__request_body(req, data, len);
  status = hw__stream_body(req, data, len);
  if (hw__stream_body_held(req)) {
    s->held += (uint32_t)len; /* given back when the module lets go */
    *consumed = 0;
  }
  return status;
}

/* ---- clocks --------------------------------------------------------------- */

int hw__h2_streams_clock(hw__h2_stream *s, uint64_t now, uint32_t elapsed,
                         const hw__h2_clocks *lim, int32_t window) {
  hw_request *req = s->req;
  if (req == NULL)
    return HW__H2_CLOCK_OK;
  if (req->state == HW__REQ_HEAD)
    return now - s->born > lim->head_ms ? HW__H2_CLOCK_HEAD : HW__H2_CLOCK_OK;
  if (!s->ended && !s->refused && req->state != HW__REQ_DONE) {
    /* A body the module holds back is not the client's delay. */
    int reading = !hw__stream_body_held(req);
    if ((reading && now - s->mark > lim->body_idle_ms) ||
        hw__rate_slow(&s->rate, elapsed, lim->body_min_rate, reading))
      return HW__H2_CLOCK_BODY;
  }
  if (!s->submitted || s->sent || window > 0 || !hw__h2_streams_more(s)) {
    s->stalled_at = 0;
    return HW__H2_CLOCK_OK;
  }
  if (s->stalled_at == 0)
    s->stalled_at = now;
  return now - s->stalled_at >= lim->write_ms ? HW__H2_CLOCK_STALLED
                                              : HW__H2_CLOCK_OK;
}

/* ---- the response's body -------------------------------------------------- */

/* A streamed response's piece, as the core hands it over: copied, and a
 * referenced one let go at once. */
static void take_piece(void *ctx, const hw__stream_piece *p) {
  hw__h2_stream *s = ctx;
  if (hw__buf_append(&s->out, p->data, p->len) != 0)
    s->req->res.broken = 1; /* the response cannot complete: it is cut */
  if (p->by_ref && p->free_cb != NULL)
    hw__stream_release(p->free_cb, p->arg);
}

static size_t read_streamed(hw__h2_stream *s, char *buf, size_t len) {
  size_t n;
  if (s->out_at == s->out.len) {
    s->out.len = s->out_at = 0;
    hw__stream_take(s->req, take_piece, s, 0);
  }
  n = s->out.len - s->out_at;
  if (n > len)
    n = len;
  if (n > 0)
    memcpy(buf, s->out.data + s->out_at, n);
  s->out_at += n;
  return n;
}

size_t hw__h2_streams_read(hw__h2_stream *s, char *buf, size_t len) {
  const struct hw_response *res = &s->req->res;
  size_t n = 0, k;

  if (res->streaming)
    return read_streamed(s, buf, len);
  /* The copied bytes and the references, in order (each reference sits at
   * its offset in the copied bytes). */
  while (n < len) {
    size_t stop = s->ref < res->nrefs ? res->refs[s->ref].at : res->body.len;
    if (s->at < stop) {
      k = stop - s->at < len - n ? stop - s->at : len - n;
      memcpy(buf + n, res->body.data + s->at, k);
      s->at += k;
    } else if (s->ref < res->nrefs) {
      const hw__ref *r = &res->refs[s->ref];
      k = r->len - s->ref_at < len - n ? r->len - s->ref_at : len - n;
      if (k > 0)
        memcpy(buf + n, (const char *)r->data + s->ref_at, k);
      if ((s->ref_at += k) == r->len)
        s->ref++, s->ref_at = 0;
    } else {
      break;
    }
    n += k;
  }
  return n;
}

int hw__h2_streams_more(hw__h2_stream *s) {
  const struct hw_response *res = &s->req->res;
  if (res->streaming)
    return s->out_at < s->out.len || hw__stream_takeable(s->req, 0) > 0;
  return s->at < res->body.len || s->ref < res->nrefs;
}

ssize_t hw__h2_streams_body(hw__h2_stream *s, char *buf, size_t len, int *eof) {
  hw_request *req = s->req;
  size_t n;

  if (req == NULL)
    return HW__H2_BODY_CUT; /* (cannot happen: its stream was reset) */
  n = hw__h2_streams_read(s, buf, len);
  if (req->res.streaming) {
    hw__stream_drained(req); /* a congested module may write again */
    if (hw__h2_streams_more(s))
      return (ssize_t)n;
    if (!hw__stream_over(req)) {
      if (n > 0)
        return (ssize_t)n;
      s->deferred_data = 1;
      return HW__H2_BODY_LATER;
    }
    if (hw__stream_cut(req)) /* cut, after what was read (the next call) */
      return n > 0 ? (ssize_t)n : HW__H2_BODY_CUT;
  } else if (hw__h2_streams_more(s)) {
    return (ssize_t)n;
  }
  *eof = 1;
  req->sent = 1;
  s->sent = 1;
  return (ssize_t)n;
}
