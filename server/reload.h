/*
 * reload.h - a reload as one transaction (reload.c): read routes.json,
 * copy every module it names into a private directory of the run
 * directory, check the result in a child process (`haywire -t` on that
 * snapshot), and only then hand it to the owner, which applies it (a
 * single process builds it; the master rolls it out to its workers).  The
 * unit also owns the run directory and the SIGHUP of a process that
 * reloads itself.
 */
#ifndef HW_RELOAD_H
#define HW_RELOAD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "config.h"

typedef struct hw__reloader hw__reloader;

/** Called when a reload's preflight passed: the owner applies `cfg` (which
 *  it now owns) as generation `id`, then calls hw__reload_finished. */
typedef void (*hw__reload_checked_cb)(hw__reloader *rl, hw__config *cfg,
                                      unsigned id);

/** Hot reload state: of the master, or of a single process. */
struct hw__reloader {
  uv_loop_t *loop;
  void *owner;
  hw__reload_checked_cb on_checked;
  void (*on_finished)(hw__reloader *rl, int ok); /* optional */
  char *config_path;                             /* the user's routes.json */
  char *run_dir;                   /* private module copies live under it */
  int own_run_dir;                 /* created here: removed at exit */
  hw__config_listen *listen; /* the addresses in force (a reload keeps them),
                                with their first "tls", for a reload that
                                no longer names one (hw__reload_keep_listen) */
  hw__config_tls *listen_tls;
  size_t nlisten;
  unsigned last_id; /* the generation being served */
  int stopping;
  uv_signal_t sig_hup;
  int busy, pending;  /* a reload is being built / another was asked */
  uint64_t started;   /* uv_hrtime() when the reload began */
  char *record_path;  /* where each outcome is recorded (pidfile.h); NULL:
                         nowhere.  Owned. */
  uint64_t sequence;  /* reloads recorded so far */
  char *config_pid_file; /* the first config's "pid_file" (a reload cannot
                            move it: it warns).  Owned; may be NULL. */
  int config_workers;     /* the first config's "workers" (likewise) */
  hw__config *staged; /* the config being checked */
  unsigned staged_id;
  uv_process_t child; /* the preflight: haywire -t on the snapshot */
  uv_pipe_t child_err;
  uv_timer_t child_timer;
  hw__buf child_out;
  int child_state; /* handles closed so far (3 when done) */
  int64_t child_status;
  int child_signal;
};

/**
 * Creates the run directory (under `parent`, or $TMPDIR or /tmp when NULL)
 * where private module copies live.  Returns 0 or a negative code with a
 * message in `err`.
 */
int hw__reload_rundir(hw__reloader *rl, const char *parent, char *err,
                      size_t err_len);
/** Removes the run directory if this reloader created it, and frees its
 *  strings. */
void hw__reload_destroy(hw__reloader *rl);
/**
 * Copies every module of `cfg` into the run directory's g<id>/ and points
 * the config at the copies, so the files users edit are never mapped.  Also
 * writes the config there as routes.json for the preflight and workers.
 */
int hw__reload_stage(hw__reloader *rl, hw__config *cfg, unsigned id, char *err,
                     size_t err_len);
/** Removes run_dir/g<id>/ and everything in it (no run dir: nothing). */
void hw__reload_unstage(const hw__reloader *rl, unsigned id);
/** The path of generation `id`'s snapshot config, into `buf`. */
void hw__reload_snapshot(const hw__reloader *rl, unsigned id, char *buf,
                         size_t len);
/** Begins a reload (on SIGHUP), or marks one pending if one is running. */
void hw__reload_request(hw__reloader *rl);
/**
 * Ends the reload the owner was given through on_checked: logs
 * "reload failed: <why>; still serving generation N" on failure, records
 * the outcome at record_path (not the first generation's: that is
 * start-up, not a reload), and starts a reload that was asked meanwhile.
 */
void hw__reload_finished(hw__reloader *rl, int ok, const char *why);
/** Stages `cfg` (owned) as the next generation and checks it in a child;
 *  then on_checked, or hw__reload_finished with the reason. */
void hw__reload_check(hw__reloader *rl, hw__config *cfg);
/** Rewrites paths of the staged snapshot and copies in a message as the
 *  user's config file and modules. */
void hw__reload_user_paths(const hw__reloader *rl, const hw__config *cfg,
                           char *msg, size_t cap);
/** Installs the SIGHUP handler of a process that reloads itself. */
void hw__reload_listen_sighup(hw__reloader *rl);
/** Keeps `cfg`'s listen list (copied) as the one reloads keep.  Returns 0
 *  or UV_ENOMEM. */
int hw__reload_keep_listen(hw__reloader *rl, const hw__config *cfg);
/** Closes the reloader's own handles (SIGHUP, preflight) at shutdown. */
void hw__reload_close(hw__reloader *rl);

#endif /* HW_RELOAD_H */
