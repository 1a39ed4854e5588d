/*
 * config.c - reads routes.json into a plain hw__config and validates it
 * strictly.  With config_listen.c (a listen entry), config_write.c (the
 * config written back) and modconf.c (a route's config for its module),
 * the only units that include jansson: nothing of jansson crosses into the
 * rest of the server or into modules (a route's "config" leaves here as
 * JSON text), so the JSON library can be swapped by touching these alone.
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

/* The integer keys of the objects "limits", "timeouts_ms" and "http2"
 * (config.h's X-macro lists), one table each, read by one function: where
 * each value goes (the field's offset and width: size_t, uint64_t or
 * uint32_t), its range, and what it counts, for the message. */
struct int_key {
  const char *name;
  size_t offset, size;
  long long lo, hi;
  const char *unit;
  uint64_t dflt;
};
#define FIELD(f) offsetof(hw__config, f), sizeof(((hw__config *)0)->f)
#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))
/* The most a size_t limit may be: JSON's bound, or less with 32 bits. */
#define SIZE_HI                                                                \
  ((long long)((unsigned long long)SIZE_MAX < (unsigned long long)LLONG_MAX    \
                   ? SIZE_MAX                                                  \
                   : LLONG_MAX))

static const struct int_key limit_keys[] = {
#define LIMIT_KEY(name, field, unit, dflt)                                     \
  {#name, FIELD(field), 0, SIZE_HI, unit, dflt},
    HW__CONFIG_LIMITS(LIMIT_KEY)
#undef LIMIT_KEY
};

/* Zero would close every connection at once: at least a millisecond
 * (drain_notice's zero is "no notice"). */
static const struct int_key timeout_keys[] = {
#define TIMEOUT_KEY(name, field, lo, dflt)                                     \
  {#name, FIELD(field), lo, 24 * 3600 * 1000, "milliseconds", dflt},
    HW__CONFIG_TIMEOUTS(TIMEOUT_KEY)
#undef TIMEOUT_KEY
};

/* What each "http2" key counts: here, not in config.h's list, which h2.c
 * expands too (a key added there without a unit here does not compile). */
#define H2_UNIT_max_concurrent_streams "streams"
#define H2_UNIT_initial_window_size "bytes"
#define H2_UNIT_max_frame_size "bytes"
#define H2_UNIT_max_header_list_size "bytes, 0 for limits.header_bytes"
static const struct int_key http2_keys[] = {
#define HTTP2_KEY(name, field, lo, hi, dflt)                                   \
  {#name, FIELD(field), lo, hi, H2_UNIT_##name, dflt},
    HW__CONFIG_HTTP2(HTTP2_KEY)
#undef HTTP2_KEY
};

static int fail(char *err, size_t err_len, const char *path, const char *key,
                const char *fmt, ...) HW__PRINTF(5, 6);

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

static void free_tls(hw__config *cfg) {
  for (size_t i = 0; cfg->tls != NULL && i < cfg->nlisten; i++)
    hw__config_listen_free(&cfg->tls[i]);
  free(cfg->tls);
  cfg->tls = NULL;
}

int hw__config_set_listen(hw__config *cfg, const hw__config_listen *l,
                          size_t n) {
  hw__config_listen *copy = calloc(n ? n : 1, sizeof(*copy));
  hw__config_tls *tls = calloc(n ? n : 1, sizeof(*tls));
  if (copy == NULL || tls == NULL) {
    free(copy);
    free(tls);
    return UV_ENOMEM;
  }
  memcpy(copy, l, n * sizeof(*copy));
  free_tls(cfg);
  free(cfg->listen);
  cfg->listen = copy;
  cfg->tls = tls;
  cfg->nlisten = n;
  return 0;
}

int hw__config_keep_listen(hw__config *cfg, const hw__config_listen *l,
                           const hw__config_tls *tls, size_t n) {
  hw__config_tls *t = calloc(n ? n : 1, sizeof(*t));
  int gone = 0, bad = t == NULL;
  static const hw__config_tls plain;
  for (size_t i = 0; !bad && i < n; i++) {
    const hw__config_tls *from = tls != NULL ? &tls[i] : &plain;
    size_t j = 0;
    while (j < cfg->nlisten && memcmp(&cfg->listen[j].addr, &l[i].addr,
                                      sizeof(l[i].addr)) != 0)
      j++;
    if (j < cfg->nlisten)
      from = &cfg->tls[j];
    else
      gone++;
    bad = hw__config_listen_copy(&t[i], from) != 0;
  }
  if (bad || hw__config_set_listen(cfg, l, n) != 0) {
    for (size_t i = 0; t != NULL && i < n; i++)
      hw__config_listen_free(&t[i]);
    free(t);
    return UV_ENOMEM;
  }
  free(cfg->tls);
  cfg->tls = t;
  return gone;
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
  const char *slash = hw__os_path_last_sep(path);
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

static void set_int(hw__config *cfg, const struct int_key *ik, uint64_t v) {
  char *field = (char *)cfg + ik->offset;
  if (ik->size == sizeof(uint32_t))
    *(uint32_t *)field = (uint32_t)v;
  else
    *(uint64_t *)field = v;
}

static void set_defaults(hw__config *cfg, const struct int_key *keys,
                         size_t n) {
  for (size_t i = 0; i < n; i++)
    set_int(cfg, &keys[i], keys[i].dflt);
}

/* "limits", "timeouts_ms" or "http2" (`name`): an object of the integer
 * keys of `keys`, each in its range. */
static int parse_ints(json_t *v, const char *name, const struct int_key *keys,
                      size_t nkeys, hw__config *cfg, const char *path,
                      char *err, size_t err_len) {
  const char *k;
  json_t *x;
  char key[160];

  if (!json_is_object(v))
    return fail(err, err_len, path, name, "must be an object, not %s",
                hw__config_listen_type(v));
  json_object_foreach(v, k, x) {
    const struct int_key *ik = NULL;
    for (size_t i = 0; i < nkeys; i++)
      if (strcmp(k, keys[i].name) == 0)
        ik = &keys[i];
    snprintf(key, sizeof(key), "%s.%s", name, k);
    if (ik == NULL)
      return fail(err, err_len, path, key, "unknown key");
    if (json_is_integer(x) && json_integer_value(x) >= ik->lo &&
        json_integer_value(x) <= ik->hi)
      set_int(cfg, ik, (uint64_t)json_integer_value(x));
    else if (ik->hi == LLONG_MAX)
      return fail(err, err_len, path, key,
                  "must be a non-negative integer (%s)", ik->unit);
    else
      return fail(err, err_len, path, key,
                  "must be an integer from %lld to %lld (%s)", ik->lo, ik->hi,
                  ik->unit);
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
  if (hw__os_path_absolute(name))
    return (*out = strdup(name)) == NULL ? UV_ENOMEM : 0;
  if ((base = dir_of(path)) == NULL)
    return UV_ENOMEM;
  if (absolute && !hw__os_path_absolute(base) && getcwd(cwd, sizeof(cwd)) != NULL) {
    char *b = strcmp(base, ".") == 0 ? strdup(cwd) : path_join(cwd, base);
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
                hw__config_listen_type(v));
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
                hw__config_listen_type(v));
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
                hw__config_listen_type(prefix));
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
                hw__config_listen_type(module));
  rc->module = strdup(json_string_value(module));
  if (rc->module == NULL || rc->prefix == NULL)
    return UV_ENOMEM;
  if (hw__os_path_absolute(rc->module)) {
    rc->module_path = strdup(rc->module);
  } else if (rc->module[0] == '\0' || hw__os_path_last_sep(rc->module)) {
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
                hw__config_listen_type(root));
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
                    hw__config_listen_type(x));
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
      if ((r = parse_ints(x, "limits", limit_keys, NKEYS(limit_keys), cfg,
                          path, err, err_len)) != 0)
        return r;
    } else if (strcmp(k, "timeouts_ms") == 0) {
      if ((r = parse_ints(x, "timeouts_ms", timeout_keys,
                          NKEYS(timeout_keys), cfg, path, err, err_len)) != 0)
        return r;
    } else if (strcmp(k, "http2") == 0) {
      if ((r = parse_ints(x, "http2", http2_keys, NKEYS(http2_keys), cfg,
                          path, err, err_len)) != 0)
        return r;
    } else if (strcmp(k, "access_log") == 0) {
      if ((r = parse_access_log(x, k, path, &cfg->access_log, err,
                                err_len)) != 0)
        return r;
    } else if (strcmp(k, "health_route") == 0) {
      /* A path, answered by the server itself (exactly that path). */
      const char *why = json_is_string(x)
                            ? prefix_problem(json_string_value(x))
                            : "must be a path string such as \"/health\"";
      if (why != NULL)
        return fail(err, err_len, path, k, "%s", why);
      if ((cfg->health_route = strdup(json_string_value(x))) == NULL)
        return UV_ENOMEM;
      cfg->health_len = strlen(cfg->health_route);
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
  } else if (hw__os_path_absolute(json_string_value(mdir))) {
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
  if (cfg->drain_notice_ms > 0 && cfg->health_route == NULL)
    return fail(err, err_len, path, "timeouts_ms.drain_notice",
                "needs \"health_route\" (the path that answers 503 during "
                "the notice)");

  if (listen == NULL) {
    hw__config_listen l;
    if (hw__listen_parse(DEFAULT_LISTEN, &l, err, err_len) != 0 ||
        hw__config_set_listen(cfg, &l, 1) != 0)
      return UV_ENOMEM;
  } else {
    if (!json_is_array(listen) || json_array_size(listen) == 0)
      return fail(err, err_len, path, "listen",
                  "must be a non-empty array of \"HOST:PORT\" strings or "
                  "{\"address\": ..., \"tls\": ...} objects");
    cfg->nlisten = json_array_size(listen);
    cfg->listen = calloc(cfg->nlisten, sizeof(*cfg->listen));
    cfg->tls = calloc(cfg->nlisten, sizeof(*cfg->tls));
    if (cfg->listen == NULL || cfg->tls == NULL ||
        resolve("", path, 1, &base) != 0)
      return UV_ENOMEM;
    for (size_t i = 0; i < cfg->nlisten; i++) {
      char why[512];
      snprintf(key, sizeof(key), "listen[%zu]", i);
      r = hw__config_listen_parse(json_array_get(listen, i), key, base,
                                  &cfg->listen[i], &cfg->tls[i], why,
                                  sizeof(why));
      if (r != 0) {
        free(base);
        if (r == UV_EINVAL)
          snprintf(err, err_len, "%s: %s", path, why);
        return r;
      }
    }
    free(base);
  }

  if (routes != NULL) {
    if (!json_is_array(routes))
      return fail(err, err_len, path, "routes", "must be an array, not %s",
                  hw__config_listen_type(routes));
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
  set_defaults(cfg, limit_keys, NKEYS(limit_keys));
  set_defaults(cfg, timeout_keys, NKEYS(timeout_keys));
  set_defaults(cfg, http2_keys, NKEYS(http2_keys));
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
  free(cfg->health_route);
  free(cfg->routes);
  free_tls(cfg);
  free(cfg->listen);
  free(cfg->modules_dir);
  free(cfg->pid_file);
  free(cfg->path);
  free(cfg);
}

void hw__config_user_paths(const hw__config *cfg, char *msg, size_t cap) {
  for (size_t i = 0; i < cfg->nroutes; i++)
    if (cfg->routes[i].source_path != NULL)
      hw__buf_replace_all(msg, cap, cfg->routes[i].module_path,
                          cfg->routes[i].source_path);
  for (size_t l = 0; cfg->tls != NULL && l < cfg->nlisten; l++)
    for (size_t i = 0; i < cfg->tls[l].ncerts; i++) {
      const hw__config_cert *c = &cfg->tls[l].certs[i];
      if (c->cert_source != NULL)
        hw__buf_replace_all(msg, cap, c->cert, c->cert_source);
      if (c->key_source != NULL)
        hw__buf_replace_all(msg, cap, c->key, c->key_source);
    }
}
