/*
 * portable.h - what the unit tests need of the system and name in one
 * way on Linux and on Windows (issue 21), so that a test has no #ifdef of
 * its own for it: a temporary directory made unique, a directory made
 * with a mode, a short sleep, and the extension of a loadable module.
 * The server's own portable calls (memmem, strndup, setenv...) are in
 * server/os.h; this file is for what only the tests do.  It calls nothing
 * of the server's, so that a test linked without the core can use it.
 */
#ifndef HW_TEST_PORTABLE_H
#define HW_TEST_PORTABLE_H

#include <stddef.h>

/** The extension of a module the build leaves in modules/ and
 *  tests/fixtures/ (Makefile.am's MODULE_EXT). */
#ifdef _WIN32
#define HWT_MODULE_EXT ".dll"
#else
#define HWT_MODULE_EXT ".so"
/** pipe(2) (on Windows _pipe, binary): 0, or -1 with errno set. */
int hwt_pipe(int fds[2]);

/** 1 if `fd` is an open descriptor, else 0 (fcntl F_GETFD; on Windows
 *  the C runtime's handle behind it). */
int hwt_fd_open(int fd);

/** A file of `size` zero bytes in no directory a test must clean up
 *  (memfd_create; on Windows a temporary file deleted when closed),
 *  open read-write: its descriptor, or -1 with errno set. */
int hwt_zero_file(const char *name, size_t size);

#endif

/** The directory the tests make their temporary directories in: "/tmp"
 *  (as they always did on Linux); on Windows the user's temporary
 *  directory (GetTempPath), with '/' separators, for the tests compare
 *  paths the server joins with '/'.  Static; never NULL. */
const char *hwt_tmp(void);

/** mkdtemp(3): replaces the trailing "XXXXXX" of `tmpl` and makes that
 *  directory (mode 0700); `tmpl`, or NULL with errno set. */
char *hwt_mkdtemp(char *tmpl);

/** mkdir(2) with `mode` (Windows' mkdir takes no mode: ignored there):
 *  0, or -1 with errno set. */
int hwt_mkdir(const char *path, unsigned mode);

/** Sleeps at least `us` microseconds (on Windows, whole milliseconds). */
void hwt_usleep(unsigned us);

/** pipe(2) (on Windows _pipe, binary): 0, or -1 with errno set. */
int hwt_pipe(int fds[2]);

/** 1 if `fd` is an open descriptor, else 0 (fcntl F_GETFD; on Windows
 *  the C runtime's handle behind it). */
int hwt_fd_open(int fd);

/** A file of `size` zero bytes in no directory a test must clean up
 *  (memfd_create; on Windows a temporary file deleted when closed),
 *  open read-write: its descriptor, or -1 with errno set. */
int hwt_zero_file(const char *name, size_t size);

#endif
