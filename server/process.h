/*
 * process.h - what the server's processes share (process.c): what a
 * child execs to run the server again, blocking the signals that stop or
 * reload it until their handlers exist (signals.h), and the names of
 * signals and of the Windows status codes a crashed process exits with,
 * for the log.
 */
#ifndef HW_PROCESS_H
#define HW_PROCESS_H

#include <stddef.h>
#include <stdint.h>

/** Blocks (or unblocks) SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1 and
 *  SIGUSR2 (nothing on Windows). */
void hw__process_block_signals(int block);
/** The name of a signal ("SIGSEGV"), static. */
const char *hw__process_signame(int sig);
/** The name of a crash's exit status on Windows, an NTSTATUS such as
 *  0xC0000005 ("access violation"); NULL for an exit status that is none
 *  (every status on POSIX). */
const char *hw__process_status_name(int64_t status);

#endif /* HW_PROCESS_H */
