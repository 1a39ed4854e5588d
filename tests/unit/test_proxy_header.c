/*
 * test_proxy_header.c - unit tests of proxy_header.c (the PROXY protocol
 * header read from bytes) and cidr.c (address ranges): every version and
 * family, every prefix of a good header asks for more, every malformed
 * field is refused, and ranges match what they should (IPv4 through a
 * dual-stack socket's mapped addresses too).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cidr.h"
#include "os.h" /* the socket headers of either system */
#include "proxy_header.h"
#include "tap.h"

static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* A v2 header: `cmd`, `fam`, then `body` (`n` bytes). */
static size_t v2(uint8_t *out, int cmd, int fam, const void *body, size_t n) {
  memcpy(out, sig, 12);
  out[12] = (uint8_t)(0x20 | cmd);
  out[13] = (uint8_t)fam;
  out[14] = (uint8_t)(n >> 8);
  out[15] = (uint8_t)n;
  memcpy(out + 16, body, n);
  return 16 + n;
}

static size_t tlv(uint8_t *out, int type, const void *v, size_t n) {
  out[0] = (uint8_t)type;
  out[1] = (uint8_t)(n >> 8);
  out[2] = (uint8_t)n;
  memcpy(out + 3, v, n);
  return 3 + n;
}

/* IPv4 addresses 192.0.2.7:5555 -> 198.51.100.1:443. */
static size_t v4_block(uint8_t *b) {
  static const uint8_t a[12] = {192, 0,   2,    7,   198, 51,
                                100, 1,   0x15, 0xb3, 0x01, 0xbb};
  memcpy(b, a, 12);
  return 12;
}

static uint32_t crc32c(const uint8_t *p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
  }
  return crc ^ 0xFFFFFFFFu;
}

static const char *addr(const struct sockaddr_storage *ss, char *buf) {
  char a[64];
  int port;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const void *)ss;
    inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
    port = ntohs(s->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const void *)ss;
    inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
    port = ntohs(s->sin6_port);
  } else {
    return "none";
  }
  sprintf(buf, "%s %d", a, port);
  return buf;
}

static int parse(const void *p, size_t n, hw__proxy_header *h) {
  return hw__proxy_header_parse(p, n, h);
}

/* Every proper prefix of a good header asks for more. */
static int prefixes_wait(const void *p, size_t n) {
  hw__proxy_header h;
  for (size_t i = 0; i < n; i++)
    if (parse(p, i, &h) != 0)
      return 0;
  return 1;
}

static void v1_tests(void) {
  hw__proxy_header h;
  char b1[80], b2[80];
  const char *good4 = "PROXY TCP4 192.0.2.7 198.51.100.1 5555 443\r\nGET";
  const char *good6 = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
  const char *longest = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535"
                        "\r\n";

  is_int(parse(good4, strlen(good4), &h), 44, "v1 TCP4: the line's length");
  ok(h.version == 1 && !h.local, "v1 TCP4: version 1, a client");
  is_str(addr(&h.src, b1), "192.0.2.7 5555", "v1 TCP4: the client");
  is_str(addr(&h.dst, b2), "198.51.100.1 443", "v1 TCP4: the server");
  ok(prefixes_wait(good4, 44), "v1: every prefix waits for more");
  is_int(parse(good6, strlen(good6), &h), (long long)strlen(good6), "v1 TCP6");
  is_str(addr(&h.src, b1), "2001:db8::1 65535", "v1 TCP6: the client");
  is_str(addr(&h.dst, b2), "::1 0", "v1 TCP6: port 0 taken");
  is_int(strlen(longest), 107, "(the longest v1 line is 107 bytes)");
  is_int(parse(longest, 107, &h), 107, "v1: the longest line is taken");
  {
    char l108[120];
    memset(l108, 'a', sizeof(l108));
    memcpy(l108, "PROXY UNKNOWN ", 14);
    memcpy(l108 + 106, "\r\n", 2);
    is_int(parse(l108, 107, &h), UV_E2BIG,
           "v1: a CR at byte 107 (a 108-byte line) is too long");
    is_int(parse(l108, 108, &h), UV_E2BIG, "v1: a 108-byte line refused");
    memcpy(l108 + 105, "\r\n", 2);
    is_int(parse(l108, 107, &h), 107, "v1: a 107-byte UNKNOWN line taken");
  }
  ok(hw__proxy_header_signed("PROXY ", 6) &&
         !hw__proxy_header_signed("PROXY", 5) &&
         !hw__proxy_header_signed("POST / HTTP/1.1", 15) &&
         hw__proxy_header_signed("\r\n\r\n\0\r\nQUIT\n", 12) &&
         !hw__proxy_header_signed("\r\n\r\n\0\r\nQUI", 11),
     "signed: a whole signature of either version");
  {
    const char *tcp6 = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535"
                       "\r\n";
    is_int(parse(tcp6, strlen(tcp6), &h), 104, "v1: the longest TCP6 line");
  }
  is_int(parse("PROXY UNKNOWN\r\n", 15, &h), 15, "v1 UNKNOWN");
  ok(h.local && h.src.ss_family == AF_UNSPEC,
     "v1 UNKNOWN: local, no addresses");
  is_int(parse("PROXY UNKNOWN ffff::1 ::1 1 2\r\n", 31, &h), 31,
         "v1 UNKNOWN: what follows it is ignored");

  static const char *const bad[] = {
      "PROXY TCP4 192.0.2.7 198.51.100.1 5555 443\n",   /* LF alone */
      "PROXY TCP4 192.0.2.7 198.51.100.1 5555 443\rX",  /* CR alone */
      "PROXY TCP4  192.0.2.7 198.51.100.1 5555 443\r\n", /* two spaces */
      "PROXY TCP4 192.0.2.7 198.51.100.1 5555 443 \r\n", /* trailing space */
      "PROXY TCP4 192.0.2.7 198.51.100.1 5555\r\n",      /* a port missing */
      "PROXY TCP4 192.0.2.7 198.51.100.1 5555 443 1\r\n", /* one too many */
      "PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n", /* port range */
      "PROXY TCP4 192.0.2.7 198.51.100.1 -1 443\r\n",    /* not digits */
      "PROXY TCP4 192.0.2.7 198.51.100.1 123456 443\r\n", /* six digits */
      "PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n",     /* family */
      "PROXY TCP6 192.0.2.7 ::1 1 2\r\n",                /* family */
      "PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n",     /* octet */
      "PROXY TCP4 host 198.51.100.1 1 2\r\n",            /* a name */
      "PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n",       /* protocol */
      "PROXY tcp4 192.0.2.7 198.51.100.1 1 2\r\n",       /* case */
      "PROXY UNKNOWNX\r\n",                               /* not UNKNOWN */
      "PROXY \r\n",                                       /* empty */
      "PROXY TCP4 192.0.2.7\t198.51.100.1 1 2\r\n",      /* a tab */
      "PROXY-TCP4",                                       /* the signature */
      "proxy TCP4",                                       /* the signature */
      "GET / HTTP/1.1\r\n",                               /* no header */
      "\x16\x03\x01",                                     /* TLS, no header */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    is_int(parse(bad[i], strlen(bad[i]), &h), UV_EPROTO, bad[i]);
  {
    char line[200];
    memset(line, 'A', sizeof(line));
    memcpy(line, "PROXY UNKNOWN ", 14);
    is_int(parse(line, 106, &h), 0, "v1: 106 bytes without CRLF wait");
    is_int(parse(line, 107, &h), UV_E2BIG, "v1: 107 without CRLF: too long");
    memcpy(line + 107, "\r\n", 2);
    is_int(parse(line, 109, &h), UV_E2BIG, "v1: CRLF past 107 is too late");
  }
}

static void v2_tests(void) {
  hw__proxy_header h;
  uint8_t buf[8192], body[4096];
  char b1[80], b2[80];
  size_t n, bn;

  bn = v4_block(body);
  n = v2(buf, 1, 0x11, body, bn);
  is_int(parse(buf, n, &h), 28, "v2 TCP4: 16 + 12 bytes");
  ok(h.version == 2 && !h.local && h.tlv == NULL, "v2 TCP4: a client, no TLV");
  is_str(addr(&h.src, b1), "192.0.2.7 5555", "v2 TCP4: the client");
  is_str(addr(&h.dst, b2), "198.51.100.1 443", "v2 TCP4: the server");
  ok(prefixes_wait(buf, n), "v2: every prefix waits for more");
  memcpy(buf + n, "GET", 3);
  is_int(parse(buf, n + 3, &h), 28, "v2: what follows is not taken");

  memset(body, 0, 36);
  body[15] = 1;                      /* ::1 */
  body[16] = 0x20, body[17] = 0x01;  /* 2001:db8:: */
  body[18] = 0x0d, body[19] = 0xb8;
  body[32] = 0x00, body[33] = 0x50;  /* 80 */
  body[34] = 0x1f, body[35] = 0x90;  /* 8080 */
  n = v2(buf, 1, 0x21, body, 36);
  is_int(parse(buf, n, &h), 52, "v2 TCP6");
  is_str(addr(&h.src, b1), "::1 80", "v2 TCP6: the client");
  is_str(addr(&h.dst, b2), "2001:db8:: 8080", "v2 TCP6: the server");

  n = v2(buf, 0, 0x00, "", 0);
  is_int(parse(buf, n, &h), 16, "v2 LOCAL, nothing else");
  ok(h.local && h.src.ss_family == AF_UNSPEC, "v2 LOCAL: local, no client");
  bn = v4_block(body);
  n = v2(buf, 0, 0x11, body, bn);
  is_int(parse(buf, n, &h), 28, "v2 LOCAL with addresses: skipped whole");
  ok(h.local && h.src.ss_family == AF_UNSPEC,
     "v2 LOCAL: its addresses are ignored");
  n = v2(buf, 1, 0x00, "", 0);
  is_int(parse(buf, n, &h), 16, "v2 PROXY UNSPEC: taken");
  ok(!h.local && h.src.ss_family == AF_UNSPEC,
     "v2 PROXY UNSPEC: no address carried");
  memset(body, 'x', 216);
  n = v2(buf, 1, 0x31, body, 216);
  is_int(parse(buf, n, &h), 232, "v2 UNIX stream: taken");
  ok(h.src.ss_family == AF_UNSPEC, "v2 UNIX: no IP address carried");

  /* Refused at once. */
  bn = v4_block(body);
  n = v2(buf, 1, 0x11, body, bn);
  buf[12] = 0x11;
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: version 1 in the binary form");
  buf[12] = 0x22;
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: command 2");
  buf[12] = 0x21, buf[13] = 0x12;
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: UDP over IPv4");
  buf[13] = 0x41;
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: family 4");
  buf[13] = 0x13;
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: transport 3");
  buf[13] = 0x10;
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: IPv4 with no transport");
  n = v2(buf, 1, 0x11, body, 11);
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: an IPv4 block of 11 bytes");
  n = v2(buf, 1, 0x21, body, 12);
  is_int(parse(buf, n, &h), UV_EPROTO, "v2: an IPv6 block of 12 bytes");
  buf[3] = 0x0B;
  is_int(parse(buf, 4, &h), UV_EPROTO, "v2: a bad signature, at its byte");
  is_int(parse("\r\n\r\n\0\r\nQUIX", 12, &h), UV_EPROTO,
         "v2: the signature's last byte");

  /* Length. */
  n = v2(buf, 1, 0x11, body, 12);
  buf[14] = (uint8_t)((HW__PROXY_HEADER_MAX - 16) >> 8);
  buf[15] = (uint8_t)(HW__PROXY_HEADER_MAX - 16);
  is_int(parse(buf, 16, &h), 0, "v2: a header of exactly the most waits");
  buf[15]++;
  is_int(parse(buf, 16, &h), UV_E2BIG, "v2: one byte more is too long");
  buf[14] = 0xff, buf[15] = 0xff;
  is_int(parse(buf, 16, &h), UV_E2BIG, "v2: 64 KiB is too long");
  memset(buf + 16, 0, HW__PROXY_HEADER_MAX);
  v4_block(buf + 16);
  buf[14] = (uint8_t)((HW__PROXY_HEADER_MAX - 16) >> 8);
  buf[15] = (uint8_t)(HW__PROXY_HEADER_MAX - 16);
  /* (the rest: NOOP TLVs, then one that fills the block) */
  {
    size_t at = 28, left = HW__PROXY_HEADER_MAX - 28;
    at += tlv(buf + at, HW__PP2_NOOP, body, left - 3);
    is_int(parse(buf, at, &h), HW__PROXY_HEADER_MAX,
           "v2: a header of exactly the most is taken");
  }
}

static void tlv_tests(void) {
  hw__proxy_header h;
  uint8_t buf[2048], body[2048], ssl[512];
  const uint8_t *v;
  size_t n, bn, sn, vlen;
  uint8_t id[129];

  memset(id, 'i', sizeof(id));
  bn = v4_block(body);
  bn += tlv(body + bn, HW__PP2_ALPN, "h2", 2);
  bn += tlv(body + bn, HW__PP2_AUTHORITY, "example.com", 11);
  bn += tlv(body + bn, HW__PP2_UNIQUE_ID, id, 128);
  sn = 0;
  ssl[sn++] = 0x07; /* client: SSL, cert conn, cert sess */
  memcpy(ssl + sn, "\0\0\0\0", 4), sn += 4;
  sn += tlv(ssl + sn, HW__PP2_SSL_VERSION, "TLSv1.3", 7);
  sn += tlv(ssl + sn, HW__PP2_SSL_CN, "client one", 10);
  sn += tlv(ssl + sn, HW__PP2_SSL_CIPHER, "TLS_AES_256_GCM_SHA384", 22);
  bn += tlv(body + bn, HW__PP2_SSL, ssl, sn);
  bn += tlv(body + bn, 0xE1, "custom", 6);
  bn += tlv(body + bn, HW__PP2_NOOP, "", 0);
  n = v2(buf, 1, 0x11, body, bn);
  is_int(parse(buf, n, &h), (long long)n, "v2 with TLVs: taken whole");
  ok(h.tlv == buf + 28 && h.tlv_len == bn - 12, "the TLVs follow the block");
  ok(hw__proxy_header_tlv(h.tlv, h.tlv_len, HW__PP2_AUTHORITY, &v, &vlen) ==
             0 &&
         vlen == 11 && memcmp(v, "example.com", 11) == 0,
     "tlv: AUTHORITY found");
  ok(hw__proxy_header_tlv(h.tlv, h.tlv_len, HW__PP2_SSL_CN, &v, &vlen) == 0 &&
         vlen == 10 && memcmp(v, "client one", 10) == 0,
     "tlv: SSL's CN found inside PP2_TYPE_SSL");
  ok(hw__proxy_header_tlv(h.tlv, h.tlv_len, 0xE1, &v, &vlen) == 0 &&
         vlen == 6 && memcmp(v, "custom", 6) == 0,
     "tlv: a custom type found");
  ok(hw__proxy_header_tlv(h.tlv, h.tlv_len, HW__PP2_NETNS, &v, &vlen) ==
         UV_ENOENT,
     "tlv: an absent type is ENOENT");
  ok(hw__proxy_header_tlv(h.tlv, h.tlv_len, HW__PP2_SSL_KEY_ALG, &v, &vlen) ==
         UV_ENOENT,
     "tlv: an absent SSL sub-type is ENOENT");
  ok(hw__proxy_header_tlv(NULL, 0, HW__PP2_ALPN, &v, &vlen) == UV_ENOENT,
     "tlv: none at all");

  /* Malformed TLVs. */
  bn = v4_block(body);
  bn += tlv(body + bn, HW__PP2_ALPN, "h2", 2);
  n = v2(buf, 1, 0x11, body, bn - 1);
  is_int(parse(buf, n, &h), UV_EPROTO, "a TLV cut short");
  n = v2(buf, 1, 0x11, body, 12 + 2);
  is_int(parse(buf, n, &h), UV_EPROTO, "two stray bytes after the block");
  bn = v4_block(body);
  bn += tlv(body + bn, HW__PP2_UNIQUE_ID, id, 129);
  n = v2(buf, 1, 0x11, body, bn);
  is_int(parse(buf, n, &h), UV_EPROTO, "a unique ID of 129 bytes");
  bn = v4_block(body);
  bn += tlv(body + bn, HW__PP2_SSL, "\x01\0\0", 3);
  n = v2(buf, 1, 0x11, body, bn);
  is_int(parse(buf, n, &h), UV_EPROTO, "PP2_TYPE_SSL shorter than 5 bytes");
  bn = v4_block(body);
  sn = 0;
  ssl[sn++] = 1;
  memcpy(ssl + sn, "\0\0\0\0", 4), sn += 4;
  sn += tlv(ssl + sn, HW__PP2_SSL_VERSION, "TLSv1.3", 7);
  bn += tlv(body + bn, HW__PP2_SSL, ssl, sn - 1);
  n = v2(buf, 1, 0x11, body, bn);
  is_int(parse(buf, n, &h), UV_EPROTO, "a sub-TLV cut short inside SSL");

  /* CRC32C (2.2.3): over the whole header, the checksum's bytes zero. */
  bn = v4_block(body);
  bn += tlv(body + bn, HW__PP2_CRC32C, "\0\0\0\0", 4);
  n = v2(buf, 1, 0x11, body, bn);
  {
    uint32_t c = crc32c(buf, n);
    buf[n - 4] = (uint8_t)(c >> 24), buf[n - 3] = (uint8_t)(c >> 16);
    buf[n - 2] = (uint8_t)(c >> 8), buf[n - 1] = (uint8_t)c;
  }
  is_int(parse(buf, n, &h), (long long)n, "a right CRC32C is taken");
  buf[18] ^= 1; /* the client's address, changed on the way */
  is_int(parse(buf, n, &h), UV_EPROTO, "a wrong CRC32C is refused");
  bn = v4_block(body);
  bn += tlv(body + bn, HW__PP2_CRC32C, "\0\0\0", 3);
  n = v2(buf, 1, 0x11, body, bn);
  is_int(parse(buf, n, &h), UV_EPROTO, "a CRC32C of 3 bytes is refused");
  /* The RFC 3720 check value: CRC32C("123456789") = 0xE3069283. */
  is_int(crc32c((const uint8_t *)"123456789", 9), 0xE3069283,
         "(the test's CRC32C is the standard one)");
}

static void cidr_tests(void) {
  hw__cidr c[4];
  char why[160], text[64];
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;

  ok(hw__cidr_parse("10.1.2.3/8", &c[0], why, sizeof(why)) == 0,
     "cidr: 10.1.2.3/8");
  hw__cidr_format(&c[0], text, sizeof(text));
  is_str(text, "10.0.0.0/8", "cidr: host bits cleared, written as IPv4");
  ok(hw__cidr_parse("::1", &c[1], why, sizeof(why)) == 0, "cidr: ::1");
  hw__cidr_format(&c[1], text, sizeof(text));
  is_str(text, "::1/128", "cidr: a bare IPv6 address is /128");
  ok(hw__cidr_parse("192.0.2.7", &c[2], why, sizeof(why)) == 0,
     "cidr: a bare IPv4 address");
  hw__cidr_format(&c[2], text, sizeof(text));
  is_str(text, "192.0.2.7/32", "cidr: a bare IPv4 address is /32");
  ok(hw__cidr_parse("2001:db8::/33", &c[3], why, sizeof(why)) == 0,
     "cidr: 2001:db8::/33");

  ok(hw__cidr_match_text(c, 4, "10.200.0.1:80"), "match: 10.200.0.1 in /8");
  ok(!hw__cidr_match_text(c, 4, "11.0.0.1:80"), "match: 11.0.0.1 is not");
  ok(hw__cidr_match_text(c, 4, "[::1]:80"), "match: [::1]");
  ok(!hw__cidr_match_text(c, 4, "[::2]:80"), "match: [::2] is not");
  ok(hw__cidr_match_text(c, 4, "[::ffff:10.9.9.9]:80"),
     "match: an IPv4-mapped address matches its IPv4 range");
  ok(hw__cidr_match_text(c, 4, "192.0.2.7:1"), "match: a /32");
  ok(!hw__cidr_match_text(c, 4, "192.0.2.8:1"), "match: next to a /32");
  ok(hw__cidr_match_text(c, 4, "[2001:db8:7fff::1]:1"),
     "match: inside a /33");
  ok(!hw__cidr_match_text(c, 4, "[2001:db8:8000::1]:1"),
     "match: past a /33's odd bit");
  ok(!hw__cidr_match_text(c, 4, "garbage"), "match: text that is not one");
  ok(!hw__cidr_match_text(c, 4, ""), "match: empty text");
  ok(!hw__cidr_match_text(c, 0, "10.0.0.1:1"), "match: no ranges, no match");
  memset(&a4, 0, sizeof(a4));
  a4.sin_family = AF_INET;
  inet_pton(AF_INET, "10.0.0.5", &a4.sin_addr);
  ok(hw__cidr_match(c, 4, (struct sockaddr *)&a4), "match: a sockaddr_in");
  memset(&a6, 0, sizeof(a6));
  a6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::1", &a6.sin6_addr);
  ok(hw__cidr_match(c, 4, (struct sockaddr *)&a6), "match: a sockaddr_in6");
  ok(hw__cidr_parse("0.0.0.0/0", &c[0], why, sizeof(why)) == 0 &&
         hw__cidr_match_text(c, 1, "203.0.113.9:1") &&
         !hw__cidr_match_text(c, 1, "[2001:db8::1]:1"),
     "0.0.0.0/0: every IPv4 address, no IPv6 one");
  ok(hw__cidr_parse("::/0", &c[0], why, sizeof(why)) == 0 &&
         hw__cidr_match_text(c, 1, "203.0.113.9:1") &&
         hw__cidr_match_text(c, 1, "[2001:db8::1]:1"),
     "::/0: every address");
  ok(hw__cidr_parse("10.0.0.0/33", &c[0], why, sizeof(why)) == UV_EINVAL,
     "cidr: /33 on IPv4 refused");
  contains(why, "0-32", "cidr: the message names the range");
  ok(hw__cidr_parse("example.com/8", &c[0], why, sizeof(why)) == UV_EINVAL,
     "cidr: a name refused");
  ok(hw__cidr_parse("10.0.0.0/+8", &c[0], why, sizeof(why)) == UV_EINVAL,
     "cidr: a signed prefix refused");
}

int main(void) {
  v1_tests();
  v2_tests();
  tlv_tests();
  cidr_tests();
  return done_testing();
}
