/*
 * sendfile.h - a connection's writer of batches that carry file regions
 * (sendfile.c): their bytes go from the file to the socket with
 * sendfile(2), never through the server's memory, in order with the
 * connection's other output.  conn.c makes one for a connection the first
 * time a batch with a file region is flushed, and routes every batch
 * through it while it has any queued.
 */
#ifndef HW_SENDFILE_H
#define HW_SENDFILE_H

#include <stddef.h>
#include <uv.h>

#include "batch.h"

typedef struct hw__sendfile hw__sendfile;

/** A batch's status when a file was shorter than its region (truncated as
 *  it was sent): the connection ends after what was sent, with a FIN. */
#define HW__SENDFILE_SHORT (-100000)

/** What the writer tells its connection (`owner` is the connection's). */
typedef struct hw__sendfile_cb {
  /** `n` more bytes went out. */
  void (*sent)(void *owner, size_t n);
  /** Batch `b` is out (`status` 0), or cannot be (negative: the socket
   *  failed, or HW__SENDFILE_SHORT): the connection takes it back.  After
   *  a failure nothing more is written: every batch queued or pushed later
   *  comes back with the same status. */
  void (*done)(void *owner, hw__batch *b, int status);
} hw__sendfile_cb;

/** A writer for the socket `fd` (the connection's, borrowed) on `loop`;
 *  NULL when out of memory.  `cb` and `owner` are borrowed for its life. */
hw__sendfile *hw__sendfile_new(uv_loop_t *loop, uv_os_sock_t fd,
                               const hw__sendfile_cb *cb, void *owner);
/** Queues `b` (may be NULL: nothing to add).  `go`: the connection has no
 *  write of its own in flight, so what is queued is written now as far as
 *  the socket takes it (the rest when it is writable); otherwise the queue
 *  is held until a push says `go`. */
void hw__sendfile_push(hw__sendfile *sf, hw__batch *b, int go);
/** Whether it has a batch queued or being written. */
int hw__sendfile_busy(const hw__sendfile *sf);
/** Whether writing failed (then every batch must go through it, to be
 *  dropped). */
int hw__sendfile_failed(const hw__sendfile *sf);
/** Ends it (the connection closes): the batches it still has go back to
 *  `pool` unwritten; its memory goes once libuv has let go of it. */
void hw__sendfile_close(hw__sendfile *sf, hw__batch_pool *pool);

#endif /* HW_SENDFILE_H */
