/*
 * work.c - an example module: blocking work on the host's thread pool
 * (ABI 1.3 queue_work).  GET <prefix>/NAME reads the file NAME in the
 * route's directory and answers its CRC-32 (the checksum of gzip, zlib and
 * PNG) and size:
 *
 *   crc32=3610a686 bytes=5
 *
 * 404 when there is no such file, 403 when it is no regular file (or a
 * symbolic link, or unreadable), 400 for a NAME that is empty, holds '/'
 * or starts with '.'.  HEAD answers as GET; other methods get 405.  The
 * route config:
 *   {"dir": "/srv/files"}
 *
 * Why the pool: reading a regular file blocks - such a file always polls
 * "ready", so a read of a cold file stalls the loop, and every connection
 * of the worker with it - and checksumming a large one is CPU time the loop
 * cannot spare.  So `handle` only checks the name and queues the job; the
 * work function opens, reads and sums on a pool thread; the done callback,
 * back on the loop, answers.  The rules the header gives, as they apply:
 *   - the work function calls no host function (they all belong to the
 *     loop thread): everything it needs is copied into the job before it
 *     is queued, and it reports through the job alone.  malloc and the
 *     file calls are thread-safe; host->alloc is not.
 *   - the request stays valid until the done callback has run, even if
 *     the client goes away, and a running work function cannot be
 *     stopped: so no on_abort here - done always runs, and always finishes
 *     the request (the host drops the answer of a client that left).
 *   - done's status is HW_ECANCELED when the work never ran (its
 *     generation was given up, at a reload's drain deadline): answer 503.
 *   - a request with queued work may not be declined: after queue_work,
 *     handle returns HW_DEFERRED and nothing else.
 * Module work holds at most thread_pool - 1 threads (config
 * "thread_pool"); more requests wait their turn in the host's queue.
 *
 * Build it out of tree against an installed Haywire:
 *   cc -O2 -shared -fPIC $(pkg-config --cflags haywire) -Wl,-z,defs -o work.so work.c
 */
/* O_CLOEXEC and O_NOFOLLOW are POSIX.1-2008, which a strict -std=c99
 * leaves out unless asked for. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haywire.h"

/* Windows' C library: close-on-exec is O_NOINHERIT, and files are read in
 * binary mode (O_BINARY: the bytes as they are).  It has no O_NOFOLLOW:
 * open follows a symbolic link or junction there (making one takes a
 * privilege or developer mode); a module that must refuse them checks
 * FILE_ATTRIBUTE_REPARSE_POINT through the Win32 API. */
#if defined(_WIN32) && !defined(O_CLOEXEC)
#define O_CLOEXEC (O_NOINHERIT | O_BINARY)
#endif
#if defined(_WIN32) && !defined(O_NOFOLLOW)
#define O_NOFOLLOW 0
#endif

#define MAX_NAME 255 /* NAME_MAX */
#define PIECE (64 * 1024)
#define TEXT(s) s, sizeof(s) - 1 /* a string literal and its length */

typedef struct work_route {
  const hw_host *host;
  char *dir;
  size_t dir_len;
} work_route;

/* One job, in the request's scratch memory (host->alloc, taken on the loop
 * thread in handle): it lives until the request is finished in `summed`,
 * after the work function has returned.  Between queue_work and `summed`
 * only the work function touches it, so it needs no lock. */
typedef struct job {
  const hw_host *host;
  hw_response *res;
  char path[4096 + 1 + MAX_NAME + 1]; /* dir/NAME, NUL-terminated */
  /* The work function's results: */
  int error; /* 0, or an errno value */
  uint32_t crc;
  uint64_t bytes;
} job;

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32) one bit at a time.  A
 * table would be eight times faster, but it would be shared state written
 * by one thread and read by others; this keeps the work function's inputs
 * all in its job.  (And it makes the work worth a thread: ~300 MB/s.) */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
  crc = ~crc;
  while (n-- > 0) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/* On a pool thread: may block, may take its time, calls nothing of the
 * host. */
static void sum_file(void *arg) {
  job *j = arg;
  unsigned char *buf;
  struct stat st;
  ssize_t n;
  int fd;

  /* O_NOFOLLOW: a symbolic link put in the directory could lead out of
   * it; it is refused (ELOOP) like any other file that is not plain. */
  fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    j->error = errno;
    return;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    j->error = EACCES; /* a directory, a FIFO (whose open could block), ... */
    close(fd);
    return;
  }
  buf = malloc(PIECE);
  if (buf == NULL) {
    j->error = ENOMEM;
    close(fd);
    return;
  }
  for (;;) {
    n = read(fd, buf, PIECE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n < 0)
        j->error = errno;
      break;
    }
    j->crc = crc32_update(j->crc, buf, (size_t)n);
    j->bytes += (uint64_t)n;
  }
  free(buf);
  close(fd);
}

/* A text/plain answer: 0, or non-zero when the host refused a part (out
 * of memory), which handle turns into HW_ERROR and the done callback can
 * only ignore - the request is finished either way. */
static int answer(const hw_host *host, hw_response *res, int status,
                  const char *text, size_t len) {
  return host->set_status(res, status) != 0 ||
         host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0 ||
         host->write(res, text, len) != 0;
}

/* Back on the loop thread, where the host may be called again. */
static void summed(hw_request *req, void *arg, int status) {
  job *j = arg;
  const hw_host *host = j->host;
  char line[64];
  int n;

  (void)req;
  if (status == HW_ECANCELED) {
    (void)answer(host, j->res, 503, TEXT("work: cancelled\n"));
  } else if (j->error == ENOENT || j->error == ENOTDIR) {
    (void)answer(host, j->res, 404, TEXT("work: no such file\n"));
  } else if (j->error == EACCES || j->error == ELOOP || j->error == EPERM) {
    (void)answer(host, j->res, 403, TEXT("work: not a readable plain file\n"));
  } else if (j->error != 0) {
    n = snprintf(line, sizeof(line), "work: %s\n", strerror(j->error));
    (void)answer(host, j->res, 500, line, (size_t)n);
  } else {
    n = snprintf(line, sizeof(line), "crc32=%08x bytes=%llu\n",
                 (unsigned)j->crc, (unsigned long long)j->bytes);
    (void)answer(host, j->res, 200, line, (size_t)n);
  }
  host->finish(j->res); /* j, in the request's memory, goes with it */
}

static hw_handle_result work_handle(void *state, hw_request *req,
                                    hw_response *res) {
  work_route *rt = state;
  const hw_host *host = rt->host;
  hw_str method = host->method(req), rest = host->rest(req), name;
  job *j;

  if (!(method.len == 3 && memcmp(method.data, "GET", 3) == 0) &&
      !(method.len == 4 && memcmp(method.data, "HEAD", 4) == 0)) {
    if (host->add_header(res, "Allow", 5, "GET, HEAD", 9) != 0 ||
        answer(host, res, 405, TEXT("work: method not allowed\n")) != 0)
      return HW_ERROR;
    return HW_HANDLED;
  }
  /* rest is "/NAME".  No '/' and no leading '.' keep the name inside the
   * directory (no "..", no sub-directories) and off hidden files. */
  name.data = rest.len > 0 ? rest.data + 1 : rest.data;
  name.len = rest.len > 0 ? rest.len - 1 : 0;
  if (name.len == 0 || name.len > MAX_NAME || name.data[0] == '.' ||
      memchr(name.data, '/', name.len) != NULL ||
      memchr(name.data, '\0', name.len) != NULL) {
    if (answer(host, res, 400,
               TEXT("work: the path must be <prefix>/NAME\n")) != 0)
      return HW_ERROR;
    return HW_HANDLED;
  }
  j = host->alloc(req, sizeof(*j));
  if (j == NULL)
    return HW_ERROR;
  memset(j, 0, sizeof(*j));
  j->host = host;
  j->res = res;
  /* The path is built here, on the loop thread, where host->rest may be
   * called: the work function gets its input ready-made. */
  memcpy(j->path, rt->dir, rt->dir_len);
  j->path[rt->dir_len] = '/';
  memcpy(j->path + rt->dir_len + 1, name.data, name.len);
  j->path[rt->dir_len + 1 + name.len] = '\0';
  if (host->queue_work(req, sum_file, summed, j) != 0)
    return HW_ERROR; /* nothing was queued: the host answers 500 */
  return HW_DEFERRED;
}

static int work_init(const hw_host *host, const char *config, size_t config_len,
                     void **state, char *err, size_t err_len) {
  static const char *const keys[] = {"dir", NULL};
  const hw_conf *conf;
  work_route *rt;
  hw_str dir;
  int r;

  (void)config_len;
  if (!HW_HOST_HAS(host, queue_work)) {
    snprintf(err, err_len, "work: needs a server with ABI 1.3 (queue_work)");
    return -1;
  }
  conf = host->config(config);
  r = host->conf_keys(conf, keys, err, err_len);
  if (r == 0 &&
      (r = host->conf_string(conf, "dir", &dir, err, err_len)) == HW_ENOENT)
    r = host->conf_error(conf, "dir", "is missing", err, err_len);
  if (r == 0 && (dir.len == 0 || dir.len > 4096 || dir.data[0] != '/' ||
                 memchr(dir.data, '\0', dir.len) != NULL))
    r = host->conf_error(conf, "dir", "must be an absolute path", err, err_len);
  if (r != 0)
    return -1;
  rt = calloc(1, sizeof(*rt));
  if (rt == NULL || (rt->dir = malloc(dir.len + 1)) == NULL) {
    free(rt);
    snprintf(err, err_len, "work: out of memory");
    return -1;
  }
  rt->host = host;
  /* Config strings die when init returns: keep a copy. */
  memcpy(rt->dir, dir.data, dir.len);
  rt->dir[dir.len] = '\0';
  rt->dir_len = dir.len;
  while (rt->dir_len > 1 && rt->dir[rt->dir_len - 1] == '/')
    rt->dir[--rt->dir_len] = '\0'; /* "/srv/files/" names the same */
  *state = rt;
  return 0;
}

static void work_fini(void *state) {
  work_route *rt = state;
  free(rt->dir);
  free(rt);
}

HW_MODULE_DEFINE("work", "1.0", work_init, work_handle, work_fini);
