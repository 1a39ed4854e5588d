/*
 * test_access_log.c - unit tests of the access log (server/access_log.c):
 * escaping for JSON (control characters, quotes, backslash, well-formed
 * UTF-8 kept, every byte of an invalid sequence, an overlong form or a
 * surrogate escaped) and for the combined format (nginx's \xXX); the
 * combined and JSON lines of a known record; buffering (nothing written
 * before 64 KiB or a flush, one write per flush, whole lines only); a
 * reopen after a rename; a file that cannot be written (/dev/full) or
 * opened counts what it drops.
 */
#include "autoconf.h"

#include <signal.h>
#ifndef _WIN32
#include <sys/resource.h> /* RLIMIT_FSIZE: test_short_write */
#endif

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_log.h"
#include "portable.h"
#include "tap.h"

static char dir[200]; /* (room for the file names in 256) */

/* `s` (n bytes) escaped, as a NUL-terminated string (static). */
static const char *esc(const char *s, size_t n, int json) {
  static char out[1024];
  hw__buf b = {0};
  hw__access_log_escape(&b, s, n, json);
  snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data ? b.data : "");
  hw__buf_free(&b);
  return out;
}
#define ESC(lit, json) esc((lit), sizeof(lit) - 1, (json))

static size_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (size_t)st.st_size : (size_t)-1;
}

static char *slurp(const char *path) {
  static char text[1 << 17];
  FILE *f = fopen(path, "r");
  size_t n = 0;
  if (f != NULL) {
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
  }
  text[n] = '\0';
  return text;
}

static hw__access_record record(void) {
  hw__access_record r;
  memset(&r, 0, sizeof(r));
  r.start = 1000000000ull;
  r.end = r.start + 1234567; /* 1234 us */
  r.remote = (hw__access_text){"192.0.2.7", 9};
  r.host = (hw__access_text){"example.com", 11};
  r.method = (hw__access_text){"GET", 3};
  r.target = (hw__access_text){"/a?b=\"c\"", 8};
  r.referer = (hw__access_text){"http://r/", 9};
  r.user_agent = (hw__access_text){"ua/1", 4};
  r.version = 11;
  r.status = 200;
  r.body_bytes = 13;
  r.request_bytes = 77;
  r.route = "/a";
  r.module = "hello";
  r.generation = 3;
  return r;
}

static void test_escape(void) {
  is_str(ESC("plain /x?y=1", 1), "plain /x?y=1", "json: printable ASCII kept");
  is_str(ESC("a\"b\\c", 1), "a\\\"b\\\\c", "json: quote and backslash");
  is_str(ESC("\x01\n\t\x1f\x7f", 1), "\\u0001\\u000A\\u0009\\u001F\\u007F",
         "json: control characters as \\u00XX");
  is_str(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 1),
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "json: well-formed 2, 3 and 4 byte UTF-8 kept");
  is_str(ESC("\xff", 1), "\\u00FF", "json: a lone 0xFF escaped");
  is_str(ESC("\xc3", 1), "\\u00C3", "json: a truncated sequence escaped");
  is_str(ESC("\xc3(", 1), "\\u00C3(", "json: a lead byte with no continuation");
  is_str(ESC("\xc0\xaf", 1), "\\u00C0\\u00AF", "json: overlong '/' escaped");
  is_str(ESC("\xe0\x80\xaf", 1), "\\u00E0\\u0080\\u00AF",
         "json: overlong 3-byte form escaped");
  is_str(ESC("\xed\xa0\x80", 1), "\\u00ED\\u00A0\\u0080",
         "json: a surrogate (U+D800) escaped");
  is_str(ESC("\xf4\x90\x80\x80", 1), "\\u00F4\\u0090\\u0080\\u0080",
         "json: past U+10FFFF escaped");
  is_str(ESC("\x80x", 1), "\\u0080x", "json: a lone continuation byte");
  is_str(ESC("a\"b\\c", 0), "a\\x22b\\x5Cc", "combined: quote and backslash");
  is_str(ESC("\x01\x7f\xc3\xa9 ok", 0), "\\x01\\x7F\\xC3\\xA9 ok",
         "combined: controls and 8-bit bytes as \\xXX (nginx)");
  is_str(ESC("", 1), "", "empty stays empty");
}

static void test_lines(void) {
  char path[256], want[1024];
  hw__access_log al;
  hw__access_file *f, *g;
  hw__access_record r = record();

  snprintf(path, sizeof(path), "%s/lines.log", dir);
  hw__access_log_init(&al, NULL, 2);
  /* The request began at wall time 2026-11-27T00:28:11.123Z. */
  al.mono_base = 0;
  al.wall_base = 1795739291123ll - 1000;
  f = hw__access_log_open(&al, path, 0);
  g = hw__access_log_open(&al, path, 1);
  ok(f != NULL && g != NULL && f != g, "one file per path and format");
  ok(hw__access_log_open(&al, path, 0) == f, "the same path is shared");
  hw__access_log_write(&al, f, &r);
  hw__access_log_write(&al, g, &r);
  r.referer.data = NULL;
  r.user_agent.data = NULL;
  r.route = r.module = NULL;
  r.status = 499;
  r.body_bytes = 0;
  r.version = 10;
  hw__access_log_write(&al, f, &r);
  hw__access_log_write(&al, g, &r);
  is_int((long long)file_size(path), 0, "nothing written before a flush");
  hw__access_log_flush(&al);
  snprintf(want, sizeof(want),
           "192.0.2.7 - - [27/Nov/2026:00:28:11 +0000] \"GET /a?b=\\x22c\\x22 "
           "HTTP/1.1\" 200 13 \"http://r/\" \"ua/1\"\n"
           "192.0.2.7 - - [27/Nov/2026:00:28:11 +0000] \"GET /a?b=\\x22c\\x22 "
           "HTTP/1.0\" 499 0 \"-\" \"-\"\n"
           "{\"time\":\"2026-11-27T00:28:11.123Z\",\"remote_addr\":\"192.0.2.7\","
           "\"host\":\"example.com\",\"method\":\"GET\",\"target\":\"/a?b=\\\"c\\\"\","
           "\"protocol\":\"HTTP/1.1\",\"status\":200,\"body_bytes\":13,"
           "\"request_bytes\":77,\"duration_us\":1234,\"referer\":\"http://r/\","
           "\"user_agent\":\"ua/1\",\"route\":\"/a\",\"module\":\"hello\","
           "\"generation\":3,\"worker\":2,\"tls\":null,\"sni\":null,"
           "\"alpn\":null}\n"
           "{\"time\":\"2026-11-27T00:28:11.123Z\",\"remote_addr\":\"192.0.2.7\","
           "\"host\":\"example.com\",\"method\":\"GET\",\"target\":\"/a?b=\\\"c\\\"\","
           "\"protocol\":\"HTTP/1.0\",\"status\":499,\"body_bytes\":0,"
           "\"request_bytes\":77,\"duration_us\":1234,\"referer\":null,"
           "\"user_agent\":null,\"route\":null,\"module\":null,"
           "\"generation\":3,\"worker\":2,\"tls\":null,\"sni\":null,"
           "\"alpn\":null}\n");
  /* Two formats of one path are two buffers, each written whole by the
   * flush (in the table's order): compare each format's lines. */
  {
    const char *text = slurp(path);
    const char *json = strstr(want, "{");
    ok(strstr(text, "192.0.2.7 - - [27/Nov/2026:00:28:11 +0000] \"GET "
                    "/a?b=\\x22c\\x22 HTTP/1.1\" 200 13 \"http://r/\" "
                    "\"ua/1\"\n192.0.2.7") != NULL,
       "combined lines");
    ok(strstr(text, json) != NULL, "JSON lines");
    is_int((long long)strlen(text), (long long)strlen(want),
           "four lines, nothing else");
    if (strstr(text, json) == NULL)
      diag("got:\n%s\nwant:\n%s", text, want);
  }
  is_int((long long)f->lines + (long long)g->lines, 4, "4 lines counted");
  hw__access_log_destroy(&al);
  unlink(path);
}

static void test_buffering(void) {
  char path[256], moved[256];
  hw__access_log al;
  hw__access_file *f;
  hw__access_record r = record();
  size_t line, n = 0;
  const char *text;
  int whole = 1;

  snprintf(path, sizeof(path), "%s/buf.log", dir);
  snprintf(moved, sizeof(moved), "%s/buf.log.1", dir);
  hw__access_log_init(&al, NULL, 0);
  f = hw__access_log_open(&al, path, 1);
  hw__access_log_write(&al, f, &r);
  line = f->buf.len;
  while (f->buf.len + line <= HW__ACCESS_LOG_FLUSH_BYTES) {
    hw__access_log_write(&al, f, &r);
    n++;
  }
  is_int((long long)file_size(path), 0, "up to 64 KiB: nothing written");
  is_int((long long)f->flushes, 0, "no write(2) yet");
  hw__access_log_write(&al, f, &r); /* would pass 64 KiB */
  is_int((long long)f->flushes, 1, "one write(2) for the full buffer");
  is_int((long long)file_size(path), (long long)((n + 1) * line),
         "the buffer's whole lines were written, the next one waits");
  is_int((long long)f->buf.len, (long long)line, "one line buffered");

  /* A rotation: what was buffered goes to the renamed file, then the path
   * is opened anew. */
  ok(rename(path, moved) == 0, "the file is renamed");
  hw__access_log_reopen(&al);
  is_int((long long)file_size(moved), (long long)((n + 2) * line),
         "reopen flushed to the old file");
  is_int((long long)file_size(path), 0, "the path is created anew");
  hw__access_log_write(&al, f, &r);
  hw__access_log_flush(&al);
  is_int((long long)file_size(path), (long long)line,
         "new lines go to the new file");
  text = slurp(moved);
  for (const char *p = text; *p != '\0'; p = strchr(p, '\n') + 1)
    if (strncmp(p, "{\"time\"", 7) != 0 || strchr(p, '\n') == NULL)
      whole = 0;
  ok(whole, "the old file holds whole lines only");
  is_int((long long)f->lines, (long long)(n + 3), "every line counted");
  is_int((long long)f->dropped, 0, "none dropped");
  hw__access_log_destroy(&al);
  unlink(path);
  unlink(moved);
}

static void test_failures(void) {
  char path[256];
  hw__access_log al;
  hw__access_file *f;
  hw__access_record r = record();

  hw__access_log_init(&al, NULL, 0);
#ifdef _WIN32
  skip(4, "no /dev/full on Windows: no file to fail every write");
#else
  f = hw__access_log_open(&al, "/dev/full", 0);
  ok(f != NULL && f->fd >= 0, "/dev/full opens");
  hw__access_log_write(&al, f, &r);
  hw__access_log_write(&al, f, &r);
  hw__access_log_flush(&al);
  hw__access_log_write(&al, f, &r);
  hw__access_log_flush(&al);
  is_int((long long)f->dropped, 3, "a full disk drops the lines, counted");
  is_int((long long)f->lines, 0, "none counted as written");
  ok(f->write_errno != 0, "the error is remembered (reported once)");
#endif

  snprintf(path, sizeof(path), "%s/no/such/dir.log", dir);
  f = hw__access_log_open(&al, path, 1);
  ok(f != NULL && f->fd < 0, "an unopenable path gives a file that drops");
  hw__access_log_write(&al, f, &r);
  hw__access_log_flush(&al);
  is_int((long long)f->dropped, 1, "its lines are counted as dropped");
  {
    char err[512];
    ok(hw__access_log_probe(path, err, sizeof(err)) < 0,
       "the probe refuses it");
    contains(err, "No such file or directory", "and says why");
  }
  hw__access_log_destroy(&al);
}

/* A short write (a file size limit stands in for a full disk: writes past
 * it are cut short): only the line it stopped in is lost, the next flush
 * begins with a newline, and no second write is made for the rest. */
static void test_short_write(void) {
#ifdef _WIN32
  skip(5, "no file size limit (RLIMIT_FSIZE) on Windows to cut a write short");
}
#else
  char path[256], text[8192];
  hw__access_log al;
  hw__access_file *f;
  hw__access_record r = record();
  struct rlimit old, lim;
  FILE *in;
  size_t n, lines = 0, whole = 0;

  snprintf(path, sizeof(path), "%s/short.log", dir);
  hw__access_log_init(&al, NULL, 0);
  f = hw__access_log_open(&al, path, 1);
  for (int i = 0; i < 4; i++)
    hw__access_log_write(&al, f, &r);
  n = f->buf.len;
  signal(SIGXFSZ, SIG_IGN);
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = (rlim_t)(n - n / 8 - 5); /* inside the fourth line */
  setrlimit(RLIMIT_FSIZE, &lim);
  hw__access_log_flush(&al);
  setrlimit(RLIMIT_FSIZE, &old);
  ok(f->torn && f->dropped == 1 && f->lines == 3,
     "a short write loses the line it stopped in (dropped %llu, written "
     "%llu)",
     (unsigned long long)f->dropped, (unsigned long long)f->lines);
  is_int((long long)f->flushes, 1, "with one write, not a second for the rest");
  hw__access_log_write(&al, f, &r);
  hw__access_log_write(&al, f, &r);
  hw__access_log_flush(&al);
  ok(!f->torn && f->lines == 5, "then lines are written again");
  hw__access_log_destroy(&al);
  if ((in = fopen(path, "r")) != NULL) {
    while (fgets(text, sizeof(text), in) != NULL) {
      lines++;
      whole += text[0] == '{' && strstr(text, "}\n") != NULL &&
               strchr(text, '{') == strrchr(text, '{');
    }
    fclose(in);
  }
  is_int((long long)lines, 6, "the file has 6 lines: 3, the cut one, 2");
  is_int((long long)whole, 5, "5 of them whole JSON objects, one each");
  unlink(path);
}
#endif

int main(void) {
  snprintf(dir, sizeof(dir), "%s/hw-alog-XXXXXX", hwt_tmp());
  if (hwt_mkdtemp(dir) == NULL)
    return 1;
  test_short_write();
  test_escape();
  test_lines();
  test_buffering();
  test_failures();
  rmdir(dir);
  return done_testing();
}
