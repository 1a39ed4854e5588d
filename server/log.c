/*
 * log.c - the server's log: one line per event on stderr, with a UTC
 * timestamp (milliseconds) and a level.  Requests are not logged by default:
 * a line per request would cost more than the request itself.
 *
 * Each line is formatted into one buffer and written with a single write(2),
 * so lines from several processes sharing stderr never interleave.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "os.h"

static hw_log_level log_level = HW_LOG_INFO;
static char log_prefix[32];
static int tee_fd = -1;

void hw__log_tee(int fd) { tee_fd = fd; }

void hw__log_set_prefix(const char *prefix) {
  snprintf(log_prefix, sizeof(log_prefix), "%s", prefix != NULL ? prefix : "");
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hw__log_set_level(hw_log_level level) { log_level = level; }

void hw__log_v(hw_log_level level, const char *fmt, va_list ap) {
  char line[2048];
  struct timeval tv;
  struct tm tm;
  size_t n, msg;
  int r;

  if (level > log_level)
    return;
  if ((unsigned)level > HW_LOG_DEBUG)
    level = HW_LOG_DEBUG;
  gettimeofday(&tv, NULL);
  /* tv_sec is a long: 32 bits on Windows, hence no pointer to it. */
  hw__os_gmtime((int64_t)tv.tv_sec, &tm);
  n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
  r = snprintf(line + n, sizeof(line) - n, ".%03dZ [%s] %s%s",
               (int)(tv.tv_usec / 1000), level_names[level], log_prefix,
               log_prefix[0] != '\0' ? ": " : "");
  if (r > 0)
    n += (size_t)r;
  msg = n;
  r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
  if (r < 0)
    r = 0;
  n += (size_t)r;
  if (n > sizeof(line) - 2)
    n = sizeof(line) - 2; /* truncated: still one line */
  /* A message must never split the log: newlines inside it become spaces. */
  for (size_t i = 0; i < n; i++)
    if (line[i] == '\n' || line[i] == '\r')
      line[i] = ' ';
  line[n++] = '\n';
  while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
    ;
  if (tee_fd >= 0 && level == HW_LOG_ERROR && msg >= 6) {
    memcpy(line + msg - 6, "error ", 6);
    while (write(tee_fd, line + msg - 6, n - msg + 6) < 0 && errno == EINTR)
      ;
  }
}

void hw__log(hw_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hw__log_v(level, fmt, ap);
  va_end(ap);
}
