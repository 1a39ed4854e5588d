/*
 * h1_scan.h - the strict scanner of HTTP/1.1 requests (h1_scan.c): a state
 * machine over the request line, the field lines and the chunked framing
 * that reads every byte just before http-parser does, refuses what RFC 9112
 * forbids and non-strict http-parser would let through, and notes where the
 * target and each field lie.  It keeps its state across reads (a request
 * can be split at any byte), allocates nothing but field slots, and passes
 * over body bytes without looking at them.  The HTTP/1 parser
 * (h1_parser.c) drives it; nothing here knows a connection.
 */
#ifndef HW_H1_SCAN_H
#define HW_H1_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"

/* What the scanner is reading. */
enum hw__h1_scan_state {
  HW__H1S_START = 0, /* before a request line (empty lines are skipped) */
  HW__H1S_START_LF,  /* after a CR there */
  HW__H1S_METHOD,    /* the method: held back from http-parser until known */
  HW__H1S_TARGET0,   /* the first byte of the request-target */
  HW__H1S_TARGET,
  HW__H1S_VERSION, /* "HTTP/", `idx` bytes of it so far */
  HW__H1S_MAJOR,
  HW__H1S_DOT,
  HW__H1S_MINOR,
  HW__H1S_LINE_CR, /* the request line's CR */
  HW__H1S_LINE_LF,
  HW__H1S_FIELD0, /* a field line's start, or the CRLF ending the section */
  HW__H1S_NAME,
  HW__H1S_VALUE,
  HW__H1S_VALUE_LF,
  HW__H1S_END_LF, /* the LF of the blank line that ends the section */
  HW__H1S_BODY,   /* a Content-Length body (or none): http-parser frames it */
  HW__H1S_CSIZE0, /* chunked body: the first digit of a chunk size */
  HW__H1S_CSIZE,
  HW__H1S_CSIZE_WS,
  HW__H1S_CEXT0, /* after ";": whitespace, then an extension name */
  HW__H1S_CEXT_NAME,
  HW__H1S_CEXT_NAME_WS,
  HW__H1S_CEXT_VAL0, /* after "=": whitespace, then a token or quoted-string */
  HW__H1S_CEXT_TOKEN,
  HW__H1S_CEXT_VAL_WS,
  HW__H1S_CEXT_QUOTED,
  HW__H1S_CEXT_QESC,
  HW__H1S_CEXT_QEND,
  HW__H1S_CSIZE_LF,
  HW__H1S_CDATA,
  HW__H1S_CDATA_CR,
  HW__H1S_CDATA_LF,
  HW__H1S_DONE /* the message is framed: http-parser is to complete it */
};

/* What made the scanner stop before the end of its input. */
enum hw__h1_scan_event {
  HW__H1S_EV_NONE = 0,
  HW__H1S_EV_METHOD, /* the method and its space have been read */
  HW__H1S_EV_HEAD,   /* the header (or trailer) section has ended */
  HW__H1S_EV_TAB     /* an HTAB in a Content-Length or Transfer-Encoding
                        value: the caller gives http-parser an SP for it */
};

/** The request limits, in bytes and fields (the config's "limits"). */
typedef struct hw__h1_limits {
  uint32_t request_line;
  uint32_t header_bytes;
  uint32_t headers;
} hw__h1_limits;

/** The scanner's state; the zero value is the start of a request. */
typedef struct hw__h1_scan {
  /* HW__H1S_METHOD: the methods (a bit per enum hw__method) whose names
   * begin with the bytes read so far; once known, the method.  Chunk
   * states: the chunk size, then the data bytes of the chunk to come. */
  uint64_t n;
  uint32_t budget; /* request-line bytes left, then header-section bytes */
  uint32_t fields; /* field lines left */
  uint8_t state;   /* enum hw__h1_scan_state */
  uint8_t idx;     /* bytes of the method, of "HTTP/" or of a field name so
                      far; or the major version digit */
  uint8_t flags;   /* the scanner's own */
} hw__h1_scan;

/**
 * Reads up to `len` bytes in the state `st`.  Returns how many it took: all
 * of them, or fewer when it stopped at an event (`*ev`; the byte that ended
 * it included) or at an error (`*status`: the response status).  When a
 * method begins in these bytes, `*mstart` is set to its offset.
 *
 * With a message `m`, the head's bytes are being copied into m->head, the
 * first of these at offset `base`, and the scanner notes there where the
 * target, each field name and each field value lie (a value from just
 * after its colon to its CR: the head checks trim the whitespace around
 * it).  Recording them here, where every byte passes anyway, spares
 * http-parser three callbacks per field and a copy of each piece.
 */
size_t hw__h1_scan_run(hw__h1_scan *st, const hw__h1_limits *lim,
                       const char *data, size_t len, int *ev, int *status,
                       size_t *mstart, hw__message *m, uint32_t base);

/**
 * The usual start of a request line, a common method and its space (at
 * least 8 bytes must be readable at `q`): sets the state past them (the
 * method in st->n) and returns their length, or returns 0 for anything
 * else.  Costs a few compares, against the scanner's byte-by-byte start.
 */
size_t hw__h1_scan_quick_start(hw__h1_scan *st, const hw__h1_limits *lim,
                               const char *q);

/** Non-zero while the scanner reads a trailer section (its field states
 *  then belong to the body, and nothing is recorded). */
int hw__h1_scan_in_trailers(const hw__h1_scan *st);

#endif /* HW_H1_SCAN_H */
