/*
 * check.c - the configuration check (see check.h).
 *
 * The child builds the generation as start-up would and finalises it; it
 * reports a failure as one line on a pipe and its verdict as its exit
 * status.  While module code runs, the child keeps the note page (module.c)
 * up to date on a page shared with the parent: when the child dies of a
 * signal, the page says whose init or fini it was in.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "generation.h"
#include "host.h"
#include "module.h"
#include "process.h"

/* In the child: the build, start-up's, and its fini. */
static int build(const char *path, const hw__config_listen *listen,
                 size_t nlisten, char *err, size_t err_len) {
  hw__config *cfg;
  hw__generation *g;
  uv_loop_t *loop = uv_default_loop();
  int r = hw__config_load(path, &cfg, err, err_len);

  if (r != 0)
    return r;
  if (nlisten > 0 && hw__config_set_listen(cfg, listen, nlisten) != 0) {
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

int hw__check_config(const char *path, const hw__config_listen *listen,
                     size_t nlisten, char *err, size_t err_len) {
  hw__module_note *note;
  int fds[2], status;
  size_t got = 0;
  pid_t pid;

  note = mmap(NULL, sizeof(*note), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (note == MAP_FAILED || pipe(fds) != 0) {
    snprintf(err, err_len, "cannot check %s: %s", path, strerror(errno));
    if (note != MAP_FAILED)
      munmap(note, sizeof(*note));
    return 1;
  }
  memset(note, 0, sizeof(*note));
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid == 0) {
    char why[4096];
    close(fds[0]);
    hw__module_note_attach(note);
    why[0] = '\0';
    if (build(path, listen, nlisten, why, sizeof(why)) != 0) {
      ssize_t w = write(fds[1], why, strlen(why));
      (void)w;
      _exit(1);
    }
    _exit(0);
  }
  close(fds[1]);
  err[0] = '\0';
  if (pid < 0) {
    snprintf(err, err_len, "cannot check %s: %s", path, strerror(errno));
    close(fds[0]);
    munmap(note, sizeof(*note));
    return 1;
  }
  for (;;) {
    ssize_t n = read(fds[0], err + got, err_len - 1 - got);
    if (n > 0)
      got += (size_t)n;
    if ((n > 0 && got < err_len - 1) || (n < 0 && errno == EINTR))
      continue;
    break;
  }
  err[got] = '\0';
  close(fds[0]);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED(status)) {
    char how[96];
    snprintf(how, sizeof(how), "crashed with signal %d (%s)",
             WTERMSIG(status), hw__process_signame(WTERMSIG(status)));
    crashed(path, note, how, err, err_len);
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    /* No line, but an exit: module code called exit(), or a sanitizer
     * reported a fault (and exited rather than die of the signal). */
    if (err[0] == '\0') {
      char how[64];
      snprintf(how, sizeof(how), "exited with status %d",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
      crashed(path, note, how, err, err_len);
    }
  } else {
    munmap(note, sizeof(*note));
    return 0;
  }
  munmap(note, sizeof(*note));
  return 1;
}
