/*
 * memtransport.h - a transport (server/transport.h) in memory, for the unit
 * tests and the request-path fuzzer: bytes are handed to a protocol the way
 * conn.c hands them, and what the protocol writes collects in `wire`.  It
 * keeps what the protocol did not take and feeds it again when asked, as
 * conn.c does, and records a close instead of closing.
 */
#ifndef HW_MEMTRANSPORT_H
#define HW_MEMTRANSPORT_H

#include <stddef.h>

#include "buf.h"
#include "transport.h"

typedef struct mt_conn {
  hw__transport t;
  const hw__proto *proto;
  hw__batch_pool pool;
  hw__buf wire;    /* every byte written, in order */
  hw__buf pending; /* input the protocol did not take */
  size_t pending_off;
  int paused; /* the protocol took less than it was given */
  int resume_wanted;
  int close_wanted; /* 1 + enum hw__close */
  int closed;       /* 1 + how the protocol closed, once done */
  int in_call;
  int gone;    /* the protocol's close has run */
  void *state; /* the protocol's */
} mt_conn;

/** Opens `proto` with `env` on a new in-memory connection. */
mt_conn *mt_open(const hw__proto *proto, void *env);
/** Hands `len` bytes to the protocol as one read; returns how many it took
 *  (the rest is kept and fed again when it resumes). */
size_t mt_read(mt_conn *c, const char *data, size_t len);
/** The client ended its side. */
void mt_eof(mt_conn *c);
/** The timer of the protocol's phase ran out. */
void mt_timeout(mt_conn *c);
/** Graceful shutdown. */
void mt_drain(mt_conn *c);
/** The connection goes away (the protocol's close runs once). */
void mt_close(mt_conn *c);
/** Closes (if needed) and frees. */
void mt_free(mt_conn *c);

/** The statuses of the complete responses in c->wire from byte `*pos` on,
 *  up to `max`; `head` means they answer HEAD (no bodies).  Advances
 *  `*pos` past them; returns how many. */
int mt_statuses(const mt_conn *c, size_t *pos, int *out, int max, int head);

#endif /* HW_MEMTRANSPORT_H */
