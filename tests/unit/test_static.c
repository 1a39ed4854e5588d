/*
 * test_static.c - unit tests of the static module (modules/static.c, the
 * source included here): the pure parts against their RFCs, and the
 * lookup against a real directory tree, without a server.
 *   - HTTP-dates in all three formats of RFC 9110 section 5.6.7, with the
 *     two-digit year rule and invalid dates; IMF-fixdates written for
 *     times before 1970, leap days and the clamp, and read back.
 *   - ETags: their text, and lists compared weakly and strongly (W/, "*",
 *     malformed lists, 1,000 tags).
 *   - Range fields (RFC 9110 section 14) and Accept-Encoding q-values.
 *   - The request path's segments: hidden names, /.well-known/, "..",
 *     NUL, lengths; percent-encoding and HTML escaping.
 *   - The MIME table from a mime.types text, and the built-in list.
 *   - The lookup (the work function) with openat2 and with the O_NOFOLLOW
 *     walk: files, links inside and out of the root (to a file and a
 *     directory, relative and absolute), "..", FIFOs never opened for
 *     reading, directories, index files, the listing; and a file replaced
 *     between its type check and its open (deleted, a FIFO, a directory, a
 *     link out), through the STATIC_BETWEEN_OPENS hook.
 *   - The cache: LRU eviction at its bound closing the evicted
 *     descriptors, replacement of a key, and every prepared field freed.
 * tests/integration/static.py runs the module in the server.
 */
#define _GNU_SOURCE /* as the module: O_PATH, memrchr (before any header) */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Runs between a file's type check and its open for reading. */
static void (*between_hook)(const char *rel);
#define STATIC_BETWEEN_OPENS(rel)                                              \
  (between_hook != NULL ? between_hook(rel) : (void)0)

#include "../../modules/static.c"

#include "tap.h"

static hw_str cstr(const char *s) {
  hw_str r = {s, strlen(s)};
  return r;
}

/* ------------------------------------------------------------------------
 * A fake host: only prepared fields, counted so a leak shows.
 */

static int prepared_live;

static int f_header_prepare(const char *name, size_t name_len,
                            const char *value, size_t value_len,
                            hw_header **h) {
  char *p = malloc(name_len + value_len + 3);
  if (p == NULL)
    return HW_ENOMEM;
  snprintf(p, name_len + value_len + 3, "%.*s: %.*s", (int)name_len, name,
           (int)value_len, value);
  *h = (hw_header *)p;
  prepared_live++;
  return 0;
}

static void f_header_free(hw_header *h) {
  if (h != NULL)
    prepared_live--;
  free(h);
}

static hw_host make_host(void) {
  hw_host h;
  memset(&h, 0, sizeof(h));
  h.abi_major = HW_ABI_MAJOR;
  h.abi_minor = HW_ABI_MINOR;
  h.size = sizeof(h);
  h.header_prepare = f_header_prepare;
  h.header_free = f_header_free;
  return h;
}

static hw_host host;

/* ------------------------------------------------------------------------
 * Dates.
 */

static void test_dates(void) {
  /* The examples of RFC 9110 section 5.6.7: 1994-11-06 08:49:37 UTC. */
  const int64_t t94 = 784111777, now = 1795961016; /* late 2026 */
  static const struct {
    const char *text;
    int64_t want; /* -1: invalid */
  } cases[] = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
      {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
      {"Sun Nov  6 08:49:37 1994", 784111777},
      {"  Sun, 06 Nov 1994 08:49:37 GMT\t", 784111777},
      {"Mon, 06 Nov 1994 08:49:37 GMT", 784111777}, /* day name not checked */
      {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
      {"Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
      {"Sat, 31 Dec 2016 23:59:60 GMT", 1483228800}, /* a leap second */
      {"Thursday, 01-Jan-70 00:00:00 GMT", 3155760000LL}, /* 2070: 44 ahead */
      {"Friday, 01-Jan-77 00:00:00 GMT", 220924800},      /* 1977 */
      {"Sun Nov 16 08:49:37 1994", 784975777},
      {"Sun, 06 Nov 1994 08:49:37 UTC", -1},
      {"Sun, 06 Nov 1994 08:49:37 gmt", -1},
      {"Sun, 6 Nov 1994 08:49:37 GMT", -1},
      {"Sun, 06 Nov 94 08:49:37 GMT", -1},
      {"Sun, 31 Feb 1994 08:49:37 GMT", -1},
      {"Sun, 29 Feb 1900 08:49:37 GMT", -1}, /* 1900 is no leap year */
      {"Sun, 06 Nov 1994 24:49:37 GMT", -1},
      {"Sun, 06 Nov 1994 08:60:37 GMT", -1},
      {"Sun, 06 Xyz 1994 08:49:37 GMT", -1},
      {"Xyz, 06 Nov 1994 08:49:37 GMT", -1},
      {"Sunday, 06-Nov-1994 08:49:37 GMT", -1},
      {"Sun Nov 06 08:49:37 94", -1},
      {"1994-11-06T08:49:37Z", -1},
      {"", -1},
      {"Sun", -1},
  };
  char buf[30];
  int64_t got;
  int bad = 0;

  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    int r = parse_http_date(cstr(cases[i].text), now, &got);
    if (cases[i].want < 0)
      ok(r != 0, "date: \"%s\" is refused", cases[i].text);
    else
      ok(r == 0 && got == cases[i].want, "date: \"%s\" is %lld",
         cases[i].text, (long long)cases[i].want);
  }
  format_imf(t94, buf);
  is_str(buf, "Sun, 06 Nov 1994 08:49:37 GMT", "IMF-fixdate of 784111777");
  format_imf(0, buf);
  is_str(buf, "Thu, 01 Jan 1970 00:00:00 GMT", "of 0");
  format_imf(-1, buf);
  is_str(buf, "Wed, 31 Dec 1969 23:59:59 GMT", "of -1 (before 1970)");
  format_imf(-86400 * 73000LL, buf);
  is_str(buf, "Sun, 18 Feb 1770 00:00:00 GMT", "73,000 days before 1970");
  format_imf(951782400, buf);
  is_str(buf, "Tue, 29 Feb 2000 00:00:00 GMT", "a leap day");
  format_imf(INT64_MAX, buf);
  is_str(buf, "Fri, 31 Dec 9999 23:59:59 GMT", "clamped to year 9999");
  format_imf(INT64_MIN, buf);
  is_str(buf, "Mon, 01 Jan 0001 00:00:00 GMT", "clamped to year 1");
  /* Written and read back, every 7,919,999 seconds over 500 years. */
  for (int64_t s = -3155760000LL; s < 12623040000LL; s += 7919999) {
    format_imf(s, buf);
    if (parse_http_date(cstr(buf), now, &got) != 0 || got != s)
      bad++;
  }
  is_int(bad, 0, "1,993 dates from 1870 to 2370 written and read back");
}

/* ------------------------------------------------------------------------
 * ETags.
 */

static void test_etags(void) {
  char tag[80];
  size_t n;
  char *big;
  size_t at = 0;

  n = format_etag(tag, sizeof(tag), 0x6553f100, 123456789, 6, NULL);
  is_str(tag, "\"6553f100-75bcd15-6\"", "an ETag: mtime s, ns, size in hex");
  is_int(n, strlen(tag), "and its length");
  format_etag(tag, sizeof(tag), 0x6553f100, 0, 5368709120ULL, "br");
  is_str(tag, "\"6553f100-0-140000000-br\"", "a sibling's: 5 GiB, br");
  n = format_etag(tag, 8, 1, 1, 1, NULL);
  is_int(n, 7, "\"1-1-1\" in 8 bytes");
  n = format_etag(tag, 7, 1, 1, 1, NULL);
  is_int(n, 0, "not in 7: 0");

  format_etag(tag, sizeof(tag), 0x10, 0x20, 0x30, NULL); /* "10-20-30" */
  n = strlen(tag);
  static const struct {
    const char *list;
    int weak, want;
  } cases[] = {
      {"\"10-20-30\"", 0, 1},
      {"\"10-20-30\"", 1, 1},
      {"W/\"10-20-30\"", 1, 1},
      {"W/\"10-20-30\"", 0, 0}, /* strong comparison: a weak tag fails */
      {"*", 0, 1},
      {" * ", 1, 1},
      {"\"a\", \"10-20-30\"", 0, 1},
      {"\"a\",\"b\" ,  W/\"10-20-30\" ", 1, 1},
      {",,\"10-20-30\",,", 0, 1},
      {"\"10-20-3\"", 1, 0},
      {"\"10-20-300\"", 1, 0},
      {"\"a\", \"b\"", 1, 0},
      {"", 1, 0},
      {"10-20-30", 1, -1},         /* unquoted */
      {"\"10-20-30", 1, -1},       /* unclosed */
      {"\"a\" x", 1, -1},          /* junk after a tag */
      {"\"a\" \"10-20-30\"", 1, -1}, /* no comma */
      {"*, \"a\"", 1, 1},
      {"w/\"10-20-30\"", 1, -1}, /* W is upper case */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
    is_int(etag_match(cstr(cases[i].list), tag, n, cases[i].weak),
           cases[i].want, cases[i].list);

  /* 1,000 tags, ours last: one pass finds it. */
  big = malloc(1000 * 24 + 32);
  if (big == NULL) {
    ok(0, "malloc");
    return;
  }
  for (int i = 0; i < 999; i++)
    at += (size_t)sprintf(big + at, "\"%x-%x-%x\", ", i, i * 7, i * 13);
  memcpy(big + at, tag, n + 1);
  is_int(etag_match(cstr(big), tag, n, 1), 1, "1,000 tags, the match last");
  memcpy(big + at, "\"x\"", 4);
  is_int(etag_match(cstr(big), tag, n, 1), 0, "1,000 tags, no match");
  free(big);
}

/* ------------------------------------------------------------------------
 * Ranges and Accept-Encoding.
 */

static void test_ranges(void) {
  static const struct {
    const char *field;
    uint64_t size;
    int want;
    uint64_t off, len;
  } cases[] = {
      {"bytes=0-0", 10, RANGE_ONE, 0, 1},
      {"bytes=2-5", 10, RANGE_ONE, 2, 4},
      {"bytes=2-", 10, RANGE_ONE, 2, 8},
      {"bytes=-3", 10, RANGE_ONE, 7, 3},
      {"bytes=-30", 10, RANGE_ONE, 0, 10},
      {"bytes=5-100", 10, RANGE_ONE, 5, 5},
      {"bytes=9-9", 10, RANGE_ONE, 9, 1},
      {"ByTeS=1-1", 10, RANGE_ONE, 1, 1},
      {"bytes= 1-1 , ", 10, RANGE_ONE, 1, 1},
      {"bytes=,,1-1", 10, RANGE_ONE, 1, 1},
      {"bytes=1-1,20-30", 10, RANGE_ONE, 1, 1},
      {"bytes=0-18446744073709551615", 10, RANGE_ONE, 0, 10},
      {"bytes=0-99999999999999999999999", 10, RANGE_ONE, 0, 10},
      {"bytes=4294967296-4294967305", 5368709120ULL, RANGE_ONE, 4294967296ULL,
       10},
      {"bytes=-4", 5368709120ULL, RANGE_ONE, 5368709116ULL, 4},
      {"bytes=10-", 10, RANGE_NONE, 0, 0},
      {"bytes=10-20", 10, RANGE_NONE, 0, 0},
      {"bytes=-0", 10, RANGE_NONE, 0, 0},
      {"bytes=-0,10-", 10, RANGE_NONE, 0, 0},
      {"bytes=99999999999999999999999-", 10, RANGE_NONE, 0, 0},
      {"bytes=0-0", 0, RANGE_NONE, 0, 0},
      {"bytes=-5", 0, RANGE_IGNORE, 0, 0}, /* an empty file: sent whole */
      {"bytes=0-1,3-4", 10, RANGE_MANY, 0, 0},
      {"bytes=0-1,0-1", 10, RANGE_MANY, 0, 0},
      {"bytes=3-2", 10, RANGE_IGNORE, 0, 0},
      {"bytes=-", 10, RANGE_IGNORE, 0, 0},
      {"bytes=1-2-3", 10, RANGE_IGNORE, 0, 0},
      {"bytes=a-b", 10, RANGE_IGNORE, 0, 0},
      {"bytes=", 10, RANGE_IGNORE, 0, 0},
      {"bytes=,", 10, RANGE_IGNORE, 0, 0},
      {"bytes =1-2", 10, RANGE_IGNORE, 0, 0},
      {"items=1-2", 10, RANGE_IGNORE, 0, 0},
      {"bytes=1-2;x", 10, RANGE_IGNORE, 0, 0},
      {"", 10, RANGE_IGNORE, 0, 0},
  };
  char many[8192];
  size_t at = 0;

  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    uint64_t off = 0, len = 0;
    int r = parse_range(cstr(cases[i].field), cases[i].size, &off, &len);
    if (cases[i].want == RANGE_ONE)
      ok(r == RANGE_ONE && off == cases[i].off && len == cases[i].len,
         "Range \"%s\" of %llu: %llu+%llu", cases[i].field,
         (unsigned long long)cases[i].size, (unsigned long long)cases[i].off,
         (unsigned long long)cases[i].len);
    else
      ok(r == cases[i].want, "Range \"%s\" of %llu: %d", cases[i].field,
         (unsigned long long)cases[i].size, cases[i].want);
  }
  at += (size_t)sprintf(many, "bytes=");
  for (int i = 0; i < 600; i++)
    at += (size_t)sprintf(many + at, "%d-%d,", i % 10, i % 10);
  {
    uint64_t off, len;
    is_int(parse_range(cstr(many), 10, &off, &len), RANGE_MANY,
           "600 ranges: several (the whole file)");
  }

  is_int(parse_qvalue("1", 1), 1000, "q=1");
  is_int(parse_qvalue("0.5", 3), 500, "q=0.5");
  is_int(parse_qvalue("0.125", 5), 125, "q=0.125");
  is_int(parse_qvalue("1.000", 5), 1000, "q=1.000");
  is_int(parse_qvalue("0", 1), 0, "q=0");
  is_int(parse_qvalue("1.5", 3), -1, "q=1.5 refused");
  is_int(parse_qvalue("0.1234", 6), -1, "four decimals refused");
  is_int(parse_qvalue("2", 1), -1, "q=2 refused");
  is_int(parse_qvalue(".5", 2), -1, "q=.5 refused");

  {
    static const int both[] = {0, 1}; /* br, then gz */
    static const int gz_first[] = {1, 0};
    static const struct {
      const char *ae;
      unsigned have;
      int gzfirst, want; /* 0 identity, 1 br, 2 gz */
    } ae[] = {
        {"gzip", 3, 0, 2},
        {"br", 3, 0, 1},
        {"gzip, br", 3, 0, 1},
        {"gzip, br", 3, 1, 2},
        {"br;q=0.5, gzip", 3, 0, 2},
        {"br;q=0, gzip;q=0", 3, 0, 0},
        {"*", 3, 0, 1},
        {"*;q=0", 3, 0, 0},
        {"identity;q=1, gzip;q=0.5", 3, 0, 0},
        {"identity, gzip", 3, 0, 2},
        {"gzip", 1, 0, 0}, /* only br there */
        {"br", 2, 0, 0},
        {"x-gzip", 2, 0, 2},
        {"GZIP;Q=1", 2, 0, 2},
        {"gzip ; q=0.001", 2, 0, 2},
        {"gzip;q=2", 2, 0, 0},
        {"gzip;q", 2, 0, 0},
        {"gzip;level=1;q=0.7", 2, 0, 2},
        {"deflate, zstd", 3, 0, 0},
        {"", 3, 0, 0},
        {",", 3, 0, 0},
    };
    for (size_t i = 0; i < sizeof(ae) / sizeof(*ae); i++) {
      hw_str line = cstr(ae[i].ae);
      is_int(choose_rep(&line, 1, ae[i].have,
                        ae[i].gzfirst ? gz_first : both, 2),
             ae[i].want, ae[i].ae);
    }
    is_int(choose_rep(NULL, 0, 3, both, 2), 0, "no Accept-Encoding: plain");
    {
      hw_str two[2] = {cstr("br;q=0.1"), cstr("gzip;q=0.9")};
      is_int(choose_rep(two, 2, 3, both, 2), 2, "over two field lines");
    }
  }
}

/* ------------------------------------------------------------------------
 * Paths, encoding, escaping.
 */

static void test_paths(void) {
  static const struct {
    const char *rest;
    int hidden;
    const char *want; /* NULL: refused */
    int slash;
  } cases[] = {
      {"/a/b.txt", 0, "a/b.txt", 0},
      {"/a/b/", 0, "a/b", 1},
      {"/", 0, "", 1},
      {"//a//b//", 0, "a/b", 1},
      {"/.well-known/acme", 0, ".well-known/acme", 0},
      {"/.well-known/.x", 0, NULL, 0},
      {"/a/.well-known/x", 0, NULL, 0},
      {"/.hidden", 0, NULL, 0},
      {"/.hidden", 1, ".hidden", 0},
      {"/a/.git/config", 0, NULL, 0},
      {"/a/..", 1, NULL, 0},
      {"/../x", 1, NULL, 0},
      {"/./x", 1, NULL, 0},
      {"/a/b..c/...", 1, "a/b..c/...", 0},
  };
  char rel[REL_MAX + 2], longp[9000], enc[64];
  size_t n;
  int slash;
  obuf o = {NULL, 0, 0, 0};

  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    int r = normalise(cstr(cases[i].rest), cases[i].hidden, rel, REL_MAX, &n,
                      &slash);
    if (cases[i].want == NULL)
      ok(r != 0, "path \"%s\" refused", cases[i].rest);
    else
      ok(r == 0 && strcmp(rel, cases[i].want) == 0 &&
             slash == cases[i].slash,
         "path \"%s\" is \"%s\"%s", cases[i].rest, cases[i].want,
         cases[i].slash ? " and a slash" : "");
  }
  {
    hw_str nul = {"/a\0b", 4};
    ok(normalise(nul, 1, rel, REL_MAX, &n, &slash) != 0, "a NUL: refused");
  }
  memset(longp, 'n', sizeof(longp));
  longp[0] = '/';
  {
    hw_str s = {longp, 256};
    ok(normalise(s, 0, rel, REL_MAX, &n, &slash) == 0, "a name of 255");
    s.len = 257;
    ok(normalise(s, 0, rel, REL_MAX, &n, &slash) != 0, "of 256: refused");
    for (size_t i = 100; i < sizeof(longp); i += 100)
      longp[i] = '/';
    s.len = 4096;
    ok(normalise(s, 0, rel, REL_MAX, &n, &slash) == 0,
       "a path of 4,095 bytes");
    s.len = 4098;
    ok(normalise(s, 0, rel, REL_MAX, &n, &slash) != 0,
       "of 4,097 bytes: refused (PATH_MAX)");
    s.len = sizeof(longp);
    ok(normalise(s, 0, rel, REL_MAX, &n, &slash) != 0,
       "of 9,000 bytes: refused");
  }

  n = pct_encode("/a b/c%d?e#f&g:h/\xc3\xbc", 19, enc, 1);
  enc[n] = '\0';
  is_str(enc, "/a%20b/c%25d%3Fe%23f&g:h/%C3%BC", "a path percent-encoded");
  n = pct_encode("a&b:c/d.e~f_g-h", 15, enc, 0);
  enc[n] = '\0';
  is_str(enc, "a%26b%3Ac%2Fd.e~f_g-h", "a link: all but unreserved");
  {
    static const char html[] = "<a href=\"x\">'&'\n\x7f</a>";
    put_html(&o, html, sizeof(html) - 1);
  }
  put(&o, "", 1);
  is_str(o.p, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;??&lt;/a&gt;",
         "HTML: the five characters escaped, controls as ?");
  free(o.p);
}

/* ------------------------------------------------------------------------
 * The MIME table.
 */

static const char *type_of(const mime_table *t, const char *name) {
  return t->types[mime_lookup(t, name, strlen(name))].text;
}

static void test_mime(const char *dir) {
  static const char text[] =
      "# comment line\n"
      "\n"
      "text/x-one\tone  uno\r\n"
      "application/x-two two # a comment after\n"
      "application/x-dup one\n" /* "one" is taken: the first wins */
      "nonsense words here\n"
      "text/x-param;a=b par\n"
      "image/x-last last";
  mime_table t;
  char path[512];
  FILE *f;
  int e;

  memset(&t, 0, sizeof(t));
  snprintf(path, sizeof(path), "%s/mime.types", dir);
  f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  ok(mime_load(&t, path, &e) == 0 && e == 0, "a mime.types file loads");
  is_str(type_of(&t, "a.one"), "text/x-one; charset=utf-8",
         "a text type gets charset=utf-8");
  is_str(type_of(&t, "a.UNO"), "text/x-one; charset=utf-8",
         "extensions compare without case");
  is_str(type_of(&t, "b.two"), "application/x-two", "a comment after it");
  is_str(type_of(&t, "c.par"), "text/x-param;a=b",
         "a type with a parameter keeps it, no charset added");
  is_str(type_of(&t, "d.last"), "image/x-last", "the last line, no newline");
  is_str(type_of(&t, "e.here"), "application/octet-stream",
         "a line that is no type is skipped");
  is_str(type_of(&t, "f.png"), "image/png", "the built-in list fills gaps");
  is_str(type_of(&t, "g.tar.gz"), "application/gzip", "the last extension");
  is_str(type_of(&t, ".profile"), "application/octet-stream",
         "a dot file has no extension");
  is_str(type_of(&t, "h."), "application/octet-stream", "an empty one");
  is_str(type_of(&t, "noext"), "application/octet-stream", "none");
  mime_free(&host, &t);

  memset(&t, 0, sizeof(t));
  snprintf(path, sizeof(path), "%s/none.types", dir);
  ok(mime_load(&t, path, &e) == 0 && e == ENOENT,
     "a missing table: ENOENT, and still a table");
  is_str(type_of(&t, "x.html"), "text/html; charset=utf-8",
         "the built-in html");
  is_str(type_of(&t, "x.js"), "text/javascript; charset=utf-8",
         "the built-in js");
  mime_free(&host, &t);

  memset(&t, 0, sizeof(t));
  ok(mime_load(&t, dir, &e) == 0 && e == EINVAL, "a directory: refused");
  mime_free(&host, &t);
}

/* ------------------------------------------------------------------------
 * The lookup.
 */

static char root[256], outside[512];
static const char *hook_action;

static void mkfile(const char *dir, const char *name, const char *data) {
  char p[1024];
  FILE *f;
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  f = fopen(p, "w");
  fputs(data, f);
  fclose(f);
}

static void in_root(char *p, size_t size, const char *rel) {
  snprintf(p, size, "%s/%s", root, rel);
}

/* The hook: once, replaces the file about to be opened. */
static void replace_file(const char *rel) {
  char p[1024], q[1024];
  const char *what = hook_action;
  if (what == NULL)
    return;
  hook_action = NULL;
  in_root(p, sizeof(p), rel);
  unlink(p);
  if (strcmp(what, "fifo") == 0)
    mkfifo(p, 0600);
  else if (strcmp(what, "dir") == 0)
    mkdir(p, 0700);
  else if (strcmp(what, "link") == 0) {
    snprintf(q, sizeof(q), "%s/secret.txt", outside);
    symlink(q, p);
  }
}

static job *new_job(static_conf *c, const char *rel, int slash) {
  job *j = calloc(1, sizeof(*j));
  j->conf = c;
  j->slash = slash;
  for (int i = 0; i < 1 + NENC; i++)
    j->rep[i].fd = -1;
  snprintf(j->path, sizeof(j->path), "%s", rel);
  j->name_len = strlen(rel);
  return j;
}

static void job_done(job *j) {
  for (int i = 0; i < 1 + NENC; i++)
    if (j->rep[i].fd >= 0)
      close(j->rep[i].fd);
  free(j->listing);
  free(j);
}

/* The lookup of `rel`: its kind, and the first bytes of the file read
 * through the descriptor it opened into `data`. */
static int look(static_conf *c, const char *rel, int slash, char *data,
                size_t size) {
  job *j = new_job(c, rel, slash);
  int kind;
  lookup(j);
  kind = j->kind;
  if (data != NULL) {
    data[0] = '\0';
    if (kind == K_FILE) {
      ssize_t n = pread(j->rep[0].fd, data, size - 1, 0);
      data[n > 0 ? n : 0] = '\0';
    } else if (kind == K_LISTING) {
      snprintf(data, size, "%.*s", (int)j->listing_len, j->listing);
    }
  }
  job_done(j);
  return kind;
}

static void make_tree(void) {
  char p[1024], q[1024];
  int s;
  struct sockaddr_un sa;

  snprintf(outside, sizeof(outside), "%s/outside", root);
  mkdir(outside, 0700);
  mkfile(outside, "secret.txt", "SECRET");
  strcat(root, "/www");
  mkdir(root, 0700);
  mkfile(root, "file.txt", "file");
  mkfile(root, "file.txt.gz", "gz");
  mkfile(root, "file.txt.br", "br");
  in_root(p, sizeof(p), "dir");
  mkdir(p, 0700);
  mkfile(p, "index.html", "index");
  mkfile(p, "a&b.txt", "x");
  mkfile(p, ".hid", "x");
  in_root(p, sizeof(p), "dir/sub");
  mkdir(p, 0700);
  in_root(p, sizeof(p), "noindex");
  mkdir(p, 0700);
  mkfile(p, "zed", "z");
  in_root(p, sizeof(p), "fifo");
  mkfifo(p, 0600);
  in_root(p, sizeof(p), "sock");
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  if (strlen(p) < sizeof(sa.sun_path))
    memcpy(sa.sun_path, p, strlen(p) + 1);
  if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    diag("bind %s: %s", p, strerror(errno));
  close(s);
  in_root(p, sizeof(p), "in_link");
  symlink("file.txt", p);
  in_root(p, sizeof(p), "dir/up_link");
  symlink("../file.txt", p);
  in_root(p, sizeof(p), "out_link");
  symlink("../outside/secret.txt", p);
  in_root(p, sizeof(p), "abs_link");
  snprintf(q, sizeof(q), "%s/secret.txt", outside);
  symlink(q, p);
  in_root(p, sizeof(p), "out_dir");
  symlink("../outside", p);
  in_root(p, sizeof(p), "abs_dir");
  symlink(outside, p);
  in_root(p, sizeof(p), "loop");
  symlink("loop", p);
  in_root(p, sizeof(p), "proc_link");
  symlink("/proc/self/root/etc/passwd", p);
}

static void test_lookup(int use_openat2) {
  static_conf c;
  char data[4096];
  const char *m = use_openat2 ? "openat2" : "walk";
  int k;

  memset(&c, 0, sizeof(c));
  c.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  c.root = root; /* each lookup opens it again, as in the server */
  c.openat2 = use_openat2;
  c.nindex = 2;
  c.index[0] = "missing.html";
  c.index[1] = "index.html";
  c.nenc = 2;
  c.enc[0] = 0;
  c.enc[1] = 1;

  k = look(&c, "file.txt", 0, data, sizeof(data));
  ok(k == K_FILE && strcmp(data, "file") == 0, "%s: a file", m);
  {
    job *j = new_job(&c, "file.txt", 0);
    lookup(j);
    ok(j->rep[1].fd >= 0 && j->rep[2].fd >= 0 && j->rep[1].size == 2,
       "%s: its siblings .br and .gz", m);
    ok((fcntl(j->rep[0].fd, F_GETFL) & O_NONBLOCK) == 0,
       "%s: opened without O_NONBLOCK for the host's reads", m);
    job_done(j);
  }
  is_int(look(&c, "file.txt", 1, NULL, 0), K_NOTFOUND,
         "file/: a file is no directory");
  is_int(look(&c, "file.txt/x", 0, NULL, 0), K_NOTFOUND, "file/x");
  is_int(look(&c, "nope", 0, NULL, 0), K_NOTFOUND, "missing: 404");
  is_int(look(&c, "dir", 0, NULL, 0), K_REDIRECT, "dir: the 301");
  {
    job *j = new_job(&c, "dir", 1);
    lookup(j);
    ok(j->kind == K_FILE && strcmp(j->path + j->name_off, "index.html") == 0 &&
           j->name_len == 10,
       "%s: dir/: the second index name, and its name for the type", m);
    job_done(j);
  }
  is_int(look(&c, "noindex", 1, NULL, 0), K_FORBIDDEN,
         "no index, no listing: 403");
  c.listing = 1;
  k = look(&c, "dir", 1, data, sizeof(data));
  is_int(k, K_FILE, "an index wins over the listing");
  c.nindex = 0;
  k = look(&c, "dir", 1, data, sizeof(data));
  is_int(k, K_LISTING, "no index, listing on: the list");
  is_str(data,
         "<a href=\"a%26b.txt\">a&amp;b.txt</a>\n"
         "<a href=\"index.html\">index.html</a>\n"
         "<a href=\"sub/\">sub/</a>\n"
         "<a href=\"up_link\">up_link</a>\n",
         "the listing: sorted, escaped, hidden left out, dirs with /");
  c.hidden = 1;
  look(&c, "dir", 1, data, sizeof(data));
  contains(data, "<a href=\".hid\">.hid</a>", "with hidden: .hid listed");
  k = look(&c, "", 1, data, sizeof(data));
  ok(k == K_LISTING && strstr(data, "fifo") != NULL, "the root's listing");
  c.listing = 0;
  c.hidden = 0;
  c.nindex = 2;

  is_int(look(&c, "fifo", 0, NULL, 0), K_FORBIDDEN, "a FIFO: 403, not opened");
  is_int(look(&c, "sock", 0, NULL, 0), K_FORBIDDEN, "a socket: 403");

  k = look(&c, "in_link", 0, data, sizeof(data));
  if (use_openat2)
    ok(k == K_FILE && strcmp(data, "file") == 0,
       "openat2: a link inside the root is followed");
  else
    is_int(k, K_NOTFOUND, "walk: every link is refused (O_NOFOLLOW)");
  k = look(&c, "dir/up_link", 0, data, sizeof(data));
  if (use_openat2)
    ok(k == K_FILE && strcmp(data, "file") == 0,
       "openat2: a link with .. that stays inside");
  else
    is_int(k, K_NOTFOUND, "walk: refused");
  is_int(look(&c, "out_link", 0, NULL, 0), K_NOTFOUND, "a link out: 404");
  is_int(look(&c, "abs_link", 0, NULL, 0), K_NOTFOUND,
         "an absolute link: 404");
  is_int(look(&c, "out_dir/secret.txt", 0, NULL, 0), K_NOTFOUND,
         "through a directory link out: 404");
  is_int(look(&c, "out_dir", 1, NULL, 0), K_NOTFOUND,
         "the directory link itself: 404");
  is_int(look(&c, "abs_dir/secret.txt", 0, NULL, 0), K_NOTFOUND,
         "through an absolute directory link: 404");
  is_int(look(&c, "loop", 0, NULL, 0), K_NOTFOUND, "a link loop: 404");
  is_int(look(&c, "proc_link", 0, NULL, 0), K_NOTFOUND,
         "a link into /proc: 404");
  is_int(look(&c, "../outside/secret.txt", 0, NULL, 0), K_NOTFOUND,
         "../ (never made by handle; refused here too)");
  is_int(look(&c, "dir/../../outside/secret.txt", 0, NULL, 0), K_NOTFOUND,
         "dir/../../");
  is_int(look(&c, "dir/sub/../../file.txt", 0, data, sizeof(data)),
         use_openat2 ? K_FILE : K_NOTFOUND,
         use_openat2 ? "openat2: a .. that stays inside is resolved"
                     : "walk: .. is refused");

  /* Replaced between the type check and the open. */
  between_hook = replace_file;
  hook_action = "delete";
  is_int(look(&c, "file.txt", 0, NULL, 0), K_NOTFOUND,
         "deleted before the open: 404");
  mkfile(root, "file.txt", "file");
  hook_action = "fifo";
  is_int(look(&c, "file.txt", 0, NULL, 0), K_FORBIDDEN,
         "a FIFO put there: 403, the open did not block");
  in_root(data, sizeof(data), "file.txt");
  unlink(data);
  mkfile(root, "file.txt", "file");
  hook_action = "dir";
  is_int(look(&c, "file.txt", 0, NULL, 0), K_NOTFOUND,
         "a directory put there: 404");
  rmdir(data);
  mkfile(root, "file.txt", "file");
  hook_action = "link";
  is_int(look(&c, "file.txt", 0, NULL, 0), K_NOTFOUND,
         "a link out put there: 404");
  unlink(data);
  mkfile(root, "file.txt", "file");
  between_hook = NULL;
  close(c.rootfd);
}

/* ------------------------------------------------------------------------
 * The cache.
 */

static int fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static entry *cached(static_route *rt, const char *key, int *fds) {
  job j;
  entry *e;
  memset(&j, 0, sizeof(j));
  for (int i = 0; i < 1 + NENC; i++)
    j.rep[i].fd = -1;
  j.rep[0].fd = fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  j.rep[2].fd = fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  j.rep[2].size = 3;
  j.key_len = j.name_len = strlen(key); /* short: the tests' own */
  memcpy(j.key, key, j.key_len + 1);
  memcpy(j.path, key, j.key_len + 1);
  e = entry_of(rt, &j, 1);
  cache_put(&host, &rt->cache, e);
  return e;
}

static void test_cache(void) {
  static_route *rt = calloc(1, sizeof(*rt));
  int fds[6][2], e;
  entry *x;
  uint64_t h;

  rt->host = &host;
  rt->cache.max = 3;
  rt->cache.nbuckets = 4; /* small: chains are exercised */
  rt->cache.buckets = calloc(4, sizeof(entry *));
  mime_load(&rt->mime, NULL, &e);

  for (int i = 0; i < 3; i++) {
    char key[16];
    snprintf(key, sizeof(key), "k%d.js", i);
    cached(rt, key, fds[i]);
  }
  is_int(rt->cache.n, 3, "three entries");
  x = rt->cache.newest;
  ok(x != NULL && x->have == 2 && x->rep[2].etag_len > 0 &&
         strstr(x->rep[2].etag, "-gz\"") != NULL,
     "an entry: its gz sibling and that one's tag");
  is_str(rt->mime.types[x->type].text, "text/javascript; charset=utf-8",
         "its type by its name");
  h = hash_bytes(rt->cache.seed, "k0.js", 5, 0);
  x = cache_find(&rt->cache, "k0.js", 5, h);
  ok(x != NULL, "found by its key");
  cache_touch(&rt->cache, x); /* k0 is now the newest; k1 the oldest */
  cached(rt, "k3.js", fds[3]);
  is_int(rt->cache.n, 3, "a fourth: still three");
  ok(!fd_open(fds[1][0]) && !fd_open(fds[1][1]),
     "the least recently used (k1) evicted, its descriptors closed");
  ok(fd_open(fds[0][0]) && fd_open(fds[2][0]) && fd_open(fds[3][0]),
     "the others kept");
  cached(rt, "k0.js", fds[4]);
  is_int(rt->cache.n, 3, "the same key again: replaced, not added");
  ok(!fd_open(fds[0][0]) && fd_open(fds[4][0]),
     "the old entry's descriptors closed");
  h = hash_bytes(rt->cache.seed, "k1.js", 5, 0);
  ok(cache_find(&rt->cache, "k1.js", 5, h) == NULL, "k1 is gone");
  for (int i = 0; i < 200; i++) {
    char key[16];
    snprintf(key, sizeof(key), "many%d", i);
    cached(rt, key, fds[5]);
    if (i < 199 && (fd_open(fds[5][0]) == 0))
      break;
  }
  is_int(rt->cache.n, 3, "200 more: never over its bound");
  cache_clear(&host, &rt->cache);
  ok(!fd_open(fds[5][0]) && !fd_open(fds[4][0]), "cleared: all closed");
  mime_free(&host, &rt->mime);
  free(rt);
  is_int(prepared_live, 0, "every prepared field freed");
}

int main(void) {
  char tmpl[] = "/tmp/test_static.XXXXXX";
  const char *dir;

  host = make_host();
  alarm(60); /* a lookup that blocked would hang the test: end it */
  test_dates();
  test_etags();
  test_ranges();
  test_paths();
  if ((dir = mkdtemp(tmpl)) == NULL) {
    ok(0, "mkdtemp: %s", strerror(errno));
    return done_testing();
  }
  test_mime(dir);
  snprintf(root, sizeof(root), "%s", dir);
  make_tree();
  {
    /* As init probes: beneath a directory, the directory itself. */
    struct static_open_how how = {O_PATH | O_CLOEXEC, 0,
                                  STATIC_RESOLVE_BENEATH};
    int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    long fd = -1;
#ifdef SYS_openat2
    fd = syscall(SYS_openat2, dfd, ".", &how, sizeof(how));
#endif
    close(dfd);
    if (fd >= 0) {
      close((int)fd);
      test_lookup(1);
    } else {
      diag("openat2 is not available here (%s): the walk alone is tested",
           strerror(errno));
    }
  }
  test_lookup(0);
  test_cache();
  {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      diag("could not remove %s", dir);
  }
  return done_testing();
}
