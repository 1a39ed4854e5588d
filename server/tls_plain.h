/*
 * tls_plain.h - what a plain HTTP request sent to a TLS port gets
 * (tls_plain.c): a 400 in plain text, or a 308 to the https URL its head
 * names.  Bytes in, an answer's bytes out; it knows no connection.
 */
#ifndef HW_TLS_PLAIN_H
#define HW_TLS_PLAIN_H

#include <stddef.h>

/** The most of a plain request's head read to redirect it. */
#define HW__TLS_PLAIN_HEAD 8192
/** Room for any answer. */
#define HW__TLS_PLAIN_ANSWER (HW__TLS_PLAIN_HEAD + 512)

/**
 * The answer to the plain request whose first `n` bytes are `head`
 * (borrowed), written into `out` (`cap` at least HW__TLS_PLAIN_ANSWER):
 * with `redirect` 0 a 400 at once; else a 308 to
 * https://<Host's name>[:port]<target> once the head is whole, or a 400
 * when it cannot say where (no Host, two, one with no name, a target that
 * is not origin-form bytes, a head past HW__TLS_PLAIN_HEAD).  Returns the
 * answer's length, or 0 while more of the head is needed.
 */
size_t hw__tls_plain_answer(const char *head, size_t n, int redirect,
                            int port, char *out, size_t cap);

#endif /* HW_TLS_PLAIN_H */
