/*
 * dl_posix.c - loading modules on POSIX (see dl.h): dlopen with RTLD_NOW
 * (every symbol bound at once) and RTLD_NOLOAD (is it still loaded), and
 * dladdr (which object an address lies in).
 */
#include "autoconf.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dl.h"

void *hw__dl_open_now(const char *path, char *why, size_t why_len) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    const char *colon = e != NULL ? strstr(e, ": ") : NULL;
    snprintf(why, why_len, "cannot load: %s",
             e == NULL ? "unknown error"
             : colon != NULL && strncmp(e, path, strlen(path)) == 0 ? colon + 2
                                                                    : e);
  }
  return h;
}

void hw__dl_close(void *handle) { dlclose(handle); }

int hw__dl_loaded(const char *path) {
  /* RTLD_NOLOAD finds an object already in the process without loading
   * it; a hit means dlclose did not really unload it. */
  void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (h == NULL)
    return 0;
  dlclose(h);
  return 1;
}

int hw__dl_owns(const void *known, const void *addr) {
  Dl_info self, other;
  if (addr == NULL || dladdr(known, &self) == 0 || dladdr(addr, &other) == 0)
    return 0;
  return self.dli_fbase == other.dli_fbase;
}
