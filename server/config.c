/*
 * config.c - reads routes.json into a plain hw__config and validates it
 * strictly.  This is the only unit that includes jansson: nothing of jansson
 * crosses into the rest of the server or into modules (a route's "config"
 * leaves here as JSON text), so the JSON library can be swapped by touching
 * this file alone.
 *
 * Every error is one line of the form "<file>: <key>: <reason>", naming the
 * key as a path such as routes[2].module, because the user has to find the
 * mistake in the file from that line alone.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <uv.h>

#include "buf.h"
#include "config.h"
#include "haywire.h"
#include "listen.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_LIMIT_BODY (1024 * 1024)
#define DEFAULT_LIMIT_REQUEST_LINE 8192
#define DEFAULT_LIMIT_HEADER_BYTES 16384
#define DEFAULT_LIMIT_HEADERS 100
#define DEFAULT_LIMIT_CONNECTIONS 10000
#define DEFAULT_LIMIT_BACKLOG 4096
#define DEFAULT_LIMIT_BODY_MIN_RATE 500

/* The integer keys of "limits": where each is stored and what it counts
 * (named in the error message). */
static const struct limit_key {
  const char *name;
  size_t offset;
  const char *unit;
} limit_keys[] = {
    {"body", offsetof(hw__config, limit_body), "bytes"},
    {"request_line", offsetof(hw__config, limit_request_line), "bytes"},
    {"header_bytes", offsetof(hw__config, limit_header_bytes), "bytes"},
    {"headers", offsetof(hw__config, limit_headers), "header fields"},
    {"connections", offsetof(hw__config, limit_connections), "connections"},
    {"backlog", offsetof(hw__config, limit_backlog), "connections"},
    {"body_min_rate", offsetof(hw__config, limit_body_min_rate),
     "bytes per second, 0 for none"},
};

static int fail(char *err, size_t err_len, const char *path, const char *key,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t err_len, const char *path, const char *key,
                const char *fmt, ...) {
  va_list ap;
  int n = snprintf(err, err_len, "%s: %s: ", path, key);
  if (n < 0 || (size_t)n >= err_len)
    return UV_EINVAL;
  va_start(ap, fmt);
  vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
  va_end(ap);
  return UV_EINVAL;
}

static const char *json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "unknown";
}

int hw__config_set_listen(hw__config *cfg, const hw__config_listen *l,
                          size_t n) {
  hw__config_listen *copy = calloc(n ? n : 1, sizeof(*copy));
  if (copy == NULL)
    return UV_ENOMEM;
  memcpy(copy, l, n * sizeof(*copy));
  free(cfg->listen);
  cfg->listen = copy;
  cfg->nlisten = n;
  return 0;
}

/* A prefix is the start of a path on a segment boundary: it begins with '/',
 * and has no query, fragment, empty segment or trailing '/' (so "/api" and
 * "/api/" cannot be two different routes for the same requests). */
static const char *prefix_problem(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || p[0] != '/')
    return "must start with '/'";
  if (n > 1 && p[n - 1] == '/')
    return "must not end with '/'";
  if (strstr(p, "//") != NULL)
    return "must not contain an empty segment (\"//\")";
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch <= 0x20 || ch == 0x7f || ch == '?' || ch == '#')
      return "must not contain spaces, control characters, '?' or '#'";
  }
  return NULL;
}

static char *path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (p == NULL)
    return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  char *d;
  if (slash == NULL)
    return strdup(".");
  if (slash == path)
    return strdup("/");
  d = malloc((size_t)(slash - path) + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, path, (size_t)(slash - path));
  d[slash - path] = '\0';
  return d;
}

static int parse_limits(json_t *v, hw__config *cfg, const char *path, char *err,
                        size_t err_len) {
  const char *k;
  json_t *x;

  if (!json_is_object(v))
    return fail(err, err_len, path, "limits", "must be an object, not %s",
                json_type_name(v));
  json_object_foreach(v, k, x) {
    const struct limit_key *lk = NULL;
    char key[160];

    for (size_t i = 0; i < sizeof(limit_keys) / sizeof(limit_keys[0]); i++)
      if (strcmp(k, limit_keys[i].name) == 0)
        lk = &limit_keys[i];
    snprintf(key, sizeof(key), "limits.%s", k);
    if (lk == NULL)
      return fail(err, err_len, path, key, "unknown key");
    if (!json_is_integer(x) || json_integer_value(x) < 0)
      return fail(err, err_len, path, key,
                  "must be a non-negative integer (%s)", lk->unit);
    *(size_t *)((char *)cfg + lk->offset) = (size_t)json_integer_value(x);
  }
  return 0;
}

/* timeouts_ms keys, their defaults (milliseconds) and where they go. */
static const struct timeout_key {
  const char *name;
  size_t offset;
  uint64_t dflt;
} timeout_keys[] = {
    {"head", offsetof(hw__config, timeout_head_ms), 10000},
    {"body_idle", offsetof(hw__config, timeout_body_idle_ms), 30000},
    {"keepalive", offsetof(hw__config, timeout_keepalive_ms), 5000},
    {"write", offsetof(hw__config, timeout_write_ms), 30000},
    {"drain", offsetof(hw__config, drain_ms), 30000},
};

static int parse_timeouts(json_t *v, hw__config *cfg, const char *path,
                          char *err, size_t err_len) {
  const char *k;
  json_t *x;
  char key[160];

  if (!json_is_object(v))
    return fail(err, err_len, path, "timeouts_ms", "must be an object, not %s",
                json_type_name(v));
  json_object_foreach(v, k, x) {
    const struct timeout_key *tk = NULL;
    for (size_t i = 0; i < sizeof(timeout_keys) / sizeof(timeout_keys[0]); i++)
      if (strcmp(k, timeout_keys[i].name) == 0)
        tk = &timeout_keys[i];
    snprintf(key, sizeof(key), "timeouts_ms.%s", k);
    if (tk == NULL)
      return fail(err, err_len, path, key, "unknown key");
    /* Zero would close every connection at once: at least a millisecond. */
    if (!json_is_integer(x) || json_integer_value(x) < 1 ||
        json_integer_value(x) > 24 * 3600 * 1000)
      return fail(err, err_len, path, key,
                  "must be an integer from 1 to 86400000 (milliseconds)");
    *(uint64_t *)((char *)cfg + tk->offset) = (uint64_t)json_integer_value(x);
  }
  return 0;
}

/* A file named in the config (pid_file, an access log's path): relative
 * to the config file's directory, so that `haywire -s` run from anywhere
 * with the same -c finds it; made absolute when `absolute` is set, so
 * that the master's snapshot (elsewhere) names the same file. */
static int resolve(const char *name, const char *path, int absolute,
                   char **out) {
  char *base, cwd[4096];
  if (name[0] == '/')
    return (*out = strdup(name)) == NULL ? UV_ENOMEM : 0;
  if ((base = dir_of(path)) == NULL)
    return UV_ENOMEM;
  if (absolute && base[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
    char *b = path_join(cwd, base);
    free(base);
    if ((base = b) == NULL)
      return UV_ENOMEM;
  }
  *out = path_join(base, name);
  free(base);
  return *out == NULL ? UV_ENOMEM : 0;
}

static int parse_pid_file(json_t *v, const char *path, char **out, char *err,
                          size_t err_len) {
  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      strlen(json_string_value(v)) != json_string_length(v))
    return fail(err, err_len, path, "pid_file",
                "must be a non-empty string (a file path)");
  return resolve(json_string_value(v), path, 0, out);
}

/* "access_log" (`key`: "access_log" or "routes[N].access_log"): false, or
 * {"path": "...", "format": "combined" | "json"}. */
static int parse_access_log(json_t *v, const char *key, const char *path,
                            hw__config_alog *out, char *err, size_t err_len) {
  const char *k, *fmt = "combined";
  json_t *x, *file = NULL;
  char sub[224];

  if (json_is_false(v)) {
    out->mode = HW__ALOG_OFF;
    return 0;
  }
  if (!json_is_object(v))
    return fail(err, err_len, path, key,
                "must be false or {\"path\": ..., \"format\": ...}, not %s",
                json_type_name(v));
  json_object_foreach(v, k, x) {
    snprintf(sub, sizeof(sub), "%s.%s", key, k);
    if (strcmp(k, "path") == 0 && json_is_string(x) &&
        json_string_length(x) > 0 &&
        strlen(json_string_value(x)) == json_string_length(x))
      file = x;
    else if (strcmp(k, "path") == 0)
      return fail(err, err_len, path, sub,
                  "must be a non-empty string (a file path)");
    else if (strcmp(k, "format") == 0 && json_is_string(x) &&
             (strcmp(json_string_value(x), "combined") == 0 ||
              strcmp(json_string_value(x), "json") == 0))
      fmt = json_string_value(x);
    else if (strcmp(k, "format") == 0)
      return fail(err, err_len, path, sub, "must be \"combined\" or \"json\"");
    else
      return fail(err, err_len, path, sub, "unknown key");
  }
  snprintf(sub, sizeof(sub), "%s.path", key);
  if (file == NULL)
    return fail(err, err_len, path, sub, "missing");
  out->mode = HW__ALOG_ON;
  out->json = strcmp(fmt, "json") == 0;
  return resolve(json_string_value(file), path, 1, &out->path);
}

static int parse_route(json_t *v, size_t i, hw__config *cfg, const char *path,
                       char *err, size_t err_len) {
  hw__route_conf *rc = &cfg->routes[i];
  char key[200];
  const char *k;
  json_t *x, *prefix = NULL, *module = NULL, *config = NULL;
  json_t *body = NULL, *body_limit = NULL, *alog = NULL;
  struct stat st;
  const char *why;

  snprintf(key, sizeof(key), "routes[%zu]", i);
  if (!json_is_object(v))
    return fail(err, err_len, path, key, "must be an object, not %s",
                json_type_name(v));
  json_object_foreach(v, k, x) {
    if (strcmp(k, "prefix") == 0)
      prefix = x;
    else if (strcmp(k, "module") == 0)
      module = x;
    else if (strcmp(k, "config") == 0)
      config = x;
    else if (strcmp(k, "body") == 0)
      body = x;
    else if (strcmp(k, "body_limit") == 0)
      body_limit = x;
    else if (strcmp(k, "access_log") == 0)
      alog = x;
    else {
      snprintf(key, sizeof(key), "routes[%zu].%s", i, k);
      return fail(err, err_len, path, key, "unknown key");
    }
  }

  snprintf(key, sizeof(key), "routes[%zu].prefix", i);
  if (prefix == NULL)
    return fail(err, err_len, path, key, "missing");
  if (!json_is_string(prefix))
    return fail(err, err_len, path, key, "must be a string, not %s",
                json_type_name(prefix));
  if ((why = prefix_problem(json_string_value(prefix))) != NULL)
    return fail(err, err_len, path, key, "\"%s\" %s", json_string_value(prefix),
                why);
  for (size_t j = 0; j < i; j++)
    if (strcmp(cfg->routes[j].prefix, json_string_value(prefix)) == 0)
      return fail(err, err_len, path, key,
                  "duplicate prefix \"%s\" (also routes[%zu])",
                  json_string_value(prefix), j);
  rc->prefix = strdup(json_string_value(prefix));

  snprintf(key, sizeof(key), "routes[%zu].module", i);
  if (module == NULL)
    return fail(err, err_len, path, key, "missing");
  if (!json_is_string(module))
    return fail(err, err_len, path, key, "must be a string, not %s",
                json_type_name(module));
  rc->module = strdup(json_string_value(module));
  if (rc->module == NULL || rc->prefix == NULL)
    return UV_ENOMEM;
  if (rc->module[0] == '/') {
    rc->module_path = strdup(rc->module);
  } else if (rc->module[0] == '\0' || strchr(rc->module, '/') != NULL) {
    return fail(err, err_len, path, key,
                "\"%s\" must be a file name in modules_dir or an absolute path",
                rc->module);
  } else {
    rc->module_path = path_join(cfg->modules_dir, rc->module);
  }
  if (rc->module_path == NULL)
    return UV_ENOMEM;
  if (stat(rc->module_path, &st) != 0)
    return fail(err, err_len, path, key, "%s: %s", rc->module_path,
                strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail(err, err_len, path, key, "%s: not a regular file",
                rc->module_path);

  /* How the route's module gets request bodies: whole, up to the limit
   * ("buffer", the default), or as they arrive ("stream"). */
  snprintf(key, sizeof(key), "routes[%zu].body", i);
  if (body != NULL) {
    if (!json_is_string(body) || (strcmp(json_string_value(body), "stream") &&
                                  strcmp(json_string_value(body), "buffer")))
      return fail(err, err_len, path, key,
                  "must be \"buffer\" or \"stream\"");
    rc->body_stream = strcmp(json_string_value(body), "stream") == 0;
  }
  snprintf(key, sizeof(key), "routes[%zu].body_limit", i);
  if (body_limit != NULL) {
    if (!json_is_integer(body_limit) || json_integer_value(body_limit) < 1)
      return fail(err, err_len, path, key,
                  "must be a positive integer (bytes)");
    rc->body_limit = (size_t)json_integer_value(body_limit);
  }
  snprintf(key, sizeof(key), "routes[%zu].access_log", i);
  if (alog != NULL &&
      parse_access_log(alog, key, path, &rc->access_log, err, err_len) != 0)
    return UV_EINVAL;

  rc->config_json = config == NULL
                        ? strdup("{}")
                        : json_dumps(config, JSON_COMPACT | JSON_ENCODE_ANY);
  if (rc->config_json == NULL)
    return UV_ENOMEM;
  rc->config_len = strlen(rc->config_json);
  return 0;
}

static int parse_root(json_t *root, hw__config *cfg, const char *path,
                      char *err, size_t err_len) {
  const char *k;
  json_t *x, *listen = NULL, *routes = NULL, *mdir = NULL, *pidf = NULL;
  char key[160];
  char *base;
  int r;

  if (!json_is_object(root))
    return fail(err, err_len, path, "(top level)", "must be an object, not %s",
                json_type_name(root));
  json_object_foreach(root, k, x) {
    if (strcmp(k, "listen") == 0) {
      listen = x;
    } else if (strcmp(k, "routes") == 0) {
      routes = x;
    } else if (strcmp(k, "modules_dir") == 0) {
      mdir = x;
    } else if (strcmp(k, "pid_file") == 0) {
      pidf = x;
    } else if (strcmp(k, "workers") == 0) {
      /* "auto" is one worker per CPU; 0 is the single-process mode. */
      if (json_is_string(x) && strcmp(json_string_value(x), "auto") == 0)
        cfg->workers = HW__CONFIG_WORKERS_AUTO;
      else if (json_is_integer(x) && json_integer_value(x) >= 0 &&
               json_integer_value(x) <= HW__CONFIG_WORKERS_MAX)
        cfg->workers = (int)json_integer_value(x);
      else if (json_is_integer(x))
        return fail(err, err_len, path, "workers",
                    "must be 0 (single process) to %d, or \"auto\"",
                    HW__CONFIG_WORKERS_MAX);
      else
        return fail(err, err_len, path, "workers",
                    "must be an integer or \"auto\", not %s",
                    json_type_name(x));
    } else if (strcmp(k, "thread_pool") == 0) {
      /* libuv's pool, shared by module work and the server's file reads;
       * read once when a worker starts. */
      if (!json_is_integer(x) || json_integer_value(x) < 2 ||
          json_integer_value(x) > HW__CONFIG_POOL_MAX)
        return fail(err, err_len, path, "thread_pool",
                    "must be an integer from 2 to %d (threads)",
                    HW__CONFIG_POOL_MAX);
      cfg->thread_pool = (unsigned)json_integer_value(x);
    } else if (strcmp(k, "limits") == 0) {
      if ((r = parse_limits(x, cfg, path, err, err_len)) != 0)
        return r;
    } else if (strcmp(k, "timeouts_ms") == 0) {
      if ((r = parse_timeouts(x, cfg, path, err, err_len)) != 0)
        return r;
    } else if (strcmp(k, "access_log") == 0) {
      if ((r = parse_access_log(x, k, path, &cfg->access_log, err,
                                err_len)) != 0)
        return r;
    } else {
      return fail(err, err_len, path, k, "unknown key");
    }
  }

  /* modules_dir is relative to the directory holding the config file, so a
   * config works the same whatever directory the server is started from. */
  base = dir_of(path);
  if (base == NULL)
    return UV_ENOMEM;
  if (mdir == NULL) {
    cfg->modules_dir = base;
  } else if (!json_is_string(mdir) || json_string_length(mdir) == 0) {
    free(base);
    return fail(err, err_len, path, "modules_dir",
                "must be a non-empty string");
  } else if (json_string_value(mdir)[0] == '/') {
    free(base);
    cfg->modules_dir = strdup(json_string_value(mdir));
  } else {
    cfg->modules_dir = path_join(base, json_string_value(mdir));
    free(base);
  }
  if (cfg->modules_dir == NULL)
    return UV_ENOMEM;
  if ((r = parse_pid_file(pidf, path, &cfg->pid_file, err, err_len)) != 0)
    return r;

  if (listen == NULL) {
    hw__config_listen l;
    if (hw__listen_parse(DEFAULT_LISTEN, &l, err, err_len) != 0 ||
        hw__config_set_listen(cfg, &l, 1) != 0)
      return UV_ENOMEM;
  } else {
    if (!json_is_array(listen) || json_array_size(listen) == 0)
      return fail(err, err_len, path, "listen",
                  "must be a non-empty array of \"HOST:PORT\" strings");
    cfg->nlisten = json_array_size(listen);
    cfg->listen = calloc(cfg->nlisten, sizeof(*cfg->listen));
    if (cfg->listen == NULL)
      return UV_ENOMEM;
    for (size_t i = 0; i < cfg->nlisten; i++) {
      json_t *e = json_array_get(listen, i);
      char why[160];
      snprintf(key, sizeof(key), "listen[%zu]", i);
      if (!json_is_string(e))
        return fail(err, err_len, path, key, "must be a string, not %s",
                    json_type_name(e));
      if (hw__listen_parse(json_string_value(e), &cfg->listen[i], why,
                           sizeof(why)) != 0)
        return fail(err, err_len, path, key, "%s", why);
    }
  }

  if (routes != NULL) {
    if (!json_is_array(routes))
      return fail(err, err_len, path, "routes", "must be an array, not %s",
                  json_type_name(routes));
    cfg->routes = calloc(json_array_size(routes) + 1, sizeof(*cfg->routes));
    if (cfg->routes == NULL)
      return UV_ENOMEM;
    for (size_t i = 0; i < json_array_size(routes); i++) {
      cfg->nroutes = i + 1;
      if ((r = parse_route(json_array_get(routes, i), i, cfg, path, err,
                           err_len)) != 0)
        return r;
    }
  }
  return 0;
}

int hw__config_parse(const char *text, size_t len, const char *path,
                     hw__config **out, char *err, size_t err_len) {
  json_error_t jerr;
  json_t *root;
  hw__config *cfg;
  int r;

  *out = NULL;
  /* Duplicate keys are rejected: jansson would otherwise keep the last one
   * silently, and the user would not know which of two values is in force. */
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    snprintf(err, err_len, "%s:%d:%d: invalid JSON: %s", path, jerr.line,
             jerr.column, jerr.text);
    return UV_EINVAL;
  }
  cfg = calloc(1, sizeof(*cfg));
  if (cfg == NULL) {
    json_decref(root);
    return UV_ENOMEM;
  }
  cfg->path = strdup(path);
  cfg->limit_body = DEFAULT_LIMIT_BODY;
  cfg->limit_request_line = DEFAULT_LIMIT_REQUEST_LINE;
  cfg->limit_header_bytes = DEFAULT_LIMIT_HEADER_BYTES;
  cfg->limit_headers = DEFAULT_LIMIT_HEADERS;
  cfg->limit_connections = DEFAULT_LIMIT_CONNECTIONS;
  cfg->limit_backlog = DEFAULT_LIMIT_BACKLOG;
  cfg->limit_body_min_rate = DEFAULT_LIMIT_BODY_MIN_RATE;
  for (size_t i = 0; i < sizeof(timeout_keys) / sizeof(timeout_keys[0]); i++)
    *(uint64_t *)((char *)cfg + timeout_keys[i].offset) = timeout_keys[i].dflt;
  cfg->workers = HW__CONFIG_WORKERS_AUTO;
  cfg->thread_pool = HW__CONFIG_POOL_DEFAULT;
  cfg->access_log.mode = HW__ALOG_OFF;
  r = cfg->path == NULL ? UV_ENOMEM : parse_root(root, cfg, path, err, err_len);
  json_decref(root);
  if (r != 0) {
    if (r == UV_ENOMEM)
      snprintf(err, err_len, "%s: out of memory", path);
    hw__config_free(cfg);
    return r;
  }
  *out = cfg;
  return 0;
}

int hw__config_load(const char *path, hw__config **out, char *err,
                    size_t err_len) {
  FILE *f;
  hw__buf b = {0};
  char chunk[4096];
  size_t n;
  int r = 0;

  *out = NULL;
  f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, err_len, "%s: %s", path, strerror(errno));
    return uv_translate_sys_error(errno);
  }
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if ((r = hw__buf_append(&b, chunk, n)) != 0)
      break;
  if (r == 0 && ferror(f)) {
    snprintf(err, err_len, "%s: read error", path);
    r = UV_EIO;
  }
  fclose(f);
  if (r == 0)
    r = hw__config_parse(b.data ? b.data : "", b.len, path, out, err, err_len);
  else if (r == HW_ENOMEM)
    snprintf(err, err_len, "%s: out of memory", path);
  hw__buf_free(&b);
  return r;
}

int hw__config_pid_file(const char *path, char **out, char *err,
                        size_t err_len) {
  json_error_t jerr;
  json_t *root;
  int r;

  *out = NULL;
  root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    if (jerr.line < 0)
      snprintf(err, err_len, "%s", jerr.text); /* names the file */
    else
      snprintf(err, err_len, "%s:%d:%d: invalid JSON: %s", path, jerr.line,
               jerr.column, jerr.text);
    return UV_EINVAL;
  }
  r = json_is_object(root)
          ? parse_pid_file(json_object_get(root, "pid_file"), path, out, err,
                           err_len)
          : fail(err, err_len, path, "(top level)", "must be an object");
  json_decref(root);
  return r;
}

void hw__config_free(hw__config *cfg) {
  if (cfg == NULL)
    return;
  for (size_t i = 0; i < cfg->nroutes; i++) {
    free(cfg->routes[i].prefix);
    free(cfg->routes[i].module);
    free(cfg->routes[i].module_path);
    free(cfg->routes[i].source_path);
    free(cfg->routes[i].config_json);
    free(cfg->routes[i].access_log.path);
  }
  free(cfg->access_log.path);
  free(cfg->routes);
  free(cfg->listen);
  free(cfg->modules_dir);
  free(cfg->pid_file);
  free(cfg->path);
  free(cfg);
}

static json_t *access_log_json(const hw__config_alog *a) {
  if (a->mode != HW__ALOG_ON)
    return json_false();
  return json_pack("{s:s,s:s}", "path", a->path, "format",
                   a->json ? "json" : "combined");
}

char *hw__config_to_json(const hw__config *cfg) {
  json_t *root = json_object(), *listen = json_array(), *routes = json_array();
  json_t *limits = json_object(), *timeouts = json_object();
  char *text = NULL;
  int bad = root == NULL || listen == NULL || routes == NULL ||
            limits == NULL || timeouts == NULL;

  for (size_t i = 0; !bad && i < cfg->nlisten; i++)
    bad |= json_array_append_new(listen, json_string(cfg->listen[i].text));
  for (size_t i = 0; !bad && i < cfg->nroutes; i++) {
    const hw__route_conf *rc = &cfg->routes[i];
    json_error_t jerr;
    json_t *route = json_object();
    json_t *conf = json_loads(rc->config_json, JSON_DECODE_ANY, &jerr);
    bad |= route == NULL || conf == NULL;
    if (!bad) {
      bad |= json_object_set_new(route, "prefix", json_string(rc->prefix));
      bad |= json_object_set_new(route, "module", json_string(rc->module_path));
      bad |= json_object_set_new(route, "config", conf);
      bad |= json_object_set_new(
          route, "body", json_string(rc->body_stream ? "stream" : "buffer"));
      if (rc->body_limit != 0)
        bad |= json_object_set_new(route, "body_limit",
                                   json_integer((json_int_t)rc->body_limit));
      if (rc->access_log.mode != HW__ALOG_INHERIT)
        bad |= json_object_set_new(route, "access_log",
                                   access_log_json(&rc->access_log));
      conf = NULL;
      bad |= json_array_append(routes, route);
    }
    json_decref(conf);
    json_decref(route);
  }
  if (!bad) {
    for (size_t i = 0; i < sizeof(limit_keys) / sizeof(limit_keys[0]); i++)
      bad |= json_object_set_new(
          limits, limit_keys[i].name,
          json_integer((json_int_t) * (const size_t *)((const char *)cfg +
                                                      limit_keys[i].offset)));
    for (size_t i = 0; i < sizeof(timeout_keys) / sizeof(timeout_keys[0]); i++)
      bad |= json_object_set_new(
          timeouts, timeout_keys[i].name,
          json_integer(
              (json_int_t) *
              (const uint64_t *)((const char *)cfg + timeout_keys[i].offset)));
    bad |= json_object_set(root, "listen", listen);
    bad |=
        json_object_set_new(root, "modules_dir", json_string(cfg->modules_dir));
    bad |= json_object_set_new(root, "workers",
                               cfg->workers == HW__CONFIG_WORKERS_AUTO
                                   ? json_string("auto")
                                   : json_integer(cfg->workers));
    bad |= json_object_set_new(root, "thread_pool",
                               json_integer((json_int_t)cfg->thread_pool));
    bad |= json_object_set(root, "limits", limits);
    bad |= json_object_set(root, "timeouts_ms", timeouts);
    bad |= json_object_set_new(root, "access_log",
                               access_log_json(&cfg->access_log));
    bad |= json_object_set(root, "routes", routes);
  }
  if (!bad)
    text = json_dumps(root, JSON_INDENT(2));
  json_decref(listen);
  json_decref(routes);
  json_decref(limits);
  json_decref(timeouts);
  json_decref(root);
  return text;
}

void hw__config_user_paths(const hw__config *cfg, char *msg, size_t cap) {
  for (size_t i = 0; i < cfg->nroutes; i++)
    if (cfg->routes[i].source_path != NULL)
      hw__buf_replace_all(msg, cap, cfg->routes[i].module_path,
                          cfg->routes[i].source_path);
}
