/*
 * dl.h - the platform unit of loading modules (dl_posix.c with dlopen,
 * dl_win32.c with LoadLibraryExW): opening a module's file with every
 * symbol bound at once, and a loader's reason when it cannot be (on
 * Windows with the dependency it could not find, which the system's own
 * message leaves out), whether an object is still in the process, and
 * whether an address lies in a given module.  libuv's uv_dlopen does the
 * loading proper (module.c); this is what it cannot say.  It calls nothing
 * of ours and logs nothing.
 */
#ifndef HW_DL_H
#define HW_DL_H

#include <stddef.h>

/** Opens the object at `path` with every symbol bound now (libuv's
 *  uv_dlopen binds lazily on POSIX: a symbol no library provides would
 *  fail on the first call, not here), locally.  The handle, for
 *  hw__dl_close, or NULL with "cannot load: <the loader's reason>" in `why`
 *  (the file's name, which the reason repeats, left out). */
void *hw__dl_open_now(const char *path, char *why, size_t why_len);

/** Drops a reference hw__dl_open_now took. */
void hw__dl_close(void *handle);

/** 1 if the object at `path` is loaded in this process (a close that did
 *  not really unload it), without loading it; else 0. */
int hw__dl_loaded(const char *path);

/** 1 if `addr` lies in the same loaded object as `known` (an address in a
 *  module: its descriptor); 0 if not, or if either is in none. */
int hw__dl_owns(const void *known, const void *addr);

#endif /* HW_DL_H */
