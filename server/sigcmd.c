/*
 * sigcmd.c - `haywire -s WORD` (see sigcmd.h).
 *
 *   reload  SIGHUP, then wait for the master's record of a reload that
 *           began after the signal: SIGHUPs that arrive while a reload is
 *           being built are coalesced into one more reload, so "the next
 *           record" could be a reload that read the files before the edit
 *           this command is about.  A record whose start time (the
 *           monotonic clock, shared by every process of the machine) is
 *           later than the signal's saw the edit.
 *   stop    SIGINT: the fast stop; wait for the process to exit.
 *   quit    SIGQUIT: the graceful stop (requests in flight finish); wait.
 *   reopen  SIGUSR1: reopen log files; nothing to wait for.
 *   upgrade SIGUSR2: the master starts a new master from the binary on
 *           disk; wait for its record (beside the pid file, ".upgrade") of
 *           an upgrade that began after the signal, then check that the
 *           pid file names the new master and "<pid_file>.oldbin" the old
 *           one.
 *
 * On Windows the words reach the server through its command pipe instead
 * of a signal (signals.h), with the same waits; upgrade is refused there.
 *
 * systemd 252 cannot be told a reload's outcome (no notify-reload), so
 * `ExecReload=haywire -s reload` is how a failed reload reaches it: through
 * this command's exit code.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "pidfile.h"
#include "sigcmd.h"
#include "signals.h"

#define POLL_MS 20

static const struct {
  const char *word;
  int cmd; /* signals.h */
} words[] = {
    {"reload", HW__SIGNALS_RELOAD},
    {"stop", HW__SIGNALS_STOP},
    {"quit", HW__SIGNALS_QUIT},
    {"reopen", HW__SIGNALS_REOPEN},
    {"upgrade", HW__SIGNALS_UPGRADE},
};

static int command_of(const char *word) {
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strcmp(words[i].word, word) == 0)
      return words[i].cmd;
  return 0;
}

int hw__sigcmd_known(const char *word) { return command_of(word) != 0; }

static void nap(void) { uv_sleep(POLL_MS); }

static int wait_reload(pid_t pid, const char *pid_file, uint64_t sent,
                       uint64_t deadline) {
  char path[4200];
  hw__pidfile_record rec;

  hw__pidfile_record_path(pid_file, path, sizeof(path));
  for (;;) {
    if (hw__pidfile_record_read(path, &rec) == 0 && rec.pid == (long)pid &&
        rec.started >= sent) {
      if (rec.ok) {
        printf("haywire: reload: generation %u active\n", rec.generation);
        return 0;
      }
      fprintf(stderr, "haywire: reload failed: %s; still serving "
                      "generation %u\n",
              rec.reason, rec.generation);
      return 1;
    }
    if (!hw__pidfile_alive(pid)) {
      fprintf(stderr, "haywire: the server (pid %ld) exited during the "
                      "reload\n",
              (long)pid);
      return 1;
    }
    if (uv_hrtime() > deadline) {
      fprintf(stderr,
              "haywire: no outcome of the reload in %s after %.0f s (the "
              "server, pid %ld, still runs: see its log)\n",
              path, (double)(deadline - sent) / 1e9, (long)pid);
      return 1;
    }
    nap();
  }
}

/* The upgrade succeeded: the pid files say who is who. */
static int upgraded(pid_t old, const char *pid_file) {
  char oldbin[4220], err[4400];
  pid_t now, was;

  snprintf(oldbin, sizeof(oldbin), "%s.oldbin", pid_file);
  if (hw__pidfile_read(pid_file, &now, err, sizeof(err)) != 0 || now == old ||
      hw__pidfile_read(oldbin, &was, err, sizeof(err)) != 0 || was != old) {
    fprintf(stderr, "haywire: upgrade: the master recorded success, but "
                    "the pid files do not agree: %s\n", err);
    return 1;
  }
  printf("haywire: upgrade: new master %ld serves (%s); the old master %ld "
         "(%s) serves too until it is sent SIGQUIT\n",
         (long)now, pid_file, (long)old, oldbin);
  return 0;
}

static int wait_upgrade(pid_t pid, const char *pid_file, uint64_t sent,
                        uint64_t deadline) {
  char path[4200];
  hw__pidfile_record rec;

  hw__pidfile_upgrade_path(pid_file, path, sizeof(path));
  for (;;) {
    if (hw__pidfile_record_read(path, &rec) == 0 && rec.pid == (long)pid &&
        rec.started >= sent) {
      if (rec.ok)
        return upgraded(pid, pid_file);
      fprintf(stderr, "haywire: upgrade failed: %s\n", rec.reason);
      return 1;
    }
    if (!hw__pidfile_alive(pid)) {
      fprintf(stderr, "haywire: the server (pid %ld) exited during the "
                      "upgrade\n",
              (long)pid);
      return 1;
    }
    if (uv_hrtime() > deadline) {
      fprintf(stderr, "haywire: no outcome of the upgrade in %s after %.0f s "
                      "(the server, pid %ld, still runs: see its log)\n",
              path, (double)(deadline - sent) / 1e9, (long)pid);
      return 1;
    }
    nap();
  }
}

static int wait_exit(pid_t pid, uint64_t deadline) {
  while (hw__pidfile_alive(pid)) {
    if (uv_hrtime() > deadline) {
      fprintf(stderr, "haywire: the server (pid %ld) still runs; it was "
                      "signalled\n",
              (long)pid);
      return 1;
    }
    nap();
  }
  return 0;
}

int hw__sigcmd_run(const char *word, const char *pid_file, uint64_t wait_ms) {
  int cmd = command_of(word);
  char err[4400];
  pid_t pid;
  uint64_t sent;

  if (hw__pidfile_read(pid_file, &pid, err, sizeof(err)) != 0) {
    fprintf(stderr, "haywire: -s %s: %s\n", word, err);
    return 1;
  }
  sent = uv_hrtime();
  if (hw__signals_send((long)pid, cmd, err, sizeof(err)) != 0) {
    fprintf(stderr, "haywire: -s %s: %s\n", word, err);
    return 1;
  }
  switch (cmd) {
  case HW__SIGNALS_RELOAD:
    return wait_reload(pid, pid_file, sent, sent + wait_ms * 1000000u);
  case HW__SIGNALS_UPGRADE:
    return wait_upgrade(pid, pid_file, sent, sent + wait_ms * 1000000u);
  case HW__SIGNALS_STOP:
  case HW__SIGNALS_QUIT:
    return wait_exit(pid, sent + wait_ms * 1000000u);
  default:
    return 0;
  }
}
