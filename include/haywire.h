/*
 * haywire.h - the public module ABI of the Haywire HTTP server.
 *
 * A Haywire module is a shared object that exports exactly one symbol,
 * HW_MODULE_SYMBOL ("hw_module_entry"), a `const hw_module` descriptor.  The
 * module links no server symbol: everything it may ask of the server comes
 * through the `hw_host` function table handed to `init`, so a module can be
 * written in any language that can export a C struct of function pointers.
 *
 * Versioning: the descriptor carries HW_ABI_MAJOR, HW_ABI_MINOR and its own
 * size.  The server refuses a module whose major differs from its own or whose
 * descriptor is smaller than the first published one.  Minor versions only
 * ever append members at the end of `hw_module` and `hw_host`, so a module
 * built against an older minor keeps working, and a module can test
 * `host->size` before using a member added later.
 *
 * Ownership, in one place (each declaration repeats what applies to it):
 *   - Every `hw_str` the host returns for a request is borrowed: it stays
 *     valid until the request is freed, that is until its response has been
 *     written (or discarded) and every free callback given with it has run.
 *     For a request handled synchronously that is "until `handle` returns" at
 *     the earliest; for a deferred request it is until the module calls
 *     `finish`.  Strings are NOT NUL-terminated.
 *   - Everything a module passes to the host is copied before the call
 *     returns, except the data given to `write_ref`, which is borrowed until
 *     its free callback runs.
 *   - The module owns its state (returned by `init`) until `fini`.
 *
 * Other languages: every struct here is plain C, its members in the order
 * declared with their natural alignment (no packing): uint32_t is 4 bytes,
 * size_t and every pointer are the platform's word (8 bytes on x86-64 and
 * aarch64 Linux), an enum is an `int` (4 bytes), `hw_str` is
 * { const char *data; size_t len; }, and every function pointer uses the C
 * calling convention.  Only `log` is variadic; `log_str` (1.2) is its
 * non-variadic twin.  A module that uses `loop()` links the system's shared
 * libuv (`-luv`), never a static copy: the loop it is handed is the
 * server's, and two copies of libuv cannot share one.
 *
 * History of the minor versions (each only appends members):
 *   1.0  the descriptor and the host table up to `loop`
 *   1.1  prepared header fields: header_prepare, add_prepared, header_free
 *   1.2  host(), log_str(), the route config accessors (config, conf_*),
 *        HW_MODULE_DEFINE usable from C++, HW_MODULE_DEFINE_ALL (abort)
 *   1.3  timers (timer_start, timer_stop), thread-pool work (queue_work),
 *        streamed responses (stream, on_writable, write_file; HW_CONGESTED),
 *        streamed request bodies (body_stream, body_pause); on_abort also
 *        runs when the client ends its side of the connection
 *   1.4  the server's counters: metrics() and the hw_metrics snapshot
 *   1.5  TLS: tls() and hw_tls_info (the session a request came over);
 *        hw_metrics appends the TLS handshakes
 *   1.6  HTTP/2: version() returns 20 for a request that came over HTTP/2
 *        (to a module built for an older minor it says 11)
 *   1.7  PROXY protocol: proxy() and hw_proxy_info (what a load balancer's
 *        header said: the client, the balancer's own address, v2's TLVs),
 *        proxy_tlv(); peer() returns the client the header named
 */
#ifndef HAYWIRE_H
#define HAYWIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version: a module built for another major is refused. */
#define HW_ABI_MAJOR 1
/** ABI minor version: new members are only ever appended (the history is
 *  at the top of this file). */
#define HW_ABI_MINOR 7

/** The one symbol a module exports: `const hw_module hw_module_entry`. */
#define HW_MODULE_SYMBOL "hw_module_entry"

/** Export attribute for the descriptor (modules may use -fvisibility=hidden;
 *  on Windows a DLL then exports the descriptor alone). */
#if defined(_WIN32)
#define HW_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define HW_EXPORT __attribute__((visibility("default")))
#else
#define HW_EXPORT
#endif

/** A request seen by a module.  Opaque; owned by the host. */
typedef struct hw_request hw_request;

/** The response being built for one request.  Opaque; owned by the host. */
typedef struct hw_response hw_response;

/** A response header field checked once by `header_prepare`, for modules
 *  that send the same field with many responses.  Opaque; allocated by the
 *  host, owned by the module until it passes it to `header_free`. */
typedef struct hw_header hw_header;

/** A value in a route's "config" (ABI 1.2).  Opaque; the host's, valid
 *  until `init` returns (the accessors below read it). */
typedef struct hw_conf hw_conf;

/** The type of a config value (`conf_type`). */
typedef enum hw_conf_type {
  HW_CONF_ABSENT = 0, /**< no such value (a NULL handle, a missing key) */
  HW_CONF_NULL,
  HW_CONF_BOOL,
  HW_CONF_INT,    /**< a JSON number without fraction or exponent */
  HW_CONF_NUMBER, /**< any other JSON number */
  HW_CONF_STRING,
  HW_CONF_ARRAY,
  HW_CONF_OBJECT
} hw_conf_type;

/** libuv's loop type, forward-declared so this header does not need uv.h. */
struct uv_loop_s;

/**
 * A byte string that is not NUL-terminated.  When returned by the host it is
 * borrowed (see the ownership rules above); `data` may be NULL when `len` is 0.
 */
typedef struct hw_str {
  const char *data;
  size_t len;
} hw_str;

/**
 * The TLS session a request came over (ABI 1.5), returned by `host->tls`.
 * Allocated for the request and borrowed as its strings are (freed with
 * it); the strings are NUL-terminated as well as counted.
 */
typedef struct hw_tls_info {
  /** sizeof(hw_tls_info) as the host filled it: later minors append. */
  size_t size;
  /** The protocol version: "TLSv1.2" or "TLSv1.3". */
  hw_str version;
  /** The cipher suite, as OpenSSL names it ("TLS_AES_128_GCM_SHA256"). */
  hw_str cipher;
  /** The server name the client asked for (SNI, RFC 6066), as it sent it;
   *  empty when it sent none. */
  hw_str server_name;
  /** The application protocol ALPN chose (RFC 7301: "http/1.1"); empty
   *  when the client offered none. */
  hw_str alpn;
  /** Non-zero when the session was resumed from a session ticket. */
  int resumed;
} hw_tls_info;

/**
 * What the load balancer in front said of a request's client (ABI 1.7),
 * returned by `host->proxy` when the request's connection began with a
 * PROXY protocol header (HAProxy's specification, version 1 or 2; the
 * listen entry's "proxy_protocol").  Allocated for the request and
 * borrowed as its strings are (freed with it); the strings are
 * NUL-terminated as well as counted, and empty when the header did not
 * carry them.
 */
typedef struct hw_proxy_info {
  /** sizeof(hw_proxy_info) as the host filled it: later minors append. */
  size_t size;
  /** The header's version: 1 (text) or 2 (binary). */
  int version;
  /** Non-zero for v2 LOCAL or v1 UNKNOWN: the balancer's own connection
   *  (its health checks), which carries no client. */
  int local;
  /** The client's address as the balancer saw it ("ip:port", "[ip]:port"):
   *  what `peer` returns.  Empty when the header named none (`local`, or a
   *  UNIX socket's client): `peer` is then the socket's peer. */
  hw_str client;
  /** The address the client connected to (the balancer's frontend). */
  hw_str server;
  /** The balancer: the TCP connection's own peer. */
  hw_str socket_peer;
  /** v2's TLVs exactly as sent (each a type byte, a 2-byte big-endian
   *  length, the value); empty for v1.  See also `proxy_tlv`. */
  hw_str tlvs;
  /** PP2_TYPE_ALPN: the protocol the client's TLS session chose. */
  hw_str alpn;
  /** PP2_TYPE_AUTHORITY: the host name the client asked for (its SNI). */
  hw_str authority;
  /** PP2_TYPE_UNIQUE_ID: the balancer's ID of the connection (binary, at
   *  most 128 bytes). */
  hw_str unique_id;
  /** PP2_TYPE_SSL's client bits (0x01 the client came over TLS, 0x02 it
   *  sent a certificate on this connection, 0x04 in its session), 0
   *  without that TLV. */
  uint32_t ssl_client;
  /** PP2_TYPE_SSL's verify: 0 when a client certificate was verified. */
  uint32_t ssl_verify;
  /** PP2_SUBTYPE_SSL_VERSION ("TLSv1.3"), _CIPHER, _SIG_ALG, _KEY_ALG,
   *  and _CN (the client certificate's Common Name). */
  hw_str ssl_version;
  hw_str ssl_cipher;
  hw_str ssl_sig_alg;
  hw_str ssl_key_alg;
  hw_str ssl_cn;
} hw_proxy_info;

/** One status code's count in a route's series (ABI 1.4). */
typedef struct hw_metrics_code {
  /** The status code (a module may set 200..999). */
  uint32_t code;
  /** Responses with it. */
  uint64_t count;
} hw_metrics_code;

/** A named count (ABI 1.4): a label's value and its counter. */
typedef struct hw_metrics_count {
  /** The label value ("ok", "signal", "head", ...), NUL-terminated. */
  const char *name;
  uint64_t count;
} hw_metrics_count;

/**
 * One route's series (ABI 1.4), summed over the worker slots and over every
 * generation that had a route with this prefix: the series of a prefix
 * continue across reloads.  Requests are counted when they are over (their
 * response written, or their client gone: status 499).
 */
typedef struct hw_metrics_route {
  /** The route's prefix; empty for requests that matched no route (404)
   *  or were refused before their head was routed (400, 414, 431, 501,
   *  505, and 408 for a head that never ended); a refusal after routing
   *  (413 for a body past its limit, 408 while a body arrives) counts
   *  under its route.  "*" for routes past the table's capacity (4096 prefixes a
   *  worker). */
  hw_str prefix;
  /** All its requests (the sum of `codes` and `other_codes`). */
  uint64_t requests;
  /** Its counts by exact status, ascending by code (`ncodes` of them). */
  const hw_metrics_code *codes;
  size_t ncodes;
  /** Requests whose code did not fit the per-worker table of 24 codes a
   *  route (reported as code "other"). */
  uint64_t other_codes;
  /** Durations, from the request's first byte read to its end:
   *  `buckets[i]` counts those up to `hw_metrics.bounds[i]` seconds
   *  (cumulative, as Prometheus's `le`), `buckets[nbounds]` all of them. */
  const uint64_t *buckets;
  /** The sum of the durations, in nanoseconds. */
  uint64_t duration_ns;
  /** Request body bytes received and response body bytes sent. */
  uint64_t request_body_bytes;
  uint64_t response_body_bytes;
} hw_metrics_route;

/** One process of the server (ABI 1.4), read from /proc when the snapshot
 *  is taken (0 when it could not be read). */
typedef struct hw_metrics_process {
  /** "master", "worker" or "single" (a server without master). */
  const char *role;
  /** The worker slot (1..workers); 0 for the master or a single process. */
  uint32_t slot;
  int64_t pid;
  /** Resident memory, bytes. */
  uint64_t resident_bytes;
  /** Open file descriptors. */
  uint64_t open_fds;
  /** The generation it serves (0 for the master). */
  uint64_t generation;
} hw_metrics_process;

/**
 * A snapshot of the server's counters (ABI 1.4), returned by
 * `host->metrics`.  Counters only grow for the server's life (a restarted
 * worker's counts are kept); gauges are the values at the snapshot.  Each
 * route's series is read whole (its requests, codes and histogram agree).
 * Everything it points to is the host's, borrowed like the request's
 * strings.
 */
typedef struct hw_metrics {
  /** sizeof(hw_metrics) as the host filled it: later minors append. */
  size_t size;
  /** The server's version ("0.9.0") and ABI ("1.4"), NUL-terminated. */
  const char *version;
  const char *abi;
  /** When the server (its master) started, Unix time in seconds. */
  double start_time;
  /** The generation serving new requests. */
  uint64_t generation;
  /** When a reload last succeeded (Unix seconds), 0 if none has. */
  double last_reload_time;
  /** Retired generations not yet unloaded, over all workers. */
  uint64_t generations_draining;
  /** Worker processes configured (0: a single process serves). */
  uint32_t workers;
  /** Reloads by result ("ok", "failed"). */
  const hw_metrics_count *reloads;
  size_t nreloads;
  /** Worker restarts by cause ("signal": killed by one, "exit": it exited
   *  when not asked to). */
  const hw_metrics_count *restarts;
  size_t nrestarts;
  /** Connections accepted, over all workers. */
  uint64_t connections_accepted;
  /** Open connections by what they are doing (as nginx's stub_status):
   *  reading a request, writing (or preparing) a response, waiting idle
   *  between requests.  Each worker counts them twice a second. */
  uint64_t connections_reading;
  uint64_t connections_writing;
  uint64_t connections_waiting;
  /** Times a worker stopped accepting at `limits.connections`. */
  uint64_t accepts_paused;
  /** Connections closed by a timeout, by its kind ("keepalive", "head",
   *  "body", "body_rate", "write", "linger"). */
  const hw_metrics_count *timeouts;
  size_t ntimeouts;
  /** The histogram's upper bounds in seconds, ascending. */
  const double *bounds;
  size_t nbounds;
  /** The routes' series, ascending by prefix. */
  const hw_metrics_route *routes;
  size_t nroutes;
  /** The master (if any), then each running worker. */
  const hw_metrics_process *processes;
  size_t nprocesses;
  /** TLS handshakes (ABI 1.5; check `size`) by how they ended: "full", a
   *  new session; "resumed", from a session ticket; "failed", an alert,
   *  bytes that were not TLS, or a client that left or timed out first. */
  const hw_metrics_count *tls_handshakes;
  size_t ntls_handshakes;
} hw_metrics;

/** What `handle` returns. */
typedef enum hw_handle_result {
  /** The response is complete (or will be written by `finish` below). */
  HW_HANDLED = 0,
  /**
   * Not mine: the host tries the route with the next shorter matching prefix,
   * then answers 404.  Anything written to the response so far is discarded.
   */
  HW_DECLINED = 1,
  /**
   * The module will answer later by calling `host->finish(res)`, exactly
   * once, from the worker's loop thread.  Until then the request and
   * response stay valid, even if the client goes away.
   */
  HW_DEFERRED = 2,
  /** Failure: the host discards what was written and answers 500. */
  HW_ERROR = -1
} hw_handle_result;

/** Log levels for `host->log`. */
typedef enum hw_log_level {
  HW_LOG_ERROR = 0,
  HW_LOG_WARN = 1,
  HW_LOG_INFO = 2,
  HW_LOG_DEBUG = 3
} hw_log_level;

/** Error codes returned by host functions (negative, like libuv's). */
#define HW_EINVAL (-22) /**< an argument is out of range or malformed */
#define HW_ENOMEM (-12) /**< the host could not allocate memory */
#define HW_ENOENT (-2)  /**< no such header / index out of range */
#define HW_ESTATE (-71) /**< called at the wrong time (e.g. after finish) */
/** A queued work item that never ran: its generation was given up (1.3). */
#define HW_ECANCELED (-125)
/**
 * Not an error (ABI 1.3): a write to a streamed response was taken, but the
 * output it waits in has passed its bound.  Write nothing more until the
 * callback registered with `on_writable` runs, so that a response of any
 * size holds a bounded amount of memory.
 */
#define HW_CONGESTED 1

/** Free callback for `write_ref` data; called once from the loop thread. */
typedef void (*hw_free_cb)(void *arg);

/** Called once if the client goes away while a request is deferred. */
typedef void (*hw_abort_cb)(hw_request *req, void *arg);

/** A timer ran out (ABI 1.3); `timer` is the handle timer_start returned. */
typedef void (*hw_timer_cb)(int64_t timer, void *arg);
/** Work run on a thread of the pool (ABI 1.3): it may block, and calls no
 *  host function (nor anything else that is not thread-safe). */
typedef void (*hw_work_cb)(void *arg);
/** After the work, on the loop thread (ABI 1.3): `status` is 0, or
 *  HW_ECANCELED when the work never ran.  The request is still valid. */
typedef void (*hw_work_done_cb)(hw_request *req, void *arg, int status);
/** A congested streamed response may be written again (ABI 1.3). */
typedef void (*hw_writable_cb)(hw_response *res, void *arg);
/** A piece of a streamed request body (ABI 1.3): `piece` is borrowed for
 *  the call; `end` is non-zero with the last call (whose piece may be
 *  empty).  Nothing follows the end. */
typedef void (*hw_body_cb)(hw_request *req, void *arg, hw_str piece, int end);

/**
 * The host's function table.  The table itself is owned by the host and stays
 * valid from `init` until `fini` returns; modules keep the pointer.  All
 * functions must be called from the worker's loop thread.
 */
typedef struct hw_host {
  /** HW_ABI_MAJOR of the host. */
  uint32_t abi_major;
  /** HW_ABI_MINOR of the host. */
  uint32_t abi_minor;
  /** sizeof(hw_host) in the host: members beyond it do not exist. */
  size_t size;

  /* ---- the request (all results borrowed for the request's life) ---- */

  /** The method token as the client sent it, e.g. "GET": any token, also
   *  one the server does not know ("QUERY", "BREW"); a module decides what
   *  a method it does not implement gets (RFC 9110 section 9.1).  HEAD is
   *  handed over as "HEAD": answer it as GET, the host sends no body.
   *  Borrowed (see above). */
  hw_str (*method)(const hw_request *req);
  /** The request target exactly as received, query included. */
  hw_str (*target)(const hw_request *req);
  /** The path part of the target (without the query). */
  hw_str (*path)(const hw_request *req);
  /** The query without the '?', empty if there is none. */
  hw_str (*query)(const hw_request *req);
  /** The route prefix that matched, e.g. "/api". */
  hw_str (*prefix)(const hw_request *req);
  /** The path after the prefix: "" or starting with '/'. */
  hw_str (*rest)(const hw_request *req);
  /** HTTP version: 10 or 11 (HTTP/1.0, HTTP/1.1), or, since 1.6, 20
   *  (HTTP/2; 11 to a module built for an older minor). */
  int (*version)(const hw_request *req);
  /**
   * Looks a header up by name, case-insensitively.  `name` is borrowed for
   * the call.  Returns 0 and sets `*value` (borrowed) for the first field of
   * that name, or HW_ENOENT.  Fields are as received: "Host" is the field,
   * also when an absolute-form target names another authority (which is
   * then the request's host, RFC 9112 section 3.2.2).
   */
  int (*header)(const hw_request *req, const char *name, size_t name_len,
                hw_str *value);
  /** The number of header fields, in the order received. */
  size_t (*header_count)(const hw_request *req);
  /**
   * Field `index` (0-based): sets `*name` and `*value` (both borrowed, the
   * name as the client spelled it).  Returns 0 or HW_ENOENT.
   */
  int (*header_at)(const hw_request *req, size_t index, hw_str *name,
                   hw_str *value);
  /** The whole request body (de-chunked); empty if none. */
  hw_str (*body)(const hw_request *req);
  /**
   * The peer's address written as text ("127.0.0.1:5678" or "[::1]:5678")
   * into `buf` (caller-owned, NUL-terminated).  Returns the length or a
   * negative error code.  Behind a load balancer that sends a PROXY
   * header (ABI 1.7), the client the header named (`proxy` has the
   * balancer's own address).
   */
  int (*peer)(const hw_request *req, char *buf, size_t buf_len);
  /**
   * `size` bytes of scratch memory, 16-byte aligned, owned by the host and
   * freed with the request.  Returns NULL when out of memory.  Never put a
   * libuv handle here: a handle must live until its close callback runs,
   * which may be after the request is freed (malloc it instead).
   */
  void *(*alloc)(hw_request *req, size_t size);
  /** Non-zero once the client has gone away (the answer will be dropped). */
  int (*aborted)(const hw_request *req);
  /**
   * Registers `cb(req, arg)` to run once if the client goes away while the
   * request is deferred or its response streams.  For a module built for
   * ABI 1.3 or later it also runs when the client ends its side of the
   * connection (a FIN) then: that is advisory, since the client may only
   * have half-closed (`aborted` says 0), and a response finished afterwards
   * is still written if the connection takes it.  The callback runs from
   * the loop, never inside another call to the host (a write that finds
   * the connection broken returns first, HW_ESTATE on the next), not at
   * all if the module finishes the request before it is due, and is
   * cleared before it runs: register again to hear of a later close.  Replaces an earlier registration; `cb` NULL
   * removes it.  `arg` is borrowed until the callback runs or the request is
   * finished.
   */
  void (*on_abort)(hw_request *req, hw_abort_cb cb, void *arg);

  /* ---- the response ---- */

  /**
   * Sets the final status code: 200-999 are accepted (interim 1xx answers
   * are the host's), HW_EINVAL otherwise; the default is 200.  A 204 or 304
   * response is sent without a body whatever was written.
   */
  int (*set_status)(hw_response *res, int status);
  /**
   * Adds a header field; name and value are copied.  Date, Server,
   * Content-Length, Transfer-Encoding and Connection are the host's and are
   * refused with HW_EINVAL, as is a name or value containing CR or LF.
   */
  int (*add_header)(hw_response *res, const char *name, size_t name_len,
                    const char *value, size_t value_len);
  /** Appends body bytes, copied before the call returns. */
  int (*write)(hw_response *res, const void *data, size_t len);
  /**
   * Appends body bytes by reference: `data` is borrowed until `free_cb(arg)`
   * runs, which happens exactly once (even if the client goes away or the
   * call fails), after the bytes have been written or discarded.
   * `free_cb` may be NULL for static data.
   */
  int (*write_ref)(hw_response *res, const void *data, size_t len,
                   hw_free_cb free_cb, void *arg);
  /**
   * Completes a response whose `handle` returned HW_DEFERRED.  After it the
   * module must not touch the request or response again.  Returns
   * HW_ESTATE if the request was not deferred or is already finished.
   */
  int (*finish)(hw_response *res);

  /* ---- the worker ---- */

  /** Writes one log line, printf-style; the format is borrowed. */
  void (*log)(hw_log_level level, const char *fmt, ...)
#if defined(__MINGW32__)
      /* (The server formats with mingw's C99 printf: %zu and %lld work
       * whatever the module's own C library says.) */
      __attribute__((format(gnu_printf, 2, 3)))
#elif defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
      ;
  /**
   * The worker's libuv loop (a `uv_loop_t *`), for modules that want timers.
   * Borrowed: a module closes every handle it opened before `fini` returns.
   */
  struct uv_loop_s *(*loop)(void);

  /* ---- ABI 1.1: prepared headers (check `host->size` first) ---- */

  /**
   * Checks a header field once, as `add_header` would (a token name that is
   * not one of the host's fields, a value without CR, LF or NUL), and keeps
   * it ready to be added to responses by `add_prepared` without checking it
   * again.  Name and value are copied.  On success returns 0 and sets
   * `*out`, owned by the caller until `header_free`; HW_EINVAL or HW_ENOMEM
   * otherwise.  May be called from `init` (the usual place) or later, on
   * the worker's loop thread.
   */
  int (*header_prepare)(const char *name, size_t name_len, const char *value,
                        size_t value_len, hw_header **out);
  /** Adds a prepared header field to the response; `h` is borrowed for the
   *  call (the field is copied). */
  int (*add_prepared)(hw_response *res, const hw_header *h);
  /** Frees a prepared header field (NULL is allowed).  No response may be
   *  given it afterwards; those it was added to keep their copy. */
  void (*header_free)(hw_header *h);

  /* ---- ABI 1.2 (check HW_HOST_HAS(host, member) first) ---- */

  /**
   * The request's host (RFC 9112 section 3.2.2): the authority of an
   * absolute-form target ("http://a.example:8080/x" gives "a.example:8080"),
   * else the Host field's value, port included; "" when there is neither
   * (HTTP/1.0 without Host).  Borrowed for the request's life.
   */
  hw_str (*host)(const hw_request *req);
  /** Writes one log line; `message` is the whole text (not a format),
   *  borrowed for the call.  For languages that cannot call `log`. */
  void (*log_str)(hw_log_level level, hw_str message);

  /*
   * The route's "config", without a JSON parser of the module's own.  From
   * `init` only: `config` takes the `config` pointer `init` was given and
   * returns the root value (NULL outside `init`, or for another pointer).
   * Values are the host's and valid until `init` returns; strings are
   * borrowed as long.  A `path` names a value below `v`: members separated
   * by '.', array elements by "[n]" ("db.hosts[0].port"); NULL or "" is `v`
   * itself (reach a key holding '.' or '[' with `conf_at`).  The typed
   * getters return 0 and set `*out`; HW_ENOENT when the value is absent
   * (`err` untouched: use your default); HW_EINVAL when it has another type,
   * with one line in `err` naming the place, e.g. "routes[2].config.ttl:
   * expected an integer, not a string"; HW_ESTATE outside `init`.  `err`
   * is the caller's (`err_len` bytes), usually init's own.
   */
  /** The root of the route's config (see above). */
  const hw_conf *(*config)(const char *config);
  /** The value at `path` below `v`, or NULL. */
  const hw_conf *(*conf_find)(const hw_conf *v, const char *path);
  /** The type of `v` (hw_conf_type); HW_CONF_ABSENT for NULL. */
  int (*conf_type)(const hw_conf *v);
  /** A string (the bytes, which may hold NUL: use out->len). */
  int (*conf_string)(const hw_conf *v, const char *path, hw_str *out,
                     char *err, size_t err_len);
  /** An integer (a JSON number without fraction or exponent). */
  int (*conf_int)(const hw_conf *v, const char *path, int64_t *out,
                  char *err, size_t err_len);
  /** Any number, as a double. */
  int (*conf_number)(const hw_conf *v, const char *path, double *out,
                     char *err, size_t err_len);
  /** true or false, as 1 or 0. */
  int (*conf_bool)(const hw_conf *v, const char *path, int *out, char *err,
                   size_t err_len);
  /** The number of elements of an array or members of an object (0 for
   *  anything else). */
  size_t (*conf_count)(const hw_conf *v);
  /** Element `index` of an array, or member `index` of an object (its key
   *  in `*key` when `key` is not NULL, borrowed); NULL past the end.  An
   *  object's members come in the order of the file. */
  const hw_conf *(*conf_at)(const hw_conf *v, size_t index, hw_str *key);
  /** Checks that `v` is an object whose keys are all among `keys` (a
   *  NULL-terminated list, borrowed): 0, or HW_EINVAL with "...: unknown
   *  key \"x\"" or "...: expected an object, not ..." in `err`. */
  int (*conf_keys)(const hw_conf *v, const char *const *keys, char *err,
                   size_t err_len);
  /** Writes "<the place of path below v>: <what>" into `err` (for a
   *  module's own checks, e.g. a range) and returns HW_EINVAL. */
  int (*conf_error)(const hw_conf *v, const char *path, const char *what,
                    char *err, size_t err_len);

  /* ---- ABI 1.3 (check HW_HOST_HAS(host, member) first) ---- */

  /**
   * Starts a timer on the worker's loop: `cb(timer, arg)` runs once after
   * `ms` milliseconds, then, when `repeat` is not 0, every `repeat` ms until
   * stopped.  Returns the timer's handle (> 0) or a negative error.  The
   * timer is the host's: it belongs to the calling route's generation and
   * is stopped when that generation is finalised (after `fini`), so no
   * callback can reach unloaded code.  `arg` is borrowed while the timer
   * runs.  From `init`, `handle` or any callback the host makes; HW_ESTATE
   * elsewhere.  A one-shot timer is over once its callback has begun.
   */
  int64_t (*timer_start)(uint64_t ms, uint64_t repeat, hw_timer_cb cb,
                         void *arg);
  /** Stops a timer: 0; HW_ESTATE if it is over (stopped, or a one-shot
   *  timer that ran); HW_EINVAL for a value that is no timer of this
   *  route's module. */
  int (*timer_stop)(int64_t timer);
  /**
   * Runs `work(arg)` on the thread pool, then `done(req, arg, status)` on
   * the loop thread, where the module may answer.  `req` must be a request
   * being handled (inside `handle`, or deferred and not finished) whose
   * client has not gone and whose generation was not given up; it stays
   * valid until `done` has run, even if the client goes away, and its
   * generation stays loaded (a running `work` cannot be stopped).  `arg` is
   * the module's.  Module work in flight is capped below the pool's size
   * (config "thread_pool"), so the server's own pool work always gets a
   * thread; the rest waits its turn.  A module that queued work for a
   * request may not decline it (the host answers 500).  Returns 0,
   * HW_EINVAL (a NULL function), HW_ESTATE (no request being handled) or
   * HW_ENOMEM.
   */
  int (*queue_work)(hw_request *req, hw_work_cb work, hw_work_done_cb done,
                    void *arg);
  /**
   * Streams the response: the status and fields set so far are final, and
   * what `write`, `write_ref` and `write_file` give from now on is sent as
   * it comes, in order, until `finish` (or `handle` returning HW_HANDLED)
   * ends it.  `length` is the body's size, sent as Content-Length (writing
   * past it is HW_EINVAL; ending short cuts the connection, so the client
   * sees the response is incomplete), or -1 when unknown: then chunked
   * (HTTP/1.1) or delimited by closing the connection (HTTP/1.0).  HEAD,
   * 204 and 304 send the head only.  Those writes return HW_CONGESTED (see
   * there) when output waits past a bound, and HW_ESTATE once the client
   * has gone (the data is dropped; finish the request as usual).  A
   * response that is pipelined behind another waits for its turn, holding
   * the ones behind it.  From `handle` or on a deferred request; HW_ESTATE
   * otherwise or when already streaming; HW_EINVAL for a length below -1.
   * If `handle` then returns HW_ERROR or HW_DECLINED, nothing was sent
   * yet: the host answers as for any response.
   */
  int (*stream)(hw_response *res, int64_t length);
  /** Registers `cb(res, arg)` to run once, on the loop, after a write to
   *  the streamed response returned HW_CONGESTED and the output has
   *  drained; replaces an earlier one (NULL removes it).  HW_ESTATE when
   *  the response is not streamed. */
  int (*on_writable)(hw_response *res, hw_writable_cb cb, void *arg);
  /**
   * Appends `length` bytes of the file `fd` from `offset` to a streamed
   * response, without reading them through the module.  The host takes its
   * own descriptor (dup), so the module may close `fd` on return; the
   * bytes are read when their turn comes, in bounded pieces.  If the file
   * has fewer bytes by then (truncated), the connection is cut after what
   * could be sent.  Returns 0, HW_CONGESTED (the region's unread bytes
   * count as waiting: a large region says it, and the writable callback
   * comes when most of it is out), HW_EINVAL (a bad descriptor, past a
   * declared length), HW_ESTATE (not streaming) or HW_ENOMEM.
   */
  int (*write_file)(hw_response *res, int fd, uint64_t offset,
                    uint64_t length);
  /**
   * On a route with "body": "stream", takes the request body as it
   * arrives: `cb(req, arg, piece, end)` runs for each piece, then once with
   * `end` set.  The module is called (`handle`) as soon as the head is
   * read; without this call the body is read and dropped.  From `handle`
   * only (HW_ESTATE otherwise, or when the route buffers bodies); pieces
   * that arrived before the call are delivered first.
   */
  int (*body_stream)(hw_request *req, hw_body_cb cb, void *arg);
  /** Holds the body back (`pause` non-zero) or lets it flow again: while
   *  it is held the server stops reading from the client, and the body's
   *  minimum rate is not judged.  HW_ESTATE when the body is not
   *  streamed. */
  int (*body_pause)(hw_request *req, int pause);

  /* ---- ABI 1.4 (check HW_HOST_HAS(host, member) first) ---- */

  /**
   * A snapshot of the server's counters, taken now: every worker's, summed
   * (see hw_metrics).  Reads shared memory and, for the processes' memory
   * and descriptors, /proc: it costs about a millisecond per thousand
   * routes, on the calling worker's loop.  Allocated for the request and
   * borrowed as its strings are (freed with it).  From `handle` or on a
   * deferred request; NULL when out of memory or when the server was built
   * without metrics (`--disable-metrics`).
   */
  const hw_metrics *(*metrics)(hw_request *req);

  /* ---- ABI 1.5 (check HW_HOST_HAS(host, member) first) ---- */

  /**
   * The TLS session the request came over (see hw_tls_info), or NULL: over
   * plain TCP, once its client has gone, or when out of memory.  Allocated
   * for the request (freed with it).  From `handle` or on a deferred
   * request.
   */
  const hw_tls_info *(*tls)(hw_request *req);

  /* ---- ABI 1.7 (check HW_HOST_HAS(host, member) first) ---- */

  /**
   * What the PROXY protocol header the request's connection began with
   * said (see hw_proxy_info), or NULL: no header (the listener takes
   * none), once its client has gone, or when out of memory.  Allocated for
   * the request (freed with it).  From `handle` or on a deferred request.
   */
  const hw_proxy_info *(*proxy)(hw_request *req);
  /**
   * The value of the first TLV of `type` (0x00-0xFF; PP2_TYPE_SSL's
   * sub-types 0x21-0x25 are found inside it) in the request connection's
   * PROXY v2 header, such as a balancer's own types 0xE0-0xEF, into `*out`
   * (borrowed as the request's strings are; not NUL-terminated).  Returns
   * 0, HW_ENOENT when the header has no such TLV, HW_ESTATE when there was
   * no v2 header or the client has gone, HW_EINVAL for a bad argument.
   */
  int (*proxy_tlv)(hw_request *req, unsigned type, hw_str *out);
} hw_host;

/** Non-zero if the host table `host` has `member`: a host of an older minor
 *  version lacks the members added after it. */
#define HW_HOST_HAS(host, member)                                              \
  ((host)->size >= offsetof(hw_host, member) + sizeof((host)->member))

/**
 * The module descriptor, exported as `const hw_module hw_module_entry`.
 * Owned by the module and read by the host while the module is loaded.
 */
typedef struct hw_module {
  /** Must be HW_ABI_MAJOR. */
  uint32_t abi_major;
  /** HW_ABI_MINOR the module was built against. */
  uint32_t abi_minor;
  /** sizeof(hw_module) as the module saw it. */
  size_t size;
  /** Short name for logs (borrowed, static). */
  const char *name;
  /** The module's own version string (borrowed, static). */
  const char *version;

  /**
   * Creates the state for one route.  `host` is borrowed until `fini`
   * returns.  `config` is the route's "config" value as JSON text ("{}" when
   * absent), NUL-terminated, borrowed for the call.  On success returns 0
   * and sets `*state` (owned by the module).  On failure returns non-zero and
   * writes a one-line reason into `err` (caller-owned, `err_len` bytes).
   * `init` may run in a short-lived checker process (`haywire -t`), so it
   * must not claim exclusive resources.
   */
  int (*init)(const hw_host *host, const char *config, size_t config_len,
              void **state, char *err, size_t err_len);
  /**
   * Handles one request.  `req` and `res` are borrowed until the response is
   * complete: until `handle` returns, or, after HW_DEFERRED, until the module
   * calls `host->finish(res)`.
   */
  hw_handle_result (*handle)(void *state, hw_request *req, hw_response *res);
  /** Frees the state of one route; optional (NULL means nothing to free). */
  void (*fini)(void *state);
  /**
   * Optional: tells the module that the host is giving up on its deferred
   * requests (a reload's drain deadline passed).  The module should finish
   * or forget them; the host answers them itself.
   */
  void (*abort)(void *state);
} hw_module;

/* The descriptor's linkage: exported with C linkage from C and from C++,
 * where a namespace-scope const would otherwise be file-local (a
 * declaration directly in `extern "C"` has external linkage). */
#ifdef __cplusplus
#define HW__MODULE_ENTRY extern "C" HW_EXPORT const hw_module
#else
#define HW__MODULE_ENTRY HW_EXPORT const hw_module
#endif

/**
 * Declares the descriptor with the ABI fields filled in, e.g.
 *   HW_MODULE_DEFINE("hello", "1.0", hello_init, hello_handle, hello_fini);
 * from C or C++ (at namespace scope, once per module).  In C++ every entry
 * point must catch every exception (make them noexcept, with a catch (...)
 * in each): the host is C, and an exception crossing into it terminates
 * the worker.  tests/fixtures/cxx_module.cc shows how.
 */
#define HW_MODULE_DEFINE(name_, version_, init_, handle_, fini_)               \
  HW_MODULE_DEFINE_ALL(name_, version_, init_, handle_, fini_, NULL)

/**
 * As HW_MODULE_DEFINE, with every optional member (ABI 1.2; positional,
 * since designated initialisers are C++20):
 *   HW_MODULE_DEFINE_ALL("delay", "1.0", delay_init, delay_handle,
 *                        delay_fini, delay_abort);
 * `fini` and `abort` may be NULL.
 */
#define HW_MODULE_DEFINE_ALL(name_, version_, init_, handle_, fini_, abort_)   \
  HW__MODULE_ENTRY hw_module_entry = {                                         \
      HW_ABI_MAJOR, HW_ABI_MINOR, sizeof(hw_module), (name_), (version_),      \
      (init_),      (handle_),    (fini_),           (abort_)}

#ifdef __cplusplus
}
#endif

#endif /* HAYWIRE_H */
