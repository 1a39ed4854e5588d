/*
 * modconf.c - a route's "config" as its module reads it (see modconf.h).
 *
 * The JSON text config.c made of the route's "config" is parsed when the
 * module first asks for it during its init, and freed when init returns.
 * A handle is the value and the place it has in routes.json
 * ("routes[2].config.db.hosts[0]"), so that every complaint names where the
 * user must look.  Handles live in one list per init: it frees them, and
 * tells a handle of this init from a stale pointer kept from another,
 * which the accessors then refuse instead of reading freed memory.  Called
 * outside an init, every accessor refuses (HW_ESTATE, NULL or 0).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "modconf.h"

struct hw_conf {
  json_t *j;            /* in the tree, which owns it */
  struct hw_conf *next; /* the handles of this init */
  char where[];         /* the place in routes.json */
};

static struct {
  int active;        /* inside the init of `route` */
  size_t route;
  const char *text;  /* the text it was given */
  size_t len;
  json_t *root;      /* parsed on the first call of config() */
  hw_conf *handles;
} cur;

void hw__modconf_begin(size_t route, const char *config, size_t len) {
  hw__modconf_end();
  cur.active = 1;
  cur.route = route;
  cur.text = config;
  cur.len = len;
}

void hw__modconf_end(void) {
  while (cur.handles != NULL) {
    hw_conf *next = cur.handles->next;
    free(cur.handles);
    cur.handles = next;
  }
  if (cur.root != NULL)
    json_decref(cur.root);
  cur.root = NULL;
  cur.active = 0;
  cur.text = NULL;
}

/* Non-zero if `v` is a handle of the init running now. */
static int live(const hw_conf *v) {
  if (!cur.active || v == NULL)
    return 0;
  for (const hw_conf *h = cur.handles; h != NULL; h = h->next)
    if (h == v)
      return 1;
  return 0;
}

static hw_conf *new_handle(json_t *j, const char *where, size_t len) {
  hw_conf *h = malloc(sizeof(*h) + len + 1);
  if (h == NULL)
    return NULL;
  h->j = j;
  memcpy(h->where, where, len);
  h->where[len] = '\0';
  h->next = cur.handles;
  cur.handles = h;
  return h;
}

/* Appends `key` with what would break a one-line message escaped. */
static void add_escaped(hw__buf *w, const char *key, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)key[i];
    char esc[8];
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
      int k = snprintf(esc, sizeof(esc), "\\u%04x", c);
      hw__buf_append(w, esc, (size_t)k);
    } else {
      hw__buf_append(w, &key[i], 1);
    }
  }
}

/* Appends a member's key to a place: ".key" for a plain key, else
 * ["key"], escaped. */
static void add_key(hw__buf *w, const char *key, size_t n) {
  int plain = n > 0;
  for (size_t i = 0; i < n && plain; i++) {
    unsigned char c = (unsigned char)key[i];
    plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '-';
  }
  if (plain) {
    hw__buf_append(w, ".", 1);
    hw__buf_append(w, key, n);
    return;
  }
  hw__buf_append(w, "[\"", 2);
  add_escaped(w, key, n);
  hw__buf_append(w, "\"]", 2);
}

static void add_index(hw__buf *w, size_t i) {
  char s[32];
  int k = snprintf(s, sizeof(s), "[%zu]", i);
  hw__buf_append(w, s, (size_t)k);
}

/* Walks `path` from `j`, appending each step to `w` (all of them, also
 * past a step that does not exist, so that a complaint names the whole
 * place); the value, or NULL when a step does not exist or the path is
 * malformed. */
static json_t *walk(json_t *j, const char *path, hw__buf *w) {
  const char *p = path;
  while (*p != '\0') {
    if (*p == '[') {
      char *end;
      unsigned long long i = strtoull(p + 1, &end, 10);
      if (end == p + 1 || *end != ']' || p[1] == '-' || p[1] == '+')
        return NULL;
      j = json_is_array(j) ? json_array_get(j, (size_t)i) : NULL;
      add_index(w, (size_t)i);
      p = end + 1;
      if (*p == '.')
        p++;
      continue;
    }
    {
      size_t n = strcspn(p, ".[");
      if (n == 0)
        return NULL;
      j = json_is_object(j) ? json_object_getn(j, p, n) : NULL;
      add_key(w, p, n);
      p += n;
      if (*p == '.' && p[1] != '\0')
        p++;
      else if (*p == '.')
        return NULL;
    }
  }
  return j;
}

/* Writes a complaint into the caller's `err`, which may be absent. */
static void say(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  if (err == NULL || err_len == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

const hw_conf *hw__modconf_config(const char *config) {
  char where[64];
  int n;
  if (!cur.active || config == NULL || config != cur.text)
    return NULL;
  if (cur.root == NULL) {
    json_error_t e;
    cur.root = json_loadb(cur.text, cur.len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                          &e);
    if (cur.root == NULL)
      return NULL; /* config.c wrote it: cannot happen */
  }
  n = snprintf(where, sizeof(where), "routes[%zu].config", cur.route);
  return new_handle(cur.root, where, (size_t)n);
}

/* `path` below `v` as a handle (NULL: absent). */
static const hw_conf *find(const hw_conf *v, const char *path) {
  hw__buf w = {0};
  json_t *j;
  hw_conf *h = NULL;

  if (path == NULL || path[0] == '\0')
    return v;
  hw__buf_append(&w, v->where, strlen(v->where));
  j = walk(v->j, path, &w);
  if (j != NULL)
    h = new_handle(j, w.data, w.len);
  hw__buf_free(&w);
  return h;
}

const hw_conf *hw__modconf_find(const hw_conf *v, const char *path) {
  return live(v) ? find(v, path) : NULL;
}

int hw__modconf_type(const hw_conf *v) {
  if (!live(v))
    return HW_CONF_ABSENT;
  switch (json_typeof(v->j)) {
  case JSON_OBJECT: return HW_CONF_OBJECT;
  case JSON_ARRAY: return HW_CONF_ARRAY;
  case JSON_STRING: return HW_CONF_STRING;
  case JSON_INTEGER: return HW_CONF_INT;
  case JSON_REAL: return HW_CONF_NUMBER;
  case JSON_TRUE:
  case JSON_FALSE: return HW_CONF_BOOL;
  case JSON_NULL: return HW_CONF_NULL;
  }
  return HW_CONF_ABSENT;
}

static const char *type_name(int type) {
  switch (type) {
  case HW_CONF_OBJECT: return "an object";
  case HW_CONF_ARRAY: return "an array";
  case HW_CONF_STRING: return "a string";
  case HW_CONF_INT: return "an integer";
  case HW_CONF_NUMBER: return "a number";
  case HW_CONF_BOOL: return "a boolean";
  case HW_CONF_NULL: return "null";
  default: return "nothing";
  }
}

/* The value a typed getter reads: 0 and `*out`, or the error code (with
 * the message for a value of another type).  `want` is a HW_CONF_ type;
 * HW_CONF_NUMBER also takes an integer. */
static int typed(const hw_conf *v, const char *path, int want,
                 const hw_conf **out, char *err, size_t err_len) {
  const hw_conf *h;
  int type;
  if (!live(v))
    return HW_ESTATE;
  h = find(v, path);
  if (h == NULL)
    return HW_ENOENT;
  type = hw__modconf_type(h);
  if (type != want && !(want == HW_CONF_NUMBER && type == HW_CONF_INT)) {
    say(err, err_len, "%s: expected %s, not %s", h->where, type_name(want),
        type_name(type));
    return HW_EINVAL;
  }
  *out = h;
  return 0;
}

int hw__modconf_string(const hw_conf *v, const char *path, hw_str *out,
                       char *err, size_t err_len) {
  const hw_conf *h;
  int r = typed(v, path, HW_CONF_STRING, &h, err, err_len);
  if (r == 0) {
    out->data = json_string_value(h->j);
    out->len = json_string_length(h->j);
  }
  return r;
}

int hw__modconf_int(const hw_conf *v, const char *path, int64_t *out,
                    char *err, size_t err_len) {
  const hw_conf *h;
  int r = typed(v, path, HW_CONF_INT, &h, err, err_len);
  if (r == 0)
    *out = (int64_t)json_integer_value(h->j);
  return r;
}

int hw__modconf_number(const hw_conf *v, const char *path, double *out,
                       char *err, size_t err_len) {
  const hw_conf *h;
  int r = typed(v, path, HW_CONF_NUMBER, &h, err, err_len);
  if (r == 0)
    *out = json_number_value(h->j);
  return r;
}

int hw__modconf_bool(const hw_conf *v, const char *path, int *out, char *err,
                     size_t err_len) {
  const hw_conf *h;
  int r = typed(v, path, HW_CONF_BOOL, &h, err, err_len);
  if (r == 0)
    *out = json_is_true(h->j);
  return r;
}

size_t hw__modconf_count(const hw_conf *v) {
  if (!live(v))
    return 0;
  if (json_is_array(v->j))
    return json_array_size(v->j);
  if (json_is_object(v->j))
    return json_object_size(v->j);
  return 0;
}

const hw_conf *hw__modconf_at(const hw_conf *v, size_t index, hw_str *key) {
  hw__buf w = {0};
  json_t *j = NULL;
  hw_conf *h = NULL;

  if (!live(v))
    return NULL;
  hw__buf_append(&w, v->where, strlen(v->where));
  if (json_is_array(v->j)) {
    j = json_array_get(v->j, index);
    add_index(&w, index);
  } else if (json_is_object(v->j)) {
    /* Members in the order of the file: jansson keeps it. */
    const char *k;
    json_t *m;
    size_t i = 0;
    json_object_foreach(v->j, k, m) {
      if (i++ == index) {
        j = m;
        add_key(&w, k, strlen(k));
        if (key != NULL) {
          key->data = k;
          key->len = strlen(k);
        }
        break;
      }
    }
  }
  if (j != NULL)
    h = new_handle(j, w.data, w.len);
  hw__buf_free(&w);
  return h;
}

int hw__modconf_keys(const hw_conf *v, const char *const *keys, char *err,
                     size_t err_len) {
  const char *k;
  json_t *m;
  if (!live(v))
    return HW_ESTATE;
  if (!json_is_object(v->j)) {
    say(err, err_len, "%s: expected an object, not %s", v->where,
        type_name(hw__modconf_type(v)));
    return HW_EINVAL;
  }
  json_object_foreach(v->j, k, m) {
    size_t i = 0;
    (void)m;
    while (keys != NULL && keys[i] != NULL && strcmp(keys[i], k) != 0)
      i++;
    if (keys == NULL || keys[i] == NULL) {
      hw__buf w = {0};
      add_escaped(&w, k, strlen(k));
      say(err, err_len, "%s: unknown key \"%.*s\"", v->where, (int)w.len,
          w.len > 0 ? w.data : "");
      hw__buf_free(&w);
      return HW_EINVAL;
    }
  }
  return 0;
}

int hw__modconf_error(const hw_conf *v, const char *path, const char *what,
                      char *err, size_t err_len) {
  hw__buf w = {0};
  if (!live(v))
    return HW_ESTATE;
  hw__buf_append(&w, v->where, strlen(v->where));
  if (path != NULL && path[0] != '\0')
    walk(v->j, path, &w); /* the place, whether or not the value exists */
  say(err, err_len, "%.*s: %s", (int)w.len, w.data,
      what != NULL ? what : "invalid");
  hw__buf_free(&w);
  return HW_EINVAL;
}
