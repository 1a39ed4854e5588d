/*
 * listen.c - listening sockets and socket addresses (see listen.h): the
 * part that is the same on every system (addresses as text, taking a
 * socket from a control pipe); opening and adopting sockets are
 * listen_posix.c's and listen_win32.c's.
 *
 * Under a master on POSIX, each listen address gets one socket per worker
 * slot, all bound with SO_REUSEPORT so that the kernel spreads new
 * connections over them; on Windows the master binds each address once and
 * every worker accepts on that socket.  A single process binds its
 * addresses alone.  An IPv6 socket takes only IPv6, so "[::]:80" and
 * "0.0.0.0:80" can be listed side by side.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "haywire.h"
#include "listen.h"
#include "os.h"

int hw__listen_format(const struct sockaddr *sa, char *buf, size_t len) {
  char ip[64];
  int r;
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a, ip, sizeof(ip));
    r = snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    uv_ip4_name(a, ip, sizeof(ip));
    r = snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
  }
  if (r < 0 || (size_t)r >= len)
    return HW_EINVAL;
  return r;
}

int hw__listen_bound(uv_os_sock_t sock, char *buf, size_t len) {
  struct sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  if (getsockname(sock, (struct sockaddr *)&bound, &blen) != 0)
    return -1;
  hw__listen_format((const struct sockaddr *)&bound, buf, len);
  return ntohs(bound.ss_family == AF_INET6
                   ? ((struct sockaddr_in6 *)&bound)->sin6_port
                   : ((struct sockaddr_in *)&bound)->sin_port);
}

int hw__listen_parse(const char *text, hw__config_listen *out, char *err,
                     size_t err_len) {
  char host[64];
  const char *colon, *port_s;
  char *end;
  long port;
  size_t hlen;
  int r;

  memset(out, 0, sizeof(*out));
  if (strlen(text) >= sizeof(out->text)) {
    snprintf(err, err_len, "\"%s\" is too long", text);
    return UV_EINVAL;
  }
  strcpy(out->text, text);

  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (close == NULL || close[1] != ':') {
      snprintf(err, err_len, "\"%s\": expected [IPv6]:PORT", text);
      return UV_EINVAL;
    }
    hlen = (size_t)(close - text - 1);
    port_s = close + 2;
    if (hlen >= sizeof(host)) {
      snprintf(err, err_len, "\"%s\": address too long", text);
      return UV_EINVAL;
    }
    memcpy(host, text + 1, hlen);
    host[hlen] = '\0';
  } else if ((colon = strrchr(text, ':')) != NULL) {
    hlen = (size_t)(colon - text);
    port_s = colon + 1;
    if (hlen >= sizeof(host) || memchr(text, ':', hlen) != NULL) {
      snprintf(err, err_len,
               "\"%s\": expected HOST:PORT (write IPv6 as [::1]:PORT)", text);
      return UV_EINVAL;
    }
    memcpy(host, text, hlen);
    host[hlen] = '\0';
  } else {
    /* A bare port listens on every IPv4 address, as nginx's "listen 80". */
    strcpy(host, "0.0.0.0");
    port_s = text;
  }

  errno = 0;
  port = strtol(port_s, &end, 10);
  if (*port_s == '\0' || *end != '\0' || errno != 0 || port < 0 ||
      port > 65535) {
    snprintf(err, err_len, "\"%s\": port must be 0-65535", text);
    return UV_EINVAL;
  }
  if (strcmp(host, "*") == 0 || host[0] == '\0')
    strcpy(host, "0.0.0.0");
  else if (strcmp(host, "localhost") == 0)
    strcpy(host, "127.0.0.1");

  if (text[0] == '[')
    r = uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&out->addr);
  else
    r = uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&out->addr);
  if (r != 0) {
    snprintf(err, err_len, "\"%s\": not a numeric IP address", text);
    return UV_EINVAL;
  }
  return 0;
}

int hw__listen_peer(const uv_tcp_t *tcp, char *buf, size_t len) {
  struct sockaddr_storage ss;
  int n = sizeof(ss), r;
  if ((r = uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n)) != 0)
    return r;
  return hw__listen_format((const struct sockaddr *)&ss, buf, len);
}

int hw__listen_take(uv_pipe_t *ipc, uv_tcp_t *l) {
  int r;

  uv_tcp_init(ipc->loop, l);
  if (uv_pipe_pending_count(ipc) == 0)
    return UV_EAGAIN;
  if (uv_pipe_pending_type(ipc) != UV_TCP)
    return UV_EINVAL;
  if ((r = uv_accept((uv_stream_t *)ipc, (uv_stream_t *)l)) != 0)
    return r;
  return uv_tcp_simultaneous_accepts(l, 0);
}
