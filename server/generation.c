/*
 * generation.c - a generation is one complete, immutable configuration: the
 * parsed config, the loaded modules, one module state per route and the route
 * table (see generation.h).
 *
 * Building is all-or-nothing: if any module fails to load or any route's init
 * fails, everything built so far is finalised and unloaded and the caller
 * gets one line saying which file failed and why.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generation.h"
#include "modconf.h"
#include "timer.h"
#include "tls_ctx.h"

static hw__module *find_module(hw__generation *g, const char *path) {
  for (size_t i = 0; i < g->nmodules; i++)
    if (strcmp(g->modules[i]->path, path) == 0)
      return g->modules[i];
  return NULL;
}

int hw__generation_build(hw__config *cfg, unsigned id, const hw_host *host,
                         hw__generation **out, char *err, size_t err_len) {
  hw__generation *g;
  char why[1024];
  int r;

  *out = NULL;
  g = calloc(1, sizeof(*g));
  if (g == NULL) {
    hw__config_free(cfg);
    snprintf(err, err_len, "out of memory");
    return UV_ENOMEM;
  }
  g->id = id;
  g->config = cfg;
  g->health_len = cfg->health_len;
  g->router = hw__router_new();
  g->routes = calloc(cfg->nroutes + 1, sizeof(*g->routes));
  g->modules = calloc(cfg->nroutes + 1, sizeof(*g->modules));
  if (g->router == NULL || g->routes == NULL || g->modules == NULL) {
    snprintf(err, err_len, "%s: out of memory", cfg->path);
    r = UV_ENOMEM;
    goto fail;
  }

  /* The TLS contexts first: a certificate that does not load is cheaper
   * to find than a module's init. */
  g->tls = calloc(cfg->nlisten + 1, sizeof(*g->tls));
  if (g->tls == NULL) {
    snprintf(err, err_len, "%s: out of memory", cfg->path);
    r = UV_ENOMEM;
    goto fail;
  }
  for (size_t i = 0; i < cfg->nlisten; i++) {
    char key[32];
    if (cfg->tls == NULL || cfg->tls[i].ncerts == 0)
      continue;
    snprintf(key, sizeof(key), "listen[%zu]", i);
    if ((r = hw__tls_ctx_build(&cfg->tls[i], key, &g->tls[i], why,
                               sizeof(why))) != 0) {
      snprintf(err, err_len, "%s: %s", cfg->path, why);
      goto fail;
    }
  }

  /* Load each distinct file once; several routes may share it, each with
   * its own state. */
  for (size_t i = 0; i < cfg->nroutes; i++) {
    hw__route_conf *rc = &cfg->routes[i];
    hw__module *m = find_module(g, rc->module_path);
    if (m == NULL) {
      r = hw__module_load(rc->module_path, &m, why, sizeof(why));
      if (r != 0) {
        snprintf(err, err_len, "%s: routes[%zu].module: %s", cfg->path, i,
                 why);
        goto fail;
      }
      g->modules[g->nmodules++] = m;
    }
    g->routes[i].prefix = rc->prefix;
    g->routes[i].prefix_len = strlen(rc->prefix);
    g->routes[i].module = m;
    g->routes[i].gen = g;
    g->routes[i].site.prefix = rc->prefix;
    g->routes[i].site.route = (unsigned)i;
    g->routes[i].site.gen = id;
    g->routes[i].body_stream = rc->body_stream;
    g->routes[i].body_limit = rc->body_limit;
  }
  g->nroutes = cfg->nroutes;

  for (size_t i = 0; i < g->nroutes; i++) {
    hw__route *rt = &g->routes[i];
    hw__route_conf *rc = &cfg->routes[i];
    char place[64];
    int failed;
    why[0] = '\0';
    /* The config accessors (ABI 1.2) read this route's config while its
     * init runs, and name it in their complaints. */
    hw__modconf_begin(i, rc->config_json, rc->config_len);
    failed = hw__module_init(rt->module, &rt->site, host, rc->config_json,
                             rc->config_len, &rt->state, why, sizeof(why));
    hw__modconf_end();
    if (failed) {
      why[sizeof(why) - 1] = '\0';
      snprintf(place, sizeof(place), "routes[%zu].config", i);
      /* A complaint of the accessors already names the place. */
      if (strncmp(why, place, strlen(place)) == 0)
        snprintf(err, err_len, "%s: %s (%s: init failed)", cfg->path, why,
                 rt->module->path);
      else
        snprintf(err, err_len, "%s: %s: %s: init failed: %s", cfg->path,
                 place, rt->module->path,
                 why[0] ? why : "(no reason given)");
      r = UV_EINVAL;
      goto fail;
    }
    rt->inited = 1;
    r = hw__router_add(g->router, rt->prefix, rt->prefix_len, rt);
    if (r != 0) {
      snprintf(err, err_len, "%s: routes[%zu].prefix: %s", cfg->path, i,
               r == UV_EEXIST ? "duplicate prefix" : "cannot be routed");
      goto fail;
    }
  }
  *out = g;
  return 0;

fail:
  /* The user knows the file they named, not its private copy. */
  hw__config_user_paths(cfg, err, err_len);
  hw__generation_free(g);
  return r;
}

void hw__generation_fini(hw__generation *g) {
  /* Routes are finalised in reverse order of init, like destructors. */
  for (size_t i = g->nroutes; i-- > 0;) {
    hw__route *rt = &g->routes[i];
    if (rt->inited)
      hw__module_fini(rt->module, &rt->site, rt->state);
    rt->inited = 0;
  }
  /* Timers its modules left running (started in fini too) call into code
   * that is about to be unloaded: they stop here. */
  hw__timer_stop_owner(g);
}

void hw__generation_abort(hw__generation *g) {
  for (size_t i = 0; i < g->nroutes; i++)
    if (g->routes[i].inited)
      hw__module_abort(g->routes[i].module, &g->routes[i].site,
                       g->routes[i].state);
}

void hw__generation_free(hw__generation *g) {
  if (g == NULL)
    return;
  hw__generation_fini(g);
  for (size_t i = 0; i < g->nmodules; i++)
    hw__module_unload(g->modules[i]);
  for (size_t i = 0; g->tls != NULL && i < g->config->nlisten; i++)
    hw__tls_ctx_unref(g->tls[i]);
  free(g->tls);
  free(g->modules);
  free(g->routes);
  hw__router_free(g->router);
  hw__config_free(g->config);
  free(g);
}
