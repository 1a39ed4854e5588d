/*
 * access_log.c - the access log of one worker process (see access_log.h):
 * its open files, the two line formats, the buffers and their flushes,
 * reopening after a rotation, and what it does when a file fails.
 *
 * A line is formatted into the table's scratch buffer, then appended to its
 * file's buffer, which only ever holds whole lines: a flush is one write(2)
 * of whole lines to a descriptor opened with O_APPEND, so lines of several
 * workers sharing the file never interleave inside a line, and a rotation
 * (flush to the old file, then open the path anew) never splits one across
 * two files.  Serving never waits on the log and never stops for it: a file
 * that cannot be opened or written drops its lines, counts them, and says
 * so once on stderr (again only after it has worked in between).
 *
 * Timestamps come from the request's uv_hrtime() start and a wall-clock
 * base the flush timer refreshes every second, so a line costs no clock
 * call of its own; the text of the current second is cached.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "log.h"
#include "os.h"

static const char hex[] = "0123456789ABCDEF";

/* ---- escaping ------------------------------------------------------------ */

/* The length of the well-formed UTF-8 sequence at `s` (RFC 3629: no
 * overlong form, no surrogate, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0], lo = 0x80, hi = 0xbf;
  if (c < 0xc2 || c > 0xf4)
    return 0;
  if (c < 0xe0)
    return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c == 0xe0)
    lo = 0xa0; /* overlong below */
  else if (c == 0xed)
    hi = 0x9f; /* surrogates above */
  else if (c == 0xf0)
    lo = 0x90;
  else if (c == 0xf4)
    hi = 0x8f; /* past U+10FFFF above */
  if (c < 0xf0)
    return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3
                                                                         : 0;
  return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
                 (s[3] & 0xc0) == 0x80
             ? 4
             : 0;
}

int hw__access_log_escape(hw__buf *out, const char *s, size_t n, int json) {
  const unsigned char *u = (const unsigned char *)s;
  char *p;

  if (n == 0)
    return 0;
  if (hw__buf_reserve(out, n * 6) != 0)
    return HW_ENOMEM;
  p = out->data + out->len;
  for (size_t i = 0; i < n;) {
    unsigned c = u[i];
    size_t k;
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      *p++ = (char)c;
      i++;
      continue;
    }
    if (json && (c == '"' || c == '\\')) {
      *p++ = '\\';
      *p++ = (char)c;
      i++;
      continue;
    }
    if (json && c >= 0x80 && (k = utf8_len(u + i, n - i)) != 0) {
      memcpy(p, u + i, k);
      p += k;
      i += k;
      continue;
    }
    /* JSON's \u00XX, or nginx's \xXX (which makes a combined line ASCII). */
    if (json) {
      memcpy(p, "\\u00", 4);
      p += 4;
    } else {
      *p++ = '\\';
      *p++ = 'x';
    }
    *p++ = hex[c >> 4];
    *p++ = hex[c & 15];
    i++;
  }
  out->len = (size_t)(p - out->data);
  return 0;
}

/* ---- files --------------------------------------------------------------- */

static int open_path(const char *path) { return hw__os_open_log(path, 1); }

/* An existing file is opened for appending; a missing one is not made
 * here (`haywire -t` run as root would leave a root-owned file the server,
 * running as its own user, could not open): its directory must let this
 * user create it. */
int hw__access_log_probe(const char *path, char *err, size_t err_len) {
  int fd = hw__os_open_log(path, 0), e = errno;
  char dir[4096];
  const char *slash;

  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (e == ENOENT && (slash = hw__os_path_last_sep(path)) != NULL &&
      (size_t)(slash - path) < sizeof(dir)) {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (access(dir[0] != '\0' ? dir : "/", W_OK | X_OK) == 0)
      return 0;
    e = errno;
  }
  snprintf(err, err_len, "%s: %s", path, strerror(e));
  return -e;
}

/* Lines in `n` bytes of a buffer of whole lines. */
static size_t count_lines(const char *p, size_t n) {
  size_t k = 0;
  for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL;
       p++)
    k++;
  return k;
}

/* Says how many lines were dropped since it last said, once writing works
 * again (or at exit): the count is what an operator needs to know. */
static void tell_dropped(hw__access_file *f) {
  if (f->dropped == f->dropped_told)
    return;
  hw__log(HW_LOG_WARN, "access log %s: %llu line(s) dropped", f->path,
          (unsigned long long)(f->dropped - f->dropped_told));
  f->dropped_told = f->dropped;
}

/* One write(2) of the whole buffer, never a second for the rest of a short
 * one: other workers append to the same file meanwhile, so the rest would
 * land after their lines, split from its start.  A short write (a full
 * disk) loses the lines it did not finish; if it stopped inside a line,
 * the next write begins with a newline, so that only that line is bad. */
static void flush_file(hw__access_file *f) {
  hw__os_iov iov[2] = {{(void *)"\n", 1}, {f->buf.data, f->buf.len}};
  size_t lost = 0, sent;
  ssize_t w;
  int e;

  if (f->buf.len == 0)
    return;
  if (f->fd < 0) {
    lost = f->nbuf;
  } else {
    w = hw__os_append_v(f->fd, iov + !f->torn, f->torn ? 2 : 1);
    e = w == 0 ? EIO : (int)-w;
    f->flushes++;
    if (w > 0 && f->torn) {
      f->torn = 0;
      w--; /* the newline */
    }
    sent = w > 0 ? (size_t)w : 0;
    if (sent < f->buf.len) {
      lost = count_lines(f->buf.data + sent, f->buf.len - sent);
      if (sent > 0)
        f->torn = f->buf.data[sent - 1] != '\n';
      if (w >= 0 && e != ENOSPC)
        e = ENOSPC; /* a short write to a file: it is full */
      if (e != f->write_errno)
        hw__log(HW_LOG_ERROR,
                "access log %s: write: %s; lines are dropped (and counted) "
                "until it works again",
                f->path, strerror(e));
      f->write_errno = e;
    } else if (f->write_errno != 0) {
      f->write_errno = 0;
      tell_dropped(f);
    }
  }
  f->lines += f->nbuf - lost;
  f->dropped += lost;
  f->buf.len = 0;
  f->nbuf = 0;
}

static void report_open(hw__access_file *f, int e, const char *what) {
  if (e == f->open_errno)
    return;
  f->open_errno = e;
  hw__log(HW_LOG_ERROR, "access log %s: cannot open: %s; %s", f->path,
          strerror(e), what);
}

/* ---- the clock ----------------------------------------------------------- */

static void set_clock(hw__access_log *al) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  al->mono_base = uv_hrtime();
  al->wall_base = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_timer(uv_timer_t *t) {
  hw__access_log *al = t->data;
  set_clock(al);
  hw__access_log_flush(al);
}

/* The texts of second `sec` (since 1970, UTC). */
static void set_stamps(hw__access_log *al, int64_t sec) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct tm tm;

  hw__os_gmtime(sec, &tm);
  snprintf(al->iso, sizeof(al->iso), "%04d-%02d-%02dT%02d:%02d:%02d.",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
  snprintf(al->clf, sizeof(al->clf), "%02d/%.3s/%04d:%02d:%02d:%02d +0000",
           tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
  al->stamp_sec = sec;
}

/* ---- the table ----------------------------------------------------------- */

void hw__access_log_init(hw__access_log *al, uv_loop_t *loop, int worker) {
  memset(al, 0, sizeof(*al));
  al->loop = loop;
  al->worker = worker;
  al->stamp_sec = -1;
  set_clock(al);
}

hw__access_file *hw__access_log_open(hw__access_log *al, const char *path,
                                     int json) {
  hw__access_file *f;

  for (f = al->files; f != NULL; f = f->next)
    if (f->json == json && strcmp(f->path, path) == 0)
      return f;
  if (al->loop != NULL && al->timer == NULL) {
    if ((al->timer = malloc(sizeof(*al->timer))) == NULL)
      return NULL;
    uv_timer_init(al->loop, al->timer);
    al->timer->data = al;
    uv_timer_start(al->timer, on_timer, HW__ACCESS_LOG_FLUSH_MS,
                   HW__ACCESS_LOG_FLUSH_MS);
    uv_unref((uv_handle_t *)al->timer); /* it keeps no loop alive */
  }
  if ((f = calloc(1, sizeof(*f))) == NULL ||
      (f->path = strdup(path)) == NULL) {
    free(f);
    return NULL;
  }
  f->json = json;
  if ((f->fd = open_path(path)) < 0)
    report_open(f, errno, "its lines are dropped (and counted) until a "
                          "reopen succeeds");
  f->next = al->files;
  al->files = f;
  return f;
}

void hw__access_log_flush(hw__access_log *al) {
  for (hw__access_file *f = al->files; f != NULL; f = f->next)
    flush_file(f);
}

size_t hw__access_log_reopen(hw__access_log *al) {
  size_t n = 0;
  for (hw__access_file *f = al->files; f != NULL; f = f->next) {
    int fd;
    /* What was logged before the rotation goes to the renamed file. */
    flush_file(f);
    if ((fd = open_path(f->path)) < 0) {
      report_open(f, errno, f->fd >= 0 ? "still writing to the old file"
                                       : "its lines are dropped");
      continue;
    }
    if (f->fd >= 0)
      close(f->fd);
    f->fd = fd;
    f->open_errno = 0;
    n++;
  }
  return n;
}

static void free_timer(uv_handle_t *h) {
  free(h);
}

void hw__access_log_stop(hw__access_log *al) {
  hw__access_log_flush(al);
  if (al->timer != NULL)
    uv_close((uv_handle_t *)al->timer, free_timer);
  al->timer = NULL;
}

void hw__access_log_destroy(hw__access_log *al) {
  hw__access_log_flush(al);
  while (al->files != NULL) {
    hw__access_file *f = al->files;
    al->files = f->next;
    tell_dropped(f);
    if (f->fd >= 0)
      close(f->fd);
    hw__buf_free(&f->buf);
    free(f->path);
    free(f);
  }
  hw__buf_free(&al->line);
  /* A timer not stopped belongs to a loop that is gone. */
  al->timer = NULL;
}

/* ---- lines --------------------------------------------------------------- */

static void put(hw__buf *b, const char *s, size_t n) {
  hw__buf_append(b, s, n);
}
/* (`lit` must be a string literal: its size is taken.) */
#define PUT(b, lit) put((b), "" lit, sizeof(lit) - 1)

static void put_u64(hw__buf *b, uint64_t v) {
  char t[24], *p = t + sizeof(t);
  do
    *--p = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  put(b, p, (size_t)(t + sizeof(t) - p));
}

/* A JSON string, or null when the text is absent. */
static void put_jstr(hw__buf *b, const char *s, size_t n) {
  if (s == NULL) {
    PUT(b, "null");
    return;
  }
  PUT(b, "\"");
  hw__access_log_escape(b, s, n, 1);
  PUT(b, "\"");
}

/* A quoted combined-format field: "-" when absent. */
static void put_qstr(hw__buf *b, const hw__access_text *t) {
  PUT(b, "\"");
  if (t->data == NULL)
    PUT(b, "-");
  else
    hw__access_log_escape(b, t->data, t->len, 0);
  PUT(b, "\"");
}

static void json_line(hw__access_log *al, hw__buf *b, const hw__access_record *r,
                      unsigned ms) {
  char msz[8] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
                 (char)('0' + ms % 10), 'Z', '"', 0};
  PUT(b, "{\"time\":\"");
  put(b, al->iso, 20);
  put(b, msz, 5);
  PUT(b, ",\"remote_addr\":");
  put_jstr(b, r->remote.data, r->remote.len);
  PUT(b, ",\"host\":");
  put_jstr(b, r->host.data, r->host.len);
  PUT(b, ",\"method\":");
  put_jstr(b, r->method.data, r->method.len);
  PUT(b, ",\"target\":");
  put_jstr(b, r->target.data, r->target.len);
  if (r->version == 10)
    PUT(b, ",\"protocol\":\"HTTP/1.0\",\"status\":");
  else if (r->version == 20)
    PUT(b, ",\"protocol\":\"HTTP/2\",\"status\":");
  else
    PUT(b, ",\"protocol\":\"HTTP/1.1\",\"status\":");
  put_u64(b, (uint64_t)r->status);
  PUT(b, ",\"body_bytes\":");
  put_u64(b, r->body_bytes);
  PUT(b, ",\"request_bytes\":");
  put_u64(b, r->request_bytes);
  PUT(b, ",\"duration_us\":");
  put_u64(b, r->end > r->start ? (r->end - r->start) / 1000 : 0);
  PUT(b, ",\"referer\":");
  put_jstr(b, r->referer.data, r->referer.len);
  PUT(b, ",\"user_agent\":");
  put_jstr(b, r->user_agent.data, r->user_agent.len);
  PUT(b, ",\"route\":");
  put_jstr(b, r->route, r->route != NULL ? strlen(r->route) : 0);
  PUT(b, ",\"module\":");
  put_jstr(b, r->module, r->module != NULL ? strlen(r->module) : 0);
  PUT(b, ",\"generation\":");
  put_u64(b, r->generation);
  PUT(b, ",\"worker\":");
  put_u64(b, (uint64_t)al->worker);
  PUT(b, ",\"tls\":"); /* null over plain TCP */
  put_jstr(b, r->tls, r->tls != NULL ? strlen(r->tls) : 0);
  PUT(b, ",\"sni\":");
  put_jstr(b, r->tls != NULL ? r->sni.data : NULL, r->sni.len);
  PUT(b, ",\"alpn\":");
  put_jstr(b, r->alpn, r->alpn != NULL ? strlen(r->alpn) : 0);
  PUT(b, "}\n");
}

/* Apache's and nginx's combined: remote, ident, user, [time] "request"
 * status bytes "referer" "user agent". */
static void combined_line(hw__access_log *al, hw__buf *b,
                          const hw__access_record *r) {
  if (r->remote.data != NULL)
    hw__access_log_escape(b, r->remote.data, r->remote.len, 0);
  else
    PUT(b, "-");
  PUT(b, " - - [");
  put(b, al->clf, strlen(al->clf));
  PUT(b, "] \"");
  /* A request refused before its head was whole may have a target and
   * no method yet: no request line, then ("-", as for none), so that the
   * line still parses as combined (the JSON format keeps the target). */
  if (r->method.len == 0) {
    PUT(b, "-");
  } else {
    hw__access_log_escape(b, r->method.data, r->method.len, 0);
    PUT(b, " ");
    hw__access_log_escape(b, r->target.data, r->target.len, 0);
    if (r->version == 10)
      PUT(b, " HTTP/1.0");
    else if (r->version == 20)
      PUT(b, " HTTP/2");
    else
      PUT(b, " HTTP/1.1");
  }
  PUT(b, "\" ");
  put_u64(b, (uint64_t)r->status);
  PUT(b, " ");
  put_u64(b, r->body_bytes);
  PUT(b, " ");
  put_qstr(b, &r->referer);
  PUT(b, " ");
  put_qstr(b, &r->user_agent);
  PUT(b, "\n");
}

void hw__access_log_write(hw__access_log *al, hw__access_file *f,
                          const hw__access_record *r) {
  hw__buf *b = &al->line;
  int64_t ms = al->wall_base + ((int64_t)r->start - (int64_t)al->mono_base) /
                                   1000000;

  if (ms < 0)
    ms = 0;
  if (ms / 1000 != al->stamp_sec)
    set_stamps(al, ms / 1000);
  b->len = 0;
  /* Room for the longest line these fields can make (each byte escaped
   * takes at most 6), so that no append below can fail half-way. */
  if (hw__buf_reserve(b, 6 * (r->remote.len + r->host.len + r->method.len +
                              r->target.len + r->referer.len +
                              r->user_agent.len + r->sni.len +
                              (r->route ? strlen(r->route) : 0) +
                              (r->module ? strlen(r->module) : 0)) +
                             512) != 0) {
    f->dropped++;
    return;
  }
  if (f->json)
    json_line(al, b, r, (unsigned)(ms % 1000));
  else
    combined_line(al, b, r);
  if (f->buf.len > 0 && f->buf.len + b->len > HW__ACCESS_LOG_FLUSH_BYTES)
    flush_file(f);
  if (hw__buf_append(&f->buf, b->data, b->len) != 0) {
    f->dropped++;
    return;
  }
  f->nbuf++;
  if (f->buf.len >= HW__ACCESS_LOG_FLUSH_BYTES)
    flush_file(f);
}
