/*
 * method.h - request methods (method.c): one list, HW__METHOD_MAP, from
 * which the names, their lengths and the standard set are generated.  The
 * list holds the methods the HTTP/1 parser recognises by name, numbered as
 * http-parser numbers them (h1_parser.c checks that the two agree), and
 * marks those of RFC 9110 section 9.3.  Any other token is a method too
 * (RFC 9110 section 9.1): it is HW__METHOD_OTHER, and the request keeps the
 * token itself.
 */
#ifndef HW_METHOD_H
#define HW_METHOD_H

#include <stddef.h>
#include <stdint.h>

/* XX(number, symbol, name, standard: in RFC 9110 section 9.3) */
#define HW__METHOD_MAP(XX)                                                     \
  XX(0, DELETE, "DELETE", 1)                                                   \
  XX(1, GET, "GET", 1)                                                         \
  XX(2, HEAD, "HEAD", 1)                                                       \
  XX(3, POST, "POST", 1)                                                       \
  XX(4, PUT, "PUT", 1)                                                         \
  XX(5, CONNECT, "CONNECT", 1)                                                 \
  XX(6, OPTIONS, "OPTIONS", 1)                                                 \
  XX(7, TRACE, "TRACE", 1)                                                     \
  XX(8, COPY, "COPY", 0)                                                       \
  XX(9, LOCK, "LOCK", 0)                                                       \
  XX(10, MKCOL, "MKCOL", 0)                                                    \
  XX(11, MOVE, "MOVE", 0)                                                      \
  XX(12, PROPFIND, "PROPFIND", 0)                                              \
  XX(13, PROPPATCH, "PROPPATCH", 0)                                            \
  XX(14, SEARCH, "SEARCH", 0)                                                  \
  XX(15, UNLOCK, "UNLOCK", 0)                                                  \
  XX(16, BIND, "BIND", 0)                                                      \
  XX(17, REBIND, "REBIND", 0)                                                  \
  XX(18, UNBIND, "UNBIND", 0)                                                  \
  XX(19, ACL, "ACL", 0)                                                        \
  XX(20, REPORT, "REPORT", 0)                                                  \
  XX(21, MKACTIVITY, "MKACTIVITY", 0)                                          \
  XX(22, CHECKOUT, "CHECKOUT", 0)                                              \
  XX(23, MERGE, "MERGE", 0)                                                    \
  XX(24, MSEARCH, "M-SEARCH", 0)                                               \
  XX(25, NOTIFY, "NOTIFY", 0)                                                  \
  XX(26, SUBSCRIBE, "SUBSCRIBE", 0)                                            \
  XX(27, UNSUBSCRIBE, "UNSUBSCRIBE", 0)                                        \
  XX(28, PATCH, "PATCH", 0)                                                    \
  XX(29, PURGE, "PURGE", 0)                                                    \
  XX(30, MKCALENDAR, "MKCALENDAR", 0)                                          \
  XX(31, LINK, "LINK", 0)                                                      \
  XX(32, UNLINK, "UNLINK", 0)                                                  \
  XX(33, SOURCE, "SOURCE", 0)

enum hw__method {
#define XX(num, sym, name, std) HW__METHOD_##sym = num,
  HW__METHOD_MAP(XX)
#undef XX
  HW__METHOD_OTHER /* a token the list lacks */
};

#define HW__METHOD_COUNT HW__METHOD_OTHER

/** Each listed method's name (static), indexed by enum hw__method. */
extern const char *const hw__method_name[HW__METHOD_COUNT];
/** Each listed method's name followed by the space that ends it in a
 *  request line (static). */
extern const char *const hw__method_name_sp[HW__METHOD_COUNT];
/** The length of each listed method's name. */
extern const uint8_t hw__method_len[HW__METHOD_COUNT];

/** One bit per method (by number) for those of RFC 9110 section 9.3. */
#define HW__METHOD_STANDARD                                                    \
  (0ull HW__METHOD_MAP(HW__METHOD_STD_BIT))
#define HW__METHOD_STD_BIT(num, sym, name, std) | ((uint64_t)(std) << (num))

/** Non-zero if method `m` (enum hw__method) is one of RFC 9110 section
 *  9.3's; HW__METHOD_OTHER is not. */
static inline int hw__method_standard(unsigned m) {
  return (int)((HW__METHOD_STANDARD >> m) & 1);
}

#endif /* HW_METHOD_H */
