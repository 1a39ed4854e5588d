/*
 * upgrade.h - the binary upgrade, as nginx's USR2 (upgrade.c): both ends
 * of the handover between a running master and the new master it starts
 * from the binary on disk, handing it its listening sockets; the pid file
 * moving to "<pid_file>.oldbin" once the new master is ready, and back when
 * the new master exits (a rollback); the outcome recorded for
 * `haywire -s upgrade`.
 */
#ifndef HW_UPGRADE_H
#define HW_UPGRADE_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "buf.h"
#include "master_sockets.h"

/* The old master's side: where its upgrade is. */
enum { HW__UPGRADE_IDLE = 0, HW__UPGRADE_STARTING, HW__UPGRADE_PIDFILE,
       HW__UPGRADE_BOTH, HW__UPGRADE_FAILING, HW__UPGRADE_CLOSING };

typedef struct hw__upgrade hw__upgrade;

struct hw__upgrade {
  uv_loop_t *loop;
  /* How to start a successor (the owner's, borrowed): the binary's path
   * made absolute at start-up and the original command line. */
  const char *exe;
  char *const *argv;
  const char *pid_file; /* NULL: none */
  /* The owner's reload record (a malloc'd path, or NULL), moved beside
   * ".oldbin" while two masters serve and back after a rollback. */
  char **record_path;
  /* The new master's side: its pid file could not be taken (it stops). */
  void (*failed)(hw__upgrade *u);
  void *owner;
  /* The old master's side. */
  int state; /* HW__UPGRADE_* */
  pid_t pid; /* the new master */
  uv_process_t proc;
  uv_pipe_t pipe;
  uv_timer_t timer;
  int handles;  /* of proc and pipe, still open */
  int linked;   /* "<pid_file>.oldbin" names this master's pid file */
  uint64_t started;
  uint64_t sequence;
  hw__buf in;
  char oldbin[4200];
  char reason[1024]; /* the first error the new master reported */
  /* The new master's side: the pipe to the master that started it. */
  uv_pipe_t parent;
  int parent_open, told_ready, took_pid_file;
  hw__buf pin;
};

/** Sets up `u` on `loop` (its timer); the owner fills exe, argv, pid_file,
 *  record_path, failed and owner. */
void hw__upgrade_init(hw__upgrade *u, uv_loop_t *loop);
/**
 * SIGUSR2: starts a new master from `exe` with the original command line,
 * handing it the sockets of `ms` (HAYWIRE_LISTEN_FDS) and a pipe
 * (HAYWIRE_UPGRADE_FD).  Refused, with a log line and a failed record,
 * while another upgrade is under way or a new master serves.
 */
void hw__upgrade_start(hw__upgrade *u, const hw__master_sockets *ms);
/** 1 while another master serves the same sockets (the new one beside
 *  this old one, or the old one that started this new one): a graceful
 *  stop then drains softly. */
int hw__upgrade_other_serves(const hw__upgrade *u);
/** The new master's side: the pipe to the master that started it, on
 *  `fd`.  Returns 0 or a negative code. */
int hw__upgrade_attach(hw__upgrade *u, int fd);
/** The new master's side: every worker is ready; the old master is told. */
void hw__upgrade_ready(hw__upgrade *u);
/** Writes the absolute path of the binary started as `argv0` into `buf`
 *  (relative to the current directory, or found on $PATH); call it at
 *  start-up.  Returns 0 or a negative code. */
int hw__upgrade_exe_path(const char *argv0, char *buf, size_t len);
/** At the master's exit: closes the handles (a new master runs on), and
 *  removes "<pid_file>.oldbin" when it names this master. */
void hw__upgrade_close(hw__upgrade *u);

/** A single process asked for an upgrade: logs that it needs a master,
 *  and records the refusal at `record` (may be NULL) for
 *  `haywire -s upgrade`. */
void hw__upgrade_refuse(const char *record);
/** Links `from` as `to` (a second name for the same file): 0, or -1
 *  with errno set.  (upgrade_posix.c, upgrade_win32.c) */
int hw__upgrade_link(const char *from, const char *to);
/** Keeps descriptor `fd` from the children this process starts. */
void hw__upgrade_private(int fd);

#endif /* HW_UPGRADE_H */
