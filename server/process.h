/*
 * process.h - what the server's processes share (process.c): what a
 * child execs to run the server again, blocking the signals that stop or
 * reload it until their handlers exist, and the names of signals for the
 * log.
 */
#ifndef HW_PROCESS_H
#define HW_PROCESS_H

#include <stddef.h>

/** Blocks (or unblocks) SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1 and
 *  SIGUSR2. */
void hw__process_block_signals(int block);
/** What a child of this process execs to run this server again:
 *  "/proc/self/exe" where there is one (the running binary, even replaced
 *  on disk since), else the executable's path written into `buf`; NULL if
 *  neither is known. */
const char *hw__process_exec_path(char *buf, size_t len);
/** The name of a signal ("SIGSEGV"), static. */
const char *hw__process_signame(int sig);

#endif /* HW_PROCESS_H */
