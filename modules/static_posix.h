/*
 * static_posix.h - the static module's file system on Linux, included by
 * static.c (one place, where the types it reads are defined): opening
 * beneath the root with openat2(RESOLVE_BENEATH) or the O_NOFOLLOW walk,
 * O_PATH descriptors for the type checks, a directory's names
 * (fdopendir), the root's descriptor, and the clocks.  The functions are
 * static: the module is one object and links nothing of the server's.
 * Its counterpart for Windows is static_win32.h.
 */
#include <dirent.h>
#include <sys/syscall.h>

/* openat2(2)'s request and resolve flags, declared here so that the module
 * builds where <linux/openat2.h> is missing (the kernel then says
 * ENOSYS and the walk is used). */
struct static_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
#define STATIC_RESOLVE_NO_MAGICLINKS 0x02
#define STATIC_RESOLVE_BENEATH 0x08

/* Milliseconds of a clock that never steps (coarse: a tick is enough for
 * the cache's validity). */
static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The wall clock, for the cache's hash seed. */
static void real_time(struct timespec *ts) {
  clock_gettime(CLOCK_REALTIME, ts);
}

/* A path the root may be: absolute. */
static int path_absolute(const char *p, size_t n) {
  return n > 0 && p[0] == '/';
}

/* Opens a file to read whole (the MIME table): a descriptor, or -1. */
static int open_plain(const char *path) {
  return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}

/* The root's descriptor, that every lookup resolves beneath: or -1. */
static int root_open(const char *path) {
  return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* 1 if this kernel lets us use openat2 beneath `rootfd`: ENOSYS before
 * Linux 5.6, EPERM under some seccomp filters, and then the walk serves
 * the route. */
static int probe_openat2(int rootfd) {
  int ok = 0;
#ifdef SYS_openat2
  struct static_open_how how = {O_PATH | O_CLOEXEC, 0, STATIC_RESOLVE_BENEATH};
  long fd = syscall(SYS_openat2, rootfd, ".", &how, sizeof(how));
  if (fd >= 0) {
    close((int)fd);
    ok = 1;
  }
#endif
  return ok;
}

/* The fallback: one segment at a time, each opened with O_NOFOLLOW, so a
 * symbolic link is never followed (a link inside the root is refused too:
 * the price of having no openat2).  Returns a descriptor or -errno. */
static int walk_open(int rootfd, const char *rel, int flags) {
  char buf[REL_MAX + 8];
  char *seg = buf, *slash;
  int dir = rootfd, fd, e;
  size_t n = strlen(rel);

  if (n == 0)
    return (fd = openat(rootfd, ".", flags | O_CLOEXEC)) >= 0 ? fd : -errno;
  if (n >= sizeof(buf))
    return -ENAMETOOLONG;
  memcpy(buf, rel, n + 1);
  /* At most one step per '/' of a path shorter than REL_MAX. */
  while ((slash = strchr(seg, '/')) != NULL) {
    *slash = '\0';
    if (strcmp(seg, "..") == 0 || strcmp(seg, ".") == 0 || *seg == '\0')
      fd = -1, errno = ENOENT;
    else
      fd = openat(dir, seg, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    e = errno;
    if (dir != rootfd)
      close(dir);
    if (fd < 0)
      return -e;
    dir = fd;
    seg = slash + 1;
  }
  if (strcmp(seg, "..") == 0 || strcmp(seg, ".") == 0)
    fd = -1, errno = ENOENT;
  else
    fd = openat(dir, seg, flags | O_NOFOLLOW | O_CLOEXEC);
  e = errno;
  if (dir != rootfd)
    close(dir);
  return fd >= 0 ? fd : -e;
}

/* Opens `rel` beneath the root: openat2 with RESOLVE_BENEATH (no "..", no
 * absolute link, no link whose target is outside the root; no /proc magic
 * link), or the walk.  Returns a descriptor or -errno. */
static int open_beneath(const static_conf *c, const char *rel, int flags) {
  if (c->openat2) {
#ifdef SYS_openat2
    struct static_open_how how = {(uint64_t)(flags | O_CLOEXEC), 0,
                                  STATIC_RESOLVE_BENEATH |
                                      STATIC_RESOLVE_NO_MAGICLINKS};
    /* EAGAIN: a rename raced the lookup (openat2(2)); a few tries. */
    for (int tries = 0; tries < 4; tries++) {
      long fd =
          syscall(SYS_openat2, c->rootfd, *rel ? rel : ".", &how, sizeof(how));
      if (fd >= 0)
        return (int)fd;
      if (errno != EAGAIN)
        break;
    }
    if (errno != ENOSYS && errno != EPERM)
      return -errno;
#endif
  }
  return walk_open(c->rootfd, rel, flags);
}

/* The type of `rel`, from an O_PATH descriptor: nothing is opened for
 * reading.  0 or -errno; a link the walk stopped at is -ELOOP. */
static int stat_beneath(const static_conf *c, const char *rel,
                        struct stat *st) {
  int fd = open_beneath(c, rel, O_PATH), e = 0;
  if (fd < 0)
    return fd;
  if (fstat(fd, st) != 0)
    e = -errno;
  close(fd);
  if (e == 0 && S_ISLNK(st->st_mode))
    e = -ELOOP;
  return e;
}

/* Opens a regular file for reading into `r`: O_NONBLOCK so that a FIFO
 * put there since the type was checked does not block the open (it is
 * then refused by its type), cleared again for the host's reads.  0 or
 * -errno (-EACCES: not a regular file). */
static int open_regular(const static_conf *c, const char *rel, rep *r) {
  struct stat st;
  int fd, fl;

  STATIC_BETWEEN_OPENS(rel);
  fd = open_beneath(c, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return fd;
  if (fstat(fd, &st) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
  }
  if ((fl = fcntl(fd, F_GETFL)) >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  r->fd = fd;
  r->size = (uint64_t)st.st_size;
  r->mtime = (int64_t)st.st_mtim.tv_sec;
  r->mtime_ns = st.st_mtim.tv_nsec;
  return 0;
}

/* The names in directory `rel` beneath the root but "." and "..", hidden
 * ones only if c->hidden, at most MAX_LISTING (*cut set when there were
 * more): 0 with *out (malloc'd, as each name) and *nout, or an errno value.
 * Out of memory, the names read so far. */
static int read_dir(const static_conf *c, const char *rel, dname **out,
                    size_t *nout, int *cut) {
  dname *names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  DIR *d;
  int fd = open_beneath(c, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);

  if (fd < 0)
    return -fd;
  if ((d = fdopendir(fd)) == NULL) {
    int e = errno;
    close(fd);
    return e;
  }
  while ((de = readdir(d)) != NULL) {
    const char *s = de->d_name;
    int isdir = de->d_type == DT_DIR;
    struct stat st;
    if (s[0] == '.' && (s[1] == '\0' || (s[1] == '.' && s[2] == '\0')))
      continue;
    if (s[0] == '.' && !c->hidden)
      continue;
    if (n == MAX_LISTING) {
      *cut = 1;
      break;
    }
    if (de->d_type == DT_UNKNOWN &&
        fstatat(dirfd(d), s, &st, AT_SYMLINK_NOFOLLOW) == 0)
      isdir = S_ISDIR(st.st_mode);
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 64;
      dname *p = realloc(names, nc * sizeof(*p));
      if (p == NULL)
        break;
      names = p;
      cap = nc;
    }
    if ((names[n].s = strdup(s)) == NULL)
      break;
    names[n++].dir = isdir;
  }
  closedir(d);
  *out = names;
  *nout = n;
  return 0;
}
