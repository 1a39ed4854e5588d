/*
 * module.c - module shared objects (see module.h).
 *
 * The loader refuses, with one line naming the file and the reason, anything
 * that is not a Haywire module this server can drive: no descriptor symbol,
 * another ABI major, a descriptor smaller than the first published layout,
 * or a missing init/handle.  Loading calls no module code: init is per
 * route, and the generation being built (generation.c) asks for it through
 * hw__module_init.
 *
 * Every call into module code goes through this unit, so that two things
 * are true exactly while module code runs: the note page says which route
 * (a worker under a master), and `current` is the loop serving the call,
 * which host->loop() hands out.  One loop per process, so both are
 * process-wide.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dl.h"
#include "module.h"
#include "os.h"

/* The size of the first published hw_module (ABI 1.0): everything up to and
 * including `fini`.  A module built against 1.0 has no `abort` member, so a
 * descriptor of this size is complete; anything smaller is not a module. */
#define HW_MODULE_MIN_SIZE HW__MODULE_SIZE_TO(fini)

static uv_loop_t *serving;    /* the loop module calls are made on */
static uv_loop_t *current;    /* set while module code runs */
static const hw__module_site *current_site; /* the route it runs for */
static hw__module_note *note; /* the page shared with the master */
static hw__module_site noted; /* what it names (the prefix by address) */

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
  now = hw__dl_open_now(path, why, sizeof(why));
  if (now == NULL) {
    free(m->path);
    free(m);
    return refuse(NULL, err, err_len, path, why);
  }
  r = uv_dlopen(path, &m->lib);
  hw__dl_close(now); /* uv_dlopen holds its own reference */
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
  return hw__dl_loaded(path);
}

int hw__module_owns(const hw__module *m, const void *addr) {
  return hw__dl_owns(m->desc, addr);
}

/* ---- calls into module code -------------------------------------------- */

void hw__module_serve_on(uv_loop_t *loop) {
  serving = loop;
}

uv_loop_t *hw__module_current_loop(void) {
  return current != NULL ? current : uv_default_loop();
}

const hw__module_site *hw__module_current_site(void) {
  return current_site;
}

void hw__module_note_attach(hw__module_note *page) {
  note = page;
  noted.prefix = NULL;
}

void hw__module_note_forget(void) {
  noted.prefix = NULL;
}

/* Names the route on the note page, rewritten only when it changes. */
static void note_route(const hw__module_site *site) {
  if (site->prefix == noted.prefix && site->gen == noted.gen)
    return;
  snprintf(note->prefix, sizeof(note->prefix), "%s", site->prefix);
  note->gen = site->gen;
  note->route = site->route;
  noted = *site;
}

/* The loop a call runs on and the route it serves, saved and restored
 * around it (a module may call the host, which may call another module, as
 * a deferred finish does). */
#define ENTER(site_)                                                           \
  uv_loop_t *saved = current;                                                  \
  const hw__module_site *saved_site = current_site;                            \
  current = serving != NULL ? serving : uv_default_loop();                     \
  current_site = (site_)
#define LEAVE()                                                                \
  current = saved;                                                             \
  current_site = saved_site

/* Around a call into module code on the note page: what runs and for
 * which route; what the page said before is put back after, since a
 * module's call can run another's (finishing a request of another
 * connection lets its pipelined requests in), so that a crash later in the
 * outer call is still its own. */
#define NOTE_BEGIN(what)                                                       \
  hw__module_site outer = noted;                                               \
  uint32_t busy = 0;                                                           \
  if (note != NULL) {                                                          \
    busy = note->busy;                                                         \
    note_route(site);                                                          \
    note->busy = (what);                                                       \
  }
#define NOTE_END()                                                             \
  if (note != NULL) {                                                          \
    note->busy = busy;                                                         \
    if (busy && outer.prefix != NULL)                                          \
      note_route(&outer);                                                      \
  }

int hw__module_init(const hw__module *m, const hw__module_site *site,
                    const hw_host *host, const char *config,
                    size_t config_len, void **state, char *err,
                    size_t err_len) {
  int r;
  ENTER(site);
  NOTE_BEGIN(HW__NOTE_INIT);
  r = m->desc->init(host, config, config_len, state, err, err_len);
  NOTE_END();
  LEAVE();
  return r;
}

hw_handle_result hw__module_handle(const hw__module *m,
                                   const hw__module_site *site, void *state,
                                   hw_request *req, hw_response *res) {
  hw_handle_result r;
  ENTER(site);
  if (note == NULL) {
    r = m->desc->handle(state, req, res);
  } else {
    NOTE_BEGIN(HW__NOTE_HANDLE);
    r = m->desc->handle(state, req, res);
    NOTE_END();
  }
  LEAVE();
  return r;
}

void hw__module_fini(const hw__module *m, const hw__module_site *site,
                     void *state) {
  if (m->desc->fini == NULL)
    return;
  ENTER(site);
  {
    NOTE_BEGIN(HW__NOTE_FINI);
    m->desc->fini(state);
    NOTE_END();
  }
  LEAVE();
}

void hw__module_abort(const hw__module *m, const hw__module_site *site,
                      void *state) {
  if (!HW__MODULE_HAS(m->desc, abort) || m->desc->abort == NULL)
    return;
  ENTER(site);
  m->desc->abort(state);
  LEAVE();
}

void hw__module_call_abort_cb(const hw__module_site *site, hw_abort_cb cb,
                              hw_request *req, void *arg) {
  ENTER(site);
  cb(req, arg);
  LEAVE();
}

void hw__module_call_free_cb(hw_free_cb cb, void *arg) {
  ENTER(NULL);
  cb(arg);
  LEAVE();
}

/* The callbacks of ABI 1.3 name their route on the note page, as handle
 * does: they are where a module spends its time once it defers. */
#define CALL(site_, call_)                                                     \
  do {                                                                         \
    ENTER(site_);                                                              \
    if (note == NULL) {                                                        \
      call_;                                                                   \
    } else {                                                                   \
      NOTE_BEGIN(HW__NOTE_HANDLE);                                             \
      call_;                                                                   \
      NOTE_END();                                                              \
    }                                                                          \
    LEAVE();                                                                   \
  } while (0)

void hw__module_call_timer(const hw__module_site *site, hw_timer_cb cb,
                           int64_t timer, void *arg) {
  CALL(site, cb(timer, arg));
}

void hw__module_call_done(const hw__module_site *site, hw_work_done_cb cb,
                          hw_request *req, void *arg, int status) {
  CALL(site, cb(req, arg, status));
}

void hw__module_call_writable(const hw__module_site *site, hw_writable_cb cb,
                              hw_response *res, void *arg) {
  CALL(site, cb(res, arg));
}

void hw__module_call_body(const hw__module_site *site, hw_body_cb cb,
                          hw_request *req, void *arg, hw_str piece, int end) {
  CALL(site, cb(req, arg, piece, end));
}

hw__module_note *hw__module_note_create(const char *path) {
  void *p = NULL;
  return hw__os_pages_file(path, sizeof(hw__module_note), 1, &p) == 0 ? p
                                                                     : NULL;
}

hw__module_note *hw__module_note_open(const char *path) {
  void *p = NULL;
  return hw__os_pages_file(path, sizeof(hw__module_note), 0, &p) == 0 ? p
                                                                     : NULL;
}

void hw__module_note_close(hw__module_note *page) {
  hw__os_pages_unmap((void *)page, sizeof(hw__module_note));
}

void hw__module_note_destroy(hw__module_note *page, const char *path) {
  hw__os_pages_unmap((void *)page, sizeof(hw__module_note));
  unlink(path);
}
