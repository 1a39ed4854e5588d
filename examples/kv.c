/*
 * kv.c - an example module: an in-memory key-value store over HTTP.
 *
 *   PUT    <prefix>/KEY  stores the request body: 201 Created for a new
 *                        key, 204 No Content when it replaced a value
 *   GET    <prefix>/KEY  200 and the value, with the Content-Type the PUT
 *                        gave (application/octet-stream if none); 404 if
 *                        the key is absent.  HEAD answers as GET.
 *   DELETE <prefix>/KEY  204, or 404 if the key is absent
 *   anything else        405 with Allow
 *
 * KEY is the rest of the path exactly as received (not percent-decoded):
 * 1 to 250 bytes without '/'; anything else is 400.  The route config,
 * read with the ABI 1.2 accessors (an unknown key is refused at start-up):
 *   {"max_keys": 1024, "max_value": 65536}
 * A value longer than max_value bytes gets 413 Content Too Large; a new key
 * when max_keys are stored gets 507 Insufficient Storage (RFC 4918 section
 * 11.5: the request was fine, the store is full), as does running out of
 * memory.  So the store holds at most about max_keys * (max_value + 400)
 * bytes.  The server's own body limit (limits.body, routes[].body_limit)
 * applies first: a body above it is answered 413 before the module runs.
 *
 * The store is the route's state, and a route's state exists once per
 * worker process (each worker runs init for itself).  With "workers" above
 * 1 every worker has its own store, and a client sees whichever worker
 * accepted its connection: run it with "workers": 0 or 1, as
 * tests/integration/examples.py does.  A real store would keep the data
 * outside the workers (a database, shared memory) - what this one shows is
 * the module's side: state made in init and freed in fini, config checked
 * with the accessors, request bodies and headers, status codes.
 *
 * Build it out of tree against an installed Haywire:
 *   cc -O2 -shared -fPIC $(pkg-config --cflags haywire) -Wl,-z,defs -o kv.so kv.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

#define MAX_KEY 250  /* memcached's bound: long enough, and one line */
#define MAX_TYPE 127 /* a media type with a parameter or two */
#define MAX_BUCKETS 65536

/* One stored value.  Key, type and value share one allocation, so that a
 * PUT that replaces a value builds the new entry completely before it
 * unlinks the old one: when memory runs out the old value is still there. */
typedef struct kv_entry {
  struct kv_entry *next; /* the bucket's chain */
  uint64_t hash;
  size_t key_len, type_len, value_len;
  char data[]; /* key, type, value */
} kv_entry;

typedef struct kv_store {
  const hw_host *host;
  int64_t max_keys, max_value;
  size_t count;
  size_t mask; /* buckets - 1, a power of two minus one */
  kv_entry **buckets;
} kv_store;

static const char *entry_type(const kv_entry *e) {
  return e->data + e->key_len;
}
static const char *entry_value(const kv_entry *e) {
  return e->data + e->key_len + e->type_len;
}

/* FNV-1a: short, and good enough for keys a client chose (a store facing
 * hostile clients would use a keyed hash such as SipHash, so that nobody
 * can pile every key into one chain). */
static uint64_t hash_key(hw_str key) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < key.len; i++) {
    h ^= (unsigned char)key.data[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* The link that points to `key`'s entry, or to the NULL at the end of its
 * chain: lookup, insertion and removal all start here. */
static kv_entry **find(kv_store *kv, hw_str key, uint64_t h) {
  kv_entry **p = &kv->buckets[h & kv->mask];
  while (*p != NULL && !((*p)->hash == h && (*p)->key_len == key.len &&
                         memcmp((*p)->data, key.data, key.len) == 0))
    p = &(*p)->next;
  return p;
}

/* Reads an optional integer in [lo, hi]; 0 or -1 with the reason in err.
 * Absent leaves *out (the default) alone. */
static int conf_range(const hw_host *host, const hw_conf *conf, const char *key,
                      int64_t lo, int64_t hi, int64_t *out, char *err,
                      size_t err_len) {
  char what[64];
  int r = host->conf_int(conf, key, out, err, err_len);
  if (r == HW_ENOENT)
    return 0;
  if (r != 0)
    return -1; /* err says "routes[N].config.KEY: expected an integer..." */
  if (*out < lo || *out > hi) {
    snprintf(what, sizeof(what), "must be from %lld to %lld", (long long)lo,
             (long long)hi);
    host->conf_error(conf, key, what, err, err_len);
    return -1;
  }
  return 0;
}

static int kv_init(const hw_host *host, const char *config, size_t config_len,
                   void **state, char *err, size_t err_len) {
  static const char *const keys[] = {"max_keys", "max_value", NULL};
  int64_t max_keys = 1024, max_value = 65536;
  const hw_conf *conf;
  kv_store *kv;
  size_t n = 16;

  (void)config_len;
  if (!HW_HOST_HAS(host, conf_error)) {
    snprintf(err, err_len, "kv: needs a server with ABI 1.2");
    return -1;
  }
  conf = host->config(config);
  /* A misspelt option ("max_key") fails here, naming route and key,
   * instead of silently meaning the default. */
  if (host->conf_keys(conf, keys, err, err_len) != 0 ||
      conf_range(host, conf, "max_keys", 1, 1000000, &max_keys, err, err_len) !=
          0 ||
      conf_range(host, conf, "max_value", 0, 1 << 30, &max_value, err,
                 err_len) != 0)
    return -1;
  /* About one bucket per key, so that chains stay short, up to a bound:
   * calloc'd pages are only touched as keys arrive. */
  while (n < (size_t)max_keys && n < MAX_BUCKETS)
    n *= 2;
  kv = calloc(1, sizeof(*kv));
  if (kv == NULL || (kv->buckets = calloc(n, sizeof(*kv->buckets))) == NULL) {
    free(kv);
    snprintf(err, err_len, "kv: out of memory");
    return -1;
  }
  kv->host = host;
  kv->max_keys = max_keys;
  kv->max_value = max_value;
  kv->mask = n - 1;
  *state = kv;
  return 0;
}

/* A short text/plain answer: the reason, for a human reading curl's
 * output. */
static hw_handle_result reply(const hw_host *host, hw_response *res, int status,
                              const char *text) {
  if (host->set_status(res, status) != 0 ||
      host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0 ||
      host->write(res, text, strlen(text)) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static int is_method(hw_str m, const char *name) {
  return m.len == strlen(name) && memcmp(m.data, name, m.len) == 0;
}

/* A media type as a header field value may carry it: visible ASCII,
 * spaces and tabs (RFC 9110 section 5.5), bounded.  Checked at PUT, so
 * that the GETs that send it back cannot fail on it. */
static int valid_type(hw_str t) {
  if (t.len == 0 || t.len > MAX_TYPE)
    return 0;
  for (size_t i = 0; i < t.len; i++) {
    unsigned char c = (unsigned char)t.data[i];
    if (c != '\t' && (c < 0x20 || c > 0x7e))
      return 0;
  }
  return 1;
}

static hw_handle_result kv_put(kv_store *kv, hw_request *req, hw_response *res,
                               hw_str key, uint64_t h) {
  const hw_host *host = kv->host;
  hw_str body = host->body(req);
  hw_str type = {"", 0};
  kv_entry **link = find(kv, key, h), *e;
  int replacing = *link != NULL;

  if (host->header(req, "Content-Type", 12, &type) == 0 && !valid_type(type))
    return reply(host, res, 400, "kv: unusable Content-Type\n");
  if (body.len > (uint64_t)kv->max_value)
    return reply(host, res, 413, "kv: the value is larger than max_value\n");
  if (!replacing && kv->count >= (size_t)kv->max_keys)
    return reply(host, res, 507, "kv: the store is full (max_keys)\n");
  e = malloc(sizeof(*e) + key.len + type.len + body.len);
  if (e == NULL)
    return reply(host, res, 507, "kv: out of memory\n");
  e->hash = h;
  e->key_len = key.len;
  e->type_len = type.len;
  e->value_len = body.len;
  memcpy(e->data, key.data, key.len);
  /* body.data and type.data may be NULL when empty: memcpy(NULL, 0) is
   * undefined behaviour even though it copies nothing. */
  if (type.len > 0)
    memcpy(e->data + key.len, type.data, type.len);
  if (body.len > 0)
    memcpy(e->data + key.len + type.len, body.data, body.len);
  if (replacing) {
    e->next = (*link)->next;
    free(*link);
  } else {
    e->next = NULL;
    kv->count++;
  }
  *link = e;
  if (host->set_status(res, replacing ? 204 : 201) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static hw_handle_result kv_handle(void *state, hw_request *req,
                                  hw_response *res) {
  kv_store *kv = state;
  const hw_host *host = kv->host;
  hw_str method = host->method(req), rest = host->rest(req), key;
  kv_entry **link, *e;
  uint64_t h;

  /* rest is "/KEY" (or "" for the prefix itself). */
  key.data = rest.len > 0 ? rest.data + 1 : rest.data;
  key.len = rest.len > 0 ? rest.len - 1 : 0;
  if (key.len == 0 || key.len > MAX_KEY || memchr(key.data, '/', key.len))
    return reply(host, res, 400,
                 "kv: the path must be <prefix>/KEY, KEY 1 to 250 bytes "
                 "without '/'\n");
  h = hash_key(key);

  if (is_method(method, "GET") || is_method(method, "HEAD")) {
    e = *find(kv, key, h);
    if (e == NULL)
      return reply(host, res, 404, "kv: no such key\n");
    /* write copies the value: a DELETE or PUT that comes while this
     * response is still being sent cannot pull the bytes from under it
     * (write_ref would need the entry kept alive until its free callback,
     * that is a reference count). */
    if (e->type_len > 0 ? host->add_header(res, "Content-Type", 12,
                                           entry_type(e), e->type_len) != 0
                        : host->add_header(res, "Content-Type", 12,
                                           "application/octet-stream", 24) != 0)
      return HW_ERROR;
    if (host->write(res, entry_value(e), e->value_len) != 0)
      return HW_ERROR;
    return HW_HANDLED;
  }
  if (is_method(method, "PUT"))
    return kv_put(kv, req, res, key, h);
  if (is_method(method, "DELETE")) {
    link = find(kv, key, h);
    if (*link == NULL)
      return reply(host, res, 404, "kv: no such key\n");
    e = *link;
    *link = e->next;
    free(e);
    kv->count--;
    if (host->set_status(res, 204) != 0)
      return HW_ERROR;
    return HW_HANDLED;
  }
  /* RFC 9110 section 15.5.6: a 405 lists the methods the target has. */
  if (host->add_header(res, "Allow", 5, "GET, HEAD, PUT, DELETE", 22) != 0)
    return HW_ERROR;
  return reply(host, res, 405, "kv: method not allowed\n");
}

static void kv_fini(void *state) {
  kv_store *kv = state;
  for (size_t i = 0; i <= kv->mask; i++) {
    kv_entry *e = kv->buckets[i];
    while (e != NULL) {
      kv_entry *next = e->next;
      free(e);
      e = next;
    }
  }
  free(kv->buckets);
  free(kv);
}

HW_MODULE_DEFINE("kv", "1.0", kv_init, kv_handle, kv_fini);
