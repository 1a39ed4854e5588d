/*
 * check.c - the configuration check (see check.h).
 *
 * The child builds the generation as start-up would and finalises it; it
 * reports its verdict on a pipe ("+", or "-" and the one-line reason) and
 * as its exit status, so that module code calling exit(0) is no pass.  While module code runs, the child keeps the note page (module.c)
 * up to date on a page shared with the parent: when the child dies of a
 * signal, the page says whose init or fini it was in.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access_log.h"
#include "check.h"
#include "generation.h"
#include "host.h"
#include "module.h"
#include "os.h"
#include "process.h"

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

/* In the child: the check, and its verdict on the pipe: "+" for a pass,
 * "-" and the reason for a failure; no verdict means module code ended the
 * process.  _exit skips the parent's atexit handlers. */
static void child(int fd, pid_t parent, const char *path,
                  const hw__config_listen *listen, size_t nlisten) {
  char why[4096];
  ssize_t w;
  int failed;

  /* A check whose parent is gone (the reload preflight's timeout kills
   * `haywire -t`) must not live on in a module's endless init. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(1);
  why[0] = '-';
  why[1] = '\0';
  failed = build(path, listen, nlisten, why + 1, sizeof(why) - 1) != 0;
  if (failed && why[1] == '\0')
    snprintf(why + 1, sizeof(why) - 1, "%s: the check failed", path);
  if (!failed)
    why[0] = '+';
  w = write(fd, why, failed ? strlen(why) : 1);
  (void)w;
  fflush(NULL); /* what modules printed */
  _exit(failed);
}

int hw__check_config(const char *path, const hw__config_listen *listen,
                     size_t nlisten, char *err, size_t err_len) {
  hw__module_note *note;
  void *p = NULL;
  int fds[2], status = 0;
  size_t got = 0;
  pid_t parent = getpid(), pid, waited;
  ssize_t n;

  /* Close-on-exec: a helper a module starts must not hold the pipe. */
  if (hw__os_pages_anon(sizeof(*note), 1, &p) != 0 ||
      pipe2(fds, O_CLOEXEC) != 0) {
    snprintf(err, err_len, "cannot check %s: %s", path, strerror(errno));
    if (p != NULL)
      hw__os_pages_unmap(p, sizeof(*note));
    return 1;
  }
  note = p;
  memset(note, 0, sizeof(*note));
  /* An inherited SIGCHLD ignored would reap the child before waitpid. */
  signal(SIGCHLD, SIG_DFL);
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid == 0) {
    close(fds[0]);
    hw__module_note_attach(note);
    child(fds[1], parent, path, listen, nlisten);
  }
  close(fds[1]);
  err[0] = '\0';
  if (pid < 0) {
    snprintf(err, err_len, "cannot check %s: %s", path, strerror(errno));
    close(fds[0]);
    hw__os_pages_unmap(note, sizeof(*note));
    return 1;
  }
  /* Wait first, then read what is there: a process the module forked may
   * hold the pipe open for ever, and the verdict (at most 4 KiB) fits in
   * the pipe's buffer, so the child never blocks writing it. */
  while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    ;
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  while (got < err_len - 1 &&
         ((n = read(fds[0], err + got, err_len - 1 - got)) > 0 ||
          (n < 0 && errno == EINTR)))
    got += n > 0 ? (size_t)n : 0;
  err[got] = '\0';
  close(fds[0]);
  if (waited < 0) {
    snprintf(err, err_len, "cannot check %s: waitpid: %s", path,
             strerror(errno));
  } else if (WIFSIGNALED(status)) {
    char how[96];
    snprintf(how, sizeof(how), "crashed with signal %d (%s)",
             WTERMSIG(status), hw__process_signame(WTERMSIG(status)));
    crashed(path, note, how, err, err_len);
  } else if (err[0] == '+' && WEXITSTATUS(status) == 0) {
    hw__os_pages_unmap(note, sizeof(*note));
    return 0;
  } else if (err[0] == '-' && WEXITSTATUS(status) != 0) {
    memmove(err, err + 1, got); /* the reason, with its NUL */
  } else {
    /* No verdict: module code called exit() (with any status), or a
     * sanitizer reported a fault and exited rather than die of it. */
    char how[64];
    snprintf(how, sizeof(how), "exited with status %d",
             WEXITSTATUS(status));
    crashed(path, note, how, err, err_len);
  }
  hw__os_pages_unmap(note, sizeof(*note));
  return 1;
}
