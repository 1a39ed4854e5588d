/*
 * hello.c - the smallest useful Haywire module.  It answers every request
 * with a fixed body, "Hello, World!" as text/plain unless the route's config
 * says otherwise: {"body": "...", "content_type": "..."}.  Everything the
 * answer needs is computed once in init, the Content-Type field prepared
 * (checked) there when the host offers it (ABI 1.1), so handling a request
 * allocates nothing and costs one copy of the field and one of the body.
 * The config is read with the host's accessors (ABI 1.2), which name the
 * route and key in every complaint; the module parses no JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

#define DEFAULT_BODY "Hello, World!"
#define DEFAULT_CONTENT_TYPE "text/plain"

typedef struct hello_state {
  const hw_host *host;
  char *body; /* a JSON string may hold NUL, hence the length */
  size_t body_len;
  char *content_type;
  size_t content_type_len;
  hw_header *field; /* the prepared Content-Type, or NULL on an older host */
} hello_state;

static char *dup_mem(const char *s, size_t len) {
  char *p = malloc(len + 1);
  if (p != NULL) {
    if (len > 0)
      memcpy(p, s, len);
    p[len] = '\0';
  }
  return p;
}

static void state_free(hello_state *st) {
  if (st == NULL)
    return;
  if (st->field != NULL)
    st->host->header_free(st->field);
  free(st->body);
  free(st->content_type);
  free(st);
}

/* Copies the string at `key` of the config, or `dflt` when it is absent. */
static int config_string(const hw_host *host, const hw_conf *conf,
                         const char *key, const char *dflt, char **out,
                         size_t *out_len, char *err, size_t err_len) {
  hw_str v = {dflt, strlen(dflt)};
  int r = conf != NULL ? host->conf_string(conf, key, &v, err, err_len)
                       : HW_ENOENT;
  if (r != 0 && r != HW_ENOENT)
    return r; /* the host wrote the reason, naming the route and key */
  *out = dup_mem(v.data, v.len);
  *out_len = v.len;
  if (*out == NULL) {
    snprintf(err, err_len, "hello: out of memory");
    return HW_ENOMEM;
  }
  return 0;
}

static int hello_init(const hw_host *host, const char *config,
                      size_t config_len, void **state, char *err,
                      size_t err_len) {
  static const char *const keys[] = {"body", "content_type", NULL};
  const hw_conf *conf = NULL;
  hello_state *st;

  /* The config accessors are ABI 1.2: an older host gets the defaults, or
   * a clear refusal when the route asks for more. */
  if (HW_HOST_HAS(host, conf_error)) {
    conf = host->config(config);
    if (host->conf_keys(conf, keys, err, err_len) != 0)
      return -1;
  } else if (!(config_len == 2 && memcmp(config, "{}", 2) == 0)) {
    snprintf(err, err_len, "hello: options need a server with ABI 1.2");
    return -1;
  }
  st = calloc(1, sizeof(*st));
  if (st == NULL) {
    snprintf(err, err_len, "hello: out of memory");
    return -1;
  }
  st->host = host;
  if (config_string(host, conf, "body", DEFAULT_BODY, &st->body,
                    &st->body_len, err, err_len) != 0 ||
      config_string(host, conf, "content_type", DEFAULT_CONTENT_TYPE,
                    &st->content_type, &st->content_type_len, err,
                    err_len) != 0) {
    state_free(st);
    return -1;
  }
  /*
   * The host refuses header values with CR or LF on every request; catching
   * them here turns a 500 on each request into one start-up error.
   */
  if (memchr(st->content_type, '\r', st->content_type_len) != NULL ||
      memchr(st->content_type, '\n', st->content_type_len) != NULL ||
      memchr(st->content_type, '\0', st->content_type_len) != NULL ||
      (HW_HOST_HAS(host, header_free) &&
       host->header_prepare("Content-Type", 12, st->content_type,
                            st->content_type_len, &st->field) != 0)) {
    if (conf != NULL)
      host->conf_error(conf, "content_type", "not a valid field value", err,
                       err_len);
    else
      snprintf(err, err_len, "hello: content_type is not a valid field value");
    state_free(st);
    return -1;
  }
  *state = st;
  return 0;
}

static hw_handle_result hello_handle(void *state, hw_request *req,
                                     hw_response *res) {
  hello_state *st = state;

  if (st->field != NULL ? st->host->add_prepared(res, st->field) != 0
                        : st->host->add_header(res, "Content-Type", 12,
                                               st->content_type,
                                               st->content_type_len) != 0)
    return HW_ERROR;
  if (st->host->write(res, st->body, st->body_len) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static void hello_fini(void *state) { state_free(state); }

HW_MODULE_DEFINE("hello", "1.0", hello_init, hello_handle, hello_fini);
