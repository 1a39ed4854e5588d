/*
 * static.c - files from a directory, served as nginx serves them: the body
 * a file region (ABI 1.3 write_file, never read into the module), a small
 * cache of open descriptors, validators, conditional requests, single byte
 * ranges, precompressed siblings, index files and an optional listing.
 * The route config is
 *   {"root": "/srv/www", "index": ["index.html"], "precompressed": ["br",
 *    "gz"], "cache_control": "max-age=60", "listing": false, "hidden":
 *    false, "mime_types": "/etc/mime.types", "open_file_cache_valid_ms":
 *    1000, "open_file_cache_max": 1000}
 * with everything but "root" optional (the README's "static.so" part says
 * what each key does).
 *
 * What it owns, per route (init): the root, opened once as an O_PATH
 * directory descriptor that every lookup resolves beneath; the MIME table,
 * parsed once into a hash table; the fields sent with many responses,
 * prepared once; and the cache of open files, a hash table with an LRU list
 * of at most open_file_cache_max entries, each holding the descriptors of a
 * file and of its precompressed siblings with their sizes, ETags and
 * Last-Modified texts (and those fields prepared).  The route's state is
 * the worker loop's alone, with one exception that touches nothing
 * mutable: the work function (below).
 *
 * A request's path after the prefix (host->rest: decoded, without dot
 * segments, no NUL: the host refuses those targets) is checked segment by
 * segment here again (no "..", no segment beginning with '.' unless
 * "hidden", except "/.well-known/" of RFC 8615) and joined into a path
 * relative to the root.
 *   - A cache hit younger than open_file_cache_valid_ms is answered at once,
 *     inside handle: no system call of the module's own but the clock.
 *   - Otherwise handle queues the lookup (queue_work) and defers.  The work
 *     function, on a pool thread, touches only its job and the route's
 *     immutable part (the root descriptor, the index names, the flags):
 *     openat2(RESOLVE_BENEATH) through syscall() (glibc 2.36 has no
 *     wrapper), or where that is missing or forbidden (ENOSYS, EPERM: old
 *     kernels, seccomp) a walk that opens one segment at a time with
 *     O_NOFOLLOW, so nothing outside the root is ever opened: not through
 *     "..", nor a symbolic link that leads out (an absolute one included).
 *     Each name is first opened O_PATH and its type checked: a FIFO, a
 *     socket or a device node is never opened for reading (403), and the
 *     open for reading is O_NONBLOCK besides, so a FIFO swapped in between
 *     cannot hang the thread.  The done callback, back on the loop, fills
 *     the cache and answers.  While one request revalidates an entry,
 *     others are answered from it.
 *
 * Answers follow RFC 9110: ETag (strong, from the mtime in nanoseconds and
 * the size, never the inode, so that instances behind a balancer agree;
 * each precompressed sibling its own), Last-Modified, the preconditions in
 * section 13.2.2's order, single byte ranges (section 14: several ranges
 * get the whole file, which 14.2 allows), Content-Encoding chosen by
 * Accept-Encoding's q-values (12.5.3) with Vary on every answer for such a
 * file (12.5.5), 301 to the slash form of a directory, GET and HEAD only.
 * Every loop runs over a bounded input: a header field (the host bounds
 * its size), a path (PATH_MAX), a directory (MAX_LISTING names).
 */
#define _GNU_SOURCE /* O_PATH, syscall(), fdopendir, CLOCK_MONOTONIC_COARSE */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "haywire.h"

/* A test may run code between the type check and the open for reading
 * (tests/unit/test_static.c replaces a file there). */
#ifndef STATIC_BETWEEN_OPENS
#define STATIC_BETWEEN_OPENS(rel) ((void)0)
#endif

/* The platform part's (included further down, see "The file system"). */
static int open_plain(const char *path);

#define TEXT(s) s, sizeof(s) - 1 /* a string literal and its length */
#define REL_MAX 4096             /* PATH_MAX: a longer path opens nothing */
#define SEG_MAX 255              /* NAME_MAX */
#define MAX_INDEX 16
#define MAX_LISTING 100000 /* names read from one directory */
#define MAX_FIELD_LINES 16 /* lines of one list field kept (If-Match, ...) */
#define DEFAULT_VALID_MS 1000
#define MAX_VALID_MS 86400000
#define DEFAULT_CACHE_MAX 1000
#define MAX_CACHE_MAX 1000000
#define DEFAULT_MIME_TYPES "/etc/mime.types"
#define MAX_MIME_FILE (4 << 20)
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"

/* The precompressed siblings: the config's word, the file's suffix and the
 * content coding (RFC 9110 section 8.4.1). */
#define NENC 2
static const struct encoding {
  const char *conf, *suffix, *coding;
} encodings[NENC] = {{"br", ".br", "br"}, {"gz", ".gz", "gzip"}};

/* ------------------------------------------------------------------------
 * Small helpers.
 */

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* `s` equals the lower-case literal `lit` of length `n`, ignoring case. */
static int ieq(const char *s, size_t len, const char *lit, size_t n) {
  if (len != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (lower(s[i]) != lit[i])
      return 0;
  return 1;
}

static int str_is(hw_str s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && (n == 0 || memcmp(s.data, lit, n) == 0);
}

static int is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* tchar of RFC 9110 section 5.6.2. */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static hw_str trim(hw_str v) {
  while (v.len > 0 && is_ows(v.data[0])) {
    v.data++;
    v.len--;
  }
  while (v.len > 0 && is_ows(v.data[v.len - 1]))
    v.len--;
  return v;
}

/* A growing output buffer whose appends never fail one by one: running out
 * of memory sets `oom` and the caller checks once (as status.c does). */
typedef struct obuf {
  char *p;
  size_t len, cap;
  int oom;
} obuf;

static void put(obuf *o, const char *s, size_t n) {
  if (o->oom || n == 0)
    return;
  if (n > o->cap - o->len) {
    size_t cap = o->cap != 0 ? o->cap : 4096;
    char *p;
    while (cap - o->len < n) {
      if (cap > SIZE_MAX / 2) {
        o->oom = 1;
        return;
      }
      cap *= 2;
    }
    if ((p = realloc(o->p, cap)) == NULL) {
      o->oom = 1;
      return;
    }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
}

/* ------------------------------------------------------------------------
 * Dates (RFC 9110 section 5.6.7): the proleptic Gregorian calendar in UTC,
 * computed here rather than with timegm/strftime, which depend on the
 * time zone and the locale.
 */

static const char month_names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char *const day_names[7] = {"Sun", "Mon", "Tue", "Wed",
                                         "Thu", "Fri", "Sat"};
static const char *const long_day_names[7] = {
    "Sunday",   "Monday", "Tuesday", "Wednesday",
    "Thursday", "Friday", "Saturday"};

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m) {
  static const unsigned char n[12] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/* Writes `t` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes
 * and a NUL), clamped to years 1 to 9999, which the format can hold. */
static void format_imf(int64_t t, char buf[30]) {
  int64_t days, y, secs;
  unsigned m, d;

  if (t < -62135596800LL)
    t = -62135596800LL; /* 0001-01-01 */
  if (t > 253402300799LL)
    t = 253402300799LL; /* 9999-12-31 23:59:59 */
  days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  secs = t - days * 86400;
  civil_from_days(days, &y, &m, &d);
  /* Written by hand: every field has a fixed width. */
  memcpy(buf, day_names[((days % 7) + 11) % 7], 3);
  memcpy(buf + 3, ", 00 ", 5);
  buf[5] = (char)('0' + d / 10);
  buf[6] = (char)('0' + d % 10);
  memcpy(buf + 8, month_names + 3 * (m - 1), 3);
  buf[11] = ' ';
  for (int i = 3; i >= 0; i--, y /= 10)
    buf[12 + i] = (char)('0' + y % 10);
  memcpy(buf + 16, " 00:00:00 GMT", 14);
  buf[17] = (char)('0' + secs / 36000);
  buf[18] = (char)('0' + secs / 3600 % 10);
  buf[20] = (char)('0' + secs / 60 % 60 / 10);
  buf[21] = (char)('0' + secs / 60 % 10);
  buf[23] = (char)('0' + secs % 60 / 10);
  buf[24] = (char)('0' + secs % 10);
}

/* `n` decimal digits at `p` (exactly), or -1. */
static int digits_n(const char *p, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

static int month_of(const char *p) {
  for (int i = 0; i < 12; i++)
    if (memcmp(p, month_names + 3 * i, 3) == 0)
      return i + 1;
  return 0;
}

/* "HH:MM:SS" at p: seconds of the day, or -1. */
static int time_of_day(const char *p) {
  int h = digits_n(p, 2), mi = digits_n(p + 3, 2), s = digits_n(p + 6, 2);
  if (h < 0 || mi < 0 || s < 0 || p[2] != ':' || p[5] != ':' || h > 23 ||
      mi > 59 || s > 60) /* 60: a leap second (RFC 5322 section 3.3) */
    return -1;
  return h * 3600 + mi * 60 + s;
}

/*
 * An HTTP-date (RFC 9110 section 5.6.7) in any of its three formats:
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime      Sun Nov  6 08:49:37 1994
 * Returns 0 and the time, or -1 when the value is none of them.  The day
 * name is checked as a word but not against the date (recipients may
 * ignore it).  A two-digit year is the most recent year in the past with
 * those digits when it would be more than 50 years ahead of `now`, as the
 * section requires.
 */
static int parse_http_date(hw_str v, int64_t now, int64_t *when) {
  const char *p;
  int64_t y;
  int m, d, tod, wd = -1;
  size_t n;

  v = trim(v);
  p = v.data;
  n = v.len;
  for (int i = 0; i < 7 && n >= 3; i++)
    if (memcmp(p, day_names[i], 3) == 0)
      wd = i;
  if (wd < 0)
    return -1;
  if (n == 29 && p[3] == ',' && p[4] == ' ' && p[7] == ' ' && p[11] == ' ' &&
      p[16] == ' ' && memcmp(p + 25, " GMT", 4) == 0) {
    d = digits_n(p + 5, 2);
    m = month_of(p + 8);
    y = digits_n(p + 12, 4);
    tod = time_of_day(p + 17);
  } else if (n == 24 && p[3] == ' ' && p[7] == ' ' && p[10] == ' ' &&
             p[19] == ' ') {
    m = month_of(p + 4);
    d = p[8] == ' ' ? digits_n(p + 9, 1) : digits_n(p + 8, 2);
    tod = time_of_day(p + 11);
    y = digits_n(p + 20, 4);
  } else {
    size_t dl = strlen(long_day_names[wd]);
    int64_t now_y;
    unsigned nm, nd;
    if (n != dl + 24 || memcmp(p, long_day_names[wd], dl) != 0)
      return -1;
    p += dl;
    if (p[0] != ',' || p[1] != ' ' || p[4] != '-' || p[8] != '-' ||
        p[11] != ' ' || memcmp(p + 20, " GMT", 4) != 0)
      return -1;
    d = digits_n(p + 2, 2);
    m = month_of(p + 5);
    y = digits_n(p + 9, 2);
    tod = time_of_day(p + 12);
    if (y < 0)
      return -1;
    civil_from_days(now >= 0 ? now / 86400 : 0, &now_y, &nm, &nd);
    y += now_y - now_y % 100;
    if (y > now_y + 50)
      y -= 100;
  }
  if (y < 0 || m == 0 || d < 1 || tod < 0 ||
      (unsigned)d > month_days(y, (unsigned)m))
    return -1;
  *when = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + tod;
  return 0;
}

/* ------------------------------------------------------------------------
 * Entity tags (RFC 9110 section 8.8.3).
 */

/* The strong ETag of a representation: its mtime in seconds and
 * nanoseconds and its size, in hex, with the coding of a precompressed
 * sibling appended so that each representation has its own (section
 * 8.8.3: a tag identifies one representation).  Not the inode: copies of
 * the tree behind a balancer must give the same tag. */
static size_t format_etag(char *buf, size_t size, int64_t sec, long nsec,
                          uint64_t bytes, const char *coding) {
  int n = snprintf(buf, size, "\"%llx-%lx-%llx%s%s\"", (long long)sec,
                   (unsigned long)nsec, (unsigned long long)bytes,
                   coding != NULL ? "-" : "", coding != NULL ? coding : "");
  return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/*
 * Whether the list `v` (If-Match or If-None-Match: "*" or 1#entity-tag,
 * sections 13.1.1 and 13.1.2) names the representation whose tag is `tag`
 * (quoted, strong): 1 yes, 0 no, -1 the value is malformed (what came
 * before it counted).  `weak` selects the weak comparison (If-None-Match),
 * else the strong one (If-Match, where a W/ tag never matches).  One pass
 * over the value, whatever the number of tags.
 */
static int etag_match(hw_str v, const char *tag, size_t tag_len, int weak) {
  const char *p = v.data, *end = v.data + v.len, *q;
  int w;

  while (p < end) {
    while (p < end && (is_ows(*p) || *p == ','))
      p++;
    if (p == end)
      break;
    if (*p == '*') {
      p++;
      while (p < end && is_ows(*p))
        p++;
      if (p < end && *p != ',')
        return -1;
      return 1;
    }
    w = 0;
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
      w = 1;
      p += 2;
    }
    if (p == end || *p != '"')
      return -1;
    q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (q == NULL)
      return -1;
    if ((size_t)(q + 1 - p) == tag_len && memcmp(p, tag, tag_len) == 0 &&
        (weak || !w))
      return 1;
    p = q + 1;
    while (p < end && is_ows(*p))
      p++;
    if (p < end && *p != ',')
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------
 * Ranges (RFC 9110 section 14).
 */

/* Digits at *p (at least one), saturating at UINT64_MAX; -1 when none. */
static int range_number(const char **p, const char *end, uint64_t *v) {
  const char *s = *p;
  *v = 0;
  while (*p < end && **p >= '0' && **p <= '9') {
    unsigned dgt = (unsigned)(**p - '0');
    *v = *v > (UINT64_MAX - dgt) / 10 ? UINT64_MAX : *v * 10 + dgt;
    (*p)++;
  }
  return *p > s ? 0 : -1;
}

enum { RANGE_IGNORE = 0, RANGE_ONE = 1, RANGE_MANY = 2, RANGE_NONE = -1 };

/*
 * A Range field against a representation of `size` bytes (section 14.1.2):
 *   RANGE_ONE     one satisfiable range: *off, *len
 *   RANGE_MANY    more than one: answered with the whole file (14.2 lets a
 *                 server ignore Range; a multipart answer is not made)
 *   RANGE_NONE    none is satisfiable (416), "bytes=-0" included
 *   RANGE_IGNORE  another unit, or invalid syntax (a last-pos below its
 *                 first-pos is invalid, 14.1.1): the field is ignored
 * An empty file satisfies only a suffix range, and that range is empty:
 * it is answered whole (200).  One pass over the field, however many
 * ranges it lists.
 */
static int parse_range(hw_str v, uint64_t size, uint64_t *off, uint64_t *len) {
  const char *p = v.data, *end = v.data + v.len;
  uint64_t a, b;
  int nsat = 0, whole = 0, specs = 0;

  if (v.len < 6 || !ieq(p, 5, "bytes", 5) || p[5] != '=')
    return RANGE_IGNORE;
  p += 6;
  while (p < end) {
    while (p < end && (is_ows(*p) || *p == ','))
      p++;
    if (p == end)
      break;
    specs++;
    if (*p == '-') {
      p++;
      if (range_number(&p, end, &b) != 0)
        return RANGE_IGNORE;
      if (b > 0 && size == 0) {
        whole = 1;
      } else if (b > 0) {
        if (nsat++ == 0) {
          *len = b < size ? b : size;
          *off = size - *len;
        }
      }
    } else {
      if (range_number(&p, end, &a) != 0 || p == end || *p++ != '-')
        return RANGE_IGNORE;
      b = UINT64_MAX;
      if (p < end && *p >= '0' && *p <= '9')
        range_number(&p, end, &b);
      if (b < a)
        return RANGE_IGNORE;
      if (a < size && nsat++ == 0) {
        *off = a;
        *len = (b < size - 1 ? b : size - 1) - a + 1;
      }
    }
    while (p < end && is_ows(*p))
      p++;
    if (p < end && *p != ',')
      return RANGE_IGNORE;
  }
  if (specs == 0)
    return RANGE_IGNORE;
  if (nsat > 1 || (nsat == 1 && whole))
    return RANGE_MANY;
  if (nsat == 1)
    return RANGE_ONE;
  return whole ? RANGE_IGNORE : RANGE_NONE;
}

/* ------------------------------------------------------------------------
 * Accept-Encoding (RFC 9110 section 12.5.3).
 */

/* A qvalue (section 12.4.2) in thousandths, or -1. */
static int parse_qvalue(const char *p, size_t n) {
  int v;
  if (n == 0 || (p[0] != '0' && p[0] != '1'))
    return -1;
  v = (p[0] - '0') * 1000;
  if (n == 1)
    return v;
  if (p[1] != '.' || n > 5)
    return -1;
  for (size_t i = 2, scale = 100; i < n; i++, scale /= 10) {
    if (p[i] < '0' || p[i] > '9' || (v == 1000 && p[i] != '0'))
      return -1;
    v += (p[i] - '0') * (int)scale;
  }
  return v;
}

/* What an Accept-Encoding field's lines say of the codings this module
 * can send: each one's weight in thousandths, -1 when not listed. */
typedef struct accept_weights {
  int enc[NENC];
  int identity, star;
} accept_weights;

/* Reads one line of Accept-Encoding into `a`; a malformed member is
 * skipped (to the next comma). */
static void accept_line(accept_weights *a, hw_str v) {
  const char *p = v.data, *end = v.data + v.len, *tok, *pn, *pv;
  size_t tlen;
  int q, bad;

  while (p < end) {
    while (p < end && (is_ows(*p) || *p == ','))
      p++;
    if (p == end)
      break;
    tok = p;
    while (p < end && is_tchar((unsigned char)*p))
      p++;
    tlen = (size_t)(p - tok);
    q = 1000;
    bad = tlen == 0;
    /* Parameters: only "q" means anything here (section 12.4.2). */
    for (;;) {
      while (p < end && is_ows(*p))
        p++;
      if (p == end || *p != ';')
        break;
      p++;
      while (p < end && is_ows(*p))
        p++;
      pn = p;
      while (p < end && is_tchar((unsigned char)*p))
        p++;
      if (p == end || *p != '=' || p == pn) {
        bad = 1;
        break;
      }
      p++;
      pv = p;
      while (p < end && is_tchar((unsigned char)*p))
        p++;
      if (ieq(pn, (size_t)(pv - 1 - pn), "q", 1) &&
          (q = parse_qvalue(pv, (size_t)(p - pv))) < 0)
        bad = 1;
    }
    if (p < end && *p != ',')
      bad = 1;
    while (p < end && *p != ',')
      p++;
    if (bad)
      continue;
    if (tlen == 1 && tok[0] == '*')
      a->star = q;
    else if (ieq(tok, tlen, "identity", 8))
      a->identity = q;
    else if (ieq(tok, tlen, "br", 2))
      a->enc[0] = q;
    else if (ieq(tok, tlen, "gzip", 4) || ieq(tok, tlen, "x-gzip", 6))
      a->enc[1] = q; /* x-gzip: section 8.4.1.3 */
  }
}

/*
 * The representation to send: 0 for the file itself, 1 + e for the
 * sibling of encoding e.  `have` says which siblings exist, `order` the
 * route's preference among them.  Without Accept-Encoding, or with an
 * empty one, the file itself (section 12.5.3: an empty value means no
 * coding is wanted; without the field any would do, but a client that
 * did not ask is better served plain).  A sibling is a candidate when its
 * coding is listed, or matched by "*", with q > 0; the highest q wins and
 * ties go to the route's order.  The file itself wins only with a higher
 * q of its own ("identity" or "*"): a client that lists a coding wants
 * it.  When nothing listed is acceptable, not even identity, the file is
 * sent as it is, which the section allows.
 */
static int choose_rep(const hw_str *lines, int nlines, unsigned have,
                      const int *order, int norder) {
  accept_weights a = {{-1, -1}, -1, -1};
  int best = 0, bestq = 0, q;

  if (nlines == 0)
    return 0;
  for (int i = 0; i < nlines; i++)
    accept_line(&a, lines[i]);
  for (int i = 0; i < norder; i++) {
    int e = order[i];
    if (!(have & (1u << e)))
      continue;
    q = a.enc[e] >= 0 ? a.enc[e] : a.star >= 0 ? a.star : 0;
    if (q > bestq) {
      best = 1 + e;
      bestq = q;
    }
  }
  q = a.identity >= 0 ? a.identity : a.star;
  if (best != 0 && q > bestq)
    best = 0;
  return best;
}

/* ------------------------------------------------------------------------
 * Paths.
 */

/*
 * The path after the prefix (host->rest) as a path relative to the root:
 * its segments joined by '/', empty ones dropped, no leading or trailing
 * '/'; "" is the root.  `*slash` says whether it ended with '/'.  -1 (an
 * answer of 404) for a segment the route does not serve: "." or ".." (the
 * host removes them; refused again here all the same), one holding NUL,
 * one longer than NAME_MAX, one beginning with '.' unless "hidden" is on,
 * except ".well-known" as the first segment (RFC 8615; its own contents
 * follow the rule), or a path of PATH_MAX bytes or more.
 */
static int normalise(hw_str rest, int hidden, char *rel, size_t cap,
                     size_t *rel_len, int *slash) {
  size_t i = 0, o = 0, n = rest.len;
  const char *s = rest.data;
  int first = 1;

  while (i < n) {
    size_t j = i, len;
    if (s[i] == '/') {
      i++;
      continue;
    }
    while (j < n && s[j] != '/') {
      if (s[j] == '\0')
        return -1;
      j++;
    }
    len = j - i;
    if (len > SEG_MAX || (len == 1 && s[i] == '.') ||
        (len == 2 && s[i] == '.' && s[i + 1] == '.'))
      return -1;
    if (s[i] == '.' && !hidden &&
        !(first && len == 11 && memcmp(s + i, ".well-known", 11) == 0))
      return -1;
    if (o + (o > 0) + len >= cap)
      return -1;
    if (o > 0)
      rel[o++] = '/';
    memcpy(rel + o, s + i, len);
    o += len;
    first = 0;
    i = j;
  }
  rel[o] = '\0';
  *rel_len = o;
  *slash = n > 0 && s[n - 1] == '/';
  return 0;
}

static int is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes `n` bytes of `s` into `dst` (room for 3 * n), keeping
 * the unreserved characters and, when `path` is set, what a path segment
 * may hold besides and '/' (RFC 3986 section 3.3).  Returns the length. */
static size_t pct_encode(const char *s, size_t n, char *dst, int path) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c) ||
        (path && strchr("/!$&'()*+,;=:@", c) != NULL && c != '\0')) {
      dst[o++] = (char)c;
    } else {
      dst[o++] = '%';
      dst[o++] = hex[c >> 4];
      dst[o++] = hex[c & 15];
    }
  }
  return o;
}

/* HTML text: &, <, >, " and ' as references, control bytes as '?'. */
static void put_html(obuf *o, const char *s, size_t n) {
  size_t from = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *rep = NULL;
    switch (c) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&#39;"; break;
    default:
      if (c < 0x20 || c == 0x7f)
        rep = "?";
    }
    if (rep != NULL) {
      put(o, s + from, i - from);
      put(o, rep, strlen(rep));
      from = i + 1;
    }
  }
  put(o, s + from, n - from);
}

/* ------------------------------------------------------------------------
 * The MIME table: extension (lower case) to media type, from the system's
 * mime.types (Debian's media-types package), then a built-in list for
 * what it lacks or when it is missing.  Text types get charset=utf-8.
 */

typedef struct mtype {
  char *text;
  size_t len;
  hw_header *field; /* Content-Type prepared on first use, or NULL */
} mtype;

typedef struct mime_slot {
  char *ext; /* NULL: empty slot */
  size_t len;
  size_t type;
} mime_slot;

typedef struct mime_table {
  mime_slot *slots;
  size_t nslots, n; /* nslots: a power of two, at least twice n */
  mtype *types;
  size_t ntypes, cap;
} mime_table;

static const struct {
  const char *ext, *type;
} builtin_types[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"txt", "text/plain"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
    {"xml", "text/xml"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"br", "application/octet-stream"},
    {"tar", "application/x-tar"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"xhtml", "application/xhtml+xml"},
};
#define OCTET_STREAM 0 /* types[0]: the default */

static uint64_t hash_bytes(uint64_t seed, const char *s, size_t n, int fold) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)(fold ? lower(s[i]) : s[i]);
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

/* Adds a type (its text with charset=utf-8 for text/ without a
 * parameter); its index, or (size_t)-1 when out of memory. */
static size_t mime_add_type(mime_table *t, const char *s, size_t n) {
  int charset =
      n > 5 && memcmp(s, "text/", 5) == 0 && memchr(s, ';', n) == NULL;
  size_t len = n + (charset ? 15 : 0);
  mtype *ty;
  if (t->ntypes == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    mtype *p = realloc(t->types, cap * sizeof(*p));
    if (p == NULL)
      return (size_t)-1;
    t->types = p;
    t->cap = cap;
  }
  ty = &t->types[t->ntypes];
  if ((ty->text = malloc(len + 1)) == NULL)
    return (size_t)-1;
  memcpy(ty->text, s, n);
  if (charset)
    memcpy(ty->text + n, "; charset=utf-8", 15);
  ty->text[len] = '\0';
  ty->len = len;
  ty->field = NULL;
  return t->ntypes++;
}

static mime_slot *mime_slot_of(const mime_table *t, const char *ext, size_t n) {
  size_t i = (size_t)hash_bytes(0, ext, n, 1) & (t->nslots - 1);
  for (size_t k = 0; k < t->nslots; k++, i = (i + 1) & (t->nslots - 1)) {
    mime_slot *s = &t->slots[i];
    if (s->ext == NULL || ieq(ext, n, s->ext, s->len))
      return s;
  }
  return NULL; /* never: the table is at most half full */
}

static int mime_grow(mime_table *t) {
  size_t nslots = t->nslots ? t->nslots * 2 : 1024;
  mime_slot *old = t->slots;
  size_t oldn = t->nslots;
  if ((t->slots = calloc(nslots, sizeof(*t->slots))) == NULL) {
    t->slots = old;
    return -1;
  }
  t->nslots = nslots;
  for (size_t i = 0; i < oldn; i++)
    if (old[i].ext != NULL)
      *mime_slot_of(t, old[i].ext, old[i].len) = old[i];
  free(old);
  return 0;
}

/* Maps `ext` to type `ty` unless it is mapped already (the first word
 * wins).  -1 when out of memory. */
static int mime_add_ext(mime_table *t, const char *ext, size_t n, size_t ty) {
  mime_slot *s;
  if (n == 0 || n > 64)
    return 0;
  if ((t->n + 1) * 2 > t->nslots && mime_grow(t) != 0)
    return -1;
  s = mime_slot_of(t, ext, n);
  if (s->ext != NULL)
    return 0;
  if ((s->ext = malloc(n + 1)) == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    s->ext[i] = lower(ext[i]);
  s->ext[n] = '\0';
  s->len = n;
  s->type = ty;
  t->n++;
  return 0;
}

/* Reads a mime.types text: "type ext ext ...", '#' to the end of a line a
 * comment.  -1 when out of memory. */
static int mime_parse(mime_table *t, const char *text, size_t n) {
  const char *p = text, *end = text + n;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p)), *w, *hash;
    size_t ty = (size_t)-1;
    if (eol == NULL)
      eol = end;
    hash = memchr(p, '#', (size_t)(eol - p));
    if (hash != NULL)
      eol = hash;
    for (int word = 0; p < eol; word++) {
      while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
      w = p;
      while (p < eol && *p != ' ' && *p != '\t' && *p != '\r')
        p++;
      if (p == w)
        break;
      if (word == 0) {
        if (memchr(w, '/', (size_t)(p - w)) == NULL)
          break; /* not a media type: skip the line */
        if ((ty = mime_add_type(t, w, (size_t)(p - w))) == (size_t)-1)
          return -1;
      } else if (mime_add_ext(t, w, (size_t)(p - w), ty) != 0) {
        return -1;
      }
    }
    p = memchr(p, '\n', (size_t)(end - p));
    if (p == NULL)
      break;
    p++;
  }
  return 0;
}

static void mime_free(const hw_host *host, mime_table *t) {
  for (size_t i = 0; i < t->nslots; i++)
    free(t->slots[i].ext);
  for (size_t i = 0; i < t->ntypes; i++) {
    free(t->types[i].text);
    if (t->types[i].field != NULL)
      host->header_free(t->types[i].field);
  }
  free(t->slots);
  free(t->types);
  memset(t, 0, sizeof(*t));
}

/* Loads the table: the default type, `path`'s types (when it can be read;
 * `*err_no` set when it cannot), then the built-in ones.  -1 when out of
 * memory. */
static int mime_load(mime_table *t, const char *path, int *err_no) {
  char *text = NULL;
  ssize_t got = 0;
  struct stat st;
  int fd = -1, r = 0;

  *err_no = 0;
  if (mime_add_type(t, TEXT("application/octet-stream")) != OCTET_STREAM ||
      mime_grow(t) != 0)
    return -1;
  if (path != NULL) {
    fd = open_plain(path);
    if (fd < 0 || fstat(fd, &st) != 0)
      *err_no = errno;
    else if (!S_ISREG(st.st_mode))
      *err_no = EINVAL;
    else if (st.st_size > MAX_MIME_FILE)
      *err_no = EFBIG;
    else if ((text = malloc((size_t)st.st_size + 1)) == NULL)
      r = -1;
    else {
      /* A regular file: the read returns what there is, up to the size
       * seen (a file that grows meanwhile is cut there). */
      while (got < st.st_size) {
        ssize_t k = read(fd, text + got, (size_t)(st.st_size - got));
        if (k < 0 && errno == EINTR)
          continue;
        if (k <= 0)
          break;
        got += k;
      }
      r = mime_parse(t, text, (size_t)got);
    }
    if (fd >= 0)
      close(fd);
    free(text);
  }
  for (size_t i = 0;
       r == 0 && i < sizeof(builtin_types) / sizeof(*builtin_types); i++) {
    const char *e = builtin_types[i].ext, *ty = builtin_types[i].type;
    mime_slot *s = mime_slot_of(t, e, strlen(e));
    size_t k;
    if (s->ext != NULL)
      continue;
    if ((k = mime_add_type(t, ty, strlen(ty))) == (size_t)-1 ||
        mime_add_ext(t, e, strlen(e), k) != 0)
      r = -1;
  }
  return r;
}

/* The type of a file by its name's extension: after the last '.', which
 * is not the name's first byte (".profile" has none). */
static size_t mime_lookup(const mime_table *t, const char *name, size_t n) {
  const char *dot = NULL;
  mime_slot *s;
  for (size_t i = n; i > 1; i--)
    if (name[i - 1] == '.') {
      dot = name + i - 1;
      break;
    }
  if (dot == NULL || dot + 1 == name + n)
    return OCTET_STREAM;
  s = mime_slot_of(t, dot + 1, (size_t)(name + n - dot - 1));
  return s != NULL && s->ext != NULL ? s->type : OCTET_STREAM;
}

/* ------------------------------------------------------------------------
 * The route.
 */

/* What the work function may read: set in init, never written after, so
 * a pool thread reads it while the loop runs without a lock (the
 * generation, and so the route's state, outlives every work item). */
typedef struct static_conf {
  int rootfd;  /* O_PATH | O_DIRECTORY: the root as init found it */
  char *root;  /* its path, opened again by each lookup: a root that is a
                  symbolic link switched to another release (a deploy) is
                  followed, as nginx follows it */
  int openat2; /* 0: the kernel refused openat2 in init; walk instead */
  int listing, hidden;
  size_t nindex;
  char *index[MAX_INDEX];
  int nenc; /* the precompressed siblings to look for, in preference order */
  int enc[NENC];
} static_conf;

/* One representation: the file or a precompressed sibling. */
typedef struct rep {
  int fd; /* -1: absent */
  uint64_t size;
  int64_t mtime;
  long mtime_ns;
  char etag[80];
  size_t etag_len;
  char lm[30];              /* Last-Modified, unless the mtime is ahead */
  hw_header *f_etag, *f_lm; /* the same prepared, or NULL */
} rep;

/* A cached file: its key is the relative path, with a '/' appended for a
 * directory's index ("docs/" is docs/index.html). */
typedef struct entry {
  struct entry *hnext;         /* hash chain */
  struct entry *newer, *older; /* the LRU list */
  uint64_t hash;
  uint64_t checked_ms; /* when opened */
  int revalidating;    /* a request is opening it again */
  size_t type;         /* the MIME table's */
  unsigned have;       /* bit e: the sibling of encoding e is there */
  rep rep[1 + NENC];
  size_t key_len;
  char key[];
} entry;

typedef struct cache {
  entry **buckets;
  size_t nbuckets; /* a power of two */
  size_t n, max;
  entry *newest, *oldest;
  uint64_t seed;
} cache;

typedef struct static_route {
  const hw_host *host;
  static_conf conf;
  uint64_t valid_ms;
  cache cache;
  mime_table mime;
  hw_header *f_cache_control, *f_vary, *f_ranges, *f_encoding[NENC];
} static_route;

enum kind { K_FILE, K_REDIRECT, K_LISTING, K_NOTFOUND, K_FORBIDDEN, K_ERROR };

/* One lookup, handed to the pool.  Between queue_work and the done
 * callback only the work function touches it. */
typedef struct job {
  static_route *rt; /* the loop's: the work function never reads it */
  const static_conf *conf;
  hw_response *res;
  int slash; /* the request's path ended with '/' */
  /* Results: */
  int kind, err;
  size_t name_off, name_len; /* the file's own name in `path` (for MIME) */
  rep rep[1 + NENC];
  char *listing; /* K_LISTING: the lines of the list, malloc'd */
  size_t listing_len;
  int listing_cut; /* MAX_LISTING names were read, and there were more */
  size_t key_len;
  char key[REL_MAX + 2];
  char path[REL_MAX + 1 + SEG_MAX + 4];
} job;

static void job_errno(job *j, int e) {
  j->err = e;
  switch (e) {
  case ENOENT:
  case ENOTDIR:
  case ENAMETOOLONG:
  case ELOOP:
  case EXDEV: /* the path led out of the root: say nothing about it */
  case EISDIR: j->kind = K_NOTFOUND; break;
  case EACCES:
  case EPERM: j->kind = K_FORBIDDEN; break;
  default: j->kind = K_ERROR;
  }
}

typedef struct dname {
  char *s;
  int dir;
} dname;

static int name_cmp(const void *a, const void *b) {
  return strcmp(((const dname *)a)->s, ((const dname *)b)->s);
}

/* ------------------------------------------------------------------------
 * The file system: opening beneath the root, a directory's names, the
 * clocks.  The one part that differs between Linux (openat2, O_PATH
 * descriptors) and Windows (handles walked one name at a time), each in a
 * file of its own included here, where the types it reads are defined.
 */
#ifdef _WIN32
#include "static_win32.h"
#else
#include "static_posix.h"
#endif

/* The list of a directory (K_LISTING): one line per name, sorted
 * bytewise, directories with a trailing '/', hidden names left out unless
 * "hidden" is on; names escaped for HTML, links percent-encoded (every
 * byte but the unreserved ones, so that "a:b" is no scheme). */
static void list_dir(const static_conf *c, job *j) {
  dname *names = NULL;
  size_t n = 0;
  obuf o = {NULL, 0, 0, 0};
  char href[3 * SEG_MAX + 2];
  int e = read_dir(c, j->path, &names, &n, &j->listing_cut);

  if (e != 0) {
    job_errno(j, e);
    return;
  }
  if (n > 1)
    qsort(names, n, sizeof(*names), name_cmp);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(names[i].s), hl = pct_encode(names[i].s, len, href, 0);
    if (names[i].dir)
      href[hl++] = '/';
    put(&o, TEXT("<a href=\""));
    put(&o, href, hl);
    put(&o, TEXT("\">"));
    put_html(&o, names[i].s, len);
    put(&o, names[i].dir ? "/</a>\n" : "</a>\n", names[i].dir ? 6 : 5);
    free(names[i].s);
  }
  free(names);
  if (o.oom) {
    free(o.p);
    job_errno(j, ENOMEM);
    return;
  }
  j->kind = K_LISTING;
  j->listing = o.p;
  j->listing_len = o.len;
}

/* A regular file at j->path, and its siblings. */
static void open_file(const static_conf *c, job *j) {
  size_t len = strlen(j->path);
  struct stat st;
  int r = open_regular(c, j->path, &j->rep[0]);

  if (r < 0) {
    job_errno(j, -r);
    return;
  }
  j->kind = K_FILE;
  for (int k = 0; k < c->nenc; k++) {
    int e = c->enc[k];
    memcpy(j->path + len, encodings[e].suffix, 4);
    /* A sibling that is not a plain file, or that cannot be opened, is
     * as good as absent: the file itself is still there. */
    if (stat_beneath(c, j->path, &st) == 0 && S_ISREG(st.st_mode))
      open_regular(c, j->path, &j->rep[1 + e]);
  }
  j->path[len] = '\0';
}

static void lookup_in(const static_conf *c, job *j, int r,
                      const struct stat *stp);

/* The work function (a pool thread): the lookup of j->path. */
static void lookup(void *arg) {
  job *j = arg;
  static_conf now = *j->conf;
  const static_conf *c = &now;
  struct stat st;
  int r;

  /* The root as its path names it now (if it cannot be opened, as init
   * opened it: a missing root then answers 404 from there). */
  now.rootfd = j->conf->root != NULL
                   ? root_open(j->conf->root)
                   : -1;
  if (now.rootfd < 0)
    now.rootfd = j->conf->rootfd;
  r = stat_beneath(c, j->path, &st);
  lookup_in(c, j, r, &st);
  if (now.rootfd != j->conf->rootfd)
    close(now.rootfd);
}

/* The lookup of j->path beneath c's root, whose type is `st` (r: 0, or
 * -errno). */
static void lookup_in(const static_conf *c, job *j, int r,
                      const struct stat *stp) {
  struct stat st = *stp;
  size_t base;

  if (r < 0) {
    job_errno(j, -r);
    return;
  }
  if (S_ISREG(st.st_mode)) {
    if (j->slash)
      j->kind = K_NOTFOUND; /* "file/": a file is no directory */
    else
      open_file(c, j);
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    /* A FIFO, a socket, a device node: never opened for reading. */
    j->kind = K_FORBIDDEN;
    return;
  }
  if (!j->slash) {
    j->kind = K_REDIRECT;
    return;
  }
  base = strlen(j->path);
  for (size_t i = 0; i < c->nindex; i++) {
    size_t at = base + (base > 0), nl = strlen(c->index[i]);
    if (base > 0)
      j->path[base] = '/';
    memcpy(j->path + at, c->index[i], nl + 1);
    if (stat_beneath(c, j->path, &st) == 0 && S_ISREG(st.st_mode)) {
      j->name_off = at;
      j->name_len = nl;
      open_file(c, j);
      return;
    }
  }
  j->path[base] = '\0';
  if (c->listing)
    list_dir(c, j);
  else
    j->kind = K_FORBIDDEN; /* as nginx: a directory without an index */
}

/* ------------------------------------------------------------------------
 * The cache of open files (the loop's alone).
 */

static void rep_release(const hw_host *host, rep *r) {
  if (r->fd >= 0)
    close(r->fd);
  r->fd = -1;
  if (r->f_etag != NULL)
    host->header_free(r->f_etag);
  if (r->f_lm != NULL)
    host->header_free(r->f_lm);
  r->f_etag = r->f_lm = NULL;
}

static void entry_free(const hw_host *host, entry *e) {
  for (int i = 0; i < 1 + NENC; i++)
    rep_release(host, &e->rep[i]);
  free(e);
}

static entry *cache_find(const cache *c, const char *key, size_t n,
                         uint64_t h) {
  if (c->nbuckets == 0)
    return NULL;
  for (entry *e = c->buckets[h & (c->nbuckets - 1)]; e != NULL; e = e->hnext)
    if (e->hash == h && e->key_len == n && memcmp(e->key, key, n) == 0)
      return e;
  return NULL;
}

static void lru_unlink(cache *c, entry *e) {
  if (e->newer != NULL)
    e->newer->older = e->older;
  else
    c->newest = e->older;
  if (e->older != NULL)
    e->older->newer = e->newer;
  else
    c->oldest = e->newer;
  e->newer = e->older = NULL;
}

static void lru_push(cache *c, entry *e) {
  e->newer = NULL;
  e->older = c->newest;
  if (c->newest != NULL)
    c->newest->newer = e;
  c->newest = e;
  if (c->oldest == NULL)
    c->oldest = e;
}

static void cache_touch(cache *c, entry *e) {
  if (c->newest != e) {
    lru_unlink(c, e);
    lru_push(c, e);
  }
}

/* Takes `e` out of the cache and frees it (its descriptors closed: a
 * response that is still sending the file has the host's own). */
static void cache_remove(const hw_host *host, cache *c, entry *e) {
  entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
  while (*pp != e)
    pp = &(*pp)->hnext;
  *pp = e->hnext;
  lru_unlink(c, e);
  c->n--;
  entry_free(host, e);
}

/* Puts `e` in, replacing an entry of the same key and making room by
 * evicting the least recently used one. */
static void cache_put(const hw_host *host, cache *c, entry *e) {
  entry *old = cache_find(c, e->key, e->key_len, e->hash), **b;
  if (old != NULL)
    cache_remove(host, c, old);
  if (c->n >= c->max && c->oldest != NULL)
    cache_remove(host, c, c->oldest);
  b = &c->buckets[e->hash & (c->nbuckets - 1)];
  e->hnext = *b;
  *b = e;
  lru_push(c, e);
  c->n++;
}

static void cache_clear(const hw_host *host, cache *c) {
  while (c->oldest != NULL)
    cache_remove(host, c, c->oldest);
  free(c->buckets);
  c->buckets = NULL;
  c->nbuckets = 0;
}

/* The texts (and prepared fields) of a representation. */
static void rep_fields(const hw_host *host, rep *r, const char *coding,
                       int64_t now) {
  r->etag_len = format_etag(r->etag, sizeof(r->etag), r->mtime, r->mtime_ns,
                            r->size, coding);
  format_imf(r->mtime, r->lm);
  if (host->header_prepare("ETag", 4, r->etag, r->etag_len, &r->f_etag) != 0)
    r->f_etag = NULL;
  /* A modification time ahead of the clock is sent as the time of the
   * answer (RFC 9110 section 8.8.2.1): not prepared, written each time. */
  if (r->mtime > now ||
      host->header_prepare("Last-Modified", 13, r->lm, 29, &r->f_lm) != 0)
    r->f_lm = NULL;
}

/* An entry made of a job's results (its descriptors move into it). */
static entry *entry_of(static_route *rt, job *j, uint64_t now_ms) {
  entry *e = calloc(1, sizeof(*e) + j->key_len + 1);
  int64_t now = (int64_t)time(NULL);
  const char *nm;

  if (e == NULL)
    return NULL;
  memcpy(e->key, j->key, j->key_len);
  e->key_len = j->key_len;
  e->hash = hash_bytes(rt->cache.seed, j->key, j->key_len, 0);
  e->checked_ms = now_ms;
  nm = j->path + j->name_off;
  e->type = mime_lookup(&rt->mime, nm, j->name_len);
  for (int i = 0; i < 1 + NENC; i++) {
    e->rep[i] = j->rep[i];
    j->rep[i].fd = -1;
    if (e->rep[i].fd < 0)
      continue;
    if (i > 0)
      e->have |= 1u << (i - 1);
    rep_fields(rt->host, &e->rep[i], i > 0 ? encodings[i - 1].conf : NULL, now);
  }
  return e;
}

/* ------------------------------------------------------------------------
 * Answers.
 */

static int is_head(const hw_host *host, hw_request *req) {
  return str_is(host->method(req), "HEAD");
}

/* A short text answer: 403, 404, 405, 412, 416, 500, 503. */
static hw_handle_result answer(const hw_host *host, hw_response *res,
                               int status, const char *text) {
  if (host->set_status(res, status) != 0 ||
      host->add_header(res, TEXT("Content-Type"), TEXT(CT_TEXT)) != 0 ||
      host->write(res, text, strlen(text)) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static hw_handle_result answer_status(const hw_host *host, hw_response *res,
                                      int status) {
  switch (status) {
  case 403: return answer(host, res, 403, "403 Forbidden\n");
  case 404: return answer(host, res, 404, "404 Not Found\n");
  case 503: return answer(host, res, 503, "503 Service Unavailable\n");
  default: return answer(host, res, 500, "500 Internal Server Error\n");
  }
}

/* 301 to the path with '/' appended, the query kept (RFC 9110 section
 * 15.4.2); the path percent-encoded again, since the host's is decoded,
 * and with its empty segments dropped as they were to find the directory:
 * a Location beginning "//" would name another host (RFC 3986 section
 * 4.2: "//example.com" from a request for it on a route at "/"). */
static hw_handle_result redirect_slash(const hw_host *host, hw_request *req,
                                       hw_response *res) {
  hw_str path = host->path(req), q = host->query(req);
  char *loc = host->alloc(req, path.len * 3 + q.len + 3);
  char *clean = host->alloc(req, path.len + 1);
  size_t n, k = 0;

  if (loc == NULL || clean == NULL)
    return HW_ERROR;
  for (size_t i = 0; i < path.len; i++)
    if (path.data[i] != '/' || k == 0 || clean[k - 1] != '/')
      clean[k++] = path.data[i];
  n = pct_encode(clean, k, loc, 1);
  loc[n++] = '/';
  if (q.len > 0) {
    loc[n++] = '?';
    memcpy(loc + n, q.data, q.len);
    n += q.len;
  }
  if (host->add_header(res, TEXT("Location"), loc, n) != 0)
    return HW_ERROR;
  return answer(host, res, 301, "301 Moved Permanently\n");
}

static void free_mem(void *p) {
  free(p);
}

/* A directory's list: the page around the job's lines. */
static hw_handle_result answer_listing(const hw_host *host, hw_request *req,
                                       hw_response *res, job *j) {
  hw_str path = host->path(req);
  obuf o = {NULL, 0, 0, 0};

  put(&o, TEXT("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
               "<title>Index of "));
  put_html(&o, path.data, path.len);
  put(&o, TEXT("</title></head>\n<body>\n<h1>Index of "));
  put_html(&o, path.data, path.len);
  put(&o, TEXT("</h1>\n<pre>\n"));
  if (j->key_len > 1) /* not the route's root ("/") */
    put(&o, TEXT("<a href=\"../\">../</a>\n"));
  put(&o, j->listing, j->listing_len);
  if (j->listing_cut)
    put(&o, TEXT("(more names not listed)\n"));
  put(&o, TEXT("</pre>\n</body></html>\n"));
  if (o.oom) {
    free(o.p);
    return HW_ERROR;
  }
  if (host->add_header(res, TEXT("Content-Type"), TEXT(CT_HTML)) != 0) {
    free(o.p);
    return HW_ERROR;
  }
  /* The buffer is the host's until free_mem runs (also on failure). */
  return host->write_ref(res, o.p, o.len, free_mem, o.p) == 0 ? HW_HANDLED
                                                              : HW_ERROR;
}

/* The request's fields that matter here, from one pass over them. */
typedef struct fields {
  hw_str if_match[MAX_FIELD_LINES], if_none_match[MAX_FIELD_LINES],
      accept_enc[MAX_FIELD_LINES];
  int n_if_match, n_if_none_match, n_accept_enc;
  hw_str ims, ius, if_range, range;
  int n_ims, n_ius, n_if_range, n_range;
} fields;

static void add_line(hw_str *lines, int *n, hw_str v) {
  if (*n < MAX_FIELD_LINES)
    lines[*n] = v;
  (*n)++;
}

static void read_fields(const hw_host *host, hw_request *req, fields *f) {
  size_t count = host->header_count(req);
  hw_str k, v;

  memset(f, 0, sizeof(*f));
  for (size_t i = 0; i < count; i++) {
    if (host->header_at(req, i, &k, &v) != 0)
      break;
    switch (k.len) {
    case 5:
      if (ieq(k.data, k.len, "range", 5)) {
        f->range = v;
        f->n_range++;
      }
      break;
    case 8:
      if (ieq(k.data, k.len, "if-match", 8))
        add_line(f->if_match, &f->n_if_match, v);
      else if (ieq(k.data, k.len, "if-range", 8)) {
        f->if_range = v;
        f->n_if_range++;
      }
      break;
    case 13:
      if (ieq(k.data, k.len, "if-none-match", 13))
        add_line(f->if_none_match, &f->n_if_none_match, v);
      break;
    case 15:
      if (ieq(k.data, k.len, "accept-encoding", 15))
        add_line(f->accept_enc, &f->n_accept_enc, v);
      break;
    case 17:
      if (ieq(k.data, k.len, "if-modified-since", 17)) {
        f->ims = v;
        f->n_ims++;
      }
      break;
    case 19:
      if (ieq(k.data, k.len, "if-unmodified-since", 19)) {
        f->ius = v;
        f->n_ius++;
      }
      break;
    default: break;
    }
  }
}

/* Whether a list field's lines name the tag: more lines than are kept
 * count as a list that names nothing. */
static int list_matches(const hw_str *lines, int n, const rep *r, int weak) {
  if (n > MAX_FIELD_LINES)
    return 0;
  for (int i = 0; i < n; i++)
    if (etag_match(lines[i], r->etag, r->etag_len, weak) == 1)
      return 1;
  return 0;
}

/*
 * The preconditions of RFC 9110 section 13.2.2, in its order, for a GET or
 * HEAD of an existing representation: 412, 304, or 0 to go on.  Dates are
 * compared at the second, which is what Last-Modified carries; a date
 * field that is not one HTTP-date is ignored (13.1.3, 13.1.4).
 */
static int preconditions(const fields *f, const rep *r, int64_t lm,
                         int64_t now) {
  int64_t t;

  /* 1, 2: If-Match (strong comparison), else If-Unmodified-Since. */
  if (f->n_if_match > 0) {
    if (!list_matches(f->if_match, f->n_if_match, r, 0))
      return 412;
  } else if (f->n_ius == 1 && parse_http_date(f->ius, now, &t) == 0 && lm > t) {
    return 412;
  }
  /* 3, 4: If-None-Match (weak comparison), else If-Modified-Since. */
  if (f->n_if_none_match > 0) {
    if (list_matches(f->if_none_match, f->n_if_none_match, r, 1))
      return 304;
  } else if (f->n_ims == 1 && parse_http_date(f->ims, now, &t) == 0 &&
             lm <= t) {
    return 304;
  }
  return 0;
}

/* If-Range (section 13.1.5): whether the Range may be honoured.  An
 * entity-tag must match strongly; a date must be exactly the
 * Last-Modified, which must itself be strong: at least a second older than
 * the answer (section 8.8.2.2). */
static int if_range_holds(const fields *f, const rep *r, int64_t lm,
                          int64_t now) {
  hw_str v = trim(f->if_range);
  int64_t t;

  if (f->n_if_range == 0)
    return 1;
  if (f->n_if_range > 1)
    return 0;
  if (v.len > 0 && (v.data[0] == '"' || v.data[0] == 'W'))
    return v.len == r->etag_len && memcmp(v.data, r->etag, v.len) == 0;
  return parse_http_date(v, now, &t) == 0 && t == lm && lm < now;
}

static int put_field(const hw_host *host, hw_response *res,
                     const hw_header *prepared, const char *field,
                     size_t field_len, const char *value, size_t value_len) {
  if (prepared != NULL)
    return host->add_prepared(res, prepared);
  return host->add_header(res, field, field_len, value, value_len);
}

/* Answers a GET or HEAD of a cached (or just opened) file. */
static hw_handle_result serve_file(static_route *rt, hw_request *req,
                                   hw_response *res, entry *e) {
  const hw_host *host = rt->host;
  int head = is_head(host, req), v, status, rr = RANGE_IGNORE;
  int64_t now = (int64_t)time(NULL), lm;
  uint64_t off = 0, len;
  char lmbuf[30], cr[80];
  mtype *ty = &rt->mime.types[e->type];
  fields f;
  rep *r;
  int n;

  read_fields(host, req, &f);
  v = choose_rep(f.accept_enc,
                 f.n_accept_enc > MAX_FIELD_LINES ? 0 : f.n_accept_enc, e->have,
                 rt->conf.enc, rt->conf.nenc);
  r = &e->rep[v];
  lm = r->mtime <= now ? r->mtime : now;
  if (r->f_lm == NULL)
    format_imf(lm, lmbuf);
  else
    memcpy(lmbuf, r->lm, 30);
  len = r->size;

  /* Vary on every answer about a file that has siblings, the plain one
   * too (section 12.5.5): a cache must not hand the plain file to a
   * client that asked for br, nor the other way round. */
  if (e->have != 0 && host->add_prepared(res, rt->f_vary) != 0)
    return HW_ERROR;
  status = preconditions(&f, r, lm, now);
  if (status == 412)
    return answer(host, res, 412, "412 Precondition Failed\n");
  if (put_field(host, res, r->f_etag, TEXT("ETag"), r->etag, r->etag_len) !=
          0 ||
      put_field(host, res, r->f_lm, TEXT("Last-Modified"), lmbuf, 29) != 0)
    return HW_ERROR;
  /* Cache-Control on 304, 200 and 206 only: a shared cache keeps a 416
   * under the plain URL (it does not key on Range), and would answer every
   * later client with it. */
  if (status == 304)
    /* No body, and no Content-Length from the host (section 15.4.5). */
    return (rt->f_cache_control == NULL ||
            host->add_prepared(res, rt->f_cache_control) == 0) &&
                   host->set_status(res, 304) == 0
               ? HW_HANDLED
               : HW_ERROR;
  if (host->add_prepared(res, rt->f_ranges) != 0)
    return HW_ERROR;
  /* Range is defined for GET only (section 14.2): HEAD gets the 200. */
  if (!head && f.n_range == 1 && if_range_holds(&f, r, lm, now))
    rr = parse_range(f.range, r->size, &off, &len);
  if (rr == RANGE_NONE) {
    n = snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)r->size);
    if (host->add_header(res, TEXT("Content-Range"), cr, (size_t)n) != 0)
      return HW_ERROR;
    return answer(host, res, 416, "416 Range Not Satisfiable\n");
  }
  if (rr != RANGE_ONE) {
    off = 0;
    len = r->size;
  }
  if (rt->f_cache_control != NULL &&
      host->add_prepared(res, rt->f_cache_control) != 0)
    return HW_ERROR;
  if (ty->field == NULL)
    host->header_prepare(TEXT("Content-Type"), ty->text, ty->len, &ty->field);
  if (put_field(host, res, ty->field, TEXT("Content-Type"), ty->text,
                ty->len) != 0 ||
      (v > 0 && host->add_prepared(res, rt->f_encoding[v - 1]) != 0))
    return HW_ERROR;
  if (rr == RANGE_ONE) {
    n = snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
                 (unsigned long long)off, (unsigned long long)(off + len - 1),
                 (unsigned long long)r->size);
    if (host->set_status(res, 206) != 0 ||
        host->add_header(res, TEXT("Content-Range"), cr, (size_t)n) != 0)
      return HW_ERROR;
  }
  if (host->stream(res, (int64_t)len) != 0)
    return HW_ERROR;
  /* One region, however large: the host sends it in pieces as the client
   * takes them (HW_CONGESTED only says so; there is nothing more to
   * write).  The host took its own descriptor. */
  if (len > 0 && host->write_file(res, r->fd, off, len) < 0)
    return HW_ERROR;
  return HW_HANDLED;
}

/* The done callback (the loop): fills the cache and answers. */
static void opened(hw_request *req, void *arg, int status) {
  job *j = arg;
  static_route *rt = j->rt;
  const hw_host *host = rt->host;
  hw_response *res = j->res;
  cache *c = &rt->cache;
  uint64_t h = hash_bytes(c->seed, j->key, j->key_len, 0);
  entry *old = cache_find(c, j->key, j->key_len, h), *e;
  hw_handle_result r;

  if (old != NULL)
    old->revalidating = 0;
  if (status != 0) {
    /* HW_ECANCELED: the work never ran (its generation was given up). */
    r = answer_status(host, res, 503);
  } else {
    /* No longer a file (a directory now, or gone): what was cached under
     * the key goes, with its descriptors. */
    if (j->kind != K_FILE && old != NULL) {
      cache_remove(host, c, old);
      old = NULL;
    }
    switch (j->kind) {
    case K_FILE:
      if ((e = entry_of(rt, j, mono_ms())) == NULL) {
        r = answer_status(host, res, 500);
        break;
      }
      if (c->max > 0) {
        cache_put(host, c, e);
        r = serve_file(rt, req, res, e);
      } else {
        r = serve_file(rt, req, res, e);
        entry_free(host, e);
      }
      break;
    case K_REDIRECT: r = redirect_slash(host, req, res); break;
    case K_LISTING: r = answer_listing(host, req, res, j); break;
    default:
      r = answer_status(
          host, res,
          j->kind == K_NOTFOUND                                      ? 404
          : j->kind == K_FORBIDDEN                                   ? 403
          : j->err == EMFILE || j->err == ENFILE || j->err == EAGAIN ? 503
                                                                     : 500);
    }
  }
  if (r == HW_ERROR)
    host->set_status(res, 500); /* refused once the answer streams */
  for (int i = 0; i < 1 + NENC; i++)
    if (j->rep[i].fd >= 0)
      close(j->rep[i].fd);
  free(j->listing);
  free(j);
  host->finish(res);
}

static hw_handle_result static_handle(void *state, hw_request *req,
                                      hw_response *res) {
  static_route *rt = state;
  const hw_host *host = rt->host;
  hw_str method = host->method(req), rest = host->rest(req);
  char key[REL_MAX + 2];
  size_t rel_len, key_len;
  uint64_t h, now_ms;
  entry *e;
  job *j;
  int slash;

  if (!str_is(method, "GET") && !str_is(method, "HEAD")) {
    if (host->add_header(res, TEXT("Allow"), TEXT("GET, HEAD")) != 0)
      return HW_ERROR;
    return answer(host, res, 405, "405 Method Not Allowed\n");
  }
  /* The prefix itself names the root directory: its slash form. */
  if (rest.len == 0)
    return redirect_slash(host, req, res);
  if (normalise(rest, rt->conf.hidden, key, REL_MAX, &rel_len, &slash) != 0)
    return answer_status(host, res, 404);
  key_len = rel_len;
  if (slash)
    key[key_len++] = '/';
  key[key_len] = '\0';

  h = hash_bytes(rt->cache.seed, key, key_len, 0);
  e = cache_find(&rt->cache, key, key_len, h);
  if (e != NULL) {
    now_ms = mono_ms();
    if (e->revalidating || now_ms - e->checked_ms < rt->valid_ms) {
      cache_touch(&rt->cache, e);
      return serve_file(rt, req, res, e);
    }
  }

  if ((j = malloc(sizeof(*j))) == NULL)
    return answer_status(host, res, 503);
  memset(j, 0, offsetof(job, key));
  j->rt = rt;
  j->conf = &rt->conf;
  j->res = res;
  j->slash = slash;
  for (int i = 0; i < 1 + NENC; i++)
    j->rep[i].fd = -1;
  memcpy(j->key, key, key_len + 1);
  j->key_len = key_len;
  memcpy(j->path, key, rel_len);
  j->path[rel_len] = '\0';
  /* The file's own name, for its type: the last segment. */
  {
    const char *s = memrchr(j->path, '/', rel_len);
    j->name_off = s != NULL ? (size_t)(s + 1 - j->path) : 0;
    j->name_len = rel_len - j->name_off;
  }
  if (host->queue_work(req, lookup, opened, j) != 0) {
    free(j);
    return answer_status(host, res, 503);
  }
  if (e != NULL)
    e->revalidating = 1; /* others are answered from it meanwhile */
  return HW_DEFERRED;
}

/* ------------------------------------------------------------------------
 * init and fini.
 */

static void route_free(static_route *rt) {
  const hw_host *host = rt->host;
  cache_clear(host, &rt->cache);
  mime_free(host, &rt->mime);
  for (size_t i = 0; i < rt->conf.nindex; i++)
    free(rt->conf.index[i]);
  host->header_free(rt->f_cache_control);
  host->header_free(rt->f_vary);
  host->header_free(rt->f_ranges);
  for (int i = 0; i < NENC; i++)
    host->header_free(rt->f_encoding[i]);
  if (rt->conf.rootfd >= 0)
    close(rt->conf.rootfd);
  free(rt->conf.root);
  free(rt);
}

static void static_fini(void *state) {
  route_free(state);
}

/* An integer key within [lo, hi], or `dflt` when absent.  0, or -1 with
 * the reason (naming routes[i].config.<key>) in err. */
static int conf_range(const hw_host *host, const hw_conf *conf, const char *key,
                      int64_t lo, int64_t hi, int64_t dflt, int64_t *v,
                      char *err, size_t err_len) {
  char what[80];
  int r = host->conf_int(conf, key, v, err, err_len);
  if (r == HW_ENOENT) {
    *v = dflt;
    return 0;
  }
  if (r != 0)
    return -1;
  if (*v < lo || *v > hi) {
    snprintf(what, sizeof(what), "must be from %lld to %lld", (long long)lo,
             (long long)hi);
    host->conf_error(conf, key, what, err, err_len);
    return -1;
  }
  return 0;
}

/* A file name of the "index" list: one segment. */
static int index_name_ok(hw_str s) {
  if (s.len == 0 || s.len > SEG_MAX || str_is(s, ".") || str_is(s, ".."))
    return 0;
  return memchr(s.data, '/', s.len) == NULL &&
         memchr(s.data, '\0', s.len) == NULL;
}

static int read_index(static_route *rt, const hw_conf *conf, char *err,
                      size_t err_len) {
  const hw_host *host = rt->host;
  const hw_conf *list = host->conf_find(conf, "index");
  char path[48];
  hw_str s;
  size_t n;

  if (list == NULL) {
    if ((rt->conf.index[0] = strdup("index.html")) == NULL)
      goto oom;
    rt->conf.nindex = 1;
    return 0;
  }
  if (host->conf_type(list) != HW_CONF_ARRAY) {
    host->conf_error(conf, "index", "expected an array of file names", err,
                     err_len);
    return -1;
  }
  if ((n = host->conf_count(list)) > MAX_INDEX) {
    host->conf_error(conf, "index", "at most 16 names", err, err_len);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof(path), "index[%zu]", i);
    if (host->conf_string(conf, path, &s, err, err_len) != 0)
      return -1;
    if (!index_name_ok(s)) {
      host->conf_error(conf, path,
                       "must be a file name (no '/', not empty, \".\" or "
                       "\"..\")",
                       err, err_len);
      return -1;
    }
    if ((rt->conf.index[i] = strndup(s.data, s.len)) == NULL)
      goto oom;
    rt->conf.nindex = i + 1;
  }
  return 0;
oom:
  snprintf(err, err_len, "static: out of memory");
  return -1;
}

static int read_precompressed(static_route *rt, const hw_conf *conf, char *err,
                              size_t err_len) {
  const hw_host *host = rt->host;
  const hw_conf *list = host->conf_find(conf, "precompressed");
  unsigned seen = 0;
  char path[48];
  hw_str s;
  size_t n;

  if (list == NULL)
    return 0;
  if (host->conf_type(list) != HW_CONF_ARRAY) {
    host->conf_error(conf, "precompressed",
                     "expected an array of \"br\" and \"gz\"", err, err_len);
    return -1;
  }
  n = host->conf_count(list);
  for (size_t i = 0; i < n; i++) {
    int e = -1;
    snprintf(path, sizeof(path), "precompressed[%zu]", i);
    if (host->conf_string(conf, path, &s, err, err_len) != 0)
      return -1;
    for (int k = 0; k < NENC; k++)
      if (str_is(s, encodings[k].conf))
        e = k;
    if (e < 0 || (seen & (1u << e))) {
      host->conf_error(conf, path,
                       e < 0 ? "expected \"br\" or \"gz\"" : "named twice", err,
                       err_len);
      return -1;
    }
    seen |= 1u << e;
    rt->conf.enc[rt->conf.nenc++] = e;
  }
  return 0;
}

/* The root: an absolute path to a directory, opened once. */
static int read_root(static_route *rt, const hw_conf *conf, char *err,
                     size_t err_len) {
  const hw_host *host = rt->host;
  char path[REL_MAX], what[REL_MAX + 64];
  hw_str s;
  int r = host->conf_string(conf, "root", &s, err, err_len), e;

  if (r == HW_ENOENT) {
    host->conf_error(conf, "root", "is missing", err, err_len);
    return -1;
  }
  if (r != 0)
    return -1;
  if (s.len == 0 || !path_absolute(s.data, s.len) || s.len >= sizeof(path) ||
      memchr(s.data, '\0', s.len) != NULL) {
    host->conf_error(conf, "root", "must be an absolute path", err, err_len);
    return -1;
  }
  memcpy(path, s.data, s.len);
  path[s.len] = '\0';
  rt->conf.rootfd = root_open(path);
  if (rt->conf.rootfd >= 0 && (rt->conf.root = strdup(path)) == NULL) {
    snprintf(err, err_len, "static: out of memory");
    return -1;
  }
  if (rt->conf.rootfd < 0) {
    e = errno;
    snprintf(what, sizeof(what), "%s: %s", path,
             e == ENOTDIR ? "not a directory" : strerror(e));
    host->conf_error(conf, "root", what, err, err_len);
    return -1;
  }
  return 0;
}

static int read_mime(static_route *rt, const hw_conf *conf, char *err,
                     size_t err_len) {
  const hw_host *host = rt->host;
  char path[REL_MAX], what[REL_MAX + 64];
  hw_str s;
  int r = host->conf_string(conf, "mime_types", &s, err, err_len), e;

  if (r != 0 && r != HW_ENOENT)
    return -1;
  if (r == 0 && (s.len == 0 || s.len >= sizeof(path) ||
                 memchr(s.data, '\0', s.len) != NULL)) {
    host->conf_error(conf, "mime_types", "must be a file's path", err, err_len);
    return -1;
  }
  if (r == 0) {
    memcpy(path, s.data, s.len);
    path[s.len] = '\0';
  } else {
    snprintf(path, sizeof(path), "%s", DEFAULT_MIME_TYPES);
  }
  if (mime_load(&rt->mime, path, &e) != 0) {
    snprintf(err, err_len, "static: out of memory");
    return -1;
  }
  /* The default table may be missing (no media-types package): the
   * built-in list does then.  A table the config names must be there. */
  if (e != 0 && r == 0) {
    snprintf(what, sizeof(what), "%s: %s", path,
             e == EINVAL  ? "not a regular file"
             : e == EFBIG ? "larger than 4 MiB"
                          : strerror(e));
    host->conf_error(conf, "mime_types", what, err, err_len);
    return -1;
  }
  return 0;
}

static int prepare(const hw_host *host, const char *field, const char *value,
                   hw_header **h) {
  return host->header_prepare(field, strlen(field), value, strlen(value), h);
}

static int static_init(const hw_host *host, const char *config,
                       size_t config_len, void **state, char *err,
                       size_t err_len) {
  static const char *const keys[] = {"root",
                                     "index",
                                     "precompressed",
                                     "cache_control",
                                     "listing",
                                     "hidden",
                                     "mime_types",
                                     "open_file_cache_valid_ms",
                                     "open_file_cache_max",
                                     NULL};
  const hw_conf *conf;
  static_route *rt;
  hw_str cc;
  int64_t v;
  int r;

  (void)config_len;
  if (!HW_HOST_HAS(host, write_file) || host->write_file == NULL) {
    snprintf(err, err_len,
             "static.so needs a host of ABI 1.3 or later (this one is %u.%u)",
             (unsigned)host->abi_major, (unsigned)host->abi_minor);
    return -1;
  }
  conf = host->config(config);
  if (host->conf_keys(conf, keys, err, err_len) != 0)
    return -1;
  if ((rt = calloc(1, sizeof(*rt))) == NULL) {
    snprintf(err, err_len, "static: out of memory");
    return -1;
  }
  rt->host = host;
  rt->conf.rootfd = -1;
  if (read_root(rt, conf, err, err_len) != 0 ||
      read_index(rt, conf, err, err_len) != 0 ||
      read_precompressed(rt, conf, err, err_len) != 0)
    goto fail;
  r = host->conf_bool(conf, "listing", &rt->conf.listing, err, err_len);
  if (r != 0 && r != HW_ENOENT)
    goto fail;
  r = host->conf_bool(conf, "hidden", &rt->conf.hidden, err, err_len);
  if (r != 0 && r != HW_ENOENT)
    goto fail;
  if (conf_range(host, conf, "open_file_cache_valid_ms", 0, MAX_VALID_MS,
                 DEFAULT_VALID_MS, &v, err, err_len) != 0)
    goto fail;
  rt->valid_ms = (uint64_t)v;
  if (conf_range(host, conf, "open_file_cache_max", 0, MAX_CACHE_MAX,
                 DEFAULT_CACHE_MAX, &v, err, err_len) != 0)
    goto fail;
  rt->cache.max = (size_t)v;
  r = host->conf_string(conf, "cache_control", &cc, err, err_len);
  if (r != 0 && r != HW_ENOENT)
    goto fail;
  if (r == 0 && (cc.len == 0 ||
                 host->header_prepare(TEXT("Cache-Control"), cc.data, cc.len,
                                      &rt->f_cache_control) != 0)) {
    host->conf_error(conf, "cache_control",
                     "must be a field value (not empty, no CR, LF or NUL)", err,
                     err_len);
    goto fail;
  }
  if (read_mime(rt, conf, err, err_len) != 0)
    goto fail;
  if (prepare(host, "Vary", "Accept-Encoding", &rt->f_vary) != 0 ||
      prepare(host, "Accept-Ranges", "bytes", &rt->f_ranges) != 0 ||
      prepare(host, "Content-Encoding", encodings[0].coding,
              &rt->f_encoding[0]) != 0 ||
      prepare(host, "Content-Encoding", encodings[1].coding,
              &rt->f_encoding[1]) != 0) {
    snprintf(err, err_len, "static: out of memory");
    goto fail;
  }
  if (rt->cache.max > 0) {
    size_t nb = 16;
    while (nb < rt->cache.max)
      nb *= 2;
    if ((rt->cache.buckets = calloc(nb, sizeof(entry *))) == NULL) {
      snprintf(err, err_len, "static: out of memory");
      goto fail;
    }
    rt->cache.nbuckets = nb;
  }
  /* The keys come from clients: a seed of this process's own keeps them
   * from choosing which bucket they fall in. */
  {
    struct timespec ts;
    real_time(&ts);
    rt->cache.seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
                     (uint64_t)(uintptr_t)rt ^ ((uint64_t)getpid() << 40);
  }
  rt->conf.openat2 = probe_openat2(rt->conf.rootfd);
  *state = rt;
  return 0;
fail:
  route_free(rt);
  return -1;
}

HW_MODULE_DEFINE("static", "1.0", static_init, static_handle, static_fini);
