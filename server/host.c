/*
 * host.c - the hw_host function table modules call (see host.h).  What a
 * module passes in is checked here (a response field that is not a token,
 * or that would split the response, is refused), copied unless it was
 * given by reference, and applied to the request through the request core.
 * The route config accessors of ABI 1.2 are modconf.c's.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "chars.h"
#include "host.h"
#include "log.h"
#include "metrics.h"
#include "modconf.h"
#include "proxy_header.h"
#include "module.h"
#include "request.h"
#include "stream.h"
#include "timer.h"
#include "work.h"

static hw_request *req_of(hw_response *res) {
  return hw__bytes_container_of(res, hw_request, res);
}

static const hw_request *creq_of(const hw_response *res) {
  return hw__bytes_container_of(res, const hw_request, res);
}

/* ---- the host function table ------------------------------------------ */

static hw_str span_str(const hw_request *req, hw__span s) {
  hw_str r = {req->msg.head.data + s.off, s.len};
  if (s.len == 0)
    r.data = "";
  return r;
}

static hw_str host_method(const hw_request *req) {
  hw_str r = {req->msg.method_name, req->msg.method_len};
  if (r.data == NULL)
    return span_str(req, req->msg.method);
  return r;
}

static hw_str host_target(const hw_request *req) {
  return span_str(req, req->msg.target);
}

static hw_str host_path(const hw_request *req) {
  return span_str(req, req->msg.path);
}

static hw_str host_query(const hw_request *req) {
  return span_str(req, req->msg.query);
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
  if (req->route != NULL && req->match_len <= req->msg.path.len) {
    r.data = req->msg.head.data + req->msg.path.off + req->match_len;
    r.len = req->msg.path.len - req->match_len;
  }
  /* The root route "/" leaves the whole path as its rest. */
  if (req->route != NULL && req->route->prefix_len == 1)
    r = span_str(req, req->msg.path);
  return r;
}

static int host_version(const hw_request *req) {
  /* A module built before ABI 1.6 was promised 10 or 11: to it an HTTP/2
   * request is 11, the semantics it knows (RFC 9110 section 2.5). */
  if (req->msg.version == 20 && req->route != NULL &&
      req->route->module->desc->abi_minor < 6)
    return 11;
  return req->msg.version;
}

static int host_header(const hw_request *req, const char *name, size_t name_len,
                       hw_str *value) {
  for (uint32_t i = 0; i < req->msg.nfields; i++) {
    const hw__field *f = &req->msg.fields[i];
    if (f->name.len == name_len &&
        hw__chars_name_eq(req->msg.head.data + f->name.off, name, name_len)) {
      *value = span_str(req, f->value);
      return 0;
    }
  }
  return HW_ENOENT;
}

static size_t host_header_count(const hw_request *req) {
  return req->msg.nfields;
}

static int host_header_at(const hw_request *req, size_t index, hw_str *name,
                          hw_str *value) {
  if (index >= req->msg.nfields)
    return HW_ENOENT;
  *name = span_str(req, req->msg.fields[index].name);
  *value = span_str(req, req->msg.fields[index].value);
  return 0;
}

static hw_str host_body(const hw_request *req) {
  hw_str r = {req->body.len ? req->body.data : "", req->body.len};
  return r;
}

static int host_peer(const hw_request *req, char *buf, size_t buf_len) {
  return hw__request_peer(req, buf, buf_len);
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

static int host_aborted(const hw_request *req) {
  return req->aborted;
}

static void host_on_abort(hw_request *req, hw_abort_cb cb, void *arg) {
  req->abort_cb = cb;
  req->abort_arg = arg;
}

/* The status and fields may change until the response is streamed. */
static int writable(const hw_response *res) {
  const hw_request *req = creq_of(res);
  return req->state == HW__REQ_RUNNING && !req->finished_early &&
         !res->streaming;
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

/* The fields the host writes itself (framing and identity): a module
 * adding its own would contradict them.  Checked by length first, so the
 * common names cost one switch. */
static int host_owned(const char *name, size_t len) {
  switch (len) {
  case 4: return hw__chars_name_is(name, "date", 4);
  case 6: return hw__chars_name_is(name, "server", 6);
  case 10: return hw__chars_name_is(name, "connection", 10);
  case 14: return hw__chars_name_is(name, "content-length", 14);
  case 17: return hw__chars_name_is(name, "transfer-encoding", 17);
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
      !(hw__bytes_below(hw__bytes_load64(v), 0x0E) |
        hw__bytes_below(hw__bytes_load64(v + n - 8), 0x0E)))
    return 1;
  for (i = 0; i < n; i++)
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
      return 0;
  return 1;
}

/* The checks a response header field passes before it is sent. */
static int field_ok(const char *name, size_t name_len, const char *value,
                    size_t value_len) {
  /* host_owned compares as tokens, so the name is checked first. */
  return hw__chars_is_token(name, name_len) && !host_owned(name, name_len) &&
         value_ok(value, value_len);
}

/* Writes "Name: value\r\n" at `o` (name_len + value_len + 4 bytes). */
static char *put_field(char *o, const char *name, size_t name_len,
                       const char *value, size_t value_len) {
  hw__bytes_copy(o, name, name_len);
  o += name_len;
  *o++ = ':';
  *o++ = ' ';
  hw__bytes_copy(o, value, value_len);
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
  h->len =
      (size_t)(put_field(h->data + h->len, name, name_len, value, value_len) -
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
  h->len =
      (size_t)(put_field(h->line, name, name_len, value, value_len) - h->line);
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

static void host_header_free(hw_header *h) {
  free(h);
}

static int host_write(hw_response *res, const void *data, size_t len) {
  if (res->streaming)
    return hw__stream_write(req_of(res), data, len, 1, NULL, NULL);
  if (!writable(res))
    return HW_ESTATE;
  /* A HEAD response only needs the length of the body it would have. */
  if (!creq_of(res)->msg.is_head && hw__buf_append(&res->body, data, len) != 0)
    return HW_ENOMEM;
  res->body_len += len;
  return 0;
}

static int host_write_ref(hw_response *res, const void *data, size_t len,
                          hw_free_cb free_cb, void *arg) {
  hw__ref *ref;

  if (res->streaming)
    return hw__stream_write(req_of(res), data, len, 0, free_cb, arg);
  if (!writable(res)) {
    if (free_cb != NULL)
      hw__module_call_free_cb(free_cb, arg);
    return HW_ESTATE;
  }
  if ((ref = hw__request_ref(res)) == NULL) {
    if (free_cb != NULL)
      hw__module_call_free_cb(free_cb, arg);
    return HW_ENOMEM;
  }
  ref->data = data;
  ref->len = len;
  ref->free_cb = free_cb;
  ref->arg = arg;
  res->body_len += len;
  return 0;
}

static int host_finish(hw_response *res) {
  return hw__request_finish(req_of(res));
}

static void host_log(hw_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hw__log_v(level, fmt, ap);
  va_end(ap);
}

static struct uv_loop_s *host_loop(void) {
  return hw__module_current_loop();
}

/* ---- ABI 1.2 ------------------------------------------------------------ */

static hw_str host_host(const hw_request *req) {
  return span_str(req, req->msg.host);
}

static void host_log_str(hw_log_level level, hw_str message) {
  hw__log(level, "%.*s", message.len > 4000 ? 4000 : (int)message.len,
          message.data != NULL ? message.data : "");
}

/* ---- ABI 1.3 ------------------------------------------------------------ */

/* The route of the module call running now, or NULL (a callback made for
 * no route, or no module call at all: a thread of the pool). */
static hw__route *calling_route(void) {
  const hw__module_site *site = hw__module_current_site();
  return site != NULL ? hw__bytes_container_of(site, hw__route, site) : NULL;
}

static int64_t host_timer_start(uint64_t ms, uint64_t repeat, hw_timer_cb cb,
                                void *arg) {
  hw__route *rt = calling_route();
  if (rt == NULL)
    return HW_ESTATE;
  return hw__timer_start(hw__module_current_loop(), rt->gen, rt->module,
                         &rt->site, ms, repeat, cb, arg);
}

static int host_timer_stop(int64_t timer) {
  hw__route *rt = calling_route();
  return hw__timer_stop(timer, rt != NULL ? (const void *)rt->module : NULL);
}

static int host_queue_work(hw_request *req, hw_work_cb work,
                           hw_work_done_cb done, void *arg) {
  if (work == NULL || done == NULL || req == NULL)
    return HW_EINVAL;
  /* A request given up on (its client gone, or its generation's drain
   * deadline passed: then it pins no generation) takes no new work. */
  if (calling_route() == NULL || req->state != HW__REQ_RUNNING ||
      req->route == NULL || req->gen == NULL || req->aborted ||
      req->finished_early || (!req->in_handle && !req->deferred))
    return HW_ESTATE;
  return hw__work_queue(hw__module_current_loop(), req, &req->route->site,
                        work, done, arg);
}

static int host_stream(hw_response *res, int64_t length) {
  return hw__stream_begin(req_of(res), length);
}

static int host_on_writable(hw_response *res, hw_writable_cb cb, void *arg) {
  return hw__stream_on_writable(req_of(res), cb, arg);
}

static int host_write_file(hw_response *res, int fd, uint64_t offset,
                           uint64_t length) {
  if (!res->streaming)
    return HW_ESTATE;
  return hw__stream_write_file(req_of(res), fd, offset, length);
}

static int host_body_stream(hw_request *req, hw_body_cb cb, void *arg) {
  if (cb == NULL)
    return HW_EINVAL;
  return hw__stream_body_take(req, cb, arg);
}

static int host_body_pause(hw_request *req, int pause) {
  return hw__stream_body_pause(req, pause);
}

#ifndef HW_NO_METRICS
/* The snapshot's memory is the request's, as alloc() gives it. */
static void *metrics_alloc(void *req, size_t n) { return host_alloc(req, n); }
#endif

static const hw_metrics *host_metrics(hw_request *req) {
#ifdef HW_NO_METRICS
  (void)req;
  return NULL;
#else
  return req != NULL ? hw__metrics_snapshot(metrics_alloc, req) : NULL;
#endif
}

/* Copied for the request: the connection may close before it is freed. */
static int tls_str(hw_request *req, hw_str *out, const char *s) {
  size_t n = strlen(s);
  char *p = host_alloc(req, n + 1);
  if (p == NULL)
    return -1;
  memcpy(p, s, n + 1);
  *out = (hw_str){p, n};
  return 0;
}

static const hw_tls_info *host_tls(hw_request *req) {
  hw__transport_tls t;
  hw_tls_info *info;
  if (req == NULL || hw__request_tls(req, &t) != 0 ||
      (info = host_alloc(req, sizeof(*info))) == NULL)
    return NULL;
  memset(info, 0, sizeof(*info));
  info->size = sizeof(*info);
  info->resumed = t.resumed;
  if (tls_str(req, &info->version, t.version) != 0 ||
      tls_str(req, &info->cipher, t.cipher) != 0 ||
      tls_str(req, &info->server_name, t.sni) != 0 ||
      tls_str(req, &info->alpn, t.alpn) != 0)
    return NULL;
  return info;
}

/* Copied for the request, NUL-terminated: the connection may close before
 * it is freed.  0, or -1 when out of memory. */
static int proxy_str(hw_request *req, hw_str *out, const void *p, size_t n) {
  char *d = host_alloc(req, n + 1);
  if (d == NULL)
    return -1;
  if (n > 0)
    memcpy(d, p, n);
  d[n] = '\0';
  *out = (hw_str){d, n};
  return 0;
}

/* One TLV of the header's, copied (empty when absent). */
static int proxy_tlv_str(hw_request *req, const hw__transport_proxy *t,
                         unsigned type, hw_str *out) {
  const uint8_t *v = NULL;
  size_t n = 0;
  hw__proxy_header_tlv(t->tlv, t->tlv_len, type, &v, &n);
  return proxy_str(req, out, v, n);
}

static const hw_proxy_info *host_proxy(hw_request *req) {
  hw__transport_proxy t;
  hw_proxy_info *info;
  const uint8_t *ssl;
  size_t ssl_len = 0;
  int bad;
  if (req == NULL || hw__request_proxy(req, &t) != 0 ||
      (info = host_alloc(req, sizeof(*info))) == NULL)
    return NULL;
  memset(info, 0, sizeof(*info));
  info->size = sizeof(*info);
  info->version = t.version;
  info->local = t.local;
  if (hw__proxy_header_tlv(t.tlv, t.tlv_len, HW__PP2_SSL, &ssl, &ssl_len) ==
          0 &&
      ssl_len >= 5) { /* client (1 byte), verify (4, big-endian) */
    info->ssl_client = ssl[0];
    info->ssl_verify = (uint32_t)ssl[1] << 24 | (uint32_t)ssl[2] << 16 |
                       (uint32_t)ssl[3] << 8 | ssl[4];
  }
  bad = proxy_str(req, &info->client, t.client, strlen(t.client)) |
        proxy_str(req, &info->server, t.server, strlen(t.server)) |
        proxy_str(req, &info->socket_peer, t.socket_peer,
                  strlen(t.socket_peer)) |
        proxy_str(req, &info->tlvs, t.tlv, t.tlv_len) |
        proxy_tlv_str(req, &t, HW__PP2_ALPN, &info->alpn) |
        proxy_tlv_str(req, &t, HW__PP2_AUTHORITY, &info->authority) |
        proxy_tlv_str(req, &t, HW__PP2_UNIQUE_ID, &info->unique_id) |
        proxy_tlv_str(req, &t, HW__PP2_SSL_VERSION, &info->ssl_version) |
        proxy_tlv_str(req, &t, HW__PP2_SSL_CIPHER, &info->ssl_cipher) |
        proxy_tlv_str(req, &t, HW__PP2_SSL_SIG_ALG, &info->ssl_sig_alg) |
        proxy_tlv_str(req, &t, HW__PP2_SSL_KEY_ALG, &info->ssl_key_alg) |
        proxy_tlv_str(req, &t, HW__PP2_SSL_CN, &info->ssl_cn);
  return bad ? NULL : info;
}

static int host_proxy_tlv(hw_request *req, unsigned type, hw_str *out) {
  hw__transport_proxy t;
  const uint8_t *v;
  size_t n;
  if (req == NULL || out == NULL || type > 0xFF)
    return HW_EINVAL;
  if (hw__request_proxy(req, &t) != 0 || t.version != 2)
    return HW_ESTATE;
  if (hw__proxy_header_tlv(t.tlv, t.tlv_len, type, &v, &n) != 0)
    return HW_ENOENT;
  return proxy_str(req, out, v, n) == 0 ? 0 : HW_ENOMEM;
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
    .host = host_host,
    .log_str = host_log_str,
    .config = hw__modconf_config,
    .conf_find = hw__modconf_find,
    .conf_type = hw__modconf_type,
    .conf_string = hw__modconf_string,
    .conf_int = hw__modconf_int,
    .conf_number = hw__modconf_number,
    .conf_bool = hw__modconf_bool,
    .conf_count = hw__modconf_count,
    .conf_at = hw__modconf_at,
    .conf_keys = hw__modconf_keys,
    .conf_error = hw__modconf_error,
    .timer_start = host_timer_start,
    .timer_stop = host_timer_stop,
    .queue_work = host_queue_work,
    .stream = host_stream,
    .on_writable = host_on_writable,
    .write_file = host_write_file,
    .body_stream = host_body_stream,
    .body_pause = host_body_pause,
    .metrics = host_metrics,
    .tls = host_tls,
    .proxy = host_proxy,
    .proxy_tlv = host_proxy_tlv,
};
