/*
 * conntransport.h - a transport (server/transport.h) in memory modelled on
 * conn.c, for the HTTP/2 unit test and fuzzer: it takes a batch before a
 * read, keeps what the protocol did not take and feeds it again when the
 * protocol resumes (reading nothing meanwhile), writes the batch after
 * every call into the protocol and on a flush outside one, stops reading
 * while more than HW__TRANSPORT_MAX_UNSENT is unsent, calls `writable`
 * only when its unsent count falls from above the bound to below it, and
 * records a close (after the write: the batch is written first; now: it
 * is dropped).  It can hold what is written unsent, as a socket whose
 * client does not read, until it is let go.
 *
 * (tests/lib/memtransport.c is the simpler model test_h1 and fuzz_request
 * use: every write there is sent at once.)
 */
#ifndef HW_CONNTRANSPORT_H
#define HW_CONNTRANSPORT_H

#include <stddef.h>

#include "buf.h"
#include "transport.h"

typedef struct ct_conn {
  hw__transport t;
  const hw__proto *proto;
  void *state; /* the protocol's */
  hw__batch_pool pool;
  hw__buf out;     /* written, not yet taken by the client (ct_take) */
  hw__buf queued;  /* written while held: unsent until let go */
  hw__buf inbox;   /* what the client sent, not read yet (the socket's) */
  hw__buf pending; /* read, and not taken by the protocol */
  size_t pending_at;
  size_t piece; /* bytes per read (0: all there is) */
  int hold;     /* writes stay unsent (the client does not read) */
  int paused, resume_wanted, close_wanted, in_call, gone;
  int fin; /* the client ended its side ... */
  int eof; /* ... and the protocol was told */
  int closed;    /* 1 + how the protocol closed (or 1 + HW__CLOSE_NOW when
                    the connection was closed under it) */
  int batches;   /* batches written with bytes */
  int writables; /* `writable` calls */
  int resumes;   /* `resume` calls */
  int late;      /* calls of the protocol's after its `close` returned */
  size_t max_batch;
} ct_conn;

/** Opens `proto` with `env` on a new connection (its open, then what it
 *  asked for). */
ct_conn *ct_open(const hw__proto *proto, void *env);
/** The client sends `len` bytes (into the socket; ct_read reads them). */
void ct_send(ct_conn *c, const void *data, size_t len);
/** Reads what the client sent while the protocol takes input and the
 *  output is under its bound, in reads of `piece` bytes, then its FIN if
 *  it sent one.  Returns non-zero if anything was read. */
int ct_read(ct_conn *c);
/** The client ends its side: the protocol is told once what it sent
 *  before is read. */
void ct_eof(ct_conn *c);
/** The phase's timer ran out. */
void ct_timeout(ct_conn *c);
/** Graceful shutdown. */
void ct_drain(ct_conn *c);
/** The client reads what was held: the unsent count drops to 0, and the
 *  protocol is told if it had passed the bound. */
void ct_let_go(ct_conn *c);
/** The connection goes away under the protocol (a reset): its close. */
void ct_close(ct_conn *c);
/** Closes (if needed) and frees. */
void ct_free(ct_conn *c);

#endif /* HW_CONNTRANSPORT_H */
