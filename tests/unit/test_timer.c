/*
 * test_timer.c - unit tests of the module timers (server/timer.c): handles
 * that are numbers checked against the table (a stale, foreign or made-up
 * one is refused, never followed), one-shot and repeating timers on a real
 * loop, and stopping every timer of a generation at once.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "timer.h"

static int fired[4];
static int64_t started_in_cb;

static void count(int64_t h, void *arg) {
  (void)h;
  fired[(int)(intptr_t)arg]++;
}

/* A one-shot timer's callback may start another: its slot is free. */
static void chain(int64_t h, void *arg) {
  static const hw__module_site site = {"/c", 0, 1};
  (void)h;
  fired[(int)(intptr_t)arg]++;
  started_in_cb = hw__timer_start(uv_default_loop(), &site, &site, &site, 1,
                                  0, count, (void *)(intptr_t)3);
}

static void run_ms(int ms) {
  uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
  while (uv_hrtime() < end)
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
}

int main(void) {
  uv_loop_t *loop = uv_default_loop();
  static const hw__module_site site = {"/t", 0, 1};
  int gen_a, gen_b, mod_a, mod_b; /* identities (their addresses) */
  int64_t once, rep, other, gone;

  once = hw__timer_start(loop, &gen_a, &mod_a, &site, 5, 0, count,
                         (void *)(intptr_t)0);
  rep = hw__timer_start(loop, &gen_a, &mod_a, &site, 2, 2, count,
                        (void *)(intptr_t)1);
  other = hw__timer_start(loop, &gen_b, &mod_b, &site, 2, 2, count,
                          (void *)(intptr_t)2);
  ok(once > 0 && rep > 0 && other > 0 && once != rep && rep != other,
     "three timers, three distinct positive handles");
  is_int(hw__timer_start(loop, &gen_a, &mod_a, &site, 1, 0, NULL, NULL),
         HW_EINVAL, "no callback: HW_EINVAL");
  is_int((long long)hw__timer_count(), 3, "three running");
  is_int(hw__timer_stop(other, &mod_a), HW_EINVAL,
         "another module's timer: HW_EINVAL");
  is_int(hw__timer_stop(12345, &mod_a), HW_EINVAL, "a made-up value: EINVAL");
  is_int(hw__timer_stop(-1, &mod_a), HW_EINVAL, "a negative one: EINVAL");
  is_int(hw__timer_stop(0, &mod_a), HW_EINVAL, "zero: EINVAL");

  run_ms(30);
  ok(fired[0] == 1, "the one-shot timer ran once");
  ok(fired[1] >= 3 && fired[2] >= 3, "the repeating ones ran on");
  is_int(hw__timer_stop(once, &mod_a), HW_ESTATE,
         "a one-shot timer that ran is over: HW_ESTATE");
  is_int(hw__timer_stop(rep, &mod_a), 0, "stopping a repeating one: 0");
  is_int(hw__timer_stop(rep, &mod_a), HW_ESTATE, "stopping it again: ESTATE");
  {
    int before = fired[1];
    run_ms(10);
    is_int(fired[1], before, "a stopped timer runs no more");
  }

  /* The slot of a stopped timer is reused; the old handle stays dead. */
  gone = rep;
  rep = hw__timer_start(loop, &gen_a, &mod_a, &site, 1000, 0, count,
                        (void *)(intptr_t)1);
  ok(rep != gone && hw__timer_stop(gone, &mod_a) == HW_ESTATE,
     "a reused slot: the old handle is still refused");

  hw__timer_stop_owner(&gen_b);
  {
    int before = fired[2];
    run_ms(10);
    is_int(fired[2], before, "stopping a generation's timers stops them");
  }
  is_int((long long)hw__timer_count(), 1, "the other generation's runs on");
  is_int(hw__timer_stop(other, &mod_b), HW_ESTATE,
         "and a stopped generation's handle is over");
  hw__timer_stop_owner(&gen_a);
  is_int((long long)hw__timer_count(), 0, "none left");

  once = hw__timer_start(loop, &gen_a, &mod_a, &site, 1, 0, chain,
                         (void *)(intptr_t)0);
  run_ms(20);
  ok(started_in_cb > 0 && fired[3] == 1,
     "a one-shot callback may start a timer, which runs");

  run_ms(5); /* the close callbacks */
  is_int(uv_loop_close(loop), 0, "every handle was closed");
  return done_testing();
}
