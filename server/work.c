/*
 * work.c - modules' work on the thread pool (see work.h).
 *
 * libuv's pool is one per process and FIFO: if modules could fill every
 * thread with work that blocks (a slow database), the server's own pool
 * work would wait behind it.  So at most `cap` module items are handed to
 * libuv at a time, one thread fewer than the pool has; the others wait in
 * this unit's queue and go as threads free up.  One loop per process, as
 * in module.c, so the counters are process-wide.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include "generation.h"
#include "os.h"
#include "work.h"

typedef struct item {
  uv_work_t w;
  struct item *next; /* the waiting queue */
  uv_loop_t *loop;
  hw_request *req;
  hw__generation *gen;
  const hw__module_site *site;
  hw_work_cb work;
  hw_work_done_cb done;
  void *arg;
} item;

static unsigned cap = HW__WORK_POOL_DEFAULT - 1;
static size_t in_flight, waiting;
static item *qhead, *qtail;

void hw__work_configure(unsigned pool_size) {
  char v[16];
  if (pool_size < 2)
    pool_size = 2;
  if (pool_size > HW__WORK_POOL_MAX)
    pool_size = HW__WORK_POOL_MAX;
  snprintf(v, sizeof(v), "%u", pool_size);
  hw__os_setenv("UV_THREADPOOL_SIZE", v);
  cap = pool_size - 1;
}

size_t hw__work_in_flight(void) { return in_flight; }
size_t hw__work_waiting(void) { return waiting; }

static void run(uv_work_t *w) {
  item *it = hw__bytes_container_of(w, item, w);
  it->work(it->arg);
}

static void submit(item *it);

/* The item is over: its done callback, then the request and generation
 * let go of it.  The request stays pinned through the callback, which may
 * finish it (and so ask for it to be freed). */
static void complete(item *it, int status) {
  hw_request *req = it->req;
  hw__module_call_done(it->site, it->done, req, it->arg,
                       status == 0 ? 0 : HW_ECANCELED);
  it->gen->work--;
  hw__request_unhold(req);
  free(it);
}

static void after(uv_work_t *w, int status) {
  item *it = hw__bytes_container_of(w, item, w);

  in_flight--;
  /* A thread is free: the next waiting item goes before this one's
   * callback, which may queue more. */
  if (qhead != NULL) {
    item *next = qhead;
    qhead = next->next;
    if (qhead == NULL)
      qtail = NULL;
    waiting--;
    submit(next);
  }
  complete(it, status);
}

static void submit(item *it) {
  if (uv_queue_work(it->loop, &it->w, run, after) != 0) {
    complete(it, UV_ECANCELED);
    return;
  }
  in_flight++;
}

int hw__work_queue(uv_loop_t *loop, hw_request *req,
                   const hw__module_site *site, hw_work_cb work,
                   hw_work_done_cb done, void *arg) {
  item *it = calloc(1, sizeof(*it));
  if (it == NULL)
    return HW_ENOMEM;
  it->loop = loop;
  it->req = req;
  it->gen = req->gen;
  it->site = site;
  it->work = work;
  it->done = done;
  it->arg = arg;
  hw__request_hold(req);
  it->gen->work++;
  if (in_flight < cap) {
    submit(it);
    return 0;
  }
  if (qtail != NULL)
    qtail->next = it;
  else
    qhead = it;
  qtail = it;
  waiting++;
  return 0;
}

void hw__work_cancel_generation(hw__generation *g) {
  item **pp = &qhead, *it, *cancelled = NULL, **ct = &cancelled;

  qtail = NULL;
  while ((it = *pp) != NULL) {
    if (it->gen == g) {
      *pp = it->next;
      waiting--;
      it->next = NULL;
      *ct = it;
      ct = &it->next;
      continue;
    }
    qtail = it;
    pp = &it->next;
  }
  while ((it = cancelled) != NULL) {
    cancelled = it->next;
    complete(it, UV_ECANCELED);
  }
}
