/*
 * listen_posix.c - listening sockets on POSIX (see listen.h): raw sockets,
 * non-blocking and close-on-exec from the start, with SO_REUSEPORT for a
 * master's per-slot groups; descriptors a previous master handed over
 * (a binary upgrade) checked and adopted; libuv's Unix layout for a
 * stream's connection callback.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "listen.h"
#include "os.h"

int hw__listen_shared(void) { return 0; }

/* SO_REUSEPORT lets any socket of the same user join a group: a second
 * server started on a busy address would not fail, it would share the
 * port's connections with the first.  So before the first socket of a group
 * binds, a plain one (SO_REUSEADDR only, which TIME_WAIT does not stop)
 * tries the address: in use, it fails as a server without SO_REUSEPORT
 * would. */
static int probe_free(const struct sockaddr_storage *ss, socklen_t len) {
  int one = 1, r = 0, e;
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0; /* the real socket will say why */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ss->ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, (const struct sockaddr *)ss, len) != 0 && errno == EADDRINUSE)
    r = -1;
  e = errno;
  close(fd);
  errno = e;
  return r;
}

int hw__listen_open(const hw__config_listen *l, int port, int backlog,
                    int group, uv_os_sock_t *out, char *err, size_t err_len) {
  struct sockaddr_storage ss = l->addr;
  socklen_t len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                           : sizeof(struct sockaddr_in);
  int one = 1, fd = -1;
  uint16_t want = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&ss)->sin6_port
                            : ((struct sockaddr_in *)&ss)->sin_port);

  if (group && port < 0 && want != 0 && probe_free(&ss, len) != 0) {
    snprintf(err, err_len,
             "cannot listen on %s: address already in use (another server "
             "listens there)",
             l->text);
    return UV_EADDRINUSE;
  }

  if (port >= 0) {
    if (ss.ss_family == AF_INET6)
      ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    else
      ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
  }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto fail;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      (group &&
       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0))
    goto fail;
  if (ss.ss_family == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
    goto fail;
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0)
    goto fail;
  *out = fd;
  return 0;
fail:
  snprintf(err, err_len, "cannot listen on %s: %s", l->text, strerror(errno));
  if (fd >= 0)
    close(fd);
  return UV_EINVAL;
}

void hw__listen_close(uv_os_sock_t sock) { close(sock); }

int hw__listen_adopt(long fd, uv_os_sock_t *sock,
                     struct sockaddr_storage *addr) {
  socklen_t len = sizeof(*addr);
  int v = 0;
  socklen_t vlen = sizeof(v);

  if (fd < 3 || fd > 0x7fffffff || fcntl((int)fd, F_GETFD) < 0 ||
      getsockname((int)fd, (struct sockaddr *)addr, &len) != 0 ||
      (addr->ss_family != AF_INET && addr->ss_family != AF_INET6) ||
      getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) != 0 ||
      v != 1)
    return UV_EINVAL;
  /* Its own children get it explicitly (uv_spawn's stdio), nothing else. */
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  *sock = (int)fd;
  return 0;
}

/* uv_listen keeps the callback in the stream (NULL until then). */
uv_connection_cb hw__listen_callback(const uv_stream_t *s) {
  return s->connection_cb;
}
