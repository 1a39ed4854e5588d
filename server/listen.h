/*
 * listen.h - listening sockets and socket addresses (listen.c, with the
 * halves listen_posix.c and listen_win32.c for what differs by system):
 * opening a socket for a listen address (on POSIX one of a SO_REUSEPORT
 * group, on Windows one socket per address that every worker is handed),
 * taking such a socket from a control pipe, writing an address as text for
 * logs and for modules, and parsing the "host:port" text of a listen
 * address (the config's "listen", --listen).
 */
#ifndef HW_LISTEN_H
#define HW_LISTEN_H

#include <stddef.h>
#include "os.h"
#include <uv.h>

/** No socket (-1 on POSIX, INVALID_SOCKET on Windows). */
#define HW__LISTEN_NONE ((uv_os_sock_t)-1)

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
 * `group` is set, and sets `*sock` (the caller's).  The first socket of a
 * group (`port` < 0, its own port not 0) fails with UV_EADDRINUSE when
 * another socket already listens there, as a socket without SO_REUSEPORT
 * would: the group must not join another server's.  On Windows there are
 * no groups (`group` is ignored): the socket is the address's alone
 * (SO_EXCLUSIVEADDRUSE) and not inherited by children.  Returns 0, or a
 * negative code with one line in `err`.  (listen_posix.c, listen_win32.c)
 */
int hw__listen_open(const hw__config_listen *l, int port, int backlog,
                    int group, uv_os_sock_t *sock, char *err, size_t err_len);
/** Closes a socket hw__listen_open opened (not one a handle owns). */
void hw__listen_close(uv_os_sock_t sock);
/**
 * 1 where a master binds one socket per address and hands it to every
 * worker over its control pipe (Windows: no SO_REUSEPORT that spreads
 * connections, and sockets are not inherited as descriptors), 0 where each
 * worker slot has a socket of its own that the worker inherits (POSIX).
 * The control pipe is an IPC pipe exactly when this is 1.
 */
int hw__listen_shared(void);
/**
 * Checks that descriptor `fd`, handed over by the master that started this
 * one (a binary upgrade), is a listening TCP socket; then makes it private
 * to this process (close-on-exec: its own children get it explicitly), and
 * sets `*sock` and `*addr` (where it is bound).  0, or a negative code.
 * Windows has no binary upgrade: UV_ENOTSUP.
 */
int hw__listen_adopt(long fd, uv_os_sock_t *sock,
                     struct sockaddr_storage *addr);
/**
 * The connection callback of stream `s` when it listens, else NULL: a
 * module's own listener keeps its code loaded (drain.c).  libuv keeps it in
 * a private field, laid out differently on each system.
 */
uv_connection_cb hw__listen_callback(const uv_stream_t *s);

/**
 * Takes the next socket a master handed over on `ipc` (an IPC pipe; the
 * handle travels with a control message) into `l`, which is initialised
 * on `ipc`'s loop whatever the outcome (the caller closes it), and has it
 * accept one connection at a time (uv_tcp_simultaneous_accepts(0)): with
 * several processes on one socket, a process with many accepts pending
 * would take the others' share.  0, or UV_EAGAIN when no socket is
 * pending, or a negative code.
 */
int hw__listen_take(uv_pipe_t *ipc, uv_tcp_t *l);

/** The port a socket is bound to, and its address as text in `buf`. */
int hw__listen_bound(uv_os_sock_t sock, char *buf, size_t len);

#endif /* HW_LISTEN_H */
