/*
 * os_posix.c - the platform unit on Linux (see os.h): the POSIX and Linux
 * calls the rest of server/ no longer makes itself.  It owns the shared
 * pages (memfd_create and mmap MAP_SHARED for the metrics region and the
 * ticket keys, a mapped file for a worker's module note, anonymous shared
 * pages for the check's child, madvise MADV_DONTDUMP), the staging of
 * files (the copies of modules and certificates, the run
 * directory made by mkdtemp off a noexec file system, removing a retired
 * generation's directory: a mapped file may be unlinked here), a
 * process's memory, descriptors, name and state (/proc) and the pid
 * file's flock, files at offsets and gathered writes, a socket's writes
 * from memory (sendmsg with MSG_MORE) and from files (sendfile), and the
 * kernel's random bytes.  It calls nothing of ours and logs nothing: errors go back
 * as codes, and the few messages that name files are written into the
 * caller's buffer, worded as they always were.
 */
#define _GNU_SOURCE
#include "autoconf.h"

#include "os.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

/* ---- descriptors -------------------------------------------------------- */

int hw__os_dup_cloexec(int fd) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return d < 0 ? -errno : d;
}

ssize_t hw__os_pread(int fd, void *buf, size_t n, uint64_t off) {
  ssize_t r;
  do
    r = pread(fd, buf, n, (off_t)off);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

ssize_t hw__os_pwrite(int fd, const void *buf, size_t n, uint64_t off) {
  ssize_t r = pwrite(fd, buf, n, (off_t)off);
  return r < 0 ? -errno : r;
}

int hw__os_rename_over(const char *from, const char *to) {
  return rename(from, to);
}

int hw__os_open_log(const char *path, int create) {
  return open(path, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0),
              0644);
}

ssize_t hw__os_append_v(int fd, const hw__os_iov *iov, int n) {
  ssize_t r;
  do
    r = writev(fd, iov, n);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

/* ---- sockets' writes ---------------------------------------------------- */

ssize_t hw__os_send_gather(uv_os_sock_t s, const hw__os_iov *iov, size_t n,
                           int more) {
  struct msghdr msg = {0};
  ssize_t r;
  msg.msg_iov = (struct iovec *)iov;
  msg.msg_iovlen = n;
  do
    r = sendmsg(s, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

ssize_t hw__os_send_file(uv_os_sock_t s, int fd, uint64_t off, size_t len) {
  off_t o = (off_t)off;
  ssize_t r;
  do
    r = sendfile(s, fd, &o, len);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int hw__os_sock_watch(uv_os_sock_t s, uv_os_sock_t *out) {
  int d = fcntl(s, F_DUPFD_CLOEXEC, 0);
  if (d < 0)
    return -errno;
  *out = d;
  return 0;
}

void hw__os_sock_unwatch(uv_os_sock_t w) { close(w); }

/* ---- the C library ------------------------------------------------------ */

int hw__os_gmtime(int64_t sec, struct tm *out) {
  time_t t = (time_t)sec;
  return gmtime_r(&t, out) != NULL ? 0 : -EINVAL;
}

int hw__os_random(void *p, size_t n) {
  unsigned char *b = p;
  while (n > 0) {
    ssize_t r = getrandom(b, n, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

char *hw__os_strndup(const char *s, size_t n) { return strndup(s, n); }

void *hw__os_memmem(const void *hay, size_t hl, const void *needle,
                    size_t nl) {
  return memmem(hay, hl, needle, nl);
}

int hw__os_setenv(const char *name, const char *value) {
  return setenv(name, value, 1) == 0 ? 0 : -errno;
}

/* ---- shared pages ------------------------------------------------------- */

int hw__os_pages_create(const char *name, size_t size, int *fd, void **out) {
  void *p;
  int f = memfd_create(name, MFD_CLOEXEC);

  if (f < 0)
    return -errno;
  if (ftruncate(f, (off_t)size) != 0 ||
      (p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0)) ==
          MAP_FAILED) {
    int e = errno;
    close(f);
    return -e;
  }
  *fd = f;
  *out = p;
  return 0;
}

int hw__os_pages_map(int fd, size_t size, int writable, void **out) {
  void *p = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                 MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return -errno;
  *out = p;
  return 0;
}

int hw__os_pages_size(int fd, size_t *size) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return -errno;
  if (st.st_size < 0)
    return -EINVAL;
  *size = (size_t)st.st_size;
  return 0;
}

int hw__os_pages_anon(size_t size, int shared, void **out) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return -errno;
  *out = p;
  return 0;
}

int hw__os_pages_file(const char *path, size_t size, int create, void **out) {
  int fd = create ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                  : open(path, O_RDWR | O_CLOEXEC);
  int r;

  if (fd < 0)
    return -errno;
  if (create && ftruncate(fd, (off_t)size) != 0) {
    r = -errno;
    close(fd);
    return r;
  }
  r = hw__os_pages_map(fd, size, 1, out);
  close(fd);
  return r;
}

int hw__os_pages_discard(void *p, size_t size) {
  return madvise(p, size, MADV_DONTNEED) == 0 ? 0 : -errno;
}

void hw__os_pages_unmap(void *p, size_t size) { munmap(p, size); }

void hw__os_pages_nodump(void *p, size_t size) {
  (void)madvise(p, size, MADV_DONTDUMP);
}

/* ---- files and directories ---------------------------------------------- */

/* Writes all of buf to out: 0, or -1 with errno. */
static int write_all(int out, const char *p, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(out, p, (size_t)n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= w;
  }
  return 0;
}

int hw__os_copy_file(const char *from, const char *to, unsigned mode,
                     char *why, size_t why_len) {
  char buf[65536];
  int in, out, r = 0;
  ssize_t n;
  struct stat st;

  in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    snprintf(why, why_len, "%s: %s", from, strerror(errno));
    return -1;
  }
  if (mode == 0)
    mode = 0400 | (fstat(in, &st) == 0 ? st.st_mode & 0044 : 0);
  out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (out < 0) {
    snprintf(why, why_len, "cannot create %s: %s", to, strerror(errno));
    close(in);
    return -1;
  }
  while ((n = read(in, buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR)
        continue;
      snprintf(why, why_len, "%s: %s", from, strerror(errno));
      r = -1;
      break;
    }
    if (write_all(out, buf, n) != 0) {
      snprintf(why, why_len, "cannot write %s: %s", to, strerror(errno));
      r = -1;
      break;
    }
  }
  close(in);
  if (close(out) != 0 && r == 0) {
    snprintf(why, why_len, "cannot write %s: %s", to, strerror(errno));
    r = -1;
  }
  return r;
}

int hw__os_run_dir(const char *parent, char **out, char *err, size_t err_len) {
  char tmpl[4096];
  struct statvfs vfs;
  const char *base = parent;

  if (base == NULL)
    base = getenv("TMPDIR");
  if (base == NULL || base[0] == '\0')
    base = "/tmp";
  snprintf(tmpl, sizeof(tmpl), "%s/haywire.%d.XXXXXX", base, (int)getpid());
  if (mkdtemp(tmpl) == NULL) {
    snprintf(err, err_len, "cannot create a run directory under %s: %s", base,
             strerror(errno));
    return uv_translate_sys_error(errno);
  }
  /* Module copies are mapped executable: a noexec file system cannot
   * hold them. */
  if (statvfs(tmpl, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC)) {
    rmdir(tmpl);
    snprintf(err, err_len,
             "%s is on a noexec file system: modules cannot be loaded from "
             "it (choose another with --run-dir)",
             base);
    return UV_EINVAL;
  }
  if (tmpl[0] != '/') {
    char *abs = realpath(tmpl, NULL);
    if (abs == NULL) {
      rmdir(tmpl);
      snprintf(err, err_len, "%s: %s", tmpl, strerror(errno));
      return UV_EINVAL;
    }
    *out = abs;
  } else {
    *out = strdup(tmpl);
  }
  return *out != NULL ? 0 : UV_ENOMEM;
}

/* Unlinking a mapped file is harmless here: the pages stay until the last
 * mapping goes. */
void hw__os_remove_tree(const char *dir, int depth) {
  char path[4352];
  DIR *d = opendir(dir);
  struct dirent *e;

  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (unlink(path) != 0 && errno == EISDIR && depth > 0)
      hw__os_remove_tree(path, depth - 1);
  }
  closedir(d);
  rmdir(dir);
}

/* ---- processes ---------------------------------------------------------- */

int hw__os_process_usage(long long pid, uint64_t *resident, uint64_t *fds) {
  char path[64], buf[256];
  unsigned long long size = 0, pages = 0;
  int known = 0;
  FILE *f;
  DIR *d;
  struct dirent *de;

  snprintf(path, sizeof(path), "/proc/%lld/statm", pid);
  if ((f = fopen(path, "re")) != NULL) {
    if (fgets(buf, sizeof(buf), f) != NULL &&
        sscanf(buf, "%llu %llu", &size, &pages) == 2) {
      *resident = pages * (uint64_t)sysconf(_SC_PAGESIZE);
      known |= HW__OS_USAGE_RESIDENT;
    }
    fclose(f);
  }
  snprintf(path, sizeof(path), "/proc/%lld/fd", pid);
  if ((d = opendir(path)) != NULL) {
    uint64_t n = 0;
    while ((de = readdir(d)) != NULL)
      if (de->d_name[0] != '.')
        n++;
    closedir(d);
    /* Reading our own list shows the directory being read too. */
    if (pid == (long long)getpid() && n > 0)
      n--;
    *fds = n;
    known |= HW__OS_USAGE_FDS;
  }
  return known;
}

ssize_t hw__os_read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n, got = 0;
  if (fd < 0)
    return -errno;
  while ((size_t)got < cap - 1 &&
         (n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
    got += n;
  close(fd);
  buf[got] = '\0';
  return got;
}

int hw__os_process_name(long pid, char *buf, size_t cap) {
  char path[64];
  ssize_t n;
  if (pid == 0)
    snprintf(path, sizeof(path), "/proc/self/comm");
  else
    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
  if ((n = hw__os_read_small(path, buf, cap)) <= 0)
    return -1;
  if (buf[n - 1] == '\n')
    buf[n - 1] = '\0';
  return 0;
}

int hw__os_process_names_known(void) {
  return access("/proc/self", F_OK) == 0;
}

int hw__os_process_alive(long pid) {
  return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int hw__os_process_exited(long pid) {
  char path[64], stat[512], *close_paren;
  /* Its state in /proc is Z; no entry while /proc is there: gone. */
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  if (hw__os_read_small(path, stat, sizeof(stat)) <= 0)
    return hw__os_process_names_known();
  close_paren = strrchr(stat, ')');
  return !(close_paren == NULL || close_paren[1] == '\0' ||
           close_paren[2] != 'Z');
}

/* ---- the pid file's lock ------------------------------------------------ */

int hw__os_lock_file(int fd, int exclusive) {
  if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
    return 0;
  return errno == EWOULDBLOCK ? 1 : -errno;
}
