/*
 * echo.c - a Haywire module that describes the request back to the client
 * as JSON: {"method", "path", "query", "headers": {name: value}, "body"}.
 * Header names are lower-cased and a repeated header's values are joined
 * with ", " as HTTP allows.  It exists for tests and debugging: it shows
 * exactly what the host parsed, and the X-Worker header tells which worker
 * process answered.  The route config must be {} (or absent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "haywire.h"

typedef struct echo_state {
  const hw_host *host;
} echo_state;

/*
 * The JSON is produced in two passes over the same code: the first with
 * `out` NULL only counts bytes, the second fills a buffer of exactly that
 * size.  This keeps the output in one host->alloc block (freed with the
 * request, so nothing can leak) without a growing buffer.
 */
typedef struct emitter {
  char *out;
  size_t len;
} emitter;

static void emit(emitter *e, const char *s, size_t n) {
  /* The host may return {NULL, 0} for empty strings: never memcpy NULL. */
  if (n == 0)
    return;
  if (e->out != NULL)
    memcpy(e->out + e->len, s, n);
  e->len += n;
}

static void emit_lit(emitter *e, const char *s) { emit(e, s, strlen(s)); }

/*
 * Emits `s` as the inside of a JSON string.  Control characters become
 * \u00XX; bytes >= 0x80 are passed through untouched because the request
 * may not be UTF-8 and inventing replacement characters would hide what the
 * client really sent.  With `lower`, ASCII letters are lower-cased (for
 * header names).
 */
static void emit_escaped(emitter *e, hw_str s, int lower) {
  static const char hex[] = "0123456789abcdef";
  size_t run = 0; /* start of the current stretch of plain bytes */

  if (s.len == 0)
    return;
  for (size_t i = 0; i < s.len; i++) {
    unsigned char ch = (unsigned char)s.data[i];
    char esc[6];
    size_t esc_len;

    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      esc_len = 2;
    } else if (ch < 0x20) {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[ch >> 4];
      esc[5] = hex[ch & 0xF];
      esc_len = 6;
    } else if (lower && ch >= 'A' && ch <= 'Z') {
      esc[0] = (char)(ch - 'A' + 'a');
      esc_len = 1;
    } else {
      continue;
    }
    emit(e, s.data + run, i - run);
    emit(e, esc, esc_len);
    run = i + 1;
  }
  emit(e, s.data + run, s.len - run);
}

static void emit_string(emitter *e, hw_str s, int lower) {
  emit(e, "\"", 1);
  emit_escaped(e, s, lower);
  emit(e, "\"", 1);
}

static int name_eq(hw_str a, hw_str b) {
  if (a.len != b.len)
    return 0;
  for (size_t i = 0; i < a.len; i++) {
    unsigned char x = (unsigned char)a.data[i], y = (unsigned char)b.data[i];
    if (x >= 'A' && x <= 'Z')
      x = (unsigned char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (unsigned char)(y - 'A' + 'a');
    if (x != y)
      return 0;
  }
  return 1;
}

/*
 * Emits the "headers" object.  Each distinct name appears once, at the
 * place of its first occurrence, with all its values joined by ", ".  The
 * quadratic scan is fine: the host bounds the number of header fields, and
 * it avoids any allocation for grouping.
 */
static void emit_headers(emitter *e, const hw_host *host,
                         const hw_request *req) {
  size_t n = host->header_count(req);
  int first = 1;

  emit(e, "{", 1);
  for (size_t i = 0; i < n; i++) {
    hw_str name, value, other, other_value;
    int seen = 0, nvalues = 0;

    if (host->header_at(req, i, &name, &value) != 0)
      continue;
    for (size_t j = 0; j < i && !seen; j++)
      if (host->header_at(req, j, &other, &other_value) == 0 &&
          name_eq(name, other))
        seen = 1;
    if (seen)
      continue;
    if (!first)
      emit(e, ",", 1);
    first = 0;
    emit_string(e, name, 1);
    emit(e, ":\"", 2);
    for (size_t j = i; j < n; j++) {
      if (host->header_at(req, j, &other, &other_value) != 0 ||
          !name_eq(name, other))
        continue;
      if (nvalues++ > 0)
        emit(e, ", ", 2);
      emit_escaped(e, other_value, 0);
    }
    emit(e, "\"", 1);
  }
  emit(e, "}", 1);
}

static void emit_request(emitter *e, const hw_host *host, hw_request *req) {
  emit_lit(e, "{\"method\":");
  emit_string(e, host->method(req), 0);
  emit_lit(e, ",\"path\":");
  emit_string(e, host->path(req), 0);
  emit_lit(e, ",\"query\":");
  emit_string(e, host->query(req), 0);
  emit_lit(e, ",\"headers\":");
  emit_headers(e, host, req);
  emit_lit(e, ",\"body\":");
  emit_string(e, host->body(req), 0);
  emit(e, "}", 1);
}

static int echo_init(const hw_host *host, const char *config,
                     size_t config_len, void **state, char *err,
                     size_t err_len) {
  static const char *const none[] = {NULL};
  echo_state *st;

  /* echo takes no options: a key in its config is a misspelling worth
   * stopping for at start-up (the accessors are ABI 1.2; an older host
   * gets a plain comparison). */
  if (HW_HOST_HAS(host, conf_error)) {
    if (host->conf_keys(host->config(config), none, err, err_len) != 0)
      return -1;
  } else if (!(config_len == 2 && memcmp(config, "{}", 2) == 0)) {
    snprintf(err, err_len, "echo: takes no options");
    return -1;
  }
  st = malloc(sizeof(*st));
  if (st == NULL) {
    snprintf(err, err_len, "echo: out of memory");
    return -1;
  }
  st->host = host;
  *state = st;
  return 0;
}

static void echo_fini(void *state) { free(state); }

static hw_handle_result echo_handle(void *state, hw_request *req,
                                    hw_response *res) {
  const echo_state *st = state;
  const hw_host *host = st->host;
  emitter e = {NULL, 0};
  char pid[24];
  int pid_len;

  emit_request(&e, host, req);
  e.out = host->alloc(req, e.len);
  if (e.out == NULL)
    return HW_ERROR;
  e.len = 0;
  emit_request(&e, host, req);

  pid_len = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
  if (host->add_header(res, "Content-Type", 12, "application/json", 16) != 0 ||
      host->add_header(res, "X-Worker", 8, pid, (size_t)pid_len) != 0)
    return HW_ERROR;
  /*
   * The scratch block lives until the request is freed, which is after the
   * response has been written, so it can be handed over by reference
   * instead of being copied; no free callback is needed.
   */
  if (host->write_ref(res, e.out, e.len, NULL, NULL) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

HW_MODULE_DEFINE("echo", "1.0", echo_init, echo_handle, echo_fini);
