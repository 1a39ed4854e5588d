/*
 * os_win32.c - the platform unit on Windows (see os.h), built in place of
 * os_posix.c by mingw-w64.  It owns the same things with the Win32 API:
 * the shared pages (a region handed to workers is a CRT descriptor of a
 * temporary file opened FILE_FLAG_DELETE_ON_CLOSE, because libuv hands a
 * child only CRT descriptors of files, pipes and devices, and the child's
 * C runtime drops a handle whose type it cannot tell, such as a bare
 * file mapping's; each side maps it with CreateFileMapping and
 * MapViewOfFile), binary file copies, the run directory (_fullpath;
 * there are no noexec mounts), removing a retired generation's directory
 * while some of its DLLs are still loaded (what cannot be deleted now is
 * retried on the next removal and at exit), a process's memory, name and
 * state (OpenProcess), the pid file's lock (LockFileEx), files at offsets,
 * a socket's writes (WSASend; a file region is read into a buffer and
 * sent), and the C library calls msvcrt lacks.  Paths are UTF-8 and go to
 * the wide ("W") calls.  It calls nothing of ours and logs nothing.
 */
#include "autoconf.h"

#include "os.h"

#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <windows.h>
#include <ntsecapi.h>
#include <psapi.h>

/* A Win32 or Winsock error as an errno value, for the -errno contract. */
static int errno_of(DWORD e) {
  static const struct {
    DWORD win;
    int err;
  } map[] = {
      {ERROR_FILE_NOT_FOUND, ENOENT}, {ERROR_PATH_NOT_FOUND, ENOENT},
      {ERROR_MOD_NOT_FOUND, ENOENT},  {ERROR_ACCESS_DENIED, EACCES},
      {ERROR_SHARING_VIOLATION, EACCES}, {ERROR_INVALID_HANDLE, EBADF},
      {WSAENOTSOCK, EBADF},           {ERROR_NOT_ENOUGH_MEMORY, ENOMEM},
      {ERROR_OUTOFMEMORY, ENOMEM},    {ERROR_COMMITMENT_LIMIT, ENOMEM},
      {WSAENOBUFS, ENOMEM},           {ERROR_FILE_EXISTS, EEXIST},
      {ERROR_ALREADY_EXISTS, EEXIST}, {ERROR_DISK_FULL, ENOSPC},
      {ERROR_HANDLE_DISK_FULL, ENOSPC}, {ERROR_LOCK_VIOLATION, EAGAIN},
      {WSAEWOULDBLOCK, EAGAIN},       {ERROR_INVALID_PARAMETER, EINVAL},
      {WSAEINVAL, EINVAL},            {WSAECONNRESET, ECONNRESET},
      {ERROR_NETNAME_DELETED, ECONNRESET}, {WSAECONNABORTED, ECONNABORTED},
      {WSAESHUTDOWN, EPIPE},          {ERROR_BROKEN_PIPE, EPIPE},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (map[i].win == e)
      return map[i].err;
  return EIO;
}

/* `s` (UTF-8) as a wide string in `out` (`cap` characters): 0, or -1. */
static int wide(const char *s, wchar_t *out, int cap) {
  return MultiByteToWideChar(CP_UTF8, 0, s, -1, out, cap) > 0 ? 0 : -1;
}

/* `w` as UTF-8 in `out`: 0, or -1. */
static int narrow(const wchar_t *w, char *out, int cap) {
  return WideCharToMultiByte(CP_UTF8, 0, w, -1, out, cap, NULL, NULL) > 0
             ? 0
             : -1;
}

static HANDLE handle_of(int fd) { return (HANDLE)_get_osfhandle(fd); }

/* ---- descriptors -------------------------------------------------------- */

int hw__os_dup_cloexec(int fd) {
  int low[3], nlow = 0, d;
  /* _dup takes the lowest free number; the standard three are kept free
   * of it, as F_DUPFD 3 does on Linux. */
  while ((d = _dup(fd)) >= 0 && d <= 2 && nlow < 3)
    low[nlow++] = d;
  while (nlow > 0)
    _close(low[--nlow]);
  if (d < 0)
    return -errno;
  /* _dup's handle is inheritable: a child must not get the file. */
  SetHandleInformation(handle_of(d), HANDLE_FLAG_INHERIT, 0);
  return d;
}

/* One ReadFile or WriteFile at `off` (all ones: the end of the file). */
static ssize_t at_offset(int fd, void *buf, size_t n, uint64_t off,
                         int writing) {
  HANDLE h = handle_of(fd);
  OVERLAPPED ov;
  DWORD done = 0, want = n > 0x40000000 ? 0x40000000 : (DWORD)n;
  BOOL ok;

  if (h == INVALID_HANDLE_VALUE)
    return -EBADF;
  memset(&ov, 0, sizeof(ov));
  ov.Offset = (DWORD)off;
  ov.OffsetHigh = (DWORD)(off >> 32);
  /* On a handle opened for synchronous I/O this moves its position too;
   * nothing here reads or writes these files by position. */
  ok = writing ? WriteFile(h, buf, want, &done, &ov)
               : ReadFile(h, buf, want, &done, &ov);
  if (!ok)
    return GetLastError() == ERROR_HANDLE_EOF ? 0 : -errno_of(GetLastError());
  return (ssize_t)done;
}

ssize_t hw__os_pread(int fd, void *buf, size_t n, uint64_t off) {
  return at_offset(fd, buf, n, off, 0);
}

ssize_t hw__os_pwrite(int fd, const void *buf, size_t n, uint64_t off) {
  return at_offset(fd, (void *)buf, n, off, 1);
}

int hw__os_rename_over(const char *from, const char *to) {
  wchar_t wf[MAX_PATH * 2], wt[MAX_PATH * 2];
  DWORD e = 0;
  if (wide(from, wf, MAX_PATH * 2) != 0 || wide(to, wt, MAX_PATH * 2) != 0)
    return errno = ENAMETOOLONG, -1;
  /* A reader without FILE_SHARE_DELETE holds it off for an instant. */
  for (int i = 0; i < 20; i++) {
    if (MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING))
      return 0;
    if ((e = GetLastError()) != ERROR_ACCESS_DENIED &&
        e != ERROR_SHARING_VIOLATION)
      break;
    Sleep(1);
  }
  errno = errno_of(e);
  return -1;
}

int hw__os_open_log(const char *path, int create) {
  wchar_t w[MAX_PATH * 2];
  HANDLE h;
  int fd;

  if (wide(path, w, MAX_PATH * 2) != 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  /* Not inheritable (no SECURITY_ATTRIBUTES asking for it).  Writes go to
   * the end through hw__os_append_v's end-of-file offset. */
  h = CreateFileW(w, GENERIC_WRITE,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  create ? OPEN_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL,
                  NULL);
  if (h == INVALID_HANDLE_VALUE) {
    errno = errno_of(GetLastError());
    return -1;
  }
  if ((fd = _open_osfhandle((intptr_t)h, _O_APPEND | _O_BINARY)) < 0) {
    CloseHandle(h);
    errno = EMFILE;
  }
  return fd;
}

ssize_t hw__os_append_v(int fd, const hw__os_iov *iov, int n) {
  size_t total = 0, at = 0;
  char *all;
  ssize_t r;
  int i;

  for (i = 0; i < n; i++)
    total += iov[i].iov_len;
  /* One write, so that another worker's line cannot land in between. */
  if ((all = malloc(total > 0 ? total : 1)) == NULL)
    return -ENOMEM;
  for (i = 0; i < n; i++) {
    memcpy(all + at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  /* The CRT's O_APPEND seeks to the end and then writes: two steps that
   * other processes can come between.  Offset all ones is the end of the
   * file at the moment of the write, as FILE_APPEND_DATA is. */
  r = at_offset(fd, all, total, UINT64_MAX, 1);
  free(all);
  return r;
}

/* ---- sockets' writes ---------------------------------------------------- */

ssize_t hw__os_send_gather(uv_os_sock_t s, const hw__os_iov *iov, size_t n,
                           int more) {
  WSABUF bufs[64];
  DWORD sent = 0;
  size_t i;

  (void)more; /* no MSG_MORE or TCP_NOPUSH: the head leaves as it is */
  if (n > 64)
    n = 64;
  for (i = 0; i < n; i++) {
    bufs[i].buf = iov[i].iov_base;
    bufs[i].len = (ULONG)iov[i].iov_len;
  }
  if (WSASend(s, bufs, (DWORD)n, &sent, 0, NULL, NULL) != 0)
    return -errno_of((DWORD)WSAGetLastError());
  return (ssize_t)sent;
}

ssize_t hw__os_send_file(uv_os_sock_t s, int fd, uint64_t off, size_t len) {
  /* TransmitFile would need an overlapped socket call of its own beside
   * libuv's; a read and a send put the same bytes on the wire.  What the
   * socket does not take is read again next time, from its offset. */
  char buf[65536];
  ssize_t got = hw__os_pread(fd, buf, len < sizeof(buf) ? len : sizeof(buf),
                             off);
  int sent;

  if (got <= 0)
    return got;
  sent = send(s, buf, (int)got, 0);
  if (sent == SOCKET_ERROR)
    return -errno_of((DWORD)WSAGetLastError());
  return sent;
}

/* libuv's uv_poll_init_socket on Windows polls through an AFD peer socket
 * of its own and never ties the socket to the loop's completion port
 * (libuv 1.44 src/win/poll.c), so the socket the TCP handle owns is
 * polled as it is: no duplicate. */
int hw__os_sock_watch(uv_os_sock_t s, uv_os_sock_t *out) {
  *out = s;
  return 0;
}

void hw__os_sock_unwatch(uv_os_sock_t w) { (void)w; }

/* ---- the C library ------------------------------------------------------ */

int hw__os_gmtime(int64_t sec, struct tm *out) {
  __time64_t t = (__time64_t)sec;
  return _gmtime64_s(out, &t) == 0 ? 0 : -EINVAL;
}

int hw__os_random(void *p, size_t n) {
  unsigned char *b = p;
  /* RtlGenRandom (advapi32, linked by default): no -lbcrypt needed. */
  while (n > 0) {
    ULONG k = n > 0x10000 ? 0x10000 : (ULONG)n;
    if (!RtlGenRandom(b, k))
      return -EIO;
    b += k;
    n -= k;
  }
  return 0;
}

char *hw__os_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = malloc(len + 1);
  if (d != NULL) {
    memcpy(d, s, len);
    d[len] = '\0';
  }
  return d;
}

void *hw__os_memmem(const void *hay, size_t hl, const void *needle,
                    size_t nl) {
  const char *h = hay, *end;
  if (nl == 0)
    return (void *)hay;
  if (hl < nl)
    return NULL;
  for (end = h + hl - nl; h <= end; h++)
    if ((h = memchr(h, *(const char *)needle, (size_t)(end - h) + 1)) ==
            NULL ||
        memcmp(h, needle, nl) == 0)
      return (void *)h;
  return NULL;
}

int hw__os_setenv(const char *name, const char *value) {
  /* An empty value removes the variable on Windows. */
  return _putenv_s(name, value) == 0 ? 0 : -EINVAL;
}

/* ---- shared pages ------------------------------------------------------- */

int hw__os_pages_create(const char *name, size_t size, int *fd, void **out) {
  wchar_t dir[MAX_PATH + 1], path[MAX_PATH + 1];
  LARGE_INTEGER len;
  HANDLE h;
  int f, r;

  (void)name; /* the file's name is GetTempFileName's */
  if (GetTempPathW(MAX_PATH + 1, dir) == 0 ||
      GetTempFileNameW(dir, L"hw", 0, path) == 0)
    return -errno_of(GetLastError());
  /* Gone when its last handle closes, the workers' copies included;
   * TEMPORARY keeps its pages in the cache rather than on the disk. */
  h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  CREATE_ALWAYS,
                  FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    r = -errno_of(GetLastError());
    DeleteFileW(path);
    return r;
  }
  len.QuadPart = (LONGLONG)size;
  if (!SetFilePointerEx(h, len, NULL, FILE_BEGIN) || !SetEndOfFile(h)) {
    r = -errno_of(GetLastError());
    CloseHandle(h);
    return r;
  }
  if ((f = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY)) < 0) {
    CloseHandle(h);
    return -EMFILE;
  }
  if ((r = hw__os_pages_map(f, size, 1, out)) != 0) {
    _close(f);
    return r;
  }
  *fd = f;
  return 0;
}

/* Maps `size` bytes of the file behind `h`: 0 with *out, or -errno.  The
 * mapping object goes at once: the view keeps it. */
static int map_handle(HANDLE h, size_t size, int writable, void **out) {
  HANDLE m = CreateFileMappingW(h, NULL,
                                writable ? PAGE_READWRITE : PAGE_READONLY, 0,
                                0, NULL);
  void *p;
  if (m == NULL)
    return -errno_of(GetLastError());
  p = MapViewOfFile(m, writable ? FILE_MAP_WRITE : FILE_MAP_READ, 0, 0, size);
  if (p == NULL) {
    int r = -errno_of(GetLastError());
    CloseHandle(m);
    return r;
  }
  CloseHandle(m);
  *out = p;
  return 0;
}

int hw__os_pages_map(int fd, size_t size, int writable, void **out) {
  HANDLE h = handle_of(fd);
  if (h == INVALID_HANDLE_VALUE)
    return -EBADF;
  return map_handle(h, size, writable, out);
}

int hw__os_pages_size(int fd, size_t *size) {
  LARGE_INTEGER len;
  if (!GetFileSizeEx(handle_of(fd), &len))
    return -errno_of(GetLastError());
  *size = (size_t)len.QuadPart;
  return 0;
}

int hw__os_pages_anon(size_t size, int shared, void **out) {
  void *p;
  if (shared) {
    /* No fork here: "shared" is a pagefile-backed view, as the check's
     * child (made by uv_spawn on Windows) would need it by name. */
    HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                  (DWORD)((uint64_t)size >> 32), (DWORD)size,
                                  NULL);
    if (m == NULL)
      return -errno_of(GetLastError());
    p = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, size);
    CloseHandle(m);
  } else {
    p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  }
  if (p == NULL)
    return -errno_of(GetLastError());
  *out = p;
  return 0;
}

int hw__os_pages_file(const char *path, size_t size, int create, void **out) {
  wchar_t w[MAX_PATH * 2];
  LARGE_INTEGER len;
  HANDLE h;
  int r;

  if (wide(path, w, MAX_PATH * 2) != 0)
    return -ENAMETOOLONG;
  /* FILE_SHARE_DELETE: the file may be removed while mapped (the removal
   * of a generation's directory), as on Linux. */
  h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  create ? CREATE_ALWAYS : OPEN_EXISTING,
                  FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE)
    return -errno_of(GetLastError());
  len.QuadPart = (LONGLONG)size;
  if (create &&
      (!SetFilePointerEx(h, len, NULL, FILE_BEGIN) || !SetEndOfFile(h))) {
    r = -errno_of(GetLastError());
    CloseHandle(h);
    return r;
  }
  r = map_handle(h, size, 1, out);
  CloseHandle(h);
  return r;
}

int hw__os_pages_discard(void *p, size_t size) {
  /* Decommitted and committed again: zero pages on the next touch, as
   * MADV_DONTNEED gives (MEM_RESET would leave the old bytes readable). */
  if (!VirtualFree(p, size, MEM_DECOMMIT) ||
      VirtualAlloc(p, size, MEM_COMMIT, PAGE_READWRITE) == NULL)
    return -errno_of(GetLastError());
  return 0;
}

void hw__os_pages_unmap(void *p, size_t size) {
  MEMORY_BASIC_INFORMATION mi;
  (void)size;
  /* Views and VirtualAlloc's pages are let go by different calls. */
  if (VirtualQuery(p, &mi, sizeof(mi)) != 0 && mi.Type == MEM_MAPPED)
    UnmapViewOfFile(p);
  else
    VirtualFree(p, 0, MEM_RELEASE);
}

/* Windows has no MADV_DONTDUMP; a minidump of the process shows them. */
void hw__os_pages_nodump(void *p, size_t size) { (void)p, (void)size; }

/* ---- files and directories ---------------------------------------------- */

int hw__os_copy_file(const char *from, const char *to, unsigned mode,
                     char *why, size_t why_len) {
  wchar_t wf[MAX_PATH * 2], wt[MAX_PATH * 2];
  char buf[65536];
  int in, out, r = 0, n;

  /* The mode's bits mean nothing here but read-only, which would only
   * stop the removal of the copy later: copies are made writable. */
  (void)mode;
  if (wide(from, wf, MAX_PATH * 2) != 0 || wide(to, wt, MAX_PATH * 2) != 0) {
    snprintf(why, why_len, "%s: the path is too long", from);
    return -1;
  }
  /* Binary, or the C library would rewrite a DLL's CR LF bytes. */
  if ((in = _wopen(wf, _O_RDONLY | _O_BINARY | _O_NOINHERIT)) < 0) {
    snprintf(why, why_len, "%s: %s", from, strerror(errno));
    return -1;
  }
  out = _wopen(wt, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT,
               _S_IREAD | _S_IWRITE);
  if (out < 0) {
    snprintf(why, why_len, "cannot create %s: %s", to, strerror(errno));
    _close(in);
    return -1;
  }
  while ((n = _read(in, buf, sizeof(buf))) != 0) {
    if (n < 0) {
      snprintf(why, why_len, "%s: %s", from, strerror(errno));
      r = -1;
      break;
    }
    if (_write(out, buf, (unsigned)n) != n) {
      snprintf(why, why_len, "cannot write %s: %s", to, strerror(errno));
      r = -1;
      break;
    }
  }
  _close(in);
  if (_close(out) != 0 && r == 0) {
    snprintf(why, why_len, "cannot write %s: %s", to, strerror(errno));
    r = -1;
  }
  return r;
}

int hw__os_run_dir(const char *parent, char **out, char *err, size_t err_len) {
  static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  char base[MAX_PATH * 3], path[MAX_PATH * 3], full[MAX_PATH * 3];
  wchar_t w[MAX_PATH * 2], tmp[MAX_PATH + 1];
  unsigned char rnd[6];
  char suffix[7];
  int i, tries;

  if (parent != NULL && parent[0] != '\0')
    snprintf(base, sizeof(base), "%s", parent);
  else if (getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0')
    snprintf(base, sizeof(base), "%s", getenv("TMPDIR"));
  else if (GetTempPathW(MAX_PATH + 1, tmp) == 0 ||
           narrow(tmp, base, sizeof(base)) != 0)
    snprintf(base, sizeof(base), ".");
  i = (int)strlen(base);
  while (i > 1 && (base[i - 1] == '\\' || base[i - 1] == '/') &&
         base[i - 2] != ':')
    base[--i] = '\0';
  /* mkdtemp's XXXXXX, drawn until a name is free.  No noexec mounts on
   * Windows: any directory may hold DLLs. */
  for (tries = 0; tries < 100; tries++) {
    if (hw__os_random(rnd, sizeof(rnd)) != 0)
      break;
    for (i = 0; i < 6; i++)
      suffix[i] = letters[rnd[i] % (sizeof(letters) - 1)];
    suffix[6] = '\0';
    snprintf(path, sizeof(path), "%s\\haywire.%lu.%s", base,
             (unsigned long)GetCurrentProcessId(), suffix);
    if (wide(path, w, MAX_PATH * 2) != 0)
      break;
    if (_wmkdir(w) == 0) {
      if (_fullpath(full, path, sizeof(full)) == NULL ||
          (*out = _strdup(full)) == NULL) {
        _wrmdir(w);
        return UV_ENOMEM;
      }
      return 0;
    }
    if (errno != EEXIST)
      break;
  }
  snprintf(err, err_len, "cannot create a run directory under %s: %s", base,
           strerror(errno));
  return UV_EIO;
}

/* The trees a removal could not finish (a DLL still loaded, a view still
 * mapped): tried again by every later removal and at exit.  Only the
 * loop's thread removes trees. */
static char **pending;
static size_t npending;

/* Deletes what it can of `dir`: 0 if it is gone, -1 if something stays. */
static int remove_now(const char *dir, int depth) {
  char path[MAX_PATH * 3], pattern[MAX_PATH * 3];
  wchar_t w[MAX_PATH * 2];
  WIN32_FIND_DATAW fd;
  HANDLE f;
  int r = 0;

  snprintf(pattern, sizeof(pattern), "%s\\*", dir);
  if (wide(pattern, w, MAX_PATH * 2) != 0)
    return -1;
  if ((f = FindFirstFileW(w, &fd)) != INVALID_HANDLE_VALUE) {
    do {
      char name[MAX_PATH * 3];
      if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0 ||
          narrow(fd.cFileName, name, sizeof(name)) != 0)
        continue;
      snprintf(path, sizeof(path), "%s\\%s", dir, name);
      if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        if (depth <= 0 || remove_now(path, depth - 1) != 0)
          r = -1;
      } else if (wide(path, w, MAX_PATH * 2) != 0) {
        r = -1;
      } else {
        /* A read-only file cannot be deleted until it is writable. */
        SetFileAttributesW(w, FILE_ATTRIBUTE_NORMAL);
        if (!DeleteFileW(w)) /* a loaded DLL: ERROR_ACCESS_DENIED */
          r = -1;
      }
    } while (FindNextFileW(f, &fd));
    FindClose(f);
  }
  if (wide(dir, w, MAX_PATH * 2) != 0 || !RemoveDirectoryW(w))
    r = GetFileAttributesW(w) == INVALID_FILE_ATTRIBUTES ? r : -1;
  return r;
}

/* Retries the pending trees, keeping those that still do not go. */
static void retry_pending(void) {
  size_t i, kept = 0;
  for (i = 0; i < npending; i++) {
    if (remove_now(pending[i], 2) == 0)
      free(pending[i]);
    else
      pending[kept++] = pending[i];
  }
  npending = kept;
}

void hw__os_remove_tree(const char *dir, int depth) {
  static int registered;
  char **grown;

  retry_pending();
  if (remove_now(dir, depth) == 0)
    return;
  /* Windows cannot delete a DLL while it is loaded: once the generation's
   * modules are unloaded, a later call (or the exit) finishes the job. */
  grown = realloc(pending, (npending + 1) * sizeof(*pending));
  if (grown == NULL)
    return;
  pending = grown;
  if ((pending[npending] = _strdup(dir)) != NULL)
    npending++;
  /* At exit too, though the modules still loaded then stay mapped: what
   * stays is in the run directory (named with the pid), for the next
   * start or the system's temporary-file cleanup. */
  if (!registered)
    registered = atexit(retry_pending) == 0;
}

/* ---- processes ---------------------------------------------------------- */

int hw__os_process_usage(long long pid, uint64_t *resident, uint64_t *fds) {
  PROCESS_MEMORY_COUNTERS pmc;
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ,
                         FALSE, (DWORD)pid);
  int known = 0;
  /* A process has handles, not descriptors: their count would not mean
   * what the metric says, so the descriptors stay unknown. */
  (void)fds;
  if (h == NULL)
    return 0;
  if (GetProcessMemoryInfo(h, &pmc, sizeof(pmc))) {
    *resident = (uint64_t)pmc.WorkingSetSize;
    known |= HW__OS_USAGE_RESIDENT;
  }
  CloseHandle(h);
  return known;
}

ssize_t hw__os_read_small(const char *path, char *buf, size_t cap) {
  wchar_t w[MAX_PATH * 2];
  int fd, n;
  ssize_t got = 0;

  HANDLE h;
  if (wide(path, w, MAX_PATH * 2) != 0)
    return UV_ENAMETOOLONG;
  /* Shared for deletion: a writer may replace the file (a reload record
   * that `haywire -s` polls) while this reads it. */
  h = CreateFileW(w, GENERIC_READ,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE)
    return hw__os_uv_err(errno_of(GetLastError()));
  if ((fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY)) < 0) {
    CloseHandle(h);
    return UV_EMFILE;
  }
  while ((size_t)got < cap - 1 &&
         (n = _read(fd, buf + got, (unsigned)(cap - 1 - (size_t)got))) > 0)
    got += n;
  _close(fd);
  buf[got] = '\0';
  return got;
}

int hw__os_process_name(long pid, char *buf, size_t cap) {
  wchar_t w[MAX_PATH * 2];
  DWORD n = MAX_PATH * 2;
  char name[MAX_PATH * 3], *base, *dot;
  HANDLE h = pid == 0 ? GetCurrentProcess()
                      : OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                                    (DWORD)pid);
  BOOL ok;

  if (h == NULL)
    return -1;
  ok = QueryFullProcessImageNameW(h, 0, w, &n);
  if (pid != 0)
    CloseHandle(h);
  if (!ok || narrow(w, name, sizeof(name)) != 0)
    return -1;
  /* The image's base name without ".exe": "haywire", as /proc's comm. */
  base = strrchr(name, '\\') != NULL ? strrchr(name, '\\') + 1 : name;
  if ((dot = strrchr(base, '.')) != NULL && _stricmp(dot, ".exe") == 0)
    *dot = '\0';
  snprintf(buf, cap, "%s", base);
  return 0;
}

int hw__os_process_names_known(void) { return 1; }

int hw__os_process_alive(long pid) {
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
  if (h == NULL)
    return GetLastError() == ERROR_ACCESS_DENIED; /* there, not ours */
  CloseHandle(h);
  return 1;
}

int hw__os_process_exited(long pid) {
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE,
                         FALSE, (DWORD)pid);
  DWORD r;
  if (h == NULL)
    return GetLastError() != ERROR_ACCESS_DENIED;
  /* A process object outlives the process while a handle holds it, as a
   * zombie does: signalled means exited. */
  r = WaitForSingleObject(h, 0);
  CloseHandle(h);
  return r == WAIT_OBJECT_0;
}

/* ---- the pid file's lock ------------------------------------------------ */

int hw__os_lock_file(int fd, int exclusive) {
  HANDLE h = handle_of(fd);
  OVERLAPPED ov;
  DWORD e;

  if (h == INVALID_HANDLE_VALUE)
    return -EBADF;
  /* Windows locks are mandatory: a lock on the pid in the file would stop
   * others reading it.  One byte far past any content is locked instead. */
  memset(&ov, 0, sizeof(ov));
  ov.Offset = 0;
  ov.OffsetHigh = 0x7fffffff;
  if (LockFileEx(h,
                 (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0) |
                     LOCKFILE_FAIL_IMMEDIATELY,
                 0, 1, 0, &ov))
    return 0;
  e = GetLastError();
  return e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING ? 1
                                                            : -errno_of(e);
}
