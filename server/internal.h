/*
 * internal.h - declarations shared by the server's units.  Never installed.
 *
 * Everything here is `hw__`-prefixed.  The units are: log.c (log lines),
 * buf.c (growable byte buffers), config.c (routes.json; the only user of
 * jansson), router.c (prefix -> route), module.c (loading shared objects),
 * generation.c (config + modules + states + router as one immutable unit),
 * http.c (the only user of http-parser: parsing requests and writing response
 * heads), request.c (the request object and the host function table given to
 * modules), conn.c (one client connection: reads, the pipeline queue, writes
 * and back-pressure) and worker.c (the event loop, listeners and signals).
 */
#ifndef HW_INTERNAL_H
#define HW_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "haywire.h"

#define HW__VERSION_STRING "haywire " PACKAGE_VERSION

#define hw__container_of(ptr, type, member)                                    \
  ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- log.c ------------------------------------------------------------ */

/** Writes one line "<time> [<level>] <message>" to stderr. */
void hw__log(hw_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void hw__vlog(hw_log_level level, const char *fmt, va_list ap);
/** Names the process in every line ("master", "worker 2"); NULL: none. */
void hw__log_set_prefix(const char *prefix);
/** Lines above `level` are dropped (default HW_LOG_INFO). */
void hw__log_set_level(hw_log_level level);

/* ---- buf.c ------------------------------------------------------------ */

/** A growable byte buffer; the zero value is an empty buffer. */
typedef struct hw__buf {
  char *data;
  size_t len;
  size_t cap;
} hw__buf;

/** Grows the buffer to hold `extra` more bytes (the slow half of
 *  hw__buf_reserve).  Returns 0 or HW_ENOMEM. */
int hw__buf_grow(hw__buf *b, size_t extra);

/* Reserving and appending run several times for every request, almost
 * always into a buffer that already has room, so their fast path is inline
 * and only growing costs a call. */

/** Makes room for `extra` more bytes.  Returns 0 or HW_ENOMEM. */
static inline int hw__buf_reserve(hw__buf *b, size_t extra) {
  if (extra <= b->cap - b->len)
    return 0;
  return hw__buf_grow(b, extra);
}

/* Word-at-a-time byte tests, for the runs of bytes the HTTP unit and the
 * response checks look at on every request. */
#define HW__ONES ((uint64_t)0x0101010101010101)
#define HW__HIGHS ((uint64_t)0x8080808080808080)

/** Eight bytes at `p`, the first in the lowest byte of the result. */
static inline uint64_t hw__load64(const void *p) {
  uint64_t v;
  memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

/** Non-zero if a byte of `v` is below `n` (n <= 128); bytes with the high
 *  bit set do not count.  The lowest flag (bit 7 of a byte) is always a
 *  true one: a borrow only runs upwards from it. */
static inline uint64_t hw__bytes_below(uint64_t v, unsigned n) {
  return (v - HW__ONES * n) & ~v & HW__HIGHS;
}

/** Copies `n` bytes.  Heads, header lines and small bodies are a few dozen
 *  bytes: from 8 to 64 are moved as overlapping pieces of fixed size,
 *  without a call into the C library. */
static inline void hw__copy(char *d, const char *s, size_t n) {
  if (n >= 16 && n <= 64) {
    char a[16], b[16], c[16], e[16];
    size_t h = n > 32 ? 16 : 0; /* the second pair, when over 32 bytes */
    memcpy(a, s, 16);
    memcpy(b, s + h, 16);
    memcpy(c, s + n - 16 - h, 16);
    memcpy(e, s + n - 16, 16);
    memcpy(d, a, 16);
    memcpy(d + h, b, 16);
    memcpy(d + n - 16 - h, c, 16);
    memcpy(d + n - 16, e, 16);
  } else if (n >= 8 && n < 16) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else {
    memcpy(d, s, n);
  }
}

/** Appends `len` bytes (copied).  Returns 0 or HW_ENOMEM. */
static inline int hw__buf_append(hw__buf *b, const void *data, size_t len) {
  if (len == 0)
    return 0;
  if (len > b->cap - b->len && hw__buf_grow(b, len) != 0)
    return HW_ENOMEM;
  hw__copy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}
/** Frees the memory. */
void hw__buf_free(hw__buf *b);

/** Empties the buffer, keeping its memory unless it grew past `keep`. */
static inline void hw__buf_reset(hw__buf *b, size_t keep) {
  b->len = 0;
  if (b->cap > keep)
    hw__buf_free(b);
}
/** Appends `len` bytes to `b` and calls `line_cb` with each complete line
 *  (NUL-terminated in place, without its LF), keeping the unfinished rest. */
void hw__buf_lines(hw__buf *b, const char *data, size_t len,
                   void (*line_cb)(void *arg, char *line), void *arg);
/** A libuv alloc callback for the control pipes: one shared 4 KiB chunk,
 *  for readers that copy what they read before returning. */
void hw__line_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
/** Replaces every `from` in the NUL-terminated `s` (of capacity `cap`) with
 *  `to`, as far as the capacity allows. */
void hw__str_replace_all(char *s, size_t cap, const char *from,
                         const char *to);

/* ---- config.c --------------------------------------------------------- */

#define HW__WORKERS_AUTO (-1)
#define HW__WORKERS_MAX 256

/** One "host:port" to listen on, resolved to a socket address. */
typedef struct hw__listen {
  struct sockaddr_storage addr;
  char text[80]; /* as the user wrote it, for messages */
} hw__listen;

typedef struct hw__route_conf {
  char *prefix;      /* validated: starts with '/', no trailing '/' */
  char *module;      /* the "module" value as written */
  char *module_path; /* resolved against modules_dir; after staging, the
                        private copy that is actually loaded */
  char *source_path; /* after staging: the user's file it was copied from */
  char *config_json; /* the route's "config" as compact JSON text */
  size_t config_len;
} hw__route_conf;

typedef struct hw__config {
  char *path;        /* the file it was read from (for messages) */
  char *modules_dir; /* resolved against the config file's directory */
  hw__listen *listen;
  size_t nlisten;
  int workers;                /* HW__WORKERS_AUTO, 0 (single process) or N */
  size_t limit_body;          /* limits.body */
  size_t limit_request_line;  /* limits.request_line: longer lines get 414 */
  size_t limit_header_bytes;  /* limits.header_bytes: field names + values, 431 */
  size_t limit_headers;       /* limits.headers: field lines per request, 431 */
  size_t limit_connections;   /* limits.connections */
  size_t limit_backlog;       /* limits.backlog */
  size_t limit_body_min_rate; /* limits.body_min_rate: bytes/s, 0 = none */
  uint64_t drain_ms;          /* timeouts_ms.drain */
  uint64_t timeout_head_ms;   /* timeouts_ms.head: 408 */
  uint64_t timeout_body_idle_ms; /* timeouts_ms.body_idle: 408 */
  uint64_t timeout_keepalive_ms; /* timeouts_ms.keepalive: silent close */
  uint64_t timeout_write_ms;  /* timeouts_ms.write: close */
  hw__route_conf *routes;
  size_t nroutes;
} hw__config;

/**
 * Reads and strictly validates a config file.  On success returns 0 and sets
 * `*out` (caller frees with hw__config_free).  On failure returns a negative
 * code and writes one line naming the file and the key into `err`.
 */
int hw__config_load(const char *path, hw__config **out, char *err,
                    size_t err_len);
/** As hw__config_load but from text; `path` names the file in messages and
 *  is the base for a relative modules_dir. */
int hw__config_parse(const char *text, size_t len, const char *path,
                     hw__config **out, char *err, size_t err_len);
void hw__config_free(hw__config *cfg);
/** Parses "127.0.0.1:8080", "[::1]:8080", "*:8080" or "8080". */
int hw__listen_parse(const char *text, hw__listen *out, char *err,
                     size_t err_len);
/** Replaces the listen list (for --listen). */
int hw__config_set_listen(hw__config *cfg, const hw__listen *l, size_t n);
/**
 * Writes the config back as JSON text (caller frees), with every module as
 * the absolute path in module_path, so that another process (the reload
 * preflight) reads exactly this configuration.  Returns NULL on failure.
 */
char *hw__config_to_json(const hw__config *cfg);
/** Rewrites private-copy paths in a message as the user's files. */
void hw__config_user_paths(const hw__config *cfg, char *msg, size_t cap);

/* ---- router.c --------------------------------------------------------- */

typedef struct hw__router hw__router;

hw__router *hw__router_new(void);
void hw__router_free(hw__router *r);
/** Adds a prefix (borrowed: it must outlive the router).  Returns 0,
 *  UV_EEXIST for a duplicate, UV_EINVAL for a malformed prefix or
 *  UV_ENOMEM. */
int hw__router_add(hw__router *r, const char *prefix, size_t len, void *value);
/**
 * Finds the longest prefix of `path` shorter than `max_len` bytes that ends
 * on a segment boundary.  Pass SIZE_MAX first; after a module declines, pass
 * the previous match's length to get the next shorter one.  Returns the
 * value and sets `*match_len`, or NULL.  The query string must already be
 * cut off.  Cost depends on the path, not on the number of routes.
 */
void *hw__router_match(const hw__router *r, const char *path, size_t len,
                       size_t max_len, size_t *match_len);

/* ---- module.c --------------------------------------------------------- */

/** One loaded shared object. */
typedef struct hw__module {
  char *path;
  uv_lib_t lib;
  const hw_module *desc;
} hw__module;

/**
 * Loads `path` and validates its descriptor.  On failure returns a negative
 * code and writes "<path>: <reason>" into `err`.
 */
int hw__module_load(const char *path, hw__module **out, char *err,
                    size_t err_len);
/** Unloads and frees (the caller has already called every fini). */
void hw__module_unload(hw__module *m);
/** Non-zero if the shared object at `path` is still loaded in the process. */
int hw__module_is_mapped(const char *path);
/** Non-zero if `addr` (a function pointer) lies in the module's mapping. */
int hw__module_owns(const hw__module *m, const void *addr);

/* ---- generation.c ----------------------------------------------------- */

typedef struct hw__generation hw__generation;

/** One route: a module instance with its own state. */
typedef struct hw__route {
  const char *prefix; /* owned by the generation's config */
  size_t prefix_len;
  hw__module *module;
  void *state;
  int inited;
  hw__generation *gen;
} hw__route;

enum hw__gen_state {
  HW__GEN_ACTIVE = 0, /* serving new requests */
  HW__GEN_DRAINING,   /* retired: waiting for its last request */
  HW__GEN_FINISHED    /* fini done: waiting to unload its modules */
};

struct hw__generation {
  unsigned id;
  enum hw__gen_state state;
  hw__generation *next; /* the worker's list of retired generations */
  hw_request *reqs;     /* every request pinned to it */
  uint64_t retired_at;  /* loop time (ms) it was retired */
  uint64_t fini_tick;   /* reaper tick of its fini */
  int unload_warned;
  hw__config *config;
  hw__router *router;
  hw__route *routes;
  size_t nroutes;
  hw__module **modules; /* distinct shared objects */
  size_t nmodules;
  size_t live; /* requests pinned to this generation */
};

/**
 * Builds a generation: loads every module and calls every route's init.
 * Takes ownership of `cfg` (freed on failure too).  On failure everything
 * built so far is finalised and unloaded and `err` holds one line.
 */
int hw__generation_build(hw__config *cfg, unsigned id, hw__generation **out,
                         char *err, size_t err_len);
/** Calls each route's fini (once; later calls do nothing). */
void hw__generation_fini(hw__generation *g);
/**
 * Calls every fini still due, unloads the modules and frees.  A module's
 * fini may close libuv handles whose close callbacks are module code, so on
 * a running loop call hw__generation_fini first and free only after the
 * loop has run those callbacks.
 */
void hw__generation_free(hw__generation *g);

/* ---- the worker (worker.c) ------------------------------------------- */

typedef struct hw__conn hw__conn;
typedef struct hw__wbatch hw__wbatch;

typedef struct hw__reloader hw__reloader;

/** Called when a reload's preflight passed: the owner applies `cfg` (which
 *  it now owns) as generation `id`, then calls hw__reload_finished. */
typedef void (*hw__checked_cb)(hw__reloader *rl, hw__config *cfg,
                               unsigned id);

/**
 * A page shared by a worker and its master (a file in the run directory,
 * mapped by both), so that when a worker dies the master can say which
 * route it was serving.
 */
typedef struct hw__slot_state {
  volatile uint32_t busy; /* non-zero while a module's handle() runs */
  volatile uint32_t gen;
  char prefix[248];       /* of the route last dispatched */
} hw__slot_state;

/** Hot reload state (reload.c): of the master, or of a single process. */
struct hw__reloader {
  uv_loop_t *loop;
  void *owner;
  hw__checked_cb on_checked;
  void (*on_finished)(hw__reloader *rl, int ok); /* optional */
  char *config_path;      /* the user's routes.json */
  char *run_dir;          /* private module copies live under it; NULL in
                             a worker, whose master owns them */
  int own_run_dir;        /* created by us: removed at exit */
  const hw__listen *listen; /* the addresses in force (a reload keeps them) */
  size_t nlisten;
  unsigned last_id;       /* the generation being served */
  int stopping;
  hw__generation *retired; /* a worker's retired generations */
  uv_timer_t reaper;
  uint64_t ticks;
  uv_signal_t sig_hup;
  int busy, pending;      /* a reload is being built / another was asked */
  uint64_t started;       /* uv_hrtime() of the SIGHUP */
  hw__config *staged;     /* the config being checked */
  unsigned staged_id;
  uv_process_t child;     /* the preflight: haywire -t on the snapshot */
  uv_pipe_t child_err;
  uv_timer_t child_timer;
  hw__buf child_out;
  int child_state;        /* handles closed so far (3 when done) */
  int64_t child_status;
  int child_signal;
};

/* The length of "Server: haywire\r\n" and of "Date: " IMF-fixdate CRLF
 * (RFC 9110 section 5.6.7: the date is always 29 characters). */
#define HW__HOST_LINES_LEN (17 + 6 + 29 + 2)

typedef struct hw__worker {
  uv_loop_t *loop;
  hw__generation *gen;
  size_t limit_body;
  char *rbuf; /* the one read buffer every connection reads into */
  size_t rbuf_size;
  hw_request *free_reqs; /* pool of request objects */
  unsigned nfree_reqs;
  hw__wbatch *free_batches;
  unsigned nfree_batches;
  hw__conn *conns; /* every open connection, for shutdown */
  size_t nconns;
  /* "Server: haywire\r\nDate: <IMF-fixdate>\r\n", rewritten once a
   * second; every response head starts with it after the status line. */
  char host_lines[HW__HOST_LINES_LEN];
  uv_timer_t date_timer;
  uv_timer_t sweep_timer; /* timeouts: one pass over the connections */
  size_t max_conns;
  int accept_paused;
  uv_tcp_t *listeners;
  size_t nlisteners;
  uv_signal_t sig_int, sig_term, sig_quit;
  uv_timer_t stop_timer;
  int stopping; /* HW__STOP_* */
  uint64_t stop_deadline;
  hw__reloader reload;
  /* Under a master: */
  int id;                   /* worker slot number (0: single process) */
  uv_pipe_t ctl;            /* control channel to the master */
  hw__buf ctl_in;
  hw__slot_state *slot;     /* shared with the master: what is running */
  const hw__route *slot_route;
} hw__worker;

enum { HW__STOP_NONE = 0, HW__STOP_DRAIN, HW__STOP_NOW };

/** The worker of this process (one loop per process). */
extern hw__worker *hw__current;

/** Initialises a worker around `loop` with generation `gen` (no sockets). */
int hw__worker_init(hw__worker *w, uv_loop_t *loop, hw__generation *gen);
/** Binds and listens on every address of the generation's config. */
int hw__worker_listen(hw__worker *w, char *err, size_t err_len);
/** Runs until SIGINT/SIGTERM/SIGQUIT, then shuts down cleanly. */
int hw__worker_run(hw__worker *w);
/** Stops the worker: gracefully (requests finish, bounded by the drain
 *  timeout) or at once. */
void hw__worker_stop(hw__worker *w, int graceful, const char *why);
/** Listens on sockets inherited from the master (already bound). */
int hw__worker_listen_fds(hw__worker *w, const int *fds, size_t n, char *err,
                          size_t err_len);
/** Opens the control channel to the master on `fd` and says "ready". */
int hw__worker_attach(hw__worker *w, int fd, const char *slot_file);
/** Records in the shared slot page which route is about to run (called
 *  only when w->slot is set). */
void hw__worker_note_dispatch(hw__worker *w, const hw__route *rt);
/** Frees what hw__worker_init allocated (after the loop has stopped). */
void hw__worker_destroy(hw__worker *w);
/** A connection closed: accepting resumes if the limit had paused it. */
void hw__worker_conn_closed(hw__worker *w);
/** Blocks (or unblocks) SIGHUP, SIGTERM, SIGINT and SIGQUIT. */
void hw__signals_block(int block);
/** Refreshes the cached Date line now. */
void hw__worker_update_date(hw__worker *w);

/* ---- master.c --------------------------------------------------------- */

/**
 * Runs the master: binds the sockets, starts `nworkers` workers on a checked
 * first generation built from `cfg` (owned), supervises them, and drives
 * reloads until SIGTERM/SIGQUIT (graceful) or SIGINT.  Returns the exit code.
 */
int hw__master_run(hw__config *cfg, int nworkers, const char *run_dir_parent,
                   const char *pid_file);

/* ---- reload.c --------------------------------------------------------- */

/**
 * Creates the run directory (under `parent`, or $TMPDIR or /tmp when NULL)
 * where private module copies live.  Returns 0 or a negative code with a
 * message in `err`.
 */
int hw__rundir_create(hw__reloader *rl, const char *parent, char *err,
                      size_t err_len);
/**
 * Copies every module of `cfg` into the run directory's g<id>/ and points
 * the config at the copies, so the files users edit are never mapped.  Also
 * writes the config there as routes.json for the preflight.
 */
int hw__stage(hw__reloader *rl, hw__config *cfg, unsigned id, char *err,
              size_t err_len);
/** Removes run_dir/g<id>/ and everything in it. */
void hw__stage_remove(const hw__reloader *rl, unsigned id);
/** Begins a reload (on SIGHUP), or marks one pending if one is running. */
void hw__reload_request(hw__reloader *rl);
/**
 * Ends the reload the owner was given through on_checked: logs
 * `summary` ("generation N active ...") or "reload failed: <why>; still
 * serving generation N", and starts a reload that was asked meanwhile.
 */
void hw__reload_finished(hw__reloader *rl, int ok, const char *why);
/** Stages `cfg` (owned) as the next generation and checks it in a child;
 *  then on_checked, or hw__reload_finished with the reason. */
void hw__reload_check(hw__reloader *rl, hw__config *cfg);
/** Rewrites paths of the staged snapshot and copies in a message as the
 *  user's config file and modules. */
void hw__reload_user_paths(const hw__reloader *rl, const hw__config *cfg,
                           char *msg, size_t cap);
/** Installs the SIGHUP handler of a process that reloads itself. */
void hw__reload_listen_sighup(hw__reloader *rl);
/** Starts a worker's reaper of retired generations. */
void hw__reload_start(hw__worker *w);
/** In a worker: builds generation `id` from `cfg` (owned), swaps it in and
 *  retires the old one.  Returns 0 or an error with a message. */
int hw__worker_swap(hw__worker *w, hw__config *cfg, unsigned id, char *err,
                    size_t err_len);
/** At shutdown: finalises every retired generation (modules stay loaded). */
void hw__reload_stop(hw__worker *w);
/** After the loop ended: unloads and deletes everything, run dir included. */
void hw__reload_destroy(hw__worker *w);
/** Closes the reloader's own handles (SIGHUP, preflight) at shutdown. */
void hw__reload_close(hw__reloader *rl);

/* ---- request.c -------------------------------------------------------- */

/** Where a request is in its life. */
enum hw__req_state {
  HW__REQ_HEAD = 0, /* head being parsed */
  HW__REQ_BODY,     /* body arriving */
  HW__REQ_RUNNING,  /* handed to a module, deferred */
  HW__REQ_DONE      /* response complete, waiting its turn or being written */
};

typedef struct hw__span {
  uint32_t off;
  uint32_t len;
} hw__span;

typedef struct hw__hdr {
  hw__span name;
  hw__span value;
} hw__hdr;

typedef struct hw__ref {
  const void *data;
  size_t len;
  size_t at; /* offset in the copied body where the reference goes */
  hw_free_cb free_cb;
  void *arg;
} hw__ref;

/* The request and its response come from a per-worker pool.  Everything
 * before `headers` in hw_response, and so before `res.headers` in
 * hw_request, belongs to one request and is zeroed when the object returns
 * to the pool; what follows is memory kept for the next request. */
struct hw_response {
  int status;
  size_t nrefs;
  size_t body_len; /* copied + referenced */
  /* kept across requests: */
  hw__buf headers; /* "Name: value\r\n" lines added by the module */
  hw__buf body;    /* copied body bytes */
  hw__ref *refs;   /* write_ref segments, in order */
  size_t refs_cap;
};

struct hw_request {
  hw_request *next;     /* pipeline queue, batch list or free list */
  hw_request *gprev, *gnext; /* the generation's list of its requests */
  hw__conn *conn;       /* NULL once the client has gone */
  hw__worker *w;
  hw__generation *gen;  /* pinned from route match to free */
  hw__route *route;     /* NULL: no route */
  size_t match_len;
  enum hw__req_state state;
  unsigned keep_alive : 1;
  unsigned is_head : 1;
  unsigned deferred : 1;
  unsigned aborted : 1;
  unsigned close_after : 1; /* host error: close after this response */
  unsigned in_handle : 1;      /* inside the module's handle() */
  unsigned finished_early : 1; /* finish() called inside handle() */
  unsigned std_method : 1;     /* one of RFC 9110 section 9.3's methods */
  int version;          /* 10 or 11 */
  const char *method_name; /* static string from the HTTP unit, or NULL:
                              then the method is `method` in `head` */
  size_t method_len;
  hw__span method;
  hw__span target, path, query; /* in `head` */
  hw__span host;        /* the authority of an absolute-form target, else
                           the Host field's value (RFC 9112 section 3.2.2) */
  uint32_t nhdrs;
  /* limits.body_min_rate: the body's clock, looked at by the sweep. */
  uint32_t rate_mark;   /* loop time (ms) of the sweep's last look */
  uint32_t rate_ms;     /* reading time in the current window */
  uint64_t rate_bytes;  /* body bytes in the current window */
  unsigned rate_on : 1;     /* the clock has started */
  unsigned rate_graced : 1; /* the first window (no check) is over */
  void *scratch;        /* list of alloc() blocks */
  hw_abort_cb abort_cb;
  void *abort_arg;
  struct hw_response res; /* must stay the last per-request member */
  /* kept across requests: */
  hw__buf head;         /* the head from the target on, as received,
                           then a normalised path if one was needed */
  hw__buf body;
  hw__hdr *hdrs;
  uint32_t hdrs_cap;
};

extern const hw_host hw__host;

/** Takes a request object from the worker's pool (or the heap). */
hw_request *hw__request_new(hw__worker *w, hw__conn *c);
/** Runs free callbacks, unpins the generation and returns it to the pool. */
void hw__request_free(hw_request *req);
/** Matches the route (pins the current generation). */
void hw__request_route(hw_request *req);
/** Releases the request's generation (it no longer counts toward its drain). */
void hw__request_unpin(hw_request *req);
/** Calls the module (falling through on decline); on return the request
 *  is DONE or RUNNING (deferred). */
void hw__request_dispatch(hw_request *req);
/** Sets a host-made response (error pages): status and a short body. */
void hw__request_respond_error(hw_request *req, int status);
/** Called by conn.c when the client goes away: aborts a deferred request,
 *  which stays alive (orphaned) until the module finishes it. */
void hw__request_orphan(hw_request *req);
/** Drops the worker's pooled request objects. */
void hw__request_pool_drain(hw__worker *w);
/** Resets the response (for a decline or an error). */
void hw__response_reset(struct hw_response *res);

/* ---- http.c ----------------------------------------------------------- */

/** Opaque storage for the HTTP parser and http.c's strict pre-scanner of
 *  the same bytes, embedded in each connection. */
typedef struct hw__http_parser_storage {
  uint64_t opaque[7];
} hw__http_parser_storage;

/** Resets the parser for a new connection. */
void hw__http_init(hw__http_parser_storage *p, hw__conn *c);
/**
 * Feeds bytes to the parser; requests are created, routed and dispatched
 * from its callbacks.  Returns the number of bytes consumed: less than `len`
 * when parsing paused (back-pressure or a non-persistent request) or failed
 * (then a final error response is queued and `*failed` is set).
 */
size_t hw__http_feed(hw__http_parser_storage *p, const char *data, size_t len,
                     int *failed);
/** Resumes a parser paused by back-pressure. */
void hw__http_unpause(hw__http_parser_storage *p);
/** Tells the parser the peer closed (finishes an EOF-delimited message). */
void hw__http_eof(hw__http_parser_storage *p);
/**
 * Appends the status line and host headers of `req`'s response to `out`:
 * "HTTP/1.1 <status> <reason>", Server, Date, Content-Length, Connection
 * when needed, then the module's headers and the blank line.
 */
int hw__http_write_head(const hw_request *req, int keep_alive, hw__buf *out);
/** Non-zero if a response with this status carries a body. */
static inline int hw__http_status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}
/** The reason phrase for a status code ("" if unknown). */
const char *hw__http_reason(int status);

/* ---- conn.c ----------------------------------------------------------- */

#define HW__MAX_QUEUED 32            /* requests waiting their turn */
#define HW__LINGER_MS 1500           /* lingering close, plus the sweep's
                                        granularity: at most 2 s */
#define HW__SWEEP_MS 500
#define HW__MAX_UNSENT (64 * 1024)   /* bytes of unsent output */

struct hw__conn {
  uv_tcp_t tcp;
  hw__worker *w;
  hw__conn *prev, *next;      /* the worker's list */
  hw__http_parser_storage parser;
  hw_request *cur;            /* being parsed */
  hw_request *qhead, *qtail;  /* dispatched, in request order */
  unsigned nqueued;
  unsigned nwriting;          /* write batches in flight */
  char *pending;              /* bytes read but not parsed (paused) */
  uint32_t pending_off, pending_len;
  unsigned reading : 1;
  unsigned in_read : 1;       /* parsing a read: flush once at its end */
  unsigned paused : 1;        /* parser paused by back-pressure */
  unsigned no_more : 1;       /* nothing more will be read */
  unsigned eof : 1;
  unsigned closing : 1;
  unsigned draining : 1;      /* shutting down: finish, then close */
  unsigned shutting : 1;      /* our FIN is queued */
  unsigned lingering : 1;     /* FIN sent: discarding input a while */
  unsigned served : 1;        /* has answered a request */
  unsigned continue_owed : 1; /* a 100 Continue waits for earlier answers */
  uint32_t mark;              /* loop time (ms) the current phase began */
};

/** Accepts a new connection from `server`. */
void hw__conn_accept(hw__worker *w, uv_stream_t *server);
/** Called from the parser when a request's head has begun. */
hw_request *hw__conn_begin_request(hw__conn *c);
/** Appends a parsed request to the connection's queue. */
void hw__conn_enqueue(hw__conn *c, hw_request *req);
/** A queued request became DONE: write what is ready (unless in a read). */
void hw__conn_response_ready(hw__conn *c);
/** Non-zero when the connection should stop taking new requests (checked
 *  after every request, hence inline). */
static inline int hw__conn_congested(const hw__conn *c) {
  return c->no_more || c->nqueued > HW__MAX_QUEUED ||
         c->tcp.write_queue_size > HW__MAX_UNSENT;
}
/** Closes the connection (requests in flight are orphaned). */
void hw__conn_close(hw__conn *c);
/** Graceful shutdown: closes an idle connection now; a busy one finishes
 *  what it has (the request being read included), sends its last response
 *  with `Connection: close`, then closes. */
void hw__conn_drain(hw__conn *c);
/** Drops the worker's pooled write batches. */
void hw__wbatch_pool_drain(hw__worker *w);
/** Sends "100 Continue" now, unless earlier responses are still owed. */
void hw__conn_continue(hw__conn *c);
/** Applies the timeouts to every connection (run every HW__SWEEP_MS). */
void hw__conn_sweep(hw__worker *w);

#endif /* HW_INTERNAL_H */
