/*
 * h1_stream.h - a streamed response on HTTP/1.1 (h1_stream.c): its head,
 * framed by its declared length, by chunks, or (HTTP/1.0 with no length)
 * by the end of the connection (RFC 9112 section 6.3); then its pieces as
 * the request core (stream.c) hands them over, one chunk per take when
 * chunked; then the last chunk.  h1.c decides when a response's turn has
 * come; this unit only writes it into the batch.
 */
#ifndef HW_H1_STREAM_H
#define HW_H1_STREAM_H

#include "batch.h"
#include "request.h"

/* The HTTP/1 unit's bits in hw_request.proto_bits. */
#define HW__H1_BIT_KEEP 1     /* the connection persists after the response */
#define HW__H1_BIT_HEAD_OUT 2 /* a streamed response's head is written */
#define HW__H1_BIT_CHUNKED 4 /* ... and its body goes in chunks */

/** What hw__h1_stream_write did. */
enum hw__h1_stream_result {
  HW__H1_STREAM_GOES_ON = 0, /* written what there was; more will come */
  HW__H1_STREAM_OVER,        /* complete: the last chunk is written */
  HW__H1_STREAM_CUT          /* over, but short or broken: the connection
                                must end after what was written */
};

/**
 * Writes what the streamed response of `req` has ready into `b`: first its
 * head, with `keep` (0 when the connection ends after it: then the
 * request loses HW__H1_BIT_KEEP, as it does when the end of the connection
 * delimits the body), preceded by `interim` (an owed "100 Continue", or
 * NULL); then its pieces, file regions as they are when the transport
 * sends `files` itself.  Returns an hw__h1_stream_result, or HW_ENOMEM.
 */
int hw__h1_stream_write(hw__batch *b, hw_request *req, int keep,
                        const char *interim, size_t interim_len, int files);

#endif /* HW_H1_STREAM_H */
