/*
 * module.c - loads a module's shared object and checks its descriptor.
 *
 * The loader refuses, with one line naming the file and the reason, anything
 * that is not a Haywire module this server can drive: no descriptor symbol,
 * another ABI major, a descriptor smaller than the first published layout,
 * or a missing init/handle.  It does not call init: that is per route and
 * belongs to the generation being built (generation.c).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The size of the first published hw_module (ABI 1.0): everything up to and
 * including `fini`.  A module built against 1.0 has no `abort` member, so a
 * descriptor of this size is complete; anything smaller is not a module. */
#define HW_MODULE_MIN_SIZE (offsetof(hw_module, fini) + sizeof(void (*)(void *)))

static int refuse(hw__module *m, char *err, size_t err_len, const char *path,
                  const char *reason) {
  snprintf(err, err_len, "%s: %s", path, reason);
  if (m != NULL) {
    uv_dlclose(&m->lib);
    free(m->path);
    free(m);
  }
  return UV_EINVAL;
}

int hw__module_load(const char *path, hw__module **out, char *err,
                    size_t err_len) {
  hw__module *m;
  const hw_module *d;
  void *sym = NULL, *now;
  char why[256];
  int r;

  *out = NULL;
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    return refuse(NULL, err, err_len, path, "out of memory");
  m->path = strdup(path);
  if (m->path == NULL) {
    free(m);
    return refuse(NULL, err, err_len, path, "out of memory");
  }
  /* uv_dlopen binds lazily: a symbol the module needs but no library
   * provides would only fail on the first request that calls it.  Opening
   * once with RTLD_NOW first binds everything now, or fails here. */
  now = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (now == NULL) {
    const char *e = dlerror();
    const char *colon = e != NULL ? strstr(e, ": ") : NULL;
    snprintf(why, sizeof(why), "cannot load: %s",
             e == NULL ? "unknown error"
             : colon != NULL && strncmp(e, path, strlen(path)) == 0 ? colon + 2
                                                                  : e);
    free(m->path);
    free(m);
    return refuse(NULL, err, err_len, path, why);
  }
  r = uv_dlopen(path, &m->lib);
  dlclose(now); /* uv_dlopen holds its own reference */
  if (r != 0) {
    /* dlerror() already names the file; keep only its reason. */
    const char *e = uv_dlerror(&m->lib);
    const char *colon = e != NULL ? strstr(e, ": ") : NULL;
    snprintf(why, sizeof(why), "cannot load: %s",
             colon != NULL && strncmp(e, path, strlen(path)) == 0 ? colon + 2
                                                                  : e);
    return refuse(m, err, err_len, path, why);
  }
  if (uv_dlsym(&m->lib, HW_MODULE_SYMBOL, &sym) != 0 || sym == NULL)
    return refuse(m, err, err_len, path,
                  "no " HW_MODULE_SYMBOL " symbol (not a Haywire module)");
  d = sym;
  if (d->abi_major != HW_ABI_MAJOR) {
    snprintf(why, sizeof(why), "ABI major %u, this server speaks %d",
             (unsigned)d->abi_major, HW_ABI_MAJOR);
    return refuse(m, err, err_len, path, why);
  }
  if (d->size < HW_MODULE_MIN_SIZE) {
    snprintf(why, sizeof(why), "descriptor too small (%zu bytes, need %zu)",
             d->size, (size_t)HW_MODULE_MIN_SIZE);
    return refuse(m, err, err_len, path, why);
  }
  if (d->init == NULL)
    return refuse(m, err, err_len, path, "descriptor has no init function");
  if (d->handle == NULL)
    return refuse(m, err, err_len, path, "descriptor has no handle function");
  m->desc = d;
  *out = m;
  return 0;
}

void hw__module_unload(hw__module *m) {
  if (m == NULL)
    return;
  uv_dlclose(&m->lib);
  free(m->path);
  free(m);
}

int hw__module_is_mapped(const char *path) {
  /* RTLD_NOLOAD finds an object already in the process without loading
   * it; a hit means dlclose did not really unload it. */
  void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (h == NULL)
    return 0;
  dlclose(h);
  return 1;
}

int hw__module_owns(const hw__module *m, const void *addr) {
  Dl_info self, other;
  if (addr == NULL || dladdr(m->desc, &self) == 0 ||
      dladdr(addr, &other) == 0)
    return 0;
  return self.dli_fbase == other.dli_fbase;
}
