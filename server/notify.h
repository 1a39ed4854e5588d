/*
 * notify.h - telling a service manager how the server is (notify.c):
 * systemd's notification protocol (sd_notify(3)) for a `Type=notify`
 * unit: ready once serving, reloading and ready again (whatever the
 * reload's outcome), stopping, a status line naming the generation in
 * force, and, across a binary upgrade, which master is the main process.
 * Without $NOTIFY_SOCKET (not started by systemd), or in a build without
 * libsystemd, every call does nothing.  Only the master, or a single
 * process, calls it: never a worker.
 */
#ifndef HW_NOTIFY_H
#define HW_NOTIFY_H

/** Every worker serves generation `gen`: READY=1 and the status (held
 *  back while this is a new master waiting to take over: see
 *  hw__notify_take_over). */
void hw__notify_serving(unsigned gen);
/** A reload begins: RELOADING=1 with MONOTONIC_USEC (the time it began,
 *  CLOCK_MONOTONIC). */
void hw__notify_reloading(void);
/** A reload ended, `ok` or not: READY=1 (the server serves either way) and
 *  the status with generation `gen` in force. */
void hw__notify_reloaded(unsigned gen, int ok);
/** A stop begins: STOPPING=1. */
void hw__notify_stopping(void);
/** This process is a new master started by a binary upgrade: it says
 *  nothing until it takes over. */
void hw__notify_wait_for_take_over(void);
/** This process is the service's main process from now on (a new master
 *  that took the pid file, or an old one after a rollback): MAINPID=, then
 *  READY=1 and the status. */
void hw__notify_take_over(void);
/** Another master is the main process now: this one says nothing more
 *  (its stop is not the service's). */
void hw__notify_hand_over(void);

#endif /* HW_NOTIFY_H */
