/*
 * procenv_win32.c - limits and environment on Windows (see procenv.h).
 * Sockets are kernel handles there, with no per-process limit like
 * RLIMIT_NOFILE (the C runtime's 8192 descriptors count files opened with
 * open(), not sockets): the configured connection limit alone applies.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>
#include <windows.h>

#include "procenv.h"

int hw__procenv_raise_nofile(void) { return 0; }

uint64_t hw__procenv_nofile(void) { return 0; }

void hw__procenv_unset(const char *name) {
  /* An empty value removes the variable (msvcrt's _putenv_s). */
  _putenv_s(name, "");
}

const char *hw__procenv_exec_path(char *buf, size_t len) {
  /* The module file name of this process (a loaded .exe cannot be
   * replaced on disk, only renamed).  Never a /proc path: under wine that
   * one exists, and is wine's own loader. */
  size_t n = len;
  return uv_exepath(buf, &n) == 0 ? buf : NULL;
}

/* The last handler of an exception no one handled: the process ends with
 * the exception's code as its exit status, reported by its parent, with
 * nothing shown or started for a person (Windows Error Reporting, or wine's
 * debugger and its message). */
static LONG WINAPI end_with_code(EXCEPTION_POINTERS *e) {
  (void)e;
  return EXCEPTION_EXECUTE_HANDLER;
}

void hw__procenv_init(void) {
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX |
               SEM_NOOPENFILEERRORBOX);
  SetUnhandledExceptionFilter(end_with_code);
}
