/*
 * rate.h - the clock of limits.body_min_rate (rate.c): a body that trickles
 * in (a byte every few seconds never trips timeouts_ms.body_idle) would
 * hold a connection for as long as the client likes, so a body is judged
 * on the bytes it brings over windows of reading time, the first window
 * free (a client may start slowly).  The clock runs only while the server
 * reads that body: not while its own back-pressure has stopped reading
 * (nor while a 100 Continue the client may wait for is owed).  conn.c
 * keeps one in each connection and asks it at each sweep.
 */
#ifndef HW_RATE_H
#define HW_RATE_H

#include <stddef.h>
#include <stdint.h>

/** Windows of this much reading time (ms). */
#define HW__RATE_WINDOW_MS 5000

/** One body's clock (8 bytes: it lives in every connection). */
typedef struct hw__rate {
  uint32_t bytes; /* read in the current window */
  uint16_t ms;    /* reading time in the current window */
  uint8_t on;     /* the clock has started (from the sweep after the
                     body's start) */
  uint8_t graced; /* the first window is over */
} hw__rate;

/** A new body: the clock starts again. */
static inline void hw__rate_reset(hw__rate *r) {
  *r = (hw__rate){0, 0, 0, 0};
}

/** `n` bytes of the body were read. */
static inline void hw__rate_read(hw__rate *r, size_t n) {
  r->bytes += (uint32_t)n;
}

/** At a sweep, `elapsed` ms after the last: non-zero when the body has
 *  been slower than `rate` bytes a second over a whole window (0: no
 *  limit).  `reading`: the server was reading it meanwhile. */
int hw__rate_slow(hw__rate *r, uint32_t elapsed, size_t rate, int reading);

#endif /* HW_RATE_H */
