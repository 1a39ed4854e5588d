/*
 * h2_mem.h - the memory nghttp2 allocates for one HTTP/2 session
 * (h2_mem.c), through the allocator a session is made with.  Most of an
 * idle session's memory is two blocks it keeps for its whole life: the
 * 16 KiB buffer it serialises outgoing frames into and the table of its
 * streams.  They are given pages of their own, so that the pages a
 * session never touches cost nothing, and, while the connection is idle,
 * their pages go back to the kernel when what they hold does not matter
 * (no frame waits in the buffer; the table is empty: all zero, which is
 * what a page given back reads as).
 */
#ifndef HW_H2_MEM_H
#define HW_H2_MEM_H

#include <stddef.h>

#include <nghttp2/nghttp2.h>

/** One session's allocator (in the connection's state; its address must
 *  not change while the session lives). */
typedef struct hw__h2_mem {
  nghttp2_mem mem; /* what nghttp2_session_server_new3 takes */
  void *frames;    /* the outgoing frame buffer, or NULL */
  size_t frames_len;
  void *table; /* the stream table, or NULL */
  size_t table_len;
} hw__h2_mem;

/** Sets up `m` (its `mem` points back at it). */
void hw__h2_mem_init(hw__h2_mem *m);
/** The connection is idle and nghttp2 has nothing to send: the two
 *  blocks' pages go back to the kernel where their content does not
 *  matter.  Returns the bytes given back. */
size_t hw__h2_mem_trim(hw__h2_mem *m);

#endif /* HW_H2_MEM_H */
