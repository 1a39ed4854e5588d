/*
 * h2_mem.c - the memory of one HTTP/2 session (see h2_mem.h).
 *
 * libnghttp2 1.52 allocates, for every session, a frame buffer of 16,394
 * bytes (realloc from NULL: NGHTTP2_FRAMEBUF_CHUNKLEN, a frame header and
 * the largest default payload) and a stream table of 256 buckets of 16
 * bytes (calloc), and keeps both until the session ends.  An idle HTTP/1.1
 * connection here costs under half a KiB; these two alone would cost 20
 * KiB on each idle HTTP/2 one.  Placed on pages of their own, the frame
 * buffer costs the pages frames have been written to, and a sweep of an
 * idle connection hands those back (madvise MADV_DONTNEED: the next touch
 * gets a zeroed page; hw__os_pages_discard), as it does the table's page once every bucket is
 * empty again (all zero: the page given back reads the same).  Other
 * allocations go to malloc untouched.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2_mem.h"
#include "os.h"

#define PAGE 4096
/* What nghttp2 asks for the two blocks (checked by test_h2's allocation
 * trace; another size simply gets malloc). */
#define FRAMES_MIN 16384
#define TABLE_MIN 4096

static size_t pages(size_t n) { return (n + PAGE - 1) & ~(size_t)(PAGE - 1); }

/* Mapped apart from the heap: aligned blocks carved from it would leave
 * gaps whose free-list headers keep a page each resident, and a mapping's
 * pages are zero until written (the table needs no memset). */
static void *page_alloc(size_t n) {
  void *p = NULL;
  return hw__os_pages_anon(pages(n), 0, &p) == 0 ? p : NULL;
}

static void *m_malloc(size_t n, void *ud) {
  (void)ud;
  return malloc(n);
}

static void m_free(void *p, void *ud) {
  hw__h2_mem *m = ud;
  if (p == NULL)
    return;
  if (p == m->frames) {
    hw__os_pages_unmap(p, pages(m->frames_len));
    m->frames = NULL;
  } else if (p == m->table) {
    hw__os_pages_unmap(p, pages(m->table_len));
    m->table = NULL;
  } else {
    free(p);
  }
}

static void *m_calloc(size_t nmemb, size_t size, void *ud) {
  hw__h2_mem *m = ud;
  void *p;
  if (size != 0 && nmemb > SIZE_MAX / size)
    return NULL;
  if (m->table != NULL || nmemb * size < TABLE_MIN)
    return calloc(nmemb, size);
  if ((p = page_alloc(nmemb * size)) == NULL)
    return NULL;
  m->table = p;
  m->table_len = nmemb * size;
  return p;
}

/* A block of ours that grows or shrinks moves to new pages of its own. */
static void *move(void **slot, size_t *len, size_t n) {
  void *p = page_alloc(n);
  if (p == NULL)
    return NULL;
  memcpy(p, *slot, *len < n ? *len : n);
  hw__os_pages_unmap(*slot, pages(*len));
  *slot = p;
  *len = n;
  return p;
}

static void *m_realloc(void *q, size_t n, void *ud) {
  hw__h2_mem *m = ud;
  if (q == NULL && m->frames == NULL && n >= FRAMES_MIN) {
    if ((m->frames = page_alloc(n)) != NULL)
      m->frames_len = n;
    return m->frames;
  }
  if (q != NULL && (q == m->frames || q == m->table)) {
    void **slot = q == m->frames ? &m->frames : &m->table;
    size_t *len = q == m->frames ? &m->frames_len : &m->table_len;
    if (n > 0)
      return move(slot, len, n);
    hw__os_pages_unmap(q, pages(*len));
    *slot = NULL;
    return NULL;
  }
  return realloc(q, n);
}

void hw__h2_mem_init(hw__h2_mem *m) {
  memset(m, 0, sizeof(*m));
  m->mem = (nghttp2_mem){m, m_malloc, m_free, m_calloc, m_realloc};
}

static int all_zero(const void *p, size_t n) {
  const uint64_t *w = p;
  uint64_t any = 0;
  for (size_t i = 0; i < n / 8; i++)
    any |= w[i];
  return any == 0;
}

size_t hw__h2_mem_trim(hw__h2_mem *m) {
  size_t given = 0, n;
  if (m->frames != NULL && (n = pages(m->frames_len)) > 0 &&
      hw__os_pages_discard(m->frames, n) == 0)
    given += n;
  if (m->table != NULL && (n = pages(m->table_len)) > 0 &&
      all_zero(m->table, n) && hw__os_pages_discard(m->table, n) == 0)
    given += n;
  return given;
}
