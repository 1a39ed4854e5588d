/*
 * master_sockets.c - the master's listening sockets (see master_sockets.h).
 *
 * For every listen address the master opens one SO_REUSEPORT socket per
 * worker slot and keeps them all for its whole life.  The kernel spreads
 * new connections over the sockets of a group, so each worker gets its
 * share even when one is busier (libuv's accept loop would otherwise let the
 * first awake worker drain a shared backlog).  A worker that dies leaves its
 * socket open in the master: connections hashed to it wait in its backlog
 * for the replacement instead of being refused.
 *
 * A binary upgrade hands the same kernel sockets to the new master (they
 * are inherited across exec, listed in HAYWIRE_LISTEN_FDS): it adopts one
 * for each (address, slot) its own config needs, so that no connection
 * queued in a backlog is lost.  An address the new config no longer names
 * has its inherited sockets closed (on Linux, closing a listener drops the
 * connections still queued on it unless net.ipv4.tcp_migrate_req is set);
 * an address or a slot without an inherited socket gets a new one, joined
 * to its address's group.
 *
 * Windows has neither (listen.h's hw__listen_shared): the master binds one
 * socket per address, wraps each in a libuv handle once, and sends it to
 * every worker it starts over the worker's IPC control pipe; all workers
 * accept on it.  A worker that dies leaves the socket with the others.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "listen.h"
#include "log.h"
#include "master_sockets.h"
#include "os.h"

#define MAX_INHERITED 4096

/* A socket a previous master handed over. */
typedef struct inherited {
  uv_os_sock_t fd;
  int taken;
  struct sockaddr_storage addr; /* where it is bound */
} inherited;

static int port_of(const struct sockaddr_storage *ss) {
  return ntohs(ss->ss_family == AF_INET6
                   ? ((const struct sockaddr_in6 *)ss)->sin6_port
                   : ((const struct sockaddr_in *)ss)->sin_port);
}

/* Same family and address; the same port too unless `any_port`. */
static int same_addr(const struct sockaddr_storage *a,
                     const struct sockaddr_storage *b, int any_port) {
  if (a->ss_family != b->ss_family)
    return 0;
  if (!any_port && port_of(a) != port_of(b))
    return 0;
  if (a->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr,
                  sizeof(struct in6_addr)) == 0;
  return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
         ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

/* "addr=fd,fd;addr=fd": the descriptors, checked; the address text is for
 * people reading the environment, the socket itself says where it is. */
static size_t parse_inherited(const char *text, inherited *out, size_t cap) {
  size_t n = 0;
  const char *p = text;

  while (*p != '\0' && n < cap) {
    const char *eq = strchr(p, '='), *end = strchr(p, ';');
    if (end == NULL)
      end = p + strlen(p);
    if (eq != NULL && eq < end) {
      for (const char *q = eq + 1; q < end;) {
        char *stop;
        long fd = strtol(q, &stop, 10);
        if (stop == q)
          break;
        if (n < cap && hw__listen_adopt(fd, &out[n].fd, &out[n].addr) == 0)
          out[n++].taken = 0;
        else
          hw__log(HW_LOG_WARN, "HAYWIRE_LISTEN_FDS: %ld is no listening "
                               "socket: ignored", fd);
        q = *stop == ',' ? stop + 1 : end;
      }
    }
    p = *end == ';' ? end + 1 : end;
  }
  return n;
}

/* An inherited socket for `want` (any port when its port is 0), or for
 * exactly `exact` when given; -1 if none is left. */
static int find(inherited *in, size_t n, const struct sockaddr_storage *want,
                const struct sockaddr_storage *exact) {
  for (size_t j = 0; j < n; j++) {
    if (in[j].taken)
      continue;
    if (exact != NULL ? same_addr(&in[j].addr, exact, 0)
                      : same_addr(&in[j].addr, want, port_of(want) == 0)) {
      in[j].taken = 1;
      return (int)j;
    }
  }
  return -1;
}

/* Slot sockets of address `i`: adopted where one was handed over, the rest
 * bound anew into the group.  Port 0 asks for any free port: the first
 * socket gets one and the others of the group join it there. */
static int open_address(hw__master_sockets *ms, const hw__config *cfg,
                        size_t i, inherited *in, size_t nin, int *adopted,
                        char *err, size_t err_len) {
  const hw__config_listen *l = &cfg->listen[i];
  int backlog = (int)cfg->limit_backlog, port = -1, got = 0;
  const struct sockaddr_storage *group = NULL;
  char text[128];

  for (int k = 0; k < ms->per_addr; k++) {
    uv_os_sock_t *fd = &ms->fds[(size_t)k * ms->naddr + i];
    int j = find(in, nin, &l->addr, group);
    if (j >= 0) {
      *fd = in[j].fd;
      group = &in[j].addr;
      port = port_of(group);
      got++;
      continue;
    }
    if (hw__listen_open(l, port, backlog, 1, fd, err, err_len) != 0)
      return UV_EINVAL;
    if (port < 0)
      port = hw__listen_bound(*fd, text, sizeof(text));
  }
  hw__listen_bound(ms->fds[i], text, sizeof(text));
  if (hw__listen_shared())
    hw__log(HW_LOG_INFO, "listening on %s (one socket, handed to each of %d "
                         "workers)", text, ms->nslots);
  else if (got > 0)
    hw__log(HW_LOG_INFO, "listening on %s (%d SO_REUSEPORT sockets, %d of "
                         "them inherited)", text, ms->nslots, got);
  else
    hw__log(HW_LOG_INFO, "listening on %s (%d SO_REUSEPORT sockets)", text,
            ms->nslots);
  *adopted += got;
  return 0;
}

int hw__master_sockets_open(hw__master_sockets *ms, const hw__config *cfg,
                            int nslots, const char *inherited_text, char *err,
                            size_t err_len) {
  int per = hw__listen_shared() ? 1 : nslots;
  size_t total = cfg->nlisten * (size_t)per, nin = 0;
  inherited *in = NULL;
  int adopted = 0, closed = 0, r = 0;

  ms->naddr = cfg->nlisten;
  ms->nslots = nslots;
  ms->per_addr = per;
  ms->handles = NULL;
  ms->fds = malloc((total ? total : 1) * sizeof(*ms->fds));
  if (ms->fds == NULL)
    return UV_ENOMEM;
  for (size_t j = 0; j < total; j++)
    ms->fds[j] = HW__LISTEN_NONE;
  if (inherited_text != NULL &&
      (in = calloc(MAX_INHERITED, sizeof(*in))) != NULL)
    nin = parse_inherited(inherited_text, in, MAX_INHERITED);
  for (size_t i = 0; i < cfg->nlisten && r == 0; i++)
    r = open_address(ms, cfg, i, in, nin, &adopted, err, err_len);
  for (size_t j = 0; j < nin; j++)
    if (!in[j].taken) {
      hw__listen_close(in[j].fd);
      closed++;
    }
  if (inherited_text != NULL)
    hw__log(HW_LOG_INFO, "adopted %d inherited listening socket(s)%s%.0d%s",
            adopted, closed ? "; closed " : "", closed,
            closed ? " that no listen address or slot needs" : "");
  free(in);
  return r;
}

uv_os_sock_t *hw__master_sockets_slot(hw__master_sockets *ms, int k) {
  return &ms->fds[(size_t)(k % ms->per_addr) * ms->naddr];
}

/* Each address's socket in a handle of the master's loop, once: libuv
 * sends a handle, not a bare socket. */
static int make_handles(hw__master_sockets *ms, uv_loop_t *loop) {
  int r = 0;
  ms->handles = calloc(ms->naddr ? ms->naddr : 1, sizeof(*ms->handles));
  if (ms->handles == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < ms->naddr; i++) {
    uv_tcp_init(loop, &ms->handles[i]);
    if (r == 0 && (r = uv_tcp_open(&ms->handles[i], ms->fds[i])) == 0)
      ms->fds[i] = HW__LISTEN_NONE; /* the handle's now */
  }
  return r;
}

int hw__master_sockets_hand(hw__master_sockets *ms, uv_stream_t *ctl) {
  int r;
  if (!hw__listen_shared())
    return 0;
  if (ms->handles == NULL && (r = make_handles(ms, ctl->loop)) != 0) {
    hw__log(HW_LOG_ERROR, "cannot hand the listening sockets over: %s",
            uv_strerror(r));
    return r;
  }
  for (size_t i = 0; i < ms->naddr; i++)
    hw__control_send_handle(ctl, HW__CONTROL_LISTEN, (unsigned)i,
                            (uv_stream_t *)&ms->handles[i]);
  return 0;
}

size_t hw__master_sockets_count(const hw__master_sockets *ms) {
  return ms->fds != NULL ? ms->naddr * (size_t)ms->per_addr : 0;
}

/* Address by address, slot by slot: a group's sockets side by side. */
uv_os_sock_t hw__master_sockets_fd(const hw__master_sockets *ms, size_t j) {
  size_t i = j / (size_t)ms->per_addr, k = j % (size_t)ms->per_addr;
  return ms->fds[k * ms->naddr + i];
}

int hw__master_sockets_describe(const hw__master_sockets *ms, int first_fd,
                                char *buf, size_t len) {
  size_t n = 0, j = 0;
  char text[128];

  buf[0] = '\0';
  for (size_t i = 0; i < ms->naddr; i++) {
    if (hw__listen_bound(ms->fds[i], text, sizeof(text)) < 0)
      snprintf(text, sizeof(text), "?");
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=",
                          i > 0 ? ";" : "", text);
    for (int k = 0; k < ms->per_addr; k++, j++)
      n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%d",
                            k > 0 ? "," : "", first_fd + (int)j);
  }
  return n < len ? 0 : UV_ENOBUFS;
}

void hw__master_sockets_close(hw__master_sockets *ms) {
  for (size_t j = 0; ms->fds != NULL && j < ms->naddr * (size_t)ms->per_addr;
       j++)
    if (ms->fds[j] != HW__LISTEN_NONE)
      hw__listen_close(ms->fds[j]);
  if (ms->handles != NULL) {
    uv_loop_t *loop = ms->handles[0].loop;
    for (size_t i = 0; i < ms->naddr; i++)
      uv_close((uv_handle_t *)&ms->handles[i], NULL);
    uv_run(loop, UV_RUN_DEFAULT); /* the closes finish in the loop */
  }
  free(ms->handles);
  ms->handles = NULL;
  free(ms->fds);
  ms->fds = NULL;
}
