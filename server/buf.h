/*
 * buf.h - growable byte buffers (buf.c).  Request heads, bodies and
 * responses are built in these; a buffer keeps its memory when reset, so
 * that a pooled request reaches a steady state with no allocation per
 * request.  Also the line splitter the control pipes read with.
 */
#ifndef HW_BUF_H
#define HW_BUF_H

#include <stddef.h>
#include <uv.h>

#include "bytes.h"
#include "haywire.h"

/** A growable byte buffer; the zero value is an empty buffer.  Its memory
 *  is the buffer's own (freed with hw__buf_free). */
typedef struct hw__buf {
  char *data;
  size_t len;
  size_t cap;
} hw__buf;

/** Grows the buffer to hold `extra` more bytes (the slow half of
 *  hw__buf_reserve).  Returns 0 or HW_ENOMEM. */
int hw__buf_grow(hw__buf *b, size_t extra);

/* Reserving and appending run several times for every request, almost
 * always into a buffer that already has room, so their fast path is inline
 * and only growing costs a call. */

/** Makes room for `extra` more bytes.  Returns 0 or HW_ENOMEM. */
static inline int hw__buf_reserve(hw__buf *b, size_t extra) {
  if (extra <= b->cap - b->len)
    return 0;
  return hw__buf_grow(b, extra);
}

/** Appends `len` bytes (copied).  Returns 0 or HW_ENOMEM. */
static inline int hw__buf_append(hw__buf *b, const void *data, size_t len) {
  if (len == 0)
    return 0;
  if (len > b->cap - b->len && hw__buf_grow(b, len) != 0)
    return HW_ENOMEM;
  hw__bytes_copy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

/** Frees the memory. */
void hw__buf_free(hw__buf *b);

/** Makes room for one more element in an array (`*items`, `*cap` elements
 *  of `size` bytes, `n` of them in use): doubles it, from `first`
 *  elements.  Returns 0 or HW_ENOMEM (the array is then unchanged). */
int hw__buf_array_room(void **items, size_t *cap, size_t n, size_t size,
                       size_t first);

/** Empties the buffer, keeping its memory unless it grew past `keep`. */
static inline void hw__buf_reset(hw__buf *b, size_t keep) {
  b->len = 0;
  if (b->cap > keep)
    hw__buf_free(b);
}

/** Appends `len` bytes to `b` and calls `line_cb` with each complete line
 *  (NUL-terminated in place, without its LF; borrowed for the call),
 *  keeping the unfinished rest. */
void hw__buf_lines(hw__buf *b, const char *data, size_t len,
                   void (*line_cb)(void *arg, char *line), void *arg);

/** A libuv alloc callback for the control pipes: one shared 4 KiB chunk,
 *  for readers that copy what they read before returning. */
void hw__buf_line_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/** Replaces every `from` in the NUL-terminated `s` (of capacity `cap`) with
 *  `to`, as far as the capacity allows. */
void hw__buf_replace_all(char *s, size_t cap, const char *from, const char *to);

#endif /* HW_BUF_H */
