/*
 * reload.c - hot reload on SIGHUP, as one transaction.
 *
 * A reload re-reads routes.json, copies every module it names into a private
 * directory of its own (run_dir/g<N>/<route index>/<file name>), and first checks the result in a
 * child process (`haywire -t` on that snapshot), so that a module that
 * crashes in init costs a log line and not the server.  Only then is the new
 * generation built in-process, from the very same copies, and swapped in.
 * Any failure leaves the serving generation untouched and logs
 * "reload failed: <file>: <reason>; still serving generation N".
 *
 * Private copies are what make editing modules safe: the dynamic loader
 * caches objects by path and inode, and `cp` over a mapped file rewrites the
 * pages the process is executing.  A copy is never written again once made,
 * and each generation has its own, so a changed file is really loaded anew.
 *
 * What happens to the generation a reload replaces is drain.c's business.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_write.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "os.h"
#include "pidfile.h"
#include "procenv.h"
#include "process.h"
#include "reload.h"
#include "signals.h"

#define REAPER_MS 100
#define PREFLIGHT_TIMEOUT_MS 60000
#define PREFLIGHT_OUTPUT_MAX 8192

static void gen_dir(const hw__reloader *rl, unsigned id, char *buf,
                    size_t len) {
  snprintf(buf, len, "%s/g%u", rl->run_dir, id);
}

void hw__reload_snapshot(const hw__reloader *rl, unsigned id, char *buf,
                         size_t len) {
  snprintf(buf, len, "%s/g%u/routes.json", rl->run_dir, id);
}

void hw__reload_unstage(const hw__reloader *rl, unsigned id) {
  char dir[4096];

  if (rl->run_dir == NULL)
    return; /* a worker's master owns the copies */
  gen_dir(rl, id, dir, sizeof(dir));
  hw__os_remove_tree(dir, 1); /* routes.json and a directory per module */
}

int hw__reload_rundir(hw__reloader *rl, const char *parent, char *err,
                      size_t err_len) {
  int r = hw__os_run_dir(parent, &rl->run_dir, err, err_len);

  if (r == 0)
    rl->own_run_dir = 1;
  return r;
}

/* A certificate and its key are part of a generation as its modules are:
 * copied into its directory (run_dir/gN/tls-<listener>-<n>.crt and .key,
 * in a directory only the server can read), so that a worker started or
 * restarted later reads what the check read, and a renewal half-way
 * through its copying is not half-loaded. */
static int stage_cert(hw__config *cfg, const char *dir, size_t l, size_t i,
                      char *err, size_t err_len) {
  hw__config_cert *c = &cfg->tls[l].certs[i];
  char path[4352], why[4608];
  static const char *const what[2] = {"cert", "key"};

  for (int k = 0; k < 2; k++) {
    char **file = k == 0 ? &c->cert : &c->key;
    char **source = k == 0 ? &c->cert_source : &c->key_source;
    snprintf(path, sizeof(path), "%s/tls-%zu-%zu.%s", dir, l, i,
             k == 0 ? "crt" : "key");
    if (hw__os_copy_file(*file, path, k == 0 ? 0444 : 0, why,
                         sizeof(why)) != 0) {
      snprintf(err, err_len, "%s: listen[%zu].tls.certificates[%zu].%s: %s",
               cfg->path, l, i, what[k], why);
      return -1;
    }
    free(*source);
    *source = *file;
    if ((*file = strdup(path)) == NULL) {
      snprintf(err, err_len, "out of memory");
      return -1;
    }
  }
  return 0;
}

int hw__reload_stage(hw__reloader *rl, hw__config *cfg, unsigned id, char *err,
              size_t err_len) {
  char dir[4096], path[4352], why[4608];
  char *json;
  FILE *f;

  gen_dir(rl, id, dir, sizeof(dir));
  hw__reload_unstage(rl, id);
  if (hw__os_mkdir(dir, 0700) != 0) {
    snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
    return UV_EIO;
  }
  for (size_t i = 0; i < cfg->nroutes; i++) {
    hw__route_conf *rc = &cfg->routes[i];
    const char *base = hw__os_path_last_sep(rc->module_path);
    char *copy = NULL;

    base = base != NULL ? base + 1 : rc->module_path;
    /* A file named by several routes is copied (and loaded) once. */
    for (size_t j = 0; j < i && copy == NULL; j++)
      if (strcmp(cfg->routes[j].source_path, rc->module_path) == 0)
        copy = strdup(cfg->routes[j].module_path);
    if (copy == NULL) {
      /* run_dir/gN/<i>/<the user's file name>: distinct files of one name
       * get distinct copies, and a worker's log names the file the user
       * knows. */
      snprintf(path, sizeof(path), "%s/%zu", dir, i);
      if (hw__os_mkdir(path, 0700) != 0) {
        snprintf(err, err_len, "cannot create %s: %s", path, strerror(errno));
        return UV_EIO;
      }
      snprintf(path, sizeof(path), "%s/%zu/%s", dir, i, base);
      if (hw__os_copy_file(rc->module_path, path, 0500, why, sizeof(why)) != 0) {
        snprintf(err, err_len, "%s: routes[%zu].module: %s", cfg->path, i,
                 why);
        return UV_EIO;
      }
      copy = strdup(path);
    }
    if (copy == NULL)
      return UV_ENOMEM;
    rc->source_path = rc->module_path;
    rc->module_path = copy;
  }
  for (size_t l = 0; cfg->tls != NULL && l < cfg->nlisten; l++)
    for (size_t i = 0; i < cfg->tls[l].ncerts; i++)
      if (stage_cert(cfg, dir, l, i, err, err_len) != 0)
        return UV_EIO;
  json = hw__config_write_json(cfg);
  snprintf(path, sizeof(path), "%s/routes.json", dir);
  f = json != NULL ? fopen(path, "w") : NULL;
  if (f == NULL || fputs(json, f) < 0 || fclose(f) != 0) {
    snprintf(err, err_len, "cannot write %s", path);
    free(json);
    return UV_EIO;
  }
  free(json);
  return 0;
}

/* ---- the transaction: read, stage, check --------------------------------- */

/* The outcome, for `haywire -s reload` (sigcmd.c), which waits for it. */
static void record(hw__reloader *rl, int ok, const char *why) {
  hw__pidfile_record rec;
  int r;

  memset(&rec, 0, sizeof(rec));
  rec.pid = (long)getpid();
  rec.sequence = ++rl->sequence;
  rec.started = rl->started;
  rec.generation = rl->last_id;
  rec.ok = ok;
  if (!ok)
    snprintf(rec.reason, sizeof(rec.reason), "%s", why);
  if ((r = hw__pidfile_record_write(rl->record_path, &rec)) != 0)
    hw__log(HW_LOG_WARN, "cannot write the reload record %s: %s",
            rl->record_path, uv_strerror(r));
}

void hw__reload_finished(hw__reloader *rl, int ok, const char *why) {
  int starting = rl->last_id == 0;

  if (!ok && rl->last_id == 0) {
    /* At start-up: nothing to keep.  A stop that came meanwhile is not an
     * error. */
    if (rl->stopping)
      hw__log(HW_LOG_INFO, "stopped before the first generation served");
    else
      hw__log(HW_LOG_ERROR, "%s", why);
    hw__reload_unstage(rl, rl->staged_id);
  } else if (!ok) {
    hw__log(HW_LOG_ERROR, "reload failed: %s; still serving generation %u",
            why, rl->last_id);
    hw__reload_unstage(rl, rl->staged_id);
  } else {
    rl->last_id = rl->staged_id;
  }
  if (rl->staged != NULL) {
    hw__config_free(rl->staged);
    rl->staged = NULL;
  }
  rl->busy = 0;
  if (starting && ok)
    hw__metrics_started(rl->last_id);
  else if (!starting)
    hw__metrics_reloaded(ok, rl->last_id);
  if (!starting)
    hw__notify_reloaded(rl->last_id, ok);
  if (!starting && rl->record_path != NULL)
    record(rl, ok, why);
  if (rl->on_finished != NULL)
    rl->on_finished(rl, ok);
  /* SIGHUPs that came while this reload was being built are coalesced
   * into one more reload, which sees the newest files. */
  if (rl->pending && !rl->stopping) {
    rl->pending = 0;
    hw__reload_request(rl);
  }
}

void hw__reload_user_paths(const hw__reloader *rl, const hw__config *cfg,
                           char *msg, size_t cap) {
  char snapshot[4352];
  hw__reload_snapshot(rl, rl->staged_id, snapshot, sizeof(snapshot));
  hw__buf_replace_all(msg, cap, snapshot, cfg->path);
  hw__config_user_paths(cfg, msg, cap);
}

static void child_closed(uv_handle_t *h) {
  hw__reloader *rl = h->data;
  hw__config *cfg;
  char msg[4096];
  size_t n;

  /* The process, its stderr pipe and its timer each close once; the
   * verdict waits for all three, so that every line it wrote is read. */
  if (++rl->child_state < 3)
    return;
  if (rl->stopping) {
    hw__buf_free(&rl->child_out);
    hw__reload_finished(rl, 0, "shutting down");
    return;
  }
  if (rl->child_status == 0 && rl->child_signal == 0) {
    hw__buf_free(&rl->child_out);
    cfg = rl->staged;
    rl->staged = NULL;
    rl->on_checked(rl, cfg, rl->staged_id);
    return;
  }
  if (rl->child_signal != 0) {
    snprintf(msg, sizeof(msg), "%s: preflight check killed by signal %d (%s)",
             rl->staged->path, rl->child_signal, hw__signals_describe(rl->child_signal));
  } else {
    /* The child's verdict is its last "haywire: " line. */
    char *out, *line = NULL;
    hw__buf_append(&rl->child_out, "", 1);
    out = rl->child_out.data;
    for (char *p = out; p != NULL && *p != '\0';) {
      char *nl = strchr(p, '\n');
      if (strncmp(p, "haywire: ", 9) == 0)
        line = p + 9;
      if (nl != NULL)
        *nl = '\0';
      p = nl != NULL ? nl + 1 : NULL;
    }
    snprintf(msg, sizeof(msg), "%s",
             line != NULL ? line : "preflight check failed");
    if (line == NULL) {
      n = strlen(msg);
      snprintf(msg + n, sizeof(msg) - n, " (exit status %lld)",
               (long long)rl->child_status);
    }
    hw__reload_user_paths(rl, rl->staged, msg, sizeof(msg));
  }
  hw__buf_free(&rl->child_out);
  hw__reload_finished(rl, 0, msg);
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig) {
  hw__reloader *rl = p->data;
  rl->child_status = status;
  rl->child_signal = sig;
  uv_timer_stop(&rl->child_timer);
  uv_close((uv_handle_t *)&rl->child_timer, child_closed);
  uv_close((uv_handle_t *)p, child_closed);
}

static void child_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  hw__reloader *rl = s->data;
  if (n > 0 && rl->child_out.len < PREFLIGHT_OUTPUT_MAX)
    hw__buf_append(&rl->child_out, buf->base, (size_t)n);
  if (n < 0)
    uv_close((uv_handle_t *)s, child_closed);
}

static void on_child_timeout(uv_timer_t *t) {
  hw__reloader *rl = t->data;
  hw__log(HW_LOG_WARN, "reload: preflight check still running after %d s; "
                       "killing it",
          PREFLIGHT_TIMEOUT_MS / 1000);
  uv_process_kill(&rl->child, SIGKILL);
}

static int spawn_preflight(hw__reloader *rl, char *err, size_t err_len) {
  char exe[4096], path[4096], snapshot[4352];
  const char *file;
  size_t exe_len = sizeof(exe);
  char *args[5];
  uv_process_options_t opt;
  uv_stdio_container_t stdio[3];
  int r;

  if ((r = uv_exepath(exe, &exe_len)) != 0 ||
      (file = hw__procenv_exec_path(path, sizeof(path))) == NULL) {
    snprintf(err, err_len, "cannot find the server binary: %s",
             uv_strerror(r != 0 ? r : UV_ENOENT));
    return r != 0 ? r : UV_ENOENT;
  }
  hw__reload_snapshot(rl, rl->staged_id, snapshot, sizeof(snapshot));
  args[0] = exe;
  args[1] = "-t";
  args[2] = "-c";
  args[3] = snapshot;
  args[4] = NULL;

  uv_pipe_init(rl->loop, &rl->child_err, 0);
  rl->child_err.data = rl;
  memset(&opt, 0, sizeof(opt));
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_IGNORE;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&rl->child_err;
  opt.file = file;
  opt.args = args;
  opt.exit_cb = on_child_exit;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  rl->child.data = rl;
  rl->child_state = 0;
  rl->child_status = -1;
  rl->child_signal = 0;
  r = uv_spawn(rl->loop, &rl->child, &opt);
  if (r != 0) {
    snprintf(err, err_len, "cannot start the preflight check: %s",
             uv_strerror(r));
    uv_close((uv_handle_t *)&rl->child_err, NULL);
    uv_close((uv_handle_t *)&rl->child, NULL);
    return r;
  }
  uv_read_start((uv_stream_t *)&rl->child_err, hw__buf_line_alloc, child_read);
  uv_timer_init(rl->loop, &rl->child_timer);
  rl->child_timer.data = rl;
  uv_timer_start(&rl->child_timer, on_child_timeout, PREFLIGHT_TIMEOUT_MS, 0);
  return 0;
}

static void begin(hw__reloader *rl) {
  hw__config *cfg;
  char err[4096];

  rl->busy = 1;
  rl->started = uv_hrtime();
  rl->staged_id = rl->last_id + 1; /* what a failure below cleans up */
  hw__log(HW_LOG_INFO, "reload: reading %s", rl->config_path);
  if (rl->last_id > 0) /* (not the first generation's check) */
    hw__notify_reloading();
  if (hw__config_load(rl->config_path, &cfg, err, sizeof(err)) != 0) {
    hw__reload_finished(rl, 0, err);
    return;
  }
  /* The listening sockets stay as they are: a reload changes routes and
   * modules, not addresses. */
  if (cfg->nlisten != rl->nlisten ||
      memcmp(cfg->listen, rl->listen,
             rl->nlisten * sizeof(hw__config_listen)) != 0)
    hw__log(HW_LOG_WARN, "reload: a change of \"listen\" takes a restart");
  if ((cfg->pid_file == NULL) != (rl->config_pid_file == NULL) ||
      (cfg->pid_file != NULL && strcmp(cfg->pid_file, rl->config_pid_file) != 0))
    hw__log(HW_LOG_WARN, "reload: a change of \"pid_file\" takes a restart");
  if (cfg->workers != rl->config_workers)
    hw__log(HW_LOG_WARN, "reload: a change of \"workers\" takes a restart");
  if (hw__config_keep_listen(cfg, rl->listen, rl->listen_tls, rl->nlisten) <
      0) {
    hw__config_free(cfg);
    hw__reload_finished(rl, 0, "out of memory");
    return;
  }
  hw__reload_check(rl, cfg);
}

void hw__reload_check(hw__reloader *rl, hw__config *cfg) {
  char err[4096];

  rl->busy = 1;
  rl->staged = cfg;
  rl->staged_id = rl->last_id + 1;
  if (hw__reload_stage(rl, cfg, rl->staged_id, err, sizeof(err)) != 0 ||
      spawn_preflight(rl, err, sizeof(err)) != 0)
    hw__reload_finished(rl, 0, err);
}

void hw__reload_request(hw__reloader *rl) {
  if (rl->stopping)
    return;
  if (rl->busy) {
    rl->pending = 1;
    return;
  }
  begin(rl);
}

static void on_sighup(uv_signal_t *s, int signum) {
  hw__reload_request(s->data);
}

void hw__reload_listen_sighup(hw__reloader *rl) {
  uv_signal_init(rl->loop, &rl->sig_hup);
  rl->sig_hup.data = rl;
  uv_signal_start(&rl->sig_hup, on_sighup, SIGHUP);
}

int hw__reload_keep_listen(hw__reloader *rl, const hw__config *cfg) {
  size_t n = cfg->nlisten;
  rl->listen = malloc((n ? n : 1) * sizeof(*rl->listen));
  rl->listen_tls = calloc(n ? n : 1, sizeof(*rl->listen_tls));
  if (rl->listen == NULL || rl->listen_tls == NULL)
    return UV_ENOMEM;
  memcpy(rl->listen, cfg->listen, n * sizeof(*rl->listen));
  for (; rl->nlisten < n; rl->nlisten++)
    if (cfg->tls != NULL &&
        hw__config_listen_copy(&rl->listen_tls[rl->nlisten],
                               &cfg->tls[rl->nlisten]) != 0)
      return UV_ENOMEM;
  return 0;
}

void hw__reload_close(hw__reloader *rl) {
  rl->stopping = 1;
  if (rl->sig_hup.loop != NULL && !uv_is_closing((uv_handle_t *)&rl->sig_hup))
    uv_close((uv_handle_t *)&rl->sig_hup, NULL);
  /* A preflight still running finishes on its own: its handles close when
   * it exits, and the verdict is then "shutting down". */
}


void hw__reload_destroy(hw__reloader *rl) {
  if (rl->staged != NULL) {
    hw__config_free(rl->staged);
    rl->staged = NULL;
  }
  if (rl->run_dir != NULL && rl->own_run_dir)
    rmdir(rl->run_dir);
  free(rl->run_dir);
  rl->run_dir = NULL;
  free(rl->config_path);
  rl->config_path = NULL;
  for (size_t i = 0; rl->listen_tls != NULL && i < rl->nlisten; i++)
    hw__config_listen_free(&rl->listen_tls[i]);
  free(rl->listen_tls);
  rl->listen_tls = NULL;
  free(rl->listen);
  rl->listen = NULL;
  rl->nlisten = 0;
  free(rl->record_path);
  rl->record_path = NULL;
  free(rl->config_pid_file);
  rl->config_pid_file = NULL;
}
