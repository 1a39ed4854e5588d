/*
 * module.c - a Haywire module to start from (installed by `make install`
 * under $(datadir)/haywire/template; `make` beside it builds module.so
 * with pkg-config).  It answers every request on its route with a
 * greeting taken from the route's config:
 *
 *   {"prefix": "/greet", "module": "module.so", "config": {"greeting": "hi"}}
 *
 * The module links no server symbol: everything it asks of the server comes
 * through the `hw_host` table handed to init.  See haywire-module(3) and
 * the README's "Write your own module" for the whole contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"

/* One route's state, from init to fini. */
typedef struct greet {
  const hw_host *host;
  char text[256];
  size_t len;
} greet;

static int greet_init(const hw_host *host, const char *config,
                      size_t config_len, void **state, char *err,
                      size_t err_len) {
  static const char *const keys[] = {"greeting", NULL};
  hw_str word = {"hello", 5};
  const hw_conf *conf;
  greet *g;

  (void)config_len;
  /* The config accessors are ABI 1.2: a host without them is too old. */
  if (!HW_HOST_HAS(host, conf_error)) {
    snprintf(err, err_len, "greet: needs a server with ABI 1.2 or later");
    return -1;
  }
  conf = host->config(config);
  /* An unknown key is a typo the operator wants to hear about now. */
  if (host->conf_keys(conf, keys, err, err_len) != 0)
    return -1;
  if (host->conf_string(conf, "greeting", &word, err, err_len) == HW_EINVAL)
    return -1; /* err names the place: routes[N].config.greeting */
  g = calloc(1, sizeof(*g));
  if (g == NULL) {
    snprintf(err, err_len, "greet: out of memory");
    return -1;
  }
  g->host = host;
  g->len = (size_t)snprintf(g->text, sizeof(g->text), "%.*s\n",
                            (int)(word.len < 200 ? word.len : 200),
                            word.data);
  *state = g;
  return 0;
}

static hw_handle_result greet_handle(void *state, hw_request *req,
                                     hw_response *res) {
  greet *g = state;
  const hw_host *host = g->host;

  (void)req;
  /* The body is copied before write returns; HEAD gets the head only. */
  if (host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0 ||
      host->write(res, g->text, g->len) != 0)
    return HW_ERROR; /* the host answers 500 and logs the route */
  return HW_HANDLED;
}

static void greet_fini(void *state) { free(state); }

HW_MODULE_DEFINE("greet", "1.0", greet_init, greet_handle, greet_fini);
