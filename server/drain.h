/*
 * drain.h - a worker's retired generations (drain.c): after a reload's
 * swap, the generation it replaced drains.  Requests pinned to it finish on
 * it; when its last request is gone, or its drain deadline passes (then
 * its modules are told through abort and the connections still holding
 * its requests are closed), every route's fini runs, and its modules are
 * unloaded once no libuv handle still has a callback in their code.
 */
#ifndef HW_DRAIN_H
#define HW_DRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "generation.h"
#include "request.h"

typedef struct hw__drain hw__drain;

struct hw__drain {
  uv_loop_t *loop;
  hw__request_core *core; /* whose requests pin the generations */
  hw__generation *retired;
  uv_timer_t reaper;
  uint64_t ticks;
  uint64_t drain_ms; /* timeouts_ms.drain of the current generation */
  /** Called when a generation is unloaded (may be NULL): its private
   *  copies can go. */
  void (*released)(hw__drain *d, unsigned id);
  void *owner;
};

/** Sets up an empty list on `loop` for the requests of `core`. */
void hw__drain_init(hw__drain *d, uv_loop_t *loop, hw__request_core *core);
/** Retires `g` (the worker's; the list owns it from now on). */
void hw__drain_retire(hw__drain *d, hw__generation *g);
/** Requests still pinned to retired generations. */
size_t hw__drain_live(const hw__drain *d);
/** At shutdown: finalises every retired generation (the modules stay
 *  loaded until hw__drain_destroy) and closes the timer. */
void hw__drain_stop(hw__drain *d);
/** After the loop has ended: unloads and frees every retired generation. */
void hw__drain_destroy(hw__drain *d);

#endif /* HW_DRAIN_H */
