/*
 * portable.c - the tests' platform helpers (see portable.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>

#ifdef _WIN32
#include <direct.h> /* _mkdir */
#include <io.h>
#include <windows.h>
#else
#include <sys/mman.h> /* memfd_create */
#include <unistd.h>
#endif

#include "portable.h"

#ifdef _WIN32

const char *hwt_tmp(void) {
  static char dir[MAX_PATH + 1];
  DWORD n;
  if (dir[0] != '\0')
    return dir;
  n = GetTempPathA(sizeof(dir), dir);
  if (n == 0 || n >= sizeof(dir)) {
    strcpy(dir, ".");
    return dir;
  }
  for (char *p = dir; *p != '\0'; p++)
    if (*p == '\\')
      *p = '/';
  /* GetTempPath ends with a separator; the tests add their own. */
  while (n > 1 && dir[n - 1] == '/' && dir[n - 2] != ':')
    dir[--n] = '\0';
  return dir;
}

/* msvcrt has no mkdtemp, and _mktemp gives 26 names per template and
 * process at most: the X's come from a counter, the pid and the clock,
 * and a name taken already (EEXIST) is tried again with the next. */
char *hwt_mkdtemp(char *tmpl) {
  static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  static unsigned counter;
  size_t len = strlen(tmpl);
  char *x;
  if (len < 6 || strcmp(tmpl + len - 6, "XXXXXX") != 0) {
    errno = EINVAL;
    return NULL;
  }
  x = tmpl + len - 6;
  for (int tries = 0; tries < 1000; tries++) {
    unsigned long long v = ((unsigned long long)GetCurrentProcessId() << 20) ^
                           GetTickCount64() ^ (++counter * 2654435761u);
    for (int i = 0; i < 6; i++, v /= 36)
      x[i] = digits[v % 36];
    if (_mkdir(tmpl) == 0)
      return tmpl;
    if (errno != EEXIST)
      return NULL;
  }
  errno = EEXIST;
  return NULL;
}

int hwt_mkdir(const char *path, unsigned mode) {
  (void)mode; /* Windows' directories have ACLs, not modes */
  return _mkdir(path);
}

void hwt_usleep(unsigned us) {
  Sleep((us + 999) / 1000);
}

int hwt_pipe(int fds[2]) {
  return _pipe(fds, 4096, _O_BINARY);
}

int hwt_fd_open(int fd) {
  return _get_osfhandle(fd) != -1;
}

int hwt_zero_file(const char *name, size_t size) {
  char path[MAX_PATH + 64];
  int fd;
  snprintf(path, sizeof(path), "%s/%s-XXXXXX", hwt_tmp(), name);
  if (_mktemp_s(path, strlen(path) + 1) != 0)
    return -1;
  fd = _open(path, _O_RDWR | _O_CREAT | _O_EXCL | _O_BINARY | _O_TEMPORARY,
             _S_IREAD | _S_IWRITE);
  if (fd >= 0 && _chsize_s(fd, (long long)size) != 0) {
    _close(fd);
    return -1;
  }
  return fd;
}

#else

const char *hwt_tmp(void) {
  return "/tmp";
}

char *hwt_mkdtemp(char *tmpl) {
  return mkdtemp(tmpl);
}

int hwt_mkdir(const char *path, unsigned mode) {
  return mkdir(path, (mode_t)mode);
}

void hwt_usleep(unsigned us) {
  usleep(us);
}

int hwt_pipe(int fds[2]) {
  return pipe(fds);
}

int hwt_fd_open(int fd) {
  return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

int hwt_zero_file(const char *name, size_t size) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd >= 0 && ftruncate(fd, (off_t)size) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

#endif
