/*
 * h1_response.c - the head of an HTTP/1.1 response (see h1_response.h).
 *
 * Every response carries Server and Date (RFC 9110 sections 10.2.4 and
 * 6.6.1): one fixed-length block, rewritten once a second, copied after the
 * status line.  A 200 has a constant status line.  The head is written with
 * its bound reserved once, so that no append checks for room.
 */
#include "autoconf.h"

#include <string.h>
#include <time.h>

#include "h1_response.h"
#include "status.h"

/* The length of "Server: haywire\r\n" and of "Date: " IMF-fixdate CRLF
 * (RFC 9110 section 5.6.7: the date is always 29 characters). */
#define HOST_LINES_LEN (17 + 6 + 29 + 2)

/* "Server: haywire\r\nDate: <IMF-fixdate>\r\n" (one per process: a worker
 * is a process with one loop). */
static char host_lines[HOST_LINES_LEN];

void hw__h1_response_update_date(void) {
  static const char days[] = "SunMonTueWedThuFriSat";
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct timespec ts;
  time_t now;
  struct tm tm;
  char *o = host_lines;

  /* Not time(): glibc's reads the kernel's coarse clock, a tick behind,
   * which at the start of a second still says the one before. */
  clock_gettime(CLOCK_REALTIME, &ts);
  now = ts.tv_sec;

  gmtime_r(&now, &tm);
  /* IMF-fixdate, written by hand so that its length is fixed whatever the
   * locale: "Sun, 06 Nov 1994 08:49:37 GMT". */
  memcpy(o, "Server: haywire\r\nDate: ", 23);
  o += 23;
  memcpy(o, days + 3 * (tm.tm_wday % 7), 3);
  o[3] = ',';
  o[4] = ' ';
  o[5] = (char)('0' + tm.tm_mday / 10);
  o[6] = (char)('0' + tm.tm_mday % 10);
  o[7] = ' ';
  memcpy(o + 8, months + 3 * (tm.tm_mon % 12), 3);
  o[11] = ' ';
  {
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000;
    o[12] = (char)('0' + year / 1000);
    o[13] = (char)('0' + year / 100 % 10);
    o[14] = (char)('0' + year / 10 % 10);
    o[15] = (char)('0' + year % 10);
  }
  o[16] = ' ';
  o[17] = (char)('0' + tm.tm_hour / 10);
  o[18] = (char)('0' + tm.tm_hour % 10);
  o[19] = ':';
  o[20] = (char)('0' + tm.tm_min / 10);
  o[21] = (char)('0' + tm.tm_min % 10);
  o[22] = ':';
  /* tm_sec can be 60 for a leap second, which IMF-fixdate allows. */
  o[23] = (char)('0' + tm.tm_sec / 10);
  o[24] = (char)('0' + tm.tm_sec % 10);
  memcpy(o + 25, " GMT\r\n", 6);
}

const char *hw__h1_response_date(void) {
  if (host_lines[0] == '\0')
    hw__h1_response_update_date();
  return host_lines + 23;
}

/* Writes `v` in decimal at `p`; returns the number of digits.  Bodies are
 * mostly short, so one and two digits are written directly. */
static inline size_t put_uint(char *p, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  if (v < 10) {
    p[0] = (char)('0' + v);
    return 1;
  }
  if (v < 100) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return 2;
  }
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++)
    p[i] = tmp[n - 1 - i];
  return n;
}

#define PUT(lit)                                                               \
  do {                                                                         \
    memcpy(o, lit, sizeof(lit) - 1);                                           \
    o += sizeof(lit) - 1;                                                      \
  } while (0)

/* `framing` is a constant at each call, so that the per-response head
 * (always length-delimited) carries no test for the others. */
static inline __attribute__((always_inline)) int
head(hw__buf *out, const hw__h1_response *r, int framing) {
  int status = r->status;
  /* The fixed part is bounded: status line (the longest reason phrase is
   * under 40 bytes), Server and Date, Content-Length, Connection and the
   * final CRLF, plus the module's fields. */
  size_t max = 16 + 24 + 40 + HOST_LINES_LEN + 40 + 26 + r->fields_len + 2;
  size_t rlen;
  const char *reason;
  char *o;

  if (host_lines[0] == '\0')
    hw__h1_response_update_date();
  if (hw__buf_reserve(out, max) != 0)
    return HW_ENOMEM;
  o = out->data + out->len;
  /* The server's own version is sent whatever the request's (RFC 9110
   * section 2.5); framing below follows the request's version.  The host
   * and modules only set three-digit statuses (RFC 9110 section 15). */
  if (status == 200) {
    PUT("HTTP/1.1 200 OK\r\n");
  } else {
    reason = hw__status_reason(status, &rlen);
    PUT("HTTP/1.1 ");
    o += put_uint(o, (uint64_t)(unsigned)status);
    *o++ = ' ';
    memcpy(o, reason, rlen);
    o += rlen;
    PUT("\r\n");
  }
  memcpy(o, host_lines, HOST_LINES_LEN);
  o += HOST_LINES_LEN;
  /* 1xx, 204 and 304 responses carry no body and here no Content-Length
   * (RFC 9110 sections 8.6, 15.3.5 and 15.4.5); every other response is
   * length-delimited. */
  if (hw__status_has_body(status)) {
    if (framing == HW__H1_LENGTH) {
      PUT("Content-Length: ");
      o += put_uint(o, r->body_len);
      PUT("\r\n");
    } else if (framing == HW__H1_CHUNKED) {
      PUT("Transfer-Encoding: chunked\r\n");
    }
  }
  if (!r->keep_alive)
    PUT("Connection: close\r\n");
  else if (r->version < 11)
    PUT("Connection: keep-alive\r\n");
  if (r->fields_len > 0) {
    hw__bytes_copy(o, r->fields, r->fields_len);
    o += r->fields_len;
  }
  PUT("\r\n");
  out->len = (size_t)(o - out->data);
  return 0;
}

int hw__h1_response_head(hw__buf *out, const hw__h1_response *r) {
  return head(out, r, HW__H1_LENGTH);
}

/* A copy of its own, so that the one call per response above stays the
 * only caller of hw__h1_response_head, as small as before, and inlined. */
__attribute__((noinline)) int
hw__h1_response_stream_head(hw__buf *out, const hw__h1_response *r) {
  switch (r->framing) {
  case HW__H1_CHUNKED: return head(out, r, HW__H1_CHUNKED);
  case HW__H1_CLOSE: return head(out, r, HW__H1_CLOSE);
  default: return head(out, r, HW__H1_LENGTH);
  }
}
