/*
 * h2_response.h - the header fields of an HTTP/2 response (h2_response.c):
 * what HEADERS carries for a response of the core, as nghttp2's name-value
 * pairs: ":status", the fields the module added (names lower-cased, the
 * connection-specific ones dropped: RFC 9113 section 8.2.2), content-length
 * when the length is known, server and date.  Pure: a response in, pairs
 * out; it knows no session and no stream.
 */
#ifndef HW_H2_RESPONSE_H
#define HW_H2_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "buf.h"

/** A response head being built; its memory is kept for the next one. */
typedef struct hw__h2_head {
  nghttp2_nv *nv; /* the pairs, pointing into `bytes` */
  size_t n, cap;
  hw__buf bytes; /* the status, lower-cased names, the length */
} hw__h2_head;

/** Fills `h` for a response with `status`, the module's "Name: value\r\n"
 *  lines `fields` (`len` bytes, borrowed: the values point into them until
 *  the pairs are submitted) and `length` (the content-length, or -1 when
 *  unknown or not sent).  Returns 0 or HW_ENOMEM. */
int hw__h2_response_head(hw__h2_head *h, int status, const char *fields,
                         size_t len, int64_t length);
/** Frees what `h` keeps. */
void hw__h2_response_free(hw__h2_head *h);

#endif /* HW_H2_RESPONSE_H */
