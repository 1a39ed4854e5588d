/*
 * master.c - the master process: it owns the listening sockets, supervises
 * the worker processes, and drives reloads.  It never loads module code, so a
 * module that crashes can take down one worker, never the site.
 *
 * Sockets: one SO_REUSEPORT socket per worker slot per address, kept for
 * the master's whole life (master_sockets.c); each worker inherits its
 * slot's.  On Windows one socket per address, sent to each worker over its
 * control pipe when it starts.
 *
 * Generations: the master stages every generation (private module copies
 * and a snapshot of the config under run_dir/g<N>/) and checks it in a
 * preflight child; workers are only ever started or reloaded from such a
 * snapshot, never from the files users edit, so all workers run the same
 * code and an edit takes effect only on SIGHUP.
 *
 * Binary upgrade (SIGUSR2): a new master started from the binary on disk
 * takes over these very sockets and the pid file (upgrade.c); while two
 * masters serve, the one that is stopped drains its workers softly.
 *
 * Workers talk to the master over a pipe on their fd 3 (control.c): the
 * master sends "reload <id> <snapshot>", a worker answers "ready <id>",
 * "reloaded <id>" or "failed <id> <reason>".
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "control.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "master_sockets.h"
#include "module.h"
#include "notify.h"
#include "os.h"
#include "pidfile.h"
#include "process.h"
#include "metrics.h"
#include "reload.h"
#include "signals.h"
#include "tickets.h"
#include "upgrade.h"
#include "worker_spawn.h"

#define RESTART_WINDOW_MS 10000
#define RESTART_BURST 5
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define RELOAD_ANSWER_MS 60000
#define KILL_GRACE_MS 5000

typedef struct master master;

typedef struct slot {
  master *m;
  int id;
  uv_process_t proc;
  uv_pipe_t ctl;
  uv_timer_t restart;
  int alive;       /* the process runs */
  int handles;     /* proc and ctl handles still open */
  int ready;       /* said "ready" */
  int replacing;   /* stopped on purpose: not a crash */
  int awaiting;    /* a reload answer is due */
  int reload_failed;
  int reopen_due;  /* a SIGUSR1 came before it was ready: sent then */
  pid_t pid;
  unsigned gen;    /* the generation it serves */
  uint64_t deaths[RESTART_BURST];
  unsigned ndeaths;
  uint64_t backoff;
  uv_os_sock_t *fds; /* its listening sockets, one per address (socks') */
  hw__buf in;
  hw__module_note *note; /* shared with the worker: what it runs */
} slot;

struct master {
  uv_loop_t *loop;
  hw__reloader rl;
  hw__config *cfg; /* the serving generation's (staged) config */
  hw__master_sockets socks;
  slot *slots;
  int nslots;
  hw__signals *sig; /* the commands (signals.h) */
  hw__upgrade up;
  const hw__master_opts *opts;
  uv_timer_t stop_timer;
  uint64_t stop_deadline;
  int stopping, graceful, exit_code;
  /* the reload being rolled out */
  hw__config *next_cfg;
  unsigned next_id;
  int answers_due, oks, asked;
  char first_err[4096];
  uv_timer_t reload_timer;
};

static void spawn_slot(slot *s);
static void conclude_reload(master *m);
static void maybe_exit(master *m);

/* ---- talking to workers ------------------------------------------------- */

static void reload_answer(slot *s, int ok, const char *why) {
  master *m = s->m;
  if (!s->awaiting)
    return;
  s->awaiting = 0;
  m->answers_due--;
  if (ok) {
    m->oks++;
    s->gen = m->next_id;
  } else {
    s->reload_failed = 1;
    if (m->first_err[0] == '\0')
      snprintf(m->first_err, sizeof(m->first_err), "%s", why);
  }
  if (m->answers_due == 0)
    conclude_reload(m);
}

static int all_ready(const master *m) {
  for (int k = 0; k < m->nslots; k++)
    if (!m->slots[k].ready)
      return 0;
  return 1;
}

static void on_line(slot *s, char *line) {
  hw__control_msg msg;

  if (hw__control_parse(line, &msg) != 0) {
    hw__log(HW_LOG_WARN, "unknown message from worker %d: %.80s", s->id, line);
    return;
  }
  switch (msg.kind) {
  case HW__CONTROL_READY:
    s->ready = 1;
    /* It may have opened its log files before they were renamed. */
    if (s->reopen_due &&
        hw__signals_tell(&s->proc, (uv_stream_t *)&s->ctl,
                         HW__SIGNALS_REOPEN) == 0)
      s->reopen_due = 0;
    s->gen = msg.id;
    hw__log(HW_LOG_INFO, "worker %d (pid %d) serving generation %u", s->id,
            (int)s->pid, msg.id);
    if (all_ready(s->m)) {
      hw__notify_serving(msg.id);
      hw__upgrade_ready(&s->m->up); /* a new master: the old one waits */
    }
    break;
  case HW__CONTROL_RELOADED:
    s->gen = msg.id;
    if (msg.id == s->m->next_id)
      reload_answer(s, 1, NULL);
    break;
  case HW__CONTROL_FAILED:
    if (s->awaiting && msg.id == s->m->next_id) {
      char why[4096];
      snprintf(why, sizeof(why), "%s", msg.text);
      hw__reload_user_paths(&s->m->rl, s->m->next_cfg, why, sizeof(why));
      reload_answer(s, 0, why);
    } else if (msg.id == s->m->rl.last_id && !s->m->stopping) {
      /* A late catch-up failed where the others succeeded: a fresh worker
       * starts on the generation they serve. */
      hw__log(HW_LOG_WARN, "worker %d (pid %d) is replaced to serve "
                           "generation %u", s->id, (int)s->pid, msg.id);
      s->replacing = 1;
      /* graceful, no drain notice */
      hw__signals_tell(&s->proc, (uv_stream_t *)&s->ctl, HW__SIGNALS_QUIT);
    }
    break;
  default:
    hw__log(HW_LOG_WARN, "unexpected message from worker %d: %.80s", s->id,
            line);
  }
}

static void ctl_line(void *arg, char *line) { on_line(arg, line); }

static void ctl_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  slot *s = st->data;
  if (n < 0) {
    uv_read_stop(st); /* the worker is exiting; its exit is handled there */
    return;
  }
  hw__buf_lines(&s->in, buf->base, (size_t)n, ctl_line, s);
}

/* ---- worker life -------------------------------------------------------- */

static void on_restart_timer(uv_timer_t *t) { spawn_slot(t->data); }

/* Both handles of a dead worker are closed: start its successor, at once
 * or after a back-off if it keeps dying. */
static void slot_closed(uv_handle_t *h) {
  slot *s = h->data;
  master *m = s->m;
  uint64_t now = uv_now(m->loop);

  if (--s->handles > 0)
    return;
  hw__buf_free(&s->in);
  if (m->stopping) {
    maybe_exit(m);
    return;
  }
  if (s->replacing) {
    s->replacing = 0;
    spawn_slot(s);
    return;
  }
  s->deaths[s->ndeaths++ % RESTART_BURST] = now;
  if (s->ndeaths >= RESTART_BURST &&
      now - s->deaths[s->ndeaths % RESTART_BURST] < RESTART_WINDOW_MS) {
    /* The oldest of the last five deaths is under ten seconds old: this
     * slot is crash-looping. */
    s->backoff = s->backoff == 0 ? BACKOFF_FIRST_MS : s->backoff * 2;
    if (s->backoff > BACKOFF_MAX_MS)
      s->backoff = BACKOFF_MAX_MS;
    hw__log(HW_LOG_WARN,
            "worker %d died %d times within %d s: restarting it in %llu ms",
            s->id, RESTART_BURST, RESTART_WINDOW_MS / 1000,
            (unsigned long long)s->backoff);
    uv_timer_start(&s->restart, on_restart_timer, s->backoff, 0);
    return;
  }
  s->backoff = 0;
  spawn_slot(s);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  slot *s = p->data;
  master *m = s->m;
  char where[400] = "";
  const char *crash;

  s->alive = 0;
  s->ready = 0;
  if (s->note != NULL && s->note->busy)
    snprintf(where, sizeof(where), " %s route %s (routes[%u], generation %u)",
             s->note->busy == HW__NOTE_INIT   ? "in the init of"
             : s->note->busy == HW__NOTE_FINI ? "in the fini of"
                                              : "while serving",
             s->note->prefix, (unsigned)s->note->route,
             (unsigned)s->note->gen);
  if (sig != 0 && !(m->stopping || s->replacing))
    hw__log(HW_LOG_ERROR, "worker %d (pid %d) killed by signal %d (%s)%s",
            s->id, (int)s->pid, sig, hw__process_signame(sig), where);
  else if (sig != 0)
    hw__log(HW_LOG_INFO, "worker %d (pid %d) stopped by signal %d (%s)",
            s->id, (int)s->pid, sig, hw__process_signame(sig));
  else if ((crash = hw__process_status_name(status)) != NULL)
    hw__log(HW_LOG_ERROR, "worker %d (pid %d) crashed: 0x%08llX %s%s", s->id,
            (int)s->pid, (unsigned long long)status, crash, where);
  else if (status != 0 || !(m->stopping || s->replacing))
    hw__log(status != 0 ? HW_LOG_ERROR : HW_LOG_INFO,
            "worker %d (pid %d) exited with status %lld%s", s->id,
            (int)s->pid, (long long)status, where);
  else
    hw__log(HW_LOG_INFO, "worker %d (pid %d) exited", s->id, (int)s->pid);
  if (s->note != NULL)
    s->note->busy = 0;
  /* Its connections are gone; its counts stay for its successor. */
  hw__metrics_slot_dead((unsigned)s->id);
  if (!(m->stopping || s->replacing))
    hw__metrics_restart(sig != 0 || hw__process_status_name(status) != NULL
                            ? HW__RESTART_SIGNAL
                            : HW__RESTART_EXIT);
  if (status != 0 && m->exit_code == 0 && m->stopping)
    m->exit_code = 1;
  reload_answer(s, 0, "a worker exited during the reload");
  uv_close((uv_handle_t *)&s->proc, slot_closed);
  if (!uv_is_closing((uv_handle_t *)&s->ctl))
    uv_close((uv_handle_t *)&s->ctl, slot_closed);
  else
    s->handles--;
}

static void spawn_slot(slot *s) {
  master *m = s->m;
  char snap[4352], state[4200];
  hw__worker_spawn a = {s->id, m->rl.last_id, snap, state, s->fds,
                        m->cfg->nlisten, hw__metrics_fd(), hw__tickets_fd(),
                        on_exit_cb};
  int r;

  if (m->stopping)
    return;
  hw__reload_snapshot(&m->rl, m->rl.last_id, snap, sizeof(snap));
  snprintf(state, sizeof(state), "%s/slot-%d", m->rl.run_dir, s->id);
  /* Zeroed: on an error, the handles the start initialised have a loop. */
  memset(&s->proc, 0, sizeof(s->proc));
  memset(&s->ctl, 0, sizeof(s->ctl));
  r = hw__worker_spawn_start(m->loop, &s->proc, &s->ctl, &a);
  s->proc.data = s->ctl.data = s;
  if (r != 0) {
    hw__log(HW_LOG_ERROR, "cannot start worker %d: %s", s->id,
            uv_strerror(r));
    s->alive = 0;
    s->handles = (s->proc.loop != NULL) + (s->ctl.loop != NULL);
    if (s->proc.loop != NULL)
      uv_close((uv_handle_t *)&s->proc, slot_closed);
    if (s->ctl.loop != NULL)
      uv_close((uv_handle_t *)&s->ctl, slot_closed);
    return;
  }
  s->handles = 2;
  s->alive = 1;
  s->pid = s->proc.pid;
  s->gen = m->rl.last_id;
  uv_read_start((uv_stream_t *)&s->ctl, hw__buf_line_alloc, ctl_read);
  /* Windows: the sockets go over the control pipe (a failure is
   * logged). */
  hw__master_sockets_hand(&m->socks, (uv_stream_t *)&s->ctl);
}

static int make_note(master *m, slot *s) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/slot-%d", m->rl.run_dir, s->id);
  return (s->note = hw__module_note_create(path)) != NULL ? 0 : -1;
}

/* ---- reloads ------------------------------------------------------------ */

static void on_reload_timeout(uv_timer_t *t) {
  master *m = t->data;
  for (int k = 0; k < m->nslots; k++)
    reload_answer(&m->slots[k], 0, "no answer from a worker");
}

/* Called once per reload whose preflight passed: roll it out. */
static void master_checked(hw__reloader *rl, hw__config *cfg, unsigned id) {
  master *m = rl->owner;
  char snap[4352];

  m->next_cfg = cfg;
  m->next_id = id;
  m->answers_due = m->oks = m->asked = 0;
  m->first_err[0] = '\0';
  hw__reload_snapshot(&m->rl, id, snap, sizeof(snap));
  for (int k = 0; k < m->nslots; k++) {
    slot *s = &m->slots[k];
    s->reload_failed = 0;
    if (s->alive && s->ready) {
      s->awaiting = 1;
      m->answers_due++;
      m->asked++;
      hw__control_send((uv_stream_t *)&s->ctl, HW__CONTROL_RELOAD, id, snap);
    }
  }
  if (m->answers_due == 0) {
    conclude_reload(m);
    return;
  }
  uv_timer_start(&m->reload_timer, on_reload_timeout, RELOAD_ANSWER_MS, 0);
}

static void conclude_reload(master *m) {
  hw__config *cfg = m->next_cfg;
  unsigned old = m->rl.last_id;
  char msg[4200], snap[4352];

  uv_timer_stop(&m->reload_timer);
  m->next_cfg = NULL;
  /* If no worker could take it, nothing changed: the reload failed.  If
   * some could, the generation is in force, and the others are replaced
   * by fresh workers started on it, so that all serve the same code. */
  if (m->asked > 0 && m->oks == 0) {
    snprintf(msg, sizeof(msg), "%s", m->first_err);
    hw__config_free(cfg);
    hw__reload_finished(&m->rl, 0, msg);
    return;
  }
  hw__config_free(m->cfg);
  m->cfg = cfg;
  hw__log(HW_LOG_INFO,
          "reload: generation %u active (%zu routes) on %d of %d workers in "
          "%.1f ms",
          m->next_id, cfg->nroutes, m->oks, m->nslots,
          (double)(uv_hrtime() - m->rl.started) / 1e6);
  m->rl.staged_id = m->next_id;
  m->rl.last_id = m->next_id; /* replacements start on it */
  hw__reload_snapshot(&m->rl, m->next_id, snap, sizeof(snap));
  for (int k = 0; k < m->nslots; k++) {
    slot *s = &m->slots[k];
    if (!s->alive || s->gen == m->next_id)
      continue;
    if (s->reload_failed) {
      hw__log(HW_LOG_WARN, "worker %d (pid %d) is replaced to serve "
                           "generation %u", s->id, (int)s->pid, m->next_id);
      s->replacing = 1;
      /* graceful, no drain notice */
      hw__signals_tell(&s->proc, (uv_stream_t *)&s->ctl, HW__SIGNALS_QUIT);
    } else {
      /* Started during the roll-out on the generation before: it catches
       * up the same way the others did (and is replaced if that fails). */
      hw__control_send((uv_stream_t *)&s->ctl, HW__CONTROL_RELOAD, m->next_id,
                       snap);
    }
  }
  /* Workers keep old copies mapped while they drain, so the files can go;
   * the generation just replaced stays one more round, for a worker that
   * was starting on it when the roll-out began. */
  if (old > 1)
    hw__reload_unstage(&m->rl, old - 1);
  hw__reload_finished(&m->rl, 1, NULL); /* may start a pending reload */
}

/* ---- stopping ----------------------------------------------------------- */

static void close_if_open(uv_handle_t *h) {
  if (h->loop != NULL && !uv_is_closing(h))
    uv_close(h, NULL);
}

static void maybe_exit(master *m) {
  for (int k = 0; k < m->nslots; k++)
    if (m->slots[k].alive || m->slots[k].handles > 0)
      return;
  /* Every worker is gone: the master lets go of everything.  Closing the
   * last handle of a signal restores its default action, which would end
   * the master before it removes its pid file: block them first. */
  hw__process_block_signals(1);
  uv_timer_stop(&m->stop_timer);
  close_if_open((uv_handle_t *)&m->stop_timer);
  close_if_open((uv_handle_t *)&m->reload_timer);
  hw__signals_close(m->sig);
  m->sig = NULL;
  hw__upgrade_close(&m->up); /* a new master runs on */
  for (int k = 0; k < m->nslots; k++)
    close_if_open((uv_handle_t *)&m->slots[k].restart);
  hw__tickets_stop();
  hw__reload_close(&m->rl);
}

static void on_stop_timer(uv_timer_t *t) {
  master *m = t->data;
  for (int k = 0; k < m->nslots; k++)
    if (m->slots[k].alive) {
      hw__log(HW_LOG_WARN, "worker %d (pid %d) did not stop: killing it",
              m->slots[k].id, (int)m->slots[k].pid);
      uv_process_kill(&m->slots[k].proc, SIGKILL);
    }
}

/* While another master serves the same sockets, a graceful stop is a
 * handover: the worker drains softly (its idle keep-alive connections are
 * kept for their next request); else SIGTERM when a drain notice is due
 * (worker.c gives it), SIGQUIT for a graceful stop, SIGINT for a fast one. */
static void stop_worker(master *m, slot *s, uint64_t notice) {
  if (m->graceful && s->ready && hw__upgrade_other_serves(&m->up))
    hw__control_send((uv_stream_t *)&s->ctl, HW__CONTROL_HANDOVER, 0, NULL);
  else
    hw__signals_tell(&s->proc, (uv_stream_t *)&s->ctl,
                     !m->graceful ? HW__SIGNALS_STOP
                     : notice     ? HW__SIGNALS_TERM
                                  : HW__SIGNALS_QUIT);
}

static void begin_stop(master *m, int cmd) {
  uint64_t grace, notice = 0;
  if (m->stopping)
    return;
  if (cmd == HW__SIGNALS_TERM && m->cfg != NULL && !hw__upgrade_other_serves(&m->up))
    notice = m->cfg->drain_notice_ms; /* then the stop; see stop_worker */
  m->stopping = 1;
  m->rl.stopping = 1;
  m->graceful = cmd != HW__SIGNALS_STOP;
  if (hw__upgrade_other_serves(&m->up)) /* not the service's stop */
    hw__notify_hand_over();
  hw__notify_stopping();
  hw__log(HW_LOG_INFO, "%s: stopping %d worker(s)%s%s%.0llu%s",
          hw__signals_cmd_name(cmd), m->nslots, m->graceful ? " gracefully" : "",
          notice ? " after a drain notice of " : "", (unsigned long long)notice,
          notice ? " ms" : "");
  for (int k = 0; k < m->nslots; k++) {
    slot *s = &m->slots[k];
    uv_timer_stop(&s->restart);
    if (s->alive)
      stop_worker(m, s, notice);
  }
  /* Before the first generation is checked there is no config in force
   * (and no worker): nothing to drain. */
  grace = (m->graceful && m->cfg != NULL ? m->cfg->drain_ms : 0) + notice +
          KILL_GRACE_MS;
  uv_timer_start(&m->stop_timer, on_stop_timer, grace, 0);
  maybe_exit(m);
}

/* SIGUSR1 asks every process to reopen its log files (after logrotate
 * renamed them): the master has none of its own (stderr is the service
 * manager's), the workers do. */
static void forward_reopen(master *m) {
  int n = 0;
  if (m->stopping)
    return;
  /* Only to workers that said "ready": a worker is ready once its handler
   * exists; before that (between exec and the signal mask main sets) the
   * signal's default action would end it.  One still starting gets it when
   * it says ready. */
  for (int k = 0; k < m->nslots; k++) {
    slot *s = &m->slots[k];
    if (s->alive && s->ready &&
        hw__signals_tell(&s->proc, (uv_stream_t *)&s->ctl,
                         HW__SIGNALS_REOPEN) == 0)
      n++;
    else if (s->alive)
      s->reopen_due = 1;
  }
  hw__log(HW_LOG_INFO, "%s: %d worker(s) reopen their log files",
          hw__signals_cmd_name(HW__SIGNALS_REOPEN), n);
}

static void on_command(void *arg, int cmd) {
  master *m = arg;
  if (cmd == HW__SIGNALS_RELOAD)
    hw__reload_request(&m->rl);
  else if (cmd == HW__SIGNALS_REOPEN)
    forward_reopen(m);
  else if (cmd == HW__SIGNALS_UPGRADE && !m->stopping)
    hw__upgrade_start(&m->up, &m->socks);
  else if (cmd != HW__SIGNALS_UPGRADE)
    begin_stop(m, cmd);
}

/* The first generation's preflight is done: start the workers, or give
 * up if it failed (the reason is already logged). */
static void initial_checked(hw__reloader *rl, hw__config *cfg, unsigned id) {
  master *m = rl->owner;
  char err[4096];

  hw__config_free(m->cfg);
  m->cfg = cfg;
  rl->staged_id = id;
  rl->on_checked = master_checked;
  if (hw__master_sockets_open(&m->socks, cfg, m->nslots,
                              m->opts->inherited_fds, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s: %s", cfg->path, err);
    m->exit_code = 1;
    hw__reload_finished(rl, 1, NULL);
    m->stopping = 1;
    maybe_exit(m);
    return;
  }
  hw__reload_finished(rl, 1, NULL);
  for (int k = 0; k < m->nslots; k++) {
    m->slots[k].fds = hw__master_sockets_slot(&m->socks, k);
    if (make_note(m, &m->slots[k]) != 0)
      hw__log(HW_LOG_WARN, "worker %d: no shared state page: %s", k + 1,
              strerror(errno));
    spawn_slot(&m->slots[k]);
  }
  hw__signals_watch(m->sig, HW__SIGNALS_BIT(HW__SIGNALS_RELOAD) |
                                HW__SIGNALS_BIT(HW__SIGNALS_REOPEN) |
                                HW__SIGNALS_BIT(HW__SIGNALS_UPGRADE));
  if (m->opts->upgrade_fd >= 0 &&
      hw__upgrade_attach(&m->up, m->opts->upgrade_fd) != 0)
    hw__log(HW_LOG_WARN, "cannot read the pipe to the old master");
  hw__process_block_signals(0); /* SIGHUP waited until there was
                                   something to reload */
}

static void initial_finished(hw__reloader *rl, int ok) {
  master *m = rl->owner;
  rl->on_finished = NULL;
  if (!ok) {
    /* Stopped while the first generation was being checked: a stop, not
     * a failed start. */
    m->exit_code = m->stopping ? 0 : 1;
    m->stopping = 1;
    maybe_exit(m);
  }
}

/* A new master that could not take the pid file stops (the old one then
 * reports the upgrade failed). */
static void upgrade_failed(hw__upgrade *u) { begin_stop(u->owner, HW__SIGNALS_TERM); }

int hw__master_run(hw__config *cfg, int nworkers, const hw__master_opts *o) {
  const char *run_dir_parent = o->run_dir_parent, *pid_file = o->pid_file;
  master m;
  char err[4096];

  memset(&m, 0, sizeof(m));
  m.loop = uv_default_loop();
  m.nslots = nworkers;
  m.opts = o;
  /* Where `haywire -s` has a channel of its own (Windows' command pipe), a
   * second owner is refused before anything starts. */
  m.sig = hw__signals_new(m.loop, on_command, &m);
  if (m.sig == NULL || hw__signals_serve(m.sig, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", m.sig == NULL ? "out of memory" : err);
    hw__signals_close(m.sig);
    uv_run(m.loop, UV_RUN_DEFAULT);
    hw__config_free(cfg);
    return 1;
  }
  hw__upgrade_init(&m.up, m.loop);
  m.up.exe = o->exe;
  m.up.argv = o->argv;
  m.up.pid_file = pid_file;
  m.up.owner = &m;
  m.up.record_path = &m.rl.record_path;
  m.up.failed = upgrade_failed;
  m.slots = calloc((size_t)nworkers, sizeof(slot));
  if (m.slots == NULL) {
    hw__signals_close(m.sig); /* (freed as its handles close) */
    uv_run(m.loop, UV_RUN_DEFAULT);
    hw__config_free(cfg);
    return 1;
  }
  for (int k = 0; k < nworkers; k++) {
    m.slots[k].m = &m;
    m.slots[k].id = k + 1;
    uv_timer_init(m.loop, &m.slots[k].restart);
    m.slots[k].restart.data = &m.slots[k];
  }
  if (hw__reload_rundir(&m.rl, run_dir_parent, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    hw__signals_close(m.sig);
    uv_run(m.loop, UV_RUN_DEFAULT);
    free(m.slots);
    hw__config_free(cfg);
    return 1;
  }
  m.rl.loop = m.loop;
  m.rl.owner = &m;
  m.rl.config_path = strdup(cfg->path);
  if (cfg->pid_file != NULL)
    m.rl.config_pid_file = strdup(cfg->pid_file);
  m.rl.config_workers = cfg->workers;
  if (pid_file != NULL) {
    char record[4200];
    hw__pidfile_record_path(pid_file, record, sizeof(record));
    m.rl.record_path = strdup(record);
  }
  m.rl.on_checked = initial_checked;
  m.rl.on_finished = initial_finished;
#ifndef HW_NO_METRICS /* without them nothing counts: no reason to stop */
  if (hw__metrics_create((unsigned)nworkers) != 0)
    hw__log(HW_LOG_WARN, "cannot make the counters' memory: no metrics");
#endif
  /* TLS session tickets resume on any worker: one key ring, rotated here. */
  if (hw__tickets_create() != 0 ||
      hw__tickets_start(m.loop, HW__TICKETS_ROTATE_MS) != 0)
    hw__log(HW_LOG_WARN, "cannot share TLS ticket keys: no resumption");

  uv_timer_init(m.loop, &m.stop_timer);
  m.stop_timer.data = &m;
  uv_timer_init(m.loop, &m.reload_timer);
  m.reload_timer.data = &m;
  hw__signals_watch(m.sig, HW__SIGNALS_BIT(HW__SIGNALS_TERM) |
                              HW__SIGNALS_BIT(HW__SIGNALS_STOP) |
                              HW__SIGNALS_BIT(HW__SIGNALS_QUIT));
  /* Stopping works from now on; SIGHUP stays blocked until the first
   * generation serves. */
  hw__signals_block(HW__SIGNALS_BIT(HW__SIGNALS_TERM) |
                        HW__SIGNALS_BIT(HW__SIGNALS_STOP) |
                        HW__SIGNALS_BIT(HW__SIGNALS_QUIT),
                    0);

  hw__log(HW_LOG_INFO, "%s master started (pid %d, %d workers)",
          "haywire " PACKAGE_VERSION, (int)getpid(), nworkers);
  /* The listen list is fixed for the master's life (reloads keep it), so
   * the reloader gets a copy that outlives every generation's config. */
  if (hw__reload_keep_listen(&m.rl, cfg) != 0)
    hw__log(HW_LOG_WARN, "out of memory: reloads cannot keep \"listen\"");
  hw__reload_check(&m.rl, cfg);
  uv_run(m.loop, UV_RUN_DEFAULT);

  for (int k = 0; k < m.nslots; k++) {
    slot *s = &m.slots[k];
    if (s->note != NULL) {
      char path[4200];
      snprintf(path, sizeof(path), "%s/slot-%d", m.rl.run_dir, s->id);
      hw__module_note_destroy(s->note, path);
    }
  }
  hw__master_sockets_close(&m.socks);
  for (unsigned g = 1; g <= m.rl.last_id + 1; g++)
    hw__reload_unstage(&m.rl, g);
  hw__reload_destroy(&m.rl);
  hw__config_free(m.cfg);
  hw__config_free(m.next_cfg);
  free(m.slots);
  uv_loop_close(m.loop);
  hw__log(HW_LOG_INFO, "master stopped");
  return m.exit_code;
}
