/*
 * request.c - the request object and the host function table (hw_host) that
 * modules call.  A request is created when its head begins, routed when the
 * head is complete, dispatched when the message is complete, and freed once
 * its response has been written (or discarded) and every free callback given
 * with it has run.
 *
 * Request objects come from a per-worker pool and keep their buffers when
 * they return to it, so that in steady state serving a request allocates
 * nothing.  A deferred request whose client goes away is "orphaned": it loses
 * its connection but stays valid until the module finishes it, because the
 * module may still hold pointers into it.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Buffers larger than these are released when a request returns to the pool,
 * so one large request does not pin memory forever. */
#define KEEP_HEAD (8 * 1024)
#define KEEP_BODY (16 * 1024)
#define KEEP_RESP (16 * 1024)
#define POOL_MAX 1024

static hw_request *req_of(hw_response *res) {
  return hw__container_of(res, hw_request, res);
}

static const hw_request *creq_of(const hw_response *res) {
  return hw__container_of(res, const hw_request, res);
}

/* ---- life cycle ------------------------------------------------------- */

hw_request *hw__request_new(hw__worker *w, hw__conn *c) {
  hw_request *req = w->free_reqs;
  if (req != NULL) {
    w->free_reqs = req->next;
    w->nfree_reqs--;
  } else {
    req = calloc(1, sizeof(*req));
    if (req == NULL)
      return NULL;
  }
  req->next = NULL;
  req->conn = c;
  req->w = w;
  req->version = 11;
  req->res.status = 200;
  return req;
}

static void run_free_callbacks(struct hw_response *res) {
  for (size_t i = 0; i < res->nrefs; i++)
    if (res->refs[i].free_cb != NULL)
      res->refs[i].free_cb(res->refs[i].arg);
  res->nrefs = 0;
}

void hw__response_reset(struct hw_response *res) {
  run_free_callbacks(res);
  res->status = 200;
  res->headers.len = 0;
  res->body.len = 0;
  res->body_len = 0;
}

static void free_scratch(hw_request *req) {
  void *p = req->scratch;
  while (p != NULL) {
    void *next = *(void **)p;
    free(p);
    p = next;
  }
  req->scratch = NULL;
}

void hw__request_free(hw_request *req) {
  hw__worker *w = req->w;

  run_free_callbacks(&req->res);
  free_scratch(req);
  hw__request_unpin(req);

  if (w->nfree_reqs >= POOL_MAX) {
    hw__buf_free(&req->head);
    hw__buf_free(&req->body);
    hw__buf_free(&req->res.headers);
    hw__buf_free(&req->res.body);
    free(req->res.refs);
    free(req->hdrs);
    free(req);
    return;
  }
  /* Clear everything but the reusable memory, which sits at the end. */
  memset(req, 0, offsetof(hw_request, res.headers));
  hw__buf_reset(&req->head, KEEP_HEAD);
  hw__buf_reset(&req->body, KEEP_BODY);
  hw__buf_reset(&req->res.headers, KEEP_RESP);
  hw__buf_reset(&req->res.body, KEEP_RESP);
  if (req->hdrs_cap > 64) {
    free(req->hdrs);
    req->hdrs = NULL;
    req->hdrs_cap = 0;
  }
  req->w = w;
  req->next = w->free_reqs;
  w->free_reqs = req;
  w->nfree_reqs++;
}

void hw__request_pool_drain(hw__worker *w) {
  while (w->free_reqs != NULL) {
    hw_request *req = w->free_reqs;
    w->free_reqs = req->next;
    hw__buf_free(&req->head);
    hw__buf_free(&req->body);
    hw__buf_free(&req->res.headers);
    hw__buf_free(&req->res.body);
    free(req->res.refs);
    free(req->hdrs);
    free(req);
  }
  w->nfree_reqs = 0;
}

void hw__request_unpin(hw_request *req) {
  hw__generation *g = req->gen;
  if (g == NULL)
    return;
  if (req->gprev != NULL)
    req->gprev->gnext = req->gnext;
  else
    g->reqs = req->gnext;
  if (req->gnext != NULL)
    req->gnext->gprev = req->gprev;
  req->gprev = req->gnext = NULL;
  req->gen = NULL;
  g->live--;
}

void hw__request_route(hw_request *req) {
  hw__generation *g = req->w->gen;
  const char *path = req->head.data + req->path.off;

  /* The request pins the generation it was routed with until it is freed,
   * so a reload never pulls a module out from under it; the generation
   * lists its requests so that a drain deadline can find them. */
  req->gen = g;
  req->gprev = NULL;
  req->gnext = g->reqs;
  if (g->reqs != NULL)
    g->reqs->gprev = req;
  g->reqs = req;
  g->live++;
  req->route =
      hw__router_match(g->router, path, req->path.len, SIZE_MAX, &req->match_len);
}

void hw__request_respond_error(hw_request *req, int status) {
  const char *reason = hw__http_reason(status);
  char body[96];
  int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);

  hw__response_reset(&req->res);
  req->res.status = status;
  hw__buf_append(&req->res.headers, "Content-Type: text/plain\r\n", 26);
  if (n > 0 && !req->is_head)
    hw__buf_append(&req->res.body, body, (size_t)n);
  req->res.body_len = n > 0 ? (size_t)n : 0;
  req->state = HW__REQ_DONE;
}

static void done(hw_request *req) {
  req->state = HW__REQ_DONE;
  if (req->conn != NULL)
    hw__conn_response_ready(req->conn);
  else
    hw__request_free(req); /* orphaned: nobody will write it */
}

void hw__request_dispatch(hw_request *req) {
  hw__route *rt = req->route;

  req->state = HW__REQ_RUNNING;
  while (rt != NULL) {
    hw__worker *w = req->w;
    hw__slot_state *slot = w->slot;
    hw_handle_result r;

    /* Under a master, a shared page says what runs, so that if the module
     * crashes the master can name the route (rewritten only when the route
     * changes). */
    if (slot != NULL) {
      if (rt != w->slot_route)
        hw__worker_note_dispatch(w, rt);
      slot->busy = 1;
    }
    req->in_handle = 1;
    r = rt->module->desc->handle(rt->state, req, &req->res);
    req->in_handle = 0;
    if (slot != NULL)
      slot->busy = 0;
    switch (r) {
    case HW_HANDLED:
      done(req);
      return;
    case HW_DEFERRED:
      if (req->finished_early) {
        done(req);
        return;
      }
      req->deferred = 1;
      return;
    case HW_DECLINED:
      /* Fall through to the next shorter prefix of the same generation. */
      hw__response_reset(&req->res);
      rt = hw__router_match(req->gen->router, req->head.data + req->path.off,
                            req->path.len, req->match_len, &req->match_len);
      req->route = rt;
      continue;
    case HW_ERROR:
    default:
      hw__request_respond_error(req, 500);
      done(req);
      return;
    }
  }
  /* Nothing answered: 404, or 501 for a method outside RFC 9110's set,
   * which no route here implements (RFC 9110 section 15.6.2). */
  hw__request_respond_error(req, req->std_method ? 404 : 501);
  done(req);
}

void hw__request_orphan(hw_request *req) {
  req->conn = NULL;
  req->aborted = 1;
  if (req->state == HW__REQ_RUNNING && req->deferred) {
    hw_abort_cb cb = req->abort_cb;
    req->abort_cb = NULL;
    if (cb != NULL)
      cb(req, req->abort_arg);
    return; /* freed when the module calls finish */
  }
  hw__request_free(req);
}

/* ---- the host function table ------------------------------------------ */

static hw_str span_str(const hw_request *req, hw__span s) {
  hw_str r = {req->head.data + s.off, s.len};
  if (s.len == 0)
    r.data = "";
  return r;
}

static hw_str host_method(const hw_request *req) {
  hw_str r = {req->method_name, req->method_len};
  if (r.data == NULL)
    return span_str(req, req->method);
  return r;
}

static hw_str host_target(const hw_request *req) {
  return span_str(req, req->target);
}

static hw_str host_path(const hw_request *req) {
  return span_str(req, req->path);
}

static hw_str host_query(const hw_request *req) {
  return span_str(req, req->query);
}

static hw_str host_prefix(const hw_request *req) {
  hw_str r = {"", 0};
  if (req->route != NULL) {
    r.data = req->route->prefix;
    r.len = req->route->prefix_len;
  }
  return r;
}

static hw_str host_rest(const hw_request *req) {
  hw_str r = {"", 0};
  if (req->route != NULL && req->match_len <= req->path.len) {
    r.data = req->head.data + req->path.off + req->match_len;
    r.len = req->path.len - req->match_len;
  }
  /* The root route "/" leaves the whole path as its rest. */
  if (req->route != NULL && req->route->prefix_len == 1)
    r = span_str(req, req->path);
  return r;
}

static int host_version(const hw_request *req) { return req->version; }

static int host_header(const hw_request *req, const char *name,
                       size_t name_len, hw_str *value) {
  for (uint32_t i = 0; i < req->nhdrs; i++) {
    const hw__hdr *h = &req->hdrs[i];
    if (h->name.len == name_len &&
        strncasecmp(req->head.data + h->name.off, name, name_len) == 0) {
      *value = span_str(req, h->value);
      return 0;
    }
  }
  return HW_ENOENT;
}

static size_t host_header_count(const hw_request *req) { return req->nhdrs; }

static int host_header_at(const hw_request *req, size_t index, hw_str *name,
                          hw_str *value) {
  if (index >= req->nhdrs)
    return HW_ENOENT;
  *name = span_str(req, req->hdrs[index].name);
  *value = span_str(req, req->hdrs[index].value);
  return 0;
}

static hw_str host_body(const hw_request *req) {
  hw_str r = {req->body.len ? req->body.data : "", req->body.len};
  return r;
}

static int host_peer(const hw_request *req, char *buf, size_t buf_len) {
  struct sockaddr_storage ss;
  int len = sizeof(ss), r;
  char ip[64];

  if (req->conn == NULL)
    return UV_ENOTCONN;
  r = uv_tcp_getpeername(&req->conn->tcp, (struct sockaddr *)&ss, &len);
  if (r != 0)
    return r;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, ip, sizeof(ip));
    r = snprintf(buf, buf_len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    uv_ip4_name(a, ip, sizeof(ip));
    r = snprintf(buf, buf_len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
  }
  if (r < 0 || (size_t)r >= buf_len)
    return HW_EINVAL;
  return r;
}

static void *host_alloc(hw_request *req, size_t size) {
  /* Each block starts with the link to the previous one; 16 bytes keep the
   * caller's memory 16-byte aligned. */
  char *p;
  if (size > SIZE_MAX - 16)
    return NULL;
  p = malloc(16 + size);
  if (p == NULL)
    return NULL;
  *(void **)p = req->scratch;
  req->scratch = p;
  return p + 16;
}

static int host_aborted(const hw_request *req) { return req->aborted; }

static void host_on_abort(hw_request *req, hw_abort_cb cb, void *arg) {
  req->abort_cb = cb;
  req->abort_arg = arg;
}

static int writable(const hw_response *res) {
  return creq_of(res)->state == HW__REQ_RUNNING;
}

static int host_set_status(hw_response *res, int status) {
  if (!writable(res))
    return HW_ESTATE;
  /* Interim (1xx) responses are the host's business: a module's answer is
   * always the final one. */
  if (status < 200 || status > 999)
    return HW_EINVAL;
  res->status = status;
  return 0;
}

/* RFC 9110 section 5.6.2: the characters of a token (a field name), as a
 * table because add_header runs for every header of every response. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

/* The fields the host writes itself (framing and identity): a module
 * adding its own would contradict them.  Checked by length first, so the
 * common names cost one switch. */
static int host_owned(const char *name, size_t len) {
  switch (len) {
  case 4: return strncasecmp(name, "date", 4) == 0;
  case 6: return strncasecmp(name, "server", 6) == 0;
  case 10: return strncasecmp(name, "connection", 10) == 0;
  case 14: return strncasecmp(name, "content-length", 14) == 0;
  case 17: return strncasecmp(name, "transfer-encoding", 17) == 0;
  default: return 0;
  }
}

/* Non-zero if a field value may be sent as it is: CR, LF or NUL in it would
 * let a module split the response. */
static int value_ok(const char *v, size_t n) {
  size_t i;
  /* The usual short value is looked at as two overlapping words, for any
   * byte below 0x0E (the three, and also HTAB, which is allowed); only
   * when one is found, or for other lengths, byte by byte. */
  if (n >= 8 && n <= 16 &&
      !(hw__bytes_below(hw__load64(v), 0x0E) |
        hw__bytes_below(hw__load64(v + n - 8), 0x0E)))
    return 1;
  for (i = 0; i < n; i++)
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
      return 0;
  return 1;
}

/* Non-zero if the `n` bytes at `s` are a token.  A valid name is the rule,
 * so the bytes' classes are combined without a branch each: the usual
 * name of 8 to 16 bytes as two overlapping runs of eight. */
static int is_token(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  unsigned all;
  size_t i = 0;
  if (n >= 8 && n <= 16) {
    const unsigned char *t = u + n - 8;
    all = tchar[u[0]] & tchar[u[1]] & tchar[u[2]] & tchar[u[3]] &
          tchar[u[4]] & tchar[u[5]] & tchar[u[6]] & tchar[u[7]] &
          tchar[t[0]] & tchar[t[1]] & tchar[t[2]] & tchar[t[3]] &
          tchar[t[4]] & tchar[t[5]] & tchar[t[6]] & tchar[t[7]];
    return all != 0;
  }
  all = n > 0;
  for (; i + 4 <= n; i += 4)
    all &= tchar[u[i]] & tchar[u[i + 1]] & tchar[u[i + 2]] & tchar[u[i + 3]];
  for (; i < n; i++)
    all &= tchar[u[i]];
  return all != 0;
}

/* The checks a response header field passes before it is sent. */
static int field_ok(const char *name, size_t name_len, const char *value,
                    size_t value_len) {
  return is_token(name, name_len) && !host_owned(name, name_len) &&
         value_ok(value, value_len);
}

/* Writes "Name: value\r\n" at `o` (name_len + value_len + 4 bytes). */
static char *put_field(char *o, const char *name, size_t name_len,
                       const char *value, size_t value_len) {
  hw__copy(o, name, name_len);
  o += name_len;
  *o++ = ':';
  *o++ = ' ';
  hw__copy(o, value, value_len);
  o += value_len;
  *o++ = '\r';
  *o++ = '\n';
  return o;
}

static int host_add_header(hw_response *res, const char *name, size_t name_len,
                           const char *value, size_t value_len) {
  hw__buf *h = &res->headers;

  if (!writable(res))
    return HW_ESTATE;
  if (!field_ok(name, name_len, value, value_len))
    return HW_EINVAL;
  if (name_len > SIZE_MAX / 4 || value_len > SIZE_MAX / 4 ||
      hw__buf_reserve(h, name_len + value_len + 4) != 0)
    return HW_ENOMEM;
  h->len = (size_t)(put_field(h->data + h->len, name, name_len, value,
                              value_len) -
                    h->data);
  return 0;
}

/* A prepared header field (ABI 1.1): the line as it goes out, checked once
 * so that adding it to a response is one copy. */
struct hw_header {
  size_t len;
  char line[];
};

static int host_header_prepare(const char *name, size_t name_len,
                               const char *value, size_t value_len,
                               hw_header **out) {
  hw_header *h;

  if (out == NULL)
    return HW_EINVAL;
  *out = NULL;
  if (!field_ok(name, name_len, value, value_len))
    return HW_EINVAL;
  if (name_len > SIZE_MAX / 4 || value_len > SIZE_MAX / 4)
    return HW_ENOMEM;
  h = malloc(sizeof(*h) + name_len + value_len + 4);
  if (h == NULL)
    return HW_ENOMEM;
  h->len = (size_t)(put_field(h->line, name, name_len, value, value_len) -
                    h->line);
  *out = h;
  return 0;
}

static int host_add_prepared(hw_response *res, const hw_header *h) {
  if (!writable(res))
    return HW_ESTATE;
  if (h == NULL)
    return HW_EINVAL;
  return hw__buf_append(&res->headers, h->line, h->len) != 0 ? HW_ENOMEM : 0;
}

static void host_header_free(hw_header *h) { free(h); }

static int host_write(hw_response *res, const void *data, size_t len) {
  if (!writable(res))
    return HW_ESTATE;
  /* A HEAD response only needs the length of the body it would have. */
  if (!creq_of(res)->is_head && hw__buf_append(&res->body, data, len) != 0)
    return HW_ENOMEM;
  res->body_len += len;
  return 0;
}

static int host_write_ref(hw_response *res, const void *data, size_t len,
                          hw_free_cb free_cb, void *arg) {
  hw__ref *ref;

  if (!writable(res)) {
    if (free_cb != NULL)
      free_cb(arg);
    return HW_ESTATE;
  }
  if (res->nrefs == res->refs_cap) {
    size_t cap = res->refs_cap ? res->refs_cap * 2 : 4;
    hw__ref *n = realloc(res->refs, cap * sizeof(*n));
    if (n == NULL) {
      if (free_cb != NULL)
        free_cb(arg);
      return HW_ENOMEM;
    }
    res->refs = n;
    res->refs_cap = cap;
  }
  ref = &res->refs[res->nrefs++];
  ref->data = data;
  ref->len = len;
  ref->at = res->body.len;
  ref->free_cb = free_cb;
  ref->arg = arg;
  res->body_len += len;
  return 0;
}

static int host_finish(hw_response *res) {
  hw_request *req = req_of(res);

  if (req->state != HW__REQ_RUNNING)
    return HW_ESTATE;
  if (req->in_handle) {
    /* finish() before handle() returned HW_DEFERRED: the module answered
     * synchronously after all; dispatch completes it on return. */
    req->finished_early = 1;
    return 0;
  }
  if (!req->deferred)
    return HW_ESTATE;
  req->abort_cb = NULL;
  done(req);
  return 0;
}

static void host_log(hw_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hw__vlog(level, fmt, ap);
  va_end(ap);
}

static struct uv_loop_s *host_loop(void) {
  return hw__current != NULL ? hw__current->loop : uv_default_loop();
}

const hw_host hw__host = {
    .abi_major = HW_ABI_MAJOR,
    .abi_minor = HW_ABI_MINOR,
    .size = sizeof(hw_host),
    .method = host_method,
    .target = host_target,
    .path = host_path,
    .query = host_query,
    .prefix = host_prefix,
    .rest = host_rest,
    .version = host_version,
    .header = host_header,
    .header_count = host_header_count,
    .header_at = host_header_at,
    .body = host_body,
    .peer = host_peer,
    .alloc = host_alloc,
    .aborted = host_aborted,
    .on_abort = host_on_abort,
    .set_status = host_set_status,
    .add_header = host_add_header,
    .write = host_write,
    .write_ref = host_write_ref,
    .finish = host_finish,
    .log = host_log,
    .loop = host_loop,
    .header_prepare = host_header_prepare,
    .add_prepared = host_add_prepared,
    .header_free = host_header_free,
};
