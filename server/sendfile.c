/*
 * sendfile.c - writing batches that carry file regions (see sendfile.h).
 *
 * A batch is written segment by segment, in order: a run of memory
 * segments with one sendmsg(2) (MSG_MORE when a file region follows, so
 * that a response's head and the start of its file leave in one packet,
 * as nginx's tcp_nopush does), a file region with sendfile(2) from the
 * file to the socket.  The socket is non-blocking (libuv made it so); when
 * it is full the writer waits for it to be writable and goes on from where
 * it stopped.  libuv 1.44 offers no writable event on a TCP handle it
 * owns, and one descriptor cannot be watched twice by one loop, so the
 * writer watches a duplicate of the socket's descriptor (the same open
 * socket under another number) with a uv_poll_t.  Each turn writes at most
 * TURN_BYTES, then lets the loop serve other connections: a fast reader of
 * a large file does not hold the worker.
 *
 * A file shorter than its region (truncated while being sent) ends the
 * batch with an error: the connection is cut after what was sent, as a
 * short read cut it before (HTTP/1.1 framing tells the client the answer
 * is incomplete).
 */
#define _GNU_SOURCE
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sendfile.h"

#define MAX_IOV 64
#define TURN_BYTES (1024 * 1024)

struct hw__sendfile {
  uv_loop_t *loop;
  int fd;      /* the socket (borrowed) */
  int dup;     /* its duplicate, watched by `poll`, or -1 */
  uv_poll_t poll;
  unsigned polling : 1;  /* poll started */
  unsigned running : 1;  /* inside run(): a push only queues */
  unsigned closing : 1;  /* closed while running: freed on the way out */
  unsigned failed : 1;   /* nothing more is written */
  hw__batch *head, *tail; /* queued, the head being written */
  size_t seg;             /* where in the head: its segment, */
  size_t at;              /* and the bytes of it already sent */
  const hw__sendfile_cb *cb;
  void *owner;
};

static void on_writable(uv_poll_t *p, int status, int events);

hw__sendfile *hw__sendfile_new(uv_loop_t *loop, int fd,
                               const hw__sendfile_cb *cb, void *owner) {
  hw__sendfile *sf = calloc(1, sizeof(*sf));
  if (sf != NULL) {
    sf->loop = loop;
    sf->fd = fd;
    sf->dup = -1;
    sf->cb = cb;
    sf->owner = owner;
  }
  return sf;
}

int hw__sendfile_busy(const hw__sendfile *sf) { return sf->head != NULL; }

/* Moves `n` sent bytes past the head's segments. */
static void advance(hw__sendfile *sf, size_t n) {
  const hw__batch *b = sf->head;
  while (n > 0 && sf->seg < b->nsegs) {
    size_t left = b->segs[sf->seg].len - sf->at;
    if (n < left) {
      sf->at += n;
      return;
    }
    n -= left;
    sf->seg++;
    sf->at = 0;
  }
}

/* One system call's worth of the head, from where it stopped: the bytes
 * sent, 0 when the socket is full, or a negative error. */
static ssize_t write_some(hw__sendfile *sf, size_t budget) {
  const hw__batch *b = sf->head;
  const hw__seg *s = &b->segs[sf->seg];
  ssize_t n;

  if (s->fd >= 0) {
    off_t off = (off_t)(s->off + sf->at);
    size_t want = s->len - sf->at;
    do
      n = sendfile(sf->fd, s->fd, &off, want < budget ? want : budget);
    while (n < 0 && errno == EINTR);
    if (n == 0)
      return UV_EIO; /* the file ends before its region does */
  } else {
    struct iovec iov[MAX_IOV];
    struct msghdr msg = {0};
    size_t k = 0, i = sf->seg, skip = sf->at;
    int more = 0;
    for (; i < b->nsegs && k < MAX_IOV; i++, k++) {
      const hw__seg *m = &b->segs[i];
      if (m->fd >= 0) {
        more = 1; /* a file region comes next: hold the packet for it */
        break;
      }
      iov[k].iov_base = (char *)(m->base != NULL ? m->base
                                                 : b->out.data + m->off) +
                        skip;
      iov[k].iov_len = m->len - skip;
      skip = 0;
    }
    msg.msg_iov = iov;
    msg.msg_iovlen = k;
    do
      n = sendmsg(sf->fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    while (n < 0 && errno == EINTR);
  }
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  return n;
}

/* Waits for the socket to take more (or, after a turn's worth, for the
 * loop to come round): the poll fires at once if it is writable. */
static int wait_writable(hw__sendfile *sf) {
  if (sf->dup < 0) {
    sf->dup = fcntl(sf->fd, F_DUPFD_CLOEXEC, 0);
    if (sf->dup < 0)
      return -errno;
    if (uv_poll_init(sf->loop, &sf->poll, sf->dup) != 0) {
      close(sf->dup);
      sf->dup = -1;
      return UV_EIO;
    }
    sf->poll.data = sf;
  }
  if (!sf->polling && uv_poll_start(&sf->poll, UV_WRITABLE, on_writable) != 0)
    return UV_EIO;
  sf->polling = 1;
  return 0;
}

static void stop_waiting(hw__sendfile *sf) {
  if (sf->polling) {
    uv_poll_stop(&sf->poll);
    sf->polling = 0;
  }
}

static void free_sf(uv_handle_t *h) {
  hw__sendfile *sf = h->data;
  close(sf->dup);
  free(sf);
}

static void destroy(hw__sendfile *sf) {
  if (sf->dup >= 0)
    uv_close((uv_handle_t *)&sf->poll, free_sf);
  else
    free(sf);
}

/* Writes the queue in order until it is empty, the socket is full, a turn
 * is used up, or a batch fails. */
static void run(hw__sendfile *sf) {
  size_t budget = TURN_BYTES;

  if (sf->running)
    return; /* the outer call goes on with what was queued */
  sf->running = 1;
  while (sf->head != NULL && !sf->failed && !sf->closing) {
    hw__batch *b = sf->head;
    ssize_t n = 0;
    int status = 0;

    while (sf->seg < b->nsegs && budget > 0 &&
           (n = write_some(sf, budget)) > 0) {
      advance(sf, (size_t)n);
      budget -= (size_t)n < budget ? (size_t)n : budget;
      sf->cb->sent(sf->owner, (size_t)n);
    }
    if (n < 0) {
      status = (int)n;
      sf->failed = 1;
    } else if (sf->seg < b->nsegs) {
      /* The socket is full, or this turn is over. */
      if ((status = wait_writable(sf)) == 0)
        break;
      sf->failed = 1;
    }
    sf->head = b->next;
    if (sf->head == NULL)
      sf->tail = NULL;
    b->next = NULL;
    sf->seg = sf->at = 0;
    sf->cb->done(sf->owner, b, status);
  }
  if (sf->head == NULL || sf->failed)
    stop_waiting(sf);
  sf->running = 0;
  if (sf->closing)
    destroy(sf);
}

static void on_writable(uv_poll_t *p, int status, int events) {
  hw__sendfile *sf = p->data;
  (void)events;
  (void)status; /* an error on the socket: the next write says which */
  sf->polling = 0;
  uv_poll_stop(p);
  run(sf);
}

void hw__sendfile_push(hw__sendfile *sf, hw__batch *b, int go) {
  if (b != NULL) {
    b->next = NULL;
    if (sf->tail != NULL)
      sf->tail->next = b;
    else
      sf->head = b;
    sf->tail = b;
  }
  if (go && !sf->polling)
    run(sf);
}

void hw__sendfile_close(hw__sendfile *sf, hw__batch_pool *pool) {
  while (sf->head != NULL) {
    hw__batch *b = sf->head;
    sf->head = b->next;
    b->next = NULL;
    hw__batch_give(pool, b);
  }
  sf->tail = NULL;
  stop_waiting(sf);
  if (sf->running)
    sf->closing = 1; /* run() frees it on its way out */
  else
    destroy(sf);
}
