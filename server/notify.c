/*
 * notify.c - systemd's notification protocol (see notify.h).
 *
 * libsystemd's sd_notify sends each message as one datagram to the socket
 * $NOTIFY_SOCKET names.  systemd takes them from the unit's main process,
 * or, with NotifyAccess=all (which a binary upgrade needs, since the new
 * master is another process), from any process of the unit: so a master
 * that is not the main process (one waiting to take over, or one that has
 * handed over) keeps quiet, and workers never call here.
 *
 * A reload is RELOADING=1 with MONOTONIC_USEC (systemd 253 and later pair
 * the two to tell a reload's READY=1 from an earlier one), then READY=1
 * when it ends either way: a failed reload leaves the old generation
 * serving, and `haywire -s reload` (the unit's ExecReload) is what reports
 * the failure, through its exit code.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"
#include "os.h"

static int quiet;       /* not the main process (now or yet) */
static unsigned serving; /* the generation in force, for the status */

static void say(const char *fmt, ...) HW__PRINTF(1, 2);
static void say(const char *fmt, ...) {
#ifdef HAVE_SYSTEMD
  char msg[256];
  va_list ap;
  if (quiet)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  sd_notify(0, msg);
#else
  (void)fmt;
#endif
}

void hw__notify_serving(unsigned gen) {
  serving = gen;
  say("READY=1\nSTATUS=serving generation %u", gen);
}

void hw__notify_reloading(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  say("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading (generation %u "
      "serves)",
      (unsigned long long)ts.tv_sec * 1000000ULL +
          (unsigned long long)ts.tv_nsec / 1000ULL,
      serving);
}

void hw__notify_reloaded(unsigned gen, int ok) {
  serving = gen;
  say("READY=1\nSTATUS=serving generation %u%s", gen,
      ok ? "" : " (the last reload failed: see the log)");
}

void hw__notify_stopping(void) { say("STOPPING=1\nSTATUS=stopping"); }

void hw__notify_wait_for_take_over(void) { quiet = 1; }

void hw__notify_take_over(void) {
  quiet = 0;
  say("MAINPID=%ld\nREADY=1\nSTATUS=serving generation %u", (long)getpid(),
      serving);
}

void hw__notify_hand_over(void) { quiet = 1; }
