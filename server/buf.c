/*
 * buf.c - growable byte buffers (see buf.h): growing and freeing, the line
 * splitter of the control pipes and their shared read chunk, and a string
 * replacement for messages.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

int hw__buf_grow(hw__buf *b, size_t extra) {
  size_t need, cap;
  char *p;

  if (extra <= b->cap - b->len)
    return 0;
  if (extra > SIZE_MAX / 2 - b->len)
    return HW_ENOMEM;
  need = b->len + extra;
  cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap *= 2;
  p = realloc(b->data, cap);
  if (p == NULL)
    return HW_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int hw__buf_array_room(void **items, size_t *cap, size_t n, size_t size,
                       size_t first) {
  size_t want;
  void *p;
  if (n < *cap)
    return 0;
  want = *cap ? *cap * 2 : first;
  if (want > SIZE_MAX / size)
    return HW_ENOMEM;
  p = realloc(*items, want * size);
  if (p == NULL)
    return HW_ENOMEM;
  *items = p;
  *cap = want;
  return 0;
}

void hw__buf_free(hw__buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void hw__buf_replace_all(char *s, size_t cap, const char *from,
                         const char *to) {
  size_t fl = strlen(from), tl = strlen(to);
  char *p = s;

  if (fl == 0)
    return;
  while ((p = strstr(p, from)) != NULL) {
    size_t tail = strlen(p + fl);
    if ((size_t)(p - s) + tl + tail + 1 > cap)
      return; /* no room: leave the rest as it is */
    memmove(p + tl, p + fl, tail + 1);
    memcpy(p, to, tl);
    p += tl;
  }
}

void hw__buf_lines(hw__buf *b, const char *data, size_t len,
                   void (*line_cb)(void *arg, char *line), void *arg) {
  char *nl;
  size_t start = 0;

  if (hw__buf_append(b, data, len) != 0)
    return;
  /* Lines are handed out in place and the rest moved down once, so a read
   * holding many lines costs one move. */
  while ((nl = memchr(b->data + start, '\n', b->len - start)) != NULL) {
    *nl = '\0';
    line_cb(arg, b->data + start);
    start = (size_t)(nl - b->data) + 1;
  }
  memmove(b->data, b->data + start, b->len - start);
  b->len -= start;
}

void hw__buf_line_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  /* Every reader using it copies what it reads before returning (into its
   * own hw__buf), so one static chunk serves them all. */
  static char chunk[4096];
  (void)h;
  (void)suggested;
  buf->base = chunk;
  buf->len = sizeof(chunk);
}
