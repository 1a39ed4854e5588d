/*
 * status.h - HTTP status codes (status.c): one list, HW__STATUS_MAP, from
 * which the reason phrases and their lengths are generated.  The list holds
 * the codes the host and the shipped modules send, and the common ones a
 * module may set; another three-digit code goes out with an empty reason
 * (RFC 9112 section 4: the reason phrase is optional).
 */
#ifndef HW_STATUS_H
#define HW_STATUS_H

#include <stddef.h>

/* XX(code, reason) */
#define HW__STATUS_MAP(XX)                                                     \
  XX(100, "Continue")                                                          \
  XX(101, "Switching Protocols")                                               \
  XX(200, "OK")                                                                \
  XX(201, "Created")                                                           \
  XX(202, "Accepted")                                                          \
  XX(203, "Non-Authoritative Information")                                     \
  XX(204, "No Content")                                                        \
  XX(205, "Reset Content")                                                     \
  XX(206, "Partial Content")                                                   \
  XX(300, "Multiple Choices")                                                  \
  XX(301, "Moved Permanently")                                                 \
  XX(302, "Found")                                                             \
  XX(303, "See Other")                                                         \
  XX(304, "Not Modified")                                                      \
  XX(307, "Temporary Redirect")                                                \
  XX(308, "Permanent Redirect")                                                \
  XX(400, "Bad Request")                                                       \
  XX(401, "Unauthorized")                                                      \
  XX(403, "Forbidden")                                                         \
  XX(404, "Not Found")                                                         \
  XX(405, "Method Not Allowed")                                                \
  XX(406, "Not Acceptable")                                                    \
  XX(408, "Request Timeout")                                                   \
  XX(409, "Conflict")                                                          \
  XX(410, "Gone")                                                              \
  XX(411, "Length Required")                                                   \
  XX(412, "Precondition Failed")                                               \
  XX(413, "Content Too Large")                                                 \
  XX(414, "URI Too Long")                                                      \
  XX(415, "Unsupported Media Type")                                            \
  XX(416, "Range Not Satisfiable")                                             \
  XX(417, "Expectation Failed")                                                \
  XX(421, "Misdirected Request")                                               \
  XX(422, "Unprocessable Content")                                             \
  XX(425, "Too Early")                                                         \
  XX(426, "Upgrade Required")                                                  \
  XX(428, "Precondition Required")                                             \
  XX(429, "Too Many Requests")                                                 \
  XX(431, "Request Header Fields Too Large")                                   \
  XX(451, "Unavailable For Legal Reasons")                                     \
  XX(500, "Internal Server Error")                                             \
  XX(501, "Not Implemented")                                                   \
  XX(502, "Bad Gateway")                                                       \
  XX(503, "Service Unavailable")                                               \
  XX(504, "Gateway Timeout")                                                   \
  XX(505, "HTTP Version Not Supported")

/** The reason phrase of `status` (static; "" if the list lacks it), and
 *  its length in `*len`. */
const char *hw__status_reason(int status, size_t *len);

/** Non-zero if a response with this status carries a body (RFC 9110
 *  sections 6.4.1, 15.3.5 and 15.4.5: not 1xx, 204 or 304). */
static inline int hw__status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

#endif /* HW_STATUS_H */
