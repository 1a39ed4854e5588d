/*
 * test_status.c - unit tests of the status module (modules/status.c, the
 * source included here so that its rendering is tested without a server):
 * a fake host table hands it requests and a snapshot (hw_metrics) made up
 * here, and the tests read what it answers.  Both formats are compared
 * whole with the text they must be for one small snapshot; then the
 * edges: escaping in JSON (every byte >= 0x80 and every control byte as
 * \u00XX) and in Prometheus labels (\\, \", \n), the route names of the
 * host's empty and "*" prefixes, "other" codes, exact sums, a double that
 * is not finite, the format chosen by query, Accept and config, 400 for a
 * bad format, 405 with Allow, 503 without counters, paths below the route
 * declined, init's refusals (an older host, an unknown key, a bad format),
 * and the body handed over by reference and freed exactly once.  The
 * integration test tests/integration/metrics.py runs the module in the
 * server against the host's real counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../modules/status.c"

#include "tap.h"

/* ------------------------------------------------------------------------
 * The fake host.
 */

typedef struct field {
  const char *name, *value;
} field;

struct hw_request {
  const char *method, *query, *rest;
  const field *fields;
  size_t nfields;
  const hw_metrics *metrics;
  void *scratch[8];
  size_t nscratch;
};

struct hw_response {
  int status;
  char fields[1024]; /* "Name: value\n" each */
  char *body;
  size_t body_len;
  int refs, writes;
  hw_free_cb free_cb;
  void *free_arg;
  int fail_write_ref;
};

static hw_str cstr(const char *s) {
  hw_str r = {s, s != NULL ? strlen(s) : 0};
  return r;
}

static hw_str f_method(const hw_request *req) { return cstr(req->method); }
static hw_str f_query(const hw_request *req) { return cstr(req->query); }
static hw_str f_rest(const hw_request *req) { return cstr(req->rest); }
static size_t f_header_count(const hw_request *req) { return req->nfields; }
static int f_header_at(const hw_request *req, size_t i, hw_str *name,
                       hw_str *value) {
  if (i >= req->nfields)
    return HW_ENOENT;
  *name = cstr(req->fields[i].name);
  *value = cstr(req->fields[i].value);
  return 0;
}
static void *f_alloc(hw_request *req, size_t size) {
  if (req->nscratch == 8)
    return NULL;
  return req->scratch[req->nscratch++] = malloc(size);
}
static const hw_metrics *f_metrics(hw_request *req) { return req->metrics; }

static int f_set_status(hw_response *res, int status) {
  res->status = status;
  return 0;
}
static int f_add_header(hw_response *res, const char *name, size_t name_len,
                        const char *value, size_t value_len) {
  size_t n = strlen(res->fields);
  snprintf(res->fields + n, sizeof(res->fields) - n, "%.*s: %.*s\n",
           (int)name_len, name, (int)value_len, value);
  return 0;
}
static int f_write(hw_response *res, const void *data, size_t len) {
  res->writes++;
  res->body = malloc(len + 1);
  memcpy(res->body, data, len);
  res->body[len] = '\0';
  res->body_len = len;
  return 0;
}
/* As the host: the data is borrowed until free_cb runs, which it does
 * once, also when the call fails. */
static int f_write_ref(hw_response *res, const void *data, size_t len,
                       hw_free_cb free_cb, void *arg) {
  res->refs++;
  if (res->fail_write_ref) {
    if (free_cb != NULL)
      free_cb(arg);
    return HW_ENOMEM;
  }
  res->body = malloc(len + 1);
  memcpy(res->body, data, len);
  res->body[len] = '\0';
  res->body_len = len;
  res->free_cb = free_cb;
  res->free_arg = arg;
  return 0;
}

/* The route config: the fake keeps the one key the module knows, and an
 * unknown key's name when the test wants one. */
typedef struct fake_conf {
  const char *format;  /* NULL: absent */
  const char *unknown; /* a key that is not "format", or NULL */
  int format_not_string;
} fake_conf;
static fake_conf conf_now;

static const hw_conf *f_config(const char *config) {
  (void)config;
  return (const hw_conf *)&conf_now;
}
static int f_conf_keys(const hw_conf *v, const char *const *keys, char *err,
                       size_t err_len) {
  const fake_conf *c = (const fake_conf *)v;
  if (c->unknown == NULL)
    return 0;
  for (size_t i = 0; keys[i] != NULL; i++)
    if (strcmp(keys[i], c->unknown) == 0)
      return 0;
  snprintf(err, err_len, "routes[0].config: unknown key \"%s\"", c->unknown);
  return HW_EINVAL;
}
static int f_conf_string(const hw_conf *v, const char *path, hw_str *got,
                         char *err, size_t err_len) {
  const fake_conf *c = (const fake_conf *)v;
  if (strcmp(path, "format") != 0 || c->format == NULL)
    return HW_ENOENT;
  if (c->format_not_string) {
    snprintf(err, err_len,
             "routes[0].config.format: expected a string, not an integer");
    return HW_EINVAL;
  }
  *got = cstr(c->format);
  return 0;
}
static int f_conf_error(const hw_conf *v, const char *path, const char *what,
                        char *err, size_t err_len) {
  (void)v;
  snprintf(err, err_len, "routes[0].config.%s: %s", path, what);
  return HW_EINVAL;
}

static hw_host make_host(void) {
  hw_host h;
  memset(&h, 0, sizeof(h));
  h.abi_major = HW_ABI_MAJOR;
  h.abi_minor = HW_ABI_MINOR;
  h.size = sizeof(h);
  h.method = f_method;
  h.query = f_query;
  h.rest = f_rest;
  h.header_count = f_header_count;
  h.header_at = f_header_at;
  h.alloc = f_alloc;
  h.set_status = f_set_status;
  h.add_header = f_add_header;
  h.write = f_write;
  h.write_ref = f_write_ref;
  h.config = f_config;
  h.conf_keys = f_conf_keys;
  h.conf_string = f_conf_string;
  h.conf_error = f_conf_error;
  h.metrics = f_metrics;
  return h;
}

static hw_host host;

/* ------------------------------------------------------------------------
 * One small snapshot: two routes (the no-route series first, as the host
 * sorts them), three bounds, a master and a worker.
 */

static const double bounds[] = {0.0005, 1, 2.5};
static const hw_metrics_code none_codes[] = {{400, 2}, {404, 3}};
static const uint64_t none_buckets[] = {4, 5, 5, 5};
static const hw_metrics_code hello_codes[] = {{200, 7}};
static const uint64_t hello_buckets[] = {6, 8, 9, 9};
static const hw_metrics_route routes2[] = {
    {{"", 0}, 5, none_codes, 2, 0, none_buckets, 1500000, 0, 30},
    {{"/hello", 6}, 9, hello_codes, 1, 2, hello_buckets, 3000000001ull, 11,
     117},
};
static const hw_metrics_count reloads[] = {{"ok", 2}, {"failed", 1}};
static const hw_metrics_count restarts[] = {{"signal", 1}, {"exit", 0}};
static const hw_metrics_count timeouts[] = {{"keepalive", 4}, {"head", 1}};
static const hw_metrics_count handshakes[] = {
    {"full", 5}, {"resumed", 2}, {"failed", 1}};
static const hw_metrics_process procs[] = {
    {"master", 0, 100, 4096000, 9, 0},
    {"worker", 1, 101, 8192000, 12, 3},
};

static hw_metrics snapshot(void) {
  hw_metrics m;
  memset(&m, 0, sizeof(m));
  m.size = sizeof(m);
  m.version = "0.9.0";
  m.abi = "1.5";
  m.start_time = 1700000000.25;
  m.generation = 3;
  m.last_reload_time = 1700000100.5;
  m.generations_draining = 1;
  m.workers = 1;
  m.reloads = reloads;
  m.nreloads = 2;
  m.restarts = restarts;
  m.nrestarts = 2;
  m.connections_accepted = 42;
  m.connections_reading = 1;
  m.connections_writing = 2;
  m.connections_waiting = 3;
  m.accepts_paused = 0;
  m.timeouts = timeouts;
  m.ntimeouts = 2;
  m.bounds = bounds;
  m.nbounds = 3;
  m.routes = routes2;
  m.nroutes = 2;
  m.processes = procs;
  m.nprocesses = 2;
  m.tls_handshakes = handshakes;
  m.ntls_handshakes = 3;
  return m;
}

static const char want_json[] =
    "{\"version\":\"0.9.0\",\"abi\":\"1.5\",\"start_time\":1700000000.25,"
    "\"generation\":3,\"workers\":1,\"last_reload_time\":1700000100.5,"
    "\"generations_draining\":1,\"reloads\":{\"ok\":2,\"failed\":1},"
    "\"worker_restarts\":{\"signal\":1,\"exit\":0},"
    "\"connections\":{\"accepted\":42,\"reading\":1,\"writing\":2,"
    "\"waiting\":3,\"accepts_paused\":0,"
    "\"timeouts\":{\"keepalive\":4,\"head\":1}},"
    "\"tls_handshakes\":{\"full\":5,\"resumed\":2,\"failed\":1},"
    "\"routes\":["
    "{\"route\":\"(none)\",\"requests\":5,\"codes\":{\"400\":2,\"404\":3},"
    "\"duration_seconds\":{\"buckets\":{\"0.0005\":4,\"1\":5,\"2.5\":5,"
    "\"+Inf\":5},\"sum\":0.0015,\"count\":5},\"request_body_bytes\":0,"
    "\"response_body_bytes\":30},"
    "{\"route\":\"/hello\",\"requests\":9,\"codes\":{\"200\":7,\"other\":2},"
    "\"duration_seconds\":{\"buckets\":{\"0.0005\":6,\"1\":8,\"2.5\":9,"
    "\"+Inf\":9},\"sum\":3.000000001,\"count\":9},\"request_body_bytes\":11,"
    "\"response_body_bytes\":117}],"
    "\"processes\":["
    "{\"role\":\"master\",\"slot\":0,\"pid\":100,"
    "\"resident_memory_bytes\":4096000,\"open_fds\":9,\"generation\":0},"
    "{\"role\":\"worker\",\"slot\":1,\"pid\":101,"
    "\"resident_memory_bytes\":8192000,\"open_fds\":12,\"generation\":3}]}\n";

static const char want_prom[] =
    "# HELP haywire_build_info The server's version and module ABI (the "
    "value is always 1).\n"
    "# TYPE haywire_build_info gauge\n"
    "haywire_build_info{version=\"0.9.0\",abi=\"1.5\"} 1\n"
    "# HELP haywire_start_time_seconds When the server started, in Unix "
    "seconds.\n"
    "# TYPE haywire_start_time_seconds gauge\n"
    "haywire_start_time_seconds 1700000000.25\n"
    "# HELP haywire_workers Worker processes configured (0: a single process "
    "serves).\n"
    "# TYPE haywire_workers gauge\n"
    "haywire_workers 1\n"
    "# HELP haywire_generation The configuration generation serving new "
    "requests.\n"
    "# TYPE haywire_generation gauge\n"
    "haywire_generation 3\n"
    "# HELP haywire_reloads_total Reloads, by result.\n"
    "# TYPE haywire_reloads_total counter\n"
    "haywire_reloads_total{result=\"ok\"} 2\n"
    "haywire_reloads_total{result=\"failed\"} 1\n"
    "# HELP haywire_last_reload_success_timestamp_seconds When a reload last "
    "succeeded, in Unix seconds (0: none has).\n"
    "# TYPE haywire_last_reload_success_timestamp_seconds gauge\n"
    "haywire_last_reload_success_timestamp_seconds 1700000100.5\n"
    "# HELP haywire_generations_draining Retired generations not yet "
    "unloaded, over all workers.\n"
    "# TYPE haywire_generations_draining gauge\n"
    "haywire_generations_draining 1\n"
    "# HELP haywire_worker_restarts_total Workers restarted after they died, "
    "by cause.\n"
    "# TYPE haywire_worker_restarts_total counter\n"
    "haywire_worker_restarts_total{cause=\"signal\"} 1\n"
    "haywire_worker_restarts_total{cause=\"exit\"} 0\n"
    "# HELP haywire_connections_accepted_total Connections accepted.\n"
    "# TYPE haywire_connections_accepted_total counter\n"
    "haywire_connections_accepted_total 42\n"
    "# HELP haywire_connections Open connections by state (each worker "
    "counts them twice a second).\n"
    "# TYPE haywire_connections gauge\n"
    "haywire_connections{state=\"reading\"} 1\n"
    "haywire_connections{state=\"writing\"} 2\n"
    "haywire_connections{state=\"waiting\"} 3\n"
    "# HELP haywire_accepts_paused_total Times a worker stopped accepting at "
    "limits.connections.\n"
    "# TYPE haywire_accepts_paused_total counter\n"
    "haywire_accepts_paused_total 0\n"
    "# HELP haywire_connection_timeouts_total Connections closed by a "
    "timeout, by kind.\n"
    "# TYPE haywire_connection_timeouts_total counter\n"
    "haywire_connection_timeouts_total{kind=\"keepalive\"} 4\n"
    "haywire_connection_timeouts_total{kind=\"head\"} 1\n"
    "# HELP haywire_tls_handshakes_total TLS handshakes, by how they ended.\n"
    "# TYPE haywire_tls_handshakes_total counter\n"
    "haywire_tls_handshakes_total{result=\"full\"} 5\n"
    "haywire_tls_handshakes_total{result=\"resumed\"} 2\n"
    "haywire_tls_handshakes_total{result=\"failed\"} 1\n"
    "# HELP haywire_http_requests_total Requests, by route and status code.\n"
    "# TYPE haywire_http_requests_total counter\n"
    "haywire_http_requests_total{route=\"(none)\",code=\"400\"} 2\n"
    "haywire_http_requests_total{route=\"(none)\",code=\"404\"} 3\n"
    "haywire_http_requests_total{route=\"/hello\",code=\"200\"} 7\n"
    "haywire_http_requests_total{route=\"/hello\",code=\"other\"} 2\n"
    "# HELP haywire_http_request_duration_seconds Request durations, from "
    "the first byte read to the end of the response.\n"
    "# TYPE haywire_http_request_duration_seconds histogram\n"
    "haywire_http_request_duration_seconds_bucket{route=\"(none)\","
    "le=\"0.0005\"} 4\n"
    "haywire_http_request_duration_seconds_bucket{route=\"(none)\",le=\"1\"} "
    "5\n"
    "haywire_http_request_duration_seconds_bucket{route=\"(none)\","
    "le=\"2.5\"} 5\n"
    "haywire_http_request_duration_seconds_bucket{route=\"(none)\","
    "le=\"+Inf\"} 5\n"
    "haywire_http_request_duration_seconds_sum{route=\"(none)\"} 0.0015\n"
    "haywire_http_request_duration_seconds_count{route=\"(none)\"} 5\n"
    "haywire_http_request_duration_seconds_bucket{route=\"/hello\","
    "le=\"0.0005\"} 6\n"
    "haywire_http_request_duration_seconds_bucket{route=\"/hello\",le=\"1\"} "
    "8\n"
    "haywire_http_request_duration_seconds_bucket{route=\"/hello\","
    "le=\"2.5\"} 9\n"
    "haywire_http_request_duration_seconds_bucket{route=\"/hello\","
    "le=\"+Inf\"} 9\n"
    "haywire_http_request_duration_seconds_sum{route=\"/hello\"} "
    "3.000000001\n"
    "haywire_http_request_duration_seconds_count{route=\"/hello\"} 9\n"
    "# HELP haywire_http_request_body_bytes_total Request body bytes "
    "received, by route.\n"
    "# TYPE haywire_http_request_body_bytes_total counter\n"
    "haywire_http_request_body_bytes_total{route=\"(none)\"} 0\n"
    "haywire_http_request_body_bytes_total{route=\"/hello\"} 11\n"
    "# HELP haywire_http_response_body_bytes_total Response body bytes sent, "
    "by route.\n"
    "# TYPE haywire_http_response_body_bytes_total counter\n"
    "haywire_http_response_body_bytes_total{route=\"(none)\"} 30\n"
    "haywire_http_response_body_bytes_total{route=\"/hello\"} 117\n"
    "# HELP haywire_process_resident_memory_bytes Resident memory of each "
    "server process, in bytes.\n"
    "# TYPE haywire_process_resident_memory_bytes gauge\n"
    "haywire_process_resident_memory_bytes{process=\"master\"} 4096000\n"
    "haywire_process_resident_memory_bytes{process=\"worker-1\"} 8192000\n"
    "# HELP haywire_process_open_fds Open file descriptors of each server "
    "process.\n"
    "# TYPE haywire_process_open_fds gauge\n"
    "haywire_process_open_fds{process=\"master\"} 9\n"
    "haywire_process_open_fds{process=\"worker-1\"} 12\n";

/* ------------------------------------------------------------------------
 * Running a request.
 */

typedef struct call {
  hw_handle_result r;
  hw_response res;
} call;

/* Handles one request on `state`; the response's body is copied out and
 * the module's buffer freed as the host would. */
static call run(void *state, const char *method, const char *query,
                const char *rest, const field *fields, size_t nfields,
                const hw_metrics *m) {
  hw_request req;
  call c;

  memset(&req, 0, sizeof(req));
  memset(&c, 0, sizeof(c));
  req.method = method;
  req.query = query;
  req.rest = rest;
  req.fields = fields;
  req.nfields = nfields;
  req.metrics = m;
  c.r = status_handle(state, &req, &c.res);
  if (c.res.free_cb != NULL)
    c.res.free_cb(c.res.free_arg);
  for (size_t i = 0; i < req.nscratch; i++)
    free(req.scratch[i]);
  return c;
}

static void done(call *c) { free(c->res.body); }

static void *init_with(fake_conf conf, char *err, size_t err_len, int *rc) {
  void *state = NULL;
  conf_now = conf;
  err[0] = '\0';
  *rc = status_init(&host, "{}", 2, &state, err, err_len);
  return *rc == 0 ? state : NULL;
}

static int has_field(const call *c, const char *line) {
  return strstr(c->res.fields, line) != NULL;
}

/* ------------------------------------------------------------------------ */

static void test_init(void) {
  char err[256];
  int rc;
  void *st;
  hw_host old = make_host();
  fake_conf none = {NULL, NULL, 0};

  old.size = offsetof(hw_host, metrics);
  old.abi_minor = 3;
  conf_now = none;
  err[0] = '\0';
  st = NULL;
  rc = status_init(&old, "{}", 2, &st, err, sizeof(err));
  ok(rc != 0 && st == NULL, "init refuses a host without metrics");
  is_str(err, "status.so needs a host of ABI 1.4 or later (this one is 1.3)",
         "with a one-line reason");

  old = make_host();
  old.metrics = NULL;
  st = NULL;
  rc = status_init(&old, "{}", 2, &st, err, sizeof(err));
  ok(rc != 0 && st == NULL,
     "init refuses a 1.4 table whose metrics member is NULL");

  st = init_with(none, err, sizeof(err), &rc);
  ok(rc == 0 && st != NULL && ((status_state *)st)->format == FORMAT_JSON,
     "no config: JSON by default");
  status_fini(st);
  st = init_with((fake_conf){"prometheus", NULL, 0}, err, sizeof(err), &rc);
  ok(rc == 0 && st != NULL &&
         ((status_state *)st)->format == FORMAT_PROMETHEUS,
     "format \"prometheus\" in the config");
  status_fini(st);
  st = init_with((fake_conf){"json", NULL, 0}, err, sizeof(err), &rc);
  ok(rc == 0 && st != NULL && ((status_state *)st)->format == FORMAT_JSON,
     "format \"json\" in the config");
  status_fini(st);

  st = init_with((fake_conf){"xml", NULL, 0}, err, sizeof(err), &rc);
  ok(rc != 0 && st == NULL, "format \"xml\" is an init error");
  is_str(err, "routes[0].config.format: expected \"json\" or \"prometheus\"",
         "naming the key and the accepted values");
  st = init_with((fake_conf){"JSON", NULL, 0}, err, sizeof(err), &rc);
  ok(rc != 0 && st == NULL, "values are exact (\"JSON\" is refused)");
  st = init_with((fake_conf){"json", NULL, 1}, err, sizeof(err), &rc);
  ok(rc != 0 && st == NULL, "a format that is no string is an init error");
  is_str(err, "routes[0].config.format: expected a string, not an integer",
         "with the host's message");
  st = init_with((fake_conf){NULL, "fromat", 0}, err, sizeof(err), &rc);
  ok(rc != 0 && st == NULL, "an unknown key is an init error");
  is_str(err, "routes[0].config: unknown key \"fromat\"",
         "with the host's message naming it");
}

static void test_golden(void) {
  char err[256];
  int rc;
  void *st = init_with((fake_conf){NULL, NULL, 0}, err, sizeof(err), &rc);
  hw_metrics m = snapshot();
  call c;

  c = run(st, "GET", "", "", NULL, 0, &m);
  is_int(c.r, HW_HANDLED, "GET: handled");
  is_int(c.res.status, 0, "with the default status (200)");
  is_str(c.res.body, want_json, "the JSON of the snapshot, byte for byte");
  ok(has_field(&c, "Content-Type: application/json\n"),
     "Content-Type: application/json");
  ok(has_field(&c, "Vary: Accept\n"), "Vary: Accept");
  ok(has_field(&c, "Cache-Control: no-store\n"), "Cache-Control: no-store");
  is_int(c.res.refs, 1, "the body is handed over by reference, once");
  done(&c);

  c = run(st, "GET", "format=prometheus", "", NULL, 0, &m);
  is_str(c.res.body, want_prom, "the Prometheus text, byte for byte");
  ok(has_field(&c, "Content-Type: text/plain; version=0.0.4; "
                   "charset=utf-8\n"),
     "Content-Type of the text format 0.0.4");
  ok(has_field(&c, "Vary: Accept\n") &&
         has_field(&c, "Cache-Control: no-store\n"),
     "Vary and Cache-Control there too");
  done(&c);

  c = run(st, "HEAD", "", "/", NULL, 0, &m);
  is_int(c.r, HW_HANDLED, "HEAD (and a trailing '/'): handled");
  is_str(c.res.body, want_json,
         "the same body as GET (its length is the head's; the host drops it)");
  done(&c);
  status_fini(st);
}

static void test_formats(void) {
  static const char prom_accept[] =
      "application/openmetrics-text;version=1.0.0,application/"
      "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
      "*/*;q=0.1";
  char err[256];
  int rc;
  void *js = init_with((fake_conf){NULL, NULL, 0}, err, sizeof(err), &rc);
  void *ps =
      init_with((fake_conf){"prometheus", NULL, 0}, err, sizeof(err), &rc);
  hw_metrics m = snapshot();
  const field prom[] = {{"Host", "x"}, {"Accept", prom_accept}};
  const field plain[] = {{"ACCEPT", "Text/Plain"}};
  const field second[] = {{"Accept", "application/json"},
                          {"accept", "application/openmetrics-text"}};
  const field browser[] = {
      {"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}};
  const field accepts[] = {{"Accepts", "text/plain"}};
  call c;

#define FORMAT_IS(state, q, f, n, want, name)                                  \
  do {                                                                         \
    c = run(state, "GET", q, "", f, n, &m);                                    \
    is_str(c.res.body, want, name);                                            \
    done(&c);                                                                  \
  } while (0)

  FORMAT_IS(js, "", prom, 2, want_prom, "Prometheus's Accept: text format");
  FORMAT_IS(js, "", plain, 1, want_prom,
            "Accept: Text/Plain (any case, field name too): text format");
  FORMAT_IS(js, "", second, 2, want_prom,
            "a second Accept field counts as well");
  FORMAT_IS(js, "", browser, 1, want_json, "a browser's Accept: the default");
  FORMAT_IS(js, "", accepts, 1, want_json, "a field named Accepts is not one");
  FORMAT_IS(js, "format=json", prom, 2, want_json,
            "format=json beats Prometheus's Accept");
  FORMAT_IS(ps, "", NULL, 0, want_prom, "config \"prometheus\": the default");
  FORMAT_IS(ps, "format=json", NULL, 0, want_json,
            "format=json beats the config");
  FORMAT_IS(js, "a=1&format=prometheus&format=json", NULL, 0, want_prom,
            "among other keys, the first format= wins");
  FORMAT_IS(js, "xformat=prometheus&formats=1", NULL, 0, want_json,
            "keys that only contain \"format\" are ignored");

  {
    static const char *const bad[] = {"format=xml", "format=", "format",
                                      "format=JSON", "x=1&format=json2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      c = run(js, "GET", bad[i], "", NULL, 0, &m);
      ok(c.r == HW_HANDLED && c.res.status == 400 && c.res.body != NULL &&
             strcmp(c.res.body, "status: format must be \"prometheus\" or "
                                "\"json\"\n") == 0,
         "?%s: 400 naming the accepted values", bad[i]);
      done(&c);
    }
  }
  status_fini(js);
  status_fini(ps);
}

static void test_refusals(void) {
  char err[256];
  int rc;
  void *st = init_with((fake_conf){NULL, NULL, 0}, err, sizeof(err), &rc);
  hw_metrics m = snapshot();
  call c;

  c = run(st, "POST", "", "", NULL, 0, &m);
  ok(c.r == HW_HANDLED && c.res.status == 405, "POST: 405");
  ok(has_field(&c, "Allow: GET, HEAD\n"), "with Allow: GET, HEAD");
  ok(c.res.body != NULL && strchr(c.res.body, '\n') ==
                               c.res.body + c.res.body_len - 1,
     "and a one-line body");
  done(&c);
  c = run(st, "get", "", "", NULL, 0, &m);
  ok(c.r == HW_HANDLED && c.res.status == 405,
     "methods are case-sensitive: \"get\" gets 405");
  done(&c);

  c = run(st, "GET", "", "", NULL, 0, NULL);
  ok(c.r == HW_HANDLED && c.res.status == 503, "no counters: 503");
  ok(c.res.body != NULL && strstr(c.res.body, "unavailable") != NULL &&
         strstr(c.res.body, "--disable-metrics") != NULL,
     "saying they are unavailable, and why they may be");
  ok(has_field(&c, "Content-Type: text/plain; charset=utf-8\n"),
     "as text/plain");
  done(&c);
  m.size = offsetof(hw_metrics, processes);
  c = run(st, "GET", "", "", NULL, 0, &m);
  ok(c.r == HW_HANDLED && c.res.status == 503,
     "a snapshot smaller than ABI 1.4's: 503 too");
  done(&c);
  /* A 1.4 host's snapshot ends before the TLS handshakes. */
  m = snapshot();
  m.size = offsetof(hw_metrics, tls_handshakes);
  c = run(st, "GET", "", "", NULL, 0, &m);
  ok(c.r == HW_HANDLED && c.res.body != NULL &&
         strstr(c.res.body, "\"tls_handshakes\":{},") != NULL,
     "a 1.4 snapshot: tls_handshakes is empty, never read past its size");
  done(&c);
  c = run(st, "GET", "format=prometheus", "", NULL, 0, &m);
  ok(c.r == HW_HANDLED && c.res.body != NULL &&
         strstr(c.res.body, "haywire_build_info") != NULL &&
         strstr(c.res.body, "haywire_tls_handshakes") == NULL,
     "and Prometheus has no haywire_tls_handshakes_total family");
  done(&c);

  m = snapshot();
  c = run(st, "GET", "", "/x", NULL, 0, &m);
  is_int(c.r, HW_DECLINED, "a path below the route is declined");
  done(&c);
  c = run(st, "GET", "", "//", NULL, 0, &m);
  is_int(c.r, HW_DECLINED, "so is \"//\"");
  done(&c);

  {
    hw_request req;
    hw_response res;

    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    req.method = "GET";
    req.metrics = &m;
    res.fail_write_ref = 1;
    /* The fake host runs the free callback of a failed write_ref, as the
     * host does: the module must not free the body a second time (an
     * ASan build of this test would see it). */
    ok(status_handle(st, &req, &res) == HW_ERROR,
       "a failing write_ref: HW_ERROR");
    is_int(res.refs, 1, "after exactly one write_ref");
    for (size_t i = 0; i < req.nscratch; i++)
      free(req.scratch[i]);
  }
  status_fini(st);
}

/* Well-formed UTF-8 with no control byte but newlines. */
static int valid_text(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t k = 1;
    if (u[i] >= 0x80 && (k = utf8_len(u + i, n - i)) == 0)
      return 0;
    if ((u[i] < 0x20 && u[i] != '\n') || u[i] == 0x7f)
      return 0;
    i += k;
  }
  return 1;
}

static void test_doubles(void) {
  static const struct {
    double d;
    const char *want;
  } cases[] = {
      {0.0005, "0.0005"}, {0.001, "0.001"},   {0.0025, "0.0025"},
      {1, "1"},           {2.5, "2.5"},       {10, "10"},
      {0, "0"},           {0.1, "0.1"},       {1e-05, "1e-05"},
      {1.5e-7, "1.5e-07"}, {100000, "100000"}, {1e17, "1e+17"},
      {1700000000.25, "1700000000.25"},       {1795961016.4043324,
                                               "1795961016.4043324"},
      {-3.75, "-3.75"},   {0.3, "0.3"},       {1.0 / 3, "0.3333333333333333"},
  };
  char buf[40];

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t n = format_double(buf, sizeof(buf), cases[i].d);
    ok(n == strlen(cases[i].want) && strcmp(buf, cases[i].want) == 0,
       "%s is written %s (got %s)", cases[i].want, cases[i].want, buf);
    ok(strtod(buf, NULL) == cases[i].d, "%s reads back the same", buf);
  }
}

static void test_edges(void) {
  char err[256];
  int rc;
  void *st = init_with((fake_conf){NULL, NULL, 0}, err, sizeof(err), &rc);
  hw_metrics m = snapshot();
  static const char odd[] = "/a\"b\\c\nd\x01\xc3\xa9\x7f\xff\xc0\xaf";
  static const uint64_t b[] = {0, 0, 0, 1};
  static const uint64_t b0[] = {0, 0, 0, 0};
  hw_metrics_route r[3];
  hw_metrics_process p[1] = {{"single", 0, 7, 1, 2, 1}};
  hw_metrics_count nc[1] = {{"we\"ird\\", 1}};
  call c;

  memset(r, 0, sizeof(r));
  r[0].prefix.data = "*";
  r[0].prefix.len = 1;
  r[0].requests = 1;
  r[0].other_codes = 1;
  r[0].buckets = b;
  r[0].duration_ns = 1;
  r[1].prefix.data = odd;
  r[1].prefix.len = sizeof(odd) - 1;
  r[1].buckets = b0;
  r[2].prefix.data = "/z";
  r[2].prefix.len = 2;
  r[2].buckets = b0;
  r[2].duration_ns = 12000000000ull;
  m.routes = r;
  m.nroutes = 3;
  m.processes = p;
  m.nprocesses = 1;
  m.start_time = 0.0 / 0.0;
  m.last_reload_time = 1.0 / 0.0;
  m.reloads = nc;
  m.nreloads = 1;
  m.timeouts = NULL;
  m.ntimeouts = 5; /* a NULL array is empty whatever its count says */

  c = run(st, "GET", "", "", NULL, 0, &m);
  contains(c.res.body, "{\"route\":\"(other)\",\"requests\":1,"
                       "\"codes\":{\"other\":1},",
           "JSON: \"*\" is the route (other), its codes only \"other\"");
  contains(c.res.body,
           "{\"route\":\"/a\\\"b\\\\c\\u000ad\\u0001\xc3\xa9\\u007f"
           "\\u00ff\\u00c0\\u00af\"",
           "JSON: quotes, backslashes, control bytes, DEL and each byte that "
           "is not UTF-8 (an overlong form too) escaped, UTF-8 kept");
  contains(c.res.body, "\"codes\":{},", "JSON: a route without requests has "
                                        "empty codes (no \"other\": 0)");
  contains(c.res.body, "\"sum\":0.000000001,",
           "JSON: a sum of 1 ns is exact");
  contains(c.res.body, "\"sum\":12,", "JSON: a whole sum has no fraction");
  contains(c.res.body, "\"start_time\":0,",
           "JSON: NaN is written 0 (JSON has no NaN)");
  contains(c.res.body, "\"last_reload_time\":0,", "and so is an infinity");
  contains(c.res.body, "\"reloads\":{\"we\\\"ird\\\\\":1}",
           "JSON: a count's name is escaped");
  contains(c.res.body, "\"timeouts\":{}}", "a NULL array is read as empty");
  contains(c.res.body,
           "{\"role\":\"single\",\"slot\":0,\"pid\":7,"
           "\"resident_memory_bytes\":1,\"open_fds\":2,\"generation\":1}",
           "JSON: the single process");
  ok(valid_text(c.res.body, c.res.body_len),
     "JSON: UTF-8 without a control byte but its last newline");
  done(&c);

  c = run(st, "GET", "format=prometheus", "", NULL, 0, &m);
  contains(c.res.body,
           "haywire_http_requests_total{route=\"(other)\",code=\"other\"} 1\n",
           "text: code=\"other\" for the route (other)");
  contains(c.res.body,
           "haywire_http_request_duration_seconds_bucket{route=\"/a\\\"b\\\\c"
           "\\nd\x01\xc3\xa9\x7f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
           "le=\"+Inf\"} 0\n",
           "text: a label escapes \\, \" and newline, keeps UTF-8, makes "
           "each byte that is not UTF-8 U+FFFD");
  contains(c.res.body,
           "haywire_http_request_duration_seconds_sum{route=\"(other)\"} "
           "0.000000001\n",
           "text: the sum in seconds, exact");
  contains(c.res.body,
           "haywire_http_request_duration_seconds_sum{route=\"/z\"} 12\n",
           "text: a whole sum");
  contains(c.res.body, "haywire_start_time_seconds 0\n",
           "text: NaN written 0");
  contains(c.res.body, "haywire_reloads_total{result=\"we\\\"ird\\\\\"} 1\n",
           "text: a count's name escaped");
  contains(c.res.body,
           "# TYPE haywire_connection_timeouts_total counter\n# HELP "
           "haywire_tls_handshakes_total",
           "text: a family without samples keeps its HELP and TYPE");
  contains(c.res.body,
           "haywire_process_resident_memory_bytes{process=\"single\"} 1\n",
           "text: process=\"single\"");
  ok(strstr(c.res.body, "route=\"/a\\\"b\\\\c\\nd\x01\xc3\xa9\x7f\xef\xbf"
                        "\xbd\xef\xbf\xbd\xef\xbf\xbd\",code=") == NULL,
     "text: no requests_total line for a route without requests");
  done(&c);
  status_fini(st);
}

/* Many routes: the buffer grows past its guess and the text stays whole
 * (the line count is exact). */
static void test_large(void) {
  enum { N = 1000 };
  static const uint64_t b[] = {1, 2, 3, 3};
  static const hw_metrics_code codes[] = {{200, 2}, {404, 1}};
  static char names[N][16];
  static hw_metrics_route r[N];
  char err[256];
  int rc;
  void *st = init_with((fake_conf){NULL, NULL, 0}, err, sizeof(err), &rc);
  hw_metrics m = snapshot();
  size_t lines = 0, want;
  call c;

  for (int i = 0; i < N; i++) {
    int n = snprintf(names[i], sizeof(names[i]), "/r%d", i);
    memset(&r[i], 0, sizeof(r[i]));
    r[i].prefix.data = names[i];
    r[i].prefix.len = (size_t)n;
    r[i].requests = 3;
    r[i].codes = codes;
    r[i].ncodes = 2;
    r[i].buckets = b;
    r[i].duration_ns = 1000;
  }
  m.routes = r;
  m.nroutes = N;
  c = run(st, "GET", "format=prometheus", "", NULL, 0, &m);
  for (size_t i = 0; i < c.res.body_len; i++)
    lines += c.res.body[i] == '\n';
  /* The golden text less its two routes' 20 lines (4 of requests_total,
   * 6 of histogram each, 2 of body bytes each), plus 10 lines a route
   * here: 2 codes, 3 buckets and +Inf, sum, count, 2 body counters. */
  want = (size_t)N * 10 - 20;
  for (size_t i = 0; want_prom[i] != '\0'; i++)
    want += want_prom[i] == '\n';
  is_int(lines, want, "1,000 routes: every line is there");
  ok(c.res.body_len > 0 && c.res.body[c.res.body_len - 1] == '\n',
     "ending with a newline");
  contains(c.res.body,
           "haywire_http_response_body_bytes_total{route=\"/r999\"} 0\n",
           "the last route's last line");
  done(&c);
  status_fini(st);
}

int main(void) {
  host = make_host();
  test_init();
  test_golden();
  test_formats();
  test_refusals();
  test_doubles();
  test_edges();
  test_large();
  return done_testing();
}
