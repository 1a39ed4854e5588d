/*
 * proxy_header.h - the PROXY protocol header a load balancer sends before
 * a connection's first byte (HAProxy's specification, versions 1 and 2),
 * read from bytes (proxy_header.c).  The parser knows no connection: it is
 * given what has arrived so far and says "a header of N bytes", "not yet",
 * or why the bytes cannot begin one; proxy.c feeds it.
 *
 *   v1  one text line: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" (TCP6
 *       likewise), or "PROXY UNKNOWN ...\r\n"; at most 107 bytes.
 *   v2  a 12-byte signature, version and command, family and transport, a
 *       16-bit length, the addresses, then TLVs (type, 16-bit length,
 *       value): what the balancer knew of the client (its TLS session,
 *       ALPN, the SNI it sent, a unique ID).
 */
#ifndef HW_PROXY_HEADER_H
#define HW_PROXY_HEADER_H

#include <stddef.h>
#include <stdint.h>
#include "os.h"

/** The longest header taken (bytes).  v1's is at most 107; v2's length
 *  field allows 64 KiB, but what a balancer sends (addresses, a TLS
 *  session's names, a unique ID of at most 128 bytes) fits well within
 *  this; a longer one is refused rather than buffered. */
#define HW__PROXY_HEADER_MAX 4096

/* v2 TLV types (specification section 2.2). */
enum {
  HW__PP2_ALPN = 0x01,
  HW__PP2_AUTHORITY = 0x02,
  HW__PP2_CRC32C = 0x03,
  HW__PP2_NOOP = 0x04,
  HW__PP2_UNIQUE_ID = 0x05,
  HW__PP2_SSL = 0x20,
  HW__PP2_SSL_VERSION = 0x21,
  HW__PP2_SSL_CN = 0x22,
  HW__PP2_SSL_CIPHER = 0x23,
  HW__PP2_SSL_SIG_ALG = 0x24,
  HW__PP2_SSL_KEY_ALG = 0x25,
  HW__PP2_NETNS = 0x30
};
/* PP2_TYPE_SSL's client bits. */
#define HW__PP2_CLIENT_SSL 0x01

/** A header, as read. */
typedef struct hw__proxy_header {
  int version; /* 1 or 2 */
  int local;   /* v2 LOCAL or v1 UNKNOWN: the balancer's own connection
                  (a health check), which carries no client */
  struct sockaddr_storage src; /* the client (AF_UNSPEC when the header */
  struct sockaddr_storage dst; /* carries no IP addresses: LOCAL,
                                  UNKNOWN, a UNIX or unspecified family) */
  const uint8_t *tlv; /* v2's TLVs (into the bytes parsed), or NULL */
  size_t tlv_len;
} hw__proxy_header;

/**
 * Reads the header at the start of `p` (`len` bytes so far).  Returns its
 * length (> 0) with `*out` filled; 0 when every byte so far can begin a
 * header and more are needed; UV_EPROTO when the bytes are not a PROXY
 * header or a malformed one (a bad signature, version, command, family,
 * address, port, TLV or checksum); UV_E2BIG when it is longer than
 * HW__PROXY_HEADER_MAX.
 */
int hw__proxy_header_parse(const char *p, size_t len, hw__proxy_header *out);

/** Non-zero when `p` (`len` bytes) begins with a whole signature of either
 *  version ("PROXY ", or v2's 12 bytes): bytes refused after that are a
 *  malformed header rather than none at all. */
int hw__proxy_header_signed(const char *p, size_t len);

/** The first TLV of `type` in `tlv` (`len` bytes, as a parsed header's):
 *  0 with `*v`, `*vlen` set, or UV_ENOENT.  PP2_TYPE_SSL's sub-TLVs are
 *  found by their own types (0x21-0x25) as well. */
int hw__proxy_header_tlv(const uint8_t *tlv, size_t len, unsigned type,
                         const uint8_t **v, size_t *vlen);

#endif /* HW_PROXY_HEADER_H */
