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
 * socket under another number) with a uv_poll_t, made when the socket
 * first fills and closed when the writer has nothing left (a keep-alive
 * connection that once sent a file does not keep it).  Each turn writes at
 * most TURN_BYTES, then lets the loop serve other connections: a fast
 * reader of a large file does not hold the worker.
 *
 * The writer never overtakes the connection's own writes: the connection
 * says, with each push, whether it has one in flight, and the writer holds
 * its queue until told otherwise.
 *
 * A file shorter than its region (truncated while being sent) ends the
 * writing with HW__SENDFILE_SHORT: the connection ends after what was
 * sent, with a FIN, as a short read ended it before (HTTP/1.1 framing
 * tells the client the answer is incomplete).  The bytes sent are the
 * file's when the kernel sends them: a file rewritten in place while it
 * is sent shows the new bytes.
 *
 * The system calls are the platform unit's (os.h): on Linux sendmsg and
 * sendfile(2) as described; on Windows a send of the gathered memory and,
 * for a file region, a read of the file into a buffer and a send of what
 * was read (the same bytes on the wire; no MSG_MORE there, so the head may
 * leave in a packet of its own).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>

#include "os.h"
#include "sendfile.h"

#define MAX_IOV 64
#define TURN_BYTES (1024 * 1024)

/* The poll over the duplicate descriptor: apart from the writer, because
 * closing it takes a turn of the loop, and the writer may need a new one
 * (or be gone) by then. */
typedef struct waiter {
  uv_poll_t poll;
  uv_os_sock_t dup; /* hw__os_sock_watch's */
  hw__sendfile *sf; /* NULL once let go */
} waiter;

struct hw__sendfile {
  uv_loop_t *loop;
  uv_os_sock_t fd;       /* the socket (borrowed) */
  waiter *w;             /* while the socket is full, or NULL */
  unsigned running : 1;  /* inside run(): a push only queues */
  unsigned closing : 1;  /* closed while running: freed on the way out */
  unsigned held : 1;     /* the connection has a write of its own queued */
  int failed;            /* 0, or why nothing more is written */
  hw__batch *head, *tail; /* queued, the head being written */
  size_t seg;             /* where in the head: its segment, */
  size_t at;              /* and the bytes of it already sent */
  const hw__sendfile_cb *cb;
  void *owner;
};

static void on_writable(uv_poll_t *p, int status, int events);

hw__sendfile *hw__sendfile_new(uv_loop_t *loop, uv_os_sock_t fd,
                               const hw__sendfile_cb *cb, void *owner) {
  hw__sendfile *sf = calloc(1, sizeof(*sf));
  if (sf != NULL) {
    sf->loop = loop;
    sf->fd = fd;
    sf->cb = cb;
    sf->owner = owner;
  }
  return sf;
}

int hw__sendfile_busy(const hw__sendfile *sf) { return sf->head != NULL; }

int hw__sendfile_failed(const hw__sendfile *sf) { return sf->failed != 0; }

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
 * sent, 0 when the socket is full, or a negative error (HW__SENDFILE_SHORT
 * when the file ends before its region does). */
static ssize_t write_some(hw__sendfile *sf, size_t budget) {
  const hw__batch *b = sf->head;
  const hw__seg *s = &b->segs[sf->seg];
  ssize_t n;

  if (s->fd >= 0) {
    size_t want = s->len - sf->at;
    n = hw__os_send_file(sf->fd, s->fd, s->off + sf->at,
                         want < budget ? want : budget);
    if (n == 0)
      return HW__SENDFILE_SHORT;
  } else {
    hw__os_iov iov[MAX_IOV];
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
    n = hw__os_send_gather(sf->fd, iov, k, more);
  }
  if (n < 0)
    return n == -EAGAIN || n == -EWOULDBLOCK ? 0 : n;
  return n;
}

static void free_waiter(uv_handle_t *h) {
  waiter *w = h->data;
  hw__os_sock_unwatch(w->dup);
  free(w);
}

/* Lets the poll go (the writer has nothing left, or is closing). */
static void stop_waiting(hw__sendfile *sf) {
  waiter *w = sf->w;
  if (w != NULL) {
    sf->w = NULL;
    w->sf = NULL;
    uv_close((uv_handle_t *)&w->poll, free_waiter);
  }
}

/* Waits for the socket to take more (or, after a turn's worth, for the
 * loop to come round): the poll fires at once if it is writable, and stays
 * started while the writer waits. */
static int wait_writable(hw__sendfile *sf) {
  waiter *w;
  int e;
  if (sf->w != NULL)
    return 0;
  if ((w = calloc(1, sizeof(*w))) == NULL)
    return UV_ENOMEM;
  e = hw__os_sock_watch(sf->fd, &w->dup);
  if (e != 0) {
    free(w);
    return e;
  }
  if (uv_poll_init_socket(sf->loop, &w->poll, w->dup) != 0) {
    hw__os_sock_unwatch(w->dup);
    free(w);
    return UV_EIO;
  }
  w->poll.data = w;
  w->sf = sf;
  sf->w = w;
  if (uv_poll_start(&w->poll, UV_WRITABLE, on_writable) != 0) {
    stop_waiting(sf);
    return UV_EIO;
  }
  return 0;
}

static void destroy(hw__sendfile *sf) {
  stop_waiting(sf);
  free(sf);
}

/* Takes the head off the queue and gives it back with `status`. */
static void pop(hw__sendfile *sf, int status) {
  hw__batch *b = sf->head;
  sf->head = b->next;
  if (sf->head == NULL)
    sf->tail = NULL;
  b->next = NULL;
  sf->seg = sf->at = 0;
  sf->cb->done(sf->owner, b, status);
}

/* Writes the queue in order until it is empty, held, the socket is full,
 * a turn is used up, or writing fails (then every batch goes back with
 * the failure). */
static void run(hw__sendfile *sf) {
  size_t budget = TURN_BYTES;

  if (sf->running)
    return; /* the outer call goes on with what was queued */
  sf->running = 1;
  while (sf->head != NULL && !sf->closing) {
    hw__batch *b = sf->head;
    ssize_t n = 0;

    if (sf->failed != 0) {
      pop(sf, sf->failed);
      continue;
    }
    if (sf->held)
      break;
    while (sf->seg < b->nsegs && budget > 0 &&
           (n = write_some(sf, budget)) > 0) {
      advance(sf, (size_t)n);
      budget -= (size_t)n < budget ? (size_t)n : budget;
      sf->cb->sent(sf->owner, (size_t)n);
    }
    if (n < 0) {
      sf->failed = (int)n;
    } else if (sf->seg < b->nsegs) {
      /* The socket is full, or this turn is over. */
      int r = wait_writable(sf);
      if (r == 0)
        break;
      sf->failed = r;
    } else {
      pop(sf, 0);
    }
  }
  if (sf->head == NULL || sf->held)
    stop_waiting(sf);
  sf->running = 0;
  if (sf->closing)
    destroy(sf);
}

static void on_writable(uv_poll_t *p, int status, int events) {
  waiter *w = p->data;
  (void)status; /* an error on the socket: the next write says which */
  (void)events;
  if (w->sf != NULL)
    run(w->sf);
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
  /* A write of the connection's own is in flight: nothing may overtake
   * it, not even from inside a run that is going on. */
  sf->held = !go;
  if (go && (sf->w == NULL || sf->failed != 0))
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
