/*
 * message.h - a request head as a protocol's parser leaves it for the
 * request core: the bytes it was copied into, and where in them the method,
 * the target, its path, query and host, and each field lie.  A plain data
 * type (no functions): the HTTP/1 parser fills it, the core and the host
 * functions read it.  An HTTP/2 unit would fill the same from HPACK.
 */
#ifndef HW_MESSAGE_H
#define HW_MESSAGE_H

#include <stdint.h>

#include "buf.h"

/** A piece of `hw__message.head`: offsets, since the buffer may move. */
typedef struct hw__span {
  uint32_t off;
  uint32_t len;
} hw__span;

/** One field line: its name and its value (without the whitespace around
 *  it, RFC 9112 section 5.1). */
typedef struct hw__field {
  hw__span name;
  hw__span value;
} hw__field;

/**
 * The head of one request.  The scalars before `head` describe this
 * request and are cleared for the next; `head` and `fields` are memory the
 * message keeps across requests (a pooled request reuses them).
 */
typedef struct hw__message {
  const char *method_name; /* a listed method's static name, or NULL: then
                              the method is the span `method` */
  uint32_t method_len;
  uint8_t method_id;    /* enum hw__method */
  uint8_t version;      /* 10 or 11 (HTTP/1.0, HTTP/1.1) */
  uint8_t is_head : 1;  /* the method is HEAD: no body is sent */
  uint8_t asterisk : 1; /* the target is "*" (OPTIONS *) */
  hw__span method, target, path, query;
  hw__span host; /* the authority of an absolute-form target, else the
                    Host field's value (RFC 9112 section 3.2.2) */
  uint32_t nfields;
  /* kept across requests: */
  hw__buf head; /* the head's bytes as received (the method only when it
                   is not listed; the target on), then a normalised path
                   when one was needed */
  hw__field *fields;
  size_t fields_cap;
} hw__message;

#endif /* HW_MESSAGE_H */
