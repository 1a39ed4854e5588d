/*
 * signals.h - the platform unit of commands (signals_posix.c on Linux,
 * signals_win32.c on Windows): how a command (reload, the three stops,
 * reopen, upgrade) reaches a server process, how `haywire -s` and a master
 * send one, and what the system calls the signals a process died of.
 *
 * On POSIX a command is a signal, exactly as before this unit: SIGHUP,
 * SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2.  Windows has no such signals
 * (libuv emulates SIGINT and SIGBREAK from the console, SIGHUP from its
 * closing, and uv_process_kill only terminates), so there Ctrl-C is the
 * fast stop, Ctrl-Break the graceful one, `haywire -s` writes the command
 * to a named pipe the master (or single process) owns, and a master tells
 * its workers over the control pipe it already has with each (control.c).
 *
 * The unit calls libuv and, on Windows, control.c's sender; it calls
 * nothing above it and logs nothing: a watcher reports a command through
 * the callback it was given, the rest through return values.
 */
#ifndef HW_SIGNALS_H
#define HW_SIGNALS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The commands (their POSIX signal in brackets). */
enum hw__signals_cmd {
  HW__SIGNALS_RELOAD = 1, /* SIGHUP: reload the configuration */
  HW__SIGNALS_STOP,       /* SIGINT: the fast stop (Ctrl-C) */
  HW__SIGNALS_QUIT,       /* SIGQUIT: the graceful stop (Ctrl-Break) */
  HW__SIGNALS_TERM,       /* SIGTERM: graceful, after any drain notice */
  HW__SIGNALS_REOPEN,     /* SIGUSR1: reopen the log files */
  HW__SIGNALS_UPGRADE,    /* SIGUSR2: the binary upgrade (POSIX only) */
  HW__SIGNALS_PIPE,       /* SIGPIPE: a write to a closed peer (ignored) */
  HW__SIGNALS_NCMDS
};

/** A set of commands, for the calls that take several. */
#define HW__SIGNALS_BIT(cmd) (1u << (cmd))
/** The commands that stop or reload a process (blocked at start-up). */
#define HW__SIGNALS_CONTROL                                                   \
  (HW__SIGNALS_BIT(HW__SIGNALS_RELOAD) | HW__SIGNALS_BIT(HW__SIGNALS_STOP) |  \
   HW__SIGNALS_BIT(HW__SIGNALS_QUIT) | HW__SIGNALS_BIT(HW__SIGNALS_TERM) |    \
   HW__SIGNALS_BIT(HW__SIGNALS_REOPEN) | HW__SIGNALS_BIT(HW__SIGNALS_UPGRADE))

/** A process's command watcher (opaque: its handles differ by system). */
typedef struct hw__signals hw__signals;

/** Called on the loop for each command that arrives, with the `arg` given
 *  to hw__signals_new. */
typedef void (*hw__signals_cb)(void *arg, int cmd);

/** A watcher on `loop` that calls `cb` (nothing watched yet), or NULL when
 *  out of memory. */
hw__signals *hw__signals_new(uv_loop_t *loop, hw__signals_cb cb, void *arg);

/** Watches for the commands of `cmds` (HW__SIGNALS_BIT) too.  POSIX: their
 *  signals' handlers.  Windows: STOP on Ctrl-C, QUIT on Ctrl-Break, and the
 *  others accepted from the command pipe (hw__signals_serve) or the master
 *  (hw__signals_take).  0, or a libuv error code. */
int hw__signals_watch(hw__signals *s, unsigned cmds);

/** This process takes commands from `haywire -s` (a master, or a single
 *  process).  POSIX: nothing to do (signals need no channel).  Windows:
 *  owns the command pipe of this pid, created exclusively; another owner
 *  fails it with UV_EADDRINUSE.  0, or an error code with one line in
 *  `err`. */
int hw__signals_serve(hw__signals *s, char *err, size_t err_len);

/** A worker's master told it command `cmd` through the control pipe
 *  (Windows): reported as if it had arrived, when watched. */
void hw__signals_take(hw__signals *s, int cmd);

/** Stops watching and frees the watcher once its handles are closed (on
 *  the loop; NULL is nothing).  Call it before the loop's last run. */
void hw__signals_close(hw__signals *s);

/** Sends `cmd` to the server process `pid` (haywire -s).  0, or -1 with
 *  one line in `err` (no such process, not permitted, no command pipe, a
 *  command this system cannot send). */
int hw__signals_send(long pid, int cmd, char *err, size_t err_len);

/** Sends `cmd` to a worker: its signal on POSIX; on Windows a message on
 *  `ctl`, the control pipe to it (uv_process_kill only terminates there).
 *  0, or a libuv error code.  (SIGKILL is uv_process_kill on both.) */
int hw__signals_tell(uv_process_t *child, uv_stream_t *ctl, int cmd);

/** Blocks (or unblocks) the signals of the commands in `cmds` (POSIX; on
 *  Windows nothing arrives before a watcher exists). */
void hw__signals_block(unsigned cmds, int block);

/** Ignores the commands in `cmds` in this process (a -t check, a worker:
 *  a process group's signal must not end them; SIGPIPE). */
void hw__signals_ignore(unsigned cmds);

/** What this system calls command `cmd` in the log ("SIGQUIT"; on
 *  Windows "Ctrl-Break or -s quit"). */
const char *hw__signals_cmd_name(int cmd);

/** The name of signal number `sig` ("SIGSEGV"), static. */
const char *hw__signals_signame(int sig);

/** How the system describes signal `sig` ("Killed": strsignal on POSIX;
 *  the name, as hw__signals_signame, on Windows), static. */
const char *hw__signals_describe(int sig);

/** The pipe name `haywire -s` and the server of process `pid` agree on
 *  (Windows), into `buf`: its length, or -1 when it does not fit. */
int hw__signals_pipe_name(long pid, char *buf, size_t len);

#endif /* HW_SIGNALS_H */
