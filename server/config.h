/*
 * config.h - routes.json (config.c, the only user of jansson): reading and
 * strictly validating the file into an hw__config, writing it back for
 * another process, and naming the user's files in messages.
 */
#ifndef HW_CONFIG_H
#define HW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "os.h"

#include "config_listen.h"
#include "listen.h"

#define HW__CONFIG_WORKERS_AUTO (-1)
#define HW__CONFIG_WORKERS_MAX 256
#define HW__CONFIG_POOL_DEFAULT 4
#define HW__CONFIG_POOL_MAX 1024

/* The integer keys of "limits": name, field, unit (for messages), default. */
#define HW__CONFIG_LIMITS(X)                                                   \
  X(body, limit_body, "bytes", 1024 * 1024)                                    \
  X(request_line, limit_request_line, "bytes", 8192)                           \
  X(header_bytes, limit_header_bytes, "bytes", 16384)                          \
  X(headers, limit_headers, "header fields", 100)                              \
  X(connections, limit_connections, "connections", 10000)                      \
  X(backlog, limit_backlog, "connections", 4096)                               \
  X(body_min_rate, limit_body_min_rate, "bytes per second, 0 for none", 500)

/* The keys of "timeouts_ms": name, field, lowest, default (milliseconds).
 * drain_notice 0 is off: SIGTERM stops at once, as SIGQUIT does. */
#define HW__CONFIG_TIMEOUTS(X)                                                 \
  X(head, timeout_head_ms, 1, 10000)                                           \
  X(body_idle, timeout_body_idle_ms, 1, 30000)                                 \
  X(keepalive, timeout_keepalive_ms, 1, 5000)                                  \
  X(write, timeout_write_ms, 1, 30000)                                         \
  X(drain, drain_ms, 1, 30000)                                                 \
  X(drain_notice, drain_notice_ms, 0, 0)

/* The keys of "http2" (RFC 9113 section 6.5.2's settings the server
 * sends): name, field, lowest, highest, default.  max_header_list_size 0
 * means limits.header_bytes (the same bound as an HTTP/1.1 head). */
#define HW__CONFIG_HTTP2(X)                                                    \
  X(max_concurrent_streams, h2_max_streams, 1, 1000000, 128)                   \
  X(initial_window_size, h2_window, 1, 2147483647, 65535)                      \
  X(max_frame_size, h2_max_frame, 16384, 16777215, 16384)                      \
  X(max_header_list_size, h2_max_header_list, 0, 2147483647, 0)

/** An "access_log" value.  The top level's is off or on (the default:
 *  off); a route's may also be absent: then the top level's applies. */
enum hw__config_alog_mode {
  HW__ALOG_INHERIT = 0, /* (a route's only) */
  HW__ALOG_OFF,         /* false */
  HW__ALOG_ON           /* {"path": ..., "format": ...} */
};
typedef struct hw__config_alog {
  enum hw__config_alog_mode mode;
  int json;   /* "format": "json", else "combined" */
  char *path; /* absolute (resolved against the config file's directory) */
} hw__config_alog;

typedef struct hw__route_conf {
  char *prefix;      /* validated: starts with '/', no trailing '/' */
  char *module;      /* the "module" value as written */
  char *module_path; /* resolved against modules_dir; after staging, the
                        private copy that is actually loaded */
  char *source_path; /* after staging: the user's file it was copied from */
  char *config_json; /* the route's "config" as compact JSON text */
  size_t config_len;
  int body_stream;   /* "body": "stream" */
  size_t body_limit; /* "body_limit" in bytes, or 0: limits.body */
  hw__config_alog access_log; /* "access_log": this route's, if given */
} hw__route_conf;

/** A whole configuration; every string in it is its own. */
typedef struct hw__config {
  char *path;        /* the file it was read from (for messages) */
  char *modules_dir; /* resolved against the config file's directory */
  char *pid_file;    /* "pid_file", resolved the same way; NULL: absent */
  hw__config_listen *listen;
  hw__config_tls *tls; /* one per listen entry: ncerts 0 is plain TCP */
  size_t nlisten;
  int workers;                   /* HW__CONFIG_WORKERS_AUTO, 0 or N */
  unsigned thread_pool;          /* thread_pool: libuv's pool size */
  size_t limit_body;             /* limits.body */
  size_t limit_request_line;     /* limits.request_line: longer lines get 414 */
  size_t limit_header_bytes;     /* limits.header_bytes: names + values, 431 */
  size_t limit_headers;          /* limits.headers: field lines, 431 */
  size_t limit_connections;      /* limits.connections */
  size_t limit_backlog;          /* limits.backlog */
  size_t limit_body_min_rate;    /* limits.body_min_rate: bytes/s, 0 = none */
  uint64_t drain_ms;             /* timeouts_ms.drain */
  uint64_t drain_notice_ms;      /* timeouts_ms.drain_notice: 0 = off */
  uint64_t timeout_head_ms;      /* timeouts_ms.head: 408 */
  uint64_t timeout_body_idle_ms; /* timeouts_ms.body_idle: 408 */
  uint64_t timeout_keepalive_ms; /* timeouts_ms.keepalive: silent close */
  uint64_t timeout_write_ms;     /* timeouts_ms.write: close */
  uint32_t h2_max_streams;       /* http2.max_concurrent_streams */
  uint32_t h2_window;            /* http2.initial_window_size (bytes) */
  uint32_t h2_max_frame;         /* http2.max_frame_size (bytes) */
  uint32_t h2_max_header_list;   /* http2.max_header_list_size, or 0 */
  hw__config_alog access_log;    /* "access_log" */
  char *health_route;            /* "health_route": a path the server answers
                                    itself (200, 503 during the drain
                                    notice); NULL: none */
  size_t health_len;             /* its length, 0 when none */
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
/**
 * Reads only "pid_file" from the config file at `path` (what `haywire -s`
 * needs, even from a config whose routes would not load): 0 with `*out` the
 * resolved path (caller frees) or NULL when the key is absent, or a negative
 * code and a one-line message.
 */
int hw__config_pid_file(const char *path, char **out, char *err,
                        size_t err_len);
/** Replaces the listen list with plain listeners (copied). */
int hw__config_set_listen(hw__config *cfg, const hw__config_listen *l,
                          size_t n);
/**
 * Replaces the listen list with `l` (`n` entries, copied), each address
 * keeping the "tls" `cfg` gives it, or `tls[i]` (copied; plain TCP when
 * `tls` is NULL) when `cfg` does not name it: what a reload keeps (the
 * listening sockets), and what --listen gives.  Returns how many `cfg`
 * does not name, or UV_ENOMEM.
 */
int hw__config_keep_listen(hw__config *cfg, const hw__config_listen *l,
                           const hw__config_tls *tls, size_t n);
/** Rewrites private-copy paths in a message as the user's files. */
void hw__config_user_paths(const hw__config *cfg, char *msg, size_t cap);

#endif /* HW_CONFIG_H */
