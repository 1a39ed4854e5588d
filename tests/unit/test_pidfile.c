/*
 * test_pidfile.c - unit tests of the pid file and the reload record
 * (server/pidfile.c): what a pid file may name (nothing, a stale pid, a
 * process that is not Haywire, garbage, a Haywire that does not hold it, a
 * running server that does), that a second server is refused a pid file a
 * running one holds (the lock decides), that removal leaves a successor's
 * file alone, and that the record survives a round trip with a reason
 * holding newlines.  "Haywire" here is this test's own command name (a
 * binary asks its own kind), so a forked child of this test counts as one
 * and a child that execs sleep(1) does not.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/wait.h> /* the children of test_children */
#endif
#include <unistd.h>
#include <uv.h>

#include "pidfile.h"
#include "portable.h"
#include "tap.h"

static char dir[256];

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f != NULL) {
    fputs(text, f);
    fclose(f);
  }
}

/* A child: sleep(1) (exec_sleep), a process of our kind holding `hold` as
 * its pid file (a running server), or one holding nothing.  Returns once
 * the child is what it should be. */
#ifndef _WIN32
static pid_t child(int exec_sleep, const char *hold) {
  int ready[2];
  char c = 0, comm[64], path[64];
  pid_t p;

  if (pipe(ready) != 0)
    return -1;
  p = fork();
  if (p == 0) {
    char err[512];
    close(ready[0]);
    if (exec_sleep)
      execlp("sleep", "sleep", "30", (char *)NULL);
    if (hold != NULL && hw__pidfile_write(hold, err, sizeof(err)) != 0)
      _exit(1);
    if (write(ready[1], "x", 1) != 1)
      _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  if (!exec_sleep) {
    if (read(ready[0], &c, 1) != 1)
      diag("child %ld did not get ready", (long)p);
  } else {
    /* Until the exec has happened: its command name says so. */
    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)p);
    for (int i = 0; i < 500; i++) {
      FILE *f = fopen(path, "r");
      int is_sleep = f != NULL && fgets(comm, sizeof(comm), f) != NULL &&
                     strncmp(comm, "sleep", 5) == 0;
      if (f != NULL)
        fclose(f);
      if (is_sleep)
        break;
      usleep(10000);
    }
  }
  close(ready[0]);
  return p;
}

static void end(pid_t p) {
  kill(p, SIGKILL);
  waitpid(p, NULL, 0);
}
#endif

/* What a pid file naming another process says: children made with
 * fork(), which Windows has not (a child of our kind there would be this
 * program started again, a later step), so they are skipped there. */
static void test_children(const char *path) {
#ifdef _WIN32
  (void)path;
  skip(15, "no fork() on Windows: pid files naming children of this test");
#else
  char text[64], err[4400];
  pid_t pid, other, sleeper, gone;

  gone = child(0, NULL);
  end(gone);
  snprintf(text, sizeof(text), "%ld\n", (long)gone);
  put(path, text);
  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), UV_ESRCH,
         "a reaped child's pid: stale (ESRCH)");
  contains(err, "is stale", "which says stale");

  /* An exited child not yet reaped still answers kill(pid, 0). */
  gone = child(0, NULL);
  kill(gone, SIGKILL);
  {
    siginfo_t si;
    waitid(P_PID, (id_t)gone, &si, WEXITED | WNOWAIT); /* exited, unreaped */
  }
  ok(kill(gone, 0) == 0 && !hw__pidfile_alive(gone),
     "a zombie answers kill() but is not alive");
  waitpid(gone, NULL, 0);

  sleeper = child(1, NULL);
  snprintf(text, sizeof(text), "%ld\n", (long)sleeper);
  put(path, text);
  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), UV_EPERM,
         "a running sleep(1): not Haywire (EPERM)");
  contains(err, "which is not Haywire", "which says so");
  ok(!hw__pidfile_is_haywire(sleeper), "is_haywire(sleep) is 0");
  is_int(hw__pidfile_write(path, err, sizeof(err)), 0,
         "a server may take a pid file naming a foreign process");
  end(sleeper);
  hw__pidfile_remove(path); /* and lets go of it */
  ok(access(path, F_OK) != 0, "remove takes this process's own pid file");

  /* A process of our kind that does not hold the file: a pid the kernel
   * gave to another Haywire process (a worker, say) after the server went. */
  other = child(0, NULL);
  snprintf(text, sizeof(text), "%ld\n", (long)other);
  put(path, text);
  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), UV_ESRCH,
         "a Haywire process that does not hold the file: stale");
  contains(err, "no server holds it", "which says so");
  end(other);

  other = child(0, path);
  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), 0,
         "a running server holding its pid file: read");
  is_int(pid, other, "its pid");
  is_int(hw__pidfile_write(path, err, sizeof(err)), UV_EEXIST,
         "a second server is refused a pid file a running one holds");
  contains(err, "stop it first", "saying what to do");
  hw__pidfile_remove(path);
  ok(access(path, F_OK) == 0, "remove leaves another process's file alone");
  end(other);
#endif
}

int main(void) {
  char path[300], err[4400], rec_path[320];
  hw__pidfile_record r, back;
  pid_t pid;

  snprintf(dir, sizeof(dir), "%s/hw-pidfile-XXXXXX", hwt_tmp());
  if (hwt_mkdtemp(dir) == NULL)
    return 1;
  snprintf(path, sizeof(path), "%s/hw.pid", dir);

  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), UV_ENOENT,
         "no file: ENOENT");
  contains(err, "no server is running", "which says no server runs");

  put(path, "12x\n");
  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), UV_EINVAL,
         "not a number: EINVAL");
  put(path, "");
  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), UV_EINVAL,
         "empty: EINVAL");
  contains(err, "does not hold a process id", "which says so");

  test_children(path);

  is_int(hw__pidfile_write(path, err, sizeof(err)), 0,
         "a stale pid file is taken over");
  is_int(hw__pidfile_read(path, &pid, err, sizeof(err)), 0, "and read back");
  is_int(pid, getpid(), "naming this process");

  hw__pidfile_record_path(path, rec_path, sizeof(rec_path));
  ok(strncmp(rec_path, path, strlen(path)) == 0 &&
         strcmp(rec_path + strlen(path), ".reload") == 0,
     "the record sits beside the pid file (%s)", rec_path);
  is_int(hw__pidfile_record_read(rec_path, &back), UV_ENOENT,
         "no record yet: ENOENT");
  memset(&r, 0, sizeof(r));
  r.pid = 4242;
  r.sequence = 7;
  r.started = 123456789012345ull;
  r.generation = 9;
  r.ok = 0;
  snprintf(r.reason, sizeof(r.reason), "routes.json: bad\nsecond line");
  is_int(hw__pidfile_record_write(rec_path, &r), 0, "a record is written");
  is_int(hw__pidfile_record_read(rec_path, &back), 0, "and read");
  ok(back.pid == 4242 && back.sequence == 7 &&
         back.started == 123456789012345ull && back.generation == 9 &&
         back.ok == 0,
     "every field survives");
  is_str(back.reason, "routes.json: bad second line",
         "the reason, on one line");
  r.ok = 1;
  r.reason[0] = '\0';
  hw__pidfile_record_write(rec_path, &r);
  ok(hw__pidfile_record_read(rec_path, &back) == 0 && back.ok &&
         back.reason[0] == '\0',
     "an ok record has an empty reason");
  put(rec_path, "pid 1\nsequence x\n");
  is_int(hw__pidfile_record_read(rec_path, &back), UV_EINVAL,
         "a malformed record: EINVAL");

  hw__pidfile_remove(path);
  ok(access(path, F_OK) != 0 && access(rec_path, F_OK) != 0,
     "remove takes this process's pid file and its record");
  rmdir(dir);
  return done_testing();
}
