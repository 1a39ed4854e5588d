/*
 * process.h - what the server's processes share (process.c):
 * blocking the signals that stop or reload it until their handlers exist,
 * and the names of signals for the log.
 */
#ifndef HW_PROCESS_H
#define HW_PROCESS_H

/** Blocks (or unblocks) SIGHUP, SIGTERM, SIGINT, SIGQUIT and SIGUSR1. */
void hw__process_block_signals(int block);
/** The name of a signal ("SIGSEGV"), static. */
const char *hw__process_signame(int sig);

#endif /* HW_PROCESS_H */
