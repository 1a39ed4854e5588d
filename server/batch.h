/*
 * batch.h - a batch of bytes written together (batch.c): bytes copied into
 * the batch's own buffer, and segments that stay where their owner put
 * them, in order, with the release callbacks that run once the bytes have
 * been written (or dropped).  A protocol fills a batch its transport gives
 * it; the transport writes it with one call and returns it to a pool.
 */
#ifndef HW_BATCH_H
#define HW_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"

/** One piece of a batch: `len` bytes at `base`, or at `out.data + off`
 *  when `base` is NULL; or, when `fd` is not -1, `len` bytes of the file
 *  `fd` from `off` (a file region, which a transport that can sends with
 *  sendfile(2); the batch only refers to the descriptor: whoever added it
 *  holds a release that closes it). */
typedef struct hw__seg {
  const char *base;
  uint64_t off;
  size_t len;
  int fd;
} hw__seg;

/** A callback that runs once the batch's bytes are written or dropped:
 *  `release(arg, fn)`, where `fn` is a callback of the owner's to pass on
 *  (a module's free callback) or NULL. */
typedef struct hw__hold {
  void (*release)(void *arg, void (*fn)(void *));
  void *arg;
  void (*fn)(void *);
} hw__hold;

/** A batch; the transport's, lent to the protocol while it fills it. */
typedef struct hw__batch {
  uv_write_t req;         /* the transport's write, when the kernel did not take
                             everything at once */
  struct hw__batch *next; /* the pool */
  void *owner;            /* the transport's */
  size_t queued;          /* bytes handed to that write (the transport's) */
  hw__buf out;            /* copied bytes */
  hw__seg *segs;
  size_t nsegs, segs_cap;
  size_t nfiles;          /* segments that are file regions */
  hw__hold *holds;
  size_t nholds, holds_cap;
} hw__batch;

/** Batches kept for reuse (one per worker). */
typedef struct hw__batch_pool {
  hw__batch *free;
  unsigned n;
} hw__batch_pool;

/** An empty batch from the pool (or new; NULL when out of memory). */
hw__batch *hw__batch_take(hw__batch_pool *pool, void *owner);
/** Runs the batch's release callbacks and returns it to the pool. */
void hw__batch_give(hw__batch_pool *pool, hw__batch *b);
/** Frees the pooled batches. */
void hw__batch_pool_drain(hw__batch_pool *pool);

/** Adds a segment when the array is full (the slow half of
 *  hw__batch_seg).  Returns 0 or HW_ENOMEM. */
int hw__batch_grow(hw__batch *b, const char *base, size_t off, size_t len);

/** Adds a segment: `len` bytes at `base` (borrowed until the batch is
 *  released), or, when `base` is NULL, the bytes of `out` from `off`;
 *  copied bytes that follow copied bytes extend the same segment.
 *  Returns 0 or HW_ENOMEM.  Once per response: inline. */
static inline int hw__batch_seg(hw__batch *b, const char *base, size_t off,
                                size_t len) {
  hw__seg *s;
  if (len == 0)
    return 0;
  if (b->nsegs > 0) {
    s = &b->segs[b->nsegs - 1];
    if (base == NULL && s->base == NULL && s->fd < 0 &&
        s->off + s->len == off) {
      s->len += len;
      return 0;
    }
  }
  if (b->nsegs == b->segs_cap)
    return hw__batch_grow(b, base, off, len);
  s = &b->segs[b->nsegs++];
  s->base = base;
  s->off = off;
  s->len = len;
  s->fd = -1;
  return 0;
}
/** Adds a file region: `len` bytes of `fd` from `off` (see hw__seg).
 *  Returns 0 or HW_ENOMEM. */
int hw__batch_file(hw__batch *b, int fd, uint64_t off, size_t len);
/** Adds a release callback (see hw__hold).  Returns 0 or HW_ENOMEM. */
int hw__batch_hold(hw__batch *b, void (*release)(void *arg, void (*fn)(void *)),
                   void *arg, void (*fn)(void *));
/** Points `iov` (room for b->nsegs) at the batch's segments, which must
 *  all be memory; returns their bytes. */
size_t hw__batch_iov(const hw__batch *b, uv_buf_t *iov);
/** The number of bytes in the batch. */
size_t hw__batch_size(const hw__batch *b);

#endif /* HW_BATCH_H */
