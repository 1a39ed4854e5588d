/*
 * metrics.h - the server's counters (metrics.c): one region of memory the
 * master makes and every worker maps, a block per worker slot written only
 * by that slot's worker, so a restarted worker's counts are kept and no
 * counting takes a lock or a syscall.  The per-request count is inline here
 * because it runs for every request; the snapshot (host->metrics, ABI 1.4)
 * sums the slots.
 *
 * Each slot keeps its routes' series by prefix (a table it appends to as
 * generations come, so a prefix's series continue across reloads), each
 * series guarded by a sequence number its writer makes odd while it
 * updates it, so a reader takes a route's counters whole.  Every value is
 * a relaxed atomic: a reader in another process never sees half a counter.
 */
#ifndef HW_METRICS_H
#define HW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "haywire.h"

/** The duration histogram's upper bounds (the buckets). */
#define HW__METRICS_NBOUNDS 14
/** Distinct status codes a series counts exactly (in one slot). */
#define HW__METRICS_CODES 24
/** Route series a slot can hold, past the two of its own (no route, and
 *  the routes past this capacity). */
#define HW__METRICS_SERIES 4096
/** Bytes of prefixes a slot can hold. */
#define HW__METRICS_NAMES (256 * 1024)

/** The series every slot has first. */
enum { HW__METRICS_NO_ROUTE = 0, HW__METRICS_OVERFLOW, HW__METRICS_FIRST };

/** Why a connection was closed by its timer (conn.c's states). */
enum hw__metrics_timeout {
  HW__TIMEOUT_KEEPALIVE = 0,
  HW__TIMEOUT_HEAD,
  HW__TIMEOUT_BODY,
  HW__TIMEOUT_BODY_RATE,
  HW__TIMEOUT_WRITE,
  HW__TIMEOUT_LINGER,
  HW__TIMEOUT_KINDS
};

/* How TLS handshakes ended (ABI 1.5's tls_handshakes). */
enum hw__metrics_handshake {
  HW__HANDSHAKE_FULL = 0, /* a new session */
  HW__HANDSHAKE_RESUMED,  /* a ticket's session */
  HW__HANDSHAKE_FAILED,   /* an alert, bytes that are not TLS, or the peer
                             left or timed out before it was done */
  HW__HANDSHAKE_KINDS
};

/** What open connections do (nginx's stub_status set): read a request,
 *  write (or make) a response, wait idle for the next one. */
enum hw__metrics_conns {
  HW__CONNS_READING = 0,
  HW__CONNS_WRITING,
  HW__CONNS_WAITING,
  HW__CONNS_STATES
};

/** Why the master restarted a worker. */
enum hw__metrics_restart {
  HW__RESTART_SIGNAL = 0, /* killed by a signal */
  HW__RESTART_EXIT,       /* exited when not asked to */
  HW__RESTART_CAUSES
};

typedef _Atomic uint64_t hw__mcount;
/* Counters are read by other processes: only a lock-free atomic (not one
 * behind a lock in this process's memory) can be shared that way. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "the counters need lock-free 64-bit atomics");

/** One route prefix's counters in one slot. */
typedef struct hw__metrics_series {
  hw__mcount seq; /* odd while its writer updates it */
  uint32_t name_off, name_len; /* its prefix in the slot's names; set
                                  before the series is published */
  _Atomic uint32_t code[HW__METRICS_CODES]; /* 0: not yet used */
  hw__mcount count[HW__METRICS_CODES + 1]; /* the last: codes past the
                                              table */
  hw__mcount bucket[HW__METRICS_NBOUNDS + 1]; /* not cumulative; the last:
                                                  past every bound */
  hw__mcount duration_ns;
  hw__mcount request_bytes, response_bytes; /* bodies */
} hw__metrics_series;

/** One worker slot's block: written by its worker only (and by the master
 *  when that worker has died, to clear what was its). */
typedef struct hw__metrics_slot {
  _Atomic int64_t pid; /* 0: no worker runs */
  hw__mcount generation;
  hw__mcount draining;
  hw__mcount accepted;
  hw__mcount conns[HW__CONNS_STATES]; /* set by each sweep */
  hw__mcount paused;
  hw__mcount timeouts[HW__TIMEOUT_KINDS];
  hw__mcount handshakes[HW__HANDSHAKE_KINDS];
  _Atomic uint32_t nseries; /* published series (a release store) */
  uint32_t names_used;
  hw__metrics_series series[HW__METRICS_FIRST + HW__METRICS_SERIES];
  char names[HW__METRICS_NAMES];
} hw__metrics_slot;

/** The durations' bounds in nanoseconds (metrics.c). */
extern const uint64_t hw__metrics_bounds_ns[HW__METRICS_NBOUNDS];

/** How many times this process read a series while its writer was in the
 *  middle of it (it had stalled there READ_WAIT_NS, or was busy past the
 *  hard bound), so that what it read may not agree with itself. */
uint64_t hw__metrics_gave_up(void);
/** Makes the master's region with `nslots` worker slots (memory not in any
 *  file system, passed to each worker as a descriptor).  Returns 0 or a
 *  negative error code. */
int hw__metrics_create(unsigned nslots);
/** The region's descriptor, for a worker to inherit; -1 if none. */
int hw__metrics_fd(void);
/** A single process: a region with one slot, private to it, which this
 *  process writes.  Returns 0 or a negative error code. */
int hw__metrics_create_single(void);
/** A worker: maps the region the master passed as `fd` (closed here) and
 *  takes slot `slot` (1..nslots) as its own.  Returns 0 or a negative
 *  error code (the worker then serves without counting). */
int hw__metrics_attach(int fd, unsigned slot);
/** The slot this process writes, or NULL (the master, `-t`, no region). */
hw__metrics_slot *hw__metrics_mine(void);
/** The series of `prefix` in slot `s`: the one it had, or a new one; past
 *  the capacity, the overflow series.  On the loop thread. */
hw__metrics_series *hw__metrics_series_for(hw__metrics_slot *s,
                                           const char *prefix, size_t len);
/** The master: a worker of slot `slot` has died, so its connections and
 *  what it was doing are gone (its counters stay). */
void hw__metrics_slot_dead(unsigned slot);
/** Counts a worker restart (the master). */
void hw__metrics_restart(enum hw__metrics_restart cause);
/** A reload ended (`ok` or not); on success `generation` serves from now. */
void hw__metrics_reloaded(int ok, unsigned generation);
/** The generation that serves first (start-up). */
void hw__metrics_started(unsigned generation);
/** Chooses the clock of hw__metrics_ticks for this process (measuring the
 *  counter's rate against CLOCK_MONOTONIC for 2 ms when it is used). */
void hw__metrics_clock_init(void);
/** Unmaps the region (at exit). */
void hw__metrics_close(void);

/** Allocates `n` bytes that live as long as the snapshot (the request's
 *  memory, for host->metrics). */
typedef void *(*hw__metrics_alloc)(void *ctx, size_t n);
/** A snapshot of every slot, summed, with the processes read from /proc;
 *  NULL when out of memory or with no region. */
const hw_metrics *hw__metrics_snapshot(hw__metrics_alloc alloc, void *ctx);

/* ---- counting, on a slot's own loop thread ---------------------------- */

/* The counters' clock (hw__metrics_clock_init): the CPU's time-stamp
 * counter where the kernel keeps its own time by it (its clocksource is
 * "tsc": a constant rate, the same on every core), else CLOCK_MONOTONIC.
 * Each request reads it twice; the counter is one instruction where
 * clock_gettime is a call, a choice of clock and a conversion. */
extern int hw__metrics_tsc;
extern uint64_t hw__metrics_tsc_mult; /* ns = ticks * mult >> 32 (1 << 32
                                         without the counter) */

/** CLOCK_MONOTONIC in nanoseconds (the clock without the counter). */
uint64_t hw__metrics_mono_ns(void);

/** Now, in the clock's ticks. */
static inline uint64_t hw__metrics_ticks(void) {
#if defined(__x86_64__)
  if (__builtin_expect(hw__metrics_tsc, 1))
    return __builtin_ia32_rdtsc();
#endif
  return hw__metrics_mono_ns();
}

/** Ticks of the clock as nanoseconds (without the counter the factor is
 *  one: no test on the way). */
static inline uint64_t hw__metrics_ns(uint64_t ticks) {
#if defined(__SIZEOF_INT128__)
  return (uint64_t)(((unsigned __int128)ticks * hw__metrics_tsc_mult) >> 32);
#else
  return (ticks >> 32) * hw__metrics_tsc_mult +
         (((ticks & 0xffffffffu) * hw__metrics_tsc_mult) >> 32);
#endif
}

/* One writer per slot: a relaxed load and store is an increment that
 * another process reads whole, without the lock prefix of an atomic add. */
static inline void hw__metrics_add(hw__mcount *c, uint64_t n) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                        memory_order_relaxed);
}

static inline void hw__metrics_set(hw__mcount *c, uint64_t v) {
  atomic_store_explicit(c, v, memory_order_relaxed);
}

/** Where `status` is counted in `s`: its place in the table (taken when
 *  first seen), or past the table when that is full (metrics.c). */
unsigned hw__metrics_code_slot(hw__metrics_series *s, unsigned status);
/** Which bucket `*ns` falls in, past the first (metrics.c); a duration of
 *  centuries (a clock that went back, wrapped) is made 0. */
unsigned hw__metrics_bucket(uint64_t *ns);

/** Counts one request that is over: its status, duration and bodies.  The
 *  common case (the route's first status code, under half a millisecond)
 *  calls nothing. */
static inline void hw__metrics_request(hw__metrics_series *s, unsigned status,
                                       uint64_t ns, uint64_t in,
                                       uint64_t out) {
  uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
  unsigned i = 0, b = 0;

  /* The sequence is odd before any counter changes (the fence keeps the
   * stores after it), and even again after the last. */
  atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  if (__builtin_expect(
          atomic_load_explicit(&s->code[0], memory_order_relaxed) != status, 0))
    i = hw__metrics_code_slot(s, status);
  hw__metrics_add(&s->count[i], 1);
  if (__builtin_expect(ns > hw__metrics_bounds_ns[0], 0))
    b = hw__metrics_bucket(&ns);
  hw__metrics_add(&s->bucket[b], 1);
  hw__metrics_add(&s->duration_ns, ns);
  hw__metrics_add(&s->request_bytes, in);
  hw__metrics_add(&s->response_bytes, out);
  atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

#endif /* HW_METRICS_H */
