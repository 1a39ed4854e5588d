/*
 * listen_win32.c - listening sockets on Windows (see listen.h).
 *
 * Windows' SO_REUSEPORT does not spread connections over a group, and a
 * socket is inherited as a handle, not as a descriptor number: so a master
 * binds each address once, exclusively (SO_EXCLUSIVEADDRUSE: no other
 * process can bind it beside us, whatever its options), and hands the
 * socket to every worker over the worker's IPC control pipe (libuv
 * duplicates it into the worker with WSADuplicateSocketW).  Sockets are
 * made not inheritable, overlapped (libuv's I/O completion port wants
 * that), and blocking mode does not matter: libuv never calls accept on
 * them without a completion.  There is no binary upgrade here, so nothing
 * is adopted.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "listen.h"
#include "os.h"

int hw__listen_shared(void) { return 1; }

int hw__listen_open(const hw__config_listen *l, int port, int backlog,
                    int group, uv_os_sock_t *out, char *err, size_t err_len) {
  struct sockaddr_storage ss = l->addr;
  int len = ss.ss_family == AF_INET6 ? (int)sizeof(struct sockaddr_in6)
                                     : (int)sizeof(struct sockaddr_in);
  BOOL one = TRUE;
  SOCKET s;
  int e;

  (void)group; /* no groups here: see above */
  if (port >= 0) {
    if (ss.ss_family == AF_INET6)
      ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    else
      ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
  }
  s = WSASocketW(ss.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                 WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET)
    goto fail;
  if (setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one,
                 sizeof(one)) != 0)
    goto fail;
  if (ss.ss_family == AF_INET6 &&
      setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&one,
                 sizeof(one)) != 0)
    goto fail;
  if (bind(s, (struct sockaddr *)&ss, len) != 0 || listen(s, backlog) != 0)
    goto fail;
  *out = s;
  return 0;
fail:
  e = uv_translate_sys_error(WSAGetLastError());
  snprintf(err, err_len, "cannot listen on %s: %s", l->text, uv_strerror(e));
  if (s != INVALID_SOCKET)
    closesocket(s);
  return e == UV_EADDRINUSE ? e : UV_EINVAL;
}

void hw__listen_close(uv_os_sock_t sock) { closesocket(sock); }

int hw__listen_adopt(long fd, uv_os_sock_t *sock,
                     struct sockaddr_storage *addr) {
  (void)fd;
  (void)sock;
  (void)addr;
  return UV_ENOTSUP;
}

/* libuv's Windows layout puts the callback in a union with a connection's
 * write counters: it means something only while the stream listens, which
 * the handle's flags say (UV_HANDLE_LISTENING, 0x40 in libuv's
 * src/uv-common.h; the flags are libuv's, read here and nowhere else). */
#define UV_HANDLE_LISTENING_ 0x00000040u

uv_connection_cb hw__listen_callback(const uv_stream_t *s) {
  if (!(s->flags & UV_HANDLE_LISTENING_))
    return NULL;
  return s->stream.serv.connection_cb;
}
