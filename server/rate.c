/*
 * rate.c - the clock of limits.body_min_rate (see rate.h), counted to the
 * sweep's granularity.
 */
#include "autoconf.h"

#include "rate.h"

int hw__rate_slow(hw__rate *r, uint32_t elapsed, size_t rate, int reading) {
  int slow;

  if (rate == 0)
    return 0;
  if (!r->on) {
    r->on = 1; /* from this sweep on */
    return 0;
  }
  if (!reading)
    return 0;
  r->ms = (uint16_t)(r->ms + (elapsed < 60000 ? elapsed : 60000));
  if (r->ms < HW__RATE_WINDOW_MS)
    return 0;
  slow = r->graced && (uint64_t)r->bytes * 1000 < (uint64_t)rate * r->ms;
  r->graced = 1;
  r->ms = 0;
  r->bytes = 0;
  return slow;
}
