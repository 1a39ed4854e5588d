/*
 * procenv.h - the platform unit of a process's limits and environment
 * (procenv_posix.c, procenv_win32.c): the open-descriptor limit a server
 * of many connections raises and sizes itself by, removing a variable
 * from the environment its children inherit, and the binary a child runs
 * to be this server again.  It calls nothing of ours and
 * logs nothing.
 */
#ifndef HW_PROCENV_H
#define HW_PROCENV_H

#include <stddef.h>
#include <stdint.h>

/** Raises this process's soft limit of open descriptors to its hard
 *  limit.  0 (also where there is no such limit, as on Windows, whose
 *  sockets are handles without one), or -1 when the raise was refused. */
int hw__procenv_raise_nofile(void);

/** The soft limit of open descriptors: 0 when there is none. */
uint64_t hw__procenv_nofile(void);

/** Removes `name` from the environment (children do not inherit it). */
void hw__procenv_unset(const char *name);

/** What every process of the server sets first.  On Windows: stdout and
 *  stderr write their bytes as they are (the C runtime's text mode would
 *  turn each "\n" of a log line into "\r\n"; the logs are the same bytes
 *  on every system), and a crash ends the process with its exception code
 *  instead of a dialog or a debugger waiting for someone (SetErrorMode,
 *  which children inherit, and a last exception filter that ends the
 *  process: its parent logs the code, see process.h).
 *  Nothing on POSIX. */
void hw__procenv_init(void);

/** What a child of this process execs to run this server again (workers,
 *  the reload's preflight): on Linux "/proc/self/exe" (the running
 *  binary, even replaced on disk since), else the executable's path
 *  written into `buf`; NULL if neither is known. */
const char *hw__procenv_exec_path(char *buf, size_t len);

#endif /* HW_PROCENV_H */
