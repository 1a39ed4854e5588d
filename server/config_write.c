/*
 * config_write.c - a configuration written back as routes.json text (see
 * config_write.h): every key the reader knows, with its value in force
 * (defaults included), modules and files as absolute paths.  The other
 * user of jansson on the configuration's side: config.c reads, this
 * writes, config_listen.c does both for one listen entry.
 */
#include "autoconf.h"

#include <stdlib.h>

#include <jansson.h>

#include "config_listen.h"
#include "config_write.h"

static json_t *access_log_json(const hw__config_alog *a) {
  if (a->mode != HW__ALOG_ON)
    return json_false();
  return json_pack("{s:s,s:s}", "path", a->path, "format",
                   a->json ? "json" : "combined");
}

char *hw__config_write_json(const hw__config *cfg) {
  json_t *root = json_object(), *listen = json_array(), *routes = json_array();
  json_t *limits = json_object(), *timeouts = json_object();
  json_t *http2 = json_object();
  char *text = NULL;
  int bad = root == NULL || listen == NULL || routes == NULL ||
            limits == NULL || timeouts == NULL || http2 == NULL;

  for (size_t i = 0; !bad && i < cfg->nlisten; i++)
    bad |= json_array_append_new(
        listen, hw__config_listen_json(&cfg->listen[i], &cfg->tls[i]));
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
#define LIMIT(name, field, unit, dflt)                                         \
  bad |= json_object_set_new(limits, #name,                                    \
                             json_integer((json_int_t)cfg->field));
    HW__CONFIG_LIMITS(LIMIT)
#undef LIMIT
#define TIMEOUT(name, field, lo, dflt)                                         \
  bad |= json_object_set_new(timeouts, #name,                                  \
                             json_integer((json_int_t)cfg->field));
    HW__CONFIG_TIMEOUTS(TIMEOUT)
#undef TIMEOUT
    /* max_header_list_size as read: 0 stays 0 ("limits.header_bytes"),
     * so that the snapshot keeps the tie to header_bytes. */
#define HTTP2(name, field, lo, hi, dflt)                                       \
  bad |= json_object_set_new(http2, #name,                                     \
                             json_integer((json_int_t)cfg->field));
    HW__CONFIG_HTTP2(HTTP2)
#undef HTTP2
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
    bad |= json_object_set(root, "http2", http2);
    bad |= json_object_set_new(root, "access_log",
                               access_log_json(&cfg->access_log));
    if (cfg->health_route != NULL)
      bad |= json_object_set_new(root, "health_route",
                                 json_string(cfg->health_route));
    bad |= json_object_set(root, "routes", routes);
  }
  if (!bad)
    text = json_dumps(root, JSON_INDENT(2));
  json_decref(listen);
  json_decref(routes);
  json_decref(limits);
  json_decref(timeouts);
  json_decref(http2);
  json_decref(root);
  return text;
}
