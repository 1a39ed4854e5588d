/*
 * master_sockets.h - the master's listening sockets (master_sockets.c):
 * one SO_REUSEPORT socket per worker slot per listen address, opened at
 * start (or taken over from the master that started this one, in a binary
 * upgrade) and kept open for the master's whole life, so that a worker's
 * share of new connections waits in its socket's backlog while it
 * restarts, and a successor master can be handed the very same sockets.
 */
#ifndef HW_MASTER_SOCKETS_H
#define HW_MASTER_SOCKETS_H

#include <stddef.h>

#include "config.h"

/** The sockets of every (slot, address): fds[slot * naddr + i], -1 none. */
typedef struct hw__master_sockets {
  size_t naddr;
  int nslots;
  int *fds;
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
/** The sockets of slot `k` (0-based), one per address. */
int *hw__master_sockets_slot(hw__master_sockets *ms, int k);
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
int hw__master_sockets_fd(const hw__master_sockets *ms, size_t j);
/** Closes every socket and frees the table. */
void hw__master_sockets_close(hw__master_sockets *ms);

#endif /* HW_MASTER_SOCKETS_H */
