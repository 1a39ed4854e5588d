/*
 * transport.h - the seam between a byte stream and the protocol spoken on
 * it.  Two interfaces, no code:
 *
 *   hw__transport   what a protocol is given to write with: a batch to fill,
 *                   flush, "give me my input again", close, the peer's
 *                   address; and the phase it is in, which decides the
 *                   timer the stream applies.  conn.c implements it over a
 *                   TCP socket; a TLS layer (tls.c) and the PROXY
 *                   protocol's (proxy.c) implement it over another
 *                   transport.
 *   hw__proto       what a transport calls on the protocol above it: bytes
 *                   arrived, the stream ended, a timer ran out, the output
 *                   drained, shut down gracefully, the stream is gone.
 *                   h1.c implements it for HTTP/1.1.
 *
 * Calls go from the transport down to the protocol (hw__proto); the
 * protocol reaches its transport only through the hw__transport it was
 * given, never by naming a transport's functions.  A layer in between (TLS,
 * a PROXY-protocol preamble) is both: a protocol to the transport below it
 * and a transport to the protocol above it, so neither changes.
 */
#ifndef HW_TRANSPORT_H
#define HW_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"

/* The protocol's phase: which timer applies while nothing is being
 * written (conn.c keeps the table of timers). */
enum hw__phase {
  HW__PHASE_IDLE = 0, /* between requests: the keep-alive timeout */
  HW__PHASE_HEAD,     /* a head is arriving: the head timeout */
  HW__PHASE_BODY,     /* a body is arriving: the body timeouts */
  HW__PHASE_BUSY      /* waiting for the server's own work: none */
};

/* How a protocol ends its stream. */
enum hw__close {
  HW__CLOSE_AFTER_WRITE = 0, /* after what is written, with a FIN, and read
                                and drop what the peer still sends a while */
  HW__CLOSE_NOW              /* at once */
};

/** Output past which a protocol stops taking input (back-pressure). */
#define HW__TRANSPORT_MAX_UNSENT (64 * 1024)

typedef struct hw__transport hw__transport;

/** What a TLS transport says of its session (strings NUL-terminated,
 *  borrowed from the connection until it closes). */
typedef struct hw__transport_tls {
  const char *version; /* "TLSv1.3" (static) */
  const char *cipher;  /* "TLS_AES_128_GCM_SHA256" (static) */
  const char *sni;     /* the name the client asked for, or "" */
  const char *alpn;    /* the protocol ALPN chose (static), or "" */
  int resumed;         /* a ticket's session */
} hw__transport_tls;

/** What a PROXY protocol header said of the connection (strings
 *  NUL-terminated, borrowed from the connection until it closes). */
typedef struct hw__transport_proxy {
  const char *client;      /* "ip:port" of the balancer's client, or ""
                              when the header carried no IP address */
  const char *server;      /* "ip:port" the client connected to, or "" */
  const char *socket_peer; /* the balancer: the socket's own peer */
  const uint8_t *tlv;      /* version 2's TLVs as sent, or NULL */
  size_t tlv_len;
  int version; /* 1 or 2 */
  int local;   /* v2 LOCAL or v1 UNKNOWN: the balancer's own connection */
} hw__transport_proxy;

typedef struct hw__transport_ops {
  /** The batch being filled (taken on first use; the transport's), or NULL
   *  when out of memory. */
  hw__batch *(*batch)(hw__transport *t);
  /** Writes the batch now.  Inside a call from the transport (hw__proto's
   *  `data`, `writable`...) there is no need: the transport writes what
   *  was batched when the call returns. */
  void (*flush)(hw__transport *t);
  /** The protocol takes input again: it had taken less than it was given,
   *  and the transport feeds it the rest, then reads on. */
  void (*resume)(hw__transport *t);
  /** Ends the stream (enum hw__close); the protocol's `close` follows. */
  void (*close)(hw__transport *t, int how);
  /** Writes the peer's address ("ip:port", "[ip]:port") into `buf`;
   *  returns its length or a negative error. */
  int (*peer)(hw__transport *t, char *buf, size_t len);
  /** Fills `out` and returns 0 when the stream is TLS; NULL for a
   *  transport that never is. */
  int (*tls)(hw__transport *t, hw__transport_tls *out);
  /** Fills `out` and returns 0 when the stream began with a PROXY
   *  protocol header; NULL for a transport that never does. */
  int (*proxy)(hw__transport *t, hw__transport_proxy *out);
  /** Non-zero if batches may carry file regions (hw__batch_file): the
   *  transport sends them from the file (a TLS layer could not). */
  int files;
} hw__transport_ops;

/** A transport as its protocol sees it. */
struct hw__transport {
  const hw__transport_ops *ops;
  hw__batch *batch; /* the batch being filled, when there is one */
  uint32_t unsent;  /* output handed over and not yet sent (bytes) */
  uint8_t phase;    /* enum hw__phase: set by the protocol */
  uint8_t epoch;    /* bumped by the protocol when a new head or body
                       begins, so that a phase that begins again (one head
                       after another) restarts its timer */
};

/** Counts `n` bytes handed over (`sign` > 0) or sent (< 0) in the
 *  transport's `unsent`.  It is told the bytes of every batch whose write
 *  has not called back, not only those a socket library still queues: a
 *  write handed to the kernel at once may call back on the next turn of
 *  the loop; until then the batch and what it holds are still ours, and a
 *  producer that only watched the queue could fill memory within one turn
 *  (a streamed response whose client reads fast). */
static inline void hw__transport_unsent(hw__transport *t, size_t n, int sign) {
  uint64_t u = t->unsent;
  u = sign > 0 ? u + n : (u > n ? u - n : 0);
  t->unsent = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
}

/** The batch to fill: the one the transport has ready (it takes one before
 *  it hands over bytes that will usually be answered), else a new one. */
static inline hw__batch *hw__transport_batch(hw__transport *t) {
  return t->batch != NULL ? t->batch : t->ops->batch(t);
}

/** The PROXY header `t` began with (see hw__transport_proxy): 0, or
 *  UV_ENOTSUP when it began with none. */
static inline int hw__transport_proxy_of(hw__transport *t,
                                         hw__transport_proxy *out) {
  return t->ops->proxy != NULL ? t->ops->proxy(t, out) : UV_ENOTSUP;
}

/** A protocol, as a transport drives it (one table per protocol). */
typedef struct hw__proto {
  /** Bytes of per-stream state, allocated with the stream. */
  size_t size;
  /** A stream opens: `p` (zeroed, `size` bytes) is the protocol's state,
   *  `t` its transport (valid until `close` returns), `env` what the worker
   *  gave with the protocol. */
  void (*open)(void *p, hw__transport *t, void *env);
  /** Bytes arrived (borrowed for the call).  Returns how many were taken;
   *  fewer means the protocol wants no more for now, and calls the
   *  transport's `resume` when it does. */
  size_t (*data)(void *p, const char *data, size_t len);
  /** The peer ended its side of the stream. */
  void (*eof)(void *p);
  /** The timer of the current phase (HEAD, BODY) ran out. */
  void (*timeout)(void *p);
  /** Output has drained below HW__TRANSPORT_MAX_UNSENT. */
  void (*writable)(void *p);
  /** The server shuts down gracefully: finish what was begun, take no
   *  more. */
  void (*drain)(void *p);
  /** The stream is gone (nothing can be written any more). */
  void (*close)(void *p);
} hw__proto;

#endif /* HW_TRANSPORT_H */
