/*
 * h2_env.c - what a worker's HTTP/2 connections share (see h2_env.h): the
 * nghttp2 option table that bounds what a client may make the server do,
 * the settings each new connection announces, the one timer that keeps
 * every stream's clocks, and the idle handle that gives output that
 * filled a batch its next one.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "h2_env.h"

/* Once a second, every connection's clocks. */
static void sweep(uv_timer_t *timer) {
  hw__h2_env *env = timer->data;
  uint64_t now = uv_now(env->loop);
  uint32_t elapsed = (uint32_t)(now - env->swept);
  env->swept = now;
  for (hw__h2_env_node *n = env->conns, *next; n != NULL; n = next) {
    next = n->next;
    env->hooks->sweep(n, now, elapsed);
  }
}

void hw__h2_env_link(hw__h2_env *env, hw__h2_env_node *node) {
  node->prev = NULL;
  node->next = env->conns;
  if (node->next != NULL)
    node->next->prev = node;
  env->conns = node;
  if (env->sweep != NULL && !uv_is_active((uv_handle_t *)env->sweep)) {
    env->swept = uv_now(env->loop);
    uv_timer_start(env->sweep, sweep, 1000, 1000);
  }
}

/* The connections whose output is due, each once: taken off the list
 * first, so that one asking again (its next batch filled too) waits for
 * the next turn.  A connection unlinked meanwhile (closed by another's
 * module code) has `due` cleared; its memory lasts until the loop's close
 * phase, after this one. */
static void output(uv_idle_t *idle) {
  hw__h2_env *env = idle->data;
  hw__h2_env_node *n = env->due;
  env->due = NULL;
  uv_idle_stop(idle);
  while (n != NULL) {
    hw__h2_env_node *next = n->due_next;
    n->due_next = NULL;
    if (n->due) {
      n->due = 0;
      env->hooks->output(n);
    }
    n = next;
  }
}

void hw__h2_env_due(hw__h2_env *env, hw__h2_env_node *node) {
  if (node->due || env->idle == NULL)
    return;
  node->due = 1;
  node->due_next = env->due;
  env->due = node;
  uv_idle_start(env->idle, output);
}

void hw__h2_env_unlink(hw__h2_env *env, hw__h2_env_node *node) {
  if (node->due) {
    node->due = 0;
    for (hw__h2_env_node **p = &env->due; *p != NULL; p = &(*p)->due_next)
      if (*p == node) {
        *p = node->due_next;
        break;
      }
  }
  if (node->prev != NULL)
    node->prev->next = node->next;
  else if (env->conns == node)
    env->conns = node->next;
  if (node->next != NULL)
    node->next->prev = node->prev;
  node->prev = node->next = NULL;
  if (env->conns == NULL && env->sweep != NULL)
    uv_timer_stop(env->sweep);
}

int hw__h2_env_init(hw__h2_env *env, hw__request_core *core, uv_loop_t *loop,
                    const hw__h2_env_hooks *hooks) {
  nghttp2_session_callbacks *cbs;
  memset(env, 0, sizeof(*env));
  env->core = core;
  env->loop = loop;
  env->hooks = hooks;
  if ((env->sweep = malloc(sizeof(*env->sweep))) == NULL)
    return UV_ENOMEM;
  uv_timer_init(loop, env->sweep);
  env->sweep->data = env;
  uv_unref((uv_handle_t *)env->sweep);
  if ((env->idle = malloc(sizeof(*env->idle))) == NULL)
    return UV_ENOMEM;
  uv_idle_init(loop, env->idle);
  env->idle->data = env;
  uv_unref((uv_handle_t *)env->idle);
  if (nghttp2_session_callbacks_new(&cbs) != 0 ||
      nghttp2_option_new(&env->opt) != 0)
    return UV_ENOMEM;
  env->cbs = cbs;
  hooks->callbacks(cbs);
  /* The window a request body uses is given back as its bytes are taken
   * (on_data, push). */
  nghttp2_option_set_no_auto_window_update(env->opt, 1);
  /* No priority tree is kept (RFC 9113 section 5.3.2). */
  nghttp2_option_set_no_closed_streams(env->opt, 1);
  /* The known floods, bounded (Debian's 1.52.0-1+deb12u3 has the last
   * two): SETTINGS with many entries; streams opened and reset faster than
   * 33 a second after a burst of 1000 (CVE-2023-44487, "rapid reset"),
   * answered with GOAWAY; a header block in more than 8 CONTINUATION
   * frames (CVE-2024-28182). */
  nghttp2_option_set_max_settings(env->opt, 32);
  nghttp2_option_set_stream_reset_rate_limit(env->opt, 1000, 33);
  nghttp2_option_set_max_continuations(env->opt, 8);
  /* Responses are encoded without the dynamic table (RFC 7541 section
   * 2.3.2), as nginx encodes them: each entry a connection keeps costs
   * memory for its life, idle or not, and the Date field would churn a new
   * one in every second; a response head is then about 50 bytes instead
   * of 9, and an idle connection about 0.45 KiB smaller (bench/h2). */
  nghttp2_option_set_max_deflate_dynamic_table_size(env->opt, 0);
  hw__h2_env_update(env);
  return 0;
}

void hw__h2_env_update(hw__h2_env *env) {
  const hw__config *cfg = hw__request_core_config(env->core);
  env->max_streams = cfg->h2_max_streams;
  env->window = cfg->h2_window;
  env->max_frame = cfg->h2_max_frame;
  env->max_header_list = cfg->h2_max_header_list != 0
                             ? cfg->h2_max_header_list
                             : (uint32_t)(cfg->limit_header_bytes > UINT32_MAX
                                              ? UINT32_MAX
                                              : cfg->limit_header_bytes);
  env->max_headers = cfg->limit_headers > UINT32_MAX
                         ? UINT32_MAX
                         : (uint32_t)cfg->limit_headers;
  env->clocks.head_ms = cfg->timeout_head_ms;
  env->clocks.body_idle_ms = cfg->timeout_body_idle_ms;
  env->clocks.write_ms = cfg->timeout_write_ms;
  env->clocks.keepalive_ms = cfg->timeout_keepalive_ms;
  env->clocks.body_min_rate = cfg->limit_body_min_rate;
}

static void free_handle(uv_handle_t *h) { free(h); }

void hw__h2_env_stop(hw__h2_env *env) {
  if (env->sweep != NULL) {
    uv_close((uv_handle_t *)env->sweep, free_handle);
    env->sweep = NULL;
  }
  if (env->idle != NULL) {
    uv_close((uv_handle_t *)env->idle, free_handle);
    env->idle = NULL;
  }
}

void hw__h2_env_destroy(hw__h2_env *env) {
  if (env->cbs != NULL)
    nghttp2_session_callbacks_del(env->cbs);
  if (env->opt != NULL)
    nghttp2_option_del(env->opt);
  hw__h2_streams_pool_drain(&env->pool);
  hw__h2_response_free(&env->head);
  env->cbs = NULL;
  env->opt = NULL;
}
