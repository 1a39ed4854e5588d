/*
 * listen.h - listening sockets and socket addresses (listen.c): opening a
 * socket for a listen address (one of a SO_REUSEPORT group), and writing an
 * address as text for logs and for modules, and parsing the "host:port"
 * text of a listen address (the config's "listen", --listen).
 */
#ifndef HW_LISTEN_H
#define HW_LISTEN_H

#include <stddef.h>
#include "os.h"
#include <uv.h>

/** One "host:port" to listen on, resolved to a socket address. */
typedef struct hw__config_listen {
  struct sockaddr_storage addr;
  char text[80]; /* as the user wrote it, for messages */
} hw__config_listen;

/** Parses "127.0.0.1:8080", "[::1]:8080", "*:8080" or "8080". */
int hw__listen_parse(const char *text, hw__config_listen *out, char *err,
                     size_t err_len);
/** Writes `sa` as "ip:port" or "[ip]:port" into `buf`.  Returns the length,
 *  or HW_EINVAL when it does not fit. */
int hw__listen_format(const struct sockaddr *sa, char *buf, size_t len);
/** The peer of a connected TCP handle, formatted as hw__listen_format does;
 *  returns its length or a negative error. */
int hw__listen_peer(const uv_tcp_t *tcp, char *buf, size_t len);

/**
 * Opens a non-blocking listening socket for `l` (on `port` instead of its
 * own when port >= 0), joined to the SO_REUSEPORT group of its address when
 * `group` is set, and sets `*fd` (the caller's).  The first socket of a
 * group (`port` < 0, its own port not 0) fails with UV_EADDRINUSE when
 * another socket already listens there, as a socket without SO_REUSEPORT
 * would: the group must not join another server's.  Returns 0, or a
 * negative code with one line in `err`.
 */
int hw__listen_open(const hw__config_listen *l, int port, int backlog,
                    int group, int *fd, char *err, size_t err_len);

/** The port a socket is bound to, and its address as text in `buf`. */
int hw__listen_bound(int fd, char *buf, size_t len);

#endif /* HW_LISTEN_H */
