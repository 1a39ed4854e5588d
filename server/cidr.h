/*
 * cidr.h - address ranges ("10.0.0.0/8", "::1", "2001:db8::/32") and the
 * test of an address against a list of them (cidr.c).  Used by the config
 * (listen entries' "proxy_from") and by the PROXY protocol layer, which
 * takes a header only from a peer in its listener's ranges.
 *
 * Every range is kept as an IPv6 prefix, IPv4 ones as IPv4-mapped
 * addresses (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2), so that an IPv4
 * client reaching a dual-stack listener ("[::]:80"), which the socket
 * reports as a mapped IPv6 address, matches the IPv4 range it belongs to.
 */
#ifndef HW_CIDR_H
#define HW_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include "os.h"

/** One range: the first `bits` bits of `addr` (IPv4 as mapped IPv6). */
typedef struct hw__cidr {
  uint8_t addr[16];
  uint8_t bits; /* 0..128 */
  uint8_t v4;   /* written as IPv4 (for messages and writing back) */
} hw__cidr;

/** Parses "ADDR" or "ADDR/BITS" (IPv4 or IPv6, numeric).  Returns 0, or
 *  UV_EINVAL with the reason in `why` ("prefix length must be 0-32"). */
int hw__cidr_parse(const char *text, hw__cidr *out, char *why, size_t why_len);
/** Writes `c` as "ADDR/BITS" into `buf` (at least 50 bytes). */
void hw__cidr_format(const hw__cidr *c, char *buf, size_t len);
/** Non-zero when `sa` (AF_INET or AF_INET6) is in one of the `n` ranges. */
int hw__cidr_match(const hw__cidr *list, size_t n, const struct sockaddr *sa);
/** As hw__cidr_match for an address written "ip:port" or "[ip]:port" (a
 *  transport's peer); 0 for text that is neither. */
int hw__cidr_match_text(const hw__cidr *list, size_t n, const char *text);

#endif /* HW_CIDR_H */
