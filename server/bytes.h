/*
 * bytes.h - word-at-a-time byte tests and small copies, for the runs of
 * bytes the server looks at or moves on every request: targets and field
 * values in the scanner, response fields in the host functions, heads and
 * small bodies into the write batch.  Header only: each is a few
 * instructions, and a call would cost more than the work.
 */
#ifndef HW_BYTES_H
#define HW_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HW__ONES ((uint64_t)0x0101010101010101)
#define HW__HIGHS ((uint64_t)0x8080808080808080)

/** The struct of type `type` whose member `member` is at `ptr`. */
#define hw__bytes_container_of(ptr, type, member)                              \
  ((type *)((char *)(ptr)-offsetof(type, member)))

/** Eight bytes at `p`, the first in the lowest byte of the result. */
static inline uint64_t hw__bytes_load64(const void *p) {
  uint64_t v;
  memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

/** Non-zero if a byte of `v` is below `n` (n <= 128); bytes with the high
 *  bit set do not count.  The lowest flag (bit 7 of a byte) is always a
 *  true one: a borrow only runs upwards from it. */
static inline uint64_t hw__bytes_below(uint64_t v, unsigned n) {
  return (v - HW__ONES * n) & ~v & HW__HIGHS;
}

/** Non-zero if a byte of `v` is below `n` (n <= 128) or is DEL; bytes with
 *  the high bit set do not count. */
static inline uint64_t hw__bytes_low_or_del(uint64_t v, unsigned n) {
  return hw__bytes_below(v, n) | hw__bytes_below(v ^ (HW__ONES * 0x7F), 1);
}

/** The index of the first byte a mask of hw__bytes_below() or
 *  hw__bytes_low_or_del() flags (the lowest flag is always a true one). */
static inline size_t hw__bytes_first(uint64_t mask) {
  return (size_t)__builtin_ctzll(mask) >> 3;
}

/** Copies `n` bytes.  Heads, header lines and small bodies are a few dozen
 *  bytes: from 8 to 64 are moved as overlapping pieces of fixed size,
 *  without a call into the C library. */
static inline void hw__bytes_copy(char *d, const char *s, size_t n) {
  if (n >= 16 && n <= 64) {
    char a[16], b[16], c[16], e[16];
    size_t h = n > 32 ? 16 : 0; /* the second pair, when over 32 bytes */
    memcpy(a, s, 16);
    memcpy(b, s + h, 16);
    memcpy(c, s + n - 16 - h, 16);
    memcpy(e, s + n - 16, 16);
    memcpy(d, a, 16);
    memcpy(d + h, b, 16);
    memcpy(d + n - 16 - h, c, 16);
    memcpy(d + n - 16, e, 16);
  } else if (n >= 8 && n < 16) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else {
    memcpy(d, s, n);
  }
}

#endif /* HW_BYTES_H */
