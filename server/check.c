/*
 * check.c - the configuration check (see check.h): what the child does and
 * how its parent reads the outcome.  Making the child is the system's
 * business: check_posix.c forks one, check_win32.c starts the binary again
 * (Windows has no fork).
 *
 * The child builds the generation as start-up would and finalises it; it
 * reports its verdict on a pipe ("+", or "-" and the one-line reason) and
 * as its exit status, so that module code calling exit(0) is no pass.
 * While module code runs, the child keeps the note page (module.c) up to
 * date on a page shared with the parent: when the child dies of a signal
 * (or, on Windows, of an exception), the page says whose init or fini it
 * was in.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* write, _exit (mingw: io.h via unistd.h) */

#include "access_log.h"
#include "check.h"
#include "generation.h"
#include "host.h"
#include "module.h"

/* Opens `path` for appending as the key `key` of the config at `cfgpath`
 * says; on failure, one line naming both.  (The message is written behind
 * its prefix: a path is as long as a buffer, so no two fit in one.) */
static int probe_one(const char *cfgpath, const char *key, const char *path,
                     char *err, size_t err_len) {
  int n = snprintf(err, err_len, "%s: %s: ", cfgpath, key);
  if (n < 0 || (size_t)n >= err_len)
    n = 0;
  return hw__access_log_probe(path, err + n, err_len - (size_t)n) != 0
             ? UV_EINVAL
             : 0;
}

/* Every access log the config names can be opened for appending (as
 * nginx, the server does not start, nor reload, when one cannot): the
 * first that cannot, named by its key. */
static int probe_logs(const hw__config *cfg, char *err, size_t err_len) {
  char key[64];
  if (cfg->access_log.mode == HW__ALOG_ON &&
      probe_one(cfg->path, "access_log.path", cfg->access_log.path, err,
                err_len) != 0)
    return UV_EINVAL;
  for (size_t i = 0; i < cfg->nroutes; i++) {
    if (cfg->routes[i].access_log.mode != HW__ALOG_ON)
      continue;
    snprintf(key, sizeof(key), "routes[%zu].access_log.path", i);
    if (probe_one(cfg->path, key, cfg->routes[i].access_log.path, err,
                  err_len) != 0)
      return UV_EINVAL;
  }
  return 0;
}

/* In the child: the build, start-up's, and its fini. */
static int build(const char *path, const hw__config_listen *listen,
                 size_t nlisten, char *err, size_t err_len) {
  hw__config *cfg;
  hw__generation *g;
  uv_loop_t *loop = uv_default_loop();
  int r = hw__config_load(path, &cfg, err, err_len);

  if (r != 0)
    return r;
  if ((r = probe_logs(cfg, err, err_len)) != 0) {
    hw__config_free(cfg);
    return r;
  }
  if (nlisten > 0 && hw__config_keep_listen(cfg, listen, NULL, nlisten) < 0) {
    hw__config_free(cfg);
    snprintf(err, err_len, "out of memory");
    return UV_ENOMEM;
  }
  if ((r = hw__generation_build(cfg, 1, &hw__host, &g, err, err_len)) != 0)
    return r;
  hw__generation_fini(g);
  /* Let handles that modules closed in fini finish closing while their
   * close callbacks are still loaded, then unload. */
  uv_run(loop, UV_RUN_NOWAIT);
  hw__generation_free(g);
  uv_loop_close(loop);
  return 0;
}

/* The line for a child that died in module code (`how`: "crashed with
 * signal 11 (SIGSEGV)"), from what the note page says. */
static void crashed(const char *path, const hw__module_note *note,
                    const char *how, char *err, size_t err_len) {
  hw__config *cfg = NULL;
  char why[512];
  const char *module = "a module";

  if (note->busy != HW__NOTE_INIT && note->busy != HW__NOTE_FINI) {
    snprintf(err, err_len, "%s: the check %s while loading the modules", path,
             how);
    return;
  }
  if (hw__config_load(path, &cfg, why, sizeof(why)) == 0 &&
      note->route < cfg->nroutes)
    module = cfg->routes[note->route].module_path;
  snprintf(err, err_len, "%s: routes[%u].config: %s: %s %s (route %s)", path,
           (unsigned)note->route, module,
           note->busy == HW__NOTE_INIT ? "init" : "fini", how, note->prefix);
  hw__config_free(cfg);
}

void hw__check_child(int fd, const char *path, const hw__config_listen *listen,
                     size_t nlisten) {
  char why[4096];
  int failed, w;

  why[0] = '-';
  why[1] = '\0';
  failed = build(path, listen, nlisten, why + 1, sizeof(why) - 1) != 0;
  if (failed && why[1] == '\0')
    snprintf(why + 1, sizeof(why) - 1, "%s: the check failed", path);
  if (!failed)
    why[0] = '+';
  w = (int)write(fd, why, (unsigned)(failed ? strlen(why) : 1));
  (void)w;
  fflush(NULL); /* what modules printed */
  _exit(failed);
}

int hw__check_judge(const char *path, const hw__module_note *note,
                    const char *how, int status, char *err, size_t got,
                    size_t err_len) {
  char exited[64];

  if (how != NULL) {
    crashed(path, note, how, err, err_len);
    return 1;
  }
  if (got > 0 && err[0] == '+' && status == 0)
    return 0;
  if (got > 0 && err[0] == '-' && status != 0) {
    memmove(err, err + 1, got); /* the reason, with its NUL */
    return 1;
  }
  /* No verdict: module code called exit() (with any status), or a
   * sanitizer reported a fault and exited rather than die of it. */
  snprintf(exited, sizeof(exited), "exited with status %d", status);
  crashed(path, note, exited, err, err_len);
  return 1;
}
