/*
 * work.h - modules' work on the thread pool (work.c, ABI 1.3): queue_work.
 * An item belongs to a request, which stays valid until the item's done
 * callback has run, and to the request's generation, which is not
 * finalised while it has work queued or running (generation.h counts it).
 * Module work in flight is capped below the pool's size, so that the
 * server's own pool work (file reads for streamed responses) always finds
 * a thread; items past the cap wait here, in order.
 */
#ifndef HW_WORK_H
#define HW_WORK_H

#include <stddef.h>
#include <uv.h>

#include "haywire.h"
#include "request.h"

/** The default pool size (libuv's own default). */
#define HW__WORK_POOL_DEFAULT 4
/** The largest pool libuv takes. */
#define HW__WORK_POOL_MAX 1024

/** Sizes the pool: sets UV_THREADPOOL_SIZE, which libuv reads once, when
 *  the process first queues work, so call it before.  Module work may then
 *  use all threads but one. */
void hw__work_configure(unsigned pool_size);
/** Queues `work` for `req` (a request a module is handling, at `site`).
 *  Returns 0 or HW_ENOMEM. */
int hw__work_queue(uv_loop_t *loop, hw_request *req,
                   const hw__module_site *site, hw_work_cb work,
                   hw_work_done_cb done, void *arg);
/** Items of generation `g` still waiting for a thread never run: their
 *  done callbacks run now with HW_ECANCELED (the drain deadline passed). */
void hw__work_cancel_generation(hw__generation *g);
/** Module work items in flight (on a thread) and waiting. */
size_t hw__work_in_flight(void);
size_t hw__work_waiting(void);

#endif /* HW_WORK_H */
