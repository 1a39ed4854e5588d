/*
 * proxy_header.c - reading a PROXY protocol header (see proxy_header.h).
 *
 * Strict, since the header decides whose address every log line and
 * module sees: v1 is exactly the grammar of the specification (single
 * spaces, numeric addresses of the family named, ports 0-65535, CRLF
 * within 107 bytes); v2 checks its signature, version 2, a known command,
 * family and transport, an address block as long as its family needs,
 * TLVs that tile the rest exactly, and the CRC32C when one is sent.  Bytes
 * that cannot begin a header are refused as soon as they arrive, so a
 * client that is not a balancer is not waited for.
 */
#include "autoconf.h"

#include <string.h>
#include <uv.h>

#include "os.h"
#include "proxy_header.h"

#define V1_MAX 107 /* "PROXY TCP6 " + two longest IPv6 + two ports + CRLF */
#define V2_FIXED 16

static const char v1_sig[] = "PROXY ";
static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* ---- version 1 ------------------------------------------------------------ */

/* The next space-delimited token of [*p, end): its length, *p moved past it
 * and past one space when `more` (another token must follow). */
static size_t token(const char **p, const char *end, int more, char *out,
                    size_t out_len) {
  const char *s = *p;
  size_t n = 0;
  while (s + n < end && s[n] != ' ')
    n++;
  if (n == 0 || n >= out_len || (more ? s + n == end : s + n != end))
    return 0;
  memcpy(out, s, n);
  out[n] = '\0';
  *p = s + n + (more ? 1 : 0);
  return n;
}

static int port_of(const char *s, uint16_t *out) {
  unsigned v = 0;
  size_t n = strlen(s);
  if (n == 0 || n > 5)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > 65535)
    return -1;
  *out = htons((uint16_t)v);
  return 0;
}

static int v1_addr(int family, const char *text, uint16_t port,
                   struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = port;
    return inet_pton(AF_INET, text, &a->sin_addr) == 1 ? 0 : -1;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
  a->sin6_family = AF_INET6;
  a->sin6_port = port;
  return inet_pton(AF_INET6, text, &a->sin6_addr) == 1 ? 0 : -1;
}

/* The line between "PROXY " and CRLF. */
static int v1_fields(const char *p, const char *end, hw__proxy_header *out) {
  char proto[8], src[48], dst[48], sport[8], dport[8];
  uint16_t sp, dp;
  int family;

  if (end - p >= 7 && memcmp(p, "UNKNOWN", 7) == 0 &&
      (end - p == 7 || p[7] == ' ')) {
    out->local = 1; /* what follows UNKNOWN is to be ignored (2.1) */
    return 0;
  }
  if (token(&p, end, 1, proto, sizeof(proto)) == 0)
    return UV_EPROTO;
  if (strcmp(proto, "TCP4") == 0)
    family = AF_INET;
  else if (strcmp(proto, "TCP6") == 0)
    family = AF_INET6;
  else
    return UV_EPROTO;
  if (token(&p, end, 1, src, sizeof(src)) == 0 ||
      token(&p, end, 1, dst, sizeof(dst)) == 0 ||
      token(&p, end, 1, sport, sizeof(sport)) == 0 ||
      token(&p, end, 0, dport, sizeof(dport)) == 0 ||
      port_of(sport, &sp) != 0 || port_of(dport, &dp) != 0 ||
      v1_addr(family, src, sp, &out->src) != 0 ||
      v1_addr(family, dst, dp, &out->dst) != 0)
    return UV_EPROTO;
  return 0;
}

static int parse_v1(const char *p, size_t len, hw__proxy_header *out) {
  size_t n = len < V1_MAX ? len : V1_MAX;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '\r') {
      if (i + 2 > V1_MAX) /* CRLF included, the line is at most 107 */
        return UV_E2BIG;
      if (i + 1 == len)
        return 0;
      if (p[i + 1] != '\n')
        return UV_EPROTO;
      out->version = 1;
      return v1_fields(p + 6, p + i, out) == 0 ? (int)(i + 2) : UV_EPROTO;
    }
    if (c < 0x20 || c > 0x7e)
      return UV_EPROTO;
  }
  return len < V1_MAX ? 0 : UV_E2BIG;
}

/* ---- version 2 ------------------------------------------------------------ */

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: a
 * header is short and a checksum is rare. */
static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
  }
  return crc;
}

/* The checksum is computed over the whole header with its own four bytes
 * as zeros (2.2.3). */
static int crc_ok(const uint8_t *h, size_t total, const uint8_t *field) {
  static const uint8_t zero[4];
  size_t at = (size_t)(field - h);
  uint32_t crc = crc32c(0xFFFFFFFFu, h, at);
  uint32_t want = (uint32_t)field[0] << 24 | (uint32_t)field[1] << 16 |
                  (uint32_t)field[2] << 8 | field[3];
  crc = crc32c(crc, zero, 4);
  crc = crc32c(crc, h + at + 4, total - at - 4);
  return (crc ^ 0xFFFFFFFFu) == want;
}

/* TLVs that tile [p, p + n) exactly. */
static int tlvs_ok(const uint8_t *p, size_t n, const uint8_t *h, size_t total,
                   int nested) {
  while (n > 0) {
    size_t vlen;
    const uint8_t *v;
    if (n < 3 || (vlen = (size_t)p[1] << 8 | p[2]) > n - 3)
      return 0;
    v = p + 3;
    switch (p[0]) {
    case HW__PP2_CRC32C:
      if (nested || vlen != 4 || !crc_ok(h, total, v))
        return 0;
      break;
    case HW__PP2_UNIQUE_ID:
      if (vlen > 128) /* "up to 128 bytes" (2.2.5) */
        return 0;
      break;
    case HW__PP2_SSL: /* client (1), verify (4), then sub-TLVs (2.2.6) */
      if (nested || vlen < 5 || !tlvs_ok(v + 5, vlen - 5, h, total, 1))
        return 0;
      break;
    default:
      break;
    }
    p += 3 + vlen;
    n -= 3 + vlen;
  }
  return 1;
}

static int parse_v2(const uint8_t *p, size_t len, hw__proxy_header *out) {
  size_t body, total, alen;
  unsigned cmd, af, proto;

  if (len < V2_FIXED)
    return 0;
  if ((p[12] & 0xF0) != 0x20 || (cmd = p[12] & 0x0F) > 1)
    return UV_EPROTO;
  body = (size_t)p[14] << 8 | p[15];
  total = V2_FIXED + body;
  if (total > HW__PROXY_HEADER_MAX)
    return UV_E2BIG;
  if (len < total)
    return 0;
  out->version = 2;
  af = p[13] >> 4, proto = p[13] & 0x0F;
  if (cmd == 0) { /* LOCAL: the address block is to be ignored (2.2) */
    out->local = 1;
    return (int)total;
  }
  if (af > 3 || proto > 2 || (af != 0 && proto != 1))
    return UV_EPROTO; /* unknown, or not a stream: HTTP needs one */
  alen = af == 1 ? 12 : af == 2 ? 36 : af == 3 ? 216 : 0;
  if (body < alen)
    return UV_EPROTO;
  if (af == 1) {
    struct sockaddr_in *s = (struct sockaddr_in *)&out->src,
                       *d = (struct sockaddr_in *)&out->dst;
    s->sin_family = d->sin_family = AF_INET;
    memcpy(&s->sin_addr, p + 16, 4);
    memcpy(&d->sin_addr, p + 20, 4);
    memcpy(&s->sin_port, p + 24, 2);
    memcpy(&d->sin_port, p + 26, 2);
  } else if (af == 2) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src,
                        *d = (struct sockaddr_in6 *)&out->dst;
    s->sin6_family = d->sin6_family = AF_INET6;
    memcpy(&s->sin6_addr, p + 16, 16);
    memcpy(&d->sin6_addr, p + 32, 16);
    memcpy(&s->sin6_port, p + 48, 2);
    memcpy(&d->sin6_port, p + 50, 2);
  }
  if (!tlvs_ok(p + V2_FIXED + alen, body - alen, p, total, 0))
    return UV_EPROTO;
  if (body > alen) {
    out->tlv = p + V2_FIXED + alen;
    out->tlv_len = body - alen;
  }
  return (int)total;
}

int hw__proxy_header_parse(const char *p, size_t len, hw__proxy_header *out) {
  size_t n;
  memset(out, 0, sizeof(*out));
  if (len == 0)
    return 0;
  if (p[0] == 'P') {
    n = len < 6 ? len : 6;
    if (memcmp(p, v1_sig, n) != 0)
      return UV_EPROTO;
    return len < 6 ? 0 : parse_v1(p, len, out);
  }
  n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
  if (memcmp(p, v2_sig, n) != 0)
    return UV_EPROTO;
  return parse_v2((const uint8_t *)p, len, out);
}

int hw__proxy_header_signed(const char *p, size_t len) {
  return (len >= 6 && memcmp(p, v1_sig, 6) == 0) ||
         (len >= sizeof(v2_sig) && memcmp(p, v2_sig, sizeof(v2_sig)) == 0);
}

int hw__proxy_header_tlv(const uint8_t *tlv, size_t len, unsigned type,
                         const uint8_t **v, size_t *vlen) {
  while (len >= 3) {
    size_t n = (size_t)tlv[1] << 8 | tlv[2];
    if (n > len - 3)
      break;
    if (tlv[0] == type) {
      *v = tlv + 3;
      *vlen = n;
      return 0;
    }
    if (tlv[0] == HW__PP2_SSL && n >= 5 && type >= HW__PP2_SSL_VERSION &&
        type <= HW__PP2_SSL_KEY_ALG &&
        hw__proxy_header_tlv(tlv + 8, n - 5, type, v, vlen) == 0)
      return 0;
    tlv += 3 + n;
    len -= 3 + n;
  }
  return UV_ENOENT;
}
