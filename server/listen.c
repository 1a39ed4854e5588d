/*
 * listen.c - listening sockets and socket addresses (see listen.h).
 *
 * Under a master, each listen address gets one socket per worker slot, all
 * bound with SO_REUSEPORT so that the kernel spreads new connections over
 * them; a single process binds its addresses alone.  An IPv6 socket takes
 * only IPv6, so "[::]:80" and "0.0.0.0:80" can be listed side by side.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
                    int group, int *out, char *err, size_t err_len) {
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

int hw__listen_bound(int fd, char *buf, size_t len) {
  struct sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0)
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
