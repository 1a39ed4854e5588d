/*
 * batch.c - batches of bytes written together (see batch.h), and their
 * pool: a batch keeps its buffer and segment array when it returns, so
 * that in steady state writing a response allocates nothing.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"

#define POOL_MAX 256
#define KEEP (64 * 1024) /* a larger buffer is released on return */

hw__batch *hw__batch_take(hw__batch_pool *pool, void *owner) {
  hw__batch *b = pool->free;
  if (b != NULL) {
    pool->free = b->next;
    pool->n--;
  } else if ((b = calloc(1, sizeof(*b))) == NULL) {
    return NULL;
  }
  b->owner = owner;
  b->out.len = 0;
  b->nsegs = 0;
  b->nfiles = 0;
  b->nholds = 0;
  return b;
}

static void destroy(hw__batch *b) {
  hw__buf_free(&b->out);
  free(b->segs);
  free(b->holds);
  free(b);
}

void hw__batch_give(hw__batch_pool *pool, hw__batch *b) {
  /* (A release may give its memory back, and may take a batch.) */
  for (size_t i = 0; i < b->nholds; i++)
    b->holds[i].release(b->holds[i].arg, b->holds[i].fn);
  b->nholds = 0;
  if (pool->n >= POOL_MAX) {
    destroy(b);
    return;
  }
  hw__buf_reset(&b->out, KEEP);
  b->next = pool->free;
  pool->free = b;
  pool->n++;
}

void hw__batch_pool_drain(hw__batch_pool *pool) {
  while (pool->free != NULL) {
    hw__batch *b = pool->free;
    pool->free = b->next;
    destroy(b);
  }
  pool->n = 0;
}

int hw__batch_grow(hw__batch *b, const char *base, size_t off, size_t len) {
  if (hw__buf_array_room((void **)&b->segs, &b->segs_cap, b->nsegs,
                         sizeof(*b->segs), 4) != 0)
    return HW_ENOMEM;
  return hw__batch_seg(b, base, off, len);
}

int hw__batch_file(hw__batch *b, int fd, uint64_t off, size_t len) {
  if (len == 0)
    return 0;
  if (hw__buf_array_room((void **)&b->segs, &b->segs_cap, b->nsegs,
                         sizeof(*b->segs), 4) != 0)
    return HW_ENOMEM;
  b->segs[b->nsegs++] = (hw__seg){NULL, off, len, fd};
  b->nfiles++;
  return 0;
}

int hw__batch_hold(hw__batch *b, void (*release)(void *arg, void (*fn)(void *)),
                   void *arg, void (*fn)(void *)) {
  if (hw__buf_array_room((void **)&b->holds, &b->holds_cap, b->nholds,
                         sizeof(*b->holds), 4) != 0)
    return HW_ENOMEM;
  b->holds[b->nholds].release = release;
  b->holds[b->nholds].arg = arg;
  b->holds[b->nholds].fn = fn;
  b->nholds++;
  return 0;
}

size_t hw__batch_iov(const hw__batch *b, uv_buf_t *iov) {
  size_t total = 0;
  for (size_t i = 0; i < b->nsegs; i++) {
    const hw__seg *s = &b->segs[i];
    iov[i].base = (char *)(s->base != NULL ? s->base : b->out.data + s->off);
    iov[i].len = s->len;
    total += s->len;
  }
  return total;
}

size_t hw__batch_size(const hw__batch *b) {
  size_t n = 0;
  for (size_t i = 0; i < b->nsegs; i++)
    n += b->segs[i].len;
  return n;
}
