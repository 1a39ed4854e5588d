/*
 * modconf.c - a route's "config" as its module reads it (see modconf.h).
 *
 * The JSON text config.c made of the route's "config" is parsed when the
 * module first asks for it during its init, and freed when init returns.
 * A handle names a value and the place it has in routes.json
 * ("routes[2].config.db.hosts[0]"), so that every complaint names where the
 * user must look.  A handle is not an address but a tag: the serial number
 * of the init that made it and an index into that init's table.  A handle
 * kept from another init (or made up) therefore finds nothing, however the
 * allocator reuses memory, and the accessors refuse it instead of reading
 * freed memory.  Called outside an init, every accessor refuses
 * (HW_ESTATE, NULL or 0).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "modconf.h"
#include "os.h"

/* A handle's bits: the init's serial above TAG_SHIFT, index + 1 below. */
#define TAG_SHIFT (sizeof(uintptr_t) * 4)
#define TAG_LOW (((uintptr_t)1 << TAG_SHIFT) - 1)

typedef struct entry {
  json_t *j;   /* in the tree, which owns it */
  char *where; /* the place in routes.json */
} entry;

static struct {
  int active; /* inside the init of `route` */
  size_t route;
  uintptr_t serial; /* of this init: never 0 */
  const char *text; /* the text it was given */
  size_t len;
  json_t *root; /* parsed on the first call of config() */
  entry *items; /* the handles of this init */
  size_t n, cap;
  /* conf_at on an object walks from where the last call stopped, so that
   * visiting every member is linear. */
  json_t *iter_obj;
  void *iter;
  size_t iter_index;
} cur;

void hw__modconf_begin(size_t route, const char *config, size_t len) {
  hw__modconf_end();
  cur.active = 1;
  cur.route = route;
  cur.serial = (cur.serial + 1) & (UINTPTR_MAX >> TAG_SHIFT);
  if (cur.serial == 0)
    cur.serial = 1;
  cur.text = config;
  cur.len = len;
}

void hw__modconf_end(void) {
  for (size_t i = 0; i < cur.n; i++)
    free(cur.items[i].where);
  free(cur.items);
  cur.items = NULL;
  cur.n = cur.cap = 0;
  if (cur.root != NULL)
    json_decref(cur.root);
  cur.root = NULL;
  cur.iter_obj = NULL;
  cur.active = 0;
  cur.text = NULL;
}

/* The entry of handle `v` if it is one of the init running now. */
static const entry *live(const hw_conf *v) {
  uintptr_t tag = (uintptr_t)v;
  if (!cur.active || (tag >> TAG_SHIFT) != cur.serial || (tag & TAG_LOW) == 0 ||
      (tag & TAG_LOW) > cur.n)
    return NULL;
  return &cur.items[(tag & TAG_LOW) - 1];
}

/* A new handle for `j` at place `where`; NULL when out of memory. */
static const hw_conf *new_handle(json_t *j, const char *where, size_t len) {
  char *w;
  if (cur.n == cur.cap) {
    entry *grown;
    size_t cap = cur.cap ? cur.cap * 2 : 16;
    if (cap >= TAG_LOW || (grown = realloc(cur.items, cap * sizeof(*grown))) ==
                              NULL)
      return NULL;
    cur.items = grown;
    cur.cap = cap;
  }
  if ((w = malloc(len + 1)) == NULL)
    return NULL;
  memcpy(w, where, len);
  w[len] = '\0';
  cur.items[cur.n].j = j;
  cur.items[cur.n].where = w;
  cur.n++;
  return (const hw_conf *)((cur.serial << TAG_SHIFT) | cur.n);
}

/* Writes a complaint into the caller's `err`, which may be absent. */
static void say(char *err, size_t err_len, const char *fmt, ...)
    HW__PRINTF(3, 4);
static void say(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  if (err == NULL || err_len == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

static int type_of(const json_t *j) {
  switch (json_typeof(j)) {
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

/* Appends `key` with what would break a one-line message escaped. */
static void add_escaped(hw__buf *w, const char *key, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)key[i];
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
      char esc[8];
      snprintf(esc, sizeof(esc), "\\u%04x", c);
      hw__buf_append(w, esc, 6); /* always six: c < 0x100 */
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

/* The member `key` (`n` bytes, no NUL) of object `j`, or NULL. */
static json_t *member(json_t *j, const char *key, size_t n) {
  char small[64], *k = n < sizeof(small) ? small : malloc(n + 1);
  json_t *m;
  if (k == NULL)
    return NULL;
  memcpy(k, key, n);
  k[n] = '\0';
  m = json_object_get(j, k);
  if (k != small)
    free(k);
  return m;
}

/* What walking a path found. */
enum { FOUND = 0, ABSENT, NOT_CONTAINER, MALFORMED };

/* Walks `path` from `*j`, appending each step to `w` (all of them, also
 * past one that does not exist, so that a complaint names the whole
 * place).  FOUND with the value in `*j`; ABSENT (a missing member, an index
 * past the end); NOT_CONTAINER with `*j` and `at` (the length of `w`) at
 * the value that is not the object or array (`*needed`) a step needs;
 * MALFORMED for a path that is not members and "[n]" elements. */
static int walk(json_t **j, const char *path, hw__buf *w, size_t *at,
                int *needed) {
  const char *p = path;
  json_t *v = *j;
  int status = FOUND;

  while (*p != '\0') {
    int want_array = *p == '[';
    size_t i = 0, n;

    if (want_array) {
      const char *d = p + 1;
      if (*d < '0' || *d > '9')
        return MALFORMED;
      for (; *d >= '0' && *d <= '9'; d++)
        i = i > (SIZE_MAX - 9) / 10 ? SIZE_MAX : i * 10 + (size_t)(*d - '0');
      if (*d != ']')
        return MALFORMED;
      n = (size_t)(d + 1 - p);
    } else {
      n = strcspn(p, ".[");
      if (n == 0)
        return MALFORMED;
    }
    if (status == FOUND &&
        (want_array ? !json_is_array(v) : !json_is_object(v))) {
      *at = w->len;
      *j = v;
      *needed = want_array ? HW_CONF_ARRAY : HW_CONF_OBJECT;
      status = NOT_CONTAINER;
    }
    if (want_array)
      add_index(w, i);
    else
      add_key(w, p, n);
    if (status == FOUND) {
      v = want_array ? json_array_get(v, i) : member(v, p, n);
      if (v == NULL)
        status = ABSENT;
    }
    p += n;
    /* A step ends the path or is followed by ".member" or "[n]". */
    if (*p == '.' && (p[1] == '\0' || p[1] == '.' || p[1] == '['))
      return MALFORMED;
    if (want_array && *p != '\0' && *p != '.' && *p != '[')
      return MALFORMED;
    if (*p == '.')
      p++;
  }
  if (status == FOUND)
    *j = v;
  return status;
}

/* `path` below the value of `e`: 0 and a handle in `*out`, or HW_ENOENT,
 * or HW_EINVAL (with the reason in `err`), or HW_ENOMEM. */
static int find(const entry *e, const hw_conf *self, const char *path,
                const hw_conf **out, char *err, size_t err_len) {
  hw__buf w = {0};
  json_t *j = e->j;
  size_t at = 0;
  int r = 0, status, needed = 0;

  if (path == NULL || path[0] == '\0') {
    *out = self;
    return 0;
  }
  hw__buf_append(&w, e->where, strlen(e->where));
  status = walk(&j, path, &w, &at, &needed);
  if (status == MALFORMED) {
    say(err, err_len, "%s: malformed path \"%s\" (members by '.', elements "
        "by \"[n]\")", e->where, path);
    r = HW_EINVAL;
  } else if (status == NOT_CONTAINER) {
    say(err, err_len, "%.*s: expected %s, not %s", (int)at, w.data,
        type_name(needed), type_name(type_of(j)));
    r = HW_EINVAL;
  } else if (status == ABSENT) {
    r = HW_ENOENT;
  } else if ((*out = new_handle(j, w.data, w.len)) == NULL) {
    r = HW_ENOMEM;
  }
  hw__buf_free(&w);
  return r;
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
      return NULL; /* config.c wrote it: only out of memory */
  }
  n = snprintf(where, sizeof(where), "routes[%zu].config", cur.route);
  return new_handle(cur.root, where, (size_t)n);
}

const hw_conf *hw__modconf_find(const hw_conf *v, const char *path) {
  const entry *e = live(v);
  const hw_conf *out = NULL;
  if (e == NULL || find(e, v, path, &out, NULL, 0) != 0)
    return NULL;
  return out;
}

int hw__modconf_type(const hw_conf *v) {
  const entry *e = live(v);
  return e != NULL ? type_of(e->j) : HW_CONF_ABSENT;
}

/* The value a typed getter reads: 0 and its JSON value, or the error code
 * (with the message for a value of another type).  `want` is a HW_CONF_
 * type; HW_CONF_NUMBER also takes an integer.  Inside an init a NULL
 * handle is an absent value (what conf_find returns for one), so that
 * lookups chain. */
static int typed(const hw_conf *v, const char *path, int want, json_t **out,
                 char *err, size_t err_len) {
  const entry *e = live(v), *h;
  const hw_conf *found;
  int type, r;
  if (e == NULL)
    return cur.active && v == NULL ? HW_ENOENT : HW_ESTATE;
  if ((r = find(e, v, path, &found, err, err_len)) != 0)
    return r;
  h = live(found);
  type = type_of(h->j);
  if (type != want && !(want == HW_CONF_NUMBER && type == HW_CONF_INT)) {
    say(err, err_len, "%s: expected %s, not %s", h->where, type_name(want),
        type_name(type));
    return HW_EINVAL;
  }
  *out = h->j;
  return 0;
}

int hw__modconf_string(const hw_conf *v, const char *path, hw_str *out,
                       char *err, size_t err_len) {
  json_t *j;
  int r = typed(v, path, HW_CONF_STRING, &j, err, err_len);
  if (r == 0) {
    out->data = json_string_value(j);
    out->len = json_string_length(j);
  }
  return r;
}

int hw__modconf_int(const hw_conf *v, const char *path, int64_t *out,
                    char *err, size_t err_len) {
  json_t *j;
  int r = typed(v, path, HW_CONF_INT, &j, err, err_len);
  if (r == 0)
    *out = (int64_t)json_integer_value(j);
  return r;
}

int hw__modconf_number(const hw_conf *v, const char *path, double *out,
                       char *err, size_t err_len) {
  json_t *j;
  int r = typed(v, path, HW_CONF_NUMBER, &j, err, err_len);
  if (r == 0)
    *out = json_number_value(j);
  return r;
}

int hw__modconf_bool(const hw_conf *v, const char *path, int *out, char *err,
                     size_t err_len) {
  json_t *j;
  int r = typed(v, path, HW_CONF_BOOL, &j, err, err_len);
  if (r == 0)
    *out = json_is_true(j);
  return r;
}

size_t hw__modconf_count(const hw_conf *v) {
  const entry *e = live(v);
  if (e != NULL && json_is_array(e->j))
    return json_array_size(e->j);
  if (e != NULL && json_is_object(e->j))
    return json_object_size(e->j);
  return 0;
}

/* Member `index` of object `obj` (in the order of the file, which jansson
 * keeps) and its key, continuing from the last call when it can. */
static json_t *nth_member(json_t *obj, size_t index, const char **key) {
  void *it;
  size_t i;
  if (cur.iter_obj == obj && cur.iter != NULL && cur.iter_index <= index) {
    it = cur.iter;
    i = cur.iter_index;
  } else {
    it = json_object_iter(obj);
    i = 0;
  }
  for (; it != NULL && i < index; i++)
    it = json_object_iter_next(obj, it);
  cur.iter_obj = obj;
  cur.iter = it;
  cur.iter_index = i;
  if (it == NULL)
    return NULL;
  *key = json_object_iter_key(it);
  return json_object_iter_value(it);
}

const hw_conf *hw__modconf_at(const hw_conf *v, size_t index, hw_str *key) {
  const entry *e = live(v);
  const char *k = NULL;
  json_t *j = NULL;
  const hw_conf *h = NULL;
  hw__buf w = {0};

  if (key != NULL)
    *key = (hw_str){NULL, 0};
  if (e == NULL)
    return NULL;
  hw__buf_append(&w, e->where, strlen(e->where));
  if (json_is_array(e->j)) {
    j = json_array_get(e->j, index);
    add_index(&w, index);
  } else if (json_is_object(e->j) && (j = nth_member(e->j, index, &k))) {
    add_key(&w, k, strlen(k));
    if (key != NULL)
      *key = (hw_str){k, strlen(k)};
  }
  if (j != NULL)
    h = new_handle(j, w.data, w.len);
  hw__buf_free(&w);
  return h;
}

int hw__modconf_keys(const hw_conf *v, const char *const *keys, char *err,
                     size_t err_len) {
  const entry *e = live(v);
  const char *k;
  json_t *m;
  if (e == NULL)
    return cur.active && v == NULL ? HW_ENOENT : HW_ESTATE;
  if (!json_is_object(e->j)) {
    say(err, err_len, "%s: expected an object, not %s", e->where,
        type_name(type_of(e->j)));
    return HW_EINVAL;
  }
  json_object_foreach(e->j, k, m) {
    size_t i = 0;
    (void)m;
    while (keys != NULL && keys[i] != NULL && strcmp(keys[i], k) != 0)
      i++;
    if (keys == NULL || keys[i] == NULL) {
      hw__buf w = {0};
      add_escaped(&w, k, strlen(k));
      say(err, err_len, "%s: unknown key \"%.*s\"", e->where, (int)w.len,
          w.len > 0 ? w.data : "");
      hw__buf_free(&w);
      return HW_EINVAL;
    }
  }
  return 0;
}

int hw__modconf_error(const hw_conf *v, const char *path, const char *what,
                      char *err, size_t err_len) {
  const entry *e = live(v);
  hw__buf w = {0};
  json_t *j;
  size_t at;
  int needed;
  if (e == NULL)
    return HW_ESTATE;
  j = e->j;
  hw__buf_append(&w, e->where, strlen(e->where));
  if (path != NULL && path[0] != '\0')
    walk(&j, path, &w, &at, &needed); /* the place, whether or not the value exists */
  say(err, err_len, "%.*s: %s", (int)w.len, w.data,
      what != NULL ? what : "invalid");
  hw__buf_free(&w);
  return HW_EINVAL;
}
