/*
 * module.h - module shared objects (module.c): loading one and checking its
 * descriptor, and every call from the server into module code.  Around each
 * call the unit records what runs: on the note page a worker shares with
 * its master (so that a crash can be pinned on a route), and the loop that
 * serves the call, which is what host->loop() answers (host.c).
 */
#ifndef HW_MODULE_H
#define HW_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "haywire.h"

/** One loaded shared object; the server's (hw__module_unload frees it). */
typedef struct hw__module {
  char *path;
  uv_lib_t lib;
  const hw_module *desc;
} hw__module;

/**
 * A page shared by a worker and its master (a file in the run directory,
 * mapped by both), so that when a worker dies the master can say which
 * route it was serving.
 */
typedef struct hw__module_note {
  volatile uint32_t busy;  /* what module code runs: HW__NOTE_* */
  volatile uint32_t gen;   /* of the route below */
  volatile uint32_t route; /* its index in routes[] */
  char prefix[244];        /* the route last called */
} hw__module_note;

/* What a note page says runs. */
enum { HW__NOTE_NONE = 0, HW__NOTE_HANDLE, HW__NOTE_INIT, HW__NOTE_FINI };

/** The route a call serves: its prefix (borrowed for the call; compared by
 *  address to know when the note page must be rewritten), its index in
 *  routes[] and its generation. */
typedef struct hw__module_site {
  const char *prefix;
  unsigned route;
  unsigned gen;
} hw__module_site;

/** The size a descriptor needs to hold `member`. */
#define HW__MODULE_SIZE_TO(member)                                             \
  (offsetof(hw_module, member) + sizeof(((const hw_module *)0)->member))
/** Non-zero if the descriptor `d` is large enough to hold `member` (a
 *  module built for an older minor has a smaller one). */
#define HW__MODULE_HAS(d, member) ((d)->size >= HW__MODULE_SIZE_TO(member))

/**
 * Loads `path` and validates its descriptor.  On failure returns a negative
 * code and writes "<path>: <reason>" into `err`.
 */
int hw__module_load(const char *path, hw__module **out, char *err,
                    size_t err_len);
/** Unloads and frees (the caller has already called every fini). */
void hw__module_unload(hw__module *m);
/** Non-zero if the shared object at `path` is still loaded in the process. */
int hw__module_is_mapped(const char *path);
/** Non-zero if `addr` (a function pointer) lies in the module's mapping. */
int hw__module_owns(const hw__module *m, const void *addr);

/** The loop module calls are made on (a worker's); NULL: the default. */
void hw__module_serve_on(uv_loop_t *loop);
/** The loop of the module call running now, for host->loop(): the serving
 *  loop inside a call, else the default loop. */
uv_loop_t *hw__module_current_loop(void);
/** The route of the module call running now (NULL outside module code,
 *  or in a call made for no route: a free callback).  A host function uses
 *  it to know whose timer or work it is given. */
const hw__module_site *hw__module_current_site(void);
/** The master's side of a worker slot's note page: a file at `path`
 *  (created, sized) mapped shared; NULL when it cannot be made (errno). */
hw__module_note *hw__module_note_create(const char *path);
/** Unmaps a page hw__module_note_create made and removes its file. */
void hw__module_note_destroy(hw__module_note *page, const char *path);
/** The worker's side: the page the master made at `path`, mapped shared;
 *  NULL when it cannot be. */
hw__module_note *hw__module_note_open(const char *path);
/** Unmaps a page hw__module_note_open mapped (the file stays). */
void hw__module_note_close(hw__module_note *page);
/** Attaches the note page (the worker's, mapped; NULL: none). */
void hw__module_note_attach(hw__module_note *page);
/** Forgets which route the note page names (its generation is being freed:
 *  a route of another may be allocated at the same address). */
void hw__module_note_forget(void);

/* The calls into module code, each for the route at `site`. */
int hw__module_init(const hw__module *m, const hw__module_site *site,
                    const hw_host *host, const char *config,
                    size_t config_len, void **state, char *err,
                    size_t err_len);
hw_handle_result hw__module_handle(const hw__module *m,
                                   const hw__module_site *site, void *state,
                                   hw_request *req, hw_response *res);
void hw__module_fini(const hw__module *m, const hw__module_site *site,
                     void *state);
/** Calls the descriptor's abort, when it has one. */
void hw__module_abort(const hw__module *m, const hw__module_site *site,
                      void *state);
/** Runs a callback a module gave with a request (on_abort). */
void hw__module_call_abort_cb(const hw__module_site *site, hw_abort_cb cb,
                              hw_request *req, void *arg);
/** Runs a free callback a module gave with write_ref. */
void hw__module_call_free_cb(hw_free_cb cb, void *arg);
/* The callbacks of ABI 1.3, each for the route at `site`. */
void hw__module_call_timer(const hw__module_site *site, hw_timer_cb cb,
                           int64_t timer, void *arg);
void hw__module_call_done(const hw__module_site *site, hw_work_done_cb cb,
                          hw_request *req, void *arg, int status);
void hw__module_call_writable(const hw__module_site *site, hw_writable_cb cb,
                              hw_response *res, void *arg);
void hw__module_call_body(const hw__module_site *site, hw_body_cb cb,
                          hw_request *req, void *arg, hw_str piece, int end);

#endif /* HW_MODULE_H */
