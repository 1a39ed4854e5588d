/*
 * upgrade.c - the binary upgrade (see upgrade.h).
 *
 * As nginx's USR2: the running ("old") master starts a new master from the
 * binary on disk as its own child (so it hears of its exit), with the
 * command line it was started with, and hands it its listening sockets:
 * the same kernel sockets, inherited across exec on fds 4.. and listed in
 * HAYWIRE_LISTEN_FDS, so that nothing queued in a backlog is lost.  Fd 3
 * is a pipe between the two (HAYWIRE_UPGRADE_FD), one line per message:
 *
 *   new -> old   ready          every worker of the new master serves
 *   old -> new   go             "<pid_file>.oldbin" names the old master's
 *                               pid file now: take "<pid_file>"
 *   new -> old   running        "<pid_file>" names the new master
 *   new -> old   error <text>   an error it logged (the first is the
 *                               reason given if it fails)
 *
 * The pid file never goes missing: the old master links its file (which
 * it keeps locked) as "<pid_file>.oldbin", then the new one writes and
 * locks a file of its own and renames it over "<pid_file>".  A new master
 * that fails (cannot be started, exits, not ready within READY_MS) changes
 * nothing: one log line says why, the link is removed, "<pid_file>" was
 * never touched.  A new master that exits after it was ready is a
 * rollback: "<pid_file>.oldbin" is renamed back.  Each outcome is recorded
 * in "<pid_file>.upgrade" (pidfile.h's record), which `haywire -s upgrade`
 * waits for.  A single process refuses an upgrade (it has no master to
 * keep the sockets) and records that too (hw__upgrade_refuse).
 *
 * The hard link and keeping a descriptor private are the platform halves'
 * (upgrade_posix.c, upgrade_win32.c); on Windows an upgrade is refused
 * before it starts (sockets are not inherited by number there), and this
 * file is only compiled.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "os.h"
#include "pidfile.h"
#include "process.h"
#include "upgrade.h"

/* The new master checks its first generation (a preflight of up to 60 s)
 * and starts its workers before it is ready. */
#define READY_MS 90000
#define FIRST_FD 4

extern char **environ;

void hw__upgrade_init(hw__upgrade *u, uv_loop_t *loop) {
  memset(u, 0, sizeof(*u));
  u->loop = loop;
  uv_timer_init(loop, &u->timer);
  u->timer.data = u;
}

static void record(hw__upgrade *u, int ok, const char *reason) {
  hw__pidfile_record r;
  char path[4200];

  if (u->pid_file == NULL)
    return;
  memset(&r, 0, sizeof(r));
  r.pid = (long)getpid();
  r.sequence = ++u->sequence;
  r.started = u->started;
  r.ok = ok;
  snprintf(r.reason, sizeof(r.reason), "%s", reason);
  hw__pidfile_upgrade_path(u->pid_file, path, sizeof(path));
  if (hw__pidfile_record_write(path, &r) != 0)
    hw__log(HW_LOG_WARN, "cannot record the upgrade's outcome in %s", path);
}

/* One line saying why the upgrade failed, and the same in the record. */
static void fail(hw__upgrade *u, const char *fmt, ...)
    HW__PRINTF(2, 3);
static void fail(hw__upgrade *u, const char *fmt, ...) {
  char why[2048];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  hw__log(HW_LOG_ERROR, "upgrade failed: %s; this master (pid %d) serves "
                        "on, its pid file untouched",
          why, (int)getpid());
  record(u, 0, why);
}

/* The upgrade under way failed: our pid file loses its ".oldbin" name. */
static void unlink_oldbin(hw__upgrade *u) {
  if (u->linked)
    unlink(u->oldbin);
  u->linked = 0;
}

/* ---- the old master's side ---------------------------------------------- */

/* The old master's reloads are recorded beside the pid file that names it:
 * "<pid_file>.oldbin.reload" while two serve (the new master's go beside
 * "<pid_file>"). */
static void move_record(hw__upgrade *u, int both) {
  char base[4220], path[4300], *copy;
  if (u->pid_file == NULL || u->record_path == NULL)
    return;
  snprintf(base, sizeof(base), both ? "%s.oldbin" : "%s", u->pid_file);
  hw__pidfile_record_path(base, path, sizeof(path));
  if ((copy = strdup(path)) == NULL)
    return;
  free(*u->record_path);
  *u->record_path = copy;
}

static void handle_closed(uv_handle_t *h) {
  hw__upgrade *u = h->data;
  if (--u->handles == 0) {
    hw__buf_free(&u->in);
    if (u->state != HW__UPGRADE_CLOSING)
      u->state = HW__UPGRADE_IDLE;
  }
}

static void close_child(hw__upgrade *u) {
  uv_timer_stop(&u->timer);
  if (!uv_is_closing((uv_handle_t *)&u->proc))
    uv_close((uv_handle_t *)&u->proc, handle_closed);
  if (!uv_is_closing((uv_handle_t *)&u->pipe))
    uv_close((uv_handle_t *)&u->pipe, handle_closed);
}

static void send_line(uv_stream_t *s, const char *line) {
  uv_buf_t b = uv_buf_init((char *)line, (unsigned)strlen(line));
  uv_try_write(s, &b, 1); /* a few bytes on an empty pipe */
}

/* The new master is ready: link our pid file as ".oldbin", then let it
 * take "<pid_file>". */
static void on_ready(hw__upgrade *u) {
  if (u->pid_file != NULL) {
    unlink(u->oldbin); /* one an old crash left */
    if (hw__upgrade_link(u->pid_file, u->oldbin) != 0) {
      fail(u, "cannot link %s as %s: %s: stopping new master %d",
             u->pid_file, u->oldbin, strerror(errno), (int)u->pid);
      u->state = HW__UPGRADE_FAILING;
      uv_process_kill(&u->proc, SIGTERM);
      return;
    }
    u->linked = 1;
  }
  u->state = HW__UPGRADE_PIDFILE;
  hw__notify_hand_over(); /* told "go", the new master is the service's */
  send_line((uv_stream_t *)&u->pipe, "go\n");
}

static void on_running(hw__upgrade *u) {
  u->state = HW__UPGRADE_BOTH;
  uv_timer_stop(&u->timer);
  hw__log(HW_LOG_INFO,
          "upgrade: new master %d ready in %.1f s; both serve until one is "
          "sent SIGQUIT (this one, pid %d, to finish; the new one to roll "
          "back)%s%s",
          (int)u->pid, (double)(uv_hrtime() - u->started) / 1e9,
          (int)getpid(), u->linked ? "; pid file moved to " : "",
          u->linked ? u->oldbin : "");
  record(u, 1, "");
  move_record(u, 1);
}

static void child_line(void *arg, char *line) {
  hw__upgrade *u = arg;
  if (strcmp(line, "ready") == 0 && u->state == HW__UPGRADE_STARTING)
    on_ready(u);
  else if (strcmp(line, "running") == 0 && u->state == HW__UPGRADE_PIDFILE)
    on_running(u);
  else if (strncmp(line, "error ", 6) == 0 && u->reason[0] == '\0')
    snprintf(u->reason, sizeof(u->reason), "%s", line + 6);
}

static void child_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  hw__upgrade *u = s->data;
  if (n < 0) {
    uv_read_stop(s); /* its exit is handled there */
    return;
  }
  hw__buf_lines(&u->in, buf->base, (size_t)n, child_line, u);
}

static void describe_exit(char *buf, size_t len, int64_t status, int sig) {
  if (sig != 0)
    snprintf(buf, len, "killed by signal %d (%s)", sig,
             hw__process_signame(sig));
  else
    snprintf(buf, len, "exited with status %lld", (long long)status);
}

static void child_exit(uv_process_t *p, int64_t status, int sig) {
  hw__upgrade *u = p->data;
  char how[64];

  describe_exit(how, sizeof(how), status, sig);
  if (u->state == HW__UPGRADE_STARTING || u->state == HW__UPGRADE_PIDFILE) {
    if (u->state == HW__UPGRADE_PIDFILE) /* it had been handed the unit */
      hw__notify_take_over();
    unlink_oldbin(u);
    fail(u, "new master %d %s before it was ready%s%s", (int)u->pid, how,
         u->reason[0] ? ": " : " (see its log)", u->reason);
  } else if (u->state == HW__UPGRADE_BOTH) {
    /* A rollback: this master's pid file gets its name back. */
    if (u->linked && rename(u->oldbin, u->pid_file) != 0)
      hw__log(HW_LOG_ERROR, "upgrade: cannot rename %s back to %s: %s",
              u->oldbin, u->pid_file, strerror(errno));
    u->linked = 0;
    hw__log(HW_LOG_INFO,
            "upgrade: new master %d %s; this master (pid %d) serves alone "
            "again%s%s",
            (int)u->pid, how, (int)getpid(),
            u->pid_file != NULL ? " and is in the pid file " : "",
            u->pid_file != NULL ? u->pid_file : "");
    move_record(u, 0);
    hw__notify_take_over();
  } else {
    hw__log(HW_LOG_INFO, "upgrade: new master %d %s", (int)u->pid, how);
  }
  close_child(u);
}

static void on_timeout(uv_timer_t *t) {
  hw__upgrade *u = t->data;
  unlink_oldbin(u);
  fail(u, "new master %d not ready within %d s%s%s: stopping it",
         (int)u->pid, READY_MS / 1000, u->reason[0] ? ": " : "", u->reason);
  u->state = HW__UPGRADE_FAILING;
  uv_process_kill(&u->proc, SIGTERM);
}

/* The environment of the new master: ours, with the two variables set. */
static char **child_env(const char *fds, const char *pipe_fd) {
  size_t n = 0, k = 0;
  char **env;

  while (environ[n] != NULL)
    n++;
  if ((env = calloc(n + 3, sizeof(*env))) == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "HAYWIRE_LISTEN_FDS=", 19) != 0 &&
        strncmp(environ[i], "HAYWIRE_UPGRADE_FD=", 19) != 0)
      env[k++] = environ[i];
  env[k++] = (char *)fds;
  env[k++] = (char *)pipe_fd;
  return env;
}

static int spawn(hw__upgrade *u, const hw__master_sockets *ms, char *err,
                 size_t err_len) {
  size_t nfds = hw__master_sockets_count(ms);
  char fds[16384] = "HAYWIRE_LISTEN_FDS=", pipe_fd[32];
  uv_stdio_container_t *stdio = calloc(FIRST_FD + nfds, sizeof(*stdio));
  uv_process_options_t opt;
  char **env = NULL;
  int r = UV_ENOMEM;

  snprintf(pipe_fd, sizeof(pipe_fd), "HAYWIRE_UPGRADE_FD=%d", FIRST_FD - 1);
  if (stdio == NULL ||
      hw__master_sockets_describe(ms, FIRST_FD, fds + 19,
                                  sizeof(fds) - 19) != 0 ||
      (env = child_env(fds, pipe_fd)) == NULL)
    goto out;
  uv_pipe_init(u->loop, &u->pipe, 0);
  u->pipe.data = u;
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = stdio[2].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 1;
  stdio[2].data.fd = 2;
  stdio[3].flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
  stdio[3].data.stream = (uv_stream_t *)&u->pipe;
  for (size_t j = 0; j < nfds; j++) {
    stdio[FIRST_FD + j].flags = UV_INHERIT_FD;
    /* A descriptor on POSIX (there is no upgrade on Windows). */
    stdio[FIRST_FD + j].data.fd = (int)hw__master_sockets_fd(ms, j);
  }
  memset(&opt, 0, sizeof(opt));
  opt.file = u->exe;
  opt.args = (char **)u->argv;
  opt.env = env;
  opt.exit_cb = child_exit;
  opt.stdio = stdio;
  opt.stdio_count = (int)(FIRST_FD + nfds);
  u->proc.data = u;
  u->handles = 2;
  if ((r = uv_spawn(u->loop, &u->proc, &opt)) != 0) {
    snprintf(err, err_len, "cannot start %s: %s", u->exe, uv_strerror(r));
    uv_close((uv_handle_t *)&u->proc, handle_closed);
    uv_close((uv_handle_t *)&u->pipe, handle_closed);
  }
out:
  if (r == UV_ENOMEM)
    snprintf(err, err_len, "out of memory (or too many sockets to list)");
  free(stdio);
  free(env);
  return r;
}

void hw__upgrade_start(hw__upgrade *u, const hw__master_sockets *ms) {
  char err[4400];

  /* Three masters on one set of sockets and pid files would leave no
   * rule for which one ".oldbin" names (nginx refuses this too). */
  if (u->state != HW__UPGRADE_IDLE || u->parent_open) {
    u->started = uv_hrtime();
    fail(u, "%s",
         u->state == HW__UPGRADE_BOTH
             ? "a new master already serves beside this one: send SIGQUIT "
               "to one of them first"
         : u->parent_open ? "the master that started this one still serves "
                            "beside it: send SIGQUIT to one of them first"
                          : "an upgrade is already under way");
    return;
  }
  u->started = uv_hrtime();
  u->reason[0] = '\0';
  u->linked = 0;
  if (u->pid_file != NULL)
    snprintf(u->oldbin, sizeof(u->oldbin), "%s.oldbin", u->pid_file);
  if (u->exe == NULL || access(u->exe, X_OK) != 0) {
    fail(u, "cannot start a new master from %s: %s",
           u->exe != NULL ? u->exe : "(unknown path)", strerror(errno));
    return;
  }
  if (spawn(u, ms, err, sizeof(err)) != 0) {
    fail(u, "%s", err);
    return;
  }
  u->state = HW__UPGRADE_STARTING;
  u->pid = u->proc.pid;
  hw__log(HW_LOG_INFO, "upgrade: new master %d started from %s", (int)u->pid,
          u->exe);
  uv_read_start((uv_stream_t *)&u->pipe, hw__buf_line_alloc, child_read);
  uv_timer_start(&u->timer, on_timeout, READY_MS, 0);
}

int hw__upgrade_other_serves(const hw__upgrade *u) {
  /* (Told "go", every worker of the new master serves.) */
  return u->state == HW__UPGRADE_BOTH || u->state == HW__UPGRADE_PIDFILE ||
         u->parent_open;
}

void hw__upgrade_close(hw__upgrade *u) {
  if (u->loop == NULL)
    return;
  uv_timer_stop(&u->timer);
  if (!uv_is_closing((uv_handle_t *)&u->timer))
    uv_close((uv_handle_t *)&u->timer, NULL);
  if (u->handles > 0) {
    u->state = HW__UPGRADE_CLOSING; /* the new master runs on */
    close_child(u);
  }
  if (u->parent_open && !uv_is_closing((uv_handle_t *)&u->parent))
    uv_close((uv_handle_t *)&u->parent, NULL);
  u->parent_open = 0;
  hw__buf_free(&u->pin);
  /* ".oldbin" names our pid file (a new master took "<pid_file>", or is
   * about to): it goes, as "<pid_file>" would at our exit. */
  if (u->linked)
    hw__pidfile_remove(u->oldbin);
  u->linked = 0;
}

/* ---- the new master's side ---------------------------------------------- */

static void take_pid_file(hw__upgrade *u) {
  char err[4400];
  if (u->took_pid_file || u->pid_file == NULL)
    return;
  u->took_pid_file = 1;
  if (hw__pidfile_take_over(u->pid_file, err, sizeof(err)) != 0) {
    hw__log(HW_LOG_ERROR, "%s", err);
    if (u->failed != NULL)
      u->failed(u);
  }
}

static void parent_line(void *arg, char *line) {
  hw__upgrade *u = arg;
  if (strcmp(line, "go") != 0 || u->took_pid_file)
    return;
  hw__log_tee(-1); /* the old master no longer needs our reasons */
  take_pid_file(u);
  hw__notify_take_over();
  if (u->parent_open)
    send_line((uv_stream_t *)&u->parent, "running\n");
}

static void parent_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  hw__upgrade *u = s->data;
  if (n >= 0) {
    hw__buf_lines(&u->pin, buf->base, (size_t)n, parent_line, u);
    return;
  }
  /* The old master is gone: this one serves alone, and, if it was not
   * handed the pid file, takes it (the lock is free now). */
  hw__log(HW_LOG_INFO, "the master that started this one has exited");
  hw__log_tee(-1);
  u->parent_open = 0;
  uv_close((uv_handle_t *)s, NULL);
  if (!u->took_pid_file && u->pid_file != NULL) {
    char err[4400];
    u->took_pid_file = 1;
    if (hw__pidfile_write(u->pid_file, err, sizeof(err)) != 0)
      hw__log(HW_LOG_WARN, "%s", err);
  }
  hw__notify_take_over(); /* (the service's main process, whatever it was
                             told so far) */
}

int hw__upgrade_attach(hw__upgrade *u, int fd) {
  int r;
  hw__upgrade_private(fd); /* not for its workers and checks */
  uv_pipe_init(u->loop, &u->parent, 0);
  u->parent.data = u;
  if ((r = uv_pipe_open(&u->parent, fd)) != 0)
    return r;
  u->parent_open = 1;
  hw__notify_wait_for_take_over(); /* the old master speaks for the unit */
  /* Alone, the pipe must not keep the master alive at exit. */
  uv_unref((uv_handle_t *)&u->parent);
  return uv_read_start((uv_stream_t *)&u->parent, hw__buf_line_alloc,
                       parent_read);
}

void hw__upgrade_ready(hw__upgrade *u) {
  if (u->told_ready)
    return;
  u->told_ready = 1;
  if (u->parent_open) {
    hw__log(HW_LOG_INFO, "upgrade: every worker serves; telling the old "
                         "master");
    send_line((uv_stream_t *)&u->parent, "ready\n");
  } else {
    take_pid_file(u);
  }
}

/* ---- the binary's path ------------------------------------------------- */

/* The path as started, made absolute (not resolved through symlinks: as
 * nginx, an upgrade runs whatever the name names then, e.g. a symlink a
 * package manager moved to a new version).  /proc/self/exe would not do:
 * once the file is replaced it names the deleted binary. */
int hw__upgrade_exe_path(const char *argv0, char *buf, size_t len) {
  const char *path = getenv("PATH");
  char cwd[4096];

  if (argv0 == NULL || argv0[0] == '\0')
    return UV_EINVAL;
  if (argv0[0] == '/')
    return (size_t)snprintf(buf, len, "%s", argv0) < len ? 0 : UV_ENAMETOOLONG;
  if (strchr(argv0, '/') != NULL) {
    if (getcwd(cwd, sizeof(cwd)) == NULL)
      return -errno;
    return (size_t)snprintf(buf, len, "%s/%s", cwd, argv0) < len
               ? 0
               : UV_ENAMETOOLONG;
  }
  /* A bare name was found on $PATH, as execvp finds it. */
  for (const char *p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
    size_t n = strcspn(p, ":");
    if (n > 0 && (size_t)snprintf(buf, len, "%.*s/%s", (int)n, p, argv0) < len &&
        buf[0] == '/' && access(buf, X_OK) == 0)
      return 0;
    p += n + (p[n] == ':');
  }
  return UV_ENOENT;
}

void hw__upgrade_refuse(const char *record) {
  hw__pidfile_record r;
  memset(&r, 0, sizeof(r));
  snprintf(r.reason, sizeof(r.reason), "a binary upgrade needs a master "
           "process (\"workers\" 1 or more); this single process ignores "
           "SIGUSR2");
  hw__log(HW_LOG_WARN, "SIGUSR2: %s", r.reason);
  if (record == NULL)
    return;
  r.pid = (long)getpid();
  r.sequence = 1;
  r.started = uv_hrtime();
  hw__pidfile_record_write(record, &r);
}
