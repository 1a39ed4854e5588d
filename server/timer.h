/*
 * timer.h - the timers modules start through the host (timer.c, ABI 1.3).
 * A module gets a number, not a pointer: the handle names a slot of this
 * table and the slot's serial, so a stale, foreign or made-up value is
 * refused rather than followed.  Each timer belongs to a generation (an
 * opaque owner here) and is stopped when that generation is finalised, so
 * no timer can call into code that is about to be unloaded.
 */
#ifndef HW_TIMER_H
#define HW_TIMER_H

#include <stdint.h>
#include <uv.h>

#include "haywire.h"
#include "module.h"

/**
 * Starts a timer on `loop` for the module call at `site` (borrowed until
 * the timer is over: it is the route's, which lives as long as `owner`,
 * its generation).  `module` is the module's identity for timer_stop.
 * Returns the handle (> 0), or HW_EINVAL / HW_ENOMEM.
 */
int64_t hw__timer_start(uv_loop_t *loop, const void *owner, const void *module,
                        const hw__module_site *site, uint64_t ms,
                        uint64_t repeat, hw_timer_cb cb, void *arg);
/** Stops timer `h` of `module`: 0, HW_ESTATE if it is over, HW_EINVAL if it
 *  is no timer of that module. */
int hw__timer_stop(int64_t h, const void *module);
/** Stops every timer of `owner` (its generation is being finalised). */
void hw__timer_stop_owner(const void *owner);
/** Timers running (for tests and shutdown). */
size_t hw__timer_count(void);

#endif /* HW_TIMER_H */
