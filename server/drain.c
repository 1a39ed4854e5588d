/*
 * drain.c - a worker's retired generations (see drain.h).
 *
 * Unloading is careful: the modules of a finished generation are unloaded
 * no earlier than a later loop iteration than their fini, and only when no
 * libuv handle still has a callback in their code (checked with uv_walk
 * and dladdr), since unmapping code that a pending callback points into
 * would crash the process later.  A module that dlclose keeps mapped is
 * reported.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "listen.h"
#include "log.h"
#include "work.h"

#define REAPER_MS 100

typedef struct walk_ctx {
  const hw__generation *g;
  const char *what;
} walk_ctx;

static int owned(const hw__generation *g, const void *fn) {
  for (size_t i = 0; i < g->nmodules; i++)
    if (hw__module_owns(g->modules[i], fn))
      return 1;
  return 0;
}

/* Does `h` have a callback in the generation's code? */
static void walk_cb(uv_handle_t *h, void *arg) {
  walk_ctx *ctx = arg;
  const void *fns[4] = {(const void *)h->close_cb, NULL, NULL, NULL};

  if (ctx->what != NULL)
    return;
  if (!uv_is_closing(h)) {
    switch (h->type) {
    case UV_TIMER: fns[1] = (const void *)((uv_timer_t *)h)->timer_cb; break;
    case UV_IDLE: fns[1] = (const void *)((uv_idle_t *)h)->idle_cb; break;
    case UV_CHECK: fns[1] = (const void *)((uv_check_t *)h)->check_cb; break;
    case UV_PREPARE:
      fns[1] = (const void *)((uv_prepare_t *)h)->prepare_cb;
      break;
    case UV_ASYNC: fns[1] = (const void *)((uv_async_t *)h)->async_cb; break;
    case UV_POLL: fns[1] = (const void *)((uv_poll_t *)h)->poll_cb; break;
    case UV_SIGNAL: fns[1] = (const void *)((uv_signal_t *)h)->signal_cb; break;
    case UV_PROCESS: fns[1] = (const void *)((uv_process_t *)h)->exit_cb; break;
    case UV_FS_EVENT: fns[1] = (const void *)((uv_fs_event_t *)h)->cb; break;
    case UV_TCP:
    case UV_NAMED_PIPE:
    case UV_TTY:
      fns[1] = (const void *)((uv_stream_t *)h)->read_cb;
      fns[2] = (const void *)((uv_stream_t *)h)->alloc_cb;
      /* A listener a module left open would call into unloaded code. */
      fns[3] = (const void *)hw__listen_callback((const uv_stream_t *)h);
      break;
    case UV_UDP:
      fns[1] = (const void *)((uv_udp_t *)h)->recv_cb;
      fns[2] = (const void *)((uv_udp_t *)h)->alloc_cb;
      break;
    default: break;
    }
  }
  for (size_t i = 0; i < 4; i++)
    if (fns[i] != NULL && owned(ctx->g, fns[i])) {
      ctx->what = uv_handle_type_name(h->type);
      return;
    }
}

/* The deadline passed with requests still held: tell the modules, then cut
 * off what is left by closing those connections; the requests are unpinned
 * so the generation can go. */
static void drain_deadline(hw__drain *d, hw__generation *g) {
  size_t held = g->live;

  hw__generation_abort(g);
  hw__request_cancel_generation(g);
  hw__work_cancel_generation(g);
  hw__log(HW_LOG_WARN,
          "generation %u: drain deadline (%llu ms) passed with %zu request(s) "
          "held; their connections were closed",
          g->id, (unsigned long long)d->drain_ms, held);
}

static void release(hw__drain *d, hw__generation *g) {
  char **paths = calloc(g->nmodules + 1, sizeof(char *));
  size_t n = g->nmodules;
  unsigned id = g->id;

  for (size_t i = 0; paths != NULL && i < n; i++)
    paths[i] = strdup(g->modules[i]->path);
  /* The note page's route is compared by address: a route of the next
   * generation may be allocated where this one was. */
  hw__module_note_forget();
  hw__generation_free(g);
  /* dlclose may keep an object (a C++ module with unique symbols, or one
   * another object depends on): say so rather than believe it is gone. */
  for (size_t i = 0; paths != NULL && i < n; i++) {
    if (paths[i] != NULL && hw__module_is_mapped(paths[i]))
      hw__log(HW_LOG_WARN,
              "generation %u: %s could not be unloaded and stays mapped", id,
              paths[i]);
    free(paths[i]);
  }
  free(paths);
  if (d->released != NULL)
    d->released(d, id);
}

static void reap(hw__drain *d, int final) {
  hw__generation **pp = &d->retired;

  d->ticks++;
  while (*pp != NULL) {
    hw__generation *g = *pp;
    if (g->state == HW__GEN_DRAINING) {
      if (g->live > 0 && uv_now(d->loop) - g->retired_at >= d->drain_ms)
        drain_deadline(d, g);
      /* Work still on a thread runs module code: it must end first. */
      if (g->live == 0 && g->work == 0) {
        hw__generation_fini(g);
        g->state = HW__GEN_FINISHED;
        g->fini_tick = d->ticks;
        hw__log(HW_LOG_INFO, "generation %u drained: modules finalised", g->id);
      }
    } else if (g->state == HW__GEN_FINISHED &&
               (final || d->ticks > g->fini_tick)) {
      walk_ctx ctx = {g, NULL};
      if (!final)
        uv_walk(d->loop, walk_cb, &ctx);
      if (ctx.what == NULL) {
        *pp = g->next;
        release(d, g);
        continue;
      }
      if (!g->unload_warned)
        hw__log(HW_LOG_WARN,
                "generation %u: a %s handle still has a callback in its "
                "modules; unloading them later",
                g->id, ctx.what);
      g->unload_warned = 1;
    }
    pp = &g->next;
  }
  if (d->retired == NULL && !final)
    uv_timer_stop(&d->reaper);
}

static void on_reaper(uv_timer_t *t) {
  reap(hw__bytes_container_of(t, hw__drain, reaper), 0);
}

void hw__drain_retire(hw__drain *d, hw__generation *g) {
  g->state = HW__GEN_DRAINING;
  g->retired_at = uv_now(d->loop);
  g->next = d->retired;
  d->retired = g;
  if (!uv_is_active((uv_handle_t *)&d->reaper))
    uv_timer_start(&d->reaper, on_reaper, REAPER_MS, REAPER_MS);
}

void hw__drain_init(hw__drain *d, uv_loop_t *loop, hw__request_core *core) {
  memset(d, 0, sizeof(*d));
  d->loop = loop;
  d->core = core;
  uv_timer_init(loop, &d->reaper);
  uv_unref((uv_handle_t *)&d->reaper);
}

size_t hw__drain_live(const hw__drain *d) {
  size_t n = 0;
  for (const hw__generation *g = d->retired; g != NULL; g = g->next)
    n += g->live;
  return n;
}

void hw__drain_stop(hw__drain *d) {
  for (hw__generation *g = d->retired; g != NULL; g = g->next) {
    hw__generation_fini(g);
    g->state = HW__GEN_FINISHED;
  }
  if (d->loop == NULL)
    return; /* never set up */
  uv_timer_stop(&d->reaper);
  if (!uv_is_closing((uv_handle_t *)&d->reaper))
    uv_close((uv_handle_t *)&d->reaper, NULL);
}

void hw__drain_destroy(hw__drain *d) {
  reap(d, 1); /* the loop has ended: nothing can call into the modules */
}
