/*
 * status.c - the server's counters over HTTP, for Prometheus and for
 * people.  Mounted like any module ({"prefix": "/-/status", "module":
 * "status.so"}), it answers GET and HEAD with one snapshot of the counters
 * the host keeps (ABI 1.4, host->metrics): per route, requests by status
 * code, a duration histogram and body bytes both ways; connections by
 * state, timeouts, reloads, worker restarts; each process's memory and
 * descriptors.  Two renderings of the same snapshot: Prometheus's text
 * format 0.0.4, or one JSON object.  The query's format=prometheus|json
 * wins, then an Accept that names text/plain or
 * application/openmetrics-text (what Prometheus sends), then the route's
 * config {"format": "json" (the default) | "prometheus"}.
 *
 * What it owns: the rendering, and nothing else.  It keeps no counter of
 * its own (its own requests are counted by the host like any route's) and
 * no state between requests beyond the route's default format.  The body
 * is built in one buffer of the module's, grown as it fills, whose size
 * depends only on the snapshot (the routes, codes and processes the host
 * reports), never on the request; it is handed to the host by reference
 * and freed by the write's free callback.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

/* The route label of requests that matched no route (the host's empty
 * prefix) and of the routes past the host's table ("*"): every real prefix
 * begins with '/', so neither can be taken for one. */
#define NO_ROUTE "(none)"
#define OTHER_ROUTE "(other)"

#define CT_JSON "application/json"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"

typedef enum status_format { FORMAT_JSON, FORMAT_PROMETHEUS } status_format;

typedef struct status_state {
  const hw_host *host;
  status_format format; /* the route's default */
} status_state;

/* ------------------------------------------------------------------------
 * The output buffer.  Appends never fail one by one: running out of memory
 * sets `oom`, later appends do nothing, and the caller checks once at the
 * end (a 500), which keeps the renderers free of error paths.
 */

typedef struct out {
  char *p;
  size_t len, cap;
  int oom;
} out;

static int reserve(out *o, size_t n) {
  size_t cap;
  char *p;

  if (o->oom)
    return -1;
  if (n <= o->cap - o->len)
    return 0;
  cap = o->cap != 0 ? o->cap : 4096;
  while (cap - o->len < n) {
    if (cap > SIZE_MAX / 2) {
      o->oom = 1;
      return -1;
    }
    cap *= 2;
  }
  p = realloc(o->p, cap);
  if (p == NULL) {
    o->oom = 1;
    return -1;
  }
  o->p = p;
  o->cap = cap;
  return 0;
}

static void put(out *o, const char *s, size_t n) {
  /* The host may hand {NULL, 0}: never memcpy from NULL. */
  if (n == 0 || reserve(o, n) != 0)
    return;
  memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void puts_(out *o, const char *s) {
  if (s != NULL)
    put(o, s, strlen(s));
}

static void put_u64(out *o, uint64_t v) {
  char tmp[20];
  size_t i = sizeof(tmp);

  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(o, tmp + i, sizeof(tmp) - i);
}

static void put_i64(out *o, int64_t v) {
  if (v < 0) {
    put(o, "-", 1);
    put_u64(o, (uint64_t)0 - (uint64_t)v);
  } else {
    put_u64(o, (uint64_t)v);
  }
}

/*
 * Nanoseconds as seconds, exactly: the integer part, then the fraction
 * without its trailing zeros.  A double printed with %g would round a
 * large sum; this is what the counter holds, digit for digit.
 */
static void put_seconds_ns(out *o, uint64_t ns) {
  char frac[10];
  uint64_t f = ns % 1000000000u;
  int n = 9;

  put_u64(o, ns / 1000000000u);
  if (f == 0)
    return;
  frac[0] = '.';
  for (int i = 9; i >= 1; i--) {
    frac[i] = (char)('0' + f % 10);
    f /= 10;
  }
  while (frac[n] == '0')
    n--;
  put(o, frac, (size_t)n + 1);
}

/*
 * The shortest text that reads back as the same double, written as
 * Prometheus's own clients (Go's strconv 'g') write the bounds: "0.0005",
 * "2.5", "10", and a timestamp "1732667291.123" in plain digits.  Plain
 * digits from 1e-4 up to 1e17, an exponent ("1e-05") outside.  Neither
 * format can carry NaN or an infinity (JSON has no word for them), and no
 * value of the host is one: such a value is written as 0.
 */
static size_t format_double(char *buf, size_t size, double d) {
  char e[40];
  int n = 0, prec, exp;
  const char *x;

  if (!isfinite(d) || size < sizeof(e)) {
    snprintf(buf, size, "0");
    return 1;
  }
  /* The fewest significant digits (prec + 1) that round-trip. */
  for (prec = 0; prec < 17; prec++) {
    snprintf(e, sizeof(e), "%.*e", prec, d);
    if (strtod(e, NULL) == d)
      break;
  }
  x = strchr(e, 'e');
  exp = x != NULL ? atoi(x + 1) : 0;
  if (exp >= -4 && exp < 17)
    /* The same digits, rounded at the same place, without the exponent. */
    n = snprintf(buf, size, "%.*f", prec > exp ? prec - exp : 0, d);
  else
    n = snprintf(buf, size, "%s", e);
  if (n < 0 || (size_t)n >= size) {
    snprintf(buf, size, "0");
    return 1;
  }
  return (size_t)n;
}

static void put_double(out *o, double d) {
  char buf[40];
  put(o, buf, format_double(buf, sizeof(buf), d));
}

/* The length of the well-formed UTF-8 sequence at `s` (RFC 3629: no
 * overlong form, no surrogate, nothing past U+10FFFF), or 0: the access
 * log's rule, so that both speak of a prefix the same way. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0], lo = 0x80, hi = 0xbf;

  if (c < 0xc2 || c > 0xf4)
    return 0;
  if (c < 0xe0)
    return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c == 0xe0)
    lo = 0xa0; /* overlong below */
  else if (c == 0xed)
    hi = 0x9f; /* surrogates above */
  else if (c == 0xf0)
    lo = 0x90;
  else if (c == 0xf4)
    hi = 0x8f; /* past U+10FFFF above */
  if (c < 0xf0)
    return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3
                                                                         : 0;
  return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
                 (s[3] & 0xc0) == 0x80
             ? 4
             : 0;
}

/*
 * The inside of a JSON string, as the access log writes one: quotes and
 * backslashes escaped, control bytes (and DEL) and every byte that is not
 * part of well-formed UTF-8 as \u00XX, well-formed UTF-8 kept.  The output
 * is valid JSON (and UTF-8) whatever bytes a prefix holds, and a prefix
 * "/caf\u00e9" in the config reads back as the same text here and in the
 * Prometheus labels.
 */
static void put_json_escaped(out *o, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0;

  for (size_t i = 0; i < n;) {
    unsigned char ch = u[i];
    char esc[6];
    size_t esc_len, k;

    if (ch >= 0x80 && (k = utf8_len(u + i, n - i)) != 0) {
      i += k;
      continue;
    }
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      esc_len = 2;
    } else if (ch < 0x20 || ch >= 0x7f) {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[ch >> 4];
      esc[5] = hex[ch & 0xF];
      esc_len = 6;
    } else {
      i++;
      continue;
    }
    put(o, s + run, i - run);
    put(o, esc, esc_len);
    run = ++i;
  }
  put(o, s + run, n - run);
}

static void put_json_string(out *o, const char *s, size_t n) {
  put(o, "\"", 1);
  put_json_escaped(o, s, n);
  put(o, "\"", 1);
}

static void put_json_cstr(out *o, const char *s) {
  put_json_string(o, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/*
 * A label value of the text format: \\, " and newline escaped (the
 * format's own rule), well-formed UTF-8 kept.  The format has no escape for
 * a byte that is not UTF-8, and Prometheus refuses a scrape holding one:
 * such a byte becomes U+FFFD (a config read by jansson is UTF-8, so this
 * is only a guard).
 */
static void put_label(out *o, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0;

  for (size_t i = 0; i < n;) {
    const char *esc;
    size_t esc_len = 2, k;

    if (u[i] >= 0x80 && (k = utf8_len(u + i, n - i)) != 0) {
      i += k;
      continue;
    }
    if (u[i] == '\\')
      esc = "\\\\";
    else if (u[i] == '"')
      esc = "\\\"";
    else if (u[i] == '\n')
      esc = "\\n";
    else if (u[i] >= 0x80) {
      esc = "\xef\xbf\xbd";
      esc_len = 3;
    } else {
      i++;
      continue;
    }
    put(o, s + run, i - run);
    put(o, esc, esc_len);
    run = ++i;
  }
  put(o, s + run, n - run);
}

static void put_label_cstr(out *o, const char *s) {
  if (s != NULL)
    put_label(o, s, strlen(s));
}

/* ------------------------------------------------------------------------
 * What the snapshot's values are called in both formats.
 */

static hw_str route_name(hw_str prefix) {
  hw_str r = prefix;

  if (prefix.len == 0) {
    r.data = NO_ROUTE;
    r.len = sizeof(NO_ROUTE) - 1;
  } else if (prefix.len == 1 && prefix.data[0] == '*') {
    r.data = OTHER_ROUTE;
    r.len = sizeof(OTHER_ROUTE) - 1;
  }
  return r;
}

/* "master", "single", or "worker-N" for the worker of slot N. */
static void put_process_label(out *o, const hw_metrics_process *p) {
  if (p->role != NULL && strcmp(p->role, "worker") == 0) {
    put(o, "worker-", 7);
    put_u64(o, p->slot);
  } else {
    put_label_cstr(o, p->role);
  }
}

/* The histogram's bounds as text, once per snapshot (each is printed once
 * per route).  In the request's scratch memory: freed with the request. */
typedef struct bound_text {
  char s[40];
  size_t len;
} bound_text;

/* Every count of the snapshot that the host gave as an array with its
 * length: a NULL array counts as empty, so that a host's slip cannot make
 * the module read through NULL. */
#define COUNT(p, n) ((p) != NULL ? (n) : 0)
/* A snapshot of ABI 1.5 or later has the TLS handshakes (hw_metrics grows
 * by appending: an older host fills less). */
#define HAS_TLS(m)                                                             \
  ((m)->size >= offsetof(hw_metrics, ntls_handshakes) + sizeof(size_t) &&      \
   (m)->tls_handshakes != NULL)

/* ------------------------------------------------------------------------
 * JSON: one object, the field names of the README (stable: scripts read
 * them).
 */

static void json_counts(out *o, const hw_metrics_count *c, size_t n) {
  put(o, "{", 1);
  for (size_t i = 0; i < COUNT(c, n); i++) {
    if (i > 0)
      put(o, ",", 1);
    put_json_cstr(o, c[i].name);
    put(o, ":", 1);
    put_u64(o, c[i].count);
  }
  put(o, "}", 1);
}

static void json_route(out *o, const hw_metrics *m, const bound_text *le,
                       const hw_metrics_route *r) {
  hw_str name = route_name(r->prefix);
  size_t nb = COUNT(m->bounds, m->nbounds);

  put(o, "{\"route\":", 9);
  put_json_string(o, name.data, name.len);
  puts_(o, ",\"requests\":");
  put_u64(o, r->requests);
  puts_(o, ",\"codes\":{");
  for (size_t i = 0; i < COUNT(r->codes, r->ncodes); i++) {
    if (i > 0)
      put(o, ",", 1);
    put(o, "\"", 1);
    put_u64(o, r->codes[i].code);
    put(o, "\":", 2);
    put_u64(o, r->codes[i].count);
  }
  if (r->other_codes != 0) {
    puts_(o, COUNT(r->codes, r->ncodes) > 0 ? ",\"other\":" : "\"other\":");
    put_u64(o, r->other_codes);
  }
  puts_(o, "},\"duration_seconds\":{\"buckets\":{");
  if (r->buckets != NULL) {
    for (size_t i = 0; i < nb; i++) {
      put(o, "\"", 1);
      put(o, le[i].s, le[i].len);
      put(o, "\":", 2);
      put_u64(o, r->buckets[i]);
      put(o, ",", 1);
    }
    puts_(o, "\"+Inf\":");
    put_u64(o, r->buckets[nb]);
  }
  puts_(o, "},\"sum\":");
  put_seconds_ns(o, r->duration_ns);
  puts_(o, ",\"count\":");
  put_u64(o, r->buckets != NULL ? r->buckets[nb] : 0);
  puts_(o, "},\"request_body_bytes\":");
  put_u64(o, r->request_body_bytes);
  puts_(o, ",\"response_body_bytes\":");
  put_u64(o, r->response_body_bytes);
  put(o, "}", 1);
}

static void render_json(out *o, const hw_metrics *m, const bound_text *le) {
  puts_(o, "{\"version\":");
  put_json_cstr(o, m->version);
  puts_(o, ",\"abi\":");
  put_json_cstr(o, m->abi);
  puts_(o, ",\"start_time\":");
  put_double(o, m->start_time);
  puts_(o, ",\"generation\":");
  put_u64(o, m->generation);
  puts_(o, ",\"workers\":");
  put_u64(o, m->workers);
  puts_(o, ",\"last_reload_time\":");
  put_double(o, m->last_reload_time);
  puts_(o, ",\"generations_draining\":");
  put_u64(o, m->generations_draining);
  puts_(o, ",\"reloads\":");
  json_counts(o, m->reloads, m->nreloads);
  puts_(o, ",\"worker_restarts\":");
  json_counts(o, m->restarts, m->nrestarts);
  puts_(o, ",\"connections\":{\"accepted\":");
  put_u64(o, m->connections_accepted);
  puts_(o, ",\"reading\":");
  put_u64(o, m->connections_reading);
  puts_(o, ",\"writing\":");
  put_u64(o, m->connections_writing);
  puts_(o, ",\"waiting\":");
  put_u64(o, m->connections_waiting);
  puts_(o, ",\"accepts_paused\":");
  put_u64(o, m->accepts_paused);
  puts_(o, ",\"timeouts\":");
  json_counts(o, m->timeouts, m->ntimeouts);
  puts_(o, "},\"tls_handshakes\":");
  if (HAS_TLS(m))
    json_counts(o, m->tls_handshakes, m->ntls_handshakes);
  else
    puts_(o, "{}");
  puts_(o, ",\"routes\":[");
  for (size_t i = 0; i < COUNT(m->routes, m->nroutes); i++) {
    if (i > 0)
      put(o, ",", 1);
    json_route(o, m, le, &m->routes[i]);
  }
  puts_(o, "],\"processes\":[");
  for (size_t i = 0; i < COUNT(m->processes, m->nprocesses); i++) {
    const hw_metrics_process *p = &m->processes[i];

    puts_(o, i > 0 ? ",{\"role\":" : "{\"role\":");
    put_json_cstr(o, p->role);
    puts_(o, ",\"slot\":");
    put_u64(o, p->slot);
    puts_(o, ",\"pid\":");
    put_i64(o, p->pid);
    puts_(o, ",\"resident_memory_bytes\":");
    put_u64(o, p->resident_bytes);
    puts_(o, ",\"open_fds\":");
    put_u64(o, p->open_fds);
    puts_(o, ",\"generation\":");
    put_u64(o, p->generation);
    put(o, "}", 1);
  }
  puts_(o, "]}\n");
}

/* ------------------------------------------------------------------------
 * Prometheus text format 0.0.4: each family's HELP and TYPE, then all its
 * samples together (the format wants a family's lines in one group).
 */

static void family(out *o, const char *name, const char *type,
                   const char *help) {
  puts_(o, "# HELP ");
  puts_(o, name);
  put(o, " ", 1);
  puts_(o, help);
  puts_(o, "\n# TYPE ");
  puts_(o, name);
  put(o, " ", 1);
  puts_(o, type);
  put(o, "\n", 1);
}

/* name value, with no label */
static void sample(out *o, const char *name, uint64_t v) {
  puts_(o, name);
  put(o, " ", 1);
  put_u64(o, v);
  put(o, "\n", 1);
}

static void sample_double(out *o, const char *name, double v) {
  puts_(o, name);
  put(o, " ", 1);
  put_double(o, v);
  put(o, "\n", 1);
}

/* name{label="value"} count, for each named count */
static void samples_counts(out *o, const char *name, const char *label,
                           const hw_metrics_count *c, size_t n) {
  for (size_t i = 0; i < COUNT(c, n); i++) {
    puts_(o, name);
    put(o, "{", 1);
    puts_(o, label);
    put(o, "=\"", 2);
    put_label_cstr(o, c[i].name);
    put(o, "\"} ", 3);
    put_u64(o, c[i].count);
    put(o, "\n", 1);
  }
}

/* name{route="...", the opening of a route's sample */
static void route_open(out *o, const char *name, hw_str route) {
  puts_(o, name);
  puts_(o, "{route=\"");
  put_label(o, route.data, route.len);
  put(o, "\"", 1);
}

/* A counter family with one sample per route: the uint64_t member of
 * hw_metrics_route at `member`. */
static void route_counter(out *o, const char *name, const char *help,
                          const hw_metrics_route *routes, size_t n,
                          size_t member) {
  family(o, name, "counter", help);
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    memcpy(&v, (const char *)&routes[i] + member, sizeof(v));
    route_open(o, name, route_name(routes[i].prefix));
    put(o, "} ", 2);
    put_u64(o, v);
    put(o, "\n", 1);
  }
}

static void render_prometheus(out *o, const hw_metrics *m,
                              const bound_text *le) {
  static const char dur[] = "haywire_http_request_duration_seconds";
  const hw_metrics_route *routes = m->routes;
  size_t nroutes = COUNT(m->routes, m->nroutes);
  size_t nb = COUNT(m->bounds, m->nbounds);
  const hw_metrics_process *procs = m->processes;
  size_t nprocs = COUNT(m->processes, m->nprocesses);

  family(o, "haywire_build_info", "gauge",
         "The server's version and module ABI (the value is always 1).");
  puts_(o, "haywire_build_info{version=\"");
  put_label_cstr(o, m->version);
  puts_(o, "\",abi=\"");
  put_label_cstr(o, m->abi);
  puts_(o, "\"} 1\n");
  family(o, "haywire_start_time_seconds", "gauge",
         "When the server started, in Unix seconds.");
  sample_double(o, "haywire_start_time_seconds", m->start_time);
  family(o, "haywire_workers", "gauge",
         "Worker processes configured (0: a single process serves).");
  sample(o, "haywire_workers", m->workers);
  family(o, "haywire_generation", "gauge",
         "The configuration generation serving new requests.");
  sample(o, "haywire_generation", m->generation);
  family(o, "haywire_reloads_total", "counter", "Reloads, by result.");
  samples_counts(o, "haywire_reloads_total", "result", m->reloads,
                 m->nreloads);
  family(o, "haywire_last_reload_success_timestamp_seconds", "gauge",
         "When a reload last succeeded, in Unix seconds (0: none has).");
  sample_double(o, "haywire_last_reload_success_timestamp_seconds",
                m->last_reload_time);
  family(o, "haywire_generations_draining", "gauge",
         "Retired generations not yet unloaded, over all workers.");
  sample(o, "haywire_generations_draining", m->generations_draining);
  family(o, "haywire_worker_restarts_total", "counter",
         "Workers restarted after they died, by cause.");
  samples_counts(o, "haywire_worker_restarts_total", "cause", m->restarts,
                 m->nrestarts);

  family(o, "haywire_connections_accepted_total", "counter",
         "Connections accepted.");
  sample(o, "haywire_connections_accepted_total", m->connections_accepted);
  family(o, "haywire_connections", "gauge",
         "Open connections by state (each worker counts them twice a "
         "second).");
  puts_(o, "haywire_connections{state=\"reading\"} ");
  put_u64(o, m->connections_reading);
  puts_(o, "\nhaywire_connections{state=\"writing\"} ");
  put_u64(o, m->connections_writing);
  puts_(o, "\nhaywire_connections{state=\"waiting\"} ");
  put_u64(o, m->connections_waiting);
  put(o, "\n", 1);
  family(o, "haywire_accepts_paused_total", "counter",
         "Times a worker stopped accepting at limits.connections.");
  sample(o, "haywire_accepts_paused_total", m->accepts_paused);
  family(o, "haywire_connection_timeouts_total", "counter",
         "Connections closed by a timeout, by kind.");
  samples_counts(o, "haywire_connection_timeouts_total", "kind", m->timeouts,
                 m->ntimeouts);
  if (HAS_TLS(m)) {
    family(o, "haywire_tls_handshakes_total", "counter",
           "TLS handshakes, by how they ended.");
    samples_counts(o, "haywire_tls_handshakes_total", "result",
                   m->tls_handshakes, m->ntls_handshakes);
  }

  family(o, "haywire_http_requests_total", "counter",
         "Requests, by route and status code.");
  for (size_t i = 0; i < nroutes; i++) {
    const hw_metrics_route *r = &routes[i];
    hw_str name = route_name(r->prefix);

    for (size_t j = 0; j < COUNT(r->codes, r->ncodes); j++) {
      route_open(o, "haywire_http_requests_total", name);
      puts_(o, ",code=\"");
      put_u64(o, r->codes[j].code);
      put(o, "\"} ", 3);
      put_u64(o, r->codes[j].count);
      put(o, "\n", 1);
    }
    if (r->other_codes != 0) {
      route_open(o, "haywire_http_requests_total", name);
      puts_(o, ",code=\"other\"} ");
      put_u64(o, r->other_codes);
      put(o, "\n", 1);
    }
  }
  family(o, dur, "histogram",
         "Request durations, from the first byte read to the end of the "
         "response.");
  for (size_t i = 0; i < nroutes; i++) {
    const hw_metrics_route *r = &routes[i];
    hw_str name = route_name(r->prefix);
    uint64_t all = r->buckets != NULL ? r->buckets[nb] : 0;

    if (r->buckets != NULL)
      for (size_t j = 0; j < nb; j++) {
        route_open(o, "haywire_http_request_duration_seconds_bucket", name);
        puts_(o, ",le=\"");
        put(o, le[j].s, le[j].len);
        put(o, "\"} ", 3);
        put_u64(o, r->buckets[j]);
        put(o, "\n", 1);
      }
    route_open(o, "haywire_http_request_duration_seconds_bucket", name);
    puts_(o, ",le=\"+Inf\"} ");
    put_u64(o, all);
    put(o, "\n", 1);
    route_open(o, "haywire_http_request_duration_seconds_sum", name);
    put(o, "} ", 2);
    put_seconds_ns(o, r->duration_ns);
    put(o, "\n", 1);
    route_open(o, "haywire_http_request_duration_seconds_count", name);
    put(o, "} ", 2);
    put_u64(o, all);
    put(o, "\n", 1);
  }
  route_counter(o, "haywire_http_request_body_bytes_total",
                "Request body bytes received, by route.", routes, nroutes,
                offsetof(hw_metrics_route, request_body_bytes));
  route_counter(o, "haywire_http_response_body_bytes_total",
                "Response body bytes sent, by route.", routes, nroutes,
                offsetof(hw_metrics_route, response_body_bytes));

  family(o, "haywire_process_resident_memory_bytes", "gauge",
         "Resident memory of each server process, in bytes.");
  for (size_t i = 0; i < nprocs; i++) {
    puts_(o, "haywire_process_resident_memory_bytes{process=\"");
    put_process_label(o, &procs[i]);
    put(o, "\"} ", 3);
    put_u64(o, procs[i].resident_bytes);
    put(o, "\n", 1);
  }
  family(o, "haywire_process_open_fds", "gauge",
         "Open file descriptors of each server process.");
  for (size_t i = 0; i < nprocs; i++) {
    puts_(o, "haywire_process_open_fds{process=\"");
    put_process_label(o, &procs[i]);
    put(o, "\"} ", 3);
    put_u64(o, procs[i].open_fds);
    put(o, "\n", 1);
  }
}

/*
 * A first guess at the body's size, so that a large snapshot does not grow
 * the buffer a dozen times: roughly what a route and a process take in
 * each format (the text format repeats the route on each of its lines).
 */
static size_t size_guess(const hw_metrics *m, status_format fmt) {
  size_t nroutes = COUNT(m->routes, m->nroutes);
  size_t nb = COUNT(m->bounds, m->nbounds);
  size_t per_route = fmt == FORMAT_PROMETHEUS ? 512 + 96 * nb : 256 + 24 * nb;

  if (nroutes > (SIZE_MAX / 4 - 8192) / per_route)
    return 8192;
  return 8192 + nroutes * per_route +
         128 * COUNT(m->processes, m->nprocesses);
}

/* ------------------------------------------------------------------------
 * The request.
 */

/* ASCII case-insensitive search of `needle` (lower case) in `s`. */
static int contains_ci(hw_str s, const char *needle) {
  size_t n = strlen(needle);

  if (s.len < n)
    return 0;
  for (size_t i = 0; i + n <= s.len; i++) {
    size_t j = 0;

    while (j < n) {
      unsigned char c = (unsigned char)s.data[i + j];
      if (c >= 'A' && c <= 'Z')
        c = (unsigned char)(c - 'A' + 'a');
      if (c != (unsigned char)needle[j])
        break;
      j++;
    }
    if (j == n)
      return 1;
  }
  return 0;
}

static int str_eq(hw_str s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && (n == 0 || memcmp(s.data, lit, n) == 0);
}

/* Does any Accept field name a type of Prometheus's text formats?  Every
 * Accept field counts (a client may split the list over several), and the
 * host bounds how many fields a request has. */
static int accept_wants_text(const hw_host *host, const hw_request *req) {
  size_t n = host->header_count(req);

  for (size_t i = 0; i < n; i++) {
    hw_str name, value;

    if (host->header_at(req, i, &name, &value) != 0 || name.len != 6 ||
        !contains_ci(name, "accept"))
      continue;
    if (contains_ci(value, "text/plain") ||
        contains_ci(value, "application/openmetrics-text"))
      return 1;
  }
  return 0;
}

/*
 * The query's format: 1 and `*fmt` set when it names one, 0 when it has
 * none, -1 for any other value (a 400).  The first format= wins; other
 * keys are ignored (cache busters and the like).
 */
static int query_format(hw_str query, status_format *fmt) {
  const char *p = query.data, *end = p + query.len;

  if (query.len == 0)
    return 0;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pair_end = amp != NULL ? amp : end;
    hw_str key = {p, (size_t)(pair_end - p)};
    const char *eq = memchr(p, '=', key.len);

    if (eq != NULL)
      key.len = (size_t)(eq - p);
    if (str_eq(key, "format")) {
      hw_str v = {eq != NULL ? eq + 1 : pair_end, 0};
      v.len = (size_t)(pair_end - v.data);
      if (str_eq(v, "json")) {
        *fmt = FORMAT_JSON;
        return 1;
      }
      if (str_eq(v, "prometheus")) {
        *fmt = FORMAT_PROMETHEUS;
        return 1;
      }
      return -1;
    }
    p = amp != NULL ? amp + 1 : end;
  }
  return 0;
}

/* The fields every answer of this route has: the body depends on Accept,
 * and a snapshot is stale at once. */
static int common_fields(const hw_host *host, hw_response *res,
                         const char *content_type) {
  if (host->add_header(res, "Content-Type", 12, content_type,
                       strlen(content_type)) != 0 ||
      host->add_header(res, "Vary", 4, "Accept", 6) != 0 ||
      host->add_header(res, "Cache-Control", 13, "no-store", 8) != 0)
    return -1;
  return 0;
}

/* A short text answer: 400, 405, 503. */
static hw_handle_result answer_text(const hw_host *host, hw_response *res,
                                    int status, const char *body) {
  if (host->set_status(res, status) != 0 ||
      common_fields(host, res, CT_TEXT) != 0 ||
      host->write(res, body, strlen(body)) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static void free_body(void *p) { free(p); }

static hw_handle_result status_handle(void *state, hw_request *req,
                                      hw_response *res) {
  const status_state *st = state;
  const hw_host *host = st->host;
  hw_str method = host->method(req), rest = host->rest(req);
  status_format fmt = st->format;
  const hw_metrics *m;
  bound_text *le;
  size_t nb;
  out o = {NULL, 0, 0, 0};

  /* The route itself, or with a trailing '/'; anything below it is not
   * ours (the next shorter prefix may want it, else 404). */
  if (rest.len > 1 || (rest.len == 1 && rest.data[0] != '/'))
    return HW_DECLINED;
  /* HEAD is answered as GET: the host sends the head alone. */
  if (!str_eq(method, "GET") && !str_eq(method, "HEAD")) {
    if (host->add_header(res, "Allow", 5, "GET, HEAD", 9) != 0)
      return HW_ERROR;
    return answer_text(host, res, 405,
                       "status: only GET and HEAD are answered here\n");
  }
  switch (query_format(host->query(req), &fmt)) {
  case -1:
    return answer_text(host, res, 400,
                       "status: format must be \"prometheus\" or \"json\"\n");
  case 0:
    if (accept_wants_text(host, req))
      fmt = FORMAT_PROMETHEUS;
    break;
  default:
    break;
  }

  m = host->metrics(req);
  /* (A 1.4 host's snapshot ends at the processes: HAS_TLS says.) */
  if (m == NULL || m->size < offsetof(hw_metrics, tls_handshakes))
    return answer_text(host, res, 503,
                       "status: the server's counters are unavailable "
                       "(built with --disable-metrics, or out of memory)\n");

  nb = COUNT(m->bounds, m->nbounds);
  le = host->alloc(req, sizeof(*le) * (nb > 0 ? nb : 1));
  if (le == NULL)
    return HW_ERROR;
  for (size_t i = 0; i < nb; i++)
    le[i].len = format_double(le[i].s, sizeof(le[i].s), m->bounds[i]);

  reserve(&o, size_guess(m, fmt));
  if (fmt == FORMAT_PROMETHEUS)
    render_prometheus(&o, m, le);
  else
    render_json(&o, m, le);
  if (o.oom) {
    free(o.p);
    return HW_ERROR;
  }
  if (common_fields(host, res,
                    fmt == FORMAT_PROMETHEUS ? CT_PROM : CT_JSON) != 0) {
    free(o.p);
    return HW_ERROR;
  }
  /* The buffer is the host's until free_body runs (also when the call
   * fails): never free it here after this. */
  if (host->write_ref(res, o.p, o.len, free_body, o.p) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static int status_init(const hw_host *host, const char *config,
                       size_t config_len, void **state, char *err,
                       size_t err_len) {
  static const char *const keys[] = {"format", NULL};
  const hw_conf *conf;
  status_state *st;
  hw_str format = {"json", 4};
  int r;

  (void)config_len;
  /* A table long enough for `metrics` with the member unset is a host
   * that declares 1.4 without implementing it: refuse it the same way
   * rather than call through NULL on the first request. */
  if (!HW_HOST_HAS(host, metrics) || host->metrics == NULL) {
    snprintf(err, err_len,
             "status.so needs a host of ABI 1.4 or later (this one is %u.%u)",
             (unsigned)host->abi_major, (unsigned)host->abi_minor);
    return -1;
  }
  /* {"format": "json" | "prometheus"}, read with the host's accessors,
   * whose complaints name the route and the key. */
  conf = host->config(config);
  if (host->conf_keys(conf, keys, err, err_len) != 0)
    return -1;
  r = host->conf_string(conf, "format", &format, err, err_len);
  if (r != 0 && r != HW_ENOENT)
    return -1;
  if (!str_eq(format, "json") && !str_eq(format, "prometheus")) {
    host->conf_error(conf, "format", "expected \"json\" or \"prometheus\"",
                     err, err_len);
    return -1;
  }
  st = malloc(sizeof(*st));
  if (st == NULL) {
    snprintf(err, err_len, "status: out of memory");
    return -1;
  }
  st->host = host;
  st->format = str_eq(format, "prometheus") ? FORMAT_PROMETHEUS : FORMAT_JSON;
  *state = st;
  return 0;
}

static void status_fini(void *state) { free(state); }

HW_MODULE_DEFINE("status", "1.0", status_init, status_handle, status_fini);
