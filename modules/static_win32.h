/*
 * static_win32.h - the static module's file system on Windows, included
 * by static.c in place of static_posix.h (one place, where the types it
 * reads are defined).  Windows has no openat2 and no O_PATH, so every
 * lookup is the walk: from the root's handle, one name at a time, each
 * opened by its full path with FILE_FLAG_OPEN_REPARSE_POINT (a symbolic
 * link or a junction is opened itself, never followed, and refused: 404,
 * as the Linux walk refuses every link), each step's handle kept open
 * until the next is (a directory with an open handle in it cannot be
 * renamed, so the walk is not raced off the path), and each name checked
 * against the name the file system reports (an 8.3 short name such as
 * HIDDEN~1 would otherwise reach ".hidden" past the name checks).  Paths
 * are "\\?\" paths, taken literally: no trailing dot or space dropped, no
 * device name (NUL, CON) meant.  Descriptors are CRT descriptors of those
 * handles, as the host's file regions expect.  The functions are static:
 * the module is one object and links nothing of the server's.
 */
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <io.h>
/* windows.h has a TEXT macro of its own (wide strings): static.c's stays. */
#pragma push_macro("TEXT")
#include <windows.h>
#pragma pop_macro("TEXT")

/* Flags the shared code names.  O_PATH and O_DIRECTORY are this file's
 * own (bits msvcrt does not use): what open_beneath opens a name for. */
#define O_PATH 0x1000000
#define O_DIRECTORY 0x2000000
#define O_NONBLOCK 0 /* no FIFO can sit beneath a Windows directory */
#define O_NOCTTY 0
#define O_CLOEXEC O_NOINHERIT

#define WPATH_MAX (REL_MAX + MAX_PATH + 16) /* wide characters */

/* A Win32 error as an errno value (the lookup's answers are by errno). */
static int errno_win(DWORD e) {
  switch (e) {
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
    return ENOENT;
  case ERROR_ACCESS_DENIED:
  case ERROR_SHARING_VIOLATION:
    return EACCES;
  case ERROR_DIRECTORY:
    return ENOTDIR;
  case ERROR_FILENAME_EXCED_RANGE:
    return ENAMETOOLONG;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
    return ENOMEM;
  default:
    return EIO;
  }
}

/* memrchr and strndup, which msvcrt lacks (under names of the module's
 * own: gcc knows strndup as a built-in). */
#define memrchr static_memrchr
#define strndup static_strndup

static void *memrchr(const void *p, int ch, size_t n) {
  const unsigned char *s = p;
  while (n > 0)
    if (s[--n] == (unsigned char)ch)
      return (void *)(s + n);
  return NULL;
}

static char *strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = malloc(len + 1);
  if (d != NULL) {
    memcpy(d, s, len);
    d[len] = '\0';
  }
  return d;
}

/* Milliseconds of a clock that never steps. */
static uint64_t mono_ms(void) { return (uint64_t)GetTickCount64(); }

/* 100 ns ticks since 1601 as seconds and nanoseconds since 1970. */
static void from_filetime(FILETIME ft, int64_t *sec, long *ns) {
  uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
  *sec = (int64_t)(t / 10000000u) - INT64_C(11644473600);
  *ns = (long)(t % 10000000u) * 100;
}

/* The wall clock, for the cache's hash seed. */
static void real_time(struct timespec *ts) {
  FILETIME ft;
  int64_t sec;
  long ns;
  GetSystemTimeAsFileTime(&ft);
  from_filetime(ft, &sec, &ns);
  ts->tv_sec = (time_t)sec;
  ts->tv_nsec = ns;
}

/* A path the root may be: "C:\www", "C:/www", or a UNC "\\server\share". */
static int path_absolute(const char *p, size_t n) {
  int letter = n >= 3 && ((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z') &&
               p[1] == ':' && (p[2] == '/' || p[2] == '\\');
  int unc = n >= 3 && (p[0] == '\\' || p[0] == '/') &&
            (p[1] == '\\' || p[1] == '/');
  return letter || unc;
}

/* UTF-8 to wide: the characters written with the NUL, or 0. */
static int wide_of(const char *s, wchar_t *out, int cap) {
  return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, cap);
}

/* Opens a file to read whole (the MIME table): a descriptor, or -1. */
static int open_plain(const char *path) {
  wchar_t w[WPATH_MAX];
  if (wide_of(path, w, WPATH_MAX) == 0) {
    errno = ENOENT;
    return -1;
  }
  return _wopen(w, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
}

/* A handle as a descriptor (closed with close()): or -errno, the handle
 * closed. */
static int fd_of(HANDLE h) {
  int fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
  if (fd < 0) {
    CloseHandle(h);
    return -EMFILE;
  }
  return fd;
}

/* The root's descriptor, a directory handle followed through links (a
 * root switched to another release is followed, as on Linux): or -1. */
static int root_open(const char *path) {
  wchar_t w[WPATH_MAX];
  BY_HANDLE_FILE_INFORMATION info;
  HANDLE h;
  int fd;

  if (wide_of(path, w, WPATH_MAX) == 0) {
    errno = ENOENT;
    return -1;
  }
  h = CreateFileW(w, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    errno = errno_win(GetLastError());
    return -1;
  }
  if (!GetFileInformationByHandle(h, &info) ||
      !(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
    CloseHandle(h);
    errno = ENOTDIR;
    return -1;
  }
  if ((fd = fd_of(h)) < 0) {
    errno = -fd;
    return -1;
  }
  return fd;
}

/* No openat2 on Windows: the walk serves every route. */
static int probe_openat2(int rootfd) {
  (void)rootfd;
  return 0;
}

/* 1 if `seg` may be a name on the walk: not empty, "." or "..", and no
 * character Windows would read as syntax (a ':' names a data stream). */
static int seg_ok(const char *seg) {
  if (*seg == '\0' || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
    return 0;
  for (const unsigned char *p = (const unsigned char *)seg; *p; p++)
    if (*p < 32 || strchr("\\:<>\"|?*", *p) != NULL)
      return 0;
  return 1;
}

/* Opens one name of the walk (`path`, whose last name is `seg`), not
 * following it: the handle, or INVALID_HANDLE_VALUE with *e set. */
static HANDLE open_step(const wchar_t *path, const wchar_t *seg, int last,
                        int flags, int *e) {
  DWORD access = !last || (flags & (O_PATH | O_DIRECTORY))
                     ? FILE_READ_ATTRIBUTES | FILE_LIST_DIRECTORY
                     : GENERIC_READ;
  /* No FILE_SHARE_DELETE on the way: the directories stay where they are
   * while the walk goes through them.  The file itself may be replaced
   * while it is open (a deploy), as on Linux. */
  DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | (last ? FILE_SHARE_DELETE : 0);
  FILE_ATTRIBUTE_TAG_INFO tag;
  BYTE nbuf[sizeof(FILE_NAME_INFO) + MAX_PATH * 2 * sizeof(WCHAR)];
  FILE_NAME_INFO *name = (FILE_NAME_INFO *)nbuf;
  const wchar_t *tail;
  size_t tl, sl = wcslen(seg);
  HANDLE h = CreateFileW(path, access, share, NULL, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                         NULL);

  if (h == INVALID_HANDLE_VALUE) {
    *e = errno_win(GetLastError());
    return h;
  }
  *e = 0;
  if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof(tag)) ||
      !GetFileInformationByHandleEx(h, FileNameInfo, name, sizeof(nbuf)))
    *e = EIO;
  else if ((tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
           IsReparseTagNameSurrogate(tag.ReparseTag))
    *e = ELOOP; /* a symbolic link, a junction, a mount point */
  else if (!last && !(tag.FileAttributes & FILE_ATTRIBUTE_DIRECTORY))
    *e = ENOTDIR;
  else if (last && (flags & O_DIRECTORY) &&
           !(tag.FileAttributes & FILE_ATTRIBUTE_DIRECTORY))
    *e = ENOTDIR;
  if (*e == 0) {
    /* The name the file system has for it must be the one asked for
     * (case aside): not a short name's alias. */
    tl = name->FileNameLength / sizeof(WCHAR);
    tail = name->FileName + tl;
    while (tail > name->FileName && tail[-1] != L'\\')
      tail--;
    if ((size_t)(name->FileName + tl - tail) != sl ||
        CompareStringOrdinal(tail, (int)sl, seg, (int)sl, TRUE) != CSTR_EQUAL)
      *e = ENOENT;
  }
  if (*e == 0 && (tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    /* Another kind of reparse point (a deduplicated or cloud file): its
     * data is read through its filter, so opened again, followed. */
    CloseHandle(h);
    h = CreateFileW(path, access, share, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE)
      *e = errno_win(GetLastError());
    return h;
  }
  if (*e != 0) {
    CloseHandle(h);
    return INVALID_HANDLE_VALUE;
  }
  return h;
}

/* The walk from the root's handle, one name of `rel` at a time.  Returns
 * a descriptor or -errno. */
static int walk_open(int rootfd, const char *rel, int flags) {
  wchar_t path[WPATH_MAX];
  char buf[REL_MAX + 8];
  char *seg = buf, *slash;
  HANDLE held = NULL, h;
  size_t at, n = strlen(rel);
  int e = 0, last;

  if (n >= sizeof(buf))
    return -ENAMETOOLONG;
  memcpy(buf, rel, n + 1);
  /* The root as the system resolved it when it was opened. */
  at = GetFinalPathNameByHandleW((HANDLE)_get_osfhandle(rootfd), path,
                                 WPATH_MAX, FILE_NAME_NORMALIZED);
  if (at == 0 || at >= WPATH_MAX)
    return -ENOENT;
  if (n == 0) { /* the root itself */
    h = CreateFileW(path, FILE_READ_ATTRIBUTES | FILE_LIST_DIRECTORY,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    return h == INVALID_HANDLE_VALUE ? -errno_win(GetLastError()) : fd_of(h);
  }
  /* At most one step per '/' of a path shorter than REL_MAX. */
  for (;;) {
    int k;
    if ((slash = strchr(seg, '/')) != NULL)
      *slash = '\0';
    last = slash == NULL;
    if (!seg_ok(seg) || at + 2 >= WPATH_MAX) {
      e = ENOENT;
      break;
    }
    path[at] = L'\\';
    if ((k = wide_of(seg, path + at + 1, (int)(WPATH_MAX - at - 1))) == 0) {
      e = ENOENT;
      break;
    }
    h = open_step(path, path + at + 1, last, flags, &e);
    at += (size_t)k; /* the backslash and the name, without the NUL */
    if (held != NULL)
      CloseHandle(held);
    held = NULL;
    if (h == INVALID_HANDLE_VALUE)
      break;
    if (last)
      return fd_of(h);
    held = h;
    seg = slash + 1;
  }
  if (held != NULL)
    CloseHandle(held);
  return -e;
}

/* Opens `rel` beneath the root: the walk.  Returns a descriptor or -errno. */
static int open_beneath(const static_conf *c, const char *rel, int flags) {
  return walk_open(c->rootfd, rel, flags);
}

/* The type of `rel` (st_mode alone: a directory or a file; a link the
 * walk stopped at is -ELOOP).  0 or -errno. */
static int stat_beneath(const static_conf *c, const char *rel,
                        struct stat *st) {
  BY_HANDLE_FILE_INFORMATION info;
  int fd = open_beneath(c, rel, O_PATH), e = 0;
  if (fd < 0)
    return fd;
  memset(st, 0, sizeof(*st));
  if (!GetFileInformationByHandle((HANDLE)_get_osfhandle(fd), &info))
    e = -EIO;
  else
    st->st_mode = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? _S_IFDIR
                                                                     : _S_IFREG;
  close(fd);
  return e;
}

/* Opens a regular file for reading into `r`.  0 or -errno (-EISDIR: a
 * directory put there since the type was checked). */
static int open_regular(const static_conf *c, const char *rel, rep *r) {
  BY_HANDLE_FILE_INFORMATION info;
  int fd;

  STATIC_BETWEEN_OPENS(rel);
  fd = open_beneath(c, rel, O_RDONLY);
  if (fd < 0)
    return fd;
  if (!GetFileInformationByHandle((HANDLE)_get_osfhandle(fd), &info)) {
    close(fd);
    return -EIO;
  }
  if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
    close(fd);
    return -EISDIR;
  }
  r->fd = fd;
  r->size = ((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow;
  from_filetime(info.ftLastWriteTime, &r->mtime, &r->mtime_ns);
  return 0;
}

/* The names in directory `rel` beneath the root but "." and "..", hidden
 * ones only if c->hidden, at most MAX_LISTING (*cut set when there were
 * more): 0 with *out (malloc'd, as each name) and *nout, or an errno value.
 * Out of memory, the names read so far.  Read from the directory's handle
 * (GetFileInformationByHandleEx), not by its path again. */
static int read_dir(const static_conf *c, const char *rel, dname **out,
                    size_t *nout, int *cut) {
  LONGLONG buf[8192]; /* 64 KiB, aligned for the records */
  dname *names = NULL;
  size_t n = 0, cap = 0;
  char s[SEG_MAX * 4 + 1];
  int fd = open_beneath(c, rel, O_RDONLY | O_DIRECTORY), done = 0;
  HANDLE h;

  if (fd < 0)
    return -fd;
  h = (HANDLE)_get_osfhandle(fd);
  while (!done && GetFileInformationByHandleEx(h, FileFullDirectoryInfo, buf,
                                               sizeof(buf))) {
    FILE_FULL_DIR_INFO *d = (FILE_FULL_DIR_INFO *)buf;
    for (;;) {
      int len = WideCharToMultiByte(CP_UTF8, 0, d->FileName,
                                    (int)(d->FileNameLength / sizeof(WCHAR)),
                                    s, (int)sizeof(s) - 1, NULL, NULL);
      DWORD a = d->FileAttributes;
      s[len > 0 ? len : 0] = '\0';
      if (len <= 0 || (s[0] == '.' && (s[1] == '\0' ||
                                       (s[1] == '.' && s[2] == '\0'))))
        ;
      else if (s[0] == '.' && !c->hidden)
        ;
      else if (n == MAX_LISTING) {
        *cut = 1;
        done = 1;
        break;
      } else {
        if (n == cap) {
          size_t nc = cap ? cap * 2 : 64;
          dname *p = realloc(names, nc * sizeof(*p));
          if (p == NULL) {
            done = 1;
            break;
          }
          names = p;
          cap = nc;
        }
        if ((names[n].s = strdup(s)) == NULL) {
          done = 1;
          break;
        }
        /* A junction is listed as Linux lists a link: not a directory. */
        names[n++].dir = (a & FILE_ATTRIBUTE_DIRECTORY) &&
                         !(a & FILE_ATTRIBUTE_REPARSE_POINT);
      }
      if (d->NextEntryOffset == 0)
        break;
      d = (FILE_FULL_DIR_INFO *)((char *)d + d->NextEntryOffset);
    }
  }
  close(fd);
  *out = names;
  *nout = n;
  return 0;
}
