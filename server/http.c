/*
 * http.c - HTTP/1.1 framing: turns bytes into requests with http-parser and
 * writes response heads.  This is the only unit that includes http_parser.h,
 * so the parser can be replaced without touching the rest of the server.
 *
 * The parser's callbacks copy what they are given (target, header fields,
 * body) into the request object, because the bytes live in the worker's one
 * shared read buffer, which is reused for the next read of any connection.
 * A request is routed when its head is complete (so a reload cannot change
 * the route of a request whose body is still arriving) and dispatched when
 * its message is complete.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "internal.h"

_Static_assert(sizeof(http_parser) <= sizeof(hw__http_parser_storage),
               "hw__http_parser_storage is too small for http_parser");

static hw__conn *conn_of(http_parser *p) { return p->data; }

static int append_span(hw_request *req, hw__span *s, const char *at,
                       size_t len) {
  if (s->len == 0)
    s->off = (uint32_t)req->head.len;
  if (req->head.len + len > UINT32_MAX / 2 ||
      hw__buf_append(&req->head, at, len) != 0)
    return -1;
  s->len += (uint32_t)len;
  return 0;
}

/* Ends parsing of this connection with a host-made error response.  The
 * request (the one being parsed, or a new one if none) is queued in order
 * behind those already dispatched, and nothing after it is read, because
 * after a framing error the rest of the stream cannot be trusted (RFC 9112
 * section 9.3 requires closing a connection whose framing is lost). */
static void fail_request(hw__conn *c, int status) {
  hw_request *req = c->cur;
  if (req == NULL)
    req = hw__conn_begin_request(c);
  c->cur = NULL;
  if (req == NULL) {
    c->no_more = 1;
    return;
  }
  req->close_after = 1;
  req->keep_alive = 0;
  hw__request_respond_error(req, status);
  hw__conn_enqueue(c, req);
  c->no_more = 1;
}

static int on_message_begin(http_parser *p) {
  hw__conn *c = conn_of(p);
  return hw__conn_begin_request(c) != NULL ? 0 : -1;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  hw_request *req = conn_of(p)->cur;
  return append_span(req, &req->target, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  hw_request *req = conn_of(p)->cur;
  if (req->nhdrs == 0 || req->hdr_in_value) {
    if (req->nhdrs == req->hdrs_cap) {
      uint32_t cap = req->hdrs_cap ? req->hdrs_cap * 2 : 16;
      hw__hdr *n = realloc(req->hdrs, cap * sizeof(*n));
      if (n == NULL)
        return -1;
      req->hdrs = n;
      req->hdrs_cap = cap;
    }
    memset(&req->hdrs[req->nhdrs++], 0, sizeof(hw__hdr));
    req->hdr_in_value = 0;
  }
  return append_span(req, &req->hdrs[req->nhdrs - 1].name, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  hw_request *req = conn_of(p)->cur;
  hw__hdr *h = &req->hdrs[req->nhdrs - 1];
  if (!req->hdr_in_value) {
    req->hdr_in_value = 1;
    h->value.off = (uint32_t)req->head.len;
  }
  return append_span(req, &h->value, at, len);
}

/* Splits the target into path and query.  Origin-form ("/a/b?q") is the
 * common case; absolute-form ("http://host/a?q", RFC 9112 section 3.2.2) is
 * routed by its path; asterisk-form ("*") has the path "*" and matches no
 * route. */
static void split_target(hw_request *req) {
  const char *t = req->head.data + req->target.off;
  uint32_t n = req->target.len, start = 0, end;

  if (n > 0 && t[0] != '/' && !(n == 1 && t[0] == '*')) {
    const char *scheme = memchr(t, ':', n);
    if (scheme != NULL && (uint32_t)(scheme - t) + 3 <= n &&
        scheme[1] == '/' && scheme[2] == '/') {
      const char *slash =
          memchr(scheme + 3, '/', n - (uint32_t)(scheme + 3 - t));
      const char *qm = memchr(scheme + 3, '?', n - (uint32_t)(scheme + 3 - t));
      if (slash != NULL && (qm == NULL || slash < qm))
        start = (uint32_t)(slash - t);
      else
        start = n; /* "http://host" or "http://host?q": the path is empty */
    }
  }
  for (end = start; end < n && t[end] != '?' && t[end] != '#'; end++)
    ;
  req->path.off = req->target.off + start;
  req->path.len = end - start;
  req->query.off = req->target.off + end;
  req->query.len = 0;
  if (end < n && t[end] == '?') {
    uint32_t q = end + 1, qe = q;
    while (qe < n && t[qe] != '#')
      qe++;
    req->query.off = req->target.off + q;
    req->query.len = qe - q;
  }
}

static int on_headers_complete(http_parser *p) {
  hw__conn *c = conn_of(p);
  hw_request *req = c->cur;
  const char *m = http_method_str((enum http_method)p->method);

  req->method_name = m;
  req->method_len = strlen(m);
  req->version = p->http_major * 10 + p->http_minor;
  req->keep_alive = http_should_keep_alive(p) != 0;
  req->is_head = p->method == HTTP_HEAD;
  split_target(req);
  /* A declared body larger than the limit is refused before a byte of it
   * is buffered. */
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->w->limit_body) {
    fail_request(c, 413);
    return -1;
  }
  req->state = HW__REQ_BODY;
  hw__request_route(req);
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  hw__conn *c = conn_of(p);
  hw_request *req = c->cur;
  /* Chunked bodies have no declared size: the limit is checked as they
   * stream in. */
  if (req->body.len + len > c->w->limit_body) {
    fail_request(c, 413);
    return -1;
  }
  if (hw__buf_append(&req->body, at, len) != 0) {
    fail_request(c, 500);
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  hw__conn *c = conn_of(p);
  hw_request *req = c->cur;

  c->cur = NULL;
  hw__conn_enqueue(c, req);
  hw__request_dispatch(req);
  /* After a request that ends the connection nothing more is read; past
   * the pipeline limit parsing waits until the queue drains. */
  if (!req->keep_alive) {
    c->no_more = 1;
    http_parser_pause(p, 1);
  } else if (hw__conn_congested(c)) {
    http_parser_pause(p, 1);
  }
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void hw__http_init(hw__http_parser_storage *s, hw__conn *c) {
  http_parser *p = (http_parser *)s;
  http_parser_init(p, HTTP_REQUEST);
  p->data = c;
}

size_t hw__http_feed(hw__http_parser_storage *s, const char *data, size_t len,
                     int *failed) {
  http_parser *p = (http_parser *)s;
  hw__conn *c = p->data;
  size_t n = http_parser_execute(p, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(p);

  *failed = 0;
  if (e == HPE_OK || e == HPE_PAUSED)
    return n;
  /* A callback that failed has already queued its own response. */
  if (!c->no_more)
    fail_request(c, e == HPE_HEADER_OVERFLOW ? 431 : 400);
  *failed = 1;
  return n;
}

void hw__http_unpause(hw__http_parser_storage *s) {
  http_parser *p = (http_parser *)s;
  /* http-parser asserts when asked to resume a parser in an error state. */
  if (HTTP_PARSER_ERRNO(p) == HPE_PAUSED)
    http_parser_pause(p, 0);
}

void hw__http_eof(hw__http_parser_storage *s) {
  http_parser *p = (http_parser *)s;
  if (HTTP_PARSER_ERRNO(p) == HPE_OK)
    http_parser_execute(p, &settings, NULL, 0);
}

const char *hw__http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "";
  }
}

int hw__http_status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

/* Writes `v` in decimal at `p`; returns the number of digits. */
static size_t put_uint(char *p, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++)
    p[i] = tmp[n - 1 - i];
  return n;
}

#define PUT(lit)                                                               \
  do {                                                                         \
    memcpy(o, lit, sizeof(lit) - 1);                                           \
    o += sizeof(lit) - 1;                                                      \
  } while (0)

int hw__http_write_head(const hw_request *req, int keep_alive, hw__buf *out) {
  const struct hw_response *res = &req->res;
  const hw__worker *w = req->w;
  const char *reason = hw__http_reason(res->status);
  size_t rlen = strlen(reason);
  /* The fixed part is bounded: status line, Server, Date, Content-Length,
   * Connection and the final CRLF, plus the module's headers. */
  size_t max = 64 + rlen + 18 + w->date_len + 40 + 26 + res->headers.len + 2;
  char *o;

  if (hw__buf_reserve(out, max) != 0)
    return HW_ENOMEM;
  o = out->data + out->len;
  /* The server's own version is sent whatever the request's (RFC 9110
   * section 2.5); framing below follows the request's version. */
  PUT("HTTP/1.1 ");
  o += put_uint(o, (uint64_t)res->status);
  *o++ = ' ';
  memcpy(o, reason, rlen);
  o += rlen;
  PUT("\r\nServer: haywire\r\n");
  memcpy(o, w->date_line, w->date_len);
  o += w->date_len;
  /* 204 and 304 responses carry no body and here no Content-Length (RFC
   * 9110 sections 8.6, 15.3.5 and 15.4.5); every other response is
   * length-delimited. */
  if (hw__http_status_has_body(res->status)) {
    PUT("Content-Length: ");
    o += put_uint(o, res->body_len);
    PUT("\r\n");
  }
  if (!keep_alive)
    PUT("Connection: close\r\n");
  else if (req->version < 11)
    PUT("Connection: keep-alive\r\n");
  if (res->headers.len > 0) {
    memcpy(o, res->headers.data, res->headers.len);
    o += res->headers.len;
  }
  PUT("\r\n");
  out->len = (size_t)(o - out->data);
  return 0;
}
