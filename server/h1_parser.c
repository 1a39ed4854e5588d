/*
 * h1_parser.c - the HTTP/1.1 request parser (see h1_parser.h).
 *
 * Every byte goes to the scanner first and then to http-parser, which frames
 * the message (body length, chunks) and calls back here; the scanner has
 * refused whatever non-strict http-parser would have let through.  From the
 * target to the blank line the head's bytes are copied into the message one
 * piece per read, as the scanner passes over them (the caller's read buffer
 * may be reused for other connections).
 *
 * A method is held back from http-parser until the scanner knows it: one of
 * http-parser's goes to it as it is (with what follows, when it is all in
 * these bytes, which is the usual case), and any other token is passed as a
 * stand-in, since a method does not change how an HTTP/1.1 request is
 * framed (RFC 9112 section 6.3); the message keeps the token itself.
 *
 * http-parser is paused after every message, so that the scanner starts the
 * next one on the same byte and the caller decides whether to go on.
 * Pausing costs less than letting http-parser run on to the end of its
 * input.  An upgrade is never taken: the server does not answer 101, so the
 * connection goes on in HTTP/1.1 (RFC 9110 section 7.8).
 */
#include "autoconf.h"

#include <string.h>

#include <http_parser.h>

#include "h1_parser.h"
#include "method.h"

_Static_assert(sizeof(http_parser) <= sizeof(((hw__h1_parser *)0)->hp),
               "hw__h1_parser.hp is too small for http-parser's state");

/* method.h numbers the methods as http-parser does. */
#define XX(num, sym, name, std)                                                \
  _Static_assert((int)HW__METHOD_##sym == (int)HTTP_##sym &&                   \
                     (num) == (int)HTTP_##sym,                                 \
                 "method.h and http-parser disagree about " #sym);
HW__METHOD_MAP(XX)
#undef XX
#define XX(num, sym, name) +1
_Static_assert(0 HTTP_METHOD_MAP(XX) == HW__METHOD_COUNT,
               "method.h lists another number of methods than http-parser");
#undef XX

/* What http-parser is given for a method it does not know. */
static const char stand_in[] = "GET ";

/* One call of hw__h1_parser_feed, which http-parser's callbacks reach
 * through p->data. */
typedef struct call {
  hw__h1_parser *ps;
  const hw__h1_parser_cb *cb;
  void *ctx;
  hw__message *m; /* the message being read, or NULL between messages */
  int status;     /* the status a callback refused the request with */
  int msg_done;   /* on_message_complete paused http-parser */
  int stop;       /* `done` asked to stop after this message */
} call;

static http_parser *hp_of(hw__h1_parser *ps) {
  return (http_parser *)(void *)ps->hp;
}

static int on_headers_complete(http_parser *p) {
  call *k = p->data;
  hw__message *m = k->m;
  unsigned method = (unsigned)k->ps->scan.n; /* as the scanner read it */
  hw__h1_head h;
  int keep_alive, status;

  if (method != HW__METHOD_OTHER) {
    m->method_name = hw__method_name[method];
    m->method_len = hw__method_len[method];
  }
  m->method_id = (uint8_t)method;
  m->is_head = method == HW__METHOD_HEAD;
  /* HTTP/1.x with x >= 2 is answered as HTTP/1.1, the highest minor
   * version this server implements (RFC 9110 section 2.5); the scanner has
   * made sure the major version is 1. */
  m->version = p->http_minor >= 1 ? 11 : 10;
  /* Persistence (RFC 9112 section 9.3): HTTP/1.1 unless "close" is among
   * the connection options, HTTP/1.0 only with "keep-alive".  This is what
   * http_should_keep_alive() answers for a request, read straight from the
   * flags http-parser has set. */
  keep_alive = m->version == 11 ? !(p->flags & F_CONNECTION_CLOSE)
                                : (p->flags & F_CONNECTION_KEEP_ALIVE) != 0;
  h.minor = p->http_minor;
  h.hp_chunked = (p->flags & F_CHUNKED) != 0;
  h.hp_length = (p->flags & F_CONTENTLENGTH) != 0;
  h.hp_content_length = p->content_length;
  h.chunked = 0;
  h.has_length = 0;
  h.content_length = 0;
  h.expect = NULL;
  status = hw__h1_head_check(m, &h);
  if (status == 0)
    status = k->cb->head(k->ctx, m, &h, keep_alive);
  if (status != 0) {
    k->status = status;
    return -1;
  }
  if (h.chunked) {
    k->ps->scan.state = HW__H1S_CSIZE0;
    k->ps->scan.n = 0;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  call *k = p->data;
  int status = k->cb->body(k->ctx, at, len);
  if (status != 0) {
    k->status = status;
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  call *k = p->data;
  p->upgrade = 0;
  k->ps->scan.state = HW__H1S_START;
  k->m = NULL; /* the caller's from now on */
  k->msg_done = 1;
  k->stop = k->cb->done(k->ctx);
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void hw__h1_parser_init(hw__h1_parser *ps) {
  memset(ps, 0, sizeof(*ps));
  http_parser_init(hp_of(ps), HTTP_REQUEST);
  ps->scan.state = HW__H1S_START;
}

/* The status for an error http-parser found in bytes the scanner had let
 * through. */
static int parser_status(enum http_errno e) {
  return e == HPE_HEADER_OVERFLOW ? 431 : 400;
}

/* The start of a message: empty lines, then the method, which is not given
 * to http-parser as it arrives (see the top).  Returns the bytes taken, or
 * sets `*err`; `*from` is where the bytes still owed to http-parser begin,
 * when the method and what follows are in these bytes. */
static size_t start(call *k, const hw__h1_limits *lim, const char *data,
                    size_t len, size_t off, size_t *from, int *err) {
  hw__h1_scan *st = &k->ps->scan;
  http_parser *p = hp_of(k->ps);
  size_t run, mstart = SIZE_MAX;
  int ev = HW__H1S_EV_NONE, entry = st->state, slow = 0;

  /* A request that begins with a common method is recognised without the
   * scanner's byte-by-byte start. */
  if (st->state == HW__H1S_START && len - off >= 8 &&
      (run = hw__h1_scan_quick_start(st, lim, data + off)) != 0) {
    ev = HW__H1S_EV_METHOD;
    mstart = off;
  } else {
    slow = 1;
    run = hw__h1_scan_run(st, lim, data + off, len - off, &ev, err, &mstart,
                          NULL, 0);
    if (mstart != SIZE_MAX)
      mstart += off;
  }
  if (*err != 0)
    return run;
  /* The message exists from its first byte (the caller times its head
   * from then). */
  if (st->state != HW__H1S_START && st->state != HW__H1S_START_LF &&
      k->m == NULL && (k->m = k->cb->begin(k->ctx)) == NULL) {
    *err = 500;
    return run;
  }
  /* A method read byte by byte may be one http-parser does not know: its
   * bytes are kept at the start of the head until it is known. */
  if (slow && (mstart != SIZE_MAX || entry == HW__H1S_METHOD)) {
    size_t m0 = mstart != SIZE_MAX ? mstart : off;
    size_t m1 = ev == HW__H1S_EV_METHOD ? off + run - 1 : off + run;
    if (m1 > m0 && hw__buf_append(&k->m->head, data + m0, m1 - m0) != 0) {
      *err = 500;
      return run;
    }
  }
  if (ev == HW__H1S_EV_METHOD) {
    unsigned i = (unsigned)st->n;
    if (i == HW__METHOD_OTHER) {
      k->m->method.off = 0;
      k->m->method.len = (uint32_t)k->m->head.len;
      http_parser_execute(p, &settings, stand_in, sizeof(stand_in) - 1);
    } else {
      k->m->head.len = 0; /* the name comes from the table */
      if (mstart != SIZE_MAX)
        *from = mstart;
      else
        http_parser_execute(p, &settings, hw__method_name_sp[i],
                            hw__method_len[i] + 1u);
    }
  }
  return run;
}

size_t hw__h1_parser_feed(hw__h1_parser *ps, const hw__h1_limits *lim,
                          hw__message *m, const char *data, size_t len,
                          const hw__h1_parser_cb *cb, void *ctx, int *status) {
  http_parser *p = hp_of(ps);
  hw__h1_scan *st = &ps->scan;
  call k = {ps, cb, ctx, m, 0, 0, 0};
  size_t off = 0, from = SIZE_MAX;
  enum http_errno e = HTTP_PARSER_ERRNO(p);
  int err = 0;

  *status = 0;
  if (e == HPE_PAUSED) {
    http_parser_pause(p, 0); /* `done` stopped the last call */
  } else if (e != HPE_OK) {
    *status = parser_status(e); /* refused before: nothing more is read */
    return 0;
  }
  p->data = &k;
  while (off < len) {
    size_t run, n, at;
    int ev = HW__H1S_EV_NONE;

    if (st->state == HW__H1S_DONE) {
      /* The scanner framed a message that http-parser did not end: they
       * disagree, so the framing cannot be trusted. */
      err = 400;
      goto fail;
    }
    if (st->state == HW__H1S_BODY) {
      run = len - off;
    } else if (st->state <= HW__H1S_METHOD) {
      off += start(&k, lim, data, len, off, &from, &err);
      if (err != 0)
        goto fail;
      if (off == len && from != SIZE_MAX) {
        http_parser_execute(p, &settings, data + from, off - from);
        from = SIZE_MAX;
      }
      if (HTTP_PARSER_ERRNO(p) != HPE_OK)
        goto parser_error;
      continue;
    } else {
      size_t mstart = SIZE_MAX;
      /* From the target to the blank line, the head's bytes are copied
       * into the message as they are scanned. */
      hw__message *hm = st->state >= HW__H1S_TARGET0 &&
                                st->state <= HW__H1S_END_LF &&
                                !hw__h1_scan_in_trailers(st)
                            ? k.m
                            : NULL;
      if (hm != NULL && hm->head.len + (len - off) > UINT32_MAX / 2) {
        err = 431;
        goto fail;
      }
      run = hw__h1_scan_run(st, lim, data + off, len - off, &ev, &err, &mstart,
                            hm, hm != NULL ? (uint32_t)hm->head.len : 0);
      if (hm != NULL && hw__buf_append(&hm->head, data + off, run) != 0 &&
          err == 0)
        err = 500;
      if (err != 0) {
        off += run;
        goto fail;
      }
    }
    if (run == 0) {
      err = 400; /* cannot happen: the scanner always moves on */
      goto fail;
    }
    /* The bytes from the method on, if it was held back in this read. */
    at = from != SIZE_MAX ? from : off;
    run += off - at;
    from = SIZE_MAX;
    if (ev == HW__H1S_EV_TAB) {
      /* (http-parser takes a call with no bytes for the end of input.) */
      n = run > 1 ? http_parser_execute(p, &settings, data + at, run - 1) : 0;
      if (n == run - 1 && HTTP_PARSER_ERRNO(p) == HPE_OK)
        n += http_parser_execute(p, &settings, " ", 1);
    } else {
      n = http_parser_execute(p, &settings, data + at, run);
    }
    off = at + n;
    e = HTTP_PARSER_ERRNO(p);
    if (e == HPE_PAUSED && k.msg_done) {
      k.msg_done = 0;
      if (k.stop)
        return off; /* stays paused: the next call resumes it */
      http_parser_pause(p, 0);
      continue;
    }
    if (e != HPE_OK)
      goto parser_error;
    if (n < run) {
      err = 400; /* http-parser stopped without a reason it tells */
      goto fail;
    }
  }
  return off;

parser_error:
  /* A callback that refused the request has said with what. */
  *status = k.status != 0 ? k.status : parser_status(HTTP_PARSER_ERRNO(p));
  return off;

fail:
  *status = err;
  return off;
}
