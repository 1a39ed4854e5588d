/*
 * check_posix.c - the configuration check's child on POSIX systems (see
 * check.h): a fork of this process, which has the config's path and the
 * --listen list in memory already.  The note page is anonymous memory
 * shared across the fork; the verdict comes back on a pipe.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "module.h"
#include "os.h"
#include "process.h"

/* In the child, before the check: a check whose parent is gone (the reload
 * preflight's timeout kills `haywire -t`) must not live on in a module's
 * endless init. */
static void orphan_dies(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(1);
}

/* Waits for the child, then reads what is there: a process the module
 * forked may hold the pipe open for ever, and the verdict (at most 4 KiB)
 * fits in the pipe's buffer, so the child never blocks writing it.  The
 * bytes read, or -1 with errno when waitpid failed. */
static ssize_t reap(pid_t pid, int fd, int *status, char *err,
                    size_t err_len) {
  size_t got = 0;
  ssize_t n;
  pid_t waited;

  while ((waited = waitpid(pid, status, 0)) < 0 && errno == EINTR)
    ;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  while (got < err_len - 1 &&
         ((n = read(fd, err + got, err_len - 1 - got)) > 0 ||
          (n < 0 && errno == EINTR)))
    got += n > 0 ? (size_t)n : 0;
  err[got] = '\0';
  return waited < 0 ? -1 : (ssize_t)got;
}

int hw__check_config(const char *path, const hw__config_listen *listen,
                     size_t nlisten, char *err, size_t err_len) {
  hw__module_note *note;
  void *p = NULL;
  int fds[2], status = 0, r;
  pid_t parent = getpid(), pid;
  ssize_t got;
  char how[96];

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
    orphan_dies(parent);
    hw__module_note_attach(note);
    hw__check_child(fds[1], path, listen, nlisten);
  }
  close(fds[1]);
  err[0] = '\0';
  if (pid < 0) {
    snprintf(err, err_len, "cannot check %s: %s", path, strerror(errno));
    close(fds[0]);
    hw__os_pages_unmap(note, sizeof(*note));
    return 1;
  }
  got = reap(pid, fds[0], &status, err, err_len);
  close(fds[0]);
  if (got < 0) {
    snprintf(err, err_len, "cannot check %s: waitpid: %s", path,
             strerror(errno));
    r = 1;
  } else if (WIFSIGNALED(status)) {
    snprintf(how, sizeof(how), "crashed with signal %d (%s)",
             WTERMSIG(status), hw__process_signame(WTERMSIG(status)));
    r = hw__check_judge(path, note, how, 0, err, (size_t)got, err_len);
  } else {
    r = hw__check_judge(path, note, NULL, WEXITSTATUS(status), err,
                        (size_t)got, err_len);
  }
  hw__os_pages_unmap(note, sizeof(*note));
  return r;
}
