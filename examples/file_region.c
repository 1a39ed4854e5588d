/*
 * file_region.c - an example module: one file, served as a file region
 * (ABI 1.3 write_file), whole or one byte range (RFC 9110 section 14).
 * The bytes go from the file to the client without passing through the
 * module; the host reads them in bounded pieces when their turn comes, so
 * a file of any size costs the same memory.  The route config is
 *   {"file": "/var/lib/app/data.bin", "type": "application/octet-stream"}
 * The file is opened per request, so replacing it takes effect at once.
 * Build it against the installed SDK with
 *   cc -O2 -shared -fPIC $(pkg-config --cflags haywire) -Wl,-z,defs \
 *     -o file_region.so file_region.c
 * It answers GET and HEAD (405 otherwise); Range: bytes=A-B, A- or -N gives
 * 206 with Content-Range, an unsatisfiable one 416; other range forms
 * (several ranges) get the whole file, which RFC 9110 allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haywire.h"

/* Windows' C library: close-on-exec is O_NOINHERIT, and O_BINARY keeps the
 * bytes as they are. */
#if defined(_WIN32) && !defined(O_CLOEXEC)
#define O_CLOEXEC (O_NOINHERIT | O_BINARY)
#endif

typedef struct region_route {
  const hw_host *host;
  char file[4096];
  char type[128];
} region_route;

static int region_init(const hw_host *host, const char *config,
                       size_t config_len, void **state, char *err,
                       size_t err_len) {
  static const char *const keys[] = {"file", "type", NULL};
  hw_str file, type = {"application/octet-stream", 24};
  const hw_conf *conf;
  region_route *rt;
  int r;

  (void)config_len;
  if (!HW_HOST_HAS(host, write_file)) {
    snprintf(err, err_len, "file_region: needs a server with ABI 1.3");
    return -1;
  }
  conf = host->config(config);
  r = host->conf_keys(conf, keys, err, err_len);
  if (r == 0 && (r = host->conf_string(conf, "file", &file, err, err_len)) ==
                    HW_ENOENT)
    r = host->conf_error(conf, "file", "is missing", err, err_len);
  if (r == 0 &&
      (file.len == 0 || file.len >= sizeof(rt->file) || file.data[0] != '/'))
    r = host->conf_error(conf, "file", "must be an absolute path", err,
                         err_len);
  if (r == 0 && (r = host->conf_string(conf, "type", &type, err, err_len)) ==
                    HW_ENOENT)
    r = 0;
  if (r == 0 && (type.len == 0 || type.len >= 128))
    r = host->conf_error(conf, "type", "must be a media type", err, err_len);
  if (r != 0)
    return -1;
  rt = calloc(1, sizeof(*rt));
  if (rt == NULL) {
    snprintf(err, err_len, "file_region: out of memory");
    return -1;
  }
  rt->host = host;
  memcpy(rt->file, file.data, file.len);
  memcpy(rt->type, type.data, type.len);
  *state = rt;
  return 0;
}

/* Reads decimal digits from *p up to `end`; -1 when there are none or the
 * value overflows. */
static int64_t digits(const char **p, const char *end) {
  int64_t v = 0;
  const char *s = *p;
  while (*p < end && **p >= '0' && **p <= '9') {
    if (v > (INT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (**p - '0');
    (*p)++;
  }
  return *p > s ? v : -1;
}

/* One range of "bytes=A-B", "bytes=A-" or "bytes=-N" against `size`:
 * 1 and the region, 0 when the field is another form (serve it all), -1
 * when unsatisfiable. */
static int parse_range(hw_str v, int64_t size, int64_t *off, int64_t *len) {
  const char *p = v.data, *end = v.data + v.len;
  int64_t a, b;

  if (v.len < 7 || memcmp(p, "bytes=", 6) != 0)
    return 0;
  p += 6;
  if (*p == '-') {
    p++;
    if ((b = digits(&p, end)) < 0 || p != end)
      return 0;
    if (b == 0 || size == 0)
      return -1;
    *len = b < size ? b : size;
    *off = size - *len;
    return 1;
  }
  if ((a = digits(&p, end)) < 0 || p == end || *p++ != '-')
    return 0;
  b = p == end ? INT64_MAX : digits(&p, end);
  if (b < 0 || p != end || b < a)
    return 0;
  if (a >= size)
    return -1;
  if (b >= size)
    b = size - 1;
  *off = a;
  *len = b - a + 1;
  return 1;
}

static hw_handle_result answer(const hw_host *host, hw_response *res,
                               int status, const char *text) {
  if (host->set_status(res, status) != 0 ||
      host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0 ||
      host->write(res, text, strlen(text)) != 0)
    return HW_ERROR;
  return HW_HANDLED;
}

static hw_handle_result region_handle(void *state, hw_request *req,
                                      hw_response *res) {
  region_route *rt = state;
  const hw_host *host = rt->host;
  hw_str method = host->method(req), range;
  int64_t off = 0, len;
  char line[96];
  struct stat st;
  int fd, n, r;

  if (!(method.len == 3 && memcmp(method.data, "GET", 3) == 0) &&
      !(method.len == 4 && memcmp(method.data, "HEAD", 4) == 0)) {
    host->add_header(res, "Allow", 5, "GET, HEAD", 9);
    return answer(host, res, 405, "405 Method Not Allowed\n");
  }
  fd = open(rt->file, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0)
      close(fd);
    return answer(host, res, errno == ENOENT ? 404 : 403,
                  "the file cannot be served\n");
  }
  len = st.st_size;
  host->add_header(res, "Accept-Ranges", 13, "bytes", 5);
  r = host->header(req, "Range", 5, &range) == 0
          ? parse_range(range, st.st_size, &off, &len)
          : 0;
  if (r < 0) {
    close(fd);
    n = snprintf(line, sizeof(line), "bytes */%lld", (long long)st.st_size);
    host->add_header(res, "Content-Range", 13, line, (size_t)n);
    return answer(host, res, 416, "416 Range Not Satisfiable\n");
  }
  if (r > 0) {
    n = snprintf(line, sizeof(line), "bytes %lld-%lld/%lld", (long long)off,
                 (long long)(off + len - 1), (long long)st.st_size);
    host->set_status(res, 206);
    host->add_header(res, "Content-Range", 13, line, (size_t)n);
  }
  host->add_header(res, "Content-Type", 12, rt->type, strlen(rt->type));
  r = host->stream(res, len);
  if (r == 0)
    r = host->write_file(res, fd, (uint64_t)off, (uint64_t)len);
  close(fd); /* the host took its own descriptor */
  return r < 0 ? HW_ERROR : HW_HANDLED;
}

static void region_fini(void *state) { free(state); }

HW_MODULE_DEFINE("file_region", "1.0", region_init, region_handle,
                 region_fini);
