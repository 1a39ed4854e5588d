/*
 * master_sockets.h - the master's listening sockets (master_sockets.c):
 * on POSIX one SO_REUSEPORT socket per worker slot per listen address, on
 * Windows one socket per address that every worker is handed over its
 * control pipe (listen.h's hw__listen_shared), opened at start (or, on
 * POSIX, taken over from the master that started this one, in a binary
 * upgrade) and kept open for the master's whole life, so that a worker's
 * share of new connections waits in a backlog while it restarts, and a
 * successor master can be handed the very same sockets.
 */
#ifndef HW_MASTER_SOCKETS_H
#define HW_MASTER_SOCKETS_H

#include <stddef.h>
#include <uv.h>

#include "config.h"

/** The sockets of every (slot, address): fds[slot * naddr + i],
 *  HW__LISTEN_NONE none; where sockets are shared, slot 0's alone. */
typedef struct hw__master_sockets {
  size_t naddr;
  int nslots;
  int per_addr; /* sockets per address: nslots, or 1 where shared */
  uv_os_sock_t *fds;
  uv_tcp_t *handles; /* shared: each address's socket in a handle, for
                        uv_write2 (made at the first hand-off), or NULL */
} hw__master_sockets;

/**
 * Opens `nslots` sockets for each address of `cfg` (borrowed).  When
 * `inherited` is not NULL (the HAYWIRE_LISTEN_FDS a master that started
 * this one described, "addr=fd,fd;addr=fd"), a socket of the right address
 * is adopted for each (address, slot) instead of binding a new one; those
 * left over are closed.  Logs one line per address.  Returns 0, or a
 * negative code with one line in `err`.
 */
int hw__master_sockets_open(hw__master_sockets *ms, const hw__config *cfg,
                            int nslots, const char *inherited, char *err,
                            size_t err_len);
/** The sockets of slot `k` (0-based), one per address: the same for
 *  every slot where sockets are shared. */
uv_os_sock_t *hw__master_sockets_slot(hw__master_sockets *ms, int k);
/**
 * Where sockets are shared (hw__listen_shared), sends each address's
 * socket, in the config's order, on `ctl` (the IPC control pipe of a worker
 * just started) with a "listen <i>" message; elsewhere does nothing (the
 * worker inherited its slot's).  0, or a negative code (logged).
 */
int hw__master_sockets_hand(hw__master_sockets *ms, uv_stream_t *ctl);
/**
 * Describes the sockets for a successor, as hw__master_sockets_open reads
 * them, numbering them `first_fd`, `first_fd` + 1 ... in the order of
 * hw__master_sockets_fd (address by address, slot by slot).  Returns 0 or
 * UV_ENOBUFS.
 */
int hw__master_sockets_describe(const hw__master_sockets *ms, int first_fd,
                                char *buf, size_t len);
/** The number of sockets, and the `j`th in the order describe uses. */
size_t hw__master_sockets_count(const hw__master_sockets *ms);
uv_os_sock_t hw__master_sockets_fd(const hw__master_sockets *ms, size_t j);
/** Closes every socket and frees the table; after the loop has ended
 *  (the handles of a hand-off are closed, and their loop run once for
 *  that). */
void hw__master_sockets_close(hw__master_sockets *ms);

#endif /* HW_MASTER_SOCKETS_H */
