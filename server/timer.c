/*
 * timer.c - the timers modules start through the host (see timer.h).
 *
 * The table is one per process (a process serves one loop, as module.c
 * assumes too).  A slot holds its timer while it runs; the libuv handle is
 * allocated apart because it must outlive the slot until its close
 * callback, and the slot can be reused at once: its serial changes, so the
 * old handle value no longer matches.  Handles are serial << 32 | index,
 * positive while the serial stays below 2^31 (it wraps back to 1).
 */
#include "autoconf.h"

#include <stdlib.h>

#include "buf.h"
#include "timer.h"

typedef struct slot {
  uv_timer_t *h;    /* NULL: the slot is free */
  uint32_t serial;  /* of the timer in it, or of the last one */
  uint32_t next;    /* the free list (index + 1; 0 ends it) */
  const void *owner;
  const void *module;
  const hw__module_site *site;
  hw_timer_cb cb;
  void *arg;
} slot;

static slot *slots;
static size_t nslots, cap, running;
static uint32_t free_head; /* index + 1 */
static uint32_t serial_next = 1;

static int64_t handle_of(uint32_t i) {
  return (int64_t)((uint64_t)slots[i].serial << 32 | i);
}

/* The slot `h` names, or NULL. */
static slot *find(int64_t h, uint32_t *index) {
  uint64_t v = (uint64_t)h;
  uint32_t i = (uint32_t)v;
  if (h <= 0 || i >= nslots || slots[i].serial != (uint32_t)(v >> 32))
    return NULL;
  *index = i;
  return &slots[i];
}

static void on_close(uv_handle_t *h) {
  free(h);
}

/* The timer is over: its handle closes and the slot is free again. */
static void release(uint32_t i) {
  slot *s = &slots[i];
  uv_close((uv_handle_t *)s->h, on_close);
  s->h = NULL;
  s->cb = NULL;
  s->next = free_head;
  free_head = i + 1;
  running--;
}

static void on_timer(uv_timer_t *t) {
  uint32_t i = (uint32_t)(uintptr_t)t->data;
  slot *s = &slots[i];
  int64_t h = handle_of(i);
  const hw__module_site *site = s->site;
  hw_timer_cb cb = s->cb;
  void *arg = s->arg;

  /* A one-shot timer is over before its callback runs, so that the
   * callback may start another in the same slot. */
  if (uv_timer_get_repeat(t) == 0)
    release(i);
  hw__module_call_timer(site, cb, h, arg);
}

int64_t hw__timer_start(uv_loop_t *loop, const void *owner, const void *module,
                        const hw__module_site *site, uint64_t ms,
                        uint64_t repeat, hw_timer_cb cb, void *arg) {
  uint32_t i;
  slot *s;

  if (cb == NULL)
    return HW_EINVAL;
  if (free_head != 0) {
    i = free_head - 1;
  } else {
    if (nslots >= UINT32_MAX - 1 ||
        hw__buf_array_room((void **)&slots, &cap, nslots, sizeof(*slots), 16))
      return HW_ENOMEM;
    i = (uint32_t)nslots++;
    slots[i].h = NULL;
    slots[i].next = 0;
    free_head = i + 1;
  }
  s = &slots[i];
  s->h = malloc(sizeof(*s->h));
  if (s->h == NULL)
    return HW_ENOMEM;
  free_head = s->next;
  s->serial = serial_next;
  serial_next = serial_next >= INT32_MAX ? 1 : serial_next + 1;
  s->owner = owner;
  s->module = module;
  s->site = site;
  s->cb = cb;
  s->arg = arg;
  uv_timer_init(loop, s->h);
  s->h->data = (void *)(uintptr_t)i;
  /* The loop's clock is read once per iteration: started late in a long
   * one, a timer would count from that stale time and fire early.  (libuv
   * counts whole milliseconds, so "ms" is to the millisecond.) */
  uv_update_time(loop);
  uv_timer_start(s->h, on_timer, ms, repeat);
  running++;
  return handle_of(i);
}

int hw__timer_stop(int64_t h, const void *module) {
  uint32_t i;
  slot *s = find(h, &i);

  if (s == NULL)
    return (uint64_t)h >> 32 != 0 && (uint64_t)h >> 32 < serial_next &&
                   (uint32_t)h < nslots && h > 0
               ? HW_ESTATE /* a handle this table gave, now over */
               : HW_EINVAL;
  if (s->h == NULL)
    return HW_ESTATE;
  if (s->module != module)
    return HW_EINVAL;
  release(i);
  return 0;
}

void hw__timer_stop_owner(const void *owner) {
  for (uint32_t i = 0; i < nslots; i++)
    if (slots[i].h != NULL && slots[i].owner == owner)
      release(i);
}

size_t hw__timer_count(void) {
  return running;
}
