/*
 * proxy.h - the PROXY protocol as a layer between a connection and what
 * it speaks (proxy.c): to the connection, a protocol whose first bytes are
 * a balancer's PROXY header (proxy_header.h); past the header, a
 * transport for the protocol on top (TLS, or HTTP chosen by
 * proto_select.c), which so sees the client the balancer names as its
 * peer.  Opted in per listener ("proxy_protocol"), and taken only from
 * the addresses of "proxy_from".
 */
#ifndef HW_PROXY_H
#define HW_PROXY_H

#include <stddef.h>

#include "cidr.h"
#include "transport.h"

/** What a PROXY listener's connections share (one per listener in a
 *  worker). */
typedef struct hw__proxy_env {
  hw__proto proto;        /* the layer, for hw__conn_accept: its size has
                             room for the protocol on top's state */
  const hw__proto *inner; /* the protocol on top, and its env */
  void *inner_env;
  const hw__cidr *from;   /* who may send a header (the serving
                             generation's; read only while accepting) */
  size_t nfrom;
} hw__proxy_env;

/** Sets `env` up for connections accepted from now on: `inner` (with
 *  `inner_env`) on top, headers taken from the `nfrom` ranges of `from`
 *  (all borrowed). */
void hw__proxy_env_set(hw__proxy_env *env, const hw__proto *inner,
                       void *inner_env, const hw__cidr *from, size_t nfrom);

#endif /* HW_PROXY_H */
